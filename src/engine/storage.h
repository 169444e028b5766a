/*
 * storage.h -- vectis's RocksDB database: the only module that talks to
 * RocksDB. It opens one database under `dir` with the column families
 * meta, log, data and index (DESIGN.md section 6), moves bytes in and out
 * of them, and reports errors as messages. It does not know what the bytes
 * mean: keys and values are built and checked by record.h.
 *
 * Typical use (the server, next to the engine):
 *
 *   storage *st = storage_open(dir, &opts, err, sizeof(err));
 *   // start-up: read meta (storage_scan), the sealed segments' data and
 *   // index keys (storage_scan over rec_range_collection), then
 *   // storage_replay_log(st, checkpoint_lsn + 1, ...)
 *   // a checkpoint: storage_write_bulk of its chunks, then one synced
 *   // storage_write of the manifests (the mutation log itself is in files
 *   // since the move to engine/wal.c; the `log` family is only read, for
 *   // databases written before, and range-deleted at checkpoints)
 *
 * Durability. Every batch goes through RocksDB's write-ahead log (its WAL),
 * which makes a batch atomic across families (a checkpoint's manifest and
 * its log range delete land together or not at all). storage_write(sync=1)
 * returns once the WAL is fsync'd (appendfsync always); sync=0 returns once
 * the batch is in the OS page cache (survives a process crash, not a power
 * loss) and storage_sync_wal() makes everything written so far durable
 * (appendfsync everysec). storage_write_bulk() is for the big, rebuildable
 * writes of a checkpoint (data and index chunks): it skips the WAL and
 * flushes those families to SST files before returning, so the bytes are
 * written once instead of twice; the manifest that makes them reachable is
 * then written with storage_write.
 *
 * Threads. A storage handle may be used from several threads at once
 * (RocksDB is thread-safe): the main thread writes log batches, a worker
 * writes checkpoints, a timer thread syncs the WAL. A storage_batch belongs
 * to one thread at a time. storage_close() must not race with anything:
 * stop the sync thread and wait for workers first.
 *
 * Errors: functions that can fail return -1 and write a one-line message
 * (no CR/LF) into err, e.g. "write failed: IO error: No space left on
 * device: ...". Nothing here aborts on an I/O error. After a failed write
 * RocksDB may refuse further writes until the database is reopened (its
 * "background error" state); reads keep working.
 */
#ifndef VECTIS_STORAGE_H
#define VECTIS_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/record.h"

typedef struct storage storage;
typedef struct storage_batch storage_batch;

/* Defaults chosen for a server with a few GB of RAM (see storage.c). */
#define STORAGE_DEFAULT_CACHE_BYTES ((size_t)256 << 20) /* rocksdb-block-cache-size */
#define STORAGE_DEFAULT_BG_JOBS 2                       /* rocksdb-max-background-jobs */

typedef struct storage_options {
    size_t block_cache_bytes; /* shared LRU block cache; 0 = STORAGE_DEFAULT_CACHE_BYTES */
    int max_background_jobs;  /* flush + compaction threads; 0 = STORAGE_DEFAULT_BG_JOBS */
    /* data/index values of at least this many bytes go to BlobDB blob files
     * (written once, never rewritten by compaction); 0 = off. */
    size_t blob_min_bytes;
    /* Open an existing database for reading only (vectis-check): no
     * directory or database is created, every write fails. */
    int read_only;
} storage_options;

/* Opens the database under dir, creating the directory (one level), the
 * database and any missing column family. A new database gets the format
 * record (meta "F"); an existing one must carry a format this build reads.
 * o may be NULL (defaults). Returns NULL with a message on failure: dir
 * unusable, locked by another process, an unknown column family, a
 * corrupt or newer format. */
storage *storage_open(const char *dir, const storage_options *o, char *err, size_t errlen);
/* Closes and frees everything. storage_close(NULL) is a no-op. */
void storage_close(storage *s);
/* 1 when this open created the database. */
int storage_is_new(const storage *s);
const char *storage_dir(const storage *s);

/* ------------------------------------------------------------ batches */

/* A batch of puts and deletes for s, applied atomically by storage_write
 * (RocksDB binds a batch's operations to the column family handles of one
 * open database, hence s). The bytes are copied in; the caller's buffers
 * may be reused at once. Free batches before closing s. */
storage_batch *storage_batch_new(storage *s);
void storage_batch_free(storage_batch *b); /* NULL is a no-op */
void storage_batch_clear(storage_batch *b);
size_t storage_batch_count(const storage_batch *b); /* operations */
size_t storage_batch_bytes(const storage_batch *b); /* RocksDB's encoding of the batch */

void storage_batch_put(storage_batch *b, rec_family f, const void *key, size_t klen,
                       const void *val, size_t vlen);
void storage_batch_delete(storage_batch *b, rec_family f, const void *key, size_t klen);
/* Deletes keys in [lo, hi) (one range tombstone, whatever the count). */
void storage_batch_delete_range(storage_batch *b, rec_family f, const void *lo, size_t lolen,
                                const void *hi, size_t hilen);
