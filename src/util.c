/*
 * util.c -- see util.h. Pure functions except util_random_hex (reads
 * /dev/urandom once to seed a private generator).
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int util_str2ll(const char *s, size_t len, long long *out)
{
    size_t i = 0;
    int neg = 0;
    unsigned long long v = 0, limit;

    if (len == 0 || len > 20) return 0;
    if (s[0] == '-') {
        neg = 1;
        i = 1;
        if (len == 1) return 0;
    }
    if (s[i] == '0' && len - i > 1) return 0;
    limit = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10) return 0;
        v = v * 10 + d;
    }
    if (neg && v == 0 && len > 1) return 0; /* "-0" */
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 1;
}

int util_str2d(const char *s, size_t len, double *out)
{
    char buf[128];
    char *end;
    if (len == 0 || len >= sizeof(buf) || isspace((unsigned char)s[0])) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + len || isnan(v) || (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL)))
        return 0;
    *out = v;
    return 1;
}

static int glob_class(const char **pp, const char *pend, char c, int nocase)
{
    const char *p = *pp;
    int negate = 0, match = 0;
    p++; /* '[' */
    if (p < pend && *p == '^') {
        negate = 1;
        p++;
    }
    while (p < pend && *p != ']') {
        if (*p == '\\' && p + 1 < pend) {
            p++;
            if (*p == c) match = 1;
        } else if (p + 2 < pend && p[1] == '-' && p[2] != ']') {
            char lo = p[0], hi = p[2], cc = c;
            if (lo > hi) {
                char t = lo;
                lo = hi;
                hi = t;
            }
            if (nocase) {
                lo = (char)tolower((unsigned char)lo);
                hi = (char)tolower((unsigned char)hi);
                cc = (char)tolower((unsigned char)cc);
            }
            if (cc >= lo && cc <= hi) match = 1;
            p += 2;
        } else if (nocase ? tolower((unsigned char)*p) == tolower((unsigned char)c) : *p == c) {
            match = 1;
        }
        p++;
    }
    *pp = p; /* on ']' or at the end */
    return negate ? !match : match;
}

static int glob_rec(const char *p, const char *pend, const char *s, const char *send, int nocase,
                    int depth)
{
    if (depth > 1000) return 0; /* pathological patterns: refuse, never overflow */
    while (p < pend) {
        switch (*p) {
        case '*':
            while (p + 1 < pend && p[1] == '*') p++;
            if (p + 1 == pend) return 1;
            for (const char *t = s; t <= send; t++)
                if (glob_rec(p + 1, pend, t, send, nocase, depth + 1)) return 1;
            return 0;
        case '?':
            if (s == send) return 0;
            s++;
            break;
        case '[':
            if (s == send) return 0;
            if (!glob_class(&p, pend, *s, nocase)) return 0;
            if (p == pend) p--; /* unterminated class: treat end as ']' */
            s++;
            break;
        case '\\':
            if (p + 1 < pend) p++;
            /* fall through */
        default:
            if (s == send) return 0;
            if (nocase ? tolower((unsigned char)*p) != tolower((unsigned char)*s) : *p != *s)
                return 0;
            s++;
            break;
        }
        p++;
    }
    return s == send;
}

int util_glob_match(const char *pat, size_t patlen, const char *s, size_t slen, int nocase)
{
    return glob_rec(pat, pat + patlen, s, s + slen, nocase, 0);
}

int util_parse_memory(const char *s, long long *out)
{
    size_t len = strlen(s), numlen = len;
    long long mul = 1, v;
    static const struct {
        const char *suffix;
        long long mul;
    } units[] = {{"kb", 1024LL},      {"mb", 1024LL * 1024},         {"gb", 1024LL * 1024 * 1024},
                 {"k", 1000LL},       {"m", 1000LL * 1000},          {"g", 1000LL * 1000 * 1000},
                 {"b", 1}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t sl = strlen(units[i].suffix);
        if (len > sl && strcasecmp(s + len - sl, units[i].suffix) == 0) {
            mul = units[i].mul;
            numlen = len - sl;
            break;
        }
    }
    if (!util_str2ll(s, numlen, &v)) return 0;
    if (v < 0 && mul != 1) return 0;
    if (mul != 1 && v > LLONG_MAX / mul) return 0;
    *out = v * mul;
    return 1;
}

void util_bytes_human(char *dst, size_t size, unsigned long long n)
{
    const char *units = "BKMGTP";
    double d = (double)n;
    int u = 0;
    while (d >= 1024 && u < 5) {
        d /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(dst, size, "%lluB", n);
    else
        snprintf(dst, size, "%.2f%c", d, units[u]);
}

long long util_ustime(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

long long util_mstime(void)
{
    return util_ustime() / 1000;
}

long long util_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static pthread_mutex_t rnd_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rnd_state;

static uint64_t rnd_next(void)
{
    /* splitmix64: enough for ids, never for secrets */
    uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void util_random_hex(char *dst, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    pthread_mutex_lock(&rnd_lock);
    if (rnd_state == 0) {
        FILE *f = fopen("/dev/urandom", "r");
        if (!f || fread(&rnd_state, sizeof(rnd_state), 1, f) != 1)
            rnd_state = (uint64_t)util_ustime() ^ ((uint64_t)getpid() << 32);
        if (f) fclose(f);
    }
    for (size_t i = 0; i < len; i++) dst[i] = hex[rnd_next() & 15];
    dst[len] = '\0';
    pthread_mutex_unlock(&rnd_lock);
}

int util_eqcase(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}
