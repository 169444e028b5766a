/*
 * workers.h -- a fixed pool of worker threads that run typed jobs off the
 * event loop, and a completion queue that wakes the loop.
 *
 * A job is a struct that embeds `job` as its first member and points at a
 * static job_type describing it (no untyped void * bags cross threads):
 *
 *     struct sleep_job { job base; double seconds; };
 *     static const job_type sleep_type = {"debug-sleep", sleep_run, sleep_done, sleep_free};
 *
 * Life of a job: the main thread fills it and calls workers_submit(); a
 * worker calls type->run(j) (it may read the job's inputs and write its
 * outputs, nothing shared without its own locking); the worker queues it for
 * completion; the main thread calls type->complete(j) and then
 * type->free(j), both on the main thread, in completion order.
 *
 * `owner` is for the main thread only (the client waiting for the job, or
 * NULL when that client went away); workers never touch it.
 */
#ifndef VECTIS_WORKERS_H
#define VECTIS_WORKERS_H

#include <stdint.h>

#include "resp/resp.h"

struct event_base;
struct client;

typedef struct job job;

enum { JOB_BG_NICE = 1, JOB_BG_IDLE = 2 };

typedef struct job_type {
    const char *name;
    void (*run)(job *j);      /* worker thread */
    void (*complete)(job *j); /* main thread */
    void (*free)(job *j);     /* main thread; frees the whole embedding struct */
    int run_at_shutdown;      /* a job still queued at shutdown is run (inline) */
    int background;           /* housekeeping (index builds, frees): queued apart,
                                 run after client jobs at a low priority:
                                 JOB_BG_NICE or JOB_BG_IDLE (0: a client job) */
    const char *batch_cmd;    /* a batch of this command's calls (client.h), or NULL */
} job_type;

struct job {
    const job_type *type;
    job *next;               /* queue link, owned by the pool */
    struct client *owner;    /* main thread only */
    resp_buf reply;          /* reply built by run(), in the owner's protocol */
    long long submitted_us;  /* monotonic */
    long long started_us;
    long long finished_us;
};

typedef struct worker_pool worker_pool;

/* Starts n threads (n >= 1). Completions are delivered on `base`. */
worker_pool *workers_start(struct event_base *base, int n);
/* Stops the threads after their current job; jobs never started are freed
 * without running. Completed-but-undelivered jobs are completed first. */
void workers_stop(worker_pool *p);

/* Main thread. The pool owns j until it calls type->free(j). */
void workers_submit(worker_pool *p, job *j);

int workers_count(const worker_pool *p);
long long workers_queued(const worker_pool *p);  /* client jobs */
long long workers_running(const worker_pool *p); /* client jobs */
long long workers_done_total(const worker_pool *p); /* client jobs */

/* Initialises the common part of a job. */
void job_init(job *j, const job_type *type, struct client *owner, int proto);

#endif
