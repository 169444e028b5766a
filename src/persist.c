/*
 * persist.c -- the write-ahead mutation log, server side (DESIGN.md section
 * 6): with `appendonly yes` the whole database is the `log` column family of
 * one RocksDB database, <dir>/vectis.db, replayed completely at start-up.
 * (Checkpoints of sealed segments to `data` / `index` are a later step; so
 * is the LOADING state: the log is replayed before the server listens.)
 *
 * Write path (group commit). The engine calls persist's log hook once per
 * LSN with the resolved records of a mutation (record.h); the hook encodes
 * them as one LOG value and adds it to the batch of the current event-loop
 * turn, remembering which client caused it. server_run calls
 * persist_commit() after each turn and before net_before_sleep() writes the
 * replies: the batch goes to RocksDB in one storage_write, synced when
 * `appendfsync always`. Under `everysec` the loop never waits: a thread
 * calls storage_sync_wal once a second when something was written; under
 * `no` the OS decides. A client whose socket was backed up has its write
 * event armed, which could send an acknowledgement in the middle of a turn;
 * the hook disarms it (net_before_sleep re-arms it after the commit).
 *
 * Failure. If the batch cannot be written (disk full, unwritable dir) or a
 * background sync fails, the server goes MISCONF: the error is logged,
 * every later write command is refused with -MISCONF (the dispatcher in
 * commands.c asks persist_write_refused() for every write command), reads go on, and the clients whose writes
 * were in the failed batch are closed with their pending replies dropped,
 * so no acknowledgement of an unlogged write leaves the server. The
 * in-memory state keeps those writes (they were applied before the write
 * failed); nothing acknowledged is lost. Clearing MISCONF needs a restart.
 *
 * Ownership: persist owns the storage handle, the batch, the encode buffer
 * and the client id list. Threads: everything runs on the main thread
 * except sync_thread_main, which touches only the storage handle (RocksDB
 * is thread-safe) and the atomics below.
 *
 * Rejected: a write per command (one fsync per command under `always`,
 * where a pipeline of N writes can share one); syncing from a worker job
 * queued by the cron (the pool is shared with searches, and a slow fsync
 * would occupy a search thread); closing every client on failure (readers
 * did nothing wrong).
 */
#include "persist.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "client.h"
#include "dict.h"
#include "engine/engine.h"
#include "engine/record.h"
#include "engine/storage.h"
#include "log.h"
#include "networking.h"
#include "server.h"
#include "util.h"

#define PERSIST_SYNC_PERIOD_MS 1000 /* appendfsync everysec */

int persist_appendfsync = PERSIST_FSYNC_EVERYSEC;
long long persist_block_cache = (long long)STORAGE_DEFAULT_CACHE_BYTES;
int persist_bg_jobs = STORAGE_DEFAULT_BG_JOBS;

static storage *st;
static storage_batch *batch;
static rec_buf enc;
static uint64_t *ids; /* clients whose writes are in the batch */
static size_t nids, idcap;
static uint64_t batch_last_lsn, last_written_lsn;
static int misconf;
static char last_error[256];

static pthread_t sync_thread;
static int sync_running;
static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cv = PTHREAD_COND_INITIALIZER;
static int sync_stop;            /* under sync_mu */
static atomic_int sync_needed;   /* a write since the last sync (everysec) */
static atomic_int sync_failed;   /* the thread's sync failed: main thread goes MISCONF */
static char sync_error[256];     /* written by the thread before sync_failed */

int persist_enabled(void)
{
    return st != NULL;
}

/* ------------------------------------------------------------ the hook */

static void persist_log(uint64_t lsn, const struct rec_mutation *m, size_t n)
{
    rec_encode_log(&enc, lsn, m, n);
    storage_batch_put_log(batch, lsn, enc.p, enc.len);
    batch_last_lsn = lsn;
    client *c = srv.current_client;
    if (!c) return;
    if (!nids || ids[nids - 1] != c->id) {
        if (nids == idcap) {
            idcap = idcap ? idcap * 2 : 16;
            ids = xrealloc(ids, sizeof(uint64_t) * idcap);
        }
        ids[nids++] = c->id;
    }
    if (c->flags & CLIENT_WRITE_EV) { /* no acknowledgement before the commit */
        event_del(c->wev);
        c->flags &= ~CLIENT_WRITE_EV;
        client_add_pending_write(c);
    }
}

/* ------------------------------------------------------------ commit */

static void go_misconf(const char *why)
{
    if (!misconf) log_warning("Error writing to the mutation log: %s. Writes are refused.", why);
    misconf = 1;
    snprintf(last_error, sizeof(last_error), "%s", why);
}

