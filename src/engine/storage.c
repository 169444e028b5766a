/*
 * storage.c -- vectis's RocksDB database (see storage.h for the API and
 * record.c for what the keys and values mean). The only file that includes
 * <rocksdb/c.h>. Built with RocksDB when the Makefile defines
 * VECTIS_ROCKSDB; without it every entry point exists and storage_open()
 * fails with "built without RocksDB", so the rest of the server links and
 * `appendonly no` works.
 *
 * Layout: one database, five column families: the four of DESIGN.md
 * section 6 (meta, log, data, index) and RocksDB's mandatory "default",
 * which stays empty. An existing database with any other family is refused
 * (it was written by something else, or by a newer vectis).
 *
 * Options, and why (the workload: a few big write-once values per sealed
 * segment and one synced manifest batch per checkpoint; whole ranges
 * deleted at a checkpoint or a drop; point reads of meta; one sequential
 * scan of everything at start-up. The mutation log itself is not here: it
 * moved to files, engine/wal.c says why; the `log` family is only read and
 * range-deleted, for databases written before):
 *
 *   WAL           kept for every family. It is what makes a checkpoint's
 *                 manifest batch atomic across families (meta and the range
 *                 deletes of data, index and the legacy log). The big
 *                 checkpoint writes skip it (storage_write_bulk: no WAL +
 *                 flush), so vector bytes are not written twice.
 *   recovery      kPointInTimeRecovery: after a crash the WAL is replayed up
 *                 to the first torn or corrupt record and no further, so
 *                 the database is a prefix of what was written, never a
 *                 state with a hole in the middle.
 *   compression   none for data and index (float vectors and graph links
 *                 do not compress; LZ4 would spend CPU to save ~0 bytes),
 *                 none for log (its values are mostly vectors too, and
 *                 they die at the next checkpoint), LZ4 for meta (small,
 *                 repetitive records; the Debian build links liblz4).
 *   block cache   one LRU cache shared by all families, sized by
 *                 rocksdb-block-cache-size. Scans do not fill it: the
 *                 start-up load reads each vector block once, and the cache
 *                 should keep meta and the recent log.
 *   bloom filter  10 bits/key on meta (point reads by name or id); none
 *                 elsewhere (log, data and index are read by range).
 *   arena blocks  1 MiB. RocksDB's default (write buffer / 8 = 8 MiB) is
 *                 at jemalloc's oversize threshold: such blocks live in an
 *                 arena that returns pages to the kernel at once, so every
 *                 memtable refaulted its 64 MiB on the main thread (zeroing
 *                 pages was ~13% of the loop's time under an everysec load).
 *   memtables     64 MiB x up to 4 for data/index (a bulk checkpoint write
 *                 must not hit the memtable-count write stop), 8 MiB for
 *                 meta and for the legacy log (only range deletes land
 *                 there now; memtable memory is taken as it is written).
 *   WAL size      max_total_wal_size 256 MiB: a rarely written family (meta)
 *                 would otherwise pin old WAL files forever; RocksDB
 *                 flushes the family holding the oldest WAL when the total
 *                 exceeds it. Also bounds the replay time after a crash.
 *   bg jobs       rocksdb-max-background-jobs (flushes and compactions).
 *   BlobDB        optional (blob_min_bytes): large data/index values go to
 *                 blob files that compaction does not rewrite, with blob
 *                 GC on. Off by default until it measures better.
 *   info LOG      RocksDB's own LOG file in dir, 16 MiB x 4 at most.
 *
 * Ownership: storage owns every RocksDB object it creates and frees them
 * in storage_close (column family handles before the database, options
 * and the cache after). Values from storage_get are RocksDB allocations,
 * freed with storage_value_free. Errors from RocksDB come as malloc'd
 * strings that are copied into the caller's buffer and freed here.
 *
 * Threads: see storage.h. The only state shared between threads besides
 * RocksDB is the last-error record, under a mutex.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "alloc.h"
#include "engine/record.h"
#include "engine/storage.h"

#ifdef VECTIS_ROCKSDB

#include <assert.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <stdarg.h>
#include <time.h>

/* Sizes in bytes, with the reason next to each (see the top comment). */
#define ST_LOG_MEMTABLE ((size_t)8 << 20)
#define ST_DATA_MEMTABLE ((size_t)64 << 20)
#define ST_DATA_MEMTABLES 4
#define ST_META_MEMTABLE ((size_t)8 << 20)
#define ST_MAX_WAL ((uint64_t)256 << 20)
#define ST_BYTES_PER_SYNC ((uint64_t)1 << 20)   /* smooth SST writeback, no fsync bursts */
#define ST_INFO_LOG_BYTES ((size_t)16 << 20)
#define ST_INFO_LOG_FILES 4
#define ST_SCAN_READAHEAD ((size_t)2 << 20)    /* sequential start-up scan */
#define ST_DATA_BLOCK ((size_t)64 << 10)       /* data/index: big values, fewer index entries */
#define ST_BLOB_FILE ((uint64_t)256 << 20)
#define ST_BLOOM_BITS 10.0
/* Memtable arena blocks: below jemalloc's oversize threshold (8 MiB), so a
 * flushed memtable's blocks are reused by the next one instead of being
 * returned to the kernel and faulted in (zeroed) again. */
