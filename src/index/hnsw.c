/*
 * hnsw.c -- HNSW: hierarchical navigable small-world graph over rows of the
 * caller's column, with float (QUANT NONE), SQ8 and BIN variants.
 *
 * Algorithm (Malkov & Yashunin): every row gets a level drawn from a
 * geometric distribution (P(level >= l) = M^-l). A search descends greedily
 * from the entry point (the node of the highest level) through the upper
 * levels, then runs a beam search of width ef on level 0. An insert does the
 * same with width efConstruction on every level the new node lives on,
 * picks up to M neighbours with the diversity heuristic (keep a candidate
 * only if it is closer to the new node than to every neighbour already
 * kept), and adds the reverse links, shrinking a full list with the same
 * heuristic. Level 0 keeps up to M0 = 2M links, upper levels M.
 *
 * Memory layout. Nodes live in chunks of HNSW_CHUNK (1024) nodes; a chunk is
 * HNSW_CHUNK fixed-size blocks, then HNSW_CHUNK upper-level pointers, then
 * (COSINE on a float column) HNSW_CHUNK inverse norms. A block is 32-bit
 * words:
 *     [0] seqlock   [1] level-0 count   [2 .. 2+M0) level-0 ids
 *     then, for SQ8: scale (f32), aux (f32: |x^|^2 for L2, 1/|x^| for COSINE)
 *     then the codes (SQ8: dim int8; BIN: dim/8 bytes), padded to 4 bytes.
 * So a node's links and (for SQ8/BIN) its codes share cache lines, and the
 * level-0 graph is one compact array of 32-bit row ids per chunk. The float
 * variant reads vectors from the caller's column (stored once); copying
 * them next to the links (hnswlib's layout) would double the memory of a
 * 784-d float vector set for a prefetch that the batch kernels make cheap.
 * Upper levels (a fraction 1/M of the nodes) get one allocation per node:
 *     [0] level L   then for l = 1..L: count, M ids
 *     then, for QUANT NONE on F32/F16/BF16: an SQ8 copy of the vector
 *     (scale, aux, dim int8), used only by the greedy descent. The descent
 *     does ~70 distance computations per query on fashion-mnist, a quarter
 *     of the work at ef 16; on int8 codes it reads a quarter of the bytes,
 *     and it only picks the level-0 entry point, so recall is unchanged.
 *     The copies cost dim/M bytes per row on average.
 * Derived data (SQ8 copies of upper nodes, inverse norms) is not saved; load
 * recomputes it from the column.
 * The chunk table is published atomically; a grown table replaces the old
 * one, which is kept (not freed) until the index is freed, so a searcher
 * holding an old table never reads freed memory. Old tables total less than
 * the live one (doubling).
 *
 * Concurrency. Any number of searches run together with one writer, and a
 * bulk build runs several inserting threads:
 *   - Every link list (all levels of a node) is guarded by the node's
 *     seqlock word: a writer makes it odd with a CAS (this is the per-node
 *     spinlock between writers), rewrites count and ids with relaxed atomic
 *     stores and makes it even again with a release store. A reader copies
 *     count and ids with relaxed atomic loads between two reads of the word
 *     and retries when it changed or was odd, so it never sees a torn list.
 *     No lock is held across an insert; a writer holds one node lock at a
 *     time (while shrinking that node's list), so there is no lock order.
 *   - A node's codes, scale, level and upper pointer are written before the
 *     node id is stored in any list (release); readers reach a node only
 *     through a list (acquire) or the entry point (acquire), so those plain
 *     fields need no atomics.
 *   - The entry point and max level are one atomic 64-bit word, set with a
 *     CAS after the new top node is fully linked.
 *   - A search only follows ids below the capacity of the table it loaded,
 *     and `count` (rows whose add returned) is published with release.
 *
 * Search scratch. Each search borrows a context from a mutex-protected pool
 * (one lock round trip per search): a visited array of uint16 epoch tags
 * (a node is visited iff tag == epoch; the array is cleared only when the
 * epoch wraps, once per 65,535 searches), the two heaps and the query codes.
 * Rejected: per-node visited bytes in the graph (not thread-safe, 1 byte per
 * node per concurrent search anyway), thread-local storage (global state,
 * leaks per thread), a hash set (slower than one tag load).
 *
 * Distances: candidates of one expansion are scored four at a time with the
 * x4 kernels after prefetching their vectors or codes (whole codes and rows
 * up to 512 bytes; the first lines of longer rows). COSINE on float columns
 * uses the dot kernel with the query normalised and the stored 1/|x|.
 * Measured and rejected on fashion-mnist (784-d, L2, one query at a time):
 *   - early abandon (sum blocks of 128-400 dims, stop when all four partial
 *     sums pass the ef-th distance): 10-15% SLOWER, although 75% of scored
 *     rows are rejected after ~70% of their dims: the split kernel calls
 *     cost more than the bytes saved, the hardware prefetcher runs ahead;
 *   - prefetching every line of a float row, or the next batch's rows
 *     while scoring the current one: no gain, or slower;
 *   - look-ahead: reading the next candidate's list and prefetching its
 *     neighbours while the current batch is scored: slower on 128-d rows,
 *     no clear gain on 784-d;
 *   - transparent huge pages for node chunks (madvise): not granted on this
 *     machine (THP "madvise" mode, none allocated), no change.
 * The float search is bound by memory bandwidth (~3 KB per scored row);
 * QUANT SQ8 with re-rank reads 784 bytes per row instead and is the fast
 * variant when memory traffic dominates.
 *
 * Bulk builds. index_build of a float index (QUANT NONE on F32/F16/BF16,
 * dim >= HNSW_TMP_MIN_DIM, at least HNSW_TMP_MIN_ROWS new rows) first
 * encodes every row as SQ8 into a temporary array (dim + 8 bytes per row,
 * freed when the build returns) and scores all construction distances on
 * it: a quarter of the memory traffic of float rows (fashion-mnist: 16 s
 * with 2 threads against hnswlib's 27-35 s in the same run, identical
 * recall curve). index_add, small builds and low dims score exactly.
 *
 * Filters: rows outside the allowed bitset are traversed but never enter the
 * result heap. When so few rows are allowed that the beam search would visit
 * more nodes than there are allowed rows (allowed^2 / count <= ef * M0), the
 * search scans the allowed rows exactly instead, so a filtered search returns
 * a full top-k; it does the same if the graph search comes back short.
 *
 * Levels are drawn from a hash of (SEED, row), not from a shared generator,
 * so a build gives each row the same level whatever the thread schedule, and
 * a single-thread build is reproducible.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "index/index_impl.h"
#include "simd/simd.h"

#define HNSW_CHUNK_SHIFT 10u
#define HNSW_CHUNK       (1u << HNSW_CHUNK_SHIFT)
#define HNSW_MAX_LEVEL   31
#define HNSW_NONE        0xffffffffu
#define HNSW_M_MAX       4096u /* Redis vector sets accept M up to 4096 */
#define HNSW_EF_MAX      65535u
/* Words before the level-0 ids in a block: seqlock, count. */
#define HNSW_HDR 2u
/* Cache lines of each neighbour vector prefetched before scoring a batch. */
#ifndef HNSW_PREFETCH_LINES
#define HNSW_PREFETCH_LINES 4u
#endif

typedef enum hnsw_quant { QUANT_NONE = 0, QUANT_SQ8 = 1, QUANT_BIN = 2 } hnsw_quant;
static const char *const quant_names[] = {"NONE", "SQ8", "BIN"};

typedef struct hnsw_table {
    _Atomic uint32_t nchunks; /* chunks[0..nchunks) are valid */
    uint32_t cap;
    struct hnsw_table *retired; /* the table this one replaced */
    uint8_t *chunks[];
} hnsw_table;

typedef struct hnsw_pair {
    float d;
    uint32_t id;
} hnsw_pair;

typedef struct hnsw_ctx {
    struct hnsw_ctx *next;
    uint16_t *tags;
    uint32_t tags_cap;
    uint16_t epoch;
    hnsw_pair *cand, *res;
    size_t cand_cap, res_cap;
    uint8_t *qbuf;  /* query codes (SQ8/BIN) */
    float *fbuf;    /* query converted to f32 (SQ8/BIN from f16/bf16) */
    uint32_t *nb;   /* neighbour scratch, M0 + 4 */
    hnsw_pair *sel; /* heuristic scratch, M0 + 1 */
} hnsw_ctx;

/* Where node vectors are read from (the values of QUANT NONE/SQ8/BIN, plus
 * the temporary SQ8 codes of a bulk build). */
enum { SP_COLUMN = 0, SP_SQ8 = 1, SP_BIN = 2, SP_TMP = 3 };

/* A query ready for scoring: the vector (column format) or its codes, and
 * the space of the nodes it is scored against. */
typedef struct hnsw_q {
    const void *vec;
    float scale, aux; /* SQ8: scale and |x^|^2 or 1/|x^|; cos_dot: 1/|q| */
    int sp;
} hnsw_q;

typedef struct hnsw {
    /* Parameters. */
    uint32_t M, M0, efc, ef;
    hnsw_quant quant;
    bool rerank;
    uint64_t seed;
    double ml; /* 1 / ln(M) */
    /* Layout. */
    size_t block_bytes, aux_off, code_off, code_bytes;
    size_t chunk_bytes;    /* blocks + upper pointers */
    bool upcodes;          /* QUANT NONE on a float-like column: SQ8 copies on upper levels */
    size_t prefetch_lines; /* cache lines prefetched per scored node */
    /* COSINE on a float-like column without quantization: the graph stores
     * 1/|x| per row (a dense float array per chunk, so scoring a neighbour
     * touches no extra block) and scores with the dot kernel of `ipd`, the
     * query normalised once: one accumulator per row instead of three. */
    bool cos_dot;
    index_dist ipd;
    /* During a bulk build of a float index: SQ8 codes of rows [0, tmp_rows),
     * tmp_stride bytes each (scale, aux, dim int8). The build scores with
     * them (a quarter of the memory traffic; the SQ8 variant shows the graph
     * is as good), then frees them. Only the building threads read them. */
    uint8_t *tmp;
    size_t tmp_stride;
    /* Graph. */
    _Atomic(hnsw_table *) table;
    _Atomic uint64_t entry; /* (max level << 32) | entry id; id HNSW_NONE when empty */
    _Atomic size_t upper_bytes;
    /* Scratch pool. */
    pthread_mutex_t pool_lock;
    hnsw_ctx *pool;
    _Atomic size_t pool_bytes;
} hnsw;

/* ------------------------------------------------------------- helpers */

