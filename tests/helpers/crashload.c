/*
 * crashload -- the client half of the crash-safety test (issue 5,
 * tests/tcl/unit/crash.tcl): it writes a known stream of VADDs, kills the
 * server with SIGKILL in the middle of it, and after the harness restarts the
 * server it checks what survived.
 *
 *   crashload load   --port P [--host H] --count N --out FILE
 *                    [--window W] [--kill-pid PID --kill-after K] [--bgsave-ms T]
 *                    [--kill-in-save 1]
 *   crashload verify --port P [--host H] --result FILE --fsync always|everysec
 *                    [--loss-ms MS]
 *
 * The stream. Command i (0 <= i < N) is
 *   VADD crash VALUES 8 <v_i> e<i> NOQUANT
 * where v_i is derived from i alone (splitmix64 of i*8+d, see vec_of), so
 * `verify` knows every vector that was sent without reading anything but the
 * result file.
 *
 * load. One connection, pipelined with at most W commands outstanding (the
 * window, default 512): whenever the reply buffer is empty, hiredis writes
 * every command appended so far, so the server sees large batches (one
 * event-loop turn, one group commit) and many commands are in flight at any
 * moment. Replies come back in command order, so the acknowledged commands
 * are always 0..acked-1; for each we record the monotonic time in ms. After
 * the K-th acknowledgement load sends SIGKILL to the server (pid given by the
 * harness) and records that time as the kill time. Every command issued
 * before the kill has been written to the socket by then (so ~W are in
 * flight), nothing is issued after it, and load goes on reading: a reply
 * the server wrote before it died is an acknowledgement like any other, and
 * is recorded. The run ends when the connection drops. Every reply must be
 * the integer 1 (a new element); anything else, or a connection lost before
 * the kill, fails the run. Without --kill-pid the whole stream is written.
 * With --bgsave-ms T a second connection sends BGSAVE every T ms until the
 * kill, so kills also land while a checkpoint is being written ("already in
 * progress" is accepted; any other error fails the run). With
 * --kill-in-save 1 the kill waits, from the K-th acknowledgement on, until
 * INFO persistence says a checkpoint is running (asking for one with
 * BGSAVE), so the kill lands inside a checkpoint for certain.
 *
 * Result file (text, written by load, read by verify):
 *   crashload-result 1
 *   count <N>  issued <commands handed to the socket layer>
 *   acked <A>  kill_after <acks when the kill was sent, or -1>
 *   kill_ms <ms since start, or -1>
 *   <ack time in ms of command 0>
 *   ...                                   (A lines)
 *
 * verify. Waits while the server answers -LOADING, then pipelines
 * VISMEMBER crash e<i> for every issued i, VCARD crash, and VEMB for a
 * sample of the present elements (CL_VEMB_*), and checks:
 *   - prefix: the present elements are exactly e0..e(m-1) for some m (no
 *     gap), VCARD == m, and m <= issued (nothing that was never sent);
 *   - durability: `always` -- every acknowledged element is present
 *     (m >= acked); `everysec` -- every acknowledged element that is missing
 *     was acknowledged at most --loss-ms (default 2000) before the kill;
 *   - no half-applied command: VEMB of each sampled element has the
 *     direction and length of the vector that was sent (NOQUANT stores f32,
 *     VEMB multiplies the unit vector by the stored norm: a relative
 *     tolerance of 1e-5 covers the rounding), and an exact VSIM (TRUTH) with
 *     the sent vector of a few elements, the last one included, finds that
 *     element first.
 * It prints one summary line and exits 0, or prints every violation (first
 * ones only when there are many) and exits 1. Exit 2 is a usage or I/O error.
 *
 * Ownership: everything is freed before exit (the tool runs under ASan in
 * `make asan`). Threads: none.
 *
 * Rejected: killing the server from the Tcl harness at a time chosen there
 * (the harness cannot know how many replies the client has seen, so the kill
 * point could not be reproduced or guaranteed to land mid-stream); a fresh
 * connection per check in verify (100,000 round trips); comparing VEMB
 * output textually (the server returns the product of the unit vector and
 * the norm, which is not the sent text).
 */
