/*
 * config.c -- configuration directives (see config.h).
 *
 * One table, `directives`, describes every directive: its name, type,
 * default, bounds, whether CONFIG SET may change it, where its value lives
 * (a field of `srv`) and one line of documentation that also produces
 * redis.conf.example. Parsing a value never touches the live field: it
 * produces a cfg_value first, so CONFIG SET of several pairs can validate
 * everything, then commit everything, and roll back if an apply hook
 * refuses (atomic, as Redis 7).
 *
 * Ownership: string values are xmalloc'd copies owned by `srv`; replacing a
 * value frees the old copy. Main thread only.
 *
 * Rejected: per-directive hand-written parse/format functions (Redis < 7
 * style): the typed table gives uniform errors and bounds for free; only
 * `bind` and `client-output-buffer-limit` need special code.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "engine/engine.h"
#include "log.h"
#include "persist.h"
#include "server.h"
#include "util.h"

/* Hooks into the rest of the server, defined in networking.c. */
void net_limits_changed(void);

typedef enum cfg_type {
    CFG_BOOL,
    CFG_INT,   /* int field, decimal, bounded */
    CFG_LL,    /* long long field, decimal, bounded */
    CFG_MEM,   /* long long field, with 1k/1kb units */
    CFG_STR,   /* char * field */
    CFG_ENUM,  /* int field, one of names[] */
    CFG_OCTAL, /* int field written in octal */
    CFG_BIND,
    CFG_OBUF,
} cfg_type;

#define CFG_IMMUTABLE 1 /* only at start-up */
#define CFG_PATH 2      /* string is a path: empty allowed */
#define CFG_LOAD_CHECK 4 /* apply hook runs as the line is read, so errors name it */
#define CFG_WORDS 8      /* CFG_STR given as several words: joined by one space */

typedef struct cfg_value {
    long long ll;
    char *s;
    char *list[MAX_BIND_ADDRS];
    int nlist;
    obuf_limit ob[OBUF_CLASSES];
    int ob_set[OBUF_CLASSES];
} cfg_value;

typedef struct directive {
    const char *name;
    const char *alias;
    cfg_type type;
    int flags;
    void *field;
    long long min, max;
    const char *deflt;
    const char *const *names; /* CFG_ENUM */
    int (*apply)(char *err, size_t errlen);
    const char *doc;
} directive;

static const char *const loglevel_names[] = {"debug", "verbose", "notice", "warning", NULL};
static const char *const policy_names[] = {"noeviction", NULL};
static const char *const fsync_names[] = {"always", "everysec", "no", NULL};

static int apply_loglevel(char *err, size_t errlen);
static int apply_limits(char *err, size_t errlen);
static int apply_maxclients(char *err, size_t errlen);
static int apply_dir(char *err, size_t errlen);
static int apply_logfile(char *err, size_t errlen);
static int apply_segment_rows(char *err, size_t errlen);
static int apply_save(char *err, size_t errlen);

