/*
 * test_wal.c -- the mutation log (src/engine/wal.c) in a temporary
 * directory: records of seeded random lengths and bytes written in frames
 * and read back identical and in order, from any LSN; rotation by size and
 * by wal_rotate, dropping a prefix of files, restarts that always begin a
 * new file; a torn tail cut at every offset of the last frame (and a last
 * file shorter than its header deleted), but only when the log is opened
 * read-write; damage (a flipped byte in a file header, a frame header or
 * an entry's LSN or length, a non-last file cut short, a missing file)
 * stopping the replay with an error that names the file and the offset,
 * and wal_truncate_at cutting the log there; callback and progress stops;
 * read-only logs; a commit that hits RLIMIT_FSIZE (in a forked child)
 * leaving only whole frames; wal_sync closing the rotated-out descriptors
 * while another thread syncs and drops files as the main thread commits.
 *
 * The test keeps its own model of what it wrote: every record (LSN and
 * bytes) and every frame (the file it landed in, found from the directory
 * listing, and its offset, from the file size and the frame length the
 * format comment of wal.c gives). Damage is made at offsets computed from
 * that model, never by searching the file.
 *
 * The seed is printed; WAL_TEST_SEED replays a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "engine/wal.h"
#include "test_rng.h"

/* Sizes from the format comment of wal.c: a file header, a frame header,
 * and the lsn + len prefix of each entry, in bytes. */
#define T_FILE_HDR 40
#define T_FRAME_HDR 32
#define T_ENTRY_HDR 12


/* ------------------------------------------------------------ the model */

typedef struct trec {
    uint64_t lsn;
    uint8_t *data;
    size_t len;
} trec;

typedef struct tframe {
    uint64_t seq, off, len; /* file, offset and bytes of the frame */
    size_t first, n;        /* its records: t->r[first .. first + n) */
    int rotated;            /* wal_rotate was called right after it */
    int by_rotate;          /* written by wal_rotate (not wal_commit) */
} tframe;

typedef struct tlog {
    char base[256]; /* mkdtemp directory, removed at the end */
    char dir[300];  /* base/vectis.log: created by wal_open */
    trec *r;
    size_t nr, rcap;
    tframe *f;
    size_t nf, fcap;
    uint64_t next_lsn;
} tlog;

/* The temporary directory of the running test, removed by its teardown
 * when a failed assertion skipped tlog_free. */
static char g_tmp[256];

static void tlog_init(tlog *t)
{
    memset(t, 0, sizeof(*t));
    const char *root = getenv("TMPDIR");
    snprintf(t->base, sizeof(t->base), "%s/vectis-wal-XXXXXX", root ? root : "/tmp");
    if (!mkdtemp(t->base)) fail_msg("mkdtemp: %s", strerror(errno));
    snprintf(g_tmp, sizeof(g_tmp), "%s", t->base);
    snprintf(t->dir, sizeof(t->dir), "%s/vectis.log", t->base);
    t->next_lsn = 1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Drops the records from index n on (and the frames holding them). */
static void tlog_cut(tlog *t, size_t n)
{
    for (size_t i = n; i < t->nr; i++) free(t->r[i].data);
    if (n < t->nr) t->nr = n;
    while (t->nf && t->f[t->nf - 1].first >= n) t->nf--;
}

static void tlog_free(tlog *t)
{
    tlog_cut(t, 0);
    free(t->r);
    free(t->f);
    nftw(t->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    g_tmp[0] = 0;
}

static int teardown_tmp(void **state)
{
    (void)state;
    if (g_tmp[0]) nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    g_tmp[0] = 0;
    return 0;
}

static void path_of(const tlog *t, uint64_t seq, char *out, size_t n)
{
    snprintf(out, n, "%s/%020" PRIu64 ".vlog", t->dir, seq);
}

static void name_of(uint64_t seq, char out[32])
{
    snprintf(out, 32, "%020" PRIu64 ".vlog", seq);
}

/* -1 when the file does not exist. */
static long long size_of(const tlog *t, uint64_t seq)
{
    char p[400];
    struct stat sb;
    path_of(t, seq, p, sizeof(p));
    if (stat(p, &sb) != 0) return -1;
    return (long long)sb.st_size;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The sequence numbers of the log files in the directory, sorted. */
static size_t list_seqs(const tlog *t, uint64_t *out, size_t max)
{
    DIR *d = opendir(t->dir);
    if (!d) return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strlen(e->d_name) != 25 || strcmp(e->d_name + 20, ".vlog") != 0) continue;
        if (n == max) fail_msg("more than %zu log files", max);
        out[n++] = strtoull(e->d_name, NULL, 10);
    }
    closedir(d);
    qsort(out, n, sizeof(*out), cmp_u64);
    return n;
}

static uint64_t last_seq(const tlog *t)
{
    uint64_t s[1024];
    size_t n = list_seqs(t, s, 1024);
    assert_true(n > 0);
    return s[n - 1];
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Checks file seq's header field by field against the format comment and
 * returns its first_lsn. */
static uint64_t header_first_lsn(const tlog *t, uint64_t seq)
{
    char p[400];
    uint8_t h[T_FILE_HDR];
    path_of(t, seq, p, sizeof(p));
    int fd = open(p, O_RDONLY);
    if (fd < 0) fail_msg("open %s: %s", p, strerror(errno));
    assert_int_equal(pread(fd, h, sizeof(h), 0), sizeof(h));
    close(fd);
    assert_memory_equal(h, "VECTISWL", 8);
    assert_int_equal(rd32(h + 8), 1);
    assert_int_equal(rd32(h + 12), 0);
    assert_int_equal(rd64(h + 16), seq);
    assert_true(rd64(h + 32) == XXH64(h, 32, 0));
    return rd64(h + 24);
}

static uint8_t *read_file(const tlog *t, uint64_t seq, size_t *len)
{
    char p[400];
    path_of(t, seq, p, sizeof(p));
    long long sz = size_of(t, seq);
    assert_true(sz >= 0);
    uint8_t *b = malloc((size_t)sz + 1);
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, b, (size_t)sz, 0), sz);
    close(fd);
    *len = (size_t)sz;
    return b;
}

/* Replaces file seq by the first len bytes of b. */
static void write_file(const tlog *t, uint64_t seq, const uint8_t *b, size_t len)
{
    char p[400];
    path_of(t, seq, p, sizeof(p));
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) fail_msg("open %s: %s", p, strerror(errno));
    assert_int_equal(write(fd, b, len), len);
    close(fd);
}

static void flip_byte(const tlog *t, uint64_t seq, uint64_t off, uint8_t x)
{
    char p[400];
    uint8_t c;
    path_of(t, seq, p, sizeof(p));
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, (off_t)off), 1);
    c ^= x;
    assert_int_equal(pwrite(fd, &c, 1, (off_t)off), 1);
    close(fd);
}

/* Adds n records of minlen..maxlen random bytes to the model, LSNs
 * increasing with an occasional gap, and appends them to w (when not
 * NULL). Returns the frame they make (seq and off not known yet). */
