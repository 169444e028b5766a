/*
 * index_io.c -- the save format shared by every index type: a stream of
 * checksummed sections written field by field in little-endian.
 *
 * Stream layout (version 2):
 *
 *   magic    8 bytes  "VXIDX\0\0\1"
 *   version  u32      INDEX_FORMAT_VERSION
 *   section  HEAD     type name (u8 length + bytes), elem u32, metric u32,
 *                     dim u32, count u32
 *   section  ...      the type's own sections (see flat.c, hnsw.c)
 *   section  END      empty payload
 *
 *   section = tag u32 | payload length u64 | payload | xxh64(payload, 0) u64
 *
 * Invariants: nothing is ever written as a raw struct; every field has a fixed
 * width and byte order, so a stream written on one machine loads on any
 * other. A reader refuses a section longer than the bound its caller states
 * (derived from already-verified fields), reads payloads in 64 KiB steps so a
 * truncated stream fails before a large allocation, and verifies the checksum
 * before any field is used. Loaded indexes are then run through validate().
 *
 * Ownership: the writer and reader own their section buffer (index
 * allocator) and free it when save/load returns.
 *
 * Rejected: one checksum over the whole stream (a corrupt length would be
 * trusted before the check), and memory-mapping raw arrays (format tied to
 * struct layout and endianness).
 */
#include <string.h>
#include <xxhash.h>

#include "index/index_impl.h"

#define INDEX_FORMAT_VERSION 2u /* 2: HNSW codes recomputed at load */
#define TAG_HEAD             INDEX_TAG('H', 'E', 'A', 'D')
#define TAG_END              INDEX_TAG('E', 'N', 'D', '.')
/* Read step (bytes): a truncated stream costs at most this much extra. */
#define READ_STEP (64u * 1024)

static const uint8_t index_magic[8] = {'V', 'X', 'I', 'D', 'X', 0, 0, 1};

vindex *index_new_default(const char *type, index_elem elem, index_metric metric, uint32_t dim,
                          const index_column *col, char *err, size_t errlen);

/* ----------------------------------------------------------------- writer */

static void w_reserve(index_writer *w, size_t n)
{
    if (w->failed || w->len + n <= w->cap) return;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + n)
        cap *= 2;
    uint8_t *b = index_realloc(w->buf, cap);
    if (!b) {
        w->failed = true;
        return;
    }
    w->buf = b;
    w->cap = cap;
}

void index_w_begin(index_writer *w)
{
    w->len = 0;
}

