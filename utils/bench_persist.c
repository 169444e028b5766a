/*
 * bench_persist.c -- the client side of `make bench-persist` (issue 5,
 * "Figures to reach"): what persistence costs a vectis server and how fast a
 * restarted one serves again. Benchmark-only; utils/bench-persist.sh starts
 * and stops the servers and calls the steps below in order.
 *
 *   bench_persist load --port P --data DIR --rows N [--source base|query]
 *                 [--prefix S] [--key K] [--quant default|NOQUANT|Q8|BIN]
 *                 [--conns C] [--depth D] [--label L] [--wait-indexed S]
 *       VADD key FP32 <row> <prefix><row id> [quant] M 16 EF 200 for the
 *       first N rows of DIR/base.fvecs (or query.fvecs), C connections with
 *       at most D requests outstanding each. Prints the acknowledged rate:
 *       rows / wall time from the first request sent to the last reply.
 *       With --wait-indexed, then polls INFO vectors until no row is left
 *       to index (rows_unindexed:0 and index_build_queue:0, at most S
 *       seconds) and prints that time too, from the same start.
 *   bench_persist wait-indexed --port P [--timeout S] [--label L]
 *       The same poll alone; prints how long it took.
 *   bench_persist save --port P
 *       SAVE (a blocking checkpoint), timed; then LASTSAVE and the INFO
 *       persistence lines about the checkpoint.
 *   bench_persist first-vsim --port P --data DIR --since T [--pid PID]
 *                 [--key K] [--label L] [--expect N] [--timeout S]
 *                 [--index-timeout S]
 *       T is the CLOCK_REALTIME second (date +%s.%N) at which the script
 *       started the server process PID. Every BP_POLL_MS this connects (a
 *       refused connection is "not yet"), then sends `VSIM key FP32 <query>
 *       COUNT 10` until one returns at least one element (-LOADING or an
 *       empty reply is "not yet") and `INFO persistence` until it says
 *       loading:0. Prints the three times since T, then VCARD (against
 *       --expect, the rows acknowledged before the restart), and with
 *       --index-timeout > 0 the time until the restarted server has no row
 *       left to index (sealed segments whose index was loaded need none;
 *       a rebuilt index shows here).
 *   bench_persist summary FILE
 *       The closing table from the RESULT lines the steps printed (the
 *       script collects them in FILE): rates and their ratios to the
 *       in-memory rate, on-disk bytes against rows x dim x 4, restart times,
 *       each next to the goal of issue 5.
 *
 * Every measuring step prints a human line and `RESULT <name> <value>`
 * lines. Exit status: 0, or 1 when the server could not be reached or
 * answered an unexpected error (the script decides what that means; speed
 * never fails anything).
 *
 * Threading: `load` runs one thread per connection, each with its own
 * blocking hiredis context, started together on a barrier; they read the
 * shared rows and write only their own bp_conn. Everything else is one
 * thread. Ownership: main() owns the data read from DIR; every step frees
 * what it allocates.
 *
 * Data: the synthetic set of utils/datasets.c (`datasets synth DIR --n
 * 1000000`, seeded Gaussian mixture, 128-d, unit rows), read with ds_io. Its
 * base rows are one sequential stream, so the first N rows of the 1M file
 * are exactly the rows `datasets synth --n N` would write: one cached file
 * serves every ROWS.
 *
 * Rejected: timing the restart from the script (redis-cli in a loop costs a
 * process start per poll, ~5-10 ms, the same order as the poll period);
 * hiredis's async API (the blocking one with explicit pipelining says
 * plainly what is measured, as in bench_vset); forking the server from
 * here (the script owns the server processes and their clean-up, and the
 * realtime stamp taken right before the exec is within a millisecond of the
 * process start).
 */
#include "bench_info.h"
#include "ds_io.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>

#define BP_POLL_MS        10   /* restart poll period, as the issue asks */
#define BP_INDEX_POLL_MS  100  /* INFO vectors poll while waiting for indexing */
#define BP_MAX_CONNS      64   /* most load connections */
#define BP_NAME_MAX       48   /* element names: prefix + decimal row id */
#define BP_K              10   /* VSIM COUNT */
#define BP_REPLY_TIMEOUT  60   /* seconds a single reply may take (a SAVE is not bounded) */
#define BP_CONNECT_TIMEOUT 1   /* seconds per connect attempt while polling a restart */
#define BP_MAX_RESULTS    128  /* RESULT lines the summary reads */
#define BP_MAX_ERRORS     8    /* distinct "not yet" errors a restart poll prints */