static const directive directives[] = {
    {"port", NULL, CFG_INT, CFG_IMMUTABLE, &srv.port, 0, 65535, "6379", NULL, NULL,
     "TCP port to listen on; 0 disables TCP (use unixsocket)."},
    {"bind", NULL, CFG_BIND, CFG_IMMUTABLE, NULL, 0, 0, "* -::*", NULL, NULL,
     "Addresses to listen on; '*' is every IPv4 address, '::*' every IPv6 one, a leading '-' "
     "makes an address optional."},
    {"unixsocket", NULL, CFG_STR, CFG_IMMUTABLE | CFG_PATH, &srv.unixsocket, 0, 0, "", NULL,
     NULL, "Path of a unix socket to listen on as well (empty: none)."},
    {"unixsocketperm", NULL, CFG_OCTAL, CFG_IMMUTABLE, &srv.unixsocketperm, 0, 0777, "0", NULL,
     NULL, "Permissions of the unix socket, in octal (0: leave the umask's)."},
    {"protected-mode", NULL, CFG_BOOL, 0, &srv.protected_mode, 0, 1, "yes", NULL, NULL,
     "Refuse non-loopback clients while no password is set, so a forgotten default is not an "
     "open server."},
    {"maxclients", NULL, CFG_INT, 0, &srv.maxclients, 1, 1000000, "10000", NULL,
     apply_maxclients, "Most simultaneous clients; more get 'max number of clients reached'."},
    {"timeout", NULL, CFG_INT, 0, &srv.timeout_s, 0, INT_MAX, "0", NULL, NULL,
     "Close a client idle for this many seconds (0: never)."},
    {"tcp-keepalive", NULL, CFG_INT, 0, &srv.tcp_keepalive, 0, INT_MAX, "300", NULL, NULL,
     "Seconds between TCP keepalive probes, to detect dead peers (0: off)."},
    {"tcp-backlog", NULL, CFG_INT, CFG_IMMUTABLE, &srv.tcp_backlog, 0, INT_MAX, "511", NULL,
     NULL, "listen() backlog; the kernel caps it at net.core.somaxconn."},
    {"client-output-buffer-limit", NULL, CFG_OBUF, 0, srv.obuf_limits, 0, 0,
     "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60", NULL, NULL,
     "Per class: hard limit, soft limit and soft seconds of pending replies before a client "
     "is closed, so a client that never reads cannot eat the memory."},
    {"client-query-buffer-limit", NULL, CFG_MEM, 0, &srv.client_query_buffer_limit,
     1024 * 1024, LLONG_MAX, "1gb", NULL, apply_limits,
     "Most bytes buffered from one client before its command completes; past it the client "
     "is closed."},
    {"proto-max-bulk-len", NULL, CFG_MEM, 0, &srv.proto_max_bulk_len, 1024 * 1024, LLONG_MAX,
     "512mb", NULL, apply_limits, "Largest single argument (bulk string) a client may send."},
    {"daemonize", NULL, CFG_BOOL, CFG_IMMUTABLE, &srv.daemonize, 0, 1, "no", NULL, NULL,
     "Run in the background (writes pidfile, /var/run/vectis.pid if unset)."},
    {"pidfile", NULL, CFG_STR, CFG_IMMUTABLE | CFG_PATH, &srv.pidfile, 0, 0, "", NULL, NULL,
     "Where to write the process id (empty: only when daemonized)."},
    {"logfile", NULL, CFG_STR, CFG_IMMUTABLE | CFG_PATH | CFG_LOAD_CHECK, &srv.logfile, 0, 0, "", NULL,
     apply_logfile,
     "Log file path (empty: standard output)."},
    {"loglevel", NULL, CFG_ENUM, 0, &srv.loglevel, 0, 0, "notice", loglevel_names,
     apply_loglevel, "debug, verbose, notice or warning."},
    {"requirepass", NULL, CFG_STR, CFG_PATH, &srv.requirepass, 0, 0, "", NULL, NULL,
     "Password of the default user (empty: no authentication)."},
    {"slowlog-log-slower-than", NULL, CFG_LL, 0, &srv.slowlog_slower_than, -1, LLONG_MAX,
     "10000", NULL, NULL,
     "Log commands slower than this many microseconds in SLOWLOG (-1: off, 0: all)."},
    {"slowlog-max-len", NULL, CFG_INT, 0, &srv.slowlog_max_len, 0, INT_MAX, "128", NULL, NULL,
     "Entries SLOWLOG keeps."},
    {"search-threads", NULL, CFG_INT, CFG_IMMUTABLE, &srv.search_threads, 0, 256, "0", NULL,
     NULL, "Worker threads for searches and other long jobs (0: one per core)."},
    {"repl-backlog-size", NULL, CFG_MEM, 0, &srv.repl_backlog_size, 1, LLONG_MAX, "1mb", NULL,
     NULL, "Bytes of recent mutation log kept after a checkpoint, for replicas to catch up "
     "from."},
    {"maxmemory", NULL, CFG_MEM, 0, &srv.maxmemory, 0, LLONG_MAX, "0", NULL, NULL,
     "Writes fail with -OOM once used memory exceeds this (0: no limit)."},
    {"maxmemory-policy", NULL, CFG_ENUM, 0, &srv.maxmemory_policy, 0, 0, "noeviction",
     policy_names, NULL, "Only noeviction: a database never drops data to make room."},
    {"dir", NULL, CFG_STR, CFG_LOAD_CHECK, &srv.dir, 0, 0, ".", NULL, apply_dir,
     "Working directory; data files live here."},
    {"appendonly", NULL, CFG_BOOL, CFG_IMMUTABLE, &srv.appendonly, 0, 1, "no", NULL, NULL,
     "Persistence: 'yes' logs every write to <dir>/vectis.log, checkpoints to RocksDB in "
     "<dir>/vectis.db, and loads both at start-up; 'no' keeps data in memory only (no files)."},
    {"appendfsync", NULL, CFG_ENUM, 0, &persist_appendfsync, 0, 0, "everysec", fsync_names,
     NULL, "When the log reaches the disk: always (before each reply), everysec (a background "
     "sync each second; a power loss may lose 1 s), no (left to the OS)."},
    {"rocksdb-block-cache-size", NULL, CFG_MEM, CFG_IMMUTABLE, &persist_block_cache, 1024 * 1024,
     LLONG_MAX, "256mb", NULL, NULL, "RocksDB block cache shared by all column families."},
    {"rocksdb-max-background-jobs", NULL, CFG_INT, CFG_IMMUTABLE, &persist_bg_jobs, 1, 64, "2",
     NULL, NULL, "RocksDB flush and compaction threads."},
    {"save", NULL, CFG_STR, CFG_PATH | CFG_WORDS | CFG_LOAD_CHECK, &srv.save, 0, 0,
     "3600 1 300 100 60 10000", NULL, apply_save,
     "Checkpoint after <seconds> if at least <changes> writes, as pairs (\"\" = only SAVE, "
     "BGSAVE, sealed segments and shutdown)."},
    {"min-free-disk", NULL, CFG_MEM, 0, &persist_min_free_disk, 0, LLONG_MAX, "64mb", NULL, NULL,
     "Writes are refused (-MISCONF) while dir's filesystem has less free space (0 = never)."},
    {"key-load-delay", NULL, CFG_INT, 0, &persist_key_load_delay, 0, 1000000, "0", NULL, NULL,
     "Microseconds to sleep per value loaded at start-up (tests of the LOADING state; keep 0)."},
    {"segment-max-rows", NULL, CFG_INT, 0, &srv.segment_max_rows, 1024, 2000000000, "1000000", NULL,
     apply_segment_rows,
     "Rows after which a growing segment is sealed; new segments start small and grow 8x up to this."},
    {"segment-max-bytes", NULL, CFG_MEM, 0, &srv.segment_max_bytes, 0, LLONG_MAX, "1gb", NULL,
     apply_segment_rows,
     "Bytes of vectors and row records after which a growing segment is sealed (0 = rows only)."},
    {"hz", NULL, CFG_INT, 0, &srv.hz, 1, 500, "10", NULL, NULL,
     "Background task frequency (timeouts, stats), per second."},
};

