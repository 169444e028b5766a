/*
 * dict.c -- see dict.h. Each entry is one allocation holding the key bytes
 * after the header, so a lookup touches one cache line for short keys.
 * Rehashing is done at once when the table doubles: fine for the sizes the
 * main thread keeps here (clients, collections); the engine's primary-key
 * maps use their own structure.
 */
#include "dict.h"

#include <string.h>
#include <xxhash.h>

#include "alloc.h"

typedef struct dict_entry {
    struct dict_entry *next;
    uint64_t hash;
    void *val;
    size_t klen;
    unsigned char key[];
} dict_entry;

struct dict {
    dict_entry **buckets;
    size_t nbuckets; /* power of two */
    size_t size;
};

#define DICT_MIN_BUCKETS 16

dict *dict_new(void)
{
    dict *d = xcalloc(1, sizeof(*d));
    d->nbuckets = DICT_MIN_BUCKETS;
    d->buckets = xcalloc(d->nbuckets, sizeof(dict_entry *));
    return d;
}

void dict_free(dict *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->nbuckets; i++) {
        dict_entry *e = d->buckets[i];
        while (e) {
            dict_entry *n = e->next;
            xfree(e);
            e = n;
        }
    }
    xfree(d->buckets);
    xfree(d);
}

static void dict_resize(dict *d, size_t nb)
{
    dict_entry **nbk = xcalloc(nb, sizeof(dict_entry *));
    for (size_t i = 0; i < d->nbuckets; i++) {
        dict_entry *e = d->buckets[i];
        while (e) {
            dict_entry *n = e->next;
            size_t b = e->hash & (nb - 1);
            e->next = nbk[b];
            nbk[b] = e;
            e = n;
        }
    }
    xfree(d->buckets);
    d->buckets = nbk;
    d->nbuckets = nb;
}

static dict_entry **dict_find(const dict *d, const void *key, size_t klen, uint64_t h)
{
    dict_entry **pe = &d->buckets[h & (d->nbuckets - 1)];
    while (*pe) {
        dict_entry *e = *pe;
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0) return pe;
        pe = &e->next;
    }
    return pe;
}

void *dict_get(const dict *d, const void *key, size_t klen)
{
    dict_entry **pe = dict_find(d, key, klen, XXH3_64bits(key, klen));
    return *pe ? (*pe)->val : NULL;
}

void *dict_set(dict *d, const void *key, size_t klen, void *val)
{
    uint64_t h = XXH3_64bits(key, klen);
    dict_entry **pe = dict_find(d, key, klen, h);
    if (*pe) {
        void *old = (*pe)->val;
        (*pe)->val = val;
        return old;
    }
    dict_entry *e = xmalloc(sizeof(*e) + klen);
    e->next = NULL;
    e->hash = h;
    e->val = val;
    e->klen = klen;
    memcpy(e->key, key, klen);
    *pe = e;
    if (++d->size > d->nbuckets) dict_resize(d, d->nbuckets * 2);
    return NULL;
}

void *dict_del(dict *d, const void *key, size_t klen)
{
    dict_entry **pe = dict_find(d, key, klen, XXH3_64bits(key, klen));
    if (!*pe) return NULL;
    dict_entry *e = *pe;
    void *val = e->val;
    *pe = e->next;
    xfree(e);
    d->size--; /* never shrinks here, so deleting while iterating is safe */
    return val;
}

size_t dict_size(const dict *d)
{
    return d->size;
}

void dict_iter_init(dict_iter *it, dict *d)
{
    it->d = d;
    it->bucket = 0;
    it->next = d->nbuckets ? d->buckets[0] : NULL;
}

int dict_iter_next(dict_iter *it, const void **key, size_t *klen, void **val)
{
    while (!it->next) {
        if (++it->bucket >= it->d->nbuckets) return 0;
        it->next = it->d->buckets[it->bucket];
    }
    dict_entry *e = it->next;
    it->next = e->next;
    if (key) *key = e->key;
    if (klen) *klen = e->klen;
    if (val) *val = e->val;
    return 1;
}

static uint64_t rev64(uint64_t v)
{
    uint64_t r = 0;
    for (int i = 0; i < 64; i++) {
        r = (r << 1) | (v & 1);
        v >>= 1;
    }
    return r;
}

uint64_t dict_scan(dict *d, uint64_t cursor, void (*cb)(void *ctx, const void *key, size_t klen, void *val), void *ctx)
{
    uint64_t mask = d->nbuckets - 1;
    for (dict_entry *e = d->buckets[cursor & mask]; e; e = e->next) cb(ctx, e->key, e->klen, e->val);
    /* Increment the reversed cursor over the bits of the mask: the order
     * visits a bucket's split images right after it when the table grows. */
    cursor |= ~mask;
    cursor = rev64(cursor);
    cursor++;
    cursor = rev64(cursor);
    return cursor;
}

static uint64_t rnd_state = 0x2545f4914f6cdd1dULL;

int dict_random(dict *d, const void **key, size_t *klen, void **val)
{
    if (d->size == 0) return 0;
    for (;;) {
        rnd_state ^= rnd_state << 13;
        rnd_state ^= rnd_state >> 7;
        rnd_state ^= rnd_state << 17;
        dict_entry *e = d->buckets[rnd_state & (d->nbuckets - 1)];
        if (!e) continue;
        size_t len = 0;
        for (dict_entry *x = e; x; x = x->next) len++;
        size_t pick = (size_t)((rnd_state >> 32) % len);
        while (pick--) e = e->next;
        if (key) *key = e->key;
        if (klen) *klen = e->klen;
        if (val) *val = e->val;
        return 1;
    }
}
