/*
 * test_simd.c -- unit tests for the distance kernels (src/simd/).
 *
 * Every kernel of every level this CPU runs (simd_table(level) != NULL) is
 * checked for every dimension 1..2049 (and 0), in two data modes:
 *
 *   exact   values are k/16 with |k| <= 32 (exactly representable as f32,
 *           f16 and bf16). Every product is a multiple of 2^-8 below 2^4
 *           in magnitude, so every partial sum of up to 2049 terms fits in
 *           24 bits and EVERY summation order gives the same, exact result.
 *           Here each level must equal an independent double-precision
 *           oracle computed in this file bit for bit (l2sq, dot), and cos
 *           must be bit-identical across levels (the sums are identical and
 *           the finishing step is shared). A dropped, doubled or misplaced
 *           element changes the result, so this mode catches indexing bugs
 *           that a tolerance would hide at large dims.
 *   random  values uniform in [-s, s) with a per-vector scale s in
 *           2^-4..2^4, so rounding happens. Tolerances against the scalar
 *           reference (float sums, in any order, of n terms t_i each carrying
 *           at most one rounding, differ by at most about 2 n u sum|t_i| with
 *           u = FLT_EPSILON / 2):
 *             l2sq, dot:  |x - ref| <= (dim + 3) * FLT_EPSILON * sum|t_i|
 *                         (the +3 covers the rounding of a - b before the
 *                         square and of the result);
 *             cos:        |x - ref| <= 2 * (dim + 4) * FLT_EPSILON, because
 *                         sum|a_i b_i| <= |a| |b| (Cauchy-Schwarz) bounds
 *                         the dot error relative to the normalisation and
 *                         the norms contribute the same again;
 *             int8, hamming, jaccard: exact (integer sums, shared finish).
 *
 * Pointers: every vector sits in its own mmap'd region followed by a
 * PROT_NONE guard page. Depending on the parity of (dim + slot) a vector
 * either ends exactly at the guard page (any read past its end faults, also
 * without ASan, and its start takes every alignment as dim varies) or
 * starts 1..3 elements (bytes for int8/binary) past a page boundary.
 *
 * Also: _x4 variants against the level's single kernels, zero vectors
 * (cos = 1, jaccard = 0 for two empty rows in the single and _x4 kernels,
 * dim 0), f16/bf16 conversions (every 16-bit
 * pattern, random float patterns against an independent rounding oracle,
 * named ties, inf, NaN, subnormals), simd_force, VECTIS_SIMD, level names,
 * and CPU detection against /proc/cpuinfo.
 *
 * The seed is printed; VECTIS_TEST_SEED=<n> replays a run.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "simd/simd.h"
#include "simd/simd_internal.h"

#define TEST_MAX_DIM 2049 /* elements; the brief's range 1..2049 */
#define TEST_SLOTS 5      /* q, b0..b3 */

static uint64_t test_rng_state;

