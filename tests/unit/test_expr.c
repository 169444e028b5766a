/*
 * test_expr.c -- unit tests of src/engine/expr: the vector-set FILTER
 * language (VECTORSETS.md section 5) compiled and evaluated against decoded
 * attributes (src/engine/attrs).
 *
 * The core is one table: each row is (attribute JSON or NULL, expression,
 * expected result), the result being MATCH, NOMATCH, or ERR with the exact
 * error tail that follows "ERR syntax error in FILTER expression near: ".
 * Then: nesting and stack limits, NUL bytes and CR/LF in the source, the
 * selector list, the Milvus stub, concurrent evaluation from several
 * threads, random expressions (compile never crashes; evaluation is
 * deterministic), and a small benchmark that prints ns per evaluation
 * (never asserts on speed).
 *
 * The seed of the random parts is printed; set EXPR_TEST_SEED to replay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/expr.h"
#include "test_rng.h"

enum { NOMATCH = 0, MATCH = 1, ERR = 2 };

typedef struct row {
    const char *json; /* NULL: element without attributes */
    const char *expr;
    int want;
    const char *tail; /* ERR rows */
} row;

/* The attribute set most rows use. */
#define MOVIE                                                                                      \
    "{\"year\": 1950, \"genre\": \"drama\", \"rating\": 8.5, \"title\": \"The Matrix\","           \
    " \"tags\": [\"a\", \"b\", 3], \"active\": true, \"off\": false, \"nothing\": null,"           \
    " \"empty\": \"\", \"obj\": {\"a\": 1}, \"ystr\": \"1950\", \"zero\": 0, \"neg\": -3,"         \
    " \"nested\": [1, [2]], \"u\": \"\\u00e9t\\u00e9\", \"x-1\": 7, \"5\": 5, \"et\": []}"
#define ESC "{\"dq\": \"a\\\"b\", \"sq\": \"O'Brien\", \"bs\": \"x\\\\y\", \"nl\": \"l1\\nl2\"}"

