/*
 * collection.c -- collections, their segments, the primary-key map, writes
 * (upsert, delete), point reads, and the background index jobs.
 *
 * See engine.h for the model and segment.h for the memory layout and the
 * publication rules that let worker threads read a segment while the main
 * thread appends to it.
 *
 * Primary-key map: a dict from key bytes to a packed location
 * ((slot + 1) << 32 | row), where slot is the segment's index in the
 * collection's segment array (slots never move: segments are only appended
 * until compaction arrives, which will rewrite the entries it moves).
 *
 * Index jobs: after an append, if the segment has no catch-up in flight,
 * one is queued through engine_hooks.run_background. A catch-up is either
 * one job that adds at most INDEX_JOB_ROWS rows with index_add and publishes
 * `indexed` after each, or -- when a bulk load left a backlog of at least
 * INDEX_GANG_MIN_ROWS rows per background thread -- a gang of one job per
 * background thread adding INDEX_GANG_ROWS rows each with
 * index_parallel_add, published together when the last one completes. Its
 * completion (main thread) queues the next catch-up while rows are waiting.
 * Bounded batches keep one busy collection from monopolising the pool.
 * One catch-up per segment at a time: the index has a single writer, and a
 * gang counts as one. Rejected: one gang for every backlog -- under a
 * steady write load a single job keeps up and leaves the other background
 * threads' CPU to the searches.
 *
 * Everything here runs on the main thread except index_job_run.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dict.h"
#include "engine/collection_impl.h"
#include "engine/engine.h"
#include "engine/record.h"
#include "log.h"
#include "util.h"
#include "simd/simd.h"

#define INDEX_JOB_ROWS 64 /* rows per index job: ~20 ms of HNSW inserts at 784-d, M 16, EFC 200 */
/* A gang (one job per background thread) when at least this many rows per
 * thread wait: a bulk load, not the trickle of a steady write load, which
 * one job keeps up with while the other threads stay free. */
#define INDEX_GANG_MIN_ROWS 256u
/* Backlogs below this many rows are indexed at idle priority: a search
 * scans them exactly (~0.1 ms at 784-d), and under a steady write load
 * the CPU goes to searches first. Larger ones run at a low nice level, so
 * a busy server still catches up. */
#define INDEX_IDLE_MAX_ROWS 1024u
/* An idle-priority catch-up that took longer than this from scheduling to
 * completion (~20 ms when a core is free) means the machine has no idle
 * CPU (other processes keep both cores busy): the rest of that segment's
 * backlog runs at the low nice level, so it is never starved for good. */
#define INDEX_IDLE_STARVED_US 1000000LL
/* Rows per thread in one gang: as many as one job, so a search never waits
 * longer for a gang job than for a lone one. */
#define INDEX_GANG_ROWS INDEX_JOB_ROWS

uint32_t engine_segment_max_rows = 1000000;
uint64_t engine_segment_max_bytes = (uint64_t)1 << 30;
engine_hooks engine_hk;
uint64_t engine_index_rows_added, engine_index_rows_added_parallel;
engine_log_fn engine_log_hook;
uint64_t engine_lsn_counter;
static uint64_t next_collection_uid;
static uint64_t next_segment_id;

uint64_t engine_lsn(void)
{
    return engine_lsn_counter;
}

void engine_lsn_at_least(uint64_t lsn)
{
    if (lsn > engine_lsn_counter) engine_lsn_counter = lsn;
}

void engine_set_log(engine_log_fn fn)
{
    engine_log_hook = fn;
}

/* ------------------------------------------------------------ segments */

static uint32_t log2u(uint32_t v)
{
    uint32_t r = 0;
    while ((1u << (r + 1)) <= v && r < 31) r++;
    return r;
}

static segment *segment_new(collection *c, uint32_t capacity, char *err, size_t errlen)
{
    segment *s = xcalloc(1, sizeof(*s));
    s->id = ++next_segment_id;
    s->refs = 1;
    s->capacity = capacity;
    /* at most SEG_MAX_CHUNKS chunks, at least 64 rows each (so a chunk's
     * deleted bitmap is whole 64-bit words) */
    uint32_t shift = log2u(capacity);
    shift = shift > 10 ? shift - 10 : 0;
    if (shift < 6) shift = 6;
    while (((uint64_t)SEG_MAX_CHUNKS << shift) < capacity) shift++;
    s->chunk_shift = shift;
    s->row_bytes = index_elem_row_bytes(c->spec.elem, c->spec.dim);
    s->nchunks = (uint32_t)(((uint64_t)capacity + (1u << shift) - 1) >> shift);
    s->meta = xcalloc(s->nchunks + 1, sizeof(seg_chunk *));
    s->vchunks = xcalloc(s->nchunks + 1, sizeof(uint8_t *));
    s->col.chunks = (const uint8_t *const *)s->vchunks;
    s->col.base = NULL;
    s->col.chunk_shift = shift;
    s->col.stride = s->row_bytes;

    char mbuf[16], efbuf[16];
    index_param params[4];
    size_t np = 0;
    const char *type = c->spec.index_type;
    if (!strcmp(type, "HNSW")) {
        snprintf(mbuf, sizeof(mbuf), "%u", c->spec.M);
        snprintf(efbuf, sizeof(efbuf), "%u", c->spec.efc);
        params[np++] = (index_param){"M", mbuf};
        params[np++] = (index_param){"EFC", efbuf};
        if (c->spec.quant == VSET_Q8) params[np++] = (index_param){"QUANT", "SQ8"};
        if (c->spec.quant == VSET_BIN) params[np++] = (index_param){"QUANT", "BIN"};
    }
    char ierr[256];
    s->idx = index_new(type, c->spec.elem, c->spec.metric, c->spec.dim, &s->col, params, np, ierr,
                       sizeof(ierr));
    if (!s->idx) {
        snprintf(err, errlen, "ERR %s", ierr);
        xfree(s->meta);
        xfree(s->vchunks);
        xfree(s);
        return NULL;
    }
    return s;
}

