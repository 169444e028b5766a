/*
 * test_index_hnsw.c -- HNSW recall against FLAT (L2, IP, cosine; SQ8 with
 * re-rank, the same three; BIN against a Hamming FLAT), filtered search at
 * several selectivities (exact-scan and graph-walk paths), range search,
 * reproducible builds, validate(), parameter errors, other element types.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "index/index_impl.h"
#include "simd/simd.h"
#include "test_index_util.h"

static uint64_t g_seed;

/* Sanitizer builds run 5-20x slower: a smaller base keeps them within a
 * minute while still exercising every path (thresholds unchanged). */
#if defined(__SANITIZE_THREAD__)
#define N_BASE 2000u /* every atomic load of the graph walk is instrumented */
#elif defined(__SANITIZE_ADDRESS__)
#define N_BASE 6000u
#else
#define N_BASE 20000u
#endif
#define DIM     64u
#define N_QUERY 200u
#define K       10u

static float *g_data;                 /* N_BASE + N_QUERY rows; queries are the last ones */
static vindex *g_hnsw_l2, *g_flat_l2; /* built once, shared by several tests */
static float *g_normed;               /* the same rows, normalised (for IP) */

static vindex *make(const char *type, index_metric m, const void *data, index_elem e, uint32_t dim,
                    const index_param *ps, size_t np)
{
    index_column col = tu_column(data, index_elem_row_bytes(e, dim));
    char err[256];
    vindex *idx = index_new(type, e, m, dim, &col, ps, np, err, sizeof(err));
    if (!idx) fail_msg("index_new: %s", err);
    return idx;
}

/* Mean recall@K of `idx` against `oracle` over the queries. */
static double recall_of(vindex *idx, vindex *oracle, const uint8_t *queries, size_t qbytes,
                        uint32_t ef, const index_search_params *base, double *qps)
{
    double sum = 0;
    char err[256];
    index_search_params p = base ? *base : (index_search_params){0};
    double t0 = tu_now(), tq = 0;
    for (uint32_t i = 0; i < N_QUERY; i++) {
        index_hit ex[K], got[K];
        const void *q = queries + qbytes * i;
        p.ef = 0;
        long ne = index_search(oracle, q, K, &p, ex, err, sizeof(err));
        p.ef = ef;
        double s = tu_now();
        long ng = index_search(idx, q, K, &p, got, err, sizeof(err));
        tq += tu_now() - s;
        assert_true(ne >= 0 && ng >= 0);
        assert_int_equal(ng, ne);
        if (p.allowed)
            for (long j = 0; j < ng; j++)
                assert_true(p.allowed[got[j].row / 64] >> (got[j].row % 64) & 1);
        for (long j = 1; j < ng; j++)
            assert_true(got[j - 1].dist <= got[j].dist);
        sum += tu_recall(ex, ne, got, ng);
    }
    (void)t0;
    if (qps) *qps = N_QUERY / tq;
    return sum / N_QUERY;
}

static void setup_data(void)
{
    tu_rng r = {g_seed};
    g_data = tu_clustered(&r, N_BASE + N_QUERY, DIM, 50, 1.0f);
    g_normed = malloc(sizeof(float) * (size_t)(N_BASE + N_QUERY) * DIM);
    for (uint32_t i = 0; i < N_BASE + N_QUERY; i++) {
        double n = 0;
        for (uint32_t j = 0; j < DIM; j++)
            n += (double)g_data[i * DIM + j] * g_data[i * DIM + j];
        for (uint32_t j = 0; j < DIM; j++)
            g_normed[i * DIM + j] = (float)(g_data[i * DIM + j] / sqrt(n));
    }
}

