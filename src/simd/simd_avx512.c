/*
 * simd_avx512.c -- distance kernels for x86-64 with AVX-512 F/BW/DQ/VL.
 *
 * Compiled with the AVX-512 flags of the Makefile; simd.c selects this
 * table only when cpuid reports F, BW, DQ and VL (plus everything the AVX2
 * level needs) and XGETBV says the OS saves opmask and ZMM state.
 *
 * Float kernels (f32, f16 via vcvtph2ps, bf16 via a 16-bit shift):
 *   - single: four independent 16-lane FMA accumulators (64 elements per
 *     iteration), then up to four 16-element steps on separate accumulators
 *     whose last one is a masked load (vmovups/vmovdqu16 with a k mask:
 *     masked-off lanes read as zero and never fault), so there is no scalar
 *     tail and no read past the end.
 *   - cosine: dot, |a|^2 and |b|^2 in one pass, 4 x 3 chains.
 *   - _x4: the query block is loaded once per step for four vectors, two
 *     accumulators per vector (cos: two per sum, 18 chains; the 32 ZMM
 *     registers hold them). The four sums are reduced together.
 *
 * int8 (exact):
 *   - AVX-512BW: 32 bytes at a time sign-extended to int16 (vpmovsxbw) and
 *     multiplied/pair-added to int32 (vpmaddwd); l2sq squares the int16
 *     difference.
 *   - With AVX-512 VNNI (own cpuid bit, simd.c patches these in; the
 *     functions carry target("avx512vnni") since the file is compiled
 *     without it): dot uses vpdpbusd, which multiplies UNSIGNED by signed
 *     bytes, through the identity a.b = (a + 128).b - 128 * sum(b), where
 *     a + 128 is a XOR 0x80 read as unsigned and sum(b) is one more vpdpbusd
 *     against a vector of ones: 64 bytes per instruction and no widening.
 *     Each int32 lane gains at most 4 * 255 * 128 per step, far from
 *     overflow for the dims simd.h allows, and the final difference is done
 *     in 64 bits. l2sq uses vpdpwssd on the int16 difference (a - b does not
 *     fit a byte).
 *
 * Binary: with AVX-512 VPOPCNTDQ (own cpuid bit; simd.c otherwise keeps the
 * AVX2 vpshufb kernels in this table), vpopcntq on 64 bytes per step with a
 * masked load for the tail. These functions carry target("avx512vpopcntdq")
 * so that they stay correct even if the Makefile stops passing
 * -mavx512vpopcntdq for the whole file (which it should: nothing else here
 * may use it, and a CPU with AVX-512 but no VPOPCNTDQ must never run it).
 *
 * Rejected: vdpbf16ps for bf16 dot/cos (flushes subnormals and rounds
 * differently from the reference, and bf16 columns are rare; the widening
 * shift costs one uop); 512-bit kernels for tiny dims only (the masked tail
 * already makes dim < 16 a single step).
 *
 * Threading: pure functions.
 */
#include <immintrin.h>

#include "simd/simd_internal.h"

#define SIMD_INLINE static inline __attribute__((always_inline))

enum { SIMD_FMT_F32, SIMD_FMT_F16, SIMD_FMT_BF16 };

/* ------------------------------------------------------------- helpers */

