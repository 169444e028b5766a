/*
 * workers.c -- worker pool and completion queue (see workers.h).
 *
 * One mutex + condition variable guards the FIFO of pending jobs; a second
 * mutex guards the completion list. A worker that finishes a job appends it
 * to the completion list and, when the list was empty, writes to an eventfd
 * the main loop watches, so a burst of completions costs one wake-up. The
 * main thread drains the whole list per wake-up, in completion order.
 *
 * Two queues: client jobs (searches, DEBUG WORKER-SLEEP) and background
 * jobs (index catch-up, frees). A worker takes a client job first; it takes
 * a background job only while fewer than nthreads - 1 workers run one, so
 * a long index build never leaves searches without a thread -- unless the
 * pool has had no client job for WORKERS_IDLE_US: then every thread may
 * take one (a bulk load indexes on every core), and a search that arrives
 * meanwhile waits for at most one background job (a bounded batch, ~20 ms).
 * The quiet period keeps that wait away from clients that search steadily
 * with gaps between their requests.
 *
 * Rejected: separate low-priority index threads beside the search threads.
 * Measured on 2 cores (fashion-mnist, 1000 VADD/s while 2 clients search):
 * search p99 went from 2.2x to 3.6x its idle value and VADD p99 from 0.6 to
 * 2.3 ms, because the event loop then shares the cores with two busy search
 * threads instead of one (the index job occupying the other).
 *
 * A background job runs at a low priority (raised back after it): SCHED_IDLE
 * for the trickle of a steady write load (JOB_BG_IDLE), nice
 * WORKERS_BG_NICE for work that must not starve (JOB_BG_NICE: a large
 * index backlog, frees). So on a busy machine the CPU goes first to the
 * event loop, the log thread and searches, and index builds catch up in
 * the gaps: acknowledged writes do not wait for indexing. Measured on 2
 * cores (fashion-mnist, 2 clients searching while 1,000 VADD/s arrive):
 * search p99 1.8-2.0x its idle value at SCHED_IDLE against 2.0-2.3x at
 * nice 10, and 25% more searches per second. Only when the
 * process may raise a priority back (root, or RLIMIT_NICE) -- otherwise a
 * thread niced once would stay slow for the searches it runs next -- which
 * each thread checks once at start.
 *
 * Rejected: libevent's event_active() from worker threads. It requires
 * evthread_use_pthreads(), which puts a lock around every event operation
 * of the main loop for the benefit of a rare cross-thread call; an eventfd
 * costs nothing when idle.
 */
#include "workers.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "util.h"

struct worker_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    job *head, *tail;   /* pending client jobs */
    job *bhead, *btail; /* pending background jobs */
    int brunning;       /* background jobs running */
    int stopping;

    pthread_mutex_t done_lock;
    job *done_head, *done_tail;
    int efd;
    struct event *ev;

    int nthreads;
    pthread_t *threads;
    _Atomic long long queued, running; /* client jobs */
    _Atomic long long done_total;      /* client jobs */
    _Atomic long long last_client_us;  /* when the last client job was submitted */
};

void job_init(job *j, const job_type *type, struct client *owner, int proto)
{
    j->type = type;
    j->next = NULL;
    j->owner = owner;
    resp_buf_init(&j->reply, proto);
    j->submitted_us = j->started_us = j->finished_us = 0;
}

#define WORKERS_BG_NICE 10 /* about 1/10 of a CPU against a nice-0 thread */
/* No client job for this long: background jobs may use every thread. A
 * client searching in a loop submits far more often (sub-millisecond). */
#define WORKERS_IDLE_US 50000

/* How many background jobs may run now (p->lock held): all but one
 * thread, or every thread once no client job came for WORKERS_IDLE_US. */
static int bg_limit(worker_pool *p)
{
    if (!p->head && atomic_load(&p->running) == 0 &&
        util_monotonic_us() - atomic_load(&p->last_client_us) > WORKERS_IDLE_US)
        return p->nthreads;
    return p->nthreads > 1 ? p->nthreads - 1 : 1;
}

/* 1 when this thread can lower its priority and raise it back. */
static int renice_probe(void)
{
    pid_t tid = gettid();
    if (setpriority(PRIO_PROCESS, (id_t)tid, 1) != 0) return 0;
    return setpriority(PRIO_PROCESS, (id_t)tid, 0) == 0;
}

/* A background job runs at SCHED_IDLE (JOB_BG_IDLE: it gets a CPU only
 * when nothing else wants one) or at nice WORKERS_BG_NICE (JOB_BG_NICE:
 * about a tenth of a CPU against busy threads, so it cannot starve). */
static void bg_priority_lower(pid_t tid, int kind)
{
    if (kind == JOB_BG_IDLE) {
        struct sched_param sp = {0};
        if (sched_setscheduler(tid, SCHED_IDLE, &sp) == 0) return;
    }
    setpriority(PRIO_PROCESS, (id_t)tid, WORKERS_BG_NICE);
}