static const row rows[] = {
    /* ---------------------------------------------------- comparisons */
    {MOVIE, ".year > 1950", NOMATCH, NULL},
    {MOVIE, ".year >= 1950", MATCH, NULL},
    {MOVIE, ".year < 1951", MATCH, NULL},
    {MOVIE, ".year <= 1949", NOMATCH, NULL},
    {MOVIE, ".year == 1950", MATCH, NULL},
    {MOVIE, ".year != 1950", NOMATCH, NULL},
    {MOVIE, ".year==1950", MATCH, NULL},
    {MOVIE, ".year > 1949 and .genre == \"drama\"", MATCH, NULL},
    {MOVIE, ".year > 1950 and .genre == \"drama\"", NOMATCH, NULL},
    {MOVIE, ".rating * 2 == 17", MATCH, NULL},
    {MOVIE, ".neg>-4", MATCH, NULL},
    {MOVIE, ".neg<-2", MATCH, NULL},
    /* Strings vs numbers. */
    {MOVIE, ".year == \"1950\"", MATCH, NULL},
    {MOVIE, ".ystr == 1950", MATCH, NULL},
    {MOVIE, ".ystr == 1950.0", MATCH, NULL},
    {MOVIE, ".ystr == \"1950.0\"", NOMATCH, NULL}, /* both strings: bytewise */
    {MOVIE, ".ystr == \"1950\"", MATCH, NULL},
    {MOVIE, ".ystr > 1949", MATCH, NULL},
    {MOVIE, ".genre == \"drama\"", MATCH, NULL},
    {MOVIE, ".genre == 'drama'", MATCH, NULL},
    {MOVIE, ".genre == \"Drama\"", NOMATCH, NULL},
    {MOVIE, ".genre != \"comedy\"", MATCH, NULL},
    {MOVIE, ".genre == 0", MATCH, NULL}, /* mixed: "drama" is 0 as a number */
    {MOVIE, ".genre > -1", MATCH, NULL},
    {MOVIE, ".genre < 1", MATCH, NULL},
    {MOVIE, "\"10\" > \"9\"", MATCH, NULL}, /* ordering always compares numbers */
    {MOVIE, "\"abc\" < \"abd\"", NOMATCH, NULL},
    {MOVIE, "\" 12\" == 12", MATCH, NULL},
    {MOVIE, "\"12 \" == 12", NOMATCH, NULL},
    {MOVIE, "\"0x10\" == 16", MATCH, NULL},
    {MOVIE, ".u == \"\\u00e9t\\u00e9\"", MATCH, NULL},
    {MOVIE, ".u == \"\xc3\xa9t\xc3\xa9\"", MATCH, NULL},
    /* Booleans are 1/0. */
    {MOVIE, ".active == 1", MATCH, NULL},
    {MOVIE, ".off == 0", MATCH, NULL},
    {MOVIE, ".active", MATCH, NULL},
    {MOVIE, ".off", NOMATCH, NULL},
    /* -------------------------------------------------------- null */
    {MOVIE, ".nothing == null", MATCH, NULL},
    {MOVIE, ".nothing != null", NOMATCH, NULL},
    {MOVIE, ".year == null", NOMATCH, NULL},
    {MOVIE, ".year != null", MATCH, NULL},
    {MOVIE, "null == null", MATCH, NULL},
    {MOVIE, ".nothing == 0", NOMATCH, NULL},
    {MOVIE, ".nothing == \"\"", NOMATCH, NULL},
    {MOVIE, ".nothing", NOMATCH, NULL},
    {MOVIE, "!.nothing", MATCH, NULL},
    {MOVIE, "null", NOMATCH, NULL},
    {MOVIE, "null + 1 == 1", MATCH, NULL},
    {MOVIE, "null < 1", MATCH, NULL},
    {MOVIE, "notnull", MATCH, NULL}, /* `not null`, as Redis lexes it */
    {MOVIE, "null in [1]", NOMATCH, NULL},
    /* ------------------------------------------------- truthiness */
    {MOVIE, ".empty", NOMATCH, NULL},
    {MOVIE, "!.empty", MATCH, NULL},
    {MOVIE, ".genre", MATCH, NULL},
    {MOVIE, ".tags", MATCH, NULL},
    {MOVIE, ".et", MATCH, NULL}, /* an empty tuple is still true */
    {MOVIE, ".zero", NOMATCH, NULL},
    {MOVIE, "\"\"", NOMATCH, NULL},
    {MOVIE, "\"0\"", MATCH, NULL},
    {MOVIE, "''", NOMATCH, NULL},
    {MOVIE, "0", NOMATCH, NULL},
    {MOVIE, "0.0", NOMATCH, NULL},
    {MOVIE, "1", MATCH, NULL},
    {MOVIE, "-1", MATCH, NULL},
    {MOVIE, "[]", MATCH, NULL},
    {MOVIE, "0 / 0", MATCH, NULL}, /* NaN != 0 */
    /* --------------------------------------------------------- in */
    {MOVIE, "\"dram\" in .genre", MATCH, NULL},
    {MOVIE, "\"rama\" in .genre", MATCH, NULL},
    {MOVIE, "\"drama\" in .genre", MATCH, NULL},
    {MOVIE, "\"dramas\" in .genre", NOMATCH, NULL},
    {MOVIE, "\"x\" in .genre", NOMATCH, NULL},
    {MOVIE, "\"\" in .genre", MATCH, NULL},
    {MOVIE, "\"\" in \"\"", MATCH, NULL},
    {MOVIE, ".genre in \"melodrama\"", MATCH, NULL},
    {MOVIE, ".genre in [\"drama\", \"comedy\"]", MATCH, NULL},
    {MOVIE, ".genre in ['comedy', 'horror']", NOMATCH, NULL},
    {MOVIE, ".year in [1950, 1960]", MATCH, NULL},
    {MOVIE, ".year in [\"1950\"]", MATCH, NULL},
    {MOVIE, ".year in [1951,]", NOMATCH, NULL},
    {MOVIE, ".year in []", NOMATCH, NULL},
    {MOVIE, ".year in \"1950\"", NOMATCH, NULL}, /* number in string: false */
    {MOVIE, "1950 in .ystr", NOMATCH, NULL},
    {MOVIE, "\"a\" in .tags", MATCH, NULL},
    {MOVIE, "3 in .tags", MATCH, NULL},
    {MOVIE, "\"3\" in .tags", MATCH, NULL},
    {MOVIE, "\"c\" in .tags", NOMATCH, NULL},
    {MOVIE, ".tags in [1]", NOMATCH, NULL},
    {MOVIE, "-1 in [ -1 , 2 ]", MATCH, NULL},
    {MOVIE, "1 in [1] == 1", MATCH, NULL},
    {MOVIE, "\"a\" in [\"a\"] == 0", NOMATCH, NULL},
    {MOVIE, "1 in 1", NOMATCH, NULL},
    /* --------------------------------------------------- arithmetic */
    {MOVIE, "1 + 2 * 3 == 7", MATCH, NULL},
    {MOVIE, "(1 + 2) * 3 == 9", MATCH, NULL},
    {MOVIE, "8 - 4 / 2 == 6", MATCH, NULL},
    {MOVIE, "1 + 5 % 3 == 3", MATCH, NULL},
    {MOVIE, "2 * 3 ** 2 == 18", MATCH, NULL},
    {MOVIE, "2 ** 3 ** 2 == 512", MATCH, NULL},
    {MOVIE, "(2 ** 3) ** 2 == 64", MATCH, NULL},
    {MOVIE, "2 ** -1 == 0.5", MATCH, NULL},
    {MOVIE, "-2 ** 2 == 4", MATCH, NULL}, /* -2 is one literal */
    {MOVIE, "10 - 5 - 5 == 0", MATCH, NULL},
    {MOVIE, "8 / 4 / 2 == 1", MATCH, NULL},
    {MOVIE, "10 % 4 % 3 == 2", MATCH, NULL},
    {MOVIE, "100 / 10 * 2 == 20", MATCH, NULL},
    {MOVIE, "10 % 3 == 1", MATCH, NULL},
    {MOVIE, "-7 % 3 == -1", MATCH, NULL}, /* fmod keeps the dividend's sign */
    {MOVIE, "5.5 % 2 == 1.5", MATCH, NULL},
    {MOVIE, "1 / 0 > 1e308", MATCH, NULL},
    {MOVIE, "-1 / 0 < -1e308", MATCH, NULL},
    {MOVIE, "0 / 0 == 0 / 0", NOMATCH, NULL},
    {MOVIE, "0 / 0 != 0 / 0", MATCH, NULL},
    {MOVIE, "1 % 0 == 1 % 0", NOMATCH, NULL},
    {MOVIE, "1 % 0 > 0 or 1 % 0 <= 0", NOMATCH, NULL},
    {MOVIE, ".year -1 == 1949", MATCH, NULL},
    {MOVIE, ".year - -1 == 1951", MATCH, NULL},
    {MOVIE, ".year-1 == 1949", NOMATCH, NULL}, /* selector "year-1": absent */
    {MOVIE, ".x-1 == 7", MATCH, NULL},
    {MOVIE, ".5 == 5", MATCH, NULL}, /* a selector, not 0.5 */
    {MOVIE, "1--1 == 2", MATCH, NULL},
    {MOVIE, "(1)-1 == 0", MATCH, NULL},
    {MOVIE, "(3) -1 == 2", MATCH, NULL},
    {MOVIE, "\"3\" + 4 == 7", MATCH, NULL},
    {MOVIE, "\"abc\" + 1 == 1", MATCH, NULL},
    {MOVIE, ".genre * 2 == 0", MATCH, NULL},
    {MOVIE, ".tags + 1 == 1", MATCH, NULL},
    {MOVIE, "1e3 == 1000", MATCH, NULL},
    {MOVIE, "1E3 == 1000", MATCH, NULL},
    {MOVIE, "1.5e1 == 15", MATCH, NULL},
    {MOVIE, "1. == 1", MATCH, NULL},
    {MOVIE, "007 == 7", MATCH, NULL},
    {MOVIE, "1e999 > 1e308", MATCH, NULL},
    /* ---------------------------------------------------- logic */
    {MOVIE, "1 and 0", NOMATCH, NULL},
    {MOVIE, "1 && 1", MATCH, NULL},
    {MOVIE, "0 or 1", MATCH, NULL},
    {MOVIE, "0 || 0", NOMATCH, NULL},
    {MOVIE, "not 0", MATCH, NULL},
    {MOVIE, "!1", NOMATCH, NULL},
    {MOVIE, "!!.active", MATCH, NULL},
    {MOVIE, "not not .active", MATCH, NULL},
    {MOVIE, "!!!.active", NOMATCH, NULL},
    {MOVIE, "!!.year == 1", MATCH, NULL},
    {MOVIE, "!.active or !!.active", MATCH, NULL},
    {MOVIE, ".year > 1 and not not .active", MATCH, NULL},
    {MOVIE, "!(.year == 1950)", NOMATCH, NULL},
    {MOVIE, "not(.year == 1950)", NOMATCH, NULL},
    {MOVIE, "1 and(0)", NOMATCH, NULL},
    {MOVIE, "\"a\" and \"b\"", MATCH, NULL},
    {MOVIE, "\"\" or null", NOMATCH, NULL},
    /* ------------------------------- precedence of every level pair */
    {MOVIE, "!2 ** 0", MATCH, NULL},      /* (!2)**0 = 1;  !(2**0) = 0 */
    {MOVIE, "not 2 ** 0", MATCH, NULL},   /* same with `not` */
    {MOVIE, "2 ** !0 == 2", MATCH, NULL}, /* unary after a binary operator */
    {MOVIE, "2 * !0 == 2", MATCH, NULL},
    {MOVIE, "1 + not 0 == 2", MATCH, NULL},
    {MOVIE, "!0 == 2", NOMATCH, NULL},        /* (!0)==2 = 0;  !(0==2) = 1 */
    {MOVIE, "not 0 and 0", NOMATCH, NULL},    /* (not 0) and 0 */
    {MOVIE, "!0 * 3 == 3", MATCH, NULL},      /* (!0)*3 */
    {MOVIE, "!1 + 1 == 1", MATCH, NULL},      /* (!1)+1 */
    {MOVIE, "2 ** 2 * 3 == 12", MATCH, NULL}, /* ** over * */
    {MOVIE, "2 ** 2 + 1 == 5", MATCH, NULL},  /* ** over + */
    {MOVIE, "1 - 1 > -5", MATCH, NULL},       /* + over comparison: 0 > -5 */
    {MOVIE, "2 - 1 in [2]", NOMATCH, NULL},   /* + over in: 1 in [2] */
    {MOVIE, "2 > 1 and 0 == 0", MATCH, NULL}, /* comparison over and */
    {MOVIE, "1 or 1 and 0", MATCH, NULL},     /* and over or */
    {MOVIE, "0 and 0 or 1", MATCH, NULL},
    {MOVIE, "0 == 1 or 1", MATCH, NULL}, /* comparison over or */
    {MOVIE, "1 or 0 == 1", MATCH, NULL},
    {MOVIE, "2 * 3 > 5", MATCH, NULL},
    {MOVIE, "2 ** 3 > 7", MATCH, NULL},
    {MOVIE, "6 / 2 in [3]", MATCH, NULL},
    {MOVIE, "3 > 2 > 1", NOMATCH, NULL}, /* (3>2)>1: left to right */
    {MOVIE, "1 < 2 < 3", MATCH, NULL},
    {MOVIE, "2 == 2 == 2", NOMATCH, NULL},
    {MOVIE, "1 == 1 == 1", MATCH, NULL},
    {MOVIE, "1 != 2 == 1", MATCH, NULL},
    {MOVIE, "((1))", MATCH, NULL},
    {MOVIE, "(1 + 2) * (3 - 1) == 6", MATCH, NULL},
    {MOVIE, "((2 + 3) * (4 - 1)) ** 2 == 225", MATCH, NULL},
    /* Forms the operand-counting compiler accepts, as Redis does. */
    {MOVIE, "1 2 +", MATCH, NULL},
    {MOVIE, "1 !", NOMATCH, NULL},
    {MOVIE, "0 !", MATCH, NULL},
    /* ------------------------------------------ missing attribute rule */
    {MOVIE, ".missing == 1 or .year > 0", NOMATCH, NULL},
    {MOVIE, ".year > 0 or .missing == 1", NOMATCH, NULL},
    {MOVIE, "!.missing", NOMATCH, NULL},
    {MOVIE, "not .missing", NOMATCH, NULL},
    {MOVIE, ".missing or 1", NOMATCH, NULL},
    {MOVIE, ".missing == null", NOMATCH, NULL},
    {MOVIE, ".obj == 1", NOMATCH, NULL},
    {MOVIE, ".obj or 1", NOMATCH, NULL},
    {MOVIE, "1 or !.obj", NOMATCH, NULL},
    {MOVIE, ".nested or 1", NOMATCH, NULL},
    {MOVIE, ".Year == 1950", NOMATCH, NULL}, /* selectors are case-sensitive */
    {MOVIE, ".year and .genre and .title", MATCH, NULL},
    {NULL, "1", NOMATCH, NULL},
    {NULL, "0 or 1", NOMATCH, NULL},
    {NULL, ".year > 0", NOMATCH, NULL},
    {"not json", "1", NOMATCH, NULL},
    {"{\"year\": 1950", ".year == 1950", NOMATCH, NULL},
    {"[1, 2]", "1", NOMATCH, NULL},
    {"", "1", NOMATCH, NULL},
    {"{}", "1", MATCH, NULL},
    {"{}", ".year", NOMATCH, NULL},
    {"{\"a\": 1, \"a\": 2}", ".a == 1", MATCH, NULL}, /* first duplicate wins */
    /* -------------------------------------- string literal escapes */
    {ESC, ".dq == \"a\\\"b\"", MATCH, NULL},
    {ESC, ".sq == 'O\\'Brien'", MATCH, NULL},
    {ESC, ".bs == \"x\\\\y\"", MATCH, NULL},
    {ESC, ".nl == \"l1\\nl2\"", MATCH, NULL},
    {ESC, "\"\\\"b\" in .dq", MATCH, NULL},
    {ESC, ".dq in [\"zzz\", \"a\\\"b\"]", MATCH, NULL},
    {ESC, "'a\"b' == .dq", MATCH, NULL},
    {ESC, ".sq == \"O'Brien\"", MATCH, NULL},
    {ESC, ".dq == \"ab\"", NOMATCH, NULL},
    {ESC, ".nl == \"l1nl2\"", NOMATCH, NULL},
    /* ------------------------------------------------------ errors */
    /* Unknown words: the tail starts after the word (Redis consumed it);
     * when that is the end of the input, the whole expression. */
    {NULL, ".x AND .y", ERR, " .y"},
    {NULL, ".x OR .y", ERR, " .y"},
    {NULL, "NOT .x", ERR, " .x"},
    {NULL, ".x IN [1]", ERR, " [1]"},
    {NULL, "NULL", ERR, "NULL"},
    {NULL, ".ok == true", ERR, ".ok == true"},
    {NULL, ".ok == false and .x", ERR, " and .x"},
    {NULL, "true", ERR, "true"},
    {NULL, "a", ERR, "a"},
    {NULL, "nulls == 1", ERR, " == 1"},
    {NULL, "(.x == null)", ERR, "(.x == null)"}, /* "null)" is one run: not the literal */
    {NULL, "index", ERR, "index"},               /* `in` then "dex" */
    {NULL, "orange", ERR, "orange"},
    {NULL, ".x = 1", ERR, " 1"},
    {NULL, ".x => 1", ERR, " 1"},
    {NULL, ".x === 1", ERR, " 1"},
    {NULL, ".x & .y", ERR, " .y"},
    {NULL, ".x | .y", ERR, " .y"},
    {NULL, "0x10 == 16", ERR, "10 == 16"},
    /* Characters that start no token: the tail starts at them. */
    {NULL, "@", ERR, "@"},
    {NULL, ".x == 1 @ 2", ERR, "@ 2"},
    {NULL, ". x", ERR, ". x"},
    {NULL, ".x == 1, 2", ERR, ", 2"},
    {NULL, ".x ] 1", ERR, "] 1"},
    {NULL, "{\"a\": 1}", ERR, "{\"a\": 1}"},
    {NULL, "\xc3\xa9 == 1", ERR, "\xc3\xa9 == 1"},
    {NULL, ".x == #", ERR, "#"},
    /* Numbers strtod rejects: the tail starts after the number. */
    {NULL, "1.2.3 > 0", ERR, " > 0"},
    {NULL, "1e-5 > 0", ERR, "-5 > 0"},
    {NULL, "1e", ERR, "1e"},
    {NULL, "1.5e+3 > 0", ERR, "+3 > 0"},
    {NULL, "--1", ERR, "--1"},
    {NULL, "-", ERR, "-"},
    {NULL, "5ee2", ERR, "5ee2"},
    /* Strings and tuples. */
    {NULL, ".x == 'abc", ERR, ".x == 'abc"},
    {NULL, ".x == \"abc", ERR, ".x == \"abc"},
    {NULL, ".x == \"abc\\\"", ERR, ".x == \"abc\\\""},
    {NULL, ".x == \"abc\\", ERR, ".x == \"abc\\"},
    {NULL, ".x in [1, @]", ERR, "@]"},
    {NULL, ".x in [1 2]", ERR, "2]"},
    {NULL, ".x in [1,", ERR, ".x in [1,"},
    {NULL, ".x in [", ERR, ".x in ["},
    {NULL, ".x in [,]", ERR, ",]"},
    {NULL, ".x in [.y]", ERR, ".y]"},
    {NULL, ".x in [null]", ERR, "null]"},
    {NULL, ".x in [[1]]", ERR, "[1]]"},
    {NULL, ".x in [-]", ERR, "]"},
    {NULL, ".x in [1.2.3]", ERR, "]"},
    {NULL, ".x in ['a]", ERR, ".x in ['a]"},
    /* Errors found after tokenizing: the whole expression. */
    {NULL, "-.x", ERR, "-.x"},
    {NULL, "- .x", ERR, "- .x"},
    {NULL, ".x ==", ERR, ".x =="},
    {NULL, "== .x", ERR, "== .x"},
    {NULL, ".x .y", ERR, ".x .y"},
    {NULL, "1 2", ERR, "1 2"},
    {NULL, "(.x", ERR, "(.x"},
    {NULL, ".x)", ERR, ".x)"},
    {NULL, "((.x == 1)", ERR, "((.x == 1)"},
    {NULL, "()", ERR, "()"},
    {NULL, "not", ERR, "not"},
    {NULL, "!", ERR, "!"},
    {NULL, "1 +", ERR, "1 +"},
    {NULL, "+ 1", ERR, "+ 1"},
    {NULL, "1 and", ERR, "1 and"},
    {NULL, ".a and or .b", ERR, ".a and or .b"},
    {NULL, "", ERR, ""},
    {NULL, "   ", ERR, "   "},
    {NULL, ")(", ERR, ")("},
    {NULL, "1 in", ERR, "1 in"},
    /* Tokenizer errors win over later structural errors. */
    {NULL, "(((( @", ERR, "@"},
};

