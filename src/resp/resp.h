/*
 * resp.h -- RESP2/RESP3 request parser and reply builder, with no I/O and no
 * server state (includes only libc). The networking layer reads bytes into
 * the parser and pulls complete requests out; command handlers append
 * replies to a resp_buf, which the networking layer writes to the socket.
 *
 * Parser
 * ------
 * Accepts what Redis accepts from clients: multibulk requests
 * (`*<n>\r\n$<len>\r\n<bytes>\r\n...`) and inline commands (a line split on
 * spaces and tabs, with "double quotes" (\n \r \t \b \a \\ \" \xHH escapes)
 * and 'single quotes' (only \' escaped) as redis-cli and Redis do; empty
 * lines are skipped, a line may end in \n or \r\n). Any byte split of the
 * input gives the same requests. Limits:
 *   - max_bulk_len: a bulk length above it is a protocol error
 *     ("Protocol error: invalid bulk length"), as is a negative one;
 *   - max_multibulk_len: a multibulk count above it is a protocol error
 *     ("Protocol error: invalid multibulk length");
 *   - max_inline_len: an inline line (or a `*`/`$` header line) that grows
 *     past it without a newline is "Protocol error: too big inline request"
 *     or "too big mbulk count string" / "too big bulk count string".
 * Error strings are Redis's ("Protocol error: expected '$', got 'x'",
 * "Protocol error: unbalanced quotes in request", ...). After an error the
 * parser stays in the error state; the caller replies "-ERR <msg>" and closes
 * the connection. A `*0` or `*-1` multibulk is skipped, as Redis does.
 *
 * Memory: the parser owns one growable input buffer. Returned argv point into
 * parser-owned memory and stay valid until the next call to any
 * resp_parser_* function other than resp_parser_buffered().
 *
 * Reply builder
 * -------------
 * A resp_buf is a growable byte buffer plus a protocol version (2 or 3).
 * Every resp_add_* appends one RESP value (or an aggregate header) encoded
 * for that version, with Redis's RESP2 fallbacks: map -> flat array of 2n,
 * set/push -> array, double -> bulk string, boolean -> integer 1/0,
 * verbatim -> bulk string without the "txt:" prefix, null -> $-1 (or *-1
 * via resp_add_null_array). Simple strings and errors have CR and LF
 * replaced by spaces, so user text can never break the framing.
 *
 * Thread safety: a parser or a resp_buf is used by one thread at a time;
 * there is no global state.
 */
#ifndef VECTIS_RESP_H
#define VECTIS_RESP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- parser */

typedef struct resp_limits {
    long long max_bulk_len;      /* proto-max-bulk-len, bytes (Redis: 512mb) */
    long long max_multibulk_len; /* max argv count (Redis 7: INT_MAX; <= 6: 1024*1024) */
    size_t max_inline_len;       /* max inline / header line, bytes (Redis: 64kb) */
} resp_limits;

typedef struct resp_parser resp_parser;

typedef enum resp_status {
    RESP_ERROR = -1, /* protocol error, see resp_parser_error() */
    RESP_MORE = 0,   /* need more input */
    RESP_OK = 1,     /* a complete request is in the argv outputs */
} resp_status;

/* A complete request. argv[i] is NUL-terminated for convenience but may
 * contain NUL bytes; argvlen[i] is its length. */
typedef struct resp_request {
    int argc;
    char **argv;
    size_t *argvlen;
    int is_inline; /* 1 when it came as an inline command */
} resp_request;

resp_parser *resp_parser_new(const resp_limits *limits);
void resp_parser_free(resp_parser *p); /* NULL is a no-op */

/* Changes the limits (CONFIG SET); applies to requests not yet started. */
void resp_parser_set_limits(resp_parser *p, const resp_limits *limits);

/* Zero-copy input: returns a pointer to at least `want` writable bytes at
 * the end of the input buffer; after reading n bytes into it, call
 * resp_parser_wrote(p, n). */
char *resp_parser_space(resp_parser *p, size_t want);
void resp_parser_wrote(resp_parser *p, size_t n);

/* Copying input: appends len bytes. */
void resp_parser_feed(resp_parser *p, const void *buf, size_t len);

/* Pulls the next complete request. */
resp_status resp_parser_next(resp_parser *p, resp_request *req);

/* The buffered bytes after the last request returned (not parsed yet):
 * a look at what comes next, e.g. the next command's name. Valid until
 * the next call to a resp_parser_* function other than this one and
 * resp_parser_buffered(). */
