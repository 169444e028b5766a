/*
 * index.h -- one interface for every vector index (FLAT, HNSW, later IVF_*,
 * sparse, on-disk).
 *
 * An index indexes rows 0..n-1 of ONE vector column that the caller owns and
 * stores once; the index reads row i through an index_column (below) and
 * never copies the float vectors (quantized variants keep their own codes).
 * It knows nothing of collections, keys, MVCC or sockets: the engine turns
 * filters and visibility into an allowed-row bitset and merges per-segment
 * results.
 *
 * Distances (smaller is closer, for every metric):
 *   L2       squared Euclidean distance                    (>= 0)
 *   IP       NEGATIVE inner product, -a.b                  (any sign)
 *   COSINE   cosine distance 1 - a.b / (|a| |b|)           (0..2; 1 for a zero vector)
 *   HAMMING  number of differing bits (binary only)        (>= 0, integral)
 *   JACCARD  1 - |a & b| / |a | b| (binary only; 0 when both are empty)
 * The command layer converts to the user-facing score (Milvus IP and COSINE
 * similarity are 1 - dist and -dist; the vector-set score is its own formula).
 * Results are sorted by (distance, row) ascending, so equal inputs give equal
 * outputs.
 *
 * Element types and dims: for BINARY, `dim` counts BITS and must be a multiple
 * of 8 (a row is dim / 8 bytes); for the others it counts elements. HAMMING
 * and JACCARD need BINARY; L2, IP and COSINE need a non-binary type.
 *
 * Lifecycle and threading
 *   - index_new() validates the parameters (name/value strings, as the server
 *     receives them in `INDEX HNSW M 16 EFC 200`) and returns an empty index.
 *   - Writes (index_add, index_build) come from one thread at a time; the
 *     caller serialises them. index_build may itself use several threads.
 *   - Searches (index_search, index_range_search) may run on any number of
 *     threads, concurrently with each other AND with one writer: a search
 *     sees every row whose index_add/index_build returned before the search
 *     started, and may or may not see rows being added meanwhile (use the
 *     allowed bitset to pin an exact snapshot).
 *   - index_save may run concurrently with searches but not with a writer.
 *   - index_free() must not race with anything.
 *   - simd_init() must have been called before any index function.
 *
 * Errors: functions that can fail take `char *err, size_t errlen` and write a
 * one-line message without CR/LF, ready to send as `-ERR <msg>` (e.g.
 * "M must be an integer between 2 and 4096"). err may be NULL.
 *
 * Memory: every allocation goes through the hooks of index_set_allocator()
 * (default libc), so the server can account it; index_memory() reports the
 * bytes an index owns (not the caller's column).
 */
#ifndef VECTIS_INDEX_H
#define VECTIS_INDEX_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ basic types */

typedef enum index_elem {
    INDEX_ELEM_F32 = 0,
    INDEX_ELEM_F16 = 1,  /* IEEE binary16 in uint16_t */
    INDEX_ELEM_BF16 = 2, /* bfloat16 in uint16_t */
    INDEX_ELEM_I8 = 3,
    INDEX_ELEM_BINARY = 4, /* packed bits, bit i of the vector = byte i/8, bit i%8 (LSB first) */
} index_elem;

typedef enum index_metric {
    INDEX_METRIC_L2 = 0,
    INDEX_METRIC_IP = 1,
    INDEX_METRIC_COSINE = 2,
    INDEX_METRIC_HAMMING = 3,
    INDEX_METRIC_JACCARD = 4,
} index_metric;

/* Largest number of rows one index holds (row ids are 32-bit; the top value
 * is reserved as "no row"). */
#define INDEX_MAX_ROWS 0xfffffffeu
/* Largest dim accepted (elements; bits for BINARY). Keeps int8 sums exact. */
#define INDEX_MAX_DIM 65536u
/* Largest k accepted by index_search (results are held in memory at once). */
#define INDEX_MAX_K 1000000u

/* "F32", "F16", "BF16", "INT8", "BINARY" / "L2", "IP", "COSINE", ... and the
 * reverse (case-insensitive; -1 when unknown). */
