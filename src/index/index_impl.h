/*
 * index_impl.h -- what index types share inside src/index/ (never included
 * outside it): the base struct every index starts with, the vtable each type
 * fills, the allocator hooks, the distance dispatch, the bounded top-k heap,
 * the bitset helpers and the section reader/writer of the save format.
 */
#ifndef VECTIS_INDEX_IMPL_H
#define VECTIS_INDEX_IMPL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index/index.h"

/* --------------------------------------------------------------- memory */

void *index_malloc(size_t n);
void *index_calloc(size_t n, size_t size);
void *index_realloc(void *p, size_t n);
void index_dealloc(void *p);

/* --------------------------------------------------------------- errors */

/* snprintf into err (when err != NULL) with CR/LF replaced by spaces. */
void index_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------- distance */

/*
 * One (element type, metric) pair resolved to two functions, chosen once at
 * index creation. `n` is what the kernels count: elements, or bytes for
 * BINARY. The functions go through the `simd` table, so they follow
 * simd_force().
 */
typedef struct index_dist index_dist;
typedef float (*index_dist1_fn)(const index_dist *d, const void *a, const void *b);
typedef void (*index_dist4_fn)(const index_dist *d, const void *q, const void *b0, const void *b1,
                               const void *b2, const void *b3, float out[4]);
struct index_dist {
    index_elem elem;
    index_metric metric;
    size_t n;
    index_dist1_fn one;
    index_dist4_fn four;
};

/* Fills d; returns -1 (with a message) for an invalid elem/metric/dim. */
int index_dist_init(index_dist *d, index_elem elem, index_metric metric, uint32_t dim, char *err,
                    size_t errlen);

/* ---------------------------------------------------------------- vtable */

typedef struct index_writer index_writer;
typedef struct index_reader index_reader;

typedef struct index_ops {
    const char *name;
    /* Parses params and sets up idx->impl; idx's base fields are set. */
    int (*init)(vindex *idx, const index_param *params, size_t nparams, char *err, size_t errlen);
    void (*destroy)(vindex *idx);
    void (*describe)(const vindex *idx, char *buf, size_t buflen);
    int (*add)(vindex *idx, uint32_t row, char *err, size_t errlen);
    int (*build)(vindex *idx, uint32_t nrows, unsigned threads, char *err, size_t errlen);
    /* Parallel adds (NULL when the type has none): reserve room for rows
     * below nrows (one writer), then insert one row without publishing it
     * (several threads at once, distinct rows). */
    int (*reserve)(vindex *idx, uint32_t nrows, char *err, size_t errlen);
    int (*add_unpublished)(vindex *idx, uint32_t row, char *err, size_t errlen);
    long (*search)(const vindex *idx, const void *query, size_t k, const index_search_params *p,
                   index_hit *out, char *err, size_t errlen);
    long (*range_search)(const vindex *idx, const void *query, float radius,
                         const index_search_params *p, index_hits *out, char *err, size_t errlen);
    size_t (*memory)(const vindex *idx);
    int (*validate)(const vindex *idx, char *err, size_t errlen);
    /* Writes the type's sections (after the common header). */
    int (*save)(const vindex *idx, index_writer *w, char *err, size_t errlen);
    /* Reads the type's sections into an index fresh from init() with
     * default parameters and count == 0; sets count. */
    int (*load)(vindex *idx, index_reader *r, uint32_t count, char *err, size_t errlen);
    /* Graph introspection (NULL for types without a graph). */
    int (*graph_max_level)(const vindex *idx);
    int (*graph_node_level)(const vindex *idx, uint32_t row);
    long (*graph_links)(const vindex *idx, uint32_t row, uint32_t level, uint32_t *out, size_t cap);
} index_ops;

struct vindex {
    const index_ops *ops;
    index_elem elem;
    index_metric metric;
    uint32_t dim;
    size_t row_bytes;             /* bytes of one row of the column */
    index_column col;             /* normalised: chunks is never NULL */
    const uint8_t *col_single[1]; /* the one-chunk table of a contiguous column */
    index_dist dist;              /* the column's exact distance */
    _Atomic uint32_t count;       /* rows indexed: published with release after a row is in */
    void *impl;                   /* the type's own state */
};