#define ST_ARENA_BLOCK ((size_t)1 << 20)

#define ST_NCF (REC_CF_COUNT + 1) /* ours + "default" */
#define ST_DEFAULT_CF REC_CF_COUNT

struct storage {
    rocksdb_t *db;
    rocksdb_column_family_handle_t *cf[ST_NCF];
    rocksdb_options_t *dbopt;
    rocksdb_options_t *cfopt[ST_NCF];
    rocksdb_cache_t *cache;
    rocksdb_writeoptions_t *wo_sync, *wo_nosync, *wo_nowal;
    rocksdb_readoptions_t *ro_get;
    rocksdb_flushoptions_t *fo;
    char *dir;
    int is_new, read_only;
    pthread_mutex_t mu; /* guards the fields below */
    uint64_t write_errors;
    char last_error[256];
};

struct storage_batch {
    storage *s; /* its column family handles are bound at put time */
    rocksdb_writebatch_t *wb;
    unsigned families; /* bit f set when the batch touches family f */
};

static const char *const cf_names[ST_NCF] = {"meta", "log", "data", "index", "default"};

static inline void assert_family(rec_family f)
{
    assert((unsigned)f < REC_CF_COUNT);
    (void)f;
}

/* ------------------------------------------------------------ errors */

/* Writes "<what>: <rocksdb message>" into err (CR/LF become spaces) and
 * frees the RocksDB message. Returns -1. */
static int st_fail(char *err, size_t errlen, const char *what, char *rerr)
{
    if (err && errlen) {
        snprintf(err, errlen, "%s: %s", what, rerr ? rerr : "unknown error");
        for (char *p = err; *p; p++)
            if (*p == '\r' || *p == '\n') *p = ' ';
    }
    if (rerr) rocksdb_free(rerr);
    return -1;
}

