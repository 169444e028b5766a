/*
 * vectis_check.c -- vectis-check, the offline checker of a vectis database
 * (<dir>/vectis.db, RocksDB, and the mutation log files of <dir>/vectis.log;
 * DESIGN.md section 6, record.c and engine/wal.c for the formats).
 *
 *   vectis-check [--truncate-log] <dir | dir/vectis.db>
 *
 * It opens the database read-only and reads every key of every family
 * through the public functions of storage.h and record.h only, and the log
 * files through wal.h (opened read-only), so it sees the bytes exactly as
 * the server's start-up would. The log directory is the sibling
 * PERSIST_LOG_NAME of the database directory (dir/vectis.log); a missing
 * one is an empty log.
 *
 *   meta   every key has a known tag; the format record ("F") and the
 *          checkpoint ("K", optional) decode; every collection ("C"),
 *          name ("N") and segment manifest ("S") decodes; a name points at
 *          an existing collection of that name; a collection is named by
 *          one name; a manifest names an existing collection; ids inside
 *          values agree with their keys.
 *   data   every key parses and its value decodes by its kind (rows,
 *          vectors, deletes); it belongs to a segment with a manifest; each
 *          chunk starts where its chunk number says (chunk c at row
 *          c * chunk_rows) and holds at least the manifest's rows of it;
 *          for each manifest the rows chunks and every listed field's
 *          vectors chunks 0..nchunks-1 are present (so the row counts add
 *          up to nrows), the deletes the manifest covers add up to
 *          ndeleted and no row is deleted twice; vectors have the
 *          collection's element type and dim.
 *   index  every key parses and its part decodes; for each manifest field
 *          with index_parts > 0, the parts of its key slot (index_first_part
 *          .. + index_parts - 1) are all present, number themselves right,
 *          their offsets are contiguous, their bytes add up to index_bytes
 *          and the XXH64 (seed 0, as checkpoint.c and record.c use) of the
 *          concatenated stream equals index_xxh64.
 *   log    the `log` family (entries a build before the log files left;
 *          the server replays them first): every key parses and every
 *          value passes rec_log_decode under its key's LSN. Entries at or
 *          below the checkpoint LSN are skipped at load: they are reported
 *          as notes, not problems.
 *          The log files: wal_replay from the checkpoint LSN + 1, as the
 *          server's start-up does, checks the file and frame headers and
 *          the record framing (wal.c), and every record it hands out must
 *          pass rec_log_decode. Damage that wal finds is one problem whose
 *          line is wal's message ("log lsn N (log file F offset O): ..." or
 *          "log file F offset O: ..."); a record that does not decode is
 *          "log lsn N: <why>". The replay stops at the first damaged
 *          record (wal then says which frame holds it); a second replay
 *          from the LSN after it checks the rest. A frame cut short at the
 *          end of the last file (the torn tail of a write a crash
 *          interrupted, never acknowledged) is a note: the server cuts it.
 *
 * What a checkpoint that did not complete leaves behind (checkpoint.c
 * writes chunks first, then manifests, K and the deletion of the family's
 * entries in one WAL batch; the log files it covers go once that is
 * durable) loads fine and is reported as a note, not a problem: chunks of
 * segments newer than the checkpoint's next_sid without a manifest,
 * chunks beyond a manifest's nchunks, chunks holding more rows or later
 * deletes than the manifest covers, index parts outside the manifest's
 * slot, and log files wholly at or below the checkpoint LSN (not read, as
 * the server does not read them).
 *
 * Every problem is one line that starts with the key as
 * rec_key_describe() prints it ("log lsn 42: LOG record: checksum
 * mismatch ..."), or with the log file and offset, so that it matches the
 * server's start-up message. Facts about a whole segment name its manifest
 * key ("meta collection 3 segment 7: ..."); a missing key is named as the
 * key it should have been. A summary follows. Exit status: 0 clean, 1
 * problems found, 2 the database could not be opened (missing, locked by a
 * live server, not a vectis database) or bad usage.
 *
 * The log, data and index scans do not verify RocksDB's block checksums
 * (storage.c, scan_iter): a flipped byte inside a value then fails that
 * value's own xxh64 and is named by key here, instead of failing the scan
 * with a file name. meta keeps RocksDB's check (its blocks are compressed).
 *
 * Repair: --truncate-log is the only one, and explicit. When the only
 * damage is in the log, it cuts the log at the first damage and prints
 * what it removed, then checks the database again; the server then starts
 * with exactly the mutations before the damaged frame (a frame is the
 * writes of one event-loop turn, so the good records that shared the
 * damaged record's frame go with it). Damage in the files: the wal is
 * reopened read-write and wal_truncate_at cuts it at the damaged frame
 * (that file truncated there, every later file deleted). Damage in the
 * family: the entries from the first damaged LSN to the end are deleted
 * (one range delete, written with sync), and so is every log file (the
 * server writes the files only after replaying the family, so they all
 * come later: a file record kept after the cut would apply on top of the
 * missing entries; see repair_log). It
 * refuses when anything outside the log is damaged (the log cannot repair
 * a checkpoint) and when the log cannot be read to a definite first bad
 * place (a malformed family key, an I/O error, a log directory that
 * cannot be listed).
 *
 * A database held by a live server is refused: RocksDB's read-only open
 * takes no lock, so the checker asks the kernel whether another process
 * holds the POSIX lock on <db>/LOCK (RocksDB's own lock) before opening
 * anything. The log directory has no lock of its own: the server holds
 * the database lock for as long as it writes the log, so the same check
 * covers it. Checking a copy of the directory (both vectis.db and
 * vectis.log) is the way to check a running server's database.
 *
 * Memory: per segment a bitmap of its chunks per kind and field, per
 * collection and name their key bytes; values and log records are read
 * one at a time (storage_scan, wal_replay's window of a file) and never
 * kept. A database of a million rows in chunks of a few thousand rows
 * costs kilobytes, plus wal's read window (a few MB).
 *
 * Threads: one. Ownership: the checker owns everything it allocates and
 * frees it before exiting (clean under ASan).
 *
 * Rejected: reading SST files or log frames directly (a second reader to
 * keep in step with RocksDB's and wal.c's formats); replaying the log
 * files from LSN 0 (a file a checkpoint failed to delete is not read by
 * the server; damage in it would stop the check before the records the
 * server does need, and --truncate-log would cut them); verifying RocksDB
 * block checksums on every family (the damaged value could no longer be
 * named by key); repairing data or index chunks (they are the only copy
 * of a checkpoint: a tool that "fixes" them silently loses rows -- restore
 * a backup instead); truncating the log automatically (an operator must
 * decide to drop the acknowledged writes after the damage); cutting only
 * the damaged record out of the log (the writes after it were made on top
 * of it).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "alloc.h"
#include "engine/record.h"
#include "engine/storage.h"
#include "engine/wal.h"
#include "persist.h"

#define CHECK_EXIT_OK       0
#define CHECK_EXIT_PROBLEMS 1
#define CHECK_EXIT_OPEN     2

/* Problem lines printed; beyond, they are only counted (a wrecked database
 * would otherwise print one line per key, millions). */
#define CHECK_MAX_PRINTED 1000
/* Block cache for the checker: scans bypass the cache (storage.c), only
 * meta point reads use it. */
#define CHECK_CACHE_BYTES ((size_t)8 << 20)
#define CHECK_KEY_DESC    320 /* bytes: rec_key_describe output (names are cut at 48 bytes) */
#define CHECK_ERR         512 /* bytes: decoder and storage messages */

/* ------------------------------------------------------------ state */

typedef struct coll_info {
    uint64_t cid;
    char *name; /* xmalloc'd copy (may contain NUL bytes) */
    uint32_t name_len;
    collection_spec spec; /* index_type points at a static name */
    int nnames;           /* name records pointing here */
} coll_info;

typedef struct name_info {
    char *name;
    uint32_t name_len;
    uint64_t cid;
    char desc[CHECK_KEY_DESC];
} name_info;

