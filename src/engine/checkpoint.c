/*
 * checkpoint.c -- the engine's state to and from the `meta`, `data` and
 * `index` families (DESIGN.md section 6; byte layouts in record.c).
 *
 * A checkpoint at LSN K makes the database hold, without the log, every
 * mutation <= K: every collection (meta "C" + "N"), every segment's rows,
 * vectors and deletes (data 'R', 'V', 'D' chunks, one per segment chunk of
 * rows), the serialized index of a segment when one is worth keeping, the
 * segment manifests (meta "S") and the checkpoint record (meta "K"); log
 * entries <= K are deleted with it. Start-up loads all of that and replays
 * only the log after K.
 *
 * Three steps, so the event loop never waits on disk:
 *   begin  (main thread) takes K = the current LSN (the caller has written
 *          every log entry <= K), copies each collection's name and spec,
 *          and per segment its row count and what the database already has
 *          of it, holding a reference on the segment.
 *   write  (worker) reads the segments -- rows below the captured count are
 *          immutable, deletes are read with their LSN and kept when <= K --
 *          and writes the chunks that changed since the last checkpoint
 *          without the WAL (storage_write_nowal), flushes them, then writes
 *          one synced WAL batch: manifests, collections, K, the range
 *          deletes of everything that is no longer referenced, and the log
 *          range <= K. A crash before that batch leaves the previous
 *          checkpoint whole; after it, the new one.
 *   end    (main thread) records in each segment what is now stored and
 *          releases the references.
 *
 * Incremental: a full chunk never changes once written (rows only get
 * appended; an attribute change is an upsert, i.e. a new row), so a
 * checkpoint rewrites only the last partial chunk and the new ones; the
 * delete chunks of a segment are rewritten when it has new deletes. A
 * chunk rewritten in place may hold more rows or deletes than the manifest
 * that is still current says: the loader reads rows < nrows and deletes
 * with an LSN <= the manifest's, so that state loads exactly. Keys left
 * by a checkpoint that never completed are cleared before they could be
 * mistaken for current ones: a segment written for the first time has its
 * key range deleted first (its id may be reused after such a crash), and
 * delete chunks are replaced as a whole.
 *
 * Indexes: a segment's index is stored when it covers more rows than the
 * stored one and no index job is running on it (index_save must not race
 * with a writer; ck_busy keeps new jobs off until `end`). A replaced index
 * is written to the other of two key slots and the old slot is deleted in
 * the WAL batch, so a crash never leaves a manifest pointing at a half
 * overwritten index. Sealed segments are stored once, complete, and loaded
 * without any rebuild; a growing segment's stored index covers a prefix of
 * its rows and the index jobs catch up the rest after start-up.
 *
 * Loading (engine_load) is strict like replay: a value that fails its
 * checksum or decoding, a missing chunk or index part, or an index stream
 * whose checksum differs from the manifest's stops start-up with a message
 * naming the key (rec_key_describe), rather than serve a state that is not
 * the acknowledged one.
 *
 * Rejected: a checkpoint of sealed segments only (the log would then have
 * to keep every growing row forever, since log entries cannot be deleted
 * per segment); writing chunks through the WAL (every vector byte written
 * twice); RocksDB's own Checkpoint (a copy of the files: does not let the
 * log be truncated, and the replica full sync wants our format anyway).
 *
 * Threads: begin and end and engine_load on the main thread; write on one
 * worker at a time. Ownership: the checkpoint owns its copies and one
 * reference per captured segment until end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "alloc.h"
#include "dict.h"
#include "engine/collection_impl.h"
#include "engine/engine.h"
#include "engine/record.h"
#include "engine/storage.h"

#define CK_BATCH_BYTES ((size_t)4 << 20) /* bulk batch size: a few MB (storage.h) */
#define CK_PART_BYTES ((size_t)4 << 20)  /* index part size: no huge RocksDB values */
#define CK_SLOT_B (1u << 31)             /* first key part of the second index slot */

typedef struct ck_coll {
    uint64_t cid;
    char *name;
    size_t name_len;
    collection_spec spec;
    char index_type[16];
} ck_coll;

typedef struct ck_seg {
    segment *s;
    uint64_t cid;
    uint32_t nrows, ndeleted, capacity, chunk_rows;
    index_elem elem;
    uint32_t dim;
    int sealed;
    uint32_t from_rows, from_ndeleted; /* what the database had */
    int save_index;
    uint32_t index_rows;
    /* the index as the new manifest names it */
    uint32_t ix_rows, ix_parts, ix_first;
    uint64_t ix_bytes, ix_xxh64;
    uint32_t old_parts, old_first; /* slot to delete when replaced */
    uint32_t deletes_written;
} ck_seg;