static tframe stage(wal *w, tlog *t, size_t n, size_t minlen, size_t maxlen)
{
    tframe fr = {.first = t->nr, .n = n, .len = T_FRAME_HDR};
    for (size_t i = 0; i < n; i++) {
        trec r;
        r.lsn = t->next_lsn;
        t->next_lsn += 1 + (rng_next() % 4 == 0 ? rng_next() % 3 : 0);
        r.len = minlen + (size_t)(rng_next() % (maxlen - minlen + 1));
        r.data = malloc(r.len + 1);
        for (size_t j = 0; j < r.len; j++) r.data[j] = (uint8_t)rng_next();
        if (t->nr == t->rcap) {
            t->rcap = t->rcap ? t->rcap * 2 : 256;
            t->r = realloc(t->r, t->rcap * sizeof(*t->r));
        }
        t->r[t->nr++] = r;
        if (w) wal_append(w, r.lsn, r.data, r.len);
        fr.len += T_ENTRY_HDR + r.len;
    }
    if (w) assert_int_equal(wal_pending(w), n);
    return fr;
}

/* The staged frame fr was written to file seq: its offset follows from
 * the file size; it must sit right after the previous frame of that file,
 * or right after the file header. */
static void landed(tlog *t, tframe *fr, uint64_t seq)
{
    long long sz = size_of(t, seq);
    assert_true(sz >= (long long)(T_FILE_HDR + fr->len));
    fr->seq = seq;
    fr->off = (uint64_t)sz - fr->len;
    const tframe *prev = t->nf ? &t->f[t->nf - 1] : NULL;
    if (prev && prev->seq == seq)
        assert_int_equal(fr->off, prev->off + prev->len);
    else
        assert_int_equal(fr->off, T_FILE_HDR);
    if (t->nf == t->fcap) {
        t->fcap = t->fcap ? t->fcap * 2 : 64;
        t->f = realloc(t->f, t->fcap * sizeof(*t->f));
    }
    t->f[t->nf++] = *fr;
}

/* One frame of n records, committed without sync. */
static tframe *commit_frame(wal *w, tlog *t, size_t n, size_t minlen, size_t maxlen)
{
    char err[512];
    tframe fr = stage(w, t, n, minlen, maxlen);
    if (wal_commit(w, 0, err, sizeof(err)) != 0) fail_msg("wal_commit: %s", err);
    assert_int_equal(wal_pending(w), 0);
    landed(t, &fr, last_seq(t));
    return &t->f[t->nf - 1];
}

/* wal_rotate with what is staged (n records, possibly 0): the frame goes
 * to the current file, and a new empty file starts at next_lsn. */
static uint64_t rotate_ok(wal *w, tlog *t, size_t n)
{
    char err[512];
    uint64_t cur = last_seq(t);
    tframe fr = stage(w, t, n, 0, 300);
    uint64_t s = wal_rotate(w, t->next_lsn, err, sizeof(err));
    if (!s) fail_msg("wal_rotate: %s", err);
    assert_true(s > cur);
    assert_int_equal(last_seq(t), s);
    assert_int_equal(size_of(t, s), T_FILE_HDR);
    assert_int_equal(header_first_lsn(t, s), t->next_lsn);
    if (n) {
        fr.by_rotate = 1;
        landed(t, &fr, cur);
    }
    if (t->nf) t->f[t->nf - 1].rotated = 1;
    return s;
}

/* The index of the first record with lsn >= from (nr when none). */
static size_t idx_of_lsn(const tlog *t, uint64_t from)
{
    size_t i = 0;
    while (i < t->nr && t->r[i].lsn < from) i++;
    return i;
}

/* The model frame holding record k. */
static const tframe *frame_of(const tlog *t, size_t k)
{
    for (size_t i = 0; i < t->nf; i++)
        if (k >= t->f[i].first && k < t->f[i].first + t->f[i].n) return &t->f[i];
    fail_msg("record %zu is in no frame", k);
    return NULL;
}

static wal *open_ok(const char *dir, int ro)
{
    char err[512];
    wal *w = wal_open(dir, ro, err, sizeof(err));
    if (!w) fail_msg("wal_open(%s, %d): %s", dir, ro, err);
    return w;
}

static void start_ok(wal *w, uint64_t next)
{
    char err[512];
    if (wal_start(w, next, err, sizeof(err)) != 0) fail_msg("wal_start: %s", err);
}

/* ------------------------------------------------------------ replay side */

typedef struct got {
    trec *r;
    size_t n, cap;
    uint64_t stop_lsn;       /* the callback returns 1 at this LSN (0: never) */
    int progress_stop;       /* progress returns 1 at its first call */
    size_t progress_calls;
    uint64_t progress_bytes; /* at the last call */
    size_t n_at_progress;    /* records delivered at the first call */
} got;

static int got_cb(void *ctx, uint64_t lsn, const void *rec, size_t len)
{
    got *g = ctx;
    if (g->stop_lsn && lsn == g->stop_lsn) return 1;
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 256;
        g->r = realloc(g->r, g->cap * sizeof(*g->r));
    }
    trec r = {.lsn = lsn, .len = len, .data = malloc(len + 1)};
    memcpy(r.data, rec, len);
    g->r[g->n++] = r;
    return 0;
}

static int got_progress(void *ctx, uint64_t bytes)
{
    got *g = ctx;
    if (bytes <= g->progress_bytes) {
        g->progress_calls = (size_t)-1; /* checked by the test: not increasing */
        return 1;
    }
    if (!g->progress_calls++) g->n_at_progress = g->n;
    g->progress_bytes = bytes;
    return g->progress_stop;
}

static void got_reset(got *g)
{
    for (size_t i = 0; i < g->n; i++) free(g->r[i].data);
    free(g->r);
    memset(g, 0, sizeof(*g));
}

/* wal_replay into a fresh g; returns its rc, err in err. */
static int replay(wal *w, uint64_t from, got *g, wal_replay_info *info, char *err, size_t errlen)
{
    uint64_t stop = g->stop_lsn;
    int ps = g->progress_stop;
    got_reset(g);
    g->stop_lsn = stop;
    g->progress_stop = ps;
    err[0] = 0;
    return wal_replay(w, from, got_cb, got_progress, g, info, err, errlen);
}

static void replay_ok(wal *w, uint64_t from, got *g, wal_replay_info *info)
{
    char err[512];
    int rc = replay(w, from, g, info, err, sizeof(err));
    if (rc != 0) fail_msg("wal_replay from %" PRIu64 ": rc %d: %s", from, rc, err);
}

/* g holds exactly records t->r[from .. from + n). */
static void check_got(const tlog *t, const got *g, size_t from, size_t n)
{
    if (g->n != n) fail_msg("replayed %zu records, expected %zu", g->n, n);
    for (size_t i = 0; i < n; i++) {
        const trec *a = &g->r[i], *b = &t->r[from + i];
        if (a->lsn != b->lsn || a->len != b->len || memcmp(a->data, b->data, a->len) != 0)
            fail_msg("record %zu: lsn %" PRIu64 " len %zu, expected lsn %" PRIu64 " len %zu%s",
                     i, a->lsn, a->len, b->lsn, b->len,
                     a->lsn == b->lsn && a->len == b->len ? " (bytes differ)" : "");
    }
}

/* err names file seq and "offset off". */
static void check_err_names(const char *err, uint64_t seq, uint64_t off)
{
    char name[32], o[48];
    name_of(seq, name);
    snprintf(o, sizeof(o), "offset %" PRIu64, off);
    if (!strstr(err, name) || !strstr(err, o))
        fail_msg("error \"%s\" should name %s and %s", err, name, o);
    assert_null(strpbrk(err, "\r\n"));
}

/* Bytes of the model's frames in file seq. */
static uint64_t frame_bytes_in(const tlog *t, uint64_t seq)
{
    uint64_t n = 0;
    for (size_t i = 0; i < t->nf; i++)
        if (t->f[i].seq == seq) n += t->f[i].len;
    return n;
}

