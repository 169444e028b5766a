# Robustness: connection churn without fd or client leaks, randomly chunked
# pipelines, clients vanishing with large pending output, start-up failures
# of the environment (port in use, bad bind address, bad dir or logfile),
# timeout exemptions, unix socket file lifecycle.

proc connected_clients {} { return [info_field connected_clients clients] }

# Waits until the server's fd count and client count return to a baseline.
proc wait_baseline {fds clients} {
    # Callers measure fds and clients after `r ping`, so the default client's
    # connection is part of the baseline.
    wait_for_condition 250 20 {[connected_clients] == $clients} else {
        fail "connected_clients [connected_clients], expected $clients"
    }
    wait_for_condition 250 20 {[server_fd_count] == $fds} else {
        fail "server has [server_fd_count] open fds, expected $fds (fd leak)"
    }
}

start_server {tags {robustness}} {
    test {Connection churn (2000 connects, many ways of leaving) leaks no fd or client} {
        r ping
        set fds [server_fd_count]
        set clients [connected_clients]
        for {set i 0} {$i < 2000} {incr i} {
            set c [raw_client]
            switch [expr {$i % 5}] {
                0 { }
                1 { $c write "PING\r\n"; $c flush; $c read }
                2 { $c write "*1\r\n\$-5\r\n"; $c flush; $c wait_close 5 }
                3 { $c write "QUIT\r\n"; $c flush; $c wait_close 5 }
                4 { $c write "*3\r\n\$4\r\nECHO\r\n\$3\r\nab" ; $c flush }
            }
            $c close
        }
        wait_baseline $fds $clients
        assert_equal PONG [r ping]
    }

    test {Randomly chunked pipelines of random binary ECHOs come back intact} {
        set c [raw_client]
        for {set round 0} {$round < 20} {incr round} {
            set expected {}
            set stream ""
            for {set i 0} {$i < 50} {incr i} {
                set v [randbytes [expr {int(rand() * 300)}]]
                if {rand() < 0.2} {
                    # Inline form, with a printable payload.
                    set v [randstr [expr {1 + int(rand() * 20)}]]
                    append stream "ECHO $v\r\n"
                } else {
                    append stream [vt_resp_command [list echo $v]]
                }
                lappend expected $v
            }
            set pos 0
            set len [string length $stream]
            while {$pos < $len} {
                set n [expr {1 + int(rand() * 700)}]
                $c write [string range $stream $pos [expr {$pos + $n - 1}]]
                $c flush
                incr pos $n
                if {rand() < 0.3} { vt_sleep 1 }
            }
            foreach v $expected {
                set got [$c read]
                if {$got ne $v} { fail "round $round: expected [string length $v] bytes, got '[vt_short $got]'" }
            }
        }
        $c close
    }

    test {A client that disconnects with megabytes of unsent replies is freed} {
        r ping
        set fds [server_fd_count]
        set clients [connected_clients]
        set mem [info_field used_memory memory]
        for {set i 0} {$i < 5} {incr i} {
            set c [raw_client]
            $c write_noread [string repeat [vt_resp_command [list echo [string repeat m 100000]]] 200] 5
            vt_sleep 50
            $c close
        }
        wait_baseline $fds $clients
        wait_for_condition 250 20 {[info_field used_memory memory] < $mem + 2097152} else {
            fail "used_memory [info_field used_memory memory] did not return near $mem"
        }
    }

    test {CLIENT KILL of a client with a large pending output and of a MONITOR client} {
        r ping
        set fds [server_fd_count]
        set clients [connected_clients]
        set big [raw_client]
        $big write_noread [string repeat [vt_resp_command [list echo [string repeat k 100000]]] 100] 5
        set mon [redis_deferring_client]
        $mon monitor
        $mon read
        vt_sleep 50
        set n 0
        foreach line [vt_client_list_lines [r client list]] {
            set id [dict get [vt_client_line_dict $line] id]
            if {$id != [r client id]} { incr n [r client kill id $id] }
        }
        assert_equal 2 $n
        $big close
        $mon close
        wait_baseline $fds $clients
        r echo after-kill
        assert_equal PONG [r ping]
    }

    test {QUIT after a large pipelined reply still delivers everything before closing} {
        set c [raw_client]
        $c write "[string repeat [vt_resp_command [list echo [string repeat q 50000]]] 100]QUIT\r\n"
        $c flush
        set out [$c read_until_close 20]
        assert_equal [expr {100 * (50000 + 10) + 5}] [string length $out]
        assert_equal "+OK\r\n" [string range $out end-4 end]
        $c close
    }

    test {RESET stops MONITOR} {
        set m [redis_deferring_client]
        $m monitor
        assert_equal OK [$m read]
        $m reset
        # Depending on timing the reset reply may follow monitor lines of
        # other clients' commands; after RESET nothing more arrives.
        set rep [$m read]
        while {$rep ne "RESET"} { set rep [$m read] }
        r echo not-monitored
        vt_sleep 100
        assert_equal 0 [$m pending]
        $m ping
        assert_equal PONG [$m read]
        $m close
    }
}

