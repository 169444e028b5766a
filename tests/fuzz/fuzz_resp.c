/*
 * fuzz_resp.c -- libFuzzer target for src/resp: the request parser and the
 * reply builder.
 *
 * FUZZ_SOURCES: src/resp/resp_parser.c src/resp/resp_reply.c
 *
 * Input layout: byte 0 picks the limits, the protocol version and whether
 * the unauthenticated limits apply; bytes 1-4 seed the generator that cuts
 * the rest into pieces; the rest is the client's byte stream.
 *
 * Oracles (a failed one aborts, so libFuzzer reports it):
 *   1. Split invariance: the stream fed whole and fed in random pieces
 *      (alternating resp_parser_feed and resp_parser_space/wrote, with
 *      resp_parser_shrink calls in between) gives the same requests and the
 *      same error.
 *   2. Request invariants: argc >= 1, argv[i][argvlen[i]] == 0, multibulk
 *      counts and bulk lengths within the limits, inline lines within
 *      max_inline_len; buffered bytes never exceed what was fed.
 *   3. Builder round trip: each request re-encoded with resp_add_array and
 *      resp_add_bulk parses back to the same request.
 *   4. Builder framing: replies of every type built from the arguments
 *      (simple, error, integer, double, bool, null, verbatim, map/set/push,
 *      deferred nested aggregates) parse as exactly that many well-formed
 *      RESP values; simple strings and errors carry no CR/LF; doubles read
 *      back to the same value.
 */
#include "resp/resp.h"

#include <math.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_resp: check failed at line %d: %s\n", __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Limits small enough to be hit by short inputs, one set close to the real
 * defaults but with bulks capped at 1 MB so that a reservation stays cheap
 * under ASan. */
static const resp_limits fuzz_limits[4] = {
    {.max_bulk_len = 1 << 20, .max_multibulk_len = 1024 * 1024, .max_inline_len = 64 * 1024},
    {.max_bulk_len = 16, .max_multibulk_len = 4, .max_inline_len = 32},
    {.max_bulk_len = 300, .max_multibulk_len = 50, .max_inline_len = 8},
    {.max_bulk_len = 40000, .max_multibulk_len = 1000, .max_inline_len = 200},
};

/* ----------------------------------------------------------- utilities */

typedef struct obuf {
    char *p;
    size_t len, cap;
} obuf;

static void ob_add(obuf *o, const void *d, size_t n)
{
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2 + 64;
        o->p = realloc(o->p, o->cap);
        CHECK(o->p != NULL);
    }
    if (n) memcpy(o->p + o->len, d, n);
    o->len += n;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* ------------------------------------------------------ RESP validator */

/* Reads a decimal line at *pos (up to CRLF). Returns 1 on success. */
static int val_number(const char *b, size_t len, size_t *pos, long long *out)
{
    size_t i = *pos;
    int neg = 0;
    if (i < len && b[i] == '-') {
        neg = 1;
        i++;
    }
    size_t digits = 0;
    /* The magnitude, unsigned: LLONG_MIN's is one more than LLONG_MAX. */
    unsigned long long v = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
    while (i < len && b[i] >= '0' && b[i] <= '9') {
        unsigned d = (unsigned)(b[i] - '0');
        if (v > (lim - d) / 10) return 0; /* beyond a long long: not a RESP integer */
        v = v * 10 + d;
        i++;
        digits++;
    }
    if (digits == 0 || i + 1 >= len || b[i] != '\r' || b[i + 1] != '\n') return 0;
    *out = neg ? (v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v) : (long long)v;
    *pos = i + 2;
    return 1;
}

/* Reads a line with no CR or LF inside, up to CRLF. */
static int val_line(const char *b, size_t len, size_t *pos)
{
    size_t i = *pos;
    while (i < len && b[i] != '\r' && b[i] != '\n') i++;
    if (i + 1 >= len || b[i] != '\r' || b[i + 1] != '\n') return 0;
    *pos = i + 2;
    return 1;
}