static expr *compile_str(const char *s, char *err, size_t errlen)
{
    return expr_compile(s, strlen(s), err, errlen);
}

static void test_table(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const row *r = &rows[i];
        char err[256];
        memset(err, 'X', sizeof(err));
        expr *e = compile_str(r->expr, err, sizeof(err));
        if (r->want == ERR) {
            if (e != NULL) {
                fprintf(stderr, "row %zu: '%s' compiled, expected error near '%s'\n", i, r->expr,
                        r->tail);
                failed++;
            } else if (strcmp(err, r->tail) != 0) {
                fprintf(stderr, "row %zu: '%s' error tail '%s', expected '%s'\n", i, r->expr, err,
                        r->tail);
                failed++;
            }
            expr_free(e);
            continue;
        }
        if (e == NULL) {
            fprintf(stderr, "row %zu: '%s' failed to compile: near '%s'\n", i, r->expr, err);
            failed++;
            continue;
        }
        attrs *a = r->json ? attrs_decode(r->json, strlen(r->json)) : NULL;
        int got = expr_eval(e, a);
        if (got != r->want) {
            fprintf(stderr, "row %zu: '%s' on %s gave %d, expected %d\n", i, r->expr,
                    r->json ? r->json : "(no attributes)", got, r->want);
            failed++;
        }
        /* Evaluation is repeatable (no state kept in the program). */
        assert_int_equal(expr_eval(e, a), got);
        attrs_free(a);
        expr_free(e);
    }
    printf("test_expr: %zu table rows, %d failed\n", sizeof(rows) / sizeof(rows[0]), failed);
    assert_int_equal(failed, 0);
}

