/*
 * cmd_client.c -- CLIENT subcommands: ID, SETNAME, GETNAME, SETINFO, LIST,
 * INFO, KILL, NO-EVICT, NO-TOUCH, HELP. Replies and errors as Redis 7.2.
 * Killing another client frees it at once (its running worker job, if any,
 * completes into the void); killing oneself closes after the reply.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "commands.h"
#include "networking.h"
#include "server.h"
#include "util.h"

int client_name_valid(const char *s, size_t len); /* cmd_server.c */

void cmd_client_id(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    resp_add_integer(&c->out, (long long)c->id);
}

void cmd_client_setname(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    if (!client_name_valid(argv[2], lens[2])) {
        reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    xfree(c->name);
    c->name = lens[2] ? xstrndup(argv[2], lens[2]) : NULL;
    reply_ok(c);
}

void cmd_client_getname(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    if (c->name)
        resp_add_bulk_cstr(&c->out, c->name);
    else
        resp_add_null(&c->out);
}

void cmd_client_setinfo(client *c, int argc, char **argv, size_t *lens)
{
    char **dest;
    (void)argc;
    if (util_eqcase(argv[2], lens[2], "lib-name"))
        dest = &c->lib_name;
    else if (util_eqcase(argv[2], lens[2], "lib-ver"))
        dest = &c->lib_ver;
    else {
        reply_errorf(c, "ERR Unrecognized option '%.128s'", argv[2]);
        return;
    }
    if (!client_name_valid(argv[3], lens[3])) {
        reply_errorf(c, "ERR %.128s cannot contain spaces, newlines or special characters.",
                     argv[2]);
        return;
    }
    xfree(*dest);
    *dest = lens[3] ? xstrndup(argv[3], lens[3]) : NULL;
    reply_ok(c);
}

/* Appends one info line plus '\n' to a growing buffer. */
static void append_info(char **buf, size_t *len, size_t *cap, const client *cl)
{
    char line[2048];
    size_t n = client_format_info(cl, line, sizeof(line));
    if (*len + n + 2 > *cap) {
        *cap = (*len + n + 2) * 2;
        *buf = xrealloc(*buf, *cap);
    }
    memcpy(*buf + *len, line, n);
    *len += n;
    (*buf)[(*len)++] = '\n';
}

static int type_valid(const char *s, size_t len)
{
    return util_eqcase(s, len, "normal") || util_eqcase(s, len, "master") ||
           util_eqcase(s, len, "replica") || util_eqcase(s, len, "slave") ||
           util_eqcase(s, len, "pubsub");
}

/* vectis has no replicas or pub/sub clients yet, so only "normal" matches. */
static int type_matches(const client *cl, const char *s, size_t len)
{
    (void)cl;
    return util_eqcase(s, len, "normal");
}

void cmd_client_list(client *c, int argc, char **argv, size_t *lens)
{
    const char *type = NULL;
    size_t typelen = 0;
    uint64_t *ids = NULL;
    int nids = 0;

    if (argc == 4 && util_eqcase(argv[2], lens[2], "type")) {
        if (!type_valid(argv[3], lens[3])) {
            reply_errorf(c, "ERR Unknown client type '%.128s'", argv[3]);
            return;
        }
        type = argv[3];
        typelen = lens[3];
    } else if (argc > 3 && util_eqcase(argv[2], lens[2], "id")) {
        ids = xmalloc(sizeof(uint64_t) * (size_t)(argc - 3));
        for (int i = 3; i < argc; i++) {
            long long v;
            if (!util_str2ll(argv[i], lens[i], &v) || v < 1) {
                xfree(ids);
                reply_error(c, "ERR Invalid client ID");
                return;
            }
            ids[nids++] = (uint64_t)v;
        }
    } else if (argc != 2) {
        reply_syntax_error(c);
        return;
    }

    size_t len = 0, cap = 4096;
    char *buf = xmalloc(cap);
    if (ids) {
        for (int i = 0; i < nids; i++) {
            client *cl = client_lookup_id(ids[i]);
            if (cl) append_info(&buf, &len, &cap, cl);
        }
    } else {
        /* Oldest first, as Redis lists them. */
        client *last = srv.clients_head;
        while (last && last->next) last = last->next;
        for (client *cl = last; cl; cl = cl->prev)
            if (!type || type_matches(cl, type, typelen)) append_info(&buf, &len, &cap, cl);
    }
    resp_add_verbatim(&c->out, buf, len, "txt");
    xfree(buf);
    xfree(ids);
}

void cmd_client_info(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    size_t len = 0, cap = 2048;
    char *buf = xmalloc(cap);
    append_info(&buf, &len, &cap, c);
    resp_add_verbatim(&c->out, buf, len, "txt");
    xfree(buf);
}

void cmd_client_kill(client *c, int argc, char **argv, size_t *lens)
{
    const char *addr = NULL, *laddr = NULL, *type = NULL, *user = NULL;
    size_t addrlen = 0, laddrlen = 0, typelen = 0, userlen = 0;
    long long id = 0, maxage = 0;
    int skipme = 1, old_form = (argc == 3);

    if (old_form) {
        addr = argv[2];
        addrlen = lens[2];
        skipme = 0;
    } else if ((argc - 2) % 2 != 0) {
        reply_syntax_error(c);
        return;
    } else {
        for (int i = 2; i < argc; i += 2) {
            const char *opt = argv[i], *val = argv[i + 1];
            size_t ol = lens[i], vl = lens[i + 1];
            if (util_eqcase(opt, ol, "id")) {
                if (!util_str2ll(val, vl, &id) || id < 1) {
                    reply_error(c, "ERR client-id should be greater than 0");
                    return;
                }
            } else if (util_eqcase(opt, ol, "type")) {
                if (!type_valid(val, vl)) {
                    reply_errorf(c, "ERR Unknown client type '%.128s'", val);
                    return;
                }
                type = val;
                typelen = vl;
            } else if (util_eqcase(opt, ol, "addr")) {
                addr = val;
                addrlen = vl;
            } else if (util_eqcase(opt, ol, "laddr")) {
                laddr = val;
                laddrlen = vl;
            } else if (util_eqcase(opt, ol, "user")) {
                user = val;
                userlen = vl;
            } else if (util_eqcase(opt, ol, "skipme")) {
                if (util_eqcase(val, vl, "yes"))
                    skipme = 1;
                else if (util_eqcase(val, vl, "no"))
                    skipme = 0;
                else {
                    reply_syntax_error(c);
                    return;
                }
            } else if (util_eqcase(opt, ol, "maxage")) {
                if (!util_str2ll(val, vl, &maxage) || maxage < 0) {
                    reply_not_integer(c);
                    return;
                }
            } else {
                reply_syntax_error(c);
                return;
            }
        }
    }

    long long killed = 0;
    int kill_self = 0;
    time_t now = time(NULL);
    client *cl = srv.clients_head;
    while (cl) {
        client *next = cl->next;
        int match = 1;
        if (addr && !(strlen(cl->addr) == addrlen && memcmp(cl->addr, addr, addrlen) == 0))
            match = 0;
        if (laddr && !(strlen(cl->laddr) == laddrlen && memcmp(cl->laddr, laddr, laddrlen) == 0))
            match = 0;
        if (id && cl->id != (uint64_t)id) match = 0;
        if (type && !type_matches(cl, type, typelen)) match = 0;
        if (user && !util_eqcase(user, userlen, "default")) match = 0;
        if (maxage && now - cl->ctime < maxage) match = 0;
        if (cl == c && skipme) match = 0;
        if (cl->flags & CLIENT_CLOSE_ASAP) match = 0; /* already going */
        if (match) {
            killed++;
            if (cl == c)
                kill_self = 1;
            else
                client_free(cl);
        }
        cl = next;
    }
    if (old_form) {
        if (killed == 0) {
            reply_error(c, "ERR No such client");
            return;
        }
        reply_ok(c);
    } else {
        resp_add_integer(&c->out, killed);
    }
    if (kill_self) c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static void on_off(client *c, char **argv, size_t *lens, unsigned flag)
{
    if (util_eqcase(argv[2], lens[2], "on"))
        c->flags |= flag;
    else if (util_eqcase(argv[2], lens[2], "off"))
        c->flags &= ~flag;
    else {
        reply_syntax_error(c);
        return;
    }
    reply_ok(c);
}

void cmd_client_no_evict(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    on_off(c, argv, lens, CLIENT_NO_EVICT);
}

void cmd_client_no_touch(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    on_off(c, argv, lens, CLIENT_NO_TOUCH);
}

void cmd_client_help(client *c, int argc, char **argv, size_t *lens)
{
    (void)argc;
    (void)argv;
    (void)lens;
    static const char *const lines[] = {
        "GETNAME",
        "    This connection's name, or nil when none was set.",
        "ID",
        "    This connection's numeric id; ids are never reused while the server runs.",
        "INFO",
        "    This connection's own line, in the format of CLIENT LIST.",
        "KILL <ip:port>",
        "    Close the connection whose peer address is <ip:port>; an error if there is",
        "    none.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Close every connection that passes all the filters and reply with how many",
        "    were closed. Filters: ID <id>, TYPE (NORMAL|MASTER|REPLICA|PUBSUB),",
        "    USER <username>, ADDR <ip:port>, LADDR <ip:port>, MAXAGE <secs> (connected",
        "    at least that long) and SKIPME (YES|NO), YES by default, which spares the",
        "    caller.",
        "LIST [options ...]",
        "    One line per connection, oldest first. TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "    keeps one kind only; ID <id> [<id> ...] keeps the listed ids.",
        "SETNAME <name>",
        "    Name this connection (no spaces or newlines); an empty <name> removes it.",
        "SETINFO <LIB-NAME|LIB-VER> <value>",
        "    Record which client library, or which version of it, is connected; CLIENT",
        "    LIST shows both.",
        "NO-EVICT (ON|OFF)",
        "    Set or clear this connection's e flag; vectis never evicts a client anyway.",
        "NO-TOUCH (ON|OFF)",
        "    Set or clear this connection's T flag; vectis keeps no per-key access times.",
        NULL,
    };
    reply_help(c, "CLIENT", lines);
}