static void segment_destroy(segment *s)
{
    uint32_t n = atomic_load(&s->nrows);
    uint32_t per = 1u << s->chunk_shift;
    for (uint32_t ch = 0; ch <= s->nchunks; ch++) {
        seg_chunk *m = s->meta[ch];
        if (!m) continue;
        for (uint32_t i = 0; i < per && ch * per + i < n; i++) {
            row_meta *r = &m->rows[i];
            xfree(r->key);
            if (r->attr) {
                attrs_free(r->attr->dec);
                xfree(r->attr);
            }
        }
        xfree((void *)m->deleted);
        xfree(m);
        xfree(s->vchunks[ch]);
    }
    index_free(s->idx);
    xfree(s->meta);
    xfree(s->vchunks);
    xfree(s);
}

static void segment_destroy_job(void *arg)
{
    segment_destroy(arg);
}

static void noop_done(void *arg)
{
    (void)arg;
}

void segment_unref(segment *s)
{
    if (!s || --s->refs > 0) return;
    /* A big segment's index takes a while to free: do it on a worker. */
    if (engine_hk.run_background && atomic_load(&s->nrows) > 4096)
        engine_hk.run_background(segment_destroy_job, noop_done, s, 0);
    else
        segment_destroy(s);
}

/* Makes room for row r: allocates its chunks on first use. */
void segment_ensure_chunk(segment *s, uint32_t r)
{
    uint32_t ch = r >> s->chunk_shift;
    if (s->meta[ch]) return;
    uint32_t per = 1u << s->chunk_shift;
    seg_chunk *m = xcalloc(1, sizeof(seg_chunk) + per * sizeof(row_meta));
    size_t words = per / 64;
    m->deleted = xcalloc(words, sizeof(uint64_t));
    s->vchunks[ch] = xcalloc(per, s->row_bytes ? s->row_bytes : 1);
    s->meta[ch] = m;
    s->mem += sizeof(seg_chunk) + per * sizeof(row_meta) + words * 8 + per * s->row_bytes;
}

void segment_mark_deleted(segment *s, uint32_t r, uint64_t lsn)
{
    seg_chunk *ch = s->meta[r >> s->chunk_shift];
    uint32_t i = r & ((1u << s->chunk_shift) - 1);
    atomic_store_explicit(&ch->rows[i].del_lsn, lsn, memory_order_relaxed);
    atomic_fetch_or_explicit(&ch->deleted[i >> 6], 1ULL << (i & 63), memory_order_release);
    s->ndeleted++;
    if (ch->rows[i].attr) s->ndeleted_attr++;
}

/* ------------------------------------------------------------ index jobs */

static void segment_note_indexed(segment *s);

/* One catch-up: `jobs` workers add rows [first, end) of one segment. A lone
 * job adds them one by one with index_add, publishing each; a gang of
 * several (large backlog, parallel-capable index) takes rows from `next`
 * with index_parallel_add and the last one to complete publishes the whole
 * range (main thread). */
typedef struct index_catchup {
    segment *seg;
    uint32_t first, end;
    _Atomic uint32_t next;
    int jobs;          /* main thread: jobs not yet completed */
    int parallel;
    int idle;          /* runs at idle priority */
    long long scheduled_us;
    _Atomic int failed;
    char err[256];     /* written by the first job that fails (failed 0 -> 1) */
} index_catchup;

static void index_catchup_fail(index_catchup *k, const char *err)
{
    int zero = 0;
    if (atomic_compare_exchange_strong(&k->failed, &zero, 1))
        snprintf(k->err, sizeof(k->err), "%s", err);
}

static void index_job_run(void *arg)
{
    index_catchup *k = arg;
    segment *s = k->seg;
    char err[256];
    if (!k->parallel) {
        for (uint32_t r = k->first; r < k->end; r++) {
            if (index_add(s->idx, r, err, sizeof(err)) != 0) {
                index_catchup_fail(k, err);
                return;
            }
            atomic_store_explicit(&s->indexed, r + 1, memory_order_release);
        }
        return;
    }
    for (;;) {
        uint32_t r = atomic_fetch_add_explicit(&k->next, 1, memory_order_relaxed);
        if (r >= k->end || atomic_load_explicit(&k->failed, memory_order_relaxed)) return;
        if (index_parallel_add(s->idx, r, err, sizeof(err)) != 0) {
            index_catchup_fail(k, err);
            return;
        }
    }
}

static void index_job_done(void *arg)
{
    index_catchup *k = arg;
    segment *s = k->seg;
    if (--k->jobs > 0) return;
    if (k->parallel && !atomic_load(&k->failed)) {
        index_parallel_end(s->idx, k->end);
        atomic_store_explicit(&s->indexed, k->end, memory_order_release);
        engine_index_rows_added_parallel += k->end - k->first;
    }
    engine_index_rows_added += atomic_load(&s->indexed) - k->first;
    s->index_job = 0;
    if (atomic_load(&s->indexed) >= atomic_load(&s->nrows))
        s->index_starved = 0;
    else if (k->idle && util_monotonic_us() - k->scheduled_us > INDEX_IDLE_STARVED_US)
        s->index_starved = 1;
    if (atomic_load(&k->failed)) {
        /* Rows stay searchable through the exact tail scan; say so once. */
        if (!s->index_error) log_warning("Indexing segment %llu failed: %s", (unsigned long long)s->id, k->err);
        s->index_error = 1;
    } else if (s->refs > 1) { /* someone besides this job still holds it */
        segment_schedule_index(s);
        segment_note_indexed(s);
    }
    xfree(k);
    segment_unref(s);
}

