/*
 * record.h -- the on-disk encodings of vectis's RocksDB database: the keys of
 * the four column families (meta, log, data, index) and every value stored
 * under them. Pure functions over byte buffers: no RocksDB, no engine state,
 * no I/O. storage.c moves the bytes; the engine builds and applies them.
 *
 * The byte layouts are documented at the top of record.c, next to the code
 * that writes them. In short, every value is
 *
 *     version u8 | type u8 | reserved u16 (0) | body length u32 | body | xxh64 u64
 *
 * little-endian, the checksum covering everything before it, and bodies are
 * written field by field (never raw structs). Keys put integers big-endian
 * so RocksDB's bytewise order is numeric order (the log replays by LSN, a
 * collection's keys form one range that a range delete drops).
 *
 * Decoding never trusts the input: every decoder checks the length against
 * the buffer, the version, the type, the checksum and every inner length
 * and enum, and on failure returns -1 with a one-line message (no CR/LF)
 * naming the record and what is wrong. Decoders do not allocate: what they
 * return points into the caller's buffer (valid while it is), so a value of
 * n bytes never costs more than n bytes of memory however absurd its
 * length fields are.
 *
 * Encoders write into a rec_buf (growable, xmalloc) and REPLACE its content:
 * after rec_encode_*(&b, ...) the value is b.p[0 .. b.len). They assert on
 * impossible inputs (a length that does not fit in 32 bits), since their
 * inputs come from the engine, not from users.
 *
 * Threading: no shared state; every function may run on any thread.
 */
#ifndef VECTIS_RECORD_H
#define VECTIS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"

/* Version byte of every value written by this build; also the database
 * format version stored in the meta "F" record. A reader rejects values of
 * any other version with a message saying so. */
#define REC_VERSION 1
/* Envelope: 8 header bytes + 8 checksum bytes. */
#define REC_HEADER_BYTES 8
#define REC_TRAILER_BYTES 8
#define REC_OVERHEAD (REC_HEADER_BYTES + REC_TRAILER_BYTES)
/* Longest stored index type name ("HNSW_SQ8" today); bounds the field. */
#define REC_INDEX_TYPE_MAX 31
/* Vector fields a segment manifest may list (one today; room for Milvus
 * multi-vector schemas without a format change). */
#define REC_MAX_FIELDS 16

/* Value types: the second byte of every value. */
typedef enum rec_type {
    REC_T_FORMAT = 1,     /* meta "F": database format version */
    REC_T_CHECKPOINT = 2, /* meta "K": checkpoint LSN and id counters */
    REC_T_COLLECTION = 3, /* meta "C"+id: name and collection_spec */
    REC_T_NAME = 4,       /* meta "N"+name: collection id */
    REC_T_SEGMENT = 5,    /* meta "S"+cid+sid: segment manifest */
    REC_T_LOG = 16,       /* log: the mutations of one LSN */
    REC_T_ROWS = 32,      /* data 'R': keys, attributes, norms, insert LSNs */
    REC_T_VECTORS = 33,   /* data 'V': a run of one vector field's rows */
    REC_T_DELETES = 34,   /* data 'D': delete bitmap and delete LSNs */
    REC_T_INDEX_PART = 48 /* index: one part of an index_save stream */
} rec_type;

/* "LOG", "ROWS", ... or "UNKNOWN". */
const char *rec_type_name(int type);

/* Column families, in the order storage.c opens them. */
typedef enum rec_family {
    REC_CF_META = 0,
    REC_CF_LOG = 1,
    REC_CF_DATA = 2,
    REC_CF_INDEX = 3,
    REC_CF_COUNT = 4
} rec_family;

/* "meta", "log", "data", "index" (the RocksDB column family names). */
const char *rec_family_name(rec_family f);

/* ----------------------------------------------------------------- buffer */

typedef struct rec_buf {
    uint8_t *p;
    size_t len, cap;
    uint64_t state; /* private to the streaming encoders (rows, deletes) */
} rec_buf;

/* Frees the bytes; the struct may be reused (zeroed). */
void rec_buf_free(rec_buf *b);

/* ------------------------------------------------------------------- keys */

/* Meta key tags (first byte of every meta key; ASCII so that a key dump is
 * readable). */
#define REC_META_FORMAT 'F'     /* "F"                      -> REC_T_FORMAT */
#define REC_META_CHECKPOINT 'K' /* "K"                      -> REC_T_CHECKPOINT */
#define REC_META_COLLECTION 'C' /* "C" cid:be64             -> REC_T_COLLECTION */
#define REC_META_NAME 'N'       /* "N" name bytes           -> REC_T_NAME */
#define REC_META_SEGMENT 'S'    /* "S" cid:be64 sid:be64    -> REC_T_SEGMENT */