const char *index_elem_name(index_elem e);
const char *index_metric_name(index_metric m);
int index_elem_parse(const char *s);
int index_metric_parse(const char *s);

/* Bytes of one row of `dim` elements of type e (dim / 8 for BINARY). */
size_t index_elem_row_bytes(index_elem e, uint32_t dim);

/* ------------------------------------------------------------ the column */

/*
 * The caller's vector column: row i lives at
 *     chunks[i >> chunk_shift] + (i & ((1 << chunk_shift) - 1)) * stride
 * A contiguous array is `chunks = NULL, base = ptr` (the index then treats it
 * as one chunk). A growing segment appends chunks of 2^chunk_shift rows.
 *
 * Why base pointer + stride and not a callback: HNSW computes ~1,000
 * distances per query in batches of four; a callback per row costs an
 * indirect call and defeats prefetching, while this costs one shift, one
 * load (the chunk table stays in L1) and one multiply-add, inlined.
 *
 * Contract (caller): the table `chunks` points to stays at the same address
 * for the life of the index (allocate it once with room for every chunk the
 * segment may ever have, e.g. segment-max-rows >> chunk_shift entries);
 * chunks[c] is set, and row i written, before row i is passed to index_add or
 * index_build; rows already indexed never change. The index copies this
 * struct at index_new and index_load.
 */
typedef struct index_column {
    const uint8_t *const *chunks; /* chunk table, or NULL for one contiguous array */
    const uint8_t *base;          /* the contiguous array when chunks == NULL */
    uint32_t chunk_shift;         /* rows per chunk = 1 << chunk_shift; <= 32; ignored if !chunks */
    size_t stride;                /* bytes from row i to row i+1 in a chunk (>= row bytes) */
} index_column;

/* Address of row `row` (the index's hot path uses the same arithmetic). */
static inline const void *index_column_row(const index_column *c, uint32_t row)
{
    uint64_t r = row;
    if (!c->chunks) return c->base + r * c->stride;
    return c->chunks[r >> c->chunk_shift] + (r & ((UINT64_C(1) << c->chunk_shift) - 1)) * c->stride;
}

/* -------------------------------------------------------------- creation */

/* The index type is `vindex` (plain `index` would clash with index(3) from
 * <strings.h>). Opaque. */
typedef struct vindex vindex;

/* One creation parameter, e.g. {"M", "16"}. Names are case-insensitive. */
typedef struct index_param {
    const char *name;
    const char *value;
} index_param;

/*
 * Index types known to the registry, by name (case-insensitive):
 *
 * "FLAT"  exact scan, no parameters. Uses no memory per row. Also the oracle
 *         of every recall test.
 *
 * "HNSW"  hierarchical navigable small-world graph.
 *           M       links per node on upper levels, 2..4096 (level 0 keeps
 *                   2*M); default 16
 *           EFC     efConstruction, candidate list size when inserting,
 *                   1..65535; default 200
 *           EF      default search ef (a query's own ef wins), 1..65535;
 *                   default 64
 *           QUANT   NONE (search the column's vectors), SQ8 (alias Q8: int8
 *                   codes with a per-vector scale, code = round(x / max|x| *
 *                   127), F32/F16/BF16 columns with L2/IP/COSINE), BIN (one
 *                   sign bit per dimension, Hamming, F32/F16/BF16 columns);
 *                   default NONE
 *           RERANK  for SQ8/BIN: 1 re-scores the final candidates with the
 *                   column's vectors (exact distances), 0 returns the
 *                   approximate distances; default 1
 *           SEED    64-bit level-generation seed (a single-thread build with
 *                   the same seed and rows is identical); default 0x5eed
 *         BIN reports Hamming distances between sign codes when RERANK=0.
 *
 * Aliases: "HNSW_SQ8" = HNSW QUANT SQ8, "HNSW_BIN" = HNSW QUANT BIN.
 */

/* Creates an empty index of type `type` over `col`. Returns NULL and a
 * message in err on unknown type, bad dim / elem / metric combination, or a
 * bad / unknown / repeated parameter ("M must be an integer between 2 and
 * 4096", "unknown HNSW parameter 'FOO'"). The index does not own col's
 * memory. */
