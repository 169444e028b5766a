/*
 * wal.c -- the mutation log (see wal.h for the API): append-only files of
 * group-commit frames in one directory, <dir>/vectis.log/.
 *
 * ======================================================================
 * Format (little-endian; this comment is the reference)
 *
 * File <seq>.vlog, seq as 20 decimal digits (names sort as numbers):
 *   header (40 bytes)
 *     off 0   8 bytes  magic "VECTISWL"
 *     off 8   u32      version (1)
 *     off 12  u32      reserved, 0
 *     off 16  u64      seq (= the name's)
 *     off 24  u64      first_lsn: every record in the file has lsn >= it,
 *                      and every record of the files before has lsn < it
 *     off 32  u64      XXH64 of bytes 0..31, seed 0
 *   then frames, back to back, to the end of the file.
 *
 * Frame (the records of one wal_commit, written with one write(2)):
 *   header (32 bytes)
 *     off 0   u32      magic 0x4d524656 ("VFRM")
 *     off 4   u32      count of records (>= 1)
 *     off 8   u64      payload bytes (the records, after this header)
 *     off 16  u64      lsn of the last record
 *     off 24  u64      XXH64 of bytes 0..23, seed 0
 *   payload: count x { lsn u64 | len u32 | len bytes }, LSNs increasing
 *   (strictly, across frames and files too).
 *
 * The record bytes are record.h LOG values, which carry their own LSN and
 * XXH64: the frame header checksums only itself, and the reader of a
 * record (engine_replay_apply, vectis-check) checks the record. A flipped
 * bit in an entry's lsn or len shows as an LSN that disagrees with the
 * value's, an entry that overruns its frame, or a count or last LSN that
 * disagrees with the header.
 *
 * Reading back. A frame cut short by the end of the last file (a header
 * of fewer than 32 bytes, or a payload longer than what is left) is the
 * torn tail of a write that a crash interrupted; none of its commands
 * were acknowledged (replies leave after the write returns), so it is cut
 * off. Likewise a last file shorter than its header (a crash during a
 * rotation). Everything else that does not read back is damage and stops
 * the replay: the server then refuses to start and vectis-check
 * --truncate-log can cut the log at the damaged frame. This is Redis's
 * rule for its AOF (aof-load-truncated), for the same reason: a short
 * tail is what a crash leaves; a bad byte in the middle is not.
 *
 * ======================================================================
 * Why files and not RocksDB's `log` column family (DESIGN.md section 6
 * planned the family; older databases have log entries there, which the
 * server still replays): measured on the bench-persist load (1M x 128,
 * main-thread CPU time per row), a put per LSN into the family cost ~2.5
 * us per row on the main thread (RocksDB's WAL write, then the memtable
 * insert faulting in fresh arena pages, then a background flush writing
 * the same bytes to an SST that the next checkpoint deletes), against ~2
 * us per row for everything else: everysec ran at 0.47x the in-memory
 * rate. One write(2) of the turn's frame into the page cache costs ~0.5-1
 * us per row (perf: the kernel's copy and page-cache allocation), and
 * everysec runs at ~0.7x. What the family
 * gave -- atomicity of a turn's batch, a sync per turn or per second,
 * point-in-time recovery -- the frames give too: one write per turn,
 * fdatasync per turn or per second, torn-tail cut. The checkpoint's
 * atomicity does not need the log: the checkpoint record in `meta` says
 * which LSNs the log still has to replay, and files are deleted only
 * after that record is durable.
 *
 * Rotation. A file is closed for appends when it reaches file_bytes
 * (64 MiB) after a commit, and at each checkpoint (wal_rotate), so that a
 * checkpoint at LSN K can delete every file before the one that starts at
 * K + 1. Files are never appended to after a restart: wal_start begins a
 * new one. A rotated-out descriptor is kept until wal_sync has synced it
 * (everysec: the file must be durable before the next one's records can
 * be) and is closed there.
 *
 * Threads: see wal.h. `mu` guards the file list, the rotated-out
 * descriptors and the directory-sync flag; `sync_mu` serialises wal_sync
 * (only wal_sync closes rotated-out descriptors, so the descriptor it
 * syncs cannot be closed under it). Everything else is the appending
 * thread's.
 */
