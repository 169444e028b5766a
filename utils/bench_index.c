/*
 * bench_index.c -- the vectis side of `make bench-index` (benchmark-only).
 *
 * For one data set directory (see utils/datasets.c: base.fvecs, query.fvecs,
 * gt.ivecs, info.txt) it measures, through the public index interface
 * (src/index/index.h), exactly what a server would run:
 *
 * A cosine data set is searched as the server stores one (VADD, VCREATE
 * METRIC COSINE over FLOAT32): rows and queries L2-normalised, metric IP.
 *
 *   1. memory read bandwidth: a STREAM-style loop summing a 512 MiB float
 *      array, 1 thread and 2 threads, the ceiling any exact scan can reach;
 *   2. FLAT: one query at a time, one thread (and FLAT's own 2-thread row
 *      split), QPS and the achieved read bandwidth n * dim * 4 bytes * QPS,
 *      as a fraction of the STREAM figure. STREAM and FLAT alternate in
 *      BENCH_FLAT_ROUNDS rounds and the medians are reported, so a load
 *      change on the shared machine does not land on one side only;
 *   3. HNSW float (M, EFC as given, default 16 / 200): build with each
 *      --build-threads count (timed; the graph of the last build is kept),
 *      index_memory(), index_validate(); then for each ef of the sweep every
 *      query one at a time with k = 10 on 1 thread, and on 2 threads (each
 *      thread takes a contiguous half of the queries; QPS is the total);
 *      recall@10 against the first 10 exact neighbours (with --reps R, each
 *      sweep point runs R times and the median QPS is reported);
 *   4. HNSW SQ8 (RERANK 1: final candidates re-scored with the float column)
 *      and HNSW BIN (sign bits, Hamming, RERANK 1), built with the largest
 *      build thread count, 1-thread sweep. Their recall is measured against
 *      the FLOAT ground truth (what a user gets), not a Hamming oracle;
 *   5. with --peer-exec "hnswlib_peer --data DIR --serve ...", the peer runs
 *      as a child that builds and searches on command: each of its builds
 *      runs just before the matching vectis build and each sweep point just
 *      before or after vectis's (alternating), never at the same time, so a
 *      change in the shared machine's load hits both sides alike. (--peer
 *      FILE instead reads a finished peer run.) Then a comparison table: QPS at recall@10 = 0.90 /
 * 0.95 / 0.99, interpolated linearly in recall between the two sweep points around the target (on
 * the sweep's Pareto frontier, the same for both tools), for vectis and hnswlib side by side with
 * the ratio; build-time ratios; bytes per vector.
 *
 * Bytes per vector: "index" is index_memory() / n (links, codes, pools; what
 * the index owns); "+ column" adds the float vectors the caller stores
 * (n * dim * 4), which is the figure comparable to hnswlib's (it keeps the
 * vectors inside its level-0 block). The SQ8 / float memory ratio is given
 * both ways: SQ8 index alone vs float index + column (the float column then
 * only needed for the re-rank, e.g. on disk), and with the column counted.
 *
 * Output: human-readable, plus machine-readable records in the same
 * "tool kind key=value" shape as the peer's ("vectis search variant=float
 * threads=1 ef=64 recall=0.9812 qps=9876.5"). The program never fails on
 * speed: it exits 0 unless an input is missing or the library errs.
 *
 * Threading: the main thread builds and sweeps; search workers share the
 * read-only index and write disjoint slices of the result array. The
 * STREAM workers each sum their own slice.
 *
 * Rejected: timing each query separately with clock_gettime and summing. It
 * adds two clock reads per ~100 us query and loses the warm-cache effect of
 * back-to-back queries that a server under load has; wall time over the
 * whole batch is what QPS means.
 */
#include "ds_io.h"
#include "index/index.h"
#include "simd/simd.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_K            10           /* recall@10 */
#define BENCH_MAX_EFS      32           /* longest ef sweep accepted */
#define BENCH_MAX_THREADS  8            /* search / build thread counts accepted */
#define BENCH_WARMUP       500          /* untimed queries before a sweep */
#define BENCH_STREAM_BYTES (512u << 20) /* far beyond any L3: memory, not cache */
#define BENCH_STREAM_REPS  5            /* most passes one stream_bandwidth call makes */
#define BENCH_FLAT_ROUNDS  3            /* STREAM/FLAT alternations; medians are reported */
#define BENCH_FLAT_QUERIES 200          /* FLAT is ~100 QPS: about two seconds */
#define BENCH_MAX_REPS     15           /* --reps cap */

static const double bench_targets[] = {0.90, 0.95, 0.99};
#define BENCH_NTARGETS (sizeof(bench_targets) / sizeof(bench_targets[0]))

/* ---------------------------------------------------------------- curves */

typedef struct bench_point {
    unsigned ef;
    double recall, qps;
} bench_point;

typedef struct bench_curve {
    bench_point p[BENCH_MAX_EFS];
    size_t n;
} bench_curve;