/* ------------------------------------------------------------ 1. round trip */

static void test_round_trip(void **state)
{
    (void)state;
    tlog t;
    tlog_init(&t);
    got g = {0};
    wal_replay_info info;
    uint64_t first, last;

    wal *w = open_ok(t.dir, 0);
    assert_string_equal(wal_dir(w), t.dir);
    struct stat sb;
    assert_int_equal(stat(t.dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(wal_files(w), 0);
    assert_int_equal(wal_bytes(w), 0);
    replay_ok(w, 1, &g, &info);
    assert_int_equal(info.records, 0);
    assert_int_equal(info.skipped, 0);
    assert_int_equal(info.torn_bytes, 0);
    assert_int_equal(g.n, 0);
    wal_bounds(w, &first, &last);
    assert_int_equal(first, 0);
    assert_int_equal(last, 0);

    start_ok(w, 1);
    uint64_t seqs[16];
    assert_int_equal(list_seqs(&t, seqs, 16), 1);
    assert_int_equal(seqs[0], 1);
    assert_int_equal(size_of(&t, 1), T_FILE_HDR);
    assert_int_equal(header_first_lsn(&t, 1), 1);
    assert_int_equal(wal_files(w), 1);
    assert_int_equal(wal_bytes(w), T_FILE_HDR);

    char err[512];
    for (int i = 0; i < 12; i++) {
        commit_frame(w, &t, 1 + rng_next() % 6, 0, 5000);
        assert_int_equal(t.f[t.nf - 1].seq, 1); /* 64 MiB files: no rotation */
        if (i == 5) { /* an empty commit writes nothing */
            long long sz = size_of(&t, 1);
            assert_int_equal(wal_commit(w, 0, err, sizeof(err)), 0);
            assert_int_equal(size_of(&t, 1), sz);
        }
    }
    assert_int_equal(wal_commit(w, 1, err, sizeof(err)), 0);
    uint64_t total = T_FILE_HDR + frame_bytes_in(&t, 1);
    assert_int_equal(size_of(&t, 1), total);
    assert_int_equal(wal_bytes(w), total);
    assert_int_equal(wal_files(w), 1);
    wal_bounds(w, &first, &last);
    assert_int_equal(first, t.r[0].lsn);
    assert_int_equal(last, t.r[t.nr - 1].lsn);
    wal_close(w);

    /* Reopened: sizes known, LSNs only after the replay. */
    w = open_ok(t.dir, 0);
    assert_int_equal(wal_files(w), 1);
    assert_int_equal(wal_bytes(w), total);
    wal_bounds(w, &first, &last);
    assert_int_equal(first, 0);
    assert_int_equal(last, 0);
    replay_ok(w, 1, &g, &info);
    check_got(&t, &g, 0, t.nr);
    assert_int_equal(info.records, t.nr);
    assert_int_equal(info.skipped, 0);
    assert_int_equal(info.skipped_files, 0);
    assert_int_equal(info.torn_bytes, 0);
    assert_true(info.bytes >= total - T_FILE_HDR && info.bytes <= total);
    wal_bounds(w, &first, &last);
    assert_int_equal(first, t.r[0].lsn);
    assert_int_equal(last, t.r[t.nr - 1].lsn);
    assert_int_equal(size_of(&t, 1), total); /* a clean replay writes nothing */
    wal_close(w);

    /* From the middle (each on a fresh handle): exactly the earlier ones
     * are skipped. Some LSNs fall in gaps of the sequence. */
    size_t mid = t.nr / 2;
    uint64_t froms[] = {0, t.r[1].lsn, t.r[mid].lsn, t.r[mid].lsn + 1, t.r[t.nr - 1].lsn,
                        t.r[t.nr - 1].lsn + 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
        size_t k = idx_of_lsn(&t, froms[i]);
        w = open_ok(t.dir, i % 2);
        replay_ok(w, froms[i], &g, &info);
        check_got(&t, &g, k, t.nr - k);
        assert_int_equal(info.skipped, k);
        assert_int_equal(info.records, t.nr - k);
        wal_close(w);
    }
    got_reset(&g);
    tlog_free(&t);
}

/* A second wal_replay on the same handle (vectis-check after
 * wal_truncate_at, or a reader that re-reads from another LSN) must read
 * the same log the same way. */
static void test_replay_twice_same_handle(void **state)
{
    (void)state;
    /* A second replay once reported damage at file 1 offset 0: the last
     * LSN of the first replay was not reset. */
    tlog t;
    tlog_init(&t);
    got g = {0};
    wal_replay_info info;
    char err[512];
    wal *w = open_ok(t.dir, 0);
    start_ok(w, 1);
    for (int i = 0; i < 4; i++) commit_frame(w, &t, 3, 0, 100);
    wal_close(w);

    w = open_ok(t.dir, 1);
    replay_ok(w, 1, &g, &info);
    check_got(&t, &g, 0, t.nr);
    size_t k = t.nr / 2;
    int rc = replay(w, t.r[k].lsn, &g, &info, err, sizeof(err));
    if (rc != 0) fail_msg("second wal_replay on one handle: rc %d: %s", rc, err);
    check_got(&t, &g, k, t.nr - k);
    assert_int_equal(info.skipped, k);
    wal_close(w);
    got_reset(&g);
    tlog_free(&t);
}

/* ------------------------------------------------------------ 2. rotation */

static void test_rotation_drop(void **state)
{
    (void)state;
    tlog t;
    tlog_init(&t);
    got g = {0};
    wal_replay_info info;
    char err[512];
    const uint64_t fb = 4096; /* bytes: a file holds a few frames */

    wal *w = open_ok(t.dir, 0);
    wal_set_file_bytes(w, fb);
    start_ok(w, 1);
    uint64_t rot1 = 0, rot1_lsn = 0, prev_rot = 0;
    for (int i = 0; i < 40; i++) {
        commit_frame(w, &t, 1 + rng_next() % 4, 0, 1500);
        if (i == 12 || i == 27) {
            uint64_t s = rotate_ok(w, &t, 2);
            uint64_t lsn = t.next_lsn; /* file s starts there (rotate_ok checked) */
            assert_true(s > prev_rot);
            if (!rot1) rot1 = s, rot1_lsn = lsn;
            /* Twice with nothing between: file s stays empty. */
            uint64_t s2 = rotate_ok(w, &t, 0);
            assert_true(s2 > s);
            assert_int_equal(size_of(&t, s), T_FILE_HDR);
            assert_int_equal(header_first_lsn(&t, s), lsn);
            prev_rot = s2;
        }
    }
    uint64_t seqs[256];
    size_t nseq = list_seqs(&t, seqs, 256);
    assert_true(nseq >= 8);
    assert_int_equal(wal_files(w), nseq);
    uint64_t sum = 0;
    for (size_t i = 0; i < nseq; i++) {
        assert_int_equal(seqs[i], i + 1); /* contiguous from 1 */
        sum += (uint64_t)size_of(&t, seqs[i]);
    }
    assert_int_equal(wal_bytes(w), sum);
    /* Rotation by size: a commit goes to the same file only while it is
     * below fb (wal_rotate writes its frame to the current file, full or
     * not, just before leaving it), and a file is left (other than by
     * wal_rotate) only once it reached fb. */
    for (size_t i = 0; i + 1 < t.nf; i++) {
        const tframe *a = &t.f[i], *b = &t.f[i + 1];
        if (a->seq == b->seq && !b->by_rotate)
            assert_true(a->off + a->len < fb);
        else if (a->seq != b->seq && !a->rotated && a->off + a->len < fb)
            fail_msg("frame %zu (file %" PRIu64 " offset %" PRIu64 " len %" PRIu64
                     ") is followed by file %" PRIu64 " below %" PRIu64 " bytes (rot %d, %d)",
                     i, a->seq, a->off, a->len, b->seq, fb, a->by_rotate, b->by_rotate);
    }
    uint64_t first, last;
    wal_bounds(w, &first, &last);
    assert_int_equal(first, t.r[0].lsn);
    assert_int_equal(last, t.r[t.nr - 1].lsn);
    wal_close(w);

    /* Every record, across the files. */
    w = open_ok(t.dir, 0);
    replay_ok(w, 1, &g, &info);
    check_got(&t, &g, 0, t.nr);
    assert_int_equal(info.skipped_files, 0);
    assert_int_equal(info.torn_bytes, 0);
    wal_bounds(w, &first, &last);
    assert_int_equal(first, t.r[0].lsn);
    assert_int_equal(last, t.r[t.nr - 1].lsn);

    /* A backlog to keep: with room for everything nothing goes; with room
     * for one byte more than the files from rot1 on, exactly the newest
     * file before rot1 stays. */
    size_t nall = wal_files(w);
    assert_int_equal(wal_drop_before(w, rot1, UINT64_MAX, err, sizeof(err)), 0);
    assert_int_equal(wal_files(w), nall);
    {
        uint64_t seqs[256], from_rot1 = 0;
        size_t ns = list_seqs(&t, seqs, 256);
        for (size_t i = 0; i < ns; i++) {
            if (seqs[i] < rot1) continue;
            char path[512];
            struct stat sb;
            snprintf(path, sizeof(path), "%s/%020llu.vlog", t.dir, (unsigned long long)seqs[i]);
            assert_int_equal(stat(path, &sb), 0);
            from_rot1 += (uint64_t)sb.st_size;
        }
        int d = wal_drop_before(w, rot1, from_rot1 + 1, err, sizeof(err));
        if (d < 0) fail_msg("wal_drop_before: %s", err);
        assert_int_equal(d, rot1 - 2);
        ns = list_seqs(&t, seqs, 256);
        assert_int_equal(seqs[0], rot1 - 1);
    }

    /* Drop the files before the first wal_rotate's: exactly those go. */
    int dropped = wal_drop_before(w, rot1, 0, err, sizeof(err));
    if (dropped < 0) fail_msg("wal_drop_before: %s", err);
    assert_int_equal(dropped, 1); /* the one the backlog kept above */
    uint64_t left[256];
    size_t nleft = list_seqs(&t, left, 256);
    assert_int_equal(nleft, nseq - (rot1 - 1));
    for (size_t i = 0; i < nleft; i++) assert_int_equal(left[i], rot1 + i);
    assert_int_equal(wal_files(w), nleft);
    assert_int_equal(wal_drop_before(w, rot1, 0, err, sizeof(err)), 0); /* nothing more */
    wal_close(w);

    size_t k1 = idx_of_lsn(&t, rot1_lsn);
    assert_true(k1 > 0 && k1 < t.nr);
    w = open_ok(t.dir, 0);
    assert_int_equal(wal_files(w), nleft);
    replay_ok(w, rot1_lsn, &g, &info);
    check_got(&t, &g, k1, t.nr - k1);
    assert_int_equal(info.skipped, 0);
    wal_close(w);

    /* From an LSN well past the dropped prefix: the files wholly below it
     * are not read, the records of the others below it are skipped. */
    size_t kf = 0;
    for (size_t i = 0; i < t.nf; i++)
        if (t.f[i].seq >= left[nleft / 2] && t.f[i].first > k1) {
            kf = t.f[i].first + (t.f[i].n > 1); /* the second record of a frame */
            break;
        }
    assert_true(kf > k1 && kf < t.nr);
    /* Also exactly at a file's first LSN: the files before it are wholly
     * below, and so is the one before an empty file with the same start. */
    uint64_t froms[] = {t.r[kf].lsn, header_first_lsn(&t, left[nleft / 2]),
                        header_first_lsn(&t, left[nleft - 1])};
    for (size_t i = 0; i < sizeof(froms) / sizeof(froms[0]); i++) {
        uint64_t from = froms[i];
        size_t skip_files = 0;
        while (skip_files + 1 < nleft && header_first_lsn(&t, left[skip_files + 1]) <= from)
            skip_files++;
        assert_true(skip_files > 0);
        size_t kread = idx_of_lsn(&t, header_first_lsn(&t, left[skip_files]));
        size_t k = idx_of_lsn(&t, from);
        w = open_ok(t.dir, 1);
        replay_ok(w, from, &g, &info);
        check_got(&t, &g, k, t.nr - k);
        assert_int_equal(info.skipped_files, skip_files);
        assert_int_equal(info.skipped, k - kread);
        wal_close(w);
    }
    got_reset(&g);
    tlog_free(&t);
}

/* ------------------------------------------------------------ 3. restart */

static void test_restart(void **state)
{
    (void)state;
    tlog t;
    tlog_init(&t);
    got g = {0};
    wal_replay_info info;
    char err[512];

    wal *w = open_ok(t.dir, 0);
    start_ok(w, 1);
    for (int i = 0; i < 5; i++) commit_frame(w, &t, 1 + rng_next() % 3, 0, 2000);
    wal_close(w);
    long long size1 = size_of(&t, 1);

    /* Restarted: a new file, even when asked to start below the log. */
    w = open_ok(t.dir, 0);
    replay_ok(w, 1, &g, &info);
    check_got(&t, &g, 0, t.nr);
    start_ok(w, 1);
    assert_int_equal(last_seq(&t), 2);
    assert_int_equal(header_first_lsn(&t, 2), t.r[t.nr - 1].lsn + 1);
    size_t n1 = t.nr;
    for (int i = 0; i < 5; i++) {
        tframe *f = commit_frame(w, &t, 1 + rng_next() % 3, 0, 2000);
        assert_int_equal(f->seq, 2);
    }
    assert_int_equal(size_of(&t, 1), size1);
    assert_true(t.r[n1].lsn > t.r[n1 - 1].lsn);
    wal_close(w);

    /* Started above the log: the new file says so; an empty last file. */
    w = open_ok(t.dir, 0);
    replay_ok(w, 1, &g, &info);
    check_got(&t, &g, 0, t.nr);
    t.next_lsn += 5;
    start_ok(w, t.next_lsn);
    assert_int_equal(last_seq(&t), 3);
    assert_int_equal(header_first_lsn(&t, 3), t.next_lsn);
    wal_close(w);

    w = open_ok(t.dir, 0);
    replay_ok(w, 1, &g, &info);
    check_got(&t, &g, 0, t.nr);
    assert_int_equal(wal_files(w), 3);
    start_ok(w, 1);
    assert_int_equal(header_first_lsn(&t, 4), t.next_lsn); /* after the empty file's start */
    commit_frame(w, &t, 2, 0, 100);
    wal_close(w);
    w = open_ok(t.dir, 0);
    replay_ok(w, 1, &g, &info);
    check_got(&t, &g, 0, t.nr);
    wal_close(w);
    got_reset(&g);
    tlog_free(&t);

    /* A later file that starts at or below the previous file's last LSN
     * (a writer that did not replay first) is damage at that file. */
    tlog_init(&t);
    w = open_ok(t.dir, 0);
    start_ok(w, 1);
    for (int i = 0; i < 3; i++) commit_frame(w, &t, 2, 0, 100);
    size_t before = t.nr;
    wal_close(w);
    w = open_ok(t.dir, 0); /* no replay: the wal does not know LSN 1 is taken */
    start_ok(w, 1);
    t.next_lsn = 1;
    stage(w, &t, 2, 0, 100); /* LSNs 1.. again */
    assert_int_equal(wal_commit(w, 0, err, sizeof(err)), 0);
    wal_close(w);
    /* From LSN 0, so that no file is skipped on the strength of file 2's
     * header (which claims that file 1 holds only LSNs below 1). */
    w = open_ok(t.dir, 1);
    assert_int_equal(replay(w, 0, &g, &info, err, sizeof(err)), -1);
    check_err_names(err, 2, 0);
    assert_int_equal(info.stop.seq, 2);
    assert_int_equal(info.stop.offset, 0);
    check_got(&t, &g, 0, before);
    wal_close(w);
    got_reset(&g);
    tlog_free(&t);
}

/* ------------------------------------------------------------ 4. torn tail */

static void test_torn_tail(void **state)
{
    (void)state;
    tlog t;
    tlog_init(&t);
    got g = {0};
    wal_replay_info info;
    char name[32];

    wal *w = open_ok(t.dir, 0);
    start_ok(w, 1);
    for (int i = 0; i < 3; i++) commit_frame(w, &t, 1 + rng_next() % 3, 0, 2000);
    rotate_ok(w, &t, 0);
    for (int i = 0; i < 4; i++) commit_frame(w, &t, 2 + rng_next() % 3, 0, 2000);
    wal_close(w);
    const tframe F = t.f[t.nf - 1];
    assert_int_equal(F.seq, 2);
    long long size1 = size_of(&t, 1);
    size_t len2;
    uint8_t *file2 = read_file(&t, 2, &len2);
    assert_int_equal(len2, F.off + F.len);
    name_of(2, name);

    /* Cut points: every offset inside the frame header and the first
     * entry's prefix, a random sample of the rest, the last byte; and the
     * frame boundary itself (not torn). */
    uint64_t cuts[160];
    size_t nc = 0;
    cuts[nc++] = F.off;
    for (uint64_t c = F.off + 1; c <= F.off + T_FRAME_HDR + T_ENTRY_HDR + 1; c++) cuts[nc++] = c;
    while (nc < 150) cuts[nc++] = F.off + 1 + rng_next() % (F.len - 1);
    cuts[nc++] = F.off + F.len - 1;
    for (size_t i = 0; i < nc; i++) {
        uint64_t c = cuts[i];
        write_file(&t, 2, file2, c);
        if (i % 8 == 0) { /* read-only: reported, not cut */
            w = open_ok(t.dir, 1);
            replay_ok(w, 1, &g, &info);
            check_got(&t, &g, 0, F.first);
            assert_int_equal(info.torn_bytes, c - F.off);
            if (c > F.off) {
                assert_int_equal(info.torn.seq, 2);
                assert_int_equal(info.torn.offset, F.off);
                assert_string_equal(info.torn.file, name);
            }
            wal_close(w);
            assert_int_equal(size_of(&t, 2), c);
        }
        w = open_ok(t.dir, 0);
        replay_ok(w, 1, &g, &info);
        check_got(&t, &g, 0, F.first);
        assert_int_equal(info.torn_bytes, c - F.off);
        if (c > F.off) {
            assert_int_equal(info.torn.seq, 2);
            assert_int_equal(info.torn.offset, F.off);
            assert_string_equal(info.torn.file, name);
        }
        assert_int_equal(size_of(&t, 2), F.off);
        assert_int_equal(wal_bytes(w), (uint64_t)size1 + F.off);
        wal_close(w);
        if (i % 16 == 0) { /* cut for good: reads back clean */
            w = open_ok(t.dir, 0);
            replay_ok(w, 1, &g, &info);
            check_got(&t, &g, 0, F.first);
            assert_int_equal(info.torn_bytes, 0);
            wal_close(w);
        }
    }

    /* A last file shorter than its header: reported; deleted read-write. */
    write_file(&t, 2, file2, len2);
    uint8_t hdr[T_FILE_HDR];
    memcpy(hdr, file2, sizeof(hdr));
    hdr[16] = 3; /* seq 3 (the header is cut anyway) */
    for (size_t k = 0; k < T_FILE_HDR; k++) {
        write_file(&t, 3, hdr, k);
        if (k % 4 == 1) {
            w = open_ok(t.dir, 1);
            replay_ok(w, 1, &g, &info);
            check_got(&t, &g, 0, t.nr);
            assert_int_equal(info.torn_bytes, k);
            assert_int_equal(info.torn.seq, 3);
            assert_int_equal(info.torn.offset, 0);
            wal_close(w);
            assert_int_equal(size_of(&t, 3), k);
        }
        w = open_ok(t.dir, 0);
        assert_int_equal(wal_files(w), 3);
        replay_ok(w, 1, &g, &info);
        check_got(&t, &g, 0, t.nr);
        assert_int_equal(info.torn_bytes, k);
        if (k) assert_int_equal(info.torn.seq, 3);
        assert_int_equal(size_of(&t, 3), -1);
        assert_int_equal(wal_files(w), 2);
        wal_close(w);
    }

    /* After a cut, the log goes on: a new file, read back after the rest. */
    write_file(&t, 2, file2, F.off + F.len / 2);
    tlog_cut(&t, F.first);
    w = open_ok(t.dir, 0);
    replay_ok(w, 1, &g, &info);
    assert_true(info.torn_bytes > 0);
    start_ok(w, t.next_lsn);
    assert_int_equal(last_seq(&t), 3);
    for (int i = 0; i < 3; i++) commit_frame(w, &t, 2, 0, 500);
    wal_close(w);
    w = open_ok(t.dir, 0);
    replay_ok(w, 1, &g, &info);
    check_got(&t, &g, 0, t.nr);
    assert_int_equal(info.torn_bytes, 0);
    wal_close(w);

    free(file2);
    got_reset(&g);
    tlog_free(&t);
}

/* ------------------------------------------------------------ 5, 6. damage */

/* Three files of three frames of three records (1..maxlen bytes each). */
static void build_three(tlog *t)
{
    wal *w = open_ok(t->dir, 0);
    start_ok(w, 1);
    for (int f = 0; f < 3; f++) {
        if (f) rotate_ok(w, t, 0);
        for (int i = 0; i < 3; i++) commit_frame(w, t, 3, 1, 1500);
    }
    wal_close(w);
}

typedef struct dcase {
    const char *what;
    uint64_t seq;      /* file damaged */
    uint64_t at;       /* byte flipped, or truncation point */
    uint8_t x;         /* xor; 0: truncate the file at `at` */
    int unlink;        /* delete the file instead */
    uint64_t stop_off; /* the offset replay must report */
    size_t nmin, nmax; /* records delivered before the stop */
    size_t keep;       /* records left after wal_truncate_at */
    const char *why;   /* a word of the message */
} dcase;

static void test_damage(void **state)
{
    (void)state;
    tlog t;
    tlog_init(&t);
    got g = {0};
    wal_replay_info info;
    char err[512];
    build_three(&t);
    assert_int_equal(t.nf, 9);
    uint8_t *saved[4] = {0};
    size_t slen[4];
    for (uint64_t s = 1; s <= 3; s++) saved[s] = read_file(&t, s, &slen[s]);

    const tframe *f2a = &t.f[3], *f2b = &t.f[4], *f2c = &t.f[5], *f3c = &t.f[8];
    assert_int_equal(f2a->seq, 2);
    assert_int_equal(f2b->seq, 2);
    assert_int_equal(f3c->seq, 3);
    size_t in1 = f2a->first;                  /* records of file 1 */
    uint64_t e1 = f2b->off + T_FRAME_HDR + T_ENTRY_HDR + t.r[f2b->first].len; /* 2nd entry */
    const dcase cases[] = {
        {"file header magic", 2, 0, 0x01, 0, 0, in1, in1, in1, "magic"},
        {"file header first_lsn", 2, 26, 0x10, 0, 0, in1, in1, in1, "checksum"},
        {"file header checksum", 2, 33, 0x80, 0, 0, in1, in1, in1, "checksum"},
        {"frame header count", 2, f2b->off + 5, 0x01, 0, f2b->off, f2b->first, f2b->first,
         f2b->first, "frame header"},
        {"frame header last lsn", 2, f2b->off + 17, 0x40, 0, f2b->off, f2b->first, f2b->first,
         f2b->first, "frame header"},
        {"frame header magic", 2, f2b->off, 0x20, 0, f2b->off, f2b->first, f2b->first,
         f2b->first, "magic"},
        {"entry lsn", 2, e1 + 7, 0x80, 0, f2b->off, f2b->first, f2b->first + 1, f2b->first,
         "lsn"},
        {"entry len", 2, e1 + 8 + 3, 0x80, 0, f2b->off, f2b->first, f2b->first + 1, f2b->first,
         "overruns"},
        {"last frame header of the last file", 3, f3c->off + 9, 0x01, 0, f3c->off, f3c->first,
         f3c->first, f3c->first, "frame header"},
        {"non-last file cut in a frame header", 2, f2c->off + 10, 0, 0, f2c->off, f2c->first,
         f2c->first, f2c->first, "cut short"},
        {"non-last file cut in a payload", 2, f2c->off + T_FRAME_HDR + 5, 0, 0, f2c->off,
         f2c->first, f2c->first, f2c->first, "cut short"},
        {"non-last file shorter than its header", 2, 20, 0, 0, 0, in1, in1, in1, "header"},
        {"missing middle file", 2, 0, 0, 1, 0, in1, in1, in1, "missing"},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const dcase *d = &cases[c];
        for (uint64_t s = 1; s <= 3; s++) write_file(&t, s, saved[s], slen[s]);
        if (d->unlink) {
            char p[400];
            path_of(&t, d->seq, p, sizeof(p));
            assert_int_equal(unlink(p), 0);
        } else if (d->x) {
            flip_byte(&t, d->seq, d->at, d->x);
        } else {
            write_file(&t, d->seq, saved[d->seq], d->at);
        }
        long long sizes[4];
        for (uint64_t s = 1; s <= 3; s++) sizes[s] = size_of(&t, s);

        /* Read-only: the error, the stop, the records before; no change. */
        for (int ro = 1; ro >= 0; ro--) {
            wal *w = wal_open(t.dir, ro, err, sizeof(err));
            if (!w) { /* wal.h allows wal_open to see a bad file header */
                if (d->at >= T_FILE_HDR || d->x == 0) fail_msg("%s: wal_open: %s", d->what, err);
                check_err_names(err, d->seq, 0);
                break;
            }
            int rc = replay(w, 1, &g, &info, err, sizeof(err));
            if (rc != -1)
                fail_msg("%s (ro %d): wal_replay returned %d, %zu records", d->what, ro, rc, g.n);
            check_err_names(err, d->seq, d->stop_off);
            if (!strstr(err, d->why)) fail_msg("%s: \"%s\" lacks \"%s\"", d->what, err, d->why);
            char name[32];
            name_of(d->seq, name);
            assert_string_equal(info.stop.file, name);
            assert_int_equal(info.stop.seq, d->seq);
            assert_int_equal(info.stop.offset, d->stop_off);
            if (g.n < d->nmin || g.n > d->nmax)
                fail_msg("%s: %zu records before the stop, expected %zu..%zu", d->what, g.n,
                         d->nmin, d->nmax);
            check_got(&t, &g, 0, g.n);
            for (uint64_t s = 1; s <= 3; s++) assert_int_equal(size_of(&t, s), sizes[s]);
            if (ro) {
                wal_close(w);
                continue;
            }
            /* 6. Cut the log at the stop: the damaged frame and everything
             * after it go; what is left reads back clean. */
            if (wal_truncate_at(w, &info.stop, err, sizeof(err)) != 0)
                fail_msg("%s: wal_truncate_at: %s", d->what, err);
            wal_close(w);
            for (uint64_t s = d->seq + 1; s <= 3; s++) assert_int_equal(size_of(&t, s), -1);
            if (d->stop_off >= T_FILE_HDR)
                assert_int_equal(size_of(&t, d->seq), d->stop_off);
            else
                assert_int_equal(size_of(&t, d->seq), -1);
            w = open_ok(t.dir, 0);
            replay_ok(w, 1, &g, &info);
            check_got(&t, &g, 0, d->keep);
            assert_int_equal(info.torn_bytes, 0);
            wal_close(w);
        }
    }

    /* A flipped payload byte is not the log's to see: the callback gets
     * the changed bytes (the record's own checksum is the reader's). */
    for (uint64_t s = 1; s <= 3; s++) write_file(&t, s, saved[s], slen[s]);
    size_t k = f2b->first + 1, j = t.r[k].len / 2;
    flip_byte(&t, 2, e1 + T_ENTRY_HDR + j, 0x04);
    wal *w = open_ok(t.dir, 1);
    replay_ok(w, 1, &g, &info);
    wal_close(w);
    assert_int_equal(g.n, t.nr);
    t.r[k].data[j] ^= 0x04;
    check_got(&t, &g, 0, t.nr);

    for (uint64_t s = 1; s <= 3; s++) free(saved[s]);
    got_reset(&g);
    tlog_free(&t);
}

/* ------------------------------------------------------------ 7. stops */

static void test_callback_stop(void **state)
{
    (void)state;
    tlog t;
    tlog_init(&t);
    got g = {0};
    wal_replay_info info;
    char err[512];
    wal *w = open_ok(t.dir, 0);
    start_ok(w, 1);
    for (int i = 0; i < 4; i++) commit_frame(w, &t, 3, 0, 800);
    rotate_ok(w, &t, 0);
    for (int i = 0; i < 4; i++) commit_frame(w, &t, 3, 0, 800);
    wal_close(w);

    size_t picks[] = {0, 4, t.f[5].first + 1, t.nr - 1};
    for (size_t i = 0; i < sizeof(picks) / sizeof(picks[0]); i++) {
        size_t k = picks[i];
        const tframe *f = frame_of(&t, k);
        w = open_ok(t.dir, 0);
        g.stop_lsn = t.r[k].lsn;
        int rc = replay(w, 1, &g, &info, err, sizeof(err));
        g.stop_lsn = 0;
        assert_int_equal(rc, 1);
        check_got(&t, &g, 0, k);
        assert_int_equal(info.records, k);
        assert_int_equal(info.stop.seq, f->seq);
        assert_int_equal(info.stop.offset, f->off);
        assert_int_equal(info.stop.lsn, t.r[k].lsn);
        char name[32];
        name_of(f->seq, name);
        assert_string_equal(info.stop.file, name);
        wal_close(w);
    }
    got_reset(&g);
    tlog_free(&t);

    /* Progress: called as the bytes grow (at least once in more than a
     * MiB of log), and a non-zero return stops at a frame boundary. */
    tlog_init(&t);
    w = open_ok(t.dir, 0);
    start_ok(w, 1);
    uint64_t bytes = 0;
    while (bytes < (uint64_t)3 << 19) bytes += commit_frame(w, &t, 4, 2000, 5000)->len;
    wal_close(w);
    w = open_ok(t.dir, 1);
    replay_ok(w, 1, &g, &info);
    check_got(&t, &g, 0, t.nr);
    assert_true(g.progress_calls >= 1 && g.progress_calls != (size_t)-1);
    assert_true(g.progress_bytes <= info.bytes);
    wal_close(w);
    w = open_ok(t.dir, 1);
    g.progress_stop = 1;
    int rc = replay(w, 1, &g, &info, err, sizeof(err));
    g.progress_stop = 0;
    wal_close(w);
    assert_int_equal(rc, 1);
    assert_int_equal(g.progress_calls, 1);
    assert_true(g.n > 0 && g.n < t.nr);
    assert_int_equal(g.n, g.n_at_progress);
    check_got(&t, &g, 0, g.n);
    assert_int_equal(info.stop.seq, 1);
    const tframe *f = frame_of(&t, g.n - 1); /* the last frame delivered whole */
    assert_int_equal(f->first + f->n, g.n);
    assert_int_equal(info.stop.offset, f->off + f->len);
    got_reset(&g);
    tlog_free(&t);
}

/* ------------------------------------------------------------ 8. read-only */

static void test_read_only(void **state)
{
    (void)state;
    tlog t;
    tlog_init(&t);
    got g = {0};
    wal_replay_info info;
    char err[512];
    struct stat sb;

    /* A missing directory is an empty log, and stays missing. */
    wal *w = open_ok(t.dir, 1);
    assert_int_equal(wal_files(w), 0);
    replay_ok(w, 1, &g, &info);
    assert_int_equal(g.n, 0);
    assert_int_equal(info.records, 0);
    err[0] = 0;
    assert_int_equal(wal_start(w, 1, err, sizeof(err)), -1);
    assert_true(strlen(err) > 0);
    assert_int_equal(wal_files(w), 0);
    wal_close(w);
    assert_int_equal(stat(t.dir, &sb), -1);
    assert_int_equal(errno, ENOENT);

    /* An existing log: read, never written. */
    w = open_ok(t.dir, 0);
    start_ok(w, 1);
    for (int i = 0; i < 3; i++) commit_frame(w, &t, 2, 0, 300);
    wal_close(w);
    long long sz = size_of(&t, 1);
    w = open_ok(t.dir, 1);
    replay_ok(w, 1, &g, &info);
    check_got(&t, &g, 0, t.nr);
    err[0] = 0;
    assert_int_equal(wal_start(w, t.next_lsn, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "read-only"));
    err[0] = 0;
    assert_int_equal(wal_drop_before(w, 5, 0, err, sizeof(err)), -1);
    assert_true(strlen(err) > 0);
    err[0] = 0;
    assert_int_equal(wal_truncate_at(w, &(wal_pos){.seq = 1, .offset = T_FILE_HDR}, err,
                                     sizeof(err)),
                     -1);
    assert_true(strlen(err) > 0);
    assert_int_equal(wal_sync(w, 1, err, sizeof(err)), 0);
    wal_close(w);
    assert_int_equal(size_of(&t, 1), sz);
    assert_int_equal(last_seq(&t), 1);
    got_reset(&g);
    tlog_free(&t);
}

/* ------------------------------------------------------------ 9. errors */

/* Forked: writes frame a, sets RLIMIT_FSIZE so that frame b cannot be
 * written but c can, and commits b (must fail naming the file) and c.
 * Reports the first broken expectation through its exit status and the
 * error message through fd. */
static void child_file_too_big(tlog *t, const tframe *a, const uint64_t *blsn, uint8_t **bdata,
                               size_t blen, const tframe *c, int fd)
{
    char err[512] = "";
    signal(SIGXFSZ, SIG_IGN);
    wal *w = wal_open(t->dir, 0, err, sizeof(err));
    if (!w) _exit(10);
    got g = {0};
    wal_replay_info info;
    if (wal_replay(w, 1, got_cb, NULL, &g, &info, err, sizeof(err)) != 0) _exit(11);
    if (wal_start(w, t->r[a->first].lsn, err, sizeof(err)) != 0) _exit(12);
    for (size_t i = 0; i < a->n; i++) {
        const trec *r = &t->r[a->first + i];
        wal_append(w, r->lsn, r->data, r->len);
    }
    if (wal_commit(w, 0, err, sizeof(err)) != 0) _exit(13);
    if (size_of(t, 2) != (long long)(T_FILE_HDR + a->len)) _exit(14);
    struct rlimit rl = {.rlim_cur = T_FILE_HDR + a->len + c->len + 100,
                        .rlim_max = RLIM_INFINITY};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(15);
    for (size_t i = 0; i < 3; i++) wal_append(w, blsn[i], bdata[i], blen);
    err[0] = 0;
    int rc = wal_commit(w, 0, err, sizeof(err));
    if (write(fd, err, strlen(err) + 1) < 0) _exit(16);
    if (rc != -1) _exit(17);
    if (wal_pending(w) != 0) _exit(18);
    if (size_of(t, 2) != (long long)(T_FILE_HDR + a->len)) _exit(19);
    for (size_t i = 0; i < c->n; i++) {
        const trec *r = &t->r[c->first + i];
        wal_append(w, r->lsn, r->data, r->len);
    }
    if (wal_commit(w, 0, err, sizeof(err)) != 0) _exit(20);
    if (size_of(t, 2) != (long long)(T_FILE_HDR + a->len + c->len)) _exit(21);
    wal_close(w);
    _exit(0);
}

static void test_errors(void **state)
{
    (void)state;
    tlog t;
    tlog_init(&t);
    got g = {0};
    wal_replay_info info;
    char err[512];

    wal *w = open_ok(t.dir, 0);
    start_ok(w, 1);
    for (int i = 0; i < 3; i++) commit_frame(w, &t, 2, 0, 500);
    wal_close(w);

    /* Frames a and c are in the model; b (3 x 20000 bytes) is not. */
    tframe a = stage(NULL, &t, 3, 0, 200);
    uint64_t blsn[3];
    uint8_t *bdata[3];
    const size_t blen = 20000;
    for (int i = 0; i < 3; i++) {
        blsn[i] = t.next_lsn++;
        bdata[i] = malloc(blen);
        memset(bdata[i], 0x5a, blen);
    }
    tframe c = stage(NULL, &t, 2, 0, 200);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        child_file_too_big(&t, &a, blsn, bdata, blen, &c, pfd[1]);
    }
    close(pfd[1]);
    char msg[512] = "";
    size_t got_len = 0;
    ssize_t k;
    while ((k = read(pfd[0], msg + got_len, sizeof(msg) - 1 - got_len)) > 0) got_len += (size_t)k;
    close(pfd[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child: status %d (exit %d), message \"%s\"", status,
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1, msg);
    char name[32];
    name_of(2, name);
    if (!strstr(msg, name)) fail_msg("commit error \"%s\" does not name %s", msg, name);
    for (int i = 0; i < 3; i++) free(bdata[i]);

    /* Only whole frames: a clean replay of everything but b. */
    w = open_ok(t.dir, 0);
    replay_ok(w, 1, &g, &info);
    check_got(&t, &g, 0, t.nr);
    assert_int_equal(info.torn_bytes, 0);
    wal_close(w);
    assert_int_equal(size_of(&t, 2), T_FILE_HDR + a.len + c.len);

    /* A regular file where the directory should be; a path under one. */
    char p[400];
    path_of(&t, 1, p, sizeof(p));
    err[0] = 0;
    assert_null(wal_open(p, 0, err, sizeof(err)));
    if (!strstr(err, p)) fail_msg("wal_open error \"%s\" does not name %s", err, p);
    err[0] = 0;
    assert_null(wal_open(p, 1, err, sizeof(err)));
    assert_true(strlen(err) > 0);
    char sub[450];
    snprintf(sub, sizeof(sub), "%s/x", p);
    err[0] = 0;
    assert_null(wal_open(sub, 0, err, sizeof(err)));
    assert_non_null(strstr(err, sub));

    /* Something that is not a file under a log file's name. */
    char d[400];
    path_of(&t, 7, d, sizeof(d));
    assert_int_equal(mkdir(d, 0755), 0);
    err[0] = 0;
    assert_null(wal_open(t.dir, 0, err, sizeof(err)));
    name_of(7, name);
    if (!strstr(err, name)) fail_msg("wal_open error \"%s\" should name %s", err, name);
    /* Not a stale errno (EEXIST from wal_open's mkdir). */
    if (!strstr(err, "not a regular file"))
        fail_msg("wal_open error \"%s\" should say %s is not a regular file", err, name);
    rmdir(d);

    got_reset(&g);
    tlog_free(&t);
}

/* ------------------------------------------------------------ 10. sync */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the listing's own descriptor */
}

static void test_sync_closes_rotated(void **state)
{
    (void)state;
    tlog t;
    tlog_init(&t);
    got g = {0};
    wal_replay_info info;
    char err[512];
    int base = count_fds();

    wal *w = open_ok(t.dir, 0);
    wal_set_file_bytes(w, 4096);
    start_ok(w, 1);
    assert_int_equal(count_fds(), base + 2); /* the directory, the current file */
    for (int i = 0; i < 8; i++) commit_frame(w, &t, 2, 2100, 3000); /* > 4096: one per file */
    size_t files = wal_files(w);
    assert_true(files >= 8);
    /* The rotated-out files stay open until a wal_sync. */
    assert_int_equal(count_fds(), base + 1 + (int)files);
    assert_int_equal(wal_sync(w, 0, err, sizeof(err)), 0);
    assert_int_equal(count_fds(), base + 2);

    for (int i = 0; i < 3; i++) commit_frame(w, &t, 2, 2100, 3000);
    rotate_ok(w, &t, 1);
    rotate_ok(w, &t, 0);
    assert_true(count_fds() > base + 2);
    assert_int_equal(wal_sync(w, 1, err, sizeof(err)), 0);
    assert_int_equal(count_fds(), base + 2);

    commit_frame(w, &t, 2, 2100, 3000);
    commit_frame(w, &t, 2, 2100, 3000);
    assert_true(count_fds() > base + 2);
    tframe fr = stage(w, &t, 1, 10, 10);
    assert_int_equal(wal_commit(w, 1, err, sizeof(err)), 0); /* commit with sync syncs all */
    landed(&t, &fr, last_seq(&t));
    assert_int_equal(count_fds(), base + 2);
    assert_int_equal(wal_sync(w, 1, err, sizeof(err)), 0); /* nothing new: still fine */
    wal_close(w);
    assert_int_equal(count_fds(), base);

    w = open_ok(t.dir, 1);
    replay_ok(w, 1, &g, &info);
    check_got(&t, &g, 0, t.nr);
    wal_close(w);
    assert_int_equal(count_fds(), base);
    got_reset(&g);
    tlog_free(&t);
}

/* The everysec thread and the checkpoint's wal_drop_before, against the
 * main thread's commits and rotations. */
typedef struct syncer {
    wal *w;
    atomic_int stop;
    atomic_ullong drop_seq; /* drop the files before it (0: nothing yet) */
    unsigned long syncs, drops;
    int failed;
    char err[512];
} syncer;

static void *syncer_main(void *arg)
{
    syncer *s = arg;
    unsigned long long dropped = 0;
    for (;;) {
        int stopping = atomic_load(&s->stop); /* one more round: the last drop */
        if (wal_sync(s->w, s->syncs % 32 == 0, s->err, sizeof(s->err)) != 0) {
            s->failed = 1;
            break;
        }
        s->syncs++;
        /* The checkpoint job's drop, beside the appending thread (a race
         * on the file list once; ThreadSanitizer watches it). */
        unsigned long long d = atomic_load(&s->drop_seq);
        if (d > dropped) {
            if (wal_drop_before(s->w, d, 0, s->err, sizeof(s->err)) < 0) {
                s->failed = 2;
                break;
            }
            dropped = d;
            s->drops++;
        }
        if (stopping) break;
        sched_yield();
    }
    return NULL;
}

static void test_sync_thread(void **state)
{
    (void)state;
    tlog t;
    tlog_init(&t);
    got g = {0};
    wal_replay_info info;

    wal *w = open_ok(t.dir, 0);
    wal_set_file_bytes(w, 4096);
    start_ok(w, 1);
    syncer s = {.w = w};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, syncer_main, &s), 0);
    uint64_t last_rot = 0;
    for (int i = 0; i < 300; i++) {
        commit_frame(w, &t, 1 + rng_next() % 3, 0, 1000);
        if (i % 40 == 39) {
            last_rot = rotate_ok(w, &t, rng_next() % 2);
            atomic_store(&s.drop_seq, last_rot);
        }
    }
    atomic_store(&s.stop, 1);
    pthread_join(th, NULL);
    if (s.failed) fail_msg("background %s failed: %s", s.failed == 1 ? "wal_sync" : "drop", s.err);
    assert_true(s.syncs > 0);
    assert_true(s.drops > 0);
    uint64_t seqs[512];
    size_t n = list_seqs(&t, seqs, 512);
    assert_int_equal(seqs[0], last_rot);
    assert_int_equal(wal_files(w), n);
    wal_close(w);

    w = open_ok(t.dir, 0);
    replay_ok(w, 1, &g, &info);
    size_t k = idx_of_lsn(&t, header_first_lsn(&t, last_rot));
    check_got(&t, &g, k, t.nr - k);
    wal_close(w);
    got_reset(&g);
    tlog_free(&t);
}

int main(void)
{
    rng_seed("test_wal", "WAL_TEST_SEED");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_round_trip, teardown_tmp),
        cmocka_unit_test_teardown(test_replay_twice_same_handle, teardown_tmp),
        cmocka_unit_test_teardown(test_rotation_drop, teardown_tmp),
        cmocka_unit_test_teardown(test_restart, teardown_tmp),
        cmocka_unit_test_teardown(test_torn_tail, teardown_tmp),
        cmocka_unit_test_teardown(test_damage, teardown_tmp),
        cmocka_unit_test_teardown(test_callback_stop, teardown_tmp),
        cmocka_unit_test_teardown(test_read_only, teardown_tmp),
        cmocka_unit_test_teardown(test_errors, teardown_tmp),
        cmocka_unit_test_teardown(test_sync_closes_rotated, teardown_tmp),
        cmocka_unit_test_teardown(test_sync_thread, teardown_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