static inline hnsw *H(const vindex *idx)
{
    return idx->impl;
}

static inline uint8_t *hnsw_block(const hnsw *h, const hnsw_table *t, uint32_t id)
{
    return t->chunks[id >> HNSW_CHUNK_SHIFT] + (size_t)(id & (HNSW_CHUNK - 1)) * h->block_bytes;
}

static inline _Atomic uint32_t *hnsw_words(const hnsw *h, const hnsw_table *t, uint32_t id)
{
    return (_Atomic uint32_t *)(void *)hnsw_block(h, t, id);
}

static inline uint32_t **hnsw_upper_slot(const hnsw *h, const hnsw_table *t, uint32_t id)
{
    uint8_t *chunk = t->chunks[id >> HNSW_CHUNK_SHIFT];
    return (uint32_t **)(void *)(chunk + (size_t)HNSW_CHUNK * h->block_bytes) +
           (id & (HNSW_CHUNK - 1));
}

static inline float *hnsw_norm_slot(const hnsw *h, const hnsw_table *t, uint32_t id)
{
    uint8_t *chunk = t->chunks[id >> HNSW_CHUNK_SHIFT];
    return (float *)(void *)(chunk + (size_t)HNSW_CHUNK * (h->block_bytes + sizeof(uint32_t *))) +
           (id & (HNSW_CHUNK - 1));
}

static inline uint32_t hnsw_node_level(const hnsw *h, const hnsw_table *t, uint32_t id)
{
    uint32_t *u = *hnsw_upper_slot(h, t, id);
    return u ? u[0] : 0;
}

/* The count word of node id's list at `level` (ids follow it). */
static inline _Atomic uint32_t *hnsw_list(const hnsw *h, const hnsw_table *t, uint32_t id,
                                          uint32_t level)
{
    if (level == 0) return hnsw_words(h, t, id) + 1;
    uint32_t *u = *hnsw_upper_slot(h, t, id);
    return (_Atomic uint32_t *)(u + 1 + (size_t)(level - 1) * (h->M + 1));
}

static inline uint32_t hnsw_cap(const hnsw *h, uint32_t level)
{
    return level ? h->M : h->M0;
}

static inline uint32_t hnsw_limit(const hnsw_table *t)
{
    return atomic_load_explicit(&((hnsw_table *)t)->nchunks, memory_order_acquire)
           << HNSW_CHUNK_SHIFT;
}

static inline hnsw_table *hnsw_table_get(const hnsw *h)
{
    return atomic_load_explicit(&((hnsw *)h)->table, memory_order_acquire);
}

static inline uint64_t hnsw_entry_get(const hnsw *h)
{
    return atomic_load_explicit(&((hnsw *)h)->entry, memory_order_acquire);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Copies node id's list at `level` into out; returns its length. */
static uint32_t hnsw_read_list(const hnsw *h, const hnsw_table *t, uint32_t id, uint32_t level,
                               uint32_t *out)
{
    _Atomic uint32_t *lock = hnsw_words(h, t, id);
    _Atomic uint32_t *l = hnsw_list(h, t, id, level);
    uint32_t cap = hnsw_cap(h, level);
    for (;;) {
        uint32_t v1 = atomic_load_explicit(lock, memory_order_acquire);
        if (v1 & 1) {
            cpu_relax();
            continue;
        }
        uint32_t n = atomic_load_explicit(&l[0], memory_order_relaxed);
        if (n > cap) n = cap;
        for (uint32_t i = 0; i < n; i++)
            out[i] = atomic_load_explicit(&l[1 + i], memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(lock, memory_order_relaxed) == v1) return n;
    }
}

static void hnsw_lock(_Atomic uint32_t *lock)
{
    for (;;) {
        uint32_t v = atomic_load_explicit(lock, memory_order_relaxed);
        if (!(v & 1) && atomic_compare_exchange_weak_explicit(lock, &v, v + 1, memory_order_acquire,
                                                              memory_order_relaxed))
            return;
        cpu_relax();
    }
}

static void hnsw_unlock(_Atomic uint32_t *lock)
{
    uint32_t v = atomic_load_explicit(lock, memory_order_relaxed);
    atomic_store_explicit(lock, v + 1, memory_order_release);
}

static uint32_t hnsw_random_level(const hnsw *h, uint32_t row)
{
    uint64_t z = h->seed ^ ((uint64_t)row * 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    double u = (double)((z >> 11) + 1) * 0x1.0p-53; /* (0, 1] */
    double l = -log(u) * h->ml;
    return l >= HNSW_MAX_LEVEL ? HNSW_MAX_LEVEL : (uint32_t)l;
}

/* ------------------------------------------------------------- distances */

/* The column row as f32, converting f16/bf16 into buf. */
static const float *hnsw_as_f32(const vindex *idx, const void *v, float *buf)
{
    if (idx->elem == INDEX_ELEM_F32) return v;
    const uint16_t *u = v;
    for (uint32_t i = 0; i < idx->dim; i++)
        buf[i] = idx->elem == INDEX_ELEM_F16 ? simd_f16_to_f32(u[i]) : simd_bf16_to_f32(u[i]);
    return buf;
}

/* Encodes vector v (column format) into codes; returns SQ8 scale and aux. */
static void hnsw_encode(const vindex *idx, bool bin, const void *v, float *fbuf, uint8_t *codes,
                        float *scale, float *aux)
{
    const float *x = hnsw_as_f32(idx, v, fbuf);
    uint32_t dim = idx->dim;
    if (bin) {
        memset(codes, 0, (dim + 7) / 8);
        for (uint32_t i = 0; i < dim; i++)
            if (x[i] > 0) codes[i >> 3] |= (uint8_t)(1u << (i & 7));
        *scale = *aux = 0;
        return;
    }
    float mx = 0;
    for (uint32_t i = 0; i < dim; i++)
        mx = fabsf(x[i]) > mx ? fabsf(x[i]) : mx;
    float s = mx > 0 ? mx / 127.0f : 0.0f;
    float inv = mx > 0 ? 127.0f / mx : 0.0f;
    int8_t *c = (int8_t *)codes;
    int64_t n2 = 0;
    for (uint32_t i = 0; i < dim; i++) {
        float y = x[i] * inv; /* round half away from zero, no libm call */
        long q = (long)(y + (y >= 0 ? 0.5f : -0.5f));
        q = q > 127 ? 127 : q < -127 ? -127 : q;
        c[i] = (int8_t)q;
        n2 += q * q;
    }
    *scale = s;
    double norm2 = (double)n2 * s * s;
    if (idx->metric == INDEX_METRIC_COSINE)
        *aux = norm2 > 0 ? (float)(1.0 / sqrt(norm2)) : 0.0f;
    else
        *aux = (float)norm2;
}

static inline const void *hnsw_vec(const vindex *idx, const hnsw *h, const hnsw_table *t, int sp,
                                   uint32_t id)
{
    if (sp == SP_COLUMN) return index_row(idx, id);
    if (sp == SP_TMP) return h->tmp + (size_t)id * h->tmp_stride + 8;
    return hnsw_block(h, t, id) + h->code_off;
}

static inline float sq8_finish(const vindex *idx, const hnsw_q *q, float s, float aux, int32_t dot)
{
    float ab = q->scale * s * (float)dot;
    switch (idx->metric) {
    case INDEX_METRIC_L2: {
        float d = q->aux + aux - 2.0f * ab;
        return d > 0 ? d : 0;
    }
    case INDEX_METRIC_IP:
        return -ab;
    default: {
        if (q->aux == 0 || aux == 0) return 1.0f;
        float d = 1.0f - ab * q->aux * aux;
        return d < 0 ? 0 : d;
    }
    }
}

static inline void hnsw_sq8_meta(const hnsw *h, const hnsw_table *t, int sp, uint32_t id, float *s,
                                 float *aux)
{
    const float *f = sp == SP_TMP
                         ? (const float *)(const void *)(h->tmp + (size_t)id * h->tmp_stride)
                         : (const float *)(const void *)(hnsw_block(h, t, id) + h->aux_off);
    *s = f[0];
    *aux = f[1];
}

/* Cosine distance from a dot product and the two inverse norms; 1 when a
 * vector is zero, clamped to [0, 2] like the simd kernels. */
static inline float cos_finish(float dot, float inv_a, float inv_b)
{
    if (inv_a == 0 || inv_b == 0) return 1.0f;
    float d = 1.0f - dot * inv_a * inv_b;
    return d < 0 ? 0 : d > 2 ? 2 : d;
}

static float hnsw_inv_norm(const hnsw *h, const void *v)
{
    double n2 = -(double)h->ipd.one(&h->ipd, v, v);
    return n2 > 0 ? (float)(1.0 / sqrt(n2)) : 0.0f;
}

static void hnsw_dist4(const vindex *idx, const hnsw *h, const hnsw_table *t, const hnsw_q *q,
                       const uint32_t ids[4], float out[4])
{
    switch (q->sp) {
    case SP_COLUMN:
        if (h->cos_dot) {
            h->ipd.four(&h->ipd, q->vec, index_row(idx, ids[0]), index_row(idx, ids[1]),
                        index_row(idx, ids[2]), index_row(idx, ids[3]), out);
            for (int i = 0; i < 4; i++)
                out[i] = cos_finish(-out[i], q->aux, *hnsw_norm_slot(h, t, ids[i]));
            return;
        }
        idx->dist.four(&idx->dist, q->vec, index_row(idx, ids[0]), index_row(idx, ids[1]),
                       index_row(idx, ids[2]), index_row(idx, ids[3]), out);
        return;
    case SP_SQ8:
    case SP_TMP: {
        int32_t dot[4];
        simd->dot_i8_x4(q->vec, (const int8_t *)hnsw_vec(idx, h, t, q->sp, ids[0]),
                        (const int8_t *)hnsw_vec(idx, h, t, q->sp, ids[1]),
                        (const int8_t *)hnsw_vec(idx, h, t, q->sp, ids[2]),
                        (const int8_t *)hnsw_vec(idx, h, t, q->sp, ids[3]), idx->dim, dot);
        for (int i = 0; i < 4; i++) {
            float s, aux;
            hnsw_sq8_meta(h, t, q->sp, ids[i], &s, &aux);
            out[i] = sq8_finish(idx, q, s, aux, dot[i]);
        }
        return;
    }
    case SP_BIN: {
        uint32_t d[4];
        simd->hamming_x4(q->vec, hnsw_vec(idx, h, t, SP_BIN, ids[0]),
                         hnsw_vec(idx, h, t, SP_BIN, ids[1]), hnsw_vec(idx, h, t, SP_BIN, ids[2]),
                         hnsw_vec(idx, h, t, SP_BIN, ids[3]), h->code_bytes, d);
        for (int i = 0; i < 4; i++)
            out[i] = (float)d[i];
        return;
    }
    }
}

static float hnsw_dist1(const vindex *idx, const hnsw *h, const hnsw_table *t, const hnsw_q *q,
                        uint32_t id)
{
    switch (q->sp) {
    case SP_COLUMN:
        if (h->cos_dot)
            return cos_finish(-h->ipd.one(&h->ipd, q->vec, index_row(idx, id)), q->aux,
                              *hnsw_norm_slot(h, t, id));
        return idx->dist.one(&idx->dist, q->vec, index_row(idx, id));
    case SP_SQ8:
    case SP_TMP: {
        float s, aux;
        hnsw_sq8_meta(h, t, q->sp, id, &s, &aux);
        return sq8_finish(idx, q, s, aux,
                          simd->dot_i8(q->vec, hnsw_vec(idx, h, t, q->sp, id), idx->dim));
    }
    case SP_BIN:
        return (float)simd->hamming(q->vec, hnsw_vec(idx, h, t, SP_BIN, id), h->code_bytes);
    }
    return 0;
}

/* Scores n ids (any n) into d. */
static void hnsw_dist_n(const vindex *idx, const hnsw *h, const hnsw_table *t, const hnsw_q *q,
                        const uint32_t *ids, uint32_t n, float *d)
{
    uint32_t i = 0;
    for (; i + 4 <= n; i += 4)
        hnsw_dist4(idx, h, t, q, ids + i, d + i);
    if (i < n) {
        uint32_t pad[4];
        float o[4];
        for (uint32_t j = 0; j < 4; j++)
            pad[j] = ids[i + (j < n - i ? j : 0)];
        hnsw_dist4(idx, h, t, q, pad, o);
        for (uint32_t j = 0; i + j < n; j++)
            d[i + j] = o[j];
    }
}

/* A stored node as a query (inserts and the heuristic). */
static hnsw_q hnsw_node_q(const vindex *idx, const hnsw *h, const hnsw_table *t, int sp,
                          uint32_t id)
{
    hnsw_q q = {hnsw_vec(idx, h, t, sp, id), 0, 0, sp};
    if (sp == SP_SQ8 || sp == SP_TMP) hnsw_sq8_meta(h, t, sp, id, &q.scale, &q.aux);
    if (sp == SP_COLUMN && h->cos_dot) q.aux = *hnsw_norm_slot(h, t, id);
    return q;
}

static inline void hnsw_prefetch(const vindex *idx, const hnsw *h, const hnsw_table *t, int sp,
                                 uint32_t id)
{
    const char *p = hnsw_vec(idx, h, t, sp, id);
    __builtin_prefetch(p);
    if (sp == SP_COLUMN && h->cos_dot) __builtin_prefetch(hnsw_norm_slot(h, t, id));
    /* Codes (at most a few hundred bytes, next to the links) are fetched
     * whole; of a float row only the head, the hardware prefetcher streams
     * the rest once the kernel walks it (more software prefetches measured
     * slower on 784-d rows: they compete with the demand loads). */
    size_t lines = sp == SP_TMP ? (h->tmp_stride - 8 + 63) / 64 : h->prefetch_lines;
    if (lines > 32) lines = 32;
    for (size_t l = 1; l < lines; l++)
        __builtin_prefetch(p + 64 * l);
}

/* ----------------------------------------------------------------- heaps */

/* Min-heap on d (candidates). */
static inline void minheap_push(hnsw_pair *a, size_t *n, hnsw_pair x)
{
    size_t i = (*n)++;
    while (i) {
        size_t p = (i - 1) >> 1;
        if (a[p].d <= x.d) break;
        a[i] = a[p];
        i = p;
    }
    a[i] = x;
}

static inline hnsw_pair minheap_pop(hnsw_pair *a, size_t *n)
{
    hnsw_pair top = a[0], x = a[--(*n)];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && a[c + 1].d < a[c].d) c++;
        if (x.d <= a[c].d) break;
        a[i] = a[c];
        i = c;
    }
    if (m) a[i] = x;
    return top;
}