/* Data key kinds (byte 16 of a data key). */
#define REC_DATA_DELETES 'D'
#define REC_DATA_ROWS 'R'
#define REC_DATA_VECTORS 'V'

#define REC_LOG_KEY_BYTES 8
#define REC_DATA_KEY_BYTES 23  /* cid:be64 sid:be64 kind:u8 field:be16 chunk:be32 */
#define REC_INDEX_KEY_BYTES 22 /* cid:be64 sid:be64 field:be16 part:be32 */
#define REC_META_ID_KEY_BYTES 9
#define REC_META_SEGMENT_KEY_BYTES 17

/* Key builders write into out (sized by the constants above) and return
 * the key length. */
size_t rec_key_log(uint64_t lsn, uint8_t out[REC_LOG_KEY_BYTES]);
size_t rec_key_meta_collection(uint64_t cid, uint8_t out[REC_META_ID_KEY_BYTES]);
size_t rec_key_meta_segment(uint64_t cid, uint64_t sid, uint8_t out[REC_META_SEGMENT_KEY_BYTES]);
size_t rec_key_data(uint64_t cid, uint64_t sid, int kind, uint16_t field, uint32_t chunk,
                    uint8_t out[REC_DATA_KEY_BYTES]);
size_t rec_key_index(uint64_t cid, uint64_t sid, uint16_t field, uint32_t part,
                     uint8_t out[REC_INDEX_KEY_BYTES]);
/* "N" + name: the caller provides 1 + namelen bytes. */
size_t rec_key_meta_name(const char *name, size_t namelen, uint8_t *out);
/* The one-byte meta keys "F" and "K". */
size_t rec_key_meta_tag(int tag, uint8_t out[1]);

/* Key ranges [lo, hi) for range deletes and scans. A collection's data and
 * index keys are cid:be64 followed by anything: lo = cid, hi = cid + 1 (8
 * bytes each; cid < UINT64_MAX). Its segment manifests: "S" cid .. "S"
 * cid+1 (9 bytes). A segment's data or index keys: cid sid .. cid sid+1
 * (16 bytes). */
void rec_range_collection(uint64_t cid, uint8_t lo[8], uint8_t hi[8]);
void rec_range_segment(uint64_t cid, uint64_t sid, uint8_t lo[16], uint8_t hi[16]);
void rec_range_meta_segments(uint64_t cid, uint8_t lo[9], uint8_t hi[9]);

/* Parsed keys. rec_key_parse_* return 0, or -1 with a message when the key
 * has the wrong length or tag. */
typedef struct rec_data_key {
    uint64_t cid, sid;
    int kind;
    uint16_t field;
    uint32_t chunk;
} rec_data_key;

typedef struct rec_index_key {
    uint64_t cid, sid;
    uint16_t field;
    uint32_t part;
} rec_index_key;

int rec_key_parse_log(const void *key, size_t klen, uint64_t *lsn, char *err, size_t errlen);
int rec_key_parse_data(const void *key, size_t klen, rec_data_key *out, char *err, size_t errlen);
int rec_key_parse_index(const void *key, size_t klen, rec_index_key *out, char *err,
                        size_t errlen);

/* A human-readable key for error messages and tools, e.g. "log lsn 42",
 * "data collection 3 segment 7 vectors field 0 chunk 12", "meta name
 * \"foo\"" (unprintable bytes escaped, long names cut). Never fails. */
void rec_key_describe(rec_family f, const void *key, size_t klen, char *buf, size_t buflen);

/* A collection_spec is stored field by field; the index_type of a decoded
 * spec points at the index registry's static name (index_type_name()), so
 * a decoded spec outlives the buffer it came from, and an index type this
 * build does not know is rejected at decode time. */

/* ------------------------------------------------------------- mutations */

typedef enum rec_op {
    REC_OP_CREATE_COLLECTION = 1, /* cid, name, spec */
    REC_OP_DROP_COLLECTION = 2,   /* cid */
    REC_OP_RENAME = 3,            /* cid, name = the new name */
    REC_OP_FLUSH_ALL = 4,         /* nothing */
    REC_OP_INSERT = 5,            /* cid, key, vec, norm, attr */
    REC_OP_DELETE = 6             /* cid, key */
} rec_op;

