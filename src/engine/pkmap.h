/*
 * pkmap.h -- a collection's primary-key map: key -> row location.
 *
 * Open addressing with linear probing over one array of 16-byte slots
 * (the key's 64-bit hash and the location). The keys themselves are not
 * stored: they live in the rows (segment.h), and the owner supplies an
 * equality function that compares a key with the key of a location. So a
 * lookup is one cache miss into the slot array for a key that is absent,
 * and one more into the row for a key that is present, and a million keys
 * cost 16-32 MB instead of a million allocations.
 *
 * Deletion shifts the following entries of the probe run back (no
 * tombstones), so probe runs stay as short as the load allows. The table
 * doubles when it is 3/4 full; the rehash reads the stored hashes, never
 * the keys. Not thread-safe: the main thread owns it.
 *
 * A location is any value >= 2 (0 marks an empty slot, so the owner's
 * encoding must never produce 0 or 1).
 */
#ifndef VECTIS_PKMAP_H
#define VECTIS_PKMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct pk_slot {
    uint64_t hash;
    uint64_t loc; /* 0: empty */
} pk_slot;

typedef struct pkmap {
    pk_slot *slots;
    size_t cap; /* power of two, or 0 before the first insert */
    size_t size;
} pkmap;

/* 1 when key [key, klen) is the key of the row at loc. */
typedef int (*pk_eq_fn)(const void *ctx, uint64_t loc, const void *key, size_t klen);

uint64_t pkmap_hash(const void *key, size_t klen);

void pkmap_init(pkmap *m);
void pkmap_free(pkmap *m);

#define PKMAP_NONE ((size_t)-1)

/* The slot index of key (hash h), or PKMAP_NONE when absent. */
size_t pkmap_find(const pkmap *m, uint64_t h, const void *key, size_t klen, pk_eq_fn eq,
                  const void *ctx);
/* The location of key, or 0 when absent. */
uint64_t pkmap_get(const pkmap *m, uint64_t h, const void *key, size_t klen, pk_eq_fn eq,
                   const void *ctx);
/* Adds a key the caller knows is absent (no key is compared). */
void pkmap_insert(pkmap *m, uint64_t h, uint64_t loc);
/* Sets key's location; returns the previous one or 0. */
uint64_t pkmap_set(pkmap *m, uint64_t h, const void *key, size_t klen, uint64_t loc, pk_eq_fn eq,
                   const void *ctx);
/* Moves the entry with hash h at location from to location to, comparing
 * locations instead of keys (for rows that move while the rows at their
 * old locations change). Returns 0 when there is no such entry. */
int pkmap_relocate(pkmap *m, uint64_t h, uint64_t from, uint64_t to);
/* Removes the entry in slot i (from pkmap_find). */
void pkmap_del_at(pkmap *m, size_t i);
/* Removes key; returns its location or 0 when absent. */
uint64_t pkmap_del(pkmap *m, uint64_t h, const void *key, size_t klen, pk_eq_fn eq,
                   const void *ctx);
static inline uint64_t pkmap_loc_at(const pkmap *m, size_t i) { return m->slots[i].loc; }

/* Iteration in slot order: start with *pos = 0; returns 0 at the end. The
 * map must not change during the walk. */
int pkmap_next(const pkmap *m, size_t *pos, uint64_t *loc);

static inline size_t pkmap_size(const pkmap *m) { return m->size; }
static inline size_t pkmap_memory(const pkmap *m) { return m->cap * sizeof(pk_slot); }

#endif
