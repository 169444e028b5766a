/*
 * test_record.c -- the on-disk encodings of record.c: a round trip of every
 * value type and mutation (empty attribute versus none, zero-length keys,
 * max-dim vectors, upsert entries), key order and ranges, and rejection
 * with a message -- never a crash, never an allocation sized by the input --
 * of a wrong version, a wrong type, every truncation, every single-bit flip,
 * trailing bytes, and well-checksummed values whose inner lengths or enums
 * are absurd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <xxhash.h>

#include "engine/record.h"
#include "test_index_util.h"

static uint64_t g_seed;

/* ------------------------------------------------------------ helpers */

/* Recomputes the checksum after a test edited a value on purpose. */
static void reseal(uint8_t *v, size_t len)
{
    uint64_t h = XXH64(v, len - 8, 0);
    for (int i = 0; i < 8; i++) v[len - 8 + i] = (uint8_t)(h >> (8 * i));
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

#define TEST_LSN 0x0102030405060708ull

/* Decodes val as the type its header claims (LOG values under TEST_LSN).
 * Returns the decoder's result; err gets the message. */
static int decode_any(int type, const uint8_t *val, size_t len, char *err, size_t errlen)
{
    switch (type) {
    case REC_T_FORMAT: {
        rec_format f;
        return rec_decode_format(val, len, &f, err, errlen);
    }
    case REC_T_CHECKPOINT: {
        rec_checkpoint k;
        return rec_decode_checkpoint(val, len, &k, err, errlen);
    }
    case REC_T_COLLECTION: {
        rec_collection c;
        return rec_decode_collection(val, len, &c, err, errlen);
    }
    case REC_T_NAME: {
        uint64_t cid;
        return rec_decode_name(val, len, &cid, err, errlen);
    }
    case REC_T_SEGMENT: {
        rec_segment s;
        return rec_decode_segment(val, len, &s, err, errlen);
    }
    case REC_T_LOG: {
        rec_log_iter it;
        int rc = rec_log_decode(val, len, TEST_LSN, &it, err, errlen);
        if (rc == 0) { /* a valid entry iterates to its end */
            rec_mutation m;
            uint32_t n = rec_log_count(&it);
            while (rec_log_next(&it, &m)) n--;
            assert_int_equal(n, 0);
        }
        return rc;
    }
    case REC_T_ROWS: {
        rec_rows_iter it;
        int rc = rec_rows_decode(val, len, &it, err, errlen);
        rec_row r;
        while (rc == 0 && rec_rows_next(&it, &r)) {
        }
        return rc;
    }
    case REC_T_VECTORS: {
        rec_vectors v;
        return rec_decode_vectors(val, len, &v, err, errlen);
    }
    case REC_T_DELETES: {
        rec_deletes_iter it;
        int rc = rec_deletes_decode(val, len, &it, err, errlen);
        uint32_t row;
        uint64_t lsn;
        while (rc == 0 && rec_deletes_next(&it, &row, &lsn)) {
        }
        return rc;
    }
    case REC_T_INDEX_PART: {
        rec_index_part p;
        return rec_decode_index_part(val, len, &p, err, errlen);
    }
    }
    fail_msg("unknown type %d", type);
    return -1;
}

static collection_spec spec_sample(int i)
{
    collection_spec s = {0};
    s.dim = i == 0 ? 128 : i == 1 ? INDEX_MAX_DIM : 64;
    s.elem = i == 0 ? INDEX_ELEM_F32 : i == 1 ? INDEX_ELEM_BF16 : INDEX_ELEM_BINARY;
    s.metric = i == 2 ? INDEX_METRIC_HAMMING : INDEX_METRIC_COSINE;
    s.index_type = i == 2 ? "FLAT" : "HNSW";
    s.M = 16 + (uint32_t)i;
    s.efc = 200;
    s.quant = i == 0 ? VSET_Q8 : i == 1 ? VSET_NOQUANT : VSET_BIN;
    s.normalize = i != 2;
    s.from_vadd = i == 0;
    s.proj_in_dim = i == 0 ? 300 : 0;
    return s;
}

static void assert_spec_equal(const collection_spec *a, const collection_spec *b)
{
    assert_int_equal(a->dim, b->dim);
    assert_int_equal(a->elem, b->elem);
    assert_int_equal(a->metric, b->metric);
    assert_string_equal(a->index_type, b->index_type);
    assert_int_equal(a->M, b->M);
    assert_int_equal(a->efc, b->efc);
    assert_int_equal(a->quant, b->quant);
    assert_int_equal(a->normalize, b->normalize);
    assert_int_equal(a->from_vadd, b->from_vadd);
    assert_int_equal(a->proj_in_dim, b->proj_in_dim);
}

static void assert_bytes_equal(const void *a, uint32_t alen, const void *b, uint32_t blen)
{
    assert_int_equal(alen, blen);
    if (alen) assert_memory_equal(a, b, alen);
}

static void assert_mutation_equal(const rec_mutation *a, const rec_mutation *b)
{
    assert_int_equal(a->op, b->op);
    switch (a->op) {
    case REC_OP_CREATE_COLLECTION:
        assert_int_equal(a->cid, b->cid);
        assert_bytes_equal(a->name, a->name_len, b->name, b->name_len);
        assert_spec_equal(&a->spec, &b->spec);
        break;
    case REC_OP_DROP_COLLECTION: assert_int_equal(a->cid, b->cid); break;
    case REC_OP_RENAME:
        assert_int_equal(a->cid, b->cid);
        assert_bytes_equal(a->name, a->name_len, b->name, b->name_len);
        break;
    case REC_OP_FLUSH_ALL: break;
    case REC_OP_INSERT:
        assert_int_equal(a->cid, b->cid);
        assert_bytes_equal(a->key, a->key_len, b->key, b->key_len);
        assert_bytes_equal(a->vec, a->vec_len, b->vec, b->vec_len);
        assert_memory_equal(&a->norm, &b->norm, sizeof(float)); /* bit-exact, NaN included */
        assert_int_equal(a->has_attr, b->has_attr);
        if (a->has_attr) assert_bytes_equal(a->attr, a->attr_len, b->attr, b->attr_len);
        break;
    case REC_OP_DELETE:
        assert_int_equal(a->cid, b->cid);
        assert_bytes_equal(a->key, a->key_len, b->key, b->key_len);
        break;
    }
}

/* The sample values used by the corruption tests: one of every type. */
typedef struct sample {
    int type;
    rec_buf b;
} sample;

#define NSAMPLES 10

static uint8_t g_vecbytes[64 * 4];

static void make_samples(sample *s)
{
    memset(s, 0, sizeof(sample) * NSAMPLES);
    for (size_t i = 0; i < sizeof(g_vecbytes); i++) g_vecbytes[i] = (uint8_t)(i * 7 + 1);
    int i = 0;
    rec_format f = {REC_VERSION, 1700000000000ull};
    s[i].type = REC_T_FORMAT;
    rec_encode_format(&s[i++].b, &f);
    rec_checkpoint k = {99, 1700000000123ull, 7, 42};
    s[i].type = REC_T_CHECKPOINT;
    rec_encode_checkpoint(&s[i++].b, &k);
    rec_collection c = {.cid = 3, .name = "set", .name_len = 3, .create_lsn = 5,
                        .spec = spec_sample(0)};
    s[i].type = REC_T_COLLECTION;
    rec_encode_collection(&s[i++].b, &c);
    s[i].type = REC_T_NAME;
    rec_encode_name(&s[i++].b, 3);
    rec_segment seg = {.cid = 3, .sid = 9, .state = REC_SEG_SEALED, .nrows = 100, .ndeleted = 2,
                       .chunk_rows = 64, .nchunks = 2, .lsn = 77, .nfields = 1};
    seg.fields[0] = (rec_segment_field){0, 100, 2, 0, 5000, 0xabcdef};
    s[i].type = REC_T_SEGMENT;
    rec_encode_segment(&s[i++].b, &seg);
    rec_mutation m[3] = {
        {.op = REC_OP_DELETE, .cid = 3, .key = "k", .key_len = 1},
        {.op = REC_OP_INSERT, .cid = 3, .key = "k", .key_len = 1, .vec = g_vecbytes,
         .vec_len = 32, .norm = 2.5f, .has_attr = 1, .attr = "{\"a\":1}", .attr_len = 7},
        {.op = REC_OP_CREATE_COLLECTION, .cid = 4, .name = "x", .name_len = 1,
         .spec = spec_sample(1)},
    };
    s[i].type = REC_T_LOG;
    rec_encode_log(&s[i++].b, TEST_LSN, m, 3);
    s[i].type = REC_T_ROWS;
    rec_rows_begin(&s[i].b, 64);
    rec_rows_add(&s[i].b, "a", 1, 10, 1.0f, 0, NULL, 0);
    rec_rows_add(&s[i].b, "bb", 2, 11, 2.0f, 1, "{}", 2);
    rec_rows_end(&s[i++].b);
    rec_vectors v = {.first_row = 0, .count = 2, .elem = INDEX_ELEM_F32, .dim = 4,
                     .row_bytes = 16, .data = g_vecbytes};
    s[i].type = REC_T_VECTORS;
    rec_encode_vectors(&s[i++].b, &v);
    s[i].type = REC_T_DELETES;
    rec_deletes_begin(&s[i].b, 128, 70);
    rec_deletes_add(&s[i].b, 130, 12);
    rec_deletes_add(&s[i].b, 197, 13);
    rec_deletes_end(&s[i++].b);
    rec_index_part p = {.part = 1, .nparts = 3, .offset = 4096, .data = g_vecbytes, .len = 20};
    s[i].type = REC_T_INDEX_PART;
    rec_encode_index_part(&s[i++].b, &p);
    assert_int_equal(i, NSAMPLES);
}

static void free_samples(sample *s)
{
    for (int i = 0; i < NSAMPLES; i++) rec_buf_free(&s[i].b);
}

/* ------------------------------------------------------------ round trips */

static void test_log_roundtrip(void **state)
{
    (void)state;
    tu_rng r = {g_seed};
    size_t maxbytes = REC_MAX_VECTOR_BYTES;
    uint8_t *bigvec = malloc(maxbytes);
    for (size_t i = 0; i < maxbytes; i++) bigvec[i] = (uint8_t)tu_next(&r);
    char longkey[3000];
    for (size_t i = 0; i < sizeof(longkey); i++) longkey[i] = (char)tu_next(&r); /* any bytes */
    float nan;
    uint32_t nanbits = 0x7fc01234u;
    memcpy(&nan, &nanbits, 4);

    rec_mutation all[] = {
        {.op = REC_OP_CREATE_COLLECTION, .cid = 1, .name = "vs", .name_len = 2,
         .spec = spec_sample(0)},
        {.op = REC_OP_CREATE_COLLECTION, .cid = UINT64_MAX - 1, .name = "", .name_len = 0,
         .spec = spec_sample(1)},
        {.op = REC_OP_CREATE_COLLECTION, .cid = 2, .name = "bin\r\n", .name_len = 5,
         .spec = spec_sample(2)},
        {.op = REC_OP_DROP_COLLECTION, .cid = 77},
        {.op = REC_OP_RENAME, .cid = 1, .name = "renamed", .name_len = 7},
        {.op = REC_OP_FLUSH_ALL},
        /* max-dim vector, key of arbitrary bytes, no attribute */
        {.op = REC_OP_INSERT, .cid = 1, .key = longkey, .key_len = sizeof(longkey),
         .vec = bigvec, .vec_len = (uint32_t)maxbytes, .norm = 3.25f, .has_attr = 0},
        /* zero-length key, empty (present) attribute */
        {.op = REC_OP_INSERT, .cid = 1, .key = "", .key_len = 0, .vec = bigvec, .vec_len = 12,
         .norm = nan, .has_attr = 1, .attr = "", .attr_len = 0},
        /* zero-length vector (the decoder does not know the dim) */
        {.op = REC_OP_INSERT, .cid = 1, .key = "e", .key_len = 1, .vec = NULL, .vec_len = 0,
         .norm = -0.0f, .has_attr = 1, .attr = "{\"year\":1999}", .attr_len = 13},
        {.op = REC_OP_DELETE, .cid = 1, .key = "", .key_len = 0},
        {.op = REC_OP_DELETE, .cid = 1, .key = longkey, .key_len = 100},
    };
    size_t n = sizeof(all) / sizeof(all[0]);
    rec_buf b = {0};
    char err[256];
    /* Each alone, then all in one entry, then an upsert pair. */
    for (size_t i = 0; i <= n; i++) {
        const rec_mutation *ms = i < n ? &all[i] : all;
        size_t cnt = i < n ? 1 : n;
        uint64_t lsn = i + 1;
        rec_encode_log(&b, lsn, ms, cnt);
        assert_int_equal(rec_check(b.p, b.len, err, sizeof(err)), REC_T_LOG);
        rec_log_iter it;
        if (rec_log_decode(b.p, b.len, lsn, &it, err, sizeof(err))) fail_msg("decode: %s", err);
        assert_int_equal(rec_log_count(&it), cnt);
        for (size_t j = 0; j < cnt; j++) {
            rec_mutation m;
            assert_int_equal(rec_log_next(&it, &m), 1);
            assert_mutation_equal(&ms[j], &m);
        }
        rec_mutation m;
        assert_int_equal(rec_log_next(&it, &m), 0);
        /* The LSN inside must match the key. */
        assert_int_equal(rec_log_decode(b.p, b.len, lsn + 1, &it, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "stored under lsn"));
    }
    /* A decoded spec outlives its buffer (index_type is the registry's). */
    rec_encode_log(&b, 5, &all[0], 1);
    rec_log_iter it;
    assert_int_equal(rec_log_decode(b.p, b.len, 5, &it, err, sizeof(err)), 0);
    rec_mutation m;
    rec_log_next(&it, &m);
    memset(b.p, 0, b.len);
    assert_string_equal(m.spec.index_type, "HNSW");
    rec_buf_free(&b);
    free(bigvec);
}

static void test_meta_roundtrip(void **state)
{
    (void)state;
    rec_buf b = {0};
    char err[256];

    rec_format f = {REC_VERSION, 1234567890123ull}, f2;
    rec_encode_format(&b, &f);
    assert_int_equal(rec_decode_format(b.p, b.len, &f2, err, sizeof(err)), 0);
    assert_int_equal(f2.format_version, REC_VERSION);
    assert_int_equal(f2.created_ms, f.created_ms);

    rec_checkpoint k = {UINT64_MAX, 5, 6, 7}, k2;
    rec_encode_checkpoint(&b, &k);
    assert_int_equal(rec_decode_checkpoint(b.p, b.len, &k2, err, sizeof(err)), 0);
    assert_memory_equal(&k, &k2, sizeof(k));

    for (int i = 0; i < 3; i++) {
        rec_collection c = {.cid = 10 + (uint64_t)i, .name = "a name", .name_len = 6,
                            .create_lsn = 99, .spec = spec_sample(i)}, c2;
        rec_encode_collection(&b, &c);
        assert_int_equal(rec_decode_collection(b.p, b.len, &c2, err, sizeof(err)), 0);
        assert_int_equal(c2.cid, c.cid);
        assert_int_equal(c2.create_lsn, 99);
        assert_bytes_equal(c.name, c.name_len, c2.name, c2.name_len);
        assert_spec_equal(&c.spec, &c2.spec);
    }

    uint64_t cid;
    rec_encode_name(&b, 0xfedcba9876543210ull);
    assert_int_equal(rec_decode_name(b.p, b.len, &cid, err, sizeof(err)), 0);
    assert_int_equal(cid, 0xfedcba9876543210ull);

    rec_segment s = {.cid = 1, .sid = 2, .state = REC_SEG_GROWING, .nrows = 1000, .ndeleted = 10,
                     .chunk_rows = 256, .nchunks = 4, .capacity = 4096, .lsn = 12345,
                     .nfields = REC_MAX_FIELDS};
    for (uint32_t i = 0; i < REC_MAX_FIELDS; i++)
        s.fields[i] = (rec_segment_field){.field = (uint16_t)i, .indexed_rows = 900 + i,
                                          .index_parts = i,
                                          .index_first_part = (i & 1) ? 1u << 31 : 0,
                                          .index_bytes = i ? 1000 * i : 0, .index_xxh64 = i * 31};
    rec_segment s2;
    rec_encode_segment(&b, &s);
    if (rec_decode_segment(b.p, b.len, &s2, err, sizeof(err))) fail_msg("%s", err);
    assert_int_equal(s2.cid, 1);
    assert_int_equal(s2.sid, 2);
    assert_int_equal(s2.state, REC_SEG_GROWING);
    assert_int_equal(s2.nrows, 1000);
    assert_int_equal(s2.ndeleted, 10);
    assert_int_equal(s2.chunk_rows, 256);
    assert_int_equal(s2.nchunks, 4);
    assert_int_equal(s2.capacity, 4096);
    assert_int_equal(s2.lsn, 12345);
    assert_int_equal(s2.nfields, REC_MAX_FIELDS);
    assert_memory_equal(s.fields, s2.fields, sizeof(s.fields));
    /* An empty segment: zero rows, zero chunks. */
    rec_segment e = {.cid = 1, .sid = 3, .state = REC_SEG_SEALED, .chunk_rows = 1};
    rec_encode_segment(&b, &e);
    assert_int_equal(rec_decode_segment(b.p, b.len, &s2, err, sizeof(err)), 0);
    assert_int_equal(s2.nrows, 0);
    assert_int_equal(s2.nfields, 0);
    /* A capacity below the row count is corrupt. */
    s.capacity = 999;
    rec_encode_segment(&b, &s);
    assert_int_equal(rec_decode_segment(b.p, b.len, &s2, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "capacity 999"));
    rec_buf_free(&b);
}

static void test_data_roundtrip(void **state)
{
    (void)state;
    tu_rng r = {g_seed + 1};
    rec_buf b = {0};
    char err[256];

    /* Rows: random keys (some empty), attributes absent / empty / present. */
    enum { NROWS = 300 };
    static char keys[NROWS][40], attrs[NROWS][60];
    uint32_t klen[NROWS], alen[NROWS];
    int has[NROWS];
    rec_rows_begin(&b, 1024);
    for (uint32_t i = 0; i < NROWS; i++) {
        klen[i] = (uint32_t)(tu_next(&r) % 40);
        for (uint32_t j = 0; j < klen[i]; j++) keys[i][j] = (char)tu_next(&r);
        has[i] = (int)(tu_next(&r) % 3); /* 0 none, 1 empty, 2 present */
        alen[i] = has[i] == 2 ? 1 + (uint32_t)(tu_next(&r) % 59) : 0;
        for (uint32_t j = 0; j < alen[i]; j++) attrs[i][j] = (char)('a' + tu_next(&r) % 26);
        rec_rows_add(&b, keys[i], klen[i], 1000 + i, (float)i * 0.5f, has[i] != 0, attrs[i],
                     alen[i]);
    }
    rec_rows_end(&b);
    rec_rows_iter it;
    if (rec_rows_decode(b.p, b.len, &it, err, sizeof(err))) fail_msg("rows: %s", err);
    for (uint32_t i = 0; i < NROWS; i++) {
        rec_row row;
        assert_int_equal(rec_rows_next(&it, &row), 1);
        assert_int_equal(row.row, 1024 + i);
        assert_bytes_equal(keys[i], klen[i], row.key, row.key_len);
        assert_int_equal(row.ins_lsn, 1000 + i);
        assert_true(row.norm == (float)i * 0.5f);
        assert_int_equal(row.has_attr, has[i] != 0);
        assert_bytes_equal(attrs[i], alen[i], row.attr, row.attr_len);
    }
    rec_row row;
    assert_int_equal(rec_rows_next(&it, &row), 0);
    /* An empty chunk. */
    rec_rows_begin(&b, 0);
    rec_rows_end(&b);
    assert_int_equal(rec_rows_decode(b.p, b.len, &it, err, sizeof(err)), 0);
    assert_int_equal(rec_rows_next(&it, &row), 0);

    /* Vectors of every element type, the last at the maximum dim. */
    const index_elem elems[] = {INDEX_ELEM_F32, INDEX_ELEM_F16, INDEX_ELEM_BF16, INDEX_ELEM_I8,
                                INDEX_ELEM_BINARY};
    for (int e = 0; e < 5; e++) {
        uint32_t dim = e == 4 ? INDEX_MAX_DIM : 8 + (uint32_t)e * 3;
        uint32_t rb = (uint32_t)index_elem_row_bytes(elems[e], dim), count = 17;
        uint8_t *data = malloc((size_t)rb * count);
        for (size_t i = 0; i < (size_t)rb * count; i++) data[i] = (uint8_t)tu_next(&r);
        rec_vectors v = {.first_row = 4096, .count = count, .elem = elems[e], .dim = dim,
                         .row_bytes = rb, .data = data}, v2;
        rec_encode_vectors(&b, &v);
        if (rec_decode_vectors(b.p, b.len, &v2, err, sizeof(err))) fail_msg("vectors: %s", err);
        assert_int_equal(v2.first_row, 4096);
        assert_int_equal(v2.count, count);
        assert_int_equal(v2.elem, elems[e]);
        assert_int_equal(v2.dim, dim);
        assert_int_equal(v2.row_bytes, rb);
        assert_memory_equal(v2.data, data, (size_t)rb * count);
        free(data);
    }

    /* Deletes: random subsets of odd-sized runs (empty, all, 1 row). */
    const uint32_t sizes[] = {1, 63, 64, 65, 200, 1000};
    for (int si = 0; si < 6; si++) {
        for (int density = 0; density < 3; density++) {
            uint32_t nrows = sizes[si], first = 5000;
            uint8_t *want = calloc(nrows, 1);
            rec_deletes_begin(&b, first, nrows);
            uint32_t nd = 0;
            for (uint32_t i = 0; i < nrows; i++) {
                int del = density == 0 ? 0 : density == 2 ? 1 : (int)(tu_next(&r) & 1);
                if (!del) continue;
                want[i] = 1;
                nd++;
                rec_deletes_add(&b, first + i, 100 + (uint64_t)i * 3);
            }
            rec_deletes_end(&b);
            rec_deletes_iter di;
            if (rec_deletes_decode(b.p, b.len, &di, err, sizeof(err)))
                fail_msg("deletes: %s", err);
            assert_int_equal(rec_deletes_count(&di), nd);
            uint32_t rrow, got = 0;
            uint64_t lsn;
            uint32_t prev = 0;
            while (rec_deletes_next(&di, &rrow, &lsn)) {
                assert_true(rrow >= first && rrow < first + nrows);
                assert_true(got == 0 || rrow > prev);
                assert_true(want[rrow - first]);
                assert_int_equal(lsn, 100 + (uint64_t)(rrow - first) * 3);
                prev = rrow;
                got++;
            }
            assert_int_equal(got, nd);
            free(want);
        }
    }

    /* Index parts, including an empty one. */
    uint8_t bytes[1000];
    for (size_t i = 0; i < sizeof(bytes); i++) bytes[i] = (uint8_t)tu_next(&r);
    for (uint32_t len = 0; len <= 1000; len += 500) {
        rec_index_part p = {.part = 2, .nparts = 5, .offset = 1ull << 40, .data = bytes,
                            .len = len}, p2;
        rec_encode_index_part(&b, &p);
        assert_int_equal(rec_decode_index_part(b.p, b.len, &p2, err, sizeof(err)), 0);
        assert_int_equal(p2.part, 2);
        assert_int_equal(p2.nparts, 5);
        assert_int_equal(p2.offset, 1ull << 40);
        assert_bytes_equal(bytes, len, p2.data, p2.len);
    }
    rec_buf_free(&b);
}

static void test_keys(void **state)
{
    (void)state;
    tu_rng r = {g_seed + 2};
    char err[256], desc[256];
    /* Log keys sort as their LSNs. */
    for (int i = 0; i < 1000; i++) {
        uint64_t a = tu_next(&r) >> (tu_next(&r) % 64), b = tu_next(&r) >> (tu_next(&r) % 64);
        uint8_t ka[8], kb[8];
        rec_key_log(a, ka);
        rec_key_log(b, kb);
        int c = memcmp(ka, kb, 8);
        assert_true((a < b && c < 0) || (a == b && c == 0) || (a > b && c > 0));
        uint64_t back;
        assert_int_equal(rec_key_parse_log(ka, 8, &back, err, sizeof(err)), 0);
        assert_int_equal(back, a);
    }
    uint64_t lsn;
    assert_int_equal(rec_key_parse_log("abc", 3, &lsn, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "3 bytes"));

    /* A collection's data and index keys lie in its range, others do not. */
    uint8_t lo[8], hi[8], k[REC_DATA_KEY_BYTES], x[REC_INDEX_KEY_BYTES];
    rec_range_collection(7, lo, hi);
    const uint64_t cids[] = {6, 7, 8};
    for (int ci = 0; ci < 3; ci++) {
        rec_key_data(cids[ci], UINT64_MAX, REC_DATA_VECTORS, 0xffff, UINT32_MAX, k);
        int in = memcmp(k, lo, 8) >= 0 && memcmp(k, hi, 8) < 0;
        assert_int_equal(in, cids[ci] == 7);
        rec_key_index(cids[ci], 0, 0, 0, x);
        in = memcmp(x, lo, 8) >= 0 && memcmp(x, hi, 8) < 0;
        assert_int_equal(in, cids[ci] == 7);
    }
    uint8_t slo[16], shi[16];
    rec_range_segment(7, 3, slo, shi);
    rec_key_data(7, 3, REC_DATA_ROWS, 0, 12, k);
    assert_true(memcmp(k, slo, 16) >= 0 && memcmp(k, shi, 16) < 0);
    rec_key_data(7, 4, REC_DATA_DELETES, 0, 0, k);
    assert_true(memcmp(k, shi, 16) >= 0);
    uint8_t mlo[9], mhi[9], ms[REC_META_SEGMENT_KEY_BYTES];
    rec_range_meta_segments(7, mlo, mhi);
    rec_key_meta_segment(7, UINT64_MAX, ms);
    assert_true(memcmp(ms, mlo, 9) >= 0 && memcmp(ms, mhi, 9) < 0);
    rec_key_meta_segment(8, 0, ms);
    assert_true(memcmp(ms, mhi, 9) >= 0);

    /* Parse back and describe. */
    rec_key_data(7, 3, REC_DATA_VECTORS, 2, 12, k);
    rec_data_key dk;
    assert_int_equal(rec_key_parse_data(k, sizeof(k), &dk, err, sizeof(err)), 0);
    assert_int_equal(dk.cid, 7);
    assert_int_equal(dk.sid, 3);
    assert_int_equal(dk.kind, REC_DATA_VECTORS);
    assert_int_equal(dk.field, 2);
    assert_int_equal(dk.chunk, 12);
    rec_key_describe(REC_CF_DATA, k, sizeof(k), desc, sizeof(desc));
    assert_string_equal(desc, "data collection 7 segment 3 vectors field 2 chunk 12");
    k[16] = 'Z';
    assert_int_equal(rec_key_parse_data(k, sizeof(k), &dk, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "kind"));
    rec_key_index(7, 3, 1, 4, x);
    rec_index_key ik;
    assert_int_equal(rec_key_parse_index(x, sizeof(x), &ik, err, sizeof(err)), 0);
    assert_int_equal(ik.cid, 7);
    assert_int_equal(ik.part, 4);
    rec_key_describe(REC_CF_INDEX, x, sizeof(x), desc, sizeof(desc));
    assert_string_equal(desc, "index collection 7 segment 3 field 1 part 4");
    uint8_t lk[8];
    rec_key_log(42, lk);
    rec_key_describe(REC_CF_LOG, lk, 8, desc, sizeof(desc));
    assert_string_equal(desc, "log lsn 42");
    uint8_t nk[16];
    size_t nl = rec_key_meta_name("my\nset", 6, nk);
    rec_key_describe(REC_CF_META, nk, nl, desc, sizeof(desc));
    assert_string_equal(desc, "meta name \"my\\x0aset\"");
    uint8_t ck[REC_META_ID_KEY_BYTES];
    rec_key_meta_collection(5, ck);
    rec_key_describe(REC_CF_META, ck, sizeof(ck), desc, sizeof(desc));
    assert_string_equal(desc, "meta collection 5");
    uint8_t tk[1];
    rec_key_meta_tag(REC_META_CHECKPOINT, tk);
    rec_key_describe(REC_CF_META, tk, 1, desc, sizeof(desc));
    assert_string_equal(desc, "meta checkpoint");
    rec_key_describe(REC_CF_LOG, "xy", 2, desc, sizeof(desc));
    assert_non_null(strstr(desc, "unrecognised"));
    /* A tiny buffer is cut, never overrun. */
    char tiny[8];
    rec_key_describe(REC_CF_DATA, k, sizeof(k), tiny, sizeof(tiny));
    assert_true(strlen(tiny) < sizeof(tiny));
}

/* ------------------------------------------------------------ corruption */

static void test_samples_valid(void **state)
{
    (void)state;
    sample s[NSAMPLES];
    char err[256];
    make_samples(s);
    for (int i = 0; i < NSAMPLES; i++) {
        if (decode_any(s[i].type, s[i].b.p, s[i].b.len, err, sizeof(err)))
            fail_msg("sample %s: %s", rec_type_name(s[i].type), err);
        assert_int_equal(rec_check(s[i].b.p, s[i].b.len, err, sizeof(err)), s[i].type);
    }
    free_samples(s);
}

static void test_version_mismatch(void **state)
{
    (void)state;
    sample s[NSAMPLES];
    char err[256];
    make_samples(s);
    for (int i = 0; i < NSAMPLES; i++) {
        uint8_t *v = s[i].b.p;
        size_t len = s[i].b.len;
        v[0] = REC_VERSION + 1;
        reseal(v, len); /* a well-formed value from a newer build */
        assert_int_equal(decode_any(s[i].type, v, len, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "format version 2 is not supported"));
        assert_int_equal(rec_check(v, len, err, sizeof(err)), -1);
        v[0] = 0;
        reseal(v, len);
        assert_int_equal(decode_any(s[i].type, v, len, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "version 0"));
    }
    free_samples(s);
}

static void test_wrong_type(void **state)
{
    (void)state;
    sample s[NSAMPLES];
    char err[256];
    make_samples(s);
    for (int i = 0; i < NSAMPLES; i++)
        for (int j = 0; j < NSAMPLES; j++) {
            if (i == j) continue;
            assert_int_equal(decode_any(s[j].type, s[i].b.p, s[i].b.len, err, sizeof(err)), -1);
            assert_non_null(strstr(err, "wrong type"));
            assert_non_null(strstr(err, rec_type_name(s[i].type)));
        }
    /* Reserved bits. */
    s[0].b.p[3] = 0x80;
    reseal(s[0].b.p, s[0].b.len);
    assert_int_equal(decode_any(s[0].type, s[0].b.p, s[0].b.len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "reserved"));
    free_samples(s);
}

static void test_truncation(void **state)
{
    (void)state;
    sample s[NSAMPLES];
    char err[256];
    make_samples(s);
    for (int i = 0; i < NSAMPLES; i++) {
        size_t len = s[i].b.len;
        /* Every prefix, in a buffer of exactly that size (ASan catches any
         * read past it). */
        for (size_t l = 0; l < len; l++) {
            uint8_t *cut = malloc(l ? l : 1);
            memcpy(cut, s[i].b.p, l);
            err[0] = '\0';
            if (decode_any(s[i].type, cut, l, err, sizeof(err)) != -1)
                fail_msg("%s truncated to %zu of %zu bytes was accepted",
                         rec_type_name(s[i].type), l, len);
            assert_true(err[0] != '\0');
            assert_null(strpbrk(err, "\r\n"));
            free(cut);
        }
        /* One byte too many. */
        uint8_t *ext = malloc(len + 1);
        memcpy(ext, s[i].b.p, len);
        ext[len] = 0;
        assert_int_equal(decode_any(s[i].type, ext, len + 1, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "length mismatch"));
        free(ext);
    }
    /* NULL buffer. */
    assert_int_equal(rec_check(NULL, 0, err, sizeof(err)), -1);
    free_samples(s);
}

static void test_bit_flips(void **state)
{
    (void)state;
    sample s[NSAMPLES];
    char err[256];
    make_samples(s);
    long tried = 0;
    for (int i = 0; i < NSAMPLES; i++) {
        uint8_t *v = s[i].b.p;
        size_t len = s[i].b.len;
        for (size_t byte = 0; byte < len; byte++)
            for (int bit = 0; bit < 8; bit++) {
                v[byte] ^= (uint8_t)(1u << bit);
                if (decode_any(s[i].type, v, len, err, sizeof(err)) != -1)
                    fail_msg("%s with bit %d of byte %zu flipped was accepted",
                             rec_type_name(s[i].type), bit, byte);
                v[byte] ^= (uint8_t)(1u << bit);
                tried++;
            }
        assert_int_equal(decode_any(s[i].type, v, len, err, sizeof(err)), 0);
    }
    printf("[ info ] %ld single-bit flips rejected\n", tried);
    /* The message of a body flip names the checksum. */
    s[5].b.p[20] ^= 4;
    assert_int_equal(decode_any(s[5].type, s[5].b.p, s[5].b.len, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "LOG record: checksum mismatch"));
    free_samples(s);
}

/* Rewrites a u32 at off and reseals; expects the decoder to fail with a
 * message containing `want`. */
static void expect_bad_u32(int type, const rec_buf *b, size_t off, uint32_t val, const char *want)
{
    char err[256];
    uint8_t *v = malloc(b->len);
    memcpy(v, b->p, b->len);
    put_le32(v + off, val);
    reseal(v, b->len);
    assert_int_equal(decode_any(type, v, b->len, err, sizeof(err)), -1);
    if (!strstr(err, want)) fail_msg("expected \"%s\" in \"%s\"", want, err);
    free(v);
}

static void expect_bad_u8(int type, const rec_buf *b, size_t off, uint8_t val, const char *want)
{
    char err[256];
    uint8_t *v = malloc(b->len);
    memcpy(v, b->p, b->len);
    v[off] = val;
    reseal(v, b->len);
    assert_int_equal(decode_any(type, v, b->len, err, sizeof(err)), -1);
    if (!strstr(err, want)) fail_msg("expected \"%s\" in \"%s\"", want, err);
    free(v);
}

static void test_absurd_lengths(void **state)
{
    (void)state;
    rec_buf b = {0};
    const size_t H = REC_HEADER_BYTES;

    /* Header body length: huge, and off by one. */
    rec_encode_name(&b, 1);
    expect_bad_u32(REC_T_NAME, &b, 4, 0xffffffffu, "length mismatch");
    expect_bad_u32(REC_T_NAME, &b, 4, 7, "length mismatch");
    expect_bad_u32(REC_T_NAME, &b, 4, 9, "length mismatch");

    /* LOG: body = lsn u64 | count u32 | op u8 | cid u64 | key len u32 | key ... */
    rec_mutation ins = {.op = REC_OP_INSERT, .cid = 1, .key = "key", .key_len = 3,
                        .vec = g_vecbytes, .vec_len = 16, .norm = 1, .has_attr = 1,
                        .attr = "{}", .attr_len = 2};
    rec_encode_log(&b, TEST_LSN, &ins, 1);
    expect_bad_u32(REC_T_LOG, &b, H + 8, 0xffffffffu, "truncated");   /* count */
    expect_bad_u32(REC_T_LOG, &b, H + 8, 0, "holds no mutation");       /* count */
    expect_bad_u32(REC_T_LOG, &b, H + 21, 0xffffffffu, "element key"); /* key length */
    expect_bad_u32(REC_T_LOG, &b, H + 21, 4, "");                      /* off by one */
    /* vector length beyond REC_MAX_VECTOR_BYTES */
    expect_bad_u32(REC_T_LOG, &b, H + 28, REC_MAX_VECTOR_BYTES + 1, "exceeds the limit");
    expect_bad_u8(REC_T_LOG, &b, H + 12, 99, "unknown op 99");
    expect_bad_u8(REC_T_LOG, &b, H + 52, 2, "attribute flag 2"); /* after vec(16)+norm(4) */
    expect_bad_u32(REC_T_LOG, &b, H + 53, 0x7fffffffu, "attribute");

    /* CREATE_COLLECTION spec fields. */
    rec_mutation cr = {.op = REC_OP_CREATE_COLLECTION, .cid = 9, .name = "n", .name_len = 1,
                       .spec = spec_sample(0)};
    rec_encode_log(&b, TEST_LSN, &cr, 1);
    size_t sp = H + 8 + 4 + 1 + 8 + 4 + 1; /* the spec */
    expect_bad_u32(REC_T_LOG, &b, sp, 0, "dim 0");
    expect_bad_u32(REC_T_LOG, &b, sp, INDEX_MAX_DIM + 1, "out of range");
    expect_bad_u8(REC_T_LOG, &b, sp + 4, 5, "element type 5");
    expect_bad_u8(REC_T_LOG, &b, sp + 5, 9, "metric 9");
    expect_bad_u8(REC_T_LOG, &b, sp + 6, 3, "quantisation 3");
    expect_bad_u8(REC_T_LOG, &b, sp + 7, 4, "flags");
    expect_bad_u32(REC_T_LOG, &b, sp + 16, INDEX_MAX_DIM + 1, "proj_in_dim");
    expect_bad_u8(REC_T_LOG, &b, sp + 20, 0, "index type length 0");
    expect_bad_u8(REC_T_LOG, &b, sp + 20, 200, "index type length 200");
    expect_bad_u8(REC_T_LOG, &b, sp + 21, 'X', "\"XNSW\" is unknown");

    /* ROWS: first | count | key len ... */
    rec_rows_begin(&b, 0);
    rec_rows_add(&b, "k", 1, 1, 1.0f, 1, "a", 1);
    rec_rows_end(&b);
    expect_bad_u32(REC_T_ROWS, &b, H + 4, 0xffffffffu, "row limit");
    expect_bad_u32(REC_T_ROWS, &b, H + 4, 0x10000000u, "truncated");
    expect_bad_u32(REC_T_ROWS, &b, H + 8, 0xfffffff0u, "row key");
    expect_bad_u32(REC_T_ROWS, &b, H + 0, 0xffffffffu, "row limit");
    expect_bad_u8(REC_T_ROWS, &b, H + 25, 7, "attribute flag 7");

    /* VECTORS: first | count | elem | dim | row_bytes | data */
    rec_vectors v = {.count = 2, .elem = INDEX_ELEM_F32, .dim = 4, .row_bytes = 16,
                     .data = g_vecbytes};
    rec_encode_vectors(&b, &v);
    expect_bad_u32(REC_T_VECTORS, &b, H + 4, 0xffffffffu, "row limit");
    expect_bad_u32(REC_T_VECTORS, &b, H + 4, 0x10000000u, "need");
    expect_bad_u32(REC_T_VECTORS, &b, H + 4, 3, "need");
    expect_bad_u8(REC_T_VECTORS, &b, H + 8, 9, "element type 9");
    expect_bad_u32(REC_T_VECTORS, &b, H + 9, 0, "dim 0");
    expect_bad_u32(REC_T_VECTORS, &b, H + 9, 5, "row bytes 16 do not match");
    expect_bad_u32(REC_T_VECTORS, &b, H + 13, 0xffffffffu, "row bytes");
    expect_bad_u32(REC_T_VECTORS, &b, H + 0, 0xffffffffu, "row limit");

    /* DELETES: first | nrows | ndeleted | bitmap | lsns */
    rec_deletes_begin(&b, 0, 10);
    rec_deletes_add(&b, 3, 5);
    rec_deletes_end(&b);
    expect_bad_u32(REC_T_DELETES, &b, H + 4, 0xffffffffu, "row limit");
    expect_bad_u32(REC_T_DELETES, &b, H + 4, 0x10000000u, "need");
    expect_bad_u32(REC_T_DELETES, &b, H + 8, 0xffffffffu, "deleted rows out of");
    expect_bad_u32(REC_T_DELETES, &b, H + 8, 2, "need");
    expect_bad_u8(REC_T_DELETES, &b, H + 12 + 1, 0x80, "beyond"); /* row 15 >= 10 */
    expect_bad_u8(REC_T_DELETES, &b, H + 12, 0x09, "marks 2 rows");
    expect_bad_u8(REC_T_DELETES, &b, H + 20, 0, "is 0"); /* the LSN */

    /* SEGMENT invariants. */
    rec_segment seg = {.cid = 1, .sid = 2, .state = REC_SEG_SEALED, .nrows = 100, .ndeleted = 1,
                       .chunk_rows = 64, .nchunks = 2, .lsn = 5, .nfields = 1};
    seg.fields[0] = (rec_segment_field){0, 100, 1, 0, 10, 0};
    rec_encode_segment(&b, &seg);
    expect_bad_u8(REC_T_SEGMENT, &b, H + 16, 2, "state 2");
    expect_bad_u32(REC_T_SEGMENT, &b, H + 25, 48, "power of two");
    expect_bad_u32(REC_T_SEGMENT, &b, H + 29, 3, "3 chunks");
    expect_bad_u32(REC_T_SEGMENT, &b, H + 21, 101, "deleted rows");
    uint8_t *w = malloc(b.len);
    memcpy(w, b.p, b.len);
    put_le16(w + H + 45, 1000);
    reseal(w, b.len);
    char err[256];
    assert_int_equal(rec_decode_segment(w, b.len, &seg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "1000 fields"));
    free(w);
    expect_bad_u32(REC_T_SEGMENT, &b, H + 33, 50, "capacity 50");
    expect_bad_u32(REC_T_SEGMENT, &b, H + 49, 101, "indexed rows");
    expect_bad_u32(REC_T_SEGMENT, &b, H + 53, 0, "index parts");
    expect_bad_u32(REC_T_SEGMENT, &b, H + 57, 0xffffffffu, "overflow");

    /* INDEX_PART: part >= nparts. */
    rec_index_part p = {.part = 0, .nparts = 1, .data = g_vecbytes, .len = 8};
    rec_encode_index_part(&b, &p);
    expect_bad_u32(REC_T_INDEX_PART, &b, H + 0, 1, "part 1 of 1");
    expect_bad_u32(REC_T_INDEX_PART, &b, H + 4, 0, "part 0 of 0");
    rec_buf_free(&b);
}

int main(void)
{
    g_seed = tu_seed("test_record");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_roundtrip),   cmocka_unit_test(test_meta_roundtrip),
        cmocka_unit_test(test_data_roundtrip),  cmocka_unit_test(test_keys),
        cmocka_unit_test(test_samples_valid),   cmocka_unit_test(test_version_mismatch),
        cmocka_unit_test(test_wrong_type),      cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_bit_flips),       cmocka_unit_test(test_absurd_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
