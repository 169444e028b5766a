/*
 * simd_avx2.c -- distance kernels for x86-64 with AVX2, FMA and F16C.
 *
 * Compiled with -mavx2 -mfma -mf16c (Makefile); simd.c selects this table
 * only when cpuid reports AVX2, FMA, F16C and POPCNT and XGETBV says the OS
 * saves YMM state. Nothing outside this file calls it directly.
 *
 * Float kernels (f32, f16, bf16 widened to f32 on load):
 *   - single: four independent 8-lane FMA accumulators (32 elements per
 *     iteration) so that the 4-cycle FMA latency does not bound throughput,
 *     then up to three 8-element steps and one masked step, each on its own
 *     accumulator (vmaskmovps for f32; a zero-padded copy for the 16-bit
 *     formats, which AVX2 cannot mask-load) for the last 1..7 elements. No
 *     scalar tail loop, and no read past the end of either vector
 *     (masked-off lanes never fault).
 *   - cosine: dot, |a|^2 and |b|^2 in one pass (two chains each).
 *   - _x4: the query block is loaded once per step and used against the
 *     four vectors; the four distances are themselves independent chains, so
 *     two accumulators per vector suffice (8 chains, 16 elements per step).
 *     The four sums are reduced together with two rounds of vhaddps.
 *   The f16/bf16 kernels share the f32 code through always-inline helpers
 *   whose `fmt` argument is a constant, so each instantiation compiles to a
 *   straight loop with its own load.
 *
 * int8: 16 bytes at a time sign-extended to int16 (vpmovsxbw), multiplied
 * and pair-added to int32 with vpmaddwd; l2sq squares the int16 difference
 * (|a - b| <= 255, so pair sums fit easily). Exact. Rejected: vpmaddubsw
 * with the abs/sign trick -- it is wrong for -128 (abs overflows, and the
 * int16 pair sum saturates), and the int16 path is fast enough.
 *
 * Binary: Hamming and Jaccard count bits 32 bytes at a time with the
 * nibble-lookup popcount (vpshufb on each nibble, vpsadbw to sum bytes into
 * 64-bit lanes), then whole 64-bit words and the last bytes with POPCNT.
 * The _x4 kernels load each query block once for the four rows.
 * The functions that use POPCNT carry target("popcnt"): the file is compiled
 * without -mpopcnt, where __builtin_popcountll becomes a libgcc call; every
 * AVX2 CPU has POPCNT and simd.c checks its cpuid bit anyway.
 *
 * Threading: pure functions.
 */
#include <immintrin.h>
#include <string.h>

#include "simd/simd_internal.h"

#define SIMD_INLINE static inline __attribute__((always_inline))

enum { SIMD_FMT_F32, SIMD_FMT_F16, SIMD_FMT_BF16 };

/* vmaskmovps masks: &simd_avx2_mask[8 - n] selects the first n lanes. */
static const int32_t simd_avx2_mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

/* ------------------------------------------------------------- helpers */

