/*
 * search.c -- top-k vector search over a snapshot of a collection.
 *
 * engine_search_new (main thread) captures the snapshot: the engine LSN and,
 * per segment, a reference and the row count. engine_search_run (a worker,
 * or inline) then, per segment:
 *   1. builds the allowed-row bitmap: visible at the snapshot (rows below the
 *      captured count, not deleted at or before its LSN), AND the FILTER
 *      when there is one (evaluated on each row's decoded attributes);
 *   2. searches the index for the rows it has indexed (bitmap limited to
 *      them, so rows the index thread adds meanwhile are never returned
 *      twice), and scans the rest of the allowed rows exactly;
 *   3. keeps the best k; segments are merged by distance.
 * Segments are independent parts (engine_search_run_part), so the server may
 * run them on several workers and merge at the end (engine_search_merge).
 * With TRUTH, every allowed row is scanned exactly. The index itself falls
 * back to an exact scan of the allowed rows when they are few, so a
 * selective filter still returns a full top-k.
 *
 * Ownership: the search holds a reference on the collection and on each
 * segment of the snapshot; hits point into rows of those segments and stay
 * valid until engine_search_free, which releases the references (main
 * thread, where all reference counts live).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "engine/collection_impl.h"
#include "engine/engine.h"
#include "engine/expr.h"
#include "simd/simd.h"

typedef struct cand {
    float dist;
    int seg;
    uint32_t row;
} cand;

typedef struct search_part {
    cand *v;
    size_t n;
} search_part;

struct engine_search {
    collection *c;
    search_part *parts; /* per segment, filled by engine_search_run_part */
    search_request req;
    float *qf;
    uint8_t *qenc;
    uint64_t lsn;
    int nseg;
    segment **segs;
    uint32_t *rows;
    engine_hit *hits;
    size_t nhits;
};

engine_search *engine_search_new(collection *c, const search_request *req)
{
    engine_search *s = xcalloc(1, sizeof(*s));
    s->c = c;
    collection_ref(c);
    s->req = *req;
    s->qf = xmalloc(sizeof(float) * c->spec.dim);
    memcpy(s->qf, req->query, sizeof(float) * c->spec.dim);
    s->req.query = s->qf;
    s->qenc = xcalloc(1, index_elem_row_bytes(c->spec.elem, c->spec.dim) + 8);
    collection_encode_query(c, s->qf, s->qenc);
    s->lsn = engine_lsn_counter;
    s->nseg = c->nseg;
    s->segs = xmalloc(sizeof(segment *) * (size_t)(c->nseg ? c->nseg : 1));
    s->rows = xmalloc(sizeof(uint32_t) * (size_t)(c->nseg ? c->nseg : 1));
    s->parts = xcalloc((size_t)(c->nseg ? c->nseg : 1), sizeof(search_part));
    for (int i = 0; i < c->nseg; i++) {
        s->segs[i] = c->segs[i];
        s->segs[i]->refs++;
        s->rows[i] = atomic_load_explicit(&c->segs[i]->nrows, memory_order_relaxed);
    }
    return s;
}

void engine_search_free(engine_search *s)
{
    if (!s) return;
    for (int i = 0; i < s->nseg; i++) segment_unref(s->segs[i]);
    collection_unref(s->c);
    if (s->req.filter) expr_free(s->req.filter);
    for (int i = 0; i < s->nseg; i++) xfree(s->parts[i].v);
    xfree(s->parts);
    xfree(s->segs);
    xfree(s->rows);
    xfree(s->qf);
    xfree(s->qenc);
    xfree(s->hits);
    xfree(s);
}

static double part_cost(const engine_search *s, int i)
{
    uint32_t ef = s->req.ef ? s->req.ef : 100;
    if (ef < s->req.k) ef = (uint32_t)s->req.k;
    double n = s->rows[i];
    double ix = atomic_load(&s->segs[i]->indexed);
    if (ix > n) ix = n;
    double cost;
    if (s->req.exact || s->req.filter) {
        cost = n;
    } else {
        double graph = ix > 0 ? ef * 16.0 * (1 + log2(ix + 1) / 8) : 0;
        cost = (graph < ix ? graph : ix) + (n - ix);
    }
    return cost * s->c->spec.dim;
}

double engine_search_cost(const engine_search *s)
{
    double cost = 0;
    for (int i = 0; i < s->nseg; i++) cost += part_cost(s, i);
    return cost;
}

/* ------------------------------------------------------------ distances */

static float row_dist(const collection_spec *sp, const void *q, const void *v);

float collection_row_dist(const collection *c, const void *a, const void *b)
{
    return row_dist(&c->spec, a, b);
}

