/*
 * test_engine.c -- unit tests of src/engine/: collections, segments, the
 * primary-key map, MVCC snapshots, search (index + exact tail), filters,
 * ranges and random picks. Without hooks the engine indexes inline, so the
 * tests are deterministic; one test simulates a lagging index to exercise
 * the exact scan of the unindexed tail, and one runs the background index
 * jobs on threads of its own to exercise the parallel catch-up (gangs). Seed printed; ENGINE_TEST_SEED
 * replays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/collection_impl.h"
#include "engine/engine.h"
#include "engine/expr.h"

static uint64_t seed, rs;

static double frand(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0 * 2 - 1;
}

static collection *vset(uint32_t dim, vset_quant q)
{
    collection_spec sp;
    memset(&sp, 0, sizeof(sp));
    sp.dim = dim;
    sp.elem = INDEX_ELEM_F32;
    sp.metric = INDEX_METRIC_IP;
    sp.index_type = "HNSW";
    sp.M = 16;
    sp.efc = 100;
    sp.quant = q;
    sp.normalize = 1;
    sp.from_vadd = 1;
    char err[256];
    collection *c = collection_new(&sp, err, sizeof(err));
    assert_non_null(c);
    return c;
}

static void key_of(int i, char *buf)
{
    sprintf(buf, "e%06d", i);
}

static size_t search(collection *c, const float *q, size_t k, int exact, const char *filter,
                     char keys[][16], float *dists, engine_search **keep)
{
    search_request r;
    memset(&r, 0, sizeof(r));
    r.query = q;
    r.k = k;
    r.ef = 200;
    r.exact = exact;
    if (filter) {
        char err[256];
        r.filter = expr_compile(filter, strlen(filter), err, sizeof(err));
        assert_non_null(r.filter);
    }
    engine_search *s = engine_search_new(c, &r);
    if (keep) {
        *keep = s;
        return 0;
    }
    engine_search_run(s);
    const engine_hit *h;
    size_t n = engine_search_hits(s, &h);
    for (size_t i = 0; i < n; i++) {
        snprintf(keys[i], 16, "%.*s", (int)h[i].klen, h[i].key);
        if (dists) dists[i] = h[i].dist;
    }
    engine_search_free(s);
    return n;
}

static void test_upsert_delete_counts(void **state)
{
    (void)state;
    collection *c = vset(4, VSET_NOQUANT);
    float v[4] = {1, 0, 0, 0};
    assert_int_equal(collection_upsert(c, "a", 1, v, NULL, 0, 0), 1);
    assert_int_equal(collection_upsert(c, "b", 1, v, "{\"x\":1}", 7, 1), 1);
    assert_int_equal(collection_rows(c), 2);
    assert_int_equal(collection_attr_count(c), 1);
    v[1] = 3;
    assert_int_equal(collection_upsert(c, "a", 1, v, NULL, 0, 0), 0); /* update */
    assert_int_equal(collection_rows(c), 2);
    float got[4], norm;
    assert_true(collection_get_vector(c, "a", 1, got, &norm));
    assert_float_equal(norm, sqrtf(10), 1e-5);
    assert_float_equal(got[1] * norm, 3, 1e-5);
    /* update without attr keeps the attribute; an empty one removes it */
    v[2] = 1;
    assert_int_equal(collection_upsert(c, "b", 1, v, NULL, 0, 0), 0);
    const char *a;
    size_t al;
    assert_true(collection_get_attr(c, "b", 1, &a, &al));
    assert_memory_equal(a, "{\"x\":1}", 7);
    assert_int_equal(collection_set_attr(c, "b", 1, "", 0), 1);
    assert_true(collection_get_attr(c, "b", 1, &a, &al));
    assert_null(a);
    assert_int_equal(collection_attr_count(c), 0);
    assert_int_equal(collection_set_attr(c, "zz", 2, "{}", 2), 0);
    assert_int_equal(collection_delete(c, "a", 1), 1);
    assert_int_equal(collection_delete(c, "a", 1), 0);
    assert_int_equal(collection_rows(c), 1);
    assert_false(collection_has(c, "a", 1));
    assert_true(collection_has(c, "b", 1));
    collection_unref(c);
}