vindex *index_new(const char *type, index_elem elem, index_metric metric, uint32_t dim,
                  const index_column *col, const index_param *params, size_t nparams, char *err,
                  size_t errlen);

/* Frees everything the index owns. index_free(NULL) is a no-op. */
void index_free(vindex *idx);

/* Registry: number of types, and the name of type i (0 <= i < count), for
 * HELP / error messages. */
size_t index_type_count(void);
const char *index_type_name(size_t i);

/* The canonical type name of idx ("FLAT", "HNSW"), its element type,
 * metric, dim, and the rows indexed so far (rows 0..count-1). */
const char *index_type(const vindex *idx);
index_elem index_elem_type(const vindex *idx);
index_metric index_metric_type(const vindex *idx);
uint32_t index_dim(const vindex *idx);
uint32_t index_count(const vindex *idx);

/* Writes "M=16 EFC=200 ..." (the effective parameters) into buf. */
void index_describe(const vindex *idx, char *buf, size_t buflen);

/* ----------------------------------------------------------------- writes */

/* Indexes row `row`, which must equal index_count(idx) (rows are added in
 * order, exactly once). Returns 0, or -1 with a message. */
int index_add(vindex *idx, uint32_t row, char *err, size_t errlen);

/* Indexes rows index_count(idx) .. nrows-1 with `threads` threads (0 or 1:
 * the calling thread only). With one thread the result is deterministic (the
 * same rows, parameters and seed give the same index); it need not equal
 * adding the rows one by one (a large HNSW build scores with temporary SQ8
 * codes, see hnsw.c). Returns 0, or -1 with a message; after a failed build
 * (out of memory) the index stays searchable but must not be written to
 * again: free it and rebuild. */
int index_build(vindex *idx, uint32_t nrows, unsigned threads, char *err, size_t errlen);

/* Parallel adds with the caller's own threads (a server's index pool, where
 * index_build would start threads of its own):
 *   1. the writer calls index_parallel_begin(idx, nrows): room for rows
 *      index_count(idx) .. nrows-1;
 *   2. any number of threads call index_parallel_add(idx, row) for distinct
 *      rows of that range, in any order; searches may run meanwhile and may
 *      reach those rows (use the allowed bitset to hide them);
 *   3. after every add returned, the writer calls index_parallel_end(idx,
 *      nrows), which publishes them all (index_count becomes nrows).
 * Only for types where index_can_add_parallel() is true, and only once the
 * index holds INDEX_PARALLEL_MIN rows (a tiny graph built in parallel links
 * poorly). The range counts as one write: no index_add, index_build or
 * index_save until step 3. After a failed add the index stays searchable but
 * must not be written to again (as after a failed index_build). */
#define INDEX_PARALLEL_MIN 1024u
int index_can_add_parallel(const vindex *idx);
int index_parallel_begin(vindex *idx, uint32_t nrows, char *err, size_t errlen);
int index_parallel_add(vindex *idx, uint32_t row, char *err, size_t errlen);
void index_parallel_end(vindex *idx, uint32_t nrows);

/* ---------------------------------------------------------------- search */

typedef struct index_hit {
    uint32_t row;
    float dist;
} index_hit;

/* Per-query parameters; zero-initialise and set what you need
 * (`index_search_params p = {0};` means: defaults, no filter). */
typedef struct index_search_params {
    uint32_t ef;      /* HNSW candidate list size; 0 = the index's EF; raised to k */
    uint32_t nprobe;  /* IVF lists to probe (later); 0 = the index's default */
    unsigned threads; /* FLAT: threads scanning row ranges; 0 or 1 = calling thread */
    /* Allowed rows: bit (row % 64) of allowed[row / 64]. Rows >= allowed_nbits
     * are NOT allowed. NULL = every row allowed. Disallowed rows may be
     * traversed by a graph search but are never returned. */
    const uint64_t *allowed;
    uint64_t allowed_nbits;
    /* Optional: the number of allowed rows below allowed_nbits, when the
     * caller knows it (it built the bitset); 0 = the index counts them. */
    uint64_t allowed_count;
    /* Range search only: stop after this many hits (0 = no limit). */
    size_t max_hits;
} index_search_params;

