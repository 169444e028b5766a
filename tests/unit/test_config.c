/*
 * test_config.c -- unit tests of src/config.c and the helpers it uses:
 * memory units, bounds, booleans, enums, quoting, the CONFIG SET
 * all-or-nothing rule, CONFIG GET globbing, and CONFIG REWRITE keeping
 * comments and unknown lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "server.h"
#include "util.h"

static int setup(void **state)
{
    (void)state;
    server_init_defaults();
    return 0;
}

static int apply(const char *line, char *err, size_t errlen)
{
    int argc;
    char **argv = config_split_args(line, &argc);
    assert_non_null(argv);
    int rc = config_apply_line(argc, argv, err, errlen);
    config_free_args(argv, argc);
    return rc;
}

static void get(const char *name, char *buf, size_t size)
{
    assert_int_equal(config_format(name, buf, size), 0);
}

static void test_defaults(void **state)
{
    char v[256];
    (void)state;
    get("port", v, sizeof(v));
    assert_string_equal(v, "6379");
    get("maxclients", v, sizeof(v));
    assert_string_equal(v, "10000");
    get("client-query-buffer-limit", v, sizeof(v));
    assert_string_equal(v, "1073741824");
    get("proto-max-bulk-len", v, sizeof(v));
    assert_string_equal(v, "536870912");
    get("bind", v, sizeof(v));
    assert_string_equal(v, "* -::*");
    get("client-output-buffer-limit", v, sizeof(v));
    assert_string_equal(v, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    get("loglevel", v, sizeof(v));
    assert_string_equal(v, "notice");
    get("unixsocket", v, sizeof(v));
    assert_string_equal(v, "");
}

static void test_units(void **state)
{
    long long v;
    (void)state;
    assert_true(util_parse_memory("100", &v) && v == 100);
    assert_true(util_parse_memory("1k", &v) && v == 1000);
    assert_true(util_parse_memory("1kb", &v) && v == 1024);
    assert_true(util_parse_memory("2MB", &v) && v == 2 * 1024 * 1024);
    assert_true(util_parse_memory("3m", &v) && v == 3000000);
    assert_true(util_parse_memory("1gb", &v) && v == 1024LL * 1024 * 1024);
    assert_true(util_parse_memory("1g", &v) && v == 1000000000LL);
    assert_false(util_parse_memory("", &v));
    assert_false(util_parse_memory("kb", &v));
    assert_false(util_parse_memory("1 kb", &v));
    assert_false(util_parse_memory("1tb", &v));
    assert_false(util_parse_memory("-1kb", &v));
    assert_false(util_parse_memory("99999999999999999999", &v));
    assert_false(util_parse_memory("9999999999999gb", &v));

    char err[256], out[64];
    assert_int_equal(apply("maxmemory 2mb", err, sizeof(err)), 0);
    get("maxmemory", out, sizeof(out));
    assert_string_equal(out, "2097152");
    assert_int_equal(apply("client-query-buffer-limit 1gb", err, sizeof(err)), 0);
    assert_int_equal(apply("maxmemory lots", err, sizeof(err)), -1);
    assert_string_equal(err, "argument must be a memory value");
}

static void test_bounds_and_types(void **state)
{
    char err[256], out[64];
    (void)state;
    assert_int_equal(apply("port 65536", err, sizeof(err)), -1);
    assert_string_equal(err, "argument must be between 0 and 65535 inclusive");
    assert_int_equal(apply("port -1", err, sizeof(err)), -1);
    assert_int_equal(apply("port abc", err, sizeof(err)), -1);
    assert_string_equal(err, "argument couldn't be parsed into an integer");
    assert_int_equal(apply("port 7000", err, sizeof(err)), 0);
    get("port", out, sizeof(out));
    assert_string_equal(out, "7000");
    assert_int_equal(apply("port 1 2", err, sizeof(err)), -1);
    assert_string_equal(err, "wrong number of arguments");
    /* a proto-max-bulk-len below 1mb is refused (as Redis) */
    assert_int_equal(apply("proto-max-bulk-len 1000", err, sizeof(err)), -1);
    assert_int_equal(apply("daemonize maybe", err, sizeof(err)), -1);
    assert_string_equal(err, "argument must be 'yes' or 'no'");
    assert_int_equal(apply("daemonize YES", err, sizeof(err)), 0);
    get("daemonize", out, sizeof(out));
    assert_string_equal(out, "yes");
    assert_int_equal(apply("loglevel loud", err, sizeof(err)), -1);
    assert_string_equal(err, "argument(s) must be one of the following: debug, verbose, notice, warning");
    assert_int_equal(apply("loglevel WARNING", err, sizeof(err)), 0);
    get("loglevel", out, sizeof(out));
    assert_string_equal(out, "warning");
    assert_int_equal(apply("unixsocketperm 700", err, sizeof(err)), 0);
    get("unixsocketperm", out, sizeof(out));
    assert_string_equal(out, "700");
    assert_int_equal(apply("unixsocketperm 800", err, sizeof(err)), -1);
    assert_int_equal(apply("nosuchdirective 1", err, sizeof(err)), -1);
    assert_int_equal(apply("appendonly maybe", err, sizeof(err)), -1);
    assert_int_equal(apply("appendfsync sometimes", err, sizeof(err)), -1);
    assert_int_equal(apply("bind 127.0.0.1 ::1", err, sizeof(err)), 0);
    get("bind", out, sizeof(out));
    assert_string_equal(out, "127.0.0.1 ::1");
    assert_int_equal(apply("client-output-buffer-limit normal 1mb 512kb 10", err, sizeof(err)), 0);
    assert_int_equal(srv.obuf_limits[OBUF_NORMAL].hard_bytes, 1024 * 1024);
    assert_int_equal(srv.obuf_limits[OBUF_NORMAL].soft_bytes, 512 * 1024);
    assert_int_equal(srv.obuf_limits[OBUF_NORMAL].soft_seconds, 10);
    assert_int_equal(srv.obuf_limits[OBUF_REPLICA].hard_bytes, 256 * 1024 * 1024);
    assert_int_equal(apply("client-output-buffer-limit bogus 1 1 1", err, sizeof(err)), -1);
    assert_int_equal(apply("client-output-buffer-limit normal 1 1", err, sizeof(err)), -1);
}

