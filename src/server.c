/*
 * server.c -- process life cycle: defaults, start-up (listeners, workers,
 * cron, signals), the event loop and shutdown.
 *
 * The loop is libevent's, run one turn at a time
 * (event_base_loop(EVLOOP_ONCE)) so that after every turn -- all the reads,
 * accepts, timers and worker completions that were ready -- the server runs
 * its "before sleep" step: the group commit of the turn's mutation
 * records (persist.c), then the flush of every pending reply, so no reply
 * acknowledges a write that is not in the log. That is what lets a
 * pipeline of N requests cost one read and one write.
 *
 * Everything here runs on the main thread.
 *
 * Rejected: polling (non-blocking turns) for a while after a turn that read
 * something, before blocking in epoll again. It saves the wake-up of the
 * next burst (+10% PING -P 16 in redis-benchmark) but burns the CPU that
 * the search and index threads need on a small machine (+30% loop CPU for
 * a one-client ping-pong).
 */
#include "server.h"

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "alloc.h"
#include "commands.h"
#include "config.h"
#include "dict.h"
#include "engine/engine.h"
#include "log.h"
#include "networking.h"
#include "persist.h"
#include "util.h"
#include "workers.h"

server srv;

/* ------------------------------------------------- engine background work */

typedef struct bg_job {
    job base;
    void (*fn)(void *arg);
    void (*done)(void *arg);
    void *arg;
} bg_job;

static int bg_inline; /* shutting down: run engine work on the main thread */

static void bg_run(job *j)
{
    bg_job *b = (bg_job *)j;
    b->fn(b->arg);
}

static void bg_complete(job *j)
{
    bg_job *b = (bg_job *)j;
    b->done(b->arg);
}

static void bg_free(job *j)
{
    resp_buf_free(&j->reply);
    xfree(j);
}

static const job_type bg_job_type = {"engine", bg_run, bg_complete, bg_free, 1, JOB_BG_NICE, NULL};
static const job_type bg_idle_job_type = {"engine", bg_run, bg_complete, bg_free, 1, JOB_BG_IDLE,
                                          NULL};

static void engine_run_background(void (*fn)(void *), void (*done)(void *), void *arg, int idle)
{
    if (bg_inline || !srv.workers) {
        fn(arg);
        done(arg);
        return;
    }
    bg_job *b = xcalloc(1, sizeof(*b));
    job_init(&b->base, idle ? &bg_idle_job_type : &bg_job_type, NULL, 2);
    b->fn = fn;
    b->done = done;
    b->arg = arg;
    workers_submit(srv.workers, &b->base);
}

void server_init_defaults(void)
{
    static int initialised;
    if (initialised) config_free_values(); /* tests re-initialise */
    initialised = 1;
    memset(&srv, 0, sizeof(srv));
    config_init();
    srv.pid = getpid();
    srv.start_time = time(NULL);
    srv.next_client_id = 1;
    for (int i = 0; i < MAX_BIND_ADDRS + 1; i++) srv.listen_fds[i] = -1;
    util_random_hex(srv.run_id, 40);
}

size_t server_update_memory_stats(void)
{
    size_t used = alloc_used_memory_now();
    if (used > srv.used_memory_peak) srv.used_memory_peak = used;
    return used;
}

static void cron_cb(evutil_socket_t fd, short what, void *arg)
{
    static long long last_second_ms;
    long long now = util_mstime();
    (void)fd;
    (void)what;
    (void)arg;

    /* instantaneous_ops_per_sec: commands per second over the last tick. */
    if (srv.stats.ops_last_ms) {
        long long dt = now - srv.stats.ops_last_ms;
        long long dc = srv.stats.commands_processed - srv.stats.ops_last_count;
        srv.stats.ops_samples[srv.stats.ops_idx] = dt > 0 ? dc * 1000 / dt : 0;
        srv.stats.ops_idx = (srv.stats.ops_idx + 1) % 16;
    }
    srv.stats.ops_last_ms = now;
    srv.stats.ops_last_count = srv.stats.commands_processed;

    server_update_memory_stats();
    persist_cron();
    if (now - last_second_ms >= 1000) {
        last_second_ms = now;
        net_cron();
    }
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    (void)arg;
    if (srv.shutdown_asap && sig == SIGINT) {
        log_warning("You insist... exiting now.");
        exit(1);
    }
    log_warning("Received %s scheduling shutdown...", sig == SIGINT ? "SIGINT" : "SIGTERM");
    server_shutdown_request(0);
}