/* Validates one value at *pos, recursively. */
static int val_value(const char *b, size_t len, size_t *pos, int depth)
{
    if (*pos >= len || depth > 64) return 0;
    char t = b[(*pos)++];
    long long n;
    switch (t) {
    case '+':
    case '-':
    case ',':
        return val_line(b, len, pos);
    case ':':
        return val_number(b, len, pos, &n);
    case '#':
        if (len - *pos < 3 || (b[*pos] != 't' && b[*pos] != 'f')) return 0;
        if (b[*pos + 1] != '\r' || b[*pos + 2] != '\n') return 0;
        *pos += 3;
        return 1;
    case '_':
        if (len - *pos < 2 || b[*pos] != '\r' || b[*pos + 1] != '\n') return 0;
        *pos += 2;
        return 1;
    case '$':
    case '=':
        if (!val_number(b, len, pos, &n)) return 0;
        if (n == -1 && t == '$') return 1;
        if (n < 0 || (size_t)n > len - *pos || len - *pos - (size_t)n < 2) return 0;
        if (t == '=' && (n < 4 || b[*pos + 3] != ':')) return 0;
        *pos += (size_t)n;
        if (b[*pos] != '\r' || b[*pos + 1] != '\n') return 0;
        *pos += 2;
        return 1;
    case '*':
    case '%':
    case '~':
    case '>':
        if (!val_number(b, len, pos, &n)) return 0;
        if (n == -1 && t == '*') return 1;
        if (n < 0) return 0;
        if (t == '%') n *= 2;
        for (long long i = 0; i < n; i++)
            if (!val_value(b, len, pos, depth + 1)) return 0;
        return 1;
    default:
        return 0;
    }
}

/* The whole pending part of b must be exactly `count` values. */
static void val_buffer(const resp_buf *b, int count)
{
    size_t pos = b->pos;
    for (int i = 0; i < count; i++) CHECK(val_value(b->buf, b->len, &pos, 0));
    CHECK(pos == b->len);
}

/* ------------------------------------------------------- parser runs */

typedef struct run {
    obuf out;
    int error;
    char err[128];
} run;

/* Canonical text of a request, for comparing runs. */
static void encode_request(obuf *o, const resp_request *r)
{
    char hdr[48];
    int n = snprintf(hdr, sizeof(hdr), "%c*%d\r\n", r->is_inline ? 'I' : 'M', r->argc);
    ob_add(o, hdr, (size_t)n);
    for (int i = 0; i < r->argc; i++) {
        n = snprintf(hdr, sizeof(hdr), "$%zu\r\n", r->argvlen[i]);
        ob_add(o, hdr, (size_t)n);
        ob_add(o, r->argv[i], r->argvlen[i]);
        ob_add(o, "\r\n", 2);
    }
}

static void check_request(const resp_request *r, const resp_limits *lim, int auth)
{
    CHECK(r->argc >= 1);
    CHECK(r->is_inline == 0 || r->is_inline == 1);
    size_t total = 0;
    for (int i = 0; i < r->argc; i++) {
        CHECK(r->argv[i] != NULL);
        CHECK(r->argv[i][r->argvlen[i]] == '\0');
        total += r->argvlen[i];
        if (!r->is_inline) {
            CHECK((long long)r->argvlen[i] <= lim->max_bulk_len);
            if (auth) CHECK(r->argvlen[i] <= 16384);
        }
    }
    if (r->is_inline) {
        /* Unquoting only shortens, and arguments are separated. */
        CHECK(total + (size_t)(r->argc - 1) <= lim->max_inline_len);
    } else {
        CHECK(r->argc <= lim->max_multibulk_len);
        if (auth) CHECK(r->argc <= 10);
    }
}

static void drain(resp_parser *p, run *out, const resp_limits *lim, int auth,
                  void (*each)(const resp_request *, void *), void *ctx)
{
    resp_request req;
    resp_status st;
    while ((st = resp_parser_next(p, &req)) == RESP_OK) {
        check_request(&req, lim, auth);
        encode_request(&out->out, &req);
        if (each) each(&req, ctx);
    }
    if (st == RESP_ERROR) {
        const char *m = resp_parser_error(p);
        CHECK(strncmp(m, "Protocol error: ", 16) == 0);
        if (out->error) {
            CHECK(strcmp(out->err, m) == 0);
        } else {
            out->error = 1;
            snprintf(out->err, sizeof(out->err), "%s", m);
        }
        CHECK(resp_parser_next(p, &req) == RESP_ERROR);
    } else {
        CHECK(st == RESP_MORE);
        CHECK(!out->error);
    }
}

