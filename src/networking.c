/*
 * networking.c -- listeners, client connections, request reading and reply
 * writing on the libevent loop.
 *
 * Flow of one turn of the loop (server.c runs event_base_loop(EVLOOP_ONCE)
 * and then net_before_sleep()):
 *   1. Readable client: read into its parser, pull complete requests and
 *      execute them in order (command_process). Replies accumulate in
 *      c->out; the client is put on the pending-write list. A client blocked
 *      on a worker stops executing (its later requests wait in the parser).
 *   2. net_before_sleep(): for every client on the pending-write list, one
 *      write(2) of everything pending (so a pipeline of N commands costs one
 *      read and one write); what the socket does not take arms a write
 *      event. Clients marked CLOSE_ASAP are freed here, never inside their
 *      own command. Later (persistence) the turn's WriteBatch is committed
 *      right before this step, so no reply leaves before its log record.
 *
 * Limits: client-query-buffer-limit closes a client whose unparsed input
 * grows past it; client-output-buffer-limit (normal class) closes a client
 * whose pending replies pass the hard limit, or stay above the soft limit
 * for soft-seconds. maxclients is checked at accept: the extra client gets
 * "-ERR max number of clients reached" and is closed.
 *
 * Ownership: clients are created and freed only here. A worker job keeps a
 * pointer to its client (job->owner) that client_free() clears, so a job
 * that finishes after its client left is completed into the void.
 */
#include "networking.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alloc.h"
#include "commands.h"
#include "dict.h"
#include "log.h"
#include "server.h"
#include "util.h"
#include "workers.h"

#define NET_READ_CHUNK      (16 * 1024) /* bytes per read(2) for ordinary requests */
#define NET_MAX_ACCEPTS     1000        /* accepts per listener wake-up */
#define NET_WRITE_MAX       (64 * 1024 * 1024) /* per write(2): keep turns short */
#define NET_QBUF_KEEP       (32 * 1024) /* query buffer kept after a big request */
#define NET_OBUF_KEEP       (64 * 1024) /* reply buffer kept after a big reply */
#define NET_INLINE_MAX      (64 * 1024) /* as Redis PROTO_INLINE_MAX_SIZE */
#define NET_MULTIBULK_MAX   (1024 * 1024)

static void client_read_cb(evutil_socket_t fd, short what, void *arg);
static void client_write_cb(evutil_socket_t fd, short what, void *arg);

/* ------------------------------------------------------------ listeners */

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void accept_cb(evutil_socket_t fd, short what, void *arg);

static int listen_tcp(const char *addr, int optional)
{
    struct addrinfo hints, *res, *ai;
    char port[16];
    const char *host = addr;
    int ipv6_any = 0, rc, opened = 0;

    if (!strcmp(addr, "*")) host = "0.0.0.0";
    if (!strcmp(addr, "::*")) {
        host = "::";
        ipv6_any = 1;
    }
    snprintf(port, sizeof(port), "%d", srv.port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
        if (optional) return 0;
        log_warning("Could not create server TCP listening socket %s:%d: %s", addr, srv.port,
                    gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        int one = 1;
        if (s < 0) continue;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6) setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(s, ai->ai_addr, ai->ai_addrlen) < 0 || listen(s, srv.tcp_backlog) < 0 ||
            set_nonblock(s) < 0) {
            int e = errno;
            close(s);
            if (optional || (ipv6_any && (e == EAFNOSUPPORT || e == EADDRNOTAVAIL))) continue;
            log_warning("Could not create server TCP listening socket %s:%d: %s", addr,
                        srv.port, strerror(e));
            freeaddrinfo(res);
            return -1;
        }
        srv.listen_fds[srv.listen_count] = s;
        srv.listen_events[srv.listen_count] =
            event_new(srv.base, s, EV_READ | EV_PERSIST, accept_cb, NULL);
        event_add(srv.listen_events[srv.listen_count], NULL);
        srv.listen_count++;
        srv.tcp_listen_count++;
        opened++;
        break;
    }
    freeaddrinfo(res);
    return opened || optional ? 0 : -1;
}