/* One manifest field: its vectors chunks seen and the index stream read. */
typedef struct field_state {
    uint8_t *vchunks; /* bitmap of nchunks */
    uint32_t next_part;
    uint64_t index_bytes;
    XXH64_state_t *h;
    int index_broken; /* a part failed: bytes and checksum are not compared */
} field_state;

typedef struct seg_info {
    rec_segment m;
    char desc[CHECK_KEY_DESC]; /* the manifest key, described */
    const coll_info *coll;     /* NULL: no such collection */
    uint8_t *rchunks;          /* bitmap of nchunks: rows chunks present */
    uint8_t *delbits;          /* bitmap of nrows: rows deleted (allocated on first use) */
    uint64_t del_sum;
    int del_broken; /* a deletes chunk failed: the sum is not compared */
    field_state f[REC_MAX_FIELDS];
} seg_info;

/* Consecutive data or index keys of one segment without a manifest. */
typedef struct orphan_run {
    uint64_t cid, sid, keys;
    char first[CHECK_KEY_DESC];
} orphan_run;

typedef struct checker {
    storage *st;
    const char *path;
    const char *log_dir; /* the log files' directory (absolute when it could be resolved) */
    uint64_t keys[REC_CF_COUNT];
    uint64_t problems[REC_CF_COUNT];
    uint64_t notes;
    uint64_t printed;
    int have_format, have_ckpt;
    rec_format fmt;
    rec_checkpoint ckpt;
    coll_info *colls;
    size_t ncolls, capcolls;
    name_info *names;
    size_t nnames, capnames;
    seg_info *segs;
    size_t nsegs, capsegs;
    uint64_t data_kinds[3]; /* rows, vectors, deletes keys */
    uint64_t index_streams; /* manifest fields with an index */
    orphan_run orphan[REC_CF_COUNT];
    /* log: the family (legacy) */
    uint64_t log_first, log_last, log_count;
    uint64_t log_below, log_below_first, log_below_last, log_below_bad;
    int log_bad;                          /* a damaged entry above the checkpoint was found */
    uint64_t log_first_bad, log_from_bad; /* its LSN; entries from it to the end */
    int log_unrepairable;                 /* malformed key or read error */
    /* log: the files */
    size_t wal_nfiles;
    uint64_t wal_bytes;
    uint64_t wal_records;         /* read (at or below the checkpoint too) */
    uint64_t wal_above;           /* of them above the checkpoint (what the server replays) */
    uint64_t wal_below;           /* at or below it, in the file the replay starts in */
    uint64_t wal_skipped_files;   /* wholly at or below it: not read */
    uint64_t wal_first, wal_last; /* LSNs of the records read, 0 0 when none */
    int wal_bad;                  /* damage found: the cut goes at wal_cut */
    wal_pos wal_cut;              /* the damaged frame (or file, offset 0) */
    uint64_t wal_first_bad;       /* the LSN of the first record that failed to decode; 0
                                     when wal itself found the damage */
    int wal_read_all;             /* every record after the damage was read too */
    int wal_unreadable;           /* no definite first bad place (I/O error, bad directory) */
} checker;

/* ------------------------------------------------------------ output */

