/*
 * test_commands.c -- unit tests of the command table and the central
 * checks of command_process(): lookup (case-insensitive), the Redis arity
 * rule (n exact, -n at least n) for commands and subcommands, the exact
 * wording of unknown-command / unknown-subcommand / wrong-arity / NOAUTH
 * errors, and the commandstats counters. A client here is a bare struct
 * with an output buffer: no sockets are involved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "client.h"
#include "commands.h"
#include "config.h"
#include "server.h"

static client *fake_client(void)
{
    client *c = xcalloc(1, sizeof(*c));
    resp_buf_init(&c->out, 2);
    c->proto = 2;
    c->flags = CLIENT_AUTHENTICATED;
    snprintf(c->addr, sizeof(c->addr), "127.0.0.1:1");
    return c;
}

static void free_client(client *c)
{
    resp_buf_free(&c->out);
    xfree(c->name);
    xfree(c);
}

/* Runs a space-separated command and returns its reply (static buffer). */
static const char *run(client *c, const char *line)
{
    static char reply[8192];
    char buf[1024];
    char *argv[64];
    size_t lens[64];
    int argc = 0;
    snprintf(buf, sizeof(buf), "%s", line);
    for (char *tok = strtok(buf, " "); tok && argc < 64; tok = strtok(NULL, " ")) {
        argv[argc] = tok;
        lens[argc] = strlen(tok);
        argc++;
    }
    resp_buf_reset(&c->out);
    command_process(c, argc, argv, lens);
    size_t n = c->out.len < sizeof(reply) - 1 ? c->out.len : sizeof(reply) - 1;
    memcpy(reply, c->out.buf, n);
    reply[n] = '\0';
    return reply;
}

static int setup(void **state)
{
    (void)state;
    server_init_defaults();
    commands_init();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    commands_free();
    return 0;
}

static void test_lookup(void **state)
{
    (void)state;
    assert_non_null(command_lookup("ping", 4));
    assert_non_null(command_lookup("PiNg", 4));
    assert_null(command_lookup("pingx", 5));
    size_t n;
    command *t = command_table(&n);
    assert_true(n >= 15);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(t[i].summary);
        assert_non_null(t[i].group);
        assert_true(t[i].arity != 0);
        for (command *s = t[i].subcommands; s && s->name; s++) {
            assert_ptr_equal(s->parent, &t[i]);
            assert_true(s->arity <= -2 || s->arity >= 2); /* counts name and subcommand */
            assert_non_null(strchr(s->fullname, '|'));
        }
    }
}

static void test_arity(void **state)
{
    client *c = fake_client();
    (void)state;
    assert_string_equal(run(c, "PING"), "+PONG\r\n");
    assert_string_equal(run(c, "ping hello"), "$5\r\nhello\r\n");
    assert_string_equal(run(c, "ECHO"), "-ERR wrong number of arguments for 'echo' command\r\n");
    assert_string_equal(run(c, "echo a b"), "-ERR wrong number of arguments for 'echo' command\r\n");
    assert_string_equal(run(c, "echo a"), "$1\r\na\r\n");
    assert_string_equal(run(c, "TIME x"), "-ERR wrong number of arguments for 'time' command\r\n");
    assert_string_equal(run(c, "CLIENT"), "-ERR wrong number of arguments for 'client' command\r\n");
    assert_string_equal(run(c, "CLIENT SETNAME"),
                        "-ERR wrong number of arguments for 'client|setname' command\r\n");
    assert_string_equal(run(c, "client setname a b"),
                        "-ERR wrong number of arguments for 'client|setname' command\r\n");
    assert_string_equal(run(c, "CLIENT setname foo"), "+OK\r\n");
    assert_string_equal(run(c, "client GETNAME"), "$3\r\nfoo\r\n");
    assert_string_equal(run(c, "CONFIG SET maxclients"),
                        "-ERR wrong number of arguments for 'config|set' command\r\n");
    assert_string_equal(run(c, "CLIENT FOO"), "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n");
    assert_string_equal(run(c, "config nope x"),
                        "-ERR unknown subcommand 'nope'. Try CONFIG HELP.\r\n");
    /* COMMAND alone is valid (it has its own handler) */
    assert_int_equal(run(c, "COMMAND")[0], '*');
    assert_string_equal(run(c, "COMMAND COUNT x"),
                        "-ERR wrong number of arguments for 'command|count' command\r\n");
    free_client(c);
}