/* "CREATE_COLLECTION", ... or "UNKNOWN". */
const char *rec_op_name(int op);

/*
 * One mutation in resolved form. Fields not used by the op are ignored by
 * the encoder and zeroed by the decoder. Pointers of a decoded mutation
 * point into the value's buffer (spec.index_type excepted, see above).
 *
 * INSERT carries the row exactly as stored: vec is the element bytes
 * (already projected, normalised or binarised; little-endian, the layout of
 * a segment's vector chunk) and norm the norm the engine keeps. The decoder
 * cannot know the collection's row size: the caller checks vec_len against
 * index_elem_row_bytes(spec). has_attr distinguishes "no attribute" (0)
 * from a present attribute, which may be empty (attr_len 0).
 */
typedef struct rec_mutation {
    rec_op op;
    uint64_t cid;
    const char *name; /* CREATE_COLLECTION, RENAME */
    uint32_t name_len;
    collection_spec spec; /* CREATE_COLLECTION */
    const char *key;      /* INSERT, DELETE */
    uint32_t key_len;
    const uint8_t *vec; /* INSERT */
    uint32_t vec_len;
    float norm;
    int has_attr;
    const char *attr;
    uint32_t attr_len;
} rec_mutation;

/* Longest vector an INSERT may carry: INDEX_MAX_DIM float32 elements. */
#define REC_MAX_VECTOR_BYTES ((uint32_t)INDEX_MAX_DIM * 4u)

/*
 * A log value: every mutation that took one LSN, in the order they apply
 * (an upsert is DELETE + INSERT of the same key at the same LSN; a
 * multi-row atomic write may put more). The entry is the unit of recovery:
 * rec_log_decode validates all of it before rec_log_next hands out the
 * first mutation, so a damaged entry is never half applied.
 */
void rec_encode_log(rec_buf *b, uint64_t lsn, const rec_mutation *m, size_t n);

typedef struct rec_log_iter {
    const uint8_t *p, *end;
    uint32_t left;
    uint64_t lsn;
} rec_log_iter;

/* Validates a log value stored under key LSN key_lsn (the LSN inside must
 * match it) and prepares the iterator. Returns 0 or -1 with a message. */
int rec_log_decode(const void *val, size_t len, uint64_t key_lsn, rec_log_iter *it, char *err,
                   size_t errlen);
/* Number of mutations left. */
static inline uint32_t rec_log_count(const rec_log_iter *it)
{
    return it->left;
}
/* The next mutation: 1, or 0 when none is left. */
int rec_log_next(rec_log_iter *it, rec_mutation *m);

/* ------------------------------------------------------------ meta values */

typedef struct rec_format {
    uint32_t format_version; /* REC_VERSION of the build that created the db */
    uint64_t created_ms;     /* unix time, milliseconds */
} rec_format;

typedef struct rec_checkpoint {
    uint64_t lsn;       /* every mutation <= lsn is in meta/data/index */
    uint64_t time_ms;   /* unix time of the checkpoint, milliseconds */
    uint64_t next_cid;  /* id counters: ids below are used (never reuse) */
    uint64_t next_sid;
} rec_checkpoint;

typedef struct rec_collection {
    uint64_t cid;
    const char *name;
    uint32_t name_len;
    uint64_t create_lsn;
    collection_spec spec;
} rec_collection;

typedef struct rec_segment_field {
    uint16_t field;
    uint32_t indexed_rows; /* rows 0..indexed_rows-1 are in the stored index */
    uint32_t index_parts;  /* number of index parts (0: no index stored) */
    uint32_t index_first_part; /* their keys: part first .. first + parts - 1 */
    uint64_t index_bytes;  /* total bytes of the index_save stream */
    uint64_t index_xxh64;  /* xxh64 of that whole stream (detects a missing part) */
} rec_segment_field;

#define REC_SEG_GROWING 0
#define REC_SEG_SEALED 1

typedef struct rec_segment {
    uint64_t cid, sid;
    int state;            /* REC_SEG_* */
    uint32_t nrows;       /* rows 0..nrows-1 are in the data chunks */
    uint32_t ndeleted;    /* rows marked in the delete chunks */
    uint32_t chunk_rows;  /* rows per data chunk (a power of two) */
    uint32_t nchunks;     /* = ceil(nrows / chunk_rows) */
    uint32_t capacity;    /* rows it may grow to (growing segments); 0 = nrows */
    uint64_t lsn;         /* the chunks reflect every mutation <= lsn */
    uint32_t nfields;     /* <= REC_MAX_FIELDS */
    rec_segment_field fields[REC_MAX_FIELDS];
} rec_segment;