/* ------------------------------------------------------------ limits */

static char *repeat3(const char *pre, int n, const char *mid, const char *post, int m)
{
    size_t lp = strlen(pre), lm = strlen(mid), lq = strlen(post);
    char *s = malloc(lp * (size_t)n + lm + lq * (size_t)m + 1);
    assert_non_null(s);
    size_t p = 0;
    for (int i = 0; i < n; i++, p += lp)
        memcpy(s + p, pre, lp);
    memcpy(s + p, mid, lm);
    p += lm;
    for (int i = 0; i < m; i++, p += lq)
        memcpy(s + p, post, lq);
    s[p] = '\0';
    return s;
}

static void test_nesting_limit(void **state)
{
    (void)state;
    attrs *a = attrs_decode("{\"x\": 1}", 8);
    /* At the limit: compiles and evaluates. */
    char *s = repeat3("(", EXPR_MAX_NESTING, ".x == 1", ")", EXPR_MAX_NESTING);
    char err[64];
    expr *e = compile_str(s, err, sizeof(err));
    assert_non_null(e);
    assert_int_equal(expr_eval(e, a), 1);
    expr_free(e);
    free(s);

    /* 100,000 deep: a clean error whose tail starts at the first '(' over
     * the limit (offset EXPR_MAX_NESTING). */
    s = repeat3("(", 100000, "1", ")", 100000);
    size_t len = strlen(s), pos = 12345;
    char *tail = malloc(len + 1);
    assert_non_null(tail);
    e = expr_compile_ex(s, len, EXPR_DIALECT_VSET, tail, len + 1, &pos);
    assert_null(e);
    assert_int_equal(pos, EXPR_MAX_NESTING);
    assert_string_equal(tail, s + EXPR_MAX_NESTING);
    free(tail);
    free(s);

    /* Sequential (not nested) parentheses do not count against it. */
    s = repeat3("(1) and ", 5000, "1", "", 0);
    e = compile_str(s, err, sizeof(err));
    assert_non_null(e);
    assert_int_equal(expr_eval(e, a), 1);
    expr_free(e);
    free(s);
    attrs_free(a);
}

