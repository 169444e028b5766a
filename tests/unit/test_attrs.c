/*
 * test_attrs.c -- unit tests of src/engine/attrs: decoding attribute JSON
 * into records (every value type, escapes, unsupported values, invalid
 * documents, duplicate keys, whitespace, numbers, sizes, deep nesting) and
 * looking keys up.
 *
 * A random round-trip test builds flat objects with known values, encodes
 * them as JSON (with random whitespace and escapes) and checks every key
 * decodes back. The seed is printed; set ATTRS_TEST_SEED to replay.
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

#include "engine/attrs.h"
#include "test_rng.h"

static attrs *dec(const char *json)
{
    return attrs_decode(json, strlen(json));
}

static const attrs_value *get(const attrs *a, const char *key)
{
    return attrs_lookup(a, key, strlen(key), attrs_hash(key, strlen(key)));
}

static void assert_num(const attrs *a, const char *key, double want)
{
    const attrs_value *v = get(a, key);
    assert_non_null(v);
    assert_int_equal(v->type, ATTRS_NUM);
    if (isnan(want))
        assert_true(isnan(v->num));
    else
        assert_true(v->num == want);
}

static void assert_str(const attrs *a, const char *key, const char *want, size_t wantlen)
{
    const attrs_value *v = get(a, key);
    assert_non_null(v);
    assert_int_equal(v->type, ATTRS_STR);
    assert_int_equal(v->len, wantlen);
    assert_memory_equal(v->str, want, wantlen);
}

static void assert_type(const attrs *a, const char *key, attrs_type t)
{
    const attrs_value *v = get(a, key);
    assert_non_null(v);
    assert_int_equal(v->type, t);
}

/* ------------------------------------------------------------- types */

static void test_value_types(void **state)
{
    (void)state;
    attrs *a = dec("{\"n\": 1950, \"f\": -2.5, \"s\": \"drama\", \"t\": true, \"fa\": false,"
                   " \"nu\": null, \"arr\": [1, \"x\", 2.5, true, null], \"ea\": [],"
                   " \"obj\": {\"a\": 1}, \"eo\": {}, \"nest\": [1, [2]], \"nobj\": [{}]}");
    assert_true(attrs_usable(a));
    assert_int_equal(attrs_count(a), 12);
    assert_num(a, "n", 1950);
    assert_num(a, "f", -2.5);
    assert_str(a, "s", "drama", 5);
    assert_num(a, "t", 1);
    assert_num(a, "fa", 0);
    assert_type(a, "nu", ATTRS_NULL);
    assert_type(a, "obj", ATTRS_UNSUPPORTED);
    assert_type(a, "eo", ATTRS_UNSUPPORTED);
    assert_type(a, "nest", ATTRS_UNSUPPORTED);
    assert_type(a, "nobj", ATTRS_UNSUPPORTED);

    const attrs_value *t = get(a, "arr");
    assert_non_null(t);
    assert_int_equal(t->type, ATTRS_TUPLE);
    assert_int_equal(t->len, 5);
    assert_int_equal(t->items[0].type, ATTRS_NUM);
    assert_true(t->items[0].num == 1);
    assert_int_equal(t->items[1].type, ATTRS_STR);
    assert_int_equal(t->items[1].len, 1);
    assert_memory_equal(t->items[1].str, "x", 1);
    assert_true(t->items[2].num == 2.5);
    assert_int_equal(t->items[3].type, ATTRS_NUM);
    assert_true(t->items[3].num == 1);
    assert_int_equal(t->items[4].type, ATTRS_NULL);

    const attrs_value *e = get(a, "ea");
    assert_int_equal(e->type, ATTRS_TUPLE);
    assert_int_equal(e->len, 0);

    assert_null(get(a, "missing"));
    assert_null(get(a, "N"));    /* Case-sensitive. */
    assert_null(get(a, "ar"));   /* Prefix of a key. */
    assert_null(get(a, "arrr")); /* Key is a prefix. */
    attrs_free(a);
}

