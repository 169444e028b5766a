/*
 * test_pkmap.c -- unit tests of src/engine/pkmap: the primary-key map.
 *
 * The owner's side is modelled by an array of keys indexed by location, so
 * the tests can control hashes: with a weak hash (a few bits) every probe
 * run is long and wraps around the table end, which is where backward-shift
 * deletion can go wrong. A random operation sequence is checked against a
 * plain reference array after every step. The seed is printed; set
 * PKMAP_TEST_SEED to replay.
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

#include "engine/pkmap.h"
#include "test_rng.h"

#define NKEYS 5000

/* The owner: the key of location loc is keys[loc - 2]. */
static char keys[NKEYS][16];
static uint64_t hash_mask = UINT64_MAX, hash_or; /* weak hashes: few bits */

static int eq(const void *ctx, uint64_t loc, const void *key, size_t klen)
{
    (void)ctx;
    const char *k = keys[loc - 2];
    return strlen(k) == klen && memcmp(k, key, klen) == 0;
}

static uint64_t h_of(int i)
{
    uint64_t h = pkmap_hash(keys[i], strlen(keys[i])) & hash_mask;
    /* hash_or == 60: 60..67, the last four and the first four slots of a
     * 16-, 32- or 64-slot table. */
    return hash_or == 60 ? 60 + (h & 7) : h | hash_or;
}

static uint64_t get(const pkmap *m, int i)
{
    return pkmap_get(m, h_of(i), keys[i], strlen(keys[i]), eq, NULL);
}

static void setup_keys(void)
{
    for (int i = 0; i < NKEYS; i++) snprintf(keys[i], sizeof(keys[i]), "key:%d", i);
}

static void test_empty(void **state)
{
    (void)state;
    pkmap m;
    pkmap_init(&m);
    assert_int_equal(get(&m, 0), 0);
    assert_int_equal(pkmap_find(&m, h_of(0), "key:0", 5, eq, NULL), PKMAP_NONE);
    assert_int_equal(pkmap_del(&m, h_of(0), "key:0", 5, eq, NULL), 0);
    assert_int_equal(pkmap_relocate(&m, h_of(0), 2, 3), 0);
    size_t pos = 0;
    uint64_t loc;
    assert_int_equal(pkmap_next(&m, &pos, &loc), 0);
    assert_int_equal(pkmap_memory(&m), 0);
    pkmap_free(&m);
}

static void test_set_get_del(void **state)
{
    (void)state;
    pkmap m;
    pkmap_init(&m);
    for (int i = 0; i < NKEYS; i++)
        assert_int_equal(pkmap_set(&m, h_of(i), keys[i], strlen(keys[i]), (uint64_t)i + 2, eq, NULL), 0);
    assert_int_equal(pkmap_size(&m), NKEYS);
    /* Load stays at most 3/4. */
    assert_true(pkmap_size(&m) * 4 <= m.cap * 3);
    for (int i = 0; i < NKEYS; i++) assert_int_equal(get(&m, i), (uint64_t)i + 2);
    /* Replacing returns the previous location and keeps the size. */
    assert_int_equal(pkmap_set(&m, h_of(7), keys[7], strlen(keys[7]), 9, eq, NULL), 9);
    assert_int_equal(pkmap_size(&m), NKEYS);
    /* A key never inserted is absent even when its hash collides. */
    assert_int_equal(pkmap_get(&m, h_of(3), "nokey", 5, eq, NULL), 0);
    /* Delete the even keys. */
    for (int i = 0; i < NKEYS; i += 2)
        assert_int_equal(pkmap_del(&m, h_of(i), keys[i], strlen(keys[i]), eq, NULL), (uint64_t)i + 2);
    assert_int_equal(pkmap_size(&m), NKEYS / 2);
    for (int i = 0; i < NKEYS; i++) assert_int_equal(get(&m, i), i % 2 ? (uint64_t)i + 2 : 0);
    /* Iteration sees every odd key once. */
    static char seen[NKEYS];
    memset(seen, 0, sizeof(seen));
    size_t pos = 0, n = 0;
    uint64_t loc;
    while (pkmap_next(&m, &pos, &loc)) {
        assert_true(loc >= 2 && loc < NKEYS + 2);
        assert_int_equal(seen[loc - 2], 0);
        seen[loc - 2] = 1;
        n++;
    }
    assert_int_equal(n, NKEYS / 2);
    pkmap_free(&m);
}