SIMD_INLINE float simd_hsum256(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

/* The horizontal sums of four vectors, as one 4-lane vector. */
SIMD_INLINE __m128 simd_hsum256_x4(__m256 a, __m256 b, __m256 c, __m256 d)
{
    __m256 ab = _mm256_hadd_ps(a, b); /* a01 a23 b01 b23 | a45 a67 b45 b67 */
    __m256 cd = _mm256_hadd_ps(c, d);
    __m256 t = _mm256_hadd_ps(ab, cd); /* a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7 */
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

/* Eight elements of format `fmt` at p, widened to f32. */
SIMD_INLINE __m256 simd_load8(const void *p, int fmt)
{
    if (fmt == SIMD_FMT_F32)
        return _mm256_loadu_ps((const float *)p);
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    if (fmt == SIMD_FMT_F16)
        return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* The first n (1..7) elements at p, zeros in the other lanes. */
SIMD_INLINE __m256 simd_load_tail(const void *p, size_t n, int fmt)
{
    if (fmt == SIMD_FMT_F32) {
        __m256i m = _mm256_loadu_si256((const __m256i *)(simd_avx2_mask + 8 - n));
        return _mm256_maskload_ps((const float *)p, m);
    }
    uint16_t buf[8] = {0};
    memcpy(buf, p, n * sizeof(uint16_t));
    return simd_load8(buf, fmt);
}

SIMD_INLINE size_t simd_esize(int fmt)
{
    return fmt == SIMD_FMT_F32 ? sizeof(float) : sizeof(uint16_t);
}

/* Element i of a vector of format fmt, as a byte address. */
SIMD_INLINE const void *simd_at(const void *p, size_t i, int fmt)
{
    return (const char *)p + i * simd_esize(fmt);
}

/* --------------------------------------------------- float, single pair */

SIMD_INLINE float simd_l2sq_avx2(const void *a, const void *b, size_t dim, int fmt)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        __m256 d0 = _mm256_sub_ps(simd_load8(simd_at(a, i, fmt), fmt),
                                  simd_load8(simd_at(b, i, fmt), fmt));
        __m256 d1 = _mm256_sub_ps(simd_load8(simd_at(a, i + 8, fmt), fmt),
                                  simd_load8(simd_at(b, i + 8, fmt), fmt));
        __m256 d2 = _mm256_sub_ps(simd_load8(simd_at(a, i + 16, fmt), fmt),
                                  simd_load8(simd_at(b, i + 16, fmt), fmt));
        __m256 d3 = _mm256_sub_ps(simd_load8(simd_at(a, i + 24, fmt), fmt),
                                  simd_load8(simd_at(b, i + 24, fmt), fmt));
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
        s2 = _mm256_fmadd_ps(d2, d2, s2);
        s3 = _mm256_fmadd_ps(d3, d3, s3);
    }
    /* The last 1..31 elements: up to three full 8-lane steps and a masked
     * one, each on its own accumulator. */
#define SIMD_L2_STEP(k, acc, LOAD, ...)                                                        \
    do {                                                                                       \
        __m256 d = _mm256_sub_ps(LOAD(simd_at(a, i + 8 * (k), fmt), __VA_ARGS__),              \
                                 LOAD(simd_at(b, i + 8 * (k), fmt), __VA_ARGS__));             \
        acc = _mm256_fmadd_ps(d, d, acc);                                                      \
    } while (0)
    if (i + 8 <= dim) {
        SIMD_L2_STEP(0, s0, simd_load8, fmt);
        if (i + 16 <= dim) {
            SIMD_L2_STEP(1, s1, simd_load8, fmt);
            if (i + 24 <= dim) {
                SIMD_L2_STEP(2, s2, simd_load8, fmt);
                i += 8;
            }
            i += 8;
        }
        i += 8;
    }
    if (i < dim)
        SIMD_L2_STEP(0, s3, simd_load_tail, dim - i, fmt);
#undef SIMD_L2_STEP
    return simd_hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

SIMD_INLINE float simd_dot_avx2(const void *a, const void *b, size_t dim, int fmt)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        s0 = _mm256_fmadd_ps(simd_load8(simd_at(a, i, fmt), fmt),
                             simd_load8(simd_at(b, i, fmt), fmt), s0);
        s1 = _mm256_fmadd_ps(simd_load8(simd_at(a, i + 8, fmt), fmt),
                             simd_load8(simd_at(b, i + 8, fmt), fmt), s1);
        s2 = _mm256_fmadd_ps(simd_load8(simd_at(a, i + 16, fmt), fmt),
                             simd_load8(simd_at(b, i + 16, fmt), fmt), s2);
        s3 = _mm256_fmadd_ps(simd_load8(simd_at(a, i + 24, fmt), fmt),
                             simd_load8(simd_at(b, i + 24, fmt), fmt), s3);
    }
#define SIMD_DOT_STEP(k, acc, LOAD, ...)                                                       \
    acc = _mm256_fmadd_ps(LOAD(simd_at(a, i + 8 * (k), fmt), __VA_ARGS__),                     \
                          LOAD(simd_at(b, i + 8 * (k), fmt), __VA_ARGS__), acc)
    if (i + 8 <= dim) {
        SIMD_DOT_STEP(0, s0, simd_load8, fmt);
        if (i + 16 <= dim) {
            SIMD_DOT_STEP(1, s1, simd_load8, fmt);
            if (i + 24 <= dim) {
                SIMD_DOT_STEP(2, s2, simd_load8, fmt);
                i += 8;
            }
            i += 8;
        }
        i += 8;
    }
    if (i < dim)
        SIMD_DOT_STEP(0, s3, simd_load_tail, dim - i, fmt);
#undef SIMD_DOT_STEP
    return simd_hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

SIMD_INLINE float simd_cos_avx2(const void *a, const void *b, size_t dim, int fmt)
{
    __m256 ab0 = _mm256_setzero_ps(), ab1 = ab0, aa0 = ab0, aa1 = ab0, bb0 = ab0, bb1 = ab0;
    size_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        __m256 x0 = simd_load8(simd_at(a, i, fmt), fmt), y0 = simd_load8(simd_at(b, i, fmt), fmt);
        __m256 x1 = simd_load8(simd_at(a, i + 8, fmt), fmt);
        __m256 y1 = simd_load8(simd_at(b, i + 8, fmt), fmt);
        ab0 = _mm256_fmadd_ps(x0, y0, ab0);
        aa0 = _mm256_fmadd_ps(x0, x0, aa0);
        bb0 = _mm256_fmadd_ps(y0, y0, bb0);
        ab1 = _mm256_fmadd_ps(x1, y1, ab1);
        aa1 = _mm256_fmadd_ps(x1, x1, aa1);
        bb1 = _mm256_fmadd_ps(y1, y1, bb1);
    }
    for (; i < dim; i += 8) {
        __m256 x, y;
        if (i + 8 <= dim) {
            x = simd_load8(simd_at(a, i, fmt), fmt);
            y = simd_load8(simd_at(b, i, fmt), fmt);
        } else {
            x = simd_load_tail(simd_at(a, i, fmt), dim - i, fmt);
            y = simd_load_tail(simd_at(b, i, fmt), dim - i, fmt);
        }
        ab0 = _mm256_fmadd_ps(x, y, ab0);
        aa0 = _mm256_fmadd_ps(x, x, aa0);
        bb0 = _mm256_fmadd_ps(y, y, bb0);
    }
    __m128 s = simd_hsum256_x4(_mm256_add_ps(ab0, ab1), _mm256_add_ps(aa0, aa1),
                               _mm256_add_ps(bb0, bb1), _mm256_setzero_ps());
    float r[4];
    _mm_storeu_ps(r, s);
    return simd_cos_finish(r[0], r[1], r[2]);
}