/* Mask of the first n (0..16) lanes. */
SIMD_INLINE __mmask16 simd_mask16(size_t n)
{
    return (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
}

SIMD_INLINE __mmask32 simd_mask32(size_t n)
{
    return (__mmask32)(n >= 32 ? 0xffffffffu : (1u << n) - 1u);
}

SIMD_INLINE __mmask64 simd_mask64(size_t n)
{
    return (__mmask64)(n >= 64 ? ~0ull : (1ull << n) - 1ull);
}

SIMD_INLINE __m256 simd_fold512(__m512 v)
{
    return _mm256_add_ps(_mm512_castps512_ps256(v),
                         _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

SIMD_INLINE float simd_hsum512(__m512 v)
{
    __m256 y = simd_fold512(v);
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(y), _mm256_extractf128_ps(y, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

/* The horizontal sums of four vectors, as one 4-lane vector. */
SIMD_INLINE __m128 simd_hsum512_x4(__m512 a, __m512 b, __m512 c, __m512 d)
{
    __m256 ab = _mm256_hadd_ps(simd_fold512(a), simd_fold512(b));
    __m256 cd = _mm256_hadd_ps(simd_fold512(c), simd_fold512(d));
    __m256 t = _mm256_hadd_ps(ab, cd);
    return _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
}

SIMD_INLINE size_t simd_esize(int fmt)
{
    return fmt == SIMD_FMT_F32 ? sizeof(float) : sizeof(uint16_t);
}

SIMD_INLINE const void *simd_at(const void *p, size_t i, int fmt)
{
    return (const char *)p + i * simd_esize(fmt);
}

/* Sixteen elements of format fmt at p, widened to f32. */
SIMD_INLINE __m512 simd_load16(const void *p, int fmt)
{
    if (fmt == SIMD_FMT_F32)
        return _mm512_loadu_ps(p);
    __m256i h = _mm256_loadu_si256((const __m256i *)p);
    if (fmt == SIMD_FMT_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* The lanes of m at p (zeros elsewhere), widened to f32. */
SIMD_INLINE __m512 simd_load16_mask(const void *p, __mmask16 m, int fmt)
{
    if (fmt == SIMD_FMT_F32)
        return _mm512_maskz_loadu_ps(m, p);
    __m256i h = _mm256_maskz_loadu_epi16(m, p);
    if (fmt == SIMD_FMT_F16)
        return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* --------------------------------------------------- float, single pair */

SIMD_INLINE float simd_l2sq_avx512(const void *a, const void *b, size_t dim, int fmt)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 64 <= dim; i += 64) {
        __m512 d0 = _mm512_sub_ps(simd_load16(simd_at(a, i, fmt), fmt),
                                  simd_load16(simd_at(b, i, fmt), fmt));
        __m512 d1 = _mm512_sub_ps(simd_load16(simd_at(a, i + 16, fmt), fmt),
                                  simd_load16(simd_at(b, i + 16, fmt), fmt));
        __m512 d2 = _mm512_sub_ps(simd_load16(simd_at(a, i + 32, fmt), fmt),
                                  simd_load16(simd_at(b, i + 32, fmt), fmt));
        __m512 d3 = _mm512_sub_ps(simd_load16(simd_at(a, i + 48, fmt), fmt),
                                  simd_load16(simd_at(b, i + 48, fmt), fmt));
        s0 = _mm512_fmadd_ps(d0, d0, s0);
        s1 = _mm512_fmadd_ps(d1, d1, s1);
        s2 = _mm512_fmadd_ps(d2, d2, s2);
        s3 = _mm512_fmadd_ps(d3, d3, s3);
    }
    /* The last 1..63 elements: up to four 16-lane steps, the last one
     * masked, each on its own accumulator so they do not wait on each
     * other. */
#define SIMD_L2_STEP(k, acc)                                                                   \
    do {                                                                                       \
        __mmask16 m = simd_mask16(dim - i - 16 * (k));                                         \
        __m512 d = _mm512_sub_ps(simd_load16_mask(simd_at(a, i + 16 * (k), fmt), m, fmt),      \
                                 simd_load16_mask(simd_at(b, i + 16 * (k), fmt), m, fmt));     \
        acc = _mm512_fmadd_ps(d, d, acc);                                                      \
    } while (0)
    if (i < dim) {
        SIMD_L2_STEP(0, s0);
        if (i + 16 < dim)
            SIMD_L2_STEP(1, s1);
        if (i + 32 < dim)
            SIMD_L2_STEP(2, s2);
        if (i + 48 < dim)
            SIMD_L2_STEP(3, s3);
    }
#undef SIMD_L2_STEP
    return simd_hsum512(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

SIMD_INLINE float simd_dot_avx512(const void *a, const void *b, size_t dim, int fmt)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 64 <= dim; i += 64) {
        s0 = _mm512_fmadd_ps(simd_load16(simd_at(a, i, fmt), fmt),
                             simd_load16(simd_at(b, i, fmt), fmt), s0);
        s1 = _mm512_fmadd_ps(simd_load16(simd_at(a, i + 16, fmt), fmt),
                             simd_load16(simd_at(b, i + 16, fmt), fmt), s1);
        s2 = _mm512_fmadd_ps(simd_load16(simd_at(a, i + 32, fmt), fmt),
                             simd_load16(simd_at(b, i + 32, fmt), fmt), s2);
        s3 = _mm512_fmadd_ps(simd_load16(simd_at(a, i + 48, fmt), fmt),
                             simd_load16(simd_at(b, i + 48, fmt), fmt), s3);
    }
#define SIMD_DOT_STEP(k, acc)                                                                  \
    do {                                                                                       \
        __mmask16 m = simd_mask16(dim - i - 16 * (k));                                         \
        acc = _mm512_fmadd_ps(simd_load16_mask(simd_at(a, i + 16 * (k), fmt), m, fmt),         \
                              simd_load16_mask(simd_at(b, i + 16 * (k), fmt), m, fmt), acc);   \
    } while (0)
    if (i < dim) {
        SIMD_DOT_STEP(0, s0);
        if (i + 16 < dim)
            SIMD_DOT_STEP(1, s1);
        if (i + 32 < dim)
            SIMD_DOT_STEP(2, s2);
        if (i + 48 < dim)
            SIMD_DOT_STEP(3, s3);
    }
#undef SIMD_DOT_STEP
    return simd_hsum512(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

SIMD_INLINE float simd_cos_avx512(const void *a, const void *b, size_t dim, int fmt)
{
    __m512 ab0 = _mm512_setzero_ps(), ab1 = ab0, ab2 = ab0, ab3 = ab0;
    __m512 aa0 = ab0, aa1 = ab0, aa2 = ab0, aa3 = ab0;
    __m512 bb0 = ab0, bb1 = ab0, bb2 = ab0, bb3 = ab0;
    size_t i = 0;
    for (; i + 64 <= dim; i += 64) {
        __m512 x0 = simd_load16(simd_at(a, i, fmt), fmt);
        __m512 y0 = simd_load16(simd_at(b, i, fmt), fmt);
        __m512 x1 = simd_load16(simd_at(a, i + 16, fmt), fmt);
        __m512 y1 = simd_load16(simd_at(b, i + 16, fmt), fmt);
        __m512 x2 = simd_load16(simd_at(a, i + 32, fmt), fmt);
        __m512 y2 = simd_load16(simd_at(b, i + 32, fmt), fmt);
        __m512 x3 = simd_load16(simd_at(a, i + 48, fmt), fmt);
        __m512 y3 = simd_load16(simd_at(b, i + 48, fmt), fmt);
        ab0 = _mm512_fmadd_ps(x0, y0, ab0);
        aa0 = _mm512_fmadd_ps(x0, x0, aa0);
        bb0 = _mm512_fmadd_ps(y0, y0, bb0);
        ab1 = _mm512_fmadd_ps(x1, y1, ab1);
        aa1 = _mm512_fmadd_ps(x1, x1, aa1);
        bb1 = _mm512_fmadd_ps(y1, y1, bb1);
        ab2 = _mm512_fmadd_ps(x2, y2, ab2);
        aa2 = _mm512_fmadd_ps(x2, x2, aa2);
        bb2 = _mm512_fmadd_ps(y2, y2, bb2);
        ab3 = _mm512_fmadd_ps(x3, y3, ab3);
        aa3 = _mm512_fmadd_ps(x3, x3, aa3);
        bb3 = _mm512_fmadd_ps(y3, y3, bb3);
    }
    for (; i < dim; i += 16) {
        __mmask16 m = simd_mask16(dim - i);
        __m512 x = simd_load16_mask(simd_at(a, i, fmt), m, fmt);
        __m512 y = simd_load16_mask(simd_at(b, i, fmt), m, fmt);
        ab0 = _mm512_fmadd_ps(x, y, ab0);
        aa0 = _mm512_fmadd_ps(x, x, aa0);
        bb0 = _mm512_fmadd_ps(y, y, bb0);
    }
    ab0 = _mm512_add_ps(_mm512_add_ps(ab0, ab1), _mm512_add_ps(ab2, ab3));
    aa0 = _mm512_add_ps(_mm512_add_ps(aa0, aa1), _mm512_add_ps(aa2, aa3));
    bb0 = _mm512_add_ps(_mm512_add_ps(bb0, bb1), _mm512_add_ps(bb2, bb3));
    float r[4];
    _mm_storeu_ps(r, simd_hsum512_x4(ab0, aa0, bb0, _mm512_setzero_ps()));
    return simd_cos_finish(r[0], r[1], r[2]);
}

/* ------------------------------------------------ float, query against 4 */

/* Loads the 16-element block at `at` of q and the four vectors. */
#define SIMD_X4_LOAD16(at)                                                                     \
    do {                                                                                       \
        xq = simd_load16(simd_at(q, at, fmt), fmt);                                            \
        x0 = simd_load16(simd_at(b0, at, fmt), fmt);                                           \
        x1 = simd_load16(simd_at(b1, at, fmt), fmt);                                           \
        x2 = simd_load16(simd_at(b2, at, fmt), fmt);                                           \
        x3 = simd_load16(simd_at(b3, at, fmt), fmt);                                           \
    } while (0)

#define SIMD_X4_LOAD16_MASK(at, m)                                                             \
    do {                                                                                       \
        xq = simd_load16_mask(simd_at(q, at, fmt), m, fmt);                                    \
        x0 = simd_load16_mask(simd_at(b0, at, fmt), m, fmt);                                   \
        x1 = simd_load16_mask(simd_at(b1, at, fmt), m, fmt);                                   \
        x2 = simd_load16_mask(simd_at(b2, at, fmt), m, fmt);                                   \
        x3 = simd_load16_mask(simd_at(b3, at, fmt), m, fmt);                                   \
    } while (0)

SIMD_INLINE void simd_l2sq_x4_avx512(const void *q, const void *b0, const void *b1, const void *b2,
                                     const void *b3, size_t dim, float out[4], int fmt)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    __m512 t0 = s0, t1 = s0, t2 = s0, t3 = s0;
    __m512 xq, x0, x1, x2, x3;
    size_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        SIMD_X4_LOAD16(i);
        x0 = _mm512_sub_ps(x0, xq);
        x1 = _mm512_sub_ps(x1, xq);
        x2 = _mm512_sub_ps(x2, xq);
        x3 = _mm512_sub_ps(x3, xq);
        s0 = _mm512_fmadd_ps(x0, x0, s0);
        s1 = _mm512_fmadd_ps(x1, x1, s1);
        s2 = _mm512_fmadd_ps(x2, x2, s2);
        s3 = _mm512_fmadd_ps(x3, x3, s3);
        SIMD_X4_LOAD16(i + 16);
        x0 = _mm512_sub_ps(x0, xq);
        x1 = _mm512_sub_ps(x1, xq);
        x2 = _mm512_sub_ps(x2, xq);
        x3 = _mm512_sub_ps(x3, xq);
        t0 = _mm512_fmadd_ps(x0, x0, t0);
        t1 = _mm512_fmadd_ps(x1, x1, t1);
        t2 = _mm512_fmadd_ps(x2, x2, t2);
        t3 = _mm512_fmadd_ps(x3, x3, t3);
    }
    for (; i < dim; i += 16) {
        __mmask16 m = simd_mask16(dim - i);
        SIMD_X4_LOAD16_MASK(i, m);
        x0 = _mm512_sub_ps(x0, xq);
        x1 = _mm512_sub_ps(x1, xq);
        x2 = _mm512_sub_ps(x2, xq);
        x3 = _mm512_sub_ps(x3, xq);
        s0 = _mm512_fmadd_ps(x0, x0, s0);
        s1 = _mm512_fmadd_ps(x1, x1, s1);
        s2 = _mm512_fmadd_ps(x2, x2, s2);
        s3 = _mm512_fmadd_ps(x3, x3, s3);
    }
    _mm_storeu_ps(out, simd_hsum512_x4(_mm512_add_ps(s0, t0), _mm512_add_ps(s1, t1),
                                       _mm512_add_ps(s2, t2), _mm512_add_ps(s3, t3)));
}

SIMD_INLINE void simd_dot_x4_avx512(const void *q, const void *b0, const void *b1, const void *b2,
                                    const void *b3, size_t dim, float out[4], int fmt)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    __m512 t0 = s0, t1 = s0, t2 = s0, t3 = s0;
    __m512 xq, x0, x1, x2, x3;
    size_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        SIMD_X4_LOAD16(i);
        s0 = _mm512_fmadd_ps(xq, x0, s0);
        s1 = _mm512_fmadd_ps(xq, x1, s1);
        s2 = _mm512_fmadd_ps(xq, x2, s2);
        s3 = _mm512_fmadd_ps(xq, x3, s3);
        SIMD_X4_LOAD16(i + 16);
        t0 = _mm512_fmadd_ps(xq, x0, t0);
        t1 = _mm512_fmadd_ps(xq, x1, t1);
        t2 = _mm512_fmadd_ps(xq, x2, t2);
        t3 = _mm512_fmadd_ps(xq, x3, t3);
    }
    for (; i < dim; i += 16) {
        __mmask16 m = simd_mask16(dim - i);
        SIMD_X4_LOAD16_MASK(i, m);
        s0 = _mm512_fmadd_ps(xq, x0, s0);
        s1 = _mm512_fmadd_ps(xq, x1, s1);
        s2 = _mm512_fmadd_ps(xq, x2, s2);
        s3 = _mm512_fmadd_ps(xq, x3, s3);
    }
    _mm_storeu_ps(out, simd_hsum512_x4(_mm512_add_ps(s0, t0), _mm512_add_ps(s1, t1),
                                       _mm512_add_ps(s2, t2), _mm512_add_ps(s3, t3)));
}

SIMD_INLINE void simd_cos_x4_avx512(const void *q, const void *b0, const void *b1, const void *b2,
                                    const void *b3, size_t dim, float out[4], int fmt)
{
    __m512 d0 = _mm512_setzero_ps(), d1 = d0, d2 = d0, d3 = d0;
    __m512 n0 = d0, n1 = d0, n2 = d0, n3 = d0, nq = d0;
    __m512 e0 = d0, e1 = d0, e2 = d0, e3 = d0;
    __m512 m0 = d0, m1 = d0, m2 = d0, m3 = d0, mq = d0;
    __m512 xq, x0, x1, x2, x3;
    size_t i = 0;
    for (; i + 32 <= dim; i += 32) {
        SIMD_X4_LOAD16(i);
        nq = _mm512_fmadd_ps(xq, xq, nq);
        d0 = _mm512_fmadd_ps(xq, x0, d0);
        n0 = _mm512_fmadd_ps(x0, x0, n0);
        d1 = _mm512_fmadd_ps(xq, x1, d1);
        n1 = _mm512_fmadd_ps(x1, x1, n1);
        d2 = _mm512_fmadd_ps(xq, x2, d2);
        n2 = _mm512_fmadd_ps(x2, x2, n2);
        d3 = _mm512_fmadd_ps(xq, x3, d3);
        n3 = _mm512_fmadd_ps(x3, x3, n3);
        SIMD_X4_LOAD16(i + 16);
        mq = _mm512_fmadd_ps(xq, xq, mq);
        e0 = _mm512_fmadd_ps(xq, x0, e0);
        m0 = _mm512_fmadd_ps(x0, x0, m0);
        e1 = _mm512_fmadd_ps(xq, x1, e1);
        m1 = _mm512_fmadd_ps(x1, x1, m1);
        e2 = _mm512_fmadd_ps(xq, x2, e2);
        m2 = _mm512_fmadd_ps(x2, x2, m2);
        e3 = _mm512_fmadd_ps(xq, x3, e3);
        m3 = _mm512_fmadd_ps(x3, x3, m3);
    }
    for (; i < dim; i += 16) {
        __mmask16 m = simd_mask16(dim - i);
        SIMD_X4_LOAD16_MASK(i, m);
        nq = _mm512_fmadd_ps(xq, xq, nq);
        d0 = _mm512_fmadd_ps(xq, x0, d0);
        n0 = _mm512_fmadd_ps(x0, x0, n0);
        d1 = _mm512_fmadd_ps(xq, x1, d1);
        n1 = _mm512_fmadd_ps(x1, x1, n1);
        d2 = _mm512_fmadd_ps(xq, x2, d2);
        n2 = _mm512_fmadd_ps(x2, x2, n2);
        d3 = _mm512_fmadd_ps(xq, x3, d3);
        n3 = _mm512_fmadd_ps(x3, x3, n3);
    }
    float dot[4], nb[4];
    _mm_storeu_ps(dot, simd_hsum512_x4(_mm512_add_ps(d0, e0), _mm512_add_ps(d1, e1),
                                       _mm512_add_ps(d2, e2), _mm512_add_ps(d3, e3)));
    _mm_storeu_ps(nb, simd_hsum512_x4(_mm512_add_ps(n0, m0), _mm512_add_ps(n1, m1),
                                      _mm512_add_ps(n2, m2), _mm512_add_ps(n3, m3)));
    float na = simd_hsum512(_mm512_add_ps(nq, mq));
    for (int j = 0; j < 4; j++)
        out[j] = simd_cos_finish(dot[j], na, nb[j]);
}

#define SIMD_AVX512_FLOAT_KERNELS(name, elem_t, FMT)                                           \
    static float simd_l2sq_##name##_avx512(const elem_t *a, const elem_t *b, size_t dim)       \
    {                                                                                          \
        return simd_l2sq_avx512(a, b, dim, FMT);                                               \
    }                                                                                          \
    static float simd_dot_##name##_avx512(const elem_t *a, const elem_t *b, size_t dim)        \
    {                                                                                          \
        return simd_dot_avx512(a, b, dim, FMT);                                                \
    }                                                                                          \
    static float simd_cos_##name##_avx512(const elem_t *a, const elem_t *b, size_t dim)        \
    {                                                                                          \
        return simd_cos_avx512(a, b, dim, FMT);                                                \
    }                                                                                          \
    static void simd_l2sq_##name##_x4_avx512(const elem_t *q, const elem_t *b0,                \
                                             const elem_t *b1, const elem_t *b2,               \
                                             const elem_t *b3, size_t dim, float out[4])       \
    {                                                                                          \
        simd_l2sq_x4_avx512(q, b0, b1, b2, b3, dim, out, FMT);                                 \
    }                                                                                          \
    static void simd_dot_##name##_x4_avx512(const elem_t *q, const elem_t *b0,                 \
                                            const elem_t *b1, const elem_t *b2,                \
                                            const elem_t *b3, size_t dim, float out[4])        \
    {                                                                                          \
        simd_dot_x4_avx512(q, b0, b1, b2, b3, dim, out, FMT);                                  \
    }                                                                                          \
    static void simd_cos_##name##_x4_avx512(const elem_t *q, const elem_t *b0,                 \
                                            const elem_t *b1, const elem_t *b2,                \
                                            const elem_t *b3, size_t dim, float out[4])        \
    {                                                                                          \
        simd_cos_x4_avx512(q, b0, b1, b2, b3, dim, out, FMT);                                  \
    }

SIMD_AVX512_FLOAT_KERNELS(f32, float, SIMD_FMT_F32)
SIMD_AVX512_FLOAT_KERNELS(f16, uint16_t, SIMD_FMT_F16)
SIMD_AVX512_FLOAT_KERNELS(bf16, uint16_t, SIMD_FMT_BF16)

/* ------------------------------------------------------- int8, AVX-512BW */

SIMD_INLINE int32_t simd_hsum512_epi32(__m512i v)
{
    __m256i y = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(x);
}

/* The four horizontal sums of four int32 vectors. */
SIMD_INLINE __m128i simd_hsum512_epi32_x4(__m512i a, __m512i b, __m512i c, __m512i d)
{
#define SIMD_FOLD_EPI32(v)                                                                     \
    _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1))
    __m256i ab = _mm256_hadd_epi32(SIMD_FOLD_EPI32(a), SIMD_FOLD_EPI32(b));
    __m256i cd = _mm256_hadd_epi32(SIMD_FOLD_EPI32(c), SIMD_FOLD_EPI32(d));
