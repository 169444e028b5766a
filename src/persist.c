/*
 * persist.c -- the write-ahead mutation log, server side (DESIGN.md section
 * 6): with `appendonly yes` every write goes to the log files of
 * <dir>/vectis.log (engine/wal.c: why files and not a RocksDB column
 * family); checkpoints (engine/checkpoint.c) move the state into the
 * `meta` / `data` / `index` families of one RocksDB database,
 * <dir>/vectis.db, and delete the log files they cover. A database written
 * before the log moved to files may still hold entries in its `log`
 * family: they are replayed first, and the next checkpoint deletes them.
 *
 * Start-up (LOADING). The server listens first; persist_start then loads
 * the last checkpoint and replays the log after it, and every few
 * milliseconds of that work runs the event loop once without blocking
 * (server_loading_yield), so clients connect, INFO answers (loading:1 and
 * progress), and data commands get -LOADING from the dispatcher. A
 * SHUTDOWN or signal during loading stops it and the process exits without
 * writing anything.
 *
 * Checkpoints run as a background job on a worker: SAVE (the caller waits
 * for it, others do not), BGSAVE, a `save <seconds> <changes>` point, the
 * engine's request (a sealed segment's index is complete) and SHUTDOWN
 * (inline, after waiting for one in flight). One at a time.
 *
 * Write path (group commit). The engine calls persist's log hook once per
 * LSN with the resolved records of a mutation (record.h); the hook encodes
 * them as one LOG value and adds it to the frame of the current event-loop
 * turn, remembering which client caused it. server_run calls
 * persist_commit() after each turn and before net_before_sleep() writes the
 * replies: the frame goes to the current log file in one write(2),
 * fdatasync'd when `appendfsync always`. Under `everysec` the loop never
 * waits: a thread calls wal_sync once a second when something was written;
 * under `no` the OS decides (the thread only closes rotated-out files).
 * A checkpoint first commits the turn's frame and rotates the log, so the
 * files before the new one hold exactly the LSNs it covers; its job
 * deletes them once the checkpoint is durable. A client whose socket was backed up has its write
 * event armed, which could send an acknowledgement in the middle of a turn;
 * the hook disarms it (net_before_sleep re-arms it after the commit).
 *
 * Failure. If the frame cannot be written (disk full, unwritable dir) or a
 * background sync fails, the server goes MISCONF: the error is logged,
 * every later write command is refused with -MISCONF (the dispatcher in
 * commands.c asks persist_write_refused() for every write command), reads
 * go on, and the clients whose writes were in the failed frame are closed
 * with their pending replies dropped, so no acknowledgement of an unlogged
 * write leaves the server. The in-memory state keeps those writes (they
 * were applied before the write failed); nothing acknowledged is lost.
 * Clearing MISCONF needs a restart. To keep a filling disk from getting
 * there, writes are also refused while dir's free space is below
 * min-free-disk (checked by the cron), and accepted again once it is not.
 *
 * Ownership: persist owns the storage and log handles, the encode buffer,
 * the client id list and the checkpoint in flight. Threads: everything runs
 * on the main thread except sync_thread_main, which touches only wal_sync
 * (thread-safe) and the atomics below, and the checkpoint job's run step
 * (engine_checkpoint_write, then wal_drop_before, also thread-safe).
 *
 * Rejected: a write per command (one fsync per command under `always`,
 * where a pipeline of N writes can share one); syncing from a worker job
 * queued by the cron (the pool is shared with searches, and a slow fsync
 * would occupy a search thread); handing the everysec batches to a writer
 * thread and holding the replies until it wrote them (measured when the
 * log was a RocksDB family: the pipelined clients then wait a thread
 * hand-off per turn, 0.5x the in-memory VADD rate against 0.55-0.75x for
 * writing on the loop); closing every client on failure (readers did
 * nothing wrong); loading before listening (clients that connect
 * during a long load would time out instead of seeing LOADING); loading on
 * a separate thread (the keyspace is main-thread state; yielding from the
 * loader keeps it single-threaded).
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
#include <sys/statvfs.h>
#include <time.h>

#include "alloc.h"
#include "client.h"
#include "dict.h"
#include "engine/engine.h"
#include "engine/record.h"
#include "engine/storage.h"
#include "engine/wal.h"
#include "log.h"
#include "networking.h"
#include "server.h"
#include "util.h"
#include "workers.h"

#define PERSIST_SYNC_PERIOD_MS 1000 /* appendfsync everysec */
#define PERSIST_RETRY_MS 5000       /* after a failed checkpoint, before a scheduled retry */
#define PERSIST_YIELD_MS 20         /* loading: work between two turns of the event loop */
#define PERSIST_MAX_SAVE_POINTS 16

