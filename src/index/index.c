/*
 * index.c -- the index interface: registry, argument checks, allocator hooks,
 * distance dispatch, and the pieces every index type shares (top-k heap,
 * exact scans, bitset helpers).
 *
 * Invariants: every public entry point checks its arguments here, once, so
 * index types see only valid input (row == count for add, k <= INDEX_MAX_K,
 * a normalised column). An index owns idx->impl and everything under it;
 * the column's memory is the caller's.
 *
 * Threading: the registry is a constant table (the only global state besides
 * the allocator hooks, which are set once at start-up). Everything else is
 * per index; see index.h for which calls may run concurrently.
 *
 * Rejected: a dynamic registry (types registering themselves at start-up):
 * it needs a constructor or an init call, and the set of types is known at
 * build time.
 */
#include "index/index_impl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "simd/simd.h"

/* ---------------------------------------------------------- allocator */

static void *(*alloc_malloc)(size_t) = malloc;
static void *(*alloc_calloc)(size_t, size_t) = calloc;
static void *(*alloc_realloc)(void *, size_t) = realloc;
static void (*alloc_free)(void *) = free;

void index_set_allocator(void *(*malloc_fn)(size_t), void *(*calloc_fn)(size_t, size_t),
                         void *(*realloc_fn)(void *, size_t), void (*free_fn)(void *))
{
    bool all = malloc_fn && calloc_fn && realloc_fn && free_fn;
    alloc_malloc = all ? malloc_fn : malloc;
    alloc_calloc = all ? calloc_fn : calloc;
    alloc_realloc = all ? realloc_fn : realloc;
    alloc_free = all ? free_fn : free;
}

void *index_malloc(size_t n)
{
    return alloc_malloc(n ? n : 1);
}
void *index_calloc(size_t n, size_t size)
{
    return alloc_calloc(n ? n : 1, size ? size : 1);
}
void *index_realloc(void *p, size_t n)
{
    return alloc_realloc(p, n ? n : 1);
}
void index_dealloc(void *p)
{
    if (p) alloc_free(p);
}

/* --------------------------------------------------------------- errors */

void index_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++)
        if (*p == '\r' || *p == '\n') *p = ' ';
}

/* ---------------------------------------------------------------- names */

static const char *const elem_names[] = {"F32", "F16", "BF16", "INT8", "BINARY"};
static const char *const metric_names[] = {"L2", "IP", "COSINE", "HAMMING", "JACCARD"};

const char *index_elem_name(index_elem e)
{
    return (unsigned)e < 5 ? elem_names[e] : "?";
}

const char *index_metric_name(index_metric m)
{
    return (unsigned)m < 5 ? metric_names[m] : "?";
}

int index_elem_parse(const char *s)
{
    if (!s) return -1;
    for (int i = 0; i < 5; i++)
        if (!strcasecmp(s, elem_names[i])) return i;
    if (!strcasecmp(s, "FLOAT32")) return INDEX_ELEM_F32;
    if (!strcasecmp(s, "FLOAT16")) return INDEX_ELEM_F16;
    if (!strcasecmp(s, "BFLOAT16")) return INDEX_ELEM_BF16;
    if (!strcasecmp(s, "I8")) return INDEX_ELEM_I8;
    return -1;
}

int index_metric_parse(const char *s)
{
    if (!s) return -1;
    for (int i = 0; i < 5; i++)
        if (!strcasecmp(s, metric_names[i])) return i;
    return -1;
}

size_t index_elem_row_bytes(index_elem e, uint32_t dim)
{
    switch (e) {
    case INDEX_ELEM_F32:
        return (size_t)dim * 4;
    case INDEX_ELEM_F16:
    case INDEX_ELEM_BF16:
        return (size_t)dim * 2;
    case INDEX_ELEM_I8:
        return dim;
    case INDEX_ELEM_BINARY:
        return dim / 8;
    }
    return 0;
}

int index_param_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)s[0])) return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* ------------------------------------------------------------- distance */