static void test_search_matches_bruteforce(void **state)
{
    (void)state;
    uint32_t saved = engine_segment_max_rows;
    engine_segment_max_rows = 2048; /* 1024 + 2048 + 2048 ...: several segments */
    const int N = 6000, D = 16;
    collection *c = vset(D, VSET_NOQUANT);
    float *data = malloc(sizeof(float) * N * D);
    char key[16];
    for (int i = 0; i < N; i++) {
        for (int d = 0; d < D; d++) data[i * D + d] = (float)frand();
        key_of(i, key);
        collection_upsert(c, key, strlen(key), data + i * D, NULL, 0, 0);
    }
    assert_true(collection_segment_count(c) >= 3);
    int hits = 0, total = 0;
    for (int qi = 0; qi < 50; qi++) {
        float q[16];
        double ss = 0;
        for (int d = 0; d < D; d++) {
            q[d] = (float)frand();
            ss += (double)q[d] * q[d];
        }
        for (int d = 0; d < D; d++) q[d] /= (float)sqrt(ss);
        char exact[10][16], approx[10][16];
        float dx[10];
        size_t ne = search(c, q, 10, 1, NULL, exact, dx, NULL);
        size_t na = search(c, q, 10, 0, NULL, approx, NULL, NULL);
        assert_int_equal(ne, 10);
        assert_int_equal(na, 10);
        for (int i = 1; i < 10; i++) assert_true(dx[i - 1] <= dx[i]);
        /* exact results equal a brute force over the data */
        int best = -1;
        double bestd = 1e9;
        for (int i = 0; i < N; i++) {
            double dot = 0, n2 = 0;
            for (int d = 0; d < D; d++) {
                dot += (double)q[d] * data[i * D + d];
                n2 += (double)data[i * D + d] * data[i * D + d];
            }
            double dist = -dot / sqrt(n2);
            if (dist < bestd) {
                bestd = dist;
                best = i;
            }
        }
        key_of(best, key);
        assert_string_equal(exact[0], key);
        for (int i = 0; i < 10; i++)
            for (int j = 0; j < 10; j++)
                if (!strcmp(exact[i], approx[j])) hits++;
        total += 10;
    }
    printf("engine recall@10 over %d segments: %.3f\n", collection_segment_count(c),
           (double)hits / total);
    assert_true((double)hits / total >= 0.95);
    free(data);
    collection_unref(c);
    engine_segment_max_rows = saved;
}

static void test_snapshot_isolation(void **state)
{
    (void)state;
    collection *c = vset(2, VSET_NOQUANT);
    float a[2] = {1, 0}, b[2] = {0, 1}, q[2] = {1, 0};
    collection_upsert(c, "x", 1, a, NULL, 0, 0);
    collection_upsert(c, "y", 1, b, NULL, 0, 0);
    engine_search *old;
    search(c, q, 10, 0, NULL, NULL, NULL, &old);
    /* after the snapshot: x moves away, y is deleted, z appears */
    collection_upsert(c, "x", 1, b, NULL, 0, 0);
    collection_delete(c, "y", 1);
    collection_upsert(c, "z", 1, a, NULL, 0, 0);
    engine_search_run(old);
    const engine_hit *h;
    size_t n = engine_search_hits(old, &h);
    assert_int_equal(n, 2); /* the old x and y, never the new x or z */
    assert_memory_equal(h[0].key, "x", 1);
    assert_float_equal(h[0].dist, -1, 1e-6);
    assert_memory_equal(h[1].key, "y", 1);
    engine_search_free(old);
    char keys[10][16];
    float d[10];
    n = search(c, q, 10, 0, NULL, keys, d, NULL);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0], "z");
    assert_string_equal(keys[1], "x");
    assert_float_equal(d[1], 0, 1e-6);
    collection_unref(c);
}