static void test_unknown(void **state)
{
    client *c = fake_client();
    (void)state;
    assert_string_equal(run(c, "NOPE a b"),
                        "-ERR unknown command 'NOPE', with args beginning with: 'a' 'b' \r\n");
    assert_string_equal(run(c, "nope"), "-ERR unknown command 'nope', with args beginning with: \r\n");
    /* Long arguments are cut at 128 bytes in total, as Redis. */
    char line[600];
    memset(line, 0, sizeof(line));
    strcpy(line, "xx ");
    memset(line + 3, 'a', 300);
    const char *r = run(c, line);
    assert_true(strlen(r) < 128 + 80);
    free_client(c);
}

static void test_noauth(void **state)
{
    client *c = fake_client();
    (void)state;
    char *n[] = {"requirepass"};
    char *v[] = {"secret"};
    char err[256];
    assert_int_equal(config_set_pairs(1, n, v, err, sizeof(err)), 0);
    c->flags &= ~CLIENT_AUTHENTICATED;
    assert_string_equal(run(c, "PING"), "-NOAUTH Authentication required.\r\n");
    assert_string_equal(run(c, "CLIENT ID"), "-NOAUTH Authentication required.\r\n");
    /* unknown commands are reported as unknown even before AUTH (as Redis 7) */
    assert_string_equal(run(c, "NOPE"), "-ERR unknown command 'NOPE', with args beginning with: \r\n");
    assert_string_equal(run(c, "AUTH wrong"),
                        "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    assert_string_equal(run(c, "AUTH secret"), "+OK\r\n");
    assert_string_equal(run(c, "PING"), "+PONG\r\n");
    free_client(c);
}

static void test_stats(void **state)
{
    client *c = fake_client();
    (void)state;
    commands_reset_stats();
    command *ping = command_lookup("ping", 4);
    command *echo = command_lookup("echo", 4);
    run(c, "PING");
    run(c, "PING");
    run(c, "ECHO");         /* rejected: arity */
    run(c, "PING a b");     /* failed: the handler replied an error */
    assert_int_equal(ping->calls, 3);
    assert_int_equal(ping->failed_calls, 1);
    assert_int_equal(echo->calls, 0);
    assert_int_equal(echo->rejected_calls, 1);
    free_client(c);
}

/* client_next_is: the name of the next buffered multibulk request, any
 * case; an inline request, another name, a prefix of the name, a cut
 * header or a bad length is "no". */
static int next_is(const char *in, const char *name)
{
    static const resp_limits lim = {.max_bulk_len = 1 << 20,
                                    .max_multibulk_len = 1 << 10,
                                    .max_inline_len = 1 << 10};
    client c;
    memset(&c, 0, sizeof(c));
    c.parser = resp_parser_new(&lim);
    resp_parser_feed(c.parser, in, strlen(in));
    int r = client_next_is(&c, name);
    resp_parser_free(c.parser);
    return r;
}

static void test_next_is(void **state)
{
    (void)state;
    assert_true(next_is("*3\r\n$4\r\nVSIM\r\n$1\r\nk\r\n", "vsim"));
    assert_true(next_is("*12\r\n$4\r\nvSiM\r\n", "vsim")); /* name complete is enough */
    assert_false(next_is("*1\r\n$4\r\nVADD\r\n", "vsim"));
    assert_false(next_is("*1\r\n$5\r\nVSIMX\r\n", "vsim"));
    assert_false(next_is("*1\r\n$4\r\nVSI", "vsim"));
    assert_false(next_is("*1\r\n$", "vsim"));
    assert_false(next_is("VSIM k VALUES 1 0\r\n", "vsim"));
    assert_false(next_is("*\r\n$4\r\nVSIM\r\n", "vsim"));
    assert_false(next_is("*1\r\n$04x\r\nVSIM\r\n", "vsim"));
    assert_false(next_is("*1\r\n$0000004\r\nVSIM\r\n", "vsim"));
    assert_false(next_is("", "vsim"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_noauth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
        cmocka_unit_test(test_next_is),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
