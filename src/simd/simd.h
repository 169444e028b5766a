/*
 * simd.h -- distance kernels with run-time dispatch.
 *
 * Every distance vectis computes goes through the table `simd` points to.
 * simd_init() detects the CPU once (cpuid on x86-64, compile-time on
 * aarch64) and fills the table with the best kernel of each kind; nothing
 * re-checks CPU features in a hot loop. The scalar kernels are the reference
 * and the fallback: every ISA variant is tested against them.
 *
 * Conventions, for every kernel:
 *   - `dim` is the number of elements (for binary vectors: bytes).
 *   - Pointers need no particular alignment.
 *   - l2sq returns the squared Euclidean distance; dot returns the inner
 *     product; cos returns the cosine DISTANCE 1 - a.b / (|a| |b|), and 1
 *     when either vector has zero norm. It is clamped to [0, 2], so rounding
 *     never yields a negative distance for (nearly) identical vectors.
 *   - hamming returns the number of differing bits; jaccard returns the
 *     Jaccard distance 1 - |a & b| / |a | b| (0 when both are all-zero).
 *   - _x4 variants compute one query `q` against four vectors b0..b3 and
 *     write out[0..3]; they give the same result as four single calls up to
 *     floating-point reassociation (exactly the same for the integer-sum
 *     kernels: int8, hamming, jaccard).
 *   - int8 l2sq/dot return exact int32 sums: dot for dim < 2^17 (128^2 * 2^17
 *     = 2^31 would overflow), l2sq for dim <= 2^15 (255^2 * 2^15 < 2^31).
 *   - f16 is IEEE binary16, bf16 is bfloat16, both stored as uint16_t.
 *
 * Thread safety: simd_init() and simd_force() must run before other threads
 * use the table (start-up, or a test's setup). After that the table is
 * read-only and any thread may call any kernel.
 */
#ifndef VECTIS_SIMD_H
#define VECTIS_SIMD_H

#include <stddef.h>
#include <stdint.h>

typedef enum simd_level {
    SIMD_SCALAR = 0,
    SIMD_NEON = 1,   /* aarch64 builds */
    SIMD_AVX2 = 2,   /* AVX2 + FMA + F16C */
    SIMD_AVX512 = 3, /* AVX-512 F/BW/DQ/VL (+VPOPCNTDQ when present) */
} simd_level;

typedef float (*simd_f32_fn)(const float *a, const float *b, size_t dim);
typedef void (*simd_f32_x4_fn)(const float *q, const float *b0, const float *b1, const float *b2,
                               const float *b3, size_t dim, float out[4]);
typedef float (*simd_u16_fn)(const uint16_t *a, const uint16_t *b, size_t dim);
typedef void (*simd_u16_x4_fn)(const uint16_t *q, const uint16_t *b0, const uint16_t *b1,
                               const uint16_t *b2, const uint16_t *b3, size_t dim, float out[4]);
typedef int32_t (*simd_i8_fn)(const int8_t *a, const int8_t *b, size_t dim);
typedef void (*simd_i8_x4_fn)(const int8_t *q, const int8_t *b0, const int8_t *b1,
                              const int8_t *b2, const int8_t *b3, size_t dim, int32_t out[4]);
typedef uint32_t (*simd_bin_fn)(const uint8_t *a, const uint8_t *b, size_t nbytes);
typedef void (*simd_bin_x4_fn)(const uint8_t *q, const uint8_t *b0, const uint8_t *b1,
                               const uint8_t *b2, const uint8_t *b3, size_t nbytes,
                               uint32_t out[4]);
typedef float (*simd_jac_fn)(const uint8_t *a, const uint8_t *b, size_t nbytes);
typedef void (*simd_jac_x4_fn)(const uint8_t *q, const uint8_t *b0, const uint8_t *b1,
                               const uint8_t *b2, const uint8_t *b3, size_t nbytes,
                               float out[4]);
typedef float (*simd_i8_cos_fn)(const int8_t *a, const int8_t *b, size_t dim);
typedef void (*simd_i8_cos_x4_fn)(const int8_t *q, const int8_t *b0, const int8_t *b1,
                                  const int8_t *b2, const int8_t *b3, size_t dim, float out[4]);

typedef struct simd_kernels {
    simd_level level;

    simd_f32_fn l2sq_f32, dot_f32, cos_f32;
    simd_f32_x4_fn l2sq_f32_x4, dot_f32_x4, cos_f32_x4;

    simd_u16_fn l2sq_f16, dot_f16, cos_f16;
    simd_u16_x4_fn l2sq_f16_x4, dot_f16_x4, cos_f16_x4;

    simd_u16_fn l2sq_bf16, dot_bf16, cos_bf16;
    simd_u16_x4_fn l2sq_bf16_x4, dot_bf16_x4, cos_bf16_x4;

    simd_i8_fn l2sq_i8, dot_i8;
    simd_i8_x4_fn l2sq_i8_x4, dot_i8_x4;

    simd_bin_fn hamming;
    simd_bin_x4_fn hamming_x4;
    simd_jac_fn jaccard;

    /* Added after the first release of this table: int8 cosine distance in
     * one pass (a.b, |a|^2, |b|^2 as exact int32 sums, combined in double),
     * instead of three dot_i8 calls. Same limits as dot_i8. */
    simd_i8_cos_fn cos_i8;
    simd_i8_cos_x4_fn cos_i8_x4;

    /* Added later still: Jaccard of one query against four rows, sharing
     * the query loads. Bit-identical to four jaccard calls (the counts are
     * exact integers and the finishing step is shared), including 0 for an
     * all-zero pair. */
    simd_jac_x4_fn jaccard_x4;
} simd_kernels;

/* The active table. Never NULL: before simd_init() it points at the scalar
 * table (correct, slow); simd_init() switches it to the best level. */
extern const simd_kernels *simd;

/* Detects the CPU and fills the table with the best level available, capped
 * by the environment variable VECTIS_SIMD (scalar|neon|avx2|avx512, any case)
 * when set; an unknown value is ignored with one warning on stderr. Re-reads
 * the variable on each call; idempotent; returns the level chosen. */
simd_level simd_init(void);

/* Forces a level no higher than what the CPU supports (tests, benchmarks).
 * Returns the level actually in effect. */
simd_level simd_force(simd_level level);

/* Highest level this CPU and build support. */
simd_level simd_best_level(void);

/* The kernel table of one level, or NULL when the CPU or build lacks it.
 * Tests use it to compare each ISA against the scalar reference. */
const simd_kernels *simd_table(simd_level level);

/* "scalar", "neon", "avx2", "avx512". */
const char *simd_level_name(simd_level level);

/* Conversions used by callers that store f16/bf16 columns. */
float simd_f16_to_f32(uint16_t h);
uint16_t simd_f32_to_f16(float f);
float simd_bf16_to_f32(uint16_t h);
uint16_t simd_f32_to_bf16(float f);

#endif
