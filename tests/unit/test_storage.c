/*
 * test_storage.c -- the RocksDB layer (storage.c) with the record.c
 * encodings: create and reopen, batches in every family read back after a
 * reopen, log replay in LSN order from a given LSN, log truncation below a
 * checkpoint, dropping a collection's keys, bulk (no-WAL) writes that
 * survive a crash, acknowledged writes that survive a crash, a full disk
 * (RLIMIT_FSIZE) failing a write with a message while reads go on, and
 * open errors (unusable directory, locked database, foreign column family,
 * newer or corrupt format record) as messages, never crashes.
 *
 * Crashes are simulated by a child process that writes and then _exit()s
 * without closing the database. The child is this binary re-executed with
 * "--child <mode> <dir>": a plain fork would inherit RocksDB's global
 * thread pool without its threads, and the child's flushes would wait
 * forever.
 *
 * Built without RocksDB (no VECTIS_ROCKSDB), the binary only checks that
 * storage_open fails cleanly and reports the suite as skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/record.h"
#include "engine/storage.h"

#ifdef VECTIS_ROCKSDB

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_index_util.h"

static uint64_t g_seed;

#if defined(__SANITIZE_THREAD__)
/* RocksDB is not built with ThreadSanitizer: its internal synchronisation
 * is invisible to TSan, which then reports races inside the library (e.g.
 * in its cache-role registry). Suppress reports from librocksdb only; our
 * own threads (the WAL syncer below) stay checked. */
const char *__tsan_default_suppressions(void);
const char *__tsan_default_suppressions(void)
{
    return "race:librocksdb.so\ncalled_from_lib:librocksdb.so\n";
}
#endif

/* ------------------------------------------------------------ helpers */

typedef struct tmpdir {
    char base[256]; /* mkdtemp directory, removed at the end */
    char db[300];   /* base/db: not created by the test */
} tmpdir;