#undef SIMD_FOLD_EPI32
    __m256i t = _mm256_hadd_epi32(ab, cd);
    return _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
}

/* 32 int8 at p (only the lanes of m, zeros elsewhere), sign-extended. */
SIMD_INLINE __m512i simd_load32_i8(const int8_t *p, __mmask32 m)
{
    return _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, p));
}

SIMD_INLINE __m512i simd_i8_term(__m512i x, __m512i y, int l2)
{
    if (l2) {
        __m512i d = _mm512_sub_epi16(x, y);
        return _mm512_madd_epi16(d, d);
    }
    return _mm512_madd_epi16(x, y);
}

SIMD_INLINE int32_t simd_i8_avx512(const int8_t *a, const int8_t *b, size_t dim, int l2)
{
    __m512i s0 = _mm512_setzero_si512(), s1 = s0;
    size_t i = 0;
    for (; i + 64 <= dim; i += 64) {
        s0 = _mm512_add_epi32(s0, simd_i8_term(simd_load32_i8(a + i, ~0u),
                                               simd_load32_i8(b + i, ~0u), l2));
        s1 = _mm512_add_epi32(s1, simd_i8_term(simd_load32_i8(a + i + 32, ~0u),
                                               simd_load32_i8(b + i + 32, ~0u), l2));
    }
    for (; i < dim; i += 32) {
        __mmask32 m = simd_mask32(dim - i);
        s0 = _mm512_add_epi32(s0, simd_i8_term(simd_load32_i8(a + i, m),
                                               simd_load32_i8(b + i, m), l2));
    }
    return simd_hsum512_epi32(_mm512_add_epi32(s0, s1));
}