/* ------------------------------------------------------------- options */

typedef struct bp_opts {
    const char *host, *data, *source, *prefix, *key, *quant, *label;
    int port;
    size_t rows, expect;
    unsigned conns, depth;
    double since, timeout, wait_indexed, index_timeout;
    pid_t pid;
} bp_opts;

static void bp_usage(void)
{
    fprintf(stderr,
            "usage: bench_persist load --port P --data DIR --rows N [--source base|query]\n"
            "                     [--prefix S] [--key K] [--quant default|NOQUANT|Q8|BIN]\n"
            "                     [--conns C] [--depth D] [--label L] [--wait-indexed SECONDS]\n"
            "       bench_persist wait-indexed --port P [--timeout SECONDS] [--label L]\n"
            "       bench_persist save --port P\n"
            "       bench_persist first-vsim --port P --data DIR --since REALTIME [--pid PID]\n"
            "                     [--key K] [--label L] [--expect N] [--timeout SECONDS]\n"
            "                     [--index-timeout SECONDS]\n"
            "       bench_persist summary FILE\n");
}

/* Parses "--name value" pairs from argv[from..). Returns 0 or -1. */
static int bp_parse(int argc, char **argv, int from, bp_opts *o)
{
    for (int i = from; i < argc; i += 2) {
        if (i + 1 >= argc) return -1;
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "--host") == 0)
            o->host = v;
        else if (strcmp(a, "--port") == 0)
            o->port = atoi(v);
        else if (strcmp(a, "--data") == 0)
            o->data = v;
        else if (strcmp(a, "--source") == 0)
            o->source = v;
        else if (strcmp(a, "--prefix") == 0)
            o->prefix = v;
        else if (strcmp(a, "--key") == 0)
            o->key = v;
        else if (strcmp(a, "--quant") == 0)
            o->quant = v;
        else if (strcmp(a, "--label") == 0)
            o->label = v;
        else if (strcmp(a, "--rows") == 0)
            o->rows = strtoull(v, NULL, 10);
        else if (strcmp(a, "--expect") == 0)
            o->expect = strtoull(v, NULL, 10);
        else if (strcmp(a, "--conns") == 0)
            o->conns = (unsigned)atoi(v);
        else if (strcmp(a, "--depth") == 0)
            o->depth = (unsigned)atoi(v);
        else if (strcmp(a, "--since") == 0)
            o->since = atof(v);
        else if (strcmp(a, "--timeout") == 0)
            o->timeout = atof(v);
        else if (strcmp(a, "--wait-indexed") == 0)
            o->wait_indexed = atof(v);
        else if (strcmp(a, "--index-timeout") == 0)
            o->index_timeout = atof(v);
        else if (strcmp(a, "--pid") == 0)
            o->pid = (pid_t)atol(v);
        else
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- helpers */