static int listen_unix(void)
{
    struct sockaddr_un sa;
    int s;
    if (strlen(srv.unixsocket) >= sizeof(sa.sun_path)) {
        log_warning("Unix socket path too long (%zu bytes): %s", strlen(srv.unixsocket),
                    srv.unixsocket);
        return -1;
    }
    unlink(srv.unixsocket);
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, srv.unixsocket);
    if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, srv.tcp_backlog) < 0 ||
        set_nonblock(s) < 0) {
        log_warning("Failed opening Unix socket %s: %s", srv.unixsocket, strerror(errno));
        close(s);
        return -1;
    }
    if (srv.unixsocketperm) chmod(srv.unixsocket, (mode_t)srv.unixsocketperm);
    srv.listen_fds[srv.listen_count] = s;
    srv.listen_events[srv.listen_count] =
        event_new(srv.base, s, EV_READ | EV_PERSIST, accept_cb, (void *)1);
    event_add(srv.listen_events[srv.listen_count], NULL);
    srv.listen_count++;
    return 0;
}

int net_listen(void)
{
    if (srv.port != 0) {
        for (int i = 0; i < srv.bind_count; i++) {
            const char *a = srv.bind_addrs[i];
            int optional = a[0] == '-';
            if (listen_tcp(optional ? a + 1 : a, optional) != 0) return -1;
        }
        if (srv.tcp_listen_count == 0) {
            log_warning("Failed listening on port %d (tcp), aborting.", srv.port);
            return -1;
        }
    }
    if (srv.unixsocket && srv.unixsocket[0] && listen_unix() != 0) return -1;
    if (srv.listen_count == 0) {
        log_warning("Configured to not listen anywhere, exiting.");
        return -1;
    }
    return 0;
}

void net_close_listeners(void)
{
    for (int i = 0; i < srv.listen_count; i++) {
        event_free(srv.listen_events[i]);
        close(srv.listen_fds[i]);
    }
    srv.listen_count = srv.tcp_listen_count = 0;
    if (srv.unixsocket && srv.unixsocket[0]) unlink(srv.unixsocket);
}

/* -------------------------------------------------------------- clients */

static resp_limits current_limits(void)
{
    resp_limits l;
    l.max_bulk_len = srv.proto_max_bulk_len;
    l.max_multibulk_len = NET_MULTIBULK_MAX;
    l.max_inline_len = NET_INLINE_MAX;
    return l;
}

void net_limits_changed(void)
{
    resp_limits l = current_limits();
    for (client *c = srv.clients_head; c; c = c->next) resp_parser_set_limits(c->parser, &l);
}

static void format_addr(const struct sockaddr_storage *ss, char *buf, size_t size)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        port = ntohs(s->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        port = ntohs(s->sin6_port);
    }
    snprintf(buf, size, "%s:%d", ip, port);
}

static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a)) return 1;
        if (IN6_IS_ADDR_V4MAPPED(a)) return a->s6_addr[12] == 127;
    }
    return 0;
}

static client *client_new(int fd, int is_unix)
{
    client *c = xcalloc(1, sizeof(*c));
    resp_limits l = current_limits();
    c->id = srv.next_client_id++;
    c->fd = fd;
    c->proto = 2;
    c->flags = is_unix ? CLIENT_UNIX_SOCKET : 0;
    c->parser = resp_parser_new(&l);
    client_set_authenticated(c, !srv.requirepass || !srv.requirepass[0]);
    resp_buf_init(&c->out, 2);
    c->ctime = time(NULL);
    c->last_interaction_ms = util_mstime();
    c->rev = event_new(srv.base, fd, EV_READ | EV_PERSIST, client_read_cb, c);
    c->wev = event_new(srv.base, fd, EV_WRITE | EV_PERSIST, client_write_cb, c);
    event_add(c->rev, NULL);
    c->next = srv.clients_head;
    if (srv.clients_head) srv.clients_head->prev = c;
    srv.clients_head = c;
    srv.nclients++;
    dict_set_u64(srv.clients_by_id, c->id, c);
    return c;
}

static void pending_unlink(client *c)
{
    if (!(c->flags & CLIENT_PENDING_WRITE)) return;
    if (c->pw_prev)
        c->pw_prev->pw_next = c->pw_next;
    else
        srv.pending_write_head = c->pw_next;
    if (c->pw_next) c->pw_next->pw_prev = c->pw_prev;
    c->pw_prev = c->pw_next = NULL;
    c->flags &= ~CLIENT_PENDING_WRITE;
}

void client_add_pending_write(client *c)
{
    if (c->flags & CLIENT_PENDING_WRITE) return;
    c->flags |= CLIENT_PENDING_WRITE;
    c->pw_prev = NULL;
    c->pw_next = srv.pending_write_head;
    if (srv.pending_write_head) srv.pending_write_head->pw_prev = c;
    srv.pending_write_head = c;
}

