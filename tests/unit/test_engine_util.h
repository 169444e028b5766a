/*
 * test_engine_util.h -- helpers shared by the engine tests that compare a
 * whole keyspace before and after a round trip through the database
 * (test_replay.c, test_checkpoint.c): a seeded generator, small vector
 * sets of every kind, a log hook that keeps every LOG value, and a byte dump of every collection (spec, counts,
 * id, and per key the stored vector, norm and attribute). Header-only
 * (static functions) because every test file is its own binary.
 */
#ifndef VECTIS_TEST_ENGINE_UTIL_H
#define VECTIS_TEST_ENGINE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/collection_impl.h"
#include "engine/engine.h"
#include "engine/record.h"

static uint64_t seed, rs;

static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

/* ------------------------------------------------------------ collections */

/* An 8-d IP vector set (normalised, as VADD makes them): kind 0 HNSW Q8,
 * 1 HNSW BIN, 2 HNSW NOQUANT, 3 HNSW Q8 with REDUCE from 12-d, 4 FLAT. */
static collection *make_set(int kind)
{
    collection_spec sp;
    memset(&sp, 0, sizeof(sp));
    sp.dim = 8;
    sp.elem = INDEX_ELEM_F32;
    sp.metric = INDEX_METRIC_IP;
    sp.index_type = kind == 4 ? "FLAT" : "HNSW";
    sp.M = 8;
    sp.efc = 50;
    sp.quant = kind == 1 ? VSET_BIN : kind == 2 ? VSET_NOQUANT : VSET_Q8;
    sp.normalize = 1;
    sp.from_vadd = 1;
    if (kind == 3) sp.proj_in_dim = 12;
    char err[256];
    collection *c = collection_new(&sp, err, sizeof(err));
    assert_non_null(c);
    return c;
}

/* ------------------------------------------------------------ the log */

typedef struct logged {
    uint64_t lsn;
    rec_buf val;
} logged;

static logged *logv;
static size_t nlog, logcap;

static void hook(uint64_t lsn, const struct rec_mutation *m, size_t n)
{
    if (nlog == logcap) {
        logcap = logcap ? logcap * 2 : 64;
        logv = realloc(logv, sizeof(logged) * logcap);
    }
    memset(&logv[nlog], 0, sizeof(logged));
    logv[nlog].lsn = lsn;
    rec_encode_log(&logv[nlog].val, lsn, m, n);
    if (nlog) assert_true(lsn > logv[nlog - 1].lsn);
    nlog++;
}

static void log_free(void)
{
    for (size_t i = 0; i < nlog; i++) rec_buf_free(&logv[i].val);
    free(logv);
    logv = NULL;
    nlog = logcap = 0;
}

/* ------------------------------------------------------------ dumps */

/* The whole observable state as bytes. */
typedef struct dump {
    char *p;
    size_t len, cap;
} dump;

static void dump_add(dump *d, const void *p, size_t n)
{
    if (d->len + n > d->cap) {
        d->cap = (d->len + n) * 2 + 256;
        d->p = realloc(d->p, d->cap);
    }
    memcpy(d->p + d->len, p, n);
    d->len += n;
}

/* One row; the collections of these tests have dim 8. */
static void dump_row(void *ctx, const char *key, size_t klen)
{
    void **a = ctx;
    dump *d = a[0];
    collection *c = a[1];
    float v[8], norm;
    const char *attr;
    size_t alen;
    assert_true(collection_get_spec(c)->dim == 8);
    assert_true(collection_get_vector(c, key, klen, v, &norm));
    assert_true(collection_get_attr(c, key, klen, &attr, &alen));
    dump_add(d, key, klen);
    dump_add(d, "", 1);
    dump_add(d, v, sizeof(v));
    dump_add(d, &norm, sizeof(norm));
    dump_add(d, &alen, sizeof(alen));
    if (attr) dump_add(d, attr, alen);
}

static int keycmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect_key(void *ctx, const char *key, size_t klen, collection *c)
{
    (void)c;
    char ***v = ctx;
    size_t n = 0;
    while ((*v)[n]) n++;
    *v = realloc(*v, sizeof(char *) * (n + 2));
    (*v)[n] = strndup(key, klen);
    (*v)[n + 1] = NULL;
}

/* Every key in order: name, rows, attributes, id, spec, then its rows. */
static dump snapshot(void)
{
    dump d = {0};
    char **keys = calloc(1, sizeof(char *));
    db_foreach(collect_key, &keys);
    size_t n = 0;
    while (keys[n]) n++;
    qsort(keys, n, sizeof(char *), keycmp);
    for (size_t i = 0; i < n; i++) {
        collection *c = db_lookup(keys[i], strlen(keys[i]));
        uint64_t rows = collection_rows(c), attrs = collection_attr_count(c);
        uint64_t uid = collection_uid(c);
        dump_add(&d, keys[i], strlen(keys[i]) + 1);
        dump_add(&d, &rows, sizeof(rows));
        dump_add(&d, &attrs, sizeof(attrs));
        dump_add(&d, &uid, sizeof(uid));
        dump_add(&d, collection_get_spec(c), offsetof(collection_spec, index_type));
        void *a[2] = {&d, c};
        collection_range(c, NULL, 0, 1, NULL, 0, 1, -1, dump_row, a);
        free(keys[i]);
    }
    free(keys);
    return d;
}

#endif