/* --------------------------------------------------------- builder use */

typedef struct build_ctx {
    int proto;
    uint64_t rng;
} build_ctx;

/* Re-encodes the request with the builder and parses it back. */
static void check_round_trip(const resp_request *r)
{
    resp_buf b;
    resp_buf_init(&b, 2);
    resp_add_array(&b, r->argc);
    for (int i = 0; i < r->argc; i++) resp_add_bulk(&b, r->argv[i], r->argvlen[i]);

    static const resp_limits big = {
        .max_bulk_len = 1LL << 40, .max_multibulk_len = 1 << 30, .max_inline_len = 1 << 20};
    resp_parser *p = resp_parser_new(&big);
    resp_parser_feed(p, b.buf, b.len);
    resp_request back;
    CHECK(resp_parser_next(p, &back) == RESP_OK);
    CHECK(back.argc == r->argc && back.is_inline == 0);
    for (int i = 0; i < r->argc; i++) {
        CHECK(back.argvlen[i] == r->argvlen[i]);
        CHECK(memcmp(back.argv[i], r->argv[i], r->argvlen[i]) == 0);
    }
    CHECK(resp_parser_next(p, &back) == RESP_MORE);
    CHECK(resp_parser_buffered(p) == 0);
    resp_parser_free(p);
    resp_buf_free(&b);
}

/* Adds one reply built from argument a; returns how many top-level values
 * it appended. */
static int add_reply_for_arg(resp_buf *b, const char *a, size_t n, uint64_t *rng)
{
    switch (rng_next(rng) % 12) {
    case 0:
        resp_add_simple(b, a);
        return 1;
    case 1: {
        /* The line must be the argument up to its first NUL with CR/LF
         * turned into spaces. */
        size_t at = b->len;
        resp_add_error(b, a);
        size_t skip = a[0] == '-' ? 1 : 0;
        size_t k = strlen(a + skip);
        CHECK(b->len - at == k + 3 && b->buf[at] == '-');
        for (size_t i = 0; i < k; i++) {
            char c = a[skip + i];
            CHECK(b->buf[at + 1 + i] == ((c == '\r' || c == '\n') ? ' ' : c));
        }
        return 1;
    }
    case 2:
        resp_add_errorf(b, "ERR bad '%s' (%zu)", a, n);
        return 1;
    case 3:
        resp_add_integer(b, strtoll(a, NULL, 10));
        return 1;
    case 4: {
        double v = strtod(a, NULL);
        char s[64];
        int k = resp_format_double(s, sizeof(s), v);
        CHECK(k > 0 && (size_t)k < sizeof(s) && s[k] == '\0');
        double back = strtod(s, NULL);
        CHECK(isnan(v) ? isnan(back) : back == v);
        resp_add_double(b, v);
        return 1;
    }
    case 5:
        resp_add_bool(b, n & 1);
        return 1;
    case 6:
        resp_add_null(b);
        resp_add_null_array(b);
        return 2;
    case 7:
        resp_add_verbatim(b, a, n, n & 1 ? "txt" : "mkd");
        return 1;
    case 8:
        resp_add_bulk_cstr(b, n & 1 ? NULL : a);
        resp_add_bulk_ll(b, (long long)n * -7);
        return 2;
    case 9:
        resp_add_map(b, 1);
        resp_add_bulk(b, a, n);
        resp_add_set(b, 1);
        resp_add_push(b, 0);
        return 1;
    case 10: {
        /* Nested deferred aggregates, filled inner first. */
        size_t outer = resp_add_deferred(b);
        int elems = 0;
        int inner_n = (int)(rng_next(rng) % 4);
        size_t inner = resp_add_deferred(b);
        for (int i = 0; i < inner_n; i++) resp_add_bulk(b, a, n);
        resp_set_deferred(b, inner, RESP_AGG_SET, inner_n);
        elems++;
        resp_add_integer(b, (long long)n);
        elems++;
        resp_set_deferred(b, outer, RESP_AGG_ARRAY, elems);
        size_t m = resp_add_deferred(b);
        resp_add_simple(b, "k");
        resp_add_double(b, (double)n / 3);
        resp_set_deferred(b, m, RESP_AGG_MAP, 1);
        return 2;
    }
    default:
        resp_buf_append_raw(b, ":1\r\n", 4);
        return 1;
    }
}