SIMD_INLINE void simd_i8_x4_avx512(const int8_t *q, const int8_t *b0, const int8_t *b1,
                                   const int8_t *b2, const int8_t *b3, size_t dim, int32_t out[4],
                                   int l2)
{
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < dim; i += 32) {
        __mmask32 m = simd_mask32(dim - i);
        __m512i xq = simd_load32_i8(q + i, m);
        s0 = _mm512_add_epi32(s0, simd_i8_term(xq, simd_load32_i8(b0 + i, m), l2));
        s1 = _mm512_add_epi32(s1, simd_i8_term(xq, simd_load32_i8(b1 + i, m), l2));
        s2 = _mm512_add_epi32(s2, simd_i8_term(xq, simd_load32_i8(b2 + i, m), l2));
        s3 = _mm512_add_epi32(s3, simd_i8_term(xq, simd_load32_i8(b3 + i, m), l2));
    }
    _mm_storeu_si128((__m128i *)out, simd_hsum512_epi32_x4(s0, s1, s2, s3));
}

static int32_t simd_l2sq_i8_avx512(const int8_t *a, const int8_t *b, size_t dim)
{
    return simd_i8_avx512(a, b, dim, 1);
}

static int32_t simd_dot_i8_avx512(const int8_t *a, const int8_t *b, size_t dim)
{
    return simd_i8_avx512(a, b, dim, 0);
}