static void monitor_unlink(client *c)
{
    if (!(c->flags & CLIENT_MONITOR)) return;
    if (c->mon_prev)
        c->mon_prev->mon_next = c->mon_next;
    else
        srv.monitors_head = c->mon_next;
    if (c->mon_next) c->mon_next->mon_prev = c->mon_prev;
    c->flags &= ~CLIENT_MONITOR;
    srv.nmonitors--;
}

void client_set_authenticated(client *c, int yes)
{
    if (yes)
        c->flags |= CLIENT_AUTHENTICATED;
    else
        c->flags &= ~CLIENT_AUTHENTICATED;
    /* Before AUTH, Redis 7.2's small request limits (10 arguments, 16 KB
     * bulks) keep an unauthenticated peer from making us allocate. */
    if (c->parser) resp_parser_set_auth_required(c->parser, !yes);
}

void client_set_monitor(client *c)
{
    if (c->flags & CLIENT_MONITOR) return;
    c->flags |= CLIENT_MONITOR;
    c->mon_prev = NULL;
    c->mon_next = srv.monitors_head;
    if (srv.monitors_head) srv.monitors_head->mon_prev = c;
    srv.monitors_head = c;
    srv.nmonitors++;
}

void client_unset_monitor(client *c)
{
    monitor_unlink(c);
}

void client_free(client *c)
{
    if (!c) return;
    if (c->flags & CLIENT_IN_CALL) { /* never under a running handler */
        client_close_async(c);
        return;
    }
    if (srv.current_client == c) srv.current_client = NULL;
    if (c->job) c->job->owner = NULL; /* the job completes into the void */
    pending_unlink(c);
    monitor_unlink(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv.clients_head = c->next;
    if (c->next) c->next->prev = c->prev;
    srv.nclients--;
    dict_del_u64(srv.clients_by_id, c->id);
    event_free(c->rev);
    event_free(c->wev);
    close(c->fd);
    resp_parser_free(c->parser);
    resp_buf_free(&c->out);
    xfree(c->name);
    xfree(c->lib_name);
    xfree(c->lib_ver);
    xfree(c);
}

void client_close_async(client *c)
{
    c->flags |= CLIENT_CLOSE_ASAP;
    client_add_pending_write(c);
}

void net_free_all_clients(void)
{
    while (srv.clients_head) {
        srv.clients_head->flags &= ~CLIENT_IN_CALL;
        client_free(srv.clients_head);
    }
}

client *client_lookup_id(uint64_t id)
{
    return dict_get_u64(srv.clients_by_id, id);
}

size_t client_output_pending(const client *c)
{
    return resp_buf_pending(&c->out);
}

/* ---------------------------------------------------------------- accept */

static void reject(int fd, const char *msg)
{
    ssize_t w = write(fd, msg, strlen(msg)); /* best effort, the socket is fresh */
    (void)w;
    close(fd);
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
    int is_unix = arg != NULL;
    (void)what;
    for (int i = 0; i < NET_MAX_ACCEPTS; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warning("Accepting client connection: %s", strerror(errno));
            return;
        }
        srv.stats.connections_received++;
        if (srv.nclients >= srv.maxclients) {
            srv.stats.rejected_connections++;
            reject(fd, "-ERR max number of clients reached\r\n");
            continue;
        }
        if (!is_unix && srv.protected_mode && (!srv.requirepass || !srv.requirepass[0]) &&
            !is_loopback(&ss)) {
            srv.stats.rejected_connections++;
            reject(fd, "-DENIED vectis is running in protected mode because protected mode is "
                       "enabled and no password is set for the default user. In this mode "
                       "connections are only accepted from the loopback interface. Set a "
                       "password with requirepass, or disable protected mode with "
                       "'CONFIG SET protected-mode no' from the loopback interface.\r\n");
            continue;
        }
        if (!is_unix) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            if (srv.tcp_keepalive > 0) {
                int idle = srv.tcp_keepalive, intvl = srv.tcp_keepalive / 3, cnt = 3;
                if (intvl == 0) intvl = 1;
                setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
                setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
                setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
                setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
            }
        }
        client *c = client_new(fd, is_unix);
        if (is_unix) {
            snprintf(c->addr, sizeof(c->addr), "%s:0", srv.unixsocket);
            snprintf(c->laddr, sizeof(c->laddr), "%s:0", srv.unixsocket);
        } else {
            struct sockaddr_storage ls;
            socklen_t ll = sizeof(ls);
            format_addr(&ss, c->addr, sizeof(c->addr));
            if (getsockname(fd, (struct sockaddr *)&ls, &ll) == 0)
                format_addr(&ls, c->laddr, sizeof(c->laddr));
        }
        log_verbose("Accepted %s", c->addr);
    }
}

