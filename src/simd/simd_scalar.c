/*
 * simd_scalar.c -- portable reference kernels, and the fallback table.
 *
 * These are the definition of every distance: plain loops in element
 * order, written to be obviously right rather than fast. Every ISA file is
 * tested against them (tests/unit/test_simd.c), and they are what runs on a
 * CPU without AVX2 or NEON.
 *
 * Accumulation: f32, f16 and bf16 sums accumulate in float, in element order,
 * like the vector kernels do lane by lane. A double accumulator would be
 * more accurate but would make the reference differ from every fast kernel
 * by more than the kernels differ from each other, and the tests bound the
 * difference with a float error model anyway. int8 sums accumulate in
 * int32 and are exact within the limits simd.h states. Hamming and Jaccard
 * count bits 64 at a time with a portable SWAR popcount (baseline x86-64 has
 * no POPCNT instruction, and __builtin_popcountll would become a libgcc call).
 *
 * The _x4 variants are four single calls: the reference for "one query
 * against four vectors" is by definition four single distances. The one
 * exception is jaccard_x4, one pass over the five vectors that reads each
 * query word once: it is the fallback the binary indexes run on a CPU
 * without AVX2, its counts are exact integers whatever the loop shape, and
 * the unit test checks it against counts computed independently (not
 * against this file).
 *
 * Threading: pure functions, no state.
 */
#include <string.h>

#include "simd/simd_internal.h"

/* ------------------------------------------------------------------ f32 */

static float simd_l2sq_f32_scalar(const float *a, const float *b, size_t dim)
{
    float s = 0.0f;
    for (size_t i = 0; i < dim; i++) {
        float d = a[i] - b[i];
        s += d * d;
    }
    return s;
}

static float simd_dot_f32_scalar(const float *a, const float *b, size_t dim)
{
    float s = 0.0f;
    for (size_t i = 0; i < dim; i++)
        s += a[i] * b[i];
    return s;
}

static float simd_cos_f32_scalar(const float *a, const float *b, size_t dim)
{
    float ab = 0.0f, aa = 0.0f, bb = 0.0f;
    for (size_t i = 0; i < dim; i++) {
        ab += a[i] * b[i];
        aa += a[i] * a[i];
        bb += b[i] * b[i];
    }
    return simd_cos_finish(ab, aa, bb);
}

/* Defines the _x4 variant of a single kernel as four single calls. */
#define SIMD_SCALAR_X4(name, elem_t, out_t)                                                   \
    static void name##_x4(const elem_t *q, const elem_t *b0, const elem_t *b1,              \
                          const elem_t *b2, const elem_t *b3, size_t dim, out_t out[4])     \
    {                                                                                         \
        out[0] = name(q, b0, dim);                                                            \
        out[1] = name(q, b1, dim);                                                            \
        out[2] = name(q, b2, dim);                                                            \
        out[3] = name(q, b3, dim);                                                            \
    }

SIMD_SCALAR_X4(simd_l2sq_f32_scalar, float, float)
SIMD_SCALAR_X4(simd_dot_f32_scalar, float, float)
SIMD_SCALAR_X4(simd_cos_f32_scalar, float, float)

/* ------------------------------------------------------- f16 and bf16 */

/* The three kernels of one 16-bit float format, parameterised by its
 * widening function. */