static void test_unindexed_tail(void **state)
{
    (void)state;
    collection *c = vset(8, VSET_Q8);
    char key[16];
    float v[8];
    for (int i = 0; i < 300; i++) {
        for (int d = 0; d < 8; d++) v[d] = (float)frand();
        key_of(i, key);
        collection_upsert(c, key, strlen(key), v, NULL, 0, 0);
    }
    /* Pretend the index lags: only 100 rows indexed. The search must still
     * find a row of the tail exactly. */
    segment *s = c->segs[0];
    atomic_store(&s->indexed, 100);
    float target[8];
    assert_true(collection_get_vector(c, "e000250", 7, target, NULL));
    char keys[1][16];
    float d[1];
    assert_int_equal(search(c, target, 1, 0, NULL, keys, d, NULL), 1);
    assert_string_equal(keys[0], "e000250");
    assert_float_equal(d[0], -1, 1e-4);
    atomic_store(&s->indexed, 300);
    collection_unref(c);
}

/* A collection's schema and partitions: VARCHAR key "id", one vector field
 * in column 0, dynamic attributes; _default holds every segment. */
static void test_schema_partitions(void **state)
{
    (void)state;
    collection *c = vset(6, VSET_Q8);
    const collection_schema *sc = collection_get_schema(c);
    assert_int_equal(sc->nfields, 2);
    assert_int_equal(sc->nvectors, 1);
    assert_true(sc->dynamic);
    assert_int_equal(sc->fields[sc->pk].kind, FIELD_PRIMARY_KEY);
    assert_string_equal(sc->fields[sc->pk].type, "VARCHAR");
    int vf = collection_field_index(c, "vector", 6);
    assert_int_equal(vf, 1);
    assert_int_equal(sc->fields[vf].kind, FIELD_VECTOR);
    assert_int_equal(sc->fields[vf].dim, 6);
    assert_int_equal(sc->fields[vf].column, 0);
    assert_string_equal(sc->fields[vf].type, "FLOAT32");
    /* A vector set is stored as unit vectors searched by inner product; the
     * schema says what the user chose: COSINE. */
    assert_int_equal(sc->fields[vf].metric, INDEX_METRIC_COSINE);
    assert_int_equal(collection_field_index(c, "id", 2), 0);
    assert_int_equal(collection_field_index(c, "vec", 3), -1);
    assert_int_equal(collection_partition_count(c), 1);
    assert_int_equal(collection_partition_index(c, "_default", 8), 0);
    assert_int_equal(collection_partition_index(c, "_def", 4), -1);
    partition_info pi;
    assert_int_equal(collection_partition_info(c, 1, &pi), -1);
    assert_int_equal(collection_partition_info(c, 0, &pi), 0);
    assert_string_equal(pi.name, "_default");
    assert_int_equal(pi.rows, 0);
    assert_int_equal(pi.segments, 0);
    char key[16];
    float v[6];
    for (int i = 0; i < 1500; i++) { /* the first segment fills and is promoted */
        for (int d = 0; d < 6; d++) v[d] = (float)frand();
        key_of(i, key);
        collection_upsert(c, key, strlen(key), v, NULL, 0, 0);
    }
    collection_delete(c, "e000007", 7);
    assert_int_equal(collection_partition_info(c, 0, &pi), 0);
    assert_int_equal(pi.rows, 1499);
    assert_int_equal(pi.segments, collection_segment_count(c));
    segment_info si;
    assert_int_equal(collection_segment_info(c, 0, &si), 0);
    assert_string_equal(si.partition, "_default");
    collection_unref(c);
}

/* ---- background jobs run by the test: queued, then run in rounds, every
 * job of a round on its own thread at once, then completed in order. */

typedef struct bgjob {
    void (*fn)(void *);
    void (*done)(void *);
    void *arg;
    pthread_t tid;
    int idle;
} bgjob;

static bgjob bgq[64];
static size_t bgn;

static void bg_queue(void (*fn)(void *), void (*done)(void *), void *arg, int idle)
{
    assert_true(bgn < 64);
    bgq[bgn++] = (bgjob){fn, done, arg, 0, idle};
}

static void *bg_thread(void *arg)
{
    bgjob *j = arg;
    j->fn(j->arg);
    return NULL;
}

/* Runs one round; returns the number of jobs it ran. *published_during:
 * s->indexed after the jobs ran, before they completed (s may be NULL). */
