/*
 * resp_parser.c -- incremental parser for client requests (RESP multibulk and
 * inline commands), with no I/O. See resp.h for the contract.
 *
 * Buffer layout. The parser owns one growable byte buffer:
 *
 *     0 ........ start ......... cur .... scan ....... len ......... cap
 *     | returned | current request      |  searched   | free space    |
 *
 * `start` is the first byte of the request being parsed (everything before it
 * was returned or skipped and is garbage), `cur` is where the line or bulk
 * the parser waits for begins, `scan` is how far a line search for '\r' or
 * '\n' already looked (so a long line that arrives in small pieces is
 * searched once, not once per piece), `len` is the end of the input. The
 * invariant is start <= cur <= scan <= len <= cap.
 *
 * Zero copy. Bulk arguments are returned in place: argv[i] points into the
 * buffer and the byte after the argument (the '\r' of its trailing CRLF,
 * which Redis skips without looking at it) is overwritten with a NUL.
 * Inline arguments are unquoted in place too: unescaping only shortens
 * text, so the writer never overtakes the reader. While a request is being
 * assembled its arguments are kept as offsets from `start`, and turned into
 * pointers only when the request is complete; so the unconsumed part of the
 * buffer may move (compaction, realloc) between calls.
 *
 * Compaction is lazy: returned requests are not memmoved away one by one.
 * The live part [start, len) moves to offset 0 only when resp_parser_space()
 * needs room, and the whole buffer is rewound for free whenever everything
 * was consumed. In the steady state of a pipelined small-request workload
 * there is no allocation and no copy besides the occasional move of the
 * last partial request.
 *
 * Large bulks: once a bulk of RESP_PARSER_BIG_ARG bytes or more is announced,
 * the next growth reserves room for the whole bulk at once (plus the
 * caller's read size), so reading a 512 MB argument costs one allocation
 * and no repeated copies. The reservation happens when the data needs room,
 * not when the header arrives, so an announced-but-never-sent bulk costs
 * nothing. resp_parser_shrink() gives the memory back afterwards.
 *
 * Errors follow Redis 7 networking.c: the same messages, the same checks in
 * the same order. Two deliberate differences, both about determinism:
 *   - Line-length limits are checked on the line itself, so the error for an
 *     over-long line does not depend on how the bytes were split across
 *     reads (Redis checks the unparsed buffer at each read, which for its
 *     16 KB reads amounts to the same).
 *   - A NUL byte is ordinary data everywhere (Redis's strchr-based inline
 *     parsing stops at it).
 *
 * Rejected: a single re-scan of the whole request on each call (quadratic for
 * requests arriving in small pieces); copying every argument into its own
 * allocation (a malloc per argument, which the benchmark target cannot
 * afford); reserving an announced bulk immediately (memory for nothing on a
 * header-only attack).
 *
 * Threading: a parser is used by one thread at a time; no global state.
 */
#include "resp.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* First buffer allocation, bytes: one typical socket read. */
#define RESP_PARSER_INITIAL_CAP (16 * 1024)
/* Bulks at least this long (bytes) get their whole length reserved once;
 * smaller ones just use the doubling growth. Same threshold as Redis. */
#define RESP_PARSER_BIG_ARG (32 * 1024)
/* Largest bulk reserved in one step, bytes: beyond it (only with a raised
 * proto-max-bulk-len) growth goes back to doubling, so one header cannot make
 * the process ask for an absurd amount of address space. */
#define RESP_PARSER_RESERVE_MAX (1024LL * 1024 * 1024)
/* Initial argv capacity, entries: most commands have fewer arguments. */
#define RESP_PARSER_ARGV_INITIAL 16
/* Entries reserved up front for a multibulk count: a client may announce
 * 2^31 arguments and send none, so trust the count only this far. */
#define RESP_PARSER_ARGV_PREALLOC 1024
/* resp_parser_shrink() releases argv arrays larger than this, entries. */
#define RESP_PARSER_ARGV_KEEP 1024
/* Limits of unauthenticated clients (Redis 7.2): arguments, bytes. */
#define RESP_PARSER_UNAUTH_MAX_ARGS 10
#define RESP_PARSER_UNAUTH_MAX_BULK 16384
/* Longest integer string that can be valid: "-9223372036854775808". */
#define RESP_PARSER_MAX_NUM_CHARS 20