static uint64_t test_rand(void)
{
    /* splitmix64: small, fast, good enough to generate test data. */
    uint64_t z = (test_rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static double test_rand_unit(void)
{
    return (double)(int64_t)(test_rand() >> 11) * 0x1p-52 - 1.0;
}

/* ----------------------------------------------------- guarded buffers */

typedef struct test_region {
    uint8_t *base;  /* first data byte (page aligned) */
    uint8_t *guard; /* first byte of the PROT_NONE page */
    size_t map_len;
} test_region;

static test_region test_regions[TEST_SLOTS];
static size_t test_page;

static void test_regions_map(void)
{
    test_page = (size_t)sysconf(_SC_PAGESIZE);
    size_t data = ((TEST_MAX_DIM + 4) * sizeof(float) + test_page - 1) / test_page * test_page;
    for (int s = 0; s < TEST_SLOTS; s++) {
        size_t len = data + test_page;
        uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert_true(p != MAP_FAILED);
        assert_int_equal(mprotect(p + data, test_page, PROT_NONE), 0);
        test_regions[s] = (test_region){.base = p, .guard = p + data, .map_len = len};
    }
}

static void test_regions_unmap(void)
{
    for (int s = 0; s < TEST_SLOTS; s++)
        munmap(test_regions[s].base, test_regions[s].map_len);
}

/* Where slot `s` holds a vector of `dim` elements of `esize` bytes. */
static void *test_place(int s, size_t dim, size_t esize)
{
    test_region *r = &test_regions[s];
    if ((dim + (size_t)s) % 2 == 0)
        return r->guard - dim * esize;
    return r->base + (1 + (dim + (size_t)s) % 3) * esize;
}

/* ---------------------------------------------------------- level list */

/* The tables under test: every level this CPU runs, plus, when AVX-512 is
 * available, its unpatched int8 kernels (AVX-512BW; the level's table uses
 * the VNNI ones when the CPU has VNNI) with the AVX2 binary kernels, so
 * that the fallbacks simd.c would pick on other AVX-512 CPUs are tested
 * here too. */
static const simd_kernels *test_levels[SIMD_AVX512 + 2];
static const char *test_level_names[SIMD_AVX512 + 2];
static int test_nlevels;
#if defined(__x86_64__)
static simd_kernels test_avx512_base;
#endif

static int test_setup(void **state)
{
    (void)state;
    test_regions_map();
    simd_init();
    test_nlevels = 0;
    for (int l = SIMD_SCALAR; l <= SIMD_AVX512; l++)
        if (simd_table((simd_level)l) != NULL) {
            test_level_names[test_nlevels] = simd_level_name((simd_level)l);
            test_levels[test_nlevels++] = simd_table((simd_level)l);
        }
#if defined(__x86_64__)
    if (simd_table(SIMD_AVX512) != NULL) {
        test_avx512_base = simd_kernels_avx512;
        test_avx512_base.hamming = simd_kernels_avx2.hamming;
        test_avx512_base.hamming_x4 = simd_kernels_avx2.hamming_x4;
        test_avx512_base.jaccard = simd_kernels_avx2.jaccard;
        test_avx512_base.jaccard_x4 = simd_kernels_avx2.jaccard_x4;
        test_level_names[test_nlevels] = "avx512-without-vnni-vpopcntdq";
        test_levels[test_nlevels++] = &test_avx512_base;
    }
#endif
    return 0;
}

static int test_teardown(void **state)
{
    (void)state;
    test_regions_unmap();
    return 0;
}

/* Fails with the context of a mismatch, so a failure names what broke. */
static void test_fail(const char *what, const simd_kernels *k, size_t dim, int mode, double got,
                      double want, double tol)
{
    const char *name = simd_level_name(k->level);
    for (int i = 0; i < test_nlevels; i++)
        if (test_levels[i] == k)
            name = test_level_names[i];
    print_error("%s level=%s dim=%zu mode=%s got=%.9g want=%.9g tol=%.3g\n", what, name, dim,
                mode ? "random" : "exact", got, want, tol);
    fail();
}

static void test_check(const char *what, const simd_kernels *k, size_t dim, int mode, double got,
                       double want, double tol)
{
    if (!(fabs(got - want) <= tol) && !(got == want))
        test_fail(what, k, dim, mode, got, want, tol);
}

/* ------------------------------------------------------ float families */

enum { TEST_F32, TEST_F16, TEST_BF16 };
enum { TEST_L2, TEST_DOT, TEST_COS };
static const char *const test_type_names[] = {"f32", "f16", "bf16"};
static const char *const test_metric_names[] = {"l2sq", "dot", "cos"};

static float test_call(const simd_kernels *k, int type, int metric, const void *a, const void *b,
                       size_t dim)
{
    static const size_t f32_off[] = {offsetof(simd_kernels, l2sq_f32),
                                     offsetof(simd_kernels, dot_f32),
                                     offsetof(simd_kernels, cos_f32)};
    static const size_t u16_off[2][3] = {
        {offsetof(simd_kernels, l2sq_f16), offsetof(simd_kernels, dot_f16),
         offsetof(simd_kernels, cos_f16)},
        {offsetof(simd_kernels, l2sq_bf16), offsetof(simd_kernels, dot_bf16),
         offsetof(simd_kernels, cos_bf16)}};
    if (type == TEST_F32) {
        simd_f32_fn fn;
        memcpy(&fn, (const char *)k + f32_off[metric], sizeof fn);
        return fn(a, b, dim);
    }
    simd_u16_fn fn;
    memcpy(&fn, (const char *)k + u16_off[type - 1][metric], sizeof fn);
    return fn(a, b, dim);
}

static void test_call_x4(const simd_kernels *k, int type, int metric, void *const v[TEST_SLOTS],
                         size_t dim, float out[4])
{
    static const size_t f32_off[] = {offsetof(simd_kernels, l2sq_f32_x4),
                                     offsetof(simd_kernels, dot_f32_x4),
                                     offsetof(simd_kernels, cos_f32_x4)};
    static const size_t u16_off[2][3] = {
        {offsetof(simd_kernels, l2sq_f16_x4), offsetof(simd_kernels, dot_f16_x4),
         offsetof(simd_kernels, cos_f16_x4)},
        {offsetof(simd_kernels, l2sq_bf16_x4), offsetof(simd_kernels, dot_bf16_x4),
         offsetof(simd_kernels, cos_bf16_x4)}};
    if (type == TEST_F32) {
        simd_f32_x4_fn fn;
        memcpy(&fn, (const char *)k + f32_off[metric], sizeof fn);
        fn(v[0], v[1], v[2], v[3], v[4], dim, out);
        return;
    }
    simd_u16_x4_fn fn;
    memcpy(&fn, (const char *)k + u16_off[type - 1][metric], sizeof fn);
    fn(v[0], v[1], v[2], v[3], v[4], dim, out);
}

/* Fills slot s with dim values of `type` and returns them, as stored, in
 * `vals` (double, exact). */
static void *test_fill_float(int s, int type, int mode, size_t dim, double *vals)
{
    size_t esize = type == TEST_F32 ? sizeof(float) : sizeof(uint16_t);
    void *p = test_place(s, dim, esize);
    double scale = ldexp(1.0, (int)(test_rand() % 9) - 4);
    for (size_t i = 0; i < dim; i++) {
        float f;
        if (mode == 0)
            f = (float)((int)(test_rand() % 65) - 32) / 16.0f;
        else
            f = (float)(test_rand_unit() * scale);
        if (type == TEST_F32) {
            ((float *)p)[i] = f;
            vals[i] = f;
        } else if (type == TEST_F16) {
            uint16_t h = simd_f32_to_f16(f);
            ((uint16_t *)p)[i] = h;
            vals[i] = simd_f16_to_f32(h);
        } else {
            uint16_t h = simd_f32_to_bf16(f);
            ((uint16_t *)p)[i] = h;
            vals[i] = simd_bf16_to_f32(h);
        }
    }
    return p;
}

static double test_vals[TEST_SLOTS][TEST_MAX_DIM];

static void test_float_family(int type)
{
    for (size_t dim = 0; dim <= TEST_MAX_DIM; dim++) {
        for (int mode = 0; mode < 2; mode++) {
            void *v[TEST_SLOTS];
            for (int s = 0; s < TEST_SLOTS; s++)
                v[s] = test_fill_float(s, type, mode, dim, test_vals[s]);

            /* Oracle sums in double, and the sum of |terms| for tolerances. */
            double l2[4], dot[4], qq = 0, bb[4], l2abs[4], dotabs[4];
            for (size_t i = 0; i < dim; i++)
                qq += test_vals[0][i] * test_vals[0][i];
            for (int j = 0; j < 4; j++) {
                l2[j] = dot[j] = bb[j] = dotabs[j] = 0;
                for (size_t i = 0; i < dim; i++) {
                    double x = test_vals[0][i], y = test_vals[j + 1][i];
                    l2[j] += (x - y) * (x - y);
                    dot[j] += x * y;
                    dotabs[j] += fabs(x * y);
                    bb[j] += y * y;
                }
                l2abs[j] = l2[j];
            }

            float ref[3][4];
            for (int m = 0; m < 3; m++)
                for (int j = 0; j < 4; j++)
                    ref[m][j] = test_call(test_levels[0], type, m, v[0], v[j + 1], dim);

            for (int li = 0; li < test_nlevels; li++) {
                const simd_kernels *k = test_levels[li];
                for (int m = 0; m < 3; m++) {
                    char what[64];
                    float single[4], x4[4];
                    snprintf(what, sizeof what, "%s_%s", test_metric_names[m],
                             test_type_names[type]);
                    for (int j = 0; j < 4; j++) {
                        single[j] = test_call(k, type, m, v[0], v[j + 1], dim);
                        double tol;
                        if (m == TEST_COS)
                            tol = mode == 0 ? 0.0 : 2.0 * (double)(dim + 4) * FLT_EPSILON;
                        else
                            tol = mode == 0 ? 0.0
                                            : (double)(dim + 3) * FLT_EPSILON *
                                                  (m == TEST_L2 ? l2abs[j] : dotabs[j]);
                        test_check(what, k, dim, mode, single[j], ref[m][j], tol);
                        if (mode == 0 && m != TEST_COS)
                            test_check(what, k, dim, mode, single[j], m == TEST_L2 ? l2[j] : dot[j],
                                       0.0);
                        if (mode == 0 && m == TEST_COS && qq > 0 && bb[j] > 0) {
                            double c = 1.0 - dot[j] / sqrt(qq * bb[j]);
                            test_check(what, k, dim, mode, single[j], c, 1e-6);
                        }
                    }
                    snprintf(what, sizeof what, "%s_%s_x4", test_metric_names[m],
                             test_type_names[type]);
                    test_call_x4(k, type, m, v, dim, x4);
                    for (int j = 0; j < 4; j++) {
                        double tol;
                        if (m == TEST_COS)
                            tol = mode == 0 ? 0.0 : 2.0 * (double)(dim + 4) * FLT_EPSILON;
                        else
                            tol = mode == 0 ? 0.0
                                            : (double)(dim + 3) * FLT_EPSILON *
                                                  (m == TEST_L2 ? l2abs[j] : dotabs[j]);
                        test_check(what, k, dim, mode, x4[j], single[j], tol);
                    }
                }
            }
        }
    }
}

static void test_kernels_f32(void **state)
{
    (void)state;
    test_float_family(TEST_F32);
}

static void test_kernels_f16(void **state)
{
    (void)state;
    test_float_family(TEST_F16);
}

static void test_kernels_bf16(void **state)
{
    (void)state;
    test_float_family(TEST_BF16);
}

/* ----------------------------------------------------------------- int8 */

static void test_kernels_i8(void **state)
{
    (void)state;
    for (size_t dim = 0; dim <= TEST_MAX_DIM; dim++) {
        int8_t *v[TEST_SLOTS];
        for (int s = 0; s < TEST_SLOTS; s++) {
            v[s] = test_place(s, dim, 1);
            for (size_t i = 0; i < dim; i++)
                v[s][i] = (int8_t)(test_rand() & 0xff); /* the full range, -128 included */
        }
        /* Every few dims, make q all -128 and b0 all -128 / all 127: the
         * extreme products and differences. */
        if (dim % 7 == 3) {
            memset(v[0], 0x80, dim);
            memset(v[1], 0x80, dim);
            memset(v[2], 0x7f, dim);
        }
        int32_t l2[4] = {0}, dot[4] = {0}, bb[4] = {0}, qq = 0;
        for (size_t i = 0; i < dim; i++)
            qq += v[0][i] * v[0][i];
        for (int j = 0; j < 4; j++)
            for (size_t i = 0; i < dim; i++) {
                int32_t x = v[0][i], y = v[j + 1][i];
                l2[j] += (x - y) * (x - y);
                dot[j] += x * y;
                bb[j] += y * y;
            }
        /* Cosine from exact integer sums: every level must give this float
         * bit for bit (the finishing formula is the one simd.h documents). */
        double cosd[4];
        for (int j = 0; j < 4; j++) {
            double c = 1.0;
            if (qq != 0 && bb[j] != 0)
                c = 1.0 - (double)dot[j] / sqrt((double)qq * (double)bb[j]);
            cosd[j] = (float)(c < 0.0 ? 0.0 : c > 2.0 ? 2.0 : c);
        }
        for (int li = 0; li < test_nlevels; li++) {
            const simd_kernels *k = test_levels[li];
            int32_t o[4];
            for (int j = 0; j < 4; j++) {
                test_check("l2sq_i8", k, dim, 1, k->l2sq_i8(v[0], v[j + 1], dim), l2[j], 0);
                test_check("dot_i8", k, dim, 1, k->dot_i8(v[0], v[j + 1], dim), dot[j], 0);
            }
            k->l2sq_i8_x4(v[0], v[1], v[2], v[3], v[4], dim, o);
            for (int j = 0; j < 4; j++)
                test_check("l2sq_i8_x4", k, dim, 1, o[j], l2[j], 0);
            k->dot_i8_x4(v[0], v[1], v[2], v[3], v[4], dim, o);
            for (int j = 0; j < 4; j++)
                test_check("dot_i8_x4", k, dim, 1, o[j], dot[j], 0);
            float c[4];
            for (int j = 0; j < 4; j++)
                test_check("cos_i8", k, dim, 1, k->cos_i8(v[0], v[j + 1], dim), cosd[j], 0);
            k->cos_i8_x4(v[0], v[1], v[2], v[3], v[4], dim, c);
            for (int j = 0; j < 4; j++)
                test_check("cos_i8_x4", k, dim, 1, c[j], cosd[j], 0);
        }
    }
}

/* --------------------------------------------------------------- binary */

/* Popcounts of query v[0] against rows v[1..4]: XOR (Hamming), AND and OR
 * (Jaccard's intersection and union), counted bit by bit. */
static void test_bin_counts(uint8_t *const *v, size_t n, uint32_t ham[4], uint32_t inter[4],
                            uint32_t uni[4])
{
    for (int j = 0; j < 4; j++) {
        ham[j] = inter[j] = uni[j] = 0;
        for (size_t i = 0; i < n; i++) {
            ham[j] += (uint32_t)__builtin_popcount(v[0][i] ^ v[j + 1][i]);
            inter[j] += (uint32_t)__builtin_popcount(v[0][i] & v[j + 1][i]);
            uni[j] += (uint32_t)__builtin_popcount(v[0][i] | v[j + 1][i]);
        }
    }
}

/* The Jaccard distance the kernels must return (0 for two empty rows). */
static double test_jaccard(uint32_t inter, uint32_t uni)
{
    return uni == 0 ? 0.0 : (float)(1.0 - (double)inter / uni);
}

static void test_kernels_binary(void **state)
{
    (void)state;
    for (size_t n = 0; n <= TEST_MAX_DIM; n++) {
        uint8_t *v[TEST_SLOTS];
        /* Bit density varies with n so that both sparse and dense vectors
         * (and all-zero ones for small n) occur. */
        int density = (int)(n % 4);
        for (int s = 0; s < TEST_SLOTS; s++) {
            v[s] = test_place(s, n, 1);
            for (size_t i = 0; i < n; i++) {
                uint8_t x = (uint8_t)test_rand();
                if (density == 0)
                    x &= (uint8_t)test_rand() & (uint8_t)test_rand();
                else if (density == 3)
                    x |= (uint8_t)test_rand();
                v[s][i] = x;
            }
        }
        uint32_t ham[4], inter[4], uni[4];
        test_bin_counts(v, n, ham, inter, uni);
        for (int li = 0; li < test_nlevels; li++) {
            const simd_kernels *k = test_levels[li];
            uint32_t o[4];
            for (int j = 0; j < 4; j++) {
                test_check("hamming", k, n, 1, k->hamming(v[0], v[j + 1], n), ham[j], 0);
                double jac = test_jaccard(inter[j], uni[j]);
                test_check("jaccard", k, n, 1, k->jaccard(v[0], v[j + 1], n), jac, 0);
            }
            k->hamming_x4(v[0], v[1], v[2], v[3], v[4], n, o);
            for (int j = 0; j < 4; j++)
                test_check("hamming_x4", k, n, 1, o[j], ham[j], 0);
            /* jaccard_x4 must equal the single kernel bit for bit (exact
             * counts, shared finish), and so the independent counts. */
            float jo[4];
            k->jaccard_x4(v[0], v[1], v[2], v[3], v[4], n, jo);
            for (int j = 0; j < 4; j++) {
                double jac = test_jaccard(inter[j], uni[j]);
                test_check("jaccard_x4", k, n, 1, jo[j], jac, 0);
                test_check("jaccard_x4 vs single", k, n, 1, jo[j],
                           k->jaccard(v[0], v[j + 1], n), 0);
            }
        }
    }
}

/* Long binary vectors: kernels that keep narrow partial counts (NEON's
 * 16-bit lanes, folded every 2048 16-byte steps) must fold them before they
 * overflow. Dense rows (all ones) give the largest per-lane counts; the
 * length spans several such blocks plus a ragged tail. */
#define TEST_LONG_BIN (3u * 16u * 2048u + 21u) /* bytes */

static void test_kernels_binary_long(void **state)
{
    (void)state;
    uint8_t *v[TEST_SLOTS];
    for (int s = 0; s < TEST_SLOTS; s++) {
        v[s] = malloc(TEST_LONG_BIN + 1);
        assert_non_null(v[s]);
        v[s]++; /* odd address */
    }
    memset(v[0], 0xff, TEST_LONG_BIN);
    memset(v[1], 0xff, TEST_LONG_BIN);
    memset(v[3], 0x00, TEST_LONG_BIN);
    for (size_t i = 0; i < TEST_LONG_BIN; i++) {
        v[2][i] = (uint8_t)test_rand();
        v[4][i] = (uint8_t)(i % 7 == 0 ? 0 : test_rand() | test_rand());
    }
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) /* a sparse query: small intersections, large unions */
            for (size_t i = 0; i < TEST_LONG_BIN; i++)
                v[0][i] = (uint8_t)(test_rand() & test_rand() & test_rand());
        uint32_t ham[4], inter[4], uni[4];
        test_bin_counts(v, TEST_LONG_BIN, ham, inter, uni);
        for (int li = 0; li < test_nlevels; li++) {
            const simd_kernels *k = test_levels[li];
            uint32_t o[4];
            float jo[4];
            k->hamming_x4(v[0], v[1], v[2], v[3], v[4], TEST_LONG_BIN, o);
            k->jaccard_x4(v[0], v[1], v[2], v[3], v[4], TEST_LONG_BIN, jo);
            for (int j = 0; j < 4; j++) {
                double jac = test_jaccard(inter[j], uni[j]);
                test_check("hamming long", k, TEST_LONG_BIN, 1,
                           k->hamming(v[0], v[j + 1], TEST_LONG_BIN), ham[j], 0);
                test_check("hamming_x4 long", k, TEST_LONG_BIN, 1, o[j], ham[j], 0);
                test_check("jaccard long", k, TEST_LONG_BIN, 1,
                           k->jaccard(v[0], v[j + 1], TEST_LONG_BIN), jac, 0);
                test_check("jaccard_x4 long", k, TEST_LONG_BIN, 1, jo[j], jac, 0);
            }
        }
    }
    for (int s = 0; s < TEST_SLOTS; s++)
        free(v[s] - 1);
}

