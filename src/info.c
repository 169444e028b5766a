/*
 * info.c -- INFO [section ...]. Field names are Redis's wherever a tool
 * reads them (REDIS-COMPAT.md 6.7): ioredis reads `loading`, Sentinel reads
 * `run_id` and `role`, redis-cli --stat reads the stats. vectis's own
 * figures sit beside them with their own names. The reply is a bulk string
 * (verbatim "txt" in RESP3) of "# Section" headers and "field:value" lines
 * separated by CRLF, with a blank line between sections.
 */
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>

#include "alloc.h"
#include "commands.h"
#include "engine/engine.h"
#include "simd/simd.h"
#include "networking.h"
#include "persist.h"
#include "server.h"
#include "util.h"
#include "workers.h"

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)(n > 0 ? n : 0) + 64;
        b->p = xrealloc(b->p, b->cap);
    }
}

static void human(char *dst, size_t n, unsigned long long v)
{
    util_bytes_human(dst, n, v);
}

static void section_server(sbuf *b)
{
    struct utsname u;
    uname(&u);
    long long now_us = util_ustime();
    long long up = (long long)(time(NULL) - srv.start_time);
    sb_add(b,
           "# Server\r\n"
           "redis_version:%s\r\n"
           "vectis_version:%s\r\n"
           "redis_git_sha1:00000000\r\n"
           "redis_git_dirty:0\r\n"
           "redis_build_id:0\r\n"
           "redis_mode:standalone\r\n"
           "os:%s %s %s\r\n"
           "arch_bits:%d\r\n"
           "multiplexing_api:%s\r\n"
           "gcc_version:%d.%d.%d\r\n"
           "process_id:%d\r\n"
           "process_supervised:no\r\n"
           "run_id:%s\r\n"
           "tcp_port:%d\r\n"
           "server_time_usec:%lld\r\n"
           "uptime_in_seconds:%lld\r\n"
           "uptime_in_days:%lld\r\n"
           "hz:%d\r\n"
           "configured_hz:%d\r\n"
           "executable:%s\r\n"
           "config_file:%s\r\n"
           "search_threads:%d\r\n",
           VECTIS_REDIS_COMPAT_VERSION, VECTIS_VERSION, u.sysname, u.release, u.machine,
           (int)sizeof(void *) * 8, event_base_get_method(srv.base),
#ifdef __GNUC__
           __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
           0, 0, 0,
#endif
           (int)srv.pid, srv.run_id, srv.port, now_us, up, up / 86400, srv.hz, srv.hz,
           srv.executable ? srv.executable : "", srv.config_file ? srv.config_file : "",
           workers_count(srv.workers));
}

static void section_clients(sbuf *b)
{
    long long blocked = 0;
    size_t max_in = 0, max_out = 0;
    for (client *c = srv.clients_head; c; c = c->next) {
        if (c->flags & CLIENT_BLOCKED) blocked++;
        size_t qb = resp_parser_buffered(c->parser);
        if (qb > max_in) max_in = qb;
        if (c->obuf_peak > max_out) max_out = c->obuf_peak;
    }
    sb_add(b,
           "# Clients\r\n"
           "connected_clients:%lld\r\n"
           "cluster_connections:0\r\n"
           "maxclients:%d\r\n"
           "client_recent_max_input_buffer:%zu\r\n"
           "client_recent_max_output_buffer:%zu\r\n"
           "blocked_clients:%lld\r\n"
           "tracking_clients:0\r\n"
           "clients_in_timeout_table:0\r\n",
           srv.nclients, srv.maxclients, max_in, max_out, blocked);
}