#include <errno.h>
#include <hiredis.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define CL_DIM             8       /* vector dimension of the stream */
#define CL_KEY             "crash" /* the one key the stream writes */
#define CL_WINDOW_DEFAULT  512     /* commands in flight: several turns' worth */
#define CL_TIMEOUT_S       60      /* a reply slower than this is a hang, not load */
#define CL_LOADING_WAIT_MS 60000   /* longest -LOADING phase accepted by verify */
#define CL_LOSS_MS_DEFAULT 2000    /* everysec: the loss bound */
#define CL_VEMB_RTOL       1e-5    /* f32 storage and norm rounding, relative */
#define CL_MAX_REPORTS     10      /* violations printed per kind */
/* VEMB runs at ~40k replies/s here (8 doubles each): every present element
 * would cost seconds per run, so verify checks the first CL_VEMB_HEAD, the
 * last CL_VEMB_TAIL (the ones written around the kill, where a half-applied
 * command would be) and about CL_VEMB_SAMPLE spread over the rest. */
#define CL_VEMB_HEAD   256
#define CL_VEMB_TAIL   2048
#define CL_VEMB_SAMPLE 2048

/* ------------------------------------------------------------ the stream */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Vector of command i: components in [-1, 1), rounded to float (what the
 * server stores with NOQUANT). Component 0 is kept away from 0 so no vector
 * is (nearly) zero. */
static void vec_of(uint64_t i, float *v)
{
    for (int d = 0; d < CL_DIM; d++) {
        uint64_t h = splitmix64(i * CL_DIM + (uint64_t)d);
        v[d] = (float)((double)(h >> 11) * 0x1.0p-53 * 2.0 - 1.0);
    }
    if (fabsf(v[0]) < 0.25f) v[0] = v[0] < 0 ? v[0] - 0.5f : v[0] + 0.5f;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends the VADD of command i to the context's output buffer. */
static int append_vadd(redisContext *c, uint64_t i)
{
    float v[CL_DIM];
    char num[CL_DIM][32], dim[8], ele[32];
    const char *argv[6 + CL_DIM];
    vec_of(i, v);
    int n = 0;
    argv[n++] = "VADD";
    argv[n++] = CL_KEY;
    argv[n++] = "VALUES";
    snprintf(dim, sizeof dim, "%d", CL_DIM);
    argv[n++] = dim;
    for (int d = 0; d < CL_DIM; d++) {
        snprintf(num[d], sizeof num[d], "%.9g", (double)v[d]);
        argv[n++] = num[d];
    }
    snprintf(ele, sizeof ele, "e%llu", (unsigned long long)i);
    argv[n++] = ele;
    argv[n++] = "NOQUANT";
    return redisAppendCommandArgv(c, n, argv, NULL);
}

/* ------------------------------------------------------------ options */

typedef struct {
    const char *mode;
    const char *host;
    int port;
    long count;
    long window;
    long kill_pid;
    long kill_after;
    long bgsave_ms;
    int kill_in_save;
    const char *out;
    const char *result;
    const char *fsync;
    long loss_ms;
} options;

static void usage(void)
{
    fprintf(
        stderr,
        "usage: crashload load --port P [--host H] --count N --out FILE [--window W]\n"
        "                      [--kill-pid PID --kill-after K] [--bgsave-ms T] [--kill-in-save 1]\n"
        "       crashload verify --port P [--host H] --result FILE --fsync always|everysec\n"
        "                      [--loss-ms MS]\n");
    exit(2);
}

static long parse_long(const char *name, const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end) {
        fprintf(stderr, "crashload: %s: not an integer: '%s'\n", name, s);
        exit(2);
    }
    return v;
}