#define NDIRECTIVES (sizeof(directives) / sizeof(directives[0]))

/* ------------------------------------------------------------ splitting */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

char **config_split_args(const char *line, int *argc)
{
    const char *p = line;
    char **argv = NULL;
    int n = 0, cap = 0;
    size_t blen = strlen(line) + 1;
    char *buf = xmalloc(blen);

    for (;;) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) break;
        size_t len = 0;
        int dq = 0, sq = 0, done = 0;
        while (!done) {
            if (dq) {
                if (!*p) goto bad;
                if (*p == '\\' && p[1] == 'x' && hexval(p[2]) >= 0 && hexval(p[3]) >= 0) {
                    buf[len++] = (char)(hexval(p[2]) * 16 + hexval(p[3]));
                    p += 3;
                } else if (*p == '\\' && p[1]) {
                    p++;
                    switch (*p) {
                    case 'n': buf[len++] = '\n'; break;
                    case 'r': buf[len++] = '\r'; break;
                    case 't': buf[len++] = '\t'; break;
                    case 'b': buf[len++] = '\b'; break;
                    case 'a': buf[len++] = '\a'; break;
                    default: buf[len++] = *p; break;
                    }
                } else if (*p == '"') {
                    if (p[1] && !isspace((unsigned char)p[1])) goto bad;
                    done = 1;
                } else {
                    buf[len++] = *p;
                }
            } else if (sq) {
                if (!*p) goto bad;
                if (*p == '\\' && p[1] == '\'') {
                    p++;
                    buf[len++] = '\'';
                } else if (*p == '\'') {
                    if (p[1] && !isspace((unsigned char)p[1])) goto bad;
                    done = 1;
                } else {
                    buf[len++] = *p;
                }
            } else {
                switch (*p) {
                case ' ': case '\n': case '\r': case '\t': case '\0': done = 1; break;
                case '"': dq = 1; break;
                case '\'': sq = 1; break;
                default: buf[len++] = *p; break;
                }
            }
            if (*p) p++;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            argv = xrealloc(argv, sizeof(char *) * (size_t)cap);
        }
        argv[n++] = xstrndup(buf, len);
    }
    xfree(buf);
    *argc = n;
    if (!argv) argv = xcalloc(1, sizeof(char *));
    return argv;
bad:
    xfree(buf);
    config_free_args(argv, n);
    *argc = 0;
    return NULL;
}

void config_free_args(char **argv, int argc)
{
    if (!argv) return;
    for (int i = 0; i < argc; i++) xfree(argv[i]);
    xfree(argv);
}

