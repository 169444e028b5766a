/*
 * test_index_flat.c -- FLAT against a naive double-precision reference, for
 * every element type and metric; filters, threads, range search, chunked
 * columns, parameters and errors, allocator hooks, save/load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "simd/simd.h"
#include "test_index_util.h"

static uint64_t g_seed;

/* -------------------------------------------------- naive reference */

static double ref_elem(index_elem e, const void *v, uint32_t i)
{
    switch (e) {
    case INDEX_ELEM_F32:
        return ((const float *)v)[i];
    case INDEX_ELEM_F16:
        return simd_f16_to_f32(((const uint16_t *)v)[i]);
    case INDEX_ELEM_BF16:
        return simd_bf16_to_f32(((const uint16_t *)v)[i]);
    case INDEX_ELEM_I8:
        return ((const int8_t *)v)[i];
    default:
        return 0;
    }
}

static double ref_dist(index_elem e, index_metric m, uint32_t dim, const void *a, const void *b)
{
    if (e == INDEX_ELEM_BINARY) {
        const uint8_t *x = a, *y = b;
        unsigned diff = 0, inter = 0, uni = 0;
        for (uint32_t i = 0; i < dim / 8; i++) {
            diff += (unsigned)__builtin_popcount(x[i] ^ y[i]);
            inter += (unsigned)__builtin_popcount(x[i] & y[i]);
            uni += (unsigned)__builtin_popcount(x[i] | y[i]);
        }
        if (m == INDEX_METRIC_HAMMING) return diff;
        return uni ? 1.0 - (double)inter / uni : 0.0;
    }
    double l2 = 0, ab = 0, aa = 0, bb = 0;
    for (uint32_t i = 0; i < dim; i++) {
        double x = ref_elem(e, a, i), y = ref_elem(e, b, i);
        l2 += (x - y) * (x - y);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if (m == INDEX_METRIC_L2) return l2;
    if (m == INDEX_METRIC_IP) return -ab;
    if (aa == 0 || bb == 0) return 1.0;
    return 1.0 - ab / sqrt(aa * bb);
}

/* Data of element type e: n rows (+ 1 query row at index n). */
static void *make_rows(tu_rng *r, index_elem e, uint32_t n, uint32_t dim)
{
    size_t rb = index_elem_row_bytes(e, dim);
    uint8_t *v = malloc(rb * (n + 1) + 1);
    for (uint32_t i = 0; i <= n; i++) {
        for (uint32_t j = 0; j < (e == INDEX_ELEM_BINARY ? dim / 8 : dim); j++) {
            double g = tu_gauss(r);
            uint8_t *row = v + rb * i;
            switch (e) {
            case INDEX_ELEM_F32:
                ((float *)row)[j] = (float)g;
                break;
            case INDEX_ELEM_F16:
                ((uint16_t *)row)[j] = simd_f32_to_f16((float)g);
                break;
            case INDEX_ELEM_BF16:
                ((uint16_t *)row)[j] = simd_f32_to_bf16((float)g);
                break;
            case INDEX_ELEM_I8:
                ((int8_t *)row)[j] = (int8_t)(tu_next(r) % 255 - 127);
                break;
            case INDEX_ELEM_BINARY:
                row[j] = (uint8_t)tu_next(r);
                break;
            }
        }
    }
    return v;
}

typedef struct combo {
    index_elem e;
    index_metric m;
    uint32_t dim;
} combo;

static const combo combos[] = {
    {INDEX_ELEM_F32, INDEX_METRIC_L2, 37},          {INDEX_ELEM_F32, INDEX_METRIC_IP, 64},
    {INDEX_ELEM_F32, INDEX_METRIC_COSINE, 33},      {INDEX_ELEM_F16, INDEX_METRIC_L2, 24},
    {INDEX_ELEM_F16, INDEX_METRIC_IP, 17},          {INDEX_ELEM_F16, INDEX_METRIC_COSINE, 40},
    {INDEX_ELEM_BF16, INDEX_METRIC_L2, 31},         {INDEX_ELEM_BF16, INDEX_METRIC_IP, 16},
    {INDEX_ELEM_BF16, INDEX_METRIC_COSINE, 9},      {INDEX_ELEM_I8, INDEX_METRIC_L2, 50},
    {INDEX_ELEM_I8, INDEX_METRIC_IP, 13},           {INDEX_ELEM_I8, INDEX_METRIC_COSINE, 64},
    {INDEX_ELEM_BINARY, INDEX_METRIC_HAMMING, 128}, {INDEX_ELEM_BINARY, INDEX_METRIC_JACCARD, 72},
};

/* Checks sorted output and that each returned distance is the reference
 * distance and no better row was left out. */
static void check_topk(const combo *c, const uint8_t *rows, uint32_t n, const void *q,
                       const index_hit *hits, long nh, size_t k, const uint64_t *allowed)
{
    size_t rb = index_elem_row_bytes(c->e, c->dim);
    double *ref = malloc(sizeof(double) * n);
    uint32_t nallowed = 0;
    for (uint32_t i = 0; i < n; i++) {
        ref[i] = ref_dist(c->e, c->m, c->dim, q, rows + rb * i);
        if (!allowed || (allowed[i / 64] >> (i % 64) & 1)) nallowed++;
    }
    assert_int_equal(nh, nallowed < k ? nallowed : k);
    double tol = 1e-3;
    for (long i = 0; i < nh; i++) {
        uint32_t row = hits[i].row;
        assert_true(row < n);
        if (allowed) assert_true(allowed[row / 64] >> (row % 64) & 1);
        double scale = fabs(ref[row]) + 1.0;
        assert_true(fabs(hits[i].dist - ref[row]) <= tol * scale);
        if (i) assert_true(hits[i - 1].dist <= hits[i].dist);
    }
    /* Nothing outside the result is clearly better than the worst inside. */
    if (nh) {
        double worst = hits[nh - 1].dist;
        for (uint32_t i = 0; i < n; i++) {
            if (allowed && !(allowed[i / 64] >> (i % 64) & 1)) continue;
            int in = 0;
            for (long j = 0; j < nh && !in; j++)
                in = hits[j].row == i;
            if (!in) assert_true(ref[i] >= worst - tol * (fabs(worst) + 1.0));
        }
    }
    free(ref);
}

static void test_flat_exact_all_types(void **state)
{
    (void)state;
    tu_rng r = {g_seed};
    const uint32_t n = 1001;
    for (size_t ci = 0; ci < sizeof(combos) / sizeof(combos[0]); ci++) {
        const combo *c = &combos[ci];
        uint8_t *rows = make_rows(&r, c->e, n, c->dim);
        size_t rb = index_elem_row_bytes(c->e, c->dim);
        index_column col = tu_column(rows, rb);
        char err[256];
        vindex *idx = index_new("flat", c->e, c->m, c->dim, &col, NULL, 0, err, sizeof(err));
        assert_non_null(idx);
        for (uint32_t i = 0; i < n; i++)
            assert_int_equal(index_add(idx, i, err, sizeof(err)), 0);
        assert_int_equal(index_count(idx), n);
        assert_int_equal(index_validate(idx, err, sizeof(err)), 0);
        index_hit hits[20];
        const void *q = rows + rb * n;
        long nh = index_search(idx, q, 20, NULL, hits, err, sizeof(err));
        check_topk(c, rows, n, q, hits, nh, 20, NULL);
        /* k larger than n returns every row. */
        index_hit *all = malloc(sizeof(index_hit) * (n + 5));
        nh = index_search(idx, q, n + 5, NULL, all, err, sizeof(err));
        assert_int_equal(nh, n);
        free(all);
        index_free(idx);
        free(rows);
    }
}

static void test_flat_filter_threads_chunked(void **state)
{
    (void)state;
    tu_rng r = {g_seed + 1};
    const uint32_t n = 40000, dim = 16;
    combo c = {INDEX_ELEM_F32, INDEX_METRIC_L2, dim};
    float *rows = tu_clustered(&r, n + 1, dim, 20, 0.3f);
    /* A chunked copy of the same column: 1024 rows per chunk, stride padded. */
    const uint32_t shift = 10;
    size_t stride = dim * 4 + 12;
    uint32_t nchunks = (n >> shift) + 1;
    uint8_t **chunks = calloc(nchunks, sizeof(*chunks));
    for (uint32_t ch = 0; ch < nchunks; ch++)
        chunks[ch] = malloc(stride << shift);
    for (uint32_t i = 0; i < n; i++)
        memcpy(chunks[i >> shift] + (i & 1023) * stride, rows + (size_t)i * dim, dim * 4);
    index_column contig = tu_column(rows, dim * 4);
    index_column chunked = {
        .chunks = (const uint8_t *const *)chunks, .chunk_shift = shift, .stride = stride};
    char err[256];
    vindex *a = index_new("FLAT", c.e, c.m, dim, &contig, NULL, 0, err, sizeof(err));
    vindex *b = index_new("FLAT", c.e, c.m, dim, &chunked, NULL, 0, err, sizeof(err));
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(index_build(a, n, 2, err, sizeof(err)), 0);
    assert_int_equal(index_build(b, n, 1, err, sizeof(err)), 0);
    uint64_t *allowed = calloc((n + 63) / 64, 8);
    const double fracs[] = {1.0, 0.5, 0.01, 0.0005};
    for (int fi = 0; fi < 4; fi++) {
        memset(allowed, 0, (n + 63) / 64 * 8);
        for (uint32_t i = 0; i < n; i++)
            if (tu_uniform(&r) < fracs[fi]) allowed[i / 64] |= 1ull << (i % 64);
        index_search_params p = {.allowed = allowed, .allowed_nbits = n};
        for (int qi = 0; qi < 3; qi++) {
            const float *q = rows + (size_t)(tu_next(&r) % n) * dim;
            index_hit h1[10], h2[10], h3[10];
            long n1 = index_search(a, q, 10, &p, h1, err, sizeof(err));
            check_topk(&c, (const uint8_t *)rows, n, q, h1, n1, 10, allowed);
            p.threads = 3;
            long n2 = index_search(a, q, 10, &p, h2, err, sizeof(err));
            p.threads = 0;
            long n3 = index_search(b, q, 10, &p, h3, err, sizeof(err));
            assert_int_equal(n1, n2);
            assert_int_equal(n1, n3);
            for (long i = 0; i < n1; i++) {
                assert_int_equal(h1[i].row, h2[i].row);
                assert_int_equal(h1[i].row, h3[i].row);
                assert_true(h1[i].dist == h3[i].dist);
            }
        }
    }
    /* allowed_nbits shorter than the index: rows beyond it are excluded. */
    memset(allowed, 0xff, (n + 63) / 64 * 8);
    index_search_params p = {.allowed = allowed, .allowed_nbits = 100};
    index_hit h[200];
    assert_int_equal(index_search(a, rows, 200, &p, h, err, sizeof(err)), 100);
    for (int i = 0; i < 100; i++)
        assert_true(h[i].row < 100);
    free(allowed);
    index_free(a);
    index_free(b);
    for (uint32_t ch = 0; ch < nchunks; ch++)
        free(chunks[ch]);
    free(chunks);
    free(rows);
}

static void test_flat_range(void **state)
{
    (void)state;
    tu_rng r = {g_seed + 2};
    const uint32_t n = 30000, dim = 8;
    float *rows = tu_clustered(&r, n + 1, dim, 10, 0.5f);
    index_column col = tu_column(rows, dim * 4);
    char err[256];
    vindex *idx =
        index_new("FLAT", INDEX_ELEM_F32, INDEX_METRIC_L2, dim, &col, NULL, 0, err, sizeof(err));
    assert_int_equal(index_build(idx, n, 1, err, sizeof(err)), 0);
    const float *q = rows + (size_t)n * dim;
    float radius = 1.5f;
    uint32_t expect = 0;
    for (uint32_t i = 0; i < n; i++)
        if (ref_dist(INDEX_ELEM_F32, INDEX_METRIC_L2, dim, q, rows + (size_t)i * dim) <= radius)
            expect++;
    for (unsigned t = 1; t <= 3; t += 2) {
        index_hits hits = {0};
        index_search_params p = {.threads = t};
        long nh = index_range_search(idx, q, radius, &p, &hits, err, sizeof(err));
        assert_int_equal(nh, hits.n);
        /* The reference is in double: allow rows within float rounding of the edge. */
        assert_true(labs((long)nh - (long)expect) <= 1);
        assert_true(expect > 10);
        for (long i = 0; i < nh; i++) {
            assert_true(hits.v[i].dist <= radius);
            if (i) assert_true(hits.v[i - 1].dist <= hits.v[i].dist);
        }
        p.max_hits = 5;
        index_hits few = {0};
        assert_int_equal(index_range_search(idx, q, radius, &p, &few, err, sizeof(err)), 5);
        for (int i = 0; i < 5; i++)
            assert_int_equal(few.v[i].row, hits.v[i].row);
        index_hits_free(&few);
        index_hits_free(&hits);
    }
    index_free(idx);
    free(rows);
}

static void test_flat_errors(void **state)
{
    (void)state;
    float rows[8] = {0};
    index_column col = tu_column(rows, 8);
    char err[256];
    index_param bad[] = {{"M", "16"}};
    assert_null(
        index_new("FLAT", INDEX_ELEM_F32, INDEX_METRIC_L2, 2, &col, bad, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "unknown FLAT parameter 'M'"));
    assert_null(
        index_new("NOPE", INDEX_ELEM_F32, INDEX_METRIC_L2, 2, &col, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "unknown index type 'NOPE'"));
    assert_null(index_new("FLAT", INDEX_ELEM_F32, INDEX_METRIC_HAMMING, 2, &col, NULL, 0, err,
                          sizeof(err)));
    assert_non_null(strstr(err, "HAMMING needs BINARY"));
    assert_null(
        index_new("FLAT", INDEX_ELEM_BINARY, INDEX_METRIC_L2, 16, &col, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "does not apply to BINARY"));
    assert_null(index_new("FLAT", INDEX_ELEM_BINARY, INDEX_METRIC_HAMMING, 12, &col, NULL, 0, err,
                          sizeof(err)));
    assert_non_null(strstr(err, "multiple of 8"));
    assert_null(
        index_new("FLAT", INDEX_ELEM_F32, INDEX_METRIC_L2, 0, &col, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "dim must be"));
    assert_null(
        index_new("FLAT", INDEX_ELEM_F32, INDEX_METRIC_L2, 4, &col, NULL, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "stride"));
    vindex *idx =
        index_new("FLAT", INDEX_ELEM_F32, INDEX_METRIC_L2, 2, &col, NULL, 0, err, sizeof(err));
    assert_non_null(idx);
    assert_int_equal(index_add(idx, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "out of order"));
    assert_int_equal(index_add(idx, 0, err, sizeof(err)), 0);
    assert_int_equal(index_build(idx, 0, 1, err, sizeof(err)), -1);
    index_hit h[1];
    assert_int_equal(index_search(idx, rows, INDEX_MAX_K + 1, NULL, h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "k must be"));
    assert_int_equal(index_search(idx, rows, 0, NULL, h, err, sizeof(err)), 0);
    assert_string_equal(index_type(idx), "FLAT");
    index_free(idx);
    index_free(NULL);
    assert_true(index_type_count() >= 1);
    assert_string_equal(index_type_name(0), "FLAT");
}

/* Counting allocator: every byte the index allocates goes through it. */
static long g_allocs;
static void *cnt_malloc(size_t n)
{
    g_allocs++;
    return malloc(n);
}
static void *cnt_calloc(size_t n, size_t s)
{
    g_allocs++;
    return calloc(n, s);
}
static void *cnt_realloc(void *p, size_t n)
{
    if (!p) g_allocs++;
    return realloc(p, n);
}
static void cnt_free(void *p)
{
    if (p) g_allocs--;
    free(p);
}

static void test_flat_allocator_and_save(void **state)
{
    (void)state;
    index_set_allocator(cnt_malloc, cnt_calloc, cnt_realloc, cnt_free);
    tu_rng r = {g_seed + 3};
    const uint32_t n = 500, dim = 12;
    float *rows = tu_clustered(&r, n, dim, 5, 0.5f);
    index_column col = tu_column(rows, dim * 4);
    char err[256];
    vindex *idx = index_new("FLAT", INDEX_ELEM_F32, INDEX_METRIC_COSINE, dim, &col, NULL, 0, err,
                            sizeof(err));
    assert_true(g_allocs > 0);
    assert_int_equal(index_build(idx, n, 1, err, sizeof(err)), 0);
    assert_true(index_memory(idx) > 0);
    tu_stream s = {0};
    assert_int_equal(index_save(idx, tu_write, &s, err, sizeof(err)), 0);
    s.limit = SIZE_MAX;
    vindex *b =
        index_load(INDEX_ELEM_F32, INDEX_METRIC_COSINE, dim, &col, tu_read, &s, err, sizeof(err));
    assert_non_null(b);
    assert_int_equal(index_count(b), n);
    index_hit h1[5], h2[5];
    assert_int_equal(index_search(idx, rows, 5, NULL, h1, err, sizeof(err)), 5);
    assert_int_equal(index_search(b, rows, 5, NULL, h2, err, sizeof(err)), 5);
    assert_memory_equal(h1, h2, sizeof(h1));
    /* Wrong column description. */
    s.pos = 0;
    assert_null(
        index_load(INDEX_ELEM_F32, INDEX_METRIC_L2, dim, &col, tu_read, &s, err, sizeof(err)));
    assert_non_null(strstr(err, "COSINE"));
    /* Every truncation fails. */
    for (size_t cut = 0; cut < s.len; cut++) {
        s.pos = 0;
        s.limit = cut;
        assert_null(index_load(INDEX_ELEM_F32, INDEX_METRIC_COSINE, dim, &col, tu_read, &s, err,
                               sizeof(err)));
    }
    /* Every single bit flip fails. */
    s.limit = SIZE_MAX;
    for (size_t bit = 0; bit < s.len * 8; bit++) {
        s.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        s.pos = 0;
        vindex *x = index_load(INDEX_ELEM_F32, INDEX_METRIC_COSINE, dim, &col, tu_read, &s, err,
                               sizeof(err));
        assert_null(x);
        s.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* Wrong version. */
    s.buf[8] = 7;
    s.pos = 0;
    assert_null(
        index_load(INDEX_ELEM_F32, INDEX_METRIC_COSINE, dim, &col, tu_read, &s, err, sizeof(err)));
    assert_non_null(strstr(err, "version 7"));
    free(s.buf);
    index_free(idx);
    index_free(b);
    assert_int_equal(g_allocs, 0);
    index_set_allocator(NULL, NULL, NULL, NULL);
    free(rows);
}

int main(void)
{
    simd_init();
    g_seed = tu_seed("test_index_flat");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat_exact_all_types),
        cmocka_unit_test(test_flat_filter_threads_chunked),
        cmocka_unit_test(test_flat_range),
        cmocka_unit_test(test_flat_errors),
        cmocka_unit_test(test_flat_allocator_and_save),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
