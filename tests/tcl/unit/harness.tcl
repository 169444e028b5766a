# Self-test of the harness (no server under test): the RESP client against a
# canned in-process server emitting every RESP2/RESP3 type, deadlines and
# closes, the assertion helpers and the tag filter. A harness that parses a
# reply wrongly would make every other file lie, so it is tested first.

# A one-shot fake server: sends `bytes` to the first connection, then closes
# it when `close` is true. Returns the port.
proc fake_server {bytes {close 1}} {
    set port [vt_find_free_port]
    set ::fake_listener [socket -server [list fake_accept $bytes $close] -myaddr 127.0.0.1 $port]
    return $port
}

proc fake_accept {bytes close chan addr port} {
    fconfigure $chan -translation binary -encoding binary
    puts -nonewline $chan $bytes
    flush $chan
    if {$close} { close $chan } else { set ::fake_chan $chan }
    close $::fake_listener
}

tags {harness} {
    test {RESP client parses every RESP2 and RESP3 reply type} {
        set canned [join {
            "+OK" ":42" "\$5\r\nhello" "\$0\r\n" "\$-1" "*-1" "*3\r\n:1\r\n\$1\r\na\r\n*1\r\n+x"
            "%2\r\n+a\r\n:1\r\n+b\r\n,2.5" "~2\r\n+x\r\n+y" ",inf" ",-1.5e3" "#t" "#f" "_"
            "=15\r\ntxt:Some string" ">3\r\n+message\r\n+ch\r\n\$3\r\np q"
            "(12345678901234567890" "|1\r\n+key\r\n+val\r\n+after"
            "*2\r\n-ERR nested\r\n:1" "\$6\r\na\r\nb\x00c" "*0" "%0"
        } "\r\n"]
        set c [vt_client_open 127.0.0.1 [fake_server "$canned\r\n" 0] -deferred 1]
        set expect {
            OK + 42 : hello $ {} $ {} $ {} * {1 a x} * {a 1 b 2.5} % {x y} ~ inf , -1.5e3 ,
            1 # 0 # {} _ {Some string} = {message ch {p q}} > 12345678901234567890 (
            after + {{-ERR nested} 1} * "a\r\nb\x00c" $ {} * {} %
        }
        foreach {value type} [subst -nocommands -novariables $expect] {
            assert_equal $value [$c read]
            assert_equal $type [$c last_type]
        }
        $c close
        close $::fake_chan
    }

    test {RESP client raises error replies (simple and blob) with their text} {
        set c [vt_client_open 127.0.0.1 [fake_server "-ERR bad thing\r\n!9\r\nERR blob!\r\n:1\r\n"] -deferred 1]
        assert_error "ERR bad thing" {$c read}
        assert_error "ERR blob!" {$c read}
        assert_equal 1 [$c read]
        $c close
    }

    test {Raw reads: read_line, read_bytes, read_until_close, wait_close} {
        set c [vt_client_open 127.0.0.1 [fake_server "line one\r\nXYZrest of it"] -deferred 1]
        assert_equal "line one" [$c read_line]
        assert_equal XYZ [$c read_bytes 3]
        assert_equal "rest of it" [$c read_until_close 5]
        $c close
        set c [vt_client_open 127.0.0.1 [fake_server "some data"] -deferred 1]
        assert_equal 1 [$c wait_close 5]
        $c close
    }

    test {A server that says nothing makes reads fail on the deadline, not hang} {
        set c [vt_client_open 127.0.0.1 [fake_server "" 0] -deferred 1 -timeout 0.3]
        set t0 [clock milliseconds]
        assert_error "timeout after 0.3 s*" {$c read}
        assert_range [expr {[clock milliseconds] - $t0}] 250 2000
        assert_equal 0 [$c wait_close 0.2]
        assert_equal 0 [$c pending]
        $c close
        close $::fake_chan
    }

    test {A close in the middle of a reply is reported as a closed connection} {
        set c [vt_client_open 127.0.0.1 [fake_server "\$10\r\nabc"] -deferred 1]
        assert_error "connection closed by server*" {$c read}
        $c close
    }

    test {Commands are sent as RESP multibulk, binary safe} {
        assert_equal "*2\r\n\$4\r\necho\r\n\$5\r\na\r\n\x00b\r\n" [vt_resp_command [list echo "a\r\n\x00b"]]
        assert_equal "*0\r\n" [vt_resp_command {}]
    }

    test {Assertions fail when they should} {
        assert_error "Expected*" {assert_equal 1 2}
        assert_error "Expected*to match*" {assert_match a* b}
        assert_error "Expected error*got reply*" {assert_error * {set x 1}}
        assert_error "Expected error matching*" {assert_error foo* {error bar}}
        assert_error "Expected '5' to be between*" {assert_range 5 1 3}
        assert_error "Assertion failed*" {assert {1 > 2}}
        set n 0
        assert_error "gave up" {wait_for_condition 3 1 {[incr n] > 10} else { fail "gave up" }}
        assert_equal 3 $n
    }

    test {Tag filter: deny wins, allow lists restrict} {
        set saved [list $::vt::allow_tags $::vt::deny_tags]
        set ::vt::allow_tags {}
        set ::vt::deny_tags {slow}
        assert_equal 1 [vt_tags_denied {a slow}]
        assert_equal 0 [vt_tags_denied {a b}]
        set ::vt::allow_tags {b}
        assert_equal 0 [vt_tags_denied {a b}]
        assert_equal 1 [vt_tags_denied {a c}]
        lassign $saved ::vt::allow_tags ::vt::deny_tags
    }
}

start_server {tags {harness}} {
    start_server {} {
        test {Nested servers: srv/r levels address inner (0) and outer (-1)} {
            assert_not_equal [srv 0 port] [srv -1 port]
            assert_equal [srv 0 port] [info_field tcp_port server]
            assert_equal [srv -1 port] [lindex [r -1 config get port] 1]
            set c [redis_client -1]
            assert_equal [srv -1 port] [lindex [$c config get port] 1]
            $c close
        }
    }

    test {The outer server is current again after the inner block} {
        assert_equal [srv 0 port] [lindex [r config get port] 1]
    }

    test {Expected start-up failure is reported with exit code and output} {
        set d [vt_start_server_expect_fail {config_lines {"no-such-directive-at-all 1"}}]
        assert_equal 0 [dict get $d started]
        assert_morethan [dict get $d exitcode] 0
        assert_match "*no-such-directive-at-all*" [dict get $d output]
    }
}