#include "engine/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <xxhash.h>

#include "alloc.h"
#include "engine/le.h"

#define WAL_MAGIC "VECTISWL"
#define WAL_VERSION 1
#define WAL_FILE_HDR 40
#define WAL_FRAME_MAGIC 0x4d524656u
#define WAL_FRAME_HDR 32
#define WAL_ENTRY_HDR 12
#define WAL_NAME_LEN 26      /* 20 digits + ".vlog" + NUL */
#define WAL_READ_CHUNK ((size_t)4 << 20)
#define WAL_PROGRESS_BYTES ((uint64_t)1 << 20) /* loading: INFO progress and yields */

typedef struct wal_file {
    uint64_t seq;
    uint64_t bytes;  /* size on disk */
    uint64_t lo, hi; /* first and last record LSN in it, 0 0 when none known */
} wal_file;

struct wal {
    char dir[PATH_MAX];
    int dirfd;
    int read_only;
    uint64_t file_bytes;

    pthread_mutex_t mu; /* files, old_fds, dir_dirty */
    pthread_mutex_t sync_mu;
    wal_file *files;
    size_t nfiles, fcap;
    int *old_fds;
    size_t nold, oldcap;
    int dir_dirty;

    /* Appending (one thread). */
    int fd;           /* current file, -1 before wal_start */
    uint64_t cur_seq; /* its sequence number (always the last in files) */
    uint64_t size;    /* its size */
    uint64_t last_lsn; /* of the last record replayed or committed */
    uint8_t *buf;     /* the current frame: header room, then entries */
    size_t len, cap;
    uint32_t count;
    int rotate_due;   /* the current file is full: rotate at the next commit */
};

/* ------------------------------------------------------------ helpers */

static void file_name(uint64_t seq, char out[WAL_NAME_LEN])
{
    snprintf(out, WAL_NAME_LEN, "%020" PRIu64 ".vlog", seq);
}

/* seq from a name of exactly 20 digits + ".vlog"; 0 when it is not one. */
static uint64_t parse_name(const char *name)
{
    if (strlen(name) != 25 || strcmp(name + 20, ".vlog") != 0) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') return 0;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    return v;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (w == 0) {
            errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int cmp_file(const void *a, const void *b)
{
    uint64_t x = ((const wal_file *)a)->seq, y = ((const wal_file *)b)->seq;
    return x < y ? -1 : x > y;
}

/* Appends to the file list (caller holds mu, or is alone). */
static void add_file(wal *w, uint64_t seq, uint64_t bytes)
{
    if (w->nfiles == w->fcap) {
        w->fcap = w->fcap ? w->fcap * 2 : 16;
        w->files = xrealloc(w->files, w->fcap * sizeof(*w->files));
    }
    w->files[w->nfiles++] = (wal_file){seq, bytes, 0, 0};
}

/* ------------------------------------------------------------ open, close */

wal *wal_open(const char *dir, int read_only, char *err, size_t errlen)
{
    if (strlen(dir) >= PATH_MAX) {
        fail(err, errlen, "log directory name too long");
        return NULL;
    }
    if (!read_only && mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fail(err, errlen, "can't create the log directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    wal *w = xcalloc(1, sizeof(*w));
    snprintf(w->dir, sizeof(w->dir), "%s", dir);
    w->read_only = read_only;
    w->file_bytes = WAL_DEFAULT_FILE_BYTES;
    w->fd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->sync_mu, NULL);
    w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dirfd < 0) {
        if (read_only && errno == ENOENT) return w; /* no log yet: empty */
        fail(err, errlen, "can't open the log directory %s: %s", dir, strerror(errno));
        wal_close(w);
        return NULL;
    }
    DIR *d = fdopendir(dup(w->dirfd));
    if (!d) {
        fail(err, errlen, "can't list the log directory %s: %s", dir, strerror(errno));
        wal_close(w);
        return NULL;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t seq = parse_name(e->d_name);
        if (!seq) continue; /* not ours: left alone */
        struct stat sb;
        int bad = fstatat(w->dirfd, e->d_name, &sb, 0) != 0;
        if (bad || !S_ISREG(sb.st_mode)) {
            fail(err, errlen, "log file %s: %s", e->d_name,
                 bad ? strerror(errno) : "not a regular file");
            closedir(d);
            wal_close(w);
            return NULL;
        }
        add_file(w, seq, (uint64_t)sb.st_size);
    }
    closedir(d);
    if (w->nfiles > 1) qsort(w->files, w->nfiles, sizeof(*w->files), cmp_file);
    return w;
}

void wal_close(wal *w)
{
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    for (size_t i = 0; i < w->nold; i++) close(w->old_fds[i]);
    if (w->dirfd >= 0) close(w->dirfd);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->sync_mu);
    xfree(w->files);
    xfree(w->old_fds);
    xfree(w->buf);
    xfree(w);
}