static void simd_l2sq_i8_x4_avx512(const int8_t *q, const int8_t *b0, const int8_t *b1,
                                   const int8_t *b2, const int8_t *b3, size_t dim, int32_t out[4])
{
    simd_i8_x4_avx512(q, b0, b1, b2, b3, dim, out, 1);
}

static void simd_dot_i8_x4_avx512(const int8_t *q, const int8_t *b0, const int8_t *b1,
                                  const int8_t *b2, const int8_t *b3, size_t dim, int32_t out[4])
{
    simd_i8_x4_avx512(q, b0, b1, b2, b3, dim, out, 0);
}

/* int8 cosine: a.b, |a|^2 and |b|^2 in one pass (AVX-512BW; VNNI would
 * only fuse the adds). */
static float simd_cos_i8_avx512(const int8_t *a, const int8_t *b, size_t dim)
{
    __m512i ab = _mm512_setzero_si512(), aa = ab, bb = ab;
    for (size_t i = 0; i < dim; i += 32) {
        __mmask32 m = simd_mask32(dim - i);
        __m512i x = simd_load32_i8(a + i, m), y = simd_load32_i8(b + i, m);
        ab = _mm512_add_epi32(ab, _mm512_madd_epi16(x, y));
        aa = _mm512_add_epi32(aa, _mm512_madd_epi16(x, x));
        bb = _mm512_add_epi32(bb, _mm512_madd_epi16(y, y));
    }
    return simd_cos_finish_i32(simd_hsum512_epi32(ab), simd_hsum512_epi32(aa),
                               simd_hsum512_epi32(bb));
}