static void test_hnsw_recall_float(void **state)
{
    (void)state;
    const index_metric ms[] = {INDEX_METRIC_L2, INDEX_METRIC_IP, INDEX_METRIC_COSINE};
    for (int mi = 0; mi < 3; mi++) {
        const float *data = ms[mi] == INDEX_METRIC_IP ? g_normed : g_data;
        index_param ps[] = {{"M", "16"}, {"EFC", "100"}};
        vindex *h = make("HNSW", ms[mi], data, INDEX_ELEM_F32, DIM, ps, 2);
        vindex *f = make("FLAT", ms[mi], data, INDEX_ELEM_F32, DIM, NULL, 0);
        char err[256];
        double t0 = tu_now();
        assert_int_equal(index_build(h, N_BASE, 2, err, sizeof(err)), 0);
        double tb = tu_now() - t0;
        assert_int_equal(index_build(f, N_BASE, 1, err, sizeof(err)), 0);
        if (ms[mi] == INDEX_METRIC_L2) {
            g_hnsw_l2 = h;
            g_flat_l2 = f;
        }
        if (index_validate(h, err, sizeof(err))) fail_msg("validate: %s", err);
        double qps;
        double rec = recall_of(h, f, (const uint8_t *)(data + (size_t)N_BASE * DIM), DIM * 4, 64,
                               NULL, &qps);
        printf("  HNSW F32 %-6s build %.2fs (2 threads) recall@10 ef=64 %.4f  %.0f QPS  %.1f "
               "bytes/vector (index only)\n",
               index_metric_name(ms[mi]), tb, rec, qps, (double)index_memory(h) / N_BASE);
        assert_true(rec >= 0.97);
        /* Distances reported are the metric's exact distances. */
        index_hit got[K];
        const float *q = data + (size_t)N_BASE * DIM;
        long ng = index_search(h, q, K, NULL, got, err, sizeof(err));
        assert_int_equal(ng, K);
        uint64_t *one = calloc((N_BASE + 63) / 64, 8);
        for (long j = 0; j < ng; j++) {
            /* FLAT restricted to that single row gives its exact distance. */
            index_hit ex[1];
            one[got[j].row / 64] = 1ull << (got[j].row % 64);
            index_search_params p = {.allowed = one, .allowed_nbits = N_BASE};
            assert_int_equal(index_search(f, q, 1, &p, ex, err, sizeof(err)), 1);
            assert_int_equal(ex[0].row, got[j].row);
            assert_true(fabsf(ex[0].dist - got[j].dist) <= 1e-5f * (fabsf(ex[0].dist) + 1));
            one[got[j].row / 64] = 0;
        }
        free(one);
        if (h != g_hnsw_l2) {
            index_free(h);
            index_free(f);
        }
    }
}

static void test_hnsw_sq8(void **state)
{
    (void)state;
    /* Inner product runs on the normalised rows, as in the float test (on
     * raw rows the largest norms would dominate every answer). */
    const index_metric ms[] = {INDEX_METRIC_L2, INDEX_METRIC_IP, INDEX_METRIC_COSINE};
    for (int mi = 0; mi < 3; mi++) {
        const float *data = ms[mi] == INDEX_METRIC_IP ? g_normed : g_data;
        index_param ps[] = {{"M", "16"}, {"EFC", "100"}};
        vindex *h = make("HNSW_SQ8", ms[mi], data, INDEX_ELEM_F32, DIM, ps, 2);
        vindex *fl = g_hnsw_l2;
        vindex *f = make("FLAT", ms[mi], data, INDEX_ELEM_F32, DIM, NULL, 0);
        char err[256];
        assert_int_equal(index_build(h, N_BASE, 2, err, sizeof(err)), 0);
        assert_int_equal(index_build(f, N_BASE, 1, err, sizeof(err)), 0);
        if (index_validate(h, err, sizeof(err))) fail_msg("validate: %s", err);
        double qps;
        double rec = recall_of(h, f, (const uint8_t *)(data + (size_t)N_BASE * DIM), DIM * 4, 64,
                               NULL, &qps);
        printf("  HNSW SQ8 %-6s recall@10 ef=64 (re-ranked) %.4f  %.0f QPS  index %.1f "
               "bytes/vector, float HNSW index %.1f + %u column\n",
               index_metric_name(ms[mi]), rec, qps, (double)index_memory(h) / N_BASE,
               (double)index_memory(fl) / N_BASE, DIM * 4);
        assert_true(rec >= 0.95);
        index_free(h);
        index_free(f);
    }
    /* Without re-rank the distances are the approximate ones, still close. */
    index_param ps[] = {{"RERANK", "0"}};
    vindex *h = make("HNSW_SQ8", INDEX_METRIC_L2, g_data, INDEX_ELEM_F32, DIM, ps, 1);
    vindex *f = make("FLAT", INDEX_METRIC_L2, g_data, INDEX_ELEM_F32, DIM, NULL, 0);
    char err[256];
    assert_int_equal(index_build(h, N_BASE / 2, 1, err, sizeof(err)), 0);
    assert_int_equal(index_build(f, N_BASE / 2, 1, err, sizeof(err)), 0);
    index_hit a[K], b[K];
    const float *q = g_data + (size_t)N_BASE * DIM;
    assert_int_equal(index_search(h, q, K, NULL, a, err, sizeof(err)), K);
    assert_int_equal(index_search(f, q, K, NULL, b, err, sizeof(err)), K);
    assert_true(fabsf(a[0].dist - b[0].dist) <= 0.05f * b[0].dist + 0.05f);
    index_free(h);
    index_free(f);
}

