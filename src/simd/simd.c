/*
 * simd.c -- CPU detection, kernel-table selection and f16/bf16 conversions.
 *
 * Detection runs once (pthread_once) and records which tables this CPU can
 * run. A level is usable only when the CPU has every instruction its file
 * was compiled for AND the operating system saves the matching register
 * state (XGETBV): a kernel with YMM/ZMM registers on an OS that does not
 * preserve them across context switches would corrupt other processes'
 * sums, or fault.
 *
 *   AVX2    needs AVX, AVX2, FMA, F16C, POPCNT and OS-saved XMM|YMM state.
 *   AVX-512 needs AVX2 as above plus AVX-512 F, BW, DQ, VL and OS-saved
 *           opmask|ZMM state. Two entries depend on further bits checked
 *           separately: Hamming/Jaccard use VPOPCNTDQ when present (else the
 *           AVX2 vpshufb kernels), int8 uses VNNI when present (else the
 *           AVX-512BW madd kernels).
 *   NEON    is part of the aarch64 baseline; no run-time check is needed.
 *
 * The ISA files export constant tables; this file keeps writable copies
 * only for the levels it has to patch, fills them once at detection, and
 * never writes them again, so readers on any thread see a constant table.
 * `simd` starts out pointing at the scalar table, so a caller that forgot
 * simd_init() gets correct (slow) results rather than a NULL call.
 *
 * VECTIS_SIMD=scalar|neon|avx2|avx512 caps the level simd_init() picks
 * (benchmarks, bug reports, working around a broken kernel in the field).
 * simd_init() re-reads it on every call, so it is idempotent for a fixed
 * environment and a test can exercise it with setenv(). An unknown value is
 * reported on stderr once and ignored.
 *
 * Threading: simd_init() and simd_force() write the `simd` pointer and must
 * run before other threads call kernels (simd.h). simd_table(),
 * simd_best_level() and the conversions are safe from any thread.
 *
 * Rejected: GCC's ifunc / target_clones (resolver order is opaque, cannot be
 * forced from tests or the environment, and does not exist on every
 * toolchain); __builtin_cpu_supports (its OS-state handling and the subsets
 * it knows vary with the compiler version, and it hides the raw bits that
 * the patching below needs).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "simd/simd_internal.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

const simd_kernels *simd = &simd_kernels_scalar;

static pthread_once_t simd_detect_once = PTHREAD_ONCE_INIT;
static const simd_kernels *simd_tables[SIMD_AVX512 + 1];

/* ------------------------------------------------------------ detection */

#if defined(__x86_64__)

/* CPUID.1:ECX bits. */
#define SIMD_CPUID1_ECX_FMA (1u << 12)
#define SIMD_CPUID1_ECX_POPCNT (1u << 23)
#define SIMD_CPUID1_ECX_OSXSAVE (1u << 27)
#define SIMD_CPUID1_ECX_AVX (1u << 28)
#define SIMD_CPUID1_ECX_F16C (1u << 29)
/* CPUID.(7,0):EBX bits. */
#define SIMD_CPUID7_EBX_AVX2 (1u << 5)
#define SIMD_CPUID7_EBX_AVX512F (1u << 16)
#define SIMD_CPUID7_EBX_AVX512DQ (1u << 17)
#define SIMD_CPUID7_EBX_AVX512BW (1u << 30)
#define SIMD_CPUID7_EBX_AVX512VL (1u << 31)
/* CPUID.(7,0):ECX bits. */
#define SIMD_CPUID7_ECX_AVX512VNNI (1u << 11)
#define SIMD_CPUID7_ECX_AVX512VPOPCNTDQ (1u << 14)
/* XCR0 state components: SSE (1), AVX upper halves (2); opmask (5), upper
 * halves of ZMM0-15 (6), ZMM16-31 (7). */
#define SIMD_XCR0_YMM 0x06u
#define SIMD_XCR0_ZMM 0xe0u

static simd_kernels simd_table_avx512;