void segment_schedule_index(segment *s)
{
    uint32_t n = atomic_load_explicit(&s->nrows, memory_order_relaxed);
    uint32_t have = atomic_load_explicit(&s->indexed, memory_order_relaxed);
    if (s->index_job || s->index_error || s->ck_busy || have >= n) return;
    if (!engine_hk.run_background) { /* no pool (unit tests): index inline */
        char err[256];
        for (uint32_t r = have; r < n; r++) {
            if (index_add(s->idx, r, err, sizeof(err)) != 0) {
                s->index_error = 1;
                return;
            }
            atomic_store(&s->indexed, r + 1);
            engine_index_rows_added++;
        }
        return;
    }
    index_catchup *k = xcalloc(1, sizeof(*k));
    k->seg = s;
    k->first = have;
    k->jobs = 1;
    uint32_t threads = engine_hk.background_threads;
    if (threads > 1 && n - have >= INDEX_GANG_MIN_ROWS * threads && index_can_add_parallel(s->idx)) {
        k->jobs = (int)threads;
        k->end = have + INDEX_GANG_ROWS * threads;
        if (k->end > n) k->end = n;
        char err[256];
        if (index_parallel_begin(s->idx, k->end, err, sizeof(err)) != 0) {
            log_warning("Indexing segment %llu failed: %s", (unsigned long long)s->id, err);
            s->index_error = 1;
            xfree(k);
            return;
        }
        k->parallel = 1;
        atomic_init(&k->next, have);
    } else {
        k->end = n - have > INDEX_JOB_ROWS ? have + INDEX_JOB_ROWS : n;
    }
    s->refs++;
    s->index_job = 1;
    /* A small backlog of a growing segment waits for idle CPU; a large one
     * (whose exact tail scan every search pays), a sealed segment's (a
     * checkpoint waits for it) and a starved one must progress under load. */
    k->idle = n - have < INDEX_IDLE_MAX_ROWS && !s->sealed && !s->index_starved;
    k->scheduled_us = util_monotonic_us();
    int idle = k->idle;
    for (int i = 0, jobs = k->jobs; i < jobs; i++)
        engine_hk.run_background(index_job_run, index_job_done, k, idle);
}

/* A sealed segment whose index is complete but not yet in the database:
 * ask for a checkpoint, which stores it (nothing sealed is rebuilt at
 * start-up). */
static void segment_note_indexed(segment *s)
{
    if (s->sealed && engine_hk.checkpoint_wanted && !s->index_error &&
        atomic_load(&s->indexed) == atomic_load(&s->nrows) && s->ck_indexed < atomic_load(&s->nrows))
        engine_hk.checkpoint_wanted();
}

/* ---------------------------------------------------------- collections */

static void make_projection(collection *c)
{
    /* A deterministic random +-1/sqrt(in) matrix (dim x in), the same for
     * every run, so a rebuilt set projects alike. */
    uint32_t in = c->spec.proj_in_dim, out = c->spec.dim;
    float scale = 1.0f / sqrtf((float)in);
    uint64_t st = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)in << 32) ^ out;
    c->proj = xmalloc(sizeof(float) * (size_t)in * out);
    for (size_t i = 0; i < (size_t)in * out; i++) {
        st ^= st << 13;
        st ^= st >> 7;
        st ^= st << 17;
        c->proj[i] = (st & 1) ? scale : -scale;
    }
}

collection *collection_new(const collection_spec *spec, char *err, size_t errlen)
{
    return collection_new_id(spec, 0, err, errlen);
}

/* The schema of a spec: VARCHAR key, one vector field in column 0, dynamic
 * attributes (see engine.h). The field's metric is the one the user chose:
 * a normalised set is searched by inner product over unit vectors, and
 * that is COSINE. */
static void schema_from_spec(collection_schema *sc, const collection_spec *sp)
{
    static const char *const elem_types[] = {"FLOAT32", "FLOAT16", "BFLOAT16", "INT8", "BINARY"};
    memset(sc, 0, sizeof(*sc));
    sc->fields[0] = (schema_field){.name = "id", .kind = FIELD_PRIMARY_KEY, .type = "VARCHAR"};
    sc->fields[1] = (schema_field){.name = "vector",
                                   .kind = FIELD_VECTOR,
                                   .type = (unsigned)sp->elem < 5 ? elem_types[sp->elem] : "?",
                                   .dim = sp->dim,
                                   .elem = sp->elem,
                                   .metric = sp->normalize ? INDEX_METRIC_COSINE : sp->metric,
                                   .column = 0};
    sc->nfields = 2;
    sc->pk = 0;
    sc->nvectors = 1;
    sc->dynamic = 1;
}

static void collection_free_parts(collection *c)
{
    for (int i = 0; i < c->nparts; i++) xfree(c->parts[i].name);
    xfree(c->parts);
    c->parts = NULL;
    c->nparts = 0;
}

const collection_schema *collection_get_schema(const collection *c)
{
    return &c->schema;
}

int collection_field_index(const collection *c, const char *name, size_t len)
{
    for (int i = 0; i < c->schema.nfields; i++) {
        const char *f = c->schema.fields[i].name;
        if (strlen(f) == len && memcmp(f, name, len) == 0) return i;
    }
    return -1;
}

int collection_partition_count(const collection *c)
{
    return c->nparts;
}

int collection_partition_index(const collection *c, const char *name, size_t len)
{
    for (int i = 0; i < c->nparts; i++)
        if (strlen(c->parts[i].name) == len && memcmp(c->parts[i].name, name, len) == 0) return i;
    return -1;
}

int collection_partition_info(const collection *c, int i, partition_info *out)
{
    if (i < 0 || i >= c->nparts) return -1;
    memset(out, 0, sizeof(*out));
    out->name = c->parts[i].name;
    for (int k = 0; k < c->nseg; k++) {
        const segment *s = c->segs[k];
        if (s->partition != i) continue;
        out->segments++;
        out->rows += atomic_load(&s->nrows) - s->ndeleted;
    }
    return 0;
}