static void problem(checker *ck, rec_family f, const char *desc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* 1 when one more line may be printed. */
static int may_print(checker *ck)
{
    if (ck->printed++ < CHECK_MAX_PRINTED) return 1;
    if (ck->printed == CHECK_MAX_PRINTED + 1)
        printf("(more than %d problems and notes: the rest are only counted)\n", CHECK_MAX_PRINTED);
    return 0;
}

/* One problem line: "<key>: <what is wrong>". */
static void problem(checker *ck, rec_family f, const char *desc, const char *fmt, ...)
{
    ck->problems[f]++;
    if (!may_print(ck)) return;
    va_list ap;
    va_start(ap, fmt);
    printf("%s: ", desc);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

/* A problem whose whole line is given (wal's messages name the file and
 * offset themselves). */
static void problem_line(checker *ck, rec_family f, const char *line)
{
    ck->problems[f]++;
    if (may_print(ck)) printf("%s\n", line);
}

static void note(checker *ck, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A fact worth knowing that is not damage: "note: <key>: ...". */
static void note(checker *ck, const char *fmt, ...)
{
    ck->notes++;
    if (!may_print(ck)) return;
    va_list ap;
    va_start(ap, fmt);
    printf("note: ");
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

static uint64_t total_problems(const checker *ck)
{
    uint64_t n = 0;
    for (int f = 0; f < REC_CF_COUNT; f++)
        n += ck->problems[f];
    return n;
}

/* ------------------------------------------------------------ helpers */

static void *grow(void *p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return p;
    *cap = *cap ? *cap * 2 : 16;
    return xrealloc(p, *cap * elem);
}

static int bit_get(const uint8_t *b, uint32_t i)
{
    return (b[i >> 3] >> (i & 7)) & 1;
}

static void bit_set(uint8_t *b, uint32_t i)
{
    b[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static const coll_info *find_coll(const checker *ck, uint64_t cid)
{
    size_t lo = 0, hi = ck->ncolls; /* sorted: meta "C" keys come in cid order */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ck->colls[mid].cid < cid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ck->ncolls && ck->colls[lo].cid == cid ? &ck->colls[lo] : NULL;
}

static seg_info *find_seg(checker *ck, uint64_t cid, uint64_t sid)
{
    size_t lo = 0, hi = ck->nsegs; /* sorted: "S" cid sid keys come in that order */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const rec_segment *m = &ck->segs[mid].m;
        if (m->cid < cid || (m->cid == cid && m->sid < sid))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < ck->nsegs && ck->segs[lo].m.cid == cid && ck->segs[lo].m.sid == sid)
        return &ck->segs[lo];
    return NULL;
}

/* The manifest slot of a field, or -1. */
static int seg_field(const seg_info *sg, uint16_t field)
{
    for (uint32_t i = 0; i < sg->m.nfields; i++)
        if (sg->m.fields[i].field == field) return (int)i;
    return -1;
}

static void describe_data(uint64_t cid, uint64_t sid, int kind, uint16_t field, uint32_t chunk,
                          char *buf, size_t buflen)
{
    uint8_t k[REC_DATA_KEY_BYTES];
    rec_key_data(cid, sid, kind, field, chunk, k);
    rec_key_describe(REC_CF_DATA, k, sizeof(k), buf, buflen);
}

static void describe_index(uint64_t cid, uint64_t sid, uint16_t field, uint32_t part, char *buf,
                           size_t buflen)
{
    uint8_t k[REC_INDEX_KEY_BYTES];
    rec_key_index(cid, sid, field, part, k);
    rec_key_describe(REC_CF_INDEX, k, sizeof(k), buf, buflen);
}

/* ------------------------------------------------------------ meta */

static void meta_collection(checker *ck, const char *desc, const uint8_t *k, size_t klen,
                            const void *val, size_t vlen)
{
    char err[CHECK_ERR];
    rec_collection c;
    if (klen != REC_META_ID_KEY_BYTES) {
        problem(ck, REC_CF_META, desc, "collection key of %zu bytes, expected %d", klen,
                REC_META_ID_KEY_BYTES);
        return;
    }
    if (rec_decode_collection(val, vlen, &c, err, sizeof(err)) < 0) {
        problem(ck, REC_CF_META, desc, "%s", err);
        return;
    }
    uint64_t kcid = 0;
    for (int i = 1; i < 9; i++)
        kcid = (kcid << 8) | k[i];
    if (c.cid != kcid) {
        problem(ck, REC_CF_META, desc, "the record holds collection id %" PRIu64, c.cid);
        return;
    }
    ck->colls = grow(ck->colls, &ck->capcolls, ck->ncolls, sizeof(*ck->colls));
    coll_info *ci = &ck->colls[ck->ncolls++];
    memset(ci, 0, sizeof(*ci));
    ci->cid = c.cid;
    ci->name = xmalloc(c.name_len + 1);
    if (c.name_len) memcpy(ci->name, c.name, c.name_len);
    ci->name[c.name_len] = '\0';
    ci->name_len = c.name_len;
    ci->spec = c.spec;
}

static void meta_name(checker *ck, const char *desc, const uint8_t *k, size_t klen, const void *val,
                      size_t vlen)
{
    char err[CHECK_ERR];
    uint64_t cid;
    if (rec_decode_name(val, vlen, &cid, err, sizeof(err)) < 0) {
        problem(ck, REC_CF_META, desc, "%s", err);
        return;
    }
    ck->names = grow(ck->names, &ck->capnames, ck->nnames, sizeof(*ck->names));
    name_info *ni = &ck->names[ck->nnames++];
    ni->name_len = (uint32_t)(klen - 1);
    ni->name = xmalloc(klen);
    memcpy(ni->name, k + 1, klen - 1);
    ni->name[klen - 1] = '\0';
    ni->cid = cid;
    snprintf(ni->desc, sizeof(ni->desc), "%s", desc);
}

static void meta_segment(checker *ck, const char *desc, const uint8_t *k, size_t klen,
                         const void *val, size_t vlen)
{
    char err[CHECK_ERR];
    rec_segment m;
    if (klen != REC_META_SEGMENT_KEY_BYTES) {
        problem(ck, REC_CF_META, desc, "segment key of %zu bytes, expected %d", klen,
                REC_META_SEGMENT_KEY_BYTES);
        return;
    }
    if (rec_decode_segment(val, vlen, &m, err, sizeof(err)) < 0) {
        problem(ck, REC_CF_META, desc, "%s", err);
        return;
    }
    uint64_t kcid = 0, ksid = 0;
    for (int i = 1; i < 9; i++)
        kcid = (kcid << 8) | k[i];
    for (int i = 9; i < 17; i++)
        ksid = (ksid << 8) | k[i];
    if (m.cid != kcid || m.sid != ksid) {
        problem(ck, REC_CF_META, desc, "the record holds collection %" PRIu64 " segment %" PRIu64,
                m.cid, m.sid);
        return;
    }
    for (uint32_t i = 0; i < m.nfields; i++)
        for (uint32_t j = 0; j < i; j++)
            if (m.fields[i].field == m.fields[j].field) {
                problem(ck, REC_CF_META, desc, "field %u is listed twice", m.fields[i].field);
                return;
            }
    /* The engine stores one vector field, number 0 (checkpoint.c loads no
     * other shape); the manifest is still recorded so its chunks are checked. */
    if (m.nfields != 1 || m.fields[0].field != 0)
        problem(ck, REC_CF_META, desc, "lists %u field(s)%s; this build stores exactly field 0",
                m.nfields, m.nfields ? " other than field 0 alone" : "");
    ck->segs = grow(ck->segs, &ck->capsegs, ck->nsegs, sizeof(*ck->segs));
    seg_info *sg = &ck->segs[ck->nsegs++];
    memset(sg, 0, sizeof(*sg));
    sg->m = m;
    snprintf(sg->desc, sizeof(sg->desc), "%s", desc);
    size_t bytes = ((size_t)m.nchunks + 7) / 8 + 1;
    sg->rchunks = xcalloc(1, bytes);
    for (uint32_t i = 0; i < m.nfields; i++) {
        sg->f[i].vchunks = xcalloc(1, bytes);
        if (m.fields[i].index_parts) {
            sg->f[i].h = XXH64_createState();
            XXH64_reset(sg->f[i].h, 0);
            ck->index_streams++;
        }
    }
}

static int meta_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    checker *ck = arg;
    const uint8_t *k = key;
    char desc[CHECK_KEY_DESC], err[CHECK_ERR];
    ck->keys[REC_CF_META]++;
    rec_key_describe(REC_CF_META, key, klen, desc, sizeof(desc));
    switch (klen ? k[0] : 0) {
    case REC_META_FORMAT:
        if (klen != 1)
            problem(ck, REC_CF_META, desc, "unknown key with the format tag");
        else if (rec_decode_format(val, vlen, &ck->fmt, err, sizeof(err)) < 0)
            problem(ck, REC_CF_META, desc, "%s", err);
        else
            ck->have_format = 1;
        break;
    case REC_META_CHECKPOINT:
        if (klen != 1)
            problem(ck, REC_CF_META, desc, "unknown key with the checkpoint tag");
        else if (rec_decode_checkpoint(val, vlen, &ck->ckpt, err, sizeof(err)) < 0)
            problem(ck, REC_CF_META, desc, "%s", err);
        else
            ck->have_ckpt = 1;
        break;
    case REC_META_COLLECTION:
        meta_collection(ck, desc, k, klen, val, vlen);
        break;
    case REC_META_NAME:
        meta_name(ck, desc, k, klen, val, vlen);
        break;
    case REC_META_SEGMENT:
        meta_segment(ck, desc, k, klen, val, vlen);
        break;
    default:
        problem(ck, REC_CF_META, desc, "unknown meta tag");
        break;
    }
    return 0;
}

/* Cross-checks of names, collections and manifests. */
static void meta_finish(checker *ck)
{
    if (!ck->have_format) {
        uint8_t k[1];
        char desc[CHECK_KEY_DESC];
        rec_key_meta_tag(REC_META_FORMAT, k);
        rec_key_describe(REC_CF_META, k, 1, desc, sizeof(desc));
        if (!ck->problems[REC_CF_META]) problem(ck, REC_CF_META, desc, "missing");
    }
    for (size_t i = 0; i < ck->nnames; i++) {
        name_info *ni = &ck->names[i];
        coll_info *ci = (coll_info *)find_coll(ck, ni->cid);
        if (!ci) {
            problem(ck, REC_CF_META, ni->desc,
                    "points to collection %" PRIu64 ", which has no collection record", ni->cid);
            continue;
        }
        ci->nnames++;
        if (ci->name_len != ni->name_len || memcmp(ci->name, ni->name, ni->name_len) != 0) {
            char cd[CHECK_KEY_DESC];
            uint8_t k[REC_META_ID_KEY_BYTES];
            rec_key_meta_collection(ci->cid, k);
            rec_key_describe(REC_CF_META, k, sizeof(k), cd, sizeof(cd));
            problem(ck, REC_CF_META, ni->desc, "points to %s, whose name is \"%.*s\"", cd,
                    (int)(ci->name_len > 64 ? 64 : ci->name_len), ci->name);
        }
    }
    for (size_t i = 0; i < ck->ncolls; i++) {
        const coll_info *ci = &ck->colls[i];
        if (ci->nnames == 1) continue;
        char cd[CHECK_KEY_DESC];
        uint8_t k[REC_META_ID_KEY_BYTES];
        rec_key_meta_collection(ci->cid, k);
        rec_key_describe(REC_CF_META, k, sizeof(k), cd, sizeof(cd));
        problem(ck, REC_CF_META, cd, "%d name records point to it (expected 1)", ci->nnames);
    }
    for (size_t i = 0; i < ck->nsegs; i++) {
        seg_info *sg = &ck->segs[i];
        sg->coll = find_coll(ck, sg->m.cid);
        if (!sg->coll)
            problem(ck, REC_CF_META, sg->desc, "collection %" PRIu64 " has no collection record",
                    sg->m.cid);
    }
}

/* ------------------------------------------------------------ leftovers */

/*
 * Data and index keys of a segment that has no manifest. A checkpoint
 * writes its chunks first and the manifests after, in one WAL batch; when
 * it does not complete (crash, failed write), the chunks of segments that
 * were new since the last checkpoint stay behind without a manifest. They
 * are ignored at load and deleted by the next checkpoint, so they are a
 * note, recognisable by their segment id: at or above the next_sid of the
 * checkpoint record (or no checkpoint at all). A segment id below it was
 * in a completed checkpoint, so its manifest should be there: a problem.
 * Keys come in (cid, sid) order, so one line per segment, naming the
 * first key, is printed when the run ends.
 */
static void orphan_flush(checker *ck, rec_family f)
{
    orphan_run *o = &ck->orphan[f];
    if (!o->keys) return;
    uint8_t mk[REC_META_SEGMENT_KEY_BYTES];
    char md[CHECK_KEY_DESC];
    rec_key_meta_segment(o->cid, o->sid, mk);
    rec_key_describe(REC_CF_META, mk, sizeof(mk), md, sizeof(md));
    if (!ck->have_ckpt || o->sid >= ck->ckpt.next_sid)
        note(ck,
             "%s: no segment manifest (%s); %" PRIu64 " %s key(s) of this segment were left "
             "by a checkpoint that did not complete (ignored at load, deleted by the next "
             "checkpoint)",
             o->first, md, o->keys, rec_family_name(f));
    else
        problem(ck, f, o->first,
                "no segment manifest (%s is missing), %" PRIu64 " %s key(s) of "
                "this segment",
                md, o->keys, rec_family_name(f));
    o->keys = 0;
}

static void orphan_add(checker *ck, rec_family f, uint64_t cid, uint64_t sid, const char *desc)
{
    orphan_run *o = &ck->orphan[f];
    if (o->keys && (o->cid != cid || o->sid != sid)) orphan_flush(ck, f);
    if (!o->keys) {
        o->cid = cid;
        o->sid = sid;
        snprintf(o->first, sizeof(o->first), "%s", desc);
    }
    o->keys++;
}

/* ------------------------------------------------------------ data */

/*
 * Checks the rows a rows or vectors chunk holds against its key's chunk
 * number: chunk c starts at row c * chunk_rows and holds the manifest's
 * rows of that chunk, possibly more (a checkpoint that did not complete may
 * have rewritten a growing segment's last chunk in place; the loader reads
 * rows < nrows), never more than chunk_rows. Chunk numbers beyond the
 * manifest's are such a rewrite's new chunks: a note. Since every chunk
 * 0..nchunks-1 must be present and hold its rows, the counts add up to
 * nrows exactly when these checks and the presence check pass. Returns 1
 * when the chunk counts for the manifest, 0 when it is beyond it, -1 on a
 * problem.
 */
static int data_span(checker *ck, const char *desc, const seg_info *sg, uint32_t chunk,
                     uint32_t first, uint32_t count)
{
    const rec_segment *m = &sg->m;
    if (chunk >= m->nchunks) {
        note(ck,
             "%s: beyond the %u chunk(s) of %s (written by a checkpoint that did not "
             "complete; ignored at load)",
             desc, m->nchunks, sg->desc);
        return 0;
    }
    uint64_t want_first = (uint64_t)chunk * m->chunk_rows;
    uint64_t want = m->nrows - want_first < m->chunk_rows ? m->nrows - want_first : m->chunk_rows;
    if (first == want_first && count >= want && count <= m->chunk_rows) return 1;
    if (count == 0)
        problem(ck, REC_CF_DATA, desc,
                "holds no rows, %s needs rows %" PRIu64 "..%" PRIu64 " in this chunk", sg->desc,
                want_first, want_first + want - 1);
    else
        problem(ck, REC_CF_DATA, desc,
                "holds rows %u..%" PRIu64 ", %s needs rows %" PRIu64 "..%" PRIu64
                " in this chunk (of %u rows)",
                first, (uint64_t)first + count - 1, sg->desc, want_first, want_first + want - 1,
                m->chunk_rows);
    return -1;
}

static void data_rows(checker *ck, const char *desc, seg_info *sg, const rec_data_key *dk,
                      const void *val, size_t vlen)
{
    char err[CHECK_ERR];
    rec_rows_iter it;
    if (rec_rows_decode(val, vlen, &it, err, sizeof(err)) < 0) {
        problem(ck, REC_CF_DATA, desc, "%s", err);
        if (sg && dk->chunk < sg->m.nchunks) bit_set(sg->rchunks, dk->chunk); /* not missing */
        return;
    }
    if (sg && data_span(ck, desc, sg, dk->chunk, it.first_row, it.count) == 1)
        bit_set(sg->rchunks, dk->chunk);
}

static void data_vectors(checker *ck, const char *desc, seg_info *sg, const rec_data_key *dk,
                         const void *val, size_t vlen)
{
    char err[CHECK_ERR];
    rec_vectors v;
    int decoded = rec_decode_vectors(val, vlen, &v, err, sizeof(err)) == 0;
    if (!decoded) problem(ck, REC_CF_DATA, desc, "%s", err);
    if (!sg) return;
    int fi = seg_field(sg, dk->field);
    if (!decoded) { /* damaged, not missing: one line for it */
        if (fi >= 0 && dk->chunk < sg->m.nchunks) bit_set(sg->f[fi].vchunks, dk->chunk);
        return;
    }
    if (fi < 0) {
        problem(ck, REC_CF_DATA, desc, "field %u is not listed in %s", dk->field, sg->desc);
        return;
    }
    if (sg->coll && (v.elem != sg->coll->spec.elem || v.dim != sg->coll->spec.dim)) {
        problem(ck, REC_CF_DATA, desc, "holds %s x %u vectors, the collection stores %s x %u",
                index_elem_name(v.elem), v.dim, index_elem_name(sg->coll->spec.elem),
                sg->coll->spec.dim);
        return;
    }
    if (data_span(ck, desc, sg, dk->chunk, v.first_row, v.count) == 1)
        bit_set(sg->f[fi].vchunks, dk->chunk);
}

/* Deletes count when the manifest covers them (row < nrows, LSN <= its
 * LSN): a chunk rewritten by a checkpoint that did not complete may hold
 * later ones, which the loader skips the same way. */
static void data_deletes(checker *ck, const char *desc, seg_info *sg, const rec_data_key *dk,
                         const void *val, size_t vlen)
{
    char err[CHECK_ERR];
    rec_deletes_iter it;
    if (rec_deletes_decode(val, vlen, &it, err, sizeof(err)) < 0) {
        problem(ck, REC_CF_DATA, desc, "%s", err);
        if (sg) sg->del_broken = 1;
        return;
    }
    if (!sg) return;
    if ((uint64_t)it.first_row != (uint64_t)dk->chunk * sg->m.chunk_rows) {
        problem(ck, REC_CF_DATA, desc, "starts at row %u, chunk %u of %s starts at row %" PRIu64,
                it.first_row, dk->chunk, sg->desc, (uint64_t)dk->chunk * sg->m.chunk_rows);
        sg->del_broken = 1;
        return;
    }
    if (!sg->delbits) sg->delbits = xcalloc(1, ((size_t)sg->m.nrows + 7) / 8 + 1);
    uint32_t row;
    uint64_t lsn;
    while (rec_deletes_next(&it, &row, &lsn)) {
        if (row >= sg->m.nrows || lsn > sg->m.lsn) continue;
        if (bit_get(sg->delbits, row)) {
            problem(ck, REC_CF_DATA, desc, "row %u is deleted twice", row);
            sg->del_broken = 1;
            continue;
        }
        bit_set(sg->delbits, row);
        sg->del_sum++;
    }
}

static int data_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    checker *ck = arg;
    char desc[CHECK_KEY_DESC], err[CHECK_ERR];
    rec_data_key dk;
    ck->keys[REC_CF_DATA]++;
    rec_key_describe(REC_CF_DATA, key, klen, desc, sizeof(desc));
    if (rec_key_parse_data(key, klen, &dk, err, sizeof(err)) < 0) {
        problem(ck, REC_CF_DATA, desc, "%s", err);
        return 0;
    }
    seg_info *sg = find_seg(ck, dk.cid, dk.sid);
    if (!sg) orphan_add(ck, REC_CF_DATA, dk.cid, dk.sid, desc);
    switch (dk.kind) {
    case REC_DATA_ROWS:
        ck->data_kinds[0]++;
        data_rows(ck, desc, sg, &dk, val, vlen);
        break;
    case REC_DATA_VECTORS:
        ck->data_kinds[1]++;
        data_vectors(ck, desc, sg, &dk, val, vlen);
        break;
    default:
        ck->data_kinds[2]++;
        data_deletes(ck, desc, sg, &dk, val, vlen);
        break;
    }
    return 0;
}

/* Reports a run of missing chunks lo..hi-1 by the first missing key. */
static void report_missing_chunks(checker *ck, const seg_info *sg, int kind, uint16_t field,
                                  uint32_t lo, uint32_t hi)
{
    char d[CHECK_KEY_DESC];
    describe_data(sg->m.cid, sg->m.sid, kind, field, lo, d, sizeof(d));
    if (hi - lo == 1)
        problem(ck, REC_CF_DATA, d, "missing (%s lists %u chunks)", sg->desc, sg->m.nchunks);
    else
        problem(ck, REC_CF_DATA, d,
                "missing, and the %u chunk(s) after it up to chunk %u (%s "
                "lists %u chunks)",
                hi - lo - 1, hi - 1, sg->desc, sg->m.nchunks);
}

static void check_chunk_bitmap(checker *ck, const seg_info *sg, const uint8_t *bits, int kind,
                               uint16_t field)
{
    uint32_t n = sg->m.nchunks;
    for (uint32_t c = 0; c < n;) {
        if (bit_get(bits, c)) {
            c++;
            continue;
        }
        uint32_t e = c;
        while (e < n && !bit_get(bits, e))
            e++;
        report_missing_chunks(ck, sg, kind, field, c, e);
        c = e;
    }
}

static void data_finish(checker *ck)
{
    orphan_flush(ck, REC_CF_DATA);
    for (size_t i = 0; i < ck->nsegs; i++) {
        seg_info *sg = &ck->segs[i];
        check_chunk_bitmap(ck, sg, sg->rchunks, REC_DATA_ROWS, 0);
        for (uint32_t f = 0; f < sg->m.nfields; f++)
            check_chunk_bitmap(ck, sg, sg->f[f].vchunks, REC_DATA_VECTORS, sg->m.fields[f].field);
        if (!sg->del_broken && sg->del_sum != sg->m.ndeleted)
            problem(ck, REC_CF_DATA, sg->desc,
                    "the deletes chunks mark %" PRIu64 " rows deleted at or before its lsn %" PRIu64
                    ", the manifest says %u",
                    sg->del_sum, sg->m.lsn, sg->m.ndeleted);
    }
}

/* ------------------------------------------------------------ index */

/* Reports parts rel_lo..rel_hi-1 of a stored index as missing, by the key
 * of the first. */
static void report_missing_parts(checker *ck, const seg_info *sg, const rec_segment_field *mf,
                                 uint32_t rel_lo, uint32_t rel_hi)
{
    char md[CHECK_KEY_DESC];
    describe_index(sg->m.cid, sg->m.sid, mf->field, mf->index_first_part + rel_lo, md, sizeof(md));
    if (rel_hi - rel_lo == 1)
        problem(ck, REC_CF_INDEX, md, "missing (part %u of the %u parts %s lists)", rel_lo,
                mf->index_parts, sg->desc);
    else
        problem(ck, REC_CF_INDEX, md,
                "missing, and the %u parts after it (parts %u..%u of the "
                "%u parts %s lists)",
                rel_hi - rel_lo - 1, rel_lo, rel_hi - 1, mf->index_parts, sg->desc);
}

/*
 * A field's stored index is parts index_first_part .. + index_parts - 1
 * (one of two key slots, so that a replaced index is never half
 * overwritten); part i of the stream carries part i, nparts and its offset
 * in the stream. Keys of the other slot are leftovers of a checkpoint that
 * did not complete (ignored at load): notes.
 */
static int index_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    checker *ck = arg;
    char desc[CHECK_KEY_DESC], err[CHECK_ERR];
    rec_index_key ik;
    rec_index_part p;
    ck->keys[REC_CF_INDEX]++;
    rec_key_describe(REC_CF_INDEX, key, klen, desc, sizeof(desc));
    if (rec_key_parse_index(key, klen, &ik, err, sizeof(err)) < 0) {
        problem(ck, REC_CF_INDEX, desc, "%s", err);
        return 0;
    }
    int decoded = rec_decode_index_part(val, vlen, &p, err, sizeof(err)) == 0;
    seg_info *sg = find_seg(ck, ik.cid, ik.sid);
    if (!sg) {
        orphan_add(ck, REC_CF_INDEX, ik.cid, ik.sid, desc);
        if (!decoded) problem(ck, REC_CF_INDEX, desc, "%s", err);
        return 0;
    }
    int fi = seg_field(sg, ik.field);
    const rec_segment_field *mf = fi >= 0 ? &sg->m.fields[fi] : NULL;
    if (!mf || !mf->index_parts || ik.part < mf->index_first_part ||
        ik.part - mf->index_first_part >= mf->index_parts) {
        note(ck,
             "%s: not part of the index %s lists (left by a checkpoint that did not "
             "complete; ignored at load)",
             desc, sg->desc);
        return 0;
    }
    field_state *fs = &sg->f[fi];
    uint32_t rel = ik.part - mf->index_first_part;
    if (rel > fs->next_part) { /* parts are scanned in order: a gap is missing */
        report_missing_parts(ck, sg, mf, fs->next_part, rel);
        fs->index_broken = 1;
    }
    fs->next_part = rel + 1;
    if (!decoded) {
        problem(ck, REC_CF_INDEX, desc, "%s", err);
        fs->index_broken = 1;
        return 0;
    }
    if (p.part != rel || p.nparts != mf->index_parts) {
        problem(ck, REC_CF_INDEX, desc,
                "the record says part %u of %u, %s lists it as part %u "
                "of %u",
                p.part, p.nparts, sg->desc, rel, mf->index_parts);
        fs->index_broken = 1;
        return 0;
    }
    if (fs->index_broken) return 0;
    if (p.offset != fs->index_bytes) {
        problem(ck, REC_CF_INDEX, desc,
                "starts at offset %" PRIu64 ", the parts before it end "
                "at %" PRIu64 " (not contiguous)",
                p.offset, fs->index_bytes);
        fs->index_broken = 1;
        return 0;
    }
    XXH64_update(fs->h, p.data, p.len);
    fs->index_bytes += p.len;
    return 0;
}

static void index_finish(checker *ck)
{
    orphan_flush(ck, REC_CF_INDEX);
    for (size_t i = 0; i < ck->nsegs; i++) {
        seg_info *sg = &ck->segs[i];
        for (uint32_t f = 0; f < sg->m.nfields; f++) {
            const rec_segment_field *mf = &sg->m.fields[f];
            field_state *fs = &sg->f[f];
            if (!mf->index_parts) continue;
            if (fs->next_part < mf->index_parts) {
                report_missing_parts(ck, sg, mf, fs->next_part, mf->index_parts);
                continue;
            }
            if (fs->index_broken) continue;
            if (fs->index_bytes != mf->index_bytes) {
                problem(ck, REC_CF_INDEX, sg->desc,
                        "index of field %u: its %u parts hold %" PRIu64
                        " bytes, the manifest says %" PRIu64,
                        mf->field, mf->index_parts, fs->index_bytes, mf->index_bytes);
                continue;
            }
            uint64_t h = XXH64_digest(fs->h);
            if (h != mf->index_xxh64)
                problem(ck, REC_CF_INDEX, sg->desc,
                        "index of field %u: the xxh64 of its %u parts "
                        "is %016" PRIx64 ", the manifest says %016" PRIx64,
                        mf->field, mf->index_parts, h, mf->index_xxh64);
        }
    }
}

/* ------------------------------------------------------------ log */

static int log_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    checker *ck = arg;
    char desc[CHECK_KEY_DESC], err[CHECK_ERR];
    uint64_t lsn;
    ck->keys[REC_CF_LOG]++;
    rec_key_describe(REC_CF_LOG, key, klen, desc, sizeof(desc));
    if (rec_key_parse_log(key, klen, &lsn, err, sizeof(err)) < 0) {
        problem(ck, REC_CF_LOG, desc, "%s", err);
        ck->log_unrepairable = 1;
        return 0;
    }
    if (!ck->log_count) ck->log_first = lsn;
    ck->log_last = lsn;
    ck->log_count++;
    if (ck->log_bad) ck->log_from_bad++;
    int below = ck->have_ckpt && lsn <= ck->ckpt.lsn;
    if (below) {
        if (!ck->log_below) ck->log_below_first = lsn;
        ck->log_below_last = lsn;
        ck->log_below++;
    }
    rec_log_iter it;
    if (rec_log_decode(val, vlen, lsn, &it, err, sizeof(err)) == 0) return 0;
    if (below) { /* skipped at load: harmless until the next checkpoint deletes it */
        ck->log_below_bad++;
        note(ck, "%s: %s (at or below the checkpoint lsn %" PRIu64 ": skipped at load)", desc, err,
             ck->ckpt.lsn);
        return 0;
    }
    problem(ck, REC_CF_LOG, desc, "%s", err);
    if (!ck->log_bad) {
        ck->log_bad = 1;
        ck->log_first_bad = lsn;
        ck->log_from_bad = 1;
    }
    return 0;
}

/* ------------------------------------------------------------ log files */

/* Every record the replay hands out (all above the checkpoint: the replay
 * starts after it) must decode. The first that does not stops the replay,
 * so that wal says which frame holds it (info->stop); in the second
 * replay, after it, the others are only reported. */
static int wal_record_cb(void *arg, uint64_t lsn, const void *rec, size_t len)
{
    checker *ck = arg;
    char desc[CHECK_KEY_DESC], err[CHECK_ERR];
    uint8_t k[REC_LOG_KEY_BYTES];
    rec_log_iter it;
    if (rec_log_decode(rec, len, lsn, &it, err, sizeof(err)) == 0) return 0;
    rec_key_log(lsn, k);
    rec_key_describe(REC_CF_LOG, k, sizeof(k), desc, sizeof(desc));
    problem(ck, REC_CF_LOG, desc, "%s", err);
    if (ck->wal_bad) return 0;
    ck->wal_bad = 1;
    ck->wal_first_bad = lsn;
    return 1;
}

/* Counts only (the kept part after a truncation). */
static int wal_count_cb(void *arg, uint64_t lsn, const void *rec, size_t len)
{
    (void)arg, (void)lsn, (void)rec, (void)len;
    return 0;
}

static uint64_t replay_from(const checker *ck)
{
    return ck->have_ckpt ? ck->ckpt.lsn + 1 : 0;
}

/* Damage or a read error reported by wal_replay (rc -1). */
static void wal_failed(checker *ck, const wal_replay_info *info, const char *err, int first)
{
    if (info->stop.file[0]) { /* damage: wal's message names the file and offset */
        problem_line(ck, REC_CF_LOG, err);
        if (first) {
            ck->wal_bad = 1;
            ck->wal_cut = info->stop;
        }
    } else {
        problem(ck, REC_CF_LOG, "log files", "%s", err);
        if (first) ck->wal_unreadable = 1;
    }
}

static void wal_torn_note(checker *ck, const wal_replay_info *info)
{
    if (!info->torn_bytes) return;
    note(ck,
         "log file %s: %" PRIu64 " bytes at offset %" PRIu64 " cut short by a crash; the server "
         "cuts them at start",
         info->torn.file, info->torn_bytes, info->torn.offset);
}

/* Reads the log files as the server's start-up would (from the checkpoint
 * LSN + 1) and, after a record that does not decode, reads the rest. */
static void check_log_files(checker *ck)
{
    char err[CHECK_ERR];
    wal_replay_info info;
    wal *w = wal_open(ck->log_dir, 1, err, sizeof(err));
    if (!w) {
        problem(ck, REC_CF_LOG, "log files", "%s", err);
        ck->wal_unreadable = 1;
        return;
    }
    ck->wal_nfiles = wal_files(w);
    ck->wal_bytes = wal_bytes(w);
    int rc = wal_replay(w, replay_from(ck), wal_record_cb, NULL, ck, &info, err, sizeof(err));
    wal_bounds(w, &ck->wal_first, &ck->wal_last);
    wal_close(w);
    ck->wal_records = info.records + info.skipped;
    ck->wal_above = info.records;
    ck->wal_below = info.skipped;
    ck->wal_skipped_files = info.skipped_files;
    if (rc == 0) {
        ck->wal_read_all = 1;
        wal_torn_note(ck, &info);
    } else if (rc < 0) {
        wal_failed(ck, &info, err, 1);
    } else {
        /* wal_record_cb stopped at the first damaged record. */
        ck->wal_cut = info.stop;
        ck->wal_records++;
        ck->wal_above++;
        if (!ck->wal_first) ck->wal_first = ck->wal_first_bad;
        if (ck->wal_last < ck->wal_first_bad) ck->wal_last = ck->wal_first_bad;
        w = wal_open(ck->log_dir, 1, err, sizeof(err));
        if (!w) {
            problem(ck, REC_CF_LOG, "log files", "%s", err);
            return;
        }
        rc = wal_replay(w, ck->wal_first_bad + 1, wal_record_cb, NULL, ck, &info, err, sizeof(err));
        uint64_t first, last;
        wal_bounds(w, &first, &last);
        wal_close(w);
        ck->wal_records += info.records;
        ck->wal_above += info.records;
        if (last > ck->wal_last) ck->wal_last = last;
        if (rc == 0) {
            ck->wal_read_all = 1;
            wal_torn_note(ck, &info);
        } else {
            wal_failed(ck, &info, err, 0);
        }
    }
    if (ck->wal_below)
        note(ck,
             "log files: %" PRIu64 " records at or below the checkpoint lsn %" PRIu64
             " (skipped at load)",
             ck->wal_below, ck->ckpt.lsn);
    if (ck->wal_skipped_files)
        note(ck,
             "log files: %" PRIu64 " file(s) wholly at or below the checkpoint lsn %" PRIu64
             " not read (the server does not read them; the next checkpoint deletes them)",
             ck->wal_skipped_files, ck->ckpt.lsn);
}

/* ------------------------------------------------------------ driver */

static void checker_free(checker *ck)
{
    for (size_t i = 0; i < ck->ncolls; i++)
        xfree(ck->colls[i].name);
    for (size_t i = 0; i < ck->nnames; i++)
        xfree(ck->names[i].name);
    for (size_t i = 0; i < ck->nsegs; i++) {
        xfree(ck->segs[i].rchunks);
        xfree(ck->segs[i].delbits);
        for (uint32_t f = 0; f < REC_MAX_FIELDS; f++) {
            xfree(ck->segs[i].f[f].vchunks);
            if (ck->segs[i].f[f].h) XXH64_freeState(ck->segs[i].f[f].h);
        }
    }
    xfree(ck->colls);
    xfree(ck->names);
    xfree(ck->segs);
    memset(ck, 0, sizeof(*ck));
}

static void scan_family(checker *ck, rec_family f, storage_scan_fn cb)
{
    char err[CHECK_ERR];
    if (storage_scan(ck->st, f, NULL, 0, NULL, 0, cb, ck, err, sizeof(err)) < 0) {
        char what[64];
        snprintf(what, sizeof(what), "family %s", rec_family_name(f));
        problem(ck, f, what, "%s (the keys after the last one checked were not read)", err);
        if (f == REC_CF_LOG) ck->log_unrepairable = 1;
    }
}

static void format_time(uint64_t ms, char *buf, size_t buflen)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, buflen, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(buf, buflen, "%" PRIu64 " ms", ms);
}