static void st_note_error(storage *s, const char *msg)
{
    pthread_mutex_lock(&s->mu);
    s->write_errors++;
    snprintf(s->last_error, sizeof(s->last_error), "%s", msg);
    pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------ open */

static rocksdb_options_t *cf_options(rec_family f, rocksdb_cache_t *cache, const storage_options *o)
{
    rocksdb_options_t *opt = rocksdb_options_create();
    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(t, cache);
    rocksdb_block_based_options_set_format_version(t, 5);
    switch ((int)f) {
    case REC_CF_META:
        rocksdb_options_set_compression(opt, rocksdb_lz4_compression);
        rocksdb_options_set_write_buffer_size(opt, ST_META_MEMTABLE);
        /* the table options take ownership of the policy */
        rocksdb_block_based_options_set_filter_policy(t,
                                                      rocksdb_filterpolicy_create_bloom(ST_BLOOM_BITS));
        break;
    case REC_CF_LOG:
        rocksdb_options_set_compression(opt, rocksdb_no_compression);
        rocksdb_options_set_write_buffer_size(opt, ST_LOG_MEMTABLE);
        break;
    case REC_CF_DATA:
    case REC_CF_INDEX:
        rocksdb_options_set_compression(opt, rocksdb_no_compression);
        rocksdb_options_set_write_buffer_size(opt, ST_DATA_MEMTABLE);
        rocksdb_options_set_max_write_buffer_number(opt, ST_DATA_MEMTABLES);
        rocksdb_block_based_options_set_block_size(t, ST_DATA_BLOCK);
        if (o->blob_min_bytes) {
            rocksdb_options_set_enable_blob_files(opt, 1);
            rocksdb_options_set_min_blob_size(opt, o->blob_min_bytes);
            rocksdb_options_set_blob_file_size(opt, ST_BLOB_FILE);
            rocksdb_options_set_blob_compression_type(opt, rocksdb_no_compression);
            rocksdb_options_set_enable_blob_gc(opt, 1);
        }
        break;
    default: /* "default": unused, keep it small */
        rocksdb_options_set_write_buffer_size(opt, (size_t)1 << 20);
        break;
    }
    rocksdb_options_set_arena_block_size(opt, ST_ARENA_BLOCK);
    rocksdb_options_set_level_compaction_dynamic_level_bytes(opt, 1);
    rocksdb_options_set_block_based_table_factory(opt, t); /* copies t */
    rocksdb_block_based_options_destroy(t);
    return opt;
}

/* Creates dir (one level) unless it exists as a directory. */
static int make_dir(const char *dir, int create, char *err, size_t errlen)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "'%s' exists and is not a directory", dir);
            return -1;
        }
        return 0;
    }
    if (!create || errno != ENOENT) {
        snprintf(err, errlen, "cannot open directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* 1 if dir already holds a RocksDB database. */
static int db_exists(const char *dir)
{
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/CURRENT", dir) >= (int)sizeof(path)) return 0;
    return access(path, F_OK) == 0;
}

/* Existing families must all be ours. */
static int check_families(storage *s, char *err, size_t errlen)
{
    size_t n = 0;
    char *rerr = NULL;
    char **names = rocksdb_list_column_families(s->dbopt, s->dir, &n, &rerr);
    if (rerr) return st_fail(err, errlen, "cannot list column families", rerr);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int known = 0;
        for (int j = 0; j < ST_NCF; j++) known |= !strcmp(names[i], cf_names[j]);
        if (!known) {
            snprintf(err, errlen,
                     "database in '%s' has an unknown column family '%.64s' (written by a newer "
                     "vectis or another program?)",
                     s->dir, names[i]);
            rc = -1;
        }
    }
    rocksdb_list_column_families_destroy(names, n);
    return rc;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A new database gets the format record; an existing one must have one we
 * read. */
static int check_format(storage *s, char *err, size_t errlen)
{
    uint8_t key[1];
    rec_key_meta_tag(REC_META_FORMAT, key);
    void *val = NULL;
    size_t vlen = 0;
    char gerr[256];
    int found = storage_get(s, REC_CF_META, key, 1, &val, &vlen, gerr, sizeof(gerr));
    if (found < 0) {
        snprintf(err, errlen, "cannot read the format record: %s", gerr);
        return -1;
    }
    if (found) {
        rec_format f;
        char derr[256];
        int rc = rec_decode_format(val, vlen, &f, derr, sizeof(derr));
        storage_value_free(val);
        if (rc < 0) {
            snprintf(err, errlen, "database in '%s': meta format: %s", s->dir, derr);
            return -1;
        }
        if (f.format_version != REC_VERSION) {
            snprintf(err, errlen,
                     "database in '%s' has format version %u; this build reads version %d",
                     s->dir, f.format_version, REC_VERSION);
            return -1;
        }
        return 0;
    }
    /* No format record: only acceptable for an empty meta family (a new
     * database, or one whose creation was interrupted before its first
     * write). */
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro_get, s->cf[REC_CF_META]);
    rocksdb_iter_seek_to_first(it);
    int empty = !rocksdb_iter_valid(it);
    rocksdb_iter_destroy(it);
    if (!empty) {
        snprintf(err, errlen, "database in '%s' has no format record (meta \"F\"): not a vectis "
                 "database, or a damaged one", s->dir);
        return -1;
    }
    if (s->read_only) {
        snprintf(err, errlen, "database in '%s' is empty", s->dir);
        return -1;
    }
    rec_buf b = {0};
    rec_format f = {REC_VERSION, now_ms()};
    rec_encode_format(&b, &f);
    char *rerr = NULL;
    rocksdb_put_cf(s->db, s->wo_sync, s->cf[REC_CF_META], (const char *)key, 1, (const char *)b.p,
                   b.len, &rerr);
    rec_buf_free(&b);
    if (rerr) return st_fail(err, errlen, "cannot write the format record", rerr);
    return 0;
}

storage *storage_open(const char *dir, const storage_options *o, char *err, size_t errlen)
{
    storage_options defaults = {0};
    if (!o) o = &defaults;
    if (!dir || !*dir) {
        snprintf(err, errlen, "no database directory given");
        return NULL;
    }
    if (make_dir(dir, !o->read_only, err, errlen) < 0) return NULL;

    storage *s = xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    s->dir = xstrdup(dir);
    s->read_only = o->read_only;
    s->is_new = !db_exists(dir);
    if (s->is_new && o->read_only) {
        snprintf(err, errlen, "no database in '%s'", dir);
        storage_close(s);
        return NULL;
    }

    size_t cache = o->block_cache_bytes ? o->block_cache_bytes : STORAGE_DEFAULT_CACHE_BYTES;
    int jobs = o->max_background_jobs > 0 ? o->max_background_jobs : STORAGE_DEFAULT_BG_JOBS;
    s->cache = rocksdb_cache_create_lru(cache);
    s->dbopt = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(s->dbopt, !o->read_only);
    rocksdb_options_set_create_missing_column_families(s->dbopt, !o->read_only);
    rocksdb_options_set_paranoid_checks(s->dbopt, 1);
    rocksdb_options_set_max_background_jobs(s->dbopt, jobs);
    rocksdb_options_set_wal_recovery_mode(s->dbopt, 2 /* kPointInTimeRecovery */);
    rocksdb_options_set_max_total_wal_size(s->dbopt, ST_MAX_WAL);
    rocksdb_options_set_bytes_per_sync(s->dbopt, ST_BYTES_PER_SYNC);
    rocksdb_options_set_max_log_file_size(s->dbopt, ST_INFO_LOG_BYTES);
    rocksdb_options_set_keep_log_file_num(s->dbopt, ST_INFO_LOG_FILES);
    for (int i = 0; i < ST_NCF; i++) s->cfopt[i] = cf_options((rec_family)i, s->cache, o);

    s->wo_sync = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(s->wo_sync, 1);
    s->wo_nosync = rocksdb_writeoptions_create();
    s->wo_nowal = rocksdb_writeoptions_create();
    rocksdb_writeoptions_disable_WAL(s->wo_nowal, 1);
    s->ro_get = rocksdb_readoptions_create();
    rocksdb_readoptions_set_verify_checksums(s->ro_get, 1);
    s->fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(s->fo, 1);

    if (!s->is_new && check_families(s, err, errlen) < 0) {
        storage_close(s);
        return NULL;
    }
    char *rerr = NULL;
    if (o->read_only)
        s->db = rocksdb_open_for_read_only_column_families(
            s->dbopt, dir, ST_NCF, cf_names, (const rocksdb_options_t *const *)s->cfopt, s->cf, 0,
            &rerr);
    else
        s->db = rocksdb_open_column_families(s->dbopt, dir, ST_NCF, cf_names,
                                             (const rocksdb_options_t *const *)s->cfopt, s->cf,
                                             &rerr);
    if (rerr || !s->db) {
        char what[300];
        snprintf(what, sizeof(what), "cannot open the database in '%s'", dir);
        st_fail(err, errlen, what, rerr);
        s->db = NULL;
        memset(s->cf, 0, sizeof(s->cf));
        storage_close(s);
        return NULL;
    }
    if (check_format(s, err, errlen) < 0) {
        storage_close(s);
        return NULL;
    }
    return s;
}

void storage_close(storage *s)
{
    if (!s) return;
    if (s->db) {
        for (int i = 0; i < ST_NCF; i++)
            if (s->cf[i]) rocksdb_column_family_handle_destroy(s->cf[i]);
        rocksdb_close(s->db);
    }
    for (int i = 0; i < ST_NCF; i++)
        if (s->cfopt[i]) rocksdb_options_destroy(s->cfopt[i]);
    if (s->dbopt) rocksdb_options_destroy(s->dbopt);
    if (s->cache) rocksdb_cache_destroy(s->cache);
    if (s->wo_sync) rocksdb_writeoptions_destroy(s->wo_sync);
    if (s->wo_nosync) rocksdb_writeoptions_destroy(s->wo_nosync);
    if (s->wo_nowal) rocksdb_writeoptions_destroy(s->wo_nowal);
    if (s->ro_get) rocksdb_readoptions_destroy(s->ro_get);
    if (s->fo) rocksdb_flushoptions_destroy(s->fo);
    pthread_mutex_destroy(&s->mu);
    xfree(s->dir);
    xfree(s);
}

int storage_is_new(const storage *s)
{
    return s->is_new;
}

const char *storage_dir(const storage *s)
{
    return s->dir;
}

/* ------------------------------------------------------------ batches */

storage_batch *storage_batch_new(storage *s)
{
    storage_batch *b = xcalloc(1, sizeof(*b));
    b->s = s;
    b->wb = rocksdb_writebatch_create();
    return b;
}

void storage_batch_free(storage_batch *b)
{
    if (!b) return;
    rocksdb_writebatch_destroy(b->wb);
    xfree(b);
}

void storage_batch_clear(storage_batch *b)
{
    rocksdb_writebatch_clear(b->wb);
    b->families = 0;
}

size_t storage_batch_count(const storage_batch *b)
{
    return (size_t)rocksdb_writebatch_count(b->wb);
}

size_t storage_batch_bytes(const storage_batch *b)
{
    size_t n = 0;
    rocksdb_writebatch_data(b->wb, &n);
    return n;
}

void storage_batch_put(storage_batch *b, rec_family f, const void *key, size_t klen,
                       const void *val, size_t vlen)
{
    assert_family(f);
    rocksdb_writebatch_put_cf(b->wb, b->s->cf[f], key, klen, val, vlen);
    b->families |= 1u << f;
}

void storage_batch_delete(storage_batch *b, rec_family f, const void *key, size_t klen)
{
    assert_family(f);
    rocksdb_writebatch_delete_cf(b->wb, b->s->cf[f], key, klen);
    b->families |= 1u << f;
}

void storage_batch_delete_range(storage_batch *b, rec_family f, const void *lo, size_t lolen,
                                const void *hi, size_t hilen)
{
    assert_family(f);
    rocksdb_writebatch_delete_range_cf(b->wb, b->s->cf[f], lo, lolen, hi, hilen);
    b->families |= 1u << f;
}

void storage_batch_put_log(storage_batch *b, uint64_t lsn, const void *rec, size_t len)
{
    uint8_t key[REC_LOG_KEY_BYTES];
    rec_key_log(lsn, key);
    storage_batch_put(b, REC_CF_LOG, key, sizeof(key), rec, len);
}

void storage_batch_delete_range_log(storage_batch *b, uint64_t lo, uint64_t hi)
{
    uint8_t klo[REC_LOG_KEY_BYTES], khi[REC_LOG_KEY_BYTES];
    if (lo >= hi) return;
    rec_key_log(lo, klo);
    rec_key_log(hi, khi);
    storage_batch_delete_range(b, REC_CF_LOG, klo, sizeof(klo), khi, sizeof(khi));
}

void storage_batch_drop_collection(storage_batch *b, uint64_t cid)
{
    uint8_t lo[8], hi[8], mlo[9], mhi[9], ck[REC_META_ID_KEY_BYTES];
    rec_range_collection(cid, lo, hi);
    storage_batch_delete_range(b, REC_CF_DATA, lo, 8, hi, 8);
    storage_batch_delete_range(b, REC_CF_INDEX, lo, 8, hi, 8);
    rec_range_meta_segments(cid, mlo, mhi);
    storage_batch_delete_range(b, REC_CF_META, mlo, 9, mhi, 9);
    rec_key_meta_collection(cid, ck);
    storage_batch_delete(b, REC_CF_META, ck, sizeof(ck));
}

/* ------------------------------------------------------------ writes */

static int st_write_fail(storage *s, char *err, size_t errlen, const char *what, char *rerr)
{
    char msg[256];
    st_fail(msg, sizeof(msg), what, rerr);
    st_note_error(s, msg);
    if (err && errlen) snprintf(err, errlen, "%s", msg);
    return -1;
}

int storage_write(storage *s, storage_batch *b, int sync, char *err, size_t errlen)
{
    assert(b->s == s);
    if (s->read_only) {
        snprintf(err, errlen, "write failed: the database is open read-only");
        return -1;
    }
    char *rerr = NULL;
    rocksdb_write(s->db, sync ? s->wo_sync : s->wo_nosync, b->wb, &rerr);
    if (rerr) return st_write_fail(s, err, errlen, "write failed", rerr);
    return 0;
}

int storage_write_nowal(storage *s, storage_batch *b, char *err, size_t errlen)
{
    assert(b->s == s);
    const unsigned allowed = (1u << REC_CF_DATA) | (1u << REC_CF_INDEX);
    if (s->read_only) {
        snprintf(err, errlen, "bulk write failed: the database is open read-only");
        return -1;
    }
    if (b->families & ~allowed) {
        snprintf(err, errlen, "bulk write failed: a bulk batch may only touch data and index");
        return -1;
    }
    char *rerr = NULL;
    rocksdb_write(s->db, s->wo_nowal, b->wb, &rerr);
    if (rerr) return st_write_fail(s, err, errlen, "bulk write failed", rerr);
    return 0;
}

int storage_flush_bulk(storage *s, char *err, size_t errlen)
{
    if (s->read_only) return 0;
    for (int f = REC_CF_DATA; f <= REC_CF_INDEX; f++) {
        char *rerr = NULL;
        rocksdb_flush_cf(s->db, s->fo, s->cf[f], &rerr);
        if (rerr) return st_write_fail(s, err, errlen, "bulk write flush failed", rerr);
    }
    return 0;
}

int storage_write_bulk(storage *s, storage_batch *b, char *err, size_t errlen)
{
    if (storage_write_nowal(s, b, err, errlen) != 0) return -1;
    /* Without the WAL the bytes are only in memtables: flush them to SST
     * files (synced by RocksDB) before anything may point at them. */
    return storage_flush_bulk(s, err, errlen);
}

int storage_sync_wal(storage *s, char *err, size_t errlen)
{
    if (s->read_only) return 0;
    char *rerr = NULL;
    rocksdb_flush_wal(s->db, 1, &rerr);
    if (rerr) return st_write_fail(s, err, errlen, "WAL sync failed", rerr);
    return 0;
}

int storage_flush(storage *s, char *err, size_t errlen)
{
    if (s->read_only) return 0;
    for (int f = 0; f < REC_CF_COUNT; f++) {
        char *rerr = NULL;
        rocksdb_flush_cf(s->db, s->fo, s->cf[f], &rerr);
        if (rerr) {
            char what[64];
            snprintf(what, sizeof(what), "flush of family %s failed", cf_names[f]);
            return st_write_fail(s, err, errlen, what, rerr);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ reads */

int storage_get(storage *s, rec_family f, const void *key, size_t klen, void **val, size_t *vlen,
                char *err, size_t errlen)
{
    assert_family(f);
    char *rerr = NULL;
    size_t n = 0;
    char *v = rocksdb_get_cf(s->db, s->ro_get, s->cf[f], key, klen, &n, &rerr);
    *val = NULL;
    *vlen = 0;
    if (rerr) {
        char what[300], kd[200];
        rec_key_describe(f, key, klen, kd, sizeof(kd));
        snprintf(what, sizeof(what), "read of %s failed", kd);
        return st_fail(err, errlen, what, rerr);
    }
    if (!v) return 0;
    *val = v;
    *vlen = n;
    return 1;
}

void storage_value_free(void *val)
{
    if (val) rocksdb_free(val);
}

/* An iterator over [lo, hi) of family f with scan-friendly read options;
 * *ro must be destroyed after the iterator. */
static rocksdb_iterator_t *scan_iter(storage *s, rec_family f, const void *lo, size_t lolen,
                                     const void *hi, size_t hilen, rocksdb_readoptions_t **ro)
{
    *ro = rocksdb_readoptions_create();
    /* log, data and index values are uncompressed and each carries its
     * own xxh64 (record.h): a flipped byte fails that check, which names
     * the damaged key, instead of RocksDB's block check, which names only
     * a file. meta is LZ4-compressed: RocksDB's check stays on there. */
    rocksdb_readoptions_set_verify_checksums(*ro, f == REC_CF_META);
    rocksdb_readoptions_set_fill_cache(*ro, 0);
    rocksdb_readoptions_set_readahead_size(*ro, ST_SCAN_READAHEAD);
    /* The bound is referenced, not copied: hi outlives the iterator. */
    if (hi) rocksdb_readoptions_set_iterate_upper_bound(*ro, hi, hilen);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, *ro, s->cf[f]);
    if (lo)
        rocksdb_iter_seek(it, lo, lolen);
    else
        rocksdb_iter_seek_to_first(it);
    return it;
}

int storage_scan(storage *s, rec_family f, const void *lo, size_t lolen, const void *hi,
                 size_t hilen, storage_scan_fn cb, void *ctx, char *err, size_t errlen)
{
    assert_family(f);
    rocksdb_readoptions_t *ro;
    rocksdb_iterator_t *it = scan_iter(s, f, lo, lolen, hi, hilen, &ro);
    int rc = 0;
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        const char *v = rocksdb_iter_value(it, &vl);
        if (cb(ctx, k, kl, v, vl)) {
            rc = 1;
            break;
        }
    }
    if (rc == 0) {
        char *rerr = NULL;
        rocksdb_iter_get_error(it, &rerr);
        if (rerr) {
            char what[64];
            snprintf(what, sizeof(what), "scan of family %s failed", cf_names[f]);
            rc = st_fail(err, errlen, what, rerr);
        }
    }
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return rc;
}

int storage_replay_log(storage *s, uint64_t from_lsn, storage_log_fn cb, void *ctx, char *err,
                       size_t errlen)
{
    uint8_t lo[REC_LOG_KEY_BYTES];
    rec_key_log(from_lsn, lo);
    rocksdb_readoptions_t *ro;
    rocksdb_iterator_t *it = scan_iter(s, REC_CF_LOG, lo, sizeof(lo), NULL, 0, &ro);
    int rc = 0;
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        const char *v = rocksdb_iter_value(it, &vl);
        uint64_t lsn;
        char kerr[128];
        if (rec_key_parse_log(k, kl, &lsn, kerr, sizeof(kerr)) < 0) {
            char kd[200];
            rec_key_describe(REC_CF_LOG, k, kl, kd, sizeof(kd));
            snprintf(err, errlen, "log replay stopped at %s: %s", kd, kerr);
            rc = -1;
            break;
        }
        if (cb(ctx, lsn, v, vl)) {
            rc = 1;
            break;
        }
    }
    if (rc == 0) {
        char *rerr = NULL;
        rocksdb_iter_get_error(it, &rerr);
        if (rerr) rc = st_fail(err, errlen, "log replay failed", rerr);
    }
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return rc;
}

int storage_log_bounds(storage *s, uint64_t *first, uint64_t *last, char *err, size_t errlen)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ro_get, s->cf[REC_CF_LOG]);
    int rc = 0;
    *first = *last = 0;
    rocksdb_iter_seek_to_first(it);
    if (rocksdb_iter_valid(it)) {
        size_t kl;
        const char *k = rocksdb_iter_key(it, &kl);
        char kerr[128];
        rc = rec_key_parse_log(k, kl, first, kerr, sizeof(kerr)) < 0 ? -1 : 1;
        if (rc == 1) {
            rocksdb_iter_seek_to_last(it);
            if (rocksdb_iter_valid(it)) {
                k = rocksdb_iter_key(it, &kl);
                if (rec_key_parse_log(k, kl, last, kerr, sizeof(kerr)) < 0) rc = -1;
            }
        }
        if (rc < 0) snprintf(err, errlen, "malformed log key: %s", kerr);
    }
    if (rc >= 0) {
        char *rerr = NULL;
        rocksdb_iter_get_error(it, &rerr);
        if (rerr) rc = st_fail(err, errlen, "reading the log bounds failed", rerr);
    }
    rocksdb_iter_destroy(it);
    return rc;
}

