/*
 * attrs.c -- decoding of element attributes (flat JSON objects) into
 * immutable records for the filter evaluator. See attrs.h for what a record
 * holds and the JSON dialect accepted.
 *
 * Record layout (one allocation, pointers inside it never move):
 *
 *   struct attrs   nkeys, usable flag, total size
 *   attrs_entry[nkeys]      sorted by (hash, key bytes); one per distinct key
 *   attrs_value[nitems]     the items of every tuple, back to back
 *   char bytes[]            decoded keys and string values, back to back
 *
 * An entry is 40 bytes: the key's hash, length and pointer, and its value
 * (attrs_value, the same struct the evaluator keeps on its stack, so a
 * lookup hands out a pointer and nothing is converted per row). Strings
 * carry their numeric value, computed here once, because the filter
 * language converts strings to numbers for arithmetic and mixed
 * comparisons.
 *
 * Lookup: records have a handful of keys, so up to ATTRS_LINEAR_MAX entries
 * are scanned linearly comparing the 32-bit hash first; larger records
 * binary-search the hash. The compiled filter hashes each selector once.
 *
 * Decoding runs once per VADD SETATTR / VSETATTR, single pass: keys, values
 * and tuple items go to growable scratch arrays (offsets, since the scratch
 * may move), then everything is packed into the record. Nested objects and
 * arrays are validated by an iterative skipper with a bit stack (one bit per
 * level: object or array), bounded by ATTRS_MAX_DEPTH, so hostile nesting
 * cannot overflow the C stack. The unusable record is a shared static
 * object, so invalid JSON costs no memory per element.
 *
 * Threading: decode on any thread; records are immutable, read by any number
 * of threads; attrs_free must not race with readers (the engine's snapshot
 * reference counting guarantees that).
 *
 * Rejected:
 *   - Lazy extraction from the raw JSON at filter time (Redis's way): it
 *     re-scans the text for every selector of every candidate; decoding
 *     once makes evaluation a few hash compares.
 *   - A hash table per record: records hold a few keys; a sorted array is
 *     smaller and as fast at this size.
 *   - Being lenient with broken JSON the way Redis's extractor is (it finds
 *     keys before a syntax error): a record is all-or-nothing, so a filter
 *     never depends on where in the document the corruption is.
 *   - jansson: a full DOM per decode costs many allocations; we need a flat
 *     subset and one allocation.
 */
#include "engine/attrs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

/* Records up to this many keys are searched linearly (hash compare per
 * entry, 40 bytes apart: two cache lines for eight keys). */
#define ATTRS_LINEAR_MAX 8
/* Numbers longer than this are copied to the heap for strtod (bytes); JSON
 * numbers are short in practice. */
#define ATTRS_NUM_STACKBUF 64
/* Strings at least this long have numeric value 0 (bytes), as in Redis. */
#define ATTRS_STRNUM_MAX 256

typedef struct attrs_entry {
    uint32_t hash;
    uint32_t keylen;
    const char *key;
    attrs_value v;
} attrs_entry;

struct attrs {
    uint32_t nkeys;
    uint32_t usable;
    size_t size;
    attrs_entry entries[];
};

/* The shared "no usable attributes" record. Never freed, never written. */
static attrs attrs_unusable_rec = {0, 0, 0};

/* ------------------------------------------------------------ scratch */

/* A value while decoding: strings and tuple items are offsets into the
 * scratch arrays (they may be reallocated while decoding). */
typedef struct tmp_entry {
    size_t koff;
    uint32_t klen;
    uint32_t hash;
    uint32_t order;  /* position in the document, for first-wins dedup */
    const char *key; /* set after decoding, for sorting */
    attrs_staged v;
} tmp_entry;

typedef struct decoder {
    const char *p, *end;
    char *bytes;
    size_t blen, bcap;
    tmp_entry *ents;
    size_t nents, ecap;
    attrs_staged *items;
    size_t nitems, icap;
} decoder;

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return p;
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    *cap = ncap;
    return xrealloc(p, ncap * elem);
}