static void test_stack_limit(void **state)
{
    (void)state;
    attrs *a = attrs_decode("{}", 2);
    char err[64];
    /* n chained right-associative ** keep n values on the stack. */
    char *s = repeat3("1 ** ", EXPR_MAX_STACK - 1, "1", "", 0);
    expr *e = compile_str(s, err, sizeof(err));
    assert_non_null(e);
    assert_int_equal(expr_eval(e, a), 1);
    expr_free(e);
    free(s);

    s = repeat3("1 ** ", EXPR_MAX_STACK, "1", "", 0);
    size_t len = strlen(s), pos = 99;
    char *tail = malloc(len + 1);
    assert_non_null(tail);
    e = expr_compile_ex(s, len, EXPR_DIALECT_VSET, tail, len + 1, &pos);
    assert_null(e);
    assert_int_equal(pos, 0);
    assert_string_equal(tail, s); /* Structural: the whole expression. */
    free(tail);
    free(s);

    /* Long left-associative chains need two slots whatever their length. */
    s = repeat3("1 + ", 100000, "1 == 100001", "", 0);
    e = compile_str(s, err, sizeof(err));
    assert_non_null(e);
    assert_int_equal(expr_eval(e, a), 1);
    expr_free(e);
    free(s);

    /* 100,000 unary operators in a row: fast and bounded. */
    s = repeat3("!", 100000, "1", "", 0);
    e = compile_str(s, err, sizeof(err));
    assert_non_null(e);
    assert_int_equal(expr_eval(e, a), 1); /* an even number of negations */
    expr_free(e);
    free(s);
    s = repeat3("not ", 100001, "1", "", 0);
    e = compile_str(s, err, sizeof(err));
    assert_non_null(e);
    assert_int_equal(expr_eval(e, a), 0);
    expr_free(e);
    free(s);

    /* A number of 255 characters is accepted, 256 is an error whose tail
     * starts at the 256th character. */
    char num[300];
    memset(num, '1', sizeof(num));
    num[255] = '\0';
    e = compile_str(num, err, sizeof(err));
    assert_non_null(e);
    expr_free(e);
    num[255] = '1';
    num[258] = '\0';
    e = compile_str(num, err, sizeof(err));
    assert_null(e);
    assert_string_equal(err, "111");
    attrs_free(a);
}

/* ------------------------------------------- source bytes and tails */

static void test_source_bytes(void **state)
{
    (void)state;
    attrs *a = attrs_decode("{\"x\": 1}", 8);
    char err[64];
    /* The expression ends at a NUL byte, as in Redis. */
    const char src[] = ".x == 1\0 garbage @@";
    expr *e = expr_compile(src, sizeof(src) - 1, err, sizeof(err));
    assert_non_null(e);
    assert_int_equal(expr_eval(e, a), 1);
    expr_free(e);
    const char src2[] = ".x ==\0 1";
    e = expr_compile(src2, sizeof(src2) - 1, err, sizeof(err));
    assert_null(e);
    assert_string_equal(err, ".x ==");

    /* A tokenizer error at the NUL is not at the end of the argument, so
     * Redis prints the (empty) text from there; at the real end it prints
     * the whole expression. */
    const char src3[] = ".x == 'abc\0def'";
    e = expr_compile(src3, sizeof(src3) - 1, err, sizeof(err));
    assert_null(e);
    assert_string_equal(err, "");
    e = expr_compile(src3, 10, err, sizeof(err));
    assert_null(e);
    assert_string_equal(err, ".x == 'abc");

    /* Not NUL-terminated: only len bytes are read. */
    e = expr_compile(".x == 1 and @", 7, err, sizeof(err));
    assert_non_null(e);
    expr_free(e);

    /* CR and LF in the tail become spaces, trailing ones are dropped (as
     * Redis does with any error reply). */
    e = compile_str(".x AND\r\n.y", err, sizeof(err));
    assert_null(e);
    assert_string_equal(err, "  .y");
    e = compile_str("\n.x ==\r\n", err, sizeof(err));
    assert_null(e);
    assert_string_equal(err, " .x ==");
    e = compile_str(".x AND\n\n", err, sizeof(err));
    assert_null(e);
    assert_string_equal(err, "");

    /* Truncation to errlen - 1 bytes, NULL err and zero errlen. */
    char small[4];
    e = compile_str("1 2 3 4 5 6", small, sizeof(small));
    assert_null(e);
    assert_string_equal(small, "1 2");
    assert_null(compile_str("1 +", NULL, 0));
    small[0] = 'Z';
    assert_null(compile_str("1 +", small, 0));
    assert_int_equal(small[0], 'Z');
    assert_null(expr_compile(NULL, 0, err, sizeof(err)));
    assert_string_equal(err, "");

    /* Whitespace of every isspace kind separates tokens. */
    e = compile_str("\t.x\v==\f1\r", err, sizeof(err));
    assert_non_null(e);
    assert_int_equal(expr_eval(e, a), 1);
    expr_free(e);
    attrs_free(a);
}