/* ------------------------------------------------------- maintenance */

int storage_compact_range(storage *s, rec_family f, const void *lo, size_t lolen, const void *hi,
                          size_t hilen, char *err, size_t errlen)
{
    assert_family(f);
    (void)err;
    (void)errlen;
    if (s->read_only) return 0;
    /* The C API reports no status for a manual compaction; a failure shows
     * up as a background error in storage_stats. */
    rocksdb_compact_range_cf(s->db, s->cf[f], lo, lo ? lolen : 0, hi, hi ? hilen : 0);
    return 0;
}

static uint64_t prop_u64(storage *s, int f, const char *name)
{
    uint64_t v = 0;
    if (rocksdb_property_int_cf(s->db, s->cf[f], name, &v) != 0) return 0;
    return v;
}

void storage_get_numbers(storage *s, storage_numbers *out)
{
    memset(out, 0, sizeof(*out));
    for (int f = 0; f < REC_CF_COUNT; f++) {
        out->live_bytes[f] = prop_u64(s, f, "rocksdb.estimate-live-data-size");
        out->keys[f] = prop_u64(s, f, "rocksdb.estimate-num-keys");
        out->memtable_bytes += prop_u64(s, f, "rocksdb.cur-size-all-mem-tables");
        out->sst_bytes += prop_u64(s, f, "rocksdb.total-sst-files-size");
        out->blob_bytes += prop_u64(s, f, "rocksdb.live-blob-file-size");
    }
    pthread_mutex_lock(&s->mu);
    out->write_errors = s->write_errors;
    pthread_mutex_unlock(&s->mu);
}

