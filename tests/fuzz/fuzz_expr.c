/*
 * fuzz_expr.c -- libFuzzer target for src/engine/expr (FILTER compiler and
 * evaluator) and src/engine/attrs (attribute JSON decoder).
 *
 * FUZZ_SOURCES: src/engine/expr.c src/engine/attrs.c src/alloc.c
 *
 * Input layout: the bytes up to the first 0x01 are the expression (NUL
 * bytes included: the compiler must stop at the first one), the bytes after
 * it the attribute JSON; without a 0x01 the element has no attributes.
 *
 * Oracles (a failed one aborts, so libFuzzer reports it; leaks are caught
 * by LeakSanitizer):
 *   1. Decoding: a usable record's keys are all found again by
 *      attrs_lookup (same pointer); tuple items are scalars; a string's
 *      .num equals attrs_str_to_num of its bytes; null and tuples have
 *      .num 0; attrs_memory is 0 exactly for unusable records.
 *   2. Compile errors: errpos lies within the expression (up to its first
 *      NUL) and the tail is exactly the source from errpos with trailing
 *      CR/LF dropped and the others as spaces, never empty for a non-empty source without NUL; a
 *      truncated err buffer holds a prefix of it.
 *   3. Evaluation: returns 0 or 1, the same every time; 0 without
 *      attributes and for unusable records.
 *   4. Structure: when expr compiles, "( " expr " )" and
 *      "not not ( " expr " )" compile too (for expressions too short to
 *      reach the nesting limit) and evaluate the same.
 *   5. Selectors: the names are distinct and each appears in the source
 *      after a '.'; a record lacking one of them never matches.
 */
#include "engine/expr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_expr: check failed at line %d: %s\n", __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_record(const attrs *a)
{
    if (!attrs_usable(a)) {
        CHECK(attrs_count(a) == 0);
        CHECK(attrs_memory(a) == 0);
        return;
    }
    CHECK(attrs_memory(a) > 0);
    for (size_t i = 0; i < attrs_count(a); i++) {
        const char *k;
        size_t kl;
        const attrs_value *v = attrs_at(a, i, &k, &kl);
        CHECK(v != NULL);
        CHECK(attrs_lookup(a, k, kl, attrs_hash(k, kl)) == v);
        switch (v->type) {
        case ATTRS_NUM:
            break;
        case ATTRS_STR: {
            double n = attrs_str_to_num(v->str, v->len);
            CHECK(n == v->num || (n != n && v->num != v->num));
            break;
        }
        case ATTRS_NULL:
        case ATTRS_UNSUPPORTED:
            CHECK(v->num == 0 && v->len == 0);
            break;
        case ATTRS_TUPLE:
            CHECK(v->num == 0);
            for (uint32_t j = 0; j < v->len; j++) {
                uint32_t t = v->items[j].type;
                CHECK(t == ATTRS_NUM || t == ATTRS_STR || t == ATTRS_NULL);
            }
            break;
        default:
            CHECK(0);
        }
    }
    CHECK(attrs_at(a, attrs_count(a), NULL, NULL) == NULL);
}

static void check_tail(const char *src, size_t n, size_t pos, const char *err)
{
    CHECK(pos <= n);
    while (n > pos && (src[n - 1] == '\r' || src[n - 1] == '\n'))
        n--;
    CHECK(strlen(err) == n - pos);
    for (size_t i = pos; i < n; i++) {
        char c = (src[i] == '\r' || src[i] == '\n') ? ' ' : src[i];
        CHECK(err[i - pos] == c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sep = memchr(data, 0x01, size);
    size_t elen = sep ? (size_t)(sep - data) : size;
    const char *src = (const char *)data;

    attrs *a = NULL;
    if (sep) {
        a = attrs_decode((const char *)sep + 1, size - elen - 1);
        CHECK(a != NULL);
        check_record(a);
    }

    /* The expression as the compiler sees it: up to the first NUL. */
    const char *nul = memchr(src, '\0', elen);
    size_t n = nul ? (size_t)(nul - src) : elen;

    char *err = malloc(elen + 1);
    CHECK(err != NULL);
    size_t pos = 0;
    expr *e = expr_compile_ex(src, elen, EXPR_DIALECT_VSET, err, elen + 1, &pos);

    /* A small error buffer gets a prefix of the same tail. */
    char small[8];
    expr *e2 = expr_compile(src, elen, small, sizeof(small));
    CHECK((e == NULL) == (e2 == NULL));
    expr_free(e2);

    if (e == NULL) {
        check_tail(src, n, pos, err);
        /* An error at the end of the input reports the whole expression,
         * so without a NUL byte the tail is never empty unless src is. */
        if (n == elen) CHECK(pos < n || n == 0);
        CHECK(strncmp(small, err, sizeof(small) - 1) == 0);
    } else {
        int r = expr_eval(e, a);
        CHECK(r == 0 || r == 1);
        CHECK(expr_eval(e, a) == r);
        CHECK(expr_eval(e, NULL) == 0);
        if (a && !attrs_usable(a)) CHECK(r == 0);

        /* Selectors: distinct, present in the source; a record without one
         * of them never matches. */
        size_t ns = expr_selector_count(e);
        for (size_t i = 0; i < ns; i++) {
            size_t li;
            const char *si = expr_selector(e, i, &li);
            CHECK(si != NULL && li > 0);
            CHECK(memmem(src, n, si, li) != NULL);
            for (size_t j = 0; j < i; j++) {
                size_t lj;
                const char *sj = expr_selector(e, j, &lj);
                CHECK(li != lj || memcmp(si, sj, li) != 0);
            }
            if (r && a) CHECK(attrs_lookup(a, si, li, attrs_hash(si, li)) != NULL);
        }

        /* Wrapped in parentheses: same program meaning. */
        if (n < 1000) {
            char *w = malloc(n + 5);
            CHECK(w != NULL);
            memcpy(w, "( ", 2);
            memcpy(w + 2, src, n);
            memcpy(w + 2 + n, " )", 3);
            char werr[16];
            expr *we = expr_compile(w, n + 4, werr, sizeof(werr));
            CHECK(we != NULL);
            CHECK(expr_eval(we, a) == r);
            expr_free(we);
            /* Double negation keeps the truth value and changes which
             * instructions get fused. */
            char *nn = malloc(n + 13);
            CHECK(nn != NULL);
            memcpy(nn, "not not ( ", 10);
            memcpy(nn + 10, src, n);
            memcpy(nn + 10 + n, " )", 3);
            we = expr_compile(nn, n + 12, werr, sizeof(werr));
            CHECK(we != NULL);
            CHECK(expr_eval(we, a) == r);
            expr_free(we);
            free(nn);
            free(w);
        }
        expr_free(e);
    }
    free(err);
    attrs_free(a);
    return 0;
}
