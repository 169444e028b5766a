/*
 * alloc.c -- allocation wrapper and memory figures (see alloc.h).
 *
 * Used memory comes from jemalloc's "stats.allocated" after an "epoch"
 * refresh. The refresh costs a few microseconds, so alloc_used_memory()
 * caches the figure for ALLOC_REFRESH_US; maxmemory checks on every write
 * read the cached value. Any thread may call these functions.
 *
 * Rejected: a per-call size header or a global atomic counter updated on
 * every allocation (Redis's zmalloc style). It costs on every malloc, misses
 * what libraries allocate, and jemalloc already keeps the exact figure.
 */
#include "alloc.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#ifdef VECTIS_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

#define ALLOC_REFRESH_US 10000 /* 10 ms: fresh enough for maxmemory */

static _Atomic size_t cached_used;
static _Atomic long long cached_at_us;

#ifndef VECTIS_JEMALLOC
static _Atomic size_t counted_used; /* sanitizer builds only */
#endif

static void alloc_oom(size_t n)
{
    fprintf(stderr, "vectis: out of memory allocating %zu bytes\n", n);
    fflush(stderr);
    abort();
}

static void account_add(void *p)
{
#ifndef VECTIS_JEMALLOC
    if (p) atomic_fetch_add(&counted_used, malloc_usable_size(p));
#else
    (void)p;
#endif
}

static void account_sub(void *p)
{
#ifndef VECTIS_JEMALLOC
    if (p) atomic_fetch_sub(&counted_used, malloc_usable_size(p));
#else
    (void)p;
#endif
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) alloc_oom(n);
    account_add(p);
    return p;
}

void *xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (!p) alloc_oom(count * n);
    account_add(p);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    account_sub(p);
    void *q = realloc(p, n ? n : 1);
    if (!q) alloc_oom(n);
    account_add(q);
    return q;
}

void xfree(void *p)
{
    if (!p) return;
    account_sub(p);
    free(p);
}

char *xstrndup(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

static long long now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

size_t alloc_used_memory_now(void)
{
    size_t used;
#ifdef VECTIS_JEMALLOC
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    sz = sizeof(used);
    if (mallctl("stats.allocated", &used, &sz, NULL, 0) != 0) used = 0;
#else
    used = atomic_load(&counted_used);
#endif
    atomic_store(&cached_used, used);
    atomic_store(&cached_at_us, now_us());
    return used;
}

size_t alloc_used_memory(void)
{
    if (now_us() - atomic_load(&cached_at_us) > ALLOC_REFRESH_US) return alloc_used_memory_now();
    return atomic_load(&cached_used);
}

size_t alloc_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (!f) return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

const char *alloc_name(void)
{
#ifdef VECTIS_JEMALLOC
    static char name[64];
    if (!name[0]) {
        const char *v = NULL;
        size_t sz = sizeof(v);
        if (mallctl("version", &v, &sz, NULL, 0) == 0 && v) {
            /* "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c" -> "5.3.0" */
            size_t n = strcspn(v, "-");
            snprintf(name, sizeof(name), "jemalloc-%.*s", (int)n, v);
        } else {
            snprintf(name, sizeof(name), "jemalloc");
        }
    }
    return name;
#else
    return "libc";
#endif
}

void alloc_purge(void)
{
#ifdef VECTIS_JEMALLOC
    char cmd[64];
    unsigned narenas = 0;
    size_t sz = sizeof(narenas);
    if (mallctl("arenas.narenas", &narenas, &sz, NULL, 0) != 0) return;
    snprintf(cmd, sizeof(cmd), "arena.%u.purge", narenas); /* MALLCTL_ARENAS_ALL */
    mallctl(cmd, NULL, NULL, NULL, 0);
#else
    malloc_trim(0);
#endif
}