/* Top-k search: writes up to k hits to out (sorted by distance, then row) and
 * returns how many (fewer than k only when fewer rows are allowed/indexed),
 * or -1 with a message (k > INDEX_MAX_K, allocation failure). `query` has
 * the index's element type and dim. p may be NULL (defaults). */
long index_search(const vindex *idx, const void *query, size_t k, const index_search_params *p,
                  index_hit *out, char *err, size_t errlen);

/* Growable hit list for range search. Zero-initialise; free with
 * index_hits_free (memory from the index allocator). */
typedef struct index_hits {
    index_hit *v;
    size_t n, cap;
} index_hits;

void index_hits_free(index_hits *h);

/* Range search: appends to out every allowed row with dist <= radius
 * (exact for FLAT, approximate for graph indexes), sorted by distance then
 * row, at most p->max_hits when set. Returns the number of hits appended, or
 * -1 with a message. */
long index_range_search(const vindex *idx, const void *query, float radius,
                        const index_search_params *p, index_hits *out, char *err, size_t errlen);

/* ------------------------------------------------------- memory, checking */

/* Bytes the index owns (links, codes, norms, scratch pools), not the column. */
size_t index_memory(const vindex *idx);

/* Checks every structural invariant (link targets < count, no self links, no
 * duplicate links, list sizes within bounds, levels consistent, entry point
 * valid, codes consistent with the column where cheap). Returns 0, or -1
 * with a message naming the first violation. Must not race with a writer. */
int index_validate(const vindex *idx, char *err, size_t errlen);

/* --------------------------------------------------- graph introspection */

/* For graph indexes (HNSW), what VLINKS and VINFO show: the top level of
 * the graph (-1 when empty), the level of an indexed row, and a copy of the
 * row's links on one level (returns how many, at most cap; 0 above the
 * row's level). Rows must be < index_count(idx). Safe while a writer adds
 * rows (a list is read consistently). Types without a graph return -1. */
int index_graph_max_level(const vindex *idx);
int index_graph_node_level(const vindex *idx, uint32_t row);
long index_graph_links(const vindex *idx, uint32_t row, uint32_t level, uint32_t *out,
                       size_t cap);

/* ------------------------------------------------------ save / load */

/* Stream callbacks: write must take all len bytes, read must fill all len
 * bytes; both return 0 on success and -1 on failure / end of stream. */
typedef int (*index_write_fn)(void *ctx, const void *buf, size_t len);
typedef int (*index_read_fn)(void *ctx, void *buf, size_t len);

/*
 * Format (little-endian, field by field, documented in index_io.c):
 *   magic "VXIDX\0\0\1" (8 bytes), format version u32, then sections; every
 *   section is: tag u32, payload length u64, payload, xxh64(payload) u64.
 *   The first section names the type, elem, metric, dim, count and the
 *   creation parameters; the type's own sections follow; an END section
 *   closes the stream.
 * index_load rejects truncated input, a bad checksum, a wrong magic or
 * version, an element/metric/dim that differs from what the caller expects,
 * and structurally invalid content, with a message; it never allocates more
 * than a small multiple of the bytes actually read.
 */
int index_save(const vindex *idx, index_write_fn write, void *ctx, char *err, size_t errlen);

/* Loads an index over `col`; elem, metric and dim must match the stream
 * (they describe the caller's column). Returns NULL with a message on any
 * error. */
vindex *index_load(index_elem elem, index_metric metric, uint32_t dim, const index_column *col,
                   index_read_fn read, void *ctx, char *err, size_t errlen);

/* ------------------------------------------------------------ allocator */

/* Sets the allocation hooks for every index (default: libc). Call once at
 * start-up, before any index exists; not thread-safe. NULL restores libc. */
void index_set_allocator(void *(*malloc_fn)(size_t), void *(*calloc_fn)(size_t, size_t),
                         void *(*realloc_fn)(void *, size_t), void (*free_fn)(void *));

#endif
