/*
 * dict.h -- a hash table from byte-string keys to pointers (xxhash64,
 * chaining, power-of-two buckets, grows at load factor 1). Keys are copied into the table; values are owned by the caller.
 * Not thread-safe: the owner serializes access (the main thread, here).
 */
#ifndef VECTIS_DICT_H
#define VECTIS_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct dict dict;

typedef struct dict_iter {
    dict *d;
    size_t bucket;
    void *next; /* entry after the one returned last */
} dict_iter;

dict *dict_new(void);
void dict_free(dict *d); /* NULL is a no-op; values are not freed */

/* Returns the value, or NULL when absent. */
void *dict_get(const dict *d, const void *key, size_t klen);
/* Inserts or replaces; returns the previous value or NULL. */
void *dict_set(dict *d, const void *key, size_t klen, void *val);
/* Removes; returns the removed value or NULL. */
void *dict_del(dict *d, const void *key, size_t klen);
size_t dict_size(const dict *d);

/* Iteration in bucket order. The table must not change during iteration
 * except by dict_del of the entry just returned. */
void dict_iter_init(dict_iter *it, dict *d);
int dict_iter_next(dict_iter *it, const void **key, size_t *klen, void **val);

/* SCAN-style iteration: calls cb for the entries of some buckets starting
 * at `cursor` and returns the next cursor (0 when done). Every entry present
 * during the whole scan is reported at least once, even if the table grows
 * between calls (the cursor walks bucket indexes in bit-reversed order). */
uint64_t dict_scan(dict *d, uint64_t cursor, void (*cb)(void *ctx, const void *key, size_t klen, void *val), void *ctx);

/* A random entry (its key in *key), or 0 when empty. */
int dict_random(dict *d, const void **key, size_t *klen, void **val);

/* Convenience for 64-bit integer keys. */
static inline void *dict_get_u64(const dict *d, uint64_t k) { return dict_get(d, &k, sizeof(k)); }
static inline void *dict_set_u64(dict *d, uint64_t k, void *v) { return dict_set(d, &k, sizeof(k), v); }
static inline void *dict_del_u64(dict *d, uint64_t k) { return dict_del(d, &k, sizeof(k)); }

#endif
