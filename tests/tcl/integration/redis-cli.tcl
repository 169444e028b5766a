# redis-cli (Debian redis-tools 7.0) against the server: one-shot commands,
# commands fed on stdin (the interactive REPL reading lines), --pipe with
# 100,000 commands, -3 (RESP3 printing), -a/--user, -n, -s, and `help`,
# which uses the server's COMMAND DOCS.

proc cli {args} {
    set res [run_program [list redis-cli -p [srv 0 port] {*}$args] 60]
    return $res
}

proc cli_stdin {input args} {
    return [run_program [list redis-cli -p [srv 0 port] {*}$args] 60 $input]
}

start_server {tags {cli}} {
    test {redis-cli one-shot commands} {
        assert_equal [list 0 "PONG\n"] [cli ping]
        assert_equal [list 0 "hello world\n"] [cli echo "hello world"]
        assert_equal [list 0 "0\n"] [cli dbsize]
    }

    test {redis-cli formatted (--no-raw) replies} {
        assert_equal "1) \"port\"\n2) \"[srv 0 port]\"\n" [lindex [cli --no-raw config get port] 1]
        assert_equal "(integer) 0\n" [lindex [cli --no-raw dbsize] 1]
        assert_equal "(nil)\n" [lindex [cli --no-raw client getname] 1]
        assert_match "(error) ERR unknown command 'nosuch'*" [lindex [cli --no-raw nosuch x] 1]
    }

    test {redis-cli reading commands on stdin (interactive-style session)} {
        set in "ping\necho \"hello world\"\nclient setname clisession\nclient getname\nconfig get maxclients\n"
        lassign [cli_stdin $in] code out
        assert_equal 0 $code
        assert_equal "PONG\nhello world\nOK\nclisession\nmaxclients\n10000\n" $out
    }

    test {redis-cli `help <command>` shows the server's COMMAND DOCS} {
        set summary [dict get [lindex [r command docs ping] 1] summary]
        lassign [cli_stdin "help ping\n"] code out
        assert_equal 0 $code
        # Strip the terminal colour codes.
        regsub -all {\x1b\[[0-9;]*m} $out {} out
        assert_match "*PING*\[message\]*summary: $summary*group:*" $out
    }

    test {redis-cli -3: RESP3 map printing of HELLO and CONFIG GET} {
        lassign [cli -3 --no-raw config get port] code out
        assert_equal 0 $code
        assert_equal "1# \"port\" => \"[srv 0 port]\"\n" $out
        lassign [cli -3 --no-raw hello 3] code out
        assert_match "1# \"server\" => \"*\"\n2# \"version\" => \"*\"\n3# \"proto\" => (integer) 3\n4# \"id\" => (integer) *\n5# \"mode\" => \"standalone\"\n6# \"role\" => \"master\"\n7# \"modules\" => (empty array)\n" $out
        assert_equal "(nil)\n" [lindex [cli -3 --no-raw client getname] 1]
    }

    test {redis-cli -n 0} {
        assert_equal [list 0 "PONG\n"] [cli -n 0 ping]
    }

    tags {vectis-only} {
        test {redis-cli -n 1 fails cleanly (only db 0)} {
            lassign [cli -n 1 ping] code out
            assert_match "*DB index is out of range*" $out
        }
    }

    test {redis-cli --pipe with 100,000 commands: errors 0, replies 100000} {
        set unit "PING\r\n[vt_resp_command {echo piped}]ECHO inline\r\n\r\nPING\r\n"
        set input [string repeat $unit 25000]
        lassign [run_program [list redis-cli -p [srv 0 port] --pipe] 120 $input] code out
        assert_equal 0 $code "output: $out"
        assert_match "*errors: 0, replies: 100000*" $out
        assert_equal PONG [r ping]
    }

    test {redis-cli --pipe counts error replies} {
        set input [string repeat "PING\r\nnosuchcommand\r\n" 10]
        lassign [run_program [list redis-cli -p [srv 0 port] --pipe] 60 $input] code out
        assert_match "*errors: 10, replies: 20*" $out
    }
}

start_server {tags {cli} overrides {requirepass clipass}} {
    test {redis-cli -a and --user default -a} {
        assert_equal [list 0 "PONG\n"] [cli --no-auth-warning -a clipass ping]
        assert_equal [list 0 "PONG\n"] [cli --no-auth-warning --user default -a clipass ping]
        lassign [cli --no-auth-warning -a wrong ping] code out
        assert_match "*WRONGPASS*" $out
        assert_match "*NOAUTH*" [lindex [cli ping] 1]
    }
}

start_server {tags {cli} overrides {unixsocket %DIR%/cli.sock}} {
    test {redis-cli -s over the unix socket} {
        set res [run_program [list redis-cli -s [file join [srv 0 dir] cli.sock] echo viaunix] 10]
        assert_equal [list 0 "viaunix\n"] $res
    }
}