static double bp_realtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bp_sleep(double seconds)
{
    if (seconds <= 0) return;
    struct timespec ts = {(time_t)seconds, (long)((seconds - floor(seconds)) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Connects with a read timeout of `reply_s` seconds (0 = none). Quiet when
 * `quiet` (a restart poll expects refusals). */
static redisContext *bp_connect(const bp_opts *o, double connect_s, double reply_s, int quiet)
{
    struct timeval tv = {(time_t)connect_s, (long)((connect_s - floor(connect_s)) * 1e6)};
    redisContext *c = redisConnectWithTimeout(o->host, o->port, tv);
    if (c == NULL || c->err) {
        if (!quiet)
            fprintf(stderr, "bench_persist: cannot connect to %s:%d: %s\n", o->host, o->port,
                    c ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    struct timeval rt = {(time_t)reply_s, 0};
    redisSetTimeout(c, rt);
    return c;
}

static const char *const bp_persist_fields[] = {
    "loading", "rdb_", "checkpoint", "aof_enabled", "aof_fsync", "aof_last", "rocksdb_", NULL};
static const char *const bp_vector_fields[] = {"collections:", "rows", "segments",
                                               "index_build_queue", "collections_memory", NULL};

static void bp_result(const char *label, const char *name, double v)
{
    printf("RESULT %s%s%s %.6g\n", label ? label : "", label && label[0] ? "_" : "", name, v);
}

/* ----------------------------------------------------- waiting for index */

/* Polls INFO vectors until rows_unindexed and index_build_queue are both 0
 * or `timeout` seconds pass. Returns the ds_now() time it saw both at 0,
 * or -1 (timeout, error: message on stderr). */
static double bp_wait_indexed(redisContext *c, double timeout)
{
    double t0 = ds_now();
    for (;;) {
        double u = bench_info_field(c, "vectors", "rows_unindexed");
        double q = bench_info_field(c, "vectors", "index_build_queue");
        double now = ds_now();
        if (u < 0) {
            fprintf(stderr, "bench_persist: INFO vectors has no rows_unindexed (%s)\n",
                    c->err ? c->errstr : "field missing");
            return -1;
        }
        if (u == 0 && q <= 0) return now;
        if (now - t0 > timeout) {
            printf("  (still %.0f rows unindexed, %.0f builds queued after %.0f s: gave up "
                   "waiting)\n",
                   u, q, now - t0);
            return -1;
        }
        bp_sleep(BP_INDEX_POLL_MS / 1000.0);
    }
}

/* ------------------------------------------------------------------ load */

typedef struct bp_load {
    const bp_opts *o;
    const ds_matrix *rows;
    const char *quant; /* NULL: the server's default */
    size_t r0, r1;     /* this connection's rows */
    pthread_barrier_t *start;
    double t_start, t_end;
    size_t added, updated;
    int failed;
    char errmsg[256];
} bp_load;

static void *bp_load_run(void *arg)
{
    bp_load *l = arg;
    redisContext *c = bp_connect(l->o, 10, BP_REPLY_TIMEOUT, 0);
    pthread_barrier_wait(l->start);
    if (c == NULL) {
        l->failed = 1;
        snprintf(l->errmsg, sizeof(l->errmsg), "connect failed");
        return NULL;
    }
    const size_t dim = l->rows->dim;
    const char *prefix = l->o->prefix ? l->o->prefix : "";
    l->t_start = ds_now();
    size_t sent = l->r0, done = l->r0;
    while (done < l->r1 && !l->failed) {
        int appended = 0;
        while (sent < l->r1 && sent - done < l->o->depth) {
            char name[BP_NAME_MAX];
            snprintf(name, sizeof(name), "%s%zu", prefix, sent);
            const char *argv[10];
            size_t lens[10];
            int a = 0;
            argv[a] = "VADD", lens[a++] = 4;
            argv[a] = l->o->key, lens[a++] = strlen(l->o->key);
            argv[a] = "FP32", lens[a++] = 4;
            argv[a] = (const char *)ds_row_f32(l->rows, sent), lens[a++] = dim * sizeof(float);
            argv[a] = name, lens[a++] = strlen(name);
            if (l->quant) argv[a] = l->quant, lens[a++] = strlen(l->quant);
            argv[a] = "M", lens[a++] = 1;
            argv[a] = "16", lens[a++] = 2;
            argv[a] = "EF", lens[a++] = 2;
            argv[a] = "200", lens[a++] = 3;
            if (redisAppendCommandArgv(c, a, argv, lens) != REDIS_OK) {
                l->failed = 1;
                snprintf(l->errmsg, sizeof(l->errmsg), "append: %s", c->errstr);
                break;
            }
            sent++;
            appended = 1;
        }
        if (l->failed) break;
        if (appended) {
            int wdone = 0;
            while (!wdone) {
                if (redisBufferWrite(c, &wdone) != REDIS_OK) {
                    l->failed = 1;
                    snprintf(l->errmsg, sizeof(l->errmsg), "write: %s", c->errstr);
                    break;
                }
            }
            if (l->failed) break;
        }
        /* One reply (blocking), then every reply already buffered. */
        void *rv = NULL;
        if (redisGetReply(c, &rv) != REDIS_OK || rv == NULL) {
            l->failed = 1;
            snprintf(l->errmsg, sizeof(l->errmsg), "read: %s", c->errstr);
            break;
        }
        while (rv != NULL) {
            redisReply *r = rv;
            if (r->type == REDIS_REPLY_INTEGER) {
                if (r->integer == 1)
                    l->added++;
                else
                    l->updated++;
            } else if (!l->failed) {
                l->failed = 1;
                snprintf(l->errmsg, sizeof(l->errmsg), "row %zu: reply type %d%s%s", done,
                         r->type, r->type == REDIS_REPLY_ERROR ? ": " : "",
                         r->type == REDIS_REPLY_ERROR ? r->str : "");
            }
            freeReplyObject(r);
            done++;
            rv = NULL;
            if (done == sent) break;
            if (redisReaderGetReply(c->reader, &rv) != REDIS_OK) {
                l->failed = 1;
                snprintf(l->errmsg, sizeof(l->errmsg), "protocol error");
                break;
            }
        }
    }
    l->t_end = ds_now();
    redisFree(c);
    return NULL;
}

static int bp_cmd_load(const bp_opts *o)
{
    char path[4096];
    int use_query = o->source && strcmp(o->source, "query") == 0;
    snprintf(path, sizeof(path), "%s/%s.fvecs", o->data, use_query ? "query" : "base");
    ds_matrix rows;
    if (ds_read_vecs(path, o->rows, &rows) != 0) return 1;
    if (rows.n < o->rows) {
        fprintf(stderr, "bench_persist: %s holds %zu rows, %zu asked\n", path, rows.n, o->rows);
        ds_matrix_free(&rows);
        return 1;
    }
    const char *quant = o->quant && strcasecmp(o->quant, "default") != 0 ? o->quant : NULL;
    const char *label = o->label ? o->label : "load";

    bp_load l[BP_MAX_CONNS];
    pthread_t tid[BP_MAX_CONNS];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, o->conns);
    for (unsigned t = 0; t < o->conns; t++) {
        l[t] = (bp_load){.o = o, .rows = &rows, .quant = quant, .start = &bar};
        l[t].r0 = rows.n * t / o->conns;
        l[t].r1 = rows.n * (t + 1) / o->conns;
        pthread_create(&tid[t], NULL, bp_load_run, &l[t]);
    }
    double t0 = 1e300, t1 = 0;
    size_t added = 0, updated = 0;
    int failed = 0;
    for (unsigned t = 0; t < o->conns; t++) {
        pthread_join(tid[t], NULL);
        if (l[t].failed) {
            fprintf(stderr, "bench_persist: load connection %u: %s\n", t, l[t].errmsg);
            failed = 1;
        }
        if (l[t].t_start > 0 && l[t].t_start < t0) t0 = l[t].t_start;
        if (l[t].t_end > t1) t1 = l[t].t_end;
        added += l[t].added;
        updated += l[t].updated;
    }
    pthread_barrier_destroy(&bar);
    double secs = t1 > t0 ? t1 - t0 : 0;
    double rate = secs > 0 ? (double)(added + updated) / secs : 0;
    printf("load %s: key=%s quant=%s rows=%zu conns=%u depth=%u acked_s=%.2f "
           "acked_per_s=%.0f added=%zu updated=%zu%s\n",
           label, o->key, quant ? quant : "default(Q8)", rows.n, o->conns, o->depth, secs, rate,
           added, updated, failed ? " FAILED" : "");
    if (!failed) {
        bp_result(label, "rate", rate);
        bp_result(label, "s", secs);
    }
    fflush(stdout);

    if (!failed && o->wait_indexed > 0) {
        redisContext *c = bp_connect(o, 10, BP_REPLY_TIMEOUT, 0);
        double ti = c ? bp_wait_indexed(c, o->wait_indexed) : -1;
        if (ti > 0) {
            printf("load %s: every row indexed %.1f s after the first VADD (%.0f rows/s)\n",
                   label, ti - t0, (double)rows.n / (ti - t0));
            bp_result(label, "indexed_s", ti - t0);
        }
        if (c) {
            printf("INFO vectors:\n");
            bench_print_info(c, "vectors", bp_vector_fields);
            printf("INFO memory:\n");
            static const char *const mem[] = {"used_memory:", "used_memory_rss:", NULL};
            bench_print_info(c, "memory", mem);
        }
        redisFree(c);
    }
    ds_matrix_free(&rows);
    return failed;
}

/* ---------------------------------------------------------- wait-indexed */

static int bp_cmd_wait_indexed(const bp_opts *o)
{
    redisContext *c = bp_connect(o, 10, BP_REPLY_TIMEOUT, 0);
    if (c == NULL) return 1;
    double t0 = ds_now();
    double ti = bp_wait_indexed(c, o->timeout);
    const char *label = o->label ? o->label : "wait";
    if (ti > 0) {
        printf("%s: no row left to index after %.1f s of waiting\n", label, ti - t0);
        bp_result(label, "indexed_wait_s", ti - t0);
    }
    printf("INFO vectors:\n");
    bench_print_info(c, "vectors", bp_vector_fields);
    redisFree(c);
    return ti > 0 ? 0 : 1;
}

/* ------------------------------------------------------------------ save */

static int bp_cmd_save(const bp_opts *o)
{
    /* No reply timeout: a checkpoint of a million rows may take a while. */
    redisContext *c = bp_connect(o, 10, 0, 0);
    if (c == NULL) return 1;
    double t0 = ds_now();
    redisReply *r = redisCommand(c, "SAVE");
    double secs = ds_now() - t0;
    int ok = r && r->type == REDIS_REPLY_STATUS && strcasecmp(r->str, "OK") == 0;
    printf("SAVE: %s after %.2f s\n",
           ok ? "+OK"
              : r && r->type == REDIS_REPLY_ERROR ? r->str
                                                  : (r ? "unexpected reply" : c->errstr),
           secs);
    if (r) freeReplyObject(r);
    bp_result("save", "ok", ok);
    if (ok) bp_result("save", "s", secs);
    r = redisCommand(c, "LASTSAVE");
    if (r && r->type == REDIS_REPLY_INTEGER)
        printf("LASTSAVE: %lld (now %.0f)\n", r->integer, bp_realtime());
    if (r) freeReplyObject(r);
    printf("INFO persistence:\n");
    bench_print_info(c, "persistence", bp_persist_fields);
    redisFree(c);
    return 0;
}

/* ------------------------------------------------------------ first-vsim */

/* Distinct "not yet" replies seen while polling, printed once each. */
typedef struct bp_seen {
    char msg[BP_MAX_ERRORS][128];
    size_t count[BP_MAX_ERRORS];
    size_t n;
} bp_seen;

static void bp_seen_add(bp_seen *s, const char *msg)
{
    char m[128];
    snprintf(m, sizeof(m), "%s", msg);
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->msg[i], m) == 0) {
            s->count[i]++;
            return;
        }
    }
    if (s->n < BP_MAX_ERRORS) {
        memcpy(s->msg[s->n], m, sizeof(m));
        s->count[s->n++] = 1;
    }
}

static int bp_cmd_first_vsim(const bp_opts *o)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/query.fvecs", o->data);
    ds_matrix q;
    if (ds_read_vecs(path, 100, &q) != 0) return 1;
    const char *label = o->label ? o->label : "restart";
    double t_connect = -1, t_vsim = -1, t_loaded = -1;
    size_t polls = 0, refused = 0, vsim_results = 0;
    bp_seen seen = {0};
    redisContext *c = NULL;
    int died = 0;
    double next = bp_realtime();
    while (t_vsim < 0 || t_loaded < 0) {
        double now = bp_realtime();
        if (now - o->since > o->timeout) break;
        if (o->pid > 0 && kill(o->pid, 0) != 0 && errno == ESRCH) {
            died = 1;
            break;
        }
        polls++;
        if (c == NULL) {
            c = bp_connect(o, BP_CONNECT_TIMEOUT, BP_REPLY_TIMEOUT, 1);
            if (c == NULL)
                refused++;
            else if (t_connect < 0)
                t_connect = bp_realtime() - o->since;
        }
        if (c && t_vsim < 0) {
            const float *v = ds_row_f32(&q, polls % q.n);
            redisReply *r = redisCommand(c, "VSIM %s FP32 %b COUNT %d", o->key, v,
                                         q.dim * sizeof(float), BP_K);
            double t = bp_realtime() - o->since;
            if (r == NULL) {
                bp_seen_add(&seen, c->errstr);
                redisFree(c);
                c = NULL;
            } else if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
                t_vsim = t;
                vsim_results = r->elements;
            } else if (r->type == REDIS_REPLY_ERROR) {
                bp_seen_add(&seen, r->str);
            } else {
                bp_seen_add(&seen, "VSIM: empty or unexpected reply");
            }
            if (r) freeReplyObject(r);
        }
        if (c && t_loaded < 0) {
            double loading = bench_info_field(c, "persistence", "loading");
            if (loading == 0) t_loaded = bp_realtime() - o->since;
            if (c->err) {
                redisFree(c);
                c = NULL;
            }
        }
        next += BP_POLL_MS / 1000.0;
        now = bp_realtime();
        if (next > now)
            bp_sleep(next - now);
        else
            next = now; /* a slow reply: poll again at once, do not burst */
    }
    printf("restart %s: polls=%zu (every %d ms) refused=%zu; since process start: connect %.3f s, "
           "loading:0 %.3f s, first VSIM with results %.3f s (%zu results)%s\n",
           label, polls, BP_POLL_MS, refused, t_connect, t_loaded, t_vsim, vsim_results,
           died ? " -- SERVER EXITED" : (t_vsim < 0 || t_loaded < 0) ? " -- TIMED OUT" : "");
    for (size_t i = 0; i < seen.n; i++)
        printf("  not yet: %zu x \"%s\"\n", seen.count[i], seen.msg[i]);
    if (t_connect >= 0) bp_result(label, "connect_s", t_connect);
    if (t_loaded >= 0) bp_result(label, "loading0_s", t_loaded);
    if (t_vsim >= 0) bp_result(label, "vsim_s", t_vsim);
    fflush(stdout);
    int rc = t_vsim >= 0 && t_loaded >= 0 ? 0 : 1;
    if (c) {
        redisReply *r = redisCommand(c, "VCARD %s", o->key);
        if (r && r->type == REDIS_REPLY_INTEGER) {
            printf("restart %s: VCARD %s = %lld", label, o->key, r->integer);
            if (o->expect)
                printf(" (%zu acknowledged before the restart: %s)", o->expect,
                       (size_t)r->integer == o->expect ? "all present"
                       : (size_t)r->integer < o->expect ? "SOME MISSING"
                                                        : "MORE THAN EXPECTED");
            printf("\n");
            bp_result(label, "vcard", (double)r->integer);
        }
        if (r) freeReplyObject(r);
        printf("INFO vectors at the first VSIM:\n");
        bench_print_info(c, "vectors", bp_vector_fields);
        printf("INFO persistence:\n");
        bench_print_info(c, "persistence", bp_persist_fields);
        fflush(stdout);
        if (o->index_timeout > 0) {
            double ti = bp_wait_indexed(c, o->index_timeout);
            if (ti > 0) {
                double since = ti - ds_now() + bp_realtime() - o->since;
                printf("restart %s: no row left to index %.1f s after process start\n", label,
                       since);
                bp_result(label, "indexed_s", since);
            }
        }
    }
    redisFree(c);
    ds_matrix_free(&q);
    return rc;
}