static size_t bg_round(segment *s, uint32_t *published_during)
{
    bgjob round[64];
    size_t n = bgn;
    memcpy(round, bgq, sizeof(bgjob) * n);
    bgn = 0;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pthread_create(&round[i].tid, NULL, bg_thread, &round[i]), 0);
    for (size_t i = 0; i < n; i++)
        pthread_join(round[i].tid, NULL);
    if (s) *published_during = atomic_load(&s->indexed);
    for (size_t i = 0; i < n; i++)
        round[i].done(round[i].arg);
    return n;
}

/* The engine with background jobs queued to bgq (run by bg_round). */
static void bg_engine_init(unsigned threads)
{
    engine_hooks h;
    memset(&h, 0, sizeof(h));
    h.run_background = bg_queue;
    h.background_threads = threads;
    engine_init(&h);
}

/* Inserts keys from..to-1 into c with random vectors of dim floats. */
static void add_random(collection *c, int from, int to, uint32_t dim)
{
    char key[16];
    float v[64];
    assert_true(dim <= 64);
    for (int i = from; i < to; i++) {
        for (uint32_t d = 0; d < dim; d++) v[d] = (float)frand();
        key_of(i, key);
        collection_upsert(c, key, strlen(key), v, NULL, 0, 0);
    }
}

/* An idle catch-up that waited over a second (no idle CPU on the machine)
 * makes the rest of that backlog run at the nice level until it is caught
 * up; then small backlogs are idle again. A sealed segment's catch-up is
 * never idle (collection.c INDEX_IDLE_STARVED_US). */
static void test_idle_catchup_starved(void **state)
{
    (void)state;
    bg_engine_init(1);
    enum { N = 200, D = 8 };
    collection *c = vset(D, VSET_NOQUANT);
    add_random(c, 0, N, D);
    segment *s = c->segs[0];
    uint32_t during;
    assert_int_equal(bgn, 1);
    assert_true(bgq[0].idle); /* queued by the first insert: a 1-row backlog */
    struct timespec pause = {1, 100 * 1000 * 1000};
    nanosleep(&pause, NULL); /* the idle job "waits" 1.1 s for CPU */
    bg_round(s, &during);
    assert_true(atomic_load(&s->indexed) < N);
    int rounds = 0;
    while (bgn) {
        assert_false(bgq[0].idle); /* starved: nice until caught up */
        bg_round(s, &during);
        assert_true(++rounds < 100);
    }
    assert_int_equal(atomic_load(&s->indexed), N);
    add_random(c, N, N + 1, D);
    assert_int_equal(bgn, 1);
    assert_true(bgq[0].idle); /* caught up once: idle again */
    bg_round(s, &during);
    collection_unref(c);
    while (bgn) bg_round(NULL, &during);

    /* A sealed segment: 64-row segments; the first seals with its backlog. */
    uint32_t saved = engine_segment_max_rows;
    engine_segment_max_rows = 64;
    c = vset(D, VSET_NOQUANT);
    add_random(c, 0, 65, D);
    engine_segment_max_rows = saved;
    assert_int_equal(c->nseg, 2);
    s = c->segs[0];
    assert_true(s->sealed);
    /* queued at insert: both segments' first rows (1-row backlogs, idle) */
    assert_int_equal(bgn, 2);
    assert_true(bgq[0].idle && bgq[1].idle);
    bg_round(NULL, &during);
    /* the second segment is caught up; the sealed one goes on, not idle */
    rounds = 0;
    while (bgn) {
        assert_int_equal(bgn, 1);
        assert_false(bgq[0].idle);
        bg_round(NULL, &during);
        assert_true(++rounds < 100);
    }
    assert_int_equal(atomic_load(&s->indexed), 64);
    collection_unref(c);
    while (bgn) bg_round(NULL, &during);
    engine_init(NULL);
}