static void print_summary(const checker *ck)
{
    char t[64];
    size_t sealed = 0, indexed = 0;
    for (size_t i = 0; i < ck->nsegs; i++) {
        sealed += ck->segs[i].m.state == REC_SEG_SEALED;
        for (uint32_t f = 0; f < ck->segs[i].m.nfields; f++)
            indexed += ck->segs[i].m.fields[f].index_parts > 0;
    }
    printf("summary of %s (log files in %s)\n", ck->path, ck->log_dir);
    if (ck->have_format) {
        format_time(ck->fmt.created_ms, t, sizeof(t));
        printf("  format:      version %u, created %s\n", ck->fmt.format_version, t);
    }
    if (ck->have_ckpt) {
        format_time(ck->ckpt.time_ms, t, sizeof(t));
        printf("  checkpoint:  lsn %" PRIu64 " at %s\n", ck->ckpt.lsn, t);
    } else {
        printf("  checkpoint:  none (everything is in the log)\n");
    }
    printf("  meta:        %" PRIu64 " keys\n", ck->keys[REC_CF_META]);
    printf("  data:        %" PRIu64 " keys (%" PRIu64 " rows, %" PRIu64 " vectors, %" PRIu64
           " deletes chunks)\n",
           ck->keys[REC_CF_DATA], ck->data_kinds[0], ck->data_kinds[1], ck->data_kinds[2]);
    printf("  index:       %" PRIu64 " keys (%" PRIu64 " indexes listed by manifests)\n",
           ck->keys[REC_CF_INDEX], ck->index_streams);
    /* The family and the files: one LSN range over both. */
    uint64_t first = ck->log_count ? ck->log_first : 0, last = ck->log_count ? ck->log_last : 0;
    if (ck->wal_first && (!first || ck->wal_first < first)) first = ck->wal_first;
    if (ck->wal_last > last) last = ck->wal_last;
    printf("  log:         %" PRIu64 " keys in the family, %" PRIu64
           " records in %zu files (%" PRIu64 " bytes)",
           ck->keys[REC_CF_LOG], ck->wal_records, ck->wal_nfiles, ck->wal_bytes);
    if (first)
        printf(", lsn %" PRIu64 "..%" PRIu64 " (%" PRIu64 " at or below the checkpoint)", first,
               last, ck->log_below + ck->wal_below);
    if (ck->wal_skipped_files)
        printf(", %" PRIu64 " file(s) wholly at or below the checkpoint not read",
               ck->wal_skipped_files);
    printf("\n");
    printf("  collections: %zu\n", ck->ncolls);
    printf("  segments:    %zu (%zu sealed, %zu field indexes stored)\n", ck->nsegs, sealed,
           indexed);
    printf("  problems:    %" PRIu64 " (meta %" PRIu64 ", data %" PRIu64 ", index %" PRIu64
           ", log %" PRIu64 ")\n",
           total_problems(ck), ck->problems[REC_CF_META], ck->problems[REC_CF_DATA],
           ck->problems[REC_CF_INDEX], ck->problems[REC_CF_LOG]);
}