static void tmp_make(tmpdir *t)
{
    const char *root = getenv("TMPDIR");
    snprintf(t->base, sizeof(t->base), "%s/vectis-storage-XXXXXX", root ? root : "/tmp");
    if (!mkdtemp(t->base)) fail_msg("mkdtemp: %s", strerror(errno));
    snprintf(t->db, sizeof(t->db), "%s/db", t->base);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void tmp_remove(tmpdir *t)
{
    nftw(t->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static storage *open_ok(const char *dir, const storage_options *o)
{
    char err[512];
    storage *s = storage_open(dir, o, err, sizeof(err));
    if (!s) fail_msg("storage_open(%s): %s", dir, err);
    return s;
}

static void write_ok(storage *s, storage_batch *b, int sync)
{
    char err[512];
    if (storage_write(s, b, sync, err, sizeof(err))) fail_msg("storage_write: %s", err);
    storage_batch_clear(b);
}

/* One INSERT log entry for key "k<lsn>" with a 4-float vector. */
static void put_insert(storage_batch *b, rec_buf *rb, uint64_t lsn, uint64_t cid)
{
    char key[32];
    float vec[4] = {(float)lsn, 1, 2, 3};
    int kl = snprintf(key, sizeof(key), "k%llu", (unsigned long long)lsn);
    rec_mutation m = {.op = REC_OP_INSERT, .cid = cid, .key = key, .key_len = (uint32_t)kl,
                      .vec = (const uint8_t *)vec, .vec_len = sizeof(vec), .norm = 1.0f};
    rec_encode_log(rb, lsn, &m, 1);
    storage_batch_put_log(b, lsn, rb->p, rb->len);
}

/* Collects replayed LSNs and checks each value decodes to the INSERT
 * put_insert wrote. */
typedef struct replay {
    uint64_t *lsns;
    size_t n, cap;
    uint64_t stop_at; /* 0: never stop */
} replay;

static int replay_cb(void *ctx, uint64_t lsn, const void *val, size_t vlen)
{
    replay *r = ctx;
    char err[256];
    rec_log_iter it;
    if (rec_log_decode(val, vlen, lsn, &it, err, sizeof(err))) fail_msg("lsn %llu: %s",
                                                                        (unsigned long long)lsn, err);
    rec_mutation m;
    assert_int_equal(rec_log_next(&it, &m), 1);
    assert_int_equal(m.op, REC_OP_INSERT);
    char key[32];
    int kl = snprintf(key, sizeof(key), "k%llu", (unsigned long long)lsn);
    assert_int_equal(m.key_len, kl);
    assert_memory_equal(m.key, key, (size_t)kl);
    float v0;
    memcpy(&v0, m.vec, 4);
    assert_true(v0 == (float)lsn);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->lsns = realloc(r->lsns, r->cap * sizeof(uint64_t));
    }
    r->lsns[r->n++] = lsn;
    return r->stop_at && lsn == r->stop_at;
}

static void replay_expect(storage *s, uint64_t from, uint64_t lo, uint64_t hi)
{
    replay r = {0};
    char err[256];
    if (storage_replay_log(s, from, replay_cb, &r, err, sizeof(err)) != 0)
        fail_msg("replay: %s", err);
    if (r.n != hi - lo + 1)
        fail_msg("replay from %llu: %zu entries, expected %llu..%llu", (unsigned long long)from,
                 r.n, (unsigned long long)lo, (unsigned long long)hi);
    for (size_t i = 0; i < r.n; i++) assert_int_equal(r.lsns[i], lo + i);
    free(r.lsns);
}

typedef struct counter {
    size_t n;
    uint8_t last[64];
    size_t lastlen;
} counter;

/* Counts keys and checks they arrive in strictly increasing order. */
static int count_cb(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    counter *c = ctx;
    (void)val, (void)vlen;
    assert_true(klen <= sizeof(c->last));
    if (c->n) {
        size_t m = klen < c->lastlen ? klen : c->lastlen;
        int cmp = memcmp(c->last, key, m);
        assert_true(cmp < 0 || (cmp == 0 && c->lastlen < klen));
    }
    memcpy(c->last, key, klen);
    c->lastlen = klen;
    c->n++;
    return 0;
}

static size_t count_range(storage *s, rec_family f, const void *lo, size_t lolen, const void *hi,
                          size_t hilen)
{
    counter c = {0};
    char err[256];
    if (storage_scan(s, f, lo, lolen, hi, hilen, count_cb, &c, err, sizeof(err)) != 0)
        fail_msg("scan: %s", err);
    return c.n;
}

/* Puts a segment's worth of keys for (cid, sid): manifest, 3 row chunks,
 * 3 vector chunks, 1 delete chunk, 2 index parts. */
static void put_segment(storage_batch *b, rec_buf *rb, uint64_t cid, uint64_t sid)
{
    uint8_t k[32];
    float vecs[64 * 4];
    for (int i = 0; i < 64 * 4; i++) vecs[i] = (float)(cid * 1000 + sid * 100) + (float)i;
    for (uint32_t ch = 0; ch < 3; ch++) {
        rec_rows_begin(rb, ch * 64);
        for (uint32_t r = 0; r < 64; r++) {
            char key[32];
            int kl = snprintf(key, sizeof(key), "c%llu-s%llu-r%u", (unsigned long long)cid,
                              (unsigned long long)sid, ch * 64 + r);
            rec_rows_add(rb, key, (uint32_t)kl, 10 + r, 1.0f, r & 1, "{}", 2);
        }
        rec_rows_end(rb);
        rec_key_data(cid, sid, REC_DATA_ROWS, 0, ch, k);
        storage_batch_put(b, REC_CF_DATA, k, REC_DATA_KEY_BYTES, rb->p, rb->len);
        rec_vectors v = {.first_row = ch * 64, .count = 64, .elem = INDEX_ELEM_F32, .dim = 4,
                         .row_bytes = 16, .data = (const uint8_t *)vecs};
        rec_encode_vectors(rb, &v);
        rec_key_data(cid, sid, REC_DATA_VECTORS, 0, ch, k);
        storage_batch_put(b, REC_CF_DATA, k, REC_DATA_KEY_BYTES, rb->p, rb->len);
    }
    rec_deletes_begin(rb, 0, 64);
    rec_deletes_add(rb, 5, 99);
    rec_deletes_end(rb);
    rec_key_data(cid, sid, REC_DATA_DELETES, 0, 0, k);
    storage_batch_put(b, REC_CF_DATA, k, REC_DATA_KEY_BYTES, rb->p, rb->len);
    for (uint32_t p = 0; p < 2; p++) {
        rec_index_part ip = {.part = p, .nparts = 2, .offset = p * 100,
                             .data = (const uint8_t *)vecs, .len = 100};
        rec_encode_index_part(rb, &ip);
        rec_key_index(cid, sid, 0, p, k);
        storage_batch_put(b, REC_CF_INDEX, k, REC_INDEX_KEY_BYTES, rb->p, rb->len);
    }
    rec_segment seg = {.cid = cid, .sid = sid, .state = REC_SEG_SEALED, .nrows = 192,
                       .ndeleted = 1, .chunk_rows = 64, .nchunks = 3, .lsn = 500, .nfields = 1};
    seg.fields[0] = (rec_segment_field){0, 192, 2, 0, 200, 0};
    rec_encode_segment(rb, &seg);
    rec_key_meta_segment(cid, sid, k);
    storage_batch_put(b, REC_CF_META, k, REC_META_SEGMENT_KEY_BYTES, rb->p, rb->len);
}

static void put_collection(storage_batch *b, rec_buf *rb, uint64_t cid, const char *name)
{
    uint8_t k[64];
    collection_spec sp = {.dim = 4, .elem = INDEX_ELEM_F32, .metric = INDEX_METRIC_COSINE,
                          .index_type = "HNSW", .M = 16, .efc = 200, .quant = VSET_Q8,
                          .normalize = 1, .from_vadd = 1};
    rec_collection c = {.cid = cid, .name = name, .name_len = (uint32_t)strlen(name),
                        .create_lsn = cid, .spec = sp};
    rec_encode_collection(rb, &c);
    rec_key_meta_collection(cid, k);
    storage_batch_put(b, REC_CF_META, k, REC_META_ID_KEY_BYTES, rb->p, rb->len);
    rec_encode_name(rb, cid);
    size_t kl = rec_key_meta_name(name, strlen(name), k);
    storage_batch_put(b, REC_CF_META, k, kl, rb->p, rb->len);
}

/* ------------------------------------------------------------ tests */

static void test_create_reopen(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t);
    storage *s = open_ok(t.db, NULL);
    assert_int_equal(storage_is_new(s), 1);
    assert_string_equal(storage_dir(s), t.db);
    /* The format record is there and says this version. */
    uint8_t fk[1];
    rec_key_meta_tag(REC_META_FORMAT, fk);
    void *v;
    size_t vl;
    char err[256];
    assert_int_equal(storage_get(s, REC_CF_META, fk, 1, &v, &vl, err, sizeof(err)), 1);
    rec_format f;
    assert_int_equal(rec_decode_format(v, vl, &f, err, sizeof(err)), 0);
    assert_int_equal(f.format_version, REC_VERSION);
    assert_true(f.created_ms > 1600000000000ull);
    storage_value_free(v);
    /* A missing key. */
    assert_int_equal(storage_get(s, REC_CF_DATA, "nope", 4, &v, &vl, err, sizeof(err)), 0);
    assert_null(v);
    uint64_t first, last;
    assert_int_equal(storage_log_bounds(s, &first, &last, err, sizeof(err)), 0);
    storage_close(s);

    s = open_ok(t.db, NULL);
    assert_int_equal(storage_is_new(s), 0);
    storage_close(s);
    /* Read-only open of an existing database works and refuses writes. */
    storage_options ro = {.read_only = 1};
    s = open_ok(t.db, &ro);
    storage_batch *b = storage_batch_new(s);
    storage_batch_put_log(b, 1, "x", 1);
    assert_int_equal(storage_write(s, b, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "read-only"));
    storage_batch_free(b);
    storage_close(s);
    storage_close(NULL);
    storage_batch_free(NULL);
    tmp_remove(&t);
}

static void test_batches_reopen(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t);
    storage_options o = {.block_cache_bytes = 8 << 20, .max_background_jobs = 2};
    storage *s = open_ok(t.db, &o);
    storage_batch *b = storage_batch_new(s);
    rec_buf rb = {0};
    put_collection(b, &rb, 1, "alpha");
    put_segment(b, &rb, 1, 10);
    put_segment(b, &rb, 1, 11);
    assert_int_equal(storage_batch_count(b), 2 + 2 * 10);
    assert_true(storage_batch_bytes(b) > 2 * 64 * 4 * 4 * 3);
    write_ok(s, b, 1);
    assert_int_equal(storage_batch_count(b), 0);
    for (uint64_t lsn = 1; lsn <= 20; lsn++) put_insert(b, &rb, lsn, 1);
    write_ok(s, b, 0);
    storage_batch_free(b);
    storage_close(s);

    s = open_ok(t.db, &o);
    char err[256];
    void *v;
    size_t vl;
    /* meta: collection, name, manifests */
    uint8_t k[64];
    rec_key_meta_collection(1, k);
    assert_int_equal(storage_get(s, REC_CF_META, k, REC_META_ID_KEY_BYTES, &v, &vl, err,
                                 sizeof(err)), 1);
    rec_collection c;
    assert_int_equal(rec_decode_collection(v, vl, &c, err, sizeof(err)), 0);
    assert_int_equal(c.name_len, 5);
    assert_memory_equal(c.name, "alpha", 5);
    assert_int_equal(c.spec.dim, 4);
    storage_value_free(v);
    size_t kl = rec_key_meta_name("alpha", 5, k);
    assert_int_equal(storage_get(s, REC_CF_META, k, kl, &v, &vl, err, sizeof(err)), 1);
    uint64_t cid;
    assert_int_equal(rec_decode_name(v, vl, &cid, err, sizeof(err)), 0);
    assert_int_equal(cid, 1);
    storage_value_free(v);
    /* "C" + "F" + "N" + 2 x "S" */
    assert_int_equal(count_range(s, REC_CF_META, NULL, 0, NULL, 0), 5);
    /* data of segment 11: 3 rows + 3 vectors + 1 deletes, in key order */
    uint8_t lo[16], hi[16];
    rec_range_segment(1, 11, lo, hi);
    assert_int_equal(count_range(s, REC_CF_DATA, lo, 16, hi, 16), 7);
    assert_int_equal(count_range(s, REC_CF_INDEX, lo, 16, hi, 16), 2);
    assert_int_equal(count_range(s, REC_CF_DATA, NULL, 0, NULL, 0), 14);
    /* one vector chunk, decoded */
    rec_key_data(1, 11, REC_DATA_VECTORS, 0, 2, k);
    assert_int_equal(storage_get(s, REC_CF_DATA, k, REC_DATA_KEY_BYTES, &v, &vl, err,
                                 sizeof(err)), 1);
    rec_vectors vec;
    assert_int_equal(rec_decode_vectors(v, vl, &vec, err, sizeof(err)), 0);
    assert_int_equal(vec.first_row, 128);
    float f0;
    memcpy(&f0, vec.data, 4);
    assert_true(f0 == 1000.0f + 1100.0f);
    storage_value_free(v);
    replay_expect(s, 0, 1, 20);
    uint64_t first, last;
    assert_int_equal(storage_log_bounds(s, &first, &last, err, sizeof(err)), 1);
    assert_int_equal(first, 1);
    assert_int_equal(last, 20);
    /* stats mention every family */
    char stats[2048];
    storage_stats(s, stats, sizeof(stats));
    assert_non_null(strstr(stats, "rocksdb_data_keys:"));
    assert_non_null(strstr(stats, "rocksdb_log_live_bytes:"));
    assert_non_null(strstr(stats, "rocksdb_write_errors:0\r\n"));
    storage_numbers n;
    storage_get_numbers(s, &n);
    assert_true(n.keys[REC_CF_LOG] >= 1);
    /* a tiny stats buffer is cut, never overrun */
    char tiny[16];
    storage_stats(s, tiny, sizeof(tiny));
    assert_true(strlen(tiny) < sizeof(tiny));
    rec_buf_free(&rb);
    storage_close(s);
    tmp_remove(&t);
}