static uint64_t simd_xgetbv0(void)
{
    uint32_t lo, hi;
    /* The _xgetbv intrinsic would need -mxsave for this whole file. */
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static void simd_detect_x86(void)
{
    unsigned int a, b, c, d;
    unsigned int ecx1, ebx7 = 0, ecx7 = 0;

    if (!__get_cpuid(1, &a, &b, &c, &d))
        return;
    ecx1 = c;
    if (__get_cpuid_max(0, NULL) >= 7 && __get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        ebx7 = b;
        ecx7 = c;
    }
    if (!(ecx1 & SIMD_CPUID1_ECX_OSXSAVE))
        return;
    uint64_t xcr0 = simd_xgetbv0();

    uint32_t need1 = SIMD_CPUID1_ECX_FMA | SIMD_CPUID1_ECX_POPCNT | SIMD_CPUID1_ECX_AVX |
                     SIMD_CPUID1_ECX_F16C;
    int avx2 = (ecx1 & need1) == need1 && (ebx7 & SIMD_CPUID7_EBX_AVX2) &&
               (xcr0 & SIMD_XCR0_YMM) == SIMD_XCR0_YMM;
    if (!avx2)
        return;
    simd_tables[SIMD_AVX2] = &simd_kernels_avx2;

    uint32_t need7 = SIMD_CPUID7_EBX_AVX512F | SIMD_CPUID7_EBX_AVX512DQ |
                     SIMD_CPUID7_EBX_AVX512BW | SIMD_CPUID7_EBX_AVX512VL;
    int avx512 = (ebx7 & need7) == need7 && (xcr0 & SIMD_XCR0_ZMM) == SIMD_XCR0_ZMM;
    if (!avx512)
        return;
    simd_table_avx512 = simd_kernels_avx512;
    if (ecx7 & SIMD_CPUID7_ECX_AVX512VPOPCNTDQ) {
        simd_table_avx512.hamming = simd_hamming_avx512vpopcnt;
        simd_table_avx512.hamming_x4 = simd_hamming_x4_avx512vpopcnt;
        simd_table_avx512.jaccard = simd_jaccard_avx512vpopcnt;
        simd_table_avx512.jaccard_x4 = simd_jaccard_x4_avx512vpopcnt;
    } else {
        simd_table_avx512.hamming = simd_kernels_avx2.hamming;
        simd_table_avx512.hamming_x4 = simd_kernels_avx2.hamming_x4;
        simd_table_avx512.jaccard = simd_kernels_avx2.jaccard;
        simd_table_avx512.jaccard_x4 = simd_kernels_avx2.jaccard_x4;
    }
    if (ecx7 & SIMD_CPUID7_ECX_AVX512VNNI) {
        simd_table_avx512.dot_i8 = simd_dot_i8_avx512vnni;
        simd_table_avx512.l2sq_i8 = simd_l2sq_i8_avx512vnni;
        simd_table_avx512.dot_i8_x4 = simd_dot_i8_x4_avx512vnni;
        simd_table_avx512.l2sq_i8_x4 = simd_l2sq_i8_x4_avx512vnni;
    }
    simd_tables[SIMD_AVX512] = &simd_table_avx512;
}

#endif

static void simd_detect(void)
{
    simd_tables[SIMD_SCALAR] = &simd_kernels_scalar;
#if defined(__x86_64__)
    simd_detect_x86();
#elif defined(__aarch64__)
    simd_tables[SIMD_NEON] = &simd_kernels_neon;
#endif
}

/* -------------------------------------------------------------- levels */

const simd_kernels *simd_table(simd_level level)
{
    if ((unsigned)level > SIMD_AVX512)
        return NULL;
    pthread_once(&simd_detect_once, simd_detect);
    return simd_tables[level];
}

simd_level simd_best_level(void)
{
    for (int l = SIMD_AVX512; l > SIMD_SCALAR; l--)
        if (simd_table((simd_level)l) != NULL)
            return (simd_level)l;
    return SIMD_SCALAR;
}

simd_level simd_force(simd_level level)
{
    int l = (unsigned)level > SIMD_AVX512 ? SIMD_AVX512 : (int)level;
    for (; l > SIMD_SCALAR; l--)
        if (simd_table((simd_level)l) != NULL)
            break;
    simd = simd_table((simd_level)l);
    return simd->level;
}

const char *simd_level_name(simd_level level)
{
    switch (level) {
    case SIMD_SCALAR:
        return "scalar";
    case SIMD_NEON:
        return "neon";
    case SIMD_AVX2:
        return "avx2";
    case SIMD_AVX512:
        return "avx512";
    }
    return "unknown";
}

/* Parses a VECTIS_SIMD value; returns -1 when it names no level. */
static int simd_parse_level(const char *s)
{
    for (int l = SIMD_SCALAR; l <= SIMD_AVX512; l++)
        if (strcasecmp(s, simd_level_name((simd_level)l)) == 0)
            return l;
    return -1;
}

simd_level simd_init(void)
{
    static int warned; /* Only touched before threads start (simd.h). */
    simd_level cap = SIMD_AVX512;
    const char *env = getenv("VECTIS_SIMD");

    if (env != NULL && *env != '\0') {
        int l = simd_parse_level(env);
        if (l >= 0) {
            cap = (simd_level)l;
        } else if (!warned) {
            warned = 1;
            fprintf(stderr, "vectis: ignoring VECTIS_SIMD=%s (expected scalar|neon|avx2|avx512)\n",
                    env);
        }
    }
    return simd_force(cap);
}

/* --------------------------------------------------------- conversions */

float simd_f16_to_f32(uint16_t h)
{
    return simd_f16_to_f32_inline(h);
}

float simd_bf16_to_f32(uint16_t h)
{
    return simd_bf16_to_f32_inline(h);
}

/* binary32 -> binary16, rounding to nearest-even. Values at or above 65520
 * (halfway between the largest finite half, 65504, and 2^16) become
 * infinity; NaNs stay NaNs (made quiet, top payload bits kept). */
uint16_t simd_f32_to_f16(float f)
{
    uint32_t u = simd_f32_to_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;

    if (a >= 0x7f800000u) {
        if (a > 0x7f800000u)
            return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
        return (uint16_t)(sign | 0x7c00u);
    }
    if (a >= 0x477ff000u) /* 65520.0f */
        return (uint16_t)(sign | 0x7c00u);
    if (a >= 0x38800000u) { /* 2^-14, the smallest normal half */
        uint32_t h = (a - 0x38000000u) >> 13; /* rebias exponent 127 -> 15 */
        uint32_t rest = a & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
            h++; /* a carry into the exponent is the correct rounding */
        return (uint16_t)(sign | h);
    }
    /* Subnormal half: the result is round(|f| * 2^24) in units of 2^-24. */
    uint32_t e = a >> 23;
    if (e < 102) /* |f| < 2^-25 rounds to zero */
        return sign;
    uint32_t m = (a & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - e; /* 14..24 */
    uint32_t h = m >> shift;
    uint32_t rest = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (h & 1u)))
        h++;
    return (uint16_t)(sign | h);
}

/* binary32 -> bfloat16, rounding to nearest-even; NaNs stay NaNs (quiet). */
uint16_t simd_f32_to_bf16(float f)
{
    uint32_t u = simd_f32_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
