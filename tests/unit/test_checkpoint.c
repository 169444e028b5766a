/*
 * test_checkpoint.c -- checkpoints and start-up loading of src/engine/
 * (checkpoint.c) against a real RocksDB database in a temporary directory:
 * random writes over several collections and sealed segments, a
 * checkpoint, more writes that only the log has; the engine is emptied,
 * the checkpoint is loaded and the later log replayed, and every key, row,
 * stored vector, norm and attribute must be identical. Sealed segments
 * come back fully indexed before any index job ran (loaded, not rebuilt).
 * A second checkpoint writes only what changed. A damaged chunk stops the
 * load with a message naming its key; a progress callback can stop it.
 * Background work is queued and run only when the test says so. Seed
 * printed; CHECKPOINT_TEST_SEED replays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "engine/collection_impl.h"
#include "engine/engine.h"
#include "engine/record.h"
#include "engine/storage.h"
#include "test_engine_util.h"

/* ------------------------------------------------ queued background work */

typedef struct bg {
    void (*fn)(void *), (*done)(void *);
    void *arg;
} bg;

static bg *queue;
static size_t qhead, qlen, qcap;
static int wanted;

static void run_background(void (*fn)(void *), void (*done)(void *), void *arg, int idle)
{
    (void)idle;
    if (qlen == qcap) {
        qcap = qcap ? qcap * 2 : 64;
        queue = realloc(queue, sizeof(bg) * qcap);
    }
    queue[qlen++] = (bg){fn, done, arg};
}

static void drain(void)
{
    while (qhead < qlen) {
        bg b = queue[qhead++];
        b.fn(b.arg);
        b.done(b.arg);
    }
    qhead = qlen = 0;
}

static void checkpoint_wanted(void)
{
    wanted++;
}

/* ------------------------------------------------------------ state */

static const char *names[] = {"a", "b", "c", "d"};

/* Upserts (60%), attribute changes, deletes, over keys k0..k<nkeys-1>. */
static void random_writes(const char *name, int steps, int nkeys)
{
    collection *c = db_lookup(name, 1);
    for (int s = 0; s < steps; s++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", (int)(rnd() % (uint64_t)nkeys));
        int op = (int)(rnd() % 100);
        if (op < 75) {
            float v[8];
            for (int i = 0; i < 8; i++) v[i] = (float)((int)(rnd() % 2001) - 1000) / 100.0f;
            char attr[32];
            int given = (int)(rnd() % 3);
            snprintf(attr, sizeof(attr), "{\"s\":%d}", s);
            collection_upsert(c, key, strlen(key), v, given == 2 ? "" : attr,
                              given == 2 ? 0 : strlen(attr), given != 0);
        } else if (op < 85) {
            collection_set_attr(c, key, strlen(key), op & 1 ? "" : "{\"x\":1}", op & 1 ? 0 : 7);
        } else {
            collection_delete(c, key, strlen(key));
        }
    }
}

static char dir[64];
static storage *st;

static void open_db(void)
{
    char err[256];
    st = storage_open(dir, NULL, err, sizeof(err));
    if (!st) fail_msg("storage_open: %s", err);
}

static void checkpoint(void)
{
    engine_checkpoint *k = engine_checkpoint_begin(st);
    int rc = engine_checkpoint_write(k);
    if (rc != 0) fail_msg("checkpoint: %s", engine_checkpoint_error(k));
    engine_checkpoint_end(k);
}

static int count_cb(void *ctx, const void *k, size_t kl, const void *v, size_t vl)
{
    (void)k, (void)kl, (void)v, (void)vl;
    ++*(size_t *)ctx;
    return 0;
}

static size_t count(rec_family f)
{
    size_t n = 0;
    char err[256];
    assert_int_equal(storage_scan(st, f, NULL, 0, NULL, 0, count_cb, &n, err, sizeof(err)), 0);
    return n;
}

static int setup(void **state)
{
    (void)state;
    const char *env = getenv("CHECKPOINT_TEST_SEED");
    seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    rs = seed * 2654435761u + 1;
    print_message("[ info ] seed %llu (CHECKPOINT_TEST_SEED)\n", (unsigned long long)seed);
    snprintf(dir, sizeof(dir), "/tmp/vectis-test-ck-XXXXXX");
    assert_non_null(mkdtemp(dir));
    engine_hooks h = {run_background, checkpoint_wanted, 1};
    engine_init(&h);
    engine_segment_max_rows = 1024;
    open_db();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    drain();
    engine_shutdown();
    drain(); /* frees of big segments */
    storage_close(st);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(queue);
    queue = NULL;
    qhead = qlen = qcap = 0;
    log_free();
    return 0;
}