/* Float-like element types: the kernels already return the metric's value. */
#define DIST_FLOATLIKE(T, ty, kl2, kdot, kcos)                                                     \
    static float dist1_##ty##_l2(const index_dist *d, const void *a, const void *b)                \
    {                                                                                              \
        return simd->kl2((const T *)a, (const T *)b, d->n);                                        \
    }                                                                                              \
    static float dist1_##ty##_ip(const index_dist *d, const void *a, const void *b)                \
    {                                                                                              \
        return -simd->kdot((const T *)a, (const T *)b, d->n);                                      \
    }                                                                                              \
    static float dist1_##ty##_cos(const index_dist *d, const void *a, const void *b)               \
    {                                                                                              \
        return simd->kcos((const T *)a, (const T *)b, d->n);                                       \
    }                                                                                              \
    static void dist4_##ty##_l2(const index_dist *d, const void *q, const void *b0,                \
                                const void *b1, const void *b2, const void *b3, float out[4])      \
    {                                                                                              \
        simd->kl2##_x4((const T *)q, (const T *)b0, (const T *)b1, (const T *)b2, (const T *)b3,   \
                       d->n, out);                                                                 \
    }                                                                                              \
    static void dist4_##ty##_ip(const index_dist *d, const void *q, const void *b0,                \
                                const void *b1, const void *b2, const void *b3, float out[4])      \
    {                                                                                              \
        simd->kdot##_x4((const T *)q, (const T *)b0, (const T *)b1, (const T *)b2, (const T *)b3,  \
                        d->n, out);                                                                \
        for (int i = 0; i < 4; i++)                                                                \
            out[i] = -out[i];                                                                      \
    }                                                                                              \
    static void dist4_##ty##_cos(const index_dist *d, const void *q, const void *b0,               \
                                 const void *b1, const void *b2, const void *b3, float out[4])     \
    {                                                                                              \
        simd->kcos##_x4((const T *)q, (const T *)b0, (const T *)b1, (const T *)b2, (const T *)b3,  \
                        d->n, out);                                                                \
    }

DIST_FLOATLIKE(float, f32, l2sq_f32, dot_f32, cos_f32)
DIST_FLOATLIKE(uint16_t, f16, l2sq_f16, dot_f16, cos_f16)
DIST_FLOATLIKE(uint16_t, bf16, l2sq_bf16, dot_bf16, cos_bf16)

static float dist1_i8_l2(const index_dist *d, const void *a, const void *b)
{
    return (float)simd->l2sq_i8(a, b, d->n);
}

static float dist1_i8_ip(const index_dist *d, const void *a, const void *b)
{
    return -(float)simd->dot_i8(a, b, d->n);
}

/* INT8 cosine: a.b, |a|^2 and |b|^2 in one pass (exact int32 sums). */
static float dist1_i8_cos(const index_dist *d, const void *a, const void *b)
{
    return simd->cos_i8(a, b, d->n);
}

static void dist4_i8_l2(const index_dist *d, const void *q, const void *b0, const void *b1,
                        const void *b2, const void *b3, float out[4])
{
    int32_t r[4];
    simd->l2sq_i8_x4(q, b0, b1, b2, b3, d->n, r);
    for (int i = 0; i < 4; i++)
        out[i] = (float)r[i];
}

static void dist4_i8_ip(const index_dist *d, const void *q, const void *b0, const void *b1,
                        const void *b2, const void *b3, float out[4])
{
    int32_t r[4];
    simd->dot_i8_x4(q, b0, b1, b2, b3, d->n, r);
    for (int i = 0; i < 4; i++)
        out[i] = -(float)r[i];
}

static void dist4_i8_cos(const index_dist *d, const void *q, const void *b0, const void *b1,
                         const void *b2, const void *b3, float out[4])
{
    simd->cos_i8_x4(q, b0, b1, b2, b3, d->n, out);
}

static float dist1_bin_hamming(const index_dist *d, const void *a, const void *b)
{
    return (float)simd->hamming(a, b, d->n);
}