static void simd_cos_i8_x4_avx512(const int8_t *q, const int8_t *b0, const int8_t *b1,
                                  const int8_t *b2, const int8_t *b3, size_t dim, float out[4])
{
    __m512i d0 = _mm512_setzero_si512(), d1 = d0, d2 = d0, d3 = d0;
    __m512i n0 = d0, n1 = d0, n2 = d0, n3 = d0, nq = d0;
    for (size_t i = 0; i < dim; i += 32) {
        __mmask32 m = simd_mask32(dim - i);
        __m512i xq = simd_load32_i8(q + i, m);
        __m512i x0 = simd_load32_i8(b0 + i, m), x1 = simd_load32_i8(b1 + i, m);
        __m512i x2 = simd_load32_i8(b2 + i, m), x3 = simd_load32_i8(b3 + i, m);
        nq = _mm512_add_epi32(nq, _mm512_madd_epi16(xq, xq));
        d0 = _mm512_add_epi32(d0, _mm512_madd_epi16(xq, x0));
        n0 = _mm512_add_epi32(n0, _mm512_madd_epi16(x0, x0));
        d1 = _mm512_add_epi32(d1, _mm512_madd_epi16(xq, x1));
        n1 = _mm512_add_epi32(n1, _mm512_madd_epi16(x1, x1));
        d2 = _mm512_add_epi32(d2, _mm512_madd_epi16(xq, x2));
        n2 = _mm512_add_epi32(n2, _mm512_madd_epi16(x2, x2));
        d3 = _mm512_add_epi32(d3, _mm512_madd_epi16(xq, x3));
        n3 = _mm512_add_epi32(n3, _mm512_madd_epi16(x3, x3));
    }
    int32_t dot[4], nb[4];
    _mm_storeu_si128((__m128i *)dot, simd_hsum512_epi32_x4(d0, d1, d2, d3));
    _mm_storeu_si128((__m128i *)nb, simd_hsum512_epi32_x4(n0, n1, n2, n3));
    int32_t na = simd_hsum512_epi32(nq);
    for (int j = 0; j < 4; j++)
        out[j] = simd_cos_finish_i32(dot[j], na, nb[j]);
}

/* ----------------------------------------------------- int8, AVX-512 VNNI */

#define SIMD_VNNI __attribute__((target("avx512vnni")))

SIMD_INLINE __m512i simd_load64_i8(const int8_t *p, __mmask64 m)
{
    return _mm512_maskz_loadu_epi8(m, p);
}

SIMD_VNNI int32_t simd_dot_i8_avx512vnni(const int8_t *a, const int8_t *b, size_t dim)
{
    const __m512i flip = _mm512_set1_epi8((char)0x80), ones = _mm512_set1_epi8(1);
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, sb0 = s0, sb1 = s0;
    size_t i = 0;
    for (; i + 128 <= dim; i += 128) {
        __m512i y0 = simd_load64_i8(b + i, ~0ull), y1 = simd_load64_i8(b + i + 64, ~0ull);
        s0 = _mm512_dpbusd_epi32(s0, _mm512_xor_si512(simd_load64_i8(a + i, ~0ull), flip), y0);
        s1 = _mm512_dpbusd_epi32(s1, _mm512_xor_si512(simd_load64_i8(a + i + 64, ~0ull), flip),
                                 y1);
        sb0 = _mm512_dpbusd_epi32(sb0, ones, y0);
        sb1 = _mm512_dpbusd_epi32(sb1, ones, y1);
    }
    for (; i < dim; i += 64) {
        __mmask64 m = simd_mask64(dim - i);
        __m512i y = simd_load64_i8(b + i, m);
        s0 = _mm512_dpbusd_epi32(s0, _mm512_xor_si512(simd_load64_i8(a + i, m), flip), y);
        sb0 = _mm512_dpbusd_epi32(sb0, ones, y);
    }
    int64_t shifted = simd_hsum512_epi32(_mm512_add_epi32(s0, s1));
    int64_t sumb = simd_hsum512_epi32(_mm512_add_epi32(sb0, sb1));
    return (int32_t)(shifted - 128 * sumb);
}

SIMD_VNNI void simd_dot_i8_x4_avx512vnni(const int8_t *q, const int8_t *b0, const int8_t *b1,
                                         const int8_t *b2, const int8_t *b3, size_t dim,
                                         int32_t out[4])
{
    /* Here the query is the unsigned side, so sum(b_j) is needed for each
     * of the four vectors. */
    const __m512i flip = _mm512_set1_epi8((char)0x80), ones = _mm512_set1_epi8(1);
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    __m512i c0 = s0, c1 = s0, c2 = s0, c3 = s0;
    for (size_t i = 0; i < dim; i += 64) {
        __mmask64 m = simd_mask64(dim - i);
        __m512i xq = _mm512_xor_si512(simd_load64_i8(q + i, m), flip);
        __m512i y0 = simd_load64_i8(b0 + i, m), y1 = simd_load64_i8(b1 + i, m);
        __m512i y2 = simd_load64_i8(b2 + i, m), y3 = simd_load64_i8(b3 + i, m);
        s0 = _mm512_dpbusd_epi32(s0, xq, y0);
        s1 = _mm512_dpbusd_epi32(s1, xq, y1);
        s2 = _mm512_dpbusd_epi32(s2, xq, y2);
        s3 = _mm512_dpbusd_epi32(s3, xq, y3);
        c0 = _mm512_dpbusd_epi32(c0, ones, y0);
        c1 = _mm512_dpbusd_epi32(c1, ones, y1);
        c2 = _mm512_dpbusd_epi32(c2, ones, y2);
        c3 = _mm512_dpbusd_epi32(c3, ones, y3);
    }
    int32_t s[4], c[4];
    _mm_storeu_si128((__m128i *)s, simd_hsum512_epi32_x4(s0, s1, s2, s3));
    _mm_storeu_si128((__m128i *)c, simd_hsum512_epi32_x4(c0, c1, c2, c3));
    for (int j = 0; j < 4; j++)
        out[j] = (int32_t)((int64_t)s[j] - 128 * (int64_t)c[j]);
}

