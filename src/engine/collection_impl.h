/*
 * collection_impl.h -- the collection struct and the functions src/engine/
 * files share (collection.c, search.c, db.c). Not for the command layer,
 * which sees only engine.h.
 */
#ifndef VECTIS_COLLECTION_IMPL_H
#define VECTIS_COLLECTION_IMPL_H

#include <stdint.h>

#include "engine/engine.h"
#include "engine/pkmap.h"
#include "engine/segment.h"

typedef struct partition {
    char *name;
} partition;

struct collection {
    collection_spec spec;
    collection_schema schema; /* built from spec (collection_new) */
    partition *parts;         /* parts[0] is _default */
    int nparts;
    char index_type[16];
    float *proj;    /* REDUCE matrix, dim rows of proj_in_dim floats */
    segment **segs; /* main thread; slot i never moves */
    int nseg, segcap;
    pkmap pk;       /* key -> (slot + 1) << 32 | row (collection_pk_*) */
    uint64_t live, attr_count, uid, rows_ever;
    size_t key_bytes;
    int refs;       /* main thread: the keyspace + every search in flight */
};

extern engine_hooks engine_hk;
/* Rows added to indexes by catch-up jobs since start, and of those by gangs
 * (main thread; INFO vectors). */
extern uint64_t engine_index_rows_added, engine_index_rows_added_parallel;
extern engine_log_fn engine_log_hook; /* NULL: no mutation log (appendonly no, replay) */
extern uint64_t engine_lsn_counter;

/* Replay entry points (replay.c): they take the stored form from a log
 * record and the record's LSN, skip normalisation and projection, and log
 * nothing. collection_new_id(spec, cid) recreates a collection under its
 * persistent id (0: a new id). apply_insert is an upsert of the final row
 * (-1 when stored_len is not the collection's row size); apply_delete
 * returns 0 when the key is missing. */
collection *collection_new_id(const collection_spec *spec, uint64_t cid, char *err,
                              size_t errlen);
int collection_apply_insert(collection *c, const char *key, size_t klen, const uint8_t *stored,
                            size_t stored_len, float norm, const char *attr, size_t attrlen,
                            uint64_t lsn);
int collection_apply_delete(collection *c, const char *key, size_t klen, uint64_t lsn);

/* Checkpoints and start-up loading (checkpoint.c). */
void segment_schedule_index(segment *s);
void segment_ensure_chunk(segment *s, uint32_t r);
void segment_mark_deleted(segment *s, uint32_t r, uint64_t lsn);
row_attr *attr_make(const char *raw, size_t len);
/* The next collection and segment ids to hand out; raise never lowers. */
void engine_ids(uint64_t *next_cid, uint64_t *next_sid);
void engine_ids_raise(uint64_t next_cid, uint64_t next_sid);
/* Appends an empty segment with a stored id to c (its rows come next). */
segment *collection_add_segment(collection *c, uint64_t sid, uint32_t capacity, int sealed,
                                char *err, size_t errlen);
/* Row r of a segment being loaded (not yet published); its vector is
 * copied to seg_vec(s, r) by the caller. */
void segment_load_row(segment *s, uint32_t r, const char *key, size_t klen, const char *attr,
                      size_t attrlen, int has_attr, float norm, uint64_t ins_lsn);
/* After rows, vectors and deletes: the primary-key map and counters take
 * the live rows, and rows 0..nrows-1 are published. */
void collection_finish_segment(collection *c, segment *s, uint32_t nrows);

void collection_ref(collection *c);
void collection_unref(collection *c);
void segment_unref(segment *s);
int collection_locate(const collection *c, const char *key, size_t klen, segment **seg,
                      uint32_t *row);
void collection_decode_vector(const collection *c, const void *in, float *out);
void collection_encode_query(const collection *c, const float *vec, void *out);
void engine_collection_stats(const collection *c, engine_stats *st);
/* The metric distance between two stored rows (column format). */
float collection_row_dist(const collection *c, const void *a, const void *b);

#endif