static void dist4_bin_hamming(const index_dist *d, const void *q, const void *b0, const void *b1,
                              const void *b2, const void *b3, float out[4])
{
    uint32_t r[4];
    simd->hamming_x4(q, b0, b1, b2, b3, d->n, r);
    for (int i = 0; i < 4; i++)
        out[i] = (float)r[i];
}

static float dist1_bin_jaccard(const index_dist *d, const void *a, const void *b)
{
    return simd->jaccard(a, b, d->n);
}

static void dist4_bin_jaccard(const index_dist *d, const void *q, const void *b0, const void *b1,
                              const void *b2, const void *b3, float out[4])
{
    simd->jaccard_x4(q, b0, b1, b2, b3, d->n, out);
}

int index_dist_init(index_dist *d, index_elem elem, index_metric metric, uint32_t dim, char *err,
                    size_t errlen)
{
    memset(d, 0, sizeof(*d));
    if ((unsigned)elem > INDEX_ELEM_BINARY) {
        index_err(err, errlen, "unknown element type %d", (int)elem);
        return -1;
    }
    if ((unsigned)metric > INDEX_METRIC_JACCARD) {
        index_err(err, errlen, "unknown metric %d", (int)metric);
        return -1;
    }
    if (dim == 0 || dim > INDEX_MAX_DIM) {
        index_err(err, errlen, "dim must be between 1 and %u", INDEX_MAX_DIM);
        return -1;
    }
    bool binmetric = metric == INDEX_METRIC_HAMMING || metric == INDEX_METRIC_JACCARD;
    if (elem == INDEX_ELEM_BINARY) {
        if (!binmetric) {
            index_err(err, errlen,
                      "metric %s does not apply to BINARY vectors (use HAMMING or "
                      "JACCARD)",
                      index_metric_name(metric));
            return -1;
        }
        if (dim % 8) {
            index_err(err, errlen, "dim of a BINARY vector must be a multiple of 8");
            return -1;
        }
    } else if (binmetric) {
        index_err(err, errlen, "metric %s needs BINARY vectors", index_metric_name(metric));
        return -1;
    }
    d->elem = elem;
    d->metric = metric;
    d->n = elem == INDEX_ELEM_BINARY ? dim / 8 : dim;
    static const index_dist1_fn one[4][3] = {
        {dist1_f32_l2, dist1_f32_ip, dist1_f32_cos},
        {dist1_f16_l2, dist1_f16_ip, dist1_f16_cos},
        {dist1_bf16_l2, dist1_bf16_ip, dist1_bf16_cos},
        {dist1_i8_l2, dist1_i8_ip, dist1_i8_cos},
    };
    static const index_dist4_fn four[4][3] = {
        {dist4_f32_l2, dist4_f32_ip, dist4_f32_cos},
        {dist4_f16_l2, dist4_f16_ip, dist4_f16_cos},
        {dist4_bf16_l2, dist4_bf16_ip, dist4_bf16_cos},
        {dist4_i8_l2, dist4_i8_ip, dist4_i8_cos},
    };
    if (elem == INDEX_ELEM_BINARY) {
        bool ham = metric == INDEX_METRIC_HAMMING;
        d->one = ham ? dist1_bin_hamming : dist1_bin_jaccard;
        d->four = ham ? dist4_bin_hamming : dist4_bin_jaccard;
    } else {
        d->one = one[elem][metric];
        d->four = four[elem][metric];
    }
    return 0;
}

/* ------------------------------------------------------------- bitsets */

uint64_t index_allowed_count(const index_search_params *p, uint32_t limit)
{
    if (!p || !p->allowed) return limit;
    if (p->allowed_count && p->allowed_nbits <= limit) return p->allowed_count;
    uint64_t nbits = p->allowed_nbits < limit ? p->allowed_nbits : limit;
    uint64_t full = nbits >> 6, c = 0;
    for (uint64_t i = 0; i < full; i++)
        c += (uint64_t)__builtin_popcountll(p->allowed[i]);
    if (nbits & 63)
        c += (uint64_t)__builtin_popcountll(p->allowed[full] & ((UINT64_C(1) << (nbits & 63)) - 1));
    return c;
}

