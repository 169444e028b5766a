/*
 * cmd_server.c -- connection and server commands: PING, ECHO, HELLO, AUTH,
 * SELECT, QUIT, RESET, READONLY, READWRITE, TIME, DBSIZE, MONITOR,
 * SHUTDOWN, DEBUG. Replies and error strings follow Redis 7 exactly, since
 * client libraries string-match some of them (REDIS-COMPAT.md 1.1).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "alloc.h"
#include "commands.h"
#include "log.h"
#include "networking.h"
#include "persist.h"
#include "server.h"
#include "util.h"
#include "workers.h"

void cmd_ping(client *c, int argc, char **argv, size_t *lens)
{
    if (argc > 2) {
        reply_wrong_arity(c, "ping");
        return;
    }
    if (argc == 1)
        resp_add_simple(&c->out, "PONG");
    else
        resp_add_bulk(&c->out, argv[1], lens[1]);
}

void cmd_echo(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    resp_add_bulk(&c->out, argv[1], lens[1]);
}

/* Client names may not contain spaces or special characters (Redis rule:
 * bytes '!'..'~' only). */
int client_name_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '!' || s[i] > '~') return 0;
    return 1;
}

static int password_matches(const char *user, size_t ulen, const char *pass, size_t plen)
{
    int nopass = !srv.requirepass || !srv.requirepass[0];
    if (user && !util_eqcase(user, ulen, "default")) return 0;
    if (nopass) return 1;
    /* Compare in constant time for equal lengths. */
    size_t rl = strlen(srv.requirepass);
    unsigned diff = (unsigned)(rl ^ plen);
    for (size_t i = 0; i < plen && i < rl; i++) diff |= (unsigned)(pass[i] ^ srv.requirepass[i]);
    return diff == 0;
}

static void reply_wrongpass(client *c)
{
    reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
}

void cmd_auth(client *c, int argc, char **argv, size_t *lens)
{
    if (argc > 3) {
        reply_syntax_error(c);
        return;
    }
    if (argc == 2) {
        if (!srv.requirepass || !srv.requirepass[0]) {
            reply_error(c, "ERR AUTH <password> called without any password configured for the "
                           "default user. Are you sure your configuration is correct?");
            return;
        }
        if (!password_matches(NULL, 0, argv[1], lens[1])) {
            reply_wrongpass(c);
            return;
        }
    } else if (!password_matches(argv[1], lens[1], argv[2], lens[2])) {
        reply_wrongpass(c);
        return;
    }
    client_set_authenticated(c, 1);
    reply_ok(c);
}