/* ------------------------------------------------ float, query against 4 */

/* Loads element block i of q and the four vectors (full or tail). */
#define SIMD_X4_LOAD(LOAD, at, ...)                                                            \
    do {                                                                                       \
        xq = LOAD(simd_at(q, at, fmt), __VA_ARGS__);                                           \
        x0 = LOAD(simd_at(b0, at, fmt), __VA_ARGS__);                                          \
        x1 = LOAD(simd_at(b1, at, fmt), __VA_ARGS__);                                          \
        x2 = LOAD(simd_at(b2, at, fmt), __VA_ARGS__);                                          \
        x3 = LOAD(simd_at(b3, at, fmt), __VA_ARGS__);                                          \
    } while (0)

SIMD_INLINE void simd_l2sq_x4_avx2(const void *q, const void *b0, const void *b1, const void *b2,
                                   const void *b3, size_t dim, float out[4], int fmt)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    __m256 t0 = s0, t1 = s0, t2 = s0, t3 = s0;
    __m256 xq, x0, x1, x2, x3;
    size_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        SIMD_X4_LOAD(simd_load8, i, fmt);
        x0 = _mm256_sub_ps(x0, xq);
        x1 = _mm256_sub_ps(x1, xq);
        x2 = _mm256_sub_ps(x2, xq);
        x3 = _mm256_sub_ps(x3, xq);
        s0 = _mm256_fmadd_ps(x0, x0, s0);
        s1 = _mm256_fmadd_ps(x1, x1, s1);
        s2 = _mm256_fmadd_ps(x2, x2, s2);
        s3 = _mm256_fmadd_ps(x3, x3, s3);
        SIMD_X4_LOAD(simd_load8, i + 8, fmt);
        x0 = _mm256_sub_ps(x0, xq);
        x1 = _mm256_sub_ps(x1, xq);
        x2 = _mm256_sub_ps(x2, xq);
        x3 = _mm256_sub_ps(x3, xq);
        t0 = _mm256_fmadd_ps(x0, x0, t0);
        t1 = _mm256_fmadd_ps(x1, x1, t1);
        t2 = _mm256_fmadd_ps(x2, x2, t2);
        t3 = _mm256_fmadd_ps(x3, x3, t3);
    }
    for (; i < dim; i += 8) {
        if (i + 8 <= dim)
            SIMD_X4_LOAD(simd_load8, i, fmt);
        else
            SIMD_X4_LOAD(simd_load_tail, i, dim - i, fmt);
        x0 = _mm256_sub_ps(x0, xq);
        x1 = _mm256_sub_ps(x1, xq);
        x2 = _mm256_sub_ps(x2, xq);
        x3 = _mm256_sub_ps(x3, xq);
        s0 = _mm256_fmadd_ps(x0, x0, s0);
        s1 = _mm256_fmadd_ps(x1, x1, s1);
        s2 = _mm256_fmadd_ps(x2, x2, s2);
        s3 = _mm256_fmadd_ps(x3, x3, s3);
    }
    _mm_storeu_ps(out, simd_hsum256_x4(_mm256_add_ps(s0, t0), _mm256_add_ps(s1, t1),
                                       _mm256_add_ps(s2, t2), _mm256_add_ps(s3, t3)));
}

SIMD_INLINE void simd_dot_x4_avx2(const void *q, const void *b0, const void *b1, const void *b2,
                                  const void *b3, size_t dim, float out[4], int fmt)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    __m256 t0 = s0, t1 = s0, t2 = s0, t3 = s0;
    __m256 xq, x0, x1, x2, x3;
    size_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        SIMD_X4_LOAD(simd_load8, i, fmt);
        s0 = _mm256_fmadd_ps(xq, x0, s0);
        s1 = _mm256_fmadd_ps(xq, x1, s1);
        s2 = _mm256_fmadd_ps(xq, x2, s2);
        s3 = _mm256_fmadd_ps(xq, x3, s3);
        SIMD_X4_LOAD(simd_load8, i + 8, fmt);
        t0 = _mm256_fmadd_ps(xq, x0, t0);
        t1 = _mm256_fmadd_ps(xq, x1, t1);
        t2 = _mm256_fmadd_ps(xq, x2, t2);
        t3 = _mm256_fmadd_ps(xq, x3, t3);
    }
    for (; i < dim; i += 8) {
        if (i + 8 <= dim)
            SIMD_X4_LOAD(simd_load8, i, fmt);
        else
            SIMD_X4_LOAD(simd_load_tail, i, dim - i, fmt);
        s0 = _mm256_fmadd_ps(xq, x0, s0);
        s1 = _mm256_fmadd_ps(xq, x1, s1);
        s2 = _mm256_fmadd_ps(xq, x2, s2);
        s3 = _mm256_fmadd_ps(xq, x3, s3);
    }
    _mm_storeu_ps(out, simd_hsum256_x4(_mm256_add_ps(s0, t0), _mm256_add_ps(s1, t1),
                                       _mm256_add_ps(s2, t2), _mm256_add_ps(s3, t3)));
}