enum parser_state {
    PS_IDLE,      /* between requests; cur == start */
    PS_INLINE,    /* inline line: waiting for '\n' */
    PS_MB_COUNT,  /* "*<count>" line: waiting for '\r' plus one byte */
    PS_BULK_HDR,  /* "$<len>" line at cur: waiting for '\r' plus one byte */
    PS_BULK_DATA, /* bulk of bulk_len bytes at cur: waiting for it and 2 more */
    PS_ERROR,     /* sticky after a protocol error */
};

struct resp_parser {
    char *buf;
    size_t cap;
    size_t len;
    size_t start;
    size_t cur;
    size_t scan;
    enum parser_state state;
    int auth_required;   /* apply the unauthenticated limits */
    resp_limits lim;     /* limits of the request in progress */
    resp_limits lim_new; /* set_limits value, taken at the next request */
    long long mb_left;   /* arguments still to read */
    long long bulk_len;  /* length of the bulk being read */
    int argc;            /* arguments of the current request so far */
    int argcap;          /* capacity of the three arrays below */
    char **argv;
    size_t *argvlen;
    size_t *argoff; /* offsets from start, until the request completes */
    char err[80];
};

/* ------------------------------------------------------------ allocation */

static void *parser_realloc(void *ptr, size_t size)
{
    void *q = realloc(ptr, size ? size : 1);
    if (q == NULL) {
        fprintf(stderr, "resp: out of memory allocating %zu bytes\n", size);
        abort();
    }
    return q;
}

/* Resizes the argv arrays to exactly n entries. */
static void parser_argv_resize(resp_parser *p, int n)
{
    p->argv = parser_realloc(p->argv, (size_t)n * sizeof(*p->argv));
    p->argvlen = parser_realloc(p->argvlen, (size_t)n * sizeof(*p->argvlen));
    p->argoff = parser_realloc(p->argoff, (size_t)n * sizeof(*p->argoff));
    p->argcap = n;
}

/* Makes room for at least n arguments. */
static void parser_argv_reserve(resp_parser *p, long long n)
{
    if (n <= p->argcap) return;
    long long cap = p->argcap ? p->argcap : RESP_PARSER_ARGV_INITIAL;
    while (cap < n) cap *= 2;
    if (cap > INT_MAX) cap = INT_MAX;
    parser_argv_resize(p, (int)cap);
}

/* Moves the live bytes [start, len) to offset 0. */
static void parser_compact(resp_parser *p)
{
    if (p->start == 0) return;
    size_t live = p->len - p->start;
    if (live) memmove(p->buf, p->buf + p->start, live);
    p->cur -= p->start;
    p->scan -= p->start;
    p->len = live;
    p->start = 0;
}

/* Rewinds to offset 0 when every byte was consumed (no copy needed). */
static void parser_rewind_if_empty(resp_parser *p)
{
    if (p->start == p->len && p->state != PS_ERROR) {
        p->start = p->cur = p->scan = p->len = 0;
    }
}

/* ------------------------------------------------------------ lifecycle */

resp_parser *resp_parser_new(const resp_limits *limits)
{
    resp_parser *p = parser_realloc(NULL, sizeof(*p));
    memset(p, 0, sizeof(*p));
    p->state = PS_IDLE;
    p->lim = *limits;
    p->lim_new = *limits;
    return p;
}

void resp_parser_free(resp_parser *p)
{
    if (p == NULL) return;
    free(p->buf);
    free(p->argv);
    free(p->argvlen);
    free(p->argoff);
    free(p);
}

void resp_parser_set_limits(resp_parser *p, const resp_limits *limits)
{
    p->lim_new = *limits;
    if (p->state == PS_IDLE) p->lim = *limits;
}

void resp_parser_set_auth_required(resp_parser *p, int required)
{
    p->auth_required = required != 0;
}

/* ----------------------------------------------------------------- input */