SIMD_VNNI int32_t simd_l2sq_i8_avx512vnni(const int8_t *a, const int8_t *b, size_t dim)
{
    __m512i s0 = _mm512_setzero_si512(), s1 = s0;
    size_t i = 0;
    for (; i + 64 <= dim; i += 64) {
        __m512i d0 = _mm512_sub_epi16(simd_load32_i8(a + i, ~0u), simd_load32_i8(b + i, ~0u));
        __m512i d1 =
            _mm512_sub_epi16(simd_load32_i8(a + i + 32, ~0u), simd_load32_i8(b + i + 32, ~0u));
        s0 = _mm512_dpwssd_epi32(s0, d0, d0);
        s1 = _mm512_dpwssd_epi32(s1, d1, d1);
    }
    for (; i < dim; i += 32) {
        __mmask32 m = simd_mask32(dim - i);
        __m512i d = _mm512_sub_epi16(simd_load32_i8(a + i, m), simd_load32_i8(b + i, m));
        s0 = _mm512_dpwssd_epi32(s0, d, d);
    }
    return simd_hsum512_epi32(_mm512_add_epi32(s0, s1));
}

SIMD_VNNI void simd_l2sq_i8_x4_avx512vnni(const int8_t *q, const int8_t *b0, const int8_t *b1,
                                          const int8_t *b2, const int8_t *b3, size_t dim,
                                          int32_t out[4])
{
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < dim; i += 32) {
        __mmask32 m = simd_mask32(dim - i);
        __m512i xq = simd_load32_i8(q + i, m);
        __m512i d0 = _mm512_sub_epi16(simd_load32_i8(b0 + i, m), xq);
        __m512i d1 = _mm512_sub_epi16(simd_load32_i8(b1 + i, m), xq);
        __m512i d2 = _mm512_sub_epi16(simd_load32_i8(b2 + i, m), xq);
        __m512i d3 = _mm512_sub_epi16(simd_load32_i8(b3 + i, m), xq);
        s0 = _mm512_dpwssd_epi32(s0, d0, d0);
        s1 = _mm512_dpwssd_epi32(s1, d1, d1);
        s2 = _mm512_dpwssd_epi32(s2, d2, d2);
        s3 = _mm512_dpwssd_epi32(s3, d3, d3);
    }
    _mm_storeu_si128((__m128i *)out, simd_hsum512_epi32_x4(s0, s1, s2, s3));
}

/* ------------------------------------------------- binary, VPOPCNTDQ */

#define SIMD_VPOPCNT __attribute__((target("avx512vpopcntdq")))

