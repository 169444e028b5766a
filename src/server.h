/*
 * server.h -- the process-wide state of vectis: configuration values, the
 * event loop, listeners, the client list and statistics. One instance,
 * `server`, owned by the main thread. Worker threads never read it except
 * the fields documented as atomic.
 *
 * Modules that need the event base, the config values or the stats include
 * this header; it deliberately declares no client or command internals
 * (those are in client.h and commands.h).
 */
#ifndef VECTIS_SERVER_H
#define VECTIS_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define VECTIS_VERSION "0.1.0"
/* The Redis version we report to clients and tools (redis_version, HELLO):
 * the vector-set commands are Redis 8's. */
#define VECTIS_REDIS_COMPAT_VERSION "8.0.0"

#define MAX_BIND_ADDRS 16

struct event_base;
struct event;
struct client;
struct dict;
struct worker_pool;

/* client-output-buffer-limit for one class of clients. */
typedef struct obuf_limit {
    long long hard_bytes;  /* 0 = none */
    long long soft_bytes;  /* 0 = none */
    long long soft_seconds;
} obuf_limit;

enum { OBUF_NORMAL = 0, OBUF_REPLICA = 1, OBUF_PUBSUB = 2, OBUF_CLASSES = 3 };

typedef struct server_stats {
    long long connections_received;
    long long commands_processed;
    long long rejected_connections;
    long long net_input_bytes;
    long long net_output_bytes;
    long long expired_clients_timeout;
    long long obuf_limit_disconnections;
    long long qbuf_limit_disconnections;
    long long error_replies;
    long long unexpected_error_replies;
    long long worker_jobs_done;
    /* instantaneous_ops_per_sec: samples of commands over the last 16 cron
     * ticks */
    long long ops_samples[16];
    int ops_idx;
    long long ops_last_count;
    long long ops_last_ms;
} server_stats;

typedef struct server {
    /* ---- configuration (config.c owns parsing; values live here) ---- */
    int port;
    char *bind_addrs[MAX_BIND_ADDRS];
    int bind_count;
    char *unixsocket;
    int unixsocketperm;
    int maxclients;
    int timeout_s;
    int tcp_keepalive;
    int tcp_backlog;
    obuf_limit obuf_limits[OBUF_CLASSES];
    long long client_query_buffer_limit;
    long long proto_max_bulk_len;
    int daemonize;
    char *pidfile;
    char *logfile;
    int loglevel;
    char *requirepass;
    long long slowlog_slower_than;
    int slowlog_max_len;
    int search_threads;
    long long maxmemory;
    long long repl_backlog_size; /* log bytes kept past a checkpoint */
    int maxmemory_policy;
    char *dir;
    int protected_mode;
    int appendonly; /* the mutation log is on (persist.c) */
    char *save;     /* `save` points, "<seconds> <changes> ..." (persist.c) */
    int loading;    /* persist_start is loading the database: -LOADING */
    int shutdown_save; /* SHUTDOWN SAVE 1, NOSAVE -1, else 0 (the `save` points decide) */
    int hz;
    int segment_max_rows;
    long long segment_max_bytes; /* segment-max-bytes (0 = none) */

    /* ---- runtime ---- */
    char *config_file;   /* absolute path, or NULL */
    char *executable;    /* absolute path */
    char run_id[41];
    pid_t pid;
    time_t start_time;
    struct event_base *base;
    int listen_fds[MAX_BIND_ADDRS + 1];
    struct event *listen_events[MAX_BIND_ADDRS + 1];
    int listen_count;
    int tcp_listen_count;
    struct event *cron_event;
    struct event *signal_events[2];
    int shutdown_asap;
    int shutdown_exit_code;

    struct client *clients_head; /* all clients, newest first */
    long long nclients;
    uint64_t next_client_id;
    struct dict *clients_by_id;
    struct client *monitors_head; /* MONITOR clients, linked by mon_next */
    long long nmonitors;
    struct client *current_client; /* executing a command, or NULL */
    struct client *pending_write_head; /* clients with output to flush */

    struct worker_pool *workers;

    long long cmd_clock_us; /* end of the last command of the current batch, or 0 */
    size_t used_memory_peak;
    server_stats stats;
} server;

extern server srv;

/* Lifecycle (server.c). */
void server_init_defaults(void);
int server_start(void);              /* listeners, workers, cron; 0 or -1 */
void server_run(void);               /* the event loop until shutdown */
/* While loading: one non-blocking turn of the event loop (accept, read,
 * reply), from outside any event callback. */
void server_loading_yield(void);
void server_shutdown_request(int exit_code);
/* SHUTDOWN flags (cmd_server.c) */
#define SHUTDOWN_NOSAVE 1
#define SHUTDOWN_SAVE 2
#define SHUTDOWN_NOW 4
#define SHUTDOWN_FORCE 8
int server_prepare_shutdown(int flags); /* SHUTDOWN; 0 ok, -1 refused */
void server_exit_cleanup(void);

/* Recomputes used_memory_peak; returns used memory. */
size_t server_update_memory_stats(void);

#endif
