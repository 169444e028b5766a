/*
 * record.c -- the on-disk encodings of vectis's RocksDB database (see
 * record.h for the API). This comment is the format's reference.
 *
 * ======================================================================
 * Conventions
 *   u8/u16/u32/u64  little-endian unsigned integers in VALUES;
 *   be16/be32/be64  big-endian in KEYS (bytewise order = numeric order);
 *   f32             IEEE-754 binary32, its bits as a u32;
 *   bytes32         u32 length n, then n bytes (no terminator);
 *   vectors         a row's element bytes as the segment stores them:
 *                   little-endian f32 / f16 / bf16 / i8, or packed bits
 *                   (vectis builds only on little-endian hosts, checked
 *                   below, so these are memcpy'd).
 *
 * Envelope of every value (16 bytes of overhead):
 *   off 0    u8   version       REC_VERSION (1)
 *   off 1    u8   type          rec_type
 *   off 2    u16  reserved      0
 *   off 4    u32  n             body length; the value is exactly 16 + n bytes
 *   off 8    n    body          per type, below; must be consumed exactly
 *   off 8+n  u64  checksum      XXH64(bytes 0 .. 8+n-1, seed 0)
 * A reader checks, in this order: at least 16 bytes; the version (so a
 * value from a newer build says so rather than "bad checksum"); n against
 * the value's length; the checksum; the type against the one expected; the
 * reserved bits; then the body field by field.
 *
 * collection_spec (inside CREATE_COLLECTION and COLLECTION):
 *   dim u32 (1..INDEX_MAX_DIM; BINARY: multiple of 8) | elem u8 (index_elem)
 *   | metric u8 (index_metric) | quant u8 (vset_quant) | flags u8 (bit 0
 *   normalize, bit 1 from_vadd, others 0) | M u32 | efc u32 | proj_in_dim
 *   u32 | index type: u8 length 1..31 + name bytes (an index registry name)
 *
 * ======================================================================
 * Family `meta` (keys start with an ASCII tag)
 *   "F"                  FORMAT      format_version u32 | created_ms u64
 *   "K"                  CHECKPOINT  lsn u64 | time_ms u64 | next_cid u64
 *                                    | next_sid u64
 *   "C" cid:be64         COLLECTION  cid u64 | create_lsn u64 | name
 *                                    bytes32 | spec
 *   "N" name bytes       NAME        cid u64
 *   "S" cid:be64 sid:be64 SEGMENT    cid u64 | sid u64 | state u8 (0
 *                                    growing, 1 sealed) | nrows u32 |
 *                                    ndeleted u32 | chunk_rows u32 (power of
 *                                    two) | nchunks u32 (= ceil(nrows /
 *                                    chunk_rows)) | capacity u32 (rows the
 *                                    segment may grow to; 0 = nrows) | lsn
 *                                    u64 | nfields u16 (<= 16) | nfields x
 *                                    { field u16 | indexed_rows u32 |
 *                                    index_parts u32 | index_first_part u32
 *                                    | index_bytes u64 | index_xxh64 u64 }
 *                        The index of a field is stored under index keys
 *                        part index_first_part .. + index_parts - 1; a
 *                        checkpoint that replaces it writes the other of
 *                        the two slots (first part 0 or 2^31) and deletes
 *                        the old one with the manifest, so a crash in
 *                        between leaves the old index whole.
 *
 * Family `log` (LOG values are also the records of the log files, where
 * the frame entry carries the LSN: engine/wal.c; the family itself holds
 * entries only in databases written before the log moved to files)
 *   lsn:be64             LOG         lsn u64 (= the key's) | count u32 (>= 1)
 *                                    | count x mutation
 *   mutation = op u8, then
 *     1 CREATE_COLLECTION  cid u64 | name bytes32 | spec
 *     2 DROP_COLLECTION    cid u64
 *     3 RENAME             cid u64 | new name bytes32
 *     4 FLUSH_ALL          (nothing)
 *     5 INSERT             cid u64 | key bytes32 | vector bytes32 (<= 256 KiB)
 *                          | norm f32 | has_attr u8 (0/1) | [attr bytes32]
 *     6 DELETE             cid u64 | key bytes32
 *
 * Family `data` (key: cid:be64 sid:be64 kind:u8 field:be16 chunk:be32; the
 * collection id comes first so that dropping a collection is one range
 * delete; rows of chunk c are c * chunk_rows .. of the segment)
 *   kind 'R'  ROWS     first_row u32 | count u32 | count x { key bytes32 |
 *                      ins_lsn u64 | norm f32 | has_attr u8 | [attr bytes32] }
 *   kind 'V'  VECTORS  first_row u32 | count u32 | elem u8 | dim u32 |
 *                      row_bytes u32 (= index_elem_row_bytes(elem, dim)) |
 *                      count * row_bytes bytes of vectors
 *   kind 'D'  DELETES  first_row u32 | nrows u32 | ndeleted u32 |
 *                      ceil(nrows / 64) u64 bitmap words (bit i of word w =
 *                      row first_row + 64w + i; bits >= nrows are 0;
 *                      popcount = ndeleted) | ndeleted x del_lsn u64 (>= 1,
 *                      in row order)
 *
 * Family `index` (key: cid:be64 sid:be64 field:be16 part:be32)
 *   INDEX_PART  part u32 | nparts u32 (part < nparts) | offset u64 | the
 *               rest: bytes offset .. of the index_save stream
 *
 * ======================================================================
 * Why this shape
 *   - One envelope for everything: a tool (vectis-check) can verify any
 *     value of any family with rec_check() and name the bad key.
 *   - Field by field, never raw structs: padding, endianness and struct
 *     changes never leak into the files (STYLE.md, practice 10).
 *   - A log value holds all the mutations of one LSN, because an upsert is
 *     a delete and an insert at the same LSN and the log key is the LSN;
 *     the value is validated whole before any of it is applied.
 *   - Decoders return views into the caller's buffer and never allocate,
 *     so an absurd length costs nothing but the error message.
 * Rejected: protobuf/flatbuffers (a dependency and a schema compiler for
 * ten record types); a varint encoding (saves a few bytes per row next to
 * hundreds of vector bytes, costs branches on every field); a CRC32C
 * (xxh64 is already a dependency and as fast); one combined row+vector
 * chunk (vector chunks are memcpy'd straight into a segment's vchunk and a
 * future multi-vector schema gets one chunk per field).
 *
 * Threading: none. Ownership: rec_buf bytes belong to the rec_buf.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

#include "alloc.h"
#include "engine/le.h"
#include "engine/record.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "record.c stores vectors as little-endian element bytes: build on a little-endian host"
#endif

#define REC_MIN_BUF 256 /* bytes: first allocation of a rec_buf */