static void test_insert_find_del_at_relocate(void **state)
{
    (void)state;
    pkmap m;
    pkmap_init(&m);
    for (int i = 0; i < 100; i++) pkmap_insert(&m, h_of(i), (uint64_t)i + 2);
    size_t at = pkmap_find(&m, h_of(42), keys[42], strlen(keys[42]), eq, NULL);
    assert_int_not_equal(at, PKMAP_NONE);
    assert_int_equal(pkmap_loc_at(&m, at), 44);
    pkmap_del_at(&m, at);
    assert_int_equal(get(&m, 42), 0);
    assert_int_equal(pkmap_size(&m), 99);
    /* Relocation matches the location, not the key: key 10's entry moves
     * to location 500 + 2 (whose key is key:500, so a lookup by key:10 no
     * longer finds it, and one by key:500 with key 10's hash does). */
    assert_int_equal(pkmap_relocate(&m, h_of(10), 12, 502), 1);
    assert_int_equal(pkmap_get(&m, h_of(10), keys[500], strlen(keys[500]), eq, NULL), 502);
    /* A wrong location or hash is not relocated. */
    assert_int_equal(pkmap_relocate(&m, h_of(11), 99999, 3), 0);
    assert_int_equal(pkmap_relocate(&m, h_of(11) ^ 1, 13, 3), 0);
    assert_int_equal(get(&m, 11), 13);
    pkmap_free(&m);
}

/* Random inserts, replaces and deletes against a reference, with a given
 * hash mask; everything is checked after every step. */
static void random_ops(uint64_t mask, uint64_t or, int nkeys, int steps)
{
    hash_mask = mask;
    hash_or = or;
    pkmap m;
    pkmap_init(&m);
    static uint64_t ref[NKEYS];
    memset(ref, 0, sizeof(ref));
    size_t live = 0;
    for (int step = 0; step < steps; step++) {
        int i = (int)(rng_next() % (unsigned)nkeys);
        int op = (int)(rng_next() % 3);
        if (op < 2) {
            uint64_t loc = (uint64_t)i + 2;
            uint64_t prev = pkmap_set(&m, h_of(i), keys[i], strlen(keys[i]), loc, eq, NULL);
            assert_int_equal(prev, ref[i]);
            if (!ref[i]) live++;
            ref[i] = loc;
        } else {
            uint64_t prev = pkmap_del(&m, h_of(i), keys[i], strlen(keys[i]), eq, NULL);
            assert_int_equal(prev, ref[i]);
            if (ref[i]) live--;
            ref[i] = 0;
        }
        assert_int_equal(pkmap_size(&m), live);
        if (step % 97 == 0 || nkeys <= 64)
            for (int k = 0; k < nkeys; k++) assert_int_equal(get(&m, k), ref[k]);
    }
    for (int k = 0; k < nkeys; k++) assert_int_equal(get(&m, k), ref[k]);
    pkmap_free(&m);
    hash_mask = UINT64_MAX;
    hash_or = 0;
}

static void test_random_full_hash(void **state)
{
    (void)state;
    random_ops(UINT64_MAX, 0, NKEYS, 60000);
}

/* Eight distinct hashes: long runs that wrap around the end of the table,
 * equal hashes with different keys (eq decides), and backward shifts
 * across the wrap. */
static void test_random_weak_hash(void **state)
{
    (void)state;
    random_ops(7, 0, 48, 20000);
    /* Runs that wrap around the end of the table, with entries homed on
     * both sides of the wrap. */
    random_ops(7, 60, 40, 20000);
    random_ops(UINT64_MAX & ~0x30ULL, 0, 300, 40000);
}

int main(void)
{
    setup_keys();
    rng_seed("test_pkmap", "PKMAP_TEST_SEED");

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_set_get_del),
        cmocka_unit_test(test_insert_find_del_at_relocate),
        cmocka_unit_test(test_random_full_hash),
        cmocka_unit_test(test_random_weak_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
