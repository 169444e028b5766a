/*
 * test_index_concurrent.c -- writers inserting into an HNSW graph (row by
 * row, a multi-threaded bulk build, or the caller's threads through
 * index_parallel_add) while several threads search the same graph. Readers check every answer they get (rows already written to the
 * column, exact distances, sorted, no duplicates); afterwards validate()
 * holds and recall against FLAT is high. Run under ThreadSanitizer by
 * `make tsan`.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "simd/simd.h"
#include "test_index_util.h"

static uint64_t g_seed;

#define DIM 16u
#if defined(__SANITIZE_THREAD__)
#define N 3000u /* ThreadSanitizer runs the graph walk ~20x slower */
#else
#define N 6000u
#endif
#define READERS 3

typedef struct shared {
    vindex *idx;
    const float *data;
    _Atomic int done;
    _Atomic long searches, bad;
    const char *quant;
} shared;

static float l2(const float *a, const float *b)
{
    float s = 0;
    for (uint32_t i = 0; i < DIM; i++)
        s += (a[i] - b[i]) * (a[i] - b[i]);
    return s;
}

static void *reader(void *arg)
{
    shared *s = arg;
    tu_rng r = {g_seed ^ (uint64_t)(uintptr_t)pthread_self()};
    char err[256];
    index_hit hits[10];
    long local = 0;
    while (!atomic_load(&s->done) || local < 20) {
        uint32_t qi = (uint32_t)(tu_next(&r) % N);
        const float *q = s->data + (size_t)qi * DIM;
        index_search_params p = {.ef = 24};
        uint32_t before = index_count(s->idx);
        long nh;
        if (local % 5 == 4) {
            index_hits rh = {0};
            nh = index_range_search(s->idx, q, 0.5f, &p, &rh, err, sizeof(err));
            if (nh < 0 || (size_t)nh != rh.n) atomic_fetch_add(&s->bad, 1);
            for (size_t j = 0; j < rh.n; j++)
                if (rh.v[j].row >= N || rh.v[j].dist > 0.5f) atomic_fetch_add(&s->bad, 1);
            index_hits_free(&rh);
        } else {
            nh = index_search(s->idx, q, 10, &p, hits, err, sizeof(err));
            long want = before < 10 ? before : 10;
            if (nh < want || nh > 10) atomic_fetch_add(&s->bad, 1);
            for (long j = 0; j < nh; j++) {
                uint32_t row = hits[j].row;
                if (row >= N) {
                    atomic_fetch_add(&s->bad, 1);
                    continue;
                }
                float d = l2(q, s->data + (size_t)row * DIM);
                if (fabsf(d - hits[j].dist) > 1e-3f * (d + 1)) atomic_fetch_add(&s->bad, 1);
                if (j && hits[j - 1].dist > hits[j].dist) atomic_fetch_add(&s->bad, 1);
                for (long k = 0; k < j; k++)
                    if (hits[k].row == row) atomic_fetch_add(&s->bad, 1);
            }
        }
        local++;
    }
    atomic_fetch_add(&s->searches, local);
    return NULL;
}

static double recall_vs_flat(vindex *h, const float *data)
{
    index_column col = tu_column(data, DIM * 4);
    char err[256];
    vindex *f =
        index_new("FLAT", INDEX_ELEM_F32, INDEX_METRIC_L2, DIM, &col, NULL, 0, err, sizeof(err));
    assert_int_equal(index_build(f, N, 1, err, sizeof(err)), 0);
    double sum = 0;
    for (uint32_t i = 0; i < 100; i++) {
        const float *q = data + (size_t)(i * 37 % N) * DIM;
        index_hit ex[10], got[10];
        index_search_params p = {.ef = 64};
        long ne = index_search(f, q, 10, NULL, ex, err, sizeof(err));
        long ng = index_search(h, q, 10, &p, got, err, sizeof(err));
        sum += tu_recall(ex, ne, got, ng);
    }
    index_free(f);
    return sum / 100;
}