void index_w_bytes(index_writer *w, const void *p, size_t n)
{
    w_reserve(w, n);
    if (w->failed) return;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void index_w_u8(index_writer *w, uint8_t v)
{
    index_w_bytes(w, &v, 1);
}

void index_w_u32(index_writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    index_w_bytes(w, b, 4);
}

void index_w_u64(index_writer *w, uint64_t v)
{
    index_w_u32(w, (uint32_t)v);
    index_w_u32(w, (uint32_t)(v >> 32));
}

void index_w_f32(index_writer *w, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    index_w_u32(w, u);
}

static void put32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

int index_w_end(index_writer *w, uint32_t tag, char *err, size_t errlen)
{
    if (w->failed) {
        index_err(err, errlen, "out of memory while saving the index");
        return -1;
    }
    uint8_t head[12], tail[8];
    put32(head, tag);
    put64(head + 4, w->len);
    put64(tail, XXH64(w->buf, w->len, 0));
    if (w->write(w->ctx, head, sizeof(head)) || (w->len && w->write(w->ctx, w->buf, w->len)) ||
        w->write(w->ctx, tail, sizeof(tail))) {
        index_err(err, errlen, "write error while saving the index");
        return -1;
    }
    w->len = 0;
    return 0;
}

/* ----------------------------------------------------------------- reader */

static uint32_t get32(const uint8_t *b)
{
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static uint64_t get64(const uint8_t *b)
{
    return get32(b) | ((uint64_t)get32(b + 4) << 32);
}

static void tag_text(uint32_t tag, char out[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)(tag >> (8 * i));
        out[i] = (c >= 32 && c < 127) ? c : '?';
    }
    out[4] = 0;
}

int index_r_section(index_reader *r, uint32_t tag, size_t max_len, char *err, size_t errlen)
{
    uint8_t head[12];
    char want[5], got[5];
    tag_text(tag, want);
    if (r->read(r->ctx, head, sizeof(head))) {
        index_err(err, errlen, "index stream truncated before section %s", want);
        return -1;
    }
    uint32_t t = get32(head);
    uint64_t len = get64(head + 4);
    if (t != tag) {
        tag_text(t, got);
        index_err(err, errlen, "index stream corrupt: expected section %s, found %s", want, got);
        return -1;
    }
    if (len > max_len) {
        index_err(err, errlen, "index stream corrupt: section %s length %llu exceeds %zu", want,
                  (unsigned long long)len, max_len);
        return -1;
    }
    r->len = 0;
    r->pos = 0;
    r->overrun = false;
    while (r->len < len) {
        size_t step = len - r->len < READ_STEP ? (size_t)(len - r->len) : READ_STEP;
        if (r->len + step > r->cap) {
            size_t cap = r->cap ? r->cap : READ_STEP;
            while (cap < r->len + step)
                cap *= 2;
            uint8_t *b = index_realloc(r->buf, cap);
            if (!b) {
                index_err(err, errlen, "out of memory while loading the index");
                return -1;
            }
            r->buf = b;
            r->cap = cap;
        }
        if (r->read(r->ctx, r->buf + r->len, step)) {
            index_err(err, errlen, "index stream truncated in section %s", want);
            return -1;
        }
        r->len += step;
    }
    uint8_t tail[8];
    if (r->read(r->ctx, tail, sizeof(tail))) {
        index_err(err, errlen, "index stream truncated in section %s", want);
        return -1;
    }
    if (get64(tail) != XXH64(r->buf, r->len, 0)) {
        index_err(err, errlen, "index stream corrupt: checksum mismatch in section %s", want);
        return -1;
    }
    return 0;
}

void index_r_bytes(index_reader *r, void *p, size_t n)
{
    if (r->overrun || r->len - r->pos < n) {
        r->overrun = true;
        memset(p, 0, n);
        return;
    }
    memcpy(p, r->buf + r->pos, n);
    r->pos += n;
}

uint8_t index_r_u8(index_reader *r)
{
    uint8_t v;
    index_r_bytes(r, &v, 1);
    return v;
}

uint32_t index_r_u32(index_reader *r)
{
    uint8_t b[4];
    index_r_bytes(r, b, 4);
    return get32(b);
}

uint64_t index_r_u64(index_reader *r)
{
    uint8_t b[8];
    index_r_bytes(r, b, 8);
    return get64(b);
}

float index_r_f32(index_reader *r)
{
    uint32_t u = index_r_u32(r);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

int index_r_done(index_reader *r, const char *what, char *err, size_t errlen)
{
    if (r->overrun) {
        index_err(err, errlen, "index stream corrupt: section %s too short", what);
        return -1;
    }
    if (r->pos != r->len) {
        index_err(err, errlen, "index stream corrupt: %zu unexpected bytes in section %s",
                  r->len - r->pos, what);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ save / load */

int index_save(const vindex *idx, index_write_fn write, void *ctx, char *err, size_t errlen)
{
    index_writer w = {.write = write, .ctx = ctx};
    uint8_t pre[12];
    memcpy(pre, index_magic, 8);
    put32(pre + 8, INDEX_FORMAT_VERSION);
    int rc = -1;
    if (write(ctx, pre, sizeof(pre))) {
        index_err(err, errlen, "write error while saving the index");
        goto out;
    }
    const char *name = idx->ops->name;
    index_w_begin(&w);
    index_w_u8(&w, (uint8_t)strlen(name));
    index_w_bytes(&w, name, strlen(name));
    index_w_u32(&w, idx->elem);
    index_w_u32(&w, idx->metric);
    index_w_u32(&w, idx->dim);
    index_w_u32(&w, index_count(idx));
    if (index_w_end(&w, TAG_HEAD, err, errlen)) goto out;
    if (idx->ops->save(idx, &w, err, errlen)) goto out;
    index_w_begin(&w);
    if (index_w_end(&w, TAG_END, err, errlen)) goto out;
    rc = 0;
out:
    index_dealloc(w.buf);
    return rc;
}

vindex *index_load(index_elem elem, index_metric metric, uint32_t dim, const index_column *col,
                   index_read_fn read, void *ctx, char *err, size_t errlen)
{
    index_reader r = {.read = read, .ctx = ctx};
    vindex *idx = NULL;
    uint8_t pre[12];
    if (read(ctx, pre, sizeof(pre))) {
        index_err(err, errlen, "index stream truncated in its header");
        goto fail;
    }
    if (memcmp(pre, index_magic, 8)) {
        index_err(err, errlen, "not an index stream (bad magic)");
        goto fail;
    }
    uint32_t version = get32(pre + 8);
    if (version != INDEX_FORMAT_VERSION) {
        index_err(err, errlen, "unsupported index format version %u (this build reads %u)", version,
                  INDEX_FORMAT_VERSION);
        goto fail;
    }
    if (index_r_section(&r, TAG_HEAD, 1024, err, errlen)) goto fail;
    char name[256];
    uint8_t nlen = index_r_u8(&r);
    index_r_bytes(&r, name, nlen);
    name[nlen] = 0;
    uint32_t e = index_r_u32(&r), m = index_r_u32(&r), d = index_r_u32(&r);
    uint32_t count = index_r_u32(&r);
    if (index_r_done(&r, "HEAD", err, errlen)) goto fail;
    if (e != (uint32_t)elem || m != (uint32_t)metric || d != dim) {
        index_err(err, errlen, "index stream is for %s %s dim %u, but the column is %s %s dim %u",
                  index_elem_name((index_elem)e), index_metric_name((index_metric)m), d,
                  index_elem_name(elem), index_metric_name(metric), dim);
        goto fail;
    }
    if (count > INDEX_MAX_ROWS) {
        index_err(err, errlen, "index stream corrupt: %u rows", count);
        goto fail;
    }
    idx = index_new_default(name, elem, metric, dim, col, err, errlen);
    if (!idx) goto fail;
    if (idx->ops->load(idx, &r, count, err, errlen)) goto fail;
    if (index_r_section(&r, TAG_END, 0, err, errlen)) goto fail;
    char verr[200];
    if (index_validate(idx, verr, sizeof(verr))) {
        index_err(err, errlen, "index stream corrupt: %s", verr);
        goto fail;
    }
    index_dealloc(r.buf);
    return idx;
fail:
    index_free(idx);
    index_dealloc(r.buf);
    return NULL;
}