/* Max-heap on (d, id) (results). */
static inline bool pair_less(hnsw_pair a, hnsw_pair b)
{
    return a.d < b.d || (a.d == b.d && a.id < b.id);
}

static inline void maxheap_push(hnsw_pair *a, size_t *n, hnsw_pair x)
{
    size_t i = (*n)++;
    while (i) {
        size_t p = (i - 1) >> 1;
        if (!pair_less(a[p], x)) break;
        a[i] = a[p];
        i = p;
    }
    a[i] = x;
}

static inline void maxheap_pop(hnsw_pair *a, size_t *n)
{
    hnsw_pair x = a[--(*n)];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && pair_less(a[c], a[c + 1])) c++;
        if (!pair_less(x, a[c])) break;
        a[i] = a[c];
        i = c;
    }
    if (m) a[i] = x;
}

/* Sorts a max-heap ascending in place (heapsort's second half): no
 * comparator calls, unlike qsort, which showed up in build profiles. */
static void maxheap_sort(hnsw_pair *a, size_t n)
{
    while (n > 1) {
        hnsw_pair top = a[0];
        maxheap_pop(a, &n);
        a[n] = top;
    }
}

/* Insertion sort for the short lists of a shrink (at most 2*M0 + 1). */
static void pairs_sort(hnsw_pair *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        hnsw_pair x = a[i];
        size_t j = i;
        while (j > 0 && pair_less(x, a[j - 1])) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

/* ------------------------------------------------------- scratch contexts */

static void ctx_free(hnsw_ctx *c)
{
    if (!c) return;
    index_dealloc(c->tags);
    index_dealloc(c->cand);
    index_dealloc(c->res);
    index_dealloc(c->qbuf);
    index_dealloc(c->fbuf);
    index_dealloc(c->nb);
    index_dealloc(c->sel);
    index_dealloc(c);
}

static size_t ctx_bytes(const hnsw_ctx *c)
{
    return sizeof(*c) + (size_t)c->tags_cap * 2 + (c->cand_cap + c->res_cap) * sizeof(hnsw_pair);
}

/* Borrows a context whose visited array covers `limit` nodes and whose
 * result heap holds ef + 1; NULL on allocation failure. */
static hnsw_ctx *ctx_get(const vindex *idx, uint32_t limit, size_t ef)
{
    hnsw *h = H(idx);
    pthread_mutex_lock(&h->pool_lock);
    hnsw_ctx *c = h->pool;
    if (c) h->pool = c->next;
    pthread_mutex_unlock(&h->pool_lock);
    if (!c) {
        c = index_calloc(1, sizeof(*c));
        if (!c) return NULL;
        c->qbuf = index_malloc(h->code_bytes + idx->dim + 8);
        c->fbuf = index_malloc(sizeof(float) * idx->dim);
        c->nb = index_malloc(sizeof(uint32_t) * (h->M0 + 8));
        c->sel = index_malloc(sizeof(hnsw_pair) * (h->M0 + 8));
        if (!c->qbuf || !c->fbuf || !c->nb || !c->sel) {
            ctx_free(c);
            return NULL;
        }
        atomic_fetch_add(&h->pool_bytes, sizeof(*c) + h->code_bytes + 4 * idx->dim +
                                             (4 + sizeof(hnsw_pair)) * (h->M0 + 8));
    }
    size_t before = ctx_bytes(c);
    if (c->tags_cap < limit) {
        uint16_t *tg = index_realloc(c->tags, (size_t)limit * 2);
        if (!tg) goto fail;
        memset(tg, 0, (size_t)limit * 2);
        c->tags = tg;
        c->tags_cap = limit;
        c->epoch = 0;
    }
    if (c->res_cap < ef + 2) {
        hnsw_pair *r = index_realloc(c->res, (ef + 2) * sizeof(*r));
        if (!r) goto fail;
        c->res = r;
        c->res_cap = ef + 2;
    }
    if (c->cand_cap < 4 * ef + 64) {
        size_t cap = 4 * ef + 64;
        hnsw_pair *r = index_realloc(c->cand, cap * sizeof(*r));
        if (!r) goto fail;
        c->cand = r;
        c->cand_cap = cap;
    }
    atomic_fetch_add(&h->pool_bytes, ctx_bytes(c) - before);
    if (++c->epoch == 0) {
        memset(c->tags, 0, (size_t)c->tags_cap * 2);
        c->epoch = 1;
    }
    return c;
fail:
    atomic_fetch_add(&h->pool_bytes, ctx_bytes(c) - before);
    pthread_mutex_lock(&h->pool_lock);
    c->next = h->pool;
    h->pool = c;
    pthread_mutex_unlock(&h->pool_lock);
    return NULL;
}

static void ctx_put(const vindex *idx, hnsw_ctx *c)
{
    hnsw *h = H(idx);
    pthread_mutex_lock(&h->pool_lock);
    c->next = h->pool;
    h->pool = c;
    pthread_mutex_unlock(&h->pool_lock);
}

/* Makes sure the candidate heap can take one more entry. */
static bool cand_reserve(hnsw *h, hnsw_ctx *c, size_t n)
{
    if (n < c->cand_cap) return true;
    size_t cap = c->cand_cap * 2;
    hnsw_pair *r = index_realloc(c->cand, cap * sizeof(*r));
    if (!r) return false;
    atomic_fetch_add(&h->pool_bytes, (cap - c->cand_cap) * sizeof(*r));
    c->cand = r;
    c->cand_cap = cap;
    return true;
}

/* Prepares a user query: codes for SQ8/BIN. */
static hnsw_q hnsw_query(const vindex *idx, const hnsw *h, hnsw_ctx *c, const void *query)
{
    hnsw_q q = {query, 0, 0, (int)h->quant};
    if (h->cos_dot) q.aux = hnsw_inv_norm(h, query);
    if (h->quant != QUANT_NONE) {
        hnsw_encode(idx, h->quant == QUANT_BIN, query, c->fbuf, c->qbuf, &q.scale, &q.aux);
        q.vec = c->qbuf;
    }
    return q;
}

/* ---------------------------------------------------------------- search */

/* Words of an upper block with `level` levels (links, then for upcodes
 * the node's SQ8 copy: scale, aux, dim code bytes). */
static size_t hnsw_upper_words(const vindex *idx, const hnsw *h, uint32_t level)
{
    size_t w = 1 + (size_t)level * (h->M + 1);
    if (h->upcodes) w += 2 + (idx->dim + 3) / 4;
    return w;
}

static inline const float *hnsw_upcode_meta(const hnsw *h, const hnsw_table *t, uint32_t id)
{
    const uint32_t *u = *hnsw_upper_slot(h, t, id);
    return (const float *)(const void *)(u + 1 + (size_t)u[0] * (h->M + 1));
}

/* Fills the SQ8 copy of a node that has upper levels (u: its block). */
static void hnsw_upcode_fill(const vindex *idx, const hnsw *h, uint32_t *u, const void *vec,
                             float *fbuf)
{
    float *meta = (float *)(void *)(u + 1 + (size_t)u[0] * (h->M + 1));
    hnsw_encode(idx, false, vec, fbuf, (uint8_t *)(meta + 2), &meta[0], &meta[1]);
}

/* Greedy descent on the SQ8 copies of upper-level nodes: a quarter of the
 * memory traffic of float vectors, and the upper levels only pick the
 * level-0 entry point, so approximate distances cost no recall. */
static void hnsw_greedy_up(const vindex *idx, const hnsw *h, const hnsw_table *t, uint32_t limit,
                           hnsw_ctx *c, const hnsw_q *uq, uint32_t level, uint32_t *cur,
                           float *curd)
{
    bool moved = true;
    while (moved) {
        moved = false;
        uint32_t n = hnsw_read_list(h, t, *cur, level, c->nb), m = 0;
        for (uint32_t i = 0; i < n; i++)
            if (c->nb[i] < limit) c->nb[m++] = c->nb[i];
        for (uint32_t i = 0; i < m; i++)
            __builtin_prefetch(*hnsw_upper_slot(h, t, c->nb[i]));
        uint32_t best = *cur;
        for (uint32_t i = 0; i < m; i += 4) {
            const float *meta[4];
            for (uint32_t j = 0; j < 4; j++)
                meta[j] = hnsw_upcode_meta(h, t, c->nb[i + (i + j < m ? j : 0)]);
            int32_t dot[4];
            simd->dot_i8_x4(uq->vec, (const int8_t *)(meta[0] + 2), (const int8_t *)(meta[1] + 2),
                            (const int8_t *)(meta[2] + 2), (const int8_t *)(meta[3] + 2), idx->dim,
                            dot);
            for (uint32_t j = 0; j < 4 && i + j < m; j++) {
                float d = sq8_finish(idx, uq, meta[j][0], meta[j][1], dot[j]);
                if (d < *curd) {
                    *curd = d;
                    best = c->nb[i + j];
                }
            }
        }
        if (best != *cur) {
            *cur = best;
            moved = true;
        }
    }
}

/* Greedy descent at one upper level from *cur (distance *curd). */
static void hnsw_greedy(const vindex *idx, const hnsw *h, const hnsw_table *t, uint32_t limit,
                        hnsw_ctx *c, const hnsw_q *q, uint32_t level, uint32_t *cur, float *curd)
{
    bool moved = true;
    float d[HNSW_M_MAX + 4];
    while (moved) {
        moved = false;
        uint32_t n = hnsw_read_list(h, t, *cur, level, c->nb), m = 0;
        for (uint32_t i = 0; i < n; i++)
            if (c->nb[i] < limit) c->nb[m++] = c->nb[i];
        hnsw_dist_n(idx, h, t, q, c->nb, m, d);
        uint32_t best = *cur;
        for (uint32_t i = 0; i < m; i++)
            if (d[i] < *curd) {
                *curd = d[i];
                best = c->nb[i];
            }
        if (best != *cur) {
            *cur = best;
            moved = true;
        }
    }
}

/*
 * Descends from the entry point (ep at level `top`) to level `to`, leaving in
 * *ep / *epd the closest node found and its distance in the index's own
 * distance (exact for QUANT NONE).
 */
static void hnsw_descend(const vindex *idx, const hnsw *h, const hnsw_table *t, uint32_t limit,
                         hnsw_ctx *c, const hnsw_q *q, const void *raw, uint32_t top, uint32_t to,
                         uint32_t *ep, float *epd)
{
    if (top <= to) {
        *epd = hnsw_dist1(idx, h, t, q, *ep);
        return;
    }
    if (h->upcodes) {
        hnsw_q uq = {c->qbuf, 0, 0, SP_SQ8};
        hnsw_encode(idx, false, raw, c->fbuf, c->qbuf, &uq.scale, &uq.aux);
        const float *meta = hnsw_upcode_meta(h, t, *ep);
        float d = sq8_finish(idx, &uq, meta[0], meta[1],
                             simd->dot_i8(uq.vec, (const int8_t *)(meta + 2), idx->dim));
        for (uint32_t l = top; l > to; l--)
            hnsw_greedy_up(idx, h, t, limit, c, &uq, l, ep, &d);
        *epd = hnsw_dist1(idx, h, t, q, *ep);
        return;
    }
    *epd = hnsw_dist1(idx, h, t, q, *ep);
    for (uint32_t l = top; l > to; l--)
        hnsw_greedy(idx, h, t, limit, c, q, l, ep, epd);
}

typedef struct hnsw_filter {
    const index_search_params *p; /* allowed bitset, or NULL */
    bool range;
    float radius; /* range mode: collect rows with d <= radius */
    index_hits *hits;
    int rc;
} hnsw_filter;

/*
 * Beam search of width ef at `level` from entry (ep, epd). Leaves the best
 * allowed nodes found in c->res (a max-heap of *nres entries). In range mode
 * it also expands every candidate within the radius and appends each allowed
 * node within it to f->hits.
 */
static size_t hnsw_search_layer(const vindex *idx, hnsw *h, const hnsw_table *t, uint32_t limit,
                                hnsw_ctx *c, const hnsw_q *q, uint32_t level, uint32_t ep,
                                float epd, size_t ef, hnsw_filter *f)
{
    const index_search_params *p = f ? f->p : NULL;
    bool filtered = p && p->allowed;
    bool range = f && f->range;
    float radius = range ? f->radius : 0;
    uint16_t *tags = c->tags, epoch = c->epoch;
    hnsw_pair *cand = c->cand, *res = c->res;
    size_t ncand = 0, nres = 0;
    tags[ep] = epoch;
    cand[ncand++] = (hnsw_pair){epd, ep};
    if (!filtered || index_allowed(p, ep)) res[nres++] = (hnsw_pair){epd, ep};
    if (range && epd <= radius && index_allowed(p, ep) && index_hits_push(f->hits, ep, epd))
        f->rc = -1;
    uint32_t *nb = c->nb;
    float d[HNSW_M_MAX * 2 + 4];
    while (ncand) {
        hnsw_pair cur = cand[0];
        float bound = nres ? res[0].d : INFINITY;
        bool full = nres >= ef;
        if (cur.d > bound && (full || !filtered) && !(range && cur.d <= radius)) break;
        minheap_pop(cand, &ncand);
        if (ncand) __builtin_prefetch(hnsw_block(h, t, cand[0].id));
        uint32_t n = hnsw_read_list(h, t, cur.id, level, nb), m = 0;
        /* Branch-free compaction of the unvisited ids: whether a neighbour
         * was visited is a coin flip the branch predictor cannot learn, and
         * a mispredict per neighbour cost more than the tag loads. A list
         * holds no duplicates, so tagging before testing the next is safe.
         * Ids at or above the limit only appear while rows are being added
         * (a predictable branch). */
        for (uint32_t i = 0; i < n; i++) {
            uint32_t id = nb[i];
            if (id >= limit) continue;
            uint32_t fresh = tags[id] != epoch;
            tags[id] = epoch;
            nb[m] = id;
            m += fresh;
        }
        for (uint32_t i = 0; i < m; i++)
            hnsw_prefetch(idx, h, t, q->sp, nb[i]);
        if (!m) continue;
        hnsw_dist_n(idx, h, t, q, nb, m, d);
        for (uint32_t i = 0; i < m; i++) {
            float di = d[i];
            uint32_t id = nb[i];
            bool in_radius = range && di <= radius;
            if (nres < ef || di < res[0].d || in_radius) {
                if (!cand_reserve(h, c, ncand)) {
                    if (f) f->rc = -1;
                    return nres;
                }
                cand = c->cand;
                minheap_push(cand, &ncand, (hnsw_pair){di, id});
                if (!filtered || index_allowed(p, id)) {
                    if (in_radius && index_hits_push(f->hits, id, di)) f->rc = -1;
                    maxheap_push(res, &nres, (hnsw_pair){di, id});
                    if (nres > ef) maxheap_pop(res, &nres);
                }
            }
        }
    }
    return nres;
}

/* --------------------------------------------------------------- insert */

/*
 * The diversity heuristic: from candidates sorted by distance to the base,
 * keeps a candidate when it is closer to the base than to every candidate
 * already kept, up to m. Writes the kept ones to out; returns how many.
 */
static uint32_t hnsw_heuristic(const vindex *idx, const hnsw *h, const hnsw_table *t, int sp,
                               const hnsw_pair *cands, size_t n, uint32_t m, hnsw_pair *out)
{
    uint32_t kept = 0;
    uint32_t ids[HNSW_M_MAX * 2 + 4];
    float d[HNSW_M_MAX * 2 + 4];
    for (size_t i = 0; i < n && kept < m; i++) {
        hnsw_q cq = hnsw_node_q(idx, h, t, sp, cands[i].id);
        for (uint32_t j = 0; j < kept; j++)
            ids[j] = out[j].id;
        hnsw_dist_n(idx, h, t, &cq, ids, kept, d);
        bool good = true;
        for (uint32_t j = 0; j < kept && good; j++)
            good = d[j] >= cands[i].d;
        if (good) out[kept++] = cands[i];
    }
    return kept;
}

/*
 * Adds `add` (with distances to `node`) to node's list at `level` under its
 * lock. When the union exceeds the level's capacity, the heuristic picks the
 * survivors (distances from node to its current neighbours are recomputed).
 */
static void hnsw_link(const vindex *idx, const hnsw *h, const hnsw_table *t, int sp, uint32_t node,
                      uint32_t level, const hnsw_pair *add, uint32_t nadd)
{
    _Atomic uint32_t *lock = hnsw_words(h, t, node);
    _Atomic uint32_t *l = hnsw_list(h, t, node, level);
    uint32_t cap = hnsw_cap(h, level);
    hnsw_pair all[HNSW_M_MAX * 2 + HNSW_M_MAX + 2];
    uint32_t ids[HNSW_M_MAX * 2 + HNSW_M_MAX + 2];
    hnsw_lock(lock);
    uint32_t n = atomic_load_explicit(&l[0], memory_order_relaxed), total = 0;
    for (uint32_t i = 0; i < n; i++)
        ids[total++] = atomic_load_explicit(&l[1 + i], memory_order_relaxed);
    uint32_t old = total;
    for (uint32_t i = 0; i < nadd; i++) {
        bool dup = add[i].id == node;
        for (uint32_t j = 0; j < total && !dup; j++)
            dup = ids[j] == add[i].id;
        if (!dup) ids[total++] = add[i].id;
    }
    if (total <= cap) {
        for (uint32_t i = old; i < total; i++)
            atomic_store_explicit(&l[1 + i], ids[i], memory_order_relaxed);
        atomic_store_explicit(&l[0], total, memory_order_relaxed);
    } else {
        hnsw_q nq = hnsw_node_q(idx, h, t, sp, node);
        float d[HNSW_M_MAX * 2 + HNSW_M_MAX + 2];
        hnsw_dist_n(idx, h, t, &nq, ids, total, d);
        for (uint32_t i = 0; i < total; i++)
            all[i] = (hnsw_pair){d[i], ids[i]};
        pairs_sort(all, total);
        hnsw_pair kept[HNSW_M_MAX * 2 + 2];
        uint32_t k = hnsw_heuristic(idx, h, t, sp, all, total, cap, kept);
        for (uint32_t i = 0; i < k; i++)
            atomic_store_explicit(&l[1 + i], kept[i].id, memory_order_relaxed);
        atomic_store_explicit(&l[0], k, memory_order_relaxed);
    }
    hnsw_unlock(lock);
}

/* Inserts row `row`, whose block lies in table t (limit: its capacity). */
static int hnsw_insert(const vindex *idx, hnsw *h, const hnsw_table *t, uint32_t limit, hnsw_ctx *c,
                       uint32_t row, int sp)
{
    uint8_t *blk = hnsw_block(h, t, row);
    uint32_t level = hnsw_random_level(h, row);
    if (h->quant != QUANT_NONE) {
        float s, aux;
        hnsw_encode(idx, h->quant == QUANT_BIN, index_row(idx, row), c->fbuf, blk + h->code_off, &s,
                    &aux);
        if (h->quant == QUANT_SQ8) {
            float *f = (float *)(void *)(blk + h->aux_off);
            f[0] = s;
            f[1] = aux;
        }
    }
    if (level > 0) {
        size_t words = hnsw_upper_words(idx, h, level);
        uint32_t *u = index_calloc(words, sizeof(uint32_t));
        if (!u) return -1;
        u[0] = level;
        if (h->upcodes) hnsw_upcode_fill(idx, h, u, index_row(idx, row), c->fbuf);
        *hnsw_upper_slot(h, t, row) = u;
        atomic_fetch_add(&h->upper_bytes, words * sizeof(uint32_t));
    }
    if (h->cos_dot) *hnsw_norm_slot(h, t, row) = hnsw_inv_norm(h, index_row(idx, row));
    hnsw_q q = hnsw_node_q(idx, h, t, sp, row);
    uint64_t e = hnsw_entry_get(h);
    for (;;) {
        if ((uint32_t)e != HNSW_NONE) break;
        uint64_t mine = ((uint64_t)level << 32) | row;
        if (atomic_compare_exchange_strong_explicit(&h->entry, &e, mine, memory_order_acq_rel,
                                                    memory_order_acquire))
            return 0; /* the first node: nothing to link */
    }
    uint32_t ep = (uint32_t)e, maxl = (uint32_t)(e >> 32);
    float epd;
    hnsw_descend(idx, h, t, limit, c, &q, index_row(idx, row), maxl, level, &ep, &epd);
    hnsw_pair sel[HNSW_M_MAX + 2];
    for (int l = (int)(level < maxl ? level : maxl); l >= 0; l--) {
        if (++c->epoch == 0) {
            memset(c->tags, 0, (size_t)c->tags_cap * 2);
            c->epoch = 1;
        }
        c->tags[row] = c->epoch; /* never a neighbour of itself */
        hnsw_filter f = {0};
        size_t nres = hnsw_search_layer(idx, h, t, limit, c, &q, (uint32_t)l, ep, epd, h->efc, &f);
        if (f.rc) return -1;
        maxheap_sort(c->res, nres);
        uint32_t ns = hnsw_heuristic(idx, h, t, sp, c->res, nres, h->M, sel);
        hnsw_link(idx, h, t, sp, row, (uint32_t)l, sel, ns);
        for (uint32_t i = 0; i < ns; i++) {
            hnsw_pair back = {sel[i].d, row};
            hnsw_link(idx, h, t, sp, sel[i].id, (uint32_t)l, &back, 1);
        }
        if (nres) {
            ep = c->res[0].id;
            epd = c->res[0].d;
        }
    }
    /* Publish a new top node once it is linked everywhere. */
    e = hnsw_entry_get(h);
    while (level > (uint32_t)(e >> 32)) {
        uint64_t mine = ((uint64_t)level << 32) | row;
        if (atomic_compare_exchange_weak_explicit(&h->entry, &e, mine, memory_order_acq_rel,
                                                  memory_order_acquire))
            break;
    }
    return 0;
}

/* ------------------------------------------------------------- capacity */

/* Makes room for nodes [0, rows). Writer only. */
static int hnsw_reserve(hnsw *h, uint32_t rows)
{
    hnsw_table *t = atomic_load_explicit(&h->table, memory_order_relaxed);
    uint32_t have = t ? atomic_load_explicit(&t->nchunks, memory_order_relaxed) : 0;
    uint32_t need = (uint32_t)(((uint64_t)rows + HNSW_CHUNK - 1) >> HNSW_CHUNK_SHIFT);
    if (need <= have) return 0;
    if (!t || need > t->cap) {
        uint32_t cap = t ? t->cap * 2 : 8;
        if (cap < need) cap = need;
        hnsw_table *nt = index_calloc(1, sizeof(*nt) + sizeof(uint8_t *) * cap);
        if (!nt) return -1;
        nt->cap = cap;
        for (uint32_t i = 0; i < have; i++)
            nt->chunks[i] = t->chunks[i];
        atomic_init(&nt->nchunks, have);
        nt->retired = t;
        atomic_store_explicit(&h->table, nt, memory_order_release);
        t = nt;
    }
    for (uint32_t i = have; i < need; i++) {
        uint8_t *ch = index_calloc(1, h->chunk_bytes);
        if (!ch) return -1;
        t->chunks[i] = ch;
        atomic_store_explicit(&t->nchunks, i + 1, memory_order_release);
    }
    return 0;
}

/* ------------------------------------------------------- vtable: writes */

/* Inserts one row in space sp; room for it was reserved. */
static int hnsw_insert_one(vindex *idx, uint32_t row, int sp, char *err, size_t errlen)
{
    hnsw *h = H(idx);
    hnsw_table *t = hnsw_table_get(h);
    uint32_t limit = hnsw_limit(t);
    hnsw_ctx *c = ctx_get(idx, limit, h->efc);
    if (!c) {
        index_err(err, errlen, "out of memory");
        return -1;
    }
    int rc = hnsw_insert(idx, h, t, limit, c, row, sp);
    ctx_put(idx, c);
    if (rc) {
        index_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Inserts one row in space sp and publishes it (count = row + 1). */
static int hnsw_add_sp(vindex *idx, uint32_t row, int sp, char *err, size_t errlen)
{
    if (hnsw_reserve(H(idx), row + 1)) {
        index_err(err, errlen, "out of memory");
        return -1;
    }
    if (hnsw_insert_one(idx, row, sp, err, errlen)) return -1;
    atomic_store_explicit(&idx->count, row + 1, memory_order_release);
    return 0;
}

static int hnsw_reserve_rows(vindex *idx, uint32_t nrows, char *err, size_t errlen)
{
    if (hnsw_reserve(H(idx), nrows)) {
        index_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int hnsw_add_unpublished(vindex *idx, uint32_t row, char *err, size_t errlen)
{
    if (row >= hnsw_limit(hnsw_table_get(H(idx)))) {
        index_err(err, errlen, "row %u was not reserved", row);
        return -1;
    }
    return hnsw_insert_one(idx, row, (int)H(idx)->quant, err, errlen);
}

static int hnsw_add(vindex *idx, uint32_t row, char *err, size_t errlen)
{
    return hnsw_add_sp(idx, row, (int)H(idx)->quant, err, errlen);
}

typedef struct hnsw_worker {
    const vindex *idx;
    int sp;
    hnsw_table *t;
    uint32_t limit, end;
    _Atomic uint32_t *next;
    _Atomic int *failed;
} hnsw_worker;

static void *hnsw_build_run(void *arg)
{
    hnsw_worker *w = arg;
    hnsw *h = H(w->idx);
    hnsw_ctx *c = ctx_get(w->idx, w->limit, h->efc);
    if (!c) {
        atomic_store(w->failed, 1);
        return NULL;
    }
    for (;;) {
        uint32_t r = atomic_fetch_add_explicit(w->next, 1, memory_order_relaxed);
        if (r >= w->end || atomic_load_explicit(w->failed, memory_order_relaxed)) break;
        if (hnsw_insert(w->idx, h, w->t, w->limit, c, r, w->sp)) {
            atomic_store(w->failed, 1);
            break;
        }
    }
    ctx_put(w->idx, c);
    return NULL;
}

/* Adds rows [start, nrows) scoring in space sp, with `threads` threads. */
static int hnsw_build_sp(vindex *idx, uint32_t start, uint32_t nrows, unsigned threads, int sp,
                         char *err, size_t errlen)
{
    /* Small builds and the first rows (graph still tiny) run one by one. */
    hnsw *h = H(idx);
    uint32_t serial_end = start;
    if (threads <= 1 || nrows - start < 4 * threads)
        serial_end = nrows;
    else if (start < 1024)
        serial_end = nrows < 1024 ? nrows : 1024;
    for (uint32_t r = start; r < serial_end; r++)
        if (hnsw_add_sp(idx, r, sp, err, errlen)) return -1;
    if (serial_end == nrows) return 0;
    hnsw_table *t = hnsw_table_get(h);
    _Atomic uint32_t next = serial_end;
    _Atomic int failed = 0;
    hnsw_worker w = {idx, sp, t, hnsw_limit(t), nrows, &next, &failed};
    pthread_t tid[256];
    unsigned started = 0;
    for (unsigned i = 1; i < threads; i++) {
        if (pthread_create(&tid[started], NULL, hnsw_build_run, &w)) break;
        started++;
    }
    hnsw_build_run(&w);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    if (atomic_load(&failed)) {
        /* Some rows past count may be partly linked (still a valid graph for
         * searches); the caller should drop the index. */
        index_err(err, errlen, "out of memory during index build");
        return -1;
    }
    atomic_store_explicit(&idx->count, nrows, memory_order_release);
    return 0;
}

/* Rows a build must add before temporary codes pay for encoding every row. */
#define HNSW_TMP_MIN_ROWS 1024u
/* Smallest dim built on temporary codes: below it a row is a few cache lines
 * anyway, and on 200k x 128 cosine the SQ8 build lost ~0.002 recall@10 at
 * ef 48-64 against an exact build (784-d fashion-mnist: no loss). */
#define HNSW_TMP_MIN_DIM 256u

/* Encodes rows [0, nrows) into h->tmp; false (and no tmp) on failure. */
static bool hnsw_tmp_make(const vindex *idx, hnsw *h, uint32_t nrows)
{
    h->tmp_stride = 8 + (((size_t)idx->dim + 3) & ~(size_t)3);
    h->tmp = index_malloc(h->tmp_stride * nrows);
    float *fbuf = index_malloc(sizeof(float) * idx->dim);
    if (!h->tmp || !fbuf) {
        index_dealloc(h->tmp);
        index_dealloc(fbuf);
        h->tmp = NULL;
        return false;
    }
    for (uint32_t r = 0; r < nrows; r++) {
        uint8_t *p = h->tmp + (size_t)r * h->tmp_stride;
        float *meta = (float *)(void *)p;
        hnsw_encode(idx, false, index_row(idx, r), fbuf, p + 8, &meta[0], &meta[1]);
    }
    index_dealloc(fbuf);
    atomic_fetch_add(&h->pool_bytes, h->tmp_stride * nrows);
    return true;
}

static void hnsw_tmp_free(hnsw *h, uint32_t nrows)
{
    if (!h->tmp) return;
    atomic_fetch_sub(&h->pool_bytes, h->tmp_stride * nrows);
    index_dealloc(h->tmp);
    h->tmp = NULL;
}

static int hnsw_build(vindex *idx, uint32_t nrows, unsigned threads, char *err, size_t errlen)
{
    hnsw *h = H(idx);
    uint32_t start = index_count(idx);
    if (hnsw_reserve(h, nrows)) {
        index_err(err, errlen, "out of memory");
        return -1;
    }
    /* A float index builds on temporary SQ8 codes (upcodes marks the
     * float-like columns); without memory for them it builds exactly. */
    int sp = (int)h->quant;
    if (h->upcodes && idx->dim >= HNSW_TMP_MIN_DIM && nrows - start >= HNSW_TMP_MIN_ROWS &&
        hnsw_tmp_make(idx, h, nrows))
        sp = SP_TMP;
    int rc = hnsw_build_sp(idx, start, nrows, threads, sp, err, errlen);
    hnsw_tmp_free(h, nrows);
    return rc;
}

/* ------------------------------------------------------- vtable: search */

/* Exact distance of a result (re-rank) or the graph's own. */
static bool hnsw_exact_final(const hnsw *h)
{
    return h->quant == QUANT_NONE || h->rerank;
}

/* Exact scan of allowed rows below n into t, in the distance the index
 * reports. */
static void hnsw_scan(const vindex *idx, const hnsw *h, hnsw_ctx *c, const void *query, uint32_t n,
                      const index_search_params *p, index_topk *tk)
{
    if (hnsw_exact_final(h)) {
        index_scan_topk(idx, query, 0, n, p, tk);
        return;
    }
    hnsw_table *t = hnsw_table_get(h);
    hnsw_q q = hnsw_query(idx, h, c, query);
    for (uint32_t r = 0; r < n; r++)
        if (index_allowed(p, r)) index_topk_push(tk, r, hnsw_dist1(idx, h, t, &q, r));
}

static bool hnsw_prefer_scan(const hnsw *h, const index_search_params *p, uint32_t n, size_t ef,
                             uint64_t *allowed)
{
    if (!p->allowed) return false;
    *allowed = index_allowed_count(p, n);
    return (double)*allowed * (double)*allowed / (double)(n ? n : 1) <= (double)ef * h->M0;
}

static long hnsw_search(const vindex *idx, const void *query, size_t k,
                        const index_search_params *p, index_hit *out, char *err, size_t errlen)
{
    hnsw *h = H(idx);
    uint32_t n = index_count(idx);
    size_t ef = p->ef ? p->ef : h->ef;
    if (ef < k) ef = k;
    hnsw_table *t = hnsw_table_get(h);
    uint64_t e = hnsw_entry_get(h);
    if (!t || n == 0 || (uint32_t)e == HNSW_NONE) return 0;
    uint32_t limit = hnsw_limit(t);
    hnsw_ctx *c = ctx_get(idx, limit, ef);
    if (!c) {
        index_err(err, errlen, "out of memory");
        return -1;
    }
    uint64_t allowed = n;
    index_topk tk = {out, 0, k};
    if (hnsw_prefer_scan(h, p, n, ef, &allowed)) {
        hnsw_scan(idx, h, c, query, n, p, &tk);
        ctx_put(idx, c);
        return (long)index_topk_sort(&tk);
    }
    hnsw_q q = hnsw_query(idx, h, c, query);
    uint32_t ep = (uint32_t)e;
    float epd;
    hnsw_descend(idx, h, t, limit, c, &q, query, (uint32_t)(e >> 32), 0, &ep, &epd);
    hnsw_filter f = {.p = p};
    size_t nres = hnsw_search_layer(idx, h, t, limit, c, &q, 0, ep, epd, ef, &f);
    if (f.rc) {
        ctx_put(idx, c);
        index_err(err, errlen, "out of memory");
        return -1;
    }
    if (h->quant != QUANT_NONE && h->rerank) {
        /* Re-rank: exact distances from the column, four rows per call. */
        size_t i = 0;
        for (; i + 4 <= nres; i += 4) {
            float d4[4];
            const hnsw_pair *r = c->res + i;
            idx->dist.four(&idx->dist, query, index_row(idx, r[0].id), index_row(idx, r[1].id),
                           index_row(idx, r[2].id), index_row(idx, r[3].id), d4);
            for (int j = 0; j < 4; j++)
                index_topk_push(&tk, r[j].id, d4[j]);
        }
        for (; i < nres; i++) {
            uint32_t r = c->res[i].id;
            index_topk_push(&tk, r, idx->dist.one(&idx->dist, query, index_row(idx, r)));
        }
    } else {
        for (size_t i = 0; i < nres; i++)
            index_topk_push(&tk, c->res[i].id, c->res[i].d);
    }
    size_t want = k < allowed ? k : (size_t)allowed;
    if (tk.n < want) {
        /* The graph came back short (a filter cut it off): scan exactly. */
        tk.n = 0;
        hnsw_scan(idx, h, c, query, n, p, &tk);
    }
    ctx_put(idx, c);
    return (long)index_topk_sort(&tk);
}

static long hnsw_range_search(const vindex *idx, const void *query, float radius,
                              const index_search_params *p, index_hits *out, char *err,
                              size_t errlen)
{
    hnsw *h = H(idx);
    uint32_t n = index_count(idx);
    size_t ef = p->ef ? p->ef : h->ef;
    hnsw_table *t = hnsw_table_get(h);
    uint64_t e = hnsw_entry_get(h);
    if (!t || n == 0 || (uint32_t)e == HNSW_NONE) return 0;
    size_t before = out->n;
    uint64_t allowed;
    int rc = 0;
    if (hnsw_exact_final(h) && hnsw_prefer_scan(h, p, n, ef, &allowed)) {
        rc = index_scan_range(idx, query, radius, 0, n, p, out);
    } else {
        uint32_t limit = hnsw_limit(t);
        hnsw_ctx *c = ctx_get(idx, limit, ef);
        if (!c) {
            index_err(err, errlen, "out of memory");
            return -1;
        }
        hnsw_q q = hnsw_query(idx, h, c, query);
        uint32_t ep = (uint32_t)e;
        float epd;
        hnsw_descend(idx, h, t, limit, c, &q, query, (uint32_t)(e >> 32), 0, &ep, &epd);
        /* Quantized distances are approximate: widen the radius a little and
         * re-check each hit with the exact distance. */
        bool rerank = h->quant != QUANT_NONE && h->rerank;
        float r2 = radius;
        if (rerank) r2 = radius + 0.05f * fabsf(radius) + 1e-3f;
        index_hits tmp = {0};
        hnsw_filter f = {.p = p, .range = true, .radius = r2, .hits = rerank ? &tmp : out};
        hnsw_search_layer(idx, h, t, limit, c, &q, 0, ep, epd, ef, &f);
        rc = f.rc;
        for (size_t i = 0; rerank && rc == 0 && i < tmp.n; i++) {
            uint32_t r = tmp.v[i].row;
            float d = idx->dist.one(&idx->dist, query, index_row(idx, r));
            if (d <= radius) rc = index_hits_push(out, r, d);
        }
        index_hits_free(&tmp);
        ctx_put(idx, c);
        /* Nodes reached by concurrent inserts may be beyond n: drop them. */
        size_t w = before;
        for (size_t i = before; i < out->n; i++)
            if (out->v[i].row < n) out->v[w++] = out->v[i];
        out->n = w;
    }
    if (rc) {
        index_err(err, errlen, "out of memory");
        return -1;
    }
    index_hits_sort(out->v + before, out->n - before);
    if (p->max_hits && out->n - before > p->max_hits) out->n = before + p->max_hits;
    return (long)(out->n - before);
}

/* ------------------------------------------------------ vtable: lifecycle */

/* Computes the block layout from the parameters. */
static void hnsw_layout(const vindex *idx, hnsw *h)
{
    h->M0 = 2 * h->M;
    h->ml = 1.0 / log((double)h->M);
    size_t off = (HNSW_HDR + (size_t)h->M0) * 4;
    h->aux_off = off;
    if (h->quant == QUANT_SQ8) off += 8;
    h->code_off = off;
    h->code_bytes = h->quant == QUANT_SQ8   ? idx->dim
                    : h->quant == QUANT_BIN ? (idx->dim + 7) / 8
                                            : 0;
    off += (h->code_bytes + 3) & ~(size_t)3;
    h->block_bytes = off;
    size_t vbytes = h->quant == QUANT_NONE ? idx->row_bytes : h->code_bytes;
    size_t lines = (vbytes + 63) / 64;
    /* Rows of up to 8 lines (128-d f32) are prefetched whole. */
    size_t cap = h->quant == QUANT_NONE && lines > 8 ? HNSW_PREFETCH_LINES : 32;
    h->prefetch_lines = lines < cap ? lines : cap;
    h->upcodes =
        h->quant == QUANT_NONE && (idx->elem == INDEX_ELEM_F32 || idx->elem == INDEX_ELEM_F16 ||
                                   idx->elem == INDEX_ELEM_BF16);
    h->cos_dot = h->quant == QUANT_NONE && idx->metric == INDEX_METRIC_COSINE &&
                 (idx->elem == INDEX_ELEM_F32 || idx->elem == INDEX_ELEM_F16 ||
                  idx->elem == INDEX_ELEM_BF16);
    if (h->cos_dot) index_dist_init(&h->ipd, idx->elem, INDEX_METRIC_IP, idx->dim, NULL, 0);
    h->chunk_bytes = (size_t)HNSW_CHUNK *
                     (h->block_bytes + sizeof(uint32_t *) + (h->cos_dot ? sizeof(float) : 0));
}

static int hnsw_check_quant(const vindex *idx, hnsw_quant qt, char *err, size_t errlen)
{
    if (qt == QUANT_NONE) return 0;
    if (idx->elem != INDEX_ELEM_F32 && idx->elem != INDEX_ELEM_F16 &&
        idx->elem != INDEX_ELEM_BF16) {
        index_err(err, errlen, "QUANT %s needs a F32, F16 or BF16 vector field", quant_names[qt]);
        return -1;
    }
    return 0;
}

static int hnsw_init(vindex *idx, const index_param *params, size_t nparams, char *err,
                     size_t errlen)
{
    uint64_t M = 16, efc = 200, ef = 64, rerank = 1, seed = 0x5eed;
    hnsw_quant qt = QUANT_NONE;
    for (size_t i = 0; i < nparams; i++) {
        const char *nm = params[i].name, *v = params[i].value;
        if (!strcasecmp(nm, "M")) {
            if (index_param_u64(v, 2, HNSW_M_MAX, &M)) {
                index_err(err, errlen, "M must be an integer between 2 and %u", HNSW_M_MAX);
                return -1;
            }
        } else if (!strcasecmp(nm, "EFC") || !strcasecmp(nm, "EF_CONSTRUCTION") ||
                   !strcasecmp(nm, "EFCONSTRUCTION")) {
            if (index_param_u64(v, 1, HNSW_EF_MAX, &efc)) {
                index_err(err, errlen, "EFC must be an integer between 1 and %u", HNSW_EF_MAX);
                return -1;
            }
        } else if (!strcasecmp(nm, "EF")) {
            if (index_param_u64(v, 1, HNSW_EF_MAX, &ef)) {
                index_err(err, errlen, "EF must be an integer between 1 and %u", HNSW_EF_MAX);
                return -1;
            }
        } else if (!strcasecmp(nm, "RERANK")) {
            if (index_param_u64(v, 0, 1, &rerank)) {
                index_err(err, errlen, "RERANK must be 0 or 1");
                return -1;
            }
        } else if (!strcasecmp(nm, "SEED")) {
            if (index_param_u64(v, 0, UINT64_MAX, &seed)) {
                index_err(err, errlen, "SEED must be an unsigned 64-bit integer");
                return -1;
            }
        } else if (!strcasecmp(nm, "QUANT")) {
            if (!strcasecmp(v, "NONE") || !strcasecmp(v, "NOQUANT"))
                qt = QUANT_NONE;
            else if (!strcasecmp(v, "SQ8") || !strcasecmp(v, "Q8"))
                qt = QUANT_SQ8;
            else if (!strcasecmp(v, "BIN"))
                qt = QUANT_BIN;
            else {
                index_err(err, errlen, "QUANT must be NONE, SQ8 or BIN");
                return -1;
            }
        } else {
            index_err(err, errlen, "unknown HNSW parameter '%.64s'", nm);
            return -1;
        }
    }
    if (hnsw_check_quant(idx, qt, err, errlen)) return -1;
    hnsw *h = index_calloc(1, sizeof(*h));
    if (!h) {
        index_err(err, errlen, "out of memory");
        return -1;
    }
    h->M = (uint32_t)M;
    h->efc = (uint32_t)efc;
    h->ef = (uint32_t)ef;
    h->quant = qt;
    h->rerank = rerank != 0;
    h->seed = seed;
    hnsw_layout(idx, h);
    atomic_init(&h->table, NULL);
    atomic_init(&h->entry, HNSW_NONE);
    atomic_init(&h->upper_bytes, 0);
    atomic_init(&h->pool_bytes, 0);
    pthread_mutex_init(&h->pool_lock, NULL);
    idx->impl = h;
    return 0;
}

static void hnsw_destroy(vindex *idx)
{
    hnsw *h = H(idx);
    if (!h) return;
    hnsw_table *t = atomic_load(&h->table);
    if (t) {
        uint32_t nch = atomic_load(&t->nchunks);
        for (uint32_t i = 0; i < nch; i++) {
            uint32_t **up =
                (uint32_t **)(void *)(t->chunks[i] + (size_t)HNSW_CHUNK * h->block_bytes);
            for (uint32_t j = 0; j < HNSW_CHUNK; j++)
                index_dealloc(up[j]);
            index_dealloc(t->chunks[i]);
        }
    }
    while (t) {
        hnsw_table *old = t->retired;
        index_dealloc(t);
        t = old;
    }
    while (h->pool) {
        hnsw_ctx *c = h->pool;
        h->pool = c->next;
        ctx_free(c);
    }
    pthread_mutex_destroy(&h->pool_lock);
    index_dealloc(h);
}

static void hnsw_describe(const vindex *idx, char *buf, size_t buflen)
{
    const hnsw *h = H(idx);
    snprintf(buf, buflen, "M=%u EFC=%u EF=%u QUANT=%s RERANK=%d SEED=%llu", h->M, h->efc, h->ef,
             quant_names[h->quant], h->rerank ? 1 : 0, (unsigned long long)h->seed);
}

static size_t hnsw_memory(const vindex *idx)
{
    hnsw *h = H(idx);
    size_t b = sizeof(*h);
    for (hnsw_table *t = hnsw_table_get(h); t; t = t->retired)
        b += sizeof(*t) + sizeof(uint8_t *) * t->cap;
    hnsw_table *t = hnsw_table_get(h);
    if (t) b += (size_t)atomic_load(&t->nchunks) * h->chunk_bytes;
    b += atomic_load(&h->upper_bytes) + atomic_load(&h->pool_bytes);
    return b;
}

/* ------------------------------------------------------- vtable: validate */

/* Re-encodes row r from the column; -1 when the stored codes differ. */
static int hnsw_check_codes(const vindex *idx, const hnsw *h, const hnsw_table *t, uint32_t r)
{
    uint8_t *codes = index_malloc(idx->dim + 8);
    float *fb = index_malloc(sizeof(float) * idx->dim);
    int bad = 0;
    float s, aux;
    if (!codes || !fb) goto out; /* cannot check without memory; not a violation */
    if (h->upcodes) {
        if (hnsw_node_level(h, t, r) > 0) {
            const float *meta = hnsw_upcode_meta(h, t, r);
            hnsw_encode(idx, false, index_row(idx, r), fb, codes, &s, &aux);
            bad = memcmp(codes, meta + 2, idx->dim) || s != meta[0] || aux != meta[1];
        }
    } else {
        float s0 = 0, aux0 = 0;
        hnsw_encode(idx, h->quant == QUANT_BIN, index_row(idx, r), fb, codes, &s, &aux);
        if (h->quant == QUANT_SQ8) hnsw_sq8_meta(h, t, SP_SQ8, r, &s0, &aux0);
        bad = memcmp(codes, hnsw_block(h, t, r) + h->code_off, h->code_bytes) ||
              (h->quant == QUANT_SQ8 && (s != s0 || aux != aux0));
    }
out:
    index_dealloc(codes);
    index_dealloc(fb);
    return bad ? -1 : 0;
}

static int hnsw_validate(const vindex *idx, char *err, size_t errlen)
{
    const hnsw *h = H(idx);
    uint32_t n = index_count(idx);
    hnsw_table *t = hnsw_table_get(h);
    uint64_t e = hnsw_entry_get(h);
    uint32_t ep = (uint32_t)e, maxl = (uint32_t)(e >> 32);
    if (n == 0) {
        if (ep != HNSW_NONE) {
            index_err(err, errlen, "HNSW: empty index has an entry point");
            return -1;
        }
        return 0;
    }
    if (!t || hnsw_limit(t) < n) {
        index_err(err, errlen, "HNSW: %u rows but room for %u", n, t ? hnsw_limit(t) : 0);
        return -1;
    }
    if (ep >= n) {
        index_err(err, errlen, "HNSW: entry point %u out of range (%u rows)", ep, n);
        return -1;
    }
    uint32_t top = 0;
    uint32_t nb[2 * HNSW_M_MAX];
    uint32_t sample = n / 64 + 1;
    for (uint32_t r = 0; r < n; r++) {
        uint32_t lv = hnsw_node_level(h, t, r);
        if (lv > HNSW_MAX_LEVEL || lv != hnsw_random_level(h, r)) {
            index_err(err, errlen, "HNSW: row %u has level %u, expected %u", r, lv,
                      hnsw_random_level(h, r));
            return -1;
        }
        if (lv > top) top = lv;
        if (atomic_load(hnsw_words(h, t, r)) & 1) {
            index_err(err, errlen, "HNSW: row %u is locked", r);
            return -1;
        }
        for (uint32_t l = 0; l <= lv; l++) {
            uint32_t cnt = atomic_load(hnsw_list(h, t, r, l));
            if (cnt > hnsw_cap(h, l)) {
                index_err(err, errlen, "HNSW: row %u level %u has %u links (max %u)", r, l, cnt,
                          hnsw_cap(h, l));
                return -1;
            }
            uint32_t m = hnsw_read_list(h, t, r, l, nb);
            if (n > 1 && m == 0 && l == 0) {
                index_err(err, errlen, "HNSW: row %u has no level-0 links", r);
                return -1;
            }
            for (uint32_t i = 0; i < m; i++) {
                uint32_t x = nb[i];
                if (x >= n) {
                    index_err(err, errlen, "HNSW: row %u level %u links to %u (only %u rows)", r, l,
                              x, n);
                    return -1;
                }
                if (x == r) {
                    index_err(err, errlen, "HNSW: row %u links to itself at level %u", r, l);
                    return -1;
                }
                for (uint32_t j = 0; j < i; j++)
                    if (nb[j] == x) {
                        index_err(err, errlen, "HNSW: row %u level %u links twice to %u", r, l, x);
                        return -1;
                    }
                if (hnsw_node_level(h, t, x) < l) {
                    index_err(err, errlen, "HNSW: row %u level %u links to %u of level %u", r, l, x,
                              hnsw_node_level(h, t, x));
                    return -1;
                }
            }
        }
        if (h->cos_dot && r % sample == 0 &&
            *hnsw_norm_slot(h, t, r) != hnsw_inv_norm(h, index_row(idx, r))) {
            index_err(err, errlen, "HNSW: stored norm of row %u does not match the column", r);
            return -1;
        }
        if ((h->quant != QUANT_NONE || h->upcodes) && r % sample == 0 &&
            hnsw_check_codes(idx, h, t, r)) {
            index_err(err, errlen, "HNSW: codes of row %u do not match the column", r);
            return -1;
        }
    }
    if (top != maxl || hnsw_node_level(h, t, ep) != maxl) {
        index_err(err, errlen, "HNSW: entry point %u at level %u, top level is %u", ep, maxl, top);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------ vtable: save/load */

/*
 * Sections after HEAD:
 *   HNSP  M u32, efc u32, ef u32, quant u32, rerank u32, seed u64,
 *         entry id u32, entry level u32
 *   HNSN  (one per HNSW_SAVE_ROWS = 1024 rows, in order) first row u32, rows u32, then per
 *         row: level u8; for l = 0..level: count u32, count ids u32.
 * The SQ8 / BIN codes (and SQ8 scale and aux) are not saved: they are a
 * function of the row's vector (hnsw_encode), so load recomputes them from
 * the column -- about a millisecond per thousand 128-d rows, against a
 * third of the stream's bytes (stream format 2; format 1 saved them).
 */
#define TAG_PARAMS INDEX_TAG('H', 'N', 'S', 'P')
#define TAG_NODES  INDEX_TAG('H', 'N', 'S', 'N')
/* Rows per node section: part of the format, independent of HNSW_CHUNK. */
#define HNSW_SAVE_ROWS 1024u

static int hnsw_save(const vindex *idx, index_writer *w, char *err, size_t errlen)
{
    const hnsw *h = H(idx);
    uint32_t n = index_count(idx);
    hnsw_table *t = hnsw_table_get(h);
    uint64_t e = hnsw_entry_get(h);
    index_w_begin(w);
    index_w_u32(w, h->M);
    index_w_u32(w, h->efc);
    index_w_u32(w, h->ef);
    index_w_u32(w, h->quant);
    index_w_u32(w, h->rerank);
    index_w_u64(w, h->seed);
    index_w_u32(w, (uint32_t)e);
    index_w_u32(w, (uint32_t)(e >> 32));
    if (index_w_end(w, TAG_PARAMS, err, errlen)) return -1;
    uint32_t nb[2 * HNSW_M_MAX];
    for (uint32_t base = 0; base < n; base += HNSW_SAVE_ROWS) {
        uint32_t rows = n - base < HNSW_SAVE_ROWS ? n - base : HNSW_SAVE_ROWS;
        index_w_begin(w);
        index_w_u32(w, base);
        index_w_u32(w, rows);
        for (uint32_t r = base; r < base + rows; r++) {
            uint32_t lv = hnsw_node_level(h, t, r);
            index_w_u8(w, (uint8_t)lv);
            for (uint32_t l = 0; l <= lv; l++) {
                uint32_t m = hnsw_read_list(h, t, r, l, nb);
                index_w_u32(w, m);
                for (uint32_t i = 0; i < m; i++)
                    index_w_u32(w, nb[i]);
            }
        }
        if (index_w_end(w, TAG_NODES, err, errlen)) return -1;
    }
    return 0;
}

static int hnsw_load_nodes(vindex *idx, index_reader *r, uint32_t count, float **fbufp, char *err,
                           size_t errlen)
{
    float *fbuf = NULL;
    hnsw *h = H(idx);
    if (index_r_section(r, TAG_PARAMS, 64, err, errlen)) return -1;
    uint32_t M = index_r_u32(r), efc = index_r_u32(r), ef = index_r_u32(r);
    uint32_t qt = index_r_u32(r), rerank = index_r_u32(r);
    uint64_t seed = index_r_u64(r);
    uint32_t ep = index_r_u32(r), maxl = index_r_u32(r);
    if (index_r_done(r, "HNSP", err, errlen)) return -1;
    if (M < 2 || M > HNSW_M_MAX || efc < 1 || efc > HNSW_EF_MAX || ef < 1 || ef > HNSW_EF_MAX ||
        qt > QUANT_BIN || rerank > 1 || maxl > HNSW_MAX_LEVEL ||
        (count == 0) != (ep == HNSW_NONE) || (count && ep >= count)) {
        index_err(err, errlen, "index stream corrupt: bad HNSW parameters");
        return -1;
    }
    if (hnsw_check_quant(idx, (hnsw_quant)qt, err, errlen)) return -1;
    h->M = M;
    h->efc = efc;
    h->ef = ef;
    h->quant = (hnsw_quant)qt;
    h->rerank = rerank != 0;
    h->seed = seed;
    hnsw_layout(idx, h);
    size_t per_node = 1 + 4 + 4 * (size_t)h->M0 + HNSW_MAX_LEVEL * (4 + 4 * (size_t)M);
    for (uint32_t base = 0; base < count; base += HNSW_SAVE_ROWS) {
        uint32_t rows = count - base < HNSW_SAVE_ROWS ? count - base : HNSW_SAVE_ROWS;
        if (index_r_section(r, TAG_NODES, 8 + per_node * rows, err, errlen)) return -1;
        if (index_r_u32(r) != base || index_r_u32(r) != rows) {
            index_err(err, errlen, "index stream corrupt: HNSW node section out of order");
            return -1;
        }
        if (hnsw_reserve(h, base + rows)) {
            index_err(err, errlen, "out of memory");
            return -1;
        }
        hnsw_table *t = hnsw_table_get(h);
        for (uint32_t row = base; row < base + rows; row++) {
            uint32_t lv = index_r_u8(r);
            if (lv > HNSW_MAX_LEVEL) {
                index_err(err, errlen, "index stream corrupt: row %u has level %u", row, lv);
                return -1;
            }
            if (lv) {
                size_t words = hnsw_upper_words(idx, h, lv);
                uint32_t *u = index_calloc(words, sizeof(uint32_t));
                if (!u || (h->upcodes && !fbuf && !(fbuf = index_malloc(4 * idx->dim)))) {
                    index_dealloc(u);
                    index_err(err, errlen, "out of memory");
                    return -1;
                }
                u[0] = lv;
                /* The SQ8 copies are derived data: rebuilt from the column. */
                *fbufp = fbuf;
                if (h->upcodes) hnsw_upcode_fill(idx, h, u, index_row(idx, row), fbuf);
                *hnsw_upper_slot(h, t, row) = u;
                atomic_fetch_add(&h->upper_bytes, words * sizeof(uint32_t));
            }
            for (uint32_t l = 0; l <= lv; l++) {
                uint32_t m = index_r_u32(r);
                if (m > hnsw_cap(h, l)) {
                    index_err(err, errlen, "index stream corrupt: row %u has %u links", row, m);
                    return -1;
                }
                _Atomic uint32_t *lst = hnsw_list(h, t, row, l);
                for (uint32_t i = 0; i < m; i++)
                    atomic_store_explicit(&lst[1 + i], index_r_u32(r), memory_order_relaxed);
                atomic_store_explicit(&lst[0], m, memory_order_relaxed);
            }
            uint8_t *blk = hnsw_block(h, t, row);
            if (h->cos_dot) *hnsw_norm_slot(h, t, row) = hnsw_inv_norm(h, index_row(idx, row));
            if (h->quant != QUANT_NONE) {
                if (!fbuf && !(fbuf = index_malloc(4 * idx->dim))) {
                    index_err(err, errlen, "out of memory");
                    return -1;
                }
                *fbufp = fbuf;
                float sc, aux;
                hnsw_encode(idx, h->quant == QUANT_BIN, index_row(idx, row), fbuf,
                            blk + h->code_off, &sc, &aux);
                if (h->quant == QUANT_SQ8) {
                    float *f = (float *)(void *)(blk + h->aux_off);
                    f[0] = sc;
                    f[1] = aux;
                }
            }
        }
        if (index_r_done(r, "HNSN", err, errlen)) return -1;
    }
    atomic_store(&h->entry, ep == HNSW_NONE ? (uint64_t)HNSW_NONE : ((uint64_t)maxl << 32) | ep);
    atomic_store_explicit(&idx->count, count, memory_order_release);
    return 0;
}

static int hnsw_load(vindex *idx, index_reader *r, uint32_t count, char *err, size_t errlen)
{
    float *fbuf = NULL;
    int rc = hnsw_load_nodes(idx, r, count, &fbuf, err, errlen);
    index_dealloc(fbuf);
    return rc;
}

/* ------------------------------------------------- graph introspection */

static int hnsw_graph_max_level(const vindex *idx)
{
    uint64_t e = hnsw_entry_get(H(idx));
    return (uint32_t)e == HNSW_NONE ? -1 : (int)(e >> 32);
}

static int hnsw_graph_node_level(const vindex *idx, uint32_t row)
{
    const hnsw *h = H(idx);
    return (int)hnsw_node_level(h, hnsw_table_get(h), row);
}

static long hnsw_graph_links(const vindex *idx, uint32_t row, uint32_t level, uint32_t *out,
                             size_t cap)
{
    const hnsw *h = H(idx);
    const hnsw_table *t = hnsw_table_get(h);
    if (level > hnsw_node_level(h, t, row)) return 0;
    uint32_t *buf = index_malloc(sizeof(uint32_t) * (hnsw_cap(h, level) + 1));
    if (!buf) return -1;
    uint32_t n = hnsw_read_list(h, t, row, level, buf);
    if (n > cap) n = (uint32_t)cap;
    memcpy(out, buf, sizeof(uint32_t) * n);
    index_dealloc(buf);
    return n;
}

const index_ops index_hnsw_ops = {
    .name = "HNSW",
    .init = hnsw_init,
    .destroy = hnsw_destroy,
    .describe = hnsw_describe,
    .add = hnsw_add,
    .build = hnsw_build,
    .reserve = hnsw_reserve_rows,
    .add_unpublished = hnsw_add_unpublished,
    .search = hnsw_search,
    .range_search = hnsw_range_search,
    .memory = hnsw_memory,
    .validate = hnsw_validate,
    .save = hnsw_save,
    .load = hnsw_load,
    .graph_max_level = hnsw_graph_max_level,
    .graph_node_level = hnsw_graph_node_level,
    .graph_links = hnsw_graph_links,
};
