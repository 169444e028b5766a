/*
 * engine.h -- collections, segments, MVCC and search: the vectis engine as
 * the command layer sees it. Knows nothing of sockets, RESP or the worker
 * pool: commands call these functions with plain C arguments and format the
 * results; the server gives the engine a way to run background work
 * through engine_hooks.
 *
 * Data model (DESIGN.md section 3). A collection has a schema (a VARCHAR
 * primary key, one or more vector fields, dynamic JSON attributes), the
 * `_default` partition, and a list of segments. Rows are appended to the
 * growing segment; at `segment-max-rows` it is sealed and a new one starts.
 * Every vector field of every segment has an index (FLAT or HNSW, with a
 * quantisation), kept current by background index jobs; the rows not yet
 * indexed (the tail) are scanned exactly, so a row is searchable as soon as
 * the write that added it returns. The primary-key map sends a key to its
 * current (segment, row); writing an existing key is an upsert (the old row
 * is deleted at the LSN the new one is inserted).
 *
 * Visibility. Every mutation takes the next LSN (engine-wide, main thread).
 * A search captures a snapshot: the LSN and, per segment, the row count at
 * that moment. Row r of segment s is visible iff r < rows_at_snapshot(s) and
 * it was not deleted at an LSN <= the snapshot's. Rows below the captured
 * count are immutable, deletes are published with atomics, so a search on a
 * worker thread sees exactly the writes that preceded its dispatch while the
 * main thread goes on writing: never both the old and the new row of an
 * upsert, never neither.
 *
 * Threads. Every function here runs on the main thread, except the ones
 * marked [worker]: engine_search_run() and the background job bodies, which
 * only read a snapshot.
 *
 * Errors: functions that can fail return -1 and write a complete Redis error
 * line ("ERR ...") into err; the command layer sends it as is.
 */
#ifndef VECTIS_ENGINE_H
#define VECTIS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "index/index.h"

typedef struct collection collection;
typedef struct segment segment;
typedef struct engine_search engine_search;

/* ------------------------------------------------------------------ hooks */

/* How the engine gets background work done. The server implements these
 * with its worker pool; tests can run the work inline. */
typedef struct engine_hooks {
    /* Run fn(arg) on a worker, then done(arg) on the main thread. `idle`:
     * the work may wait for a CPU nothing else wants (an index catch-up with
     * a small backlog); otherwise it must progress under load too. */
    void (*run_background)(void (*fn)(void *arg), void (*done)(void *arg), void *arg, int idle);
    /* Something should reach the database soon (a sealed segment's index
     * is complete, a dropped collection's data waits to be deleted): the
     * server starts a checkpoint when it can. May be NULL. */
    void (*checkpoint_wanted)(void);
    /* Threads that run background jobs: a catch-up may run that many jobs
     * at once (0 or 1: one at a time). */
    unsigned background_threads;
} engine_hooks;

void engine_init(const engine_hooks *hooks);

/* The mutation log. When set, every mutation calls fn(lsn, records, n) on
 * the main thread, once per LSN, with its resolved records (record.h): an
 * INSERT carries the row exactly as stored, an update is DELETE + INSERT
 * at one LSN, db_add logs CREATE_COLLECTION, db_delete DROP_COLLECTION,
 * db_rename (DROP of the overwritten destination +) RENAME, db_flush
 * FLUSH_ALL. The records' pointers are valid during the call only. NULL
 * (the default) logs nothing. */
struct rec_mutation;
typedef void (*engine_log_fn)(uint64_t lsn, const struct rec_mutation *m, size_t n);
void engine_set_log(engine_log_fn fn);

/* Replay of the mutation log (replay.c): apply the log values in LSN
 * order through one engine_replay; the engine's LSN and id counters end
 * above everything applied. A value that does not decode, or that names a
 * collection or key the state does not have, stops with -1 and a message
 * (the state is then partial: the caller must not serve it). Applying logs
 * nothing. */
typedef struct engine_replay engine_replay;
engine_replay *engine_replay_new(void);
int engine_replay_apply(engine_replay *r, uint64_t lsn, const void *val, size_t len, char *err,
                        size_t errlen);
uint64_t engine_replay_records(const engine_replay *r); /* mutations applied */
void engine_replay_free(engine_replay *r);