static void write_pidfile(void)
{
    const char *path = srv.pidfile && srv.pidfile[0] ? srv.pidfile : NULL;
    if (!path && srv.daemonize) path = "/var/run/vectis.pid";
    if (!path) return;
    FILE *f = fopen(path, "w");
    if (!f) {
        log_warning("Failed to write PID file: %s", strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

static void remove_pidfile(void)
{
    const char *path = srv.pidfile && srv.pidfile[0] ? srv.pidfile : NULL;
    if (!path && srv.daemonize) path = "/var/run/vectis.pid";
    if (path) unlink(path);
}

int server_start(void)
{
    struct timeval tv;
    int nthreads = srv.search_threads;

    signal(SIGPIPE, SIG_IGN);
    srv.base = event_base_new();
    if (!srv.base) {
        log_warning("Can't create the event loop");
        return -1;
    }
    srv.clients_by_id = dict_new();
    commands_init();

    if (nthreads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = n > 0 ? (int)n : 1;
    }
    srv.workers = workers_start(srv.base, nthreads);
    engine_hooks hooks = {engine_run_background, persist_checkpoint_wanted, (unsigned)nthreads};
    engine_init(&hooks);
    if (net_listen() != 0) return -1;

    srv.cron_event = event_new(srv.base, -1, EV_PERSIST, cron_cb, NULL);
    tv.tv_sec = 0;
    tv.tv_usec = 1000000 / (srv.hz > 0 ? srv.hz : 10);
    event_add(srv.cron_event, &tv);

    srv.signal_events[0] = evsignal_new(srv.base, SIGTERM, signal_cb, NULL);
    srv.signal_events[1] = evsignal_new(srv.base, SIGINT, signal_cb, NULL);
    event_add(srv.signal_events[0], NULL);
    event_add(srv.signal_events[1], NULL);

    write_pidfile();
    log_notice("Server initialized, %d worker threads", nthreads);
    /* Clients may connect while the database loads: they get -LOADING. */
    int rc = persist_start();
    if (rc < 0) return -1;
    if (rc > 0) return 0; /* shutdown requested while loading */
    if (srv.tcp_listen_count) log_notice("Ready to accept connections tcp");
    if (srv.unixsocket && srv.unixsocket[0]) log_notice("Ready to accept connections unix");
    return 0;
}

void server_run(void)
{
    while (!srv.shutdown_asap) {
        event_base_loop(srv.base, EVLOOP_ONCE);
        persist_commit();
        net_before_sleep();
    }
}

void server_loading_yield(void)
{
    event_base_loop(srv.base, EVLOOP_NONBLOCK);
    net_before_sleep();
}

void server_shutdown_request(int exit_code)
{
    srv.shutdown_asap = 1;
    srv.shutdown_exit_code = exit_code;
    event_base_loopbreak(srv.base);
}

int server_prepare_shutdown(int flags)
{
    srv.shutdown_save = (flags & SHUTDOWN_SAVE) ? 1 : (flags & SHUTDOWN_NOSAVE) ? -1 : 0;
    return 0;
}

void server_exit_cleanup(void)
{
    log_warning("vectis is now ready to exit, bye bye...");
    remove_pidfile();
    persist_commit();
    net_before_sleep(); /* last replies (e.g. to QUIT) */
    net_close_listeners();
    /* Clients first: that detaches the jobs they wait for (job->owner), so
     * stopping the pool completes those jobs into the void. */
    net_free_all_clients();
    /* A final checkpoint makes the next start-up quick; the log alone
     * would do (SHUTDOWN NOSAVE skips it, as it skips Redis's RDB). Not
     * after a shutdown during loading: the state is partial. */
    persist_stop(!srv.loading && (srv.shutdown_save > 0 || (srv.shutdown_save == 0 && srv.save &&
                                                              srv.save[0])));
    engine_shutdown();
    bg_inline = 1;
    workers_stop(srv.workers);
    srv.workers = NULL;
    for (int i = 0; i < 2; i++)
        if (srv.signal_events[i]) event_free(srv.signal_events[i]);
    if (srv.cron_event) event_free(srv.cron_event);
    event_base_free(srv.base);
    srv.base = NULL;
    dict_free(srv.clients_by_id);
    commands_free();
    slowlog_free_all();
    config_free_values();
    xfree(srv.config_file);
    xfree(srv.executable);
}