static void test_dialect_and_api(void **state)
{
    (void)state;
    char err[128];
    size_t pos = 7;
    expr *e = expr_compile_ex("name == 'x'", 11, EXPR_DIALECT_MILVUS, err, sizeof(err), &pos);
    assert_null(e);
    assert_string_equal(err, "the Milvus filter dialect is not supported yet");
    assert_int_equal(pos, 0);

    e = compile_str(".b > 1 and .a == 2 or .b in [1, 2] or .c-d", err, sizeof(err));
    assert_non_null(e);
    assert_int_equal(expr_selector_count(e), 3);
    size_t len;
    const char *n = expr_selector(e, 0, &len);
    assert_int_equal(len, 1);
    assert_memory_equal(n, "b", 1);
    n = expr_selector(e, 1, &len);
    assert_memory_equal(n, "a", 1);
    n = expr_selector(e, 2, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(n, "c-d", 3);
    assert_null(expr_selector(e, 3, &len));
    assert_true(expr_memory(e) > 0);
    expr_free(e);

    e = compile_str("1 + 1", err, sizeof(err));
    assert_int_equal(expr_selector_count(e), 0);
    expr_free(e);
    expr_free(NULL);
    assert_int_equal(expr_eval(NULL, NULL), 0);
    assert_int_equal(expr_memory(NULL), 0);

    /* The source may be freed after compiling. */
    char *src = strdup(".s == 'abc' and .t in ['x', 'y']");
    e = compile_str(src, err, sizeof(err));
    memset(src, '?', strlen(src));
    free(src);
    attrs *a = attrs_decode("{\"s\":\"abc\",\"t\":\"y\"}", 19);
    assert_int_equal(expr_eval(e, a), 1);
    attrs_free(a);
    expr_free(e);

    /* Many distinct selectors (the compile-time intern table grows). */
    char *big = malloc(20 * 5000 + 16);
    size_t p = 0;
    for (int i = 0; i < 5000; i++)
        p += (size_t)sprintf(big + p, "%s.k%d", i ? " or " : "", i % 3000);
    e = expr_compile(big, p, err, sizeof(err));
    assert_non_null(e);
    assert_int_equal(expr_selector_count(e), 3000);
    n = expr_selector(e, 2999, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(n, "k2999", 5);
    a = attrs_decode("{\"k0\": 1}", 9);
    assert_int_equal(expr_eval(e, a), 0); /* .k1 is missing */
    attrs_free(a);
    expr_free(e);
    free(big);
}

/* ------------------------------------------------------ concurrency */

#define NREC 64

typedef struct thread_arg {
    const expr *e;
    attrs *const *recs;
    const int *want;
    int mismatches;
} thread_arg;

static void *eval_thread(void *p)
{
    thread_arg *t = p;
    for (int iter = 0; iter < 2000; iter++)
        for (int i = 0; i < NREC; i++)
            if (expr_eval(t->e, t->recs[i]) != t->want[i]) t->mismatches++;
    return NULL;
}

static attrs *random_record(char *buf, size_t cap)
{
    static const char *genres[] = {"drama", "comedy", "horror", "action"};
    size_t n = 0;
    int kind = (int)(rng_next() % 10);
    if (kind == 0) return NULL;
    n += (size_t)snprintf(buf + n, cap - n, "{\"year\": %d", 1900 + (int)(rng_next() % 120));
    if (kind != 1)
        n += (size_t)snprintf(buf + n, cap - n, ", \"genre\": \"%s\"", genres[rng_next() % 4]);
    if (kind == 2)
        n += (size_t)snprintf(buf + n, cap - n, ", \"rating\": %.1f",
                              (double)(rng_next() % 100) / 10);
    n += (size_t)snprintf(buf + n, cap - n, "}");
    return attrs_decode(buf, n);
}

static void test_concurrent_eval(void **state)
{
    (void)state;
    char err[64], buf[256];
    expr *e = compile_str(".year > 1950 and .genre in ['drama', 'comedy'] or .year % 7 == 0", err,
                          sizeof(err));
    assert_non_null(e);
    attrs *recs[NREC];
    int want[NREC];
    for (int i = 0; i < NREC; i++) {
        recs[i] = random_record(buf, sizeof(buf));
        want[i] = expr_eval(e, recs[i]);
    }
    pthread_t th[4];
    thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){.e = e, .recs = recs, .want = want};
        assert_int_equal(pthread_create(&th[i], NULL, eval_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].mismatches, 0);
    }
    for (int i = 0; i < NREC; i++)
        attrs_free(recs[i]);
    expr_free(e);
}

/* ------------------------------------------- differential (AST model) */

/* Random expression trees are printed with the fewest parentheses the
 * precedence and associativity rules of VECTORSETS.md section 5 allow, then
 * compiled and evaluated; the result must equal the tree evaluated directly
 * by the small model below, written from the spec independently of
 * expr.c. This checks precedence of every operator pair, associativity, the
 * value semantics and the missing-selector rule together. */

enum { N_NUM, N_STR, N_NULL, N_TUPLE, N_SEL, N_NOT, N_BIN };

typedef struct node {
    int kind;
    int op; /* N_BIN: index into model_ops */
    double num;
    const char *text; /* literal source text (N_NUM, N_STR, N_TUPLE, N_SEL) */
    struct node *l, *r;
} node;

typedef struct mop {
    const char *name;
    int prec;
    int right; /* right-associative */
} mop;

static const mop model_ops[] = {
    {"**", 5, 1}, {"*", 4, 0},   {"/", 4, 0},  {"%", 4, 0},  {"+", 3, 0},  {"-", 3, 0},
    {">", 2, 0},  {">=", 2, 0},  {"<", 2, 0},  {"<=", 2, 0}, {"==", 2, 0}, {"!=", 2, 0},
    {"in", 2, 0}, {"and", 1, 0}, {"&&", 1, 0}, {"or", 0, 0}, {"||", 0, 0},
};
#define NMOPS (int)(sizeof(model_ops) / sizeof(model_ops[0]))

typedef struct mval {
    int type; /* ATTRS_* */
    double num;
    const char *s;
    size_t len;
    const attrs_value *items;  /* tuples from the record */
    const struct mval *litems; /* tuples from literals */
    size_t n;
} mval;

static const char *model_strs[] = {"drama", "1950", "", "ab", "3", "dram", "0"};
static const char *model_sels[] = {"n", "s", "ns", "e", "z", "t", "nl", "b", "o", "m"};
#define MODEL_ATTRS                                                                                \
    "{\"n\": 1950, \"s\": \"drama\", \"ns\": \"42\", \"e\": \"\", \"z\": 0,"                       \
    " \"t\": [\"a\", 3, \"drama\"], \"nl\": null, \"b\": true, \"o\": {\"x\": 1}}"
/* Literal tuples and their model values. */
static const mval tup_items[][3] = {
    {{ATTRS_NUM, 1950, NULL, 0, NULL, NULL, 0}, {ATTRS_STR, 0, "drama", 5, NULL, NULL, 0}, {0}},
    {{ATTRS_STR, 0, "a", 1, NULL, NULL, 0}, {ATTRS_NUM, 3, NULL, 0, NULL, NULL, 0}, {0}},
};
static const char *tup_text[] = {"[1950, \"drama\"]", "['a', 3]", "[]"};
static const size_t tup_len[] = {2, 2, 0};

static node *model_new(node *pool, int *used)
{
    node *n = &pool[(*used)++];
    memset(n, 0, sizeof(*n));
    return n;
}