#define PARALLEL_ADDS 0xffffu /* run(): writers are the test's own threads */
#define ADDERS 3

typedef struct adder {
    vindex *idx;
    _Atomic uint32_t next;
    uint32_t end;
    _Atomic int failed;
} adder;

static void *adder_main(void *arg)
{
    adder *a = arg;
    char err[256];
    for (;;) {
        uint32_t row = atomic_fetch_add(&a->next, 1);
        if (row >= a->end) return NULL;
        if (index_parallel_add(a->idx, row, err, sizeof(err))) atomic_store(&a->failed, 1);
    }
}

/* Rows [count, N) in steps, each step added by ADDERS threads at once and
 * published at its end. */
static void add_in_parallel(vindex *idx)
{
    char err[256];
    while (index_count(idx) < INDEX_PARALLEL_MIN)
        assert_int_equal(index_add(idx, index_count(idx), err, sizeof(err)), 0);
    for (uint32_t from = index_count(idx); from < N; from = index_count(idx)) {
        uint32_t to = from + 700 < N ? from + 700 : N;
        assert_true(index_can_add_parallel(idx));
        if (index_parallel_begin(idx, to, err, sizeof(err))) fail_msg("%s", err);
        adder a = {.idx = idx, .end = to};
        atomic_init(&a.next, from);
        atomic_init(&a.failed, 0);
        pthread_t tid[ADDERS];
        for (int i = 0; i < ADDERS; i++)
            assert_int_equal(pthread_create(&tid[i], NULL, adder_main, &a), 0);
        for (int i = 0; i < ADDERS; i++)
            pthread_join(tid[i], NULL);
        assert_int_equal(atomic_load(&a.failed), 0);
        assert_int_equal(index_count(idx), from); /* nothing published yet */
        index_parallel_end(idx, to);
        assert_int_equal(index_count(idx), to);
    }
}

static void run(const char *quant, unsigned build_threads)
{
    tu_rng r = {g_seed};
    float *data = tu_clustered(&r, N, DIM, 30, 0.3f);
    index_column col = tu_column(data, DIM * 4);
    char err[256];
    index_param ps[] = {{"QUANT", quant}, {"M", "8"}, {"EFC", "60"}};
    shared s = {.data = data, .quant = quant};
    s.idx = index_new("HNSW", INDEX_ELEM_F32, INDEX_METRIC_L2, DIM, &col, ps, 3, err, sizeof(err));
    assert_non_null(s.idx);
    atomic_init(&s.done, 0);
    atomic_init(&s.searches, 0);
    atomic_init(&s.bad, 0);
    /* A few rows first so readers have something to find. */
    for (uint32_t i = 0; i < 20; i++)
        assert_int_equal(index_add(s.idx, i, err, sizeof(err)), 0);
    pthread_t tid[READERS];
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&tid[i], NULL, reader, &s), 0);
    if (build_threads == 0) {
        for (uint32_t i = 20; i < N; i++)
            assert_int_equal(index_add(s.idx, i, err, sizeof(err)), 0);
    } else if (build_threads == PARALLEL_ADDS) {
        add_in_parallel(s.idx);
    } else {
        /* Grow in steps so the chunk table is replaced while readers hold the old one. */
        for (uint32_t to = N / 2; to <= N; to += N / 2)
            if (index_build(s.idx, to, build_threads, err, sizeof(err))) fail_msg("%s", err);
    }
    atomic_store(&s.done, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(tid[i], NULL);
    printf("  QUANT %s, writer %s: %ld concurrent searches, %ld bad answers\n", quant,
           build_threads == PARALLEL_ADDS ? "index_parallel_add"
           : build_threads           ? "bulk build (threads)"
                                     : "index_add",
           atomic_load(&s.searches),
           atomic_load(&s.bad));
    assert_int_equal(atomic_load(&s.bad), 0);
    assert_int_equal(index_count(s.idx), N);
    if (index_validate(s.idx, err, sizeof(err))) fail_msg("validate: %s", err);
    double rec = recall_vs_flat(s.idx, data);
    printf("  recall@10 after the concurrent build: %.4f\n", rec);
    assert_true(rec >= 0.95);
    index_free(s.idx);
    free(data);
}