/* ---------------------------------------------------------- zero vectors */

static void test_zero_vectors(void **state)
{
    (void)state;
    static const size_t dims[] = {0, 1, 3, 8, 15, 16, 17, 31, 33, 64, 100, 784, 1000, 1536};
    for (int li = 0; li < test_nlevels; li++) {
        const simd_kernels *k = test_levels[li];
        for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++) {
            size_t dim = dims[di];
            float *z = test_place(0, dim, sizeof(float));
            float *x = test_place(1, dim, sizeof(float));
            float *y = test_place(2, dim, sizeof(float));
            uint16_t *zh = test_place(3, dim, sizeof(uint16_t));
            uint16_t *xh = test_place(4, dim, sizeof(uint16_t));
            for (size_t i = 0; i < dim; i++) {
                z[i] = 0.0f;
                x[i] = (float)test_rand_unit() + 2.0f;
                y[i] = -x[i];
                zh[i] = 0;
                xh[i] = simd_f32_to_f16(x[i]);
            }
            float o[4];
            assert_true(k->cos_f32(z, x, dim) == 1.0f);
            assert_true(k->cos_f32(x, z, dim) == 1.0f);
            assert_true(k->cos_f32(z, z, dim) == 1.0f);
            k->cos_f32_x4(x, z, x, y, z, dim, o);
            assert_true(o[0] == 1.0f && o[3] == 1.0f);
            if (dim > 0) {
                assert_true(fabsf(o[1]) <= 1e-6f && o[1] >= 0.0f);
                assert_true(fabsf(o[2] - 2.0f) <= 1e-6f && o[2] <= 2.0f);
                assert_true(k->cos_f32(x, x, dim) >= 0.0f);
            } else {
                assert_true(o[1] == 1.0f && o[2] == 1.0f);
            }
            assert_true(k->l2sq_f32(x, x, dim) == 0.0f);
            assert_true(k->dot_f32(z, x, dim) == 0.0f);
            assert_true(k->cos_f16(zh, xh, dim) == 1.0f);
            assert_true(k->cos_bf16(zh, zh, dim) == 1.0f);

            uint8_t *zb = test_place(0, dim, 1);
            uint8_t *xb = test_place(1, dim, 1);
            memset(zb, 0, dim);
            memset(xb, 0xa5, dim);
            assert_true(k->jaccard(zb, zb, dim) == 0.0f);
            assert_true(k->jaccard(zb, xb, dim) == (dim ? 1.0f : 0.0f));
            assert_true(k->jaccard(xb, xb, dim) == 0.0f);
            /* The four-row kernel agrees on every all-zero / full pairing:
             * empty vs empty is 0 (not NaN), empty vs non-empty is 1. */
            float jo[4];
            k->jaccard_x4(zb, zb, xb, zb, xb, dim, jo);
            assert_true(jo[0] == 0.0f && jo[2] == 0.0f);
            assert_true(jo[1] == (dim ? 1.0f : 0.0f) && jo[3] == jo[1]);
            k->jaccard_x4(xb, zb, xb, xb, zb, dim, jo);
            assert_true(jo[0] == (dim ? 1.0f : 0.0f) && jo[3] == jo[0]);
            assert_true(jo[1] == 0.0f && jo[2] == 0.0f);
            for (int j = 0; j < 4; j++)
                assert_true(jo[j] == k->jaccard(xb, j == 0 || j == 3 ? zb : xb, dim));
            assert_int_equal(k->hamming(zb, xb, dim), 4 * dim);
            assert_int_equal(k->l2sq_i8((int8_t *)zb, (int8_t *)zb, dim), 0);
            assert_true(k->cos_i8((int8_t *)zb, (int8_t *)xb, dim) == 1.0f);
            assert_true(k->cos_i8((int8_t *)xb, (int8_t *)xb, dim) == (dim ? 0.0f : 1.0f));
        }
    }
}

