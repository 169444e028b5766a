/*
 * test_replay.c -- the mutation log round trip of src/engine/: a random
 * sequence of writes (inserts, updates with and without attributes,
 * attribute changes, deletes, creates, drops, renames over existing keys,
 * flushes) runs with a log hook that keeps every LOG value; the engine is
 * then emptied and the values are replayed into it, and every key, row,
 * stored vector, norm and attribute must be identical, the LSN counter
 * restored, and new collection ids above the replayed ones. Also: a damaged
 * value, a record naming an unknown collection and a DELETE of a missing key
 * stop replay with a message. Seed printed; REPLAY_TEST_SEED replays.
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

#include "alloc.h"
#include "engine/collection_impl.h"
#include "engine/engine.h"
#include "engine/record.h"
#include "test_engine_util.h"

static const char *names[] = {"a", "b", "c", "d", "e"};

static void random_writes(int steps)
{
    for (int s = 0; s < steps; s++) {
        const char *name = names[rnd() % 5];
        collection *c = db_lookup(name, strlen(name));
        int op = (int)(rnd() % 100);
        if (!c) {
            c = make_set((int)(rnd() % 4));
            db_add(name, strlen(name), c);
            continue;
        }
        char key[16];
        snprintf(key, sizeof(key), "k%d", (int)(rnd() % 40));
        if (op < 60) {
            float in[12], v[8];
            for (int i = 0; i < 12; i++) in[i] = (float)((int)(rnd() % 2001) - 1000) / 100.0f;
            const float *vec = in;
            if (c->spec.proj_in_dim) {
                collection_project(c, in, v);
                vec = v;
            }
            char attr[32];
            int given = (int)(rnd() % 3);
            snprintf(attr, sizeof(attr), "{\"s\":%d}", s);
            collection_upsert(c, key, strlen(key), vec, given == 2 ? "" : attr,
                              given == 2 ? 0 : strlen(attr), given != 0);
        } else if (op < 70) {
            collection_set_attr(c, key, strlen(key), op & 1 ? "" : "{\"x\":1}", op & 1 ? 0 : 7);
        } else if (op < 90) {
            if (collection_delete(c, key, strlen(key)) && collection_rows(c) == 0)
                db_delete(name, strlen(name));
        } else if (op < 95) {
            const char *to = names[rnd() % 5];
            db_rename(name, strlen(name), to, strlen(to));
        } else if (op < 98) {
            db_delete(name, strlen(name));
        } else if (s < steps - 300) {
            db_flush(); /* not near the end: the round trip needs something to compare */
        }
    }
}

static void test_round_trip(void **state)
{
    (void)state;
    engine_set_log(hook);
    random_writes(3000);
    engine_set_log(NULL);
    dump before = snapshot();
    uint64_t lsn = engine_lsn();
    assert_true(nlog > 100);
    assert_true(db_size() > 0 && before.len > 100); /* something to compare */

    engine_shutdown(); /* empties the keyspace without logging */
    engine_replay *r = engine_replay_new();
    char err[512];
    for (size_t i = 0; i < nlog; i++) {
        int rc = engine_replay_apply(r, logv[i].lsn, logv[i].val.p, logv[i].val.len, err,
                                     sizeof(err));
        if (rc != 0) fail_msg("replay of lsn %llu: %s", (unsigned long long)logv[i].lsn, err);
    }
    assert_true(engine_replay_records(r) >= nlog);
    engine_replay_free(r);
    dump after = snapshot();
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.p, after.p, before.len);
    assert_int_equal(engine_lsn(), lsn);

    /* New collections get ids above every replayed one. */
    uint64_t maxid = 0;
    for (size_t i = 0; i < nlog; i++) {
        rec_log_iter it;
        rec_mutation m;
        assert_int_equal(rec_log_decode(logv[i].val.p, logv[i].val.len, logv[i].lsn, &it, err,
                                        sizeof(err)), 0);
        while (rec_log_next(&it, &m))
            if (m.op == REC_OP_CREATE_COLLECTION && m.cid > maxid) maxid = m.cid;
    }
    collection *c = make_set(0);
    assert_true(collection_uid(c) > maxid);
    collection_unref(c);

    free(before.p);
    free(after.p);
    engine_shutdown();
    log_free();
}

static void test_bad_input(void **state)
{
    (void)state;
    char err[512];
    engine_set_log(hook);
    collection *c = make_set(0);
    db_add("x", 1, c);
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    collection_upsert(c, "k", 1, v, NULL, 0, 0);
    collection_delete(c, "k", 1);
    engine_set_log(NULL);
    assert_int_equal(nlog, 3);
    engine_shutdown();

    /* DELETE before its INSERT: a missing key. */
    engine_replay *r = engine_replay_new();
    assert_int_equal(engine_replay_apply(r, logv[0].lsn, logv[0].val.p, logv[0].val.len, err,
                                         sizeof(err)), 0);
    assert_int_equal(engine_replay_apply(r, logv[2].lsn, logv[2].val.p, logv[2].val.len, err,
                                         sizeof(err)), -1);
    assert_non_null(strstr(err, "missing key"));
    engine_replay_free(r);
    engine_shutdown();

    /* An INSERT into a collection never created. */
    r = engine_replay_new();
    assert_int_equal(engine_replay_apply(r, logv[1].lsn, logv[1].val.p, logv[1].val.len, err,
                                         sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown collection"));
    engine_replay_free(r);

    /* A flipped byte: the checksum catches it, nothing is applied. */
    r = engine_replay_new();
    logv[0].val.p[logv[0].val.len / 2] ^= 0x40;
    assert_int_equal(engine_replay_apply(r, logv[0].lsn, logv[0].val.p, logv[0].val.len, err,
                                         sizeof(err)), -1);
    assert_int_equal(db_size(), 0);
    /* The wrong LSN for the value. */
    assert_int_equal(engine_replay_apply(r, logv[1].lsn + 1, logv[1].val.p, logv[1].val.len, err,
                                         sizeof(err)), -1);
    engine_replay_free(r);
    engine_shutdown();
    log_free();
}

int main(void)
{
    const char *env = getenv("REPLAY_TEST_SEED");
    seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    rs = seed * 2654435761u + 1;
    printf("test_replay seed %llu (REPLAY_TEST_SEED to replay)\n", (unsigned long long)seed);
    engine_init(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