/* -------------------------------------------------------------- lookup */

static const directive *find_directive(const char *name)
{
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        if (strcasecmp(directives[i].name, name) == 0) return &directives[i];
        if (directives[i].alias && strcasecmp(directives[i].alias, name) == 0)
            return &directives[i];
    }
    return NULL;
}

static void value_free(cfg_value *v)
{
    xfree(v->s);
    v->s = NULL;
    for (int i = 0; i < v->nlist; i++) xfree(v->list[i]);
    v->nlist = 0;
}

static int errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int obuf_class(const char *name)
{
    if (!strcasecmp(name, "normal")) return OBUF_NORMAL;
    if (!strcasecmp(name, "replica") || !strcasecmp(name, "slave")) return OBUF_REPLICA;
    if (!strcasecmp(name, "pubsub")) return OBUF_PUBSUB;
    return -1;
}

/* Parses argv into *v. Never touches live state. */
static int parse_value(const directive *d, int argc, char **argv, cfg_value *v, char *err,
                       size_t errlen)
{
    memset(v, 0, sizeof(*v));
    if (d->type != CFG_BIND && d->type != CFG_OBUF && !(d->flags & CFG_WORDS) && argc != 1)
        return errf(err, errlen, "wrong number of arguments");
    if ((d->flags & CFG_WORDS) && argc != 1) {
        size_t n = 1;
        for (int i = 0; i < argc; i++) {
            if (strpbrk(argv[i], "\r\n")) return errf(err, errlen, "argument must not contain newlines");
            n += strlen(argv[i]) + 1;
        }
        v->s = xmalloc(n);
        v->s[0] = '\0';
        for (int i = 0; i < argc; i++) {
            if (i) strcat(v->s, " ");
            strcat(v->s, argv[i]);
        }
        return 0;
    }
    switch (d->type) {
    case CFG_BOOL:
        if (!strcasecmp(argv[0], "yes")) v->ll = 1;
        else if (!strcasecmp(argv[0], "no")) v->ll = 0;
        else return errf(err, errlen, "argument must be 'yes' or 'no'");
        if (v->ll > d->max) return errf(err, errlen, "only 'no' is supported in this version");
        return 0;
    case CFG_INT:
    case CFG_LL:
        if (!util_str2ll(argv[0], strlen(argv[0]), &v->ll))
            return errf(err, errlen, "argument couldn't be parsed into an integer");
        goto bounds;
    case CFG_MEM:
        if (!util_parse_memory(argv[0], &v->ll))
            return errf(err, errlen, "argument must be a memory value");
        goto bounds;
    case CFG_OCTAL: {
        char *end;
        errno = 0;
        long o = strtol(argv[0], &end, 8);
        if (!argv[0][0] || *end || errno || o < d->min || o > d->max)
            return errf(err, errlen, "argument must be an octal number between 0 and 0777");
        v->ll = o;
        return 0;
    }
    case CFG_STR:
        if (!(d->flags & CFG_PATH) && argv[0][0] == '\0')
            return errf(err, errlen, "argument must not be empty");
        if (strpbrk(argv[0], "\r\n"))
            return errf(err, errlen, "argument must not contain newlines");
        v->s = xstrdup(argv[0]);
        return 0;
    case CFG_ENUM:
        for (int i = 0; d->names[i]; i++) {
            if (!strcasecmp(argv[0], d->names[i])) {
                v->ll = i;
                return 0;
            }
        }
        {
            char list[256] = "";
            for (int i = 0; d->names[i]; i++) {
                if (i) strncat(list, ", ", sizeof(list) - strlen(list) - 1);
                strncat(list, d->names[i], sizeof(list) - strlen(list) - 1);
            }
            return errf(err, errlen, "argument(s) must be one of the following: %s", list);
        }
    case CFG_BIND:
        if (argc < 1 || argc > MAX_BIND_ADDRS)
            return errf(err, errlen, "Too many bind addresses specified.");
        for (int i = 0; i < argc; i++) v->list[v->nlist++] = xstrdup(argv[i]);
        return 0;
    case CFG_OBUF:
        if (argc == 0 || argc % 4 != 0) return errf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        for (int i = 0; i < argc; i += 4) {
            int cls = obuf_class(argv[i]);
            long long hard, soft, secs;
            if (cls < 0) return errf(err, errlen, "Invalid client class specified in buffer limit configuration.");
            if (!util_parse_memory(argv[i + 1], &hard) || !util_parse_memory(argv[i + 2], &soft) ||
                !util_str2ll(argv[i + 3], strlen(argv[i + 3]), &secs) || hard < 0 || soft < 0 ||
                secs < 0)
                return errf(err, errlen, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            v->ob[cls].hard_bytes = hard;
            v->ob[cls].soft_bytes = soft;
            v->ob[cls].soft_seconds = secs;
            v->ob_set[cls] = 1;
        }
        return 0;
    }
    return errf(err, errlen, "unknown type");
bounds:
    if (v->ll < d->min || v->ll > d->max)
        return errf(err, errlen, "argument must be between %lld and %lld inclusive", d->min,
                    d->max);
    return 0;
}

/* Reads the live value of d into *v (for rollback). */
static void read_value(const directive *d, cfg_value *v)
{
    memset(v, 0, sizeof(*v));
    switch (d->type) {
    case CFG_BOOL: case CFG_INT: case CFG_ENUM: case CFG_OCTAL: v->ll = *(int *)d->field; break;
    case CFG_LL: case CFG_MEM: v->ll = *(long long *)d->field; break;
    case CFG_STR: v->s = xstrdup(*(char **)d->field ? *(char **)d->field : ""); break;
    case CFG_BIND:
        for (int i = 0; i < srv.bind_count; i++) v->list[v->nlist++] = xstrdup(srv.bind_addrs[i]);
        break;
    case CFG_OBUF:
        memcpy(v->ob, srv.obuf_limits, sizeof(v->ob));
        for (int i = 0; i < OBUF_CLASSES; i++) v->ob_set[i] = 1;
        break;
    }
}

/* Moves *v into the live field; v's strings are taken over. */
static void commit_value(const directive *d, cfg_value *v)
{
    switch (d->type) {
    case CFG_BOOL: case CFG_INT: case CFG_ENUM: case CFG_OCTAL: *(int *)d->field = (int)v->ll; break;
    case CFG_LL: case CFG_MEM: *(long long *)d->field = v->ll; break;
    case CFG_STR:
        xfree(*(char **)d->field);
        *(char **)d->field = v->s;
        v->s = NULL;
        break;
    case CFG_BIND:
        for (int i = 0; i < srv.bind_count; i++) xfree(srv.bind_addrs[i]);
        for (int i = 0; i < v->nlist; i++) srv.bind_addrs[i] = v->list[i];
        srv.bind_count = v->nlist;
        v->nlist = 0;
        break;
    case CFG_OBUF:
        for (int i = 0; i < OBUF_CLASSES; i++)
            if (v->ob_set[i]) srv.obuf_limits[i] = v->ob[i];
        break;
    }
}

static void format_value(const directive *d, char *buf, size_t size)
{
    switch (d->type) {
    case CFG_BOOL: snprintf(buf, size, "%s", *(int *)d->field ? "yes" : "no"); break;
    case CFG_INT: snprintf(buf, size, "%d", *(int *)d->field); break;
    case CFG_LL: case CFG_MEM: snprintf(buf, size, "%lld", *(long long *)d->field); break;
    case CFG_OCTAL: snprintf(buf, size, "%o", *(int *)d->field); break;
    case CFG_STR: snprintf(buf, size, "%s", *(char **)d->field ? *(char **)d->field : ""); break;
    case CFG_ENUM: snprintf(buf, size, "%s", d->names[*(int *)d->field]); break;
    case CFG_BIND: {
        size_t off = 0;
        buf[0] = '\0';
        for (int i = 0; i < srv.bind_count && off < size; i++)
            off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? " " : "", srv.bind_addrs[i]);
        break;
    }
    case CFG_OBUF: {
        static const char *cls[] = {"normal", "slave", "pubsub"};
        size_t off = 0;
        buf[0] = '\0';
        for (int i = 0; i < OBUF_CLASSES && off < size; i++)
            off += (size_t)snprintf(buf + off, size - off, "%s%s %lld %lld %lld", i ? " " : "",
                                    cls[i], srv.obuf_limits[i].hard_bytes,
                                    srv.obuf_limits[i].soft_bytes, srv.obuf_limits[i].soft_seconds);
        break;
    }
    }
}