/* Appends to buf at *off, never past buflen. */
static void stat_line(char *buf, size_t buflen, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void stat_line(char *buf, size_t buflen, size_t *off, const char *fmt, ...)
{
    if (*off >= buflen) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *off, buflen - *off, fmt, ap);
    va_end(ap);
    if (n > 0) *off += (size_t)n;
    if (*off >= buflen) *off = buflen; /* cut; still NUL-terminated by vsnprintf */
}

void storage_stats(storage *s, char *buf, size_t buflen)
{
    if (!buflen) return;
    buf[0] = '\0';
    size_t off = 0;
    storage_numbers n;
    storage_get_numbers(s, &n);
    for (int f = 0; f < REC_CF_COUNT; f++) {
        stat_line(buf, buflen, &off, "rocksdb_%s_live_bytes:%llu\r\n", cf_names[f],
                  (unsigned long long)n.live_bytes[f]);
        stat_line(buf, buflen, &off, "rocksdb_%s_keys:%llu\r\n", cf_names[f],
                  (unsigned long long)n.keys[f]);
    }
    uint64_t bg_errors = 0, pending = 0;
    rocksdb_property_int(s->db, "rocksdb.background-errors", &bg_errors);
    for (int f = 0; f < REC_CF_COUNT; f++)
        pending += prop_u64(s, f, "rocksdb.estimate-pending-compaction-bytes");
    char last[256];
    pthread_mutex_lock(&s->mu);
    snprintf(last, sizeof(last), "%s", s->last_error);
    pthread_mutex_unlock(&s->mu);
    stat_line(buf, buflen, &off, "rocksdb_memtable_bytes:%llu\r\n",
              (unsigned long long)n.memtable_bytes);
    stat_line(buf, buflen, &off, "rocksdb_sst_bytes:%llu\r\n", (unsigned long long)n.sst_bytes);
    stat_line(buf, buflen, &off, "rocksdb_blob_bytes:%llu\r\n", (unsigned long long)n.blob_bytes);
    stat_line(buf, buflen, &off, "rocksdb_block_cache_bytes:%zu\r\n",
              rocksdb_cache_get_usage(s->cache));
    stat_line(buf, buflen, &off, "rocksdb_pending_compaction_bytes:%llu\r\n",
              (unsigned long long)pending);
    stat_line(buf, buflen, &off, "rocksdb_background_errors:%llu\r\n",
              (unsigned long long)bg_errors);
    stat_line(buf, buflen, &off, "rocksdb_write_errors:%llu\r\n",
              (unsigned long long)n.write_errors);
    stat_line(buf, buflen, &off, "rocksdb_last_error:%s\r\n", last);
}