SIMD_INLINE void simd_cos_x4_avx2(const void *q, const void *b0, const void *b1, const void *b2,
                                  const void *b3, size_t dim, float out[4], int fmt)
{
    /* Nine chains (four dots, four norms, the query norm): enough to cover
     * the FMA latency without unrolling, and they fit in 16 registers. */
    __m256 d0 = _mm256_setzero_ps(), d1 = d0, d2 = d0, d3 = d0;
    __m256 n0 = d0, n1 = d0, n2 = d0, n3 = d0, nq = d0;
    __m256 xq, x0, x1, x2, x3;
    for (size_t i = 0; i < dim; i += 8) {
        if (i + 8 <= dim)
            SIMD_X4_LOAD(simd_load8, i, fmt);
        else
            SIMD_X4_LOAD(simd_load_tail, i, dim - i, fmt);
        nq = _mm256_fmadd_ps(xq, xq, nq);
        d0 = _mm256_fmadd_ps(xq, x0, d0);
        n0 = _mm256_fmadd_ps(x0, x0, n0);
        d1 = _mm256_fmadd_ps(xq, x1, d1);
        n1 = _mm256_fmadd_ps(x1, x1, n1);
        d2 = _mm256_fmadd_ps(xq, x2, d2);
        n2 = _mm256_fmadd_ps(x2, x2, n2);
        d3 = _mm256_fmadd_ps(xq, x3, d3);
        n3 = _mm256_fmadd_ps(x3, x3, n3);
    }
    float dot[4], nb[4];
    _mm_storeu_ps(dot, simd_hsum256_x4(d0, d1, d2, d3));
    _mm_storeu_ps(nb, simd_hsum256_x4(n0, n1, n2, n3));
    float na = simd_hsum256(nq);
    for (int j = 0; j < 4; j++)
        out[j] = simd_cos_finish(dot[j], na, nb[j]);
}

/* One exported kernel per format and metric, over the inline templates. */
#define SIMD_AVX2_FLOAT_KERNELS(name, elem_t, FMT)                                             \
    static float simd_l2sq_##name##_avx2(const elem_t *a, const elem_t *b, size_t dim)         \
    {                                                                                          \
        return simd_l2sq_avx2(a, b, dim, FMT);                                                 \
    }                                                                                          \
    static float simd_dot_##name##_avx2(const elem_t *a, const elem_t *b, size_t dim)          \
    {                                                                                          \
        return simd_dot_avx2(a, b, dim, FMT);                                                  \
    }                                                                                          \
    static float simd_cos_##name##_avx2(const elem_t *a, const elem_t *b, size_t dim)          \
    {                                                                                          \
        return simd_cos_avx2(a, b, dim, FMT);                                                  \
    }                                                                                          \
    static void simd_l2sq_##name##_x4_avx2(const elem_t *q, const elem_t *b0, const elem_t *b1, \
                                           const elem_t *b2, const elem_t *b3, size_t dim,     \
                                           float out[4])                                       \
    {                                                                                          \
        simd_l2sq_x4_avx2(q, b0, b1, b2, b3, dim, out, FMT);                                   \
    }                                                                                          \
    static void simd_dot_##name##_x4_avx2(const elem_t *q, const elem_t *b0, const elem_t *b1, \
                                          const elem_t *b2, const elem_t *b3, size_t dim,      \
                                          float out[4])                                        \
    {                                                                                          \
        simd_dot_x4_avx2(q, b0, b1, b2, b3, dim, out, FMT);                                    \
    }                                                                                          \
    static void simd_cos_##name##_x4_avx2(const elem_t *q, const elem_t *b0, const elem_t *b1, \
                                          const elem_t *b2, const elem_t *b3, size_t dim,      \
                                          float out[4])                                        \
    {                                                                                          \
        simd_cos_x4_avx2(q, b0, b1, b2, b3, dim, out, FMT);                                    \
    }

SIMD_AVX2_FLOAT_KERNELS(f32, float, SIMD_FMT_F32)
SIMD_AVX2_FLOAT_KERNELS(f16, uint16_t, SIMD_FMT_F16)
SIMD_AVX2_FLOAT_KERNELS(bf16, uint16_t, SIMD_FMT_BF16)

/* ----------------------------------------------------------------- int8 */

/* Sixteen int8 at p (or the first n, zero-padded), sign-extended. */
SIMD_INLINE __m256i simd_load16_i8(const int8_t *p)
{
    return _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p));
}