void rec_encode_format(rec_buf *b, const rec_format *f);
void rec_encode_checkpoint(rec_buf *b, const rec_checkpoint *k);
void rec_encode_collection(rec_buf *b, const rec_collection *c);
void rec_encode_name(rec_buf *b, uint64_t cid);
void rec_encode_segment(rec_buf *b, const rec_segment *s);

int rec_decode_format(const void *val, size_t len, rec_format *out, char *err, size_t errlen);
int rec_decode_checkpoint(const void *val, size_t len, rec_checkpoint *out, char *err,
                          size_t errlen);
int rec_decode_collection(const void *val, size_t len, rec_collection *out, char *err,
                          size_t errlen);
int rec_decode_name(const void *val, size_t len, uint64_t *cid, char *err, size_t errlen);
int rec_decode_segment(const void *val, size_t len, rec_segment *out, char *err, size_t errlen);

/* ------------------------------------------------------------ data values */

/* A run of rows' metadata (data key kind 'R'): built incrementally, rows
 * first_row, first_row + 1, ... in order. */
void rec_rows_begin(rec_buf *b, uint32_t first_row);
void rec_rows_add(rec_buf *b, const char *key, uint32_t key_len, uint64_t ins_lsn, float norm,
                  int has_attr, const char *attr, uint32_t attr_len);
void rec_rows_end(rec_buf *b);

typedef struct rec_row {
    uint32_t row;
    const char *key;
    uint32_t key_len;
    uint64_t ins_lsn;
    float norm;
    int has_attr;
    const char *attr;
    uint32_t attr_len;
} rec_row;

typedef struct rec_rows_iter {
    const uint8_t *p, *end;
    uint32_t first_row, count, next;
} rec_rows_iter;

/* Validates every row, then iterates. */
int rec_rows_decode(const void *val, size_t len, rec_rows_iter *it, char *err, size_t errlen);
int rec_rows_next(rec_rows_iter *it, rec_row *out);

/* A run of one vector field's rows (kind 'V'): count rows of row_bytes
 * bytes each, contiguous in `data` (a segment's vector chunk). */
typedef struct rec_vectors {
    uint32_t first_row, count;
    index_elem elem;
    uint32_t dim;
    uint32_t row_bytes; /* = index_elem_row_bytes(elem, dim), checked */
    const uint8_t *data; /* count * row_bytes bytes, little-endian elements */
} rec_vectors;

void rec_encode_vectors(rec_buf *b, const rec_vectors *v);
int rec_decode_vectors(const void *val, size_t len, rec_vectors *out, char *err, size_t errlen);

/* The deleted rows of rows first_row .. first_row + nrows - 1 (kind 'D'),
 * each with its delete LSN. Rows added in increasing order. */
void rec_deletes_begin(rec_buf *b, uint32_t first_row, uint32_t nrows);
void rec_deletes_add(rec_buf *b, uint32_t row, uint64_t del_lsn);
void rec_deletes_end(rec_buf *b);

typedef struct rec_deletes_iter {
    const uint8_t *bits, *lsns;
    uint32_t first_row, nrows, ndeleted;
    uint32_t pos, seen; /* next bit to look at, deletes returned */
} rec_deletes_iter;

int rec_deletes_decode(const void *val, size_t len, rec_deletes_iter *it, char *err,
                       size_t errlen);
static inline uint32_t rec_deletes_count(const rec_deletes_iter *it)
{
    return it->ndeleted;
}
/* The next deleted row and its LSN: 1, or 0 at the end. */
int rec_deletes_next(rec_deletes_iter *it, uint32_t *row, uint64_t *del_lsn);

/* ----------------------------------------------------------- index values */

/* One part of a serialized index (the bytes index_save writes, cut into
 * parts so that no RocksDB value is huge). */
typedef struct rec_index_part {
    uint32_t part, nparts;
    uint64_t offset; /* where these bytes start in the whole stream */
    const uint8_t *data;
    uint32_t len;
} rec_index_part;

void rec_encode_index_part(rec_buf *b, const rec_index_part *p);
int rec_decode_index_part(const void *val, size_t len, rec_index_part *out, char *err,
                          size_t errlen);

/* ----------------------------------------------------------- generic */

/* Checks the envelope only (length, version, checksum) and reports the
 * value's type: for tools that scan a family without knowing what to
 * expect. Returns the type, or -1 with a message. */
int rec_check(const void *val, size_t len, char *err, size_t errlen);

#endif
