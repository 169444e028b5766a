/*
 * pkmap.c -- see pkmap.h.
 */
#include "engine/pkmap.h"

#include <string.h>
#include <xxhash.h>

#include "alloc.h"

#define PK_MIN_CAP 16

uint64_t pkmap_hash(const void *key, size_t klen)
{
    return XXH3_64bits(key, klen);
}

void pkmap_init(pkmap *m)
{
    memset(m, 0, sizeof(*m));
}

void pkmap_free(pkmap *m)
{
    xfree(m->slots);
    pkmap_init(m);
}

/* The slot holding key, or the empty slot that ends its probe run. */
static size_t pk_probe(const pkmap *m, uint64_t h, const void *key, size_t klen, pk_eq_fn eq,
                       const void *ctx)
{
    size_t mask = m->cap - 1, i = h & mask;
    for (;;) {
        const pk_slot *s = &m->slots[i];
        if (s->loc == 0) return i;
        if (s->hash == h && eq(ctx, s->loc, key, klen)) return i;
        i = (i + 1) & mask;
    }
}

static void pk_resize(pkmap *m, size_t cap)
{
    pk_slot *old = m->slots;
    size_t ocap = m->cap, mask = cap - 1;
    m->slots = xcalloc(cap, sizeof(pk_slot));
    m->cap = cap;
    for (size_t j = 0; j < ocap; j++) {
        if (old[j].loc == 0) continue;
        size_t i = old[j].hash & mask;
        while (m->slots[i].loc) i = (i + 1) & mask;
        m->slots[i] = old[j];
    }
    xfree(old);
}

size_t pkmap_find(const pkmap *m, uint64_t h, const void *key, size_t klen, pk_eq_fn eq,
                  const void *ctx)
{
    if (m->size == 0) return PKMAP_NONE;
    size_t i = pk_probe(m, h, key, klen, eq, ctx);
    return m->slots[i].loc ? i : PKMAP_NONE;
}

uint64_t pkmap_get(const pkmap *m, uint64_t h, const void *key, size_t klen, pk_eq_fn eq,
                   const void *ctx)
{
    size_t i = pkmap_find(m, h, key, klen, eq, ctx);
    return i == PKMAP_NONE ? 0 : m->slots[i].loc;
}

static void pk_grow_for_one(pkmap *m)
{
    if ((m->size + 1) * 4 > m->cap * 3) pk_resize(m, m->cap ? m->cap * 2 : PK_MIN_CAP);
}

void pkmap_insert(pkmap *m, uint64_t h, uint64_t loc)
{
    pk_grow_for_one(m);
    size_t mask = m->cap - 1, i = h & mask;
    while (m->slots[i].loc) i = (i + 1) & mask;
    m->slots[i].hash = h;
    m->slots[i].loc = loc;
    m->size++;
}

uint64_t pkmap_set(pkmap *m, uint64_t h, const void *key, size_t klen, uint64_t loc, pk_eq_fn eq,
                   const void *ctx)
{
    pk_grow_for_one(m);
    pk_slot *s = &m->slots[pk_probe(m, h, key, klen, eq, ctx)];
    uint64_t prev = s->loc;
    if (!prev) {
        s->hash = h;
        m->size++;
    }
    s->loc = loc;
    return prev;
}

int pkmap_relocate(pkmap *m, uint64_t h, uint64_t from, uint64_t to)
{
    if (m->size == 0) return 0;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask; m->slots[i].loc; i = (i + 1) & mask) {
        if (m->slots[i].hash == h && m->slots[i].loc == from) {
            m->slots[i].loc = to;
            return 1;
        }
    }
    return 0;
}

void pkmap_del_at(pkmap *m, size_t hole)
{
    size_t mask = m->cap - 1;
    /* Backward shift: an entry after the hole moves into it unless its home
     * slot lies cyclically in (hole, j], where it must stay reachable. */
    for (size_t j = (hole + 1) & mask; m->slots[j].loc; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        int stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (stays) continue;
        m->slots[hole] = m->slots[j];
        hole = j;
    }
    m->slots[hole].loc = 0;
    m->slots[hole].hash = 0;
    m->size--;
}

uint64_t pkmap_del(pkmap *m, uint64_t h, const void *key, size_t klen, pk_eq_fn eq,
                   const void *ctx)
{
    size_t i = pkmap_find(m, h, key, klen, eq, ctx);
    if (i == PKMAP_NONE) return 0;
    uint64_t loc = m->slots[i].loc;
    pkmap_del_at(m, i);
    return loc;
}

int pkmap_next(const pkmap *m, size_t *pos, uint64_t *loc)
{
    while (*pos < m->cap) {
        const pk_slot *s = &m->slots[(*pos)++];
        if (s->loc) {
            *loc = s->loc;
            return 1;
        }
    }
    return 0;
}
