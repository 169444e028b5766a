# Core commands and the central command checks: PING, ECHO, TIME, DBSIZE,
# COMMAND and its subcommands, error wording for unknown commands, arity and
# subcommands, DEBUG SLEEP.

start_server {tags {commands}} {
    test {PING replies +PONG as a status reply} {
        assert_equal PONG [r ping]
        assert_equal + [r last_type]
    }

    test {PING with a message replies with that message as a bulk string} {
        assert_equal "hello world" [r ping "hello world"]
        assert_equal \$ [r last_type]
    }

    test {PING with two arguments is an arity error} {
        assert_error "ERR wrong number of arguments for 'ping' command" {r ping a b}
    }

    test {ECHO returns its argument, binary safe} {
        set payload "a\r\nb\x00c\xff"
        assert_equal $payload [r echo $payload]
        assert_equal "" [r echo ""]
    }

    test {ECHO without an argument is an arity error} {
        assert_error "ERR wrong number of arguments for 'echo' command" {r echo}
    }

    test {Command names are case-insensitive} {
        assert_equal PONG [r PiNg]
        assert_equal x [r eChO x]
    }
}
