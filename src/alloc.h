/*
 * alloc.h -- the one allocator wrapper of vectis.
 *
 * Everything the server allocates goes through xmalloc & co, which never
 * return NULL (an allocation failure logs and aborts: a server that cannot
 * allocate a few bytes cannot answer safely). jemalloc is the process
 * allocator (linked in, it replaces malloc), so libraries that call malloc
 * directly (libevent, RocksDB, the index hooks) are counted too: used memory
 * is read from jemalloc's own statistics, not from a counter kept here. Under
 * the sanitizers (no jemalloc) a counter of malloc_usable_size() is used.
 */
#ifndef VECTIS_ALLOC_H
#define VECTIS_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
void xfree(void *p);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Bytes allocated by the process (jemalloc stats.allocated), refreshed at
 * most every ALLOC_REFRESH_US; cheap enough to call per write command. */
size_t alloc_used_memory(void);
/* Same, forcing a refresh of the allocator statistics. */
size_t alloc_used_memory_now(void);
/* Resident set size from /proc/self/statm. */
size_t alloc_rss(void);
/* "jemalloc-5.3.0" or "libc". */
const char *alloc_name(void);
/* Returns unused dirty pages to the OS (jemalloc arena purge). */
void alloc_purge(void);

#endif