void persist_commit(void)
{
    if (!st) return;
    if (atomic_load(&sync_failed)) go_misconf(sync_error);
    if (storage_batch_count(batch) == 0) {
        nids = 0;
        return;
    }
    char err[256];
    int always = persist_appendfsync == PERSIST_FSYNC_ALWAYS;
    if (!misconf && storage_write(st, batch, always, err, sizeof(err)) == 0) {
        last_written_lsn = batch_last_lsn;
        if (persist_appendfsync == PERSIST_FSYNC_EVERYSEC) atomic_store(&sync_needed, 1);
    } else {
        if (!misconf) go_misconf(err);
        /* No acknowledgement of these writes may leave: drop the clients. */
        for (size_t i = 0; i < nids; i++) {
            client *c = dict_get_u64(srv.clients_by_id, ids[i]);
            if (!c) continue;
            log_warning("Closing client id=%llu addr=%s: its writes could not be logged",
                        (unsigned long long)c->id, c->addr);
            resp_buf_free(&c->out);
            client_free(c);
        }
    }
    storage_batch_clear(batch);
    nids = 0;
}

int persist_write_refused(void)
{
    return misconf;
}

/* ------------------------------------------------------------ sync thread */

static void *sync_thread_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&sync_mu);
    while (!sync_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += PERSIST_SYNC_PERIOD_MS / 1000;
        pthread_cond_timedwait(&sync_cv, &sync_mu, &ts);
        if (sync_stop) break;
        if (!atomic_exchange(&sync_needed, 0)) continue;
        pthread_mutex_unlock(&sync_mu);
        char err[256];
        if (storage_sync_wal(st, err, sizeof(err)) != 0 && !atomic_load(&sync_failed)) {
            snprintf(sync_error, sizeof(sync_error), "%s", err);
            atomic_store(&sync_failed, 1);
        }
        pthread_mutex_lock(&sync_mu);
    }
    pthread_mutex_unlock(&sync_mu);
    return NULL;
}

/* ------------------------------------------------------------ start, stop */

typedef struct replay_ctx {
    engine_replay *r;
    char err[512];
} replay_ctx;

static int replay_cb(void *arg, uint64_t lsn, const void *val, size_t vlen)
{
    replay_ctx *x = arg;
    return engine_replay_apply(x->r, lsn, val, vlen, x->err, sizeof(x->err)) != 0;
}

int persist_start(void)
{
    if (!srv.appendonly) return 0;
    char dir[PATH_MAX], path[PATH_MAX + 16], err[512];
    /* Absolute, so a later CONFIG SET dir (a chdir) does not move it. */
    if (!realpath(srv.dir && srv.dir[0] ? srv.dir : ".", dir)) {
        log_warning("Can't resolve dir '%s': %s", srv.dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, PERSIST_DB_NAME);
    storage_options o = {0};
    o.block_cache_bytes = (size_t)persist_block_cache;
    o.max_background_jobs = persist_bg_jobs;
    st = storage_open(path, &o, err, sizeof(err));
    if (!st) {
        log_warning("Can't open the database %s: %s", path, err);
        return -1;
    }
    long long t0 = util_mstime();
    replay_ctx x = {engine_replay_new(), ""};
    int rc = storage_replay_log(st, 0, replay_cb, &x, err, sizeof(err));
    uint64_t nrec = engine_replay_records(x.r);
    engine_replay_free(x.r);
    if (rc != 0) {
        log_warning("Can't load the mutation log of %s: %s", path, rc == 1 ? x.err : err);
        storage_close(st);
        st = NULL;
        return -1;
    }
    log_notice("DB loaded from mutation log: %llu records in %.3f seconds",
               (unsigned long long)nrec, (double)(util_mstime() - t0) / 1000.0);
    last_written_lsn = engine_lsn();
    batch = storage_batch_new(st);
    engine_set_log(persist_log);
    sync_stop = 0;
    if (pthread_create(&sync_thread, NULL, sync_thread_main, NULL) == 0) sync_running = 1;
    return 0;
}

void persist_stop(void)
{
    if (!st) return;
    persist_commit();
    engine_set_log(NULL);
    if (sync_running) {
        pthread_mutex_lock(&sync_mu);
        sync_stop = 1;
        pthread_cond_signal(&sync_cv);
        pthread_mutex_unlock(&sync_mu);
        pthread_join(sync_thread, NULL);
        sync_running = 0;
    }
    char err[256];
    if (!misconf && storage_sync_wal(st, err, sizeof(err)) != 0)
        log_warning("Syncing the mutation log at shutdown: %s", err);
    if (!misconf && storage_flush(st, err, sizeof(err)) != 0)
        log_warning("Flushing the database at shutdown: %s", err);
    storage_batch_free(batch);
    batch = NULL;
    storage_close(st);
    st = NULL;
    rec_buf_free(&enc);
    xfree(ids);
    ids = NULL;
    nids = idcap = 0;
}

/* ------------------------------------------------------------ INFO */

void persist_info(char *buf, size_t buflen)
{
    static const char *const fsync_names[] = {"always", "everysec", "no"};
    int n = snprintf(buf, buflen,
                     "aof_enabled:%d\r\n"
                     "aof_fsync:%s\r\n"
                     "aof_last_write_status:%s\r\n"
                     "aof_last_lsn:%llu\r\n",
                     st ? 1 : 0, fsync_names[persist_appendfsync % 3], misconf ? "err" : "ok",
                     (unsigned long long)last_written_lsn);
    if (st && n > 0 && (size_t)n < buflen) storage_stats(st, buf + n, buflen - (size_t)n);
}