static float row_dist(const collection_spec *sp, const void *q, const void *v)
{
    size_t d = sp->dim;
    switch (sp->elem) {
    case INDEX_ELEM_F32:
        if (sp->metric == INDEX_METRIC_L2) return simd->l2sq_f32(q, v, d);
        if (sp->metric == INDEX_METRIC_IP) return -simd->dot_f32(q, v, d);
        return simd->cos_f32(q, v, d);
    case INDEX_ELEM_F16:
        if (sp->metric == INDEX_METRIC_L2) return simd->l2sq_f16(q, v, d);
        if (sp->metric == INDEX_METRIC_IP) return -simd->dot_f16(q, v, d);
        return simd->cos_f16(q, v, d);
    case INDEX_ELEM_BF16:
        if (sp->metric == INDEX_METRIC_L2) return simd->l2sq_bf16(q, v, d);
        if (sp->metric == INDEX_METRIC_IP) return -simd->dot_bf16(q, v, d);
        return simd->cos_bf16(q, v, d);
    case INDEX_ELEM_I8:
        if (sp->metric == INDEX_METRIC_L2) return (float)simd->l2sq_i8(q, v, d);
        if (sp->metric == INDEX_METRIC_IP) return -(float)simd->dot_i8(q, v, d);
        return simd->cos_i8(q, v, d);
    case INDEX_ELEM_BINARY:
        if (sp->metric == INDEX_METRIC_JACCARD) return simd->jaccard(q, v, d / 8);
        return (float)simd->hamming(q, v, d / 8);
    }
    return 0;
}

/* ----------------------------------------------------------- top-k heap */

typedef struct topk {
    cand *v;
    size_t n, k;
} topk;

static int cand_worse(const cand *a, const cand *b)
{
    if (a->dist != b->dist) return a->dist > b->dist;
    if (a->seg != b->seg) return a->seg > b->seg;
    return a->row > b->row;
}

static void topk_push(topk *t, cand x)
{
    if (t->n < t->k) {
        size_t i = t->n++;
        t->v[i] = x;
        while (i && cand_worse(&t->v[i], &t->v[(i - 1) / 2])) {
            cand tmp = t->v[i];
            t->v[i] = t->v[(i - 1) / 2];
            t->v[(i - 1) / 2] = tmp;
            i = (i - 1) / 2;
        }
        return;
    }
    if (!cand_worse(&t->v[0], &x)) return;
    t->v[0] = x;
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < t->n && cand_worse(&t->v[l], &t->v[m])) m = l;
        if (r < t->n && cand_worse(&t->v[r], &t->v[m])) m = r;
        if (m == i) break;
        cand tmp = t->v[i];
        t->v[i] = t->v[m];
        t->v[m] = tmp;
        i = m;
    }
}

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (cand_worse(x, y)) return 1;
    if (cand_worse(y, x)) return -1;
    return 0;
}

/* ---------------------------------------------------------------- run */

/* Builds the allowed bitmap of rows [0, n) of segment s; returns the count. */
static uint64_t build_allowed(const engine_search *es, const segment *s, uint32_t n,
                              uint64_t *bits)
{
    uint64_t count = 0;
    uint32_t per = 1u << s->chunk_shift;
    uint32_t words = (n + 63) / 64;
    for (uint32_t w = 0; w < words; w++) {
        uint32_t r0 = w * 64;
        const seg_chunk *ch = s->meta[r0 >> s->chunk_shift];
        uint32_t wi = (r0 & (per - 1)) / 64;
        uint64_t del = atomic_load_explicit(&ch->deleted[wi], memory_order_acquire);
        if (!del && !es->req.filter && r0 + 64 <= n) { /* the common word: all visible */
            bits[w] = ~0ULL;
            count += 64;
            continue;
        }
        uint64_t ok = ~del;
        /* rows deleted after the snapshot are still visible to it */
        for (uint64_t d = del; d; d &= d - 1) {
            unsigned b = (unsigned)__builtin_ctzll(d);
            const row_meta *m = &ch->rows[(r0 & (per - 1)) + b];
            if (atomic_load_explicit(&((row_meta *)m)->del_lsn, memory_order_relaxed) > es->lsn)
                ok |= 1ULL << b;
        }
        if (r0 + 64 > n) ok &= (n - r0 == 64) ? ~0ULL : ((1ULL << (n - r0)) - 1);
        if (es->req.filter) {
            for (uint64_t x = ok; x; x &= x - 1) {
                unsigned b = (unsigned)__builtin_ctzll(x);
                const row_meta *m = &ch->rows[(r0 & (per - 1)) + b];
                if (!m->attr || !expr_eval(es->req.filter, m->attr->dec)) ok &= ~(1ULL << b);
            }
        }
        bits[w] = ok;
        count += (uint64_t)__builtin_popcountll(ok);
    }
    return count;
}