static void section_memory(sbuf *b)
{
    size_t used = server_update_memory_stats();
    size_t rss = alloc_rss();
    char h_used[32], h_rss[32], h_peak[32], h_max[32];
    human(h_used, sizeof(h_used), used);
    human(h_rss, sizeof(h_rss), rss);
    human(h_peak, sizeof(h_peak), srv.used_memory_peak);
    human(h_max, sizeof(h_max), (unsigned long long)srv.maxmemory);
    sb_add(b,
           "# Memory\r\n"
           "used_memory:%zu\r\n"
           "used_memory_human:%s\r\n"
           "used_memory_rss:%zu\r\n"
           "used_memory_rss_human:%s\r\n"
           "used_memory_peak:%zu\r\n"
           "used_memory_peak_human:%s\r\n"
           "used_memory_peak_perc:%.2f%%\r\n"
           "maxmemory:%lld\r\n"
           "maxmemory_human:%s\r\n"
           "maxmemory_policy:noeviction\r\n"
           "mem_fragmentation_ratio:%.2f\r\n"
           "mem_allocator:%s\r\n",
           used, h_used, rss, h_rss, srv.used_memory_peak, h_peak,
           srv.used_memory_peak ? 100.0 * (double)used / (double)srv.used_memory_peak : 100.0,
           srv.maxmemory, h_max, used ? (double)rss / (double)used : 0.0, alloc_name());
}

static void section_persistence(sbuf *b)
{
    sb_add(b, "# Persistence\r\n");
    char *p = xmalloc(8192);
    persist_info(p, 8192);
    sb_add(b, "%s", p);
    xfree(p);
}

static long long ops_per_sec(void)
{
    long long sum = 0;
    for (int i = 0; i < 16; i++) sum += srv.stats.ops_samples[i];
    return sum / 16;
}

static void section_stats(sbuf *b)
{
    sb_add(b,
           "# Stats\r\n"
           "total_connections_received:%lld\r\n"
           "total_commands_processed:%lld\r\n"
           "instantaneous_ops_per_sec:%lld\r\n"
           "total_net_input_bytes:%lld\r\n"
           "total_net_output_bytes:%lld\r\n"
           "rejected_connections:%lld\r\n"
           "expired_keys:0\r\n"
           "evicted_keys:0\r\n"
           "keyspace_hits:0\r\n"
           "keyspace_misses:0\r\n"
           "pubsub_channels:0\r\n"
           "pubsub_patterns:0\r\n"
           "total_error_replies:%lld\r\n"
           "client_query_buffer_limit_disconnections:%lld\r\n"
           "client_output_buffer_limit_disconnections:%lld\r\n"
           "expired_clients_timeout:%lld\r\n"
           "worker_jobs_queued:%lld\r\n"
           "worker_jobs_running:%lld\r\n"
           "worker_jobs_done:%lld\r\n",
           srv.stats.connections_received, srv.stats.commands_processed, ops_per_sec(),
           srv.stats.net_input_bytes, srv.stats.net_output_bytes, srv.stats.rejected_connections,
           srv.stats.error_replies, srv.stats.qbuf_limit_disconnections,
           srv.stats.obuf_limit_disconnections, srv.stats.expired_clients_timeout,
           workers_queued(srv.workers), workers_running(srv.workers),
           workers_done_total(srv.workers));
}

static void section_replication(sbuf *b)
{
    sb_add(b,
           "# Replication\r\n"
           "role:master\r\n"
           "connected_slaves:0\r\n"
           "master_failover_state:no-failover\r\n"
           "master_replid:%s\r\n"
           "master_replid2:0000000000000000000000000000000000000000\r\n"
           "master_repl_offset:0\r\n"
           "second_repl_offset:-1\r\n"
           "repl_backlog_active:0\r\n"
           "repl_backlog_size:%lld\r\n"
           "repl_backlog_first_byte_offset:0\r\n"
           "repl_backlog_histlen:0\r\n",
           srv.run_id, srv.repl_backlog_size);
}