/* ------------------------------------------------------------- hooks */

static int apply_loglevel(char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    log_configure(srv.logfile, srv.loglevel);
    return 0;
}

static int apply_limits(char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    net_limits_changed();
    return 0;
}

static int apply_maxclients(char *err, size_t errlen)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)srv.maxclients + 64; /* listeners, log, pipes, RocksDB */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = want;
        if (rl.rlim_max < want) rl.rlim_max = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            rl.rlim_cur = rl.rlim_max = old;
            if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max >= want) {
                rl.rlim_cur = want;
                if (setrlimit(RLIMIT_NOFILE, &rl) == 0) return 0;
            }
            if (srv.base) /* at run time: refuse */
                return errf(err, errlen, "The operating system is not able to handle the specified number of clients, try with %lld", (long long)old - 64);
            log_warning("Server can't set maximum open files to %llu: maxclients reduced to %lld",
                        (unsigned long long)want, (long long)old - 64);
            srv.maxclients = old > 96 ? (int)(old - 64) : 32;
        }
    }
    return 0;
}

static int apply_save(char *err, size_t errlen)
{
    return persist_save_parse(srv.save, err, errlen);
}

static int apply_segment_rows(char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    engine_segment_max_rows = (uint32_t)srv.segment_max_rows;
    engine_segment_max_bytes = (uint64_t)srv.segment_max_bytes;
    return 0;
}