/* Checkpoints (checkpoint.c): the state at the current LSN K into the
 * database's meta / data / index families, and the log up to K deleted.
 * begin (main thread; every log entry <= K must already be written) and
 * end (main thread) around write [worker]. write returns 0 or -1; the
 * message is engine_checkpoint_error(). end frees the checkpoint. */
struct storage;
typedef struct engine_checkpoint engine_checkpoint;
engine_checkpoint *engine_checkpoint_begin(struct storage *st);
int engine_checkpoint_write(engine_checkpoint *k);
void engine_checkpoint_end(engine_checkpoint *k);
uint64_t engine_checkpoint_lsn(const engine_checkpoint *k);
const char *engine_checkpoint_error(const engine_checkpoint *k);
uint64_t engine_checkpoint_bytes(const engine_checkpoint *k); /* bytes written */
/* A problem that did not fail it (reclaiming the log's space), or NULL. */
const char *engine_checkpoint_note(const engine_checkpoint *k);
/* Start-up: loads the last checkpoint (collections into the keyspace,
 * segments with their stored indexes; nothing is rebuilt) and returns its
 * LSN and time (0 when the database has none); replay the log after it.
 * progress(ctx, bytes read so far) is called after every value; non-zero stops
 * the load (returns 1). Returns 0, or -1 with a message naming the
 * damaged key; after 1 or -1 the keyspace is partial and must not be
 * served. */
typedef int (*engine_load_progress_fn)(void *ctx, uint64_t bytes);
int engine_load(struct storage *st, engine_load_progress_fn progress, void *ctx,
                uint64_t *ck_lsn, uint64_t *ck_time_ms, char *err, size_t errlen);

void engine_shutdown(void); /* frees every collection (process exit) */

/* Engine-wide settings (config). */
extern uint32_t engine_segment_max_rows;
extern uint64_t engine_segment_max_bytes; /* 0 = no limit */

/* --------------------------------------------------------------- keyspace */

collection *db_lookup(const char *key, size_t klen);
/* Adds a new collection under key (must not exist). The db takes the
 * collection's initial reference. */
void db_add(const char *key, size_t klen, collection *c);
/* Removes and releases; returns 1 if it existed. Freeing happens on a worker
 * when the collection is large, after the last search lets go. */
int db_delete(const char *key, size_t klen);
/* RENAME semantics: overwrites dst (returns -1 if src is missing). */
int db_rename(const char *src, size_t slen, const char *dst, size_t dlen);
size_t db_size(void);
void db_flush(void);
/* SCAN: calls cb for keys from cursor; returns the next cursor (0 = done). */
uint64_t db_scan(uint64_t cursor, long count,
                 void (*cb)(void *ctx, const char *key, size_t klen, collection *c), void *ctx);
/* A random key, or NULL when empty. */
const char *db_random_key(size_t *klen);
/* Iterates every key. */
void db_foreach(void (*cb)(void *ctx, const char *key, size_t klen, collection *c), void *ctx);

/* ------------------------------------------------------------- collections */

typedef enum vset_quant { VSET_Q8 = 0, VSET_NOQUANT = 1, VSET_BIN = 2 } vset_quant;

/* How a collection was made: by VADD (a Redis vector set: cosine, the
 * vector normalised on insert with its norm kept) or by VCREATE. */
typedef struct collection_spec {
    uint32_t dim;           /* stored dim (after REDUCE) */
    index_elem elem;
    index_metric metric;
    const char *index_type; /* "HNSW" or "FLAT" */
    uint32_t M, efc;
    vset_quant quant;       /* HNSW quantisation */
    int normalize;          /* store unit vectors + norms (vector sets) */
    int from_vadd;          /* created by VADD: vector-set parameter checks */
    uint32_t proj_in_dim;   /* REDUCE: input dim (0 = none) */
} collection_spec;

/* ------------------------------------------------------------- schema
 *
 * A collection's fields (DESIGN.md section 3): one primary key, one or more
 * vector fields, typed scalar fields, and -- when `dynamic` -- any other
 * JSON attribute given with a row. collection_new builds it from the spec:
 * today a spec describes the vector-set shape (VARCHAR key "id", one vector
 * field "vector", dynamic attributes), and each vector field's rows live in
 * column `column` of every segment, with its own index. The Milvus-style
 * commands (VCREATE with a field list, VINSERT, VHYBRID) add scalar fields
 * and further vector fields to the same structure; until then a collection
 * has exactly one vector field (column 0). */