static void test_string_numeric_value(void **state)
{
    (void)state;
    attrs *a = dec("{\"y\": \"1950\", \"sp\": \" 12\", \"bad\": \"12abc\", \"e\": \"\","
                   " \"hex\": \"0x10\", \"exp\": \"1e3\", \"trail\": \"12 \"}");
    assert_true(get(a, "y")->num == 1950);
    assert_true(get(a, "sp")->num == 12);
    assert_true(get(a, "bad")->num == 0);
    assert_true(get(a, "e")->num == 0);
    assert_true(get(a, "hex")->num == 16);
    assert_true(get(a, "exp")->num == 1000);
    assert_true(get(a, "trail")->num == 0);
    attrs_free(a);

    /* 255 digits convert, 256 do not (Redis's 256-byte buffer). */
    char json[600];
    char digits[300];
    memset(digits, '1', 256);
    snprintf(json, sizeof(json), "{\"a\": \"%.*s\", \"b\": \"%.*s\"}", 255, digits, 256, digits);
    a = dec(json);
    assert_true(get(a, "a")->num > 1e254);
    assert_true(get(a, "b")->num == 0);
    attrs_free(a);

    assert_true(attrs_str_to_num("42", 2) == 42);
    assert_true(attrs_str_to_num("4\0002", 3) == 4); /* Stops at an embedded NUL, as Redis. */
    assert_true(attrs_str_to_num("-", 1) == 0);
    assert_true(isinf(attrs_str_to_num("inf", 3)));
}

/* ------------------------------------------------------------ escapes */

static void test_escapes(void **state)
{
    (void)state;
    attrs *a = dec("{\"a\": \"l1\\nl2\", \"b\": \"\\r\\t\\\\\\\"\", \"c\": \"\\/\\b\\f\","
                   " \"d\": \"\\u0041\\u00e9\\u20ac\", \"e\": \"\\ud83d\\ude00\","
                   " \"f\": \"\\ud83dx\", \"g\": \"\\ude00\", \"h\": \"\\u12x\", \"i\": \"\\x\\q\","
                   " \"j\": \"a\\u0000b\", \"k\\u0031\": 1, \"l\": \"\\u004A\"}");
    assert_true(attrs_usable(a));
    assert_str(a, "a", "l1\nl2", 5);
    assert_str(a, "b", "\r\t\\\"", 4);
    assert_str(a, "c", "/\b\f", 3);
    assert_str(a, "d", "A\xc3\xa9\xe2\x82\xac", 6);
    assert_str(a, "e", "\xf0\x9f\x98\x80", 4);
    assert_str(a, "f", "\xef\xbf\xbdx", 4); /* Lone high surrogate. */
    assert_str(a, "g", "\xef\xbf\xbd", 3);  /* Lone low surrogate. */
    assert_str(a, "h", "u12x", 4);          /* Malformed \u: the letter stays. */
    assert_str(a, "i", "xq", 2);            /* Unknown escapes keep the character. */
    assert_str(a, "j", "a\0b", 3);
    assert_num(a, "k1", 1); /* Keys are decoded too. */
    assert_str(a, "l", "J", 1);
    attrs_free(a);

    /* Raw control characters and invalid UTF-8 are kept as they are. */
    a = dec("{\"r\": \"a\tb\x01\xff\"}");
    assert_true(attrs_usable(a));
    assert_str(a, "r", "a\tb\x01\xff", 5);
    attrs_free(a);

    /* Strings in tuples are decoded as well. */
    a = dec("{\"t\": [\"a\\\"b\", \"\\u00e9\"]}");
    const attrs_value *t = get(a, "t");
    assert_int_equal(t->type, ATTRS_TUPLE);
    assert_int_equal(t->items[0].len, 3);
    assert_memory_equal(t->items[0].str, "a\"b", 3);
    assert_memory_equal(t->items[1].str, "\xc3\xa9", 2);
    attrs_free(a);
}

static void test_unescape(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
        size_t outlen;
    } cases[] = {
        {"plain", "plain", 5},
        {"a\\\"b", "a\"b", 3},
        {"\\'\\n\\t\\r\\b\\f\\/", "'\n\t\r\b\f/", 7},
        {"\\u00e9\\u20AC", "\xc3\xa9\xe2\x82\xac", 5},
        {"\\ud83d\\ude00", "\xf0\x9f\x98\x80", 4},
        {"\\uzzzz", "uzzzz", 5},
        {"\\u12", "u12", 3},
        {"end\\", "end\\", 4}, /* a final lone backslash stays */
        {"", "", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        size_t inlen = strlen(cases[i].in);
        size_t n = attrs_unescape(cases[i].in, inlen, out);
        assert_true(n <= inlen);
        assert_int_equal(n, cases[i].outlen);
        assert_memory_equal(out, cases[i].out, n);
    }
}

