/*
 * db.c -- the keyspace: key name -> collection (one database, db 0).
 *
 * The keyspace holds one reference on each collection. Deleting a key drops
 * that reference; the collection goes when the last search that uses it
 * finishes, and its big segments are freed on a worker (segment_unref), so
 * DEL of a large collection never stalls the loop. Main thread only.
 */
#include <string.h>

#include "alloc.h"
#include "dict.h"
#include "engine/collection_impl.h"
#include "engine/engine.h"

static dict *keyspace;

static dict *ks(void)
{
    if (!keyspace) keyspace = dict_new();
    return keyspace;
}

collection *db_lookup(const char *key, size_t klen)
{
    return dict_get(ks(), key, klen);
}

void db_add(const char *key, size_t klen, collection *c)
{
    collection *old = dict_set(ks(), key, klen, c);
    if (old) collection_unref(old);
}

int db_delete(const char *key, size_t klen)
{
    collection *c = dict_del(ks(), key, klen);
    if (!c) return 0;
    collection_unref(c);
    return 1;
}

int db_rename(const char *src, size_t slen, const char *dst, size_t dlen)
{
    collection *c = dict_get(ks(), src, slen);
    if (!c) return -1;
    if (slen == dlen && memcmp(src, dst, slen) == 0) return 0;
    dict_del(ks(), src, slen);
    collection *old = dict_set(ks(), dst, dlen, c);
    if (old) collection_unref(old);
    return 0;
}

size_t db_size(void)
{
    return dict_size(ks());
}

void db_flush(void)
{
    dict *old = ks();
    keyspace = dict_new();
    dict_iter it;
    void *v;
    dict_iter_init(&it, old);
    while (dict_iter_next(&it, NULL, NULL, &v)) collection_unref(v);
    dict_free(old);
}

typedef struct scan_ctx {
    void (*cb)(void *ctx, const char *key, size_t klen, collection *c);
    void *ctx;
    long seen;
} scan_ctx;

static void scan_cb(void *arg, const void *key, size_t klen, void *val)
{
    scan_ctx *s = arg;
    s->cb(s->ctx, key, klen, val);
    s->seen++;
}

uint64_t db_scan(uint64_t cursor, long count,
                 void (*cb)(void *ctx, const char *key, size_t klen, collection *c), void *ctx)
{
    scan_ctx s = {cb, ctx, 0};
    long buckets = 0;
    do {
        cursor = dict_scan(ks(), cursor, scan_cb, &s);
        buckets++;
    } while (cursor != 0 && s.seen < count && buckets < count * 10);
    return cursor;
}

const char *db_random_key(size_t *klen)
{
    const void *k;
    if (!dict_random(ks(), &k, klen, NULL)) return NULL;
    return k;
}

void db_foreach(void (*cb)(void *ctx, const char *key, size_t klen, collection *c), void *ctx)
{
    dict_iter it;
    const void *k;
    size_t kl;
    void *v;
    dict_iter_init(&it, ks());
    while (dict_iter_next(&it, &k, &kl, &v)) cb(ctx, k, kl, v);
}

static void stats_cb(void *ctx, const char *key, size_t klen, collection *c)
{
    (void)key;
    (void)klen;
    engine_collection_stats(c, ctx);
}

void engine_get_stats(engine_stats *st)
{
    memset(st, 0, sizeof(*st));
    db_foreach(stats_cb, st);
}

void engine_shutdown(void)
{
    if (!keyspace) return;
    db_flush();
    dict_free(keyspace);
    keyspace = NULL;
}