/* ------------------------------------------------------------ top-k heap */

void index_topk_push_slow(index_topk *t, index_hit x)
{
    index_hit *h = t->h;
    if (t->n < t->k) {
        size_t i = t->n++;
        while (i > 0) {
            size_t parent = (i - 1) / 2;
            if (!index_hit_less(h[parent], x)) break;
            h[i] = h[parent];
            i = parent;
        }
        h[i] = x;
        return;
    }
    /* Replace the root (the largest) and sift down. */
    size_t i = 0, n = t->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && index_hit_less(h[c], h[c + 1])) c++;
        if (!index_hit_less(x, h[c])) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static int hit_cmp(const void *a, const void *b)
{
    index_hit x = *(const index_hit *)a, y = *(const index_hit *)b;
    return index_hit_less(x, y) ? -1 : index_hit_less(y, x) ? 1 : 0;
}

void index_hits_sort(index_hit *v, size_t n)
{
    if (n > 1) qsort(v, n, sizeof(*v), hit_cmp);
}

size_t index_topk_sort(index_topk *t)
{
    index_hits_sort(t->h, t->n);
    return t->n;
}

int index_hits_push(index_hits *h, uint32_t row, float dist)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        index_hit *v = index_realloc(h->v, cap * sizeof(*v));
        if (!v) return -1;
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n++] = (index_hit){row, dist};
    return 0;
}