/* The recall/QPS Pareto frontier of a sweep, ascending in recall: the
 * points no other point beats in both recall and QPS. On a noisy machine a
 * larger ef can measure faster than a smaller one; the frontier keeps the
 * best QPS seen at or above each recall, as ann-benchmarks plots do. */
static void bench_frontier(const bench_curve *c, bench_curve *f)
{
    f->n = 0;
    for (size_t i = 0; i < c->n; i++) {
        int dominated = 0;
        for (size_t j = 0; j < c->n && !dominated; j++) {
            if (j == i) continue;
            const bench_point *a = &c->p[j], *b = &c->p[i];
            dominated = a->recall >= b->recall && a->qps >= b->qps &&
                        (a->recall > b->recall || a->qps > b->qps || j < i);
        }
        if (!dominated) f->p[f->n++] = c->p[i];
    }
    for (size_t i = 1; i < f->n; i++) { /* insertion sort by recall, n <= 32 */
        bench_point x = f->p[i];
        size_t j = i;
        for (; j > 0 && f->p[j - 1].recall > x.recall; j--)
            f->p[j] = f->p[j - 1];
        f->p[j] = x;
    }
}

/* QPS at recall `target`, interpolated linearly in recall between the two
 * frontier points that straddle it. Returns -1 when the sweep never reaches
 * the target. When the lowest-recall frontier point is already at or above
 * it, returns that point's QPS and sets *floor (the true QPS at the target
 * is at least that: a lower ef would do). */
static double bench_qps_at(const bench_curve *curve, double target, int *floor)
{
    bench_curve f;
    bench_frontier(curve, &f);
    *floor = 0;
    if (f.n == 0) return -1;
    if (f.p[0].recall >= target) {
        *floor = 1;
        return f.p[0].qps;
    }
    for (size_t i = 1; i < f.n; i++) {
        const bench_point *a = &f.p[i - 1], *b = &f.p[i];
        if (a->recall < target && b->recall >= target) {
            double t = (target - a->recall) / (b->recall - a->recall);
            return a->qps + t * (b->qps - a->qps);
        }
    }
    return -1;
}

/* ------------------------------------------------------- STREAM bandwidth */

typedef float bench_v4 __attribute__((vector_size(16)));

typedef struct stream_job {
    const float *a;
    size_t n; /* floats, a multiple of 32 */
    pthread_barrier_t *start;
    float sum;
} stream_job;

/* Sums n floats with eight independent vector accumulators, so the loop is
 * bound by memory, not by the latency of one add chain. */
static float stream_sum(const float *a, size_t n)
{
    bench_v4 acc[8] = {{0}};
    const bench_v4 *v = (const bench_v4 *)a;
    for (size_t i = 0; i < n / 4; i += 8) {
        for (int j = 0; j < 8; j++)
            acc[j] += v[i + (size_t)j];
    }
    bench_v4 t = acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
    return t[0] + t[1] + t[2] + t[3];
}

static void *stream_worker(void *arg)
{
    stream_job *j = arg;
    pthread_barrier_wait(j->start);
    j->sum = stream_sum(j->a, j->n);
    return NULL;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median read bandwidth in GB/s (1e9 bytes/s) with `threads` threads over
 * `reps` passes (at most BENCH_STREAM_REPS). */
static double stream_bandwidth(const float *a, size_t n, unsigned threads, int reps)
{
    double gbs[BENCH_STREAM_REPS];
    volatile float sink = 0;
    if (reps < 1) reps = 1;
    if (reps > BENCH_STREAM_REPS) reps = BENCH_STREAM_REPS;
    for (int r = 0; r < reps; r++) {
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, threads + 1);
        stream_job jobs[BENCH_MAX_THREADS];
        pthread_t tid[BENCH_MAX_THREADS];
        size_t per = n / threads / 32 * 32;
        for (unsigned t = 0; t < threads; t++) {
            jobs[t] = (stream_job){a + t * per, per, &bar, 0};
            pthread_create(&tid[t], NULL, stream_worker, &jobs[t]);
        }
        pthread_barrier_wait(&bar);
        double t0 = ds_now();
        for (unsigned t = 0; t < threads; t++) {
            pthread_join(tid[t], NULL);
            sink += jobs[t].sum;
        }
        double sec = ds_now() - t0;
        pthread_barrier_destroy(&bar);
        gbs[r] = (double)(per * threads * sizeof(float)) / sec / 1e9;
    }
    (void)sink;
    qsort(gbs, (size_t)reps, sizeof(double), bench_cmp_double);
    return gbs[reps / 2];
}

/* ---------------------------------------------------------------- search */

typedef struct bench_ctx {
    const char *name;
    const ds_matrix *base, *query, *gt;
    index_metric metric;
    int cosine; /* a cosine set, served as IP over unit rows */
    index_column col;
    size_t nq;
} bench_ctx;

typedef struct search_job {
    const vindex *idx;
    const bench_ctx *b;
    size_t q0, q1;
    index_search_params p;
    int32_t *labels; /* nq * BENCH_K, this job writes rows q0..q1 */
    int failed;
} search_job;