#define SIMD_SCALAR_U16(fmt, widen)                                                           \
    static float simd_l2sq_##fmt##_scalar(const uint16_t *a, const uint16_t *b, size_t dim) \
    {                                                                                         \
        float s = 0.0f;                                                                       \
        for (size_t i = 0; i < dim; i++) {                                                    \
            float d = widen(a[i]) - widen(b[i]);                                              \
            s += d * d;                                                                       \
        }                                                                                     \
        return s;                                                                             \
    }                                                                                         \
    static float simd_dot_##fmt##_scalar(const uint16_t *a, const uint16_t *b, size_t dim)  \
    {                                                                                         \
        float s = 0.0f;                                                                       \
        for (size_t i = 0; i < dim; i++)                                                      \
            s += widen(a[i]) * widen(b[i]);                                                   \
        return s;                                                                             \
    }                                                                                         \
    static float simd_cos_##fmt##_scalar(const uint16_t *a, const uint16_t *b, size_t dim)  \
    {                                                                                         \
        float ab = 0.0f, aa = 0.0f, bb = 0.0f;                                                \
        for (size_t i = 0; i < dim; i++) {                                                    \
            float x = widen(a[i]), y = widen(b[i]);                                           \
            ab += x * y;                                                                      \
            aa += x * x;                                                                      \
            bb += y * y;                                                                      \
        }                                                                                     \
        return simd_cos_finish(ab, aa, bb);                                                   \
    }                                                                                         \
    SIMD_SCALAR_X4(simd_l2sq_##fmt##_scalar, uint16_t, float)                                 \
    SIMD_SCALAR_X4(simd_dot_##fmt##_scalar, uint16_t, float)                                  \
    SIMD_SCALAR_X4(simd_cos_##fmt##_scalar, uint16_t, float)

SIMD_SCALAR_U16(f16, simd_f16_to_f32_inline)
SIMD_SCALAR_U16(bf16, simd_bf16_to_f32_inline)

/* ----------------------------------------------------------------- int8 */

static int32_t simd_l2sq_i8_scalar(const int8_t *a, const int8_t *b, size_t dim)
{
    int32_t s = 0;
    for (size_t i = 0; i < dim; i++) {
        int32_t d = (int32_t)a[i] - (int32_t)b[i];
        s += d * d;
    }
    return s;
}

static int32_t simd_dot_i8_scalar(const int8_t *a, const int8_t *b, size_t dim)
{
    int32_t s = 0;
    for (size_t i = 0; i < dim; i++)
        s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

static float simd_cos_i8_scalar(const int8_t *a, const int8_t *b, size_t dim)
{
    int32_t ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < dim; i++) {
        int32_t x = a[i], y = b[i];
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    return simd_cos_finish_i32(ab, aa, bb);
}

SIMD_SCALAR_X4(simd_l2sq_i8_scalar, int8_t, int32_t)
SIMD_SCALAR_X4(simd_dot_i8_scalar, int8_t, int32_t)
SIMD_SCALAR_X4(simd_cos_i8_scalar, int8_t, float)

/* --------------------------------------------------------------- binary */

/* Population count of a 64-bit word without the POPCNT instruction. */
static inline uint32_t simd_popcount64(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (uint32_t)((x * 0x0101010101010101ull) >> 56);
}

static inline uint64_t simd_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint32_t simd_hamming_scalar(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
    uint32_t n = 0;
    size_t i = 0;
    for (; i + 8 <= nbytes; i += 8)
        n += simd_popcount64(simd_load64(a + i) ^ simd_load64(b + i));
    for (; i < nbytes; i++)
        n += simd_popcount64((uint64_t)(a[i] ^ b[i]));
    return n;
}

SIMD_SCALAR_X4(simd_hamming_scalar, uint8_t, uint32_t)

static float simd_jaccard_scalar(const uint8_t *a, const uint8_t *b, size_t nbytes)
{
    uint32_t inter = 0, uni = 0;
    size_t i = 0;
    for (; i + 8 <= nbytes; i += 8) {
        uint64_t x = simd_load64(a + i), y = simd_load64(b + i);
        inter += simd_popcount64(x & y);
        uni += simd_popcount64(x | y);
    }
    for (; i < nbytes; i++) {
        inter += simd_popcount64((uint64_t)(a[i] & b[i]));
        uni += simd_popcount64((uint64_t)(a[i] | b[i]));
    }
    return simd_jaccard_finish(inter, uni);
}

/* One 64-bit step of jaccard_x4, query word x against row word y: both
 * counts go into one 64-bit accumulator, |x & y| in the low half and
 * |x | y| in the high half. A half cannot carry into the other below 2^32
 * bits per row (512 MiB), and the packing halves the live counters: eight
 * separate ones, with the pointers and the popcount masks, do not fit the
 * sixteen x86-64 registers and spilled on every step. */
#define SIMD_JACCARD_STEP(acc, x, y)                                                          \
    acc += (uint64_t)simd_popcount64((x) & (y)) | (uint64_t)simd_popcount64((x) | (y)) << 32

static void simd_jaccard_x4_scalar(const uint8_t *q, const uint8_t *b0, const uint8_t *b1,
                                   const uint8_t *b2, const uint8_t *b3, size_t nbytes,
                                   float out[4])
{
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    size_t i = 0;
    for (; i + 8 <= nbytes; i += 8) {
        uint64_t x = simd_load64(q + i);
        SIMD_JACCARD_STEP(a0, x, simd_load64(b0 + i));
        SIMD_JACCARD_STEP(a1, x, simd_load64(b1 + i));
        SIMD_JACCARD_STEP(a2, x, simd_load64(b2 + i));
        SIMD_JACCARD_STEP(a3, x, simd_load64(b3 + i));
    }
    for (; i < nbytes; i++) {
        uint64_t x = q[i];
        SIMD_JACCARD_STEP(a0, x, (uint64_t)b0[i]);
        SIMD_JACCARD_STEP(a1, x, (uint64_t)b1[i]);
        SIMD_JACCARD_STEP(a2, x, (uint64_t)b2[i]);
        SIMD_JACCARD_STEP(a3, x, (uint64_t)b3[i]);
    }
    out[0] = simd_jaccard_finish((uint32_t)a0, (uint32_t)(a0 >> 32));
    out[1] = simd_jaccard_finish((uint32_t)a1, (uint32_t)(a1 >> 32));
    out[2] = simd_jaccard_finish((uint32_t)a2, (uint32_t)(a2 >> 32));
    out[3] = simd_jaccard_finish((uint32_t)a3, (uint32_t)(a3 >> 32));
}

#undef SIMD_JACCARD_STEP

/* ---------------------------------------------------------------- table */

const simd_kernels simd_kernels_scalar = {
    .level = SIMD_SCALAR,
    .l2sq_f32 = simd_l2sq_f32_scalar,
    .dot_f32 = simd_dot_f32_scalar,
    .cos_f32 = simd_cos_f32_scalar,
    .l2sq_f32_x4 = simd_l2sq_f32_scalar_x4,
    .dot_f32_x4 = simd_dot_f32_scalar_x4,
    .cos_f32_x4 = simd_cos_f32_scalar_x4,
    .l2sq_f16 = simd_l2sq_f16_scalar,
    .dot_f16 = simd_dot_f16_scalar,
    .cos_f16 = simd_cos_f16_scalar,
    .l2sq_f16_x4 = simd_l2sq_f16_scalar_x4,
    .dot_f16_x4 = simd_dot_f16_scalar_x4,
    .cos_f16_x4 = simd_cos_f16_scalar_x4,
    .l2sq_bf16 = simd_l2sq_bf16_scalar,
    .dot_bf16 = simd_dot_bf16_scalar,
    .cos_bf16 = simd_cos_bf16_scalar,
    .l2sq_bf16_x4 = simd_l2sq_bf16_scalar_x4,
    .dot_bf16_x4 = simd_dot_bf16_scalar_x4,
    .cos_bf16_x4 = simd_cos_bf16_scalar_x4,
    .l2sq_i8 = simd_l2sq_i8_scalar,
    .dot_i8 = simd_dot_i8_scalar,
    .l2sq_i8_x4 = simd_l2sq_i8_scalar_x4,
    .dot_i8_x4 = simd_dot_i8_scalar_x4,
    .hamming = simd_hamming_scalar,
    .hamming_x4 = simd_hamming_scalar_x4,
    .jaccard = simd_jaccard_scalar,
    .cos_i8 = simd_cos_i8_scalar,
    .cos_i8_x4 = simd_cos_i8_scalar_x4,
    .jaccard_x4 = simd_jaccard_x4_scalar,
};
