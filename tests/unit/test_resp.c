/*
 * test_resp.c -- unit tests of src/resp: the request parser and the reply
 * builder.
 *
 * Parser tests describe each case as input bytes plus the expected result:
 * the requests re-encoded canonically (one letter, I for inline or M for
 * multibulk, then "*argc\r\n$len\r\n<arg>\r\n..."), and the protocol error
 * that ends the input, if any. Every case is run whole, split at every byte
 * offset, split at every pair of offsets (short inputs), byte by byte, and
 * in random pieces; every run must give exactly the expected result. Input
 * goes alternately through resp_parser_feed() and the zero-copy
 * resp_parser_space()/resp_parser_wrote() pair.
 *
 * Builder tests compare every encoding byte for byte in RESP2 and RESP3.
 *
 * The random seed is printed; set RESP_TEST_SEED to replay a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resp/resp.h"
#include "test_rng.h"

static unsigned long long test_seed;
static const resp_limits default_limits = {
    .max_bulk_len = 512LL * 1024 * 1024,
    .max_multibulk_len = 1024 * 1024,
    .max_inline_len = 64 * 1024,
};

/* --------------------------------------------------------- tiny string */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *s, const void *d, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        s->cap = (s->len + n + 1) * 2;
        s->p = realloc(s->p, s->cap);
        assert_non_null(s->p);
    }
    memcpy(s->p + s->len, d, n);
    s->len += n;
    s->p[s->len] = '\0';
}

static void sb_addf(sbuf *s, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    sb_add(s, tmp, (size_t)n);
}

/* ------------------------------------------------------ parser harness */

typedef struct run_result {
    sbuf out;      /* canonical encoding of every request returned */
    int error;     /* 1 when the run ended in RESP_ERROR */
    char err[128]; /* its message */
} run_result;

/* Pulls every available request into r. */
static void drain(resp_parser *p, run_result *r)
{
    resp_request req;
    resp_status st;
    while ((st = resp_parser_next(p, &req)) == RESP_OK) {
        assert_true(req.argc > 0);
        sb_addf(&r->out, "%c*%d\r\n", req.is_inline ? 'I' : 'M', req.argc);
        for (int i = 0; i < req.argc; i++) {
            assert_int_equal(req.argv[i][req.argvlen[i]], '\0');
            sb_addf(&r->out, "$%zu\r\n", req.argvlen[i]);
            sb_add(&r->out, req.argv[i], req.argvlen[i]);
            sb_add(&r->out, "\r\n", 2);
        }
    }
    if (st == RESP_ERROR) {
        const char *msg = resp_parser_error(p);
        if (r->error) {
            /* Sticky: the same error again. */
            assert_string_equal(r->err, msg);
        } else {
            r->error = 1;
            snprintf(r->err, sizeof(r->err), "%s", msg);
        }
        /* Asking again keeps failing the same way. */
        assert_int_equal(resp_parser_next(p, &req), RESP_ERROR);
        assert_string_equal(resp_parser_error(p), r->err);
    } else {
        assert_int_equal(st, RESP_MORE);
        assert_false(r->error);
    }
}

static int feed_toggle;

/* Feeds one piece, alternating between the two input paths. */
static void feed_piece(resp_parser *p, const char *d, size_t n)
{
    if (feed_toggle++ & 1) {
        resp_parser_feed(p, d, n);
    } else {
        size_t want = n + (size_t)(rng_next() % 64);
        char *dst = resp_parser_space(p, want);
        assert_non_null(dst);
        memcpy(dst, d, n);
        resp_parser_wrote(p, n);
    }
}

/* Runs the input cut at the given increasing offsets. */
static void run_cuts(const resp_limits *lim, const char *in, size_t n, const size_t *cuts,
                     int ncuts, run_result *r)
{
    memset(r, 0, sizeof(*r));
    resp_parser *p = resp_parser_new(lim);
    size_t prev = 0;
    for (int i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        feed_piece(p, in + prev, end - prev);
        drain(p, r);
        prev = end;
    }
    resp_parser_free(p);
}

static void check_run(const run_result *r, const char *exp, size_t explen, const char *experr,
                      const char *what)
{
    if (r->out.len != explen || memcmp(r->out.p ? r->out.p : "", exp, explen) != 0) {
        print_error("requests differ (%s): got %zu bytes [%.*s] want %zu bytes [%.*s]\n", what,
                    r->out.len, (int)r->out.len, r->out.p ? r->out.p : "", explen, (int)explen,
                    exp);
        fail();
    }
    if (experr) {
        if (!r->error || strcmp(r->err, experr) != 0) {
            print_error("error differs (%s): got [%s] want [%s]\n", what,
                        r->error ? r->err : "(none)", experr);
            fail();
        }
    } else if (r->error) {
        print_error("unexpected error (%s): [%s]\n", what, r->err);
        fail();
    }
}

/* Checks that every way of splitting `in` gives `exp` and `experr`. */
static void check_case_lim(const resp_limits *lim, const char *in, size_t n, const char *exp,
                           size_t explen, const char *experr)
{
    run_result r;
    char what[64];

    run_cuts(lim, in, n, NULL, 0, &r);
    check_run(&r, exp, explen, experr, "whole");
    free(r.out.p);

    for (size_t i = 0; i <= n; i++) {
        size_t cut = i;
        run_cuts(lim, in, n, &cut, 1, &r);
        snprintf(what, sizeof(what), "split at %zu", i);
        check_run(&r, exp, explen, experr, what);
        free(r.out.p);
    }

    if (n <= 80) {
        for (size_t i = 0; i <= n; i++) {
            for (size_t j = i; j <= n; j++) {
                size_t cuts[2] = {i, j};
                run_cuts(lim, in, n, cuts, 2, &r);
                snprintf(what, sizeof(what), "split at %zu,%zu", i, j);
                check_run(&r, exp, explen, experr, what);
                free(r.out.p);
            }
        }
    }

    size_t *cuts = malloc((n + 1) * sizeof(*cuts));
    assert_non_null(cuts);
    for (size_t i = 0; i < n; i++) cuts[i] = i + 1;
    run_cuts(lim, in, n, cuts, n > 0 ? (int)n - 1 : 0, &r);
    check_run(&r, exp, explen, experr, "byte by byte");
    free(r.out.p);

    for (int k = 0; k < 20; k++) {
        int nc = 0;
        size_t at = 0;
        while (1) {
            at += 1 + (size_t)(rng_next() % (n / 4 + 2));
            if (at >= n) break;
            cuts[nc++] = at;
        }
        run_cuts(lim, in, n, cuts, nc, &r);
        check_run(&r, exp, explen, experr, "random pieces");
        free(r.out.p);
    }
    free(cuts);
}

