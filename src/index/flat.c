/*
 * flat.c -- FLAT: exact search by scanning every row of the column.
 *
 * FLAT keeps no per-row state: it reads the caller's column with the x4 batch
 * kernels (four rows per call, consecutive when unfiltered, so the hardware
 * prefetcher streams them). It is the oracle of every recall test, the
 * fallback for very selective filters in graph indexes, and the index of
 * small or not-yet-indexed segments.
 *
 * Invariants: count is the only state; rows 0..count-1 are searchable.
 * Threading: add/build only publish a new count (release); searches read it
 * once (acquire) and scan below it, so searches run concurrently with one
 * writer. A search asked for N threads splits [0, count) into N ranges, each
 * scanned by its own pthread into its own top-k heap; the calling thread
 * takes the first range and merges.
 *
 * Rejected: a persistent thread pool (FLAT is called from the server's worker
 * threads, which already parallelise across queries; per-search threads are
 * only worth it for one large scan, where a ~30 us spawn is noise).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "index/index_impl.h"

/* Smallest range (rows) worth a thread of its own. */
#define FLAT_MIN_ROWS_PER_THREAD 8192u
#define FLAT_MAX_THREADS         64u

static int flat_init(vindex *idx, const index_param *params, size_t nparams, char *err,
                     size_t errlen)
{
    (void)idx;
    if (nparams) {
        index_err(err, errlen, "unknown FLAT parameter '%.64s' (FLAT takes no parameters)",
                  params[0].name);
        return -1;
    }
    return 0;
}

static void flat_destroy(vindex *idx)
{
    (void)idx;
}

static void flat_describe(const vindex *idx, char *buf, size_t buflen)
{
    (void)idx;
    snprintf(buf, buflen, "%s", "");
}

static int flat_add(vindex *idx, uint32_t row, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    atomic_store_explicit(&idx->count, row + 1, memory_order_release);
    return 0;
}

static int flat_build(vindex *idx, uint32_t nrows, unsigned threads, char *err, size_t errlen)
{
    (void)threads;
    (void)err;
    (void)errlen;
    atomic_store_explicit(&idx->count, nrows, memory_order_release);
    return 0;
}

/* One range of a (possibly threaded) scan. */
typedef struct flat_part {
    const vindex *idx;
    const void *query;
    const index_search_params *p;
    uint32_t lo, hi;
    float radius; /* range search */
    index_topk t; /* top-k search */
    index_hits hits;
    int rc;
    bool range;
} flat_part;

static void *flat_part_run(void *arg)
{
    flat_part *fp = arg;
    if (fp->range)
        fp->rc = index_scan_range(fp->idx, fp->query, fp->radius, fp->lo, fp->hi, fp->p, &fp->hits);
    else
        index_scan_topk(fp->idx, fp->query, fp->lo, fp->hi, fp->p, &fp->t);
    return NULL;
}

static unsigned flat_nthreads(const index_search_params *p, uint32_t n)
{
    unsigned t = p->threads ? p->threads : 1;
    if (t > FLAT_MAX_THREADS) t = FLAT_MAX_THREADS;
    uint32_t by_size = n / FLAT_MIN_ROWS_PER_THREAD;
    if (t > by_size) t = by_size ? by_size : 1;
    return t;
}

/* Runs parts[1..nt-1] on new threads and parts[0] here. Threads that fail to
 * start are run inline, so the result is always complete. */
static void flat_run_parts(flat_part *parts, unsigned nt)
{
    pthread_t tid[FLAT_MAX_THREADS];
    bool started[FLAT_MAX_THREADS] = {false};
    for (unsigned i = 1; i < nt; i++)
        started[i] = pthread_create(&tid[i], NULL, flat_part_run, &parts[i]) == 0;
    flat_part_run(&parts[0]);
    for (unsigned i = 1; i < nt; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else
            flat_part_run(&parts[i]);
    }
}

