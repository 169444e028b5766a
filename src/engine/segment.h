/*
 * segment.h -- the storage of one segment (internal to src/engine/).
 *
 * A segment holds rows 0..nrows-1 of a collection: per row a metadata
 * record (key, attribute, norm, insert and delete LSNs) and the vector, in
 * fixed-size chunks reached through tables allocated once, so a row's
 * address never changes and readers on worker threads need no lock:
 *
 *   - The main thread appends row r (writes its metadata and vector, then
 *     publishes nrows = r + 1 with a release store). A reader that loaded
 *     nrows with acquire sees rows < nrows complete and immutable.
 *   - A delete stores del_lsn (atomic) and then sets the row's bit in the
 *     chunk's deleted bitmap (atomic or, release). A reader that sees the
 *     bit sees the LSN; one that does not see the bit took its snapshot
 *     before the delete (the job hand-off orders everything earlier).
 *
 * The first segment of a collection holds 1,024 rows; when it fills, its
 * rows move into a segment of segment-max-rows rows (collection.c), and
 * later segments have that size. Every segment has at most SEG_MAX_CHUNKS
 * chunks, so a three-element set costs a few kilobytes and a million-row
 * segment has 1,024-row chunks behind an 8 KB table.
 *
 * The vector index of the segment is kept current by background index jobs
 * that add rows in order and publish `indexed`; a search uses the index for
 * rows below `indexed` and scans the rest exactly.
 *
 * References: the collection holds one reference per segment; every search
 * snapshot and every queued index job holds one more. All reference counts
 * are touched on the main thread only (jobs release theirs in their
 * main-thread completion step), so they are plain ints.
 */
#ifndef VECTIS_SEGMENT_H
#define VECTIS_SEGMENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/attrs.h"
#include "index/index.h"

#define SEG_MAX_CHUNKS 1024
#define SEG_FIRST_CAPACITY 1024
#define SEG_MIN_CAPACITY 64 /* rows: segment-max-bytes never makes segments smaller */

/* An attribute as stored: the raw string (returned verbatim) and its
 * decoded form (read by filters). Immutable once a row holds it. */
typedef struct row_attr {
    attrs *dec;
    uint32_t len;
    char raw[];
} row_attr;

typedef struct row_key {
    uint32_t len;
    char data[];
} row_key;

typedef struct row_meta {
    row_key *key;
    row_attr *attr;
    uint64_t ins_lsn;
    _Atomic uint64_t del_lsn; /* 0 = live */
    float norm;               /* normalised sets: the norm the vector had */
} row_meta;

typedef struct seg_chunk {
    _Atomic uint64_t *deleted; /* rows_per_chunk / 64 words (>= 1) */
    row_meta rows[];
} seg_chunk;

typedef struct segment {
    uint64_t id;
    int slot; /* index in the collection's segment array */
    int partition; /* index in the collection's partition array (0: _default) */
    int refs;
    int sealed;
    uint32_t capacity;
    uint32_t chunk_shift;
    uint32_t nchunks; /* entries in the chunk tables (capacity / rows per chunk) */
    _Atomic uint32_t nrows;
    uint32_t ndeleted;
    uint32_t ndeleted_attr; /* deleted rows that had an attribute */
    size_t row_bytes;
    seg_chunk **meta;        /* SEG_MAX_CHUNKS + 1 entries */
    uint8_t **vchunks;       /* same */
    index_column col;
    vindex *idx;
    _Atomic uint32_t indexed;
    int index_job; /* main thread: a catch-up job is queued or running */
    int index_starved; /* main thread: an idle catch-up waited too long; nice until caught up */
    int index_error;
    size_t mem; /* bytes of chunks, keys and attributes */
    /* What the database holds of this segment (checkpoint.c; main thread).
     * ck_busy: a checkpoint is saving the index, so no index job may start
     * (index_save must not race with a writer). */
    uint32_t ck_rows, ck_ndeleted;
    uint32_t ck_indexed, ck_index_parts, ck_index_first;
    uint64_t ck_index_bytes, ck_index_xxh64;
    int ck_busy;
} segment;

static inline row_meta *seg_row(const segment *s, uint32_t r)
{
    return &s->meta[r >> s->chunk_shift]->rows[r & ((1u << s->chunk_shift) - 1)];
}

static inline const void *seg_vec(const segment *s, uint32_t r)
{
    return s->vchunks[r >> s->chunk_shift] + (size_t)(r & ((1u << s->chunk_shift) - 1)) * s->row_bytes;
}

/* 1 if row r (< the snapshot's row count) is visible at snapshot lsn. */
static inline int seg_visible(const segment *s, uint32_t r, uint64_t lsn)
{
    const seg_chunk *ch = s->meta[r >> s->chunk_shift];
    uint32_t i = r & ((1u << s->chunk_shift) - 1);
    if (!(atomic_load_explicit(&ch->deleted[i >> 6], memory_order_acquire) & (1ULL << (i & 63))))
        return 1;
    uint64_t d = atomic_load_explicit(&((row_meta *)&ch->rows[i])->del_lsn, memory_order_relaxed);
    return d > lsn;
}

#endif