int persist_appendfsync = PERSIST_FSYNC_EVERYSEC;
long long persist_block_cache = (long long)STORAGE_DEFAULT_CACHE_BYTES;
int persist_bg_jobs = STORAGE_DEFAULT_BG_JOBS;

static storage *st;
static wal *wl;
static rec_buf enc;
static uint64_t *ids; /* clients whose writes are in the frame */
static size_t nids, idcap;
static uint64_t batch_last_lsn, last_written_lsn;
static int misconf;
static int low_disk; /* free space below min-free-disk */
long long persist_min_free_disk = PERSIST_DEFAULT_MIN_FREE;
static char last_error[256];

static pthread_t sync_thread;
static int sync_running;
static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cv = PTHREAD_COND_INITIALIZER;
static int sync_stop;            /* under sync_mu */
static atomic_int sync_needed;   /* a write since the last sync (everysec) */
static atomic_int sync_failed;   /* the thread's sync failed: main thread goes MISCONF */
static char sync_error[256];     /* written by the thread before sync_failed */

/* Checkpoints (main thread). */
typedef struct ck_job {
    job base;
    engine_checkpoint *k;
    uint64_t drop_seq; /* log files below this one are in the checkpoint; 0 = keep all */
    uint64_t keep_bytes; /* but keep this much recent log (repl-backlog-size) */
    char drop_err[256];  /* deleting them failed (costs disk space only) */
    int rc;
    int orphan;      /* finished by persist_stop: complete() only frees */
    atomic_int ran;  /* run() returned */
} ck_job;

static ck_job *ck_running;
static char data_dir[PATH_MAX]; /* absolute: where the database and the log are */
static int ck_wanted;            /* the engine asked, or BGSAVE SCHEDULE */
static long long ck_started_ms, ck_last_ms, ck_last_try_ms;
static double ck_last_secs = -1;
static uint64_t ck_last_lsn, ck_last_bytes, ck_count;
static int ck_last_ok = 1;
static struct { long long secs, changes; } save_points[PERSIST_MAX_SAVE_POINTS];
static int nsave_points;

/* Loading. */
int persist_key_load_delay;
static int loading_aborted;
static long long loading_start_ms, loading_yield_ms;
static uint64_t loading_bytes, loading_total, loading_records;

int persist_enabled(void)
{
    return st != NULL;
}