/* Row address in the normalised column (hot path). */
static inline const void *index_row(const vindex *idx, uint32_t row)
{
    uint64_t r = row;
    return idx->col.chunks[r >> idx->col.chunk_shift] +
           (r & ((UINT64_C(1) << idx->col.chunk_shift) - 1)) * idx->col.stride;
}

extern const index_ops index_flat_ops;
extern const index_ops index_hnsw_ops;

/* ------------------------------------------------------ parameter parsing */

/* Parses a whole decimal integer in [lo, hi]; -1 when not. */
int index_param_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

/* ----------------------------------------------------------- bitset */

static inline bool index_allowed(const index_search_params *p, uint32_t row)
{
    if (!p || !p->allowed) return true;
    if (row >= p->allowed_nbits) return false;
    return (p->allowed[row >> 6] >> (row & 63)) & 1;
}

/* Number of allowed rows below `limit`. */
uint64_t index_allowed_count(const index_search_params *p, uint32_t limit);

/* ------------------------------------------------------------ top-k heap */

/*
 * A bounded max-heap of (dist, row) keeping the k smallest by (dist, row).
 * Storage is the caller's (k entries).
 */
typedef struct index_topk {
    index_hit *h;
    size_t n, k;
} index_topk;

static inline bool index_hit_less(index_hit a, index_hit b)
{
    return a.dist < b.dist || (a.dist == b.dist && a.row < b.row);
}

void index_topk_push_slow(index_topk *t, index_hit x);

static inline void index_topk_push(index_topk *t, uint32_t row, float dist)
{
    index_hit x = {row, dist};
    if (t->n == t->k && !index_hit_less(x, t->h[0])) return;
    index_topk_push_slow(t, x);
}

/* Sorts the heap ascending in place (it is no longer a heap) and returns n. */
size_t index_topk_sort(index_topk *t);
void index_hits_sort(index_hit *v, size_t n);

/* Appends to a range-result list; -1 on allocation failure. */
int index_hits_push(index_hits *h, uint32_t row, float dist);

/* Exact scan of rows [lo, hi) that pass p's bitset, into t (column distances). */
void index_scan_topk(const vindex *idx, const void *query, uint32_t lo, uint32_t hi,
                     const index_search_params *p, index_topk *t);
/* Exact scan for range search; -1 on allocation failure. */
int index_scan_range(const vindex *idx, const void *query, float radius, uint32_t lo, uint32_t hi,
                     const index_search_params *p, index_hits *out);

/* ------------------------------------------------- save format sections */

/*
 * A section is tag u32, length u64, payload, xxh64(payload, seed 0) u64.
 * The writer buffers one section's payload, then emits it; the reader reads a
 * whole section (refusing lengths above the caller's bound), checks the
 * checksum, then hands out fields with bounds checks. Every put/get is
 * little-endian.
 */
struct index_writer {
    index_write_fn write;
    void *ctx;
    uint8_t *buf;
    size_t len, cap;
    bool failed; /* allocation failure while buffering */
};

struct index_reader {
    index_read_fn read;
    void *ctx;
    uint8_t *buf;
    size_t len, cap, pos;
    bool overrun; /* a get past the end of the section */
};

void index_w_begin(index_writer *w);
void index_w_u8(index_writer *w, uint8_t v);
void index_w_u32(index_writer *w, uint32_t v);
void index_w_u64(index_writer *w, uint64_t v);
void index_w_f32(index_writer *w, float v);
void index_w_bytes(index_writer *w, const void *p, size_t n);
/* Emits the section; -1 (message in err) on write or allocation failure. */
int index_w_end(index_writer *w, uint32_t tag, char *err, size_t errlen);

/* Reads the next section; it must carry `tag` and be at most max_len bytes. */
int index_r_section(index_reader *r, uint32_t tag, size_t max_len, char *err, size_t errlen);
uint8_t index_r_u8(index_reader *r);
uint32_t index_r_u32(index_reader *r);
uint64_t index_r_u64(index_reader *r);
float index_r_f32(index_reader *r);
void index_r_bytes(index_reader *r, void *p, size_t n);
/* 0 when the section was consumed exactly, else -1 with a message. */
int index_r_done(index_reader *r, const char *what, char *err, size_t errlen);

/* Section tags ("VXH0" etc. read as little-endian u32). */
#define INDEX_TAG(a, b, c, d)                                                                      \
    ((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))

#endif