static void replay_after(uint64_t k)
{
    engine_replay *r = engine_replay_new();
    char err[512];
    for (size_t i = 0; i < nlog; i++) {
        if (logv[i].lsn <= k) continue;
        if (engine_replay_apply(r, logv[i].lsn, logv[i].val.p, logv[i].val.len, err,
                                sizeof(err)) != 0)
            fail_msg("replay of lsn %llu: %s", (unsigned long long)logv[i].lsn, err);
    }
    engine_replay_free(r);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const int kinds[4] = {0, 1, 2, 4}; /* Q8, BIN, NOQUANT, FLAT */
    for (int i = 0; i < 4; i++) db_add(names[i], 1, make_set(kinds[i]));
    random_writes("a", 5000, 3000); /* several sealed segments */
    random_writes("b", 300, 100);
    random_writes("c", 1500, 1500);
    random_writes("d", 200, 50);
    drain(); /* every index caught up */
    assert_true(wanted > 0); /* sealed segments asked for a checkpoint */
    checkpoint();
    uint64_t k1 = engine_lsn();
    assert_true(count(REC_CF_DATA) > 10 && count(REC_CF_INDEX) > 0);

    /* After the checkpoint: only the log has these. */
    engine_set_log(hook);
    random_writes("a", 800, 3000);
    random_writes("c", 100, 1500);
    db_delete("d", 1);
    db_rename("b", 1, "d", 1);
    engine_set_log(NULL);
    drain();
    dump before = snapshot();
    uint64_t lsn = engine_lsn();

    engine_shutdown();
    uint64_t ck, t;
    char err[512];
    assert_int_equal(engine_load(st, NULL, NULL, &ck, &t, err, sizeof(err)), 0);
    assert_int_equal(ck, k1);
    assert_true(t > 0);
    /* Before any index job ran: sealed segments are complete. */
    collection *a = db_lookup("a", 1);
    assert_non_null(a);
    int sealed = 0;
    for (int i = 0; i < a->nseg; i++) {
        segment *s = a->segs[i];
        if (!s->sealed) continue;
        sealed++;
        assert_int_equal(atomic_load(&s->indexed), atomic_load(&s->nrows));
        assert_int_equal(index_count(s->idx), atomic_load(&s->nrows));
        assert_int_equal(index_validate(s->idx, err, sizeof(err)), 0);
    }
    assert_true(sealed >= 2);
    replay_after(ck);
    drain();
    dump after = snapshot();
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.p, after.p, before.len);
    assert_int_equal(engine_lsn(), lsn);
    free(before.p);
    free(after.p);

    /* A second checkpoint writes only what changed: far less than all. */
    checkpoint();
    engine_checkpoint *k = engine_checkpoint_begin(st);
    assert_int_equal(engine_checkpoint_write(k), 0);
    uint64_t quiet = engine_checkpoint_bytes(k);
    engine_checkpoint_end(k);
    assert_true(quiet < 64 * 1024);

    /* The same state again from the newest checkpoint alone. */
    before = snapshot();
    engine_shutdown();
    assert_int_equal(engine_load(st, NULL, NULL, &ck, &t, err, sizeof(err)), 0);
    assert_int_equal(ck, lsn);
    drain();
    after = snapshot();
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.p, after.p, before.len);
    free(before.p);
    free(after.p);
}

typedef struct dmg {
    uint8_t key[REC_DATA_KEY_BYTES];
    uint8_t *val;
    size_t vlen;
} dmg;

static int find_vectors(void *ctx, const void *k, size_t kl, const void *v, size_t vl)
{
    dmg *d = ctx;
    rec_data_key dk;
    char err[128];
    if (kl != REC_DATA_KEY_BYTES || rec_key_parse_data(k, kl, &dk, err, sizeof(err)) != 0 ||
        dk.kind != REC_DATA_VECTORS)
        return 0;
    memcpy(d->key, k, kl);
    d->val = malloc(vl);
    memcpy(d->val, v, vl);
    d->vlen = vl;
    return 1;
}

static int stop_cb(void *ctx, uint64_t bytes)
{
    (void)bytes;
    return ++*(int *)ctx > 3;
}

/* A checkpoint with no segment at all (a new database; everything
 * dropped after a checkpoint): it writes, the next load finds an empty
 * keyspace, and the dropped collection's data is gone. */
static void test_empty_keyspace(void **state)
{
    (void)state;
    checkpoint(); /* nothing yet */
    db_add("a", 1, make_set(2));
    random_writes("a", 50, 2000);
    drain();
    checkpoint();
    assert_true(count(REC_CF_DATA) > 0);
    db_flush();
    checkpoint(); /* no segment left */
    engine_shutdown();
    uint64_t ck, t;
    char err[512];
    assert_int_equal(engine_load(st, NULL, NULL, &ck, &t, err, sizeof(err)), 0);
    assert_int_equal(db_size(), 0);
    assert_int_equal(count(REC_CF_DATA), 0);
}

static void test_damage_and_abort(void **state)
{
    (void)state;
    collection *c = make_set(2);
    db_add("a", 1, c);
    random_writes("a", 2000, 2000);
    drain();
    checkpoint();
    engine_shutdown();

    /* Stopped by the progress callback. */
    uint64_t ck, t;
    char err[512];
    int calls = 0;
    assert_int_equal(engine_load(st, stop_cb, &calls, &ck, &t, err, sizeof(err)), 1);
    engine_shutdown();

    /* A vectors chunk with one flipped byte: the load stops and names it. */
    dmg d = {0};
    char serr[256];
    assert_int_equal(storage_scan(st, REC_CF_DATA, NULL, 0, NULL, 0, find_vectors, &d, serr,
                                  sizeof(serr)), 1);
    d.val[d.vlen / 2] ^= 0x10;
    storage_batch *b = storage_batch_new(st);
    storage_batch_put(b, REC_CF_DATA, d.key, sizeof(d.key), d.val, d.vlen);
    assert_int_equal(storage_write(st, b, 1, serr, sizeof(serr)), 0);
    storage_batch_free(b);
    assert_int_equal(engine_load(st, NULL, NULL, &ck, &t, err, sizeof(err)), -1);
    char want[200];
    rec_key_describe(REC_CF_DATA, d.key, sizeof(d.key), want, sizeof(want));
    print_message("[ info ] %s\n", err);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "checksum"));
    assert_int_equal(db_size(), 0); /* nothing half loaded is served */
    free(d.val);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_keyspace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_and_abort, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