static void test_log_replay_truncate(void **state)
{
    (void)state;
    tu_rng r = {g_seed};
    tmpdir t;
    tmp_make(&t);
    storage *s = open_ok(t.db, NULL);
    storage_batch *b = storage_batch_new(s);
    rec_buf rb = {0};
    /* LSNs 1..1000 written in a shuffled order, in batches of random size:
     * replay must come out in LSN order regardless. */
    enum { N = 1000 };
    uint64_t order[N];
    for (int i = 0; i < N; i++) order[i] = (uint64_t)i + 1;
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(tu_next(&r) % (uint64_t)(i + 1));
        uint64_t x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    for (int i = 0; i < N;) {
        int n = 1 + (int)(tu_next(&r) % 50);
        for (int j = 0; j < n && i < N; j++, i++) put_insert(b, &rb, order[i], 1);
        write_ok(s, b, (int)(tu_next(&r) & 1));
    }
    replay_expect(s, 0, 1, N);
    replay_expect(s, 1, 1, N);
    replay_expect(s, 500, 500, N);
    replay_expect(s, N, N, N);
    replay r0 = {0};
    char err[256];
    assert_int_equal(storage_replay_log(s, N + 1, replay_cb, &r0, err, sizeof(err)), 0);
    assert_int_equal(r0.n, 0);
    /* A callback that stops. */
    replay rs = {.stop_at = 42};
    assert_int_equal(storage_replay_log(s, 40, replay_cb, &rs, err, sizeof(err)), 1);
    assert_int_equal(rs.n, 3);
    free(rs.lsns);

    /* A checkpoint at 700: its record and the log range delete in one batch. */
    rec_checkpoint k = {.lsn = 700, .time_ms = 1, .next_cid = 2, .next_sid = 1};
    rec_encode_checkpoint(&rb, &k);
    uint8_t kk[1];
    rec_key_meta_tag(REC_META_CHECKPOINT, kk);
    storage_batch_put(b, REC_CF_META, kk, 1, rb.p, rb.len);
    storage_batch_delete_range_log(b, 0, k.lsn + 1);
    storage_batch_delete_range_log(b, 5, 5); /* empty range: no-op */
    write_ok(s, b, 1);
    replay_expect(s, 0, 701, N);
    uint64_t first, last;
    assert_int_equal(storage_log_bounds(s, &first, &last, err, sizeof(err)), 1);
    assert_int_equal(first, 701);
    assert_int_equal(last, N);
    storage_batch_free(b);
    storage_close(s);

    s = open_ok(t.db, NULL);
    replay_expect(s, 0, 701, N);
    void *v;
    size_t vl;
    assert_int_equal(storage_get(s, REC_CF_META, kk, 1, &v, &vl, err, sizeof(err)), 1);
    rec_checkpoint k2;
    assert_int_equal(rec_decode_checkpoint(v, vl, &k2, err, sizeof(err)), 0);
    assert_int_equal(k2.lsn, 700);
    storage_value_free(v);
    /* Reclaiming the space of the deleted range works and keeps the rest. */
    assert_int_equal(storage_compact_range(s, REC_CF_LOG, NULL, 0, NULL, 0, err, sizeof(err)), 0);
    assert_int_equal(storage_flush(s, err, sizeof(err)), 0);
    replay_expect(s, 0, 701, N);
    storage_close(s);
    rec_buf_free(&rb);
    tmp_remove(&t);
}

