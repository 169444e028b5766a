/*
 * resp_reply.c -- reply builder: RESP2/RESP3 encodings appended to a
 * growable byte buffer (resp_buf). See resp.h for the contract.
 *
 * Encodings. Every resp_add_* appends exactly one value or one aggregate
 * header, encoded for b->proto; the RESP2 fallbacks are Redis's (map ->
 * flat array of 2n, set/push -> array, double -> bulk, boolean -> 0/1,
 * verbatim -> bulk without its format, null -> $-1 or *-1). Simple strings
 * and errors go through one routine that turns CR and LF into spaces, so no
 * caller text can break the framing.
 *
 * Buffer. [0, pos) was already written to the socket by the networking
 * layer, [pos, len) is pending, [len, cap) is free. The buffer doubles when
 * full. When the writer drains it, len and pos go back to 0 so the same
 * storage serves the next replies; when the writer has consumed more than
 * half of a large buffer without draining it, the pending tail moves to the
 * front (each byte is moved at most about once on average, so a reply that
 * is written slowly never makes the buffer grow without bound).
 *
 * Deferred aggregate lengths. resp_add_deferred() reserves a fixed slot
 * large enough for any header (type byte, 20 digits, CRLF) and returns its
 * offset; resp_set_deferred() writes the real header at the start of the
 * slot and moves everything after the slot back over the unused bytes. That
 * move is why nested handles must be filled inner first: filling one shifts
 * everything after it, including any later handle's slot. The writer must
 * not consume the buffer while a handle is outstanding (a drain resets the
 * offsets). Rejected: padding the header with leading zeros or spaces to
 * avoid the move (not valid RESP for strict clients), and a linked list of
 * reply chunks as Redis keeps (the networking layer wants one contiguous
 * buffer for write()).
 *
 * Allocation failure aborts with a message: there is no sane way to go on
 * with half a reply. Threading: one thread per resp_buf; no global state.
 */
#include "resp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* First allocation, bytes: fits the replies of a typical pipeline batch. */
#define RESP_BUF_INITIAL_CAP 1024
/* Partly-written buffers are compacted only past this many consumed bytes:
 * below it the move costs more than the memory it saves. */
#define RESP_BUF_COMPACT_MIN (16 * 1024)
/* Longest "%lld" text: "-9223372036854775808". */
#define RESP_LL_CHARS 20
/* Longest aggregate or bulk header: type byte, digits, CRLF. */
#define RESP_HDR_MAX (1 + RESP_LL_CHARS + 2)
/* Size of a deferred-length slot, bytes: any header fits. */
#define RESP_DEFERRED_SLOT RESP_HDR_MAX
/* Buffer for resp_format_double(): "%.17g" (the longest case) needs at most 24 characters
 * ("-1.2345678901234567e-308"); the rest is margin. */
#define RESP_DOUBLE_CHARS 40
/* Stack buffer for resp_add_errorf(), bytes; longer messages go to the heap. */
#define RESP_ERRORF_STACK 256

/* ------------------------------------------------------------- storage */

static void *reply_realloc(void *ptr, size_t size)
{
    void *q = realloc(ptr, size ? size : 1);
    if (q == NULL) {
        fprintf(stderr, "resp: out of memory allocating %zu bytes\n", size);
        abort();
    }
    return q;
}

/* Makes room for n more bytes and returns where they go. */
static char *reply_reserve(resp_buf *b, size_t n)
{
    if (b->cap - b->len >= n && b->buf != NULL) return b->buf + b->len;
    size_t need = b->len + n;
    if (need < n) abort(); /* size_t overflow: a caller bug */
    size_t cap = b->cap ? b->cap : RESP_BUF_INITIAL_CAP;
    while (cap < need) cap = cap * 2 > cap ? cap * 2 : need;
    b->buf = reply_realloc(b->buf, cap);
    b->cap = cap;
    return b->buf + b->len;
}

void resp_buf_init(resp_buf *b, int proto)
{
    b->buf = NULL;
    b->len = b->cap = b->pos = 0;
    b->proto = proto;
}

void resp_buf_free(resp_buf *b)
{
    free(b->buf);
    b->buf = NULL;
    b->len = b->cap = b->pos = 0;
}

void resp_buf_reset(resp_buf *b)
{
    b->len = b->pos = 0;
}

void resp_buf_consume(resp_buf *b, size_t n)
{
    if (n > b->len - b->pos) {
        fprintf(stderr, "resp: resp_buf_consume(%zu) past the %zu pending bytes\n", n,
                b->len - b->pos);
        abort();
    }
    b->pos += n;
    if (b->pos == b->len) {
        b->pos = b->len = 0;
    } else if (b->pos >= RESP_BUF_COMPACT_MIN && b->pos >= b->len - b->pos) {
        memmove(b->buf, b->buf + b->pos, b->len - b->pos);
        b->len -= b->pos;
        b->pos = 0;
    }
}