static int apply_logfile(char *err, size_t errlen)
{
    if (!srv.logfile || !srv.logfile[0]) return 0;
    FILE *f = fopen(srv.logfile, "a");
    if (!f) return errf(err, errlen, "Can't open the log file: %s", strerror(errno));
    fclose(f);
    return 0;
}

/* While the database is open (appendonly yes) its files stay where they
 * are: moving the working directory would make CONFIG GET dir and a
 * rewritten config name a directory without them, and the next start would
 * open an empty database there. */
static int apply_dir(char *err, size_t errlen)
{
    const char *open_dir = persist_dir();
    if (open_dir) {
        char want[PATH_MAX];
        if (!realpath(srv.dir, want)) return errf(err, errlen, "No such file or directory");
        if (strcmp(want, open_dir) != 0)
            return errf(err, errlen,
                        "can't change dir while appendonly is yes: the database is open in %s",
                        open_dir);
    }
    if (chdir(srv.dir) != 0) return errf(err, errlen, "No such file or directory");
    return 0;
}

/* --------------------------------------------------------------- api */

void config_free_values(void)
{
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        const directive *d = &directives[i];
        if (d->type == CFG_STR) {
            xfree(*(char **)d->field);
            *(char **)d->field = NULL;
        }
    }
    for (int i = 0; i < srv.bind_count; i++) xfree(srv.bind_addrs[i]);
    srv.bind_count = 0;
}

void config_init(void)
{
    char err[256];
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        const directive *d = &directives[i];
        int argc;
        char **argv = config_split_args(d->deflt[0] ? d->deflt : "\"\"", &argc);
        cfg_value v;
        if (!argv || parse_value(d, argc, argv, &v, err, sizeof(err)) != 0) {
            fprintf(stderr, "vectis: bad default for %s: %s\n", d->name, err);
            abort();
        }
        commit_value(d, &v);
        value_free(&v);
        config_free_args(argv, argc);
    }
}

int config_apply_line(int argc, char **argv, char *err, size_t errlen)
{
    const directive *d = find_directive(argv[0]);
    cfg_value v;
    if (!d) return errf(err, errlen, "Bad directive or wrong number of arguments");
    if (parse_value(d, argc - 1, argv + 1, &v, err, errlen) != 0) {
        value_free(&v);
        return -1;
    }
    commit_value(d, &v);
    value_free(&v);
    if ((d->flags & CFG_LOAD_CHECK) && d->apply && d->apply(err, errlen) != 0) return -1;
    return 0;
}

static void fatal_config_error(int linenum, const char *line, const char *msg)
{
    fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (vectis %s) ***\n", VECTIS_VERSION);
    if (linenum > 0)
        fprintf(stderr, "Reading the configuration file, at line %d\n", linenum);
    else
        fprintf(stderr, "Reading the command line arguments\n");
    fprintf(stderr, ">>> '%s'\n%s\n", line, msg);
}

static int load_text(const char *text, int from_file)
{
    char err[512];
    int linenum = 0;
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char *line = xstrndup(p, len);
        int argc;
        char **argv;
        linenum++;
        p += len + (eol ? 1 : 0);
        char *t = line;
        while (isspace((unsigned char)*t)) t++;
        if (*t == '#' || *t == '\0') {
            xfree(line);
            continue;
        }
        argv = config_split_args(t, &argc);
        if (!argv) {
            fatal_config_error(from_file ? linenum : 0, t, "Unbalanced quotes in configuration line");
            xfree(line);
            return -1;
        }
        if (argc == 0) {
            config_free_args(argv, argc);
            xfree(line);
            continue;
        }
        if (config_apply_line(argc, argv, err, sizeof(err)) != 0) {
            fatal_config_error(from_file ? linenum : 0, t, err);
            config_free_args(argv, argc);
            xfree(line);
            return -1;
        }
        config_free_args(argv, argc);
        xfree(line);
    }
    return 0;
}