char *resp_parser_space(resp_parser *p, size_t want)
{
    parser_rewind_if_empty(p);
    if (p->cap - p->len >= want && p->buf != NULL) return p->buf + p->len;

    parser_compact(p);
    if (p->cap - p->len >= want && p->buf != NULL) return p->buf + p->len;

    size_t need = p->len + want;
    if (need < want) abort(); /* size_t overflow: a caller bug */
    size_t newcap;
    if (p->state == PS_BULK_DATA && p->bulk_len >= RESP_PARSER_BIG_ARG &&
        p->bulk_len <= RESP_PARSER_RESERVE_MAX) {
        /* Room for the whole bulk and its CRLF, plus one more read of the
         * caller's size, so the tail of the bulk never forces a second
         * realloc of a huge buffer. */
        size_t bulk_end = p->cur + (size_t)p->bulk_len + 2;
        newcap = bulk_end + want;
        if (newcap < need) newcap = need;
    } else {
        newcap = p->cap ? p->cap : RESP_PARSER_INITIAL_CAP;
        while (newcap < need) newcap = newcap * 2 > newcap ? newcap * 2 : need;
    }
    p->buf = parser_realloc(p->buf, newcap);
    p->cap = newcap;
    return p->buf + p->len;
}

void resp_parser_wrote(resp_parser *p, size_t n)
{
    if (n > p->cap - p->len) {
        fprintf(stderr, "resp: resp_parser_wrote(%zu) past the reserved space\n", n);
        abort();
    }
    p->len += n;
}

void resp_parser_feed(resp_parser *p, const void *buf, size_t len)
{
    char *dst = resp_parser_space(p, len);
    if (len) memcpy(dst, buf, len);
    resp_parser_wrote(p, len);
}

const char *resp_parser_peek(const resp_parser *p, size_t *len)
{
    *len = p->state == PS_IDLE ? p->len - p->start : 0;
    return p->buf + p->start;
}

size_t resp_parser_buffered(const resp_parser *p)
{
    return p->len - p->start;
}

size_t resp_parser_capacity(const resp_parser *p)
{
    return p->cap;
}

size_t resp_parser_want(const resp_parser *p)
{
    if (p->state != PS_BULK_DATA) return 0;
    size_t have = p->len - p->cur;
    size_t total = (size_t)p->bulk_len + 2;
    return have >= total ? 0 : total - have;
}

void resp_parser_shrink(resp_parser *p, size_t keep)
{
    parser_rewind_if_empty(p);
    if (p->state == PS_IDLE || p->state == PS_ERROR) {
        if (p->argcap > RESP_PARSER_ARGV_KEEP) parser_argv_resize(p, RESP_PARSER_ARGV_INITIAL);
    }
    if (p->cap <= keep) return;
    /* A big bulk in progress keeps its reservation: giving it back would
     * only make the next read allocate and copy it again. */
    if (p->state == PS_BULK_DATA && p->bulk_len >= RESP_PARSER_BIG_ARG) return;
    size_t live = p->len - p->start;
    if (live > keep) return;
    parser_compact(p);
    if (keep == 0) {
        free(p->buf);
        p->buf = NULL;
    } else {
        p->buf = parser_realloc(p->buf, keep);
    }
    p->cap = keep;
}

const char *resp_parser_error(const resp_parser *p)
{
    return p->state == PS_ERROR ? p->err : "";
}

/* --------------------------------------------------------------- parsing */

/* Sets the sticky error state with a message. */
static resp_status parser_fail(resp_parser *p, const char *msg)
{
    snprintf(p->err, sizeof(p->err), "%s", msg);
    p->state = PS_ERROR;
    return RESP_ERROR;
}

/* Parses a whole string as a long long, as strictly as Redis's string2ll:
 * an optional '-', then "0" or a digit 1-9 followed by digits; no '+', no
 * spaces, no leading zeros, no "-0", no overflow. Returns 1 on success. */
static int parser_parse_ll(const char *s, size_t n, long long *out)
{
    if (n == 0 || n > RESP_PARSER_MAX_NUM_CHARS) return 0;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-') {
        neg = 1;
        i = 1;
        if (n == 1) return 0;
    }
    if (s[i] < '1' || s[i] > '9') return 0;
    unsigned long long v = 0;
    for (; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9) return 0;
        if (v > (ULLONG_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1) return 0;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX) return 0;
        *out = (long long)v;
    }
    return 1;
}

/* Appends one argument [off, off + n) (offset from start) to the request. */
static void parser_push_arg(resp_parser *p, size_t off, size_t n)
{
    if (p->argc == p->argcap) parser_argv_reserve(p, (long long)p->argc + 1);
    p->argoff[p->argc] = off;
    p->argvlen[p->argc] = n;
    p->argc++;
}

/* Turns the offsets of the completed request into pointers, hands them out
 * and moves start past the request, which ends at `end`. */
