/*
 * test_index_util.h -- helpers shared by the tests/unit/test_index_*.c
 * binaries: a seeded generator (the seed is printed; VECTIS_TEST_SEED
 * overrides it), clustered data, a contiguous column, an in-memory byte
 * stream for save/load, and recall against FLAT. Header-only (static
 * functions) because every test file is its own binary.
 */
#ifndef VECTIS_TEST_INDEX_UTIL_H
#define VECTIS_TEST_INDEX_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index/index.h"

/* ------------------------------------------------------------- random */

typedef struct tu_rng {
    uint64_t s;
} tu_rng;

static inline uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline double tu_uniform(tu_rng *r)
{
    return (double)(tu_next(r) >> 11) * 0x1.0p-53;
}

static inline double tu_gauss(tu_rng *r)
{
    double u = tu_uniform(r), v = tu_uniform(r);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* The test seed: VECTIS_TEST_SEED if set, else a fixed default; printed. */
static inline uint64_t tu_seed(const char *what)
{
    const char *e = getenv("VECTIS_TEST_SEED");
    uint64_t seed = e ? strtoull(e, NULL, 0) : 20240611ull;
    printf("[ seed ] %s: VECTIS_TEST_SEED=%llu\n", what, (unsigned long long)seed);
    fflush(stdout);
    return seed;
}

/* n x dim floats around `clusters` Gaussian centres (spread 1, noise
 * `noise`). Caller frees. */
static inline float *tu_clustered(tu_rng *r, uint32_t n, uint32_t dim, uint32_t clusters,
                                  float noise)
{
    float *c = malloc(sizeof(float) * clusters * dim);
    float *v = malloc(sizeof(float) * (size_t)n * dim);
    for (size_t i = 0; i < (size_t)clusters * dim; i++)
        c[i] = (float)tu_gauss(r);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k = (uint32_t)(tu_next(r) % clusters);
        for (uint32_t j = 0; j < dim; j++)
            v[(size_t)i * dim + j] = c[(size_t)k * dim + j] + noise * (float)tu_gauss(r);
    }
    free(c);
    return v;
}

static inline index_column tu_column(const void *base, size_t stride)
{
    index_column c = {0};
    c.base = base;
    c.stride = stride;
    return c;
}

/* ------------------------------------------------------ memory stream */

typedef struct tu_stream {
    uint8_t *buf;
    size_t len, cap, pos;
    size_t limit; /* reads past this many bytes fail (truncation tests) */
} tu_stream;

static inline int tu_write(void *ctx, const void *p, size_t n)
{
    tu_stream *s = ctx;
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n)
            cap *= 2;
        s->buf = realloc(s->buf, cap);
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return 0;
}

static inline int tu_read(void *ctx, void *p, size_t n)
{
    tu_stream *s = ctx;
    size_t lim = s->limit < s->len ? s->limit : s->len;
    if (s->pos > lim || lim - s->pos < n) return -1;
    memcpy(p, s->buf + s->pos, n);
    s->pos += n;
    return 0;
}

/* ------------------------------------------------------------- recall */

static inline double tu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Fraction of the exact top-k found by `got`: a returned row counts when it
 * is in the exact top-k or ties the exact k-th distance (so ties, common
 * with Hamming, do not count as misses). */
static inline double tu_recall(const index_hit *exact, long nexact, const index_hit *got, long ngot)
{
    if (nexact <= 0) return 1.0;
    float kth = exact[nexact - 1].dist;
    float tol = 1e-5f * (fabsf(kth) + 1.0f);
    long hit = 0;
    for (long i = 0; i < ngot; i++) {
        int found = 0;
        for (long j = 0; j < nexact && !found; j++)
            found = exact[j].row == got[i].row;
        if (found || got[i].dist <= kth + tol) hit++;
    }
    return (double)(hit > nexact ? nexact : hit) / (double)nexact;
}

#endif