collection *collection_new_id(const collection_spec *spec, uint64_t cid, char *err,
                              size_t errlen)
{
    collection *c = xcalloc(1, sizeof(*c));
    c->spec = *spec;
    snprintf(c->index_type, sizeof(c->index_type), "%s", spec->index_type);
    c->spec.index_type = c->index_type;
    schema_from_spec(&c->schema, &c->spec);
    c->parts = xcalloc(1, sizeof(partition));
    c->parts[0].name = xstrdup(ENGINE_DEFAULT_PARTITION);
    c->nparts = 1;
    pkmap_init(&c->pk);
    c->refs = 1;
    /* Collection ids are persistent (the mutation log names collections by
     * id): replay recreates a collection under its logged id, and new ids
     * continue above every id seen. */
    if (cid) {
        c->uid = cid;
        if (cid > next_collection_uid) next_collection_uid = cid;
    } else {
        c->uid = ++next_collection_uid;
    }
    if (spec->proj_in_dim) make_projection(c);
    /* Validate the index parameters now, with a probe segment. */
    segment *probe = segment_new(c, 16, err, errlen);
    if (!probe) {
        collection_free_parts(c);
        xfree(c->proj);
        xfree(c);
        return NULL;
    }
    segment_destroy(probe);
    return c;
}

const collection_spec *collection_get_spec(const collection *c)
{
    return &c->spec;
}

uint64_t collection_rows(const collection *c)
{
    return c->live;
}

uint64_t collection_attr_count(const collection *c)
{
    return c->attr_count;
}

uint64_t collection_uid(const collection *c)
{
    return c->uid;
}

uint64_t collection_max_row_uid(const collection *c)
{
    return c->rows_ever;
}

int collection_segment_count(const collection *c)
{
    return c->nseg;
}

size_t collection_memory(const collection *c)
{
    size_t m = sizeof(*c) + pkmap_memory(&c->pk) + c->key_bytes;
    for (int i = 0; i < c->nseg; i++) m += c->segs[i]->mem + index_memory(c->segs[i]->idx);
    if (c->proj) m += sizeof(float) * (size_t)c->spec.proj_in_dim * c->spec.dim;
    return m;
}

void collection_ref(collection *c)
{
    c->refs++;
}

static void collection_destroy(collection *c)
{
    for (int i = 0; i < c->nseg; i++) segment_unref(c->segs[i]);
    xfree(c->segs);
    pkmap_free(&c->pk);
    collection_free_parts(c);
    xfree(c->proj);
    xfree(c);
}

void collection_unref(collection *c)
{
    if (c && --c->refs == 0) collection_destroy(c);
}

void collection_project(const collection *c, const float *in, float *out)
{
    uint32_t n = c->spec.proj_in_dim, d = c->spec.dim;
    for (uint32_t i = 0; i < d; i++) out[i] = simd->dot_f32(c->proj + (size_t)i * n, in, n);
}

/* ---------------------------------------------------------------- rows */

static inline uint64_t loc_pack(int slot, uint32_t row)
{
    return ((uint64_t)(slot + 1) << 32) | row;
}

static inline const row_meta *loc_row(const collection *c, uint64_t loc)
{
    return seg_row(c->segs[(loc >> 32) - 1], (uint32_t)loc);
}

/* pk_eq_fn: the key of the row at loc is [key, klen). */
static int pk_eq(const void *ctx, uint64_t loc, const void *key, size_t klen)
{
    const row_key *k = loc_row(ctx, loc)->key;
    return k->len == klen && memcmp(k->data, key, klen) == 0;
}

int collection_locate(const collection *c, const char *key, size_t klen, segment **seg,
                      uint32_t *row)
{
    uint64_t v = pkmap_get(&c->pk, pkmap_hash(key, klen), key, klen, pk_eq, c);
    if (!v) return 0;
    *seg = c->segs[(v >> 32) - 1];
    *row = (uint32_t)v;
    return 1;
}

row_attr *attr_make(const char *raw, size_t len)
{
    row_attr *a = xmalloc(sizeof(row_attr) + len + 1);
    a->len = (uint32_t)len;
    memcpy(a->raw, raw, len);
    a->raw[len] = '\0';
    a->dec = attrs_decode(a->raw, len);
    return a;
}

/* Fills the record of row r of s (allocating its chunk) and counts its
 * bytes; takes over attr. The vector and the publication are the caller's. */
static void row_init(segment *s, uint32_t r, const char *key, size_t klen, row_attr *attr,
                     float norm, uint64_t ins_lsn)
{
    segment_ensure_chunk(s, r);
    row_meta *m = seg_row(s, r);
    m->key = xmalloc(sizeof(row_key) + klen);
    m->key->len = (uint32_t)klen;
    memcpy(m->key->data, key, klen);
    m->attr = attr;
    m->ins_lsn = ins_lsn;
    atomic_store_explicit(&m->del_lsn, 0, memory_order_relaxed);
    m->norm = norm;
    s->mem += sizeof(row_key) + klen +
              (attr ? sizeof(row_attr) + attr->len + attrs_memory(attr->dec) : 0);
}

static segment *new_segment_or_die(collection *c, uint32_t cap)
{
    char err[256];
    segment *s = segment_new(c, cap, err, sizeof(err));
    if (!s) { /* parameters were validated at creation: cannot happen */
        log_warning("Cannot create a segment: %s", err);
        abort();
    }
    return s;
}

/* Rows of a full-size segment: segment-max-rows, or fewer when
 * segment-max-bytes is reached first (vector and row record bytes; keys
 * and attributes vary, and end a segment early through `mem`). */
static uint32_t full_capacity(const collection *c)
{
    uint64_t cap = engine_segment_max_rows;
    if (engine_segment_max_bytes) {
        uint64_t per = index_elem_row_bytes(c->spec.elem, c->spec.dim) + sizeof(row_meta);
        uint64_t by = engine_segment_max_bytes / per;
        if (by < cap) cap = by;
    }
    return cap < SEG_MIN_CAPACITY ? SEG_MIN_CAPACITY : (uint32_t)cap;
}

/* The first segment of a collection is small (SEG_FIRST_CAPACITY rows), so
 * a tiny set costs kilobytes. When it fills, its live rows move into a
 * full-size segment that takes its slot: one graph instead of two to search.
 * Searches in flight keep the old segment through their snapshot; new ones
 * see the new segment, whose rows carry the same LSNs. */