static void test_drop_collection(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t);
    storage *s = open_ok(t.db, NULL);
    storage_batch *b = storage_batch_new(s);
    rec_buf rb = {0};
    /* Ids either side of 1 << 8 and 1 << 56, so a byte-order slip in the
     * range would show. */
    const uint64_t cids[] = {255, 256, 257, 1ull << 56};
    for (int i = 0; i < 4; i++) {
        char name[16];
        snprintf(name, sizeof(name), "c%d", i);
        put_collection(b, &rb, cids[i], name);
        put_segment(b, &rb, cids[i], 1);
        put_segment(b, &rb, cids[i], 2);
    }
    write_ok(s, b, 1);
    assert_int_equal(count_range(s, REC_CF_DATA, NULL, 0, NULL, 0), 4 * 14);
    /* DROP of cids[1] = 256: its ranges and its name key, one batch. */
    storage_batch_drop_collection(b, 256);
    uint8_t nk[8];
    size_t nkl = rec_key_meta_name("c1", 2, nk);
    storage_batch_delete(b, REC_CF_META, nk, nkl);
    write_ok(s, b, 1);
    char err[256];
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < 4; i++) {
            uint8_t lo[8], hi[8], mlo[9], mhi[9];
            rec_range_collection(cids[i], lo, hi);
            rec_range_meta_segments(cids[i], mlo, mhi);
            size_t want = cids[i] == 256 ? 0 : 1;
            assert_int_equal(count_range(s, REC_CF_DATA, lo, 8, hi, 8), want * 14);
            assert_int_equal(count_range(s, REC_CF_INDEX, lo, 8, hi, 8), want * 4);
            assert_int_equal(count_range(s, REC_CF_META, mlo, 9, mhi, 9), want * 2);
            uint8_t ck[REC_META_ID_KEY_BYTES];
            rec_key_meta_collection(cids[i], ck);
            void *v;
            size_t vl;
            assert_int_equal(storage_get(s, REC_CF_META, ck, sizeof(ck), &v, &vl, err,
                                         sizeof(err)), (int)want);
            storage_value_free(v);
        }
        void *v;
        size_t vl;
        assert_int_equal(storage_get(s, REC_CF_META, nk, nkl, &v, &vl, err, sizeof(err)), 0);
        /* F + 3 x (C, N, 2 S) */
        assert_int_equal(count_range(s, REC_CF_META, NULL, 0, NULL, 0), 1 + 3 * 4);
        /* Same after a compaction of the dropped range and a reopen. */
        uint8_t lo[8], hi[8];
        rec_range_collection(256, lo, hi);
        assert_int_equal(storage_compact_range(s, REC_CF_DATA, lo, 8, hi, 8, err, sizeof(err)), 0);
        storage_batch_free(b);
        storage_close(s);
        s = open_ok(t.db, NULL);
        b = storage_batch_new(s);
    }
    storage_batch_free(b);
    storage_close(s);
    rec_buf_free(&rb);
    tmp_remove(&t);
}

