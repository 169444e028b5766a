/*
 * wal.h -- the mutation log: append-only files of group-commit frames
 * under <dir>/vectis.log/ (see wal.c for the file format and why the log
 * is not a RocksDB column family).
 *
 * Typical use (the server, next to storage.h):
 *
 *   wal *w = wal_open(path, 0, err, sizeof(err));
 *   wal_replay(w, checkpoint_lsn + 1, cb, ctx, &info, err, sizeof(err));
 *   wal_start(w, engine_lsn() + 1, err, sizeof(err)); // a new file for appends
 *   // each event-loop turn: one wal_append per LSN written, then
 *   wal_commit(w, appendfsync == ALWAYS, err, sizeof(err));
 *   // everysec: a background thread calls wal_sync(w, 1, ...) each second
 *   // a checkpoint at LSN K: after the turn's commit,
 *   uint64_t seq = wal_rotate(w, K + 1, ...);
 *   // ... and once the checkpoint is durable (any thread):
 *   wal_drop_before(w, seq, keep_bytes, ...);
 *
 * A record is an LSN and opaque bytes (record.h's LOG value). The records
 * of one wal_commit form one frame, written with one write(2): after a
 * crash a frame is there whole or, when the write was cut short, it is
 * the torn tail of the last file, which wal_replay cuts off. Anything
 * else that does not read back (a bad checksum, a frame header that makes
 * no sense, a gap in the file sequence) is damage: wal_replay stops there
 * with an error that names the file, the offset and the LSN when known.
 *
 * Durability: wal_commit(sync=0) returns once the frame is in the OS page
 * cache (survives a process crash, not a power loss); wal_commit(sync=1)
 * and wal_sync(fsync=1) make everything committed so far durable,
 * including the files rotated out and the directory entries of new files.
 *
 * Threads. wal_append, wal_commit, wal_start, wal_rotate, wal_replay and
 * the readers of the bounds run on one thread (the main thread).
 * wal_sync and wal_drop_before may run on other threads at the same time;
 * they share the file list and the rotated-out descriptors with the main
 * thread under a mutex, and only they close rotated-out descriptors.
 * wal_close must not race with anything.
 *
 * Errors: functions that can fail return -1 and write a one-line message
 * (no CR/LF) into err that names the file.
 */
#ifndef VECTIS_WAL_H
#define VECTIS_WAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct wal wal;

#define WAL_DEFAULT_FILE_BYTES ((uint64_t)64 << 20)

/* Opens the log directory (created, one level, unless read_only) and
 * lists its files; nothing is read yet (headers are checked by
 * wal_replay). read_only: no file is created, truncated or deleted
 * (vectis-check). Returns NULL with a message when the directory cannot be
 * used or a log file name is not a regular file. */
wal *wal_open(const char *dir, int read_only, char *err, size_t errlen);
void wal_close(wal *w); /* closes every descriptor, syncs nothing; NULL is a no-op */

const char *wal_dir(const wal *w);
void wal_set_file_bytes(wal *w, uint64_t bytes); /* rotation size (tests) */

/* ------------------------------------------------------------- reading */

typedef int (*wal_record_fn)(void *ctx, uint64_t lsn, const void *rec, size_t len);

/* A place in the log: a frame of a file. */
typedef struct wal_pos {
    char file[64];   /* the file's name inside the directory */
    uint64_t seq;    /* its sequence number */
    uint64_t offset; /* of the frame */
    uint64_t lsn;    /* the record's LSN; 0 when not known (a bad frame header) */
} wal_pos;

typedef struct wal_replay_info {
    uint64_t records;    /* handed to the callback */
    uint64_t skipped;    /* below from_lsn */
    uint64_t skipped_files; /* wholly below from_lsn: not read */
    uint64_t bytes;      /* bytes of the files read (headers and whole frames) */
    uint64_t progress_at; /* bytes at the last progress call (private) */
    uint64_t torn_bytes; /* at the end of the last file: a write cut short */
    wal_pos torn;        /* where, when torn_bytes > 0 */
    wal_pos stop;        /* where the replay stopped, when it returns 1 or -1 */
} wal_replay_info;

/* Reads every file in order and calls cb for each record with lsn >=
 * from_lsn, in log order. A torn tail of the last file (a frame cut short
 * by the end of the file) is reported in info and, unless the wal is
 * read-only, cut off. Returns 0; 1 when cb or progress returned non-zero
 * (cb's error is its own); -1 on damage or an I/O error, with err naming
 * the file, the offset and the LSN when known. progress (may be NULL) gets
 * the bytes read so far after each frame that ends another MiB read;
 * non-zero stops the replay.
 * info->stop says which frame it stopped in. */
int wal_replay(wal *w, uint64_t from_lsn, wal_record_fn cb,
               int (*progress)(void *ctx, uint64_t bytes), void *ctx, wal_replay_info *info,
               char *err, size_t errlen);

/* vectis-check --truncate-log: cuts the log at the frame at p (its file
 * truncated to p->offset, every later file deleted). Not read-only. */
int wal_truncate_at(wal *w, const wal_pos *p, char *err, size_t errlen);

/* Total bytes of the files, their number, the first and last LSN of any
 * record read or written (0 0 when none). After wal_open only the file
 * sizes are known; the LSNs come from wal_replay and the appends. */
uint64_t wal_bytes(const wal *w);
/* The LSN below which the next file must not start: the last record
 * replayed or appended, or the start of an empty last file, minus one. */
uint64_t wal_last_lsn(const wal *w);
size_t wal_files(const wal *w);
void wal_bounds(const wal *w, uint64_t *first, uint64_t *last);

/* ------------------------------------------------------------- writing */

/* Starts appending: a new file whose records begin at next_lsn (raised
 * above the last LSN replayed). Call once, after wal_replay: without a
 * replay the last LSN of the files is not known. */
int wal_start(wal *w, uint64_t next_lsn, char *err, size_t errlen);

/* Adds a record to the current frame (memory only). LSNs must increase. */
void wal_append(wal *w, uint64_t lsn, const void *rec, size_t len);
size_t wal_pending(const wal *w); /* records in the current frame */

/* Writes the current frame (nothing when empty); with sync, fdatasync's
 * it and everything before it. On failure the file is cut back to where
 * the frame began (when it can be) and the frame is dropped; the caller
 * must treat every record in it as not logged. A file that has reached
 * the rotation size is then closed for appends and the next one begun. */
int wal_commit(wal *w, int sync, char *err, size_t errlen);

/* Makes what was committed durable (fsync=1: fdatasync of the current
 * file, of the files rotated out since the last call, and the directory
 * when a file was created) and closes the rotated-out descriptors
 * (fsync=0: closes only). Any thread. */
int wal_sync(wal *w, int do_fsync, char *err, size_t errlen);

/* Commits the current frame (as wal_commit without sync) and begins a new
 * file whose records start at next_lsn. Returns the new file's sequence
 * number (> 0), or 0 with a message. */
uint64_t wal_rotate(wal *w, uint64_t next_lsn, char *err, size_t errlen);

/* Deletes the files with a sequence number below seq (their records are
 * all in a durable checkpoint), except the newest of them while the files
 * that stay hold fewer than keep_bytes (a replication backlog's worth of
 * recent records; replay skips what the checkpoint has). Any thread.
 * Returns the number deleted, or -1 when one could not be deleted (the
 * others are). */
int wal_drop_before(wal *w, uint64_t seq, uint64_t keep_bytes, char *err, size_t errlen);

#endif