static void *search_worker(void *arg)
{
    search_job *j = arg;
    index_hit hits[BENCH_K];
    char err[256];
    for (size_t q = j->q0; q < j->q1; q++) {
        long got = index_search(j->idx, ds_row_f32(j->b->query, q), BENCH_K, &j->p, hits, err,
                                sizeof(err));
        int32_t *out = j->labels + q * BENCH_K;
        if (got < 0) {
            if (!j->failed) fprintf(stderr, "bench_index: search failed: %s\n", err);
            j->failed = 1;
            got = 0;
        }
        for (long i = 0; i < BENCH_K; i++)
            out[i] = i < got ? (int32_t)hits[i].row : -1;
    }
    return NULL;
}

static double bench_recall(const bench_ctx *b, const int32_t *labels, size_t nq)
{
    double sum = 0;
    for (size_t q = 0; q < nq; q++)
        sum += ds_recall_at(labels + q * BENCH_K, ds_row_i32(b->gt, q), BENCH_K);
    return sum / (double)nq;
}

/* Runs queries [0, nq) with `threads` threads (contiguous shares); returns
 * the wall-clock seconds, fills labels. *failed is set on a library error. */
static double bench_run_queries(const bench_ctx *b, const vindex *idx, const index_search_params *p,
                                size_t nq, unsigned threads, int32_t *labels, int *failed)
{
    search_job jobs[BENCH_MAX_THREADS];
    pthread_t tid[BENCH_MAX_THREADS];
    if (threads < 1) threads = 1;
    for (unsigned t = 0; t < threads; t++)
        jobs[t] = (search_job){idx, b, nq * t / threads, nq * (t + 1) / threads, *p, labels, 0};
    double t0 = ds_now();
    if (threads == 1) {
        search_worker(&jobs[0]);
    } else {
        for (unsigned t = 0; t < threads; t++)
            pthread_create(&tid[t], NULL, search_worker, &jobs[t]);
        for (unsigned t = 0; t < threads; t++)
            pthread_join(tid[t], NULL);
    }
    double sec = ds_now() - t0;
    for (unsigned t = 0; t < threads; t++)
        *failed |= jobs[t].failed;
    return sec;
}

/* ------------------------------------------------------------------ main */

typedef struct bench_opts {
    const char *data, *peer, *peer_exec;
    size_t queries;
    unsigned efs[BENCH_MAX_EFS];
    size_t nefs;
    unsigned build_threads[BENCH_MAX_THREADS];
    size_t nbuild;
    unsigned search_threads[BENCH_MAX_THREADS];
    size_t nsearch;
    const char *M, *efc;
    int sq8, bin, flat;
    size_t flat_queries;
    unsigned reps; /* passes per sweep point; the median QPS is reported */
} bench_opts;

typedef struct bench_variant_result {
    int ran;
    double build_sec[BENCH_MAX_THREADS + 1]; /* by thread count; 0 = not built */
    double index_bpv, column_bpv;
    bench_curve curve[BENCH_MAX_THREADS + 1]; /* by search thread count */
} bench_variant_result;


static int bench_read_info(const char *dir, const char *key, char *out, size_t cap)
{
    char path[4096], line[512];
    snprintf(path, sizeof(path), "%s/info.txt", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    size_t klen = strlen(key);
    int rc = -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            line[strcspn(line, "\r\n")] = '\0';
            snprintf(out, cap, "%s", line + klen + 1);
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* hnswlib_peer's records, as far as the table needs them. */
typedef struct bench_peer {
    int ok;
    double build_sec[BENCH_MAX_THREADS + 1];
    double bpv;
    bench_curve curve[BENCH_MAX_THREADS + 1];
} bench_peer;

static double bench_kv(const char *line, const char *key, double dflt)
{
    char pat[64];
    snprintf(pat, sizeof(pat), " %s=", key);
    const char *p = strstr(line, pat);
    return p ? strtod(p + strlen(pat), NULL) : dflt;
}

/* Records one line of hnswlib_peer output in pe (other lines are ignored). */
static void bench_peer_line(bench_peer *pe, const char *line)
{
    unsigned t = (unsigned)bench_kv(line, "threads", 0);
    if (strncmp(line, "hnswlib build ", 14) == 0 && t <= BENCH_MAX_THREADS) {
        pe->build_sec[t] = bench_kv(line, "seconds", 0);
    } else if (strncmp(line, "hnswlib memory ", 15) == 0) {
        pe->bpv = bench_kv(line, "bytes_per_vector", 0);
    } else if (strncmp(line, "hnswlib search ", 15) == 0 && t >= 1 && t <= BENCH_MAX_THREADS) {
        bench_curve *c = &pe->curve[t];
        if (c->n < BENCH_MAX_EFS)
            c->p[c->n++] = (bench_point){(unsigned)bench_kv(line, "ef", 0),
                                         bench_kv(line, "recall", 0), bench_kv(line, "qps", 0)};
        pe->ok = 1;
    }
}

static void bench_read_peer(const char *path, bench_peer *pe)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "bench_index: no peer results in %s\n", path);
        return;
    }
    char line[1024];
    while (fgets(line, sizeof(line), f))
        bench_peer_line(pe, line);
    fclose(f);
}

