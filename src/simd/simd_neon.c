/*
 * simd_neon.c -- distance kernels for aarch64 (Advanced SIMD, baseline).
 *
 * NEON is part of every aarch64 CPU, so this table needs no run-time check;
 * the Makefile compiles this file only on aarch64, and the #if below keeps
 * it empty anywhere else. It is deliberately plain: the same structure as
 * the x86 kernels (several accumulators, query loaded once in _x4) but
 * scalar tails, and _x4 as four single calls except for f32, the type the
 * indexes use most, and Jaccard. Correctness first; tests/unit/test_simd.c
 * checks every kernel against the scalar reference, natively on an aarch64
 * machine and on the x86-64 development machines through `make test-neon`
 * (tests/neon.mk: cross-compiled with aarch64-linux-gnu-gcc, run under
 * qemu-aarch64). The hardware f16 widening (FCVT) and the portable one used
 * by the tails agree bit for bit on every non-NaN half, checked once under
 * qemu when that target was added.
 *
 *   f32   4 x 4-lane FMA accumulators (vfmaq_f32).
 *   f16   vcvt_f32_f16 on 4 halves at a time (binary16 is baseline ARMv8).
 *   bf16  widened by a 16-bit shift (vshll_n_u16); no BF16 extension needed.
 *   int8  widening multiplies (vmull_s8 / vsubl_s8 + vmlal_s16), exact.
 *         Rejected: vdotq_s32 (the dotprod extension is not baseline).
 *   bin   vcntq_u8 on the XOR (AND/OR) of 16 bytes, summed with vaddlvq_u8;
 *         jaccard_x4 loads the query once for four rows and sums in 16-bit
 *         lanes (vpadalq_u8), folding them once per block.
 *
 * Threading: pure functions.
 */
#if defined(__aarch64__)

#include <arm_neon.h>

#include "simd/simd_internal.h"

/* ------------------------------------------------------------------ f32 */

static float simd_l2sq_f32_neon(const float *a, const float *b, size_t dim)
{
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        float32x4_t d0 = vsubq_f32(vld1q_f32(a + i), vld1q_f32(b + i));
        float32x4_t d1 = vsubq_f32(vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        float32x4_t d2 = vsubq_f32(vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        float32x4_t d3 = vsubq_f32(vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
        s0 = vfmaq_f32(s0, d0, d0);
        s1 = vfmaq_f32(s1, d1, d1);
        s2 = vfmaq_f32(s2, d2, d2);
        s3 = vfmaq_f32(s3, d3, d3);
    }
    for (; i + 4 <= dim; i += 4) {
        float32x4_t d = vsubq_f32(vld1q_f32(a + i), vld1q_f32(b + i));
        s0 = vfmaq_f32(s0, d, d);
    }
    float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < dim; i++) {
        float d = a[i] - b[i];
        s += d * d;
    }
    return s;
}

static float simd_dot_f32_neon(const float *a, const float *b, size_t dim)
{
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= dim; i += 4)
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < dim; i++)
        s += a[i] * b[i];
    return s;
}