const char *wal_dir(const wal *w)
{
    return w->dir;
}

void wal_set_file_bytes(wal *w, uint64_t bytes)
{
    w->file_bytes = bytes ? bytes : WAL_DEFAULT_FILE_BYTES;
}

/* ------------------------------------------------------------ bounds */

uint64_t wal_bytes(const wal *w)
{
    wal *m = (wal *)w;
    pthread_mutex_lock(&m->mu);
    uint64_t n = 0;
    for (size_t i = 0; i < m->nfiles; i++) n += m->files[i].bytes;
    pthread_mutex_unlock(&m->mu);
    return n;
}

uint64_t wal_last_lsn(const wal *w)
{
    return w->last_lsn;
}

size_t wal_files(const wal *w)
{
    wal *m = (wal *)w;
    pthread_mutex_lock(&m->mu);
    size_t n = m->nfiles;
    pthread_mutex_unlock(&m->mu);
    return n;
}

void wal_bounds(const wal *w, uint64_t *first, uint64_t *last)
{
    wal *m = (wal *)w;
    *first = *last = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nfiles; i++) {
        if (!m->files[i].lo) continue;
        if (!*first) *first = m->files[i].lo;
        *last = m->files[i].hi;
    }
    pthread_mutex_unlock(&m->mu);
}

/* ------------------------------------------------------------ replay */

/* A file being read: a window of its bytes in buf, from file offset base. */
typedef struct reader {
    int fd;
    uint64_t size;
    uint8_t *buf;
    size_t cap, len; /* buf[0..len) holds file bytes base..base+len */
    uint64_t base;
} reader;

/* Makes file bytes [off, off + n) readable at buf + (off - base).
 * 0, or -1 with errno. The caller has checked off + n <= size. */
static int reader_need(reader *r, uint64_t off, size_t n)
{
    if (off >= r->base && off + n <= r->base + r->len) return 0;
    size_t want = n > WAL_READ_CHUNK ? n : WAL_READ_CHUNK;
    if (want > r->size - off) want = (size_t)(r->size - off);
    if (want > r->cap) {
        xfree(r->buf);
        r->buf = xmalloc(want);
        r->cap = want;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t k = pread(r->fd, r->buf + got, want - got, (off_t)(off + got));
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (k == 0) {
            errno = EIO; /* the file shrank under us */
            return -1;
        }
        got += (size_t)k;
    }
    r->base = off;
    r->len = want;
    return 0;
}

static const uint8_t *reader_at(const reader *r, uint64_t off)
{
    return r->buf + (off - r->base);
}

static void set_pos(wal_pos *p, uint64_t seq, uint64_t off, uint64_t lsn)
{
    char name[WAL_NAME_LEN];
    file_name(seq, name);
    snprintf(p->file, sizeof(p->file), "%s", name);
    p->seq = seq;
    p->offset = off;
    p->lsn = lsn;
}

