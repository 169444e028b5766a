/*
 * commands.h -- the command table and the dispatcher.
 *
 * Every command is one entry: name, handler, arity (Redis rule: n means
 * exactly n arguments including the name, -n at least n), flags, key
 * positions, group, summary and an argument synopsis used for COMMAND
 * DOCS. Container commands (CLIENT, CONFIG, COMMAND, SLOWLOG, DEBUG) list
 * their subcommands as entries of their own, dispatched and arity-checked
 * centrally like Redis 7 ("client|setname"). Checks that apply to every
 * command (unknown name, arity, authentication, memory, loading) happen in
 * command_process() before any handler runs, so handlers only validate
 * their own arguments. Main thread only.
 */
#ifndef VECTIS_COMMANDS_H
#define VECTIS_COMMANDS_H

#include <stddef.h>

#include "client.h"

typedef void cmd_proc(client *c, int argc, char **argv, size_t *lens);

/* Flags (names as COMMAND INFO prints them). */
#define CMD_WRITE        (1u << 0)  /* write */
#define CMD_READONLY     (1u << 1)  /* readonly */
#define CMD_DENYOOM      (1u << 2)  /* denyoom: refused above maxmemory */
#define CMD_ADMIN        (1u << 3)  /* admin: hidden from MONITOR */
#define CMD_PUBSUB       (1u << 4)
#define CMD_NOSCRIPT     (1u << 5)
#define CMD_BLOCKING     (1u << 6)  /* blocking: may hand off to a worker */
#define CMD_LOADING      (1u << 7)  /* loading: allowed while loading */
#define CMD_STALE        (1u << 8)  /* stale: allowed on a stale replica */
#define CMD_SKIP_MONITOR (1u << 9)
#define CMD_SKIP_SLOWLOG (1u << 10)
#define CMD_FAST         (1u << 11)
#define CMD_NO_AUTH      (1u << 12) /* no_auth: allowed before AUTH */
#define CMD_SENTINEL     (1u << 13)
#define CMD_MODULE       (1u << 14) /* module: a Redis 8 vector-set command */

typedef struct command {
    const char *name; /* lower case; for subcommands the subcommand alone */
    cmd_proc *proc;
    int arity;
    unsigned flags;
    int first_key, last_key, key_step;
    const char *group;
    const char *since;
    const char *summary;
    const char *complexity;
    const char *args; /* synopsis for COMMAND DOCS, see cmd_command.c: "key [COUNT count=integer]" */
    struct command *subcommands; /* terminated by an entry with name NULL */

    /* filled at start-up / run time */
    struct command *parent;
    char fullname[64]; /* "client|setname" */
    long long calls, usec, rejected_calls, failed_calls;
} command;

void commands_init(void);
void commands_free(void);

/* Executes one request for c (runs on the main thread, between reads).
 * Returns 0, or -1 when the client must not run more commands now (it was
 * blocked on a worker, or is closing). */
int command_process(client *c, int argc, char **argv, size_t *lens);

command *command_lookup(const char *name, size_t len);
/* Every top-level command, in table order. */
command *command_table(size_t *count);

/* Statistics. */
void commands_reset_stats(void);
void commands_count_error(const char *msg); /* by the first word of the error */
/* Calls cb for each error code with its count. */
void commands_errorstats(void (*cb)(void *ctx, const char *code, long long n), void *ctx);

/* Completes the accounting of a command that ran on a worker. */
void command_account_job(client *c, long long usec);

/* Slowlog (slowlog.c) and MONITOR feed (networking.c). */
void slowlog_push(client *c, int argc, char **argv, size_t *lens, long long duration_us);
void slowlog_free_all(void);
void monitor_feed(client *c, int argc, char **argv, size_t *lens);

#endif
