/*
 * client.h -- a connected client and the functions commands use to reply.
 *
 * A client is created by networking.c when a connection is accepted and
 * freed by it (client_free or, when that is unsafe because the client is
 * running a command, client_close_async). All of it belongs to the main
 * thread. While a command of the client runs on a worker (`job` set), the
 * client is paused: its later pipelined commands stay in the query buffer,
 * so replies keep their order.
 */
#ifndef VECTIS_CLIENT_H
#define VECTIS_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "resp/resp.h"

struct event;
struct command;
struct job;

/* client flags */
#define CLIENT_CLOSE_AFTER_REPLY (1u << 0) /* QUIT, protocol error: close once written */
#define CLIENT_CLOSE_ASAP        (1u << 1) /* killed: close at the next safe point */
#define CLIENT_BLOCKED           (1u << 2) /* waiting for a worker job */
#define CLIENT_MONITOR           (1u << 3)
#define CLIENT_AUTHENTICATED     (1u << 4)
#define CLIENT_UNIX_SOCKET       (1u << 5)
#define CLIENT_PENDING_WRITE     (1u << 6) /* on srv.pending_write_head */
#define CLIENT_NO_EVICT          (1u << 7)
#define CLIENT_NO_TOUCH          (1u << 8)
#define CLIENT_READONLY          (1u << 9)
#define CLIENT_IN_CALL           (1u << 10) /* inside process_input: free later */
#define CLIENT_WRITE_EV          (1u << 11) /* write event armed */

typedef struct client {
    uint64_t id;
    int fd;
    unsigned flags;
    int proto; /* 2 or 3 */
    struct event *rev, *wev;
    resp_parser *parser;
    resp_buf out;
    char *name, *lib_name, *lib_ver;
    char addr[64];  /* "ip:port" or "/path:0" */
    char laddr[64];
    time_t ctime;
    long long last_interaction_ms; /* for `timeout` and CLIENT LIST idle */
    long long obuf_soft_since_ms;  /* 0 when under the soft limit */
    size_t obuf_peak;
    const struct command *last_cmd;
    const struct command *last_top; /* top-level command of last_cmd (lookup cache) */
    struct job *job; /* running on a worker, or NULL */
    struct job *batch; /* being collected (client_batch_begin), or NULL */
    int batch_n;       /* commands in it */
    int read_full;     /* the last read(2) filled the space it was given */
    resp_buf batch_out; /* the real reply buffer while out collects the batch's */
    long long cmd_start_us;
    int argc_now; /* argc of the command being executed, for CLIENT LIST */
    struct client *prev, *next;     /* srv.clients_head */
    struct client *mon_prev, *mon_next;
    struct client *pw_prev, *pw_next; /* srv.pending_write_head */
} client;

/* Replies: handlers append to c->out through these or through resp_add_*
 * on &c->out directly. Errors MUST go through reply_error*, which counts
 * them for INFO errorstats and commandstats' failed_calls. */
void reply_error(client *c, const char *msg);
void reply_errorf(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_ok(client *c);
/* The standard argument errors. */
void reply_syntax_error(client *c);               /* ERR syntax error */
void reply_not_integer(client *c);                 /* ERR value is not an integer ... */
void reply_unknown_subcommand(client *c, const char *sub, const char *cmd);
void reply_wrong_arity(client *c, const char *cmd);
/* "CMD <subcommand> ..." help: lines (NULL-terminated) plus the HELP entry. */
void reply_help(client *c, const char *cmd, const char *const *lines);

/* Pauses c until job j completes; the job's reply is appended then. */
void client_block_on_job(client *c, struct job *j);
/* The same without queueing j (its completion is driven by other jobs). */
void client_block(client *c, struct job *j);
/* The standard `complete` step of a job run for a client: appends the
 * job's reply, unblocks the client and runs its waiting commands. */
void client_job_done(struct job *j);

/* Batches: the pipelined commands of one kind (VSIM) share one worker job
 * and one hand-off. A handler whose work goes to a worker starts a batch
 * when client_next_is() says the next buffered command is of the same
 * kind, or joins the one being collected; meanwhile c->out is a side
 * buffer that keeps, in order, whatever the batch's commands reply on the
 * spot (errors, inline results), and client_batch_mark() is where the
 * job's result for the command goes in it. client_process_input submits
 * the batch (client_batch_submit: the side buffer becomes the job's
 * `reply`, c->out is restored, the client blocks on the job) as soon as the
 * next command is of another kind, incomplete, or the batch is full. The
 * job's run step weaves its results into that reply at the marks, so the
 * standard client_job_done completes it. */
#define CLIENT_BATCH_MAX 16 /* commands per batch: a job of ~1 ms of searches */
/* A batch that runs out of buffered input while the socket probably holds
 * more (the last read filled all it asked for) reads again before it is
 * submitted: a pipeline of 16 VSIMs of 3 KB spans several 16 KB reads,
 * and submitting at each read's end made 3-4 small batches, each waiting
 * for the one before (measured: a third of the CPU idle at EF 10). */
int client_next_is(const client *c, const char *name);
void client_batch_begin(client *c, struct job *j);
size_t client_batch_mark(client *c); /* counts the command in the batch */
void client_batch_submit(client *c);

/* Networking entry points used by commands. */
void client_set_authenticated(client *c, int yes);
void client_close_async(client *c);
client *client_lookup_id(uint64_t id);
/* One CLIENT LIST / CLIENT INFO line, without the newline. */
size_t client_format_info(const client *c, char *buf, size_t size);
const char *client_type_name(const client *c);

#endif