/* Child process bodies for the crash tests: open, write, _exit without
 * closing. Exit status 0 = the writes returned success. */
static void child_write_and_crash(const char *dir, int bulk)
{
    char err[512];
    storage *s = storage_open(dir, NULL, err, sizeof(err));
    if (!s) _exit(10);
    storage_batch *b = storage_batch_new(s);
    rec_buf rb = {0};
    if (bulk) {
        put_segment(b, &rb, 7, 1);
        /* manifests live in meta: a bulk batch must refuse them */
        if (storage_write_bulk(s, b, err, sizeof(err)) != -1 || !strstr(err, "only touch"))
            _exit(11);
        storage_batch_clear(b);
        uint8_t k[REC_DATA_KEY_BYTES];
        float vecs[64 * 4] = {42};
        rec_vectors v = {.first_row = 0, .count = 64, .elem = INDEX_ELEM_F32, .dim = 4,
                         .row_bytes = 16, .data = (const uint8_t *)vecs};
        rec_encode_vectors(&rb, &v);
        rec_key_data(7, 1, REC_DATA_VECTORS, 0, 0, k);
        storage_batch_put(b, REC_CF_DATA, k, sizeof(k), rb.p, rb.len);
        if (storage_write_bulk(s, b, err, sizeof(err)) != 0) _exit(12);
    } else {
        for (uint64_t lsn = 1; lsn <= 100; lsn++) {
            put_insert(b, &rb, lsn, 1);
            if (storage_write(s, b, lsn % 2, err, sizeof(err)) != 0) _exit(13);
            storage_batch_clear(b);
        }
    }
    _exit(0); /* a crash: no close, no flush */
}