#define CASEL(lim, in, exp, err)                                                                   \
    check_case_lim(lim, in, sizeof(in) - 1, exp, sizeof(exp) - 1, err)
#define CASE(in, exp, err) CASEL(&default_limits, in, exp, err)

/* -------------------------------------------------------- parser: valid */

static void test_parse_multibulk(void **state)
{
    (void)state;
    CASE("*1\r\n$4\r\nPING\r\n", "M*1\r\n$4\r\nPING\r\n", NULL);
    CASE("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
         "M*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", NULL);
    /* Empty bulk. */
    CASE("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", "M*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", NULL);
    /* Binary: NUL, CR, LF inside a bulk. */
    CASE("*2\r\n$4\r\nECHO\r\n$7\r\na\0\r\nb\n\0\r\n",
         "M*2\r\n$4\r\nECHO\r\n$7\r\na\0\r\nb\n\0\r\n", NULL);
    /* *0 and negative counts are skipped. */
    CASE("*0\r\n", "", NULL);
    CASE("*-1\r\n*-7\r\n*0\r\n*1\r\n$1\r\nx\r\n*0\r\n", "M*1\r\n$1\r\nx\r\n", NULL);
    /* Redis skips the byte after each header CR and the two bytes after a
     * bulk without looking at them. */
    CASE("*1\rX$1\rYa??", "M*1\r\n$1\r\na\r\n", NULL);
}

static void test_parse_inline(void **state)
{
    (void)state;
    CASE("PING\r\n", "I*1\r\n$4\r\nPING\r\n", NULL);
    CASE("PING\n", "I*1\r\n$4\r\nPING\r\n", NULL);
    CASE("set k v\n", "I*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n", NULL);
    CASE("  a   b\t\tc  \r\n", "I*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", NULL);
    /* Empty and blank lines are skipped. */
    CASE("\r\n\n   \r\n \t \n", "", NULL);
    CASE("\nPING\n\r\n", "I*1\r\n$4\r\nPING\r\n", NULL);
    /* Quotes. */
    CASE("set \"a b\" 'c d'\r\n", "I*3\r\n$3\r\nset\r\n$3\r\na b\r\n$3\r\nc d\r\n", NULL);
    CASE("echo \"\" ''\n", "I*3\r\n$4\r\necho\r\n$0\r\n\r\n$0\r\n\r\n", NULL);
    /* Double-quote escapes, including unknown ones and a bad \x. */
    CASE("echo \"\\x41\\x4a\\x4F\\n\\r\\t\\b\\a\\\\\\\"\\q\\xZZ\\x4\"\n",
         "I*2\r\n$4\r\necho\r\n$16\r\nAJO\n\r\t\b\a\\\"qxZZx4\r\n", NULL);
    CASE("e \"\\x00\\xff\"\n", "I*2\r\n$1\r\ne\r\n$2\r\n\0\xff\r\n", NULL);
    /* Single quotes: only \' is an escape. */
    CASE("echo 'it\\'s' 'a\\nb' '\"'\n",
         "I*4\r\n$4\r\necho\r\n$4\r\nit's\r\n$4\r\na\\nb\r\n$1\r\n\"\r\n", NULL);
    /* A quote inside a word opens a quoted part of the same argument. */
    CASE("echo foo\"bar baz\" x\n", "I*3\r\n$4\r\necho\r\n$10\r\nfoobar baz\r\n$1\r\nx\r\n",
         NULL);
    /* A CR inside the line separates arguments; \v and \f do not inside a
     * word but are skipped between words; after a closing quote any blank
     * may follow. */
    CASE("a\rb\r\n", "I*2\r\n$1\r\na\r\n$1\r\nb\r\n", NULL);
    CASE("a\vb \fc\n", "I*2\r\n$3\r\na\vb\r\n$1\r\nc\r\n", NULL);
    CASE("\"a\"\vb\n", "I*2\r\n$1\r\na\r\n$1\r\nb\r\n", NULL);
    /* A closing quote at the very end of the line. */
    CASE("x \"y\"\r\n", "I*2\r\n$1\r\nx\r\n$1\r\ny\r\n", NULL);
    /* NUL bytes are data (Redis's C-string splitting would stop there). */
    CASE("echo a\0b\n", "I*2\r\n$4\r\necho\r\n$3\r\na\0b\r\n", NULL);
    /* A line with the CR only: still a line. */
    CASE("x\r\r\n", "I*1\r\n$1\r\nx\r\n", NULL);
}

