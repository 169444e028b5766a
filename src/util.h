/*
 * util.h -- small helpers with no server state: strict number parsing,
 * glob matching, memory units, clocks, random ids.
 */
#ifndef VECTIS_UTIL_H
#define VECTIS_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Strict decimal parse of the whole buffer (no spaces, no '+', no leading
 * zeros except "0", no overflow). Returns 1 on success. */
int util_str2ll(const char *s, size_t len, long long *out);
/* Strict double parse of the whole buffer (also "inf", "-inf"; no NaN). */
int util_str2d(const char *s, size_t len, double *out);

/* Glob match as Redis's KEYS/CONFIG GET: * ? [abc] [^a] [a-z] and \x.
 * Returns 1 on match. */
int util_glob_match(const char *pat, size_t patlen, const char *s, size_t slen, int nocase);

/* Parses "100", "1k" (1000), "1kb" (1024), "1m", "1mb", "1g", "1gb",
 * case-insensitive. Returns 1 on success. */
int util_parse_memory(const char *s, long long *out);

/* Formats bytes as Redis's "1.50M" human form. */
void util_bytes_human(char *dst, size_t size, unsigned long long n);

long long util_ustime(void); /* wall clock, microseconds */
long long util_mstime(void); /* wall clock, milliseconds */
long long util_monotonic_us(void);

/* Fills dst with len random hex chars and a NUL (dst has len + 1 bytes). */
void util_random_hex(char *dst, size_t len);

/* Case-insensitive compare of a counted string with a C string. */
int util_eqcase(const char *s, size_t len, const char *lit);

#endif