/* ------------------------------------------------------------ invalid */

static void test_invalid_json(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        " ",
        "{",
        "}",
        "[1, 2]",
        "\"str\"",
        "42",
        "null",
        "{\"a\":}",
        "{\"a\":1,}",
        "{,}",
        "{\"a\" 1}",
        "{\"a\":1 \"b\":2}",
        "{a:1}",
        "{'a':1}",
        "{\"a\":1} x",
        "{\"a\":1}}",
        "{} {}",
        "{\"a\":\"unterminated}",
        "{\"a\":\"ends with backslash\\",
        "{\"a\":tru}",
        "{\"a\":truex}",
        "{\"a\":nul}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":.5}",
        "{\"a\":+1}",
        "{\"a\":1e}",
        "{\"a\":1e+}",
        "{\"a\":-}",
        "{\"a\":0x10}",
        "{\"a\":-NaN}",
        "{\"a\":inf}",
        "{\"a\":{\"b\":}}",
        "{\"a\":{\"b\" 1}}",
        "{\"a\":{1:2}}",
        "{\"a\":[1,]}",
        "{\"a\":[1 2]}",
        "{\"a\":[,1]}",
        "{\"a\":[1,[2,]]}",
        "{\"a\":[}",
        "{\"a\":{]}",
        "{\"a\":[1}",
        "{\"a\":{\"b\":[1,{\"c\":2]}}",
        "{\"a\":1",
        "{\"a\"",
        "{\"a\":",
        "{\"a\":[",
        "{\"a\":[\"x\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        attrs *a = dec(bad[i]);
        if (attrs_usable(a)) fail_msg("accepted invalid JSON: %s", bad[i]);
        assert_int_equal(attrs_count(a), 0);
        assert_int_equal(attrs_memory(a), 0);
        assert_null(get(a, "a"));
        attrs_free(a);
    }
    /* Embedded NUL outside strings is invalid; the length is what counts. */
    attrs *a = attrs_decode("{\"a\":1}\0", 8);
    assert_false(attrs_usable(a));
    attrs_free(a);
    a = attrs_decode("{\"a\":1}xxxx", 7);
    assert_true(attrs_usable(a));
    attrs_free(a);
    a = attrs_decode(NULL, 0);
    assert_false(attrs_usable(a));
    attrs_free(a);
    attrs_free(NULL);
    assert_false(attrs_usable(NULL));
    assert_null(attrs_lookup(NULL, "a", 1, attrs_hash("a", 1)));
}

/* ------------------------------------------------------ keys, spaces */

static void test_duplicate_keys_first_wins(void **state)
{
    (void)state;
    attrs *a = dec("{\"a\": 1, \"b\": \"x\", \"a\": 2, \"a\": {\"o\": 1}, \"b\": 3}");
    assert_int_equal(attrs_count(a), 2);
    assert_num(a, "a", 1);
    assert_str(a, "b", "x", 1);
    attrs_free(a);

    /* Same key spelled with an escape is the same key once decoded. */
    a = dec("{\"ab\": 1, \"a\\u0062\": 2}");
    assert_int_equal(attrs_count(a), 1);
    assert_num(a, "ab", 1);
    attrs_free(a);
}

static void test_whitespace_and_empty(void **state)
{
    (void)state;
    attrs *a = dec(" \t\r\n\v\f{ \n\"a\"\t:\r 1 ,\n \"b\" : [ 1 , \"x\" ] , \"c\":{ } }\n\t ");
    assert_true(attrs_usable(a));
    assert_num(a, "a", 1);
    assert_int_equal(get(a, "b")->len, 2);
    assert_type(a, "c", ATTRS_UNSUPPORTED);
    attrs_free(a);

    a = dec("{}");
    assert_true(attrs_usable(a));
    assert_int_equal(attrs_count(a), 0);
    assert_true(attrs_memory(a) > 0);
    assert_null(get(a, "a"));
    attrs_free(a);

    a = dec("  {  }  ");
    assert_true(attrs_usable(a));
    attrs_free(a);

    /* The empty key is a key. */
    a = dec("{\"\": 5}");
    assert_int_equal(attrs_count(a), 1);
    assert_num(a, "", 5);
    attrs_free(a);
}