static void flat_split(flat_part *parts, unsigned nt, const vindex *idx, const void *query,
                       const index_search_params *p, uint32_t n)
{
    for (unsigned i = 0; i < nt; i++) {
        memset(&parts[i], 0, sizeof(parts[i]));
        parts[i].idx = idx;
        parts[i].query = query;
        parts[i].p = p;
        parts[i].lo = (uint32_t)((uint64_t)n * i / nt);
        parts[i].hi = (uint32_t)((uint64_t)n * (i + 1) / nt);
    }
}

static long flat_search(const vindex *idx, const void *query, size_t k,
                        const index_search_params *p, index_hit *out, char *err, size_t errlen)
{
    uint32_t n = index_count(idx);
    unsigned nt = flat_nthreads(p, n);
    if (nt == 1) {
        index_topk t = {out, 0, k};
        index_scan_topk(idx, query, 0, n, p, &t);
        return (long)index_topk_sort(&t);
    }
    flat_part parts[FLAT_MAX_THREADS];
    flat_split(parts, nt, idx, query, p, n);
    index_hit *buf = index_malloc(sizeof(index_hit) * k * (nt - 1));
    if (!buf) {
        index_err(err, errlen, "out of memory");
        return -1;
    }
    parts[0].t = (index_topk){out, 0, k};
    for (unsigned i = 1; i < nt; i++)
        parts[i].t = (index_topk){buf + (i - 1) * k, 0, k};
    flat_run_parts(parts, nt);
    for (unsigned i = 1; i < nt; i++)
        for (size_t j = 0; j < parts[i].t.n; j++)
            index_topk_push(&parts[0].t, parts[i].t.h[j].row, parts[i].t.h[j].dist);
    index_dealloc(buf);
    return (long)index_topk_sort(&parts[0].t);
}

static long flat_range_search(const vindex *idx, const void *query, float radius,
                              const index_search_params *p, index_hits *out, char *err,
                              size_t errlen)
{
    uint32_t n = index_count(idx);
    unsigned nt = flat_nthreads(p, n);
    flat_part parts[FLAT_MAX_THREADS];
    flat_split(parts, nt, idx, query, p, n);
    for (unsigned i = 0; i < nt; i++) {
        parts[i].range = true;
        parts[i].radius = radius;
    }
    flat_run_parts(parts, nt);
    size_t before = out->n;
    int rc = 0;
    for (unsigned i = 0; i < nt; i++) {
        for (size_t j = 0; rc == 0 && j < parts[i].hits.n; j++)
            rc = index_hits_push(out, parts[i].hits.v[j].row, parts[i].hits.v[j].dist);
        rc |= parts[i].rc;
        index_hits_free(&parts[i].hits);
    }
    if (rc) {
        index_err(err, errlen, "out of memory");
        return -1;
    }
    index_hits_sort(out->v + before, out->n - before);
    if (p->max_hits && out->n - before > p->max_hits) out->n = before + p->max_hits;
    return (long)(out->n - before);
}

static size_t flat_memory(const vindex *idx)
{
    (void)idx;
    return 0;
}

static int flat_validate(const vindex *idx, char *err, size_t errlen)
{
    if (index_count(idx) > INDEX_MAX_ROWS) {
        index_err(err, errlen, "FLAT count %u exceeds the maximum", index_count(idx));
        return -1;
    }
    return 0;
}

static int flat_save(const vindex *idx, index_writer *w, char *err, size_t errlen)
{
    (void)idx;
    (void)w;
    (void)err;
    (void)errlen;
    return 0; /* the HEAD section's count is FLAT's whole state */
}

static int flat_load(vindex *idx, index_reader *r, uint32_t count, char *err, size_t errlen)
{
    (void)r;
    (void)err;
    (void)errlen;
    atomic_store_explicit(&idx->count, count, memory_order_release);
    return 0;
}

const index_ops index_flat_ops = {
    .name = "FLAT",
    .init = flat_init,
    .destroy = flat_destroy,
    .describe = flat_describe,
    .add = flat_add,
    .build = flat_build,
    .search = flat_search,
    .range_search = flat_range_search,
    .memory = flat_memory,
    .validate = flat_validate,
    .save = flat_save,
    .load = flat_load,
};