static void test_parse_pipeline(void **state)
{
    (void)state;
    CASE("*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n\r\n"
         "echo \"x y\"\n*0\r\n*1\r\n$0\r\n\r\n",
         "M*1\r\n$4\r\nPING\r\nI*1\r\n$4\r\nPING\r\nM*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n"
         "I*2\r\n$4\r\necho\r\n$3\r\nx y\r\nM*1\r\n$0\r\n\r\n",
         NULL);

    /* Many commands of every kind, built at run time. */
    sbuf in = {0}, exp = {0};
    for (int i = 0; i < 300; i++) {
        char arg[32];
        int n = snprintf(arg, sizeof(arg), "v%d", i * 7919);
        switch (i % 4) {
        case 0:
            sb_addf(&in, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", n, arg);
            sb_addf(&exp, "M*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", n, arg);
            break;
        case 1:
            sb_addf(&in, "get %s\r\n", arg);
            sb_addf(&exp, "I*2\r\n$3\r\nget\r\n$%d\r\n%s\r\n", n, arg);
            break;
        case 2:
            sb_addf(&in, "\r\n*0\r\n");
            break;
        case 3:
            sb_add(&in, "*1\r\n$3\r\n\r\n\0\r\n", 13);
            sb_add(&exp, "M*1\r\n$3\r\n\r\n\0\r\n", 14);
            break;
        }
    }
    check_case_lim(&default_limits, in.p, in.len, exp.p, exp.len, NULL);
    free(in.p);
    free(exp.p);
}

/* -------------------------------------------------------- parser: errors */

static void test_parse_errors_multibulk(void **state)
{
    (void)state;
    const char *imb = "Protocol error: invalid multibulk length";
    const char *ib = "Protocol error: invalid bulk length";
    CASE("*abc\r\n", "", imb);
    CASE("*\r\n", "", imb);
    CASE("*+1\r\n", "", imb);
    CASE("* 1\r\n", "", imb);
    CASE("*1 \r\n", "", imb);
    CASE("*01\r\n", "", imb);
    CASE("*-0\r\n", "", imb);
    CASE("*-\r\n", "", imb);
    CASE("*99999999999999999999\r\n", "", imb);
    CASE("*9223372036854775808\r\n", "", imb);
    CASE("*1048577\r\n", "", imb);
    CASE("*1\r\nX\r\n", "", "Protocol error: expected '$', got 'X'");
    CASE("*2\r\n$1\r\na\r\n:1\r\n", "", "Protocol error: expected '$', got ':'");
    CASE("*1\r\n\r\n", "", "Protocol error: expected '$', got '\r'");
    CASE("*1\r\n$-1\r\n", "", ib);
    CASE("*1\r\n$abc\r\n", "", ib);
    CASE("*1\r\n$\r\n", "", ib);
    CASE("*1\r\n$+1\r\n", "", ib);
    CASE("*1\r\n$01\r\n", "", ib);
    CASE("*1\r\n$ 1\r\n", "", ib);
    CASE("*1\r\n$-0\r\n", "", ib);
    CASE("*1\r\n$536870913\r\n", "", ib);
    CASE("*1\r\n$99999999999999999999999\r\n", "", ib);
    /* Requests before the error come out first. */
    CASE("PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n",
         "I*1\r\n$4\r\nPING\r\nM*1\r\n$4\r\nPING\r\n", imb);
}

static void test_parse_errors_inline(void **state)
{
    (void)state;
    const char *ub = "Protocol error: unbalanced quotes in request";
    CASE("set \"abc\n", "", ub);
    CASE("set 'abc\r\n", "", ub);
    CASE("set \"a\"b\n", "", ub);
    CASE("set 'a'b\n", "", ub);
    CASE("set \"abc\\\"\n", "", ub);
    CASE("set \"abc\\\n", "", ub);
    CASE("ok\nset \"a\n", "I*1\r\n$2\r\nok\r\n", ub);
}

static void test_parse_limits(void **state)
{
    (void)state;
    resp_limits lim = {.max_bulk_len = 10, .max_multibulk_len = 3, .max_inline_len = 16};
    /* Bulk length at and above the limit. */
    CASEL(&lim, "*1\r\n$10\r\n0123456789\r\n", "M*1\r\n$10\r\n0123456789\r\n", NULL);
    CASEL(&lim, "*1\r\n$11\r\n", "", "Protocol error: invalid bulk length");
    /* Count at and above the limit. */
    CASEL(&lim, "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
          "M*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", NULL);
    CASEL(&lim, "*4\r\n", "", "Protocol error: invalid multibulk length");
    /* Inline line of exactly the limit (CRLF not counted), then one more. */
    CASEL(&lim, "aaaaaaaaaaaaaaaa\r\n", "I*1\r\n$16\r\naaaaaaaaaaaaaaaa\r\n", NULL);
    CASEL(&lim, "aaaaaaaaaaaaaaaaa\r\n", "", "Protocol error: too big inline request");
    /* Too long without a newline at all. */
    CASEL(&lim, "aaaaaaaaaaaaaaaaa", "", "Protocol error: too big inline request");
    CASEL(&lim, "aaaaaaaaaaaaaaaa", "", NULL);
    /* Header lines: "*" plus 16 bytes is too long; a bulk header too. */
    CASEL(&lim, "*0000000000000001", "", "Protocol error: too big mbulk count string");
    CASEL(&lim, "*000000000000001", "", NULL);
    CASEL(&lim, "*1\r\n$0000000000000001", "", "Protocol error: too big bulk count string");
    CASEL(&lim, "*1\r\n$000000000000001\r\n", "", "Protocol error: invalid bulk length");
    /* A header line that is complete but too long is the same error. */
    CASEL(&lim, "*1\r\n$0000000000000001\r\n", "", "Protocol error: too big bulk count string");
    /* The '$' is checked once the line is complete, as Redis does. */
    CASEL(&lim, "*1\r\nxxxxxxxxxxxxxxxxxx", "", "Protocol error: too big bulk count string");

    /* Default limits: 64 KB lines. */
    size_t n = 64 * 1024 + 1;
    char *big = malloc(n + 2);
    assert_non_null(big);
    memset(big, 'a', n);
    resp_parser *p = resp_parser_new(&default_limits);
    resp_request req;
    resp_parser_feed(p, big, n - 1);
    assert_int_equal(resp_parser_next(p, &req), RESP_MORE);
    resp_parser_feed(p, big, 1);
    assert_int_equal(resp_parser_next(p, &req), RESP_ERROR);
    assert_string_equal(resp_parser_error(p), "Protocol error: too big inline request");
    resp_parser_free(p);

    big[0] = '*';
    p = resp_parser_new(&default_limits);
    resp_parser_feed(p, big, n);
    assert_int_equal(resp_parser_next(p, &req), RESP_ERROR);
    assert_string_equal(resp_parser_error(p), "Protocol error: too big mbulk count string");
    resp_parser_free(p);
    free(big);
}

static void test_parse_set_limits(void **state)
{
    (void)state;
    resp_limits small = {.max_bulk_len = 3, .max_multibulk_len = 2, .max_inline_len = 100};
    resp_parser *p = resp_parser_new(&default_limits);
    resp_request req;
    /* A request already started keeps the limits it started with. */
    resp_parser_feed(p, "*2\r\n$5\r\nhello", 13);
    assert_int_equal(resp_parser_next(p, &req), RESP_MORE);
    resp_parser_set_limits(p, &small);
    resp_parser_feed(p, "\r\n$5\r\nworld\r\n", 13);
    assert_int_equal(resp_parser_next(p, &req), RESP_OK);
    assert_int_equal(req.argc, 2);
    assert_memory_equal(req.argv[1], "world", 6);
    /* The next one has the new limits. */
    resp_parser_feed(p, "*1\r\n$4\r\nPING\r\n", 14);
    assert_int_equal(resp_parser_next(p, &req), RESP_ERROR);
    assert_string_equal(resp_parser_error(p), "Protocol error: invalid bulk length");
    resp_parser_free(p);
}

static void test_parse_auth_required(void **state)
{
    (void)state;
    resp_parser *p = resp_parser_new(&default_limits);
    resp_request req;
    resp_parser_set_auth_required(p, 1);
    resp_parser_feed(p, "*10\r\n", 5);
    for (int i = 0; i < 10; i++) resp_parser_feed(p, "$1\r\nx\r\n", 7);
    assert_int_equal(resp_parser_next(p, &req), RESP_OK);
    assert_int_equal(req.argc, 10);
    resp_parser_feed(p, "*11\r\n", 5);
    assert_int_equal(resp_parser_next(p, &req), RESP_ERROR);
    assert_string_equal(resp_parser_error(p), "Protocol error: unauthenticated multibulk length");
    resp_parser_free(p);

    char *blob = calloc(1, 16387);
    assert_non_null(blob);
    memcpy(blob + 16385, "\r\n", 2);

    /* 16384 bytes are allowed, 16385 are not. */
    p = resp_parser_new(&default_limits);
    resp_parser_set_auth_required(p, 1);
    resp_parser_feed(p, "*1\r\n$16384\r\n", 12);
    resp_parser_feed(p, blob + 1, 16386);
    assert_int_equal(resp_parser_next(p, &req), RESP_OK);
    assert_int_equal(req.argvlen[0], 16384);
    resp_parser_feed(p, "*1\r\n$16385\r\n", 12);
    assert_int_equal(resp_parser_next(p, &req), RESP_ERROR);
    assert_string_equal(resp_parser_error(p), "Protocol error: unauthenticated bulk length");
    resp_parser_free(p);

    /* Once AUTH ran the limit is lifted for what follows. */
    p = resp_parser_new(&default_limits);
    resp_parser_set_auth_required(p, 1);
    resp_parser_set_auth_required(p, 0);
    resp_parser_feed(p, "*1\r\n$16385\r\n", 12);
    resp_parser_feed(p, blob, 16387);
    assert_int_equal(resp_parser_next(p, &req), RESP_OK);
    assert_int_equal(req.argvlen[0], 16385);
    free(blob);
    resp_parser_free(p);
}

/* ------------------------------------------------- parser: memory use */

static void test_parse_big_bulk(void **state)
{
    (void)state;
    const size_t big = 8 * 1024 * 1024 + 3; /* bytes: a large, odd-sized argument */
    const size_t rd = 16 * 1024;            /* bytes per simulated read */
    resp_parser *p = resp_parser_new(&default_limits);
    resp_request req;
    char hdr[64];
    int hl = snprintf(hdr, sizeof(hdr), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", big);
    resp_parser_feed(p, hdr, (size_t)hl);
    assert_int_equal(resp_parser_next(p, &req), RESP_MORE);
    assert_int_equal(resp_parser_want(p), big + 2);

    size_t sent = 0, caps_seen = 0, last_cap = resp_parser_capacity(p);
    while (sent < big + 2) {
        size_t n = big + 2 - sent < rd ? big + 2 - sent : rd;
        char *dst = resp_parser_space(p, rd);
        for (size_t i = 0; i < n; i++) {
            size_t at = sent + i;
            dst[i] = at < big ? (char)('a' + at % 26) : (at == big ? '\r' : '\n');
        }
        resp_parser_wrote(p, n);
        sent += n;
        if (resp_parser_capacity(p) != last_cap) {
            caps_seen++;
            last_cap = resp_parser_capacity(p);
        }
        resp_status st = resp_parser_next(p, &req);
        if (sent < big + 2) {
            assert_int_equal(st, RESP_MORE);
            assert_int_equal(resp_parser_want(p), big + 2 - sent);
        } else {
            assert_int_equal(st, RESP_OK);
        }
    }
    /* Reserved once: the capacity changed a single time during the bulk and
     * is the bulk plus headers plus one read, not a power of two above. */
    assert_int_equal(caps_seen, 1);
    assert_true(last_cap <= big + 2 + (size_t)hl + rd);
    assert_int_equal(req.argc, 3);
    assert_int_equal(req.argvlen[2], big);
    for (size_t i = 0; i < big; i += 4099) assert_int_equal(req.argv[2][i], 'a' + i % 26);
    assert_int_equal(req.argv[2][big], '\0');

    /* Memory goes back to the baseline afterwards. */
    assert_int_equal(resp_parser_buffered(p), 0);
    resp_parser_shrink(p, 16 * 1024);
    assert_true(resp_parser_capacity(p) <= 16 * 1024);
    resp_parser_shrink(p, 0);
    assert_int_equal(resp_parser_capacity(p), 0);
    /* And the parser still works. */
    resp_parser_feed(p, "PING\r\n", 6);
    assert_int_equal(resp_parser_next(p, &req), RESP_OK);
    assert_memory_equal(req.argv[0], "PING", 5);
    resp_parser_free(p);
}

static void test_parse_shrink_keeps_partial(void **state)
{
    (void)state;
    resp_parser *p = resp_parser_new(&default_limits);
    resp_request req;
    /* Grow the buffer with a 200 KB request followed by a partial one. */
    size_t big = 200 * 1024;
    char *blob = malloc(big + 64);
    assert_non_null(blob);
    int hl = sprintf(blob, "*1\r\n$%zu\r\n", big);
    memset(blob + hl, 'z', big);
    const char *tail = "\r\n*2\r\n$3\r\nGET\r\n$3\r\nab";
    memcpy(blob + hl + big, tail, strlen(tail));
    resp_parser_feed(p, blob, (size_t)hl + big + strlen(tail));
    assert_int_equal(resp_parser_next(p, &req), RESP_OK);
    assert_int_equal(req.argvlen[0], big);
    assert_int_equal(resp_parser_next(p, &req), RESP_MORE);
    assert_true(resp_parser_capacity(p) > big);
    /* Shrinking keeps the partial request intact. */
    resp_parser_shrink(p, 4096);
    assert_true(resp_parser_capacity(p) <= 4096);
    assert_int_equal(resp_parser_buffered(p), strlen(tail) - 2);
    resp_parser_feed(p, "c\r\n", 3);
    assert_int_equal(resp_parser_next(p, &req), RESP_OK);
    assert_int_equal(req.argc, 2);
    assert_memory_equal(req.argv[1], "abc", 4);
    free(blob);
    resp_parser_free(p);
}

static void test_parse_steady_state(void **state)
{
    (void)state;
    /* A -P 16 PING workload: after warm-up the buffer never grows and
     * every request comes back. */
    resp_parser *p = resp_parser_new(&default_limits);
    resp_request req;
    const char *ping = "*1\r\n$4\r\nPING\r\n";
    sbuf in = {0};
    for (int i = 0; i < 16; i++) sb_add(&in, ping, 14);
    size_t cap = 0;
    long got = 0;
    for (int round = 0; round < 20000; round++) {
        /* Odd-sized reads so requests straddle read boundaries. */
        size_t off = 0;
        while (off < in.len) {
            size_t n = 1 + (size_t)(rng_next() % 100);
            if (n > in.len - off) n = in.len - off;
            char *dst = resp_parser_space(p, 16 * 1024);
            memcpy(dst, in.p + off, n);
            resp_parser_wrote(p, n);
            off += n;
            while (resp_parser_next(p, &req) == RESP_OK) {
                assert_int_equal(req.argc, 1);
                assert_memory_equal(req.argv[0], "PING", 5);
                got++;
            }
        }
        if (round == 10) cap = resp_parser_capacity(p);
        if (round > 10) assert_int_equal(resp_parser_capacity(p), cap);
    }
    assert_int_equal(got, 16L * 20000);
    free(in.p);
    resp_parser_free(p);
}

static void test_parse_many_args(void **state)
{
    (void)state;
    /* 100k arguments announced with a count far above the preallocation. */
    const int n = 100000;
    sbuf in = {0};
    sb_addf(&in, "*%d\r\n", n);
    for (int i = 0; i < n; i++) {
        char a[16];
        int l = snprintf(a, sizeof(a), "%d", i);
        sb_addf(&in, "$%d\r\n%s\r\n", l, a);
    }
    resp_parser *p = resp_parser_new(&default_limits);
    resp_request req;
    size_t off = 0;
    resp_status st = RESP_MORE;
    while (off < in.len) {
        size_t k = in.len - off < 4096 ? in.len - off : 4096;
        resp_parser_feed(p, in.p + off, k);
        off += k;
        st = resp_parser_next(p, &req);
        if (off < in.len) assert_int_equal(st, RESP_MORE);
    }
    assert_int_equal(st, RESP_OK);
    assert_int_equal(req.argc, n);
    for (int i = 0; i < n; i += 997) assert_int_equal(atoi(req.argv[i]), i);
    resp_parser_shrink(p, 0);
    assert_int_equal(resp_parser_capacity(p), 0);
    free(in.p);
    resp_parser_free(p);
}

/* peek: the bytes after the last request returned, and none while a
 * request is half parsed. */
static void test_parse_peek(void **state)
{
    (void)state;
    resp_parser *p = resp_parser_new(&default_limits);
    resp_request req;
    size_t n;
    const char *in = "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nVSIM\r\n$1";
    resp_parser_feed(p, in, strlen(in));
    resp_parser_peek(p, &n);
    assert_int_equal(n, strlen(in)); /* nothing parsed yet */
    assert_int_equal(resp_parser_next(p, &req), RESP_OK);
    assert_int_equal(req.argc, 1);
    const char *rest = resp_parser_peek(p, &n);
    assert_int_equal(n, strlen(in) - 14);
    assert_memory_equal(rest, "*2\r\n$4\r\nVSIM\r\n$1", n);
    assert_int_equal(resp_parser_next(p, &req), RESP_MORE); /* half a request */
    resp_parser_peek(p, &n);
    assert_int_equal(n, 0);
    resp_parser_feed(p, "\r\nk\r\n", 5);
    assert_int_equal(resp_parser_next(p, &req), RESP_OK);
    resp_parser_peek(p, &n);
    assert_int_equal(n, 0); /* all consumed */
    resp_parser_free(p);
}

static void test_parse_free_null(void **state)
{
    (void)state;
    resp_parser_free(NULL);
    resp_parser *p = resp_parser_new(&default_limits);
    assert_string_equal(resp_parser_error(p), "");
    assert_int_equal(resp_parser_buffered(p), 0);
    assert_int_equal(resp_parser_want(p), 0);
    resp_request req;
    assert_int_equal(resp_parser_next(p, &req), RESP_MORE);
    resp_parser_free(p);
}

/* ------------------------------------------------------------- builder */

/* Checks that b holds exactly `exp` (explen bytes), then empties it. */
static void expect_buf(resp_buf *b, const char *exp, size_t explen, int line)
{
    if (b->len - b->pos != explen || memcmp(b->buf + b->pos, exp, explen) != 0) {
        print_error("line %d: got %zu bytes [%.*s] want %zu bytes [%.*s]\n", line,
                    b->len - b->pos, (int)(b->len - b->pos), b->buf ? b->buf + b->pos : "",
                    explen, (int)explen, exp);
        fail();
    }
    resp_buf_reset(b);
}
#define EXPECT(b, lit) expect_buf(b, lit, sizeof(lit) - 1, __LINE__)

/* Runs `body` (which fills resp_buf *b) in RESP2 and RESP3 and compares. */
#define BOTH(body, exp2, exp3)                                                                     \
    do {                                                                                           \
        resp_buf bb;                                                                               \
        resp_buf *b = &bb;                                                                         \
        resp_buf_init(b, 2);                                                                       \
        body;                                                                                      \
        EXPECT(b, exp2);                                                                           \
        b->proto = 3;                                                                              \
        body;                                                                                      \
        EXPECT(b, exp3);                                                                           \
        resp_buf_free(b);                                                                          \
    } while (0)

static void test_reply_scalars(void **state)
{
    (void)state;
    BOTH(resp_add_simple(b, "OK"), "+OK\r\n", "+OK\r\n");
    BOTH(resp_add_simple(b, ""), "+\r\n", "+\r\n");
    BOTH(resp_add_error(b, "ERR syntax error"), "-ERR syntax error\r\n",
         "-ERR syntax error\r\n");
    BOTH(resp_add_error(b, "-WRONGTYPE Operation"), "-WRONGTYPE Operation\r\n",
         "-WRONGTYPE Operation\r\n");
    BOTH(resp_add_errorf(b, "ERR unknown command '%s', with args beginning with: ", "foo"),
         "-ERR unknown command 'foo', with args beginning with: \r\n",
         "-ERR unknown command 'foo', with args beginning with: \r\n");
    BOTH(resp_add_integer(b, 0), ":0\r\n", ":0\r\n");
    BOTH(resp_add_integer(b, -1), ":-1\r\n", ":-1\r\n");
    BOTH(resp_add_integer(b, 9223372036854775807LL), ":9223372036854775807\r\n",
         ":9223372036854775807\r\n");
    BOTH(resp_add_integer(b, -9223372036854775807LL - 1), ":-9223372036854775808\r\n",
         ":-9223372036854775808\r\n");
    BOTH(resp_add_bulk(b, "abc", 3), "$3\r\nabc\r\n", "$3\r\nabc\r\n");
    BOTH(resp_add_bulk(b, "", 0), "$0\r\n\r\n", "$0\r\n\r\n");
    BOTH(resp_add_bulk(b, "a\0\r\nb", 5), "$5\r\na\0\r\nb\r\n", "$5\r\na\0\r\nb\r\n");
    BOTH(resp_add_bulk_cstr(b, "hello"), "$5\r\nhello\r\n", "$5\r\nhello\r\n");
    BOTH(resp_add_bulk_cstr(b, NULL), "$-1\r\n", "_\r\n");
    BOTH(resp_add_bulk_ll(b, -42), "$3\r\n-42\r\n", "$3\r\n-42\r\n");
    BOTH(resp_add_bulk_ll(b, -9223372036854775807LL - 1), "$20\r\n-9223372036854775808\r\n",
         "$20\r\n-9223372036854775808\r\n");
    BOTH(resp_add_null(b), "$-1\r\n", "_\r\n");
    BOTH(resp_add_null_array(b), "*-1\r\n", "_\r\n");
    BOTH(resp_add_bool(b, 1), ":1\r\n", "#t\r\n");
    BOTH(resp_add_bool(b, 0), ":0\r\n", "#f\r\n");
    BOTH(resp_add_verbatim(b, "abcd", 4, "txt"), "$4\r\nabcd\r\n", "=8\r\ntxt:abcd\r\n");
    BOTH(resp_add_verbatim(b, "# x\r\ny", 6, "mkd"), "$6\r\n# x\r\ny\r\n",
         "=10\r\nmkd:# x\r\ny\r\n");
    BOTH(resp_add_verbatim(b, "", 0, NULL), "$0\r\n\r\n", "=4\r\ntxt:\r\n");
}

static void test_reply_crlf_stripped(void **state)
{
    (void)state;
    BOTH(resp_add_simple(b, "a\r\nb\nc\rd"), "+a  b c d\r\n", "+a  b c d\r\n");
    BOTH(resp_add_error(b, "ERR bad\r\nthing\n"), "-ERR bad  thing \r\n",
         "-ERR bad  thing \r\n");
    BOTH(resp_add_errorf(b, "ERR unknown command '%s'", "x\r\n:1"),
         "-ERR unknown command 'x  :1'\r\n", "-ERR unknown command 'x  :1'\r\n");
    /* An error longer than any stack buffer. */
    char longarg[1000];
    memset(longarg, 'q', sizeof(longarg) - 1);
    longarg[sizeof(longarg) - 1] = '\0';
    longarg[500] = '\n';
    resp_buf b;
    resp_buf_init(&b, 2);
    resp_add_errorf(&b, "ERR %s!", longarg);
    assert_int_equal(b.len, 1 + 4 + 999 + 1 + 2);
    assert_memory_equal(b.buf, "-ERR qqq", 8);
    assert_int_equal(b.buf[5 + 500], ' ');
    assert_memory_equal(b.buf + b.len - 4, "qq!\r\n" + 1, 4);
    assert_null(memchr(b.buf, '\n', b.len - 1));
    resp_buf_free(&b);
}

static void test_reply_aggregates(void **state)
{
    (void)state;
    BOTH(resp_add_array(b, 3), "*3\r\n", "*3\r\n");
    BOTH(resp_add_array(b, 0), "*0\r\n", "*0\r\n");
    BOTH(resp_add_map(b, 2), "*4\r\n", "%2\r\n");
    BOTH(resp_add_map(b, 0), "*0\r\n", "%0\r\n");
    BOTH(resp_add_set(b, 5), "*5\r\n", "~5\r\n");
    BOTH(resp_add_push(b, 3), "*3\r\n", ">3\r\n");
    /* A HELLO-like map, whole. */
    BOTH(
        {
            resp_add_map(b, 2);
            resp_add_bulk_cstr(b, "server");
            resp_add_bulk_cstr(b, "vectis");
            resp_add_bulk_cstr(b, "proto");
            resp_add_integer(b, b->proto);
        },
        "*4\r\n$6\r\nserver\r\n$6\r\nvectis\r\n$5\r\nproto\r\n:2\r\n",
        "%2\r\n$6\r\nserver\r\n$6\r\nvectis\r\n$5\r\nproto\r\n:3\r\n");
    /* A pub/sub message. */
    BOTH(
        {
            resp_add_push(b, 3);
            resp_add_bulk_cstr(b, "message");
            resp_add_bulk_cstr(b, "ch");
            resp_add_bulk_cstr(b, "hi");
        },
        "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n");
}

static void test_reply_double(void **state)
{
    (void)state;
    BOTH(resp_add_double(b, 1.5), "$3\r\n1.5\r\n", ",1.5\r\n");
    BOTH(resp_add_double(b, 3.0), "$1\r\n3\r\n", ",3\r\n");
    BOTH(resp_add_double(b, 0.1), "$3\r\n0.1\r\n", ",0.1\r\n");
    BOTH(resp_add_double(b, 0.8535533845424652), "$18\r\n0.8535533845424652\r\n",
         ",0.8535533845424652\r\n");
    BOTH(resp_add_double(b, 1.0 / 3), "$18\r\n0.3333333333333333\r\n", ",0.3333333333333333\r\n");
    BOTH(resp_add_double(b, 1e300), "$6\r\n1e+300\r\n", ",1e+300\r\n");
    BOTH(resp_add_double(b, -2.5e-310), "$9\r\n-2.5e-310\r\n", ",-2.5e-310\r\n");
    BOTH(resp_add_double(b, -0.0), "$2\r\n-0\r\n", ",-0\r\n");
    BOTH(resp_add_double(b, INFINITY), "$3\r\ninf\r\n", ",inf\r\n");
    BOTH(resp_add_double(b, -INFINITY), "$4\r\n-inf\r\n", ",-inf\r\n");
    BOTH(resp_add_double(b, NAN), "$3\r\nnan\r\n", ",nan\r\n");
    BOTH(resp_add_double(b, -NAN), "$3\r\nnan\r\n", ",nan\r\n");

    char s[8];
    assert_int_equal(resp_format_double(s, sizeof(s), 0.25), 4);
    assert_string_equal(s, "0.25");
    assert_int_equal(resp_format_double(s, sizeof(s), 1.0 / 3), 7);
    assert_string_equal(s, "0.33333");
    assert_int_equal(resp_format_double(s, 2, -INFINITY), 1);
    assert_string_equal(s, "-");
    assert_int_equal(resp_format_double(s, 0, 1.0), 0);
}

static void test_reply_deferred(void **state)
{
    (void)state;
    /* Flat: length known after the elements. */
    BOTH(
        {
            size_t h = resp_add_deferred(b);
            resp_add_bulk_cstr(b, "a");
            resp_add_integer(b, 7);
            resp_set_deferred(b, h, RESP_AGG_ARRAY, 2);
        },
        "*2\r\n$1\r\na\r\n:7\r\n", "*2\r\n$1\r\na\r\n:7\r\n");
    /* Empty, last thing in the buffer, after earlier content. */
    BOTH(
        {
            resp_add_simple(b, "OK");
            size_t h = resp_add_deferred(b);
            resp_set_deferred(b, h, RESP_AGG_SET, 0);
        },
        "+OK\r\n*0\r\n", "+OK\r\n~0\r\n");
    /* Nested, inner first: a map whose value is a set of two. */
    BOTH(
        {
            size_t outer = resp_add_deferred(b);
            resp_add_bulk_cstr(b, "k");
            size_t inner = resp_add_deferred(b);
            resp_add_integer(b, 1);
            resp_add_integer(b, 2);
            resp_set_deferred(b, inner, RESP_AGG_SET, 2);
            resp_add_bulk_cstr(b, "k2");
            resp_add_null(b);
            resp_set_deferred(b, outer, RESP_AGG_MAP, 2);
        },
        "*4\r\n$1\r\nk\r\n*2\r\n:1\r\n:2\r\n$2\r\nk2\r\n$-1\r\n",
        "%2\r\n$1\r\nk\r\n~2\r\n:1\r\n:2\r\n$2\r\nk2\r\n_\r\n");
    /* A count as wide as the slot allows. */
    BOTH(
        {
            size_t h = resp_add_deferred(b);
            resp_set_deferred(b, h, RESP_AGG_ARRAY, 9223372036854775807L);
        },
        "*9223372036854775807\r\n", "*9223372036854775807\r\n");
}

/* Builds a random reply tree two ways: with deferred lengths through the
 * builder, and directly as text; both must match. */
static void random_tree(resp_buf *b, sbuf *exp, int depth)
{
    int kind = (int)(rng_next() % 6);
    if (depth >= 4) kind %= 3;
    switch (kind) {
    case 0: {
        long long v = (long long)rng_next();
        resp_add_integer(b, v);
        sb_addf(exp, ":%lld\r\n", v);
        break;
    }
    case 1: {
        char s[40];
        size_t n = rng_next() % sizeof(s);
        for (size_t i = 0; i < n; i++) s[i] = (char)rng_next();
        resp_add_bulk(b, s, n);
        sb_addf(exp, "$%zu\r\n", n);
        sb_add(exp, s, n);
        sb_add(exp, "\r\n", 2);
        break;
    }
    case 2:
        resp_add_null(b);
        sb_add(exp, b->proto == 3 ? "_\r\n" : "$-1\r\n", b->proto == 3 ? 3 : 5);
        break;
    default: {
        int agg = kind - 3; /* RESP_AGG_ARRAY, _MAP, _SET */
        long n = (long)(rng_next() % 5);
        long elems = agg == RESP_AGG_MAP ? 2 * n : n;
        char type = agg == RESP_AGG_ARRAY ? '*' : agg == RESP_AGG_MAP ? '%' : '~';
        if (b->proto == 2) type = '*';
        sb_addf(exp, "%c%ld\r\n", type, b->proto == 2 ? elems : n);
        size_t h = resp_add_deferred(b);
        for (long i = 0; i < elems; i++) random_tree(b, exp, depth + 1);
        resp_set_deferred(b, h, agg, n);
        break;
    }
    }
}

static void test_reply_deferred_random(void **state)
{
    (void)state;
    for (int proto = 2; proto <= 3; proto++) {
        for (int round = 0; round < 300; round++) {
            resp_buf b;
            resp_buf_init(&b, proto);
            sbuf exp = {0};
            int top = 1 + (int)(rng_next() % 4);
            for (int i = 0; i < top; i++) random_tree(&b, &exp, 0);
            assert_int_equal(b.len, exp.len);
            assert_memory_equal(b.buf, exp.p, exp.len);
            free(exp.p);
            resp_buf_free(&b);
        }
    }
}

static void test_reply_buffer(void **state)
{
    (void)state;
    resp_buf b;
    resp_buf_init(&b, 3);
    assert_int_equal(resp_buf_pending(&b), 0);

    /* Growth over many appends keeps every byte. */
    sbuf exp = {0};
    for (int i = 0; i < 5000; i++) {
        resp_add_bulk_ll(&b, i);
        sb_addf(&exp, "$%d\r\n%d\r\n", snprintf(NULL, 0, "%d", i), i);
    }
    resp_buf_append_raw(&b, "raw", 3);
    sb_add(&exp, "raw", 3);
    assert_int_equal(b.len, exp.len);
    assert_memory_equal(b.buf, exp.p, exp.len);

    /* Partial consumption, then draining, resets to the start. */
    resp_buf_consume(&b, 10);
    assert_int_equal(resp_buf_pending(&b), exp.len - 10);
    assert_memory_equal(b.buf + b.pos, exp.p + 10, exp.len - 10);
    char *storage = b.buf;
    resp_buf_consume(&b, exp.len - 10);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.pos, 0);
    resp_add_simple(&b, "OK");
    assert_ptr_equal(b.buf, storage);
    assert_memory_equal(b.buf, "+OK\r\n", 5);
    resp_buf_reset(&b);

    /* A slow writer: once most of a big buffer is consumed, the pending
     * tail moves to the front and stays intact. */
    char blob[1000];
    for (size_t i = 0; i < sizeof(blob); i++) blob[i] = (char)('A' + i % 26);
    for (int i = 0; i < 100; i++) resp_buf_append_raw(&b, blob, sizeof(blob));
    resp_buf_consume(&b, 60000);
    assert_int_equal(b.pos, 0);
    assert_int_equal(b.len, 40000);
    for (size_t i = 0; i < 40000; i++) assert_int_equal(b.buf[i], 'A' + (60000 + i) % 1000 % 26);
    /* Small consumption does not move anything. */
    resp_buf_consume(&b, 100);
    assert_int_equal(b.pos, 100);

    /* Shrink only when nothing is pending. */
    size_t cap = b.cap;
    resp_buf_shrink(&b, 1024);
    assert_int_equal(b.cap, cap);
    resp_buf_consume(&b, resp_buf_pending(&b));
    resp_buf_shrink(&b, 1024);
    assert_int_equal(b.cap, 1024);
    resp_buf_shrink(&b, 0);
    assert_null(b.buf);
    assert_int_equal(b.cap, 0);

    /* Free keeps the protocol and the buffer is reusable. */
    resp_add_bool(&b, 1);
    resp_buf_free(&b);
    assert_null(b.buf);
    assert_int_equal(b.proto, 3);
    resp_add_bool(&b, 0);
    EXPECT(&b, "#f\r\n");
    resp_buf_free(&b);
    free(exp.p);
}

int main(void)
{
    test_seed = rng_seed("test_resp", "RESP_TEST_SEED");

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_multibulk),
        cmocka_unit_test(test_parse_inline),
        cmocka_unit_test(test_parse_pipeline),
        cmocka_unit_test(test_parse_errors_multibulk),
        cmocka_unit_test(test_parse_errors_inline),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_parse_set_limits),
        cmocka_unit_test(test_parse_auth_required),
        cmocka_unit_test(test_parse_big_bulk),
        cmocka_unit_test(test_parse_shrink_keeps_partial),
        cmocka_unit_test(test_parse_steady_state),
        cmocka_unit_test(test_parse_many_args),
        cmocka_unit_test(test_parse_peek),
        cmocka_unit_test(test_parse_free_null),
        cmocka_unit_test(test_reply_scalars),
        cmocka_unit_test(test_reply_crlf_stripped),
        cmocka_unit_test(test_reply_aggregates),
        cmocka_unit_test(test_reply_double),
        cmocka_unit_test(test_reply_deferred),
        cmocka_unit_test(test_reply_deferred_random),
        cmocka_unit_test(test_reply_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