static void test_hnsw_bin(void **state)
{
    (void)state;
    /* Sign bits of the float data, as a BINARY column for the Hamming FLAT. */
    size_t nb = DIM / 8;
    uint8_t *bits = calloc((size_t)(N_BASE + N_QUERY), nb);
    for (uint32_t i = 0; i < N_BASE + N_QUERY; i++)
        for (uint32_t j = 0; j < DIM; j++)
            if (g_data[(size_t)i * DIM + j] > 0) bits[i * nb + j / 8] |= (uint8_t)(1u << (j % 8));
    index_param ps[] = {{"RERANK", "0"}};
    vindex *h = make("HNSW_BIN", INDEX_METRIC_COSINE, g_data, INDEX_ELEM_F32, DIM, ps, 1);
    vindex *f = make("FLAT", INDEX_METRIC_HAMMING, bits, INDEX_ELEM_BINARY, DIM, NULL, 0);
    vindex *hb = make("HNSW", INDEX_METRIC_HAMMING, bits, INDEX_ELEM_BINARY, DIM, NULL, 0);
    char err[256];
    assert_int_equal(index_build(h, N_BASE, 2, err, sizeof(err)), 0);
    assert_int_equal(index_build(f, N_BASE, 1, err, sizeof(err)), 0);
    assert_int_equal(index_build(hb, N_BASE, 2, err, sizeof(err)), 0);
    if (index_validate(h, err, sizeof(err))) fail_msg("validate: %s", err);
    if (index_validate(hb, err, sizeof(err))) fail_msg("validate: %s", err);
    /* The BIN index answers with Hamming distances of sign codes: compare to
     * the Hamming FLAT over the same codes, with float queries vs bit queries. */
    double sum = 0, sum2 = 0;
    for (uint32_t i = 0; i < N_QUERY; i++) {
        index_hit ex[K], got[K], got2[K];
        long ne = index_search(f, bits + (size_t)(N_BASE + i) * nb, K, NULL, ex, err, sizeof(err));
        index_search_params p = {.ef = 64};
        long ng =
            index_search(h, g_data + (size_t)(N_BASE + i) * DIM, K, &p, got, err, sizeof(err));
        long ng2 =
            index_search(hb, bits + (size_t)(N_BASE + i) * nb, K, &p, got2, err, sizeof(err));
        assert_int_equal(ne, K);
        assert_int_equal(ng, K);
        assert_int_equal(ng2, K);
        sum += tu_recall(ex, ne, got, ng);
        sum2 += tu_recall(ex, ne, got2, ng2);
    }
    printf("  HNSW_BIN (sign codes) recall@10 vs Hamming FLAT, ef=64: %.4f; index %.1f "
           "bytes/vector\n",
           sum / N_QUERY, (double)index_memory(h) / N_BASE);
    printf("  HNSW over a BINARY column, HAMMING, recall@10 ef=64: %.4f\n", sum2 / N_QUERY);
    assert_true(sum / N_QUERY >= 0.9);
    assert_true(sum2 / N_QUERY >= 0.9);
    index_free(h);
    index_free(f);
    index_free(hb);
    free(bits);
}