/* --------------------------------------------------------------- summary */

typedef struct bp_results {
    char name[BP_MAX_RESULTS][64];
    double value[BP_MAX_RESULTS];
    size_t n;
} bp_results;

/* The value of `name`, or -1 when the run did not produce it. The last
 * occurrence wins. */
static double bp_get(const bp_results *r, const char *name)
{
    double v = -1;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->name[i], name) == 0) v = r->value[i];
    return v;
}

/* The median of every occurrence of `name` (a load repeated in rounds), or
 * -1; *count = how many there were. */
static double bp_median(const bp_results *r, const char *name, size_t *count)
{
    double v[BP_MAX_RESULTS];
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->name[i], name) == 0) v[n++] = r->value[i];
    *count = n;
    if (n == 0) return -1;
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of values */
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void bp_row(const char *what, const char *measured, const char *goal, const char *met)
{
    printf("%-42s %-58s %-9s %s\n", what, measured, goal, met);
}

/* "1,234,567" into buf. */
static const char *bp_commas(char *buf, size_t cap, double v)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%.0f", v);
    size_t len = strlen(tmp), o = 0;
    for (size_t i = 0; i < len && o + 2 < cap; i++) {
        buf[o++] = tmp[i];
        size_t left = len - i - 1;
        if (left > 0 && left % 3 == 0 && tmp[0] != '-') buf[o++] = ',';
    }
    buf[o] = '\0';
    return buf;
}