SIMD_INLINE __m256i simd_load_tail_i8(const int8_t *p, size_t n)
{
    int8_t buf[16] = {0};
    memcpy(buf, p, n);
    return simd_load16_i8(buf);
}

SIMD_INLINE __m256i simd_i8_term(__m256i x, __m256i y, int l2)
{
    if (l2) {
        __m256i d = _mm256_sub_epi16(x, y);
        return _mm256_madd_epi16(d, d);
    }
    return _mm256_madd_epi16(x, y);
}

SIMD_INLINE int32_t simd_hsum256_epi32(__m256i v)
{
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(x);
}

SIMD_INLINE int32_t simd_i8_avx2(const int8_t *a, const int8_t *b, size_t dim, int l2)
{
    __m256i s0 = _mm256_setzero_si256(), s1 = s0;
    size_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        s0 = _mm256_add_epi32(s0, simd_i8_term(simd_load16_i8(a + i), simd_load16_i8(b + i), l2));
        s1 = _mm256_add_epi32(
            s1, simd_i8_term(simd_load16_i8(a + i + 16), simd_load16_i8(b + i + 16), l2));
    }
    if (i + 16 <= dim) {
        s0 = _mm256_add_epi32(s0, simd_i8_term(simd_load16_i8(a + i), simd_load16_i8(b + i), l2));
        i += 16;
    }
    if (i < dim)
        s1 = _mm256_add_epi32(s1, simd_i8_term(simd_load_tail_i8(a + i, dim - i),
                                               simd_load_tail_i8(b + i, dim - i), l2));
    return simd_hsum256_epi32(_mm256_add_epi32(s0, s1));
}

SIMD_INLINE void simd_i8_x4_avx2(const int8_t *q, const int8_t *b0, const int8_t *b1,
                                 const int8_t *b2, const int8_t *b3, size_t dim, int32_t out[4],
                                 int l2)
{
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < dim; i += 16) {
        __m256i xq, x0, x1, x2, x3;
        if (i + 16 <= dim) {
            xq = simd_load16_i8(q + i);
            x0 = simd_load16_i8(b0 + i);
            x1 = simd_load16_i8(b1 + i);
            x2 = simd_load16_i8(b2 + i);
            x3 = simd_load16_i8(b3 + i);
        } else {
            xq = simd_load_tail_i8(q + i, dim - i);
            x0 = simd_load_tail_i8(b0 + i, dim - i);
            x1 = simd_load_tail_i8(b1 + i, dim - i);
            x2 = simd_load_tail_i8(b2 + i, dim - i);
            x3 = simd_load_tail_i8(b3 + i, dim - i);
        }
        s0 = _mm256_add_epi32(s0, simd_i8_term(xq, x0, l2));
        s1 = _mm256_add_epi32(s1, simd_i8_term(xq, x1, l2));
        s2 = _mm256_add_epi32(s2, simd_i8_term(xq, x2, l2));
        s3 = _mm256_add_epi32(s3, simd_i8_term(xq, x3, l2));
    }
    /* Reduce the four together: hadd twice, then fold the halves. */
    __m256i t = _mm256_hadd_epi32(_mm256_hadd_epi32(s0, s1), _mm256_hadd_epi32(s2, s3));
    __m128i r = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    _mm_storeu_si128((__m128i *)out, r);
}

static int32_t simd_l2sq_i8_avx2(const int8_t *a, const int8_t *b, size_t dim)
{
    return simd_i8_avx2(a, b, dim, 1);
}

static int32_t simd_dot_i8_avx2(const int8_t *a, const int8_t *b, size_t dim)
{
    return simd_i8_avx2(a, b, dim, 0);
}

static void simd_l2sq_i8_x4_avx2(const int8_t *q, const int8_t *b0, const int8_t *b1,
                                 const int8_t *b2, const int8_t *b3, size_t dim, int32_t out[4])
{
    simd_i8_x4_avx2(q, b0, b1, b2, b3, dim, out, 1);
}

static void simd_dot_i8_x4_avx2(const int8_t *q, const int8_t *b0, const int8_t *b1,
                                const int8_t *b2, const int8_t *b3, size_t dim, int32_t out[4])
{
    simd_i8_x4_avx2(q, b0, b1, b2, b3, dim, out, 0);
}

/* int8 cosine: a.b, |a|^2 and |b|^2 in one pass. */
static float simd_cos_i8_avx2(const int8_t *a, const int8_t *b, size_t dim)
{
    __m256i ab = _mm256_setzero_si256(), aa = ab, bb = ab;
    for (size_t i = 0; i < dim; i += 16) {
        __m256i x, y;
        if (i + 16 <= dim) {
            x = simd_load16_i8(a + i);
            y = simd_load16_i8(b + i);
        } else {
            x = simd_load_tail_i8(a + i, dim - i);
            y = simd_load_tail_i8(b + i, dim - i);
        }
        ab = _mm256_add_epi32(ab, _mm256_madd_epi16(x, y));
        aa = _mm256_add_epi32(aa, _mm256_madd_epi16(x, x));
        bb = _mm256_add_epi32(bb, _mm256_madd_epi16(y, y));
    }
    return simd_cos_finish_i32(simd_hsum256_epi32(ab), simd_hsum256_epi32(aa),
                               simd_hsum256_epi32(bb));
}

