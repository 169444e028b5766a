# MONITOR: +OK, then one status line per executed command from any client:
# +<sec>.<usec> [0 <ip:port>] "cmd" "arg"...; arguments escaped; AUTH and
# HELLO AUTH arguments redacted; admin commands and rejected commands hidden.

# Reads the next monitor line and splits it into {time addr args}.
proc monitor_next {rd} {
    set line [$rd read]
    if {![regexp {^(\d+\.\d{6}) \[0 ([^\]]+)\] (.*)$} $line -> ts addr rest]} {
        fail "bad MONITOR line '$line'"
    }
    return [list $ts $addr $rest]
}

start_server {tags {monitor}} {
    test {MONITOR replies +OK and streams other clients' commands} {
        set rd [redis_deferring_client]
        $rd monitor
        assert_equal OK [$rd read]
        set c [redis_client]
        $c echo hello
        $c ping
        set caddr [dict get [vt_client_line_dict [$c client info]] addr]
        lassign [monitor_next $rd] ts addr rest
        assert_equal {"echo" "hello"} $rest
        assert_equal $caddr $addr
        assert_range $ts [expr {[clock seconds] - 10}] [expr {[clock seconds] + 1}]
        assert_equal {"ping"} [lindex [monitor_next $rd] 2]
        $c close
        $rd close
    }

    test {MONITOR lines are status replies in the exact Redis shape} {
        set rd [raw_client]
        $rd monitor
        assert_equal "+OK" [$rd read_line]
        r echo shape
        assert_regexp {^\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "echo" "shape"$} [$rd read_line]
        $rd close
    }

    test {MONITOR escapes quotes, CR/LF and non-printable bytes} {
        set rd [redis_deferring_client]
        $rd monitor
        $rd read
        r echo "a\"b"
        r echo "a\r\nb\x01\xff"
        assert_equal {"echo" "a\"b"} [lindex [monitor_next $rd] 2]
        assert_equal {"echo" "a\r\nb\x01\xff"} [lindex [monitor_next $rd] 2]
        $rd close
    }

    test {MONITOR shows inline commands and commands of every client} {
        set rd [redis_deferring_client]
        $rd monitor
        $rd read
        set raw [raw_client]
        $raw write "ECHO inline\r\n"
        $raw flush
        $raw read
        set c2 [redis_client]
        $c2 echo second
        assert_equal {"ECHO" "inline"} [lindex [monitor_next $rd] 2]
        assert_equal {"echo" "second"} [lindex [monitor_next $rd] 2]
        $raw close
        $c2 close
        $rd close
    }

    test {MONITOR hides admin commands and commands that were never run} {
        set rd [redis_deferring_client]
        $rd monitor
        $rd read
        r config get port
        r slowlog len
        r debug sleep 0
        catch {r nosuchcommand}
        catch {r echo}
        r echo visible
        assert_equal {"echo" "visible"} [lindex [monitor_next $rd] 2]
        $rd close
    }

    test {Two monitors both receive every command} {
        set m1 [redis_deferring_client]
        set m2 [redis_deferring_client]
        $m1 monitor
        $m2 monitor
        $m1 read
        $m2 read
        r echo both
        assert_equal {"echo" "both"} [lindex [monitor_next $m1] 2]
        assert_equal {"echo" "both"} [lindex [monitor_next $m2] 2]
        $m1 close
        $m2 close
    }

    test {A closed monitor is removed; the server keeps serving} {
        set base [info_field connected_clients clients]
        for {set i 0} {$i < 10} {incr i} {
            set m [redis_deferring_client]
            $m monitor
            $m read
            $m close
        }
        for {set i 0} {$i < 100} {incr i} { r echo x }
        assert_equal PONG [r ping]
        wait_for_condition 100 20 {[info_field connected_clients clients] <= $base} else {
            fail "monitors not freed"
        }
    }
}

start_server {tags {monitor} overrides {requirepass pw}} {
    test {MONITOR redacts AUTH and HELLO AUTH arguments} {
        set rd [redis_deferring_client]
        $rd auth pw
        $rd read
        $rd monitor
        $rd read
        set c [redis_client]
        catch {$c auth wrongsecret}
        $c auth pw
        $c hello 3 auth default pw
        $c echo done
        set lines {}
        for {set i 0} {$i < 4} {incr i} { lappend lines [lindex [monitor_next $rd] 2] }
        assert_equal {"auth" "(redacted)"} [lindex $lines 0]
        assert_equal {"auth" "(redacted)"} [lindex $lines 1]
        assert_equal {"hello" "3" "auth" "(redacted)" "(redacted)"} [lindex $lines 2]
        assert_equal {"echo" "done"} [lindex $lines 3]
        foreach l $lines { assert_no_match "*secret*" $l; assert_no_match "*\"pw\"*" $l }
        $c close
        $rd close
    }
}