/* Damage: fills info->stop and err; returns -1. */
static int damage(wal_replay_info *info, uint64_t seq, uint64_t off, uint64_t lsn, char *err,
                  size_t errlen, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static int damage(wal_replay_info *info, uint64_t seq, uint64_t off, uint64_t lsn, char *err,
                  size_t errlen, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    set_pos(&info->stop, seq, off, lsn);
    if (lsn)
        return fail(err, errlen, "log lsn %" PRIu64 " (log file %s offset %" PRIu64 "): %s", lsn,
                    info->stop.file, off, why);
    return fail(err, errlen, "log file %s offset %" PRIu64 ": %s", info->stop.file, off, why);
}

/* Cuts the last file at off (a torn tail); off < header: the file goes. */
static int cut_tail(wal *w, size_t idx, uint64_t off, wal_replay_info *info, char *err,
                    size_t errlen)
{
    wal_file *f = &w->files[idx];
    info->torn_bytes = f->bytes - off;
    set_pos(&info->torn, f->seq, off, 0);
    if (w->read_only) return 0;
    char name[WAL_NAME_LEN];
    file_name(f->seq, name);
    if (off < WAL_FILE_HDR) {
        if (unlinkat(w->dirfd, name, 0) != 0)
            return fail(err, errlen, "can't delete the torn log file %s: %s", name,
                        strerror(errno));
        pthread_mutex_lock(&w->mu);
        w->nfiles--;
        pthread_mutex_unlock(&w->mu);
        w->dir_dirty = 1;
        return 0;
    }
    int fd = openat(w->dirfd, name, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)off) != 0 || fdatasync(fd) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return fail(err, errlen, "can't cut the torn tail of log file %s: %s", name, strerror(e));
    }
    close(fd);
    f->bytes = off;
    return 0;
}

/* Checks a file header (WAL_FILE_HDR bytes) of file seq: 0, or -1 with
 * what is wrong in why. */
static int header_problem(const uint8_t *h, uint64_t seq, char *why, size_t whylen)
{
    if (memcmp(h, WAL_MAGIC, 8) != 0)
        return fail(why, whylen, "not a vectis log file (bad magic)");
    if (XXH64(h, 32, 0) != le_load(h + 32, 8))
        return fail(why, whylen, "file header checksum mismatch");
    if (le_load(h + 8, 4) != WAL_VERSION)
        return fail(why, whylen,
                    "log format version %u is not supported (this build reads version %d)",
                    (unsigned)le_load(h + 8, 4), WAL_VERSION);
    if (le_load(h + 12, 4) != 0 || le_load(h + 16, 8) != seq)
        return fail(why, whylen,
                    "file header names sequence %" PRIu64 " or has reserved bits set",
                    le_load(h + 16, 8));
    return 0;
}