/* ------------------------------------------------------------ numbers */

static void test_numbers(void **state)
{
    (void)state;
    attrs *a =
        dec("{\"a\": 1e3, \"b\": 1E+3, \"c\": -2.5e-3, \"d\": 0, \"e\": -0, \"f\": 1e308,"
            " \"g\": 1e309, \"h\": -1e309, \"i\": 0.1, \"j\": 123456789012345678901234567890,"
            " \"k\": NaN, \"l\": Infinity, \"m\": -Infinity, \"n\": 0.0e0, \"o\": 4.9e-324}");
    assert_true(attrs_usable(a));
    assert_num(a, "a", 1000);
    assert_num(a, "b", 1000);
    assert_num(a, "c", -0.0025);
    assert_num(a, "d", 0);
    assert_num(a, "e", 0);
    assert_true(signbit(get(a, "e")->num));
    assert_num(a, "f", 1e308);
    assert_num(a, "g", INFINITY);
    assert_num(a, "h", -INFINITY);
    assert_num(a, "i", 0.1);
    assert_num(a, "j", 123456789012345678901234567890.0);
    assert_num(a, "k", NAN);
    assert_num(a, "l", INFINITY);
    assert_num(a, "m", -INFINITY);
    assert_num(a, "n", 0);
    assert_num(a, "o", 4.9e-324);
    attrs_free(a);

    /* A number longer than the stack buffer. */
    char json[512];
    char digits[400];
    memset(digits, '0', sizeof(digits));
    digits[0] = '7';
    snprintf(json, sizeof(json), "{\"x\": 0.%.*s}", 300, digits);
    a = dec(json);
    assert_true(attrs_usable(a));
    assert_num(a, "x", 0.7);
    attrs_free(a);
}

/* ------------------------------------------------------ huge and deep */

static char *build_deep(int depth, char open, char close)
{
    size_t n = (size_t)depth * 6 + 32;
    char *s = malloc(n);
    assert_non_null(s);
    size_t p = (size_t)sprintf(s, "{\"a\": 1, \"d\": ");
    for (int i = 0; i < depth; i++) {
        s[p++] = open;
        if (open == '{') {
            memcpy(s + p, "\"k\":", 4);
            p += 4;
        }
    }
    s[p++] = '1';
    for (int i = 0; i < depth; i++)
        s[p++] = close;
    s[p++] = '}';
    s[p] = '\0';
    return s;
}

static void test_deep_nesting(void **state)
{
    (void)state;
    /* Up to ATTRS_MAX_DEPTH levels: usable, the nested key unsupported. */
    char *s = build_deep(ATTRS_MAX_DEPTH, '[', ']');
    attrs *a = dec(s);
    assert_true(attrs_usable(a));
    assert_num(a, "a", 1);
    assert_type(a, "d", ATTRS_UNSUPPORTED);
    attrs_free(a);
    free(s);

    s = build_deep(ATTRS_MAX_DEPTH, '{', '}');
    /* build_deep puts "k": only after braces; fine for objects. */
    a = dec(s);
    assert_true(attrs_usable(a));
    assert_type(a, "d", ATTRS_UNSUPPORTED);
    attrs_free(a);
    free(s);

    /* One more level: invalid as a whole (no stack overflow either). */
    s = build_deep(ATTRS_MAX_DEPTH + 1, '[', ']');
    a = dec(s);
    assert_false(attrs_usable(a));
    attrs_free(a);
    free(s);

    s = build_deep(100000, '[', ']');
    a = dec(s);
    assert_false(attrs_usable(a));
    attrs_free(a);
    free(s);

    s = build_deep(100000, '{', '}');
    a = dec(s);
    assert_false(attrs_usable(a));
    attrs_free(a);
    free(s);

    /* Mixed nesting alternating kinds, checked against the bit stack. */
    a = dec("{\"m\": [{\"a\": [1, {\"b\": [[], {}]}]}, 2], \"z\": 3}");
    assert_true(attrs_usable(a));
    assert_type(a, "m", ATTRS_UNSUPPORTED);
    assert_num(a, "z", 3);
    attrs_free(a);
}