/* 1 when another process holds RocksDB's lock on <db>/LOCK (a live server),
 * with its pid in *pid (0 when the kernel does not say). A read-only
 * RocksDB open does not take this lock, so it would not notice. */
static int db_locked(const char *db, long *pid)
{
    char path[PATH_MAX];
    *pid = 0;
    if (snprintf(path, sizeof(path), "%s/LOCK", db) >= (int)sizeof(path)) return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    int rc = fcntl(fd, F_GETLK, &fl);
    close(fd); /* we hold no lock on it, so closing releases nothing */
    if (rc != 0 || fl.l_type == F_UNLCK) return 0;
    *pid = fl.l_pid > 0 ? (long)fl.l_pid : 0;
    return 1;
}

/* The database directory named by arg: arg itself when it is a RocksDB
 * directory (has CURRENT), else arg/vectis.db. */
static int resolve_db(const char *arg, char *out, size_t outlen)
{
    char p[PATH_MAX];
    struct stat st;
    if (stat(arg, &st) != 0) {
        fprintf(stderr, "vectis-check: cannot open '%s': %s\n", arg, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "vectis-check: '%s' is not a directory\n", arg);
        return -1;
    }
    snprintf(p, sizeof(p), "%s/CURRENT", arg);
    if (access(p, F_OK) == 0) {
        snprintf(out, outlen, "%s", arg);
        return 0;
    }
    snprintf(p, sizeof(p), "%s/%s", arg, PERSIST_DB_NAME);
    if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(out, outlen, "%s", p);
        return 0;
    }
    fprintf(stderr, "vectis-check: no vectis database in '%s' (expected %s/%s)\n", arg, arg,
            PERSIST_DB_NAME);
    return -1;
}