size_t resp_buf_pending(const resp_buf *b)
{
    return b->len - b->pos;
}

void resp_buf_shrink(resp_buf *b, size_t keep)
{
    if (b->len != b->pos || b->cap <= keep) return;
    b->len = b->pos = 0;
    if (keep == 0) {
        free(b->buf);
        b->buf = NULL;
    } else {
        b->buf = reply_realloc(b->buf, keep);
    }
    b->cap = keep;
}

void resp_buf_append_raw(resp_buf *b, const void *p, size_t n)
{
    if (n == 0) return;
    char *dst = reply_reserve(b, n);
    memcpy(dst, p, n);
    b->len += n;
}

/* ----------------------------------------------------------- encoding */

/* Writes v in decimal at dst (room for RESP_LL_CHARS), returns the length. */
static size_t reply_format_ll(char *dst, long long v)
{
    char tmp[RESP_LL_CHARS];
    char *end = tmp + sizeof(tmp), *s = end;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--s = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--s = '-';
    size_t n = (size_t)(end - s);
    memcpy(dst, s, n);
    return n;
}

/* Formats "<type><n>\r\n" into dst (room for RESP_HDR_MAX). */
static size_t reply_format_header(char *dst, char type, long long n)
{
    dst[0] = type;
    size_t k = 1 + reply_format_ll(dst + 1, n);
    dst[k++] = '\r';
    dst[k++] = '\n';
    return k;
}

static void reply_add_header(resp_buf *b, char type, long long n)
{
    char *dst = reply_reserve(b, RESP_HDR_MAX);
    b->len += reply_format_header(dst, type, n);
}

/* Appends "<type><s>\r\n" with every CR and LF of s turned into a space. */
static void reply_add_line(resp_buf *b, char type, const char *s)
{
    size_t n = strlen(s);
    char *dst = reply_reserve(b, n + 3);
    dst[0] = type;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        dst[1 + i] = (c == '\r' || c == '\n') ? ' ' : c;
    }
    dst[1 + n] = '\r';
    dst[2 + n] = '\n';
    b->len += n + 3;
}

/* Appends a fixed protocol fragment. */
static void reply_add_lit(resp_buf *b, const char *s, size_t n)
{
    char *dst = reply_reserve(b, n);
    memcpy(dst, s, n);
    b->len += n;
}

void resp_add_simple(resp_buf *b, const char *s)
{
    reply_add_line(b, '+', s);
}

void resp_add_error(resp_buf *b, const char *msg)
{
    /* The message carries its code ("ERR ...", "WRONGTYPE ..."); a caller
     * used to Redis's convention may pass it with the '-' already. */
    if (msg[0] == '-') msg++;
    reply_add_line(b, '-', msg);
}