static void test_parallel_catchup(void **state)
{
    (void)state;
    bg_engine_init(2);
    engine_stats st0, st1;
    engine_get_stats(&st0);
    enum { N = 4000, D = 16 };
    collection *c = vset(D, VSET_NOQUANT);
    char key[16];
    /* The small first segment is promoted to a full one when it fills:
     * let that happen (and its jobs finish) first. */
    uint32_t during;
    add_random(c, 0, SEG_FIRST_CAPACITY + 1, D);
    while (bgn) bg_round(c->segs[0], &during);
    add_random(c, SEG_FIRST_CAPACITY + 1, N, D);
    segment *s = c->segs[0];
    size_t gangs = 0, rounds = 0, big_backlog = 0, small_backlog = 0;
    while (bgn) {
        engine_stats a, b;
        engine_get_stats(&a);
        uint32_t before = atomic_load(&s->indexed);
        /* A backlog under 1,024 rows waits for idle CPU; a larger one must
         * progress under load (collection.c INDEX_IDLE_MAX_ROWS). Checked
         * from the second round: the first job was queued by an insert,
         * when the backlog was one row. */
        if (rounds > 0) {
            for (size_t i = 0; i < bgn; i++) assert_int_equal(bgq[i].idle, N - before < 1024);
            if (N - before >= 1024)
                big_backlog++;
            else
                small_backlog++;
        }
        size_t jobs = bg_round(s, &during);
        engine_get_stats(&b);
        if (b.index_rows_added_parallel > a.index_rows_added_parallel) {
            /* A gang: one job per background thread; its rows are
             * published when the last job completes, not before, and then
             * all of them. */
            assert_int_equal(jobs, 2);
            assert_int_equal(during, before);
            assert_int_equal(atomic_load(&s->indexed) - before,
                             b.index_rows_added_parallel - a.index_rows_added_parallel);
            gangs++;
        } else {
            assert_int_equal(jobs, 1);
        }
        rounds++;
        assert_true(rounds < 1000);
    }
    assert_int_equal(atomic_load(&s->indexed), N);
    assert_int_equal(index_count(s->idx), N);
    char err[256];
    if (index_validate(s->idx, err, sizeof(err))) fail_msg("validate: %s", err);
    engine_get_stats(&st1);
    printf("  %zu catch-up rounds, %zu gangs, %llu rows by gangs\n", rounds, gangs,
           (unsigned long long)(st1.index_rows_added_parallel - st0.index_rows_added_parallel));
    assert_true(gangs > 0);
    assert_true(big_backlog > 0 && small_backlog > 0);
    assert_true(st1.index_rows_added_parallel - st0.index_rows_added_parallel >= N / 2);
    assert_true(st1.index_rows_added - st0.index_rows_added >= N);
    /* Every row finds itself first through the graph. */
    for (int i = 0; i < N; i += 97) {
        key_of(i, key);
        float q[D];
        assert_true(collection_get_vector(c, key, strlen(key), q, NULL));
        char keys[1][16];
        assert_int_equal(search(c, q, 1, 0, NULL, keys, NULL, NULL), 1);
        assert_string_equal(keys[0], key);
    }
    collection_unref(c);
    while (bgn) bg_round(NULL, &during); /* frees */
    engine_init(NULL);
}

static void test_filter(void **state)
{
    (void)state;
    collection *c = vset(4, VSET_NOQUANT);
    char key[16], attr[64];
    float v[4];
    for (int i = 0; i < 1000; i++) {
        for (int d = 0; d < 4; d++) v[d] = (float)frand();
        key_of(i, key);
        int al = sprintf(attr, "{\"n\":%d,\"even\":%d}", i, i % 2 == 0);
        /* every 10th element has no attribute: never matches */
        collection_upsert(c, key, strlen(key), v, i % 10 == 9 ? NULL : attr,
                          i % 10 == 9 ? 0 : (size_t)al, 1);
    }
    float q[4] = {1, 0, 0, 0};
    char keys[50][16];
    size_t n = search(c, q, 50, 0, ".n < 20 and .even", keys, NULL, NULL);
    assert_int_equal(n, 10); /* 0,2,...,18 */
    for (size_t i = 0; i < n; i++) {
        int k = atoi(keys[i] + 1);
        assert_true(k < 20 && k % 2 == 0);
    }
    /* selective filter still returns a full top-k */
    n = search(c, q, 5, 0, ".n >= 990", keys, NULL, NULL);
    assert_int_equal(n, 5);
    collection_unref(c);
}