/* ------------------------------------------------------------- reading */

static void check_output_limits(client *c)
{
    const obuf_limit *l = &srv.obuf_limits[OBUF_NORMAL];
    size_t pending = resp_buf_pending(&c->out);
    int over_hard, over_soft;

    if (pending > c->obuf_peak) c->obuf_peak = pending;
    over_hard = l->hard_bytes && pending >= (size_t)l->hard_bytes;
    over_soft = l->soft_bytes && pending >= (size_t)l->soft_bytes;
    if (over_soft && !over_hard) {
        long long now = util_mstime();
        if (!c->obuf_soft_since_ms) {
            c->obuf_soft_since_ms = now;
        } else if (now - c->obuf_soft_since_ms > l->soft_seconds * 1000) {
            over_hard = 1;
        }
    } else if (!over_soft) {
        c->obuf_soft_since_ms = 0;
    }
    if (over_hard && !(c->flags & CLIENT_CLOSE_ASAP)) {
        char info[1024];
        client_format_info(c, info, sizeof(info));
        log_warning("Client %s scheduled to be closed ASAP for overcoming of output buffer "
                    "limits.", info);
        srv.stats.obuf_limit_disconnections++;
        /* Drop what is queued: it will never be read, and the memory must
         * come back now, not when the socket finally dies. */
        resp_buf_free(&c->out);
        client_close_async(c);
    }
}

/* One read(2) into c's parser: as much as is buffered in the socket, up
 * to NET_READ_CHUNK, or all of a big argument being read. Returns what
 * read(2) returned; bytes read are counted and parsed later. */
static ssize_t client_read_some(client *c)
{
    size_t want = resp_parser_want(c->parser);
    if (want < NET_READ_CHUNK) want = NET_READ_CHUNK;
    char *space = resp_parser_space(c->parser, want);
    ssize_t n = read(c->fd, space, want);
    c->read_full = n > 0 && (size_t)n == want;
    if (n > 0) {
        resp_parser_wrote(c->parser, (size_t)n);
        srv.stats.net_input_bytes += n;
    }
    return n;
}

/* An open batch whose next command is not (wholly) buffered: reads once
 * more when the socket probably has it (client.h, read_full). Returns 1
 * when bytes came; EOF and errors are left to the read event. */
static int batch_read_more(client *c)
{
    if (!c->batch || c->batch_n >= CLIENT_BATCH_MAX || !c->read_full) return 0;
    if (resp_parser_buffered(c->parser) > (size_t)srv.client_query_buffer_limit / 2) return 0;
    return client_read_some(c) > 0;
}

void client_process_input(client *c)
{
    resp_request req;
    srv.cmd_clock_us = util_monotonic_us(); /* the batch's start (commands.c) */
    while (!(c->flags & (CLIENT_BLOCKED | CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP))) {
        resp_status st = resp_parser_next(c->parser, &req);
        if (st == RESP_MORE) {
            if (batch_read_more(c)) continue;
            break;
        }
        if (st == RESP_ERROR) {
            char msg[256];
            snprintf(msg, sizeof(msg), "ERR %s", resp_parser_error(c->parser));
            reply_error(c, msg);
            log_verbose("Protocol error (%s) from client: id=%llu addr=%s",
                        resp_parser_error(c->parser), (unsigned long long)c->id, c->addr);
            c->flags |= CLIENT_CLOSE_AFTER_REPLY;
            break;
        }
        command_process(c, req.argc, req.argv, req.argvlen);
        if (c->batch) {
            /* The batch goes when the next command cannot join it. */
            const char *kind = c->batch->type->batch_cmd;
            int more = c->batch_n < CLIENT_BATCH_MAX && client_next_is(c, kind);
            /* the next command's name not even buffered: read on first */
            if (!more && resp_parser_buffered(c->parser) < 64 && batch_read_more(c))
                more = client_next_is(c, kind);
            if (!more) client_batch_submit(c);
            continue; /* c->out is the batch's side buffer */
        }
        if (resp_buf_pending(&c->out)) check_output_limits(c);
    }
    if (c->batch) client_batch_submit(c); /* closing, or a protocol error */
    srv.cmd_clock_us = 0; /* outside a batch, a command reads the clock itself */
    if (resp_buf_pending(&c->out) || (c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP)))
        client_add_pending_write(c);
    if (!(c->flags & CLIENT_BLOCKED) && resp_parser_buffered(c->parser) == 0)
        resp_parser_shrink(c->parser, NET_QBUF_KEEP);
}