struct engine_checkpoint {
    storage *st;
    uint64_t lsn, time_ms, next_cid, next_sid;
    ck_coll *colls;
    size_t ncolls, collcap;
    ck_seg *segs;
    size_t nsegs, segcap;
    int failed;
    char err[512];
    char note[256]; /* a non-fatal problem (log compaction) */
    uint64_t bytes;
    /* worker scratch */
    storage_batch *bulk;
    rec_buf enc;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ begin */

static void begin_collection(void *ctx, const char *key, size_t klen, collection *c)
{
    engine_checkpoint *k = ctx;
    if (k->ncolls == k->collcap) {
        k->collcap = k->collcap ? k->collcap * 2 : 8;
        k->colls = xrealloc(k->colls, sizeof(ck_coll) * k->collcap);
    }
    ck_coll *cc = &k->colls[k->ncolls++];
    cc->cid = c->uid;
    cc->name = xmalloc(klen + 1);
    memcpy(cc->name, key, klen);
    cc->name[klen] = '\0';
    cc->name_len = klen;
    cc->spec = c->spec;
    snprintf(cc->index_type, sizeof(cc->index_type), "%s", c->spec.index_type);
    for (int i = 0; i < c->nseg; i++) {
        segment *s = c->segs[i];
        if (k->nsegs == k->segcap) {
            k->segcap = k->segcap ? k->segcap * 2 : 16;
            k->segs = xrealloc(k->segs, sizeof(ck_seg) * k->segcap);
        }
        ck_seg *g = &k->segs[k->nsegs++];
        memset(g, 0, sizeof(*g));
        g->s = s;
        s->refs++;
        g->cid = c->uid;
        g->nrows = atomic_load(&s->nrows);
        g->ndeleted = s->ndeleted;
        g->capacity = s->capacity;
        g->chunk_rows = 1u << s->chunk_shift;
        g->elem = c->spec.elem;
        g->dim = c->spec.dim;
        g->sealed = s->sealed;
        g->from_rows = s->ck_rows <= g->nrows ? s->ck_rows : 0;
        g->from_ndeleted = s->ck_ndeleted;
        g->ix_rows = s->ck_indexed;
        g->ix_parts = s->ck_index_parts;
        g->ix_first = s->ck_index_first;
        g->ix_bytes = s->ck_index_bytes;
        g->ix_xxh64 = s->ck_index_xxh64;
        uint32_t indexed = atomic_load(&s->indexed);
        if (indexed > s->ck_indexed && !s->index_job && !s->index_error) {
            g->save_index = 1;
            g->index_rows = indexed;
            s->ck_busy = 1;
        }
    }
}

engine_checkpoint *engine_checkpoint_begin(storage *st)
{
    engine_checkpoint *k = xcalloc(1, sizeof(*k));
    k->st = st;
    k->lsn = engine_lsn_counter;
    k->time_ms = now_ms();
    engine_ids(&k->next_cid, &k->next_sid);
    db_foreach(begin_collection, k);
    for (size_t i = 0; i < k->ncolls; i++) k->colls[i].spec.index_type = k->colls[i].index_type;
    return k;
}

uint64_t engine_checkpoint_lsn(const engine_checkpoint *k)
{
    return k->lsn;
}

const char *engine_checkpoint_error(const engine_checkpoint *k)
{
    return k->failed ? k->err : NULL;
}

const char *engine_checkpoint_note(const engine_checkpoint *k)
{
    return k->note[0] ? k->note : NULL;
}

uint64_t engine_checkpoint_bytes(const engine_checkpoint *k)
{
    return k->bytes;
}

/* ------------------------------------------------------------ write */

static int ck_fail(engine_checkpoint *k, const char *fmt, const char *detail)
{
    if (!k->failed) snprintf(k->err, sizeof(k->err), fmt, detail);
    k->failed = 1;
    return -1;
}

static int bulk_flush(engine_checkpoint *k)
{
    if (storage_batch_count(k->bulk) == 0) return 0;
    char err[256];
    if (storage_write_nowal(k->st, k->bulk, err, sizeof(err)) != 0)
        return ck_fail(k, "%s", err);
    storage_batch_clear(k->bulk);
    return 0;
}

static int bulk_put(engine_checkpoint *k, rec_family f, const void *key, size_t klen)
{
    storage_batch_put(k->bulk, f, key, klen, k->enc.p, k->enc.len);
    k->bytes += k->enc.len + klen;
    if (storage_batch_bytes(k->bulk) >= CK_BATCH_BYTES) return bulk_flush(k);
    return 0;
}

/* Rows and vectors of the chunks that changed since the last checkpoint:
 * from the one holding row from_rows (perhaps partial then) to the end. */
static int write_rows(engine_checkpoint *k, ck_seg *g)
{
    segment *s = g->s;
    uint8_t key[REC_DATA_KEY_BYTES];
    uint32_t per = g->chunk_rows;
    for (uint32_t ch = g->from_rows / per; (uint64_t)ch * per < g->nrows; ch++) {
        uint32_t first = ch * per, n = g->nrows - first;
        if (n > per) n = per;
        rec_rows_begin(&k->enc, first);
        for (uint32_t r = first; r < first + n; r++) {
            const row_meta *m = seg_row(s, r);
            rec_rows_add(&k->enc, m->key->data, m->key->len, m->ins_lsn, m->norm, m->attr != NULL,
                         m->attr ? m->attr->raw : NULL, m->attr ? m->attr->len : 0);
        }
        rec_rows_end(&k->enc);
        rec_key_data(g->cid, s->id, REC_DATA_ROWS, 0, ch, key);
        if (bulk_put(k, REC_CF_DATA, key, sizeof(key)) != 0) return -1;
        /* A chunk's vectors are contiguous (segment.h). */
        rec_vectors v = {.first_row = first, .count = n, .elem = g->elem, .dim = g->dim,
                         .row_bytes = (uint32_t)s->row_bytes, .data = seg_vec(s, first)};
        rec_encode_vectors(&k->enc, &v);
        rec_key_data(g->cid, s->id, REC_DATA_VECTORS, 0, ch, key);
        if (bulk_put(k, REC_CF_DATA, key, sizeof(key)) != 0) return -1;
    }
    return 0;
}

/* The delete chunk of every chunk with a delete at or below the LSN. The
 * old delete chunks go first: a chunk left over from a checkpoint that
 * never completed must not survive next to the new ones. (Replacing them
 * is safe before the switch: every delete they held is still a delete,
 * and the loader ignores deletes above the current manifest's LSN.) */
static int write_deletes(engine_checkpoint *k, ck_seg *g)
{
    segment *s = g->s;
    uint8_t key[REC_DATA_KEY_BYTES], hi[REC_DATA_KEY_BYTES];
    uint32_t per = g->chunk_rows;
    rec_key_data(g->cid, s->id, REC_DATA_DELETES, 0, 0, key);
    memcpy(hi, key, sizeof(hi));
    hi[16]++;
    storage_batch_delete_range(k->bulk, REC_CF_DATA, key, sizeof(key), hi, sizeof(hi));
    for (uint32_t ch = 0; (uint64_t)ch * per < g->nrows; ch++) {
        uint32_t first = ch * per, n = g->nrows - first;
        if (n > per) n = per;
        const seg_chunk *sc = s->meta[ch];
        int any = 0;
        for (uint32_t r = first; r < first + n; r++)
            if (!seg_visible(s, r, k->lsn)) {
                if (!any) rec_deletes_begin(&k->enc, first, n);
                any = 1;
                rec_deletes_add(&k->enc, r, atomic_load(&sc->rows[r - first].del_lsn));
                g->deletes_written++;
            }
        if (!any) continue;
        rec_deletes_end(&k->enc);
        rec_key_data(g->cid, s->id, REC_DATA_DELETES, 0, ch, key);
        if (bulk_put(k, REC_CF_DATA, key, sizeof(key)) != 0) return -1;
    }
    return 0;
}

/* index_save sink: pass 1 counts and hashes, pass 2 cuts parts. */
typedef struct ix_sink {
    engine_checkpoint *k;
    ck_seg *g;
    XXH64_state_t *h;
    uint64_t total;
    int writing;
    uint32_t nparts, part;
    uint8_t *buf;
    size_t len;
} ix_sink;

static int ix_emit(ix_sink *x)
{
    rec_index_part p = {.part = x->part, .nparts = x->nparts,
                        .offset = (uint64_t)x->part * CK_PART_BYTES, .data = x->buf,
                        .len = (uint32_t)x->len};
    uint8_t key[REC_INDEX_KEY_BYTES];
    rec_encode_index_part(&x->k->enc, &p);
    rec_key_index(x->g->cid, x->g->s->id, 0, x->g->ix_first + x->part, key);
    x->part++;
    x->len = 0;
    return bulk_put(x->k, REC_CF_INDEX, key, sizeof(key));
}

static int ix_write(void *ctx, const void *buf, size_t len)
{
    ix_sink *x = ctx;
    if (!x->writing) {
        XXH64_update(x->h, buf, len);
        x->total += len;
        return 0;
    }
    const uint8_t *p = buf;
    while (len) {
        size_t take = CK_PART_BYTES - x->len;
        if (take > len) take = len;
        memcpy(x->buf + x->len, p, take);
        x->len += take;
        p += take;
        len -= take;
        if (x->len == CK_PART_BYTES && ix_emit(x) != 0) return -1;
    }
    return 0;
}

static int write_index(engine_checkpoint *k, ck_seg *g)
{
    char err[256];
    ix_sink x = {.k = k, .g = g, .h = XXH64_createState()};
    XXH64_reset(x.h, 0);
    int rc = index_save(g->s->idx, ix_write, &x, err, sizeof(err));
    uint64_t sum = XXH64_digest(x.h);
    XXH64_freeState(x.h);
    if (rc != 0) return ck_fail(k, "saving an index: %s", err);
    g->old_parts = g->ix_parts;
    g->old_first = g->ix_first;
    g->ix_first = g->ix_parts && g->ix_first == 0 ? CK_SLOT_B : 0;
    g->ix_parts = (uint32_t)((x.total + CK_PART_BYTES - 1) / CK_PART_BYTES);
    g->ix_bytes = x.total;
    g->ix_xxh64 = sum;
    g->ix_rows = g->index_rows;
    /* The slot may hold parts of a checkpoint that never completed. */
    uint8_t lo[REC_INDEX_KEY_BYTES], hi[REC_INDEX_KEY_BYTES];
    rec_key_index(g->cid, g->s->id, 0, g->ix_first, lo);
    rec_key_index(g->cid, g->s->id, 0, g->ix_first + (CK_SLOT_B - 1), hi);
    storage_batch_delete_range(k->bulk, REC_CF_INDEX, lo, sizeof(lo), hi, sizeof(hi));
    x.writing = 1;
    x.nparts = g->ix_parts;
    x.buf = xmalloc(CK_PART_BYTES);
    rc = index_save(g->s->idx, ix_write, &x, err, sizeof(err));
    if (rc == 0 && x.len) rc = ix_emit(&x);
    xfree(x.buf);
    if (rc != 0) return k->failed ? -1 : ck_fail(k, "saving an index: %s", err);
    if (x.part != g->ix_parts) return ck_fail(k, "%s", "an index changed while it was saved");
    return 0;
}

static int seg_cmp(const void *a, const void *b)
{
    const ck_seg *x = a, *y = b;
    if (x->cid != y->cid) return x->cid < y->cid ? -1 : 1;
    return x->s->id < y->s->id ? -1 : x->s->id > y->s->id;
}

/* Deletes the data and index keys of every segment not in the (sorted)
 * checkpoint: dropped collections, segments replaced by a promotion, and
 * leftovers of a checkpoint that never completed. */
static void delete_unreferenced(engine_checkpoint *k, storage_batch *b)
{
    uint8_t lo[16] = {0}, hi[16];
    for (size_t i = 0; i <= k->nsegs; i++) {
        if (i < k->nsegs) {
            uint8_t seg_lo[16], seg_hi[16];
            rec_range_segment(k->segs[i].cid, k->segs[i].s->id, seg_lo, seg_hi);
            if (memcmp(lo, seg_lo, 16) < 0) {
                storage_batch_delete_range(b, REC_CF_DATA, lo, 16, seg_lo, 16);
                storage_batch_delete_range(b, REC_CF_INDEX, lo, 16, seg_lo, 16);
            }
            memcpy(lo, seg_hi, 16);
        } else {
            memset(hi, 0xff, sizeof(hi));
            storage_batch_delete_range(b, REC_CF_DATA, lo, 16, hi, 16);
            storage_batch_delete_range(b, REC_CF_INDEX, lo, 16, hi, 16);
        }
    }
}

static void tag_range(storage_batch *b, int tag)
{
    uint8_t lo[1] = {(uint8_t)tag}, hi[1] = {(uint8_t)(tag + 1)};
    storage_batch_delete_range(b, REC_CF_META, lo, 1, hi, 1);
}

int engine_checkpoint_write(engine_checkpoint *k)
{
    k->bulk = storage_batch_new(k->st);
    if (k->nsegs > 1) qsort(k->segs, k->nsegs, sizeof(ck_seg), seg_cmp); /* segs may be NULL */
    for (size_t i = 0; i < k->nsegs && !k->failed; i++) {
        ck_seg *g = &k->segs[i];
        if (g->from_rows == 0) {
            /* First time in the database: clear whatever an interrupted
             * checkpoint may have left under this id. */
            uint8_t lo[16], hi[16];
            rec_range_segment(g->cid, g->s->id, lo, hi);
            storage_batch_delete_range(k->bulk, REC_CF_DATA, lo, sizeof(lo), hi, sizeof(hi));
        }
        if (g->from_rows < g->nrows && write_rows(k, g) != 0) break;
        if (g->ndeleted != g->from_ndeleted || (g->from_rows == 0 && g->ndeleted)) {
            if (write_deletes(k, g) != 0) break;
        } else {
            g->deletes_written = g->ndeleted;
        }
        if (g->save_index && write_index(k, g) != 0) break;
    }
    char err[256];
    if (!k->failed) bulk_flush(k);
    if (!k->failed && storage_flush_bulk(k->st, err, sizeof(err)) != 0) ck_fail(k, "%s", err);
    storage_batch_free(k->bulk);
    k->bulk = NULL;
    if (k->failed) {
        rec_buf_free(&k->enc);
        return -1;
    }

    /* The switch: one synced WAL batch. */
    storage_batch *b = storage_batch_new(k->st);
    tag_range(b, REC_META_COLLECTION);
    tag_range(b, REC_META_NAME);
    tag_range(b, REC_META_SEGMENT);
    for (size_t i = 0; i < k->ncolls; i++) {
        ck_coll *cc = &k->colls[i];
        uint8_t key[REC_META_ID_KEY_BYTES];
        rec_collection rc = {.cid = cc->cid, .name = cc->name, .name_len = (uint32_t)cc->name_len,
                             .create_lsn = 0, .spec = cc->spec};
        rec_encode_collection(&k->enc, &rc);
        rec_key_meta_collection(cc->cid, key);
        storage_batch_put(b, REC_CF_META, key, sizeof(key), k->enc.p, k->enc.len);
        uint8_t *nk = xmalloc(cc->name_len + 1);
        size_t nl = rec_key_meta_name(cc->name, cc->name_len, nk);
        rec_encode_name(&k->enc, cc->cid);
        storage_batch_put(b, REC_CF_META, nk, nl, k->enc.p, k->enc.len);
        xfree(nk);
    }
    for (size_t i = 0; i < k->nsegs; i++) {
        ck_seg *g = &k->segs[i];
        rec_segment m = {.cid = g->cid, .sid = g->s->id,
                         .state = g->sealed ? REC_SEG_SEALED : REC_SEG_GROWING,
                         .nrows = g->nrows, .ndeleted = g->deletes_written,
                         .chunk_rows = g->chunk_rows,
                         .nchunks = (g->nrows + g->chunk_rows - 1) / g->chunk_rows,
                         .capacity = g->capacity, .lsn = k->lsn, .nfields = 1};
        m.fields[0] = (rec_segment_field){.field = 0, .indexed_rows = g->ix_rows,
                                          .index_parts = g->ix_parts,
                                          .index_first_part = g->ix_first,
                                          .index_bytes = g->ix_bytes,
                                          .index_xxh64 = g->ix_xxh64};
        uint8_t key[REC_META_SEGMENT_KEY_BYTES];
        rec_encode_segment(&k->enc, &m);
        rec_key_meta_segment(g->cid, g->s->id, key);
        storage_batch_put(b, REC_CF_META, key, sizeof(key), k->enc.p, k->enc.len);
        if (g->save_index && g->old_parts) {
            uint8_t lo[REC_INDEX_KEY_BYTES], hi[REC_INDEX_KEY_BYTES];
            rec_key_index(g->cid, g->s->id, 0, g->old_first, lo);
            rec_key_index(g->cid, g->s->id, 0, g->old_first + g->old_parts, hi);
            storage_batch_delete_range(b, REC_CF_INDEX, lo, sizeof(lo), hi, sizeof(hi));
        }
    }
    delete_unreferenced(k, b);
    rec_checkpoint kc = {.lsn = k->lsn, .time_ms = k->time_ms, .next_cid = k->next_cid,
                         .next_sid = k->next_sid};
    uint8_t kk[1];
    rec_encode_checkpoint(&k->enc, &kc);
    storage_batch_put(b, REC_CF_META, kk, rec_key_meta_tag(REC_META_CHECKPOINT, kk), k->enc.p,
                      k->enc.len);
    storage_batch_delete_range_log(b, 0, k->lsn + 1);
    if (storage_write(k->st, b, 1, err, sizeof(err)) != 0) ck_fail(k, "%s", err);
    storage_batch_free(b);
    rec_buf_free(&k->enc);
    if (k->failed) return -1;
    /* The truncated log is most of the bytes a load wrote: give its space
     * back now rather than when RocksDB gets to it. A failure here costs
     * disk space only. */
    uint8_t hi[REC_LOG_KEY_BYTES];
    rec_key_log(k->lsn + 1, hi);
    if (storage_compact_range(k->st, REC_CF_LOG, NULL, 0, hi, sizeof(hi), err, sizeof(err)) != 0)
        snprintf(k->note, sizeof(k->note), "%s", err);
    return 0;
}

/* ------------------------------------------------------------ end */

void engine_checkpoint_end(engine_checkpoint *k)
{
    for (size_t i = 0; i < k->nsegs; i++) {
        ck_seg *g = &k->segs[i];
        segment *s = g->s;
        if (!k->failed) {
            s->ck_rows = g->nrows;
            s->ck_ndeleted = g->ndeleted;
            s->ck_indexed = g->ix_rows;
            s->ck_index_parts = g->ix_parts;
            s->ck_index_first = g->ix_first;
            s->ck_index_bytes = g->ix_bytes;
            s->ck_index_xxh64 = g->ix_xxh64;
        }
        if (g->save_index) {
            s->ck_busy = 0;
            if (s->refs > 1) segment_schedule_index(s);
        }
        segment_unref(s);
    }
    for (size_t i = 0; i < k->ncolls; i++) xfree(k->colls[i].name);
    xfree(k->colls);
    xfree(k->segs);
    xfree(k);
}

/* ------------------------------------------------------------ load */

typedef struct loader {
    storage *st;
    engine_load_progress_fn progress;
    void *pctx;
    uint64_t bytes;
    int aborted;
    uint64_t ck_lsn;
    dict *by_cid; /* cid -> collection (not yet in the keyspace) */
    char *err;
    size_t errlen;
    /* the segment being loaded */
    collection *c;
    segment *s;
    const rec_segment *man;
    uint8_t *ix;      /* index stream being assembled */
    uint64_t ix_have;
    uint32_t ix_next; /* next part expected */
} loader;


static int load_fail(loader *l, rec_family f, const void *key, size_t klen, const char *what)
{
    char kd[200];
    rec_key_describe(f, key, klen, kd, sizeof(kd));
    snprintf(l->err, l->errlen, "%s: %s", kd, what);
    return -1;
}

/* Counts bytes and lets the server breathe; non-zero stops the scan. */
static int load_tick(loader *l, size_t n)
{
    l->bytes += n;
    if (l->progress) {
        if (l->progress(l->pctx, l->bytes)) {
            l->aborted = 1;
            return 1;
        }
    }
    return 0;
}

static int load_collection_cb(void *ctx, const void *key, size_t klen, const void *val,
                              size_t vlen)
{
    loader *l = ctx;
    char derr[256], cerr[256];
    rec_collection rc;
    if (rec_decode_collection(val, vlen, &rc, derr, sizeof(derr)) != 0)
        return load_fail(l, REC_CF_META, key, klen, derr);
    collection *c = collection_new_id(&rc.spec, rc.cid, cerr, sizeof(cerr));
    if (!c) return load_fail(l, REC_CF_META, key, klen, cerr);
    dict_set_u64(l->by_cid, rc.cid, c);
    return load_tick(l, vlen);
}

static int load_name_cb(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    loader *l = ctx;
    char derr[256];
    uint64_t cid;
    if (rec_decode_name(val, vlen, &cid, derr, sizeof(derr)) != 0)
        return load_fail(l, REC_CF_META, key, klen, derr);
    collection *c = dict_del_u64(l->by_cid, cid);
    if (!c) return load_fail(l, REC_CF_META, key, klen, "names a collection that has no record");
    db_add((const char *)key + 1, klen - 1, c);
    return load_tick(l, vlen);
}

static int load_rows_cb(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    loader *l = ctx;
    char derr[256];
    rec_rows_iter it;
    rec_row row;
    if (rec_rows_decode(val, vlen, &it, derr, sizeof(derr)) != 0)
        return load_fail(l, REC_CF_DATA, key, klen, derr);
    while (rec_rows_next(&it, &row)) {
        if (row.row >= l->man->nrows) break; /* written after this manifest */
        if (row.row >= l->s->capacity)
            return load_fail(l, REC_CF_DATA, key, klen, "row beyond the segment's capacity");
        segment_load_row(l->s, row.row, row.key, row.key_len, row.attr, row.attr_len,
                         row.has_attr, row.norm, row.ins_lsn);
    }
    return load_tick(l, vlen);
}

static int load_vectors_cb(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    loader *l = ctx;
    char derr[256];
    rec_vectors v;
    if (rec_decode_vectors(val, vlen, &v, derr, sizeof(derr)) != 0)
        return load_fail(l, REC_CF_DATA, key, klen, derr);
    const collection_spec *sp = &l->c->spec;
    if (v.elem != sp->elem || v.dim != sp->dim)
        return load_fail(l, REC_CF_DATA, key, klen, "vectors of another type or dim");
    for (uint32_t i = 0; i < v.count; i++) {
        uint32_t r = v.first_row + i;
        if (r >= l->man->nrows) break;
        if (!l->s->meta[r >> l->s->chunk_shift] || !seg_row(l->s, r)->key)
            return load_fail(l, REC_CF_DATA, key, klen, "vectors of rows with no row record");
        memcpy((void *)seg_vec(l->s, r), v.data + (size_t)i * v.row_bytes, v.row_bytes);
    }
    return load_tick(l, vlen);
}

static int load_deletes_cb(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    loader *l = ctx;
    char derr[256];
    rec_deletes_iter it;
    uint32_t r;
    uint64_t lsn;
    if (rec_deletes_decode(val, vlen, &it, derr, sizeof(derr)) != 0)
        return load_fail(l, REC_CF_DATA, key, klen, derr);
    while (rec_deletes_next(&it, &r, &lsn)) {
        if (lsn > l->man->lsn || r >= l->man->nrows) continue; /* after this manifest */
        if (!l->s->meta[r >> l->s->chunk_shift] || !seg_row(l->s, r)->key)
            return load_fail(l, REC_CF_DATA, key, klen, "a delete of a row with no row record");
        if (!seg_visible(l->s, r, UINT64_MAX))
            return load_fail(l, REC_CF_DATA, key, klen, "a row deleted twice");
        segment_mark_deleted(l->s, r, lsn);
    }
    return load_tick(l, vlen);
}

static int load_index_part_cb(void *ctx, const void *key, size_t klen, const void *val,
                              size_t vlen)
{
    loader *l = ctx;
    const rec_segment_field *f = &l->man->fields[0];
    char derr[256];
    rec_index_part p;
    rec_index_key ik;
    if (rec_key_parse_index(key, klen, &ik, derr, sizeof(derr)) != 0 ||
        rec_decode_index_part(val, vlen, &p, derr, sizeof(derr)) != 0)
        return load_fail(l, REC_CF_INDEX, key, klen, derr);
    if (ik.part - f->index_first_part != l->ix_next || p.part != l->ix_next ||
        p.nparts != f->index_parts || p.offset != l->ix_have ||
        p.offset + p.len > f->index_bytes)
        return load_fail(l, REC_CF_INDEX, key, klen, "does not continue the stored index");
    memcpy(l->ix + l->ix_have, p.data, p.len);
    l->ix_have += p.len;
    l->ix_next++;
    return load_tick(l, vlen);
}

typedef struct ix_reader {
    const uint8_t *p;
    size_t left;
} ix_reader;

static int ix_read(void *ctx, void *buf, size_t len)
{
    ix_reader *r = ctx;
    if (len > r->left) return -1;
    memcpy(buf, r->p, len);
    r->p += len;
    r->left -= len;
    return 0;
}

/* Scans kind `kind` of the current segment's data. */
static int scan_kind(loader *l, int kind, storage_scan_fn cb)
{
    uint8_t lo[REC_DATA_KEY_BYTES], hi[REC_DATA_KEY_BYTES];
    char serr[256];
    rec_key_data(l->man->cid, l->man->sid, kind, 0, 0, lo);
    memcpy(hi, lo, sizeof(hi));
    hi[16]++; /* the kind byte: every key of this kind sorts below */
    int rc = storage_scan(l->st, REC_CF_DATA, lo, sizeof(lo), hi, sizeof(hi), cb, l, serr,
                          sizeof(serr));
    if (rc < 0) snprintf(l->err, l->errlen, "%s", serr);
    return rc;
}

static int load_index(loader *l)
{
    const rec_segment_field *f = &l->man->fields[0];
    uint8_t lo[REC_INDEX_KEY_BYTES], hi[REC_INDEX_KEY_BYTES], mk[REC_META_SEGMENT_KEY_BYTES];
    char serr[256];
    rec_key_meta_segment(l->man->cid, l->man->sid, mk);
    if (f->index_bytes > (uint64_t)SIZE_MAX / 2)
        return load_fail(l, REC_CF_META, mk, sizeof(mk), "index too large");
    l->ix = xmalloc(f->index_bytes ? f->index_bytes : 1);
    l->ix_have = 0;
    l->ix_next = 0;
    rec_key_index(l->man->cid, l->man->sid, 0, f->index_first_part, lo);
    rec_key_index(l->man->cid, l->man->sid, 0, f->index_first_part + f->index_parts, hi);
    int rc = storage_scan(l->st, REC_CF_INDEX, lo, sizeof(lo), hi, sizeof(hi), load_index_part_cb,
                          l, serr, sizeof(serr));
    if (rc < 0) snprintf(l->err, l->errlen, "%s", serr);
    if (rc == 0 && (l->ix_next != f->index_parts || l->ix_have != f->index_bytes))
        rc = load_fail(l, REC_CF_META, mk, sizeof(mk), "index parts missing");
    if (rc == 0 && XXH64(l->ix, l->ix_have, 0) != f->index_xxh64)
        rc = load_fail(l, REC_CF_META, mk, sizeof(mk), "the stored index fails its checksum");
    if (rc == 0) {
        char ierr[256];
        const collection_spec *sp = &l->c->spec;
        ix_reader rd = {l->ix, l->ix_have};
        vindex *idx = index_load(sp->elem, sp->metric, sp->dim, &l->s->col, ix_read, &rd, ierr,
                                 sizeof(ierr));
        if (!idx) {
            rc = load_fail(l, REC_CF_META, mk, sizeof(mk), ierr);
        } else if (index_count(idx) != f->indexed_rows) {
            index_free(idx);
            rc = load_fail(l, REC_CF_META, mk, sizeof(mk), "the stored index has another size");
        } else {
            index_free(l->s->idx);
            l->s->idx = idx;
            atomic_store(&l->s->indexed, f->indexed_rows);
        }
    }
    xfree(l->ix);
    l->ix = NULL;
    return rc;
}

static int load_segment_cb(void *ctx, const void *key, size_t klen, const void *val, size_t vlen)
{
    loader *l = ctx;
    char derr[256];
    rec_segment man;
    if (rec_decode_segment(val, vlen, &man, derr, sizeof(derr)) != 0)
        return load_fail(l, REC_CF_META, key, klen, derr);
    collection *c = NULL;
    /* Collections are in the keyspace by now: find by id. */
    c = dict_get_u64(l->by_cid, man.cid);
    if (!c) return load_fail(l, REC_CF_META, key, klen, "names a collection that has no record");
    if (man.nfields != 1 || man.fields[0].field != 0)
        return load_fail(l, REC_CF_META, key, klen, "fields this build does not store");
    uint32_t cap = man.capacity > man.nrows ? man.capacity : man.nrows;
    segment *s = collection_add_segment(c, man.sid, cap, man.state == REC_SEG_SEALED, derr,
                                        sizeof(derr));
    if (!s) return load_fail(l, REC_CF_META, key, klen, derr);
    if ((1u << s->chunk_shift) != man.chunk_rows && man.nrows)
        return load_fail(l, REC_CF_META, key, klen, "chunks of another size");
    l->c = c;
    l->s = s;
    l->man = &man;
    int rc = scan_kind(l, REC_DATA_ROWS, load_rows_cb);
    if (rc == 0) rc = scan_kind(l, REC_DATA_VECTORS, load_vectors_cb);
    if (rc == 0) rc = scan_kind(l, REC_DATA_DELETES, load_deletes_cb);
    if (rc == 0) {
        for (uint32_t r = 0; r < man.nrows; r++)
            if (!s->meta[r >> s->chunk_shift] || !seg_row(s, r)->key) {
                uint8_t dk[REC_DATA_KEY_BYTES];
                rec_key_data(man.cid, man.sid, REC_DATA_ROWS, 0, r / man.chunk_rows, dk);
                rc = load_fail(l, REC_CF_DATA, dk, sizeof(dk), "missing");
                break;
            }
    }
    if (rc == 0 && s->ndeleted != man.ndeleted)
        rc = load_fail(l, REC_CF_META, key, klen, "the delete chunks disagree with the manifest");
    if (rc == 0 && man.fields[0].index_parts) rc = load_index(l);
    if (rc != 0) {
        atomic_store(&s->nrows, man.nrows); /* the rows read so far are freed with it */
        return 1;
    }
    collection_finish_segment(c, s, man.nrows);
    s->ck_rows = man.nrows;
    s->ck_ndeleted = man.ndeleted;
    s->ck_indexed = man.fields[0].indexed_rows;
    s->ck_index_parts = man.fields[0].index_parts;
    s->ck_index_first = man.fields[0].index_first_part;
    s->ck_index_bytes = man.fields[0].index_bytes;
    s->ck_index_xxh64 = man.fields[0].index_xxh64;
    l->man = NULL;
    return load_tick(l, vlen);
}

static void schedule_all(void *ctx, const char *key, size_t klen, collection *c)
{
    (void)ctx, (void)key, (void)klen;
    for (int i = 0; i < c->nseg; i++) segment_schedule_index(c->segs[i]);
}

int engine_load(storage *st, engine_load_progress_fn progress, void *pctx, uint64_t *ck_lsn,
                uint64_t *ck_time_ms, char *err, size_t errlen)
{
    loader l = {.st = st, .progress = progress, .pctx = pctx, .err = err, .errlen = errlen};
    if (errlen) err[0] = '\0';
    uint8_t kk[1];
    void *val = NULL;
    size_t vlen = 0;
    char derr[256];
    *ck_lsn = 0;
    *ck_time_ms = 0;
    int got = storage_get(st, REC_CF_META, kk, rec_key_meta_tag(REC_META_CHECKPOINT, kk), &val,
                          &vlen, derr, sizeof(derr));
    if (got < 0) {
        snprintf(err, errlen, "%s", derr);
        return -1;
    }
    if (got == 0) return 0; /* never checkpointed: everything is in the log */
    rec_checkpoint kc;
    int rc = rec_decode_checkpoint(val, vlen, &kc, derr, sizeof(derr));
    storage_value_free(val);
    if (rc != 0) return load_fail(&l, REC_CF_META, kk, 1, derr);
    l.ck_lsn = kc.lsn;
    l.by_cid = dict_new();

    uint8_t lo[1] = {REC_META_COLLECTION}, hi[1] = {REC_META_COLLECTION + 1};
    rc = storage_scan(st, REC_CF_META, lo, 1, hi, 1, load_collection_cb, &l, derr, sizeof(derr));
    /* Segments before names: by_cid still maps every collection. */
    if (rc == 0) {
        lo[0] = REC_META_SEGMENT;
        hi[0] = REC_META_SEGMENT + 1;
        rc = storage_scan(st, REC_CF_META, lo, 1, hi, 1, load_segment_cb, &l, derr, sizeof(derr));
    }
    if (rc == 0) {
        lo[0] = REC_META_NAME;
        hi[0] = REC_META_NAME + 1;
        rc = storage_scan(st, REC_CF_META, lo, 1, hi, 1, load_name_cb, &l, derr, sizeof(derr));
    }
    if (rc < 0 && !err[0]) snprintf(err, errlen, "%s", derr);
    if (rc == 0 && dict_size(l.by_cid)) {
        snprintf(err, errlen, "meta: %zu collection records have no name record",
                 dict_size(l.by_cid));
        rc = -1;
    }
    /* Collections not in the keyspace (failure) are freed here. */
    dict_iter it;
    void *v;
    dict_iter_init(&it, l.by_cid);
    while (dict_iter_next(&it, NULL, NULL, &v)) collection_unref(v);
    dict_free(l.by_cid);
    if (rc != 0) return l.aborted ? 1 : -1;
    engine_ids_raise(kc.next_cid, kc.next_sid);
    if (kc.lsn > engine_lsn_counter) engine_lsn_counter = kc.lsn;
    db_foreach(schedule_all, NULL);
    *ck_lsn = kc.lsn;
    *ck_time_ms = kc.time_ms;
    return 0;
}