static void parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->window = CL_WINDOW_DEFAULT;
    o->kill_pid = -1;
    o->kill_after = -1;
    o->bgsave_ms = 0;
    o->loss_ms = CL_LOSS_MS_DEFAULT;
    o->count = -1;
    if (argc < 2) usage();
    o->mode = argv[1];
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc) usage();
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--host"))
            o->host = v;
        else if (!strcmp(k, "--port"))
            o->port = (int)parse_long(k, v);
        else if (!strcmp(k, "--count"))
            o->count = parse_long(k, v);
        else if (!strcmp(k, "--window"))
            o->window = parse_long(k, v);
        else if (!strcmp(k, "--kill-pid"))
            o->kill_pid = parse_long(k, v);
        else if (!strcmp(k, "--kill-after"))
            o->kill_after = parse_long(k, v);
        else if (!strcmp(k, "--bgsave-ms"))
            o->bgsave_ms = parse_long(k, v);
        else if (!strcmp(k, "--kill-in-save"))
            o->kill_in_save = (int)parse_long(k, v);
        else if (!strcmp(k, "--out"))
            o->out = v;
        else if (!strcmp(k, "--result"))
            o->result = v;
        else if (!strcmp(k, "--fsync"))
            o->fsync = v;
        else if (!strcmp(k, "--loss-ms"))
            o->loss_ms = parse_long(k, v);
        else
            usage();
    }
    if (o->port <= 0) usage();
    if (!strcmp(o->mode, "load")) {
        if (o->count <= 0 || !o->out || o->window <= 0 || o->bgsave_ms < 0) usage();
        if ((o->kill_pid > 0) != (o->kill_after >= 0)) usage();
        if (o->kill_in_save && o->kill_pid <= 0) usage();
        if (o->kill_after >= o->count) {
            fprintf(stderr, "crashload: --kill-after must be below --count\n");
            exit(2);
        }
    } else if (!strcmp(o->mode, "verify")) {
        if (!o->result || !o->fsync) usage();
        if (strcmp(o->fsync, "always") && strcmp(o->fsync, "everysec")) usage();
    } else {
        usage();
    }
}

static redisContext *connect_or_die(const options *o)
{
    struct timeval tv = {CL_TIMEOUT_S, 0};
    redisContext *c = redisConnectWithTimeout(o->host, o->port, tv);
    if (!c || c->err) {
        fprintf(stderr, "crashload: cannot connect to %s:%d: %s\n", o->host, o->port,
                c ? c->errstr : "out of memory");
        redisFree(c);
        exit(2);
    }
    redisSetTimeout(c, tv);
    return c;
}

/* ------------------------------------------------------------ load */

/* Asks for a checkpoint on the side connection. A save already running is
 * fine (the point is to have one running when the kill lands); any other
 * error fails the run. Returns 0, or -1 with `why` set. */
static int request_bgsave(redisContext *side, char *why, size_t len)
{
    redisReply *r = redisCommand(side, "BGSAVE");
    if (!r) {
        snprintf(why, len, "BGSAVE: connection error: %s", side->errstr);
        return -1;
    }
    int ok = r->type == REDIS_REPLY_STATUS ||
             (r->type == REDIS_REPLY_ERROR && strstr(r->str, "in progress"));
    if (!ok) snprintf(why, len, "BGSAVE replied type %d '%.100s'", r->type, r->str ? r->str : "");
    freeReplyObject(r);
    return ok ? 0 : -1;
}

/* 1 when INFO persistence says a checkpoint is running, 0 when not, -1 with
 * `why` set on an error. */
static int save_in_progress(redisContext *side, char *why, size_t len)
{
    static const char field[] = "rdb_bgsave_in_progress:";
    redisReply *r = redisCommand(side, "INFO persistence");
    if (!r) {
        snprintf(why, len, "INFO: connection error: %s", side->errstr);
        return -1;
    }
    const char *p = r->type == REDIS_REPLY_STRING ? strstr(r->str, field) : NULL;
    int v = p ? p[sizeof field - 1] == '1' : -1;
    if (v < 0) snprintf(why, len, "INFO persistence has no %s field", field);
    freeReplyObject(r);
    return v;
}