const char *persist_dir(void)
{
    return st ? data_dir : NULL;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ------------------------------------------------------------ the hook */

static void persist_log(uint64_t lsn, const struct rec_mutation *m, size_t n)
{
    rec_encode_log(&enc, lsn, m, n);
    wal_append(wl, lsn, enc.p, enc.len);
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
    if (wal_pending(wl) == 0) {
        nids = 0;
        return;
    }
    char err[256];
    int always = persist_appendfsync == PERSIST_FSYNC_ALWAYS;
    if (!misconf && wal_commit(wl, always, err, sizeof(err)) == 0) {
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
    nids = 0;
}

const char *persist_write_refused(void)
{
    if (misconf)
        return "MISCONF Errors writing to the mutation log. Writes are refused until the log can be "
               "written; see the server log.";
    if (low_disk)
        return "MISCONF Free disk space in dir is below min-free-disk. Writes are refused until "
               "space is freed; see the server log.";
    return NULL;
}

/* min-free-disk: free bytes of dir's filesystem, checked each cron tick.
 * Refusing writes while there is still room keeps RocksDB away from
 * ENOSPC, which some builds of it do not survive (an assertion in the WAL
 * writer after a failed append). */
static void check_disk(void)
{
    if (!st || persist_min_free_disk <= 0) {
        low_disk = 0;
        return;
    }
    struct statvfs v;
    if (statvfs(storage_dir(st), &v) != 0) return;
    unsigned long long avail = (unsigned long long)v.f_bavail * v.f_frsize;
    int low = avail < (unsigned long long)persist_min_free_disk;
    if (low && !low_disk)
        log_warning("Free disk space in %s is %llu bytes, below min-free-disk (%lld): writes are "
                    "refused until space is freed.", storage_dir(st), avail,
                    persist_min_free_disk);
    else if (!low && low_disk)
        log_notice("Free disk space in %s is back above min-free-disk: writes accepted again.",
                   storage_dir(st));
    low_disk = low;
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
        /* Not everysec, or nothing new: only close rotated-out files. */
        int do_sync = atomic_exchange(&sync_needed, 0) &&
                      persist_appendfsync == PERSIST_FSYNC_EVERYSEC;
        pthread_mutex_unlock(&sync_mu);
        char err[256];
        if (wal_sync(wl, do_sync, err, sizeof(err)) != 0 && !atomic_load(&sync_failed)) {
            snprintf(sync_error, sizeof(sync_error), "%s", err);
            atomic_store(&sync_failed, 1);
        }
        pthread_mutex_lock(&sync_mu);
    }
    pthread_mutex_unlock(&sync_mu);
    return NULL;
}

/* ------------------------------------------------------------ start, stop */

/* Loading: sleeps key-load-delay, counts, and every PERSIST_YIELD_MS lets
 * the event loop run once. Non-zero stops the load (shutdown requested). */
static int loading_tick(void)
{
    if (persist_key_load_delay > 0) sleep_us(persist_key_load_delay);
    long long now = util_mstime();
    if (now - loading_yield_ms >= PERSIST_YIELD_MS) {
        loading_yield_ms = now;
        server_loading_yield();
    }
    if (srv.shutdown_asap) loading_aborted = 1;
    return loading_aborted;
}

static int load_progress(void *ctx, uint64_t bytes)
{
    (void)ctx;
    loading_bytes = bytes;
    return loading_tick();
}

typedef struct replay_ctx {
    engine_replay *r;
    uint64_t base_bytes;
    char err[512];
} replay_ctx;

static int replay_cb(void *arg, uint64_t lsn, const void *val, size_t vlen)
{
    replay_ctx *x = arg;
    loading_bytes += vlen;
    loading_records++;
    if (engine_replay_apply(x->r, lsn, val, vlen, x->err, sizeof(x->err)) != 0) return 1;
    return loading_tick();
}

static int wal_progress(void *arg, uint64_t bytes)
{
    replay_ctx *x = arg;
    loading_bytes = x->base_bytes + bytes;
    return loading_tick();
}

static void persist_close(void)
{
    wal_close(wl);
    wl = NULL;
    storage_close(st);
    st = NULL;
}

int persist_start(void)
{
    if (!srv.appendonly) return 0;
    char *dir = data_dir, path[PATH_MAX + 16], err[512];
    /* Absolute, so a chdir does not move it (CONFIG SET dir is refused
     * while the database is open: see config.c). */
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
    snprintf(path, sizeof(path), "%s/%s", dir, PERSIST_LOG_NAME);
    wl = wal_open(path, 0, err, sizeof(err));
    if (!wl) {
        log_warning("Can't open the mutation log: %s", err);
        persist_close();
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, PERSIST_DB_NAME);
    storage_numbers nums;
    storage_get_numbers(st, &nums);
    loading_total = nums.live_bytes[REC_CF_META] + nums.live_bytes[REC_CF_LOG] +
                    nums.live_bytes[REC_CF_DATA] + nums.live_bytes[REC_CF_INDEX] + wal_bytes(wl);
    loading_start_ms = loading_yield_ms = util_mstime();
    loading_bytes = loading_records = 0;
    srv.loading = 1;

    uint64_t ck_lsn, ck_time;
    int rc = engine_load(st, load_progress, NULL, &ck_lsn, &ck_time, err, sizeof(err));
    if (rc == 0 && ck_lsn) {
        log_notice("Checkpoint loaded: lsn %llu, %.1f MB in %.3f seconds",
                   (unsigned long long)ck_lsn, (double)loading_bytes / 1e6,
                   (double)(util_mstime() - loading_start_ms) / 1000.0);
        ck_last_lsn = ck_lsn;
        ck_last_ms = (long long)ck_time;
    }
    replay_ctx x = {NULL, 0, ""};
    if (rc == 0) {
        x.r = engine_replay_new();
        uint64_t before = loading_records;
        /* Entries a build before the log files left in the family, then
         * the files. */
        rc = storage_replay_log(st, ck_lsn + 1, replay_cb, &x, err, sizeof(err));
        wal_replay_info wi;
        if (rc == 0) {
            x.base_bytes = loading_bytes;
            rc = wal_replay(wl, ck_lsn + 1, replay_cb, wal_progress, &x, &wi, err, sizeof(err));
            if (rc == 0 && wi.torn_bytes)
                log_warning("Mutation log: cut off %llu bytes at the end of %s (offset %llu): a "
                            "write interrupted by a crash, never acknowledged",
                            (unsigned long long)wi.torn_bytes, wi.torn.file,
                            (unsigned long long)wi.torn.offset);
        }
        if (rc == 1 && !loading_aborted) snprintf(err, sizeof(err), "%s", x.err);
        if (rc == 1 && loading_aborted) rc = 2;
        if (rc == 0)
            log_notice("DB loaded from mutation log: %llu records in %.3f seconds",
                       (unsigned long long)(loading_records - before),
                       (double)(util_mstime() - loading_start_ms) / 1000.0);
        engine_replay_free(x.r);
    } else if (rc == 1) {
        rc = 2;
    }
    srv.loading = 0;
    if (rc == 2) {
        log_warning("Loading stopped: shutdown requested");
        persist_close();
        return 1;
    }
    if (rc != 0) {
        log_warning("Can't load the database %s: %s", path, err);
        persist_close();
        return -1;
    }
    if (!ck_last_ms) ck_last_ms = (long long)time(NULL) * 1000;
    engine_lsn_at_least(wal_last_lsn(wl)); /* LSNs keep increasing across files */
    last_written_lsn = engine_lsn();
    if (wal_start(wl, engine_lsn() + 1, err, sizeof(err)) != 0) {
        log_warning("Can't start the mutation log: %s", err);
        persist_close();
        return -1;
    }
    engine_set_log(persist_log);
    sync_stop = 0;
    if (pthread_create(&sync_thread, NULL, sync_thread_main, NULL) == 0) sync_running = 1;
    return 0;
}

/* ------------------------------------------------------------ checkpoints */

/* The checkpoint is durable: the log files it covers go (worker or main). */
static void ck_drop_log(ck_job *c)
{
    if (c->rc != 0 || !c->drop_seq) return;
    wal_drop_before(wl, c->drop_seq, c->keep_bytes, c->drop_err, sizeof(c->drop_err));
}

/* Main thread: the turn's frame goes out, the log rotates, the checkpoint
 * takes the LSN of everything in the files before the new one. */
static void ck_begin(ck_job *c)
{
    char err[256];
    persist_commit();
    c->drop_seq = misconf ? 0 : wal_rotate(wl, engine_lsn() + 1, err, sizeof(err));
    c->keep_bytes = (uint64_t)srv.repl_backlog_size;
    if (!misconf && !c->drop_seq)
        log_warning("Checkpoint: can't rotate the mutation log (%s); its files stay until the "
                    "next checkpoint", err);
    c->k = engine_checkpoint_begin(st);
}

static void ck_run(job *j)
{
    ck_job *c = (ck_job *)j;
    c->rc = engine_checkpoint_write(c->k);
    ck_drop_log(c);
    atomic_store(&c->ran, 1);
}

/* The main-thread half: bookkeeping, log line, the SAVE caller's reply. */
static void ck_finish(ck_job *c)
{
    const char *e = engine_checkpoint_error(c->k);
    long long now = util_mstime();
    ck_last_try_ms = now;
    ck_last_ok = c->rc == 0;
    ck_last_secs = (double)(now - ck_started_ms) / 1000.0;
    if (c->rc == 0) {
        ck_last_lsn = engine_checkpoint_lsn(c->k);
        ck_last_ms = now;
        ck_last_bytes = engine_checkpoint_bytes(c->k);
        ck_count++;
        log_notice("Checkpoint at lsn %llu done: %.1f MB written in %.3f seconds",
                   (unsigned long long)ck_last_lsn, (double)ck_last_bytes / 1e6, ck_last_secs);
    } else {
        log_warning("Checkpoint failed: %s", e);
    }
    if (engine_checkpoint_note(c->k)) log_warning("Checkpoint: %s", engine_checkpoint_note(c->k));
    if (c->drop_err[0]) log_warning("Checkpoint: %s", c->drop_err);
    if (c->base.owner) {
        if (c->rc == 0)
            resp_add_simple(&c->base.reply, "OK");
        else
            resp_add_errorf(&c->base.reply, "ERR checkpoint failed: %s", e);
    }
    engine_checkpoint_end(c->k);
    c->k = NULL;
    if (ck_running == c) ck_running = NULL;
}

static void ck_complete(job *j)
{
    ck_job *c = (ck_job *)j;
    if (c->orphan) return;
    ck_finish(c);
    client_job_done(j);
}

static void ck_free(job *j)
{
    resp_buf_free(&j->reply);
    xfree(j);
}

static const job_type ck_job_type = {"checkpoint", ck_run, ck_complete, ck_free, 1, JOB_BG_NICE,
                                     NULL};

int persist_checkpoint_running(void)
{
    return ck_running != NULL;
}

int persist_checkpoint_start(client *owner)
{
    if (!st || misconf || low_disk || ck_running || srv.loading) return -1;
    ck_job *c = xcalloc(1, sizeof(*c));
    job_init(&c->base, &ck_job_type, owner, owner ? owner->proto : 2);
    ck_started_ms = util_mstime();
    ck_begin(c);
    ck_running = c;
    ck_wanted = 0;
    if (owner)
        client_block_on_job(owner, &c->base);
    else
        workers_submit(srv.workers, &c->base);
    return 0;
}

void persist_checkpoint_wanted(void)
{
    ck_wanted = 1;
}

/* Is a `save` point due? */
static int save_point_due(long long now)
{
    uint64_t changes = engine_lsn() - ck_last_lsn;
    if (!changes) return 0;
    for (int i = 0; i < nsave_points; i++)
        if (changes >= (uint64_t)save_points[i].changes &&
            now - ck_last_ms >= save_points[i].secs * 1000)
            return 1;
    return 0;
}

void persist_cron(void)
{
    check_disk();
    if (!st || ck_running || misconf || low_disk || srv.loading) return;
    long long now = util_mstime();
    if (!ck_last_ok && now - ck_last_try_ms < PERSIST_RETRY_MS) return;
    if (ck_wanted || save_point_due(now)) persist_checkpoint_start(NULL);
}

int persist_save_parse(const char *spec, char *err, size_t errlen)
{
    long long v[2 * PERSIST_MAX_SAVE_POINTS];
    int n = 0;
    const char *p = spec ? spec : "";
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (end == p || (*end && *end != ' ') || errno || x < 0) {
            snprintf(err, errlen, "Invalid save parameters: expected <seconds> <changes> pairs");
            return -1;
        }
        if (n == 2 * PERSIST_MAX_SAVE_POINTS) {
            snprintf(err, errlen, "Invalid save parameters: at most %d points",
                     PERSIST_MAX_SAVE_POINTS);
            return -1;
        }
        v[n++] = x;
        p = end;
    }
    if (n % 2) {
        snprintf(err, errlen, "Invalid save parameters: expected <seconds> <changes> pairs");
        return -1;
    }
    nsave_points = n / 2;
    for (int i = 0; i < nsave_points; i++) {
        save_points[i].secs = v[2 * i];
        save_points[i].changes = v[2 * i + 1];
    }
    return 0;
}