static void client_read_cb(evutil_socket_t fd, short what, void *arg)
{
    client *c = arg;
    (void)what;
    if (c->flags & CLIENT_CLOSE_ASAP) return;
    (void)fd; /* c->fd */
    ssize_t n = client_read_some(c);
    if (n == 0) {
        log_verbose("Client closed connection id=%llu addr=%s", (unsigned long long)c->id, c->addr);
        client_free(c);
        return;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        log_verbose("Reading from client: %s", strerror(errno));
        client_free(c);
        return;
    }
    c->last_interaction_ms = util_mstime();
    if (resp_parser_buffered(c->parser) > (size_t)srv.client_query_buffer_limit) {
        char info[1024];
        client_format_info(c, info, sizeof(info));
        log_warning("Closing client that reached max query buffer length: %s", info);
        srv.stats.qbuf_limit_disconnections++;
        client_free(c);
        return;
    }
    client_process_input(c);
}

/* ------------------------------------------------------------- writing */

/* Writes what is pending; returns -1 when the client was freed. */
static int client_write(client *c)
{
    while (resp_buf_pending(&c->out)) {
        size_t len = resp_buf_pending(&c->out);
        if (len > NET_WRITE_MAX) len = NET_WRITE_MAX;
        ssize_t n = write(c->fd, c->out.buf + c->out.pos, len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            log_verbose("Error writing to client: %s", strerror(errno));
            client_free(c);
            return -1;
        }
        srv.stats.net_output_bytes += n;
        resp_buf_consume(&c->out, (size_t)n);
        if ((size_t)n < len) break;
    }
    if (resp_buf_pending(&c->out) == 0) {
        if (c->flags & CLIENT_WRITE_EV) {
            event_del(c->wev);
            c->flags &= ~CLIENT_WRITE_EV;
        }
        c->obuf_soft_since_ms = 0;
        if (c->flags & CLIENT_CLOSE_AFTER_REPLY) {
            client_free(c);
            return -1;
        }
        /* Give back a big reply's memory; keep a small buffer for the next. */
        resp_buf_shrink(&c->out, NET_OBUF_KEEP);
    } else if (!(c->flags & CLIENT_WRITE_EV)) {
        event_add(c->wev, NULL);
        c->flags |= CLIENT_WRITE_EV;
    }
    return 0;
}

static void client_write_cb(evutil_socket_t fd, short what, void *arg)
{
    client *c = arg;
    (void)fd;
    (void)what;
    if (c->flags & CLIENT_CLOSE_ASAP) {
        client_free(c);
        return;
    }
    if (client_write(c) == 0) check_output_limits(c);
}

void net_before_sleep(void)
{
    while (srv.pending_write_head) {
        client *c = srv.pending_write_head;
        pending_unlink(c);
        if (c->flags & CLIENT_CLOSE_ASAP) {
            client_free(c);
            continue;
        }
        client_write(c);
    }
}

/* ---------------------------------------------------------------- cron */

void net_cron(void)
{
    long long now = util_mstime();
    client *c = srv.clients_head;
    while (c) {
        client *next = c->next;
        if (srv.timeout_s > 0 && !(c->flags & (CLIENT_BLOCKED | CLIENT_MONITOR)) &&
            now - c->last_interaction_ms > (long long)srv.timeout_s * 1000) {
            log_verbose("Closing idle client id=%llu addr=%s", (unsigned long long)c->id, c->addr);
            srv.stats.expired_clients_timeout++;
            client_free(c);
        } else if (c->obuf_soft_since_ms && resp_buf_pending(&c->out)) {
            check_output_limits(c);
        }
        c = next;
    }
}

/* ------------------------------------------------------------ CLIENT info */

const char *client_type_name(const client *c)
{
    if (c->flags & CLIENT_MONITOR) return "monitor";
    return "normal";
}