#else /* !VECTIS_ROCKSDB */

/* Built without RocksDB: every entry point exists so the server links;
 * storage_open fails, so nothing else is ever reached with a storage. */

#define NO_ROCKSDB "this vectis was built without RocksDB (persistence is unavailable)"

struct storage {
    int unused;
};

struct storage_batch {
    size_t count;
};

storage *storage_open(const char *dir, const storage_options *o, char *err, size_t errlen)
{
    (void)dir;
    (void)o;
    snprintf(err, errlen, "%s", NO_ROCKSDB);
    return NULL;
}

void storage_close(storage *s)
{
    xfree(s);
}

int storage_is_new(const storage *s)
{
    (void)s;
    return 0;
}

const char *storage_dir(const storage *s)
{
    (void)s;
    return "";
}

storage_batch *storage_batch_new(storage *s)
{
    (void)s;
    return xcalloc(1, sizeof(storage_batch));
}

void storage_batch_free(storage_batch *b)
{
    xfree(b);
}

void storage_batch_clear(storage_batch *b)
{
    b->count = 0;
}

size_t storage_batch_count(const storage_batch *b)
{
    return b->count;
}

size_t storage_batch_bytes(const storage_batch *b)
{
    (void)b;
    return 0;
}

void storage_batch_put(storage_batch *b, rec_family f, const void *key, size_t klen,
                       const void *val, size_t vlen)
{
    (void)f, (void)key, (void)klen, (void)val, (void)vlen;
    b->count++;
}