long long persist_lastsave(void)
{
    return ck_last_ms ? ck_last_ms / 1000 : (long long)srv.start_time;
}

void persist_stop(int save)
{
    if (!st) return;
    persist_commit();
    if (ck_running) { /* let the worker finish it; its completion only frees */
        ck_job *c = ck_running;
        while (!atomic_load(&c->ran)) sleep_us(1000);
        c->base.owner = NULL;
        ck_finish(c);
        c->orphan = 1;
    }
    if (save && !misconf) {
        log_notice("Saving the final checkpoint before exiting.");
        ck_job c = {0};
        ck_started_ms = util_mstime();
        ck_begin(&c);
        c.rc = engine_checkpoint_write(c.k);
        ck_drop_log(&c);
        ck_finish(&c);
    }
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
    if (!misconf && wal_sync(wl, 1, err, sizeof(err)) != 0)
        log_warning("Syncing the mutation log at shutdown: %s", err);
    if (!misconf && storage_flush(st, err, sizeof(err)) != 0)
        log_warning("Flushing the database at shutdown: %s", err);
    if (misconf) {
        /* The disk that failed the log is the database's disk too, and
         * closing a RocksDB whose files met a write error can abort inside
         * it (Debian builds it with assertions: WritableFileWriter). So
         * the handle is left to the process exit: everything acknowledged
         * is in the log, every checkpoint is whole, and the next start
         * recovers the database as after a kill -9. */
        log_warning("Leaving the database unclosed: the mutation log had a write error");
        wal_close(wl);
        wl = NULL;
    } else {
        persist_close();
    }
    rec_buf_free(&enc);
    xfree(ids);
    ids = NULL;
    nids = idcap = 0;
}

