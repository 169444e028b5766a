/*
 * main.c -- command line, configuration loading, daemonizing, and the
 * start of the event loop.
 *
 *   vectis-server [config-file] [--directive value ...]
 *   vectis-server --version | --help | --example-config
 *
 * As Redis: a first argument not starting with "--" is the config file;
 * every "--name" starts a directive line whose arguments are the following
 * words up to the next "--name", applied after the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "server.h"
#include "util.h"

static void usage(void)
{
    fprintf(stderr,
            "Usage: ./vectis-server [/path/to/vectis.conf] [options]\n"
            "       ./vectis-server - (read config from stdin)\n"
            "       ./vectis-server -v or --version\n"
            "       ./vectis-server -h or --help\n"
            "       ./vectis-server --example-config (print every directive with its default)\n\n"
            "Examples:\n"
            "       ./vectis-server (run the server with default config)\n"
            "       ./vectis-server /etc/vectis/6379.conf\n"
            "       ./vectis-server --port 7777\n"
            "       ./vectis-server /etc/myvectis.conf --loglevel verbose\n");
}

/* Appends a word to the overrides text, quoting it so config_split_args
 * gives it back unchanged. */
static void append_word(char **buf, size_t *len, size_t *cap, const char *w)
{
    size_t need = strlen(w) * 4 + 8;
    if (*len + need >= *cap) {
        *cap = (*len + need) * 2;
        *buf = xrealloc(*buf, *cap);
    }
    char *p = *buf + *len;
    *p++ = '"';
    for (const char *s = w; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            *p++ = '\\';
            *p++ = (char)ch;
        } else if (ch < 32 || ch == 127) {
            p += sprintf(p, "\\x%02x", ch);
        } else {
            *p++ = (char)ch;
        }
    }
    *p++ = '"';
    *p++ = ' ';
    *p = '\0';
    *len = (size_t)(p - *buf);
}

static void daemonize(void)
{
    if (fork() != 0) exit(0); /* parent exits */
    setsid();
    int fd = open("/dev/null", O_RDWR, 0);
    if (fd != -1) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO) close(fd);
    }
}

int main(int argc, char **argv)
{
    const char *config_file = NULL;
    char *overrides = NULL;
    size_t olen = 0, ocap = 0;
    char err[512];

    server_init_defaults();

    int j = 1;
    if (argc >= 2) {
        if (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version")) {
            printf("vectis server v=%s (Redis protocol %s)\n", VECTIS_VERSION,
                   VECTIS_REDIS_COMPAT_VERSION);
            return 0;
        }
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
            usage();
            return 0;
        }
        if (!strcmp(argv[1], "--example-config")) {
            config_write_example(stdout);
            return 0;
        }
        if (argv[1][0] != '-' || argv[1][1] != '-') {
            config_file = argv[1];
            j = 2;
        }
    }
    ocap = 256;
    overrides = xmalloc(ocap);
    overrides[0] = '\0';
    for (; j < argc; j++) {
        if (argv[j][0] == '-' && argv[j][1] == '-' && argv[j][2]) {
            if (olen) overrides[olen++] = '\n', overrides[olen] = '\0';
            append_word(&overrides, &olen, &ocap, argv[j] + 2);
        } else {
            append_word(&overrides, &olen, &ocap, argv[j]);
        }
    }

    if (config_file && strcmp(config_file, "-") != 0) {
        char abs[PATH_MAX];
        if (realpath(config_file, abs)) srv.config_file = xstrdup(abs);
    }
    if (config_load(config_file && strcmp(config_file, "-") ? config_file : NULL,
                    olen ? overrides : NULL) != 0) {
        xfree(overrides);
        return 1;
    }
    if (config_file && !strcmp(config_file, "-")) {
        /* config from stdin */
        size_t cap = 4096, len = 0, n;
        char *text = xmalloc(cap);
        while ((n = fread(text + len, 1, cap - len - 1, stdin)) > 0) {
            len += n;
            if (cap - len < 2) text = xrealloc(text, cap *= 2);
        }
        text[len] = '\0';
        int rc = config_load(NULL, text);
        xfree(text);
        if (rc != 0) {
            xfree(overrides);
            return 1;
        }
    }
    xfree(overrides);

    {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
            exe[n] = '\0';
            srv.executable = xstrdup(exe);
        }
    }

    if (srv.daemonize) daemonize();
    srv.pid = getpid();
    log_configure(srv.logfile, srv.loglevel);
    if (config_apply_startup(err, sizeof(err)) != 0) {
        log_warning("Fatal error applying configuration: %s", err);
        return 1;
    }
    log_notice("vectis is starting");
    log_notice("vectis version=%s, redis protocol=%s, bits=%d, pid=%d, just started",
               VECTIS_VERSION, VECTIS_REDIS_COMPAT_VERSION, (int)sizeof(void *) * 8,
               (int)srv.pid);
    if (srv.config_file)
        log_notice("Configuration loaded");
    else
        log_warning("No config file specified, using the default config. In order to specify a "
                    "config file use %s /path/to/vectis.conf", argv[0]);
    log_notice("Running mode=standalone, port=%d.", srv.port);

    if (server_start() != 0) {
        log_warning("Server failed to start, exiting.");
        return 1;
    }
    server_run();
    int code = srv.shutdown_exit_code;
    server_exit_cleanup();
    return code;
}