/* A running `hnswlib_peer --serve`: commands go to `to`, answers (ending with
 * a line "done") come from `from`. The peer is only ever busy while this
 * program waits for its answer, so the two never measure at the same time. */
typedef struct peer_proc {
    pid_t pid;
    FILE *to, *from;
    bench_peer *res;
    int dead; /* it exited early: later commands are skipped */
} peer_proc;

/* Starts the command line `cmd` (split at spaces; no quoting). */
static int peer_start(peer_proc *pp, const char *cmd, bench_peer *res)
{
    char *copy = strdup(cmd), *argv[64], *save = NULL;
    int argc = 0, in[2], out[2];
    if (copy == NULL) return -1;
    for (char *t = strtok_r(copy, " ", &save); t && argc < 63; t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    argv[argc] = NULL;
    if (argc == 0 || pipe(in) != 0) {
        free(copy);
        return -1;
    }
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        free(copy);
        return -1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execv(argv[0], argv);
        fprintf(stderr, "bench_index: cannot run %s\n", argv[0]);
        _exit(127);
    }
    free(copy);
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        return -1;
    }
    pp->pid = pid;
    pp->to = fdopen(in[1], "w");
    pp->from = fdopen(out[0], "r");
    pp->res = res;
    return pp->to && pp->from ? 0 : -1;
}

/* Sends one command and echoes the answer (parsed into pp->res) until
 * "done". Returns 0, or -1 when the peer died. pp NULL: no-op. */
static int peer_cmd(peer_proc *pp, const char *fmt, unsigned a, unsigned b, unsigned c)
{
    if (pp == NULL) return 0;
    if (pp->dead) return -1;
    char line[1024];
    fprintf(pp->to, fmt, a, b, c);
    fputc('\n', pp->to);
    fflush(pp->to);
    while (fgets(line, sizeof(line), pp->from)) {
        if (strcmp(line, "done\n") == 0) return 0;
        fputs(line, stdout);
        bench_peer_line(pp->res, line);
    }
    fflush(stdout);
    fprintf(stderr, "bench_index: the hnswlib peer exited early\n");
    pp->dead = 1;
    return -1;
}

/* Asks the peer to quit, echoes what it still prints, and reaps it.
 * Returns 0 when it exited cleanly. */
static int peer_stop(peer_proc *pp)
{
    int status = 0;
    fputs("quit\n", pp->to);
    fclose(pp->to);
    char line[1024];
    while (fgets(line, sizeof(line), pp->from))
        fputs(line, stdout);
    fclose(pp->from);
    waitpid(pp->pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Builds one HNSW variant with every build thread count (only the last
 * graph is kept), sweeps it, and records the figures in r. `quant` is
 * "NONE", "SQ8" or "BIN". Returns 0, or -1 on a library error. */
static int bench_hnsw(const bench_ctx *b, const bench_opts *o, const char *variant,
                      const char *quant, const unsigned *bthreads, size_t nbuild,
                      const unsigned *sthreads, size_t nsearch, peer_proc *pp,
                      bench_variant_result *r)
{
    char err[256], desc[256];
    index_param params[] = {{"M", o->M}, {"EFC", o->efc}, {"QUANT", quant}, {"RERANK", "1"}};
    size_t nparams = strcmp(quant, "NONE") == 0 ? 3 : 4;
    vindex *idx = NULL;
    size_t n = b->base->n, dim = b->base->dim;
    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < nbuild; i++) {
        peer_cmd(pp, "build %u", bthreads[i], 0, 0);
        index_free(idx);
        idx = index_new("HNSW", INDEX_ELEM_F32, b->metric, (uint32_t)dim, &b->col, params, nparams,
                        err, sizeof(err));
        if (idx == NULL) {
            fprintf(stderr, "bench_index: index_new HNSW %s: %s\n", quant, err);
            return -1;
        }
        double t0 = ds_now();
        if (index_build(idx, (uint32_t)n, bthreads[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "bench_index: index_build: %s\n", err);
            index_free(idx);
            return -1;
        }
        double sec = ds_now() - t0;
        if (bthreads[i] <= BENCH_MAX_THREADS) r->build_sec[bthreads[i]] = sec;
        printf("vectis build variant=%s threads=%u seconds=%.3f\n", variant, bthreads[i], sec);
        fflush(stdout);
    }
    peer_cmd(pp, "memory", 0, 0, 0);
    index_describe(idx, desc, sizeof(desc));
    r->index_bpv = (double)index_memory(idx) / (double)n;
    r->column_bpv = (double)(dim * sizeof(float));
    double tv = ds_now();
    int valid = index_validate(idx, err, sizeof(err));
    printf("vectis memory variant=%s index_bytes_per_vector=%.1f column_bytes_per_vector=%.1f "
           "params=\"%s\"\n",
           variant, r->index_bpv, r->column_bpv, desc);
    printf("vectis validate variant=%s ok=%d seconds=%.2f%s%s\n", variant, valid == 0,
           ds_now() - tv, valid == 0 ? "" : " error=", valid == 0 ? "" : err);

    int32_t *labels = malloc(b->nq * BENCH_K * sizeof(int32_t));
    if (labels == NULL) {
        index_free(idx);
        return -1;
    }
    int failed = 0;
    index_search_params p = {0};
    p.ef = o->efs[0];
    size_t warm = b->nq < BENCH_WARMUP ? b->nq : BENCH_WARMUP;
    bench_run_queries(b, idx, &p, warm, 1, labels, &failed);
    unsigned turn = 0;
    for (size_t e = 0; e < o->nefs && !failed; e++) {
        p.ef = o->efs[e];
        for (size_t s = 0; s < nsearch; s++) {
            unsigned t = sthreads[s];
            if (t == 0 || t > BENCH_MAX_THREADS) continue;
            /* The peer runs the same point just before or just after (alternating, so
             * neither side always gets the warmer turn). */
            int peer_first = (turn++ & 1) == 0;
            if (peer_first) peer_cmd(pp, "search %u %u %u", p.ef, t, o->reps);
            double qps_rep[BENCH_MAX_REPS];
            for (unsigned rep = 0; rep < o->reps; rep++) {
                double sec = bench_run_queries(b, idx, &p, b->nq, t, labels, &failed);
                qps_rep[rep] = (double)b->nq / sec;
            }
            qsort(qps_rep, o->reps, sizeof(double), bench_cmp_double);
            double rec = bench_recall(b, labels, b->nq), qps = qps_rep[o->reps / 2];
            bench_curve *c = &r->curve[t];
            if (c->n < BENCH_MAX_EFS) c->p[c->n++] = (bench_point){p.ef, rec, qps};
            printf("vectis search variant=%s threads=%u ef=%u recall=%.4f qps=%.1f\n", variant, t,
                   p.ef, rec, qps);
            fflush(stdout);
            if (!peer_first) peer_cmd(pp, "search %u %u %u", p.ef, t, o->reps);
        }
    }
    free(labels);
    index_free(idx);
    r->ran = 1;
    return failed ? -1 : 0;
}

typedef struct bench_flat_result {
    int ran;
    double qps1, qps2, gbs1, gbs2, recall;
    double bw1, bw2;     /* STREAM read bandwidth, GB/s, medians of the rounds */
    double frac1, frac2; /* FLAT GB/s / STREAM GB/s, median of the per-round ratios */
} bench_flat_result;

static double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof(double), bench_cmp_double);
    return v[n / 2];
}