static void test_split_args(void **state)
{
    int argc;
    (void)state;
    char **argv = config_split_args("requirepass \"a b\\x41\\n\" 'it\\'s' plain", &argc);
    assert_non_null(argv);
    assert_int_equal(argc, 4);
    assert_string_equal(argv[1], "a bA\n");
    assert_string_equal(argv[2], "it's");
    assert_string_equal(argv[3], "plain");
    config_free_args(argv, argc);
    assert_null(config_split_args("a \"unterminated", &argc));
    assert_null(config_split_args("a \"closed\"glued", &argc));
    argv = config_split_args("   ", &argc);
    assert_int_equal(argc, 0);
    config_free_args(argv, argc);
}

static void test_set_atomic(void **state)
{
    char err[512], out[64];
    (void)state;
    char *names[] = {"maxclients", "timeout", "port"};
    char *values[] = {"500", "30", "7001"};
    /* port is immutable: nothing changes */
    assert_int_equal(config_set_pairs(3, names, values, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "can't set immutable config"));
    get("maxclients", out, sizeof(out));
    assert_string_equal(out, "10000");
    get("timeout", out, sizeof(out));
    assert_string_equal(out, "0");
    /* a bad value in the last pair: nothing changes */
    char *n2[] = {"timeout", "slowlog-max-len"};
    char *v2[] = {"30", "-5"};
    assert_int_equal(config_set_pairs(2, n2, v2, err, sizeof(err)), -1);
    assert_string_equal(err, "ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument must be between 0 and 2147483647 inclusive");
    get("timeout", out, sizeof(out));
    assert_string_equal(out, "0");
    /* duplicates are refused */
    char *n3[] = {"timeout", "TIMEOUT"};
    char *v3[] = {"1", "2"};
    assert_int_equal(config_set_pairs(2, n3, v3, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "duplicate parameter"));
    /* unknown */
    char *n4[] = {"nope"};
    char *v4[] = {"1"};
    assert_int_equal(config_set_pairs(1, n4, v4, err, sizeof(err)), -1);
    assert_string_equal(err, "ERR Unknown option or number of arguments for CONFIG SET - 'nope'");
    /* good pairs apply together */
    char *n5[] = {"timeout", "slowlog-max-len", "maxmemory"};
    char *v5[] = {"30", "5", "1mb"};
    assert_int_equal(config_set_pairs(3, n5, v5, err, sizeof(err)), 0);
    get("timeout", out, sizeof(out));
    assert_string_equal(out, "30");
    get("slowlog-max-len", out, sizeof(out));
    assert_string_equal(out, "5");
    get("maxmemory", out, sizeof(out));
    assert_string_equal(out, "1048576");
}