const char *resp_parser_peek(const resp_parser *p, size_t *len);

/* Bytes buffered and not yet returned as a request (the query buffer size
 * that client-query-buffer-limit caps), and the allocated capacity. */
size_t resp_parser_buffered(const resp_parser *p);
size_t resp_parser_capacity(const resp_parser *p);

/* Frees unused capacity when the buffer is empty and larger than `keep`. */
void resp_parser_shrink(resp_parser *p, size_t keep);

/* Added by the parser's author (not in the first version of this header):
 *
 * Applies Redis 7.2's limits for clients that have not authenticated yet:
 * more than 10 arguments is "Protocol error: unauthenticated multibulk
 * length", a bulk over 16384 bytes "Protocol error: unauthenticated bulk
 * length". Off by default; takes effect at the next header parsed. */
void resp_parser_set_auth_required(resp_parser *p, int required);

/* Bytes still missing to complete the bulk argument being read (including
 * its CRLF), 0 when not inside a bulk. A reader may use it to size its next
 * read for big arguments, as Redis does. */
size_t resp_parser_want(const resp_parser *p);

/* The message of the last RESP_ERROR, e.g. "Protocol error: invalid bulk
 * length" (without "ERR "). */
const char *resp_parser_error(const resp_parser *p);

/* ----------------------------------------------------------- reply buffer */

typedef struct resp_buf {
    char *buf;
    size_t len; /* bytes appended */
    size_t cap;
    size_t pos; /* bytes already consumed by the writer (networking) */
    int proto;  /* 2 or 3 */
} resp_buf;

void resp_buf_init(resp_buf *b, int proto);
void resp_buf_free(resp_buf *b);              /* frees storage, keeps proto */
void resp_buf_reset(resp_buf *b);             /* len = pos = 0, keeps storage */
void resp_buf_consume(resp_buf *b, size_t n); /* pos += n; resets when drained */
void resp_buf_append_raw(resp_buf *b, const void *p, size_t n);
size_t resp_buf_pending(const resp_buf *b); /* len - pos */
/* Added: when nothing is pending and the capacity exceeds `keep` bytes, gives
 * the storage back down to `keep` (0 frees it). For after a huge reply. */
void resp_buf_shrink(resp_buf *b, size_t keep);

void resp_add_simple(resp_buf *b, const char *s);                      /* +s */
void resp_add_error(resp_buf *b, const char *msg);                     /* -msg: "ERR x" */
/* (msg starts with its code; a leading '-' in msg is not doubled.) */
void resp_add_errorf(resp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void resp_add_integer(resp_buf *b, long long v);                       /* :v */
void resp_add_bulk(resp_buf *b, const void *p, size_t n);              /* $n */
void resp_add_bulk_cstr(resp_buf *b, const char *s);                   /* $ or null if s NULL */
void resp_add_bulk_ll(resp_buf *b, long long v);                       /* integer as bulk */
void resp_add_null(resp_buf *b);                                       /* _ | $-1 */
void resp_add_null_array(resp_buf *b);                                 /* _ | *-1 */
void resp_add_array(resp_buf *b, long n);                              /* *n */
void resp_add_map(resp_buf *b, long npairs);                           /* %n | *2n */
void resp_add_set(resp_buf *b, long n);                                /* ~n | *n */
void resp_add_push(resp_buf *b, long n);                               /* >n | *n */
void resp_add_double(resp_buf *b, double v);                           /* ,v | $ "%.17g" */
void resp_add_bool(resp_buf *b, int v);                                /* #t/#f | :1/:0 */
void resp_add_verbatim(resp_buf *b, const char *p, size_t n, const char *fmt3); /* =n fmt:... */

/* Aggregates whose length is known only later: reserve, then fill in.
 * Kind is one of RESP_AGG_*. Returns a handle (an offset). Handles must be
 * filled in reverse order of creation when nested (inner first), and the
 * buffer must not be consumed while a handle is outstanding. */
enum { RESP_AGG_ARRAY, RESP_AGG_MAP, RESP_AGG_SET };
size_t resp_add_deferred(resp_buf *b);
void resp_set_deferred(resp_buf *b, size_t handle, int kind, long n);

/* Formats a double as Redis does for RESP3 and for RESP2 bulk ("inf",
 * "-inf", "nan", else %.17g). Returns the length written (< size). */
int resp_format_double(char *dst, size_t size, double v);

#endif