/* Reads file idx. Returns 0, 1 (stopped by cb/progress), -1 (damage, I/O). */
static int replay_file(wal *w, size_t idx, uint64_t from_lsn, wal_record_fn cb,
                       int (*progress)(void *, uint64_t), void *ctx, reader *r,
                       wal_replay_info *info, char *err, size_t errlen)
{
    wal_file *f = &w->files[idx];
    int last = idx + 1 == w->nfiles;
    char name[WAL_NAME_LEN];
    file_name(f->seq, name);
    if (f->bytes < WAL_FILE_HDR) {
        if (last) return cut_tail(w, idx, 0, info, err, errlen);
        return damage(info, f->seq, 0, 0, err, errlen,
                      "the file is %" PRIu64 " bytes, shorter than its header", f->bytes);
    }
    r->fd = openat(w->dirfd, name, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) return fail(err, errlen, "can't open log file %s: %s", name, strerror(errno));
    r->size = f->bytes;
    r->len = 0;
    r->base = 0;
    int rc = 0;
    if (reader_need(r, 0, WAL_FILE_HDR) != 0) {
        rc = fail(err, errlen, "reading log file %s failed: %s", name, strerror(errno));
        goto out;
    }
    const uint8_t *h = reader_at(r, 0);
    char why[128];
    if (header_problem(h, f->seq, why, sizeof(why))) {
        rc = damage(info, f->seq, 0, 0, err, errlen, "%s", why);
        goto out;
    }
    uint64_t first_lsn = le_load(h + 24, 8);
    if (first_lsn <= w->last_lsn) {
        rc = damage(info, f->seq, 0, 0, err, errlen,
                    "the file starts at lsn %" PRIu64 ", not after the previous file's last "
                    "record (lsn %" PRIu64 ")",
                    first_lsn, w->last_lsn);
        goto out;
    }
    uint64_t off = WAL_FILE_HDR;
    info->bytes += WAL_FILE_HDR;
    uint64_t prev = first_lsn - 1;
    while (off < f->bytes) {
        uint64_t left = f->bytes - off;
        if (left < WAL_FRAME_HDR) {
            if (last) {
                rc = cut_tail(w, idx, off, info, err, errlen);
                break;
            }
            rc = damage(info, f->seq, off, 0, err, errlen,
                        "frame header cut short (%" PRIu64 " bytes left)", left);
            break;
        }
        if (reader_need(r, off, WAL_FRAME_HDR) != 0) {
            rc = fail(err, errlen, "reading log file %s failed: %s", name, strerror(errno));
            break;
        }
        h = reader_at(r, off);
        uint32_t count = (uint32_t)le_load(h + 4, 4);
        uint64_t payload = le_load(h + 8, 8), flast = le_load(h + 16, 8);
        if ((uint32_t)le_load(h, 4) != WAL_FRAME_MAGIC || XXH64(h, 24, 0) != le_load(h + 24, 8)) {
            rc = damage(info, f->seq, off, 0, err, errlen, "bad frame header (%s)",
                        (uint32_t)le_load(h, 4) != WAL_FRAME_MAGIC ? "magic" : "checksum mismatch");
            break;
        }
        if (payload > left - WAL_FRAME_HDR) {
            if (last) {
                rc = cut_tail(w, idx, off, info, err, errlen);
                break;
            }
            rc = damage(info, f->seq, off, 0, err, errlen,
                        "frame of %" PRIu64 " bytes cut short by the end of the file", payload);
            break;
        }
        if (!count || payload > SIZE_MAX - WAL_FRAME_HDR || flast <= prev) {
            rc = damage(info, f->seq, off, 0, err, errlen,
                        "frame header out of range (count %u, last lsn %" PRIu64 ")", count,
                        flast);
            break;
        }
        if (reader_need(r, off, (size_t)(WAL_FRAME_HDR + payload)) != 0) {
            rc = fail(err, errlen, "reading log file %s failed: %s", name, strerror(errno));
            break;
        }
        const uint8_t *p = reader_at(r, off + WAL_FRAME_HDR), *end = p + payload;
        uint32_t seen = 0;
        while (rc == 0 && p < end) {
            if ((size_t)(end - p) < WAL_ENTRY_HDR) {
                rc = damage(info, f->seq, off, prev + 1, err, errlen,
                            "record %u overruns its frame", seen);
                break;
            }
            uint64_t lsn = le_load(p, 8);
            uint32_t len = (uint32_t)le_load(p + 8, 4);
            if (lsn <= prev || lsn > flast) {
                rc = damage(info, f->seq, off, prev + 1, err, errlen,
                            "record %u has lsn %" PRIu64 ", out of order", seen, lsn);
                break;
            }
            if (len > (size_t)(end - p) - WAL_ENTRY_HDR) {
                rc = damage(info, f->seq, off, lsn, err, errlen,
                            "record of %u bytes overruns its frame", len);
                break;
            }
            if (lsn >= from_lsn) {
                if (cb(ctx, lsn, p + WAL_ENTRY_HDR, len)) {
                    set_pos(&info->stop, f->seq, off, lsn);
                    rc = 1;
                    break;
                }
                info->records++;
            } else {
                info->skipped++;
            }
            if (!f->lo) f->lo = lsn;
            f->hi = lsn;
            prev = lsn;
            w->last_lsn = lsn;
            seen++;
            p += WAL_ENTRY_HDR + len;
        }
        if (rc) break;
        if (seen != count || prev != flast) {
            rc = damage(info, f->seq, off, prev, err, errlen,
                        "frame holds %u records up to lsn %" PRIu64
                        ", its header says %u up to lsn %" PRIu64,
                        seen, prev, count, flast);
            break;
        }
        off += WAL_FRAME_HDR + payload;
        info->bytes += WAL_FRAME_HDR + payload;
        if (progress && info->bytes - info->progress_at >= WAL_PROGRESS_BYTES) {
            info->progress_at = info->bytes;
            if (progress(ctx, info->bytes)) {
                set_pos(&info->stop, f->seq, off, 0);
                rc = 1;
                break;
            }
        }
    }
    if (rc == 0 && w->last_lsn < first_lsn - 1) w->last_lsn = first_lsn - 1;
out:
    close(r->fd);
    r->fd = -1;
    return rc;
}