/* Runs this binary as "--child <mode> <dir>" and returns its exit status
 * (0 = the child's checks passed). */
static int run_child(const char *mode, const char *dir)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/proc/self/exe", "test_storage", "--child", mode, dir, (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_crash_acknowledged(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t);
    /* Log writes, synced and not: all survive a process crash (the WAL is
     * in the page cache either way). */
    int st = run_child("log", t.db);
    if (st) fail_msg("log child failed with status %d", st);
    storage *s = open_ok(t.db, NULL);
    replay_expect(s, 0, 1, 100);
    storage_close(s);
    /* A bulk write skipped the WAL but flushed: it survives too. */
    st = run_child("bulk", t.db);
    if (st) fail_msg("bulk child failed with status %d", st);
    s = open_ok(t.db, NULL);
    uint8_t k[REC_DATA_KEY_BYTES];
    rec_key_data(7, 1, REC_DATA_VECTORS, 0, 0, k);
    void *v;
    size_t vl;
    char err[256];
    assert_int_equal(storage_get(s, REC_CF_DATA, k, sizeof(k), &v, &vl, err, sizeof(err)), 1);
    rec_vectors vec;
    assert_int_equal(rec_decode_vectors(v, vl, &vec, err, sizeof(err)), 0);
    float f0;
    memcpy(&f0, vec.data, 4);
    assert_true(f0 == 42.0f);
    storage_value_free(v);
    /* The refused bulk batch left nothing behind. */
    uint8_t mk[REC_META_SEGMENT_KEY_BYTES];
    rec_key_meta_segment(7, 1, mk);
    assert_int_equal(storage_get(s, REC_CF_META, mk, sizeof(mk), &v, &vl, err, sizeof(err)), 0);
    replay_expect(s, 0, 1, 100);
    storage_close(s);
    tmp_remove(&t);
}

/* Full disk, simulated with RLIMIT_FSIZE in a child: a write that would
 * grow a file past the limit fails with EFBIG. The child reports through
 * its exit status: 0 = the big write failed with a message and the
 * earlier data was still readable. */
static void child_disk_full(const char *dir)
{
    char err[512];
    signal(SIGXFSZ, SIG_IGN);
    storage *s = storage_open(dir, NULL, err, sizeof(err));
    if (!s) _exit(20);
    storage_batch *b = storage_batch_new(s);
    rec_buf rb = {0};
    for (uint64_t lsn = 1; lsn <= 10; lsn++) put_insert(b, &rb, lsn, 1);
    if (storage_write(s, b, 1, err, sizeof(err))) _exit(21);
    storage_batch_clear(b);
    struct rlimit rl = {1 << 20, 1 << 20}; /* no file may grow past 1 MiB */
    if (setrlimit(RLIMIT_FSIZE, &rl)) _exit(22);
    static uint8_t big[4 << 20];
    memset(big, 0x5a, sizeof(big));
    storage_batch_put_log(b, 11, big, sizeof(big));
    int rc = storage_write(s, b, 1, err, sizeof(err));
    if (rc != -1) _exit(23);
    if (!strstr(err, "write failed")) _exit(24);
    printf("[ info ] disk full: %s\n", err);
    /* Reads go on. */
    uint8_t lk[8];
    rec_key_log(5, lk);
    void *v;
    size_t vl;
    if (storage_get(s, REC_CF_LOG, lk, 8, &v, &vl, err, sizeof(err)) != 1) _exit(25);
    storage_value_free(v);
    char stats[2048];
    storage_stats(s, stats, sizeof(stats));
    if (!strstr(stats, "rocksdb_write_errors:1\r\n")) _exit(26);
    fflush(stdout);
    _exit(0);
}