static void test_hnsw_filtered(void **state)
{
    (void)state;
    tu_rng r = {g_seed + 7};
    vindex *h = g_hnsw_l2, *f = g_flat_l2;
    char err[256];
    uint64_t *allowed = calloc((N_BASE + 63) / 64, 8);
    /* At this size hnsw_prefer_scan() answers all but 50% (and under the
     * sanitizers 50% too) by an exact scan of the allowed rows; the graph
     * walk under a filter is test_hnsw_filtered_graph's. */
    const double fracs[] = {0.5, 0.1, 0.01, 0.001};
    for (int fi = 0; fi < 4; fi++) {
        memset(allowed, 0, (N_BASE + 63) / 64 * 8);
        uint32_t na = 0;
        for (uint32_t i = 0; i < N_BASE; i++)
            if (tu_uniform(&r) < fracs[fi]) {
                allowed[i / 64] |= 1ull << (i % 64);
                na++;
            }
        index_search_params p = {.allowed = allowed, .allowed_nbits = N_BASE};
        double qps;
        double rec = recall_of(h, f, (const uint8_t *)(g_data + (size_t)N_BASE * DIM), DIM * 4, 64,
                               &p, &qps);
        printf("  filtered %.1f%% (%u rows allowed): recall@10 %.4f  %.0f QPS\n", fracs[fi] * 100,
               na, rec, qps);
        assert_true(rec >= 0.95);
        /* The caller's count of allowed rows (the engine knows it) is
         * taken as is and changes nothing in the answer. */
        index_search_params ph = p;
        ph.allowed_count = na;
        if (na) assert_int_equal(index_allowed_count(&ph, N_BASE), na);
        assert_int_equal(index_allowed_count(&p, N_BASE), na);
        for (uint32_t qi = 0; qi < 20; qi++) {
            const float *q = g_data + (size_t)(N_BASE + qi) * DIM;
            index_hit a[K], b[K];
            p.ef = ph.ef = 64;
            long na1 = index_search(h, q, K, &p, a, err, sizeof(err));
            long nb1 = index_search(h, q, K, &ph, b, err, sizeof(err));
            assert_int_equal(na1, nb1);
            for (long j = 0; j < na1; j++) assert_int_equal(a[j].row, b[j].row);
        }
    }
    /* Nothing allowed: no hits. */
    memset(allowed, 0, (N_BASE + 63) / 64 * 8);
    index_search_params p = {.allowed = allowed, .allowed_nbits = N_BASE};
    index_hit got[K];
    assert_int_equal(index_search(h, g_data, K, &p, got, err, sizeof(err)), 0);
    free(allowed);
}

/* Filtered searches that must walk the graph. hnsw_prefer_scan() answers
 * exactly (a scan of the allowed rows) whenever allowed^2 / count <= ef * M0,
 * which at the shared index's size makes every case above but 50% a scan,
 * and under the sanitizers even 50%. This test builds its own index with
 * the same row count in every build flavour and an ef low enough that 20%
 * and 30% selectivity stay above that bound, asserts the bound from the
 * actual allowed counts, then checks every hit is allowed (recall_of) and
 * recall against the filtered FLAT:
 *   20%: ~2400 allowed, 2400^2 / 12000 = 480 > 24 * 16 = 384
 *   30%: ~3600 allowed, 3600^2 / 12000 = 1080 > 384 */
#define FG_ROWS 12000u /* rows of the graph-path index, every flavour */
#define FG_M    8u     /* M0 = 16 links on level 0 */
#define FG_EF   24u    /* the search ef; above K, below the scan bound */

