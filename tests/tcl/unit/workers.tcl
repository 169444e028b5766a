# Worker hand-off (vectis only): a command handed to a worker thread pauses
# only its own connection. Proved with DEBUG WORKER-SLEEP: other clients are
# served meanwhile, the paused client's pipelined replies keep their order,
# search-threads bounds the parallelism, and killing or closing a client that
# waits on a worker leaves the server healthy (and leak-free under ASan: the
# harness fails the file on any sanitizer report at shutdown).

proc connected_clients {} { return [info_field connected_clients clients] }

start_server {tags {workers vectis-only} overrides {search-threads 2}} {
    test {While one client sleeps on a worker, another client's 1000 PINGs complete first} {
        set a [redis_deferring_client]
        set b [redis_client]
        $b ping
        # 0.5 s as specified; longer on sanitizer builds so that 1000 PINGs
        # surely fit in the window on a loaded machine.
        set sleep_ms [expr {500 * $::vt::slow}]
        set t0 [clock milliseconds]
        $a debug worker-sleep [expr {$sleep_ms / 1000.0}]
        $b write [string repeat [vt_resp_command ping] 1000]
        $b flush
        for {set i 0} {$i < 1000} {incr i} {
            set rep [$b read]
            if {$rep ne "PONG"} { fail "PING $i got '$rep'" }
        }
        set tb [expr {[clock milliseconds] - $t0}]
        # The ordering that matters: all 1000 PONGs are in, A's reply is not.
        assert_lessthan $tb [expr {$sleep_ms - 30}]
        assert_equal 0 [$a pending] "the sleeping client replied before the 1000 PINGs finished"
        assert_equal OK [$a read]
        set ta [expr {[clock milliseconds] - $t0}]
        assert_morethan_equal $ta [expr {$sleep_ms - 20}]
        $a close
        $b close
    }

    test {INFO and CONFIG stay fast while a worker sleeps} {
        set a [redis_deferring_client]
        set t0 [clock milliseconds]
        $a debug worker-sleep [expr {$::vt::slow * 1.0}]
        assert_match "*# Server*" [r info]
        r config get port
        assert_lessthan [expr {[clock milliseconds] - $t0}] [expr {$::vt::slow * 1000 - 50}]
        assert_equal 0 [$a pending]
        assert_equal OK [$a read]
        $a close
    }

    test {Pipelined commands after WORKER-SLEEP on the same client come back in order} {
        set a [redis_deferring_client]
        set cmds {{debug worker-sleep 0.2} {ping} {echo x} {debug worker-sleep 0.1} {echo y}
                  {client setname after} {client getname}}
        set buf ""
        foreach c $cmds { append buf [vt_resp_command $c] }
        set t0 [clock milliseconds]
        $a write $buf
        $a flush
        assert_equal OK [$a read]
        assert_morethan_equal [expr {[clock milliseconds] - $t0}] 190
        assert_equal PONG [$a read]
        assert_equal x [$a read]
        assert_equal OK [$a read]
        assert_morethan_equal [expr {[clock milliseconds] - $t0}] 290
        assert_equal y [$a read]
        assert_equal OK [$a read]
        assert_equal after [$a read]
        $a close
    }

    test {A paused client's later commands do not run before the worker finishes} {
        set a [redis_deferring_client]
        $a write "[vt_resp_command {debug worker-sleep 0.3}][vt_resp_command {client setname late}]"
        $a flush
        vt_sleep 100
        set names {}
        foreach line [vt_client_list_lines [r client list]] {
            lappend names [dict get [vt_client_line_dict $line] name]
        }
        assert {[lsearch -exact $names late] < 0} "CLIENT SETNAME ran while paused"
        assert_equal OK [$a read]
        assert_equal OK [$a read]
        $a close
    }

    test {WORKER-SLEEP in RESP3 and argument errors} {
        set a [redis_client]
        $a hello 3
        assert_equal OK [$a debug worker-sleep 0]
        assert_error "ERR*" {$a debug worker-sleep}
        assert_error "ERR*" {$a debug worker-sleep notanumber}
        assert_error "ERR*" {$a debug worker-sleep -1}
        assert_equal PONG [$a ping]
        $a close
    }

    test {CLIENT KILL ID of a client waiting on a worker} {
        set base [connected_clients]
        for {set i 0} {$i < 10} {incr i} {
            set a [redis_deferring_client]
            $a client id
            set id [$a read]
            $a debug worker-sleep 0.3
            vt_sleep [expr {int(rand() * 60)}]
            assert_equal 1 [r client kill id $id]
            assert {[$a wait_close 5]} "killed client still connected"
            $a close
        }
        # Let the orphaned jobs finish and be freed.
        vt_sleep 400
        assert_equal PONG [r ping]
        wait_for_condition 100 20 {[connected_clients] == $base} else {
            fail "connected_clients [connected_clients], expected $base"
        }
        assert_equal 0 [r client kill id $id]
    }

    test {Closing the socket of clients waiting on workers (with pipelined commands)} {
        set base [connected_clients]
        for {set i 0} {$i < 20} {incr i} {
            set a [redis_deferring_client]
            $a ping
            $a read
            $a write "[vt_resp_command {debug worker-sleep 0.2}][string repeat [vt_resp_command ping] 50]"
            $a flush
            vt_sleep [expr {int(rand() * 20)}]
            $a close
        }
        vt_sleep 500
        assert_equal PONG [r ping]
        wait_for_condition 100 20 {[connected_clients] == $base} else {
            fail "connected_clients [connected_clients], expected $base"
        }
    }

    test {CLIENT KILL TYPE normal while several clients wait on workers} {
        set cs {}
        for {set i 0} {$i < 6} {incr i} {
            set a [redis_deferring_client]
            $a debug worker-sleep 0.3
            lappend cs $a
        }
        vt_sleep 50
        assert_morethan_equal [r client kill type normal] 6
        foreach a $cs { assert {[$a wait_close 5]}; $a close }
        vt_sleep 400
        assert_equal PONG [r ping]
    }
}

