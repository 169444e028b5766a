/*
 * bench_simd.c -- micro-benchmark of the f32 and binary distance kernels,
 * every level.
 *
 * For each level this CPU runs, each of l2sq / dot / cos (f32) and hamming /
 * jaccard (binary), dims 128 and 784 (and any given on the command line), it
 * times the single kernel and the _x4 kernel over a small pool of vectors
 * that stays in L1/L2, and prints nanoseconds per call, nanoseconds per
 * distance and GB/s of vector data read (single: 2 * dim * esize bytes per
 * call; x4: 5 * dim * esize bytes per call, since the query is read once for
 * four distances). As in simd.h, a binary kernel's dim is in bytes (esize
 * 1): the binary rows are the first dim bytes of the same random vectors.
 *
 * Each figure is the best of BENCH_REPEATS runs of about BENCH_RUN_NS, so a
 * neighbour briefly stealing the core shows up as a slower run that is then
 * discarded; on a shared machine, quote figures with `uptime`.
 *
 * Rejected: timing with rdtsc (its frequency differs from the core clock on
 * modern CPUs, so "cycles" would mislead); a cold-cache mode (the HNSW and
 * FLAT benchmarks measure memory behaviour, this one measures the kernels).
 *
 * Usage: bench_simd [dim ...]        (make bench-simd)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "simd/simd.h"

#define BENCH_POOL 16          /* vectors; 16 * 784 * 4 B = 50 KB, L2-resident */
#define BENCH_RUN_NS 20000000  /* 20 ms per run: short, so some runs miss the neighbours */
#define BENCH_REPEATS 25       /* best of */

static volatile float bench_sink;

/* What a timed function pointer is: its signature and how to time it. */
enum { BENCH_F32, BENCH_HAMMING, BENCH_JACCARD };

static double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Defines bench_single_<tag> (ns per single call, `iters` rounds over the
 * pool) and bench_x4_<tag> (ns per _x4 call) for one kernel signature. The
 * result of every call feeds `acc` so that no call can be optimised away. */
#define BENCH_TIMERS(tag, elem_t, one_t, four_t, out_t)                                        \
    static double bench_single_##tag(one_t fn, const elem_t *const *v, size_t dim, long iters) \
    {                                                                                          \
        float acc = 0.0f;                                                                      \
        double t0 = bench_now_ns();                                                            \
        for (long it = 0; it < iters; it++)                                                    \
            for (int j = 1; j < BENCH_POOL; j++)                                               \
                acc += (float)fn(v[0], v[j], dim);                                             \
        double t1 = bench_now_ns();                                                            \
        bench_sink = acc;                                                                      \
        return (t1 - t0) / ((double)iters * (BENCH_POOL - 1));                                 \
    }                                                                                          \
    static double bench_x4_##tag(four_t fn, const elem_t *const *v, size_t dim, long iters)    \
    {                                                                                          \
        float acc = 0.0f;                                                                      \
        out_t out[4];                                                                          \
        double t0 = bench_now_ns();                                                            \
        for (long it = 0; it < iters; it++)                                                    \
            for (int j = 1; j + 4 <= BENCH_POOL; j += 4) {                                     \
                fn(v[0], v[j], v[j + 1], v[j + 2], v[j + 3], dim, out);                        \
                acc += (float)out[0] + (float)out[1] + (float)out[2] + (float)out[3];          \
            }                                                                                  \
        double t1 = bench_now_ns();                                                            \
        bench_sink = acc;                                                                      \
        return (t1 - t0) / ((double)iters * ((BENCH_POOL - 1) / 4));                           \
    }

BENCH_TIMERS(f32, float, simd_f32_fn, simd_f32_x4_fn, float)
BENCH_TIMERS(ham, uint8_t, simd_bin_fn, simd_bin_x4_fn, uint32_t)
BENCH_TIMERS(jac, uint8_t, simd_jac_fn, simd_jac_x4_fn, float)

/* One timed run of kernel `fnp` of signature `kind`; ns per call. */
static double bench_run(int kind, int x4, void (*fnp)(void), float *const *v, size_t dim,
                        long iters)
{
    const uint8_t *const *b = (const uint8_t *const *)v; /* binary rows: the same bytes */
    const float *const *f = (const float *const *)v;
    switch (kind) {
    case BENCH_HAMMING:
        return x4 ? bench_x4_ham((simd_bin_x4_fn)fnp, b, dim, iters)
                  : bench_single_ham((simd_bin_fn)fnp, b, dim, iters);
    case BENCH_JACCARD:
        return x4 ? bench_x4_jac((simd_jac_x4_fn)fnp, b, dim, iters)
                  : bench_single_jac((simd_jac_fn)fnp, b, dim, iters);
    default:
        return x4 ? bench_x4_f32((simd_f32_x4_fn)fnp, f, dim, iters)
                  : bench_single_f32((simd_f32_fn)fnp, f, dim, iters);
    }
}