static void test_hnsw_filtered_graph(void **state)
{
    (void)state;
    tu_rng r = {g_seed + 11};
    float *data = tu_clustered(&r, FG_ROWS + N_QUERY, DIM, 50, 1.0f);
    char m[16];
    snprintf(m, sizeof(m), "%u", FG_M);
    index_param ps[] = {{"M", m}, {"EFC", "64"}};
    vindex *h = make("HNSW", INDEX_METRIC_L2, data, INDEX_ELEM_F32, DIM, ps, 2);
    vindex *f = make("FLAT", INDEX_METRIC_L2, data, INDEX_ELEM_F32, DIM, NULL, 0);
    char err[256];
    double t0 = tu_now();
    assert_int_equal(index_build(h, FG_ROWS, 2, err, sizeof(err)), 0);
    printf("  graph-path index: %u rows, M=%u, build %.2fs (2 threads)\n", FG_ROWS, FG_M,
           tu_now() - t0);
    assert_int_equal(index_build(f, FG_ROWS, 1, err, sizeof(err)), 0);
    assert_int_equal(index_count(h), FG_ROWS);
    uint64_t *allowed = calloc((FG_ROWS + 63) / 64, 8);
    const double fracs[] = {0.2, 0.3};
    for (int fi = 0; fi < 2; fi++) {
        memset(allowed, 0, (FG_ROWS + 63) / 64 * 8);
        uint32_t na = 0;
        for (uint32_t i = 0; i < FG_ROWS; i++)
            if (tu_uniform(&r) < fracs[fi]) {
                allowed[i / 64] |= 1ull << (i % 64);
                na++;
            }
        /* The search uses ef = max(ef, k); the scan bound must be exceeded. */
        double ef = FG_EF > K ? FG_EF : K;
        double load = (double)na * na / FG_ROWS;
        if (!(load > ef * 2 * FG_M))
            fail_msg("%u allowed of %u: %.0f <= ef %.0f * M0 %u, the search would scan", na,
                     FG_ROWS, load, ef, 2 * FG_M);
        index_search_params p = {.allowed = allowed, .allowed_nbits = FG_ROWS};
        double qps;
        double rec = recall_of(h, f, (const uint8_t *)(data + (size_t)FG_ROWS * DIM), DIM * 4,
                               FG_EF, &p, &qps);
        printf("  filtered %.0f%% (%u of %u allowed, graph walk: %.0f > %.0f): recall@10 ef=%u "
               "%.4f  %.0f QPS\n",
               fracs[fi] * 100, na, FG_ROWS, load, ef * 2 * FG_M, FG_EF, rec, qps);
        assert_true(rec >= 0.95);
    }
    free(allowed);
    index_free(h);
    index_free(f);
    free(data);
}

static void test_hnsw_range(void **state)
{
    (void)state;
    vindex *h = g_hnsw_l2, *f = g_flat_l2;
    char err[256];
    size_t found = 0, total = 0;
    for (uint32_t i = 0; i < 50; i++) {
        const float *q = g_data + (size_t)(N_BASE + i) * DIM;
        /* Radius: the 50th nearest distance, so each query has ~50 hits. */
        index_hit top[50];
        assert_int_equal(index_search(f, q, 50, NULL, top, err, sizeof(err)), 50);
        float radius = top[49].dist;
        index_hits ex = {0}, got = {0};
        index_search_params p = {0};
        assert_true(index_range_search(f, q, radius, &p, &ex, err, sizeof(err)) >= 50);
        assert_true(index_range_search(h, q, radius, &p, &got, err, sizeof(err)) >= 0);
        for (size_t j = 0; j < got.n; j++) {
            assert_true(got.v[j].dist <= radius);
            int in = 0;
            for (size_t k = 0; k < ex.n && !in; k++)
                in = ex.v[k].row == got.v[j].row;
            assert_true(in);
        }
        found += got.n;
        total += ex.n;
        index_hits_free(&ex);
        index_hits_free(&got);
    }
    printf("  range search recall %.4f (%zu of %zu)\n", (double)found / total, found, total);
    assert_true((double)found / total >= 0.95);
}

