/*
 * simd_internal.h -- what the per-ISA kernel files share with simd.c; not
 * for use outside src/simd/.
 *
 * Each ISA file exports one kernel table. simd.c copies the tables the CPU
 * can run and patches entries that need an extra feature bit (AVX-512
 * VPOPCNTDQ for Hamming/Jaccard, which the AVX-512 table leaves NULL for
 * simd.c to fill; AVX-512 VNNI for int8), so an ISA file never checks CPU
 * features itself.
 *
 * The finishing steps of cosine and Jaccard are shared inline functions so
 * that every level turns the same sums into the same result: two levels that
 * compute identical sums return bit-identical distances, which is what lets
 * the unit tests demand exact equality on exactly summable data.
 */
#ifndef VECTIS_SIMD_INTERNAL_H
#define VECTIS_SIMD_INTERNAL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "simd/simd.h"

extern const simd_kernels simd_kernels_scalar;
#if defined(__x86_64__)
extern const simd_kernels simd_kernels_avx2;
extern const simd_kernels simd_kernels_avx512;
/* Variants simd.c patches into the AVX-512 table behind their own cpuid
 * bits. Defined in simd_avx512.c with a per-function target attribute. */
uint32_t simd_hamming_avx512vpopcnt(const uint8_t *a, const uint8_t *b, size_t nbytes);
void simd_hamming_x4_avx512vpopcnt(const uint8_t *q, const uint8_t *b0, const uint8_t *b1,
                                   const uint8_t *b2, const uint8_t *b3, size_t nbytes,
                                   uint32_t out[4]);
float simd_jaccard_avx512vpopcnt(const uint8_t *a, const uint8_t *b, size_t nbytes);
void simd_jaccard_x4_avx512vpopcnt(const uint8_t *q, const uint8_t *b0, const uint8_t *b1,
                                   const uint8_t *b2, const uint8_t *b3, size_t nbytes,
                                   float out[4]);
int32_t simd_dot_i8_avx512vnni(const int8_t *a, const int8_t *b, size_t dim);
int32_t simd_l2sq_i8_avx512vnni(const int8_t *a, const int8_t *b, size_t dim);
void simd_dot_i8_x4_avx512vnni(const int8_t *q, const int8_t *b0, const int8_t *b1,
                               const int8_t *b2, const int8_t *b3, size_t dim, int32_t out[4]);
void simd_l2sq_i8_x4_avx512vnni(const int8_t *q, const int8_t *b0, const int8_t *b1,
                                const int8_t *b2, const int8_t *b3, size_t dim, int32_t out[4]);
#endif
#if defined(__aarch64__)
extern const simd_kernels simd_kernels_neon;
#endif

/* Cosine distance from the three sums of one pass. The combination runs in
 * double: |a|^2 * |b|^2 overflows float for vectors with norms above ~1e19,
 * and one double sqrt per call costs nothing next to the pass. The result
 * is clamped to [0, 2] so that rounding never yields a negative distance
 * for (nearly) identical vectors, which the indexes would mis-order. */
static inline float simd_cos_finish(float dot, float na, float nb)
{
    if (na == 0.0f || nb == 0.0f)
        return 1.0f;
    double d = 1.0 - (double)dot / sqrt((double)na * (double)nb);
    if (d < 0.0)
        d = 0.0;
    if (d > 2.0)
        d = 2.0;
    return (float)d;
}

/* Cosine distance from exact int8 sums. Same rules as simd_cos_finish; the
 * int32 sums convert to double exactly. */
static inline float simd_cos_finish_i32(int32_t dot, int32_t na, int32_t nb)
{
    if (na == 0 || nb == 0)
        return 1.0f;
    double d = 1.0 - (double)dot / sqrt((double)na * (double)nb);
    if (d < 0.0)
        d = 0.0;
    if (d > 2.0)
        d = 2.0;
    return (float)d;
}

/* Jaccard distance from |a & b| and |a | b| (in bits). */
static inline float simd_jaccard_finish(uint32_t inter, uint32_t uni)
{
    if (uni == 0)
        return 0.0f;
    return (float)(1.0 - (double)inter / (double)uni);
}

/* Portable conversions, inline so the scalar kernels stay fast enough to be
 * a usable fallback; simd.c exports them as simd_f16_to_f32() and friends. */
static inline float simd_bits_to_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t simd_f32_to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* binary16 -> binary32, exact for every input (subnormals, inf, NaN with its
 * payload shifted into the top of the float mantissa). */
static inline float simd_f16_to_f32_inline(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t u;

    if (exp == 0x1f) {
        u = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        u = sign | ((exp + 112u) << 23) | (man << 13);
    } else if (man == 0) {
        u = sign;
    } else {
        /* Subnormal: man * 2^-24, exactly representable as a float. */
        float f = (float)man * 0x1p-24f;
        u = sign | simd_f32_to_bits(f);
    }
    return simd_bits_to_f32(u);
}

static inline float simd_bf16_to_f32_inline(uint16_t h)
{
    return simd_bits_to_f32((uint32_t)h << 16);
}

#endif