static storage *open_db(const char *db, int read_only)
{
    char err[CHECK_ERR];
    long pid;
    if (db_locked(db, &pid)) {
        if (pid)
            fprintf(stderr,
                    "vectis-check: the database %s is locked by process %ld (a running "
                    "vectis-server?): stop it, or check a copy of the directory\n",
                    db, pid);
        else
            fprintf(stderr,
                    "vectis-check: the database %s is locked by another process (a "
                    "running vectis-server?): stop it, or check a copy of the directory\n",
                    db);
        return NULL;
    }
    storage_options o = {0};
    o.block_cache_bytes = CHECK_CACHE_BYTES;
    o.max_background_jobs = 1;
    o.read_only = read_only;
    storage *st = storage_open(db, &o, err, sizeof(err));
    if (!st) {
        fprintf(stderr, "vectis-check: %s\n", err);
        /* A lock taken between our look and the open (read-write open). */
        if (strstr(err, "lock"))
            fprintf(stderr, "vectis-check: is a vectis-server running on it?\n");
    }
    return st;
}

/* Runs every check on an open database and prints problems and summary. */
static void check_all(checker *ck)
{
    scan_family(ck, REC_CF_META, meta_cb);
    meta_finish(ck);
    scan_family(ck, REC_CF_DATA, data_cb);
    data_finish(ck);
    scan_family(ck, REC_CF_INDEX, index_cb);
    index_finish(ck);
    scan_family(ck, REC_CF_LOG, log_cb);
    if (ck->log_below - ck->log_below_bad > 0)
        note(ck,
             "log lsn %" PRIu64 "..%" PRIu64 ": %" PRIu64 " entries at or below the "
             "checkpoint lsn %" PRIu64 " (skipped at load, deleted by the next checkpoint)",
             ck->log_below_first, ck->log_below_last, ck->log_below, ck->ckpt.lsn);
    check_log_files(ck);
    print_summary(ck);
}

