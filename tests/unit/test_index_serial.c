/*
 * test_index_serial.c -- save/load of HNSW (float, SQ8, BIN) and FLAT:
 * identical search results after a round trip, validate() after load, and
 * rejection (with a message, never a crash) of every truncation and of bit
 * flips (HNSW with QUANT NONE, SQ8 and BIN), of a wrong version or magic, of
 * a stream for another column, and of a well-checksummed stream whose
 * content is structurally wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <xxhash.h>

#include "simd/simd.h"
#include "test_index_util.h"

static uint64_t g_seed;

#define DIM 16u

static vindex *build(const char *type, const float *data, uint32_t n, const index_param *ps,
                     size_t np, index_metric m)
{
    index_column col = tu_column(data, DIM * 4);
    char err[256];
    vindex *idx = index_new(type, INDEX_ELEM_F32, m, DIM, &col, ps, np, err, sizeof(err));
    if (!idx) fail_msg("index_new: %s", err);
    if (index_build(idx, n, 1, err, sizeof(err))) fail_msg("build: %s", err);
    return idx;
}

static vindex *load(const float *data, tu_stream *s, index_metric m, char *err, size_t errlen)
{
    index_column col = tu_column(data, DIM * 4);
    s->pos = 0;
    return index_load(INDEX_ELEM_F32, m, DIM, &col, tu_read, s, err, errlen);
}

static void same_results(vindex *a, vindex *b, const float *queries, uint32_t nq)
{
    char err[256];
    for (uint32_t i = 0; i < nq; i++) {
        index_hit x[10], y[10];
        index_search_params p = {.ef = 32};
        long nx = index_search(a, queries + (size_t)i * DIM, 10, &p, x, err, sizeof(err));
        long ny = index_search(b, queries + (size_t)i * DIM, 10, &p, y, err, sizeof(err));
        assert_true(nx > 0);
        assert_int_equal(nx, ny);
        assert_memory_equal(x, y, sizeof(index_hit) * (size_t)nx);
    }
}

static void test_roundtrip(void **state)
{
    (void)state;
    tu_rng r = {g_seed};
    const uint32_t n = 5000, nq = 50;
    float *data = tu_clustered(&r, n + nq, DIM, 20, 0.4f);
    const char *quants[] = {"NONE", "SQ8", "BIN"};
    for (int qi = 0; qi < 3; qi++) {
        index_param ps[] = {{"QUANT", quants[qi]}, {"M", "12"}, {"EFC", "80"}, {"SEED", "9"}};
        vindex *a = build("HNSW", data, n, ps, 4, INDEX_METRIC_L2);
        tu_stream s = {0};
        char err[256];
        assert_int_equal(index_save(a, tu_write, &s, err, sizeof(err)), 0);
        s.limit = SIZE_MAX;
        vindex *b = load(data, &s, INDEX_METRIC_L2, err, sizeof(err));
        if (!b) fail_msg("load: %s", err);
        assert_int_equal(index_validate(b, err, sizeof(err)), 0);
        assert_int_equal(index_count(b), n);
        char da[200], db[200];
        index_describe(a, da, sizeof(da));
        index_describe(b, db, sizeof(db));
        assert_string_equal(da, db);
        same_results(a, b, data + (size_t)n * DIM, nq);
        /* The loaded index keeps growing like the original. */
        index_free(a);
        a = build("HNSW", data, n, ps, 4, INDEX_METRIC_L2);
        for (uint32_t i = n; i < n + nq; i++) {
            assert_int_equal(index_add(a, i, err, sizeof(err)), 0);
            assert_int_equal(index_add(b, i, err, sizeof(err)), 0);
        }
        assert_int_equal(index_validate(b, err, sizeof(err)), 0);
        same_results(a, b, data, nq);
        /* Saving the same index twice gives the same bytes. */
        tu_stream s2 = {0}, s3 = {0};
        assert_int_equal(index_save(a, tu_write, &s2, err, sizeof(err)), 0);
        assert_int_equal(index_save(b, tu_write, &s3, err, sizeof(err)), 0);
        assert_int_equal(s2.len, s3.len);
        assert_memory_equal(s2.buf, s3.buf, s2.len);
        printf("  %s: %zu bytes saved for %u rows\n", quants[qi], s2.len, n + nq);
        free(s.buf);
        free(s2.buf);
        free(s3.buf);
        index_free(a);
        index_free(b);
    }
    free(data);
}