static void test_huge_inputs(void **state)
{
    (void)state;
    /* 10,000 keys: the binary-search path. */
    size_t cap = 10000 * 32 + 16, p = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    s[p++] = '{';
    for (int i = 0; i < 10000; i++)
        p += (size_t)sprintf(s + p, "%s\"key%d\": %d", i ? "," : "", i, i * 3);
    s[p++] = '}';
    attrs *a = attrs_decode(s, p);
    assert_true(attrs_usable(a));
    assert_int_equal(attrs_count(a), 10000);
    for (int i = 0; i < 10000; i++) {
        char k[32];
        snprintf(k, sizeof(k), "key%d", i);
        assert_num(a, k, i * 3);
    }
    assert_null(get(a, "key10000"));
    assert_true(attrs_memory(a) >= 10000 * 40);
    /* Every key is reachable through attrs_at, and in hash order. */
    uint32_t prev = 0;
    for (size_t i = 0; i < attrs_count(a); i++) {
        const char *k;
        size_t kl;
        const attrs_value *v = attrs_at(a, i, &k, &kl);
        assert_non_null(v);
        uint32_t h = attrs_hash(k, kl);
        assert_true(h >= prev);
        prev = h;
        assert_ptr_equal(attrs_lookup(a, k, kl, h), v);
    }
    assert_null(attrs_at(a, attrs_count(a), NULL, NULL));
    attrs_free(a);
    free(s);

    /* A 4 MB string and a 200,000-item tuple. */
    size_t big = 4u << 20;
    s = malloc(big + 64);
    assert_non_null(s);
    p = (size_t)sprintf(s, "{\"s\": \"");
    memset(s + p, 'x', big);
    p += big;
    p += (size_t)sprintf(s + p, "\"}");
    a = attrs_decode(s, p);
    assert_true(attrs_usable(a));
    const attrs_value *v = get(a, "s");
    assert_int_equal(v->len, big);
    assert_true(v->num == 0);
    assert_true(attrs_memory(a) >= big);
    attrs_free(a);
    free(s);

    cap = 200000 * 8 + 32;
    s = malloc(cap);
    assert_non_null(s);
    p = (size_t)sprintf(s, "{\"t\": [");
    for (int i = 0; i < 200000; i++)
        p += (size_t)sprintf(s + p, "%s%d", i ? "," : "", i);
    p += (size_t)sprintf(s + p, "]}");
    a = attrs_decode(s, p);
    v = get(a, "t");
    assert_int_equal(v->type, ATTRS_TUPLE);
    assert_int_equal(v->len, 200000);
    assert_true(v->items[199999].num == 199999);
    attrs_free(a);
    free(s);
}

static void test_memory_grows(void **state)
{
    (void)state;
    attrs *a = dec("{\"a\": 1}");
    attrs *b = dec("{\"a\": 1, \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\": \"x\"}");
    assert_true(attrs_memory(a) > 0);
    assert_true(attrs_memory(b) > attrs_memory(a) + 50);
    attrs_free(a);
    attrs_free(b);
}

/* ------------------------------------------------------ random round trip */

typedef struct rkey {
    char name[16];
    int type; /* 0 num, 1 str, 2 bool, 3 null, 4 tuple of nums */
    double num;
    char str[24];
    size_t slen;
} rkey;

static void json_add_escaped(char *out, size_t *p, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int mode = (int)(rng_next() % 4);
        if (c == '"' || c == '\\') {
            out[(*p)++] = '\\';
            out[(*p)++] = (char)c;
        } else if (c == '\n') {
            memcpy(out + *p, "\\n", 2);
            *p += 2;
        } else if (mode == 0 || c < 0x20) {
            *p += (size_t)sprintf(out + *p, "\\u%04x", c);
        } else {
            out[(*p)++] = (char)c;
        }
    }
}