static void range_cb(void *ctx, const char *key, size_t klen)
{
    char *out = ctx;
    strncat(out, key, klen);
    strcat(out, ",");
}

static void test_range_random(void **state)
{
    (void)state;
    collection *c = vset(2, VSET_BIN);
    float v[2] = {1, 1};
    const char *names[] = {"b", "a", "c", "ab", "d"};
    for (int i = 0; i < 5; i++) collection_upsert(c, names[i], strlen(names[i]), v, NULL, 0, 0);
    char out[128] = "";
    collection_range(c, NULL, 0, 1, NULL, 0, 1, -1, range_cb, out);
    assert_string_equal(out, "a,ab,b,c,d,");
    out[0] = '\0';
    collection_range(c, "a", 1, 0, "c", 1, 1, -1, range_cb, out);
    assert_string_equal(out, "ab,b,c,");
    out[0] = '\0';
    collection_range(c, "a", 1, 1, NULL, 0, 1, 2, range_cb, out);
    assert_string_equal(out, "a,ab,");
    out[0] = '\0';
    collection_random(c, 10, 1, range_cb, out);
    assert_int_equal(strlen(out), strlen("a,ab,b,c,d,")); /* all five, once */
    out[0] = '\0';
    collection_random(c, 7, 0, range_cb, out);
    int commas = 0;
    for (char *p = out; *p; p++) commas += *p == ',';
    assert_int_equal(commas, 7);
    collection_unref(c);
}

static void scan_cb(void *ctx, const char *key, size_t klen, collection *c)
{
    int *seen = ctx;
    (void)c;
    if (klen == 2 && !memcmp(key, "k2", 2))
        seen[100]++;
    else {
        char buf[16];
        snprintf(buf, sizeof(buf), "%.*s", (int)klen, key); /* keys are not NUL-terminated */
        seen[atoi(buf + 3)]++;
    }
}

static void test_keyspace(void **state)
{
    (void)state;
    collection *c = vset(2, VSET_NOQUANT);
    db_add("k1", 2, c);
    assert_ptr_equal(db_lookup("k1", 2), c);
    assert_int_equal(db_size(), 1);
    assert_int_equal(db_rename("k1", 2, "k2", 2), 0);
    assert_null(db_lookup("k1", 2));
    assert_ptr_equal(db_lookup("k2", 2), c);
    assert_int_equal(db_rename("nope", 4, "k3", 2), -1);
    collection *d = vset(2, VSET_NOQUANT);
    db_add("k3", 2, d);
    /* rename over an existing key replaces it */
    assert_int_equal(db_rename("k3", 2, "k2", 2), 0);
    assert_ptr_equal(db_lookup("k2", 2), d);
    assert_int_equal(db_size(), 1);
    for (int i = 0; i < 100; i++) {
        char k[16];
        int n = sprintf(k, "key%d", i);
        db_add(k, (size_t)n, vset(2, VSET_NOQUANT));
    }
    /* a full SCAN returns every key at least once */
    int seen[101] = {0};
    uint64_t cur = 0;
    do {
        cur = db_scan(cur, 7, scan_cb, seen);
    } while (cur);
    for (int i = 0; i < 100; i++) assert_true(seen[i] >= 1);
    assert_int_equal(seen[100], 1); /* k2 */
    assert_int_equal(db_delete("k2", 2), 1);
    assert_int_equal(db_delete("k2", 2), 0);
    db_flush();
    assert_int_equal(db_size(), 0);
}

int main(void)
{
    const char *env = getenv("ENGINE_TEST_SEED");
    seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    rs = seed * 2654435761u + 1;
    printf("test_engine seed %llu\n", (unsigned long long)seed);
    engine_init(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upsert_delete_counts),
        cmocka_unit_test(test_search_matches_bruteforce),
        cmocka_unit_test(test_snapshot_isolation),
        cmocka_unit_test(test_unindexed_tail),
        cmocka_unit_test(test_parallel_catchup),
        cmocka_unit_test(test_idle_catchup_starved),
        cmocka_unit_test(test_schema_partitions),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_range_random),
        cmocka_unit_test(test_keyspace),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    engine_shutdown();
    return rc;
}