#define ENGINE_MAX_FIELDS 64
typedef enum field_kind { FIELD_PRIMARY_KEY, FIELD_VECTOR, FIELD_SCALAR } field_kind;

typedef struct schema_field {
    const char *name;    /* static or owned by the schema's collection */
    field_kind kind;
    const char *type;    /* "VARCHAR", "INT64", "FLOAT32", "FLOAT16", "BFLOAT16", "INT8",
                            "BINARY", ... */
    /* Vector fields: */
    uint32_t dim;
    index_elem elem;
    index_metric metric;
    int column;          /* the segment column (and index) that holds it */
} schema_field;

typedef struct collection_schema {
    schema_field fields[ENGINE_MAX_FIELDS];
    int nfields;
    int pk;              /* index of the primary-key field */
    int nvectors;        /* vector fields */
    int dynamic;         /* other attributes kept as JSON */
} collection_schema;

const collection_schema *collection_get_schema(const collection *c);
/* Index of the field called name, or -1. */
int collection_field_index(const collection *c, const char *name, size_t len);

/* ----------------------------------------------------------- partitions
 *
 * Every segment belongs to one partition; `_default` (index 0) always
 * exists and takes the writes that name none (all writes, until the
 * Milvus-style commands can name one). */
#define ENGINE_DEFAULT_PARTITION "_default"
typedef struct partition_info {
    const char *name;
    uint64_t rows;       /* live rows */
    int segments;
} partition_info;

int collection_partition_count(const collection *c);
int collection_partition_info(const collection *c, int i, partition_info *out);
/* Index of the partition called name, or -1. */
int collection_partition_index(const collection *c, const char *name, size_t len);

/* Creates an empty collection (not yet in the keyspace). */
collection *collection_new(const collection_spec *spec, char *err, size_t errlen);
const collection_spec *collection_get_spec(const collection *c);
uint64_t collection_rows(const collection *c);       /* live rows */
uint64_t collection_attr_count(const collection *c); /* live rows with attributes */
uint64_t collection_uid(const collection *c);
uint64_t collection_max_row_uid(const collection *c); /* rows ever inserted */
size_t collection_memory(const collection *c);
int collection_segment_count(const collection *c);

/* REDUCE: the projection matrix (proj_in_dim x dim), created with the
 * collection from a fixed seed; applies it to `in` (proj_in_dim floats). */
void collection_project(const collection *c, const float *in, float *out);

/* Normalised sets: the unit vector a row or a query is stored / searched
 * as (for BIN sets the unit vector of the signs), written to out (spec.dim
 * floats; may equal in). Returns the norm to remember: the L2 norm of `in`
 * for every quantisation, BIN included (VEMB RAW reports it, as Redis),
 * and 1 for a zero vector. */
float collection_unit_vector(const collection *c, const float *in, float *out);

/* ---------------------------------------------------------------- writes */

/* Inserts or updates the row of `key`. vec has spec.dim floats (already
 * projected). attr: NULL keeps the current attribute on update (none on
 * insert); a zero-length attr removes it. Returns 1 if added, 0 if an
 * existing row was replaced. */
int collection_upsert(collection *c, const char *key, size_t klen, const float *vec,
                      const char *attr, size_t attrlen, int attr_given);
/* Deletes a row; returns 1 if it existed. */
int collection_delete(collection *c, const char *key, size_t klen);
/* Replaces the attribute of an existing row (an upsert with the same
 * vector); returns 0 when the key is missing. */
int collection_set_attr(collection *c, const char *key, size_t klen, const char *attr,
                        size_t attrlen);

/* ---------------------------------------------------------------- reads */

/* Row lookups for VEMB / VGETATTR / VISMEMBER. Return 0 when missing. */
int collection_has(const collection *c, const char *key, size_t klen);
/* The stored vector of key (unit vector for normalised sets) and its norm.
 * vec must hold spec.dim floats. */
int collection_get_vector(const collection *c, const char *key, size_t klen, float *vec,
                          float *norm);
