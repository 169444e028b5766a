/*
 * bench_vset.c -- the client side of `make bench-vset`: Redis 8 vector-set
 * commands through a real vectis server, end to end (benchmark-only).
 *
 *   bench_vset prepare SRC DST   writes DST/{base,query}.fvecs = the rows of SRC
 *                                L2-normalised and DST/info.txt (metric=ip), so
 *                                that `datasets gt DST` computes the exact top-100
 *                                by cosine (and bench_index can run on it too)
 *   bench_vset run --port P --raw SRC --cos DST [--quick] ...
 *                                the server benchmark below
 *
 * `run`, against a server the caller started (utils/bench-vset.sh):
 *
 *   1. load: the SRC base rows (fashion-mnist, raw pixel values; the server
 *      normalises them, as a user's client would send them) with pipelined
 *      `VADD key FP32 <blob> <row> NOQUANT|Q8 M 16 EF 200`, pipeline depth
 *      --load-depth per connection, with each --load-conns count (every load
 *      but the last of a quantisation goes to a scratch key that is deleted
 *      afterwards). "acked" = rows / time to the last reply; "indexed" =
 *      rows / time until INFO vectors reports rows_unindexed:0 (polled every
 *      BV_POLL_MS), both from the first VADD sent.
 *   2. sweep: first a check of DST/gt.ivecs against the server's own exact
 *      scan (VSIM ... TRUTH, BV_TRUTH_QUERIES queries, recall must be ~1);
 *      then the query rows through `VSIM key FP32 <blob> COUNT 10 EF e`,
 *      for every quantisation, connection count, pipeline depth and ef;
 *      QPS = requests / wall time, p50 / p99 of the per-request latency
 *      (from the flush that sent the request to the arrival of its reply, so
 *      with depth > 1 it includes the wait behind earlier requests), recall@10
 *      against DST/gt.ivecs. The main configuration (NOQUANT, 2 connections,
 *      depth 1) runs --queries queries, every other one the first
 *      --sub-queries of them (keeps the run short); a configuration that
 *      finishes its queries in less than --min-seconds repeats them until
 *      then, so a fast point is not a 50 ms sample of a noisy machine.
 *   3. anchor: the index library's HNSW in this process (IP over DST's unit
 *      rows, M 16, EFC 200, 2-thread build before the loads), one query at
 *      a time on 1 and 2 threads, measured for each ef right before the
 *      VSIM points of that ef (the machine's load drifts; interleaving keeps
 *      the ratio honest). QPS at recall@10 = 0.90 / 0.95 / 0.99
 *      interpolated linearly between sweep points, end to end vs in
 *      process, and the goal ratio VSIM QPS / (in-process 1-thread QPS x 2
 *      cores). For diagnosis, a third in-process series splits the rows into
 *      the server's segment sizes (VDESCRIBE after the load: 1,024, 8,192,
 *      then the rest, as the engine grows segments), one HNSW per part,
 *      each query searching all parts and merging, as the engine does: it
 *      separates the cost of segmentation from the cost of the server.
 *   4. load test: 2 connections VSIM (depth 1, the smallest swept ef whose
 *      recall reached 0.95) idle, then again while a third connection VADDs
 *      new elements ("load:<i>", the mean of two hashed base rows: new
 *      vectors, seldom in a test query's true top-10) into the NOQUANT key
 *      at --load-rate per second, paced on an absolute schedule; the two
 *      phases alternate for --load-rounds rounds (--load-seconds in all per
 *      side, the index caught up before each idle phase); p99 loaded / idle
 *      over all rounds. Recall under load counts an injected element in the
 *      top-10 as a miss.
 *   5. INFO vectors and the VADD / VSIM lines of INFO commandstats, then the
 *      goal table of issue 4. The program never fails on speed: exit 0
 *      unless the server errs, the ground truth disagrees with TRUTH, or an
 *      input is missing.
 *
 * Diagnosis switches: --nothread sends every VSIM with NOTHREAD (inline on
 * the server's main thread, to see the cost of the worker hand-off);
 * --reuse keeps keys that already hold every row (repeat a sweep against a
 * running server without reloading; use it with --load-seconds 0, since the
 * load test adds elements).
 *
 * Threading: one thread per connection for every measured phase, each with
 * its own blocking hiredis context, started together on a barrier; they
 * read shared read-only vectors and write disjoint slices of the result
 * arrays. The main thread owns a control connection (INFO, DEL).
 *
 * Rejected: hiredis's async API on one thread. With 8 connections and a
 * 2-core machine one client thread could itself be the bottleneck, and the
 * blocking API with explicit pipelining says plainly what is measured.
 * Also rejected: redis-benchmark (cannot send a different binary vector per
 * request nor check the replies for recall), and reading the anchor from a
 * separate bench_index run (an earlier version did): on this shared machine
 * the load drifts by 2x within minutes, so only points measured within the
 * same minute make a meaningful ratio. The in-process search loop is the
 * same one bench_index runs (index_search, one query at a time).
 *
 * Ownership: main() owns the data sets, the anchor and the result arrays;
 * every phase borrows them and frees only what it allocates itself.
 */
#include "bench_info.h"
#include "ds_io.h"
#include "index/index.h"
#include "simd/simd.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define BV_K                    10    /* recall@10, VSIM COUNT 10 */
#define BV_MAX_LIST             16    /* longest ef / conns / depths list accepted */
#define BV_MAX_CONNS            64    /* most client connections of one phase */
#define BV_POLL_MS              20    /* INFO poll period while waiting for indexing */
#define BV_INDEX_WAIT_S         1800  /* give up waiting for the index after 30 minutes */
#define BV_WARMUP               300   /* untimed queries before each key's sweep */
#define BV_MAX_ROUNDS           16    /* load-test rounds accepted */
#define BV_MAX_SEGS             16    /* segments of the segmented diagnosis anchor */
#define BV_TRUTH_QUERIES        50    /* VSIM TRUTH checks of the ground truth (~100 QPS) */
#define BV_NAME_MAX             32    /* names: decimal row ids or "load:<i>" */
#define BV_MAX_QPS              60000 /* slots per second of a timed run (in-proc ~25k/s) */
#define BV_ANCHOR_BUILD_THREADS 2     /* the in-process build uses both cores */

static const double bv_targets[] = {0.90, 0.95, 0.99};
#define BV_NTARGETS (sizeof(bv_targets) / sizeof(bv_targets[0]))

/* ------------------------------------------------------------- options */

typedef struct bv_opts {
    const char *host, *raw, *cos;
    int port;
    int quick;
    unsigned efs[BV_MAX_LIST], conns[BV_MAX_LIST], depths[BV_MAX_LIST], load_conns[BV_MAX_LIST];
    size_t nefs, nconns, ndepths, nload_conns;
    unsigned load_depth;
    size_t queries, sub_queries;
    double load_rate, load_seconds, min_seconds;
    unsigned load_rounds;
    int q8;
    int nothread;     /* --nothread: every VSIM with NOTHREAD (diagnosis) */
    int reuse;        /* --reuse: keep a key that already holds every row (development) */
    int no_anchor;    /* --no-anchor: skip the in-process HNSW */
    int no_segmented; /* --no-segmented: skip the in-process copy of the server's segments */
} bv_opts;


/* ------------------------------------------------------------- helpers */

static int bv_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Percentile p (0..1) of n sorted values (nearest rank). */
static double bv_pct(const double *sorted, size_t n, double p)
{
    if (n == 0) return 0;
    size_t i = (size_t)ceil(p * (double)n);
    if (i > 0) i--;
    if (i >= n) i = n - 1;
    return sorted[i];
}

