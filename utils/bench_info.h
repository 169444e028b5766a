/*
 * bench_info.h -- INFO helpers shared by the hiredis benchmark clients
 * (bench_vset.c, bench_persist.c): one numeric field, and the lines of a
 * section that start with given prefixes. Header-only (static functions):
 * each benchmark is a single-file program.
 */
#ifndef VECTIS_BENCH_INFO_H
#define VECTIS_BENCH_INFO_H

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The value of numeric `field` in INFO `section`, or -1 when absent or on
 * error. */
static double bench_info_field(redisContext *c, const char *section, const char *field)
{
    redisReply *r = redisCommand(c, "INFO %s", section);
    double v = -1;
    if (r && r->type == REDIS_REPLY_STRING) {
        char pat[128];
        snprintf(pat, sizeof(pat), "\n%s:", field);
        const char *p = strstr(r->str, pat);
        if (p) v = strtod(p + strlen(pat), NULL);
    }
    if (r) freeReplyObject(r);
    return v;
}

/* Prints the lines of INFO `section` starting with one of `prefixes`
 * (NULL-terminated; NULL = every line), indented. */
static void bench_print_info(redisContext *c, const char *section, const char *const *prefixes)
{
    redisReply *r = redisCommand(c, "INFO %s", section);
    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        printf("  (INFO %s failed: %s)\n", section,
               r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
        if (r) freeReplyObject(r);
        return;
    }
    char *save = NULL;
    for (char *line = strtok_r(r->str, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        if (line[0] == '#') continue;
        int show = prefixes == NULL;
        for (size_t i = 0; prefixes && prefixes[i]; i++)
            if (strncasecmp(line, prefixes[i], strlen(prefixes[i])) == 0) show = 1;
        if (show) printf("  %s\n", line);
    }
    freeReplyObject(r);
}

#endif