static void simd_cos_i8_x4_avx2(const int8_t *q, const int8_t *b0, const int8_t *b1,
                                const int8_t *b2, const int8_t *b3, size_t dim, float out[4])
{
    __m256i d0 = _mm256_setzero_si256(), d1 = d0, d2 = d0, d3 = d0;
    __m256i n0 = d0, n1 = d0, n2 = d0, n3 = d0, nq = d0;
    for (size_t i = 0; i < dim; i += 16) {
        __m256i xq, x0, x1, x2, x3;
        if (i + 16 <= dim) {
            xq = simd_load16_i8(q + i);
            x0 = simd_load16_i8(b0 + i);
            x1 = simd_load16_i8(b1 + i);
            x2 = simd_load16_i8(b2 + i);
            x3 = simd_load16_i8(b3 + i);
        } else {
            xq = simd_load_tail_i8(q + i, dim - i);
            x0 = simd_load_tail_i8(b0 + i, dim - i);
            x1 = simd_load_tail_i8(b1 + i, dim - i);
            x2 = simd_load_tail_i8(b2 + i, dim - i);
            x3 = simd_load_tail_i8(b3 + i, dim - i);
        }
        nq = _mm256_add_epi32(nq, _mm256_madd_epi16(xq, xq));
        d0 = _mm256_add_epi32(d0, _mm256_madd_epi16(xq, x0));
        n0 = _mm256_add_epi32(n0, _mm256_madd_epi16(x0, x0));
        d1 = _mm256_add_epi32(d1, _mm256_madd_epi16(xq, x1));
        n1 = _mm256_add_epi32(n1, _mm256_madd_epi16(x1, x1));
        d2 = _mm256_add_epi32(d2, _mm256_madd_epi16(xq, x2));
        n2 = _mm256_add_epi32(n2, _mm256_madd_epi16(x2, x2));
        d3 = _mm256_add_epi32(d3, _mm256_madd_epi16(xq, x3));
        n3 = _mm256_add_epi32(n3, _mm256_madd_epi16(x3, x3));
    }
    int32_t dot[4], nb[4];
    __m256i t = _mm256_hadd_epi32(_mm256_hadd_epi32(d0, d1), _mm256_hadd_epi32(d2, d3));
    _mm_storeu_si128((__m128i *)dot, _mm_add_epi32(_mm256_castsi256_si128(t),
                                                   _mm256_extracti128_si256(t, 1)));
    t = _mm256_hadd_epi32(_mm256_hadd_epi32(n0, n1), _mm256_hadd_epi32(n2, n3));
    _mm_storeu_si128((__m128i *)nb, _mm_add_epi32(_mm256_castsi256_si128(t),
                                                  _mm256_extracti128_si256(t, 1)));
    int32_t na = simd_hsum256_epi32(nq);
    for (int j = 0; j < 4; j++)
        out[j] = simd_cos_finish_i32(dot[j], na, nb[j]);
}

/* --------------------------------------------------------------- binary */

#define SIMD_POPCNT __attribute__((target("popcnt")))

/* Per-64-bit-lane bit counts of v (nibble lookup, then vpsadbw). */
SIMD_INLINE __m256i simd_popcount256(__m256i v)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2,
                                         1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256i lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(v, low));
    __m256i hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), low));
    return _mm256_sad_epu8(_mm256_add_epi8(lo, hi), _mm256_setzero_si256());
}

SIMD_INLINE uint32_t simd_hsum256_epi64(__m256i v)
{
    __m128i x = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_add_epi64(x, _mm_unpackhi_epi64(x, x));
    return (uint32_t)_mm_cvtsi128_si64(x);
}