static void on_request(const resp_request *r, void *vctx)
{
    build_ctx *ctx = vctx;
    check_round_trip(r);

    resp_buf b;
    resp_buf_init(&b, ctx->proto);
    int values = 0;
    for (int i = 0; i < r->argc; i++)
        values += add_reply_for_arg(&b, r->argv[i], r->argvlen[i], &ctx->rng);
    val_buffer(&b, values);

    /* A writer draining the buffer in odd-sized steps sees every byte. */
    size_t total = resp_buf_pending(&b), seen = 0;
    char *copy = malloc(total + 1);
    CHECK(copy != NULL);
    memcpy(copy, b.buf + b.pos, total);
    while (resp_buf_pending(&b) > 0) {
        size_t k = 1 + (size_t)(rng_next(&ctx->rng) % 4096);
        if (k > resp_buf_pending(&b)) k = resp_buf_pending(&b);
        CHECK(memcmp(b.buf + b.pos, copy + seen, k) == 0);
        resp_buf_consume(&b, k);
        seen += k;
    }
    CHECK(seen == total && b.len == 0 && b.pos == 0);
    free(copy);
    resp_buf_shrink(&b, 0);
    resp_buf_free(&b);
}

/* ------------------------------------------------------------- entry */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    const resp_limits *lim = &fuzz_limits[data[0] & 3];
    int proto = (data[0] & 4) ? 3 : 2;
    int auth = (data[0] & 8) != 0;
    uint64_t seed = (uint64_t)data[1] | (uint64_t)data[2] << 8 | (uint64_t)data[3] << 16 |
                    (uint64_t)data[4] << 24;
    const char *in = (const char *)data + 5;
    size_t n = size - 5;

    /* Whole. */
    run whole = {0};
    build_ctx ctx = {.proto = proto, .rng = seed};
    resp_parser *p = resp_parser_new(lim);
    resp_parser_set_auth_required(p, auth);
    resp_parser_feed(p, in, n);
    CHECK(resp_parser_buffered(p) == n);
    drain(p, &whole, lim, auth, on_request, &ctx);
    resp_parser_free(p);

    /* In pieces. */
    run pieces = {0};
    uint64_t rng = seed;
    p = resp_parser_new(lim);
    resp_parser_set_auth_required(p, auth);
    size_t off = 0, fed = 0;
    while (off < n) {
        uint64_t r = rng_next(&rng);
        size_t k = (r & 7) == 0 ? 1 + (size_t)(r >> 8) % 256 : 1 + (size_t)(r >> 8) % 9;
        if (k > n - off) k = n - off;
        if (r & 0x10) {
            resp_parser_feed(p, in + off, k);
        } else {
            char *dst = resp_parser_space(p, k + (size_t)((r >> 20) % 100));
            memcpy(dst, in + off, k);
            resp_parser_wrote(p, k);
        }
        off += k;
        fed += k;
        CHECK(resp_parser_buffered(p) <= fed);
        drain(p, &pieces, lim, auth, NULL, NULL);
        if ((r & 0x60) == 0x60) resp_parser_shrink(p, (size_t)(r >> 40) % 2048);
        if ((r & 0x180) == 0x180) resp_parser_set_limits(p, lim); /* same limits: no change */
        CHECK(resp_parser_capacity(p) >= resp_parser_buffered(p));
        if (!pieces.error) {
            size_t want = resp_parser_want(p);
            CHECK(want <= (size_t)lim->max_bulk_len + 2);
        }
    }
    resp_parser_free(p);

    CHECK(whole.error == pieces.error);
    if (whole.error) CHECK(strcmp(whole.err, pieces.err) == 0);
    CHECK(whole.out.len == pieces.out.len);
    CHECK(whole.out.len == 0 || memcmp(whole.out.p, pieces.out.p, whole.out.len) == 0);
    free(whole.out.p);
    free(pieces.out.p);
    return 0;
}