/* A log value under key lsn (big-endian). */
void storage_batch_put_log(storage_batch *b, uint64_t lsn, const void *rec, size_t len);
/* Deletes log entries with lo <= lsn < hi. */
void storage_batch_delete_range_log(storage_batch *b, uint64_t lo, uint64_t hi);
/* Deletes everything stored for collection cid: its data and index keys,
 * its segment manifests and its meta collection record (not its name key,
 * which the caller deletes under the name it knows). */
void storage_batch_drop_collection(storage_batch *b, uint64_t cid);

/* Applies b atomically through the WAL; sync=1 waits for the fsync.
 * Returns 0, or -1 with a message (nothing of b is applied). */
int storage_write(storage *s, storage_batch *b, int sync, char *err, size_t errlen);
/* Applies b without the WAL, then flushes the data and index families so
 * the bytes are on disk when it returns. b may only touch data and index
 * (else -1); it is atomic only in the sense that a crash before the flush
 * loses all of it, so make such writes reachable (a manifest in meta) only
 * afterwards. Keep batches to a few MB: a batch is applied in one piece
 * and delays concurrent writers while it is. For workers, not the loop. */
int storage_write_bulk(storage *s, storage_batch *b, char *err, size_t errlen);
/* The two halves of storage_write_bulk, for a writer of many batches:
 * storage_write_nowal applies b (data and index only) without the WAL;
 * storage_flush_bulk then flushes data and index to SST files once. */
int storage_write_nowal(storage *s, storage_batch *b, char *err, size_t errlen);
int storage_flush_bulk(storage *s, char *err, size_t errlen);
/* Makes every write so far durable (fsync of the WAL). Any thread. */
int storage_sync_wal(storage *s, char *err, size_t errlen);

/* ------------------------------------------------------------ reads */

/* Point read. Returns 1 and a copy of the value in *val (free with
 * storage_value_free) and *vlen, 0 when the key is missing, -1 on error. */
int storage_get(storage *s, rec_family f, const void *key, size_t klen, void **val, size_t *vlen,
                char *err, size_t errlen);
void storage_value_free(void *val);

/* Scan callback: key and value are valid during the call only. Return 0
 * to go on, non-zero to stop. */
typedef int (*storage_scan_fn)(void *ctx, const void *key, size_t klen, const void *val,
                               size_t vlen);

/* Calls cb for every key in [lo, hi) of family f in key order (lo NULL:
 * from the first key; hi NULL: to the last). Returns 0 when the range was
 * exhausted, 1 when cb stopped it, -1 with a message on a read error.
 * Bulk reads bypass the block cache (loading gigabytes of vectors must not
 * evict the hot meta blocks). */
int storage_scan(storage *s, rec_family f, const void *lo, size_t lolen, const void *hi,
                 size_t hilen, storage_scan_fn cb, void *ctx, char *err, size_t errlen);

typedef int (*storage_log_fn)(void *ctx, uint64_t lsn, const void *val, size_t vlen);

/* Calls cb for every log entry with lsn >= from_lsn, in LSN order. Returns
 * 0 at the end, 1 when cb stopped, -1 with a message on a read error or a
 * malformed log key (the message names it). */
int storage_replay_log(storage *s, uint64_t from_lsn, storage_log_fn cb, void *ctx, char *err,
                       size_t errlen);
/* The smallest and largest LSN in the log: 1, or 0 when it is empty, -1
 * on error. */
int storage_log_bounds(storage *s, uint64_t *first, uint64_t *last, char *err, size_t errlen);

/* ------------------------------------------------------- maintenance */

/* Compacts [lo, hi) of family f (NULL = unbounded) so that the space of
 * deleted ranges (a dropped collection, a truncated log) is reclaimed now
 * rather than when RocksDB gets to it. Slow: a worker's job. */
int storage_compact_range(storage *s, rec_family f, const void *lo, size_t lolen, const void *hi,
                          size_t hilen, char *err, size_t errlen);
/* Flushes every memtable to SST files (SHUTDOWN, BGSAVE): a restart then
 * replays no WAL. */
int storage_flush(storage *s, char *err, size_t errlen);

/* INFO lines ("name:value\r\n"): per family live bytes, keys, memtable
 * bytes and SST bytes, the block cache usage, pending compaction bytes,
 * background errors and the last write error. Always NUL-terminated. */
void storage_stats(storage *s, char *buf, size_t buflen);
/* Selected numbers for the server's own INFO fields. */
typedef struct storage_numbers {
    uint64_t live_bytes[REC_CF_COUNT]; /* rocksdb.estimate-live-data-size */
    uint64_t keys[REC_CF_COUNT];       /* rocksdb.estimate-num-keys */
    uint64_t memtable_bytes;           /* all families */
    uint64_t sst_bytes;                /* all families */
    uint64_t blob_bytes;               /* live blob files, all families */
    uint64_t write_errors;             /* failed storage_write / bulk / sync calls */
} storage_numbers;
void storage_get_numbers(storage *s, storage_numbers *out);

#endif
