/*
 * expr.h -- filter expressions: compiled once per query into a small
 * postfix program, evaluated per candidate row against its decoded
 * attributes (attrs.h).
 *
 * Dialects
 *   EXPR_DIALECT_VSET    the FILTER language of Redis 8 vector sets
 *                        (VECTORSETS.md section 5): `.field` selectors,
 *                        numbers, '..' / ".." strings, [tuples], null,
 *                        ( ) ! not ** * / % + - > >= < <= == != in and && or ||.
 *                        Tokenizing and operator-count validation follow
 *                        Redis 8 exactly (see the top of expr.c for the
 *                        quirks kept: `1e-5` and `(.x == null)` are errors,
 *                        `1 2 +` is accepted). One deliberate difference
 *                        from VECTORSETS.md: backslash escapes in string
 *                        literals ARE decoded (\" \' \\ \n \t \uXXXX ...,
 *                        as attribute strings are), so `.s == "a\"b"`
 *                        matches the attribute value a"b, as newer upstream
 *                        Redis tests expect.
 *   EXPR_DIALECT_MILVUS  reserved for the Milvus grammar (bare field names,
 *                        json["a"], like, is null, array_contains, ...);
 *                        not implemented yet: expr_compile_ex fails with the
 *                        message "the Milvus filter dialect is not supported
 *                        yet".
 *
 * Evaluation rule (vector-set dialect): if the row has no attributes (NULL),
 * its attributes are invalid JSON, or ANY selector of the expression names
 * an absent key or an object value, the whole expression is false for that
 * row, whatever the operators around it (even under `or` / `not`).
 *
 * Error contract (vector-set dialect): on a syntax error expr_compile
 * returns NULL and writes into err the TAIL that Redis prints after
 *     "ERR syntax error in FILTER expression near: "
 * so the command layer replies exactly
 *     "-ERR syntax error in FILTER expression near: <tail>".
 * The tail is the expression text from the byte where the tokenizer
 * stopped (for an unknown word such as `AND`, Redis has already consumed the
 * word, so `.a AND .b` gives " .b"; a bad number such as `1e-5` gives "-5"),
 * or the whole expression when that position is the end of the input
 * (`.x == true`, an unterminated string: Redis resets the position to 0)
 * and for errors found after tokenizing (operator without operands,
 * unbalanced parentheses, two values in a row, the stack limit). As in a
 * Redis error reply, CR and LF at the end of the tail are dropped and the
 * others become spaces; the expression ends at its first
 * NUL byte (as in Redis, which handles it as a C string). The tail is
 * truncated to errlen - 1 bytes: pass errlen >= len + 1 to get it whole.
 * err may be NULL. For the Milvus dialect err is a whole message.
 *
 * Threading: expr_compile/expr_free on any one thread (the main thread in
 * practice). A compiled expr is immutable: any number of threads may call
 * expr_eval on the same expr concurrently. expr_eval never allocates; it
 * uses about EXPR_MAX_STACK * 24 bytes of C stack.
 *
 * Ownership: the expr owns copies of everything it needs (the source text
 * may be freed after expr_compile returns). Values passed to expr_eval are
 * only read.
 */
#ifndef VECTIS_EXPR_H
#define VECTIS_EXPR_H

#include <stddef.h>
#include <stdint.h>

#include "engine/attrs.h"

/* Deepest parenthesis nesting accepted (levels). Redis has no limit; ours
 * keeps compile memory proportional and gives a clean error for absurd
 * inputs (a 100,000-deep nest). The tail starts at the first '(' over the
 * limit. */
#define EXPR_MAX_NESTING 1024
/* Deepest evaluation stack a program may need (values). Bounds the C stack
 * expr_eval uses (24 bytes a value); only pathological expressions such as
 * 300 chained right-associative `**` or deeply right-nested parentheses
 * reach it. Error tail: the whole expression. */
#define EXPR_MAX_STACK 256

typedef enum expr_dialect {
    EXPR_DIALECT_VSET = 0,
    EXPR_DIALECT_MILVUS = 1,
} expr_dialect;

typedef struct expr expr;

/* Compiles a vector-set FILTER expression of len bytes (need not be
 * NUL-terminated). Returns the program, or NULL with the error tail in err
 * (see the error contract above). */
expr *expr_compile(const char *src, size_t len, char *err, size_t errlen);

/* Same, for a given dialect. If errpos is not NULL it receives the byte
 * offset in src where the tail starts (0 for whole-expression errors). */
expr *expr_compile_ex(const char *src, size_t len, expr_dialect dialect, char *err, size_t errlen,
                      size_t *errpos);

/* Evaluates e against one row's attributes: 1 match, 0 no match. a may be
 * NULL (row without attributes: 0). Thread-safe, allocation-free. */
int expr_eval(const expr *e, const attrs *a);

/* Frees a compiled expression; NULL is a no-op. */
void expr_free(expr *e);

/* Bytes owned by the compiled expression (memory accounting). */
size_t expr_memory(const expr *e);

/* Distinct selector names the expression reads (for the planner: a filter
 * with no selectors matches every row with usable attributes or none).
 * expr_selector(e, i, &len) returns the i-th name (without the leading dot,
 * not NUL-terminated, valid while e lives), in order of first use. */
size_t expr_selector_count(const expr *e);
const char *expr_selector(const expr *e, size_t i, size_t *len);

#endif