static void test_add_while_searching(void **state)
{
    (void)state;
    run("NONE", 0);
}

static void test_build_while_searching(void **state)
{
    (void)state;
    run("NONE", 3);
}

static void test_sq8_build_while_searching(void **state)
{
    (void)state;
    run("SQ8", 2);
}

static void test_parallel_adds_while_searching(void **state)
{
    (void)state;
    run("NONE", PARALLEL_ADDS);
}

static void test_sq8_parallel_adds_while_searching(void **state)
{
    (void)state;
    run("SQ8", PARALLEL_ADDS);
}

/* Parallel adds are refused, with a message, by a type without them (FLAT)
 * and by a graph still too small to link well. */
static void test_parallel_adds_refused(void **state)
{
    (void)state;
    tu_rng r = {g_seed + 3};
    float *data = tu_clustered(&r, N, DIM, 30, 0.3f);
    index_column col = tu_column(data, DIM * 4);
    char err[256];
    vindex *f =
        index_new("FLAT", INDEX_ELEM_F32, INDEX_METRIC_L2, DIM, &col, NULL, 0, err, sizeof(err));
    assert_int_equal(index_build(f, N / 2, 1, err, sizeof(err)), 0);
    assert_false(index_can_add_parallel(f));
    assert_int_equal(index_parallel_begin(f, N, err, sizeof(err)), -1);
    assert_string_equal(err, "FLAT index can't add rows in parallel now");
    index_free(f);
    vindex *h =
        index_new("HNSW", INDEX_ELEM_F32, INDEX_METRIC_L2, DIM, &col, NULL, 0, err, sizeof(err));
    assert_int_equal(index_build(h, INDEX_PARALLEL_MIN - 1, 1, err, sizeof(err)), 0);
    assert_false(index_can_add_parallel(h));
    assert_int_equal(index_parallel_begin(h, N, err, sizeof(err)), -1);
    assert_string_equal(err, "HNSW index can't add rows in parallel now");
    assert_int_equal(index_add(h, INDEX_PARALLEL_MIN - 1, err, sizeof(err)), 0);
    assert_true(index_can_add_parallel(h));
    index_free(h);
    free(data);
}

/* Two indexes built with several threads from the same rows give the same
 * level for each row and a valid graph; a single-thread build is identical
 * to itself (reproducible). */
static void test_parallel_build_valid(void **state)
{
    (void)state;
    tu_rng r = {g_seed + 5};
    float *data = tu_clustered(&r, N, DIM, 30, 0.3f);
    index_column col = tu_column(data, DIM * 4);
    char err[256];
    for (unsigned t = 2; t <= 4; t += 2) {
        vindex *h = index_new("HNSW", INDEX_ELEM_F32, INDEX_METRIC_L2, DIM, &col, NULL, 0, err,
                              sizeof(err));
        assert_int_equal(index_build(h, N, t, err, sizeof(err)), 0);
        if (index_validate(h, err, sizeof(err))) fail_msg("validate: %s", err);
        double rec = recall_vs_flat(h, data);
        printf("  %u-thread build: recall@10 %.4f\n", t, rec);
        assert_true(rec >= 0.95);
        index_free(h);
    }
    free(data);
}

int main(void)
{
    simd_init();
    g_seed = tu_seed("test_index_concurrent");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_while_searching),
        cmocka_unit_test(test_build_while_searching),
        cmocka_unit_test(test_sq8_build_while_searching),
        cmocka_unit_test(test_parallel_build_valid),
        cmocka_unit_test(test_parallel_adds_while_searching),
        cmocka_unit_test(test_sq8_parallel_adds_while_searching),
        cmocka_unit_test(test_parallel_adds_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
