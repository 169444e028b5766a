/*
 * replay.c -- rebuilds the engine's state from the mutation log (record.h
 * LOG values, in LSN order): the start-up half of the write-ahead log whose
 * writing half is the engine's log hook (engine_set_log).
 *
 * The log names collections by their persistent id, the keyspace by name,
 * so an engine_replay keeps a map cid -> current key name, maintained by the
 * records themselves (CREATE adds, RENAME renames, DROP and FLUSH_ALL
 * remove). Rows are applied through the collection's apply entry points,
 * which take the stored form (no normalisation, projection or
 * binarisation: the bytes are the segment column's) and the record's LSN,
 * so a replayed row has the LSN it had when it was written.
 *
 * Strictness: the log is the engine's own output, so anything it does not
 * describe exactly -- a value that fails to decode, a record naming an
 * unknown collection, a DELETE of a missing key, a CREATE of an existing
 * name, a vector of the wrong size -- is corruption or a bug, and replay
 * stops with a message naming the LSN rather than serve a state that is not
 * the acknowledged one. A log value is validated whole (rec_log_decode)
 * before any of its mutations is applied.
 *
 * While applying, the log hook is switched off, so replay never writes the
 * records it reads back into the log. The engine's LSN counter ends at the
 * largest LSN applied, the collection id counter above every id seen
 * (collection_new_id).
 *
 * Ownership: the replay owns its map and the names in it; collections
 * belong to the keyspace as usual. Main thread only.
 *
 * Rejected: finding a collection by scanning the keyspace for its id on
 * every record (O(collections) per row); keeping the id map in db.c for
 * the server's lifetime (only replay needs it, and only until checkpoints
 * store names in meta).
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "dict.h"
#include "engine/collection_impl.h"
#include "engine/engine.h"
#include "engine/record.h"

typedef struct replay_name {
    uint32_t len;
    char data[];
} replay_name;

struct engine_replay {
    dict *names; /* cid (u64) -> replay_name */
    uint64_t records;
};

static replay_name *name_new(const char *p, size_t n)
{
    replay_name *r = xmalloc(sizeof(*r) + n + 1);
    r->len = (uint32_t)n;
    memcpy(r->data, p, n);
    r->data[n] = '\0';
    return r;
}

static void seed_name(void *ctx, const char *key, size_t klen, collection *c)
{
    engine_replay *r = ctx;
    dict_set_u64(r->names, c->uid, name_new(key, klen));
}

engine_replay *engine_replay_new(void)
{
    engine_replay *r = xcalloc(1, sizeof(*r));
    r->names = dict_new();
    /* Collections loaded from a checkpoint are named by the keyspace. */
    db_foreach(seed_name, r);
    return r;
}

static void names_clear(engine_replay *r)
{
    dict_iter it;
    void *v;
    dict_iter_init(&it, r->names);
    while (dict_iter_next(&it, NULL, NULL, &v)) xfree(v);
    dict_free(r->names);
    r->names = dict_new();
}

void engine_replay_free(engine_replay *r)
{
    if (!r) return;
    names_clear(r);
    dict_free(r->names);
    xfree(r);
}

uint64_t engine_replay_records(const engine_replay *r)
{
    return r->records;
}

/* The collection of cid, or NULL with a message. */
static collection *find(engine_replay *r, uint64_t cid, uint64_t lsn, const char *op, char *err,
                        size_t errlen)
{
    replay_name *n = dict_get_u64(r->names, cid);
    collection *c = n ? db_lookup(n->data, n->len) : NULL;
    if (!c || c->uid != cid)
        snprintf(err, errlen, "log lsn %llu: %s names unknown collection %llu",
                 (unsigned long long)lsn, op, (unsigned long long)cid);
    return c && c->uid == cid ? c : NULL;
}