SIMD_INLINE __m256i simd_load32(const uint8_t *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

SIMD_INLINE uint64_t simd_load_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The last 1..7 bytes at p as a zero-padded word. */
SIMD_INLINE uint64_t simd_load_tail_u64(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    memcpy(&v, p, n);
    return v;
}

SIMD_POPCNT static uint32_t simd_hamming_avx2(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
    __m256i s0 = _mm256_setzero_si256(), s1 = s0;
    size_t i = 0;
    for (; i + 64 <= nbytes; i += 64) {
        s0 = _mm256_add_epi64(
            s0, simd_popcount256(_mm256_xor_si256(simd_load32(a + i), simd_load32(b + i))));
        s1 = _mm256_add_epi64(s1, simd_popcount256(_mm256_xor_si256(simd_load32(a + i + 32),
                                                                    simd_load32(b + i + 32))));
    }
    if (i + 32 <= nbytes) {
        s0 = _mm256_add_epi64(
            s0, simd_popcount256(_mm256_xor_si256(simd_load32(a + i), simd_load32(b + i))));
        i += 32;
    }
    uint32_t n = simd_hsum256_epi64(_mm256_add_epi64(s0, s1));
    for (; i + 8 <= nbytes; i += 8)
        n += (uint32_t)__builtin_popcountll(simd_load_u64(a + i) ^ simd_load_u64(b + i));
    if (i < nbytes)
        n += (uint32_t)__builtin_popcountll(simd_load_tail_u64(a + i, nbytes - i) ^
                                            simd_load_tail_u64(b + i, nbytes - i));
    return n;
}

SIMD_POPCNT static void simd_hamming_x4_avx2(const uint8_t *q, const uint8_t *b0, const uint8_t *b1,
                                             const uint8_t *b2, const uint8_t *b3, size_t nbytes,
                                             uint32_t out[4])
{
    __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 32 <= nbytes; i += 32) {
        __m256i x = simd_load32(q + i);
        s0 = _mm256_add_epi64(s0, simd_popcount256(_mm256_xor_si256(x, simd_load32(b0 + i))));
        s1 = _mm256_add_epi64(s1, simd_popcount256(_mm256_xor_si256(x, simd_load32(b1 + i))));
        s2 = _mm256_add_epi64(s2, simd_popcount256(_mm256_xor_si256(x, simd_load32(b2 + i))));
        s3 = _mm256_add_epi64(s3, simd_popcount256(_mm256_xor_si256(x, simd_load32(b3 + i))));
    }
    uint32_t n0 = simd_hsum256_epi64(s0), n1 = simd_hsum256_epi64(s1);
    uint32_t n2 = simd_hsum256_epi64(s2), n3 = simd_hsum256_epi64(s3);
    for (; i < nbytes; i += 8) {
        uint64_t x, y0, y1, y2, y3;
        if (i + 8 <= nbytes) {
            x = simd_load_u64(q + i);
            y0 = simd_load_u64(b0 + i);
            y1 = simd_load_u64(b1 + i);
            y2 = simd_load_u64(b2 + i);
            y3 = simd_load_u64(b3 + i);
        } else {
            size_t r = nbytes - i;
            x = simd_load_tail_u64(q + i, r);
            y0 = simd_load_tail_u64(b0 + i, r);
            y1 = simd_load_tail_u64(b1 + i, r);
            y2 = simd_load_tail_u64(b2 + i, r);
            y3 = simd_load_tail_u64(b3 + i, r);
        }
        n0 += (uint32_t)__builtin_popcountll(x ^ y0);
        n1 += (uint32_t)__builtin_popcountll(x ^ y1);
        n2 += (uint32_t)__builtin_popcountll(x ^ y2);
        n3 += (uint32_t)__builtin_popcountll(x ^ y3);
    }
    out[0] = n0;
    out[1] = n1;
    out[2] = n2;
    out[3] = n3;
}

SIMD_POPCNT static float simd_jaccard_avx2(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
    __m256i si = _mm256_setzero_si256(), su = si;
    size_t i = 0;
    for (; i + 32 <= nbytes; i += 32) {
        __m256i x = simd_load32(a + i), y = simd_load32(b + i);
        si = _mm256_add_epi64(si, simd_popcount256(_mm256_and_si256(x, y)));
        su = _mm256_add_epi64(su, simd_popcount256(_mm256_or_si256(x, y)));
    }
    uint32_t inter = simd_hsum256_epi64(si), uni = simd_hsum256_epi64(su);
    for (; i < nbytes; i += 8) {
        uint64_t x, y;
        if (i + 8 <= nbytes) {
            x = simd_load_u64(a + i);
            y = simd_load_u64(b + i);
        } else {
            x = simd_load_tail_u64(a + i, nbytes - i);
            y = simd_load_tail_u64(b + i, nbytes - i);
        }
        inter += (uint32_t)__builtin_popcountll(x & y);
        uni += (uint32_t)__builtin_popcountll(x | y);
    }
    return simd_jaccard_finish(inter, uni);
}

/* Four exact unsigned 32-bit counts as doubles: AVX2 converts only signed
 * int32, so flip the top bit (x - 2^31 as a signed value) and add 2^31 back,
 * both steps exact. */
SIMD_INLINE __m256d simd_cvtepu32_pd(__m128i x)
{
    __m256d v = _mm256_cvtepi32_pd(_mm_xor_si128(x, _mm_set1_epi32(INT32_MIN)));
    return _mm256_add_pd(v, _mm256_set1_pd(2147483648.0));
}

/* Four Jaccard distances from four intersection and four union counts, in
 * one vector pass: the same IEEE operations as simd_jaccard_finish (exact
 * conversions, one correctly rounded division and subtraction in double, a
 * round-to-nearest narrowing), so the results are bit-identical to it; the
 * lanes whose union is empty (0 / 0) are replaced by 0, as there. */
SIMD_INLINE void simd_jaccard_finish_x4(__m128i inter, __m128i uni, float out[4])
{
    __m256d q = _mm256_div_pd(simd_cvtepu32_pd(inter), simd_cvtepu32_pd(uni));
    __m128 d = _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_set1_pd(1.0), q));
    __m128i empty = _mm_cmpeq_epi32(uni, _mm_setzero_si128());
    _mm_storeu_ps(out, _mm_andnot_ps(_mm_castsi128_ps(empty), d));
}