static void test_corrupt(void **state)
{
    (void)state;
    tu_rng r = {g_seed + 1};
    const uint32_t n = 300;
    float *data = tu_clustered(&r, n, DIM, 5, 0.4f);
    const char *quants[] = {"NONE", "SQ8", "BIN"};
    for (int qi = 0; qi < 3; qi++) {
        index_param ps[] = {{"QUANT", quants[qi]}, {"M", "6"}};
        vindex *a = build("HNSW", data, n, ps, 2, INDEX_METRIC_COSINE);
        tu_stream s = {0};
        char err[256];
        assert_int_equal(index_save(a, tu_write, &s, err, sizeof(err)), 0);
        /* Every truncation. */
        for (size_t cut = 0; cut < s.len; cut++) {
            s.limit = cut;
            err[0] = 0;
            vindex *x = load(data, &s, INDEX_METRIC_COSINE, err, sizeof(err));
            if (x) fail_msg("truncation at %zu of %zu accepted", cut, s.len);
            assert_true(strlen(err) > 0);
        }
        s.limit = SIZE_MAX;
        /* Bit flips: every bit of the first 200 bytes, then 3000 random ones. */
        for (size_t i = 0; i < 200 * 8 + 3000; i++) {
            size_t bit = i < 1600 ? i : (size_t)(tu_next(&r) % (s.len * 8));
            s.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            vindex *x = load(data, &s, INDEX_METRIC_COSINE, err, sizeof(err));
            if (x) fail_msg("bit flip at %zu accepted", bit);
            s.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        vindex *ok = load(data, &s, INDEX_METRIC_COSINE, err, sizeof(err));
        assert_non_null(ok);
        index_free(ok);
        printf("  %s: every truncation of %zu bytes and %d bit flips rejected\n", quants[qi],
               s.len, 200 * 8 + 3000);
        /* Wrong version, wrong magic, wrong column. */
        s.buf[8] = 1;
        assert_null(load(data, &s, INDEX_METRIC_COSINE, err, sizeof(err)));
        assert_string_equal(err, "unsupported index format version 1 (this build reads 2)");
        s.buf[8] = 2;
        s.buf[0] = 'X';
        assert_null(load(data, &s, INDEX_METRIC_COSINE, err, sizeof(err)));
        assert_string_equal(err, "not an index stream (bad magic)");
        s.buf[0] = 'V';
        assert_null(load(data, &s, INDEX_METRIC_L2, err, sizeof(err)));
        assert_non_null(strstr(err, "the column is F32 L2"));
        /* A structurally wrong stream with valid checksums: make the first
         * link of row 0 point to itself and fix the node section's checksum.
         * Layout: 12 bytes prefix, HEAD (12 + 25 + 8), HNSP (12 + 36 + 8),
         * then HNSN header 12, payload: base u32, rows u32, row 0: level u8,
         * count u32, first id u32. */
        size_t head = 12 + 12 + (1 + 4 + 16) + 8;
        size_t hnsp = 12 + 36 + 8;
        size_t nodes = head + hnsp;
        uint64_t plen;
        memcpy(&plen, s.buf + nodes + 4, 8);
        size_t first_id = nodes + 12 + 8 + 1 + 4;
        uint32_t zero = 0;
        memcpy(s.buf + first_id, &zero, 4);
        uint64_t sum = XXH64(s.buf + nodes + 12, plen, 0);
        memcpy(s.buf + nodes + 12 + plen, &sum, 8);
        assert_null(load(data, &s, INDEX_METRIC_COSINE, err, sizeof(err)));
        assert_non_null(strstr(err, "links to itself"));
        free(s.buf);
        index_free(a);
    }
    free(data);
}

/* A stream whose section claims a huge length must fail without allocating
 * it: the allocator hook refuses anything above 64 MiB. */
static void *cap_malloc(size_t n)
{
    return n > (64u << 20) ? NULL : malloc(n);
}
static void *cap_calloc(size_t n, size_t s)
{
    return n * s > (64u << 20) ? NULL : calloc(n, s);
}
static void *cap_realloc(void *p, size_t n)
{
    return n > (64u << 20) ? NULL : realloc(p, n);
}

static void test_absurd_lengths(void **state)
{
    (void)state;
    index_set_allocator(cap_malloc, cap_calloc, cap_realloc, free);
    float data[DIM * 4] = {0};
    tu_stream s = {0};
    const uint8_t pre[12] = {'V', 'X', 'I', 'D', 'X', 0, 0, 1, 2, 0, 0, 0};
    tu_write(&s, pre, 12);
    uint8_t sec[12] = {'H', 'E', 'A', 'D', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    tu_write(&s, sec, 12);
    s.limit = SIZE_MAX;
    char err[256];
    assert_null(load(data, &s, INDEX_METRIC_L2, err, sizeof(err)));
    assert_non_null(strstr(err, "length"));
    index_set_allocator(NULL, NULL, NULL, NULL);
    free(s.buf);
}

int main(void)
{
    simd_init();
    g_seed = tu_seed("test_index_serial");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_absurd_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