static void test_hnsw_reproducible_and_incremental(void **state)
{
    (void)state;
    const uint32_t n = N_BASE < 3000 ? N_BASE : 3000;
    index_param ps[] = {{"SEED", "42"}, {"EFC", "64"}};
    vindex *a = make("HNSW", INDEX_METRIC_L2, g_data, INDEX_ELEM_F32, DIM, ps, 2);
    vindex *b = make("HNSW", INDEX_METRIC_L2, g_data, INDEX_ELEM_F32, DIM, ps, 2);
    vindex *c = make("HNSW", INDEX_METRIC_L2, g_data, INDEX_ELEM_F32, DIM, ps, 2);
    vindex *f = make("FLAT", INDEX_METRIC_L2, g_data, INDEX_ELEM_F32, DIM, NULL, 0);
    char err[256];
    /* Two single-thread builds of the same rows and seed are identical. */
    assert_int_equal(index_build(a, n, 1, err, sizeof(err)), 0);
    assert_int_equal(index_build(b, n, 1, err, sizeof(err)), 0);
    assert_int_equal(index_build(f, n, 1, err, sizeof(err)), 0);
    /* Row-by-row adds, validated along the way. */
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(index_add(c, i, err, sizeof(err)), 0);
        if (i % 1000 == 999 && index_validate(c, err, sizeof(err))) fail_msg("%s", err);
    }
    double rc = 0;
    for (uint32_t i = 0; i < 50; i++) {
        index_hit x[K], y[K], z[K], e[K];
        const float *q = g_data + (size_t)(N_BASE + i) * DIM;
        index_search_params p = {.ef = 20};
        long nx = index_search(a, q, K, &p, x, err, sizeof(err));
        long ny = index_search(b, q, K, &p, y, err, sizeof(err));
        assert_int_equal(nx, ny);
        assert_memory_equal(x, y, sizeof(index_hit) * (size_t)nx);
        long nz = index_search(c, q, K, &p, z, err, sizeof(err));
        long ne = index_search(f, q, K, NULL, e, err, sizeof(err));
        rc += tu_recall(e, ne, z, nz);
    }
    printf("  row-by-row adds: recall@10 at ef=20 %.4f\n", rc / 50);
    assert_true(rc / 50 >= 0.9);
    char desc[200];
    index_describe(a, desc, sizeof(desc));
    assert_string_equal(desc, "M=16 EFC=64 EF=64 QUANT=NONE RERANK=1 SEED=42");
    index_free(a);
    index_free(b);
    index_free(c);
    index_free(f);
}

static void test_hnsw_other_types(void **state)
{
    (void)state;
    const uint32_t n = N_BASE < 4000 ? N_BASE : 4000;
    const index_elem es[] = {INDEX_ELEM_F16, INDEX_ELEM_BF16, INDEX_ELEM_I8};
    for (int ei = 0; ei < 3; ei++) {
        size_t rb = index_elem_row_bytes(es[ei], DIM);
        uint8_t *v = malloc(rb * (n + N_QUERY));
        for (uint32_t i = 0; i < n + N_QUERY; i++) {
            const float *src = g_data + (size_t)(i < n ? i : N_BASE + i - n) * DIM;
            for (uint32_t j = 0; j < DIM; j++) {
                if (es[ei] == INDEX_ELEM_F16)
                    ((uint16_t *)(v + rb * i))[j] = simd_f32_to_f16(src[j]);
                else if (es[ei] == INDEX_ELEM_BF16)
                    ((uint16_t *)(v + rb * i))[j] = simd_f32_to_bf16(src[j]);
                else
                    ((int8_t *)(v + rb * i))[j] =
                        (int8_t)lrintf(fmaxf(-127, fminf(127, src[j] * 40)));
            }
        }
        for (int m = 0; m < 3; m++) {
            index_param ps[] = {{"EFC", "48"}}; /* kernel dispatch check: a light build */
            vindex *h = make("HNSW", (index_metric)m, v, es[ei], DIM, ps, 1);
            vindex *f = make("FLAT", (index_metric)m, v, es[ei], DIM, NULL, 0);
            char err[256];
            assert_int_equal(index_build(h, n, 1, err, sizeof(err)), 0);
            assert_int_equal(index_build(f, n, 1, err, sizeof(err)), 0);
            double sum = 0;
            for (uint32_t i = 0; i < 50; i++) {
                index_hit ex[K], got[K];
                const void *q = v + rb * (n + i);
                long ne = index_search(f, q, K, NULL, ex, err, sizeof(err));
                long ng = index_search(h, q, K, NULL, got, err, sizeof(err));
                sum += tu_recall(ex, ne, got, ng);
            }
            printf("  HNSW %-5s %-6s recall@10 %.4f\n", index_elem_name(es[ei]),
                   index_metric_name((index_metric)m), sum / 50);
            assert_true(sum / 50 >= 0.95);
            index_free(h);
            index_free(f);
        }
        free(v);
    }
}