int wal_replay(wal *w, uint64_t from_lsn, wal_record_fn cb,
               int (*progress)(void *ctx, uint64_t bytes), void *ctx, wal_replay_info *info,
               char *err, size_t errlen)
{
    memset(info, 0, sizeof(*info));
    /* A replay reads the log from scratch (also a second one). */
    w->last_lsn = 0;
    for (size_t k = 0; k < w->nfiles; k++) w->files[k].lo = w->files[k].hi = 0;
    reader r = {.fd = -1};
    int rc = 0;
    size_t i = 0;
    /* Files wholly below from_lsn (a checkpoint that could not delete
     * them) are not read: the next file starts at or below from_lsn. */
    while (i + 1 < w->nfiles) {
        char name[WAL_NAME_LEN], why[128];
        uint8_t h[WAL_FILE_HDR];
        uint64_t next = w->files[i + 1].seq;
        file_name(next, name);
        int fd = openat(w->dirfd, name, O_RDONLY | O_CLOEXEC);
        ssize_t got = fd >= 0 ? pread(fd, h, sizeof(h), 0) : -1;
        if (fd >= 0) close(fd);
        /* A header that does not read back is reported when its file is. */
        if (got != (ssize_t)sizeof(h) || header_problem(h, next, why, sizeof(why)) ||
            le_load(h + 24, 8) > from_lsn)
            break;
        info->skipped_files++;
        i++;
    }
    for (size_t start = i; i < w->nfiles && rc == 0; i++) {
        if (i > start && w->files[i].seq != w->files[i - 1].seq + 1) {
            rc = damage(info, w->files[i - 1].seq + 1, 0, 0, err, errlen,
                        "missing (the files before and after it are there)");
            break;
        }
        rc = replay_file(w, i, from_lsn, cb, progress, ctx, &r, info, err, errlen);
    }
    xfree(r.buf);
    return rc;
}

/* ------------------------------------------------------------ writing */

/* Creates file seq starting at first_lsn, header written; its descriptor
 * or -1 with a message. */
