/*
 * tests/neon/cmocka.h -- a stand-in for the part of the cmocka API that
 * tests/unit/test_simd.c uses, so that `make test-neon` (tests/neon.mk) can
 * cross-compile that file unchanged for aarch64 and run it under qemu-aarch64
 * without an aarch64 build of libcmocka. The cross build puts -Itests/neon
 * first, so `#include <cmocka.h>` lands here; native builds never see it.
 *
 * What it provides: struct CMUnitTest, cmocka_unit_test(),
 * cmocka_run_group_tests() with group setup/teardown, assert_true,
 * assert_int_equal, assert_null, assert_non_null, assert_ptr_equal,
 * assert_string_equal, fail(), skip() and print_error(). Semantics follow the
 * cmocka documentation: a failed assertion prints where and why and ends the
 * current test (longjmp back to the runner), the other tests still run, a
 * failure in the group setup fails every test, and the run's result is the
 * number of failed tests. The progress lines use cmocka's layout
 * ("[ RUN      ]", "[       OK ]", "[  PASSED  ] N test(s).") so the output
 * reads like every other unit test's.
 *
 * Not provided (test_simd.c does not use them): mocks, expect_*, per-test
 * setup/teardown, memory-leak checks, test filters, XML output. A test file
 * that needs them fails to compile here rather than silently passing.
 *
 * Rejected: installing libcmocka-dev:arm64 through multiarch (see
 * utils/install-cross.sh: it rewrites the machine's apt configuration for
 * everyone, and Debian ships no static libcmocka.a to link with -static);
 * building cmocka from source (no source is fetched here, only packages).
 *
 * Single-threaded: the runner and the assertions share one jump buffer.
 * Written for this project from the documented API; no cmocka code.
 */
#ifndef VECTIS_TESTS_NEON_CMOCKA_H
#define VECTIS_TESTS_NEON_CMOCKA_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*CMUnitTestFunction)(void **state);
typedef int (*CMFixtureFunction)(void **state);

struct CMUnitTest {
    const char *name;
    CMUnitTestFunction test_func;
};

#define cmocka_unit_test(f) {#f, f}

/* How a test ended; the values are what longjmp carries (never 0). */
enum { CMLITE_FAILED = 1, CMLITE_SKIPPED = 2 };

/* The runner's jump buffer; only valid while a test or fixture runs. */
static jmp_buf cmlite_jump;

static inline void print_error(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

static inline void print_error(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vfprintf(stderr, format, ap);
    va_end(ap);
}

static inline _Noreturn void cmlite_end(int how)
{
    longjmp(cmlite_jump, how);
}

static inline void cmlite_check(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static inline void cmlite_check(int ok, const char *file, int line, const char *fmt, ...)
{
    if (ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n%s:%d: error: Failure!\n", file, line);
    cmlite_end(CMLITE_FAILED);
}

#define fail() cmlite_check(0, __FILE__, __LINE__, "%s", "fail()")
#define skip() cmlite_end(CMLITE_SKIPPED)

#define assert_true(c) cmlite_check(!!(c), __FILE__, __LINE__, "%s", #c)

#define assert_int_equal(a, b)                                                                 \
    do {                                                                                       \
        uintmax_t cmlite_a_ = (uintmax_t)(a), cmlite_b_ = (uintmax_t)(b);                      \
        cmlite_check(cmlite_a_ == cmlite_b_, __FILE__, __LINE__,                               \
                     "%" PRIuMAX " (%#" PRIxMAX ") != %" PRIuMAX " (%#" PRIxMAX ")", cmlite_a_,  \
                     cmlite_a_, cmlite_b_, cmlite_b_);                                         \
    } while (0)

#define assert_null(p) cmlite_check((p) == NULL, __FILE__, __LINE__, "%s is not NULL", #p)
#define assert_non_null(p) cmlite_check((p) != NULL, __FILE__, __LINE__, "%s is NULL", #p)

#define assert_ptr_equal(a, b)                                                                 \
    do {                                                                                       \
        const void *cmlite_a_ = (a), *cmlite_b_ = (b);                                         \
        cmlite_check(cmlite_a_ == cmlite_b_, __FILE__, __LINE__, "%p != %p", cmlite_a_,        \
                     cmlite_b_);                                                               \
    } while (0)

#define assert_string_equal(a, b)                                                              \
    do {                                                                                       \
        const char *cmlite_a_ = (a), *cmlite_b_ = (b);                                         \
        cmlite_check(cmlite_a_ != NULL && cmlite_b_ != NULL && strcmp(cmlite_a_, cmlite_b_) == 0, \
                     __FILE__, __LINE__, "\"%s\" != \"%s\"", cmlite_a_ ? cmlite_a_ : "(null)", \
                     cmlite_b_ ? cmlite_b_ : "(null)");                                        \
    } while (0)

/* Runs a fixture; returns 0 when it returned 0 without failing an assertion.
 * `volatile` because the value must survive the longjmp back into this
 * frame. */
static inline int cmlite_run_fixture(CMFixtureFunction fn, void **state, const char *what)
{
    volatile int rc = 0;
    if (fn == NULL)
        return 0;
    if (setjmp(cmlite_jump) == 0)
        rc = fn(state);
    else
        rc = -1;
    if (rc != 0)
        printf("[  ERROR   ] --- %s failed\n", what);
    return rc;
}

/* Runs one test; returns 0 when it passed, else CMLITE_FAILED or
 * CMLITE_SKIPPED. The setjmp lives here, apart from the runner's counters,
 * so no counter can be clobbered by the longjmp. */
static inline int cmlite_run_one(CMUnitTestFunction fn, void **state)
{
    int how = setjmp(cmlite_jump);
    if (how == 0)
        fn(state);
    return how;
}

/* Runs every test in order between the group fixtures; returns the number
 * of tests that failed (all of them when the group setup fails). */
static inline int cmlite_run_group(const char *group, const struct CMUnitTest *tests, size_t n,
                                   CMFixtureFunction setup, CMFixtureFunction teardown)
{
    void *state = NULL;
    size_t passed = 0, skipped = 0, failed = 0;

    printf("[==========] %s: Running %zu test(s).\n", group, n);
    fflush(stdout);
    if (cmlite_run_fixture(setup, &state, "group setup") != 0) {
        printf("[  FAILED  ] %s: %zu test(s), group setup failed.\n", group, n);
        return (int)n;
    }
    for (size_t i = 0; i < n; i++) {
        void *test_state = state;
        printf("[ RUN      ] %s\n", tests[i].name);
        fflush(stdout);
        int how = cmlite_run_one(tests[i].test_func, &test_state);
        if (how == 0) {
            passed++;
            printf("[       OK ] %s\n", tests[i].name);
        } else if (how == CMLITE_SKIPPED) {
            skipped++;
            printf("[  SKIPPED ] %s\n", tests[i].name);
        } else {
            failed++;
            printf("[  FAILED  ] %s\n", tests[i].name);
        }
        fflush(stdout);
    }
    if (cmlite_run_fixture(teardown, &state, "group teardown") != 0)
        failed++;
    printf("[==========] %s: %zu test(s) run.\n", group, n);
    printf("[  PASSED  ] %zu test(s).\n", passed);
    if (skipped > 0)
        printf("[  SKIPPED ] %zu test(s).\n", skipped);
    if (failed > 0)
        printf("[  FAILED  ] %zu test(s).\n", failed);
    fflush(stdout);
    return (int)failed;
}

#define cmocka_run_group_tests(tests, setup, teardown)                                         \
    cmlite_run_group(#tests, (tests), sizeof(tests) / sizeof((tests)[0]), (setup), (teardown))

#endif