static int run_load(const options *o)
{
    redisContext *c = connect_or_die(o);
    long long *ack_ms = malloc(sizeof(long long) * (size_t)o->count);
    if (!ack_ms) {
        fprintf(stderr, "crashload: out of memory\n");
        redisFree(c);
        return 2;
    }
    /* The side connection for BGSAVE: the stream's connection carries only
     * VADDs, so its replies stay the plain sequence of acknowledgements. */
    redisContext *side = o->bgsave_ms || o->kill_in_save ? connect_or_die(o) : NULL;
    long long start = now_ms(), kill_ms = -1, next_save = start + o->bgsave_ms;
    long issued = 0, acked = 0, after_kill = 0, bgsaves = 0, kill_acked = -1, polls = 0;
    int failed = 0, killed = 0;
    char why[256] = "";

    for (;;) {
        while (!killed && issued < o->count && issued - acked < o->window) {
            if (append_vadd(c, (uint64_t)issued) != REDIS_OK) {
                snprintf(why, sizeof why, "cannot queue command %ld: %s", issued, c->errstr);
                failed = 1;
                break;
            }
            issued++;
        }
        if (failed || acked == issued) break;
        void *rv = NULL;
        if (redisGetReply(c, &rv) != REDIS_OK) {
            if (!killed) {
                snprintf(why, sizeof why,
                         "connection lost after %ld acknowledgements, before the kill: %s", acked,
                         c->errstr);
                failed = 1;
            }
            break; /* after the kill: the expected end of the stream */
        }
        redisReply *r = rv;
        if (r->type != REDIS_REPLY_INTEGER || r->integer != 1) {
            snprintf(why, sizeof why, "reply to command %ld (e%ld) is not :1 but type %d '%.100s'",
                     acked, acked, r->type,
                     r->type == REDIS_REPLY_INTEGER ? "" : (r->str ? r->str : ""));
            freeReplyObject(r);
            failed = 1;
            break;
        }
        freeReplyObject(r);
        long long t = now_ms();
        ack_ms[acked++] = t - start;
        if (killed) after_kill++;
        if (o->bgsave_ms && !killed && t >= next_save) {
            if (request_bgsave(side, why, sizeof why) != 0) {
                failed = 1;
                break;
            }
            bgsaves++;
            next_save = t + o->bgsave_ms;
        }
        if (!killed && o->kill_pid > 0 && acked >= o->kill_after) {
            if (o->kill_in_save) {
                /* Ask for a checkpoint (again every 64 polls, in case one
                 * finished between two polls) and go on writing until INFO
                 * says one is running; the kill follows that reply by one
                 * write, far less than a checkpoint's ~20 ms. */
                if (polls % 64 == 0) {
                    if (request_bgsave(side, why, sizeof why) != 0) {
                        failed = 1;
                        break;
                    }
                    bgsaves++;
                }
                polls++;
                int running = save_in_progress(side, why, sizeof why);
                if (running < 0) {
                    failed = 1;
                    break;
                }
                if (!running) continue;
            }
            /* Hand every queued command to the socket first: after the kill
             * only reads happen, so a write error cannot end the run while
             * replies the server sent are still unread. */
            int done = 0;
            while (!done && redisBufferWrite(c, &done) == REDIS_OK) {
            }
            if (!done) {
                snprintf(why, sizeof why, "write before the kill failed: %s", c->errstr);
                failed = 1;
                break;
            }
            if (kill((pid_t)o->kill_pid, SIGKILL) != 0) {
                snprintf(why, sizeof why, "kill(%ld, SIGKILL): %s", o->kill_pid, strerror(errno));
                failed = 1;
                break;
            }
            kill_ms = now_ms() - start;
            kill_acked = acked;
            killed = 1;
        }
    }
    long long elapsed = now_ms() - start;
    redisFree(c);
    redisFree(side);

    FILE *f = fopen(o->out, "w");
    if (!f) {
        fprintf(stderr, "crashload: cannot write %s: %s\n", o->out, strerror(errno));
        free(ack_ms);
        return 2;
    }
    fprintf(f, "crashload-result 1\ncount %ld issued %ld\nacked %ld kill_after %ld kill_ms %lld\n",
            o->count, issued, acked, kill_acked, kill_ms);
    for (long i = 0; i < acked; i++)
        fprintf(f, "%lld\n", ack_ms[i]);
    int werr = ferror(f);
    if (fclose(f) != 0 || werr) {
        fprintf(stderr, "crashload: cannot write %s\n", o->out);
        free(ack_ms);
        return 2;
    }
    free(ack_ms);

    printf("load: issued %ld, acked %ld (%ld read after the kill), killed after %ld acks at %lld ms"
           "%s, %lld ms, %.0f acks/s, %ld BGSAVE\n",
           issued, acked, after_kill, kill_acked, kill_ms,
           o->kill_in_save && killed ? " during a checkpoint" : "", elapsed,
           elapsed > 0 ? acked * 1000.0 / (double)elapsed : 0.0, bgsaves);
    if (failed) {
        printf("load FAILED: %s\n", why);
        return 1;
    }
    if (o->kill_pid > 0 && !killed) {
        printf("load FAILED: the stream ended before the kill point\n");
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ verify */

typedef struct {
    long count, issued, acked, kill_after;
    long long kill_ms;
    long long *ack_ms;
} result;

static int read_result(const char *path, result *res)
{
    memset(res, 0, sizeof *res);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "crashload: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    int version = 0;
    if (fscanf(f, "crashload-result %d count %ld issued %ld acked %ld kill_after %ld kill_ms %lld",
               &version, &res->count, &res->issued, &res->acked, &res->kill_after,
               &res->kill_ms) != 6 ||
        version != 1 || res->acked < 0 || res->acked > res->issued || res->issued > res->count) {
        fprintf(stderr, "crashload: %s: bad header\n", path);
        fclose(f);
        return -1;
    }
    res->ack_ms = malloc(sizeof(long long) * (size_t)(res->acked + 1));
    if (!res->ack_ms) {
        fclose(f);
        return -1;
    }
    for (long i = 0; i < res->acked; i++) {
        if (fscanf(f, "%lld", &res->ack_ms[i]) != 1) {
            fprintf(stderr, "crashload: %s: truncated at ack %ld\n", path, i);
            fclose(f);
            free(res->ack_ms);
            res->ack_ms = NULL;
            return -1;
        }
    }
    fclose(f);
    return 0;
}

static int violations;

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
    if (++violations > CL_MAX_REPORTS * 4) return;
    va_list ap;
    va_start(ap, fmt);
    printf("VIOLATION: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* Sends one command and returns its reply (NULL and a message on a broken
 * connection). */
static redisReply *command_argv(redisContext *c, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    if (!r) printf("verify: connection error: %s\n", c->errstr);
    return r;
}

/* Waits until the server stops answering -LOADING; 0 when ready. */
static int wait_loaded(redisContext *c)
{
    long long deadline = now_ms() + CL_LOADING_WAIT_MS;
    for (;;) {
        const char *argv[] = {"VCARD", CL_KEY};
        redisReply *r = command_argv(c, 2, argv);
        if (!r) return -1;
        int loading = r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "LOADING", 7);
        freeReplyObject(r);
        if (!loading) return 0;
        if (now_ms() > deadline) {
            printf("verify: server still LOADING after %d ms\n", CL_LOADING_WAIT_MS);
            return -1;
        }
        usleep(20 * 1000);
    }
}

/* Pipelines `n` commands built by make(i) and hands each reply to take(i).
 * Returns 0, or -1 on a connection error. */
typedef void (*make_fn)(redisContext *c, long i, void *ctx);
typedef void (*take_fn)(long i, redisReply *r, void *ctx);

static int pipeline(redisContext *c, long n, long window, make_fn make, take_fn take, void *ctx)
{
    long sent = 0, got = 0;
    while (got < n) {
        while (sent < n && sent - got < window)
            make(c, sent++, ctx);
        void *rv = NULL;
        if (redisGetReply(c, &rv) != REDIS_OK) {
            printf("verify: connection error: %s\n", c->errstr);
            return -1;
        }
        take(got++, rv, ctx);
        freeReplyObject(rv);
    }
    return 0;
}

typedef struct {
    long n;
    unsigned char *present; /* 1 present, 0 absent, 2 bad reply */
    long *index;            /* VEMB pass: element of the i-th command */
} verify_ctx;

static void make_ismember(redisContext *c, long i, void *ctx)
{
    (void)ctx;
    char ele[32];
    snprintf(ele, sizeof ele, "e%ld", i);
    const char *argv[] = {"VISMEMBER", CL_KEY, ele};
    redisAppendCommandArgv(c, 3, argv, NULL);
}

static void take_ismember(long i, redisReply *r, void *ctx)
{
    verify_ctx *v = ctx;
    if (r->type == REDIS_REPLY_INTEGER && (r->integer == 0 || r->integer == 1)) {
        v->present[i] = (unsigned char)r->integer;
    } else {
        v->present[i] = 2;
        violation("VISMEMBER %s e%ld: unexpected reply type %d '%.80s'", CL_KEY, i, r->type,
                  r->str ? r->str : "");
    }
}

static void make_vemb(redisContext *c, long i, void *ctx)
{
    verify_ctx *v = ctx;
    char ele[32];
    snprintf(ele, sizeof ele, "e%ld", v->index[i]);
    const char *argv[] = {"VEMB", CL_KEY, ele};
    redisAppendCommandArgv(c, 3, argv, NULL);
}

static long vemb_bad;

static void take_vemb(long i, redisReply *r, void *ctx)
{
    verify_ctx *v = ctx;
    long e = v->index[i];
    if (r->type != REDIS_REPLY_ARRAY || r->elements != CL_DIM) {
        vemb_bad++;
        violation("VEMB e%ld: expected %d components, got type %d with %zu elements", e, CL_DIM,
                  r->type, r->type == REDIS_REPLY_ARRAY ? r->elements : (size_t)0);
        return;
    }
    float sent[CL_DIM];
    vec_of((uint64_t)e, sent);
    double got[CL_DIM], dot = 0, ns = 0, ng = 0;
    for (int d = 0; d < CL_DIM; d++) {
        redisReply *x = r->element[d];
        if (x->type == REDIS_REPLY_STRING)
            got[d] = strtod(x->str, NULL);
        else
            got[d] = NAN;
        dot += got[d] * sent[d];
        ns += (double)sent[d] * sent[d];
        ng += got[d] * got[d];
    }
    double cosv = dot / sqrt(ns * ng), ratio = sqrt(ng / ns);
    if (!(cosv >= 1.0 - CL_VEMB_RTOL) || !(fabs(ratio - 1.0) <= CL_VEMB_RTOL)) {
        vemb_bad++;
        violation("VEMB e%ld is not the vector sent: cosine %.9f, norm ratio %.9f "
                  "(sent %.6g %.6g ..., stored %.6g %.6g ...)",
                  e, cosv, ratio, (double)sent[0], (double)sent[1], got[0], got[1]);
    }
}

/* Exact nearest neighbour of the sent vector of e<e> must be e<e> itself. */
static void check_vsim(redisContext *c, long e)
{
    float v[CL_DIM];
    char num[CL_DIM][32], dim[8];
    const char *argv[16 + CL_DIM];
    vec_of((uint64_t)e, v);
    int n = 0;
    argv[n++] = "VSIM";
    argv[n++] = CL_KEY;
    argv[n++] = "VALUES";
    snprintf(dim, sizeof dim, "%d", CL_DIM);
    argv[n++] = dim;
    for (int d = 0; d < CL_DIM; d++) {
        snprintf(num[d], sizeof num[d], "%.9g", (double)v[d]);
        argv[n++] = num[d];
    }
    argv[n++] = "COUNT";
    argv[n++] = "1";
    argv[n++] = "TRUTH";
    redisReply *r = command_argv(c, n, argv);
    if (!r) {
        violations++;
        return;
    }
    char want[32];
    snprintf(want, sizeof want, "e%ld", e);
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, want)) {
        violation("VSIM TRUTH COUNT 1 with the vector of %s does not return %s first (got '%s')",
                  want, want,
                  r->type == REDIS_REPLY_ARRAY && r->elements && r->element[0]->str
                      ? r->element[0]->str
                      : (r->str ? r->str : "?"));
    }
    freeReplyObject(r);
}