static void test_disk_full(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t);
    int st = run_child("diskfull", t.db);
    if (st) fail_msg("disk-full child failed with status %d", st);
    /* Everything acknowledged is there, the failed write is not. */
    storage *s = open_ok(t.db, NULL);
    replay_expect(s, 0, 1, 10);
    storage_close(s);
    tmp_remove(&t);
}

static void test_open_errors(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t);
    char err[512], path[400];
    /* The parent of dir is a regular file. */
    snprintf(path, sizeof(path), "%s/file", t.base);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("x", f);
    fclose(f);
    assert_null(storage_open(path, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "is not a directory"));
    snprintf(path, sizeof(path), "%s/file/db", t.base);
    assert_null(storage_open(path, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "Not a directory"));
    /* Missing parent directories are not created (one level only). */
    snprintf(path, sizeof(path), "%s/a/b/c", t.base);
    assert_null(storage_open(path, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot create directory"));
    assert_null(storage_open("", NULL, err, sizeof(err)));
    /* An unwritable directory (root ignores permissions: skip the check). */
    if (geteuid() != 0) {
        snprintf(path, sizeof(path), "%s/ro", t.base);
        assert_int_equal(mkdir(path, 0500), 0);
        assert_null(storage_open(path, NULL, err, sizeof(err)));
        printf("[ info ] unwritable dir: %s\n", err);
        chmod(path, 0700);
    }
    /* Read-only open of nothing. */
    storage_options ro = {.read_only = 1};
    assert_null(storage_open(t.db, &ro, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot open directory"));
    /* A database in use (RocksDB's LOCK file). */
    storage *s = open_ok(t.db, NULL);
    assert_null(storage_open(t.db, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot open the database"));
    assert_null(strpbrk(err, "\r\n"));
    printf("[ info ] locked: %s\n", err);
    /* A format record from a newer build. */
    storage_batch *b = storage_batch_new(s);
    rec_buf rb = {0};
    rec_format fr = {REC_VERSION + 1, 0};
    rec_encode_format(&rb, &fr);
    uint8_t fk[1];
    rec_key_meta_tag(REC_META_FORMAT, fk);
    storage_batch_put(b, REC_CF_META, fk, 1, rb.p, rb.len);
    write_ok(s, b, 1);
    storage_batch_free(b);
    storage_close(s);
    assert_null(storage_open(t.db, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "format version 2"));
    /* A corrupt format record. */
    s = NULL;
    {
        /* Write it with the raw API: storage_open refuses this database. */
        rocksdb_options_t *o = rocksdb_options_create();
        const char *names[5] = {"meta", "log", "data", "index", "default"};
        const rocksdb_options_t *opts[5] = {o, o, o, o, o};
        rocksdb_column_family_handle_t *h[5];
        char *rerr = NULL;
        rocksdb_t *db = rocksdb_open_column_families(o, t.db, 5, names, opts, h, &rerr);
        if (rerr) fail_msg("raw open: %s", rerr);
        rec_format ok = {REC_VERSION, 0};
        rec_encode_format(&rb, &ok);
        rb.p[9] ^= 1;
        rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
        rocksdb_put_cf(db, wo, h[0], (const char *)fk, 1, (const char *)rb.p, rb.len, &rerr);
        assert_null(rerr);
        /* and a column family vectis does not know */
        rocksdb_column_family_handle_t *alien = rocksdb_create_column_family(db, o, "alien", &rerr);
        assert_null(rerr);
        rocksdb_writeoptions_destroy(wo);
        rocksdb_column_family_handle_destroy(alien);
        for (int i = 0; i < 5; i++) rocksdb_column_family_handle_destroy(h[i]);
        rocksdb_close(db);
        rocksdb_options_destroy(o);
    }
    assert_null(storage_open(t.db, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "unknown column family 'alien'"));
    {
        rocksdb_options_t *o = rocksdb_options_create();
        char *rerr = NULL;
        const char *names[6] = {"meta", "log", "data", "index", "default", "alien"};
        const rocksdb_options_t *opts[6] = {o, o, o, o, o, o};
        rocksdb_column_family_handle_t *h[6];
        rocksdb_t *db = rocksdb_open_column_families(o, t.db, 6, names, opts, h, &rerr);
        if (rerr) fail_msg("raw open: %s", rerr);
        rocksdb_drop_column_family(db, h[5], &rerr);
        assert_null(rerr);
        for (int i = 0; i < 6; i++) rocksdb_column_family_handle_destroy(h[i]);
        rocksdb_close(db);
        rocksdb_options_destroy(o);
    }
    assert_null(storage_open(t.db, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "checksum mismatch"));
    printf("[ info ] corrupt format: %s\n", err);
    rec_buf_free(&rb);
    tmp_remove(&t);
}

/* everysec: a timer thread syncs the WAL while the main thread writes. */
typedef struct syncer {
    storage *s;
    int stop; /* atomic builtins */
    int syncs, failures;
} syncer;

static void *sync_thread(void *arg)
{
    syncer *y = arg;
    char err[256];
    while (!__atomic_load_n(&y->stop, __ATOMIC_SEQ_CST)) {
        if (storage_sync_wal(y->s, err, sizeof(err))) y->failures++;
        __atomic_add_fetch(&y->syncs, 1, __ATOMIC_SEQ_CST);
        usleep(1000);
    }
    return NULL;
}

static void test_sync_thread_and_blobs(void **state)
{
    (void)state;
    tmpdir t;
    tmp_make(&t);
    storage_options o = {.blob_min_bytes = 4096};
    storage *s = open_ok(t.db, &o);
    syncer y = {.s = s};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, sync_thread, &y), 0);
    storage_batch *b = storage_batch_new(s);
    rec_buf rb = {0};
    for (uint64_t lsn = 1; lsn <= 2000; lsn++) {
        put_insert(b, &rb, lsn, 1);
        if (lsn % 7 == 0) write_ok(s, b, 0);
    }
    write_ok(s, b, 0);
    /* Let the syncer run a few times whatever the scheduling (bounded). */
    for (int i = 0; i < 10000 && __atomic_load_n(&y.syncs, __ATOMIC_SEQ_CST) < 3; i++)
        usleep(1000);
    __atomic_store_n(&y.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    assert_int_equal(y.failures, 0);
    assert_true(y.syncs >= 3);
    /* A big data value goes to a blob file with BlobDB on. */
    static uint8_t big[256 << 10];
    for (size_t i = 0; i < sizeof(big); i++) big[i] = (uint8_t)(i * 31);
    rec_index_part ip = {.part = 0, .nparts = 1, .data = big, .len = sizeof(big)};
    rec_encode_index_part(&rb, &ip);
    uint8_t k[REC_INDEX_KEY_BYTES];
    rec_key_index(1, 1, 0, 0, k);
    storage_batch_put(b, REC_CF_INDEX, k, sizeof(k), rb.p, rb.len);
    char err[256];
    assert_int_equal(storage_write_bulk(s, b, err, sizeof(err)), 0);
    storage_numbers n;
    storage_get_numbers(s, &n);
    assert_true(n.blob_bytes >= sizeof(big));
    storage_batch_free(b);
    storage_close(s);
    s = open_ok(t.db, &o);
    replay_expect(s, 0, 1, 2000);
    void *v;
    size_t vl;
    assert_int_equal(storage_get(s, REC_CF_INDEX, k, sizeof(k), &v, &vl, err, sizeof(err)), 1);
    rec_index_part p2;
    assert_int_equal(rec_decode_index_part(v, vl, &p2, err, sizeof(err)), 0);
    assert_int_equal(p2.len, sizeof(big));
    assert_memory_equal(p2.data, big, sizeof(big));
    storage_value_free(v);
    storage_close(s);
    rec_buf_free(&rb);
    tmp_remove(&t);
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--child")) {
        if (!strcmp(argv[2], "log")) child_write_and_crash(argv[3], 0);
        if (!strcmp(argv[2], "bulk")) child_write_and_crash(argv[3], 1);
        if (!strcmp(argv[2], "diskfull")) child_disk_full(argv[3]);
        return 126;
    }
    g_seed = tu_seed("test_storage");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_reopen),
        cmocka_unit_test(test_batches_reopen),
        cmocka_unit_test(test_log_replay_truncate),
        cmocka_unit_test(test_drop_collection),
        cmocka_unit_test(test_crash_acknowledged),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_sync_thread_and_blobs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* !VECTIS_ROCKSDB */

int main(void)
{
    char err[256];
    storage_options o = {0};
    if (storage_open("/nonexistent", &o, err, sizeof(err)) != NULL || !strstr(err, "RocksDB")) {
        printf("storage_open without RocksDB did not fail cleanly\n");
        return 1;
    }
    printf("skipped: built without RocksDB\n");
    return 0;
}

#endif