static int apply_one(engine_replay *r, uint64_t lsn, const rec_mutation *m, char *err,
                     size_t errlen)
{
    collection *c;
    replay_name *n;
    switch (m->op) {
    case REC_OP_CREATE_COLLECTION: {
        if (db_lookup(m->name, m->name_len) || dict_get_u64(r->names, m->cid)) {
            snprintf(err, errlen, "log lsn %llu: CREATE_COLLECTION %llu over an existing key",
                     (unsigned long long)lsn, (unsigned long long)m->cid);
            return -1;
        }
        char cerr[256];
        c = collection_new_id(&m->spec, m->cid, cerr, sizeof(cerr));
        if (!c) {
            snprintf(err, errlen, "log lsn %llu: CREATE_COLLECTION %llu: %s",
                     (unsigned long long)lsn, (unsigned long long)m->cid, cerr);
            return -1;
        }
        db_add(m->name, m->name_len, c);
        dict_set_u64(r->names, m->cid, name_new(m->name, m->name_len));
        return 0;
    }
    case REC_OP_DROP_COLLECTION:
        if (!find(r, m->cid, lsn, "DROP_COLLECTION", err, errlen)) return -1;
        n = dict_del_u64(r->names, m->cid);
        db_delete(n->data, n->len);
        xfree(n);
        return 0;
    case REC_OP_RENAME:
        if (!find(r, m->cid, lsn, "RENAME", err, errlen)) return -1;
        if (db_lookup(m->name, m->name_len)) {
            snprintf(err, errlen, "log lsn %llu: RENAME of collection %llu over an existing key",
                     (unsigned long long)lsn, (unsigned long long)m->cid);
            return -1;
        }
        n = dict_get_u64(r->names, m->cid);
        db_rename(n->data, n->len, m->name, m->name_len);
        xfree(dict_set_u64(r->names, m->cid, name_new(m->name, m->name_len)));
        return 0;
    case REC_OP_FLUSH_ALL:
        db_flush();
        names_clear(r);
        return 0;
    case REC_OP_INSERT:
        c = find(r, m->cid, lsn, "INSERT", err, errlen);
        if (!c) return -1;
        if (collection_apply_insert(c, m->key, m->key_len, m->vec, m->vec_len, m->norm,
                                    m->has_attr ? m->attr : NULL, m->has_attr ? m->attr_len : 0,
                                    lsn) != 0) {
            snprintf(err, errlen, "log lsn %llu: INSERT into collection %llu: vector of %u bytes, "
                     "the collection stores %zu", (unsigned long long)lsn,
                     (unsigned long long)m->cid, m->vec_len,
                     index_elem_row_bytes(c->spec.elem, c->spec.dim));
            return -1;
        }
        return 0;
    case REC_OP_DELETE:
        c = find(r, m->cid, lsn, "DELETE", err, errlen);
        if (!c) return -1;
        if (!collection_apply_delete(c, m->key, m->key_len, lsn)) {
            snprintf(err, errlen, "log lsn %llu: DELETE of a missing key in collection %llu",
                     (unsigned long long)lsn, (unsigned long long)m->cid);
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "log lsn %llu: unknown mutation %d", (unsigned long long)lsn, m->op);
    return -1;
}

int engine_replay_apply(engine_replay *r, uint64_t lsn, const void *val, size_t len, char *err,
                        size_t errlen)
{
    rec_log_iter it;
    rec_mutation m;
    char derr[256];
    if (rec_log_decode(val, len, lsn, &it, derr, sizeof(derr)) != 0) {
        snprintf(err, errlen, "log lsn %llu: %s", (unsigned long long)lsn, derr);
        return -1;
    }
    engine_log_fn saved = engine_log_hook;
    engine_log_hook = NULL;
    int rc = 0;
    while (rc == 0 && rec_log_next(&it, &m)) {
        rc = apply_one(r, lsn, &m, err, errlen);
        if (rc == 0) r->records++;
    }
    engine_log_hook = saved;
    if (lsn > engine_lsn_counter) engine_lsn_counter = lsn;
    return rc;
}