static int run_verify(const options *o)
{
    result res;
    if (read_result(o->result, &res) != 0) return 2;
    redisContext *c = connect_or_die(o);
    verify_ctx v = {0};
    int rc = 2;
    long long t0 = now_ms();
    if (wait_loaded(c) != 0) goto out;

    /* Presence of every issued element (a gap anywhere is a violation). */
    long n = res.issued;
    v.n = n;
    v.present = calloc((size_t)n + 1, 1);
    v.index = malloc(sizeof(long) * ((size_t)n + 1));
    if (!v.present || !v.index) goto out;
    if (pipeline(c, n, CL_WINDOW_DEFAULT, make_ismember, take_ismember, &v) != 0) goto out;
    long long t_ismember = now_ms() - t0;
    long m = 0;
    while (m < n && v.present[m] == 1)
        m++;
    long extra = 0, first_extra = -1;
    for (long i = m; i < n; i++) {
        if (v.present[i] == 1) {
            if (first_extra < 0) first_extra = i;
            extra++;
        }
    }
    if (extra)
        violation("not a prefix: e0..e%ld present, e%ld missing, but %ld later element(s) present "
                  "(first e%ld)",
                  m - 1, m, extra, first_extra);

    const char *vc[] = {"VCARD", CL_KEY};
    redisReply *r = command_argv(c, 2, vc);
    if (!r) goto out;
    long long card = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    if (card != m + extra)
        violation("VCARD %s is %lld, but %ld of the %ld issued elements are present (elements "
                  "that were never sent, or VCARD is wrong)",
                  CL_KEY, card, m + extra, n);

    /* Durability of what was acknowledged. */
    long lost = res.acked > m ? res.acked - m : 0;
    long long window_ms = 0;
    if (lost) {
        long long oldest = res.ack_ms[m];
        /* A reply read after the kill was sent just before it: window 0. */
        window_ms = res.kill_ms < 0 ? -1 : oldest > res.kill_ms ? 0 : res.kill_ms - oldest;
        if (!strcmp(o->fsync, "always")) {
            violation("appendfsync always lost %ld acknowledged element(s): e%ld..e%ld "
                      "(the oldest acked %lld ms before the kill; -1: no kill)",
                      lost, m, res.acked - 1, window_ms);
        } else if (window_ms < 0 || window_ms > o->loss_ms) {
            violation("appendfsync everysec lost %ld acknowledged element(s) e%ld..e%ld; the "
                      "oldest was acked %lld ms before the kill (bound %ld ms; -1: no kill)",
                      lost, m, res.acked - 1, window_ms, o->loss_ms);
        }
    }

    /* Every present element holds the vector that was sent. */
    long np = 0, present_total = m + extra;
    long stride = present_total > CL_VEMB_SAMPLE ? present_total / CL_VEMB_SAMPLE : 1;
    for (long i = 0, seen = 0; i < n; i++) {
        if (v.present[i] != 1) continue;
        if (seen < CL_VEMB_HEAD || present_total - seen <= CL_VEMB_TAIL || seen % stride == 0)
            v.index[np++] = i;
        seen++;
    }
    long long t_vemb0 = now_ms();
    if (pipeline(c, np, CL_WINDOW_DEFAULT, make_vemb, take_vemb, &v) != 0) goto out;
    long long t_vemb = now_ms() - t_vemb0;
    if (m > 0) {
        long picks[] = {0, m / 3, (2 * m) / 3, m - 1};
        for (size_t k = 0; k < sizeof picks / sizeof picks[0]; k++)
            check_vsim(c, picks[k]);
    }

    printf("verify (%s): issued %ld, acked %ld, present e0..e%ld (%ld), VCARD %lld, "
           "acked but lost %ld (window %lld ms), unacked but kept %ld, VEMB checked %ld "
           "(%ld bad), %lld ms (VISMEMBER %lld, VEMB %lld)\n",
           o->fsync, n, res.acked, m - 1, m, card, lost, window_ms,
           m > res.acked ? m - res.acked : 0, np, vemb_bad, now_ms() - t0, t_ismember, t_vemb);
    rc = violations ? 1 : 0;
    if (violations) printf("verify FAILED: %d violation(s)\n", violations);
out:
    if (rc == 2 && !violations) printf("verify FAILED: could not complete the checks\n");
    free(v.present);
    free(v.index);
    free(res.ack_ms);
    redisFree(c);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    parse_options(argc, argv, &o);
    signal(SIGPIPE, SIG_IGN); /* a write to the killed server is an EPIPE, not a death */
    setvbuf(stdout, NULL, _IOLBF, 0);
    return !strcmp(o.mode, "load") ? run_load(&o) : run_verify(&o);
}