/* ----------------------------------------------------------- conversions */

/* binary16 value of h, computed independently of simd.c. */
static double test_f16_value(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v;
    if (e == 0x1f)
        v = m ? NAN : INFINITY;
    else if (e == 0)
        v = ldexp(m, -24);
    else
        v = ldexp(1024 + m, e - 25);
    return (h & 0x8000) ? -v : v;
}

/* Round-to-nearest-even oracle: the better of the two representable
 * neighbours lo, lo + 1 (same sign, increasing magnitude) of |f|. */
static uint16_t test_round_pick(double af, uint16_t lo, double vlo, double vhi)
{
    double dlo = af - vlo, dhi = vhi - af;
    if (dlo < dhi)
        return lo;
    if (dhi < dlo)
        return (uint16_t)(lo + 1);
    return (lo & 1) ? (uint16_t)(lo + 1) : lo;
}

static uint16_t test_f16_oracle(float f)
{
    uint16_t sign = signbit(f) ? 0x8000 : 0;
    double af = fabs((double)f);
    if (isnan(f))
        return 0x7e00;
    if (af >= 65520.0)
        return sign | 0x7c00;
    /* Largest magnitude pattern not above af, by binary search. */
    uint16_t lo = 0, hi = 0x7bff;
    while (lo < hi) {
        uint16_t mid = (uint16_t)((lo + hi + 1) / 2);
        if (test_f16_value(mid) <= af)
            lo = mid;
        else
            hi = (uint16_t)(mid - 1);
    }
    double vhi = lo == 0x7bff ? 65536.0 : test_f16_value((uint16_t)(lo + 1));
    return sign | test_round_pick(af, lo, test_f16_value(lo), vhi);
}