static void scan_rows(const engine_search *es, int si, const segment *s, const uint64_t *bits,
                      uint32_t from, uint32_t to, topk *t)
{
    const collection_spec *sp = &es->c->spec;
    for (uint32_t w = from / 64; w * 64 < to; w++) {
        uint64_t x = bits[w];
        if (w * 64 < from) x &= ~0ULL << (from - w * 64);
        if ((w + 1) * 64 > to) x &= (to - w * 64 == 64) ? ~0ULL : ((1ULL << (to - w * 64)) - 1);
        for (; x; x &= x - 1) {
            uint32_t r = w * 64 + (uint32_t)__builtin_ctzll(x);
            cand cd = {row_dist(sp, es->qenc, seg_vec(s, r)), si, r};
            if (es->req.has_max_dist && cd.dist > es->req.max_dist) continue;
            topk_push(t, cd);
        }
    }
}

/* The k this search keeps per segment (COUNT capped by the rows it can see). */
static size_t search_k(const engine_search *es)
{
    uint64_t total = 0;
    for (int i = 0; i < es->nseg; i++) total += es->rows[i];
    return es->req.k > total ? (size_t)total : es->req.k;
}

void engine_search_run_part(engine_search *es, int si)
{
    size_t k = search_k(es);
    segment *s = es->segs[si];
    uint32_t n = es->rows[si];
    es->parts[si].n = 0;
    if (n == 0 || k == 0) return;
    topk t = {xmalloc(sizeof(cand) * k), 0, k};
    uint64_t *bits = xmalloc(sizeof(uint64_t) * ((n + 63) / 64));
    uint64_t allowed = build_allowed(es, s, n, bits);
    if (allowed > 0) {
        uint32_t lim = atomic_load_explicit(&s->indexed, memory_order_acquire);
        if (lim > n) lim = n;
        if (es->req.exact || lim == 0) {
            scan_rows(es, si, s, bits, 0, n, &t);
        } else {
            index_search_params p;
            memset(&p, 0, sizeof(p));
            p.ef = es->req.ef;
            p.allowed = bits;
            p.allowed_nbits = lim;
            if (lim == n) p.allowed_count = allowed;
            char err[128];
            index_hit *ih = xmalloc(sizeof(index_hit) * k);
            long got = index_search(s->idx, es->qenc, k, &p, ih, err, sizeof(err));
            for (long i = 0; i < got; i++) {
                cand cd = {ih[i].dist, si, ih[i].row};
                if (es->req.has_max_dist && cd.dist > es->req.max_dist) continue;
                topk_push(&t, cd);
            }
            xfree(ih);
            if (got < 0) lim = 0; /* the index failed: scan everything */
            scan_rows(es, si, s, bits, lim, n, &t);
        }
    }
    xfree(bits);
    es->parts[si].v = t.v;
    es->parts[si].n = t.n;
}

void engine_search_merge(engine_search *es)
{
    size_t k = search_k(es);
    topk t = {xmalloc(sizeof(cand) * (k ? k : 1)), 0, k};
    for (int si = 0; si < es->nseg; si++) {
        for (size_t i = 0; i < es->parts[si].n; i++) topk_push(&t, es->parts[si].v[i]);
        xfree(es->parts[si].v);
        es->parts[si].v = NULL;
        es->parts[si].n = 0;
    }
    qsort(t.v, t.n, sizeof(cand), cand_cmp);
    es->hits = xmalloc(sizeof(engine_hit) * (t.n ? t.n : 1));
    es->nhits = t.n;
    for (size_t i = 0; i < t.n; i++) {
        const row_meta *m = seg_row(es->segs[t.v[i].seg], t.v[i].row);
        es->hits[i].key = m->key->data;
        es->hits[i].klen = m->key->len;
        es->hits[i].dist = t.v[i].dist;
        es->hits[i].attr = m->attr ? m->attr->raw : NULL;
        es->hits[i].attrlen = m->attr ? m->attr->len : 0;
    }
    xfree(t.v);
}

void engine_search_run(engine_search *es)
{
    for (int si = 0; si < es->nseg; si++) engine_search_run_part(es, si);
    engine_search_merge(es);
}

int engine_search_segments(const engine_search *es)
{
    return es->nseg;
}

double engine_search_part_cost(const engine_search *es, int si)
{
    return part_cost(es, si);
}

size_t engine_search_hits(const engine_search *s, const engine_hit **hits)
{
    *hits = s->hits;
    return s->nhits;
}