static segment *promote_segment(collection *c, segment *g)
{
    segment *s = new_segment_or_die(c, full_capacity(c));
    uint32_t n = atomic_load_explicit(&g->nrows, memory_order_relaxed), out = 0;
    for (uint32_t r = 0; r < n; r++) {
        if (!seg_visible(g, r, UINT64_MAX)) continue;
        const row_meta *m = seg_row(g, r);
        row_init(s, out, m->key->data, m->key->len,
                 m->attr ? attr_make(m->attr->raw, m->attr->len) : NULL, m->norm, m->ins_lsn);
        memcpy((void *)seg_vec(s, out), seg_vec(g, r), s->row_bytes);
        pkmap_relocate(&c->pk, pkmap_hash(m->key->data, m->key->len), loc_pack(g->slot, r),
                       loc_pack(g->slot, out));
        out++;
    }
    atomic_store_explicit(&s->nrows, out, memory_order_release);
    s->slot = g->slot;
    c->segs[g->slot] = s;
    g->sealed = 1;
    segment_unref(g);
    segment_schedule_index(s);
    return s;
}

static int segment_full(const segment *g)
{
    return atomic_load(&g->nrows) >= g->capacity ||
           (engine_segment_max_bytes && g->mem >= engine_segment_max_bytes);
}

/* Puts s in the next slot of c's segment array. */
static void append_segment(collection *c, segment *s)
{
    if (c->nseg == c->segcap) {
        c->segcap = c->segcap ? c->segcap * 2 : 4;
        c->segs = xrealloc(c->segs, sizeof(segment *) * (size_t)c->segcap);
    }
    s->slot = c->nseg;
    c->segs[c->nseg++] = s;
}

static segment *growing_segment(collection *c)
{
    segment *g = c->nseg ? c->segs[c->nseg - 1] : NULL;
    if (g && !g->sealed && !segment_full(g)) return g;
    uint32_t full = full_capacity(c);
    if (g && c->nseg == 1 && g->capacity < full) {
        g = promote_segment(c, g);
        if (!segment_full(g)) return g;
    }
    if (g) {
        g->sealed = 1;
        segment_note_indexed(g);
    }
    uint32_t cap = g ? full : SEG_FIRST_CAPACITY;
    if (cap > full) cap = full;
    segment *s = new_segment_or_die(c, cap);
    append_segment(c, s);
    return s;
}