size_t client_format_info(const client *c, char *buf, size_t size)
{
    char flags[16];
    int f = 0;
    long long now = util_mstime();
    if (c->flags & CLIENT_MONITOR) flags[f++] = 'O';
    if (c->flags & CLIENT_BLOCKED) flags[f++] = 'b';
    if (c->flags & CLIENT_CLOSE_ASAP) flags[f++] = 'A';
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) flags[f++] = 'c';
    if (c->flags & CLIENT_READONLY) flags[f++] = 'r';
    if (c->flags & CLIENT_NO_EVICT) flags[f++] = 'e';
    if (c->flags & CLIENT_NO_TOUCH) flags[f++] = 'T';
    if (f == 0) flags[f++] = 'N';
    flags[f] = '\0';
    size_t qbuf = resp_parser_buffered(c->parser);
    size_t qcap = resp_parser_capacity(c->parser);
    size_t omem = c->out.cap;
    int n = snprintf(
        buf, size,
        "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=0 sub=0 psub=0 "
        "ssub=0 multi=-1 qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=%zu obl=%zu "
        "oll=0 omem=%zu tot-mem=%zu events=r%s cmd=%s user=default redir=-1 resp=%d lib-name=%s "
        "lib-ver=%s",
        (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
        (long long)(time(NULL) - c->ctime), (now - c->last_interaction_ms) / 1000, flags, qbuf,
        qcap > qbuf ? qcap - qbuf : 0, qcap, qbuf, resp_buf_pending(&c->out), omem,
        sizeof(*c) + qcap + omem, (c->flags & CLIENT_WRITE_EV) ? "w" : "",
        c->last_cmd ? c->last_cmd->fullname : "NULL", c->proto, c->lib_name ? c->lib_name : "",
        c->lib_ver ? c->lib_ver : "");
    return n < 0 ? 0 : ((size_t)n >= size ? size - 1 : (size_t)n);
}

/* ------------------------------------------------------------- MONITOR */

static size_t repr(char *dst, size_t cap, const char *s, size_t len)
{
    size_t o = 0;
#define PUT(ch)                                                                                  \
    do {                                                                                         \
        if (o < cap) dst[o] = (ch);                                                              \
        o++;                                                                                     \
    } while (0)
    PUT('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '\\': PUT('\\'); PUT('\\'); break;
        case '"': PUT('\\'); PUT('"'); break;
        case '\n': PUT('\\'); PUT('n'); break;
        case '\r': PUT('\\'); PUT('r'); break;
        case '\t': PUT('\\'); PUT('t'); break;
        case '\a': PUT('\\'); PUT('a'); break;
        case '\b': PUT('\\'); PUT('b'); break;
        default:
            if (ch >= 32 && ch < 127) {
                PUT((char)ch);
            } else {
                static const char hex[] = "0123456789abcdef";
                PUT('\\'); PUT('x'); PUT(hex[ch >> 4]); PUT(hex[ch & 15]);
            }
        }
    }
    PUT('"');
#undef PUT
    return o;
}

void monitor_feed(client *c, int argc, char **argv, size_t *lens)
{
    if (!srv.monitors_head) return;
    size_t cap = 128, len;
    for (int i = 0; i < argc; i++) cap += lens[i] * 4 + 3;
    char *line = xmalloc(cap);
    long long us = util_ustime();
    int redact_from = argc;
    if (util_eqcase(argv[0], lens[0], "auth")) redact_from = 1;
    len = (size_t)snprintf(line, cap, "%lld.%06lld [0 %s%s]", us / 1000000, us % 1000000,
                           (c->flags & CLIENT_UNIX_SOCKET) ? "unix:" : "",
                           (c->flags & CLIENT_UNIX_SOCKET) ? srv.unixsocket : c->addr);
    for (int i = 0; i < argc; i++) {
        line[len++] = ' ';
        int redact = i >= redact_from;
        /* HELLO ... AUTH user pass: the two words after AUTH are secret. */
        if (util_eqcase(argv[0], lens[0], "hello") && i >= 2 &&
            (util_eqcase(argv[i - 1], lens[i - 1], "auth") ||
             (i >= 3 && util_eqcase(argv[i - 2], lens[i - 2], "auth"))))
            redact = 1;
        if (redact)
            len += repr(line + len, cap - len, "(redacted)", 10);
        else
            len += repr(line + len, cap - len, argv[i], lens[i]);
    }
    line[len] = '\0';
    for (client *m = srv.monitors_head; m; m = m->mon_next) {
        if (m->flags & CLIENT_CLOSE_ASAP) continue;
        resp_add_simple(&m->out, line);
        client_add_pending_write(m);
        check_output_limits(m);
    }
    xfree(line);
}