static redisContext *bv_connect(const bv_opts *o)
{
    struct timeval tv = {10, 0};
    redisContext *c = redisConnectWithTimeout(o->host, o->port, tv);
    if (c == NULL || c->err) {
        fprintf(stderr, "bench_vset: cannot connect to %s:%d: %s\n", o->host, o->port,
                c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    /* No read timeout: a VSIM at a high ef on a loaded machine may be slow. */
    struct timeval none = {0, 0};
    redisSetTimeout(c, none);
    return c;
}

/* Writes the whole output buffer of c. Returns 0 or -1. */
static int bv_flush(redisContext *c)
{
    int done = 0;
    while (!done) {
        if (redisBufferWrite(c, &done) != REDIS_OK) return -1;
    }
    return 0;
}

/* Sends one command and checks the reply is not an error. Returns 0 or -1. */
static int bv_simple(redisContext *c, const char *fmt, const char *arg)
{
    redisReply *r = redisCommand(c, fmt, arg);
    int rc = r && r->type != REDIS_REPLY_ERROR ? 0 : -1;
    if (rc) fprintf(stderr, "bench_vset: %s %s: %s\n", fmt, arg, r ? r->str : c->errstr);
    if (r) freeReplyObject(r);
    return rc;
}

/* ------------------------------------------------ the pipelined runner */

/*
 * One connection's share of a phase: requests r0, r0+1, ... in order, at
 * most `depth` outstanding, until one of
 *   - r1 is reached (the slots the caller has room for),
 *   - min_count requests were sent AND min_seconds have passed since the
 *     start (a short share is repeated, cycling through its inputs, so
 *     every measurement lasts long enough to mean something),
 *   - `deadline` (absolute, ds_now clock; 0 = none) has passed.
 * Request i works on input item qidx(i) = (qoff + i - r0) mod nq, so with
 * contiguous qoff shares the connections together cover the nq inputs
 * exactly once before any repeats. build() fills argv for request i;
 * check() looks at its reply (returns 0, or -1 for an unexpected reply) and
 * may store results in row i of `out`. Latencies go to lat[i - r0]. When
 * `pace` > 0, request i is not sent before t_start + (i - r0) / pace (an
 * open-loop steady rate).
 */
typedef struct bv_pipe bv_pipe;
typedef int (*bv_build_fn)(const bv_pipe *p, size_t i, const char **argv, size_t *lens,
                           char *scratch);
typedef int (*bv_check_fn)(const bv_pipe *p, size_t i, const redisReply *r);

#define BV_MAX_ARGS      16
#define BV_SCRATCH_NAMES 256 /* bytes of build()'s scratch for names; a vector follows */

struct bv_pipe {
    const bv_opts *o;
    const void *ctx; /* the phase's read-only inputs */
    void *out;       /* the phase's result array (disjoint rows per pipe) */
    size_t r0, r1, sent, done;
    size_t qoff, nq, min_count;
    unsigned depth;
    double pace, deadline, min_seconds, t_start, t_end;
    bv_build_fn build;
    bv_check_fn check;
    void *(*run)(void *); /* thread body; NULL = bv_pipe_run (a connection) */
    size_t scratch_bytes; /* build()'s room past the names (a generated vector) */
    double *lat;
    pthread_barrier_t *start;
    int failed;
    char errmsg[256];
};

static size_t bv_qidx(const bv_pipe *p, size_t i)
{
    return p->nq ? (p->qoff + (i - p->r0)) % p->nq : i;
}

static void *bv_pipe_run(void *arg)
{
    bv_pipe *p = arg;
    redisContext *c = bv_connect(p->o);
    double *t_sent = calloc(p->depth ? p->depth : 1, sizeof(double));
    char *scratch = malloc(BV_SCRATCH_NAMES + p->scratch_bytes);
    if (p->start) pthread_barrier_wait(p->start);
    if (c == NULL || t_sent == NULL || scratch == NULL) {
        p->failed = 1;
        snprintf(p->errmsg, sizeof(p->errmsg), "connect or allocation failed");
        goto out;
    }
    p->t_start = ds_now();
    size_t end = p->r1;
    p->sent = p->done = p->r0;
    while (p->done < end && !p->failed) {
        /* Fill the pipeline, then send everything appended in one write. */
        int appended = 0;
        while (p->sent < end && p->sent - p->done < p->depth) {
            double now = ds_now();
            if ((p->deadline > 0 && now >= p->deadline) ||
                (p->sent - p->r0 >= p->min_count && now - p->t_start >= p->min_seconds)) {
                end = p->sent; /* stop: drain what is outstanding */
                break;
            }
            if (p->pace > 0) {
                double due = p->t_start + (double)(p->sent - p->r0) / p->pace;
                if (now < due) {
                    if (p->sent > p->done || appended) break; /* a reply to read first */
                    double wait = due - now;
                    struct timespec ts = {(time_t)wait, (long)((wait - floor(wait)) * 1e9)};
                    nanosleep(&ts, NULL);
                }
            }
            const char *argv[BV_MAX_ARGS];
            size_t lens[BV_MAX_ARGS];
            int argc = p->build(p, p->sent, argv, lens, scratch);
            if (redisAppendCommandArgv(c, argc, argv, lens) != REDIS_OK) {
                p->failed = 1;
                snprintf(p->errmsg, sizeof(p->errmsg), "append: %s", c->errstr);
                break;
            }
            p->sent++;
            appended++;
        }
        if (p->failed) break;
        if (appended) {
            if (bv_flush(c) != 0) {
                p->failed = 1;
                snprintf(p->errmsg, sizeof(p->errmsg), "write: %s", c->errstr);
                break;
            }
            double now = ds_now();
            for (size_t i = p->sent - (size_t)appended; i < p->sent; i++)
                t_sent[i % p->depth] = now;
        }
        if (p->done == p->sent) continue;
        /* Read one reply (blocking), then every reply already buffered. */
        void *rv = NULL;
        if (redisGetReply(c, &rv) != REDIS_OK || rv == NULL) {
            p->failed = 1;
            snprintf(p->errmsg, sizeof(p->errmsg), "read: %s", c->errstr);
            break;
        }
        do {
            redisReply *r = rv;
            double now = ds_now();
            size_t i = p->done;
            p->lat[i - p->r0] = now - t_sent[i % p->depth];
            if (p->check(p, i, r) != 0 && !p->failed) {
                p->failed = 1;
                snprintf(p->errmsg, sizeof(p->errmsg), "request %zu: unexpected reply type %d%s%s",
                         i, r->type, r->type == REDIS_REPLY_ERROR ? ": " : "",
                         r->type == REDIS_REPLY_ERROR ? r->str : "");
            }
            freeReplyObject(r);
            p->done++;
            rv = NULL;
            if (p->done == p->sent) break;
            if (redisReaderGetReply(c->reader, &rv) != REDIS_OK) {
                p->failed = 1;
                snprintf(p->errmsg, sizeof(p->errmsg), "protocol error");
                break;
            }
        } while (rv != NULL);
    }
    p->t_end = ds_now();
    p->r1 = p->done; /* what was actually done (deadline / failure) */
out:
    redisFree(c);
    free(t_sent);
    free(scratch);
    return NULL;
}

typedef struct bv_phase_result {
    size_t requests;
    double seconds, qps, p50, p99;
    int failed;
} bv_phase_result;

/*
 * Runs `nconn` pipes: request slots [0, n) and input items [0, nq) are both
 * split into contiguous shares (pipes[] are templates: build, check, ctx,
 * out, depth, pace, deadline, min_seconds set by the caller; this sets
 * r0, r1, qoff, nq, min_count, lat, start). n >= nq. Returns throughput and
 * latency over the requests done. `extra`, when not NULL, is one more pipe
 * run concurrently (the load generator) whose figures are not part of the
 * result.
 */
static bv_phase_result bv_run_phase(bv_pipe *pipes, unsigned nconn, size_t n, size_t nq,
                                    bv_pipe *extra, double **keep_lat)
{
    bv_phase_result res = {0};
    pthread_t tid[BV_MAX_CONNS + 1];
    pthread_barrier_t bar;
    unsigned nthreads = nconn + (extra ? 1 : 0);
    pthread_barrier_init(&bar, NULL, nthreads);
    double *lat = calloc(n ? n : 1, sizeof(double));
    for (unsigned t = 0; t < nconn; t++) {
        pipes[t].r0 = n * t / nconn;
        pipes[t].r1 = n * (t + 1) / nconn;
        pipes[t].nq = nq;
        pipes[t].qoff = nq * t / nconn;
        /* With a deadline the share runs until then (or until its slots
         * are used up). */
        pipes[t].min_count =
            pipes[t].deadline > 0 ? SIZE_MAX : nq * (t + 1) / nconn - pipes[t].qoff;
        pipes[t].lat = lat + pipes[t].r0;
        pipes[t].start = &bar;
        pipes[t].failed = 0;
        pthread_create(&tid[t], NULL, pipes[t].run ? pipes[t].run : bv_pipe_run, &pipes[t]);
    }
    if (extra) {
        extra->start = &bar;
        pthread_create(&tid[nconn], NULL, bv_pipe_run, extra);
    }
    double t0 = 1e300, t1 = 0;
    size_t got = 0;
    for (unsigned t = 0; t < nconn; t++) {
        pthread_join(tid[t], NULL);
        if (pipes[t].failed) {
            fprintf(stderr, "bench_vset: connection %u: %s\n", t, pipes[t].errmsg);
            res.failed = 1;
        }
        if (pipes[t].t_start < t0) t0 = pipes[t].t_start;
        if (pipes[t].t_end > t1) t1 = pipes[t].t_end;
        /* Compact the latencies of what each pipe actually did. */
        size_t did = pipes[t].r1 - pipes[t].r0;
        memmove(lat + got, pipes[t].lat, did * sizeof(double));
        got += did;
    }
    if (extra) {
        pthread_join(tid[nconn], NULL);
        if (extra->failed) {
            fprintf(stderr, "bench_vset: load connection: %s\n", extra->errmsg);
            res.failed = 1;
        }
    }
    pthread_barrier_destroy(&bar);
    qsort(lat, got, sizeof(double), bv_cmp_double);
    res.requests = got;
    res.seconds = t1 > t0 ? t1 - t0 : 0;
    res.qps = res.seconds > 0 ? (double)got / res.seconds : 0;
    res.p50 = bv_pct(lat, got, 0.50);
    res.p99 = bv_pct(lat, got, 0.99);
    if (keep_lat)
        *keep_lat = lat; /* sorted, res.requests values; the caller frees */
    else
        free(lat);
    return res;
}

/* ------------------------------------------------------------- VADD */

typedef struct bv_load_ctx {
    const char *key, *quant;
    const ds_matrix *base;
    int blend; /* load test: new elements "load:<i>", see bv_blend_row */
} bv_load_ctx;

static uint64_t bv_mix64(uint64_t x)
{
    x ^= x >> 33, x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33, x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* The load test's element i: the mean of two base rows picked by a hash of
 * i. A new vector for every i (not a copy of a row, so a real insert), an
 * image-like one (so the graph work is typical), and one that usually lies
 * between two clusters, so it seldom enters a test query's true top-10 and
 * the recall under load stays comparable with the idle one. */
static void bv_blend_row(const ds_matrix *base, size_t i, float *out)
{
    const float *a = ds_row_f32(base, bv_mix64(2 * i + 1) % base->n);
    const float *b = ds_row_f32(base, bv_mix64(2 * i + 2) % base->n);
    for (size_t j = 0; j < base->dim; j++)
        out[j] = 0.5f * (a[j] + b[j]);
}

static int bv_build_vadd(const bv_pipe *p, size_t i, const char **argv, size_t *lens, char *scratch)
{
    const bv_load_ctx *x = p->ctx;
    size_t dim = x->base->dim;
    const float *v;
    if (x->blend) {
        float *row = (float *)(scratch + BV_SCRATCH_NAMES);
        bv_blend_row(x->base, i, row);
        v = row;
        snprintf(scratch, BV_NAME_MAX, "load:%zu", i);
    } else {
        size_t row = bv_qidx(p, i);
        v = ds_row_f32(x->base, row);
        snprintf(scratch, BV_NAME_MAX, "%zu", row);
    }
    static const char *const tail[] = {"M", "16", "EF", "200"};
    int a = 0;
    argv[a] = "VADD", lens[a++] = 4;
    argv[a] = x->key, lens[a++] = strlen(x->key);
    argv[a] = "FP32", lens[a++] = 4;
    argv[a] = (const char *)v, lens[a++] = dim * sizeof(float);
    argv[a] = scratch, lens[a++] = strlen(scratch);
    argv[a] = x->quant, lens[a++] = strlen(x->quant);
    for (size_t t = 0; t < 4; t++)
        argv[a] = tail[t], lens[a++] = strlen(tail[t]);
    return a;
}

static int bv_check_vadd(const bv_pipe *p, size_t i, const redisReply *r)
{
    (void)p;
    (void)i;
    return r->type == REDIS_REPLY_INTEGER ? 0 : -1;
}

/* Polls INFO vectors until rows_unindexed is 0. Returns the time it
 * reached 0 (ds_now clock), or -1 on timeout / error. */
static double bv_wait_indexed(redisContext *ctl)
{
    double t0 = ds_now();
    for (;;) {
        double u = bench_info_field(ctl, "vectors", "rows_unindexed");
        double now = ds_now();
        if (u == 0) return now;
        if (u < 0) {
            fprintf(stderr, "bench_vset: INFO vectors has no rows_unindexed\n");
            return -1;
        }
        if (now - t0 > BV_INDEX_WAIT_S) return -1;
        struct timespec ts = {0, BV_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
}

typedef struct bv_load_result {
    const char *quant;
    unsigned conns;
    double acked_rate, indexed_rate, acked_s, indexed_s;
    int ok;
} bv_load_result;

/* Loads every base row into `key` over `conns` connections. */
static int bv_load(const bv_opts *o, redisContext *ctl, const ds_matrix *base, const char *key,
                   const char *quant, unsigned conns, bv_load_result *lr)
{
    bv_load_ctx x = {key, quant, base, 0};
    bv_pipe pipes[BV_MAX_CONNS];
    memset(pipes, 0, sizeof(pipes));
    for (unsigned t = 0; t < conns; t++)
        pipes[t] = (bv_pipe){.o = o,
                             .ctx = &x,
                             .depth = o->load_depth,
                             .build = bv_build_vadd,
                             .check = bv_check_vadd};
    bv_phase_result r = bv_run_phase(pipes, conns, base->n, base->n, NULL, NULL);
    double t_idx = r.failed ? -1 : bv_wait_indexed(ctl);
    double t0 = 1e300;
    for (unsigned t = 0; t < conns; t++)
        if (pipes[t].t_start < t0) t0 = pipes[t].t_start;
    memset(lr, 0, sizeof(*lr));
    lr->quant = quant;
    lr->conns = conns;
    lr->acked_s = r.seconds;
    lr->acked_rate = r.qps;
    if (t_idx > 0) {
        lr->indexed_s = t_idx - t0;
        lr->indexed_rate = (double)base->n / lr->indexed_s;
    }
    lr->ok = !r.failed && t_idx > 0;
    printf("load key=%s quant=%s conns=%u depth=%u rows=%zu acked_s=%.2f acked_per_s=%.0f "
           "indexed_s=%.2f indexed_per_s=%.0f%s\n",
           key, quant, conns, o->load_depth, r.requests, r.seconds, r.qps, lr->indexed_s,
           lr->indexed_rate, t_idx > 0 ? "" : " (index did not catch up)");
    fflush(stdout);
    return r.failed ? -1 : 0;
}

/* ------------------------------------------------------------- VSIM */

typedef struct bv_query_ctx {
    const char *key;
    const ds_matrix *query;
    char ef[16];
    int truth;    /* add TRUTH: the server's exact scan (checks the ground truth) */
    int nothread; /* add NOTHREAD: run on the server's main thread (diagnosis) */
} bv_query_ctx;

static int bv_build_vsim(const bv_pipe *p, size_t i, const char **argv, size_t *lens, char *scratch)
{
    (void)scratch;
    const bv_query_ctx *x = p->ctx;
    const float *v = ds_row_f32(x->query, bv_qidx(p, i));
    int a = 0;
    argv[a] = "VSIM", lens[a++] = 4;
    argv[a] = x->key, lens[a++] = strlen(x->key);
    argv[a] = "FP32", lens[a++] = 4;
    argv[a] = (const char *)v, lens[a++] = x->query->dim * sizeof(float);
    argv[a] = "COUNT", lens[a++] = 5;
    argv[a] = "10", lens[a++] = 2;
    argv[a] = "EF", lens[a++] = 2;
    argv[a] = x->ef, lens[a++] = strlen(x->ef);
    if (x->truth) argv[a] = "TRUTH", lens[a++] = 5;
    if (x->nothread) argv[a] = "NOTHREAD", lens[a++] = 8;
    return a;
}

/* Stores the returned row ids in out[i * BV_K ..] (-1 for a missing result
 * or a name that is not a base row id, e.g. an injected "load:<i>"). */
static int bv_check_vsim(const bv_pipe *p, size_t i, const redisReply *r)
{
    int32_t *out = (int32_t *)p->out + i * BV_K;
    for (size_t k = 0; k < BV_K; k++)
        out[k] = -1;
    if (r->type != REDIS_REPLY_ARRAY) return -1;
    for (size_t k = 0; k < r->elements && k < BV_K; k++) {
        const redisReply *e = r->element[k];
        if (e->type != REDIS_REPLY_STRING) return -1;
        char *end;
        long v = strtol(e->str, &end, 10);
        if (end != e->str && *end == '\0') out[k] = (int32_t)v;
    }
    return 0;
}

typedef struct bv_point {
    unsigned ef;
    double recall, qps, p50, p99;
    size_t nq;
} bv_point;

typedef struct bv_curve {
    const char *quant;
    unsigned conns, depth;
    bv_point p[BV_MAX_LIST];
    size_t n;
} bv_curve;

/* Mean recall@10 over every request the pipes did (labels row i holds the
 * answer to query bv_qidx(pipe, i)). */
static double bv_recall(const bv_pipe *pipes, unsigned nconn, const int32_t *labels,
                        const ds_matrix *gt)
{
    double sum = 0;
    size_t cnt = 0;
    for (unsigned t = 0; t < nconn; t++) {
        for (size_t i = pipes[t].r0; i < pipes[t].r1; i++, cnt++)
            sum += ds_recall_at(labels + i * BV_K, ds_row_i32(gt, bv_qidx(&pipes[t], i)), BV_K);
    }
    return cnt ? sum / (double)cnt : 0;
}

/* Request slots for a search of nq queries lasting at least min_seconds:
 * room for BV_MAX_QPS beyond the first pass. */
static size_t bv_search_slots(size_t nq, double min_seconds)
{
    return nq + (min_seconds > 0 ? (size_t)(min_seconds * BV_MAX_QPS) : 0);
}

/* One measured VSIM configuration: the first nq queries, once each, then
 * repeated until min_seconds have passed. labels must hold
 * bv_search_slots(nq, min_seconds) * BV_K ids. */
static int bv_search(const bv_opts *o, const char *key, const ds_matrix *query, const ds_matrix *gt,
                     size_t nq, double min_seconds, unsigned ef, unsigned conns, unsigned depth,
                     int truth, int32_t *labels, bv_point *pt)
{
    bv_query_ctx x = {key, query, "", truth, o->nothread};
    snprintf(x.ef, sizeof(x.ef), "%u", ef);
    bv_pipe pipes[BV_MAX_CONNS];
    memset(pipes, 0, sizeof(pipes));
    for (unsigned t = 0; t < conns; t++)
        pipes[t] = (bv_pipe){.o = o,
                             .ctx = &x,
                             .out = labels,
                             .depth = depth,
                             .min_seconds = min_seconds,
                             .build = bv_build_vsim,
                             .check = bv_check_vsim};
    bv_phase_result r =
        bv_run_phase(pipes, conns, bv_search_slots(nq, min_seconds), nq, NULL, NULL);
    *pt = (bv_point){ef, bv_recall(pipes, conns, labels, gt), r.qps, r.p50, r.p99, r.requests};
    return r.failed ? -1 : 0;
}

/* QPS at recall `target`, interpolated linearly in recall between the two
 * sweep points around the first upward crossing; -1 when never reached;
 * *floor = 1 when the first point is already above (the true figure is at
 * least that). */
static double bv_qps_at(const bv_point *p, size_t n, double target, int *floor)
{
    *floor = 0;
    if (n == 0) return -1;
    if (p[0].recall >= target) {
        *floor = 1;
        return p[0].qps;
    }
    for (size_t i = 1; i < n; i++) {
        if (p[i - 1].recall < target && p[i].recall >= target) {
            double t = (target - p[i - 1].recall) / (p[i].recall - p[i - 1].recall);
            return p[i - 1].qps + t * (p[i].qps - p[i - 1].qps);
        }
    }
    return -1;
}

static void bv_cell(char *buf, size_t cap, double v, int floor)
{
    if (v < 0)
        snprintf(buf, cap, "not reached");
    else
        snprintf(buf, cap, "%s%.0f", floor ? ">=" : "", v);
}

/* ----------------------------------------------------------- the anchor */

/*
 * The anchor: the index library's HNSW in this process (IP over the
 * L2-normalised rows of DST, M 16, EFC 200, built with 2 threads), queries
 * one at a time through index_search, as bench_index measures it. It runs
 * interleaved with the VSIM sweep (same ef, right before the VSIM points),
 * so both sides see the same machine load; the server is idle meanwhile.
 */
typedef struct bv_anchor {
    int ok;
    vindex *idx;
    ds_matrix base, query;                     /* normalised rows; the index reads base */
    bv_point p1[BV_MAX_LIST], p2[BV_MAX_LIST]; /* 1 and 2 search threads */
    size_t n1, n2;
    double build_s;
    /* Diagnosis: the rows split into the server's segment sizes (read from
     * VDESCRIBE), one HNSW per part, every query searching every part with
     * the full ef and merging, as the engine does; 1 thread. */
    int nseg;
    vindex *seg_idx[BV_MAX_SEGS];
    uint32_t seg_off[BV_MAX_SEGS], seg_rows[BV_MAX_SEGS];
    bv_point ps[BV_MAX_LIST];
    size_t ns;
    double seg_build_s;
} bv_anchor;

typedef struct bv_inproc_ctx {
    const bv_anchor *a;
    const ds_matrix *query;
    unsigned ef;
    int segmented;
} bv_inproc_ctx;

/* Searches every part of the segmented anchor and keeps the best BV_K
 * (insertion into a sorted array of at most BV_K * nseg candidates). */
static long bv_search_segmented(const bv_anchor *a, const float *q, const index_search_params *sp,
                                index_hit *out, char *err, size_t errlen)
{
    long n = 0;
    index_hit part[BV_K];
    for (int s = 0; s < a->nseg; s++) {
        long got = index_search(a->seg_idx[s], q, BV_K, sp, part, err, errlen);
        if (got < 0) return -1;
        for (long i = 0; i < got; i++) {
            index_hit h = {part[i].row + a->seg_off[s], part[i].dist};
            long j;
            if (n < BV_K) {
                j = n++;
            } else {
                if (out[BV_K - 1].dist <= h.dist) continue; /* not in the top BV_K */
                j = BV_K - 1;
            }
            while (j > 0 && out[j - 1].dist > h.dist) {
                out[j] = out[j - 1];
                j--;
            }
            out[j] = h;
        }
    }
    return n;
}

/* Thread body for an in-process share (bv_pipe fields as for a connection;
 * no socket). */
static void *bv_inproc_run(void *arg)
{
    bv_pipe *p = arg;
    const bv_inproc_ctx *x = p->ctx;
    index_search_params sp = {0};
    sp.ef = x->ef;
    index_hit hits[BV_K];
    char err[200];
    if (p->start) pthread_barrier_wait(p->start);
    p->t_start = ds_now();
    size_t i = p->r0;
    for (; i < p->r1; i++) {
        double now = ds_now();
        if (i - p->r0 >= p->min_count && now - p->t_start >= p->min_seconds) break;
        const float *qv = ds_row_f32(x->query, bv_qidx(p, i));
        long got = x->segmented ? bv_search_segmented(x->a, qv, &sp, hits, err, sizeof(err))
                                : index_search(x->a->idx, qv, BV_K, &sp, hits, err, sizeof(err));
        p->lat[i - p->r0] = ds_now() - now;
        int32_t *out = (int32_t *)p->out + i * BV_K;
        if (got < 0) {
            p->failed = 1;
            snprintf(p->errmsg, sizeof(p->errmsg), "index_search: %s", err);
            break;
        }
        for (long k = 0; k < BV_K; k++)
            out[k] = k < got ? (int32_t)hits[k].row : -1;
    }
    p->r1 = p->done = i;
    p->t_end = ds_now();
    return NULL;
}

/* Loads DST's normalised rows and builds the HNSW. Returns 0 or -1. */
static int bv_anchor_build(const bv_opts *o, bv_anchor *a)
{
    char path[4096], err[256];
    memset(a, 0, sizeof(*a));
    snprintf(path, sizeof(path), "%s/base.fvecs", o->cos);
    if (ds_read_vecs(path, 0, &a->base) != 0) return -1;
    snprintf(path, sizeof(path), "%s/query.fvecs", o->cos);
    if (ds_read_vecs(path, 0, &a->query) != 0) return -1;
    index_column col = {.chunks = NULL,
                        .base = a->base.data,
                        .chunk_shift = 0,
                        .stride = a->base.dim * sizeof(float)};
    index_param params[] = {{"M", "16"}, {"EFC", "200"}};
    a->idx = index_new("HNSW", INDEX_ELEM_F32, INDEX_METRIC_IP, (uint32_t)a->base.dim, &col, params,
                       2, err, sizeof(err));
    if (a->idx == NULL) {
        fprintf(stderr, "bench_vset: index_new: %s\n", err);
        return -1;
    }
    double t0 = ds_now();
    if (index_build(a->idx, (uint32_t)a->base.n, BV_ANCHOR_BUILD_THREADS, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_vset: index_build: %s\n", err);
        return -1;
    }
    a->build_s = ds_now() - t0;
    char desc[256];
    index_describe(a->idx, desc, sizeof(desc));
    printf("inproc build threads=%d seconds=%.2f index_bytes_per_vector=%.0f params=\"%s\"\n",
           BV_ANCHOR_BUILD_THREADS, a->build_s, (double)index_memory(a->idx) / (double)a->base.n,
           desc);
    fflush(stdout);
    a->ok = 1;
    return 0;
}

/* Builds the segmented diagnosis anchor: parts of the sizes of `key`'s
 * segments (VDESCRIBE), contiguous in our row order. Returns 0 or -1. */
static int bv_anchor_build_segments(redisContext *ctl, const char *key, bv_anchor *a)
{
    redisReply *r = redisCommand(ctl, "VDESCRIBE %s", key);
    const redisReply *segs = NULL;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && !strcmp(r->element[i]->str, "segments"))
            segs = r->element[i + 1];
    uint32_t off = 0;
    for (size_t i = 0; segs && segs->type == REDIS_REPLY_ARRAY && i < segs->elements; i++) {
        const redisReply *sg = segs->element[i];
        for (size_t j = 0; sg->type == REDIS_REPLY_ARRAY && j + 1 < sg->elements; j += 2) {
            if (sg->element[j]->type != REDIS_REPLY_STRING || strcmp(sg->element[j]->str, "rows") ||
                sg->element[j + 1]->type != REDIS_REPLY_INTEGER || a->nseg >= BV_MAX_SEGS)
                continue;
            a->seg_off[a->nseg] = off;
            a->seg_rows[a->nseg] = (uint32_t)sg->element[j + 1]->integer;
            off += a->seg_rows[a->nseg++];
        }
    }
    if (r) freeReplyObject(r);
    if (a->nseg == 0 || off != a->base.n) {
        fprintf(stderr, "bench_vset: VDESCRIBE %s: segment rows do not add up to %zu\n", key,
                a->base.n);
        a->nseg = 0;
        return -1;
    }
    char err[256];
    index_param params[] = {{"M", "16"}, {"EFC", "200"}};
    double t0 = ds_now();
    printf("inproc segmented build: parts");
    for (int s = 0; s < a->nseg; s++) {
        index_column col = {.chunks = NULL,
                            .base = (const uint8_t *)ds_row_f32(&a->base, a->seg_off[s]),
                            .chunk_shift = 0,
                            .stride = a->base.dim * sizeof(float)};
        a->seg_idx[s] = index_new("HNSW", INDEX_ELEM_F32, INDEX_METRIC_IP, (uint32_t)a->base.dim,
                                  &col, params, 2, err, sizeof(err));
        if (a->seg_idx[s] == NULL || index_build(a->seg_idx[s], a->seg_rows[s],
                                                 BV_ANCHOR_BUILD_THREADS, err, sizeof(err)) != 0) {
            fprintf(stderr, "bench_vset: segmented anchor: %s\n", err);
            return -1;
        }
        printf(" %u", a->seg_rows[s]);
    }
    a->seg_build_s = ds_now() - t0;
    printf(" rows (as VDESCRIBE %s), seconds=%.2f\n", key, a->seg_build_s);
    fflush(stdout);
    return 0;
}

static void bv_anchor_free(bv_anchor *a)
{
    for (int s = 0; s < a->nseg; s++)
        index_free(a->seg_idx[s]);
    index_free(a->idx);
    ds_matrix_free(&a->base);
    ds_matrix_free(&a->query);
}

/* One in-process point: nq queries (repeated until min_seconds) on
 * `threads` threads. */
static int bv_anchor_search(const bv_opts *o, const bv_anchor *a, const ds_matrix *gt, size_t nq,
                            unsigned ef, unsigned threads, int segmented, int32_t *labels,
                            bv_point *pt)
{
    bv_inproc_ctx x = {a, &a->query, ef, segmented};
    bv_pipe pipes[BV_MAX_CONNS];
    memset(pipes, 0, sizeof(pipes));
    for (unsigned t = 0; t < threads; t++)
        pipes[t] = (bv_pipe){
            .o = o, .ctx = &x, .out = labels, .min_seconds = o->min_seconds, .run = bv_inproc_run};
    bv_phase_result r =
        bv_run_phase(pipes, threads, bv_search_slots(nq, o->min_seconds), nq, NULL, NULL);
    *pt = (bv_point){ef, bv_recall(pipes, threads, labels, gt), r.qps, r.p50, r.p99, r.requests};
    printf("inproc%s threads=%u ef=%-3u queries=%-5zu qps=%8.1f p50_ms=%7.3f p99_ms=%7.3f "
           "recall=%.4f\n",
           segmented ? "-segmented" : "", threads, ef, pt->nq, pt->qps, pt->p50 * 1e3,
           pt->p99 * 1e3, pt->recall);
    fflush(stdout);
    return r.failed ? -1 : 0;
}

/* ------------------------------------------------------------- prepare */

static int bv_prepare(const char *src, const char *dst)
{
    static const char *const files[] = {"base.fvecs", "query.fvecs"};
    char path[4096];
    if (mkdir(dst, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench_vset: mkdir %s: %s\n", dst, strerror(errno));
        return -1;
    }
    for (size_t f = 0; f < 2; f++) {
        snprintf(path, sizeof(path), "%s/%s", dst, files[f]);
        if (ds_file_exists(path)) continue;
        ds_matrix m;
        snprintf(path, sizeof(path), "%s/%s", src, files[f]);
        if (ds_read_vecs(path, 0, &m) != 0) return -1;
        ds_normalise_rows(&m);
        snprintf(path, sizeof(path), "%s/%s", dst, files[f]);
        int rc = ds_write_vecs(path, m.data, m.n, m.dim);
        if (rc == 0) printf("bench_vset: wrote %s (%zu x %zu, L2-normalised)\n", path, m.n, m.dim);
        ds_matrix_free(&m);
        if (rc != 0) return -1;
    }
    snprintf(path, sizeof(path), "%s/info.txt", dst);
    if (!ds_file_exists(path)) {
        char tmp[4200];
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        FILE *f = fopen(tmp, "w");
        if (f == NULL) return -1;
        fprintf(f,
                "name=fashion-mnist-cos\nmetric=ip\nsource=%s, rows L2-normalised by "
                "utils/bench_vset.c (cosine = inner product)\n",
                src);
        if (fclose(f) != 0 || rename(tmp, path) != 0) return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- run */

static void bv_print_point(const char *quant, unsigned conns, unsigned depth, const bv_point *p)
{
    printf("vsim quant=%-7s conns=%u depth=%-2u ef=%-3u queries=%-5zu qps=%8.1f p50_ms=%7.3f "
           "p99_ms=%7.3f recall=%.4f\n",
           quant, conns, depth, p->ef, p->nq, p->qps, p->p50 * 1e3, p->p99 * 1e3, p->recall);
    fflush(stdout);
}

typedef struct bv_loadtest {
    int ran;
    unsigned ef;
    double recall[2];       /* idle, loaded */
    bv_phase_result res[2]; /* idle, loaded; over every round */
    double vadd_rate, vadd_p99, unindexed_max;
    size_t vadds;
    double median_ratio; /* median over rounds of p99 loaded / p99 idle */
} bv_loadtest;

/* Merges n sorted values b into the growing array *a of *na values. */
static int bv_append(double **a, size_t *na, const double *b, size_t n)
{
    double *m = realloc(*a, (*na + n + 1) * sizeof(double));
    if (m == NULL) return -1;
    memcpy(m + *na, b, n * sizeof(double));
    *a = m;
    *na += n;
    return 0;
}

/*
 * p99 under VADD load: o->load_rounds rounds, each an idle phase then a
 * loaded phase of load_seconds / rounds each (alternating, so a drift of the
 * machine's load hits both sides alike); before every idle phase the index
 * catches up (rows_unindexed 0), so idle means idle. Figures aggregate the
 * latencies of all rounds.
 */
static int bv_load_test(const bv_opts *o, redisContext *ctl, const char *key, const ds_matrix *base,
                        const ds_matrix *query, const ds_matrix *gt, unsigned ef, bv_loadtest *lt)
{
    memset(lt, 0, sizeof(*lt));
    lt->ef = ef;
    unsigned rounds = o->load_rounds ? o->load_rounds : 1;
    double phase_s = o->load_seconds / rounds;
    size_t nq = o->sub_queries < query->n ? o->sub_queries : query->n;
    size_t cap = bv_search_slots(nq, phase_s + 1);
    size_t nload = (size_t)(o->load_rate * (phase_s + 1) * 1.5) + 100;
    int32_t *labels = malloc(cap * BV_K * sizeof(int32_t));
    double *vlat = calloc(nload, sizeof(double));
    double *all[2] = {NULL, NULL}, *vall = NULL;
    size_t nall[2] = {0, 0}, nvall = 0, next_id = 0;
    double secs[2] = {0, 0}, rsum[2] = {0, 0}, vsecs = 0, p99[2] = {0, 0};
    double ratios[BV_MAX_ROUNDS];
    if (rounds > BV_MAX_ROUNDS) rounds = BV_MAX_ROUNDS;
    int rc = labels && vlat ? 0 : -1;
    bv_query_ctx x = {key, query, "", 0, o->nothread};
    snprintf(x.ef, sizeof(x.ef), "%u", ef);
    bv_load_ctx lx = {key, "NOQUANT", base, 1};
    for (unsigned round = 0; round < rounds && rc == 0; round++) {
        for (int loaded = 0; loaded < 2 && rc == 0; loaded++) {
            if (!loaded && bv_wait_indexed(ctl) < 0) rc = -1;
            bv_pipe pipes[2];
            for (unsigned t = 0; t < 2; t++)
                pipes[t] = (bv_pipe){.o = o,
                                     .ctx = &x,
                                     .out = labels,
                                     .depth = 1,
                                     .build = bv_build_vsim,
                                     .check = bv_check_vsim};
            bv_pipe load = {.o = o,
                            .ctx = &lx,
                            .depth = 64,
                            .pace = o->load_rate,
                            .build = bv_build_vadd,
                            .check = bv_check_vadd,
                            .lat = vlat,
                            .r0 = next_id,
                            .r1 = next_id + nload,
                            .min_count = SIZE_MAX,
                            .scratch_bytes = base->dim * sizeof(float)};
            double deadline = ds_now() + phase_s;
            for (unsigned t = 0; t < 2; t++)
                pipes[t].deadline = deadline;
            load.deadline = deadline;
            double *lat = NULL;
            bv_phase_result r = bv_run_phase(pipes, 2, cap, nq, loaded ? &load : NULL, &lat);
            if (r.failed) rc = -1;
            double rec = bv_recall(pipes, 2, labels, gt);
            if (lat && bv_append(&all[loaded], &nall[loaded], lat, r.requests) != 0) rc = -1;
            free(lat);
            secs[loaded] += r.seconds;
            rsum[loaded] += rec * (double)r.requests;
            p99[loaded] = r.p99;
            if (loaded) ratios[round] = p99[0] > 0 ? p99[1] / p99[0] : 0;
            printf("loadtest round %u %s: vsim conns=2 depth=1 ef=%u requests=%zu qps=%.1f "
                   "p50_ms=%.3f p99_ms=%.3f recall=%.4f",
                   round + 1, loaded ? "loaded" : "idle  ", ef, r.requests, r.qps, r.p50 * 1e3,
                   r.p99 * 1e3, rec);
            if (loaded) {
                size_t done = load.r1 - load.r0;
                next_id += done;
                qsort(vlat, done, sizeof(double), bv_cmp_double);
                if (bv_append(&vall, &nvall, vlat, done) != 0) rc = -1;
                vsecs += load.t_end - load.t_start;
                double u = bench_info_field(ctl, "vectors", "rows_unindexed");
                if (u > lt->unindexed_max) lt->unindexed_max = u;
                printf(" | p99 x%.2f | vadd %zu at %.0f/s, p99_ms=%.3f, rows_unindexed after %.0f",
                       ratios[round], done, (double)done / (load.t_end - load.t_start),
                       bv_pct(vlat, done, 0.99) * 1e3, u);
            }
            printf("\n");
            fflush(stdout);
        }
    }
    for (int l = 0; l < 2 && rc == 0; l++) {
        qsort(all[l], nall[l], sizeof(double), bv_cmp_double);
        lt->res[l] = (bv_phase_result){nall[l],
                                       secs[l],
                                       secs[l] > 0 ? nall[l] / secs[l] : 0,
                                       bv_pct(all[l], nall[l], 0.50),
                                       bv_pct(all[l], nall[l], 0.99),
                                       0};
        lt->recall[l] = nall[l] ? rsum[l] / (double)nall[l] : 0;
        printf("loadtest all rounds %s: requests=%zu qps=%.1f p50_ms=%.3f p99_ms=%.3f "
               "recall=%.4f\n",
               l ? "loaded" : "idle  ", lt->res[l].requests, lt->res[l].qps, lt->res[l].p50 * 1e3,
               lt->res[l].p99 * 1e3, lt->recall[l]);
    }
    if (rc == 0) {
        qsort(ratios, rounds, sizeof(double), bv_cmp_double);
        lt->median_ratio =
            rounds % 2 ? ratios[rounds / 2] : (ratios[rounds / 2 - 1] + ratios[rounds / 2]) / 2;
        printf("loadtest p99 loaded/idle: %.2fx over all rounds, median of the rounds' ratios "
               "%.2fx\n",
               lt->res[0].p99 > 0 ? lt->res[1].p99 / lt->res[0].p99 : 0, lt->median_ratio);
        qsort(vall, nvall, sizeof(double), bv_cmp_double);
        lt->vadds = nvall;
        lt->vadd_rate = vsecs > 0 ? nvall / vsecs : 0;
        lt->vadd_p99 = bv_pct(vall, nvall, 0.99);
        printf("loadtest VADD: %zu new elements at %.0f/s (target %.0f/s), p99_ms=%.3f, "
               "most rows_unindexed after a loaded phase %.0f\n",
               lt->vadds, lt->vadd_rate, o->load_rate, lt->vadd_p99 * 1e3, lt->unindexed_max);
        fflush(stdout);
    }
    lt->ran = rc == 0;
    free(labels);
    free(vlat);
    free(all[0]);
    free(all[1]);
    free(vall);
    return rc;
}

static void bv_usage(void)
{
    fprintf(stderr,
            "usage: bench_vset prepare SRC_DIR DST_DIR\n"
            "       bench_vset run --port P --raw SRC_DIR --cos DST_DIR [--host H] [--no-anchor]\n"
            "         [--no-segmented]\n"
            "         [--efs 10,20,...] [--conns 1,2,8] [--depths 1,16] [--load-conns 1,2]\n"
            "         [--load-depth 256] [--queries N] [--sub-queries N] [--load-rate R]\n"
            "         [--load-seconds S] [--load-rounds R] [--min-seconds S] [--no-q8] [--quick] "
            "[--nothread] [--reuse]\n");
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "prepare") == 0) return bv_prepare(argv[2], argv[3]) ? 1 : 0;
    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        bv_usage();
        return 2;
    }
    bv_opts o = {.host = "127.0.0.1",
                 .port = 0,
                 .load_depth = 256,
                 .queries = 10000,
                 .sub_queries = 2000,
                 .load_rate = 1000,
                 .load_seconds = 15,
                 .min_seconds = 1,
                 .q8 = 1,
                 .load_rounds = 3};
    o.nefs = ds_parse_uints("10,20,40,80,120,200,400", o.efs, BV_MAX_LIST);
    o.nconns = ds_parse_uints("1,2,8", o.conns, BV_MAX_LIST);
    o.ndepths = ds_parse_uints("1,16", o.depths, BV_MAX_LIST);
    o.nload_conns = ds_parse_uints("1,2", o.load_conns, BV_MAX_LIST);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quick") == 0) {
            o.quick = 1;
            continue;
        }
        if (strcmp(a, "--no-q8") == 0) {
            o.q8 = 0;
            continue;
        }
        if (strcmp(a, "--nothread") == 0) {
            o.nothread = 1;
            continue;
        }
        if (strcmp(a, "--reuse") == 0) {
            o.reuse = 1;
            continue;
        }
        if (strcmp(a, "--no-anchor") == 0) {
            o.no_anchor = 1;
            continue;
        }
        if (strcmp(a, "--no-segmented") == 0) {
            o.no_segmented = 1;
            continue;
        }
        if (i + 1 >= argc) {
            bv_usage();
            return 2;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--port") == 0)
            o.port = atoi(v);
        else if (strcmp(a, "--host") == 0)
            o.host = v;
        else if (strcmp(a, "--raw") == 0)
            o.raw = v;
        else if (strcmp(a, "--cos") == 0)
            o.cos = v;
        else if (strcmp(a, "--efs") == 0)
            o.nefs = ds_parse_uints(v, o.efs, BV_MAX_LIST);
        else if (strcmp(a, "--conns") == 0)
            o.nconns = ds_parse_uints(v, o.conns, BV_MAX_LIST);
        else if (strcmp(a, "--depths") == 0)
            o.ndepths = ds_parse_uints(v, o.depths, BV_MAX_LIST);
        else if (strcmp(a, "--load-conns") == 0)
            o.nload_conns = ds_parse_uints(v, o.load_conns, BV_MAX_LIST);
        else if (strcmp(a, "--load-depth") == 0)
            o.load_depth = (unsigned)atoi(v);
        else if (strcmp(a, "--queries") == 0)
            o.queries = strtoul(v, NULL, 10);
        else if (strcmp(a, "--sub-queries") == 0)
            o.sub_queries = strtoul(v, NULL, 10);
        else if (strcmp(a, "--load-rate") == 0)
            o.load_rate = atof(v);
        else if (strcmp(a, "--load-seconds") == 0)
            o.load_seconds = atof(v);
        else if (strcmp(a, "--load-rounds") == 0)
            o.load_rounds = (unsigned)atoi(v);
        else if (strcmp(a, "--min-seconds") == 0)
            o.min_seconds = atof(v);
        else {
            bv_usage();
            return 2;
        }
    }
    if (o.port <= 0 || !o.raw || !o.cos || o.nefs == 0 || o.nconns == 0 || o.ndepths == 0 ||
        o.nload_conns == 0 || o.load_depth == 0 || o.queries == 0 || o.sub_queries == 0) {
        bv_usage();
        return 2;
    }
    for (size_t i = 0; i < o.nconns; i++)
        if (o.conns[i] < 1 || o.conns[i] > BV_MAX_CONNS) return bv_usage(), 2;
    for (size_t i = 0; i < o.nload_conns; i++)
        if (o.load_conns[i] < 1 || o.load_conns[i] > BV_MAX_CONNS) return bv_usage(), 2;
    for (size_t i = 0; i < o.ndepths; i++)
        if (o.depths[i] < 1) return bv_usage(), 2;

    /* Inputs: raw rows for the wire, the cosine ground truth. */
    char path[4096];
    ds_matrix base, query, gt;
    snprintf(path, sizeof(path), "%s/base.fvecs", o.raw);
    if (ds_read_vecs(path, 0, &base) != 0) return 1;
    snprintf(path, sizeof(path), "%s/query.fvecs", o.raw);
    if (ds_read_vecs(path, 0, &query) != 0) return 1;
    snprintf(path, sizeof(path), "%s/gt.ivecs", o.cos);
    if (ds_read_vecs(path, query.n, &gt) != 0) return 1;
    if (base.dim != query.dim || gt.n != query.n || gt.dim < BV_K) {
        fprintf(stderr, "bench_vset: base / query / ground truth do not match\n");
        return 1;
    }
    if (o.queries > query.n) o.queries = query.n;
    if (o.sub_queries > o.queries) o.sub_queries = o.queries;

    redisContext *ctl = bv_connect(&o);
    if (ctl == NULL) return 1;
    redisReply *ver = redisCommand(ctl, "INFO server");
    char version[64] = "?";
    if (ver && ver->type == REDIS_REPLY_STRING) {
        const char *p = strstr(ver->str, "vectis_version:");
        if (p == NULL) p = strstr(ver->str, "redis_version:");
        if (p) sscanf(strchr(p, ':') + 1, "%63[^\r\n]", version);
    }
    if (ver) freeReplyObject(ver);
    printf("bench_vset: server %s:%d version %s; %zu x %zu base, %zu queries (main config), "
           "%zu (other configs), k=%d%s\n",
           o.host, o.port, version, base.n, base.dim, o.queries, o.sub_queries, BV_K,
           o.quick ? ", QUICK" : "");
    fflush(stdout);

    int rc = 0;
    const char *quants[2] = {"NOQUANT", "Q8"};
    const char *keys[2] = {"fm:noquant", "fm:q8"};
    size_t nquant = o.q8 ? 2 : 1;

    /* ---- 0. the in-process anchor, built before the server has data */
    bv_anchor an;
    memset(&an, 0, sizeof(an));
    if (!o.no_anchor) {
        simd_init();
        printf("\n---- in-process anchor: index library HNSW, IP over %s (unit rows)\n", o.cos);
        if (bv_anchor_build(&o, &an) != 0) rc = 1;
    }

    /* ---- 1. loads */
    printf("\n---- load: VADD FP32 ... M 16 EF 200, pipeline depth %u per connection\n",
           o.load_depth);
    bv_load_result loads[2][BV_MAX_LIST];
    memset(loads, 0, sizeof(loads));
    for (size_t q = 0; q < nquant && rc == 0; q++) {
        for (size_t l = 0; l < o.nload_conns && rc == 0; l++) {
            int last = l + 1 == o.nload_conns;
            char key[64];
            snprintf(key, sizeof(key), "%s%s", keys[q], last ? "" : ":scratch");
            if (o.reuse) {
                if (!last) continue;
                redisReply *r = redisCommand(ctl, "VCARD %s", key);
                long long card = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
                if (r) freeReplyObject(r);
                if (card == (long long)base.n) {
                    printf("load key=%s reused (%lld elements)\n", key, card);
                    continue;
                }
            }
            if (bv_load(&o, ctl, &base, key, quants[q], o.load_conns[l], &loads[q][l]) != 0) rc = 1;
            if (!last && rc == 0) {
                if (bv_simple(ctl, "DEL %s", key) != 0) rc = 1;
                /* The free runs on a worker; wait until the rows are gone. */
                double t0 = ds_now();
                while (bench_info_field(ctl, "vectors", "rows") > (double)(q * base.n) &&
                       ds_now() - t0 < 60) {
                    struct timespec ts = {0, BV_POLL_MS * 1000000L};
                    nanosleep(&ts, NULL);
                }
            }
        }
    }
    static const char *const vec_fields[] = {"collections",        "rows",   "segments",
                                             "collections_memory", "search", NULL};
    printf("INFO vectors after the loads:\n");
    bench_print_info(ctl, "vectors", vec_fields);
    printf("INFO memory:\n");
    static const char *const mem_fields[] = {"used_memory:", "used_memory_rss:", NULL};
    bench_print_info(ctl, "memory", mem_fields);
    fflush(stdout);
    if (rc == 0 && an.ok && !o.no_segmented && bv_anchor_build_segments(ctl, keys[0], &an) != 0)
        rc = 1;

    /* ---- 2. sweeps, after a check of the ground truth against the server's
     * own exact scan (VSIM ... TRUTH): both are cosine over all rows, so the
     * recall must be ~1 (float rounding may swap near-ties). */
    static bv_curve curves[2 * BV_MAX_LIST * BV_MAX_LIST];
    size_t ncurves = 0;
    int32_t *labels = malloc(bv_search_slots(o.queries, o.min_seconds) * BV_K * sizeof(int32_t));
    if (labels == NULL) return 1;
    if (rc == 0) {
        bv_point tp;
        size_t nt = BV_TRUTH_QUERIES < o.sub_queries ? BV_TRUTH_QUERIES : o.sub_queries;
        if (bv_search(&o, keys[0], &query, &gt, nt, 0, 10, 2, 1, 1, labels, &tp) != 0) rc = 1;
        printf("\nground-truth check: VSIM %s ... TRUTH on %zu queries: recall@10 %.4f against "
               "%s/gt.ivecs (%.1f QPS exact scan)%s\n",
               keys[0], nt, tp.recall, o.cos, tp.qps,
               tp.recall < 0.99 ? " -- MISMATCH: the ground truth is not cosine" : "");
        if (tp.recall < 0.99) rc = 1;
    }
    for (size_t q = 0; q < nquant && rc == 0; q++) {
        printf("\n---- search: VSIM %s FP32 ... COUNT 10 EF e (latency per request, client side)\n",
               keys[q]);
        bv_point warm;
        size_t nwarm = BV_WARMUP < o.sub_queries ? BV_WARMUP : o.sub_queries;
        if (bv_search(&o, keys[q], &query, &gt, nwarm, 0, o.efs[0], 2, 1, 0, labels, &warm) != 0)
            rc = 1;
        size_t first = ncurves;
        for (size_t ci = 0; ci < o.nconns; ci++) {
            for (size_t di = 0; di < o.ndepths; di++) {
                bv_curve *cv = &curves[ncurves++];
                cv->quant = quants[q];
                cv->conns = o.conns[ci];
                cv->depth = o.depths[di];
            }
        }
        /* ef outermost, so the in-process points and the VSIM points of one
         * ef are measured within a minute of each other. */
        for (size_t e = 0; e < o.nefs && rc == 0; e++) {
            if (q == 0 && an.ok) {
                if (bv_anchor_search(&o, &an, &gt, o.queries, o.efs[e], 1, 0, labels,
                                     &an.p1[an.n1++]) != 0 ||
                    (an.nseg && bv_anchor_search(&o, &an, &gt, o.queries, o.efs[e], 1, 1, labels,
                                                 &an.ps[an.ns++]) != 0) ||
                    bv_anchor_search(&o, &an, &gt, o.queries, o.efs[e], 2, 0, labels,
                                     &an.p2[an.n2++]) != 0)
                    rc = 1;
            }
            for (size_t c = first; c < ncurves && rc == 0; c++) {
                bv_curve *cv = &curves[c];
                int main_cfg = q == 0 && cv->conns == 2 && cv->depth == 1;
                size_t nq = main_cfg ? o.queries : o.sub_queries;
                bv_point *pt = &cv->p[cv->n];
                if (bv_search(&o, keys[q], &query, &gt, nq, o.min_seconds, o.efs[e], cv->conns,
                              cv->depth, 0, labels, pt) != 0)
                    rc = 1;
                cv->n++;
                bv_print_point(cv->quant, cv->conns, cv->depth, pt);
            }
        }
    }

    /* ---- 3. QPS at the recall targets, next to the anchor */
    printf("\n==== VSIM QPS at recall@10 (interpolated; \">=\": already above at the lowest "
           "ef) ====\n");
    printf("%-26s", "config");
    for (size_t t = 0; t < BV_NTARGETS; t++)
        printf(" %12s@%.2f", "qps", bv_targets[t]);
    printf(" %14s\n", "vs anchor@0.95");
    double anchor1 = -1, anchor2 = -1;
    int fl;
    if (an.ok) {
        anchor1 = bv_qps_at(an.p1, an.n1, 0.95, &fl);
        anchor2 = bv_qps_at(an.p2, an.n2, 0.95, &fl);
    }
    double goal_base = anchor1 > 0 ? 2 * anchor1 : -1;
    double best_qps = -1, main_qps = -1;
    const bv_curve *best = NULL;
    for (size_t i = 0; i < ncurves; i++) {
        const bv_curve *cv = &curves[i];
        char name[64], cell[32];
        snprintf(name, sizeof(name), "%s conns=%u depth=%u", cv->quant, cv->conns, cv->depth);
        printf("%-26s", name);
        double q95 = -1;
        for (size_t t = 0; t < BV_NTARGETS; t++) {
            double v = bv_qps_at(cv->p, cv->n, bv_targets[t], &fl);
            if (t == 1) q95 = v;
            bv_cell(cell, sizeof(cell), v, fl);
            printf(" %17s", cell);
        }
        if (q95 > 0 && goal_base > 0)
            printf(" %13.2fx\n", q95 / goal_base);
        else
            printf(" %14s\n", "-");
        if (strcmp(cv->quant, "NOQUANT") == 0 && cv->conns >= 2 && q95 > best_qps) {
            best_qps = q95;
            best = cv;
        }
        if (strcmp(cv->quant, "NOQUANT") == 0 && cv->conns == 2 && cv->depth == 1) main_qps = q95;
    }
    if (an.ok) {
        char cell[32];
        for (int t = 1; t <= 2; t++) {
            printf("%-26s", t == 1 ? "in-process HNSW 1 thread" : "in-process HNSW 2 threads");
            for (size_t k = 0; k < BV_NTARGETS; k++) {
                double v = t == 1 ? bv_qps_at(an.p1, an.n1, bv_targets[k], &fl)
                                  : bv_qps_at(an.p2, an.n2, bv_targets[k], &fl);
                bv_cell(cell, sizeof(cell), v, fl);
                printf(" %17s", cell);
            }
            printf(" %14s\n", t == 1 ? "(x2 = goal base)" : "");
        }
        if (an.nseg) {
            printf("%-26s", "in-proc, server's segs 1T");
            for (size_t k = 0; k < BV_NTARGETS; k++) {
                double v = bv_qps_at(an.ps, an.ns, bv_targets[k], &fl);
                bv_cell(cell, sizeof(cell), v, fl);
                printf(" %17s", cell);
            }
            printf(" %14s\n", "(diagnosis)");
        }
        printf("in-process sweep (IP over unit vectors, M=16 EFC=200, build %.1f s):", an.build_s);
        for (size_t i = 0; i < an.n1; i++)
            printf(" ef=%u %.4f/%.0f", an.p1[i].ef, an.p1[i].recall, an.p1[i].qps);
        printf("  (recall/QPS, 1 thread)\n");
    } else {
        printf("(no in-process anchor)\n");
    }

    /* ---- 4. p99 under VADD load */
    bv_loadtest lt;
    memset(&lt, 0, sizeof(lt));
    if (rc == 0 && o.load_seconds > 0) {
        /* The smallest ef of the main curve that reached 0.95. */
        unsigned ef95 = 0;
        for (size_t i = 0; i < ncurves && !ef95; i++) {
            const bv_curve *cv = &curves[i];
            if (strcmp(cv->quant, "NOQUANT") || cv->conns != 2 || cv->depth != 1) continue;
            for (size_t e = 0; e < cv->n && !ef95; e++)
                if (cv->p[e].recall >= 0.95) ef95 = cv->p[e].ef;
        }
        if (!ef95) ef95 = o.efs[o.nefs - 1];
        printf("\n---- search latency under a steady VADD load (%.0f VADD/s into fm:noquant; "
               "%u rounds of idle then loaded, %.0f s each in all)\n",
               o.load_rate, o.load_rounds, o.load_seconds);
        if (bv_load_test(&o, ctl, "fm:noquant", &base, &query, &gt, ef95, &lt) != 0) rc = 1;
    }

    /* ---- 5. what the server says */
    printf("\n---- server view\n");
    static const char *const cmd_fields[] = {"cmdstat_vadd:", "cmdstat_vsim:", NULL};
    bench_print_info(ctl, "commandstats", cmd_fields); /* vectis names them in upper case */
    bench_print_info(ctl, "vectors", vec_fields);

    /* ---- summary */
    printf("\n==== bench-vset summary: fashion-mnist %zu x %zu, cosine, M 16, EF 200 ====\n",
           base.n, base.dim);
    printf("%-48s %-44s %-10s %s\n", "goal (issue 4)", "measured", "target", "met");
    char meas[160];
    if (best && goal_base > 0) {
        snprintf(meas, sizeof(meas), "%.0f QPS (%s c=%u d=%u) / (2 x %.0f) = %.2fx", best_qps,
                 best->quant, best->conns, best->depth, anchor1, best_qps / goal_base);
        printf("%-48s %-44s %-10s %s\n", "VSIM QPS@0.95, 2+ conns vs 2 x in-proc 1T", meas,
               ">= 0.80x", best_qps / goal_base >= 0.8 ? "yes" : "NO");
        if (main_qps > 0) {
            snprintf(meas, sizeof(meas), "%.0f QPS (c=2 d=1) = %.2fx; in-proc 2T %.0f", main_qps,
                     main_qps / goal_base, anchor2);
            printf("%-48s %-44s %-10s %s\n", "  same, 2 connections, depth 1", meas, ">= 0.80x",
                   main_qps / goal_base >= 0.8 ? "yes" : "NO");
        }
    } else {
        printf("%-48s %-44s %-10s %s\n", "VSIM QPS@0.95, 2+ conns vs 2 x in-proc 1T",
               best_qps > 0 ? "no anchor" : "0.95 not reached", ">= 0.80x", "-");
    }
    for (size_t q = 0; q < nquant; q++) {
        for (size_t l = 0; l < o.nload_conns; l++) {
            const bv_load_result *lr = &loads[q][l];
            if (lr->conns == 0) continue;
            char goal[64];
            snprintf(goal, sizeof(goal), "insert VADD/s %s, %u conn%s (acked; indexed)", lr->quant,
                     lr->conns, lr->conns > 1 ? "s" : "");
            snprintf(meas, sizeof(meas), "%.0f/s acked; %.0f/s indexed", lr->acked_rate,
                     lr->indexed_rate);
            printf("%-48s %-44s %-10s %s\n", goal, meas, ">= 5000",
                   lr->acked_rate >= 5000 ? (lr->indexed_rate >= 5000 ? "yes" : "acked only")
                                          : "NO");
        }
    }
    if (lt.ran) {
        double ratio = lt.res[0].p99 > 0 ? lt.res[1].p99 / lt.res[0].p99 : 0;
        snprintf(meas, sizeof(meas), "median round %.2fx; all: %.2f / %.2f ms = %.2fx",
                 lt.median_ratio, lt.res[1].p99 * 1e3, lt.res[0].p99 * 1e3, ratio);
        printf("%-48s %-44s %-10s %s\n", "VSIM p99 under VADD load vs idle (c=2 d=1)", meas,
               "<= 2.0x", lt.median_ratio <= 2.0 ? "yes" : "NO");
        snprintf(meas, sizeof(meas), "ef %u, %.0f VADD/s, %u rounds", lt.ef, lt.vadd_rate,
                 o.load_rounds);
        printf("%-48s %-44s\n", "", meas);
    }
    printf("(speed never fails the run; exit status only reports errors)\n");
    fflush(stdout);

    free(labels);
    bv_anchor_free(&an);
    redisFree(ctl);
    ds_matrix_free(&base);
    ds_matrix_free(&query);
    ds_matrix_free(&gt);
    return rc;
}
