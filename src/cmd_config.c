/*
 * cmd_config.c -- CONFIG GET / SET / REWRITE / RESETSTAT / HELP over the
 * directive table in config.c.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "commands.h"
#include "config.h"
#include "log.h"
#include "server.h"

typedef struct get_ctx {
    resp_buf *out;
    long n;
} get_ctx;

static void get_cb(void *arg, const char *name, const char *value)
{
    get_ctx *g = arg;
    resp_add_bulk_cstr(g->out, name);
    resp_add_bulk_cstr(g->out, value);
    g->n++;
}

void cmd_config_get(client *c, int argc, char **argv, size_t *lens)
{
    (void)lens;
    get_ctx g = {&c->out, 0};
    size_t h = resp_add_deferred(&c->out);
    config_get_matching(argc - 2, argv + 2, get_cb, &g);
    resp_set_deferred(&c->out, h, RESP_AGG_MAP, g.n);
}

void cmd_config_set(client *c, int argc, char **argv, size_t *lens)
{
    char err[512];
    (void)lens;
    if ((argc - 2) % 2 != 0) {
        reply_wrong_arity(c, "config|set");
        return;
    }
    int npairs = (argc - 2) / 2;
    char **names = xmalloc(sizeof(char *) * (size_t)npairs);
    char **values = xmalloc(sizeof(char *) * (size_t)npairs);
    for (int i = 0; i < npairs; i++) {
        names[i] = argv[2 + 2 * i];
        values[i] = argv[3 + 2 * i];
    }
    if (config_set_pairs(npairs, names, values, err, sizeof(err)) == 0)
        reply_ok(c);
    else
        reply_error(c, err);
    xfree(names);
    xfree(values);
}

void cmd_config_rewrite(client *c, int argc, char **argv, size_t *lens)
{
    char err[512];
    (void)argc;
    (void)argv;
    (void)lens;
    if (config_rewrite(srv.config_file, err, sizeof(err)) != 0) {
        log_warning("CONFIG REWRITE failed: %s", err);
        reply_error(c, err);
        return;
    }
    log_notice("CONFIG REWRITE executed with success.");
    reply_ok(c);
}

void cmd_config_resetstat(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    memset(&srv.stats, 0, sizeof(srv.stats));
    srv.used_memory_peak = 0;
    commands_reset_stats();
    reply_ok(c);
}

void cmd_config_help(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    static const char *const lines[] = {
        "GET <pattern>",
        "    Name and live value of each directive whose name matches the glob <pattern>;",
        "    more patterns may follow.",
        "SET <directive> <value> [<directive> <value> ...]",
        "    Change directives while the server runs. Every value is checked first: one",
        "    bad value and nothing changes.",
        "RESETSTAT",
        "    Zero the counters INFO shows, commandstats and errorstats included.",
        "REWRITE",
        "    Save the live settings into the file the server was started with; comments",
        "    and unknown lines stay.",
        NULL,
    };
    reply_help(c, "CONFIG", lines);
}