/* ------------------------------------------------------------ names */

const char *rec_type_name(int type)
{
    switch (type) {
    case REC_T_FORMAT: return "FORMAT";
    case REC_T_CHECKPOINT: return "CHECKPOINT";
    case REC_T_COLLECTION: return "COLLECTION";
    case REC_T_NAME: return "NAME";
    case REC_T_SEGMENT: return "SEGMENT";
    case REC_T_LOG: return "LOG";
    case REC_T_ROWS: return "ROWS";
    case REC_T_VECTORS: return "VECTORS";
    case REC_T_DELETES: return "DELETES";
    case REC_T_INDEX_PART: return "INDEX_PART";
    }
    return "UNKNOWN";
}

const char *rec_op_name(int op)
{
    switch (op) {
    case REC_OP_CREATE_COLLECTION: return "CREATE_COLLECTION";
    case REC_OP_DROP_COLLECTION: return "DROP_COLLECTION";
    case REC_OP_RENAME: return "RENAME";
    case REC_OP_FLUSH_ALL: return "FLUSH_ALL";
    case REC_OP_INSERT: return "INSERT";
    case REC_OP_DELETE: return "DELETE";
    }
    return "UNKNOWN";
}

const char *rec_family_name(rec_family f)
{
    static const char *const names[REC_CF_COUNT] = {"meta", "log", "data", "index"};
    return (unsigned)f < REC_CF_COUNT ? names[f] : "unknown";
}

/* ------------------------------------------------------------ writing */

void rec_buf_free(rec_buf *b)
{
    xfree(b->p);
    memset(b, 0, sizeof(*b));
}

