/*
 * cmd_keys.c -- generic key commands over collections: DEL, UNLINK, EXISTS,
 * TYPE, KEYS, SCAN, RENAME, RENAMENX, RANDOMKEY, FLUSHALL, FLUSHDB, DBSIZE.
 * Every key is a collection (TYPE `vectorset`). Replies and errors are
 * Redis's. DEL and UNLINK are the same here: the keyspace drops its
 * reference at once and a large collection is freed on a worker after the
 * last search using it finishes, so neither blocks the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "commands.h"
#include "engine/engine.h"
#include "util.h"

void cmd_del(client *c, int argc, char **argv, size_t *lens)
{
    long long n = 0;
    for (int i = 1; i < argc; i++) n += db_delete(argv[i], lens[i]);
    resp_add_integer(&c->out, n);
}

void cmd_exists(client *c, int argc, char **argv, size_t *lens)
{
    long long n = 0;
    for (int i = 1; i < argc; i++) n += db_lookup(argv[i], lens[i]) != NULL;
    resp_add_integer(&c->out, n);
}

void cmd_type(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    resp_add_simple(&c->out, db_lookup(argv[1], lens[1]) ? "vectorset" : "none");
}

typedef struct keys_ctx {
    resp_buf *o;
    const char *pat;
    size_t patlen;
    long n;
    int allmatch;
} keys_ctx;

static void keys_cb(void *ctx, const char *key, size_t klen, collection *coll)
{
    keys_ctx *k = ctx;
    (void)coll;
    if (k->allmatch || util_glob_match(k->pat, k->patlen, key, klen, 0)) {
        resp_add_bulk(k->o, key, klen);
        k->n++;
    }
}

void cmd_keys(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    keys_ctx k = {&c->out, argv[1], lens[1], 0, lens[1] == 1 && argv[1][0] == '*'};
    size_t h = resp_add_deferred(&c->out);
    db_foreach(keys_cb, &k);
    resp_set_deferred(&c->out, h, RESP_AGG_ARRAY, k.n);
}

typedef struct scan_ctx {
    char **keys;
    size_t *lens;
    size_t n, cap;
} scan_ctx;

static void scan_collect(void *ctx, const char *key, size_t klen, collection *coll)
{
    scan_ctx *s = ctx;
    (void)coll;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->keys = xrealloc(s->keys, sizeof(char *) * s->cap);
        s->lens = xrealloc(s->lens, sizeof(size_t) * s->cap);
    }
    s->keys[s->n] = xstrndup(key, klen);
    s->lens[s->n++] = klen;
}

void cmd_scan(client *c, int argc, char **argv, size_t *lens)
{
    unsigned long long cursor = 0;
    long long count = 10;
    const char *pat = NULL, *type = NULL;
    size_t patlen = 0, typelen = 0;
    char *end;
    char buf[32];

    if (lens[1] == 0 || lens[1] >= sizeof(buf)) {
        reply_error(c, "ERR invalid cursor");
        return;
    }
    memcpy(buf, argv[1], lens[1]);
    buf[lens[1]] = '\0';
    cursor = strtoull(buf, &end, 10);
    if (*end || buf[0] == '-') {
        reply_error(c, "ERR invalid cursor");
        return;
    }
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc) {
            reply_syntax_error(c);
            return;
        }
        if (util_eqcase(argv[i], lens[i], "match")) {
            pat = argv[i + 1];
            patlen = lens[i + 1];
        } else if (util_eqcase(argv[i], lens[i], "count")) {
            if (!util_str2ll(argv[i + 1], lens[i + 1], &count)) {
                reply_not_integer(c);
                return;
            }
            if (count < 1) {
                reply_syntax_error(c);
                return;
            }
        } else if (util_eqcase(argv[i], lens[i], "type")) {
            type = argv[i + 1];
            typelen = lens[i + 1];
        } else {
            reply_syntax_error(c);
            return;
        }
    }
    scan_ctx s = {NULL, NULL, 0, 0};
    uint64_t next = db_scan(cursor, (long)count, scan_collect, &s);
    resp_add_array(&c->out, 2);
    resp_add_bulk_ll(&c->out, (long long)next);
    size_t h = resp_add_deferred(&c->out);
    long n = 0;
    int type_ok = !type || util_eqcase(type, typelen, "vectorset");
    for (size_t i = 0; i < s.n; i++) {
        if (type_ok && (!pat || util_glob_match(pat, patlen, s.keys[i], s.lens[i], 0))) {
            resp_add_bulk(&c->out, s.keys[i], s.lens[i]);
            n++;
        }
        xfree(s.keys[i]);
    }
    resp_set_deferred(&c->out, h, RESP_AGG_ARRAY, n);
    xfree(s.keys);
    xfree(s.lens);
}

void cmd_rename(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    if (db_rename(argv[1], lens[1], argv[2], lens[2]) != 0) {
        reply_error(c, "ERR no such key");
        return;
    }
    reply_ok(c);
}

void cmd_renamenx(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    if (!db_lookup(argv[1], lens[1])) {
        reply_error(c, "ERR no such key");
        return;
    }
    if (db_lookup(argv[2], lens[2])) {
        resp_add_integer(&c->out, 0);
        return;
    }
    db_rename(argv[1], lens[1], argv[2], lens[2]);
    resp_add_integer(&c->out, 1);
}

void cmd_randomkey(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    size_t kl;
    const char *k = db_random_key(&kl);
    if (k)
        resp_add_bulk(&c->out, k, kl);
    else
        resp_add_null(&c->out);
}

void cmd_flushall(client *c, int argc, char **argv, size_t *lens)
{
    if (argc > 2 || (argc == 2 && !util_eqcase(argv[1], lens[1], "async") &&
                     !util_eqcase(argv[1], lens[1], "sync"))) {
        reply_syntax_error(c);
        return;
    }
    db_flush(); /* large collections are freed on workers either way */
    reply_ok(c);
}

void cmd_dbsize(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    resp_add_integer(&c->out, (long long)db_size());
}

/* OBJECT ENCODING | REFCOUNT | IDLETIME | FREQ | HELP: every key is a
 * collection, reported like a Redis module key (encoding "raw"). Access
 * times are not tracked (noeviction), so IDLETIME is 0. */
void cmd_object_encoding(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    if (db_lookup(argv[2], lens[2]))
        resp_add_bulk_cstr(&c->out, "raw");
    else
        resp_add_null(&c->out);
}

void cmd_object_refcount(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    if (db_lookup(argv[2], lens[2]))
        resp_add_integer(&c->out, 1);
    else
        resp_add_null(&c->out);
}

void cmd_object_idletime(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    if (db_lookup(argv[2], lens[2]))
        resp_add_integer(&c->out, 0);
    else
        resp_add_null(&c->out);
}

void cmd_object_freq(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    if (!db_lookup(argv[2], lens[2])) {
        resp_add_null(&c->out);
        return;
    }
    reply_error(c, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
                   "Please note that when switching between policies at runtime LRU and LFU "
                   "data will take some time to adjust.");
}

void cmd_object_help(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    static const char *const lines[] = {
        "ENCODING <key>",
        "    \"raw\": collections are reported like module values. Nil for a missing <key>.",
        "FREQ <key>",
        "    Always an error: accesses are counted only under an LFU eviction policy, and",
        "    vectis has none. Nil for a missing <key>.",
        "IDLETIME <key>",
        "    0: vectis does not record when a key was last used. Nil for a missing <key>.",
        "REFCOUNT <key>",
        "    1: vectis never shares a value between keys. Nil for a missing <key>.",
        NULL,
    };
    reply_help(c, "OBJECT", lines);
}