static int create_file(wal *w, uint64_t seq, uint64_t first_lsn, char *err, size_t errlen)
{
    char name[WAL_NAME_LEN];
    file_name(seq, name);
    int fd = openat(w->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return fail(err, errlen, "can't create log file %s: %s", name, strerror(errno));
    uint8_t h[WAL_FILE_HDR];
    memcpy(h, WAL_MAGIC, 8);
    le_store(h + 8, WAL_VERSION, 4);
    le_store(h + 12, 0, 4);
    le_store(h + 16, seq, 8);
    le_store(h + 24, first_lsn, 8);
    le_store(h + 32, XXH64(h, 32, 0), 8);
    if (write_all(fd, h, sizeof(h)) != 0) {
        int e = errno;
        close(fd);
        unlinkat(w->dirfd, name, 0);
        return fail(err, errlen, "can't write log file %s: %s", name, strerror(e));
    }
    return fd;
}

/* Begins file seq+1 after the current one (if any); the old descriptor
 * goes to old_fds for wal_sync. */
static uint64_t begin_file(wal *w, uint64_t first_lsn, char *err, size_t errlen)
{
    if (w->read_only || w->dirfd < 0) {
        fail(err, errlen, "the log is open read-only");
        return 0;
    }
    uint64_t seq;
    if (w->fd >= 0) {
        seq = w->cur_seq + 1;
    } else {
        pthread_mutex_lock(&w->mu);
        seq = w->nfiles ? w->files[w->nfiles - 1].seq + 1 : 1;
        pthread_mutex_unlock(&w->mu);
    }
    int fd = create_file(w, seq, first_lsn, err, errlen);
    if (fd < 0) return 0;
    pthread_mutex_lock(&w->mu);
    if (w->fd >= 0) {
        if (w->nold == w->oldcap) {
            w->oldcap = w->oldcap ? w->oldcap * 2 : 8;
            w->old_fds = xrealloc(w->old_fds, w->oldcap * sizeof(int));
        }
        w->old_fds[w->nold++] = w->fd;
    }
    add_file(w, seq, WAL_FILE_HDR);
    w->dir_dirty = 1;
    /* Under mu: wal_sync reads the current descriptor under it. */
    w->fd = fd;
    w->cur_seq = seq;
    pthread_mutex_unlock(&w->mu);
    w->size = WAL_FILE_HDR;
    w->rotate_due = 0;
    return seq;
}

int wal_start(wal *w, uint64_t next_lsn, char *err, size_t errlen)
{
    if (next_lsn <= w->last_lsn) next_lsn = w->last_lsn + 1;
    return begin_file(w, next_lsn, err, errlen) ? 0 : -1;
}

void wal_append(wal *w, uint64_t lsn, const void *rec, size_t len)
{
    size_t need = (w->len ? w->len : WAL_FRAME_HDR) + WAL_ENTRY_HDR + len;
    if (need > w->cap) {
        size_t c = w->cap ? w->cap : 64 << 10;
        while (c < need) c *= 2;
        w->buf = xrealloc(w->buf, c);
        w->cap = c;
    }
    if (!w->len) w->len = WAL_FRAME_HDR; /* header filled at commit */
    uint8_t *p = w->buf + w->len;
    le_store(p, lsn, 8);
    le_store(p + 8, (uint32_t)len, 4);
    memcpy(p + WAL_ENTRY_HDR, rec, len);
    w->len += WAL_ENTRY_HDR + len;
    w->count++;
    w->last_lsn = lsn;
}

size_t wal_pending(const wal *w)
{
    return w->count;
}

/* Writes the current frame without syncing. */
static int write_frame(wal *w, char *err, size_t errlen)
{
    if (!w->count) return 0;
    char name[WAL_NAME_LEN];
    file_name(w->cur_seq, name);
    uint8_t *h = w->buf;
    uint64_t payload = w->len - WAL_FRAME_HDR;
    le_store(h, WAL_FRAME_MAGIC, 4);
    le_store(h + 4, w->count, 4);
    le_store(h + 8, payload, 8);
    le_store(h + 16, w->last_lsn, 8);
    le_store(h + 24, XXH64(h, 24, 0), 8);
    int rc = 0;
    if (w->fd < 0) {
        rc = fail(err, errlen, "the log is not open for appends");
    } else if (write_all(w->fd, w->buf, w->len) != 0) {
        int e = errno;
        /* No partial frame may stay in front of later ones. */
        if (ftruncate(w->fd, (off_t)w->size) != 0 || lseek(w->fd, (off_t)w->size, SEEK_SET) < 0)
            w->rotate_due = 1; /* the next frame goes to a new file */
        rc = fail(err, errlen, "writing log file %s failed: %s", name, strerror(e));
    } else {
        uint64_t first = le_load(w->buf + WAL_FRAME_HDR, 8);
        w->size += w->len;
        pthread_mutex_lock(&w->mu);
        wal_file *f = &w->files[w->nfiles - 1];
        f->bytes = w->size;
        if (!f->lo) f->lo = first;
        f->hi = w->last_lsn;
        pthread_mutex_unlock(&w->mu);
        if (w->size >= w->file_bytes) w->rotate_due = 1;
    }
    w->len = 0;
    w->count = 0;
    return rc;
}

int wal_commit(wal *w, int sync, char *err, size_t errlen)
{
    if (w->rotate_due && w->count) {
        char rerr[256];
        /* A failed rotation leaves the current file in use: the frame still
         * goes somewhere, and the rotation is tried again next time. */
        uint64_t first = le_load(w->buf + WAL_FRAME_HDR, 8);
        if (!begin_file(w, first, rerr, sizeof(rerr)) && w->size > w->file_bytes * 2) {
            w->len = 0;
            w->count = 0;
            return fail(err, errlen, "%s", rerr);
        }
    }
    if (write_frame(w, err, errlen) != 0) return -1;
    if (sync) return wal_sync(w, 1, err, errlen);
    return 0;
}

uint64_t wal_rotate(wal *w, uint64_t next_lsn, char *err, size_t errlen)
{
    if (write_frame(w, err, errlen) != 0) return 0;
    if (next_lsn <= w->last_lsn) next_lsn = w->last_lsn + 1;
    return begin_file(w, next_lsn, err, errlen);
}

int wal_sync(wal *w, int do_fsync, char *err, size_t errlen)
{
    pthread_mutex_lock(&w->sync_mu);
    pthread_mutex_lock(&w->mu);
    size_t nold = w->nold;
    int *old = NULL;
    if (nold) {
        old = xmalloc(nold * sizeof(int));
        memcpy(old, w->old_fds, nold * sizeof(int));
        w->nold = 0;
    }
    int cur = w->fd, dir_dirty = w->dir_dirty;
    w->dir_dirty = 0;
    pthread_mutex_unlock(&w->mu);
    int rc = 0;
    for (size_t i = 0; i < nold; i++) {
        if (do_fsync && rc == 0 && fdatasync(old[i]) != 0)
            rc = fail(err, errlen, "syncing a log file failed: %s", strerror(errno));
        close(old[i]);
    }
    xfree(old);
    if (do_fsync && rc == 0 && cur >= 0 && fdatasync(cur) != 0)
        rc = fail(err, errlen, "syncing the log failed: %s", strerror(errno));
    if (do_fsync && rc == 0 && dir_dirty && w->dirfd >= 0 && fsync(w->dirfd) != 0)
        rc = fail(err, errlen, "syncing the log directory failed: %s", strerror(errno));
    if (rc != 0 && dir_dirty) {
        pthread_mutex_lock(&w->mu);
        w->dir_dirty = 1;
        pthread_mutex_unlock(&w->mu);
    }
    pthread_mutex_unlock(&w->sync_mu);
    return rc;
}

int wal_drop_before(wal *w, uint64_t seq, uint64_t keep_bytes, char *err, size_t errlen)
{
    if (w->read_only) return fail(err, errlen, "the log is open read-only");
    pthread_mutex_lock(&w->mu);
    size_t n = 0;
    while (n < w->nfiles && w->files[n].seq < seq) n++;
    /* Keep the newest of those while what stays is under keep_bytes. */
    uint64_t kept = 0;
    for (size_t i = n; i < w->nfiles; i++) kept += w->files[i].bytes;
    while (n > 0 && kept < keep_bytes) kept += w->files[--n].bytes;
    uint64_t *gone = n ? xmalloc(n * sizeof(uint64_t)) : NULL;
    for (size_t i = 0; i < n; i++) gone[i] = w->files[i].seq;
    memmove(w->files, w->files + n, (w->nfiles - n) * sizeof(*w->files));
    w->nfiles -= n;
    pthread_mutex_unlock(&w->mu);
    int rc = (int)n;
    for (size_t i = 0; i < n; i++) { /* oldest first: what stays is contiguous */
        char name[WAL_NAME_LEN];
        file_name(gone[i], name);
        if (unlinkat(w->dirfd, name, 0) != 0 && errno != ENOENT && rc >= 0)
            rc = fail(err, errlen, "can't delete log file %s: %s", name, strerror(errno));
    }
    xfree(gone);
    return rc;
}

int wal_truncate_at(wal *w, const wal_pos *p, char *err, size_t errlen)
{
    if (w->read_only || w->dirfd < 0) return fail(err, errlen, "the log is open read-only");
    size_t keep = 0;
    while (keep < w->nfiles && w->files[keep].seq < p->seq) keep++;
    for (size_t i = w->nfiles; i-- > keep;) { /* newest first: a crash leaves a prefix */
        char name[WAL_NAME_LEN];
        file_name(w->files[i].seq, name);
        if (w->files[i].seq == p->seq && p->offset >= WAL_FILE_HDR) {
            int fd = openat(w->dirfd, name, O_WRONLY | O_CLOEXEC);
            if (fd < 0 || ftruncate(fd, (off_t)p->offset) != 0 || fdatasync(fd) != 0) {
                int e = errno;
                if (fd >= 0) close(fd);
                return fail(err, errlen, "can't truncate log file %s: %s", name, strerror(e));
            }
            close(fd);
            w->files[i].bytes = p->offset;
            continue;
        }
        if (unlinkat(w->dirfd, name, 0) != 0 && errno != ENOENT)
            return fail(err, errlen, "can't delete log file %s: %s", name, strerror(errno));
        w->nfiles = i;
    }
    if (fsync(w->dirfd) != 0)
        return fail(err, errlen, "syncing the log directory failed: %s", strerror(errno));
    return 0;
}