static resp_status parser_emit(resp_parser *p, resp_request *req, size_t end, int is_inline)
{
    char *base = p->buf + p->start;
    for (int i = 0; i < p->argc; i++) p->argv[i] = base + p->argoff[i];
    req->argc = p->argc;
    req->argv = p->argv;
    req->argvlen = p->argvlen;
    req->is_inline = is_inline;
    p->start = p->cur = p->scan = end;
    p->state = PS_IDLE;
    return RESP_OK;
}

/* isspace() of the C locale, as used to skip blanks between arguments and
 * to check what follows a closing quote. */
static int parser_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int parser_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Splits the inline line [s, e) into arguments, in place, with the rules of
 * Redis's sdssplitargs: blanks separate arguments; an unquoted argument ends
 * at a space, tab, CR or LF; "double quotes" know \n \r \t \b \a \xHH and
 * take any other escaped character literally; 'single quotes' know only \';
 * a closing quote must be followed by a blank or the end of the line; a
 * quote inside an unquoted word opens a quoted part of the same argument.
 * Each argument is NUL-terminated in the buffer (buf[e] may receive one: it
 * is the line's CR or LF). Returns 0, or -1 for unbalanced quotes. */
static int parser_split_inline(resp_parser *p, size_t s, size_t e)
{
    char *b = p->buf;
    size_t r = s;
    p->argc = 0;
    for (;;) {
        while (r < e && parser_is_space((unsigned char)b[r])) r++;
        if (r == e) return 0;
        size_t arg = r, w = r;
        int in_dq = 0, in_sq = 0;
        for (;;) {
            if (in_dq) {
                if (r == e) return -1;
                char c = b[r];
                if (c == '\\' && r + 3 < e && b[r + 1] == 'x' &&
                    parser_hex_value((unsigned char)b[r + 2]) >= 0 &&
                    parser_hex_value((unsigned char)b[r + 3]) >= 0) {
                    b[w++] = (char)(parser_hex_value((unsigned char)b[r + 2]) * 16 +
                                    parser_hex_value((unsigned char)b[r + 3]));
                    r += 4;
                } else if (c == '\\' && r + 1 < e) {
                    char x = b[r + 1];
                    switch (x) {
                    case 'n': x = '\n'; break;
                    case 'r': x = '\r'; break;
                    case 't': x = '\t'; break;
                    case 'b': x = '\b'; break;
                    case 'a': x = '\a'; break;
                    default: break;
                    }
                    b[w++] = x;
                    r += 2;
                } else if (c == '"') {
                    if (r + 1 < e && !parser_is_space((unsigned char)b[r + 1])) return -1;
                    r++;
                    break;
                } else {
                    b[w++] = c;
                    r++;
                }
            } else if (in_sq) {
                if (r == e) return -1;
                char c = b[r];
                if (c == '\\' && r + 1 < e && b[r + 1] == '\'') {
                    b[w++] = '\'';
                    r += 2;
                } else if (c == '\'') {
                    if (r + 1 < e && !parser_is_space((unsigned char)b[r + 1])) return -1;
                    r++;
                    break;
                } else {
                    b[w++] = c;
                    r++;
                }
            } else {
                if (r == e) break;
                char c = b[r];
                if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                    r++; /* the terminator is consumed before the NUL lands on it */
                    break;
                } else if (c == '"') {
                    in_dq = 1;
                    r++;
                } else if (c == '\'') {
                    in_sq = 1;
                    r++;
                } else {
                    b[w++] = c;
                    r++;
                }
            }
        }
        b[w] = '\0';
        parser_push_arg(p, arg - p->start, w - arg);
    }
}

/* Finds byte c in [scan, len); remembers how far it looked. Returns the
 * offset, or (size_t)-1. */
static size_t parser_find(resp_parser *p, char c)
{
    const char *hit = memchr(p->buf + p->scan, c, p->len - p->scan);
    if (hit == NULL) {
        p->scan = p->len;
        return (size_t)-1;
    }
    p->scan = (size_t)(hit - p->buf);
    return p->scan;
}