static void buf_reserve(rec_buf *b, size_t more)
{
    assert(more <= SIZE_MAX - b->len);
    if (b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : REC_MIN_BUF;
    while (cap < b->len + more) cap = cap > SIZE_MAX / 2 ? b->len + more : cap * 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static void put_raw(rec_buf *b, const void *p, size_t n)
{
    if (!n) return;
    buf_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void be_store(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t be_load(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

static void put_le(rec_buf *b, uint64_t v, int n)
{
    buf_reserve(b, (size_t)n);
    le_store(b->p + b->len, v, n);
    b->len += (size_t)n;
}

static void put8(rec_buf *b, uint8_t v) { put_le(b, v, 1); }
static void put16(rec_buf *b, uint16_t v) { put_le(b, v, 2); }
static void put32(rec_buf *b, uint32_t v) { put_le(b, v, 4); }
static void put64(rec_buf *b, uint64_t v) { put_le(b, v, 8); }

static void putf32(rec_buf *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put32(b, u);
}

static void put_bytes32(rec_buf *b, const void *p, size_t n)
{
    assert(n <= UINT32_MAX);
    put32(b, (uint32_t)n);
    put_raw(b, p, n);
}

/* Starts a value of `type` (the buffer is emptied first). */
static void env_begin(rec_buf *b, rec_type type)
{
    b->len = 0;
    put8(b, REC_VERSION);
    put8(b, (uint8_t)type);
    put16(b, 0);
    put32(b, 0); /* body length, patched by env_end */
}

/* Patches the body length and appends the checksum. */
static void env_end(rec_buf *b)
{
    size_t body = b->len - REC_HEADER_BYTES;
    assert(body <= UINT32_MAX);
    le_store(b->p + 4, body, 4);
    uint64_t h = XXH64(b->p, b->len, 0);
    put64(b, h);
}

/* ------------------------------------------------------------ reading */

/* A bounds-checked cursor over a body. The first failure writes the
 * message; later reads fail silently, so a decoder can read a few fields
 * and check `r->bad` once. */
typedef struct reader {
    const uint8_t *base, *p, *end;
    int bad;
    const char *what; /* record type name, for messages */
    char *err;
    size_t errlen;
} reader;

static void rfail(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void rfail(reader *r, const char *fmt, ...)
{
    if (r->bad) return;
    r->bad = 1;
    if (!r->err || !r->errlen) return;
    int n = snprintf(r->err, r->errlen, "%s record: ", r->what);
    if (n < 0 || (size_t)n >= r->errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static size_t roff(const reader *r)
{
    return (size_t)(r->p - r->base) + REC_HEADER_BYTES; /* offset in the value */
}

/* 1 if n more bytes are there for `field`, else fails. */
static int rneed(reader *r, size_t n, const char *field)
{
    if (r->bad) return 0;
    if ((size_t)(r->end - r->p) < n) {
        rfail(r, "truncated: %s needs %zu bytes at offset %zu, %zu left", field, n, roff(r),
              (size_t)(r->end - r->p));
        return 0;
    }
    return 1;
}

static uint64_t rget(reader *r, int n, const char *field)
{
    if (!rneed(r, (size_t)n, field)) return 0;
    uint64_t v = le_load(r->p, n);
    r->p += n;
    return v;
}

static uint8_t get8(reader *r, const char *f) { return (uint8_t)rget(r, 1, f); }
static uint16_t get16(reader *r, const char *f) { return (uint16_t)rget(r, 2, f); }
static uint32_t get32(reader *r, const char *f) { return (uint32_t)rget(r, 4, f); }
static uint64_t get64(reader *r, const char *f) { return rget(r, 8, f); }

static float getf32(reader *r, const char *f)
{
    uint32_t u = get32(r, f);
    float v;
    memcpy(&v, &u, 4);
    return v;
}

/* A bytes32 field no longer than max: returns a view into the buffer. */
static const uint8_t *get_bytes32(reader *r, uint32_t *len, uint32_t max, const char *field)
{
    *len = 0;
    uint32_t n = get32(r, field);
    if (r->bad) return NULL;
    if (n > max) {
        rfail(r, "%s length %u exceeds the limit of %u", field, n, max);
        return NULL;
    }
    if (!rneed(r, n, field)) return NULL;
    const uint8_t *p = r->p;
    r->p += n;
    *len = n;
    return p;
}

/* The body must be consumed exactly. */
static int rdone(reader *r)
{
    if (!r->bad && r->p != r->end)
        rfail(r, "%zu unexpected bytes after the last field at offset %zu",
              (size_t)(r->end - r->p), roff(r));
    return r->bad ? -1 : 0;
}

static int env_fail(char *err, size_t errlen, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int env_fail(char *err, size_t errlen, const char *what, const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "%s record: ", what);
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

/* Checks the envelope; returns the type or -1. `expect` < 0: any type. */
static int env_open(const void *val, size_t len, int expect, reader *r, char *err, size_t errlen)
{
    const uint8_t *v = val;
    const char *what = expect >= 0 ? rec_type_name(expect) : "storage";
    memset(r, 0, sizeof(*r));
    if (!v || len < REC_OVERHEAD)
        return env_fail(err, errlen, what, "truncated: %zu bytes, a value has at least %d", len,
                        REC_OVERHEAD);
    if (v[0] != REC_VERSION)
        return env_fail(err, errlen, what,
                        "format version %u is not supported (this build reads version %d)",
                        v[0], REC_VERSION);
    uint32_t body = (uint32_t)le_load(v + 4, 4);
    if ((uint64_t)body + REC_OVERHEAD != len)
        return env_fail(err, errlen, what,
                        "length mismatch: header says %u body bytes, the value holds %zu", body,
                        len - REC_OVERHEAD);
    uint64_t stored = le_load(v + len - REC_TRAILER_BYTES, 8);
    uint64_t calc = XXH64(v, len - REC_TRAILER_BYTES, 0);
    if (stored != calc)
        return env_fail(err, errlen, what,
                        "checksum mismatch (stored %016llx, computed %016llx): the value is "
                        "corrupt",
                        (unsigned long long)stored, (unsigned long long)calc);
    if (expect >= 0 && v[1] != expect)
        return env_fail(err, errlen, what, "wrong type: found %s (%u)", rec_type_name(v[1]), v[1]);
    if (le_load(v + 2, 2) != 0)
        return env_fail(err, errlen, what, "reserved header bits are set (%04x)",
                        (unsigned)le_load(v + 2, 2));
    r->base = r->p = v + REC_HEADER_BYTES;
    r->end = r->p + body;
    r->what = rec_type_name(v[1]);
    r->err = err;
    r->errlen = errlen;
    return v[1];
}

int rec_check(const void *val, size_t len, char *err, size_t errlen)
{
    reader r;
    return env_open(val, len, -1, &r, err, errlen);
}

/* ------------------------------------------------------------------ keys */

size_t rec_key_log(uint64_t lsn, uint8_t out[REC_LOG_KEY_BYTES])
{
    be_store(out, lsn, 8);
    return REC_LOG_KEY_BYTES;
}

size_t rec_key_meta_collection(uint64_t cid, uint8_t out[REC_META_ID_KEY_BYTES])
{
    out[0] = REC_META_COLLECTION;
    be_store(out + 1, cid, 8);
    return REC_META_ID_KEY_BYTES;
}

size_t rec_key_meta_segment(uint64_t cid, uint64_t sid, uint8_t out[REC_META_SEGMENT_KEY_BYTES])
{
    out[0] = REC_META_SEGMENT;
    be_store(out + 1, cid, 8);
    be_store(out + 9, sid, 8);
    return REC_META_SEGMENT_KEY_BYTES;
}

size_t rec_key_meta_name(const char *name, size_t namelen, uint8_t *out)
{
    out[0] = REC_META_NAME;
    if (namelen) memcpy(out + 1, name, namelen);
    return namelen + 1;
}

size_t rec_key_meta_tag(int tag, uint8_t out[1])
{
    assert(tag == REC_META_FORMAT || tag == REC_META_CHECKPOINT);
    out[0] = (uint8_t)tag;
    return 1;
}

size_t rec_key_data(uint64_t cid, uint64_t sid, int kind, uint16_t field, uint32_t chunk,
                    uint8_t out[REC_DATA_KEY_BYTES])
{
    assert(kind == REC_DATA_ROWS || kind == REC_DATA_VECTORS || kind == REC_DATA_DELETES);
    be_store(out, cid, 8);
    be_store(out + 8, sid, 8);
    out[16] = (uint8_t)kind;
    be_store(out + 17, field, 2);
    be_store(out + 19, chunk, 4);
    return REC_DATA_KEY_BYTES;
}

size_t rec_key_index(uint64_t cid, uint64_t sid, uint16_t field, uint32_t part,
                     uint8_t out[REC_INDEX_KEY_BYTES])
{
    be_store(out, cid, 8);
    be_store(out + 8, sid, 8);
    be_store(out + 16, field, 2);
    be_store(out + 18, part, 4);
    return REC_INDEX_KEY_BYTES;
}

void rec_range_collection(uint64_t cid, uint8_t lo[8], uint8_t hi[8])
{
    assert(cid < UINT64_MAX);
    be_store(lo, cid, 8);
    be_store(hi, cid + 1, 8);
}

void rec_range_segment(uint64_t cid, uint64_t sid, uint8_t lo[16], uint8_t hi[16])
{
    assert(sid < UINT64_MAX);
    be_store(lo, cid, 8);
    be_store(lo + 8, sid, 8);
    be_store(hi, cid, 8);
    be_store(hi + 8, sid + 1, 8);
}

void rec_range_meta_segments(uint64_t cid, uint8_t lo[9], uint8_t hi[9])
{
    assert(cid < UINT64_MAX);
    lo[0] = hi[0] = REC_META_SEGMENT;
    be_store(lo + 1, cid, 8);
    be_store(hi + 1, cid + 1, 8);
}

static int key_fail(char *err, size_t errlen, const char *fam, size_t klen, size_t want)
{
    if (err && errlen)
        snprintf(err, errlen, "%s key of %zu bytes, expected %zu", fam, klen, want);
    return -1;
}

int rec_key_parse_log(const void *key, size_t klen, uint64_t *lsn, char *err, size_t errlen)
{
    if (klen != REC_LOG_KEY_BYTES) return key_fail(err, errlen, "log", klen, REC_LOG_KEY_BYTES);
    *lsn = be_load(key, 8);
    return 0;
}

int rec_key_parse_data(const void *key, size_t klen, rec_data_key *out, char *err, size_t errlen)
{
    const uint8_t *k = key;
    if (klen != REC_DATA_KEY_BYTES) return key_fail(err, errlen, "data", klen, REC_DATA_KEY_BYTES);
    if (k[16] != REC_DATA_ROWS && k[16] != REC_DATA_VECTORS && k[16] != REC_DATA_DELETES) {
        if (err && errlen) snprintf(err, errlen, "data key with unknown kind byte 0x%02x", k[16]);
        return -1;
    }
    out->cid = be_load(k, 8);
    out->sid = be_load(k + 8, 8);
    out->kind = k[16];
    out->field = (uint16_t)be_load(k + 17, 2);
    out->chunk = (uint32_t)be_load(k + 19, 4);
    return 0;
}

int rec_key_parse_index(const void *key, size_t klen, rec_index_key *out, char *err,
                        size_t errlen)
{
    const uint8_t *k = key;
    if (klen != REC_INDEX_KEY_BYTES)
        return key_fail(err, errlen, "index", klen, REC_INDEX_KEY_BYTES);
    out->cid = be_load(k, 8);
    out->sid = be_load(k + 8, 8);
    out->field = (uint16_t)be_load(k + 16, 2);
    out->part = (uint32_t)be_load(k + 18, 4);
    return 0;
}

/* Printable form of arbitrary bytes: \xNN escapes, at most ~48 bytes. */
static void describe_bytes(const uint8_t *p, size_t n, char *buf, size_t buflen)
{
    size_t o = 0;
    if (!buflen) return;
    for (size_t i = 0; i < n && o + 5 < buflen; i++) {
        if (i == 48) {
            o += (size_t)snprintf(buf + o, buflen - o, "...");
            break;
        }
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
            buf[o++] = (char)p[i];
        else
            o += (size_t)snprintf(buf + o, buflen - o, "\\x%02x", p[i]);
    }
    buf[o < buflen ? o : buflen - 1] = '\0';
}

void rec_key_describe(rec_family f, const void *key, size_t klen, char *buf, size_t buflen)
{
    const uint8_t *k = key;
    char raw[256];
    if (!buflen) return;
    describe_bytes(k, klen, raw, sizeof(raw));
    switch (f) {
    case REC_CF_LOG:
        if (klen == REC_LOG_KEY_BYTES) {
            snprintf(buf, buflen, "log lsn %llu", (unsigned long long)be_load(k, 8));
            return;
        }
        break;
    case REC_CF_DATA: {
        rec_data_key d;
        if (rec_key_parse_data(k, klen, &d, NULL, 0) == 0) {
            const char *kind = d.kind == REC_DATA_ROWS      ? "rows"
                               : d.kind == REC_DATA_VECTORS ? "vectors"
                                                            : "deletes";
            snprintf(buf, buflen, "data collection %llu segment %llu %s field %u chunk %u",
                     (unsigned long long)d.cid, (unsigned long long)d.sid, kind, d.field,
                     d.chunk);
            return;
        }
        break;
    }
    case REC_CF_INDEX: {
        rec_index_key x;
        if (rec_key_parse_index(k, klen, &x, NULL, 0) == 0) {
            snprintf(buf, buflen, "index collection %llu segment %llu field %u part %u",
                     (unsigned long long)x.cid, (unsigned long long)x.sid, x.field, x.part);
            return;
        }
        break;
    }
    case REC_CF_META:
        if (klen == 1 && k[0] == REC_META_FORMAT) {
            snprintf(buf, buflen, "meta format");
            return;
        }
        if (klen == 1 && k[0] == REC_META_CHECKPOINT) {
            snprintf(buf, buflen, "meta checkpoint");
            return;
        }
        if (klen == REC_META_ID_KEY_BYTES && k[0] == REC_META_COLLECTION) {
            snprintf(buf, buflen, "meta collection %llu", (unsigned long long)be_load(k + 1, 8));
            return;
        }
        if (klen == REC_META_SEGMENT_KEY_BYTES && k[0] == REC_META_SEGMENT) {
            snprintf(buf, buflen, "meta collection %llu segment %llu",
                     (unsigned long long)be_load(k + 1, 8), (unsigned long long)be_load(k + 9, 8));
            return;
        }
        if (klen >= 1 && k[0] == REC_META_NAME) {
            describe_bytes(k + 1, klen - 1, raw, sizeof(raw));
            snprintf(buf, buflen, "meta name \"%s\"", raw);
            return;
        }
        break;
    default: break;
    }
    snprintf(buf, buflen, "%s key \"%s\" (%zu bytes, unrecognised)", rec_family_name(f), raw, klen);
}

/* ------------------------------------------------------- collection spec */

static void put_spec(rec_buf *b, const collection_spec *s)
{
    size_t tl = s->index_type ? strlen(s->index_type) : 0;
    assert(tl >= 1 && tl <= REC_INDEX_TYPE_MAX);
    put32(b, s->dim);
    put8(b, (uint8_t)s->elem);
    put8(b, (uint8_t)s->metric);
    put8(b, (uint8_t)s->quant);
    put8(b, (uint8_t)((s->normalize ? 1 : 0) | (s->from_vadd ? 2 : 0)));
    put32(b, s->M);
    put32(b, s->efc);
    put32(b, s->proj_in_dim);
    put8(b, (uint8_t)tl);
    put_raw(b, s->index_type, tl);
}

static void get_spec(reader *r, collection_spec *s)
{
    memset(s, 0, sizeof(*s));
    s->dim = get32(r, "spec dim");
    uint8_t elem = get8(r, "spec elem");
    uint8_t metric = get8(r, "spec metric");
    uint8_t quant = get8(r, "spec quant");
    uint8_t flags = get8(r, "spec flags");
    s->M = get32(r, "spec M");
    s->efc = get32(r, "spec efc");
    s->proj_in_dim = get32(r, "spec proj_in_dim");
    uint8_t tl = get8(r, "spec index type length");
    if (r->bad) return;
    if (s->dim == 0 || s->dim > INDEX_MAX_DIM)
        rfail(r, "spec dim %u out of range 1..%u", s->dim, INDEX_MAX_DIM);
    else if (elem > INDEX_ELEM_BINARY)
        rfail(r, "spec element type %u unknown", elem);
    else if (elem == INDEX_ELEM_BINARY && s->dim % 8)
        rfail(r, "spec BINARY dim %u is not a multiple of 8", s->dim);
    else if (metric > INDEX_METRIC_JACCARD)
        rfail(r, "spec metric %u unknown", metric);
    else if (quant > VSET_BIN)
        rfail(r, "spec quantisation %u unknown", quant);
    else if (flags & ~3u)
        rfail(r, "spec flags 0x%02x has unknown bits", flags);
    else if (s->proj_in_dim > INDEX_MAX_DIM)
        rfail(r, "spec proj_in_dim %u exceeds %u", s->proj_in_dim, INDEX_MAX_DIM);
    else if (tl == 0 || tl > REC_INDEX_TYPE_MAX)
        rfail(r, "spec index type length %u out of range 1..%d", tl, REC_INDEX_TYPE_MAX);
    if (r->bad) return;
    if (!rneed(r, tl, "spec index type")) return;
    char name[REC_INDEX_TYPE_MAX + 1];
    memcpy(name, r->p, tl);
    name[tl] = '\0';
    r->p += tl;
    s->index_type = NULL;
    for (size_t i = 0; i < index_type_count(); i++)
        if (strlen(index_type_name(i)) == tl && !strcasecmp(index_type_name(i), name))
            s->index_type = index_type_name(i);
    if (!s->index_type) {
        char shown[4 * REC_INDEX_TYPE_MAX + 4];
        describe_bytes((const uint8_t *)name, tl, shown, sizeof(shown));
        rfail(r, "spec index type \"%s\" is unknown to this build", shown);
        return;
    }
    s->elem = (index_elem)elem;
    s->metric = (index_metric)metric;
    s->quant = (vset_quant)quant;
    s->normalize = flags & 1;
    s->from_vadd = (flags >> 1) & 1;
}

/* ------------------------------------------------------------------- log */

static void put_mutation(rec_buf *b, const rec_mutation *m)
{
    put8(b, (uint8_t)m->op);
    switch (m->op) {
    case REC_OP_CREATE_COLLECTION:
        put64(b, m->cid);
        put_bytes32(b, m->name, m->name_len);
        put_spec(b, &m->spec);
        break;
    case REC_OP_DROP_COLLECTION: put64(b, m->cid); break;
    case REC_OP_RENAME:
        put64(b, m->cid);
        put_bytes32(b, m->name, m->name_len);
        break;
    case REC_OP_FLUSH_ALL: break;
    case REC_OP_INSERT:
        assert(m->vec_len <= REC_MAX_VECTOR_BYTES);
        put64(b, m->cid);
        put_bytes32(b, m->key, m->key_len);
        put_bytes32(b, m->vec, m->vec_len);
        putf32(b, m->norm);
        put8(b, m->has_attr ? 1 : 0);
        if (m->has_attr) put_bytes32(b, m->attr, m->attr_len);
        break;
    case REC_OP_DELETE:
        put64(b, m->cid);
        put_bytes32(b, m->key, m->key_len);
        break;
    default: assert(!"unknown mutation op");
    }
}

void rec_encode_log(rec_buf *b, uint64_t lsn, const rec_mutation *m, size_t n)
{
    assert(n >= 1 && n <= UINT32_MAX);
    env_begin(b, REC_T_LOG);
    put64(b, lsn);
    put32(b, (uint32_t)n);
    for (size_t i = 0; i < n; i++) put_mutation(b, &m[i]);
    env_end(b);
}

/* Parses one mutation; index i only for messages. */
static void get_mutation(reader *r, rec_mutation *m, uint32_t i)
{
    memset(m, 0, sizeof(*m));
    uint8_t op = get8(r, "mutation op");
    if (r->bad) return;
    m->op = (rec_op)op;
    switch (op) {
    case REC_OP_CREATE_COLLECTION:
        m->cid = get64(r, "collection id");
        m->name = (const char *)get_bytes32(r, &m->name_len, UINT32_MAX, "collection name");
        get_spec(r, &m->spec);
        break;
    case REC_OP_DROP_COLLECTION: m->cid = get64(r, "collection id"); break;
    case REC_OP_RENAME:
        m->cid = get64(r, "collection id");
        m->name = (const char *)get_bytes32(r, &m->name_len, UINT32_MAX, "new name");
        break;
    case REC_OP_FLUSH_ALL: break;
    case REC_OP_INSERT: {
        m->cid = get64(r, "collection id");
        m->key = (const char *)get_bytes32(r, &m->key_len, UINT32_MAX, "element key");
        m->vec = get_bytes32(r, &m->vec_len, REC_MAX_VECTOR_BYTES, "vector");
        m->norm = getf32(r, "norm");
        uint8_t ha = get8(r, "attribute flag");
        if (r->bad) break;
        if (ha > 1) {
            rfail(r, "mutation %u (INSERT): attribute flag %u is not 0 or 1", i, ha);
            break;
        }
        m->has_attr = ha;
        if (ha) m->attr = (const char *)get_bytes32(r, &m->attr_len, UINT32_MAX, "attribute");
        break;
    }
    case REC_OP_DELETE:
        m->cid = get64(r, "collection id");
        m->key = (const char *)get_bytes32(r, &m->key_len, UINT32_MAX, "element key");
        break;
    default: rfail(r, "mutation %u has unknown op %u", i, op); break;
    }
}

int rec_log_decode(const void *val, size_t len, uint64_t key_lsn, rec_log_iter *it, char *err,
                   size_t errlen)
{
    reader r;
    memset(it, 0, sizeof(*it));
    if (env_open(val, len, REC_T_LOG, &r, err, errlen) < 0) return -1;
    uint64_t lsn = get64(&r, "lsn");
    uint32_t count = get32(&r, "mutation count");
    if (r.bad) return -1;
    if (lsn != key_lsn) {
        rfail(&r, "holds lsn %llu but is stored under lsn %llu", (unsigned long long)lsn,
              (unsigned long long)key_lsn);
        return -1;
    }
    if (count == 0) {
        rfail(&r, "holds no mutation");
        return -1;
    }
    const uint8_t *first = r.p;
    /* Validate every mutation before handing out any. A mutation is at
     * least one byte, so a huge count fails on the bytes, not on memory. */
    for (uint32_t i = 0; i < count && !r.bad; i++) {
        rec_mutation m;
        get_mutation(&r, &m, i);
    }
    if (rdone(&r) < 0) return -1;
    it->p = first;
    it->end = r.end;
    it->left = count;
    it->lsn = lsn;
    return 0;
}

int rec_log_next(rec_log_iter *it, rec_mutation *m)
{
    if (!it->left) return 0;
    reader r = {.base = it->p, .p = it->p, .end = it->end, .what = "LOG"};
    get_mutation(&r, m, 0);
    assert(!r.bad); /* validated by rec_log_decode */
    it->p = r.p;
    it->left--;
    return 1;
}

/* ------------------------------------------------------------------ meta */

void rec_encode_format(rec_buf *b, const rec_format *f)
{
    env_begin(b, REC_T_FORMAT);
    put32(b, f->format_version);
    put64(b, f->created_ms);
    env_end(b);
}

int rec_decode_format(const void *val, size_t len, rec_format *out, char *err, size_t errlen)
{
    reader r;
    memset(out, 0, sizeof(*out));
    if (env_open(val, len, REC_T_FORMAT, &r, err, errlen) < 0) return -1;
    out->format_version = get32(&r, "format version");
    out->created_ms = get64(&r, "creation time");
    return rdone(&r);
}

void rec_encode_checkpoint(rec_buf *b, const rec_checkpoint *k)
{
    env_begin(b, REC_T_CHECKPOINT);
    put64(b, k->lsn);
    put64(b, k->time_ms);
    put64(b, k->next_cid);
    put64(b, k->next_sid);
    env_end(b);
}

int rec_decode_checkpoint(const void *val, size_t len, rec_checkpoint *out, char *err,
                          size_t errlen)
{
    reader r;
    memset(out, 0, sizeof(*out));
    if (env_open(val, len, REC_T_CHECKPOINT, &r, err, errlen) < 0) return -1;
    out->lsn = get64(&r, "lsn");
    out->time_ms = get64(&r, "time");
    out->next_cid = get64(&r, "next collection id");
    out->next_sid = get64(&r, "next segment id");
    return rdone(&r);
}

void rec_encode_collection(rec_buf *b, const rec_collection *c)
{
    env_begin(b, REC_T_COLLECTION);
    put64(b, c->cid);
    put64(b, c->create_lsn);
    put_bytes32(b, c->name, c->name_len);
    put_spec(b, &c->spec);
    env_end(b);
}

int rec_decode_collection(const void *val, size_t len, rec_collection *out, char *err,
                          size_t errlen)
{
    reader r;
    memset(out, 0, sizeof(*out));
    if (env_open(val, len, REC_T_COLLECTION, &r, err, errlen) < 0) return -1;
    out->cid = get64(&r, "collection id");
    out->create_lsn = get64(&r, "create lsn");
    out->name = (const char *)get_bytes32(&r, &out->name_len, UINT32_MAX, "name");
    get_spec(&r, &out->spec);
    return rdone(&r);
}

void rec_encode_name(rec_buf *b, uint64_t cid)
{
    env_begin(b, REC_T_NAME);
    put64(b, cid);
    env_end(b);
}

int rec_decode_name(const void *val, size_t len, uint64_t *cid, char *err, size_t errlen)
{
    reader r;
    *cid = 0;
    if (env_open(val, len, REC_T_NAME, &r, err, errlen) < 0) return -1;
    *cid = get64(&r, "collection id");
    return rdone(&r);
}

void rec_encode_segment(rec_buf *b, const rec_segment *s)
{
    assert(s->nfields <= REC_MAX_FIELDS);
    env_begin(b, REC_T_SEGMENT);
    put64(b, s->cid);
    put64(b, s->sid);
    put8(b, (uint8_t)s->state);
    put32(b, s->nrows);
    put32(b, s->ndeleted);
    put32(b, s->chunk_rows);
    put32(b, s->nchunks);
    put32(b, s->capacity);
    put64(b, s->lsn);
    put16(b, (uint16_t)s->nfields);
    for (uint32_t i = 0; i < s->nfields; i++) {
        const rec_segment_field *f = &s->fields[i];
        put16(b, f->field);
        put32(b, f->indexed_rows);
        put32(b, f->index_parts);
        put32(b, f->index_first_part);
        put64(b, f->index_bytes);
        put64(b, f->index_xxh64);
    }
    env_end(b);
}

int rec_decode_segment(const void *val, size_t len, rec_segment *out, char *err, size_t errlen)
{
    reader r;
    memset(out, 0, sizeof(*out));
    if (env_open(val, len, REC_T_SEGMENT, &r, err, errlen) < 0) return -1;
    out->cid = get64(&r, "collection id");
    out->sid = get64(&r, "segment id");
    uint8_t state = get8(&r, "state");
    out->nrows = get32(&r, "nrows");
    out->ndeleted = get32(&r, "ndeleted");
    out->chunk_rows = get32(&r, "chunk_rows");
    out->nchunks = get32(&r, "nchunks");
    out->capacity = get32(&r, "capacity");
    out->lsn = get64(&r, "lsn");
    uint16_t nf = get16(&r, "field count");
    if (r.bad) return -1;
    out->state = state;
    if (state != REC_SEG_GROWING && state != REC_SEG_SEALED)
        rfail(&r, "segment %llu: state %u unknown", (unsigned long long)out->sid, state);
    else if (out->chunk_rows == 0 || (out->chunk_rows & (out->chunk_rows - 1)))
        rfail(&r, "segment %llu: chunk_rows %u is not a power of two",
              (unsigned long long)out->sid, out->chunk_rows);
    else if (out->nchunks != (uint32_t)(((uint64_t)out->nrows + out->chunk_rows - 1) /
                                        out->chunk_rows))
        rfail(&r, "segment %llu: %u chunks cannot hold %u rows of %u", (unsigned long long)out->sid,
              out->nchunks, out->nrows, out->chunk_rows);
    else if (out->ndeleted > out->nrows)
        rfail(&r, "segment %llu: %u deleted rows out of %u", (unsigned long long)out->sid,
              out->ndeleted, out->nrows);
    else if (out->capacity && out->capacity < out->nrows)
        rfail(&r, "segment %llu: capacity %u below its %u rows", (unsigned long long)out->sid,
              out->capacity, out->nrows);
    else if (nf > REC_MAX_FIELDS)
        rfail(&r, "segment %llu: %u fields exceed the limit of %d", (unsigned long long)out->sid,
              nf, REC_MAX_FIELDS);
    if (r.bad) return -1;
    out->nfields = nf;
    for (uint32_t i = 0; i < nf && !r.bad; i++) {
        rec_segment_field *f = &out->fields[i];
        f->field = get16(&r, "field number");
        f->indexed_rows = get32(&r, "indexed rows");
        f->index_parts = get32(&r, "index parts");
        f->index_first_part = get32(&r, "index first part");
        f->index_bytes = get64(&r, "index bytes");
        f->index_xxh64 = get64(&r, "index checksum");
        if (r.bad) break;
        if (f->indexed_rows > out->nrows)
            rfail(&r, "segment %llu field %u: %u indexed rows out of %u",
                  (unsigned long long)out->sid, f->field, f->indexed_rows, out->nrows);
        else if ((f->index_parts == 0) != (f->index_bytes == 0))
            rfail(&r, "segment %llu field %u: %u index parts for %llu bytes",
                  (unsigned long long)out->sid, f->field, f->index_parts,
                  (unsigned long long)f->index_bytes);
        else if ((uint64_t)f->index_first_part + f->index_parts > UINT32_MAX)
            rfail(&r, "segment %llu field %u: index parts %u + %u overflow",
                  (unsigned long long)out->sid, f->field, f->index_first_part, f->index_parts);
    }
    return rdone(&r);
}

/* ------------------------------------------------------------------ rows */

/* Body offsets of the count fields patched by the streaming encoders. */
#define ROWS_COUNT_OFF (REC_HEADER_BYTES + 4)
#define DEL_NROWS_OFF (REC_HEADER_BYTES + 4)
#define DEL_COUNT_OFF (REC_HEADER_BYTES + 8)
#define DEL_BITS_OFF (REC_HEADER_BYTES + 12)

void rec_rows_begin(rec_buf *b, uint32_t first_row)
{
    env_begin(b, REC_T_ROWS);
    put32(b, first_row);
    put32(b, 0);
    b->state = first_row;
}

void rec_rows_add(rec_buf *b, const char *key, uint32_t key_len, uint64_t ins_lsn, float norm,
                  int has_attr, const char *attr, uint32_t attr_len)
{
    uint32_t n = (uint32_t)le_load(b->p + ROWS_COUNT_OFF, 4);
    assert((uint64_t)b->state + n < INDEX_MAX_ROWS); /* row numbers stay below the limit */
    put_bytes32(b, key, key_len);
    put64(b, ins_lsn);
    putf32(b, norm);
    put8(b, has_attr ? 1 : 0);
    if (has_attr) put_bytes32(b, attr, attr_len);
    le_store(b->p + ROWS_COUNT_OFF, n + 1, 4);
}

void rec_rows_end(rec_buf *b)
{
    env_end(b);
}

static void get_row(reader *r, rec_row *out)
{
    out->key = (const char *)get_bytes32(r, &out->key_len, UINT32_MAX, "row key");
    out->ins_lsn = get64(r, "insert lsn");
    out->norm = getf32(r, "norm");
    uint8_t ha = get8(r, "attribute flag");
    out->has_attr = 0;
    out->attr = NULL;
    out->attr_len = 0;
    if (r->bad) return;
    if (ha > 1) {
        rfail(r, "row %u: attribute flag %u is not 0 or 1", out->row, ha);
        return;
    }
    out->has_attr = ha;
    if (ha) out->attr = (const char *)get_bytes32(r, &out->attr_len, UINT32_MAX, "attribute");
}

int rec_rows_decode(const void *val, size_t len, rec_rows_iter *it, char *err, size_t errlen)
{
    reader r;
    memset(it, 0, sizeof(*it));
    if (env_open(val, len, REC_T_ROWS, &r, err, errlen) < 0) return -1;
    uint32_t first = get32(&r, "first row");
    uint32_t count = get32(&r, "row count");
    if (r.bad) return -1;
    if ((uint64_t)first + count > INDEX_MAX_ROWS) {
        rfail(&r, "rows %u.. (+%u) exceed the row limit %u", first, count, INDEX_MAX_ROWS);
        return -1;
    }
    const uint8_t *start = r.p;
    for (uint32_t i = 0; i < count && !r.bad; i++) {
        rec_row row = {.row = first + i};
        get_row(&r, &row);
    }
    if (rdone(&r) < 0) return -1;
    it->p = start;
    it->end = r.end;
    it->first_row = first;
    it->count = count;
    return 0;
}

int rec_rows_next(rec_rows_iter *it, rec_row *out)
{
    if (it->next >= it->count) return 0;
    reader r = {.base = it->p, .p = it->p, .end = it->end, .what = "ROWS"};
    out->row = it->first_row + it->next;
    get_row(&r, out);
    assert(!r.bad);
    it->p = r.p;
    it->next++;
    return 1;
}

/* --------------------------------------------------------------- vectors */

void rec_encode_vectors(rec_buf *b, const rec_vectors *v)
{
    assert(v->row_bytes == index_elem_row_bytes(v->elem, v->dim));
    assert((uint64_t)v->count * v->row_bytes <= UINT32_MAX - 32);
    env_begin(b, REC_T_VECTORS);
    put32(b, v->first_row);
    put32(b, v->count);
    put8(b, (uint8_t)v->elem);
    put32(b, v->dim);
    put32(b, v->row_bytes);
    put_raw(b, v->data, (size_t)v->count * v->row_bytes);
    env_end(b);
}

int rec_decode_vectors(const void *val, size_t len, rec_vectors *out, char *err, size_t errlen)
{
    reader r;
    memset(out, 0, sizeof(*out));
    if (env_open(val, len, REC_T_VECTORS, &r, err, errlen) < 0) return -1;
    out->first_row = get32(&r, "first row");
    out->count = get32(&r, "row count");
    uint8_t elem = get8(&r, "element type");
    out->dim = get32(&r, "dim");
    out->row_bytes = get32(&r, "row bytes");
    if (r.bad) return -1;
    if (elem > INDEX_ELEM_BINARY)
        rfail(&r, "element type %u unknown", elem);
    else if (out->dim == 0 || out->dim > INDEX_MAX_DIM)
        rfail(&r, "dim %u out of range 1..%u", out->dim, INDEX_MAX_DIM);
    else if (elem == INDEX_ELEM_BINARY && out->dim % 8)
        rfail(&r, "BINARY dim %u is not a multiple of 8", out->dim);
    else if (out->row_bytes != index_elem_row_bytes((index_elem)elem, out->dim))
        rfail(&r, "row bytes %u do not match %s x %u", out->row_bytes,
              index_elem_name((index_elem)elem), out->dim);
    else if ((uint64_t)out->first_row + out->count > INDEX_MAX_ROWS)
        rfail(&r, "rows %u.. (+%u) exceed the row limit %u", out->first_row, out->count,
              INDEX_MAX_ROWS);
    else if ((uint64_t)out->count * out->row_bytes != (uint64_t)(r.end - r.p))
        rfail(&r, "%u rows of %u bytes need %llu bytes, the value holds %zu", out->count,
              out->row_bytes, (unsigned long long)out->count * out->row_bytes,
              (size_t)(r.end - r.p));
    if (r.bad) return -1;
    out->elem = (index_elem)elem;
    out->data = r.p;
    return 0;
}

/* --------------------------------------------------------------- deletes */

void rec_deletes_begin(rec_buf *b, uint32_t first_row, uint32_t nrows)
{
    assert((uint64_t)first_row + nrows <= INDEX_MAX_ROWS);
    env_begin(b, REC_T_DELETES);
    put32(b, first_row);
    put32(b, nrows);
    put32(b, 0);
    size_t bytes = ((size_t)nrows + 63) / 64 * 8;
    buf_reserve(b, bytes);
    memset(b->p + b->len, 0, bytes);
    b->len += bytes;
    b->state = 0; /* 1 + the last row added, relative to first_row */
}

void rec_deletes_add(rec_buf *b, uint32_t row, uint64_t del_lsn)
{
    uint32_t first = (uint32_t)le_load(b->p + REC_HEADER_BYTES, 4);
    uint32_t nrows = (uint32_t)le_load(b->p + DEL_NROWS_OFF, 4);
    uint32_t n = (uint32_t)le_load(b->p + DEL_COUNT_OFF, 4);
    assert(row >= first && row - first < nrows);
    uint32_t i = row - first;
    assert(i + 1 > b->state); /* rows strictly increasing */
    assert(del_lsn != 0);
    b->state = (uint64_t)i + 1;
    b->p[DEL_BITS_OFF + (i >> 6) * 8 + ((i & 63) >> 3)] |= (uint8_t)(1u << (i & 7));
    put64(b, del_lsn);
    le_store(b->p + DEL_COUNT_OFF, n + 1, 4);
}

void rec_deletes_end(rec_buf *b)
{
    env_end(b);
}

int rec_deletes_decode(const void *val, size_t len, rec_deletes_iter *it, char *err,
                       size_t errlen)
{
    reader r;
    memset(it, 0, sizeof(*it));
    if (env_open(val, len, REC_T_DELETES, &r, err, errlen) < 0) return -1;
    uint32_t first = get32(&r, "first row");
    uint32_t nrows = get32(&r, "row count");
    uint32_t ndel = get32(&r, "deleted count");
    if (r.bad) return -1;
    if ((uint64_t)first + nrows > INDEX_MAX_ROWS) {
        rfail(&r, "rows %u.. (+%u) exceed the row limit %u", first, nrows, INDEX_MAX_ROWS);
        return -1;
    }
    if (ndel > nrows) {
        rfail(&r, "%u deleted rows out of %u", ndel, nrows);
        return -1;
    }
    size_t words = ((size_t)nrows + 63) / 64;
    if ((uint64_t)(r.end - r.p) != (uint64_t)words * 8 + (uint64_t)ndel * 8) {
        rfail(&r, "a bitmap of %u rows and %u LSNs need %llu bytes, the value holds %zu", nrows,
              ndel, (unsigned long long)(words * 8 + (uint64_t)ndel * 8), (size_t)(r.end - r.p));
        return -1;
    }
    const uint8_t *bits = r.p, *lsns = r.p + words * 8;
    uint64_t pop = 0;
    for (size_t w = 0; w < words; w++) {
        uint64_t x = le_load(bits + w * 8, 8);
        if (w == words - 1 && (nrows & 63)) {
            uint64_t extra = x & ~((UINT64_C(1) << (nrows & 63)) - 1);
            if (extra) {
                rfail(&r, "bitmap has bits set beyond its %u rows", nrows);
                return -1;
            }
        }
        pop += (uint64_t)__builtin_popcountll(x);
    }
    if (pop != ndel) {
        rfail(&r, "bitmap marks %llu rows but the record lists %u delete LSNs",
              (unsigned long long)pop, ndel);
        return -1;
    }
    for (uint32_t j = 0; j < ndel; j++)
        if (le_load(lsns + (size_t)j * 8, 8) == 0) {
            rfail(&r, "delete LSN %u is 0", j);
            return -1;
        }
    it->bits = bits;
    it->lsns = lsns;
    it->first_row = first;
    it->nrows = nrows;
    it->ndeleted = ndel;
    return 0;
}

int rec_deletes_next(rec_deletes_iter *it, uint32_t *row, uint64_t *del_lsn)
{
    if (it->seen >= it->ndeleted) return 0;
    while (it->pos < it->nrows) {
        uint32_t i = it->pos;
        uint64_t w = le_load(it->bits + (size_t)(i >> 6) * 8, 8) >> (i & 63);
        if (!w) { /* skip the rest of the word */
            it->pos = (i | 63) + 1;
            continue;
        }
        i += (uint32_t)__builtin_ctzll(w);
        it->pos = i + 1;
        *row = it->first_row + i;
        *del_lsn = le_load(it->lsns + (size_t)it->seen * 8, 8);
        it->seen++;
        return 1;
    }
    assert(!"bitmap popcount was checked against ndeleted");
    return 0;
}

/* ----------------------------------------------------------------- index */

void rec_encode_index_part(rec_buf *b, const rec_index_part *p)
{
    assert(p->part < p->nparts);
    assert(p->len <= UINT32_MAX - 32);
    env_begin(b, REC_T_INDEX_PART);
    put32(b, p->part);
    put32(b, p->nparts);
    put64(b, p->offset);
    put_raw(b, p->data, p->len);
    env_end(b);
}

int rec_decode_index_part(const void *val, size_t len, rec_index_part *out, char *err,
                          size_t errlen)
{
    reader r;
    memset(out, 0, sizeof(*out));
    if (env_open(val, len, REC_T_INDEX_PART, &r, err, errlen) < 0) return -1;
    out->part = get32(&r, "part");
    out->nparts = get32(&r, "part count");
    out->offset = get64(&r, "offset");
    if (r.bad) return -1;
    if (out->part >= out->nparts) {
        rfail(&r, "part %u of %u", out->part, out->nparts);
        return -1;
    }
    out->data = r.p;
    out->len = (uint32_t)(r.end - r.p);
    return 0;
}