typedef struct seen {
    char names[64][64];
    int n;
} seen;

static void collect(void *ctx, const char *name, const char *value)
{
    seen *s = ctx;
    (void)value;
    snprintf(s->names[s->n++], 64, "%s", name);
}

static void test_get_glob(void **state)
{
    (void)state;
    seen s = {.n = 0};
    char *pats[] = {"*max*", "maxclients"};
    int n = config_get_matching(2, pats, collect, &s);
    assert_int_equal(n, s.n);
    int has_maxclients = 0, has_maxmemory = 0;
    for (int i = 0; i < s.n; i++) {
        if (!strcmp(s.names[i], "maxclients")) has_maxclients++;
        if (!strcmp(s.names[i], "maxmemory")) has_maxmemory++;
        assert_non_null(strstr(s.names[i], "max"));
    }
    assert_int_equal(has_maxclients, 1); /* reported once though two patterns match */
    assert_int_equal(has_maxmemory, 1);
    s.n = 0;
    char *p2[] = {"p?rt"};
    assert_int_equal(config_get_matching(1, p2, collect, &s), 1);
    assert_string_equal(s.names[0], "port");
    s.n = 0;
    char *p3[] = {"nothing-matches"};
    assert_int_equal(config_get_matching(1, p3, collect, &s), 0);
}

static void test_rewrite(void **state)
{
    char path[] = "/tmp/vectis-test-config-XXXXXX";
    char err[512];
    (void)state;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *orig = "# my comment\n"
                       "timeout 5\n"
                       "some-unknown-directive keep me\n"
                       "timeout 6\n"
                       "\n";
    assert_int_equal(write(fd, orig, strlen(orig)), (ssize_t)strlen(orig));
    close(fd);
    srv.timeout_s = 42;
    srv.maxclients = 123;
    assert_int_equal(config_rewrite(path, err, sizeof(err)), 0);
    FILE *f = fopen(path, "r");
    char text[4096];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_non_null(strstr(text, "# my comment\n"));
    assert_non_null(strstr(text, "some-unknown-directive keep me\n"));
    assert_non_null(strstr(text, "timeout 42\n"));
    assert_null(strstr(text, "timeout 6"));            /* duplicate dropped */
    assert_non_null(strstr(text, "# Generated by CONFIG REWRITE\nmaxclients 123\n"));
    assert_null(strstr(text, "\nport "));               /* defaults not added */
    /* without the unknown line, the rewritten file loads back */
    f = fopen(path, "w");
    fputs("# only known\ntimeout 1\n", f);
    fclose(f);
    assert_int_equal(config_rewrite(path, err, sizeof(err)), 0);
    server_init_defaults();
    assert_int_equal(config_load(path, NULL), 0);
    assert_int_equal(srv.timeout_s, 42);
    assert_int_equal(srv.maxclients, 123);
    unlink(path);
    assert_int_equal(config_rewrite(NULL, err, sizeof(err)), -1);
}

static void test_load_errors(void **state)
{
    (void)state;
    assert_int_equal(config_load(NULL, "port 7000\nmaxclients 77"), 0);
    assert_int_equal(srv.port, 7000);
    assert_int_equal(srv.maxclients, 77);
    assert_int_equal(config_load(NULL, "port 7000\nport nope"), -1);
    assert_int_equal(config_load(NULL, "requirepass \"open"), -1);
    assert_int_equal(config_load("/nonexistent/vectis.conf", NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, setup),
        cmocka_unit_test_setup(test_units, setup),
        cmocka_unit_test_setup(test_bounds_and_types, setup),
        cmocka_unit_test_setup(test_split_args, setup),
        cmocka_unit_test_setup(test_set_atomic, setup),
        cmocka_unit_test_setup(test_get_glob, setup),
        cmocka_unit_test_setup(test_rewrite, setup),
        cmocka_unit_test_setup(test_load_errors, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