static node *model_gen(node *pool, int *used, int depth, char *numbuf, size_t *numoff)
{
    node *n = model_new(pool, used);
    int leaf = depth <= 0 || rng_next() % 4 == 0;
    if (leaf) {
        switch (rng_next() % 6) {
        case 0:
        case 1: {
            int v = (int)(rng_next() % 11) - 3;
            int frac = rng_next() % 3 == 0;
            char *t = numbuf + *numoff;
            int w = frac ? sprintf(t, "%d.5", v) : sprintf(t, "%d", v);
            if (frac && v == 0 && rng_next() % 2) w = sprintf(t, "-0.5");
            *numoff += (size_t)w + 1;
            n->kind = N_NUM;
            n->num = strtod(t, NULL);
            n->text = t;
            break;
        }
        case 2:
            n->kind = N_STR;
            n->text = model_strs[rng_next() % (sizeof(model_strs) / sizeof(model_strs[0]))];
            break;
        case 3:
            if (rng_next() % 2) {
                n->kind = N_NULL;
                n->text = "null "; /* "null)" would lex as one word, as in Redis */
            } else {
                n->kind = N_TUPLE;
                n->num = (double)(rng_next() % 3);
                n->text = tup_text[(int)n->num];
            }
            break;
        default:
            n->kind = N_SEL;
            /* Mostly present keys, sometimes the object or the missing one. */
            n->text = model_sels[rng_next() % (rng_next() % 8 == 0 ? 10 : 8)];
            break;
        }
        return n;
    }
    if (rng_next() % 6 == 0) {
        n->kind = N_NOT;
        n->op = (int)(rng_next() % 2); /* 0 "!", 1 "not" */
        n->l = model_gen(pool, used, depth - 1, numbuf, numoff);
        return n;
    }
    n->kind = N_BIN;
    n->op = (int)(rng_next() % NMOPS);
    n->l = model_gen(pool, used, depth - 1, numbuf, numoff);
    n->r = model_gen(pool, used, depth - 1, numbuf, numoff);
    return n;
}

static int node_prec(const node *n)
{
    if (n->kind == N_BIN) return model_ops[n->op].prec;
    if (n->kind == N_NOT) return 6;
    return 7;
}

static void model_print(const node *n, char *out, size_t *p)
{
    switch (n->kind) {
    case N_NUM:
    case N_NULL:
    case N_TUPLE:
        *p += (size_t)sprintf(out + *p, "%s", n->text);
        return;
    case N_STR:
        *p += (size_t)sprintf(out + *p, "'%s'", n->text);
        return;
    case N_SEL:
        *p += (size_t)sprintf(out + *p, ".%s", n->text);
        return;
    case N_NOT: {
        *p += (size_t)sprintf(out + *p, "%s", n->op ? "not " : "!");
        int paren = n->l->kind == N_BIN;
        if (paren) out[(*p)++] = '(';
        model_print(n->l, out, p);
        if (paren) out[(*p)++] = ')';
        return;
    }
    default: {
        const mop *o = &model_ops[n->op];
        int lp = node_prec(n->l), rp = node_prec(n->r);
        int lparen = lp < o->prec || (lp == o->prec && o->right);
        int rparen = rp < o->prec || (rp == o->prec && !o->right);
        if (lparen) out[(*p)++] = '(';
        model_print(n->l, out, p);
        if (lparen) out[(*p)++] = ')';
        *p += (size_t)sprintf(out + *p, " %s ", o->name);
        if (rparen) out[(*p)++] = '(';
        model_print(n->r, out, p);
        if (rparen) out[(*p)++] = ')';
        return;
    }
    }
}

static double model_tonum(const mval *v)
{
    if (v->type == ATTRS_NUM) return v->num;
    if (v->type != ATTRS_STR || v->len >= 256) return 0;
    char buf[256], *end;
    memcpy(buf, v->s, v->len);
    buf[v->len] = '\0';
    double d = strtod(buf, &end);
    return *end ? 0 : d;
}

static int model_truthy(const mval *v)
{
    if (v->type == ATTRS_NUM) return v->num != 0;
    if (v->type == ATTRS_STR) return v->len > 0;
    return v->type != ATTRS_NULL;
}

static int model_eq(const mval *a, const mval *b)
{
    if (a->type == ATTRS_STR && b->type == ATTRS_STR)
        return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
    if (a->type == ATTRS_NUM && b->type == ATTRS_NUM) return a->num == b->num;
    if (a->type == ATTRS_NULL || b->type == ATTRS_NULL) return a->type == b->type;
    return model_tonum(a) == model_tonum(b);
}

static mval model_from_attr(const attrs_value *v)
{
    mval m = {.type = (int)v->type};
    if (v->type == ATTRS_NUM) m.num = v->num;
    if (v->type == ATTRS_STR) {
        m.s = v->str;
        m.len = v->len;
    }
    if (v->type == ATTRS_TUPLE) {
        m.items = v->items;
        m.n = v->len;
    }
    return m;
}

static mval model_item(const mval *t, size_t i)
{
    return t->items ? model_from_attr(&t->items[i]) : t->litems[i];
}

/* Evaluates n; sets *missing when a selector is absent or unsupported. */
static mval model_eval(const node *n, const attrs *a, int *missing)
{
    mval r = {.type = ATTRS_NUM};
    switch (n->kind) {
    case N_NUM:
        r.num = n->num;
        return r;
    case N_STR:
        r.type = ATTRS_STR;
        r.s = n->text;
        r.len = strlen(n->text);
        return r;
    case N_NULL:
        r.type = ATTRS_NULL;
        return r;
    case N_TUPLE:
        r.type = ATTRS_TUPLE;
        r.litems = tup_items[(int)n->num];
        r.n = tup_len[(int)n->num];
        return r;
    case N_SEL: {
        const attrs_value *v =
            attrs_lookup(a, n->text, strlen(n->text), attrs_hash(n->text, strlen(n->text)));
        if (v == NULL || v->type == ATTRS_UNSUPPORTED) {
            *missing = 1;
            return r;
        }
        return model_from_attr(v);
    }
    case N_NOT: {
        mval x = model_eval(n->l, a, missing);
        r.num = !model_truthy(&x);
        return r;
    }
    default:
        break;
    }
    mval x = model_eval(n->l, a, missing), y = model_eval(n->r, a, missing);
    double xn = model_tonum(&x), yn = model_tonum(&y);
    const char *op = model_ops[n->op].name;
    if (!strcmp(op, "**"))
        r.num = pow(xn, yn);
    else if (!strcmp(op, "*"))
        r.num = xn * yn;
    else if (!strcmp(op, "/"))
        r.num = xn / yn;
    else if (!strcmp(op, "%"))
        r.num = fmod(xn, yn);
    else if (!strcmp(op, "+"))
        r.num = xn + yn;
    else if (!strcmp(op, "-"))
        r.num = xn - yn;
    else if (!strcmp(op, ">"))
        r.num = xn > yn;
    else if (!strcmp(op, ">="))
        r.num = xn >= yn;
    else if (!strcmp(op, "<"))
        r.num = xn < yn;
    else if (!strcmp(op, "<="))
        r.num = xn <= yn;
    else if (!strcmp(op, "=="))
        r.num = model_eq(&x, &y);
    else if (!strcmp(op, "!="))
        r.num = !model_eq(&x, &y);
    else if (!strcmp(op, "in")) {
        r.num = 0;
        if (y.type == ATTRS_TUPLE) {
            for (size_t i = 0; i < y.n; i++) {
                mval it = model_item(&y, i);
                if (model_eq(&x, &it)) r.num = 1;
            }
        } else if (x.type == ATTRS_STR && y.type == ATTRS_STR) {
            for (size_t i = 0; i + x.len <= y.len; i++)
                if (memcmp(y.s + i, x.s, x.len) == 0) r.num = 1;
        }
    } else if (!strcmp(op, "and") || !strcmp(op, "&&"))
        r.num = model_truthy(&x) && model_truthy(&y);
    else
        r.num = model_truthy(&x) || model_truthy(&y);
    return r;
}

