/*
 * persist.h -- the server side of the write-ahead mutation log: opens the
 * RocksDB database and the log files when `appendonly yes`, replays them at
 * start-up, collects the engine's mutation records of each event-loop turn
 * into one frame and writes it before that turn's replies leave (group
 * commit), syncs it per
 * `appendfsync`, and refuses writes (-MISCONF) after a failed log write.
 * See persist.c.
 */
#ifndef VECTIS_PERSIST_H
#define VECTIS_PERSIST_H

#include <stddef.h>

struct client;

enum { PERSIST_FSYNC_ALWAYS = 0, PERSIST_FSYNC_EVERYSEC = 1, PERSIST_FSYNC_NO = 2 };

/* Config values (config.c points at them). */
extern int persist_appendfsync;          /* PERSIST_FSYNC_* */
extern long long persist_block_cache;    /* rocksdb-block-cache-size, bytes */
extern int persist_bg_jobs;              /* rocksdb-max-background-jobs */

/* The database directory and the log directory under `dir`. */
#define PERSIST_DB_NAME "vectis.db"
#define PERSIST_LOG_NAME "vectis.log"

extern int persist_key_load_delay; /* key-load-delay: microseconds per loaded value */

/* With appendonly yes: opens <dir>/vectis.db and <dir>/vectis.log, loads
 * the last checkpoint and replays the log after it (LOADING: the event loop keeps serving,
 * see persist.c), then installs the engine's log hook and starts the
 * everysec sync thread. Returns 0 (also when appendonly is no), 1 when a
 * shutdown was requested while loading, -1 after logging why. Call after
 * engine_init and net_listen, outside any event callback. */
int persist_start(void);
/* Writes the frame of this turn (server_run, before replies are flushed).
 * On failure: MISCONF, and the clients whose writes were in it are closed. */
void persist_commit(void);
/* Shutdown: commits, finishes a checkpoint in flight, writes a final one
 * when `save`, stops the thread, syncs the log, flushes memtables, closes. */
void persist_stop(int save);

/* Checkpoints. start: begins one now (owner: the client that waits for
 * it, SAVE; NULL for a background one); -1 when one is running, writes
 * are refused, loading, or appendonly is no. */
int persist_checkpoint_start(struct client *owner);
int persist_checkpoint_running(void);
/* Engine hook: start one soon (from the cron). */
void persist_checkpoint_wanted(void);
/* The cron: starts a checkpoint when wanted or a `save` point is due. */
void persist_cron(void);
/* `save` config: "<seconds> <changes> ..." ("" = none). -1 + message when
 * malformed (nothing changed). */
int persist_save_parse(const char *spec, char *err, size_t errlen);
/* LASTSAVE: unix time of the last successful checkpoint (start time when
 * none). */
long long persist_lastsave(void);
/* Write commands call this first: the -MISCONF error line when writes are
 * refused (a failed log write, or free disk below min-free-disk), else
 * NULL. */
const char *persist_write_refused(void);
#define PERSIST_DEFAULT_MIN_FREE ((long long)64 << 20) /* min-free-disk */
extern long long persist_min_free_disk;
/* INFO persistence lines (appended to buf, NUL-terminated). */
void persist_info(char *buf, size_t buflen);
int persist_enabled(void);
/* The absolute directory of the open database and log, or NULL. */
const char *persist_dir(void);

#endif
