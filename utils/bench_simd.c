/*
 * bench_simd.c -- micro-benchmark of the f32 distance kernels, every level.
 *
 * For each level this CPU runs, each of l2sq / dot / cos, dims 128 and 784
 * (and any given on the command line), it times the single kernel and the
 * _x4 kernel over a small pool of vectors that stays in L1/L2, and prints
 * nanoseconds per call, nanoseconds per distance and GB/s of vector data
 * read (single: 2 * dim * 4 bytes per call; x4: 5 * dim * 4 bytes per call,
 * since the query is read once for four distances).
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

static double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Times `iters` rounds of single calls over the pool; returns ns per call. */
static double bench_single(simd_f32_fn fn, float *const *v, size_t dim, long iters)
{
    float acc = 0.0f;
    double t0 = bench_now_ns();
    for (long it = 0; it < iters; it++)
        for (int j = 1; j < BENCH_POOL; j++)
            acc += fn(v[0], v[j], dim);
    double t1 = bench_now_ns();
    bench_sink = acc;
    return (t1 - t0) / ((double)iters * (BENCH_POOL - 1));
}

static double bench_x4(simd_f32_x4_fn fn, float *const *v, size_t dim, long iters)
{
    float acc = 0.0f, out[4];
    double t0 = bench_now_ns();
    for (long it = 0; it < iters; it++)
        for (int j = 1; j + 4 <= BENCH_POOL; j += 4) {
            fn(v[0], v[j], v[j + 1], v[j + 2], v[j + 3], dim, out);
            acc += out[0] + out[1] + out[2] + out[3];
        }
    double t1 = bench_now_ns();
    bench_sink = acc;
    return (t1 - t0) / ((double)iters * ((BENCH_POOL - 1) / 4));
}

/* Best ns per call over BENCH_REPEATS runs of ~BENCH_RUN_NS each. */
static double bench_best(int x4, void (*fnp)(void), float *const *v, size_t dim)
{
    long iters = 1;
    double ns;
    for (;;) { /* calibrate */
        ns = x4 ? bench_x4((simd_f32_x4_fn)fnp, v, dim, iters)
                : bench_single((simd_f32_fn)fnp, v, dim, iters);
        if (ns * (double)iters * BENCH_POOL > BENCH_RUN_NS / 10.0)
            break;
        iters *= 4;
    }
    iters = (long)(iters * (BENCH_RUN_NS / (ns * (double)iters * BENCH_POOL))) + 1;
    double best = ns;
    for (int r = 0; r < BENCH_REPEATS; r++) {
        ns = x4 ? bench_x4((simd_f32_x4_fn)fnp, v, dim, iters)
                : bench_single((simd_f32_fn)fnp, v, dim, iters);
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
            struct {
                const char *name;
                simd_f32_fn one;
                simd_f32_x4_fn four;
            } fns[] = {{"l2sq", k->l2sq_f32, k->l2sq_f32_x4},
                       {"dot", k->dot_f32, k->dot_f32_x4},
                       {"cos", k->cos_f32, k->cos_f32_x4}};
            for (int f = 0; f < 3; f++) {
                double ns1 = bench_best(0, (void (*)(void))fns[f].one, v, dim);
                double ns4 = bench_best(1, (void (*)(void))fns[f].four, v, dim);
                double b1 = 2.0 * (double)dim * sizeof(float);
                double b4 = 5.0 * (double)dim * sizeof(float);
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