static void section_cpu(sbuf *b)
{
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    sb_add(b,
           "# CPU\r\n"
           "used_cpu_sys:%ld.%06ld\r\n"
           "used_cpu_user:%ld.%06ld\r\n"
           "used_cpu_sys_children:%ld.%06ld\r\n"
           "used_cpu_user_children:%ld.%06ld\r\n",
           (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec, (long)self.ru_utime.tv_sec,
           (long)self.ru_utime.tv_usec, (long)kids.ru_stime.tv_sec, (long)kids.ru_stime.tv_usec,
           (long)kids.ru_utime.tv_sec, (long)kids.ru_utime.tv_usec);
}

static void errorstat_cb(void *ctx, const char *code, long long n)
{
    sb_add(ctx, "errorstat_%s:count=%lld\r\n", code, n);
}

static void section_errorstats(sbuf *b)
{
    sb_add(b, "# Errorstats\r\n");
    commands_errorstats(errorstat_cb, b);
}

static void cmdstat_line(sbuf *b, const command *cmd)
{
    if (cmd->calls == 0 && cmd->rejected_calls == 0 && cmd->failed_calls == 0) return;
    sb_add(b, "cmdstat_%s:calls=%lld,usec=%lld,usec_per_call=%.2f,rejected_calls=%lld,failed_calls=%lld\r\n",
           cmd->fullname, cmd->calls, cmd->usec,
           cmd->calls ? (double)cmd->usec / (double)cmd->calls : 0.0, cmd->rejected_calls,
           cmd->failed_calls);
}

static void section_commandstats(sbuf *b)
{
    size_t n;
    command *t = command_table(&n);
    sb_add(b, "# Commandstats\r\n");
    for (size_t i = 0; i < n; i++) {
        cmdstat_line(b, &t[i]);
        for (command *s = t[i].subcommands; s && s->name; s++) cmdstat_line(b, s);
    }
}

static void section_keyspace(sbuf *b)
{
    sb_add(b, "# Keyspace\r\n");
    if (db_size()) sb_add(b, "db0:keys=%zu,expires=0,avg_ttl=0\r\n", db_size());
}

static void section_vectors(sbuf *b)
{
    engine_stats st;
    engine_get_stats(&st);
    sb_add(b,
           "# Vectors\r\n"
           "collections:%llu\r\n"
           "rows:%llu\r\n"
           "segments:%llu\r\n"
           "index_build_queue:%llu\r\n"
           "rows_unindexed:%llu\r\n"
           "index_rows_added:%llu\r\n"
           "index_rows_added_parallel:%llu\r\n"
           "collections_memory:%zu\r\n"
           "search_jobs_queued:%lld\r\n"
           "search_jobs_running:%lld\r\n"
           "simd_level:%s\r\n",
           (unsigned long long)st.collections, (unsigned long long)st.rows,
           (unsigned long long)st.segments, (unsigned long long)st.index_jobs_pending,
           (unsigned long long)st.rows_unindexed, (unsigned long long)st.index_rows_added,
           (unsigned long long)st.index_rows_added_parallel, st.memory, workers_queued(srv.workers),
           workers_running(srv.workers), simd_level_name(simd->level));
}

typedef struct info_section {
    const char *name;
    void (*fn)(sbuf *b);
    int in_default;
} info_section;

static const info_section sections[] = {
    {"server", section_server, 1},           {"clients", section_clients, 1},
    {"memory", section_memory, 1},           {"persistence", section_persistence, 1},
    {"stats", section_stats, 1},             {"replication", section_replication, 1},
    {"cpu", section_cpu, 1},                 {"commandstats", section_commandstats, 0},
    {"errorstats", section_errorstats, 1},   {"vectors", section_vectors, 1},
    {"keyspace", section_keyspace, 1},
};

#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

void cmd_info(client *c, int argc, char **argv, size_t *lens)
{
    int want[NSECTIONS] = {0};
    sbuf b = {xmalloc(4096), 0, 4096};
    if (argc == 1) {
        for (size_t i = 0; i < NSECTIONS; i++) want[i] = sections[i].in_default;
    }
    for (int a = 1; a < argc; a++) {
        if (util_eqcase(argv[a], lens[a], "all") || util_eqcase(argv[a], lens[a], "everything")) {
            for (size_t i = 0; i < NSECTIONS; i++) want[i] = 1;
        } else if (util_eqcase(argv[a], lens[a], "default")) {
            for (size_t i = 0; i < NSECTIONS; i++) want[i] |= sections[i].in_default;
        } else {
            for (size_t i = 0; i < NSECTIONS; i++)
                if (util_eqcase(argv[a], lens[a], sections[i].name)) want[i] = 1;
        }
    }
    int first = 1;
    for (size_t i = 0; i < NSECTIONS; i++) {
        if (!want[i]) continue;
        if (!first) sb_add(&b, "\r\n");
        sections[i].fn(&b);
        first = 0;
    }
    resp_add_verbatim(&c->out, b.p, b.len, "txt");
    xfree(b.p);
}