/* FLAT against STREAM, interleaved: BENCH_FLAT_ROUNDS rounds of (STREAM 1
 * thread, FLAT 1 thread, STREAM 2 threads, FLAT with 2 threads), each FLAT
 * run over flat_queries / rounds queries, so each FLAT figure is compared
 * with a bandwidth measured seconds apart under the same load. `arr` is
 * the STREAM array of `nfl` floats. */
static int bench_flat(const bench_ctx *b, const bench_opts *o, const float *arr, size_t nfl,
                      bench_flat_result *r)
{
    char err[256];
    memset(r, 0, sizeof(*r));
    vindex *idx = index_new("FLAT", INDEX_ELEM_F32, b->metric, (uint32_t)b->base->dim, &b->col,
                            NULL, 0, err, sizeof(err));
    if (idx == NULL || index_build(idx, (uint32_t)b->base->n, 1, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_index: FLAT: %s\n", err);
        index_free(idx);
        return -1;
    }
    size_t nq = o->flat_queries < b->nq ? o->flat_queries : b->nq;
    size_t per = nq / BENCH_FLAT_ROUNDS > 0 ? nq / BENCH_FLAT_ROUNDS : 1;
    int32_t *labels = malloc(b->nq * BENCH_K * sizeof(int32_t));
    if (labels == NULL) {
        index_free(idx);
        return -1;
    }
    int failed = 0;
    index_search_params p1 = {0}, p2 = {0};
    p2.threads = 2;
    double bytes = (double)b->base->n * (double)b->base->dim * sizeof(float);
    double bw1[BENCH_FLAT_ROUNDS], bw2[BENCH_FLAT_ROUNDS], q1[BENCH_FLAT_ROUNDS],
        q2[BENCH_FLAT_ROUNDS], f1[BENCH_FLAT_ROUNDS], f2[BENCH_FLAT_ROUNDS];
    bench_run_queries(b, idx, &p1, per < 5 ? per : 5, 1, labels, &failed);
    for (int round = 0; round < BENCH_FLAT_ROUNDS; round++) {
        bw1[round] = stream_bandwidth(arr, nfl, 1, 1);
        q1[round] = (double)per / bench_run_queries(b, idx, &p1, per, 1, labels, &failed);
        if (round == 0) r->recall = bench_recall(b, labels, per);
        bw2[round] = stream_bandwidth(arr, nfl, 2, 1);
        q2[round] = (double)per / bench_run_queries(b, idx, &p2, per, 1, labels, &failed);
        f1[round] = q1[round] * bytes / 1e9 / bw1[round];
        f2[round] = q2[round] * bytes / 1e9 / bw2[round];
        printf("vectis flat round=%d stream1_gbs=%.2f flat1_qps=%.1f flat1_gbs=%.2f "
               "stream2_gbs=%.2f flat2_qps=%.1f flat2_gbs=%.2f\n",
               round, bw1[round], q1[round], q1[round] * bytes / 1e9, bw2[round], q2[round],
               q2[round] * bytes / 1e9);
    }
    r->bw1 = bench_median(bw1, BENCH_FLAT_ROUNDS);
    r->bw2 = bench_median(bw2, BENCH_FLAT_ROUNDS);
    r->qps1 = bench_median(q1, BENCH_FLAT_ROUNDS);
    r->qps2 = bench_median(q2, BENCH_FLAT_ROUNDS);
    r->gbs1 = r->qps1 * bytes / 1e9;
    r->gbs2 = r->qps2 * bytes / 1e9;
    r->frac1 = bench_median(f1, BENCH_FLAT_ROUNDS);
    r->frac2 = bench_median(f2, BENCH_FLAT_ROUNDS);
    printf("vectis stream threads=1 gbs=%.2f\nvectis stream threads=2 gbs=%.2f\n", r->bw1, r->bw2);
    printf("vectis flat threads=1 queries=%zu qps=%.1f gbs=%.2f of_stream=%.2f recall=%.4f\n",
           per * BENCH_FLAT_ROUNDS, r->qps1, r->gbs1, r->frac1, r->recall);
    printf("vectis flat threads=2 queries=%zu qps=%.1f gbs=%.2f of_stream=%.2f (FLAT's own row "
           "split, one query at a time)\n",
           per * BENCH_FLAT_ROUNDS, r->qps2, r->gbs2, r->frac2);
    fflush(stdout);
    free(labels);
    index_free(idx);
    r->ran = 1;
    return failed ? -1 : 0;
}

/* Formats one QPS cell: "12345", ">=12345" (lowest ef already above the
 * target) or "not reached". */
static void bench_cell(char *buf, size_t cap, const bench_curve *c, double target, double *qps)
{
    int floor = 0;
    *qps = bench_qps_at(c, target, &floor);
    if (c->n == 0)
        snprintf(buf, cap, "-");
    else if (*qps < 0)
        snprintf(buf, cap, "not reached");
    else
        snprintf(buf, cap, "%s%.0f", floor ? ">=" : "", *qps);
}

static void bench_ratio(char *buf, size_t cap, double a, double b)
{
    if (a > 0 && b > 0)
        snprintf(buf, cap, "%.2fx", a / b);
    else
        snprintf(buf, cap, "-");
}

static void bench_print_table(const bench_ctx *b, const bench_opts *o,
                              const bench_flat_result *flat, const bench_variant_result *fl,
                              const bench_variant_result *sq, const bench_variant_result *bn,
                              const bench_peer *pe)
{
    char c1[32], c2[32], c3[32], c4[32], c5[32], c6[32], c7[32], c8[32];
    printf("\n==== %s: %zu x %zu, metric %s, %zu queries, k=%d, M=%s EFC=%s, simd %s ====\n",
           b->name, b->base->n, b->base->dim,
           b->cosine ? "COSINE (unit rows, IP)" : index_metric_name(b->metric), b->nq, BENCH_K, o->M,
           o->efc, simd_level_name(simd->level));
    printf("QPS at recall@10 (one query at a time; interpolated on the sweep's recall/QPS "
           "frontier; \">=\" = already above at the lowest ef)\n");
    printf("%-7s %12s %12s %7s | %12s %12s %7s | %12s %12s\n", "recall", "vectis 1T", "hnswlib 1T",
           "ratio", "vectis 2T", "hnswlib 2T", "ratio", "SQ8 1T", "BIN 1T");
    for (size_t i = 0; i < BENCH_NTARGETS; i++) {
        double tg = bench_targets[i], v1, h1, v2, h2, s1, b1;
        bench_cell(c1, sizeof(c1), &fl->curve[1], tg, &v1);
        bench_cell(c2, sizeof(c2), &pe->curve[1], tg, &h1);
        bench_ratio(c3, sizeof(c3), v1, h1);
        bench_cell(c4, sizeof(c4), &fl->curve[2], tg, &v2);
        bench_cell(c5, sizeof(c5), &pe->curve[2], tg, &h2);
        bench_ratio(c6, sizeof(c6), v2, h2);
        bench_cell(c7, sizeof(c7), &sq->curve[1], tg, &s1);
        bench_cell(c8, sizeof(c8), &bn->curve[1], tg, &b1);
        printf("%-7.2f %12s %12s %7s | %12s %12s %7s | %12s %12s\n", tg, c1, c2, c3, c4, c5, c6, c7,
               c8);
    }
    printf("build seconds:");
    for (unsigned t = 1; t <= BENCH_MAX_THREADS; t++) {
        if (fl->build_sec[t] <= 0 && pe->build_sec[t] <= 0) continue;
        bench_ratio(c1, sizeof(c1), fl->build_sec[t], pe->build_sec[t]);
        printf("  %uT vectis %.1f / hnswlib %.1f = %s;", t, fl->build_sec[t], pe->build_sec[t], c1);
    }
    for (unsigned t = 1; t <= BENCH_MAX_THREADS; t++) {
        if (sq->build_sec[t] > 0) printf("  SQ8 %uT %.1f;", t, sq->build_sec[t]);
        if (bn->build_sec[t] > 0) printf("  BIN %uT %.1f;", t, bn->build_sec[t]);
    }
    printf("\n");
    double fl_total = fl->index_bpv + fl->column_bpv;
    printf("bytes/vector: vectis float index %.0f + column %.0f = %.0f; hnswlib %.0f (vector "
           "inside)",
           fl->index_bpv, fl->column_bpv, fl_total, pe->bpv);
    if (sq->ran)
        printf("; SQ8 index %.0f (%.2fx float total; %.2fx counting the float column for "
               "re-rank)",
               sq->index_bpv, sq->index_bpv / fl_total,
               (sq->index_bpv + sq->column_bpv) / fl_total);
    if (bn->ran) printf("; BIN index %.0f", bn->index_bpv);
    printf("\n");
    if (flat->ran)
        printf("FLAT 1 query/1 thread: %.1f QPS = %.2f GB/s = %.0f%% of STREAM 1T %.2f GB/s; "
               "2 threads: %.1f QPS = %.2f GB/s = %.0f%% of STREAM 2T %.2f GB/s; recall %.4f\n",
               flat->qps1, flat->gbs1, 100 * flat->frac1, flat->bw1, flat->qps2, flat->gbs2,
               100 * flat->frac2, flat->bw2, flat->recall);
    if (!pe->ok)
        printf("(no hnswlib figures: pass --peer-exec \"hnswlib_peer --data DIR --serve\" or "
               "--peer FILE)\n");
    fflush(stdout);
}

static void bench_usage(void)
{
    fprintf(stderr, "usage: bench_index --data DIR [--peer FILE] [--queries N] [--efs 10,16,...]\n"
                    "         [--build-threads 2,1] [--search-threads 1,2] [--M 16] [--efc 200]\n"
                    "         [--no-sq8] [--no-bin] [--no-flat] [--flat-queries N] [--reps R]\n");
}

int main(int argc, char **argv)
{
    bench_opts o = {.M = "16",
                    .efc = "200",
                    .sq8 = 1,
                    .bin = 1,
                    .flat = 1,
                    .flat_queries = BENCH_FLAT_QUERIES,
                    .reps = 1};
    o.nefs = ds_parse_uints("10,16,20,32,48,64,96,128,192,256,384,512", o.efs, BENCH_MAX_EFS);
    o.nbuild = ds_parse_uints("2,1", o.build_threads, BENCH_MAX_THREADS);
    o.nsearch = ds_parse_uints("1,2", o.search_threads, BENCH_MAX_THREADS);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--no-sq8") == 0)
            o.sq8 = 0;
        else if (strcmp(a, "--no-bin") == 0)
            o.bin = 0;
        else if (strcmp(a, "--no-flat") == 0)
            o.flat = 0;
        else if (i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(a, "--data") == 0)
                o.data = v;
            else if (strcmp(a, "--peer") == 0)
                o.peer = v;
            else if (strcmp(a, "--peer-exec") == 0)
                o.peer_exec = v;
            else if (strcmp(a, "--queries") == 0)
                o.queries = strtoul(v, NULL, 10);
            else if (strcmp(a, "--flat-queries") == 0)
                o.flat_queries = strtoul(v, NULL, 10);
            else if (strcmp(a, "--M") == 0)
                o.M = v;
            else if (strcmp(a, "--reps") == 0)
                o.reps = (unsigned)strtoul(v, NULL, 10);
            else if (strcmp(a, "--efc") == 0)
                o.efc = v;
            else if (strcmp(a, "--efs") == 0)
                o.nefs = ds_parse_uints(v, o.efs, BENCH_MAX_EFS);
            else if (strcmp(a, "--build-threads") == 0)
                o.nbuild = ds_parse_uints(v, o.build_threads, BENCH_MAX_THREADS);
            else if (strcmp(a, "--search-threads") == 0)
                o.nsearch = ds_parse_uints(v, o.search_threads, BENCH_MAX_THREADS);
            else {
                bench_usage();
                return 2;
            }
        } else {
            bench_usage();
            return 2;
        }
    }
    if (o.reps < 1) o.reps = 1;
    if (o.reps > BENCH_MAX_REPS) o.reps = BENCH_MAX_REPS;
    if (o.data == NULL || o.nefs == 0 || o.nbuild == 0 || o.nsearch == 0) {
        bench_usage();
        return 2;
    }
    for (size_t i = 0; i < o.nbuild; i++) {
        if (o.build_threads[i] < 1 || o.build_threads[i] > BENCH_MAX_THREADS) {
            fprintf(stderr, "bench_index: build threads must be 1..%d\n", BENCH_MAX_THREADS);
            return 2;
        }
    }

    simd_init();
    char metric[32] = "", name[128] = "", path[4096];
    if (bench_read_info(o.data, "metric", metric, sizeof(metric)) != 0) {
        fprintf(stderr, "bench_index: %s/info.txt missing (run datasets prepare)\n", o.data);
        return 1;
    }
    bench_read_info(o.data, "name", name, sizeof(name));
    ds_matrix base, query, gt;
    snprintf(path, sizeof(path), "%s/base.fvecs", o.data);
    if (ds_read_vecs(path, 0, &base) != 0) return 1;
    snprintf(path, sizeof(path), "%s/query.fvecs", o.data);
    if (ds_read_vecs(path, o.queries, &query) != 0) return 1;
    snprintf(path, sizeof(path), "%s/gt.ivecs", o.data);
    if (ds_read_vecs(path, o.queries, &gt) != 0) return 1;
    if (base.dim != query.dim || gt.n != query.n || gt.dim < BENCH_K) {
        fprintf(stderr, "bench_index: %s: base/query/gt do not match\n", o.data);
        return 1;
    }
    bench_ctx b = {.name = name, .base = &base, .query = &query, .gt = &gt, .nq = query.n};
    if (strcmp(metric, "l2") == 0)
        b.metric = INDEX_METRIC_L2;
    else if (strcmp(metric, "cos") == 0) {
        /* As the server stores a cosine set (VADD, VCREATE METRIC COSINE):
         * unit rows searched by inner product (1 - a.b is the cosine
         * distance); the peer does the same with hnswlib's IP space. */
        ds_normalise_rows(&base);
        ds_normalise_rows(&query);
        b.metric = INDEX_METRIC_IP;
        b.cosine = 1;
    }
    else if (strcmp(metric, "ip") == 0)
        b.metric = INDEX_METRIC_IP;
    else {
        fprintf(stderr, "bench_index: unknown metric %s\n", metric);
        return 1;
    }
    b.col = (index_column){
        .chunks = NULL, .base = base.data, .chunk_shift = 0, .stride = base.dim * sizeof(float)};
    printf("vectis dataset name=%s metric=%s n=%zu dim=%zu nq=%zu simd=%s\n", name, metric, base.n,
           base.dim, query.n, simd_level_name(simd->level));
    fflush(stdout);

    /* The peer loads its copy of the data now; "memory" before any build is a
     * no-op whose answer says the loading is over, so it cannot disturb the
     * STREAM loop below. */
    bench_peer pe;
    memset(&pe, 0, sizeof(pe));
    peer_proc peer_storage, *pp = NULL;
    memset(&peer_storage, 0, sizeof(peer_storage));
    if (o.peer_exec) {
        if (peer_start(&peer_storage, o.peer_exec, &pe) != 0) {
            fprintf(stderr, "bench_index: cannot start the peer '%s'\n", o.peer_exec);
            return 1;
        }
        pp = &peer_storage;
        peer_cmd(pp, "memory", 0, 0, 0);
    }

    /* STREAM-style bandwidth interleaved with FLAT (see bench_flat). */
    int rc = 0;
    bench_flat_result flat = {0};
    if (o.flat) {
        size_t nfl = BENCH_STREAM_BYTES / sizeof(float);
        float *arr = NULL;
        if (posix_memalign((void **)&arr, 64, BENCH_STREAM_BYTES) != 0) return 1;
        for (size_t i = 0; i < nfl; i++)
            arr[i] = (float)(i & 1023) * 0.5f;
        stream_bandwidth(arr, nfl, 1, 1); /* warm-up: page faults, clocks */
        if (bench_flat(&b, &o, arr, nfl, &flat) != 0) rc = 1;
        free(arr);
    }

    static bench_variant_result fl, sq, bn;
    if (bench_hnsw(&b, &o, "float", "NONE", o.build_threads, o.nbuild, o.search_threads, o.nsearch,
                   pp, &fl) != 0)
        rc = 1;
    if (pp && (peer_stop(pp) != 0 || pp->dead)) rc = 1;
    unsigned one = 1, top = o.build_threads[0];
    for (size_t i = 0; i < o.nbuild; i++)
        if (o.build_threads[i] > top) top = o.build_threads[i];
    if (o.sq8 && bench_hnsw(&b, &o, "sq8", "SQ8", &top, 1, &one, 1, NULL, &sq) != 0) rc = 1;
    if (o.bin && bench_hnsw(&b, &o, "bin", "BIN", &top, 1, &one, 1, NULL, &bn) != 0) rc = 1;

    if (o.peer && !o.peer_exec) bench_read_peer(o.peer, &pe);
    bench_print_table(&b, &o, &flat, &fl, &sq, &bn, &pe);

    ds_matrix_free(&base);
    ds_matrix_free(&query);
    ds_matrix_free(&gt);
    return rc;
}
