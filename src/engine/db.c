/*
 * db.c -- the keyspace: key name -> collection (one database, db 0).
 *
 * The keyspace holds one reference on each collection. Deleting a key drops
 * that reference; the collection goes when the last search that uses it
 * finishes, and its big segments are freed on a worker (segment_unref), so
 * DEL of a large collection never stalls the loop. Main thread only.
 *
 * Keyspace changes are mutations too: with a mutation log hook set
 * (engine_set_log), db_add logs CREATE_COLLECTION (persistent id, name,
 * full spec), db_delete DROP_COLLECTION, db_rename RENAME (after a DROP of
 * the overwritten destination, at the same LSN) and db_flush FLUSH_ALL,
 * each at a fresh LSN. engine_shutdown empties the keyspace without
 * logging: it is the process going away, not a FLUSHALL.
 */
#include <string.h>

#include "alloc.h"
#include "dict.h"
#include "engine/collection_impl.h"
#include "engine/engine.h"
#include "engine/record.h"

static dict *keyspace;

static dict *ks(void)
{
    if (!keyspace) keyspace = dict_new();
    return keyspace;
}

collection *db_lookup(const char *key, size_t klen)
{
    return dict_get(ks(), key, klen);
}

static void db_log(const rec_mutation *m, size_t n)
{
    if (engine_log_hook) engine_log_hook(++engine_lsn_counter, m, n);
}

/* A dropped collection whose data is in the database: the next checkpoint
 * deletes its key ranges; ask for one soon. */
static void db_dropped(const collection *c)
{
    if (!engine_log_hook || !engine_hk.checkpoint_wanted) return;
    for (int i = 0; i < c->nseg; i++)
        if (c->segs[i]->ck_rows) {
            engine_hk.checkpoint_wanted();
            return;
        }
}

void db_add(const char *key, size_t klen, collection *c)
{
    collection *old = dict_set(ks(), key, klen, c);
    if (engine_log_hook) {
        rec_mutation m[2];
        size_t n = 0;
        memset(m, 0, sizeof(m));
        if (old) { /* callers add new keys only; keep the log exact anyway */
            m[n].op = REC_OP_DROP_COLLECTION;
            m[n++].cid = old->uid;
        }
        m[n].op = REC_OP_CREATE_COLLECTION;
        m[n].cid = c->uid;
        m[n].name = key;
        m[n].name_len = (uint32_t)klen;
        m[n++].spec = c->spec;
        db_log(m, n);
    }
    if (old) collection_unref(old);
}

int db_delete(const char *key, size_t klen)
{
    collection *c = dict_del(ks(), key, klen);
    if (!c) return 0;
    if (engine_log_hook) {
        rec_mutation m;
        memset(&m, 0, sizeof(m));
        m.op = REC_OP_DROP_COLLECTION;
        m.cid = c->uid;
        db_log(&m, 1);
    }
    db_dropped(c);
    collection_unref(c);
    return 1;
}

int db_rename(const char *src, size_t slen, const char *dst, size_t dlen)
{
    collection *c = dict_get(ks(), src, slen);
    if (!c) return -1;
    if (slen == dlen && memcmp(src, dst, slen) == 0) return 0;
    dict_del(ks(), src, slen);
    collection *old = dict_set(ks(), dst, dlen, c);
    if (engine_log_hook) {
        rec_mutation m[2];
        size_t n = 0;
        memset(m, 0, sizeof(m));
        if (old) {
            m[n].op = REC_OP_DROP_COLLECTION;
            m[n++].cid = old->uid;
        }
        m[n].op = REC_OP_RENAME;
        m[n].cid = c->uid;
        m[n].name = dst;
        m[n++].name_len = (uint32_t)dlen;
        db_log(m, n);
    }
    if (old) {
        db_dropped(old);
        collection_unref(old);
    }
    return 0;
}

size_t db_size(void)
{
    return dict_size(ks());
}

static void db_clear(void)
{
    dict *old = ks();
    keyspace = dict_new();
    dict_iter it;
    void *v;
    dict_iter_init(&it, old);
    while (dict_iter_next(&it, NULL, NULL, &v)) {
        db_dropped(v);
        collection_unref(v);
    }
    dict_free(old);
}

void db_flush(void)
{
    if (engine_log_hook) {
        rec_mutation m;
        memset(&m, 0, sizeof(m));
        m.op = REC_OP_FLUSH_ALL;
        db_log(&m, 1);
    }
    db_clear();
}

typedef struct scan_ctx {
    void (*cb)(void *ctx, const char *key, size_t klen, collection *c);
    void *ctx;
    long seen;
} scan_ctx;

static void scan_cb(void *arg, const void *key, size_t klen, void *val)
{
    scan_ctx *s = arg;
    s->cb(s->ctx, key, klen, val);
    s->seen++;
}

uint64_t db_scan(uint64_t cursor, long count,
                 void (*cb)(void *ctx, const char *key, size_t klen, collection *c), void *ctx)
{
    scan_ctx s = {cb, ctx, 0};
    long buckets = 0;
    do {
        cursor = dict_scan(ks(), cursor, scan_cb, &s);
        buckets++;
    } while (cursor != 0 && s.seen < count && buckets < count * 10);
    return cursor;
}

const char *db_random_key(size_t *klen)
{
    const void *k;
    if (!dict_random(ks(), &k, klen, NULL)) return NULL;
    return k;
}

void db_foreach(void (*cb)(void *ctx, const char *key, size_t klen, collection *c), void *ctx)
{
    dict_iter it;
    const void *k;
    size_t kl;
    void *v;
    dict_iter_init(&it, ks());
    while (dict_iter_next(&it, &k, &kl, &v)) cb(ctx, k, kl, v);
}

static void stats_cb(void *ctx, const char *key, size_t klen, collection *c)
{
    (void)key;
    (void)klen;
    engine_collection_stats(c, ctx);
}

void engine_get_stats(engine_stats *st)
{
    memset(st, 0, sizeof(*st));
    db_foreach(stats_cb, st);
    st->index_rows_added = engine_index_rows_added;
    st->index_rows_added_parallel = engine_index_rows_added_parallel;
}

void engine_shutdown(void)
{
    if (!keyspace) return;
    db_clear();
    dict_free(keyspace);
    keyspace = NULL;
}