void index_hits_free(index_hits *h)
{
    if (!h) return;
    index_dealloc(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

/* ------------------------------------------------------------ exact scans */

/*
 * Both scans gather the next (up to) four allowed rows and score them with one
 * x4 kernel call; with no bitset the four are consecutive rows, which the
 * hardware prefetcher streams.
 */
static uint32_t scan_next(const index_search_params *p, uint32_t row, uint32_t hi)
{
    if (!p || !p->allowed) return row;
    uint64_t lim = p->allowed_nbits < hi ? p->allowed_nbits : hi;
    while (row < lim) {
        uint64_t w = p->allowed[row >> 6] >> (row & 63);
        if (w) {
            uint32_t r = row + (uint32_t)__builtin_ctzll(w);
            return r < lim ? r : hi;
        }
        row = (row | 63) + 1;
    }
    return hi;
}

/* Prefetches every line of the (up to) four rows from `row` on: issued one
 * batch ahead of the kernel, it keeps the memory system busy while the
 * current batch is scored (+30% on 200k x 128 cosine, +5% on 784-d rows,
 * where the hardware prefetcher already covers most). Unfiltered scans
 * only: filtered rows are scattered and few. */
static inline void scan_prefetch(const vindex *idx, const index_search_params *p, uint32_t row,
                                 uint32_t hi)
{
    if (p && p->allowed) return;
    for (uint32_t k = 0; k < 4 && row + k < hi; k++) {
        const char *r = index_row(idx, row + k);
        for (size_t o = 0; o < idx->row_bytes; o += 64)
            __builtin_prefetch(r + o);
    }
}

void index_scan_topk(const vindex *idx, const void *query, uint32_t lo, uint32_t hi,
                     const index_search_params *p, index_topk *t)
{
    const index_dist *d = &idx->dist;
    uint32_t row = lo;
    if (!p || !p->allowed) {
        /* Unfiltered: consecutive rows, eight at a time -- two kernel calls
         * before any compare, then one read of the current worst. With a
         * compare after every call a 128-d scan reached ~65% of the STREAM
         * bandwidth; like this ~90% (784-d: from ~80% to above STREAM). */
        for (; row + 8 <= hi; row += 8) {
            float out[8];
            scan_prefetch(idx, p, row + 8, hi);
            d->four(d, query, index_row(idx, row), index_row(idx, row + 1),
                    index_row(idx, row + 2), index_row(idx, row + 3), out);
            d->four(d, query, index_row(idx, row + 4), index_row(idx, row + 5),
                    index_row(idx, row + 6), index_row(idx, row + 7), out + 4);
            float worst = t->n == t->k ? t->h[0].dist : INFINITY;
            for (uint32_t i = 0; i < 8; i++)
                if (out[i] <= worst) index_topk_push(t, row + i, out[i]);
        }
    }
    row = scan_next(p, row, hi);
    while (row < hi) {
        uint32_t r[4];
        int n = 0;
        while (n < 4 && row < hi) {
            r[n++] = row;
            row = scan_next(p, row + 1, hi);
        }
        if (n == 4) {
            float out[4];
            scan_prefetch(idx, p, row, hi);
            d->four(d, query, index_row(idx, r[0]), index_row(idx, r[1]), index_row(idx, r[2]),
                    index_row(idx, r[3]), out);
            for (int i = 0; i < 4; i++)
                index_topk_push(t, r[i], out[i]);
        } else {
            for (int i = 0; i < n; i++)
                index_topk_push(t, r[i], d->one(d, query, index_row(idx, r[i])));
        }
    }
}

int index_scan_range(const vindex *idx, const void *query, float radius, uint32_t lo, uint32_t hi,
                     const index_search_params *p, index_hits *out)
{
    const index_dist *d = &idx->dist;
    uint32_t row = scan_next(p, lo, hi);
    while (row < hi) {
        uint32_t r[4];
        float dist[4];
        int n = 0;
        while (n < 4 && row < hi) {
            r[n++] = row;
            row = scan_next(p, row + 1, hi);
        }
        if (n == 4) {
            scan_prefetch(idx, p, row, hi);
            d->four(d, query, index_row(idx, r[0]), index_row(idx, r[1]), index_row(idx, r[2]),
                    index_row(idx, r[3]), dist);
        } else {
            for (int i = 0; i < n; i++)
                dist[i] = d->one(d, query, index_row(idx, r[i]));
        }
        for (int i = 0; i < n; i++)
            if (dist[i] <= radius && index_hits_push(out, r[i], dist[i])) return -1;
    }
    return 0;
}

/* -------------------------------------------------------------- registry */

typedef struct index_alias {
    const char *name;
    const index_ops *ops;
    const char *param, *value; /* an implied parameter, or NULL */
} index_alias;

static const index_alias registry[] = {
    {"FLAT", &index_flat_ops, NULL, NULL},
    {"HNSW", &index_hnsw_ops, NULL, NULL},
    {"HNSW_SQ8", &index_hnsw_ops, "QUANT", "SQ8"},
    {"HNSW_BIN", &index_hnsw_ops, "QUANT", "BIN"},
};
#define REGISTRY_N (sizeof(registry) / sizeof(registry[0]))

size_t index_type_count(void)
{
    return REGISTRY_N;
}

const char *index_type_name(size_t i)
{
    return i < REGISTRY_N ? registry[i].name : NULL;
}

static const index_alias *registry_find(const char *name)
{
    for (size_t i = 0; name && i < REGISTRY_N; i++)
        if (!strcasecmp(name, registry[i].name)) return &registry[i];
    return NULL;
}

/* Sets up the base fields; shared by index_new and index_load. */
static vindex *index_alloc(const index_ops *ops, index_elem elem, index_metric metric, uint32_t dim,
                           const index_column *col, char *err, size_t errlen)
{
    index_dist d;
    if (index_dist_init(&d, elem, metric, dim, err, errlen)) return NULL;
    size_t rb = index_elem_row_bytes(elem, dim);
    if (!col || (!col->chunks && !col->base)) {
        index_err(err, errlen, "no vector column given");
        return NULL;
    }
    if (col->stride < rb) {
        index_err(err, errlen, "column stride %zu is smaller than a row (%zu bytes)", col->stride,
                  rb);
        return NULL;
    }
    if (col->chunks && col->chunk_shift > 32) {
        index_err(err, errlen, "column chunk_shift must be at most 32");
        return NULL;
    }
    vindex *idx = index_calloc(1, sizeof(*idx));
    if (!idx) {
        index_err(err, errlen, "out of memory");
        return NULL;
    }
    idx->ops = ops;
    idx->elem = elem;
    idx->metric = metric;
    idx->dim = dim;
    idx->row_bytes = rb;
    idx->dist = d;
    idx->col = *col;
    if (!col->chunks) {
        idx->col_single[0] = col->base;
        idx->col.chunks = idx->col_single;
        idx->col.chunk_shift = 32;
    }
    atomic_init(&idx->count, 0);
    return idx;
}

vindex *index_new(const char *type, index_elem elem, index_metric metric, uint32_t dim,
                  const index_column *col, const index_param *params, size_t nparams, char *err,
                  size_t errlen)
{
    const index_alias *a = registry_find(type);
    if (!a) {
        index_err(err, errlen, "unknown index type '%.64s'", type ? type : "");
        return NULL;
    }
    for (size_t i = 0; i < nparams; i++) {
        if (!params[i].name || !params[i].value) {
            index_err(err, errlen, "index parameter %zu has no name or value", i);
            return NULL;
        }
        for (size_t j = 0; j < i; j++)
            if (!strcasecmp(params[i].name, params[j].name)) {
                index_err(err, errlen, "parameter %.64s given twice", params[i].name);
                return NULL;
            }
    }
    vindex *idx = index_alloc(a->ops, elem, metric, dim, col, err, errlen);
    if (!idx) return NULL;
    /* An alias adds its implied parameter in front (a repeat is an error). */
    index_param local[32];
    const index_param *ps = params;
    size_t np = nparams;
    if (a->param) {
        if (nparams >= 31) {
            index_err(err, errlen, "too many index parameters");
            index_dealloc(idx);
            return NULL;
        }
        local[0] = (index_param){a->param, a->value};
        for (size_t i = 0; i < nparams; i++) {
            if (!strcasecmp(params[i].name, a->param)) {
                index_err(err, errlen, "%s implies %s %s; do not give %s", a->name, a->param,
                          a->value, a->param);
                index_dealloc(idx);
                return NULL;
            }
            local[i + 1] = params[i];
        }
        ps = local;
        np = nparams + 1;
    }
    if (idx->ops->init(idx, ps, np, err, errlen)) {
        index_dealloc(idx);
        return NULL;
    }
    return idx;
}

/* Used by index_load (index_io.c): an index of `ops` with default params. */
vindex *index_new_default(const char *type, index_elem elem, index_metric metric, uint32_t dim,
                          const index_column *col, char *err, size_t errlen);
vindex *index_new_default(const char *type, index_elem elem, index_metric metric, uint32_t dim,
                          const index_column *col, char *err, size_t errlen)
{
    const index_alias *a = registry_find(type);
    if (!a || a->param) {
        index_err(err, errlen, "unknown index type '%.64s' in stream", type ? type : "");
        return NULL;
    }
    vindex *idx = index_alloc(a->ops, elem, metric, dim, col, err, errlen);
    if (!idx) return NULL;
    if (idx->ops->init(idx, NULL, 0, err, errlen)) {
        index_dealloc(idx);
        return NULL;
    }
    return idx;
}

void index_free(vindex *idx)
{
    if (!idx) return;
    idx->ops->destroy(idx);
    index_dealloc(idx);
}

const char *index_type(const vindex *idx)
{
    return idx->ops->name;
}
index_elem index_elem_type(const vindex *idx)
{
    return idx->elem;
}
index_metric index_metric_type(const vindex *idx)
{
    return idx->metric;
}
uint32_t index_dim(const vindex *idx)
{
    return idx->dim;
}

int index_graph_max_level(const vindex *idx)
{
    return idx->ops->graph_max_level ? idx->ops->graph_max_level(idx) : -1;
}

int index_graph_node_level(const vindex *idx, uint32_t row)
{
    if (!idx->ops->graph_node_level || row >= index_count(idx)) return -1;
    return idx->ops->graph_node_level(idx, row);
}

long index_graph_links(const vindex *idx, uint32_t row, uint32_t level, uint32_t *out, size_t cap)
{
    if (!idx->ops->graph_links || row >= index_count(idx)) return -1;
    return idx->ops->graph_links(idx, row, level, out, cap);
}

uint32_t index_count(const vindex *idx)
{
    return atomic_load_explicit(&((vindex *)idx)->count, memory_order_acquire);
}

void index_describe(const vindex *idx, char *buf, size_t buflen)
{
    if (!buf || !buflen) return;
    buf[0] = 0;
    idx->ops->describe(idx, buf, buflen);
}

int index_add(vindex *idx, uint32_t row, char *err, size_t errlen)
{
    uint32_t n = index_count(idx);
    if (row != n) {
        index_err(err, errlen, "row %u added out of order (expected row %u)", row, n);
        return -1;
    }
    if (n >= INDEX_MAX_ROWS) {
        index_err(err, errlen, "index is full (%u rows)", n);
        return -1;
    }
    return idx->ops->add(idx, row, err, errlen);
}

int index_build(vindex *idx, uint32_t nrows, unsigned threads, char *err, size_t errlen)
{
    uint32_t n = index_count(idx);
    if (nrows < n) {
        index_err(err, errlen, "build to %u rows but %u are already indexed", nrows, n);
        return -1;
    }
    if (nrows > INDEX_MAX_ROWS) {
        index_err(err, errlen, "at most %u rows can be indexed", INDEX_MAX_ROWS);
        return -1;
    }
    if (nrows == n) return 0;
    if (threads == 0) threads = 1;
    if (threads > 256) threads = 256;
    return idx->ops->build(idx, nrows, threads, err, errlen);
}

int index_can_add_parallel(const vindex *idx)
{
    return idx->ops->add_unpublished != NULL && index_count(idx) >= INDEX_PARALLEL_MIN;
}

int index_parallel_begin(vindex *idx, uint32_t nrows, char *err, size_t errlen)
{
    if (!index_can_add_parallel(idx)) {
        index_err(err, errlen, "%s index can't add rows in parallel now", idx->ops->name);
        return -1;
    }
    if (nrows > INDEX_MAX_ROWS) {
        index_err(err, errlen, "at most %u rows can be indexed", INDEX_MAX_ROWS);
        return -1;
    }
    return idx->ops->reserve(idx, nrows, err, errlen);
}

int index_parallel_add(vindex *idx, uint32_t row, char *err, size_t errlen)
{
    return idx->ops->add_unpublished(idx, row, err, errlen);
}

void index_parallel_end(vindex *idx, uint32_t nrows)
{
    atomic_store_explicit(&idx->count, nrows, memory_order_release);
}

long index_search(const vindex *idx, const void *query, size_t k, const index_search_params *p,
                  index_hit *out, char *err, size_t errlen)
{
    if (k > INDEX_MAX_K) {
        index_err(err, errlen, "k must be at most %u", INDEX_MAX_K);
        return -1;
    }
    if (!query) {
        index_err(err, errlen, "no query vector");
        return -1;
    }
    if (k == 0) return 0;
    index_search_params def = {0};
    return idx->ops->search(idx, query, k, p ? p : &def, out, err, errlen);
}

long index_range_search(const vindex *idx, const void *query, float radius,
                        const index_search_params *p, index_hits *out, char *err, size_t errlen)
{
    if (!query || !out) {
        index_err(err, errlen, "no query vector or result list");
        return -1;
    }
    if (radius != radius) {
        index_err(err, errlen, "radius is not a number");
        return -1;
    }
    index_search_params def = {0};
    size_t before = out->n;
    if (idx->ops->range_search(idx, query, radius, p ? p : &def, out, err, errlen) < 0) return -1;
    return (long)(out->n - before);
}

size_t index_memory(const vindex *idx)
{
    return sizeof(*idx) + idx->ops->memory(idx);
}

int index_validate(const vindex *idx, char *err, size_t errlen)
{
    return idx->ops->validate(idx, err, errlen);
}