static uint16_t test_bf16_oracle(float f)
{
    if (isnan(f))
        return 0x7fc0;
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint16_t lo = (uint16_t)((u >> 16) & 0x7fff);
    double af = fabs((double)f);
    double vlo = simd_bf16_to_f32(lo);
    double vhi = lo == 0x7f7f ? ldexp(1.0, 128) : (double)simd_bf16_to_f32((uint16_t)(lo + 1));
    if (lo >= 0x7f80) /* infinity itself */
        return sign | 0x7f80;
    return sign | test_round_pick(af, lo, vlo, vhi);
}

static float test_bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void test_f16_conversion(void **state)
{
    (void)state;
    /* Every half: widening is exact and narrowing gives it back (NaNs come
     * back as NaNs with the quiet bit set, sign and top payload kept). */
    for (uint32_t h = 0; h <= 0xffff; h++) {
        float f = simd_f16_to_f32((uint16_t)h);
        double want = test_f16_value((uint16_t)h);
        if (isnan(want)) {
            assert_true(isnan(f));
            assert_int_equal(simd_f32_to_f16(f), h | 0x0200);
        } else {
            assert_true((double)f == want);
            assert_true(!signbit(f) == !signbit(want));
            assert_int_equal(simd_f32_to_f16(f), h);
        }
    }
    static const struct {
        float f;
        uint16_t h;
    } cases[] = {
        {0.0f, 0x0000},          {-0.0f, 0x8000},           {1.0f, 0x3c00},
        {-2.0f, 0xc000},         {65504.0f, 0x7bff},        {65519.99f, 0x7bff},
        {65520.0f, 0x7c00},      {-65520.0f, 0xfc00},       {1e9f, 0x7c00},
        {INFINITY, 0x7c00},      {-INFINITY, 0xfc00},       {0x1p-14f, 0x0400},
        {0x1p-24f, 0x0001},      {0x1p-25f, 0x0000},        {0x1.8p-25f, 0x0001},
        {0x1.8p-24f, 0x0002},    {0x1.4p-24f, 0x0001},      {0x1p-26f, 0x0000},
        {-0x1p-24f, 0x8001},     {0x1.002p0f, 0x3c00},      {0x1.006p0f, 0x3c02},
        {0x1.00201p0f, 0x3c01},   {0x1.ff8p-15f, 0x03ff},    {0x1.ffcp-15f, 0x0400},
        {0x1.ff9p-15f, 0x03ff},   {0x1.ffep-15f, 0x0400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (simd_f32_to_f16(cases[i].f) != cases[i].h) {
            print_error("f16(%a) = %#x, want %#x\n", (double)cases[i].f,
                        simd_f32_to_f16(cases[i].f), cases[i].h);
            fail();
        }
    }
    assert_true(isnan(simd_f16_to_f32(simd_f32_to_f16(NAN))));
    /* A signalling float NaN whose payload lies below the half's mantissa
     * must not turn into infinity. */
    assert_int_equal(simd_f32_to_f16(test_bits_float(0x7f800001u)), 0x7e00);
    /* Random float patterns in and around the half range. */
    for (int i = 0; i < 200000; i++) {
        uint32_t u = (uint32_t)test_rand();
        u = (u & 0x807fffffu) | ((uint32_t)(96 + test_rand() % 56) << 23);
        float f = test_bits_float(u);
        if (simd_f32_to_f16(f) != test_f16_oracle(f)) {
            print_error("f16(%a) = %#x, want %#x\n", (double)f, simd_f32_to_f16(f),
                        test_f16_oracle(f));
            fail();
        }
    }
}

static void test_bf16_conversion(void **state)
{
    (void)state;
    for (uint32_t h = 0; h <= 0xffff; h++) {
        float f = simd_bf16_to_f32((uint16_t)h);
        uint32_t u;
        memcpy(&u, &f, 4);
        assert_int_equal(u, h << 16);
        if (isnan(f))
            assert_int_equal(simd_f32_to_bf16(f), h | 0x0040);
        else
            assert_int_equal(simd_f32_to_bf16(f), h);
    }
    static const struct {
        uint32_t f;
        uint16_t h;
    } cases[] = {
        {0x3f808000u, 0x3f80}, /* 1 + 2^-8: tie, to even (down) */
        {0x3f818000u, 0x3f82}, /* 1 + 3 * 2^-8: tie, to even (up) */
        {0x3f808001u, 0x3f81}, /* just above the tie */
        {0x3f807fffu, 0x3f80}, /* just below the tie */
        {0x7f7fffffu, 0x7f80}, /* FLT_MAX rounds to infinity */
        {0x7f7f7fffu, 0x7f7f},
        {0x7f800000u, 0x7f80}, /* inf */
        {0xff800000u, 0xff80}, /* -inf */
        {0x7fc00001u, 0x7fc0}, /* quiet NaN */
        {0x7f800001u, 0x7fc0}, /* signalling NaN with a low payload stays NaN */
        {0x00008000u, 0x0000}, /* subnormal tie, to even (zero) */
        {0x00018000u, 0x0002}, /* subnormal tie, to even (up) */
        {0x00010001u, 0x0001},
        {0x807fffffu, 0x8080}, /* largest subnormal rounds to the smallest normal */
        {0x80000000u, 0x8000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t got = simd_f32_to_bf16(test_bits_float(cases[i].f));
        if (got != cases[i].h) {
            print_error("bf16(%#x) = %#x, want %#x\n", cases[i].f, got, cases[i].h);
            fail();
        }
    }
    for (int i = 0; i < 200000; i++) {
        float f = test_bits_float((uint32_t)test_rand());
        uint16_t got = simd_f32_to_bf16(f), want = test_bf16_oracle(f);
        if (isnan(f) ? !isnan(simd_bf16_to_f32(got)) : got != want) {
            print_error("bf16(%a) = %#x, want %#x\n", (double)f, got, want);
            fail();
        }
    }
}

/* ------------------------------------------------------ dispatch control */

static void test_force_and_names(void **state)
{
    (void)state;
    simd_level best = simd_best_level();
    assert_non_null(simd_table(SIMD_SCALAR));
    assert_non_null(simd_table(best));
    assert_null(simd_table((simd_level)42));
    for (int l = best + 1; l <= SIMD_AVX512; l++)
        assert_null(simd_table((simd_level)l));
    for (int l = SIMD_SCALAR; l <= SIMD_AVX512; l++) {
        const simd_kernels *t = simd_table((simd_level)l);
        if (t != NULL)
            assert_int_equal(t->level, l);
    }

    assert_int_equal(simd_force(SIMD_SCALAR), SIMD_SCALAR);
    assert_ptr_equal(simd, simd_table(SIMD_SCALAR));
    assert_int_equal(simd->level, SIMD_SCALAR);
    assert_int_equal(simd_force(SIMD_AVX512), best);
    assert_ptr_equal(simd, simd_table(best));
    assert_int_equal(simd_force((simd_level)42), best);
    /* Lowering to a level this build lacks lands on the next one below. */
    simd_level want_avx2 = simd_table(SIMD_AVX2) ? SIMD_AVX2
                           : simd_table(SIMD_NEON) ? SIMD_NEON
                                                   : SIMD_SCALAR;
    assert_int_equal(simd_force(SIMD_AVX2), want_avx2);
    assert_int_equal(simd->level, want_avx2);
    simd_level want_neon = simd_table(SIMD_NEON) ? SIMD_NEON : SIMD_SCALAR;
    assert_int_equal(simd_force(SIMD_NEON), want_neon);
    simd_force(best);

    assert_string_equal(simd_level_name(SIMD_SCALAR), "scalar");
    assert_string_equal(simd_level_name(SIMD_NEON), "neon");
    assert_string_equal(simd_level_name(SIMD_AVX2), "avx2");
    assert_string_equal(simd_level_name(SIMD_AVX512), "avx512");
    assert_string_equal(simd_level_name((simd_level)42), "unknown");
}

static void test_env_override(void **state)
{
    (void)state;
    simd_level best = simd_best_level();
    char *saved = getenv("VECTIS_SIMD") ? strdup(getenv("VECTIS_SIMD")) : NULL;

    setenv("VECTIS_SIMD", "scalar", 1);
    assert_int_equal(simd_init(), SIMD_SCALAR);
    assert_ptr_equal(simd, simd_table(SIMD_SCALAR));
    simd_level want_avx2 = simd_table(SIMD_AVX2) ? SIMD_AVX2
                           : simd_table(SIMD_NEON) ? SIMD_NEON
                                                   : SIMD_SCALAR;
    setenv("VECTIS_SIMD", "AVX2", 1); /* case-insensitive */
    assert_int_equal(simd_init(), want_avx2);
    assert_int_equal(simd->level, want_avx2);
    setenv("VECTIS_SIMD", "avx512", 1);
    assert_int_equal(simd_init(), best);
    setenv("VECTIS_SIMD", "scalar", 1);
    assert_int_equal(simd_init(), SIMD_SCALAR);
    setenv("VECTIS_SIMD", "sse9", 1); /* unknown: ignored (one warning) */
    assert_int_equal(simd_init(), best);
    unsetenv("VECTIS_SIMD");
    assert_int_equal(simd_init(), best);
    assert_int_equal(simd_init(), best); /* idempotent */

    if (saved != NULL) {
        setenv("VECTIS_SIMD", saved, 1);
        free(saved);
    }
    simd_force(best);
}

/* Detection agrees with the flags the kernel reports in /proc/cpuinfo. */
#if defined(__x86_64__)
static int test_cpu_flag(const char *flags, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = flags; (p = strstr(p, name)) != NULL; p += n)
        if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}
#endif

static void test_detection(void **state)
{
    (void)state;
#if defined(__x86_64__)
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        skip();
    char line[8192];
    int found = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "flags", 5) == 0) {
            found = 1;
            break;
        }
    fclose(f);
    if (!found)
        skip();
    int avx2 = test_cpu_flag(line, "avx2") && test_cpu_flag(line, "fma") &&
               test_cpu_flag(line, "f16c") && test_cpu_flag(line, "popcnt");
    int avx512 = avx2 && test_cpu_flag(line, "avx512f") && test_cpu_flag(line, "avx512bw") &&
                 test_cpu_flag(line, "avx512dq") && test_cpu_flag(line, "avx512vl");
    assert_int_equal(simd_table(SIMD_AVX2) != NULL, avx2);
    assert_true(simd_table(SIMD_AVX512) == NULL || avx512);
    assert_null(simd_table(SIMD_NEON));
    /* The feature bits that only swap single entries of the AVX-512 table. */
    const simd_kernels *k = simd_table(SIMD_AVX512);
    if (k != NULL) {
        int vpopcnt = test_cpu_flag(line, "avx512_vpopcntdq");
        int vnni = test_cpu_flag(line, "avx512_vnni");
        assert_true(k->hamming == (vpopcnt ? simd_hamming_avx512vpopcnt
                                           : simd_kernels_avx2.hamming));
        assert_true(k->hamming_x4 == (vpopcnt ? simd_hamming_x4_avx512vpopcnt
                                              : simd_kernels_avx2.hamming_x4));
        assert_true(k->jaccard == (vpopcnt ? simd_jaccard_avx512vpopcnt
                                           : simd_kernels_avx2.jaccard));
        assert_true(k->jaccard_x4 == (vpopcnt ? simd_jaccard_x4_avx512vpopcnt
                                              : simd_kernels_avx2.jaccard_x4));
        assert_true(k->dot_i8 == (vnni ? simd_dot_i8_avx512vnni : simd_kernels_avx512.dot_i8));
        assert_true(k->l2sq_i8_x4 == (vnni ? simd_l2sq_i8_x4_avx512vnni
                                           : simd_kernels_avx512.l2sq_i8_x4));
    }
    printf("detected: %s (avx2=%d avx512=%d vpopcntdq=%d vnni=%d)\n",
           simd_level_name(simd_best_level()), avx2, avx512,
           test_cpu_flag(line, "avx512_vpopcntdq"), test_cpu_flag(line, "avx512_vnni"));