start_server {tags {workers vectis-only} overrides {search-threads 4}} {
    test {search-threads 4: 8 sleeps of 0.4 s take two rounds, not eight} {
        set cs {}
        set t0 [clock milliseconds]
        for {set i 0} {$i < 8} {incr i} {
            set a [redis_deferring_client]
            $a debug worker-sleep 0.4
            lappend cs $a
        }
        foreach a $cs { assert_equal OK [$a read]; $a close }
        set ms [expr {[clock milliseconds] - $t0}]
        assert_range $ms 780 2400
    }
}

start_server {tags {workers vectis-only} overrides {search-threads 1}} {
    test {search-threads 1: worker jobs of different clients run one at a time} {
        set cs {}
        set t0 [clock milliseconds]
        for {set i 0} {$i < 3} {incr i} {
            set a [redis_deferring_client]
            $a debug worker-sleep 0.3
            lappend cs $a
        }
        foreach a $cs { assert_equal OK [$a read]; $a close }
        assert_morethan_equal [expr {[clock milliseconds] - $t0}] 880
        # The main thread was never blocked.
        assert_equal PONG [r ping]
    }
}

start_server {tags {workers vectis-only} overrides {search-threads 2}} {
    test {QUIT pipelined after a worker job waits for it: +OK, +OK, close} {
        set c [raw_client]
        $c write "[vt_resp_command {debug worker-sleep 0.2}][vt_resp_command {quit}][vt_resp_command {ping}]"
        $c flush
        assert_equal "+OK\r\n+OK\r\n" [$c read_until_close 10]
        $c close
    }

    test {SHUTDOWN pipelined after a worker job runs only after the job} {
        server_expect_exit
        set c [raw_client]
        set t0 [clock milliseconds]
        $c write "[vt_resp_command {debug worker-sleep 0.3}][vt_resp_command {shutdown nosave}]"
        $c flush
        # Like Redis, replies still queued when SHUTDOWN runs may be dropped.
        assert_match {} [string map {"+OK\r\n" ""} [$c read_until_close 10]]
        assert_equal 0 [wait_for_server_exit]
        assert_morethan_equal [expr {[clock milliseconds] - $t0}] 290
        $c close
    }
}

start_server {tags {workers vectis-only} overrides {search-threads 2 client-output-buffer-limit {normal 1mb 0 0}}} {
    test {Output-buffer limit closes a client whose worker job is still running} {
        set base [connected_clients]
        set fds [server_fd_count]
        set echo [vt_resp_command [list echo [string repeat o 65536]]]
        for {set i 0} {$i < 10} {incr i} {
            set c [raw_client]
            set before [string repeat $echo [expr {int(rand() * 200)}]]
            set after [string repeat $echo [expr {int(rand() * 200)}]]
            $c write_noread "$before[vt_resp_command {debug worker-sleep 0.1}]$after" 5
            vt_sleep [expr {int(rand() * 50)}]
            $c close
        }
        vt_sleep 300
        assert_equal PONG [r ping]
        wait_for_condition 250 20 {[connected_clients] == $base && [server_fd_count] == $fds} else {
            fail "clients [connected_clients] (expected $base), fds [server_fd_count] (expected $fds)"
        }
    }

    test {Stress: 200 clients with short worker jobs, half of them vanishing mid-job} {
        set base [connected_clients]
        set cs {}
        for {set i 0} {$i < 200} {incr i} {
            set c [redis_deferring_client]
            $c debug worker-sleep [expr {rand() * 0.05}]
            $c ping
            lappend cs $c
        }
        set n 0
        foreach c $cs {
            if {[incr n] % 2} {
                $c close
            } else {
                assert_equal OK [$c read]
                assert_equal PONG [$c read]
                $c close
            }
        }
        assert_equal PONG [r ping]
        wait_for_condition 250 20 {[connected_clients] == $base} else {
            fail "connected_clients [connected_clients], expected $base"
        }
    }
}