int config_load(const char *file, const char *overrides)
{
    if (file) {
        FILE *fp = fopen(file, "r");
        if (!fp) {
            fprintf(stderr, "Fatal error, can't open config file '%s': %s\n", file,
                    strerror(errno));
            return -1;
        }
        size_t cap = 4096, len = 0;
        char *text = xmalloc(cap);
        size_t n;
        while ((n = fread(text + len, 1, cap - len - 1, fp)) > 0) {
            len += n;
            if (cap - len < 2) text = xrealloc(text, cap *= 2);
        }
        text[len] = '\0';
        fclose(fp);
        int rc = load_text(text, 1);
        xfree(text);
        if (rc != 0) return -1;
    }
    if (overrides && load_text(overrides, 0) != 0) return -1;
    return 0;
}

int config_set_pairs(int npairs, char **names, char **values, char *err, size_t errlen)
{
    const directive *ds[64];
    cfg_value newv[64], oldv[64];
    char perr[256];
    int i, rc = -1, committed = 0;

    if (npairs > 64) return errf(err, errlen, "ERR too many parameters");
    for (i = 0; i < npairs; i++) {
        ds[i] = find_directive(names[i]);
        if (!ds[i]) {
            errf(err, errlen, "ERR Unknown option or number of arguments for CONFIG SET - '%s'",
                 names[i]);
            goto out_parsed;
        }
        for (int j = 0; j < i; j++) {
            if (ds[j] == ds[i]) {
                errf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - duplicate parameter", names[i]);
                goto out_parsed;
            }
        }
        if (ds[i]->flags & CFG_IMMUTABLE) {
            errf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - can't set immutable config", names[i]);
            goto out_parsed;
        }
        int argc;
        char **argv;
        if (ds[i]->type == CFG_BIND || ds[i]->type == CFG_OBUF) {
            argv = config_split_args(values[i], &argc);
        } else {
            argv = xmalloc(sizeof(char *));
            argv[0] = xstrdup(values[i]);
            argc = 1;
        }
        if (!argv) {
            errf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - unbalanced quotes", names[i]);
            memset(&newv[i], 0, sizeof(newv[i]));
            i++;
            goto out_parsed;
        }
        int prc = parse_value(ds[i], argc, argv, &newv[i], perr, sizeof(perr));
        config_free_args(argv, argc);
        if (prc != 0) {
            errf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
                 names[i], perr);
            i++;
            goto out_parsed;
        }
    }
    /* Everything parsed: commit, then run the hooks; a refusing hook rolls
     * every value back. */
    for (int k = 0; k < npairs; k++) {
        read_value(ds[k], &oldv[k]);
        commit_value(ds[k], &newv[k]);
        committed++;
    }
    for (int k = 0; k < npairs; k++) {
        if (ds[k]->apply && ds[k]->apply(perr, sizeof(perr)) != 0) {
            errf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
                 names[k], perr);
            for (int m = 0; m < npairs; m++) commit_value(ds[m], &oldv[m]);
            for (int m = 0; m < npairs; m++)
                if (ds[m]->apply) ds[m]->apply(perr, sizeof(perr));
            goto out_all;
        }
    }
    rc = 0;
out_all:
    for (int k = 0; k < committed; k++) value_free(&oldv[k]);
out_parsed:
    for (int k = 0; k < i; k++) value_free(&newv[k]);
    return rc;
}

int config_get_matching(int npatterns, char **patterns, config_get_cb *cb, void *ctx)
{
    char buf[1024];
    int count = 0;
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        const directive *d = &directives[i];
        for (int p = 0; p < npatterns; p++) {
            const char *name = NULL;
            if (util_glob_match(patterns[p], strlen(patterns[p]), d->name, strlen(d->name), 1))
                name = d->name;
            else if (d->alias &&
                     util_glob_match(patterns[p], strlen(patterns[p]), d->alias, strlen(d->alias), 1))
                name = d->alias;
            if (name) {
                format_value(d, buf, sizeof(buf));
                cb(ctx, name, buf);
                count++;
                break;
            }
        }
    }
    return count;
}

int config_format(const char *name, char *buf, size_t size)
{
    const directive *d = find_directive(name);
    if (!d) return -1;
    format_value(d, buf, size);
    return 0;
}

