/*
 * attrs.h -- decoded element attributes: a vector-set element's JSON
 * attribute string turned, once, into a compact immutable record that the
 * filter evaluator (expr.h) reads without parsing JSON again.
 *
 * The engine keeps the raw attribute string itself (VGETATTR returns it
 * verbatim); this module never stores or returns the raw text.
 *
 * What a record holds (top-level keys of a JSON object only):
 *   JSON number            -> ATTRS_NUM    (double; NaN, Infinity, -Infinity
 *                                           are accepted as an extension)
 *   JSON string            -> ATTRS_STR    (escapes decoded, see below)
 *   true / false           -> ATTRS_NUM    1 / 0
 *   null                   -> ATTRS_NULL
 *   array of scalars       -> ATTRS_TUPLE  (items: numbers, strings,
 *                                           true/false as 1/0, null)
 *   object, or an array holding an array/object
 *                          -> ATTRS_UNSUPPORTED (a filter selecting it is
 *                                           false for the element)
 * String escapes: \" \\ \/ \b \f \n \r \t and \uXXXX are decoded (\uXXXX to
 * UTF-8, surrogate pairs combined, a lone surrogate becomes U+FFFD); any
 * other escaped character, and a \u not followed by four hex digits, keeps
 * the character after the backslash (Redis keeps the same for \x, but also
 * for \u, \b, \f, \/ -- we decode those: documented difference). Raw bytes,
 * control characters and invalid UTF-8 are kept as they are. Keys are
 * decoded the same way.
 * Duplicate keys: the FIRST occurrence wins (as Redis, which stops at the
 * first matching key).
 * Invalid JSON (syntax error anywhere, not an object at the top level,
 * trailing garbage, nesting deeper than ATTRS_MAX_DEPTH, a string or array
 * longer than 4 GB): the record is "unusable": every filter is false for the
 * element (see VECTORSETS.md section 4), but the engine still stores the raw
 * string. The empty object "{}" is usable and has no keys.
 *
 * Ownership and threading: attrs_decode() returns a record owned by the
 * caller, freed with attrs_free(). A record is ONE allocation (or a shared
 * static one for "unusable") and is immutable, so any number of threads may
 * read it concurrently; only attrs_free must not race with readers.
 * attrs_decode allocates through xmalloc (src/alloc.h) and may be called
 * from any thread (the engine calls it on the main thread at write time).
 */
#ifndef VECTIS_ATTRS_H
#define VECTIS_ATTRS_H

#include <stddef.h>
#include <stdint.h>

/* Deepest JSON nesting accepted inside a value (levels of [ and {). Deeper
 * documents are treated as invalid, so that skipping them needs no
 * recursion and a bounded bit stack. */
#define ATTRS_MAX_DEPTH 1024

typedef enum attrs_type {
    ATTRS_NULL = 0,
    ATTRS_NUM = 1,
    ATTRS_STR = 2,
    ATTRS_TUPLE = 3,
    ATTRS_UNSUPPORTED = 4,
} attrs_type;

/* One typed value. The same struct is used for the constants of a compiled
 * filter (expr.c), so the evaluator handles record values and literals the
 * same way.
 *   ATTRS_NUM:   num.
 *   ATTRS_STR:   str/len are the decoded bytes (not NUL-terminated, may hold
 *                NUL bytes); num is the string's numeric value as the filter
 *                language defines it: strtod() of the whole string when it is
 *                shorter than 256 bytes and strtod() consumes it up to its end
 *                (or up to an embedded NUL byte), else 0.
 *   ATTRS_TUPLE: items/len are the elements (never ATTRS_TUPLE or
 *                ATTRS_UNSUPPORTED themselves); num is 0.
 *   ATTRS_NULL, ATTRS_UNSUPPORTED: num is 0, len 0.
 * Pointers point into the record (or the compiled expression) that holds the
 * value and live as long as it does. */
typedef struct attrs_value {
    uint32_t type; /* attrs_type */
    uint32_t len;  /* bytes of str, or number of items */
    double num;
    union {
        const char *str;
        const struct attrs_value *items;
    };
} attrs_value;

/* A value being built before its strings and tuple items have their final
 * place (attrs.c while decoding, expr.c while compiling constants): off is
 * the offset of the string bytes, or the index of the first tuple item. */
typedef struct attrs_staged {
    uint32_t type;
    uint32_t len;
    double num;
    size_t off;
} attrs_staged;

/* The final value of in, once its strings live at `bytes` and its tuple
 * items at `items`. */
static inline void attrs_staged_pack(attrs_value *out, const attrs_staged *in, const char *bytes,
                                     const attrs_value *items)
{
    out->type = in->type;
    out->len = in->len;
    out->num = in->num;
    out->str = NULL;
    if (in->type == ATTRS_STR)
        out->str = bytes + in->off;
    else if (in->type == ATTRS_TUPLE)
        out->items = items + in->off;
}

/* A decoded record (opaque). */
typedef struct attrs attrs;

/* Decodes a JSON attribute string of len bytes (need not be NUL-terminated;
 * NUL bytes inside are just invalid JSON outside strings). Never fails:
 * returns either a record with the object's keys or the shared "unusable"
 * record. The result is never NULL. */
attrs *attrs_decode(const char *json, size_t len);

/* Frees a record from attrs_decode. NULL and the shared unusable record are
 * no-ops. */
void attrs_free(attrs *a);

/* Bytes the record occupies (its one allocation); 0 for the shared unusable
 * record. For memory accounting. */
size_t attrs_memory(const attrs *a);

/* 1 if the record came from a valid JSON object, 0 if it is the unusable
 * record (or a is NULL). */
int attrs_usable(const attrs *a);

/* Number of distinct keys (0 when unusable). */
size_t attrs_count(const attrs *a);

/* Hash of a key as the record uses it. A compiled filter computes it once
 * per selector and passes it to attrs_lookup(). Stable within a process
 * only (never persisted). */
uint32_t attrs_hash(const char *key, size_t len);

/* Looks a key up (exact bytes). hash must be attrs_hash(key, len). Returns
 * the value, or NULL when the key is absent or the record is unusable or
 * NULL. A present key with an object value returns a value of type
 * ATTRS_UNSUPPORTED (the caller decides what that means). */
const attrs_value *attrs_lookup(const attrs *a, const char *key, size_t len, uint32_t hash);

/* The numeric value of a string as the filter language defines it (also
 * stored in attrs_value.num of ATTRS_STR values): strtod() of the bytes when
 * len < 256 and strtod() stops at the end of the string or at a NUL byte in
 * it, else 0. So "12" is 12, " 12" is 12 (strtod skips leading spaces),
 * "12abc" and "" are 0, "0x10" is 16, "inf" is infinity. */
double attrs_str_to_num(const char *s, size_t len);

/* Decodes the escapes of a string body (without its quotes) of len bytes
 * into dst, by the same rules as attribute strings (so \' gives ' and a
 * final lone backslash is kept). dst needs room for len bytes: decoding
 * never makes a string longer. Returns the decoded length. expr.c uses it
 * for string literals, so literals and attributes compare alike. */
size_t attrs_unescape(const char *src, size_t len, char *dst);

/* The i-th key (0 <= i < attrs_count(a)) in the record's internal order
 * (by hash; not the JSON order): sets *key and *keylen and returns its value.
 * For tests, debugging and introspection. */
const attrs_value *attrs_at(const attrs *a, size_t i, const char **key, size_t *keylen);

#endif