static void test_differential_model(void **state)
{
    (void)state;
    attrs *a = attrs_decode(MODEL_ATTRS, strlen(MODEL_ATTRS));
    assert_true(attrs_usable(a));
    static node pool[512];
    static char numbuf[512 * 16];
    static char src[16384];
    int matched = 0, missing_count = 0;
    for (int iter = 0; iter < 30000; iter++) {
        int used = 0;
        size_t numoff = 0;
        node *root = model_gen(pool, &used, 1 + (int)(rng_next() % 6), numbuf, &numoff);
        size_t p = 0;
        model_print(root, src, &p);
        src[p] = '\0';
        int missing = 0;
        mval v = model_eval(root, a, &missing);
        int want = missing ? 0 : model_truthy(&v);
        char err[64];
        expr *e = expr_compile(src, p, err, sizeof(err));
        if (e == NULL) fail_msg("model expression failed to compile: %s (near: %s)", src, err);
        int got = expr_eval(e, a);
        if (got != want) fail_msg("model mismatch: %s gave %d, model says %d", src, got, want);
        expr_free(e);
        matched += want;
        missing_count += missing;
    }
    printf("test_expr: 30000 model expressions, %d true, %d with a missing selector\n", matched,
           missing_count);
    attrs_free(a);
}

/* ---------------------------------------------------- random inputs */

static const char *frags[] = {
    ".year", ".genre", ".missing", ".tags",    ".nothing", ".obj",     "1",  "0",    "-2",
    "2.5",   "1e3",    "'drama'",  "\"1950\"", "''",       "[1, 'a']", "[]", "null", "(",
    ")",     "!",      "not",      "**",       "*",        "/",        "%",  "+",    "-",
    ">",     ">=",     "<",        "<=",       "==",       "!=",       "in", "and",  "&&",
    "or",    "||",     " ",        "@",        "AND",      "true",     "\"", "[",    "]",
    ",",     ".",      "e",        "\\",       "\n",       "\r\n",
};

static void test_random_expressions(void **state)
{
    (void)state;
    attrs *a = attrs_decode(MOVIE, strlen(MOVIE));
    char src[512], err[600];
    int compiled = 0;
    for (int iter = 0; iter < 50000; iter++) {
        size_t n = 0;
        int k = 1 + (int)(rng_next() % 12);
        for (int i = 0; i < k; i++) {
            const char *f = frags[rng_next() % (sizeof(frags) / sizeof(frags[0]))];
            size_t fl = strlen(f);
            if (n + fl + 1 >= sizeof(src)) break;
            memcpy(src + n, f, fl);
            n += fl;
            if (rng_next() % 2) src[n++] = ' ';
        }
        size_t pos = 0;
        expr *e = expr_compile_ex(src, n, EXPR_DIALECT_VSET, err, sizeof(err), &pos);
        if (e) {
            compiled++;
            int r = expr_eval(e, a);
            assert_true(r == 0 || r == 1);
            assert_int_equal(expr_eval(e, a), r);
            assert_int_equal(expr_eval(e, NULL), 0);
            expr_free(e);
        } else {
            /* The tail is always a non-empty suffix of the source (or the
             * whole of an empty source), minus trailing CR/LF. */
            assert_true(pos <= n);
            assert_true(pos < n || n == 0);
            size_t m = n;
            while (m > pos && (src[m - 1] == '\n' || src[m - 1] == '\r'))
                m--;
            assert_int_equal(strlen(err), m - pos);
            for (size_t i = pos; i < m; i++) {
                char c = src[i] == '\n' || src[i] == '\r' ? ' ' : src[i];
                assert_int_equal(err[i - pos], c);
            }
        }
    }
    printf("test_expr: %d of 50000 random expressions compiled\n", compiled);
    assert_true(compiled > 1000);
    attrs_free(a);
}

/* ------------------------------------------------------------ bench */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void bench_one(const char *src, attrs *const *recs, int nrec)
{
    char err[64];
    expr *e = compile_str(src, err, sizeof(err));
    assert_non_null(e);
    int iters = 4000000 / nrec;
    volatile int sink = 0;
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_ns();
        int hits = 0;
        for (int it = 0; it < iters; it++)
            for (int i = 0; i < nrec; i++)
                hits += expr_eval(e, recs[i]);
        double t = (now_ns() - t0) / ((double)iters * nrec);
        sink += hits;
        if (t < best) best = t;
    }
    (void)sink;
    printf("test_expr bench: %6.1f ns/eval  %s\n", best, src);
    expr_free(e);
}

static void test_bench(void **state)
{
    (void)state;
    attrs *recs[1024];
    char buf[256];
    for (int i = 0; i < 1024; i++) {
        int n = snprintf(buf, sizeof(buf),
                         "{\"year\": %d, \"genre\": \"%s\", \"rating\": %.1f, \"title\": \"t%d\","
                         " \"director\": \"d%d\", \"votes\": %d}",
                         1900 + (int)(rng_next() % 120), (rng_next() % 3) ? "drama" : "comedy",
                         (double)(rng_next() % 100) / 10, i, i % 50, (int)(rng_next() % 100000));
        recs[i] = attrs_decode(buf, (size_t)n);
    }
    bench_one(".year > 1950 and .genre == \"drama\"", recs, 1024);
    bench_one(".year > 1950", recs, 1024);
    bench_one(".genre in ['drama', 'action', 'noir'] and .rating >= 7 or .votes > 90000", recs,
              1024);
    bench_one("(.year - 1900) ** 2 % 7 == 3 and \"ram\" in .genre", recs, 1024);
    for (int i = 0; i < 1024; i++)
        attrs_free(recs[i]);
}

int main(void)
{
    rng_seed("test_expr", "EXPR_TEST_SEED");

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_stack_limit),
        cmocka_unit_test(test_source_bytes),
        cmocka_unit_test(test_dialect_and_api),
        cmocka_unit_test(test_concurrent_eval),
        cmocka_unit_test(test_differential_model),
        cmocka_unit_test(test_random_expressions),
        cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