/* The attribute (NULL, 0 when none); valid until the next write. */
int collection_get_attr(const collection *c, const char *key, size_t klen, const char **attr,
                        size_t *attrlen);

/* Keys in memcmp order between bounds (VRANGE). A bound is NULL for -/+,
 * `incl` says [ or (. Calls cb until it returns non-zero or count reached
 * (count < 0: unlimited). */
void collection_range(const collection *c, const char *lo, size_t lolen, int lo_incl,
                      const char *hi, size_t hilen, int hi_incl, long count,
                      void (*cb)(void *ctx, const char *key, size_t klen), void *ctx);

/* Up to n random live keys: distinct when `distinct`, else with repeats. */
void collection_random(const collection *c, long n, int distinct,
                       void (*cb)(void *ctx, const char *key, size_t klen), void *ctx);

/* Graph introspection for VLINKS / VINFO (HNSW only; -1 otherwise). */
int collection_max_level(const collection *c);

typedef struct engine_link {
    const char *key; /* valid until the next write */
    size_t klen;
    float dist;      /* metric distance between the element and this neighbour */
} engine_link;

typedef struct engine_links {
    int nlevels;      /* levels of the element's node, level 0 included */
    engine_link **at; /* at[l]: the live neighbours on level l */
    size_t *n;
} engine_links;

/* The neighbours of key in its segment's graph, per level. Returns 0 when
 * the key is missing. An element not yet indexed has one empty level. */
int collection_links(const collection *c, const char *key, size_t klen, engine_links *out);
void engine_links_free(engine_links *l);

/* ---------------------------------------------------------------- search */

typedef struct engine_hit {
    const char *key; /* valid while the search object lives */
    size_t klen;
    float dist;      /* metric distance, smaller is closer */
    const char *attr;
    size_t attrlen;
} engine_hit;

struct expr;

typedef struct search_request {
    const float *query;     /* spec.dim floats (already projected; normalised when the set is) */
    size_t k;
    uint32_t ef;            /* 0 = default */
    int exact;              /* TRUTH: scan every visible row */
    int has_max_dist;       /* EPSILON: keep only hits with dist <= max_dist */
    float max_dist;
    struct expr *filter;    /* compiled FILTER (owned by the search), or NULL */
    int want_attrs;
} search_request;

/* Captures a snapshot of c and prepares a search (main thread). The search
 * owns a copy of the query; it holds c and its segments until freed. */
engine_search *engine_search_new(collection *c, const search_request *req);
/* Runs it [worker, or inline]. */
void engine_search_run(engine_search *s);
/* The same in parts: each segment on its own [any thread; different
 * segments concurrently], then the merge (after every part finished). */
int engine_search_segments(const engine_search *s);
double engine_search_part_cost(const engine_search *s, int seg);
void engine_search_run_part(engine_search *s, int seg);
void engine_search_merge(engine_search *s);
/* Results, sorted by distance (after run). */
size_t engine_search_hits(const engine_search *s, const engine_hit **hits);
/* Estimated cost in distance computations, for the inline-or-worker choice. */
double engine_search_cost(const engine_search *s);
/* Frees it (main thread). */
void engine_search_free(engine_search *s);

/* ------------------------------------------------------------------ info */

typedef struct engine_stats {
    uint64_t collections;
    uint64_t rows;
    uint64_t segments;
    uint64_t index_jobs_pending; /* segments with rows waiting to be indexed */
    uint64_t rows_unindexed;
    uint64_t index_rows_added;          /* by catch-up jobs since start (not loaded) */
    uint64_t index_rows_added_parallel; /* of those, by gangs (index_parallel_add) */
    size_t memory;
} engine_stats;

void engine_get_stats(engine_stats *st);
uint64_t engine_lsn(void);
/* Start-up: the next LSN is above lsn (the log's files may begin above
 * the last record kept, after a repair cut records off). */
void engine_lsn_at_least(uint64_t lsn);

/* VDESCRIBE: per segment. */
typedef struct segment_info {
    uint64_t id;
    const char *partition;
    const char *state; /* "growing" | "sealed" */
    uint32_t rows, deleted, indexed;
    size_t memory;
} segment_info;

int collection_segment_info(const collection *c, int i, segment_info *out);

#endif