#elif defined(__aarch64__)
    /* NEON is part of the aarch64 baseline: its table must be present, be
     * the best level, and be among the tables the kernel tests compare
     * against scalar, or those tests would only check scalar with itself. */
    assert_ptr_equal(simd_table(SIMD_NEON), &simd_kernels_neon);
    assert_int_equal(simd_best_level(), SIMD_NEON);
    assert_null(simd_table(SIMD_AVX2));
    assert_null(simd_table(SIMD_AVX512));
    int listed = 0;
    printf("detected: %s (aarch64 baseline); levels under test:",
           simd_level_name(simd_best_level()));
    for (int i = 0; i < test_nlevels; i++) {
        printf(" %s", test_level_names[i]);
        listed |= test_levels[i] == &simd_kernels_neon;
    }
    printf(" (reference: %s)\n", test_level_names[0]);
    assert_true(listed);
    assert_ptr_equal(test_levels[0], &simd_kernels_scalar);
#else
    assert_non_null(simd_table(simd_best_level()));
#endif
}

int main(void)
{
    const char *env = getenv("VECTIS_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)getpid();
    printf("test_simd seed=%llu (VECTIS_TEST_SEED to replay)\n", (unsigned long long)seed);
    test_rng_state = seed;

    /* Before simd_init() the table is the scalar one (simd.h), so a caller
     * that forgot to initialise gets correct results, not a NULL call. */
    if (simd == NULL || simd->level != SIMD_SCALAR || simd->l2sq_f32 == NULL) {
        fprintf(stderr, "simd table before simd_init() is not the scalar table\n");
        return 1;
    }

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detection),
        cmocka_unit_test(test_force_and_names),
        cmocka_unit_test(test_env_override),
        cmocka_unit_test(test_f16_conversion),
        cmocka_unit_test(test_bf16_conversion),
        cmocka_unit_test(test_zero_vectors),
        cmocka_unit_test(test_kernels_f32),
        cmocka_unit_test(test_kernels_f16),
        cmocka_unit_test(test_kernels_bf16),
        cmocka_unit_test(test_kernels_i8),
        cmocka_unit_test(test_kernels_binary),
        cmocka_unit_test(test_kernels_binary_long),
    };
    return cmocka_run_group_tests(tests, test_setup, test_teardown);
}