/* The sums of four vectors of 64-bit counts, as four 32-bit lanes. Every
 * 64-bit lane is below 2^32 (a row would need 512 MiB to pass it), so its
 * upper half is zero and summing 32-bit halves gives the same totals. */
SIMD_INLINE __m128i simd_hsum256_epi64_x4(__m256i a, __m256i b, __m256i c, __m256i d)
{
    __m256i t = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
    return _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
}

/* Jaccard of q against four rows: each 32-byte query block is loaded once
 * and ANDed and ORed with the four row blocks, eight popcount chains in all
 * (eight accumulators plus the query, the lookup table and the nibble mask
 * fill the sixteen YMM registers without spilling). The last 1..31 bytes go
 * through POPCNT a word at a time, as in the single kernel. */
SIMD_POPCNT static void simd_jaccard_x4_avx2(const uint8_t *q, const uint8_t *b0,
                                             const uint8_t *b1, const uint8_t *b2,
                                             const uint8_t *b3, size_t nbytes, float out[4])
{
    __m256i i0 = _mm256_setzero_si256(), i1 = i0, i2 = i0, i3 = i0;
    __m256i u0 = i0, u1 = i0, u2 = i0, u3 = i0;
    size_t i = 0;
    for (; i + 32 <= nbytes; i += 32) {
        __m256i x = simd_load32(q + i), y;
#define SIMD_JAC_X4_STEP(row, si, su)                                                          \
    y = simd_load32((row) + i);                                                                \
    si = _mm256_add_epi64(si, simd_popcount256(_mm256_and_si256(x, y)));                       \
    su = _mm256_add_epi64(su, simd_popcount256(_mm256_or_si256(x, y)))
        SIMD_JAC_X4_STEP(b0, i0, u0);
        SIMD_JAC_X4_STEP(b1, i1, u1);
        SIMD_JAC_X4_STEP(b2, i2, u2);
        SIMD_JAC_X4_STEP(b3, i3, u3);
#undef SIMD_JAC_X4_STEP
    }
    uint32_t inter[4], uni[4];
    _mm_storeu_si128((__m128i *)inter, simd_hsum256_epi64_x4(i0, i1, i2, i3));
    _mm_storeu_si128((__m128i *)uni, simd_hsum256_epi64_x4(u0, u1, u2, u3));
    const uint8_t *row[4] = {b0, b1, b2, b3};
    for (; i < nbytes; i += 8) {
        size_t r = nbytes - i < 8 ? nbytes - i : 8;
        uint64_t x = r == 8 ? simd_load_u64(q + i) : simd_load_tail_u64(q + i, r);
        for (int j = 0; j < 4; j++) {
            uint64_t y = r == 8 ? simd_load_u64(row[j] + i) : simd_load_tail_u64(row[j] + i, r);
            inter[j] += (uint32_t)__builtin_popcountll(x & y);
            uni[j] += (uint32_t)__builtin_popcountll(x | y);
        }
    }
    simd_jaccard_finish_x4(_mm_loadu_si128((const __m128i *)inter),
                           _mm_loadu_si128((const __m128i *)uni), out);
}

/* ---------------------------------------------------------------- table */

const simd_kernels simd_kernels_avx2 = {
    .level = SIMD_AVX2,
    .l2sq_f32 = simd_l2sq_f32_avx2,
    .dot_f32 = simd_dot_f32_avx2,
    .cos_f32 = simd_cos_f32_avx2,
    .l2sq_f32_x4 = simd_l2sq_f32_x4_avx2,
    .dot_f32_x4 = simd_dot_f32_x4_avx2,
    .cos_f32_x4 = simd_cos_f32_x4_avx2,
    .l2sq_f16 = simd_l2sq_f16_avx2,
    .dot_f16 = simd_dot_f16_avx2,
    .cos_f16 = simd_cos_f16_avx2,
    .l2sq_f16_x4 = simd_l2sq_f16_x4_avx2,
    .dot_f16_x4 = simd_dot_f16_x4_avx2,
    .cos_f16_x4 = simd_cos_f16_x4_avx2,
    .l2sq_bf16 = simd_l2sq_bf16_avx2,
    .dot_bf16 = simd_dot_bf16_avx2,
    .cos_bf16 = simd_cos_bf16_avx2,
    .l2sq_bf16_x4 = simd_l2sq_bf16_x4_avx2,
    .dot_bf16_x4 = simd_dot_bf16_x4_avx2,
    .cos_bf16_x4 = simd_cos_bf16_x4_avx2,
    .l2sq_i8 = simd_l2sq_i8_avx2,
    .dot_i8 = simd_dot_i8_avx2,
    .l2sq_i8_x4 = simd_l2sq_i8_x4_avx2,
    .dot_i8_x4 = simd_dot_i8_x4_avx2,
    .hamming = simd_hamming_avx2,
    .hamming_x4 = simd_hamming_x4_avx2,
    .jaccard = simd_jaccard_avx2,
    .cos_i8 = simd_cos_i8_avx2,
    .cos_i8_x4 = simd_cos_i8_x4_avx2,
    .jaccard_x4 = simd_jaccard_x4_avx2,
};