void resp_add_errorf(resp_buf *b, const char *fmt, ...)
{
    char stack[RESP_ERRORF_STACK];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(stack, sizeof(stack), fmt, ap);
    va_end(ap);
    if (n < 0) {
        resp_add_error(b, "ERR error message could not be formatted");
        return;
    }
    if ((size_t)n < sizeof(stack)) {
        resp_add_error(b, stack);
        return;
    }
    char *heap = reply_realloc(NULL, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(heap, (size_t)n + 1, fmt, ap);
    va_end(ap);
    resp_add_error(b, heap);
    free(heap);
}

void resp_add_integer(resp_buf *b, long long v)
{
    reply_add_header(b, ':', v);
}

void resp_add_bulk(resp_buf *b, const void *p, size_t n)
{
    char *dst = reply_reserve(b, RESP_HDR_MAX + n + 2);
    size_t k = reply_format_header(dst, '$', (long long)n);
    if (n) memcpy(dst + k, p, n);
    dst[k + n] = '\r';
    dst[k + n + 1] = '\n';
    b->len += k + n + 2;
}

void resp_add_bulk_cstr(resp_buf *b, const char *s)
{
    if (s == NULL) {
        resp_add_null(b);
        return;
    }
    resp_add_bulk(b, s, strlen(s));
}

void resp_add_bulk_ll(resp_buf *b, long long v)
{
    char tmp[RESP_LL_CHARS];
    size_t n = reply_format_ll(tmp, v);
    resp_add_bulk(b, tmp, n);
}

void resp_add_null(resp_buf *b)
{
    if (b->proto >= 3)
        reply_add_lit(b, "_\r\n", 3);
    else
        reply_add_lit(b, "$-1\r\n", 5);
}

void resp_add_null_array(resp_buf *b)
{
    if (b->proto >= 3)
        reply_add_lit(b, "_\r\n", 3);
    else
        reply_add_lit(b, "*-1\r\n", 5);
}

void resp_add_array(resp_buf *b, long n)
{
    reply_add_header(b, '*', n);
}

void resp_add_map(resp_buf *b, long npairs)
{
    if (b->proto >= 3)
        reply_add_header(b, '%', npairs);
    else
        reply_add_header(b, '*', 2LL * npairs);
}

void resp_add_set(resp_buf *b, long n)
{
    reply_add_header(b, b->proto >= 3 ? '~' : '*', n);
}

void resp_add_push(resp_buf *b, long n)
{
    reply_add_header(b, b->proto >= 3 ? '>' : '*', n);
}

int resp_format_double(char *dst, size_t size, double v)
{
    if (size == 0) return 0;
    const char *word = NULL;
    if (isnan(v))
        word = "nan"; /* never "-nan": the sign of a NaN means nothing */
    else if (isinf(v))
        word = v > 0 ? "inf" : "-inf";
    int n;
    if (word)
        n = snprintf(dst, size, "%s", word);
    else {
        /* The shortest text that reads back as the same double, as Redis
         * 7.2+ prints doubles (0.1, not 0.10000000000000001). */
        char tmp[RESP_DOUBLE_CHARS];
        n = 0;
        for (int prec = 1; prec <= 17; prec++) {
            n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
            if (strtod(tmp, NULL) == v) break;
        }
        n = snprintf(dst, size, "%s", tmp);
    }
    if (n < 0) {
        dst[0] = '\0';
        return 0;
    }
    return (size_t)n >= size ? (int)(size - 1) : n;
}

void resp_add_double(resp_buf *b, double v)
{
    char tmp[RESP_DOUBLE_CHARS];
    int n = resp_format_double(tmp, sizeof(tmp), v);
    if (b->proto >= 3) {
        char *dst = reply_reserve(b, (size_t)n + 3);
        dst[0] = ',';
        memcpy(dst + 1, tmp, (size_t)n);
        dst[n + 1] = '\r';
        dst[n + 2] = '\n';
        b->len += (size_t)n + 3;
    } else {
        resp_add_bulk(b, tmp, (size_t)n);
    }
}

void resp_add_bool(resp_buf *b, int v)
{
    if (b->proto >= 3)
        reply_add_lit(b, v ? "#t\r\n" : "#f\r\n", 4);
    else
        reply_add_lit(b, v ? ":1\r\n" : ":0\r\n", 4);
}

void resp_add_verbatim(resp_buf *b, const char *p, size_t n, const char *fmt3)
{
    if (b->proto < 3) {
        resp_add_bulk(b, p, n);
        return;
    }
    if (fmt3 == NULL) fmt3 = "txt";
    if (strlen(fmt3) != 3) {
        fprintf(stderr, "resp: verbatim format '%s' is not 3 characters\n", fmt3);
        abort();
    }
    char *dst = reply_reserve(b, RESP_HDR_MAX + 4 + n + 2);
    size_t k = reply_format_header(dst, '=', (long long)n + 4);
    memcpy(dst + k, fmt3, 3);
    dst[k + 3] = ':';
    if (n) memcpy(dst + k + 4, p, n);
    dst[k + 4 + n] = '\r';
    dst[k + 5 + n] = '\n';
    b->len += k + n + 6;
}

/* ------------------------------------------------------------ deferred */

size_t resp_add_deferred(resp_buf *b)
{
    char *dst = reply_reserve(b, RESP_DEFERRED_SLOT);
    /* Spaces, so that a slot sent by mistake is at least not uninitialized
     * memory on the wire. */
    memset(dst, ' ', RESP_DEFERRED_SLOT);
    size_t handle = b->len;
    b->len += RESP_DEFERRED_SLOT;
    return handle;
}

void resp_set_deferred(resp_buf *b, size_t handle, int kind, long n)
{
    if (handle < b->pos || handle > b->len || b->len - handle < RESP_DEFERRED_SLOT) {
        fprintf(stderr, "resp: bad deferred handle %zu (len %zu)\n", handle, b->len);
        abort();
    }
    char type;
    long long count = n;
    switch (kind) {
    case RESP_AGG_ARRAY:
        type = '*';
        break;
    case RESP_AGG_MAP:
        type = b->proto >= 3 ? '%' : '*';
        if (b->proto < 3) count = 2LL * n;
        break;
    case RESP_AGG_SET:
        type = b->proto >= 3 ? '~' : '*';
        break;
    default:
        fprintf(stderr, "resp: bad deferred aggregate kind %d\n", kind);
        abort();
    }
    char *slot = b->buf + handle;
    size_t k = reply_format_header(slot, type, count);
    size_t tail = b->len - handle - RESP_DEFERRED_SLOT;
    if (k < RESP_DEFERRED_SLOT && tail) memmove(slot + k, slot + RESP_DEFERRED_SLOT, tail);
    b->len -= RESP_DEFERRED_SLOT - k;
}