static void emit_bytes(decoder *d, const char *s, size_t n)
{
    d->bytes = grow(d->bytes, &d->bcap, d->blen + n, 1);
    memcpy(d->bytes + d->blen, s, n);
    d->blen += n;
}

/* ------------------------------------------------------------ helpers */

uint32_t attrs_hash(const char *key, size_t len)
{
    /* FNV-1a: keys are short identifiers; this is a few ns and needs no
     * dependency. Collisions only cost a memcmp. */
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 16777619u;
    }
    return h;
}

double attrs_str_to_num(const char *s, size_t len)
{
    char buf[ATTRS_STRNUM_MAX];
    if (len >= sizeof(buf)) return 0;
    if (len) memcpy(buf, s, len);
    buf[len] = '\0';
    char *endp;
    double v = strtod(buf, &endp);
    return *endp == '\0' ? v : 0;
}

static int is_ws(int c)
{
    /* JSON whitespace plus \v and \f (Redis's extractor uses isspace). */
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void skip_ws(decoder *d)
{
    while (d->p < d->end && is_ws((unsigned char)*d->p))
        d->p++;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits at s (s + 4 <= end checked by the caller). */
static int read_hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval((unsigned char)s[i]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Writes code point cp as UTF-8 into out (room for 4 bytes); returns the
 * number of bytes. */
static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes one escape. p points at the character after the backslash
 * (p < end). Writes the decoded bytes (1 to 4) into out, returns their
 * number and sets *used to the characters consumed from p (1, 5 or 11).
 * Never more bytes out than in: \uXXXX (6) gives at most 3 bytes, a
 * surrogate pair (12) gives 4. */
static size_t decode_escape(const char *p, const char *end, char *out, size_t *used)
{
    *used = 1;
    switch (*p) {
    case 'b':
        out[0] = '\b';
        return 1;
    case 'f':
        out[0] = '\f';
        return 1;
    case 'n':
        out[0] = '\n';
        return 1;
    case 'r':
        out[0] = '\r';
        return 1;
    case 't':
        out[0] = '\t';
        return 1;
    case 'u': {
        int cp = end - p >= 5 ? read_hex4(p + 1) : -1;
        if (cp < 0) {
            out[0] = 'u'; /* Malformed: keep the letter, as Redis does. */
            return 1;
        }
        *used = 5;
        uint32_t c = (uint32_t)cp;
        if (c >= 0xD800 && c <= 0xDBFF) {
            const char *q = p + 5;
            int lo = (end - q >= 6 && q[0] == '\\' && q[1] == 'u') ? read_hex4(q + 2) : -1;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                c = 0x10000 + ((c - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
                *used = 11;
            } else {
                c = 0xFFFD;
            }
        } else if (c >= 0xDC00 && c <= 0xDFFF) {
            c = 0xFFFD;
        }
        return put_utf8(out, c);
    }
    default:
        /* \" \\ \/ decode to themselves; any other escaped character is
         * kept without its backslash (Redis does the same). */
        out[0] = *p;
        return 1;
    }
}

size_t attrs_unescape(const char *src, size_t len, char *dst)
{
    const char *p = src, *end = src + len;
    size_t n = 0;
    while (p < end) {
        if (*p != '\\' || p + 1 >= end) {
            dst[n++] = *p++;
            continue;
        }
        size_t used;
        n += decode_escape(p + 1, end, dst + n, &used);
        p += 1 + used;
    }
    return n;
}

/* Parses the string at d->p (which is at the opening quote). With emit, the
 * decoded bytes are appended to d->bytes. Returns 1, or 0 on an
 * unterminated string. */
static int parse_string(decoder *d, int emit)
{
    const char *p = d->p + 1, *end = d->end;
    for (;;) {
        const char *run = p;
        while (p < end && *p != '"' && *p != '\\')
            p++;
        if (emit && p > run) emit_bytes(d, run, (size_t)(p - run));
        if (p >= end) return 0;
        if (*p == '"') {
            d->p = p + 1;
            return 1;
        }
        /* Backslash. An escape never swallows the closing quote: \uXXXX
         * and its low-surrogate look-ahead only consume hex digits. */
        if (p + 1 >= end) return 0;
        if (!emit) {
            p += 2;
            continue;
        }
        char out[4];
        size_t used;
        size_t n = decode_escape(p + 1, end, out, &used);
        emit_bytes(d, out, n);
        p += 1 + used;
    }
}

static int match_word(decoder *d, const char *w, size_t n)
{
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, w, n) != 0) return 0;
    d->p += n;
    return 1;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* Parses a JSON number at d->p (strict grammar, plus NaN, Infinity and
 * -Infinity). Returns 1 and sets *out, or 0. */
static int parse_number(decoder *d, double *out)
{
    const char *start = d->p, *end = d->end;
    if (match_word(d, "NaN", 3)) {
        *out = NAN;
        return 1;
    }
    const char *p = d->p;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    d->p = p;
    if (match_word(d, "Infinity", 8)) {
        *out = neg ? -INFINITY : INFINITY;
        return 1;
    }
    if (p < end && *p == '0') {
        p++;
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && is_digit((unsigned char)*p))
            p++;
    } else {
        return 0;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || !is_digit((unsigned char)*p)) return 0;
        while (p < end && is_digit((unsigned char)*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !is_digit((unsigned char)*p)) return 0;
        while (p < end && is_digit((unsigned char)*p))
            p++;
    }
    size_t n = (size_t)(p - start);
    char sbuf[ATTRS_NUM_STACKBUF];
    char *buf = n < sizeof(sbuf) ? sbuf : xmalloc(n + 1);
    memcpy(buf, start, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    if (buf != sbuf) xfree(buf);
    d->p = p;
    return 1;
}

/* Validates and skips one JSON value of any kind at d->p, iteratively.
 * Returns 1, or 0 on a syntax error or nesting deeper than maxdepth levels
 * (at most ATTRS_MAX_DEPTH). */
static int skip_value(decoder *d, int maxdepth)
{
    unsigned char isobj[ATTRS_MAX_DEPTH / 8];
    int depth = 0;
    double dummy;

value:
    skip_ws(d);
    if (d->p >= d->end) return 0;
    switch (*d->p) {
    case '{':
    case '[': {
        int obj = *d->p == '{';
        if (depth >= maxdepth) return 0;
        if (obj)
            isobj[depth / 8] |= (unsigned char)(1u << (depth % 8));
        else
            isobj[depth / 8] &= (unsigned char)~(1u << (depth % 8));
        depth++;
        d->p++;
        skip_ws(d);
        if (d->p < d->end && *d->p == (obj ? '}' : ']')) {
            d->p++;
            depth--;
            goto close;
        }
        if (obj) goto key;
        goto value;
    }
    case '"':
        if (!parse_string(d, 0)) return 0;
        goto close;
    case 't':
        if (!match_word(d, "true", 4)) return 0;
        goto close;
    case 'f':
        if (!match_word(d, "false", 5)) return 0;
        goto close;
    case 'n':
        if (!match_word(d, "null", 4)) return 0;
        goto close;
    default:
        if (!parse_number(d, &dummy)) return 0;
        goto close;
    }

key:
    skip_ws(d);
    if (d->p >= d->end || *d->p != '"' || !parse_string(d, 0)) return 0;
    skip_ws(d);
    if (d->p >= d->end || *d->p != ':') return 0;
    d->p++;
    goto value;

close:
    if (depth == 0) return 1;
    skip_ws(d);
    if (d->p >= d->end) return 0;
    {
        int obj = (isobj[(depth - 1) / 8] >> ((depth - 1) % 8)) & 1;
        if (*d->p == ',') {
            d->p++;
            if (obj) goto key;
            goto value;
        }
        if (*d->p == (obj ? '}' : ']')) {
            d->p++;
            depth--;
            goto close;
        }
    }
    return 0;
}

/* Parses a scalar (string, number, true/false/null) into *v. Returns 1, 0
 * on a syntax error, -1 if the value is an array or object (not parsed). */
static int parse_scalar(decoder *d, attrs_staged *v)
{
    memset(v, 0, sizeof(*v));
    switch (*d->p) {
    case '[':
    case '{':
        return -1;
    case '"': {
        size_t off = d->blen;
        if (!parse_string(d, 1)) return 0;
        size_t n = d->blen - off;
        if (n > UINT32_MAX) return 0;
        v->type = ATTRS_STR;
        v->len = (uint32_t)n;
        v->off = off;
        v->num = attrs_str_to_num(d->bytes + off, n);
        return 1;
    }
    case 't':
        if (!match_word(d, "true", 4)) return 0;
        v->type = ATTRS_NUM;
        v->num = 1;
        return 1;
    case 'f':
        if (!match_word(d, "false", 5)) return 0;
        v->type = ATTRS_NUM;
        return 1;
    case 'n':
        if (!match_word(d, "null", 4)) return 0;
        v->type = ATTRS_NULL;
        return 1;
    default:
        v->type = ATTRS_NUM;
        return parse_number(d, &v->num);
    }
}

/* Parses the array at d->p into a tuple (or ATTRS_UNSUPPORTED if it holds an
 * array or object). Returns 1, or 0 on a syntax error. */
static int parse_array(decoder *d, attrs_staged *v)
{
    size_t items0 = d->nitems, bytes0 = d->blen;
    int nested = 0;
    d->p++;
    skip_ws(d);
    if (d->p < d->end && *d->p == ']') {
        d->p++;
    } else {
        for (;;) {
            skip_ws(d);
            if (d->p >= d->end) return 0;
            attrs_staged item;
            int r = parse_scalar(d, &item);
            if (r == 0) return 0;
            if (r < 0) {
                nested = 1;
                /* The array itself is one level of the value. */
                if (!skip_value(d, ATTRS_MAX_DEPTH - 1)) return 0;
            } else if (!nested) {
                d->items = grow(d->items, &d->icap, d->nitems + 1, sizeof(attrs_staged));
                d->items[d->nitems++] = item;
            }
            skip_ws(d);
            if (d->p >= d->end) return 0;
            if (*d->p == ',') {
                d->p++;
                continue;
            }
            if (*d->p != ']') return 0;
            d->p++;
            break;
        }
    }
    memset(v, 0, sizeof(*v));
    if (nested || d->nitems - items0 > UINT32_MAX) {
        d->nitems = items0; /* Drop what was collected before the nested value. */
        d->blen = bytes0;
        v->type = ATTRS_UNSUPPORTED;
    } else {
        v->type = ATTRS_TUPLE;
        v->len = (uint32_t)(d->nitems - items0);
        v->off = items0;
    }
    return 1;
}

/* Parses the whole document. Returns 1 if it is a valid JSON object. */
static int parse_document(decoder *d)
{
    skip_ws(d);
    if (d->p >= d->end || *d->p != '{') return 0;
    d->p++;
    skip_ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
    } else {
        for (;;) {
            skip_ws(d);
            if (d->p >= d->end || *d->p != '"') return 0;
            size_t koff = d->blen;
            if (!parse_string(d, 1)) return 0;
            size_t klen = d->blen - koff;
            if (klen > UINT32_MAX || d->nents >= UINT32_MAX) return 0;
            skip_ws(d);
            if (d->p >= d->end || *d->p != ':') return 0;
            d->p++;
            skip_ws(d);
            if (d->p >= d->end) return 0;

            attrs_staged v;
            int r = parse_scalar(d, &v);
            if (r == 0) return 0;
            if (r < 0) {
                if (*d->p == '[') {
                    if (!parse_array(d, &v)) return 0;
                } else {
                    if (!skip_value(d, ATTRS_MAX_DEPTH)) return 0;
                    v.type = ATTRS_UNSUPPORTED;
                }
            }
            d->ents = grow(d->ents, &d->ecap, d->nents + 1, sizeof(tmp_entry));
            tmp_entry *e = &d->ents[d->nents];
            e->koff = koff;
            e->klen = (uint32_t)klen;
            e->hash = 0;
            e->order = (uint32_t)d->nents;
            e->key = NULL;
            e->v = v;
            d->nents++;

            skip_ws(d);
            if (d->p >= d->end) return 0;
            if (*d->p == ',') {
                d->p++;
                continue;
            }
            if (*d->p != '}') return 0;
            d->p++;
            break;
        }
    }
    skip_ws(d);
    return d->p == d->end;
}

static int cmp_entry(const void *pa, const void *pb)
{
    const tmp_entry *a = pa, *b = pb;
    if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
    if (a->klen != b->klen) return a->klen < b->klen ? -1 : 1;
    int c = a->klen ? memcmp(a->key, b->key, a->klen) : 0;
    if (c) return c;
    return a->order < b->order ? -1 : (a->order > b->order);
}

attrs *attrs_decode(const char *json, size_t len)
{
    if (json == NULL || len > UINT32_MAX) return &attrs_unusable_rec;
    decoder d = {.p = json, .end = json + len};
    attrs *rec = &attrs_unusable_rec;
    /* Scratch is never NULL, so key pointers are valid even when empty. */
    d.bytes = grow(NULL, &d.bcap, 64, 1);

    if (parse_document(&d)) {
        /* Sort by (hash, key, document order) and keep the first of each
         * run of equal keys. */
        for (size_t i = 0; i < d.nents; i++) {
            d.ents[i].key = d.bytes + d.ents[i].koff;
            d.ents[i].hash = attrs_hash(d.ents[i].key, d.ents[i].klen);
        }
        if (d.nents > 1) qsort(d.ents, d.nents, sizeof(tmp_entry), cmp_entry);
        size_t n = 0;
        for (size_t i = 0; i < d.nents; i++) {
            if (n > 0 && d.ents[n - 1].hash == d.ents[i].hash &&
                d.ents[n - 1].klen == d.ents[i].klen &&
                (d.ents[i].klen == 0 ||
                 memcmp(d.ents[n - 1].key, d.ents[i].key, d.ents[i].klen) == 0))
                continue;
            d.ents[n++] = d.ents[i];
        }

        size_t size =
            sizeof(attrs) + n * sizeof(attrs_entry) + d.nitems * sizeof(attrs_value) + d.blen;
        rec = xmalloc(size);
        rec->nkeys = (uint32_t)n;
        rec->usable = 1;
        rec->size = size;
        attrs_value *items = (attrs_value *)(rec->entries + n);
        char *bytes = (char *)(items + d.nitems);
        if (d.blen) memcpy(bytes, d.bytes, d.blen);
        for (size_t i = 0; i < d.nitems; i++)
            attrs_staged_pack(&items[i], &d.items[i], bytes, items);
        for (size_t i = 0; i < n; i++) {
            attrs_entry *e = &rec->entries[i];
            e->hash = d.ents[i].hash;
            e->keylen = d.ents[i].klen;
            e->key = bytes + d.ents[i].koff;
            attrs_staged_pack(&e->v, &d.ents[i].v, bytes, items);
        }
    }
    xfree(d.bytes);
    xfree(d.ents);
    xfree(d.items);
    return rec;
}

void attrs_free(attrs *a)
{
    if (a == NULL || a == &attrs_unusable_rec) return;
    xfree(a);
}

size_t attrs_memory(const attrs *a)
{
    return a ? a->size : 0;
}

int attrs_usable(const attrs *a)
{
    return a != NULL && a->usable;
}

size_t attrs_count(const attrs *a)
{
    return a ? a->nkeys : 0;
}

const attrs_value *attrs_lookup(const attrs *a, const char *key, size_t len, uint32_t hash)
{
    if (a == NULL) return NULL;
    const attrs_entry *e = a->entries;
    size_t n = a->nkeys, i = 0;
    if (n > ATTRS_LINEAR_MAX) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (e[mid].hash < hash)
                lo = mid + 1;
            else
                hi = mid;
        }
        i = lo;
    }
    for (; i < n && e[i].hash <= hash; i++) {
        if (e[i].hash == hash && e[i].keylen == len &&
            (len == 0 || memcmp(e[i].key, key, len) == 0))
            return &e[i].v;
    }
    return NULL;
}

const attrs_value *attrs_at(const attrs *a, size_t i, const char **key, size_t *keylen)
{
    if (a == NULL || i >= a->nkeys) return NULL;
    if (key) *key = a->entries[i].key;
    if (keylen) *keylen = a->entries[i].keylen;
    return &a->entries[i].v;
}