static float simd_cos_f32_neon(const float *a, const float *b, size_t dim)
{
    float32x4_t ab0 = vdupq_n_f32(0), ab1 = ab0, aa0 = ab0, aa1 = ab0, bb0 = ab0, bb1 = ab0;
    size_t i = 0;
    for (; i + 8 <= dim; i += 8) {
        float32x4_t x0 = vld1q_f32(a + i), y0 = vld1q_f32(b + i);
        float32x4_t x1 = vld1q_f32(a + i + 4), y1 = vld1q_f32(b + i + 4);
        ab0 = vfmaq_f32(ab0, x0, y0);
        aa0 = vfmaq_f32(aa0, x0, x0);
        bb0 = vfmaq_f32(bb0, y0, y0);
        ab1 = vfmaq_f32(ab1, x1, y1);
        aa1 = vfmaq_f32(aa1, x1, x1);
        bb1 = vfmaq_f32(bb1, y1, y1);
    }
    float ab = vaddvq_f32(vaddq_f32(ab0, ab1));
    float aa = vaddvq_f32(vaddq_f32(aa0, aa1));
    float bb = vaddvq_f32(vaddq_f32(bb0, bb1));
    for (; i < dim; i++) {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    return simd_cos_finish(ab, aa, bb);
}

static void simd_l2sq_f32_x4_neon(const float *q, const float *b0, const float *b1,
                                  const float *b2, const float *b3, size_t dim, float out[4])
{
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 4 <= dim; i += 4) {
        float32x4_t x = vld1q_f32(q + i);
        float32x4_t d0 = vsubq_f32(vld1q_f32(b0 + i), x);
        float32x4_t d1 = vsubq_f32(vld1q_f32(b1 + i), x);
        float32x4_t d2 = vsubq_f32(vld1q_f32(b2 + i), x);
        float32x4_t d3 = vsubq_f32(vld1q_f32(b3 + i), x);
        s0 = vfmaq_f32(s0, d0, d0);
        s1 = vfmaq_f32(s1, d1, d1);
        s2 = vfmaq_f32(s2, d2, d2);
        s3 = vfmaq_f32(s3, d3, d3);
    }
    float r0 = vaddvq_f32(s0), r1 = vaddvq_f32(s1), r2 = vaddvq_f32(s2), r3 = vaddvq_f32(s3);
    for (; i < dim; i++) {
        float d0 = b0[i] - q[i], d1 = b1[i] - q[i], d2 = b2[i] - q[i], d3 = b3[i] - q[i];
        r0 += d0 * d0;
        r1 += d1 * d1;
        r2 += d2 * d2;
        r3 += d3 * d3;
    }
    out[0] = r0;
    out[1] = r1;
    out[2] = r2;
    out[3] = r3;
}

static void simd_dot_f32_x4_neon(const float *q, const float *b0, const float *b1,
                                 const float *b2, const float *b3, size_t dim, float out[4])
{
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 4 <= dim; i += 4) {
        float32x4_t x = vld1q_f32(q + i);
        s0 = vfmaq_f32(s0, x, vld1q_f32(b0 + i));
        s1 = vfmaq_f32(s1, x, vld1q_f32(b1 + i));
        s2 = vfmaq_f32(s2, x, vld1q_f32(b2 + i));
        s3 = vfmaq_f32(s3, x, vld1q_f32(b3 + i));
    }
    float r0 = vaddvq_f32(s0), r1 = vaddvq_f32(s1), r2 = vaddvq_f32(s2), r3 = vaddvq_f32(s3);
    for (; i < dim; i++) {
        r0 += q[i] * b0[i];
        r1 += q[i] * b1[i];
        r2 += q[i] * b2[i];
        r3 += q[i] * b3[i];
    }
    out[0] = r0;
    out[1] = r1;
    out[2] = r2;
    out[3] = r3;
}

/* Defines the _x4 variant of a single kernel as four single calls. */
#define SIMD_NEON_X4(name, elem_t, out_t)                                                      \
    static void name##_x4(const elem_t *q, const elem_t *b0, const elem_t *b1,               \
                          const elem_t *b2, const elem_t *b3, size_t dim, out_t out[4])      \
    {                                                                                          \
        out[0] = name(q, b0, dim);                                                             \
        out[1] = name(q, b1, dim);                                                             \
        out[2] = name(q, b2, dim);                                                             \
        out[3] = name(q, b3, dim);                                                             \
    }

SIMD_NEON_X4(simd_cos_f32_neon, float, float)

/* ------------------------------------------------------- f16 and bf16 */