void cmd_hello(client *c, int argc, char **argv, size_t *lens)
{
    long long ver = 0;
    int i = 1;
    const char *name = NULL;
    size_t namelen = 0;

    if (argc >= 2) {
        if (!util_str2ll(argv[1], lens[1], &ver)) {
            reply_error(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
        i = 2;
    }
    int authed_now = 0;
    for (; i < argc; i++) {
        int more = argc - i - 1;
        if (util_eqcase(argv[i], lens[i], "auth") && more >= 2) {
            if (!password_matches(argv[i + 1], lens[i + 1], argv[i + 2], lens[i + 2])) {
                reply_wrongpass(c);
                return;
            }
            authed_now = 1;
            i += 2;
        } else if (util_eqcase(argv[i], lens[i], "setname") && more >= 1) {
            name = argv[i + 1];
            namelen = lens[i + 1];
            if (!client_name_valid(name, namelen)) {
                reply_error(c, "ERR Client names cannot contain spaces, newlines or special "
                               "characters.");
                return;
            }
            i += 1;
        } else {
            reply_errorf(c, "ERR Syntax error in HELLO option '%.128s'", argv[i]);
            return;
        }
    }
    if (!(c->flags & CLIENT_AUTHENTICATED) && !authed_now) {
        reply_error(c, "NOAUTH HELLO must be called with the client already authenticated, "
                       "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                       "authenticate the client and select the RESP protocol version at the "
                       "same time");
        return;
    }
    if (authed_now) client_set_authenticated(c, 1);
    if (name) {
        xfree(c->name);
        c->name = namelen ? xstrndup(name, namelen) : NULL;
    }
    if (ver) c->proto = c->out.proto = (int)ver;

    resp_add_map(&c->out, 7);
    resp_add_bulk_cstr(&c->out, "server");
    resp_add_bulk_cstr(&c->out, "redis");
    resp_add_bulk_cstr(&c->out, "version");
    resp_add_bulk_cstr(&c->out, VECTIS_REDIS_COMPAT_VERSION);
    resp_add_bulk_cstr(&c->out, "proto");
    resp_add_integer(&c->out, c->proto);
    resp_add_bulk_cstr(&c->out, "id");
    resp_add_integer(&c->out, (long long)c->id);
    resp_add_bulk_cstr(&c->out, "mode");
    resp_add_bulk_cstr(&c->out, "standalone");
    resp_add_bulk_cstr(&c->out, "role");
    resp_add_bulk_cstr(&c->out, "master");
    resp_add_bulk_cstr(&c->out, "modules");
    resp_add_array(&c->out, 0);
}

void cmd_select(client *c, int argc, char **argv, size_t *lens)
{
    long long db;
    (void)argc;
    if (!util_str2ll(argv[1], lens[1], &db)) {
        reply_not_integer(c);
        return;
    }
    if (db != 0) {
        reply_error(c, "ERR DB index is out of range");
        return;
    }
    reply_ok(c);
}

void cmd_quit(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    reply_ok(c);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

void cmd_reset(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    if (c->flags & CLIENT_MONITOR) {
        client_unset_monitor(c);
    }
    xfree(c->name);
    c->name = NULL;
    c->flags &= ~(CLIENT_NO_EVICT | CLIENT_NO_TOUCH | CLIENT_READONLY);
    if (srv.requirepass && srv.requirepass[0]) client_set_authenticated(c, 0);
    c->proto = c->out.proto = 2;
    resp_add_simple(&c->out, "RESET");
}

void cmd_readonly(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    c->flags |= CLIENT_READONLY;
    reply_ok(c);
}

void cmd_readwrite(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    c->flags &= ~CLIENT_READONLY;
    reply_ok(c);
}

void cmd_time(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    long long us = util_ustime();
    resp_add_array(&c->out, 2);
    resp_add_bulk_ll(&c->out, us / 1000000);
    resp_add_bulk_ll(&c->out, us % 1000000);
}

void cmd_monitor(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    if (c->flags & CLIENT_MONITOR) return; /* as Redis: a second MONITOR is ignored */
    client_set_monitor(c);
    reply_ok(c);
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] */

void cmd_shutdown(client *c, int argc, char **argv, size_t *lens)
{
    int flags = 0, abort_req = 0;
    for (int i = 1; i < argc; i++) {
        if (util_eqcase(argv[i], lens[i], "nosave"))
            flags |= SHUTDOWN_NOSAVE;
        else if (util_eqcase(argv[i], lens[i], "save"))
            flags |= SHUTDOWN_SAVE;
        else if (util_eqcase(argv[i], lens[i], "now"))
            flags |= SHUTDOWN_NOW;
        else if (util_eqcase(argv[i], lens[i], "force"))
            flags |= SHUTDOWN_FORCE;
        else if (util_eqcase(argv[i], lens[i], "abort"))
            abort_req = 1;
        else {
            reply_syntax_error(c);
            return;
        }
    }
    if ((abort_req && flags) || ((flags & SHUTDOWN_NOSAVE) && (flags & SHUTDOWN_SAVE))) {
        reply_syntax_error(c);
        return;
    }
    if (abort_req) {
        /* Shutdown here is immediate, so one is never in progress. */
        reply_error(c, "ERR No shutdown in progress.");
        return;
    }
    log_warning("User requested shutdown...");
    if (server_prepare_shutdown(flags) != 0 && !(flags & SHUTDOWN_FORCE)) {
        reply_error(c, "ERR Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    /* No reply: the connection closes when the process exits, as Redis. */
    c->flags |= CLIENT_CLOSE_ASAP;
    server_shutdown_request(0);
}

/* ------------------------------------------------------ SAVE, BGSAVE */

/* Why no checkpoint can start now (NULL: one can). */
static const char *save_refused(void)
{
    if (!persist_enabled()) return "ERR nothing to save: appendonly is no (vectis keeps no data on disk)";
    if (persist_checkpoint_running()) return "ERR Background save already in progress";
    if (persist_write_refused())
        return "ERR Writes are refused (MISCONF): no checkpoint until that is fixed; see the "
               "server log";
    return NULL;
}

/* SAVE: a checkpoint; the caller waits for it, other clients are served. */
void cmd_save(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc, (void)argv, (void)lens;
    const char *why = save_refused();
    if (why) {
        reply_error(c, why);
        return;
    }
    persist_checkpoint_start(c);
}

/* BGSAVE [SCHEDULE] */
void cmd_bgsave(client *c, int argc, char **argv, size_t *lens)
{
    if (argc > 2 || (argc == 2 && !util_eqcase(argv[1], lens[1], "schedule"))) {
        reply_syntax_error(c);
        return;
    }
    if (argc == 2 && persist_enabled() && persist_checkpoint_running()) {
        persist_checkpoint_wanted();
        resp_add_simple(&c->out, "Background saving scheduled");
        return;
    }
    const char *why = save_refused();
    if (why) {
        reply_error(c, why);
        return;
    }
    persist_checkpoint_start(NULL);
    resp_add_simple(&c->out, "Background saving started");
}

void cmd_lastsave(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc, (void)argv, (void)lens;
    resp_add_integer(&c->out, persist_lastsave());
}

/* ---------------------------------------------------------------- DEBUG */

typedef struct sleep_job {
    job base;
    long long usec;
} sleep_job;

static void sleep_job_run(job *j)
{
    sleep_job *s = (sleep_job *)j;
    long long left = s->usec;
    while (left > 0) { /* usleep takes < 1 s portably */
        long long chunk = left > 500000 ? 500000 : left;
        usleep((useconds_t)chunk);
        left -= chunk;
    }
    resp_add_simple(&j->reply, "OK");
}

static void sleep_job_free(job *j)
{
    resp_buf_free(&j->reply);
    xfree(j);
}

static const job_type sleep_job_type = {"debug-worker-sleep", sleep_job_run, client_job_done,
                                        sleep_job_free, 0, 0, NULL};

static int parse_seconds(client *c, const char *s, size_t len, long long *usec)
{
    double d;
    if (!util_str2d(s, len, &d) || d < 0 || d > 86400 || isinf(d)) {
        reply_error(c, "ERR value is not a valid float");
        return -1;
    }
    *usec = (long long)(d * 1e6);
    return 0;
}

void cmd_debug(client *c, int argc, char **argv, size_t *lens)
{
    long long usec;
    if (util_eqcase(argv[1], lens[1], "help") && argc == 2) {
        static const char *const lines[] = {
            "SLEEP <seconds>",
            "    Block the main thread for <seconds> (fractions allowed, at most 86400),",
            "    then reply +OK. No client is served meanwhile.",
            "WORKER-SLEEP <seconds>",
            "    Hold a worker thread for <seconds>, then reply +OK. Only this connection",
            "    (and its pipelined commands) waits; other clients are served as usual.",
            NULL,
        };
        reply_help(c, "DEBUG", lines);
    } else if (util_eqcase(argv[1], lens[1], "sleep") && argc == 3) {
        if (parse_seconds(c, argv[2], lens[2], &usec) != 0) return;
        while (usec > 0) {
            long long chunk = usec > 500000 ? 500000 : usec;
            usleep((useconds_t)chunk);
            usec -= chunk;
        }
        reply_ok(c);
    } else if (util_eqcase(argv[1], lens[1], "worker-sleep") && argc == 3) {
        if (parse_seconds(c, argv[2], lens[2], &usec) != 0) return;
        sleep_job *j = xcalloc(1, sizeof(*j));
        job_init(&j->base, &sleep_job_type, c, c->proto);
        j->usec = usec;
        client_block_on_job(c, &j->base);
    } else {
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.128s'. Try "
                        "DEBUG HELP.", argv[1]);
    }
}