/* Quotes a value for the config file when it needs it. */
static void quote_value(const directive *d, const char *in, char *out, size_t size)
{
    if (d->type == CFG_BIND || d->type == CFG_OBUF || (*in && !strpbrk(in, " \t\"'\\"))) {
        snprintf(out, size, "%s", in);
        return;
    }
    size_t o = 0;
    out[o++] = '"';
    for (const char *p = in; *p && o + 5 < size; p++) {
        if (*p == '"' || *p == '\\') out[o++] = '\\';
        out[o++] = *p;
    }
    out[o++] = '"';
    out[o] = '\0';
}

static int is_default(const directive *d)
{
    char cur[1024], def[1024];
    cfg_value saved, v;
    int argc;
    char **argv = config_split_args(d->deflt, &argc);
    char err[128];
    if (!d->deflt[0]) {
        config_free_args(argv, argc);
        argv = config_split_args("\"\"", &argc);
    }
    format_value(d, cur, sizeof(cur));
    read_value(d, &saved);
    parse_value(d, argc, argv, &v, err, sizeof(err));
    commit_value(d, &v);
    format_value(d, def, sizeof(def));
    commit_value(d, &saved);
    value_free(&v);
    value_free(&saved);
    config_free_args(argv, argc);
    return strcmp(cur, def) == 0;
}

int config_rewrite(const char *path, char *err, size_t errlen)
{
    char tmp[4096], val[1024], q[2100];
    int written[NDIRECTIVES] = {0};
    FILE *in, *out;

    if (!path) return errf(err, errlen, "ERR The server is running without a config file");
    snprintf(tmp, sizeof(tmp), "%s.rewrite.%d", path, (int)getpid());
    out = fopen(tmp, "w");
    if (!out) return errf(err, errlen, "ERR Rewriting config file: %s", strerror(errno));

    in = fopen(path, "r");
    if (in) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        while ((n = getline(&line, &cap, in)) >= 0) {
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
            const char *t = line;
            while (isspace((unsigned char)*t)) t++;
            int argc = 0;
            char **argv = (*t && *t != '#') ? config_split_args(t, &argc) : NULL;
            const directive *d = (argv && argc > 0) ? find_directive(argv[0]) : NULL;
            if (d && strcmp(t, "# Generated by CONFIG REWRITE") != 0) {
                size_t idx = (size_t)(d - directives);
                if (!written[idx]) {
                    format_value(d, val, sizeof(val));
                    quote_value(d, val, q, sizeof(q));
                    fprintf(out, "%s %s\n", d->name, q);
                    written[idx] = 1;
                }
                /* later duplicates of a directive are dropped */
            } else if (strcmp(t, "# Generated by CONFIG REWRITE") != 0) {
                fprintf(out, "%s\n", line);
            }
            config_free_args(argv, argc);
        }
        free(line);
        fclose(in);
    }
    int header = 0;
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        const directive *d = &directives[i];
        if (written[i] || is_default(d)) continue;
        if (!header) {
            fprintf(out, "# Generated by CONFIG REWRITE\n");
            header = 1;
        }
        format_value(d, val, sizeof(val));
        quote_value(d, val, q, sizeof(q));
        fprintf(out, "%s %s\n", d->name, q);
    }
    if (fflush(out) != 0 || fsync(fileno(out)) != 0) {
        fclose(out);
        unlink(tmp);
        return errf(err, errlen, "ERR Rewriting config file: %s", strerror(errno));
    }
    fclose(out);
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return errf(err, errlen, "ERR Rewriting config file: %s", strerror(errno));
    }
    return 0;
}

void config_write_example(FILE *fp)
{
    fprintf(fp, "# vectis configuration: every directive with its default.\n"
                "# Lines are 'directive value'; '#' starts a comment. Any directive can also be\n"
                "# given on the command line: vectis-server vectis.conf --port 7000\n"
                "# Memory values take units: 1k = 1000, 1kb = 1024, likewise m/mb and g/gb.\n");
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        const directive *d = &directives[i];
        fprintf(fp, "\n# %s%s\n", d->doc,
                (d->flags & CFG_IMMUTABLE) ? " (start-up only)" : "");
        fprintf(fp, "%s %s\n", d->name, d->deflt[0] ? d->deflt : "\"\"");
    }
}

int config_apply_startup(char *err, size_t errlen)
{
    for (size_t i = 0; i < NDIRECTIVES; i++) {
        if (!directives[i].apply) continue;
        if (directives[i].apply(err, errlen) != 0) {
            char msg[512];
            snprintf(msg, sizeof(msg), "%s: %s", directives[i].name, err);
            snprintf(err, errlen, "%s", msg);
            return -1;
        }
    }
    return 0;
}