static int bp_cmd_summary(const char *file)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        fprintf(stderr, "bench_persist: %s: %s\n", file, strerror(errno));
        return 1;
    }
    bp_results r = {0};
    char line[512];
    while (fgets(line, sizeof(line), f) && r.n < BP_MAX_RESULTS) {
        char name[64];
        double v;
        if (sscanf(line, "RESULT %63s %lf", name, &v) == 2) {
            memcpy(r.name[r.n], name, sizeof(name));
            r.value[r.n++] = v;
        }
    }
    fclose(f);

    char m[160], a[32], b[32];
    double rows = bp_get(&r, "rows"), dim = bp_get(&r, "dim");
    double raw = rows > 0 && dim > 0 ? rows * dim * 4 : -1;
    bp_row("figure", "measured", "goal", "met");

    size_t nno, cnt;
    double no = bp_median(&r, "load_no_rate", &nno);
    static const char *const modes[] = {"no", "everysec", "always"};
    for (size_t i = 0; i < 3; i++) {
        char name[64], what[64];
        snprintf(name, sizeof(name), "load_%s_rate", modes[i]);
        snprintf(what, sizeof(what), "load rate, %s%s", i == 0 ? "appendonly " : "appendfsync ",
                 modes[i]);
        double v = bp_median(&r, name, &cnt);
        snprintf(name, sizeof(name), "load_%s_s", modes[i]);
        double s = bp_median(&r, name, &cnt);
        if (v < 0) {
            bp_row(what, "not measured", i == 1 ? ">= 0.90x" : "-", "-");
            continue;
        }
        char runs[48];
        if (cnt > 1)
            snprintf(runs, sizeof(runs), "median of %zu runs, %.1f s", cnt, s);
        else
            snprintf(runs, sizeof(runs), "%.1f s", s);
        if (i == 0 || no <= 0)
            snprintf(m, sizeof(m), "%s/s acked (%s)", bp_commas(a, sizeof(a), v), runs);
        else
            snprintf(m, sizeof(m), "%s/s acked = %.2fx no (%s)", bp_commas(a, sizeof(a), v),
                     v / no, runs);
        bp_row(what, m, i == 1 ? ">= 0.90x" : "-",
               i == 1 && no > 0 ? (v / no >= 0.9 ? "yes" : "NO") : "");
    }
    /* The same round's runs side by side (one machine state), when repeated. */
    double nov[BP_MAX_RESULTS], evs[BP_MAX_RESULTS];
    size_t nn = 0, ne = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (strcmp(r.name[i], "load_no_rate") == 0) nov[nn++] = r.value[i];
        if (strcmp(r.name[i], "load_everysec_rate") == 0) evs[ne++] = r.value[i];
    }
    if (nn > 1 && ne == nn) {
        char list[160];
        size_t off = 0;
        for (size_t i = 0; i < nn && off + 8 < sizeof(list); i++)
            off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%.2fx", i ? " " : "",
                                    nov[i] > 0 ? evs[i] / nov[i] : 0);
        bp_row("  everysec / no, run by run", list, "", "");
    }
    double idx = bp_get(&r, "load_everysec_indexed_s");
    if (idx > 0) {
        snprintf(m, sizeof(m), "%.1f s after the first VADD (%s rows/s)", idx,
                 bp_commas(a, sizeof(a), rows / idx));
        bp_row("  everysec (last run): all rows indexed", m, "-", "");
    }
    double save_ok = bp_get(&r, "save_ok"), save_s = bp_get(&r, "save_s");
    if (save_ok == 1)
        snprintf(m, sizeof(m), "+OK in %.2f s", save_s);
    else
        snprintf(m, sizeof(m), "%s", save_ok == 0 ? "failed (no checkpoint: log only)" : "-");
    bp_row("SAVE after indexing (checkpoint)", m, "-", "");
    static const char *const disk[] = {"disk_bytes", "disk_settled_bytes"};
    static const char *const disk_what[] = {"on-disk (du -sb dir) right after SAVE",
                                            "on-disk (du -sb dir) once settled"};
    for (size_t i = 0; i < 2; i++) {
        double d = bp_get(&r, disk[i]);
        if (d < 0 || raw <= 0) continue;
        snprintf(m, sizeof(m), "%s B = %.2fx raw %s B", bp_commas(a, sizeof(a), d), d / raw,
                 bp_commas(b, sizeof(b), raw));
        bp_row(disk_what[i], m, "<= 1.30x", d / raw <= 1.3 ? "yes" : "NO");
    }
    double ck = bp_get(&r, "checkpoint_last_bytes");
    if (ck > 0 && raw > 0) {
        snprintf(m, sizeof(m), "%s B = %.2fx raw (INFO checkpoint_last_bytes)",
                 bp_commas(a, sizeof(a), ck), ck / raw);
        bp_row("  bytes the last checkpoint wrote", m, "", "");
    }
    static const char *const fams[] = {"data", "index", "log", "meta"};
    if (bp_get(&r, "rocksdb_data_live_bytes") >= 0 && raw > 0) {
        char list[160];
        size_t off = 0;
        for (size_t i = 0; i < 4 && off + 8 < sizeof(list); i++) {
            char name[64];
            snprintf(name, sizeof(name), "rocksdb_%s_live_bytes", fams[i]);
            double v = bp_get(&r, name);
            off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s %.2fx", i ? ", " : "",
                                    fams[i], v / raw);
        }
        bp_row("  live per family / raw (RocksDB estimate)", list, "", "");
        double state = 0;
        for (size_t i = 0; i < 4; i++) {
            char name[64];
            snprintf(name, sizeof(name), "rocksdb_%s_live_bytes", fams[i]);
            if (strcmp(fams[i], "log") != 0 && bp_get(&r, name) > 0) state += bp_get(&r, name);
        }
        snprintf(m, sizeof(m), "%s B = %.2fx raw (data + index + meta, live)",
                 bp_commas(a, sizeof(a), state), state / raw);
        bp_row("  checkpointed state without the log", m, "", "");
    }
    double sh = bp_get(&r, "shutdown_s");
    if (sh >= 0) {
        snprintf(m, sizeof(m), "%.2f s", sh);
        bp_row("clean SHUTDOWN (checkpoint) took", m, "-", "");
    }
    static const char *const how[] = {"clean", "kill9"};
    static const char *const how_what[] = {"clean restart", "kill -9 restart"};
    for (size_t i = 0; i < 2; i++) {
        char name[64], what[96];
        snprintf(name, sizeof(name), "%s_vsim_s", how[i]);
        double v = bp_get(&r, name);
        snprintf(name, sizeof(name), "%s_loading0_s", how[i]);
        double l0 = bp_get(&r, name);
        snprintf(name, sizeof(name), "%s_connect_s", how[i]);
        double cn = bp_get(&r, name);
        snprintf(what, sizeof(what), "%s: first VSIM", how_what[i]);
        if (v < 0) {
            bp_row(what, cn >= 0 ? "never (see above)" : "not measured", "<= 5 s", "NO");
        } else {
            snprintf(m, sizeof(m), "%.3f s after exec (loading:0 %.3f s, connect %.3f s)", v, l0,
                     cn);
            bp_row(what, m, "<= 5 s", v <= 5 ? "yes" : "NO");
        }
        snprintf(name, sizeof(name), "%s_indexed_s", how[i]);
        double ix = bp_get(&r, name);
        snprintf(what, sizeof(what), "  %s: all rows indexed", how_what[i]);
        if (ix > 0) {
            snprintf(m, sizeof(m), "%.1f s after exec", ix);
            bp_row(what, m, "-", "");
        }
    }
    printf("(speed never fails the run; see the lines above for how each figure was taken)\n");
    return 0;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    if (argc < 2) {
        bp_usage();
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "summary") == 0) {
        if (argc != 3) {
            bp_usage();
            return 2;
        }
        return bp_cmd_summary(argv[2]);
    }
    bp_opts o = {.host = "127.0.0.1",
                 .key = "synth",
                 .source = "base",
                 .quant = "default",
                 .conns = 2,
                 .depth = 256,
                 .timeout = 3600,
                 .since = -1};
    if (bp_parse(argc, argv, 2, &o) != 0 || o.port <= 0) {
        bp_usage();
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(cmd, "load") == 0) {
        if (!o.data || o.rows == 0 || o.conns < 1 || o.conns > BP_MAX_CONNS || o.depth < 1) {
            bp_usage();
            return 2;
        }
        return bp_cmd_load(&o);
    }
    if (strcmp(cmd, "wait-indexed") == 0) return bp_cmd_wait_indexed(&o);
    if (strcmp(cmd, "save") == 0) return bp_cmd_save(&o);
    if (strcmp(cmd, "first-vsim") == 0) {
        if (!o.data || o.since < 0) {
            bp_usage();
            return 2;
        }
        return bp_cmd_first_vsim(&o);
    }
    bp_usage();
    return 2;
}