static void test_hnsw_params(void **state)
{
    (void)state;
    float v[64] = {0};
    index_column col = tu_column(v, 16);
    char err[256];
    struct {
        const char *name, *value, *msg;
    } bad[] = {
        {"M", "1", "M must be an integer between 2 and 4096"},
        {"M", "4097", "M must be an integer between 2 and 4096"},
        {"M", "16x", "M must be an integer between 2 and 4096"},
        {"M", "-3", "M must be an integer between 2 and 4096"},
        {"EFC", "0", "EFC must be an integer between 1 and 65535"},
        {"EF", "", "EF must be an integer between 1 and 65535"},
        {"QUANT", "Q4", "QUANT must be NONE, SQ8 or BIN"},
        {"RERANK", "2", "RERANK must be 0 or 1"},
        {"SEED", "abc", "SEED must be an unsigned 64-bit integer"},
        {"FOO", "1", "unknown HNSW parameter 'FOO'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        index_param p = {bad[i].name, bad[i].value};
        assert_null(
            index_new("HNSW", INDEX_ELEM_F32, INDEX_METRIC_L2, 4, &col, &p, 1, err, sizeof(err)));
        assert_string_equal(err, bad[i].msg);
    }
    index_param twice[] = {{"M", "8"}, {"m", "9"}};
    assert_null(
        index_new("HNSW", INDEX_ELEM_F32, INDEX_METRIC_L2, 4, &col, twice, 2, err, sizeof(err)));
    assert_string_equal(err, "parameter m given twice");
    index_param q = {"QUANT", "SQ8"};
    assert_null(
        index_new("HNSW", INDEX_ELEM_I8, INDEX_METRIC_L2, 16, &col, &q, 1, err, sizeof(err)));
    assert_string_equal(err, "QUANT SQ8 needs a F32, F16 or BF16 vector field");
    assert_null(
        index_new("HNSW_SQ8", INDEX_ELEM_F32, INDEX_METRIC_L2, 4, &col, &q, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "implies QUANT"));
    index_param good[] = {{"m", "4"}, {"efc", "10"}, {"Quant", "q8"}};
    vindex *h =
        index_new("hnsw", INDEX_ELEM_F32, INDEX_METRIC_L2, 4, &col, good, 3, err, sizeof(err));
    assert_non_null(h);
    assert_string_equal(index_type(h), "HNSW");
    /* Empty and one-row indexes. */
    index_hit got[3];
    assert_int_equal(index_search(h, v, 3, NULL, got, err, sizeof(err)), 0);
    assert_int_equal(index_validate(h, err, sizeof(err)), 0);
    assert_int_equal(index_add(h, 0, err, sizeof(err)), 0);
    assert_int_equal(index_search(h, v, 3, NULL, got, err, sizeof(err)), 1);
    assert_int_equal(index_validate(h, err, sizeof(err)), 0);
    index_free(h);
}

int main(void)
{
    simd_init();
    g_seed = tu_seed("test_index_hnsw");
    printf("[ simd ] %s\n", simd_level_name(simd->level));
    setup_data();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hnsw_params),
        cmocka_unit_test(test_hnsw_reproducible_and_incremental),
        cmocka_unit_test(test_hnsw_recall_float),
        cmocka_unit_test(test_hnsw_sq8),
        cmocka_unit_test(test_hnsw_bin),
        cmocka_unit_test(test_hnsw_filtered),
        cmocka_unit_test(test_hnsw_filtered_graph),
        cmocka_unit_test(test_hnsw_range),
        cmocka_unit_test(test_hnsw_other_types),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    index_free(g_hnsw_l2);
    index_free(g_flat_l2);
    free(g_data);
    free(g_normed);
    return rc;
}