start_server {tags {robustness timeout} overrides {timeout 1}} {
    test {MONITOR clients are exempt from the idle timeout} {
        set m [redis_deferring_client]
        $m monitor
        $m read
        set idle [redis_client]
        $idle ping
        assert {[$idle wait_close 6]} "idle client not closed"
        assert_equal 0 [$m wait_close 0.1]
        set c [redis_client]
        $c echo seen
        assert_match {*"echo" "seen"} [$m read]
        $c close
        $m close
        $idle close
    }

    tags {vectis-only} {
        test {A client waiting on a worker is not closed by the idle timeout} {
            set a [redis_client]
            assert_equal OK [$a debug worker-sleep 3]
            assert_equal PONG [$a ping]
            $a close
        }
    }
}

start_server {tags {robustness unix} overrides {unixsocket %DIR%/r.sock}} {
    test {The unix socket file is removed at shutdown and a stale one is replaced} {
        set path [file join [srv 0 dir] r.sock]
        assert {[file exists $path]}
        server_expect_exit
        exec kill -TERM [srv 0 pid]
        assert_equal 0 [wait_for_server_exit]
        assert {![file exists $path]} "socket file left behind after shutdown"
    }
}

start_server {tags {robustness unix} overrides {unixsocket %DIR%/s.sock}} {
    test {A stale unix socket file (server killed) does not prevent a restart} {
        set path [file join [srv 0 dir] s.sock]
        server_expect_exit
        exec kill -KILL [srv 0 pid]
        wait_for_server_exit
        assert {[file exists $path]}
        restart_server
        assert_equal [list 0 "PONG\n"] [run_program [list redis-cli -s $path ping] 10]
    }
}

start_server {tags {robustness startup}} {
    test {Start-up failure: TCP port already in use (exit 1, port named)} {
        set port [srv 0 port]
        set d [vt_start_server_expect_fail [list overrides [list port $port]]]
        assert_equal 1 [dict get $d exitcode] [dict get $d output]
        assert_match "*$port*" [dict get $d output]
        assert_equal PONG [r ping]
    }
}

tags {robustness startup} {
    test {Start-up failure: bind to an address the host does not have} {
        set d [vt_start_server_expect_fail {overrides {bind 192.0.2.1}}]
        assert_equal 1 [dict get $d exitcode] [dict get $d output]
        assert_match "*192.0.2.1*" [dict get $d output]
    }

    test {Start-up failure: dir that does not exist (directive and line named)} {
        assert_bad_config "dir /nonexistent/vectis/dir" dir
    }

    test {Start-up failure: logfile that cannot be opened (exit 1, not a silent server)} {
        set d [vt_start_server_expect_fail {overrides {logfile /nonexistent/vectis/log}}]
        assert_equal 1 [dict get $d exitcode] [dict get $d output]
        assert_match "*log*" [dict get $d output]
    }
}
