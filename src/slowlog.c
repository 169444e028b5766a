/*
 * slowlog.c -- SLOWLOG: the last `slowlog-max-len` commands that took longer
 * than `slowlog-log-slower-than` microseconds (main-thread execution time;
 * time spent waiting for a worker is not counted, as Redis does not count
 * time blocked). Entries keep at most 32 arguments of at most 128 bytes,
 * as Redis does, so a huge VADD cannot make the log huge. Main thread only.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "commands.h"
#include "server.h"
#include "util.h"

#define SLOWLOG_MAX_ARGC 32
#define SLOWLOG_MAX_ARGLEN 128

typedef struct slow_entry {
    struct slow_entry *next, *prev;
    long long id;
    long long time;
    long long duration;
    int argc;
    char **argv;
    size_t *lens;
    char *peer;
    char *name;
} slow_entry;

static slow_entry *head, *tail; /* newest first */
static long long count;
static long long next_id;

static void entry_free(slow_entry *e)
{
    for (int i = 0; i < e->argc; i++) xfree(e->argv[i]);
    xfree(e->argv);
    xfree(e->lens);
    xfree(e->peer);
    xfree(e->name);
    xfree(e);
}

static void trim(void)
{
    while (count > srv.slowlog_max_len && tail) {
        slow_entry *e = tail;
        tail = e->prev;
        if (tail)
            tail->next = NULL;
        else
            head = NULL;
        entry_free(e);
        count--;
    }
}

void slowlog_push(client *c, int argc, char **argv, size_t *lens, long long duration_us)
{
    if (srv.slowlog_slower_than < 0 || duration_us < srv.slowlog_slower_than) return;
    if (srv.slowlog_max_len == 0) return;
    slow_entry *e = xcalloc(1, sizeof(*e));
    int n = argc > SLOWLOG_MAX_ARGC ? SLOWLOG_MAX_ARGC : argc;
    e->argc = n;
    e->argv = xmalloc(sizeof(char *) * (size_t)n);
    e->lens = xmalloc(sizeof(size_t) * (size_t)n);
    for (int i = 0; i < n; i++) {
        char buf[SLOWLOG_MAX_ARGLEN + 64];
        if (n < argc && i == n - 1) {
            int l = snprintf(buf, sizeof(buf), "... (%d more arguments)", argc - n + 1);
            e->argv[i] = xstrndup(buf, (size_t)l);
            e->lens[i] = (size_t)l;
        } else if (lens[i] > SLOWLOG_MAX_ARGLEN) {
            memcpy(buf, argv[i], SLOWLOG_MAX_ARGLEN);
            int l = snprintf(buf + SLOWLOG_MAX_ARGLEN, 64, "... (%zu more bytes)",
                             lens[i] - SLOWLOG_MAX_ARGLEN);
            e->argv[i] = xstrndup(buf, SLOWLOG_MAX_ARGLEN + (size_t)l);
            e->lens[i] = SLOWLOG_MAX_ARGLEN + (size_t)l;
        } else {
            e->argv[i] = xstrndup(argv[i], lens[i]);
            e->lens[i] = lens[i];
        }
    }
    e->id = next_id++;
    e->time = (long long)time(NULL);
    e->duration = duration_us;
    e->peer = xstrdup(c->addr);
    e->name = xstrdup(c->name ? c->name : "");
    e->next = head;
    if (head) head->prev = e;
    head = e;
    if (!tail) tail = e;
    count++;
    trim();
}

void slowlog_free_all(void)
{
    while (head) {
        slow_entry *e = head;
        head = e->next;
        entry_free(e);
    }
    tail = NULL;
    count = 0;
}

void cmd_slowlog_get(client *c, int argc, char **argv, size_t *lens)
{
    long long n = 10;
    if (argc == 3) {
        if (!util_str2ll(argv[2], lens[2], &n) || n < -1) {
            reply_error(c, "ERR count should be greater than or equal to -1");
            return;
        }
        if (n == -1) n = count;
    } else if (argc > 3) {
        reply_wrong_arity(c, "slowlog|get");
        return;
    }
    if (n > count) n = count;
    resp_add_array(&c->out, (long)n);
    slow_entry *e = head;
    for (long long i = 0; i < n && e; i++, e = e->next) {
        resp_add_array(&c->out, 6);
        resp_add_integer(&c->out, e->id);
        resp_add_integer(&c->out, e->time);
        resp_add_integer(&c->out, e->duration);
        resp_add_array(&c->out, e->argc);
        for (int j = 0; j < e->argc; j++) resp_add_bulk(&c->out, e->argv[j], e->lens[j]);
        resp_add_bulk_cstr(&c->out, e->peer);
        resp_add_bulk_cstr(&c->out, e->name);
    }
}

void cmd_slowlog_len(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    resp_add_integer(&c->out, count);
}

void cmd_slowlog_reset(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    slowlog_free_all();
    reply_ok(c);
}

void cmd_slowlog_help(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    static const char *const lines[] = {
        "GET [<count>]",
        "    The <count> newest entries, newest first (10 when omitted, all with -1).",
        "    Each entry is [id, Unix time, duration in microseconds, [arguments...],",
        "    \"ip:port\", client name]; long argument lists and values are cut short.",
        "LEN",
        "    How many entries the log holds (at most slowlog-max-len).",
        "RESET",
        "    Drop every entry; ids keep counting up.",
        NULL,
    };
    reply_help(c, "SLOWLOG", lines);
}