/* Writes vec (spec.dim floats) as the column's element type. */
static void encode_vector(const collection *c, const float *vec, uint8_t *out)
{
    uint32_t d = c->spec.dim;
    switch (c->spec.elem) {
    case INDEX_ELEM_F32: memcpy(out, vec, sizeof(float) * d); break;
    case INDEX_ELEM_F16:
        for (uint32_t i = 0; i < d; i++) ((uint16_t *)out)[i] = simd_f32_to_f16(vec[i]);
        break;
    case INDEX_ELEM_BF16:
        for (uint32_t i = 0; i < d; i++) ((uint16_t *)out)[i] = simd_f32_to_bf16(vec[i]);
        break;
    case INDEX_ELEM_I8:
        for (uint32_t i = 0; i < d; i++) {
            float v = roundf(vec[i]);
            ((int8_t *)out)[i] = (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
        }
        break;
    case INDEX_ELEM_BINARY:
        memset(out, 0, d / 8);
        for (uint32_t i = 0; i < d; i++)
            if (vec[i] > 0) out[i >> 3] |= (uint8_t)(1u << (i & 7));
        break;
    }
}

void collection_decode_vector(const collection *c, const void *in, float *out)
{
    uint32_t d = c->spec.dim;
    switch (c->spec.elem) {
    case INDEX_ELEM_F32: memcpy(out, in, sizeof(float) * d); break;
    case INDEX_ELEM_F16:
        for (uint32_t i = 0; i < d; i++) out[i] = simd_f16_to_f32(((const uint16_t *)in)[i]);
        break;
    case INDEX_ELEM_BF16:
        for (uint32_t i = 0; i < d; i++) out[i] = simd_bf16_to_f32(((const uint16_t *)in)[i]);
        break;
    case INDEX_ELEM_I8:
        for (uint32_t i = 0; i < d; i++) out[i] = ((const int8_t *)in)[i];
        break;
    case INDEX_ELEM_BINARY:
        for (uint32_t i = 0; i < d; i++) out[i] = (((const uint8_t *)in)[i >> 3] >> (i & 7)) & 1;
        break;
    }
}

float collection_unit_vector(const collection *c, const float *in, float *out)
{
    uint32_t d = c->spec.dim;
    /* Four independent sums: one chain of double adds is latency-bound
     * (~1 us at 784-d, on the main thread for every VSIM and VADD). */
    double s4[4] = {0, 0, 0, 0};
    uint32_t i = 0;
    for (; i + 4 <= d; i += 4)
        for (int j = 0; j < 4; j++) s4[j] += (double)in[i + j] * in[i + j];
    for (; i < d; i++) s4[0] += (double)in[i] * in[i];
    float norm = (float)sqrt((s4[0] + s4[1]) + (s4[2] + s4[3]));
    if (c->spec.quant == VSET_BIN) {
        /* A BIN set keeps only signs, as Redis: the element becomes the
         * unit +-1 vector, so VEMB gives the signs and a score is
         * 1 - hamming / dim. The norm remembered is still the L2 norm of
         * the input (VEMB RAW reports it, as Redis does), not sqrt(dim).
         * Computed before `out` is written: out may equal in. */
        float v = 1.0f / sqrtf((float)d);
        for (uint32_t i = 0; i < d; i++) out[i] = in[i] > 0 ? v : -v;
        return norm > 0 ? norm : 1.0f;
    }
    /* A zero vector stays zero with norm 1, as Redis stores it. */
    float inv = norm > 0 ? 1.0f / norm : 1.0f;
    for (uint32_t i = 0; i < d; i++) out[i] = in[i] * inv;
    return norm > 0 ? norm : 1.0f;
}

void collection_encode_query(const collection *c, const float *vec, void *out)
{
    encode_vector(c, vec, out);
}


/* Appends a row; returns its segment and row. Takes ownership of attr. */
static void append_row(collection *c, const char *key, size_t klen, const uint8_t *stored,
                       float norm, row_attr *attr, uint64_t lsn, segment **out_seg,
                       uint32_t *out_row)
{
    segment *s = growing_segment(c);
    uint32_t r = atomic_load_explicit(&s->nrows, memory_order_relaxed);
    row_init(s, r, key, klen, attr, norm, lsn);
    memcpy((void *)seg_vec(s, r), stored, s->row_bytes);
    atomic_store_explicit(&s->nrows, r + 1, memory_order_release);
    c->rows_ever++;
    *out_seg = s;
    *out_row = r;
    segment_schedule_index(s);
}

/* Hands the resolved records of one LSN to the mutation log, if any. */
static void log_records(uint64_t lsn, const rec_mutation *m, size_t n)
{
    if (engine_log_hook) engine_log_hook(lsn, m, n);
}

/* The upsert proper, at `lsn`: stored is the row in column format (a unit
 * vector for normalised sets) and norm the norm to remember. attr (taken
 * over) replaces the row's attribute when attr_given; otherwise an update
 * keeps the old one. Logs DELETE (on update) + INSERT of the final row. */
static int upsert_row(collection *c, const char *key, size_t klen, const uint8_t *stored,
                      float norm, row_attr *a, int attr_given, uint64_t lsn)
{
    segment *oseg = NULL, *nseg;
    uint32_t orow = 0, nrow;
    uint64_t h = pkmap_hash(key, klen);
    size_t at = pkmap_find(&c->pk, h, key, klen, pk_eq, c);
    int existed = at != PKMAP_NONE;

    if (existed) {
        uint64_t loc = pkmap_loc_at(&c->pk, at);
        oseg = c->segs[(loc >> 32) - 1];
        orow = (uint32_t)loc;
        row_meta *om = seg_row(oseg, orow);
        if (!attr_given && om->attr) a = attr_make(om->attr->raw, om->attr->len);
        if (om->attr) c->attr_count--;
        segment_mark_deleted(oseg, orow, lsn);
        c->live--;
        /* Out of the map before append_row: a promotion there moves rows,
         * and the old location must not name someone else's row. */
        pkmap_del_at(&c->pk, at);
    }
    append_row(c, key, klen, stored, norm, a, lsn, &nseg, &nrow);
    if (a) c->attr_count++;
    c->live++;
    if (!existed) c->key_bytes += klen;
    pkmap_insert(&c->pk, h, loc_pack(nseg->slot, nrow));
    if (engine_log_hook) {
        rec_mutation m[2];
        size_t n = 0;
        memset(m, 0, sizeof(m));
        if (existed) {
            m[n].op = REC_OP_DELETE;
            m[n].cid = c->uid;
            m[n].key = key;
            m[n++].key_len = (uint32_t)klen;
        }
        m[n].op = REC_OP_INSERT;
        m[n].cid = c->uid;
        m[n].key = key;
        m[n].key_len = (uint32_t)klen;
        m[n].vec = seg_vec(nseg, nrow);
        m[n].vec_len = (uint32_t)nseg->row_bytes;
        m[n].norm = norm;
        m[n].has_attr = a != NULL;
        m[n].attr = a ? a->raw : NULL;
        m[n++].attr_len = a ? a->len : 0;
        log_records(lsn, m, n);
    }
    return existed ? 0 : 1;
}

int collection_upsert(collection *c, const char *key, size_t klen, const float *vec,
                      const char *attr, size_t attrlen, int attr_given)
{
    float norm = 1.0f;
    float *unit = NULL;
    if (c->spec.normalize) {
        unit = xmalloc(sizeof(float) * c->spec.dim);
        norm = collection_unit_vector(c, vec, unit);
        vec = unit;
    }
    row_attr *a = (attr_given && attrlen > 0) ? attr_make(attr, attrlen) : NULL;
    uint8_t *stored = xmalloc(index_elem_row_bytes(c->spec.elem, c->spec.dim) + 1);
    encode_vector(c, vec, stored);
    int rc = upsert_row(c, key, klen, stored, norm, a, attr_given, ++engine_lsn_counter);
    xfree(stored);
    xfree(unit);
    return rc;
}

static void delete_row(collection *c, const char *key, size_t klen, segment *s, uint32_t r,
                       uint64_t lsn)
{
    if (seg_row(s, r)->attr) c->attr_count--;
    segment_mark_deleted(s, r, lsn);
    pkmap_del(&c->pk, pkmap_hash(key, klen), key, klen, pk_eq, c);
    c->live--;
    c->key_bytes -= klen;
}

int collection_delete(collection *c, const char *key, size_t klen)
{
    segment *s;
    uint32_t r;
    if (!collection_locate(c, key, klen, &s, &r)) return 0;
    uint64_t lsn = ++engine_lsn_counter;
    delete_row(c, key, klen, s, r, lsn);
    if (engine_log_hook) {
        rec_mutation m;
        memset(&m, 0, sizeof(m));
        m.op = REC_OP_DELETE;
        m.cid = c->uid;
        m.key = key;
        m.key_len = (uint32_t)klen;
        log_records(lsn, &m, 1);
    }
    return 1;
}

int collection_set_attr(collection *c, const char *key, size_t klen, const char *attr,
                        size_t attrlen)
{
    segment *s;
    uint32_t r;
    if (!collection_locate(c, key, klen, &s, &r)) return 0;
    /* An upsert with the same stored vector: MVCC stays exact (a search
     * sees the old attribute or the new one, never a mix). The bytes are
     * copied first: the append may promote (and free) the row's segment. */
    uint8_t *stored = xmalloc(s->row_bytes + 1);
    memcpy(stored, seg_vec(s, r), s->row_bytes);
    row_attr *a = attrlen > 0 ? attr_make(attr, attrlen) : NULL;
    upsert_row(c, key, klen, stored, seg_row(s, r)->norm, a, 1, ++engine_lsn_counter);
    xfree(stored);
    return 1;
}

/* ------------------------------------------------------------ replay */

int collection_apply_insert(collection *c, const char *key, size_t klen, const uint8_t *stored,
                            size_t stored_len, float norm, const char *attr, size_t attrlen,
                            uint64_t lsn)
{
    if (stored_len != index_elem_row_bytes(c->spec.elem, c->spec.dim)) return -1;
    row_attr *a = attrlen > 0 ? attr_make(attr, attrlen) : NULL;
    upsert_row(c, key, klen, stored, norm, a, 1, lsn);
    return 0;
}

int collection_apply_delete(collection *c, const char *key, size_t klen, uint64_t lsn)
{
    segment *s;
    uint32_t r;
    if (!collection_locate(c, key, klen, &s, &r)) return 0;
    delete_row(c, key, klen, s, r, lsn);
    return 1;
}

/* ------------------------------------------------------------ load */

void engine_ids(uint64_t *next_cid, uint64_t *next_sid)
{
    *next_cid = next_collection_uid + 1;
    *next_sid = next_segment_id + 1;
}

void engine_ids_raise(uint64_t next_cid, uint64_t next_sid)
{
    if (next_cid && next_cid - 1 > next_collection_uid) next_collection_uid = next_cid - 1;
    if (next_sid && next_sid - 1 > next_segment_id) next_segment_id = next_sid - 1;
}

segment *collection_add_segment(collection *c, uint64_t sid, uint32_t capacity, int sealed,
                                char *err, size_t errlen)
{
    segment *s = segment_new(c, capacity ? capacity : 1, err, errlen);
    if (!s) return NULL;
    s->id = sid;
    if (sid > next_segment_id) next_segment_id = sid;
    s->sealed = sealed;
    append_segment(c, s);
    return s;
}

void segment_load_row(segment *s, uint32_t r, const char *key, size_t klen, const char *attr,
                      size_t attrlen, int has_attr, float norm, uint64_t ins_lsn)
{
    row_init(s, r, key, klen, has_attr && attrlen > 0 ? attr_make(attr, attrlen) : NULL, norm,
             ins_lsn);
}

void collection_finish_segment(collection *c, segment *s, uint32_t nrows)
{
    for (uint32_t r = 0; r < nrows; r++) {
        if (!seg_visible(s, r, UINT64_MAX)) continue;
        const row_meta *m = seg_row(s, r);
        pkmap_set(&c->pk, pkmap_hash(m->key->data, m->key->len), m->key->data, m->key->len,
                  loc_pack(s->slot, r), pk_eq, c);
        c->live++;
        c->key_bytes += m->key->len;
        if (m->attr) c->attr_count++;
    }
    c->rows_ever += nrows;
    atomic_store_explicit(&s->nrows, nrows, memory_order_release);
}

int collection_has(const collection *c, const char *key, size_t klen)
{
    return pkmap_get(&c->pk, pkmap_hash(key, klen), key, klen, pk_eq, c) != 0;
}

int collection_get_vector(const collection *c, const char *key, size_t klen, float *vec,
                          float *norm)
{
    segment *s;
    uint32_t r;
    if (!collection_locate(c, key, klen, &s, &r)) return 0;
    collection_decode_vector(c, seg_vec(s, r), vec);
    if (norm) *norm = seg_row(s, r)->norm;
    return 1;
}

int collection_get_attr(const collection *c, const char *key, size_t klen, const char **attr,
                        size_t *attrlen)
{
    segment *s;
    uint32_t r;
    if (!collection_locate(c, key, klen, &s, &r)) return 0;
    row_attr *a = seg_row(s, r)->attr;
    *attr = a ? a->raw : NULL;
    *attrlen = a ? a->len : 0;
    return 1;
}

/* --------------------------------------------------------- range, random */

typedef struct keyref {
    const char *p;
    size_t n;
} keyref;

static int keyref_cmp(const void *a, const void *b)
{
    const keyref *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int r = memcmp(x->p, y->p, n);
    if (r) return r;
    return x->n < y->n ? -1 : x->n > y->n;
}

void collection_range(const collection *c, const char *lo, size_t lolen, int lo_incl,
                      const char *hi, size_t hilen, int hi_incl, long count,
                      void (*cb)(void *ctx, const char *key, size_t klen), void *ctx)
{
    /* The primary-key map is a hash: sort the keys in range on demand. It
     * is O(n log n) per call; an ordered secondary index is future work. */
    size_t n = pkmap_size(&c->pk), m = 0, pos = 0;
    keyref *v = xmalloc(sizeof(keyref) * (n ? n : 1));
    uint64_t loc;
    keyref lok = {lo, lolen}, hik = {hi, hilen};
    while (pkmap_next(&c->pk, &pos, &loc)) {
        const row_key *k = loc_row(c, loc)->key;
        keyref x = {k->data, k->len};
        if (lo) {
            int r = keyref_cmp(&x, &lok);
            if (r < 0 || (r == 0 && !lo_incl)) continue;
        }
        if (hi) {
            int r = keyref_cmp(&x, &hik);
            if (r > 0 || (r == 0 && !hi_incl)) continue;
        }
        v[m++] = x;
    }
    qsort(v, m, sizeof(keyref), keyref_cmp);
    for (size_t i = 0; i < m && (count < 0 || (long)i < count); i++) cb(ctx, v[i].p, v[i].n);
    xfree(v);
}

static uint64_t rnd_state = 0x853c49e6748fea9bULL;

static uint64_t rnd64(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* A uniformly random live row (rejection sampling over all rows). */
static row_meta *random_row(const collection *c)
{
    uint64_t total = 0;
    for (int i = 0; i < c->nseg; i++) total += atomic_load(&c->segs[i]->nrows);
    if (c->live == 0 || total == 0) return NULL;
    for (int tries = 0; tries < 64; tries++) {
        uint64_t x = rnd64() % total;
        for (int i = 0; i < c->nseg; i++) {
            uint32_t n = atomic_load(&c->segs[i]->nrows);
            if (x < n) {
                if (seg_visible(c->segs[i], (uint32_t)x, UINT64_MAX)) return seg_row(c->segs[i], (uint32_t)x);
                break;
            }
            x -= n;
        }
    }
    /* Mostly deleted rows: walk from a random start instead. */
    uint64_t x = rnd64() % total;
    for (uint64_t step = 0; step < total; step++, x = (x + 1) % total) {
        uint64_t y = x;
        for (int i = 0; i < c->nseg; i++) {
            uint32_t n = atomic_load(&c->segs[i]->nrows);
            if (y < n) {
                if (seg_visible(c->segs[i], (uint32_t)y, UINT64_MAX)) return seg_row(c->segs[i], (uint32_t)y);
                break;
            }
            y -= n;
        }
    }
    return NULL;
}

void collection_random(const collection *c, long n, int distinct,
                       void (*cb)(void *ctx, const char *key, size_t klen), void *ctx)
{
    if (n <= 0 || c->live == 0) return;
    if (!distinct) {
        for (long i = 0; i < n; i++) {
            row_meta *m = random_row(c);
            if (m) cb(ctx, m->key->data, m->key->len);
        }
        return;
    }
    if ((uint64_t)n >= c->live) { /* everything, in map order */
        size_t pos = 0;
        uint64_t loc;
        while (pkmap_next(&c->pk, &pos, &loc)) {
            const row_key *k = loc_row(c, loc)->key;
            cb(ctx, k->data, k->len);
        }
        return;
    }
    dict *seen = dict_new();
    long got = 0, tries = 0;
    while (got < n && tries < n * 64) {
        tries++;
        row_meta *m = random_row(c);
        if (!m || dict_get(seen, m->key->data, m->key->len)) continue;
        dict_set(seen, m->key->data, m->key->len, (void *)1);
        cb(ctx, m->key->data, m->key->len);
        got++;
    }
    if (got < n) { /* unlucky sampling: complete deterministically */
        size_t pos = 0;
        uint64_t loc;
        while (got < n && pkmap_next(&c->pk, &pos, &loc)) {
            const row_key *k = loc_row(c, loc)->key;
            if (dict_get(seen, k->data, k->len)) continue;
            cb(ctx, k->data, k->len);
            got++;
        }
    }
    dict_free(seen);
}

int collection_max_level(const collection *c)
{
    int m = -1;
    for (int i = 0; i < c->nseg; i++) {
        int l = index_graph_max_level(c->segs[i]->idx);
        if (l > m) m = l;
    }
    return m;
}

int collection_links(const collection *c, const char *key, size_t klen, engine_links *out)
{
    segment *s;
    uint32_t r;
    memset(out, 0, sizeof(*out));
    if (!collection_locate(c, key, klen, &s, &r)) return 0;
    int lvl = r < index_count(s->idx) ? index_graph_node_level(s->idx, r) : -1;
    out->nlevels = lvl < 0 ? 1 : lvl + 1;
    out->at = xcalloc((size_t)out->nlevels, sizeof(engine_link *));
    out->n = xcalloc((size_t)out->nlevels, sizeof(size_t));
    if (lvl < 0) return 1; /* still in the unindexed tail: no links yet */
    /* Removed rows stay in the graph as tombstones that searches still
     * walk through, so a link to one stands for that row's live links (one
     * hop): what a search reaches from this element. */
    size_t cap = (size_t)c->spec.M * 2 + 8;
    uint32_t *ids = xmalloc(sizeof(uint32_t) * cap), *via = xmalloc(sizeof(uint32_t) * cap);
    const void *v = seg_vec(s, r);
    for (int l = 0; l <= lvl; l++) {
        long n = index_graph_links(s->idx, r, (uint32_t)l, ids, cap);
        size_t room = cap;
        out->at[l] = xmalloc(sizeof(engine_link) * room);
        for (long i = 0; i < n; i++) {
            long nv = 1;
            via[0] = ids[i];
            if (!seg_visible(s, ids[i], UINT64_MAX))
                nv = index_graph_links(s->idx, ids[i], (uint32_t)l, via, cap);
            for (long j = 0; j < nv; j++) {
                uint32_t x = via[j];
                if (x == r || !seg_visible(s, x, UINT64_MAX)) continue;
                const row_meta *m = seg_row(s, x);
                int dup = 0;
                for (size_t k = 0; k < out->n[l] && !dup; k++)
                    dup = out->at[l][k].key == m->key->data;
                if (dup) continue;
                if (out->n[l] == room) {
                    room *= 2;
                    out->at[l] = xrealloc(out->at[l], sizeof(engine_link) * room);
                }
                engine_link *e = &out->at[l][out->n[l]++];
                e->key = m->key->data;
                e->klen = m->key->len;
                e->dist = collection_row_dist(c, v, seg_vec(s, x));
            }
        }
    }
    xfree(ids);
    xfree(via);
    return 1;
}

void engine_links_free(engine_links *l)
{
    for (int i = 0; i < l->nlevels; i++) xfree(l->at[i]);
    xfree(l->at);
    xfree(l->n);
    memset(l, 0, sizeof(*l));
}

int collection_segment_info(const collection *c, int i, segment_info *out)
{
    if (i < 0 || i >= c->nseg) return -1;
    segment *s = c->segs[i];
    out->id = s->id;
    out->partition = c->parts[s->partition].name;
    out->state = s->sealed ? "sealed" : "growing";
    out->rows = atomic_load(&s->nrows);
    out->deleted = s->ndeleted;
    out->indexed = atomic_load(&s->indexed);
    out->memory = s->mem + index_memory(s->idx);
    return 0;
}

/* ------------------------------------------------------------ engine */

void engine_init(const engine_hooks *hooks)
{
    if (hooks)
        engine_hk = *hooks;
    else
        memset(&engine_hk, 0, sizeof(engine_hk));
    simd_init();
}

void engine_collection_stats(const collection *c, engine_stats *st)
{
    st->collections++;
    st->rows += c->live;
    st->segments += (uint64_t)c->nseg;
    for (int i = 0; i < c->nseg; i++) {
        segment *s = c->segs[i];
        uint32_t n = atomic_load(&s->nrows), ix = atomic_load(&s->indexed);
        if (ix < n) {
            st->index_jobs_pending++;
            st->rows_unindexed += n - ix;
        }
    }
    st->memory += collection_memory(c);
}