static inline float32x4_t simd_neon_load4_f16(const uint16_t *p)
{
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

static inline float32x4_t simd_neon_load4_bf16(const uint16_t *p)
{
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

/* The three kernels of one 16-bit format: 4 elements per step, two chains
 * per sum, scalar tail through the portable widening function. */
#define SIMD_NEON_U16(fmt, load4, widen)                                                       \
    static float simd_l2sq_##fmt##_neon(const uint16_t *a, const uint16_t *b, size_t dim)    \
    {                                                                                          \
        float32x4_t s0 = vdupq_n_f32(0), s1 = s0;                                              \
        size_t i = 0;                                                                          \
        for (; i + 8 <= dim; i += 8) {                                                         \
            float32x4_t d0 = vsubq_f32(load4(a + i), load4(b + i));                            \
            float32x4_t d1 = vsubq_f32(load4(a + i + 4), load4(b + i + 4));                    \
            s0 = vfmaq_f32(s0, d0, d0);                                                        \
            s1 = vfmaq_f32(s1, d1, d1);                                                        \
        }                                                                                      \
        float s = vaddvq_f32(vaddq_f32(s0, s1));                                               \
        for (; i < dim; i++) {                                                                 \
            float d = widen(a[i]) - widen(b[i]);                                               \
            s += d * d;                                                                        \
        }                                                                                      \
        return s;                                                                              \
    }                                                                                          \
    static float simd_dot_##fmt##_neon(const uint16_t *a, const uint16_t *b, size_t dim)     \
    {                                                                                          \
        float32x4_t s0 = vdupq_n_f32(0), s1 = s0;                                              \
        size_t i = 0;                                                                          \
        for (; i + 8 <= dim; i += 8) {                                                         \
            s0 = vfmaq_f32(s0, load4(a + i), load4(b + i));                                    \
            s1 = vfmaq_f32(s1, load4(a + i + 4), load4(b + i + 4));                            \
        }                                                                                      \
        float s = vaddvq_f32(vaddq_f32(s0, s1));                                               \
        for (; i < dim; i++)                                                                   \
            s += widen(a[i]) * widen(b[i]);                                                    \
        return s;                                                                              \
    }                                                                                          \
    static float simd_cos_##fmt##_neon(const uint16_t *a, const uint16_t *b, size_t dim)     \
    {                                                                                          \
        float32x4_t ab = vdupq_n_f32(0), aa = ab, bb = ab;                                     \
        size_t i = 0;                                                                          \
        for (; i + 4 <= dim; i += 4) {                                                         \
            float32x4_t x = load4(a + i), y = load4(b + i);                                    \
            ab = vfmaq_f32(ab, x, y);                                                          \
            aa = vfmaq_f32(aa, x, x);                                                          \
            bb = vfmaq_f32(bb, y, y);                                                          \
        }                                                                                      \
        float sab = vaddvq_f32(ab), saa = vaddvq_f32(aa), sbb = vaddvq_f32(bb);                \
        for (; i < dim; i++) {                                                                 \
            float x = widen(a[i]), y = widen(b[i]);                                            \
            sab += x * y;                                                                      \
            saa += x * x;                                                                      \
            sbb += y * y;                                                                      \
        }                                                                                      \
        return simd_cos_finish(sab, saa, sbb);                                                 \
    }                                                                                          \
    SIMD_NEON_X4(simd_l2sq_##fmt##_neon, uint16_t, float)                                      \
    SIMD_NEON_X4(simd_dot_##fmt##_neon, uint16_t, float)                                       \
    SIMD_NEON_X4(simd_cos_##fmt##_neon, uint16_t, float)

SIMD_NEON_U16(f16, simd_neon_load4_f16, simd_f16_to_f32_inline)
SIMD_NEON_U16(bf16, simd_neon_load4_bf16, simd_bf16_to_f32_inline)

/* ----------------------------------------------------------------- int8 */

static int32_t simd_l2sq_i8_neon(const int8_t *a, const int8_t *b, size_t dim)
{
    int32x4_t s0 = vdupq_n_s32(0), s1 = s0;
    size_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        int8x16_t x = vld1q_s8(a + i), y = vld1q_s8(b + i);
        int16x8_t dl = vsubl_s8(vget_low_s8(x), vget_low_s8(y));
        int16x8_t dh = vsubl_high_s8(x, y);
        s0 = vmlal_s16(s0, vget_low_s16(dl), vget_low_s16(dl));
        s1 = vmlal_high_s16(s1, dl, dl);
        s0 = vmlal_s16(s0, vget_low_s16(dh), vget_low_s16(dh));
        s1 = vmlal_high_s16(s1, dh, dh);
    }
    int32_t s = vaddvq_s32(vaddq_s32(s0, s1));
    for (; i < dim; i++) {
        int32_t d = (int32_t)a[i] - (int32_t)b[i];
        s += d * d;
    }
    return s;
}

static int32_t simd_dot_i8_neon(const int8_t *a, const int8_t *b, size_t dim)
{
    int32x4_t s0 = vdupq_n_s32(0), s1 = s0;
    size_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        int8x16_t x = vld1q_s8(a + i), y = vld1q_s8(b + i);
        /* |x * y| <= 2^14 fits int16; pairs are added into int32. */
        s0 = vpadalq_s16(s0, vmull_s8(vget_low_s8(x), vget_low_s8(y)));
        s1 = vpadalq_s16(s1, vmull_high_s8(x, y));
    }
    int32_t s = vaddvq_s32(vaddq_s32(s0, s1));
    for (; i < dim; i++)
        s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

static float simd_cos_i8_neon(const int8_t *a, const int8_t *b, size_t dim)
{
    int32x4_t ab = vdupq_n_s32(0), aa = ab, bb = ab;
    size_t i = 0;
    for (; i + 16 <= dim; i += 16) {
        int8x16_t x = vld1q_s8(a + i), y = vld1q_s8(b + i);
        ab = vpadalq_s16(ab, vmull_s8(vget_low_s8(x), vget_low_s8(y)));
        ab = vpadalq_s16(ab, vmull_high_s8(x, y));
        aa = vpadalq_s16(aa, vmull_s8(vget_low_s8(x), vget_low_s8(x)));
        aa = vpadalq_s16(aa, vmull_high_s8(x, x));
        bb = vpadalq_s16(bb, vmull_s8(vget_low_s8(y), vget_low_s8(y)));
        bb = vpadalq_s16(bb, vmull_high_s8(y, y));
    }
    int32_t sab = vaddvq_s32(ab), saa = vaddvq_s32(aa), sbb = vaddvq_s32(bb);
    for (; i < dim; i++) {
        int32_t x = a[i], y = b[i];
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    return simd_cos_finish_i32(sab, saa, sbb);
}

SIMD_NEON_X4(simd_l2sq_i8_neon, int8_t, int32_t)
SIMD_NEON_X4(simd_dot_i8_neon, int8_t, int32_t)
SIMD_NEON_X4(simd_cos_i8_neon, int8_t, float)

/* --------------------------------------------------------------- binary */

static uint32_t simd_hamming_neon(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
    uint32_t n = 0;
    size_t i = 0;
    for (; i + 16 <= nbytes; i += 16)
        n += vaddlvq_u8(vcntq_u8(veorq_u8(vld1q_u8(a + i), vld1q_u8(b + i))));
    for (; i < nbytes; i++)
        n += (uint32_t)__builtin_popcount((unsigned)(a[i] ^ b[i]));
    return n;
}

SIMD_NEON_X4(simd_hamming_neon, uint8_t, uint32_t)

static float simd_jaccard_neon(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
    uint32_t inter = 0, uni = 0;
    size_t i = 0;
    for (; i + 16 <= nbytes; i += 16) {
        uint8x16_t x = vld1q_u8(a + i), y = vld1q_u8(b + i);
        inter += vaddlvq_u8(vcntq_u8(vandq_u8(x, y)));
        uni += vaddlvq_u8(vcntq_u8(vorrq_u8(x, y)));
    }
    for (; i < nbytes; i++) {
        inter += (uint32_t)__builtin_popcount((unsigned)(a[i] & b[i]));
        uni += (uint32_t)__builtin_popcount((unsigned)(a[i] | b[i]));
    }
    return simd_jaccard_finish(inter, uni);
}

/* Per-step bit counts of jaccard_x4 accumulate in 16-bit lanes: vpadalq_u8
 * adds two byte counts of at most 8 each to a lane, 16 per 16-byte step, so
 * a lane stays below 2^16 for 4095 steps. Blocks of 2048 steps (32 KiB per
 * vector) leave a factor of two; the lanes are folded into 32-bit totals
 * after each block. This keeps the across-lane sum (vaddlvq) out of the
 * inner loop, where the single kernel pays it twice per step. */
#define SIMD_NEON_JAC_BLOCK 2048

static void simd_jaccard_x4_neon(const uint8_t *q, const uint8_t *b0, const uint8_t *b1,
                                 const uint8_t *b2, const uint8_t *b3, size_t nbytes, float out[4])
{
    const uint8_t *row[4] = {b0, b1, b2, b3};
    uint32_t inter[4] = {0, 0, 0, 0}, uni[4] = {0, 0, 0, 0};
    size_t i = 0;
    while (i + 16 <= nbytes) {
        size_t steps = (nbytes - i) / 16;
        if (steps > SIMD_NEON_JAC_BLOCK)
            steps = SIMD_NEON_JAC_BLOCK;
        uint16x8_t si[4], su[4];
        for (int j = 0; j < 4; j++)
            si[j] = su[j] = vdupq_n_u16(0);
        for (size_t s = 0; s < steps; s++, i += 16) {
            uint8x16_t x = vld1q_u8(q + i);
            for (int j = 0; j < 4; j++) {
                uint8x16_t y = vld1q_u8(row[j] + i);
                si[j] = vpadalq_u8(si[j], vcntq_u8(vandq_u8(x, y)));
                su[j] = vpadalq_u8(su[j], vcntq_u8(vorrq_u8(x, y)));
            }
        }
        for (int j = 0; j < 4; j++) {
            inter[j] += vaddlvq_u16(si[j]);
            uni[j] += vaddlvq_u16(su[j]);
        }
    }
    for (; i < nbytes; i++)
        for (int j = 0; j < 4; j++) {
            inter[j] += (uint32_t)__builtin_popcount((unsigned)(q[i] & row[j][i]));
            uni[j] += (uint32_t)__builtin_popcount((unsigned)(q[i] | row[j][i]));
        }
    for (int j = 0; j < 4; j++)
        out[j] = simd_jaccard_finish(inter[j], uni[j]);
}

/* ---------------------------------------------------------------- table */

const simd_kernels simd_kernels_neon = {
    .level = SIMD_NEON,
    .l2sq_f32 = simd_l2sq_f32_neon,
    .dot_f32 = simd_dot_f32_neon,
    .cos_f32 = simd_cos_f32_neon,
    .l2sq_f32_x4 = simd_l2sq_f32_x4_neon,
    .dot_f32_x4 = simd_dot_f32_x4_neon,
    .cos_f32_x4 = simd_cos_f32_neon_x4,
    .l2sq_f16 = simd_l2sq_f16_neon,
    .dot_f16 = simd_dot_f16_neon,
    .cos_f16 = simd_cos_f16_neon,
    .l2sq_f16_x4 = simd_l2sq_f16_neon_x4,
    .dot_f16_x4 = simd_dot_f16_neon_x4,
    .cos_f16_x4 = simd_cos_f16_neon_x4,
    .l2sq_bf16 = simd_l2sq_bf16_neon,
    .dot_bf16 = simd_dot_bf16_neon,
    .cos_bf16 = simd_cos_bf16_neon,
    .l2sq_bf16_x4 = simd_l2sq_bf16_neon_x4,
    .dot_bf16_x4 = simd_dot_bf16_neon_x4,
    .cos_bf16_x4 = simd_cos_bf16_neon_x4,
    .l2sq_i8 = simd_l2sq_i8_neon,
    .dot_i8 = simd_dot_i8_neon,
    .l2sq_i8_x4 = simd_l2sq_i8_neon_x4,
    .dot_i8_x4 = simd_dot_i8_neon_x4,
    .hamming = simd_hamming_neon,
    .hamming_x4 = simd_hamming_neon_x4,
    .jaccard = simd_jaccard_neon,
    .cos_i8 = simd_cos_i8_neon,
    .cos_i8_x4 = simd_cos_i8_neon_x4,
    .jaccard_x4 = simd_jaccard_x4_neon,
};

#else

/* ISO C forbids an empty translation unit. */
typedef int simd_neon_unused;

#endif