void storage_batch_delete(storage_batch *b, rec_family f, const void *key, size_t klen)
{
    (void)f, (void)key, (void)klen;
    b->count++;
}

void storage_batch_delete_range(storage_batch *b, rec_family f, const void *lo, size_t lolen,
                                const void *hi, size_t hilen)
{
    (void)f, (void)lo, (void)lolen, (void)hi, (void)hilen;
    b->count++;
}

void storage_batch_put_log(storage_batch *b, uint64_t lsn, const void *rec, size_t len)
{
    (void)lsn, (void)rec, (void)len;
    b->count++;
}

void storage_batch_delete_range_log(storage_batch *b, uint64_t lo, uint64_t hi)
{
    (void)lo, (void)hi;
    b->count++;
}

void storage_batch_drop_collection(storage_batch *b, uint64_t cid)
{
    (void)cid;
    b->count += 4;
}

static int no_rocksdb(char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", NO_ROCKSDB);
    return -1;
}

int storage_write(storage *s, storage_batch *b, int sync, char *err, size_t errlen)
{
    (void)s, (void)b, (void)sync;
    return no_rocksdb(err, errlen);
}

int storage_write_bulk(storage *s, storage_batch *b, char *err, size_t errlen)
{
    (void)s, (void)b;
    return no_rocksdb(err, errlen);
}