/* Best ns per call over BENCH_REPEATS runs of ~BENCH_RUN_NS each. */
static double bench_best(int kind, int x4, void (*fnp)(void), float *const *v, size_t dim)
{
    long iters = 1;
    double ns;
    for (;;) { /* calibrate */
        ns = bench_run(kind, x4, fnp, v, dim, iters);
        if (ns * (double)iters * BENCH_POOL > BENCH_RUN_NS / 10.0)
            break;
        iters *= 4;
    }
    iters = (long)(iters * (BENCH_RUN_NS / (ns * (double)iters * BENCH_POOL))) + 1;
    double best = ns;
    for (int r = 0; r < BENCH_REPEATS; r++) {
        ns = bench_run(kind, x4, fnp, v, dim, iters);
        if (ns < best)
            best = ns;
    }
    return best;
}

int main(int argc, char **argv)
{
    size_t dims[16] = {128, 784};
    int ndims = 2;
    if (argc > 1) {
        ndims = 0;
        for (int i = 1; i < argc && ndims < 16; i++)
            dims[ndims++] = (size_t)strtoul(argv[i], NULL, 10);
    }
    simd_init();
    printf("best level: %s; pool %d vectors; best of %d runs of %.0f ms\n",
           simd_level_name(simd_best_level()), BENCH_POOL, BENCH_REPEATS, BENCH_RUN_NS / 1e6);
    printf("%-7s %-5s %5s %-7s %10s %10s %8s\n", "level", "dist", "dim", "variant", "ns/call",
           "ns/dist", "GB/s");

    for (int di = 0; di < ndims; di++) {
        size_t dim = dims[di];
        float *v[BENCH_POOL];
        uint64_t rng = 0x2545f4914f6cdd1dull;
        for (int j = 0; j < BENCH_POOL; j++) {
            /* 64-byte aligned, as the index stores vectors. */
            v[j] = aligned_alloc(64, (dim * sizeof(float) + 63) / 64 * 64);
            if (v[j] == NULL)
                return 1;
            for (size_t i = 0; i < dim; i++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                v[j][i] = (float)(int64_t)(rng >> 40) / (float)(1 << 23) - 1.0f;
            }
        }
        for (int l = SIMD_SCALAR; l <= SIMD_AVX512; l++) {
            const simd_kernels *k = simd_table((simd_level)l);
            if (k == NULL)
                continue;
            /* Function pointers of different types travel as void (*)(void)
             * and are converted back to their own type before the call. */
            struct {
                const char *name;
                int kind;
                void (*one)(void), (*four)(void);
            } fns[] = {
                {"l2sq", BENCH_F32, (void (*)(void))k->l2sq_f32, (void (*)(void))k->l2sq_f32_x4},
                {"dot", BENCH_F32, (void (*)(void))k->dot_f32, (void (*)(void))k->dot_f32_x4},
                {"cos", BENCH_F32, (void (*)(void))k->cos_f32, (void (*)(void))k->cos_f32_x4},
                {"ham", BENCH_HAMMING, (void (*)(void))k->hamming,
                 (void (*)(void))k->hamming_x4},
                {"jacc", BENCH_JACCARD, (void (*)(void))k->jaccard,
                 (void (*)(void))k->jaccard_x4},
            };
            for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
                double ns1 = bench_best(fns[f].kind, 0, fns[f].one, v, dim);
                double ns4 = bench_best(fns[f].kind, 1, fns[f].four, v, dim);
                size_t esize = fns[f].kind == BENCH_F32 ? sizeof(float) : 1;
                double b1 = 2.0 * (double)dim * (double)esize;
                double b4 = 5.0 * (double)dim * (double)esize;
                printf("%-7s %-5s %5zu %-7s %10.2f %10.2f %8.1f\n", simd_level_name(k->level),
                       fns[f].name, dim, "single", ns1, ns1, b1 / ns1);
                printf("%-7s %-5s %5zu %-7s %10.2f %10.2f %8.1f\n", simd_level_name(k->level),
                       fns[f].name, dim, "x4", ns4, ns4 / 4, b4 / ns4);
            }
        }
        for (int j = 0; j < BENCH_POOL; j++)
            free(v[j]);
    }
    return 0;
}