/* Deletes the family's log entries first_bad .. last (inclusive) in one
 * synced batch. */
static int truncate_family(const char *db, uint64_t first_bad, uint64_t last)
{
    char err[CHECK_ERR];
    storage *st = open_db(db, 0);
    if (!st) return -1;
    storage_batch *b = storage_batch_new(st);
    if (last == UINT64_MAX) { /* the range end is exclusive: the last key separately */
        uint8_t k[REC_LOG_KEY_BYTES];
        rec_key_log(last, k);
        storage_batch_delete(b, REC_CF_LOG, k, sizeof(k));
        storage_batch_delete_range_log(b, first_bad, last);
    } else {
        storage_batch_delete_range_log(b, first_bad, last + 1);
    }
    int rc = storage_write(st, b, 1, err, sizeof(err));
    if (rc != 0) fprintf(stderr, "vectis-check: truncating the log family failed: %s\n", err);
    storage_batch_free(b);
    storage_close(st);
    return rc;
}

/* Cuts the log files at *cut (that file truncated there, the later ones
 * deleted; seq 0: every file) and prints what went. 0 or -1. */
static int truncate_files(const checker *ck, const wal_pos *cut)
{
    char err[CHECK_ERR];
    wal *w = wal_open(ck->log_dir, 0, err, sizeof(err));
    if (!w || wal_truncate_at(w, cut, err, sizeof(err)) != 0) {
        fprintf(stderr, "vectis-check: truncating the log files failed: %s\n", err);
        wal_close(w);
        return -1;
    }
    wal_close(w);
    /* What stayed: LSNs increase through the files, so the first LSN
     * removed is the one after the last kept. */
    uint64_t kept_first = 0, kept_last = 0, kept_above = 0;
    w = wal_open(ck->log_dir, 1, err, sizeof(err));
    if (w) {
        wal_replay_info info;
        wal_replay(w, replay_from(ck), wal_count_cb, NULL, NULL, &info, err, sizeof(err));
        kept_above = info.records;
        wal_bounds(w, &kept_first, &kept_last);
        wal_close(w);
    }
    uint64_t from = kept_last ? kept_last + 1 : ck->wal_first;
    if (!cut->seq) {
        printf("deleted every log file (%zu)", ck->wal_nfiles);
        if (ck->wal_first)
            printf(": removed lsn %" PRIu64 "..%" PRIu64, ck->wal_first, ck->wal_last);
        if (!ck->wal_read_all) printf(" and what followed the damage");
        printf("\n");
    } else if (ck->wal_read_all && from && from <= ck->wal_last) {
        printf("truncated the log files at log file %s offset %" PRIu64 ": removed lsn %" PRIu64
               "..%" PRIu64,
               cut->file, cut->offset, from, ck->wal_last);
        /* Counted only when every removed record was above the checkpoint. */
        if (from >= replay_from(ck) && ck->wal_above >= kept_above)
            printf(" (%" PRIu64 " records)", ck->wal_above - kept_above);
        printf("\n");
    } else {
        printf("truncated the log files from log file %s offset %" PRIu64 " to the end", cut->file,
               cut->offset);
        if (from) printf(": removed lsn %" PRIu64 " and everything after it", from);
        if (!ck->wal_read_all) printf(" (the log could not be read past the damage)");
        printf("\n");
    }
    return 0;
}