int storage_write_nowal(storage *s, storage_batch *b, char *err, size_t errlen)
{
    (void)s, (void)b;
    return no_rocksdb(err, errlen);
}

int storage_flush_bulk(storage *s, char *err, size_t errlen)
{
    (void)s;
    return no_rocksdb(err, errlen);
}

int storage_sync_wal(storage *s, char *err, size_t errlen)
{
    (void)s;
    return no_rocksdb(err, errlen);
}

int storage_flush(storage *s, char *err, size_t errlen)
{
    (void)s;
    return no_rocksdb(err, errlen);
}

int storage_get(storage *s, rec_family f, const void *key, size_t klen, void **val, size_t *vlen,
                char *err, size_t errlen)
{
    (void)s, (void)f, (void)key, (void)klen;
    *val = NULL;
    *vlen = 0;
    return no_rocksdb(err, errlen);
}

void storage_value_free(void *val)
{
    (void)val;
}

int storage_scan(storage *s, rec_family f, const void *lo, size_t lolen, const void *hi,
                 size_t hilen, storage_scan_fn cb, void *ctx, char *err, size_t errlen)
{
    (void)s, (void)f, (void)lo, (void)lolen, (void)hi, (void)hilen, (void)cb, (void)ctx;
    return no_rocksdb(err, errlen);
}

int storage_replay_log(storage *s, uint64_t from_lsn, storage_log_fn cb, void *ctx, char *err,
                       size_t errlen)
{
    (void)s, (void)from_lsn, (void)cb, (void)ctx;
    return no_rocksdb(err, errlen);
}

int storage_log_bounds(storage *s, uint64_t *first, uint64_t *last, char *err, size_t errlen)
{
    (void)s;
    *first = *last = 0;
    return no_rocksdb(err, errlen);
}

int storage_compact_range(storage *s, rec_family f, const void *lo, size_t lolen, const void *hi,
                          size_t hilen, char *err, size_t errlen)
{
    (void)s, (void)f, (void)lo, (void)lolen, (void)hi, (void)hilen;
    return no_rocksdb(err, errlen);
}

void storage_stats(storage *s, char *buf, size_t buflen)
{
    (void)s;
    if (buflen) snprintf(buf, buflen, "rocksdb:unavailable\r\n");
}

void storage_get_numbers(storage *s, storage_numbers *out)
{
    (void)s;
    memset(out, 0, sizeof(*out));
}

#endif /* VECTIS_ROCKSDB */