static void ws(char *out, size_t *p)
{
    static const char spaces[] = " \t\n\r";
    int n = (int)(rng_next() % 3);
    for (int i = 0; i < n; i++)
        out[(*p)++] = spaces[rng_next() % 4];
}

static void test_random_round_trip(void **state)
{
    (void)state;
    char *out = malloc(1 << 16);
    assert_non_null(out);
    for (int iter = 0; iter < 2000; iter++) {
        rkey keys[20];
        int nk = (int)(rng_next() % 20);
        for (int i = 0; i < nk; i++) {
            rkey *k = &keys[i];
            snprintf(k->name, sizeof(k->name), "k%d_%d", i, (int)(rng_next() % 100));
            k->type = (int)(rng_next() % 5);
            k->num = (double)((long long)(rng_next() % 2000001) - 1000000) / 8.0;
            k->slen = rng_next() % 20;
            for (size_t j = 0; j < k->slen; j++)
                k->str[j] = (char)(1 + rng_next() % 126);
        }
        size_t p = 0;
        ws(out, &p);
        out[p++] = '{';
        for (int i = 0; i < nk; i++) {
            rkey *k = &keys[i];
            if (i) out[p++] = ',';
            ws(out, &p);
            out[p++] = '"';
            json_add_escaped(out, &p, k->name, strlen(k->name));
            out[p++] = '"';
            ws(out, &p);
            out[p++] = ':';
            ws(out, &p);
            switch (k->type) {
            case 0:
                p += (size_t)sprintf(out + p, "%.17g", k->num);
                break;
            case 1:
                out[p++] = '"';
                json_add_escaped(out, &p, k->str, k->slen);
                out[p++] = '"';
                break;
            case 2:
                p += (size_t)sprintf(out + p, "%s", k->num > 0 ? "true" : "false");
                break;
            case 3:
                p += (size_t)sprintf(out + p, "null");
                break;
            default:
                p += (size_t)sprintf(out + p, "[%.17g,%.17g]", k->num, -k->num);
                break;
            }
            ws(out, &p);
        }
        out[p++] = '}';
        ws(out, &p);
        attrs *a = attrs_decode(out, p);
        if (!attrs_usable(a)) fail_msg("rejected: %.*s", (int)p, out);
        /* Later duplicates of a name are ignored: check the first one. */
        for (int i = 0; i < nk; i++) {
            rkey *k = &keys[i];
            int first = 1;
            for (int j = 0; j < i; j++)
                if (!strcmp(keys[j].name, k->name)) first = 0;
            if (!first) continue;
            const attrs_value *v = get(a, k->name);
            assert_non_null(v);
            switch (k->type) {
            case 0:
                assert_int_equal(v->type, ATTRS_NUM);
                assert_true(v->num == k->num);
                break;
            case 1:
                assert_int_equal(v->type, ATTRS_STR);
                assert_int_equal(v->len, k->slen);
                if (k->slen) assert_memory_equal(v->str, k->str, k->slen);
                break;
            case 2:
                assert_true(v->num == (k->num > 0));
                break;
            case 3:
                assert_int_equal(v->type, ATTRS_NULL);
                break;
            default:
                assert_int_equal(v->type, ATTRS_TUPLE);
                assert_int_equal(v->len, 2);
                assert_true(v->items[0].num == k->num && v->items[1].num == -k->num);
                break;
            }
        }
        attrs_free(a);

        /* Truncating a valid document anywhere makes it invalid. */
        size_t cut = rng_next() % p;
        size_t end = p;
        while (end > 0 && (out[end - 1] == ' ' || out[end - 1] == '\t' || out[end - 1] == '\n' ||
                           out[end - 1] == '\r'))
            end--;
        if (cut < end - 1) {
            a = attrs_decode(out, cut);
            assert_false(attrs_usable(a));
            attrs_free(a);
        }
    }
    free(out);
}

int main(void)
{
    rng_seed("test_attrs", "ATTRS_TEST_SEED");

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_types),
        cmocka_unit_test(test_string_numeric_value),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_invalid_json),
        cmocka_unit_test(test_duplicate_keys_first_wins),
        cmocka_unit_test(test_whitespace_and_empty),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_huge_inputs),
        cmocka_unit_test(test_memory_grows),
        cmocka_unit_test(test_random_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