/* --truncate-log once the check found damage only in the log.
 *
 * Damage in the files: they are cut at the damaged frame.
 *
 * Damage in the family at LSN X: the family's entries from X on are
 * deleted, and so is every log file. The server writes the files only
 * after it has replayed the family, so every file comes after the
 * family's entries (main refuses when a file record below X says
 * otherwise): a record after the cut would apply on top of the missing
 * ones, and even a file holding no record names in its header the LSN it
 * starts at, which would be past the server's next LSN after the cut.
 *
 * The files go first: should the family's delete then fail, its damaged
 * entry is still there and the server still refuses to start, instead of
 * replaying file records on top of a gap. */
static int repair_log(const checker *ck, const char *db)
{
    wal_pos cut;
    memset(&cut, 0, sizeof(cut));
    int have_cut = 0;
    if (ck->log_bad) {
        have_cut = ck->wal_nfiles > 0; /* seq 0, offset 0: every file */
    } else {
        cut = ck->wal_cut;
        have_cut = 1;
    }
    if (have_cut && truncate_files(ck, &cut) != 0) return -1;
    if (ck->log_bad) {
        if (truncate_family(db, ck->log_first_bad, ck->log_last) != 0) return -1;
        printf("truncated the log family: removed lsn %" PRIu64 "..%" PRIu64 " (%" PRIu64
               " entries)\n",
               ck->log_first_bad, ck->log_last, ck->log_from_bad);
    }
    return 0;
}

/* The log directory: PERSIST_LOG_NAME next to the database directory. */
static void resolve_log_dir(const char *db, char *out, size_t outlen)
{
    char abs[PATH_MAX];
    if (!realpath(db, abs)) snprintf(abs, sizeof(abs), "%s", db);
    char *slash = strrchr(abs, '/');
    if (!slash)
        snprintf(out, outlen, "../%s", PERSIST_LOG_NAME); /* abs is a relative name, unresolved */
    else if (slash == abs)
        snprintf(out, outlen, "/%s", PERSIST_LOG_NAME);
    else {
        *slash = '\0';
        snprintf(out, outlen, "%s/%s", abs, PERSIST_LOG_NAME);
    }
}

/* A checker for the database db and the log files in log_dir, run. */
static int check_open_run(checker *ck, const char *db, const char *log_dir)
{
    memset(ck, 0, sizeof(*ck));
    ck->path = db;
    ck->log_dir = log_dir;
    ck->st = open_db(db, 1);
    if (!ck->st) return -1;
    check_all(ck);
    storage_close(ck->st);
    ck->st = NULL;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vectis-check [--truncate-log] <dir | dir/%s>\n"
            "  Checks every record of a vectis database and of its log files in\n"
            "  dir/%s (both opened read-only) and prints one line per problem,\n"
            "  naming the damaged key or log file and offset, then a summary.\n"
            "  --truncate-log  when only the log is damaged, cut it at the first damaged\n"
            "                  frame (or delete the log family's entries from the first\n"
            "                  damaged LSN) to the end: the acknowledged writes from\n"
            "                  there on are lost; then check again\n"
            "  Exit status: 0 clean, 1 problems found, 2 cannot open the database.\n",
            PERSIST_DB_NAME, PERSIST_LOG_NAME);
}

int main(int argc, char **argv)
{
    int do_truncate = 0;
    const char *arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--truncate-log")) {
            do_truncate = 1;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return CHECK_EXIT_OK;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "vectis-check: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return CHECK_EXIT_OPEN;
        } else if (arg) {
            fprintf(stderr, "vectis-check: one database at a time\n");
            usage(stderr);
            return CHECK_EXIT_OPEN;
        } else {
            arg = argv[i];
        }
    }
    if (!arg) {
        usage(stderr);
        return CHECK_EXIT_OPEN;
    }
    char db[PATH_MAX], log_dir[PATH_MAX + 16];
    if (resolve_db(arg, db, sizeof(db)) < 0) return CHECK_EXIT_OPEN;
    resolve_log_dir(db, log_dir, sizeof(log_dir));

    checker ck;
    if (check_open_run(&ck, db, log_dir) != 0) return CHECK_EXIT_OPEN;
    uint64_t np = total_problems(&ck);
    int rc = np ? CHECK_EXIT_PROBLEMS : CHECK_EXIT_OK;
    if (!do_truncate) {
        checker_free(&ck);
        return rc;
    }

    /* --truncate-log */
    uint64_t outside =
        ck.problems[REC_CF_META] + ck.problems[REC_CF_DATA] + ck.problems[REC_CF_INDEX];
    if (outside) {
        printf("refusing --truncate-log: %" PRIu64 " problem(s) outside the log (meta %" PRIu64
               ", data %" PRIu64 ", index %" PRIu64 "); truncating the log cannot repair "
               "them\n",
               outside, ck.problems[REC_CF_META], ck.problems[REC_CF_DATA],
               ck.problems[REC_CF_INDEX]);
    } else if (ck.log_unrepairable || ck.wal_unreadable) {
        printf("refusing --truncate-log: the log could not be read to a definite first damaged "
               "place (see the problems above)\n");
    } else if (ck.log_bad && ck.wal_first && ck.wal_first < ck.log_first_bad) {
        printf("refusing --truncate-log: the log files hold lsn %" PRIu64 ", before the log "
               "family's first damaged lsn %" PRIu64 " (the files should all come after the "
               "family): no cut leaves a consistent prefix of both\n",
               ck.wal_first, ck.log_first_bad);
    } else if (!ck.log_bad && !ck.wal_bad) {
        printf("--truncate-log: the log is intact, nothing to truncate\n");
    } else if (repair_log(&ck, db) != 0) {
        rc = CHECK_EXIT_PROBLEMS;
    } else {
        printf("checking again:\n");
        checker_free(&ck);
        if (check_open_run(&ck, db, log_dir) != 0) return CHECK_EXIT_OPEN;
        rc = total_problems(&ck) ? CHECK_EXIT_PROBLEMS : CHECK_EXIT_OK;
    }
    checker_free(&ck);
    return rc;
}