resp_status resp_parser_next(resp_parser *p, resp_request *req)
{
    for (;;) {
        switch (p->state) {
        case PS_ERROR:
            return RESP_ERROR;

        case PS_IDLE:
            parser_rewind_if_empty(p);
            if (p->start == p->len) return RESP_MORE;
            p->lim = p->lim_new;
            p->cur = p->scan = p->start;
            p->argc = 0;
            p->state = p->buf[p->start] == '*' ? PS_MB_COUNT : PS_INLINE;
            break;

        case PS_INLINE: {
            size_t nl = parser_find(p, '\n');
            /* The line's length without its CRLF; when the LF has not come
             * yet, a final CR may still be the line's terminator. */
            size_t upto = nl == (size_t)-1 ? p->len : nl;
            size_t line = upto - p->start;
            if (line > 0 && p->buf[upto - 1] == '\r') line--;
            if (line > p->lim.max_inline_len)
                return parser_fail(p, "Protocol error: too big inline request");
            if (nl == (size_t)-1) return RESP_MORE;
            size_t e = nl;
            if (e > p->start && p->buf[e - 1] == '\r') e--;
            if (parser_split_inline(p, p->start, e) < 0)
                return parser_fail(p, "Protocol error: unbalanced quotes in request");
            if (p->argc == 0) {
                /* Empty or blank line: skipped, as Redis does. */
                p->start = p->cur = p->scan = nl + 1;
                p->state = PS_IDLE;
                break;
            }
            return parser_emit(p, req, nl + 1, 1);
        }

        case PS_MB_COUNT: {
            size_t cr = parser_find(p, '\r');
            size_t upto = cr == (size_t)-1 ? p->len : cr;
            if (upto - p->start > p->lim.max_inline_len)
                return parser_fail(p, "Protocol error: too big mbulk count string");
            /* The CR and the byte after it (LF, which Redis does not check). */
            if (cr == (size_t)-1 || cr + 1 >= p->len) return RESP_MORE;
            long long n;
            if (!parser_parse_ll(p->buf + p->start + 1, cr - p->start - 1, &n) ||
                n > p->lim.max_multibulk_len || n > INT_MAX)
                return parser_fail(p, "Protocol error: invalid multibulk length");
            if (p->auth_required && n > RESP_PARSER_UNAUTH_MAX_ARGS)
                return parser_fail(p, "Protocol error: unauthenticated multibulk length");
            p->cur = p->scan = cr + 2;
            if (n <= 0) {
                /* "*0" and "*-1" are no request at all. */
                p->start = p->cur;
                p->state = PS_IDLE;
                break;
            }
            p->mb_left = n;
            parser_argv_reserve(p, n < RESP_PARSER_ARGV_PREALLOC ? n : RESP_PARSER_ARGV_PREALLOC);
            p->state = PS_BULK_HDR;
            break;
        }

        case PS_BULK_HDR: {
            size_t cr = parser_find(p, '\r');
            size_t upto = cr == (size_t)-1 ? p->len : cr;
            if (upto - p->cur > p->lim.max_inline_len)
                return parser_fail(p, "Protocol error: too big bulk count string");
            if (cr == (size_t)-1 || cr + 1 >= p->len) return RESP_MORE;
            if (p->buf[p->cur] != '$') {
                snprintf(p->err, sizeof(p->err), "Protocol error: expected '$', got '%c'",
                         p->buf[p->cur]);
                p->state = PS_ERROR;
                return RESP_ERROR;
            }
            long long n;
            if (!parser_parse_ll(p->buf + p->cur + 1, cr - p->cur - 1, &n) || n < 0 ||
                n > p->lim.max_bulk_len)
                return parser_fail(p, "Protocol error: invalid bulk length");
            if (p->auth_required && n > RESP_PARSER_UNAUTH_MAX_BULK)
                return parser_fail(p, "Protocol error: unauthenticated bulk length");
            p->cur = p->scan = cr + 2;
            p->bulk_len = n;
            p->state = PS_BULK_DATA;
            break;
        }

        case PS_BULK_DATA: {
            size_t have = p->len - p->cur;
            /* The bulk, then two bytes (CRLF, which Redis skips unchecked). */
            if (have < 2 || have - 2 < (unsigned long long)p->bulk_len) return RESP_MORE;
            size_t n = (size_t)p->bulk_len;
            p->buf[p->cur + n] = '\0';
            parser_push_arg(p, p->cur - p->start, n);
            p->cur += n + 2;
            p->scan = p->cur;
            if (--p->mb_left == 0) return parser_emit(p, req, p->cur, 0);
            p->state = PS_BULK_HDR;
            break;
        }
        }
    }
}