static void bg_priority_restore(pid_t tid, int kind)
{
    if (kind == JOB_BG_IDLE) {
        struct sched_param sp = {0};
        sched_setscheduler(tid, SCHED_OTHER, &sp);
    }
    setpriority(PRIO_PROCESS, (id_t)tid, 0);
}

static void *worker_main(void *arg)
{
    worker_pool *p = arg;
    int renice = renice_probe();
    pid_t tid = gettid();
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->head && !(p->bhead && p->brunning < bg_limit(p)) && !p->stopping)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->stopping) {
            pthread_mutex_unlock(&p->lock);
            return NULL;
        }
        job *j;
        int bg = 0;
        if (p->head) {
            j = p->head;
            p->head = j->next;
            if (!p->head) p->tail = NULL;
        } else {
            j = p->bhead;
            p->bhead = j->next;
            if (!p->bhead) p->btail = NULL;
            p->brunning++;
            bg = 1;
        }
        if (!bg) {
            atomic_fetch_sub(&p->queued, 1);
            atomic_fetch_add(&p->running, 1);
        }
        pthread_mutex_unlock(&p->lock);

        j->next = NULL;
        if (bg && renice) bg_priority_lower(tid, j->type->background);
        j->started_us = util_monotonic_us();
        j->type->run(j);
        j->finished_us = util_monotonic_us();
        if (bg && renice) bg_priority_restore(tid, j->type->background);
        if (bg) {
            pthread_mutex_lock(&p->lock);
            p->brunning--;
            if (p->bhead) pthread_cond_signal(&p->cond); /* a waiting worker may take it */
            pthread_mutex_unlock(&p->lock);
        }

        pthread_mutex_lock(&p->done_lock);
        int was_empty = p->done_head == NULL;
        if (p->done_tail)
            p->done_tail->next = j;
        else
            p->done_head = j;
        p->done_tail = j;
        if (!bg) {
            atomic_fetch_sub(&p->running, 1);
            atomic_fetch_add(&p->done_total, 1);
        }
        pthread_mutex_unlock(&p->done_lock);
        if (was_empty) {
            uint64_t one = 1;
            ssize_t w = write(p->efd, &one, sizeof(one));
            (void)w; /* the counter only saturates; a failed write means a wake-up is pending */
        }
    }
}

static void deliver_completions(worker_pool *p)
{
    pthread_mutex_lock(&p->done_lock);
    job *j = p->done_head;
    p->done_head = p->done_tail = NULL;
    pthread_mutex_unlock(&p->done_lock);
    while (j) {
        job *next = j->next;
        j->next = NULL;
        j->type->complete(j);
        j->type->free(j);
        j = next;
    }
}

static void on_completion(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof(v));
    (void)r;
    deliver_completions(arg);
}

worker_pool *workers_start(struct event_base *base, int n)
{
    worker_pool *p = xcalloc(1, sizeof(*p));
    if (n < 1) n = 1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    pthread_mutex_init(&p->done_lock, NULL);
    p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->efd < 0) {
        log_warning("eventfd: %s", strerror(errno));
        abort();
    }
    p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, on_completion, p);
    event_add(p->ev, NULL);
    p->nthreads = n;
    p->threads = xcalloc((size_t)n, sizeof(pthread_t));
    for (int i = 0; i < n; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) {
            log_warning("Can't create worker thread: %s", strerror(errno));
            abort();
        }
    }
    return p;
}

void workers_stop(worker_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    deliver_completions(p);
    /* Jobs never started: client jobs are dropped (their clients are gone),
     * engine housekeeping (freeing memory) runs here so nothing leaks. */
    for (int q = 0; q < 2; q++) {
        for (job *j = q ? p->bhead : p->head; j;) {
            job *next = j->next;
            j->owner = NULL;
            if (j->type->run_at_shutdown) {
                j->type->run(j);
                j->type->complete(j);
            }
            j->type->free(j);
            j = next;
        }
    }
    event_free(p->ev);
    close(p->efd);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->done_lock);
    xfree(p->threads);
    xfree(p);
}

void workers_submit(worker_pool *p, job *j)
{
    j->next = NULL;
    j->submitted_us = util_monotonic_us();
    pthread_mutex_lock(&p->lock);
    job **head = j->type->background ? &p->bhead : &p->head;
    job **tail = j->type->background ? &p->btail : &p->tail;
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
    if (!j->type->background) {
        atomic_fetch_add(&p->queued, 1);
        atomic_store(&p->last_client_us, j->submitted_us);
    }
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

int workers_count(const worker_pool *p)
{
    return p ? p->nthreads : 0;
}

long long workers_queued(const worker_pool *p)
{
    return p ? atomic_load(&((worker_pool *)p)->queued) : 0;
}

long long workers_running(const worker_pool *p)
{
    return p ? atomic_load(&((worker_pool *)p)->running) : 0;
}

long long workers_done_total(const worker_pool *p)
{
    return p ? atomic_load(&((worker_pool *)p)->done_total) : 0;
}