/* ------------------------------------------------------------ INFO */

void persist_info(char *buf, size_t buflen)
{
    static const char *const fsync_names[] = {"always", "everysec", "no"};
    long long now = util_mstime();
    double perc = loading_total ? 100.0 * (double)loading_bytes / (double)loading_total : 0;
    if (perc > 100) perc = 100;
    double el = (double)(now - loading_start_ms) / 1000.0;
    long long eta = srv.loading && perc > 0 ? (long long)(el * (100 - perc) / perc) : 0;
    int n = snprintf(buf, buflen,
                     "loading:%d\r\n"
                     "async_loading:0\r\n",
                     srv.loading);
    if (srv.loading && n > 0 && (size_t)n < buflen)
        n += snprintf(buf + n, buflen - (size_t)n,
                      "loading_start_time:%lld\r\n"
                      "loading_total_bytes:%llu\r\n"
                      "loading_loaded_bytes:%llu\r\n"
                      "loading_loaded_perc:%.2f\r\n"
                      "loading_eta_seconds:%lld\r\n"
                      "loading_loaded_records:%llu\r\n",
                      loading_start_ms / 1000, (unsigned long long)loading_total,
                      (unsigned long long)loading_bytes, perc, eta,
                      (unsigned long long)loading_records);
    if (n > 0 && (size_t)n < buflen)
        n += snprintf(buf + n, buflen - (size_t)n,
                      "rdb_changes_since_last_save:%llu\r\n"
                      "rdb_bgsave_in_progress:%d\r\n"
                      "rdb_last_save_time:%lld\r\n"
                      "rdb_last_bgsave_status:%s\r\n"
                      "rdb_last_bgsave_time_sec:%lld\r\n"
                      "rdb_current_bgsave_time_sec:%lld\r\n"
                      "rdb_saves:%llu\r\n"
                      "aof_rewrite_in_progress:0\r\n"
                      "aof_enabled:%d\r\n"
                      "aof_fsync:%s\r\n"
                      "aof_last_write_status:%s\r\n"
                      "disk_low:%d\r\n"
                      "aof_last_lsn:%llu\r\n"
                      "checkpoint_lsn:%llu\r\n"
                      "checkpoint_last_bytes:%llu\r\n",
                      (unsigned long long)(st ? engine_lsn() - ck_last_lsn : 0),
                      ck_running != NULL, persist_lastsave(), ck_last_ok ? "ok" : "err",
                      ck_last_secs < 0 ? -1LL : (long long)(ck_last_secs + 0.5),
                      ck_running ? (now - ck_started_ms) / 1000 : -1LL,
                      (unsigned long long)ck_count, st ? 1 : 0,
                      fsync_names[persist_appendfsync % 3], misconf ? "err" : "ok", low_disk,
                      (unsigned long long)last_written_lsn, (unsigned long long)ck_last_lsn,
                      (unsigned long long)ck_last_bytes);
    if (st && n > 0 && (size_t)n < buflen) {
        /* The log on disk: what a crash now would replay (after the
         * checkpoint). 0 0 when empty. */
        uint64_t first = 0, last = 0;
        wal_bounds(wl, &first, &last);
        n += snprintf(buf + n, buflen - (size_t)n,
                      "log_first_lsn:%llu\r\nlog_last_lsn:%llu\r\nlog_files:%zu\r\n"
                      "log_bytes:%llu\r\n",
                      (unsigned long long)first, (unsigned long long)last, wal_files(wl),
                      (unsigned long long)wal_bytes(wl));
    }
    if (st && n > 0 && (size_t)n < buflen) storage_stats(st, buf + n, buflen - (size_t)n);
}