SIMD_INLINE uint32_t simd_hsum512_epi64(__m512i v)
{
    __m256i y = _mm256_add_epi64(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
    __m128i x = _mm_add_epi64(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
    x = _mm_add_epi64(x, _mm_unpackhi_epi64(x, x));
    return (uint32_t)_mm_cvtsi128_si64(x);
}

SIMD_INLINE __m512i simd_load64_u8(const uint8_t *p, __mmask64 m)
{
    return _mm512_maskz_loadu_epi8(m, p);
}

SIMD_VPOPCNT uint32_t simd_hamming_avx512vpopcnt(const uint8_t *a, const uint8_t *b,
                                                 size_t nbytes)
{
    __m512i s0 = _mm512_setzero_si512(), s1 = s0;
    size_t i = 0;
    for (; i + 128 <= nbytes; i += 128) {
        s0 = _mm512_add_epi64(s0, _mm512_popcnt_epi64(_mm512_xor_si512(
                                      simd_load64_u8(a + i, ~0ull), simd_load64_u8(b + i, ~0ull))));
        s1 = _mm512_add_epi64(s1, _mm512_popcnt_epi64(_mm512_xor_si512(
                                      simd_load64_u8(a + i + 64, ~0ull),
                                      simd_load64_u8(b + i + 64, ~0ull))));
    }
    for (; i < nbytes; i += 64) {
        __mmask64 m = simd_mask64(nbytes - i);
        s0 = _mm512_add_epi64(s0, _mm512_popcnt_epi64(_mm512_xor_si512(
                                      simd_load64_u8(a + i, m), simd_load64_u8(b + i, m))));
    }
    return simd_hsum512_epi64(_mm512_add_epi64(s0, s1));
}

SIMD_VPOPCNT void simd_hamming_x4_avx512vpopcnt(const uint8_t *q, const uint8_t *b0,
                                                const uint8_t *b1, const uint8_t *b2,
                                                const uint8_t *b3, size_t nbytes, uint32_t out[4])
{
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < nbytes; i += 64) {
        __mmask64 m = simd_mask64(nbytes - i);
        __m512i x = simd_load64_u8(q + i, m);
        __m512i y0 = simd_load64_u8(b0 + i, m), y1 = simd_load64_u8(b1 + i, m);
        __m512i y2 = simd_load64_u8(b2 + i, m), y3 = simd_load64_u8(b3 + i, m);
        s0 = _mm512_add_epi64(s0, _mm512_popcnt_epi64(_mm512_xor_si512(x, y0)));
        s1 = _mm512_add_epi64(s1, _mm512_popcnt_epi64(_mm512_xor_si512(x, y1)));
        s2 = _mm512_add_epi64(s2, _mm512_popcnt_epi64(_mm512_xor_si512(x, y2)));
        s3 = _mm512_add_epi64(s3, _mm512_popcnt_epi64(_mm512_xor_si512(x, y3)));
    }
    out[0] = simd_hsum512_epi64(s0);
    out[1] = simd_hsum512_epi64(s1);
    out[2] = simd_hsum512_epi64(s2);
    out[3] = simd_hsum512_epi64(s3);
}

SIMD_VPOPCNT float simd_jaccard_avx512vpopcnt(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
    __m512i si = _mm512_setzero_si512(), su = si;
    for (size_t i = 0; i < nbytes; i += 64) {
        __mmask64 m = simd_mask64(nbytes - i);
        __m512i x = simd_load64_u8(a + i, m), y = simd_load64_u8(b + i, m);
        si = _mm512_add_epi64(si, _mm512_popcnt_epi64(_mm512_and_si512(x, y)));
        su = _mm512_add_epi64(su, _mm512_popcnt_epi64(_mm512_or_si512(x, y)));
    }
    return simd_jaccard_finish(simd_hsum512_epi64(si), simd_hsum512_epi64(su));
}

/* Four Jaccard distances from four intersection and four union counts, in
 * one vector pass: the same IEEE operations as simd_jaccard_finish (exact
 * conversions, one correctly rounded division and subtraction in double, a
 * round-to-nearest narrowing), so the results are bit-identical to it; the
 * lanes whose union is empty (0 / 0) are replaced by 0, as there. */
SIMD_INLINE void simd_jaccard_finish_x4(__m128i inter, __m128i uni, float out[4])
{
    __m256d q = _mm256_div_pd(_mm256_cvtepu32_pd(inter), _mm256_cvtepu32_pd(uni));
    __m128 d = _mm256_cvtpd_ps(_mm256_sub_pd(_mm256_set1_pd(1.0), q));
    __mmask8 nonempty = _mm_test_epi32_mask(uni, uni);
    _mm_storeu_ps(out, _mm_maskz_mov_ps(nonempty, d));
}

/* Jaccard of q against four rows: one masked query load per 64-byte step,
 * ANDed and ORed with the four rows into eight vpopcntq chains. The 64-bit
 * lane counts stay below 2^32 (a row would need 512 MiB to pass it), so the
 * upper halves are zero and the 32-bit reduction of simd_hsum512_epi32_x4
 * sums them correctly, four rows at once. */
SIMD_VPOPCNT void simd_jaccard_x4_avx512vpopcnt(const uint8_t *q, const uint8_t *b0,
                                                const uint8_t *b1, const uint8_t *b2,
                                                const uint8_t *b3, size_t nbytes, float out[4])
{
    __m512i i0 = _mm512_setzero_si512(), i1 = i0, i2 = i0, i3 = i0;
    __m512i u0 = i0, u1 = i0, u2 = i0, u3 = i0;
    for (size_t i = 0; i < nbytes; i += 64) {
        __mmask64 m = simd_mask64(nbytes - i);
        __m512i x = simd_load64_u8(q + i, m), y;
#define SIMD_JAC_X4_STEP(row, si, su)                                                          \
    y = simd_load64_u8((row) + i, m);                                                          \
    si = _mm512_add_epi64(si, _mm512_popcnt_epi64(_mm512_and_si512(x, y)));                    \
    su = _mm512_add_epi64(su, _mm512_popcnt_epi64(_mm512_or_si512(x, y)))
        SIMD_JAC_X4_STEP(b0, i0, u0);
        SIMD_JAC_X4_STEP(b1, i1, u1);
        SIMD_JAC_X4_STEP(b2, i2, u2);
        SIMD_JAC_X4_STEP(b3, i3, u3);
#undef SIMD_JAC_X4_STEP
    }
    simd_jaccard_finish_x4(simd_hsum512_epi32_x4(i0, i1, i2, i3),
                           simd_hsum512_epi32_x4(u0, u1, u2, u3), out);
}

/* ---------------------------------------------------------------- table */

/* Hamming and Jaccard (single and _x4) are filled in by simd.c: the
 * VPOPCNTDQ kernels above or the AVX2 ones, by cpuid. The int8 entries are
 * the AVX-512BW kernels; simd.c replaces them with the VNNI ones when the
 * CPU has VNNI. */
const simd_kernels simd_kernels_avx512 = {
    .level = SIMD_AVX512,
    .l2sq_f32 = simd_l2sq_f32_avx512,
    .dot_f32 = simd_dot_f32_avx512,
    .cos_f32 = simd_cos_f32_avx512,
    .l2sq_f32_x4 = simd_l2sq_f32_x4_avx512,
    .dot_f32_x4 = simd_dot_f32_x4_avx512,
    .cos_f32_x4 = simd_cos_f32_x4_avx512,
    .l2sq_f16 = simd_l2sq_f16_avx512,
    .dot_f16 = simd_dot_f16_avx512,
    .cos_f16 = simd_cos_f16_avx512,
    .l2sq_f16_x4 = simd_l2sq_f16_x4_avx512,
    .dot_f16_x4 = simd_dot_f16_x4_avx512,
    .cos_f16_x4 = simd_cos_f16_x4_avx512,
    .l2sq_bf16 = simd_l2sq_bf16_avx512,
    .dot_bf16 = simd_dot_bf16_avx512,
    .cos_bf16 = simd_cos_bf16_avx512,
    .l2sq_bf16_x4 = simd_l2sq_bf16_x4_avx512,
    .dot_bf16_x4 = simd_dot_bf16_x4_avx512,
    .cos_bf16_x4 = simd_cos_bf16_x4_avx512,
    .l2sq_i8 = simd_l2sq_i8_avx512,
    .dot_i8 = simd_dot_i8_avx512,
    .l2sq_i8_x4 = simd_l2sq_i8_x4_avx512,
    .dot_i8_x4 = simd_dot_i8_x4_avx512,
    .hamming = NULL,
    .hamming_x4 = NULL,
    .jaccard = NULL,
    .cos_i8 = simd_cos_i8_avx512,
    .cos_i8_x4 = simd_cos_i8_x4_avx512,
    .jaccard_x4 = NULL,
};
