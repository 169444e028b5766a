# Resource limits and listeners: maxclients (10,000 clients against a limit
# of 9,000), client-output-buffer-limit (a client that never reads), idle
# timeout, unix socket and its permissions, bind to IPv4 and IPv6 loopback,
# tcp-backlog and tcp-keepalive as seen by the kernel (ss).

proc hard_fd_limit {} {
    set l [string trim [exec sh -c "ulimit -Hn"]]
    if {$l eq "unlimited"} { return 1048576 }
    return $l
}

proc ss_lines {args} {
    if {[catch {exec ss {*}$args} out]} { return {} }
    return [lrange [split $out "\n"] 1 end]
}

if {[hard_fd_limit] < 11000} {
    puts "skipping the 10,000-client test: hard fd limit [hard_fd_limit] < 11000"
} else {
start_server {tags {limits maxclients} overrides {maxclients 9000} ulimit 11000} {
    test {maxclients 9000 with 10,000 clients: the extra ones get the error, the rest keep working} {
        set base [info_field connected_clients clients]
        set before_rejected [info_field rejected_connections stats]
        set py [vt_python]
        if {$py eq ""} { fail "python3 is needed for tests/helpers/manyclients.py" }
        set h [open "|[list $py [file join $::vt::helpers manyclients.py] 127.0.0.1 [srv 0 port] 10000] 2>@1" r+]
        fconfigure $h -blocking 0
        set line ""
        set deadline [expr {[clock milliseconds] + 120000}]
        while {[gets $h line] < 0} {
            if {[eof $h] || [clock milliseconds] > $deadline} { break }
            vt_sleep 50
        }
        set stats [regexp -inline -all {"(\w+)": ([0-9.]+)} $line]
        set d [dict create]
        foreach {all k v} $stats { dict set d $k $v }
        set ok [catch {
            assert {[dict exists $d connected]} "helper output: $line"
            set accepted [expr {9000 - $base}]
            assert_equal 10000 [dict get $d connected] "TCP connects ($line)"
            assert_equal [expr {10000 - $accepted}] [dict get $d rejected_with_error] "rejected ($line)"
            assert_equal $accepted [dict get $d pong_ok] "accepted clients answering PING ($line)"
            assert_equal 0 [dict get $d ping_failed] "($line)"
            assert_equal 0 [dict get $d closed_silently] "($line)"
            # While the helper holds its connections the server is full but healthy.
            assert_equal 9000 [info_field connected_clients clients]
            assert_equal [expr {$before_rejected + 10000 - $accepted}] \
                [info_field rejected_connections stats]
            set extra [raw_client]
            assert_equal "-ERR max number of clients reached\r\n" [$extra read_until_close 10]
            $extra close
        } err opts]
        catch {puts $h done; flush $h}
        fconfigure $h -blocking 1
        catch {close $h}
        if {$ok} { return -options $opts $err }
        wait_for_condition 500 20 {[info_field connected_clients clients] == $base} else {
            fail "connected_clients stuck at [info_field connected_clients clients], expected $base"
        }
        set c [redis_client]
        assert_equal PONG [$c ping]
        $c close
    }
}
}

start_server {tags {limits maxclients}} {
    test {CONFIG SET maxclients: the connection past the limit gets the error and is closed} {
        set base [info_field connected_clients clients]
        r config set maxclients [expr {$base + 2}]
        set c1 [redis_client]
        set c2 [redis_client]
        assert_equal PONG [$c1 ping]
        assert_equal PONG [$c2 ping]
        set c3 [raw_client]
        assert_equal "-ERR max number of clients reached\r\n" [$c3 read_until_close 10]
        $c3 close
        assert_equal PONG [$c1 ping]
        $c2 close
        wait_for_condition 100 20 {[info_field connected_clients clients] == $base + 1} else {
            fail "closed client still counted"
        }
        set c4 [redis_client]
        assert_equal PONG [$c4 ping]
        $c1 close
        $c4 close
        r config set maxclients 10000
    }
}

start_server {tags {limits obuf} overrides {client-output-buffer-limit {normal 1mb 0 0}}} {
    test {A client that never reads is closed by the hard output-buffer limit; memory returns} {
        set base_mem [info_field used_memory memory]
        set base_clients [info_field connected_clients clients]
        set c [raw_client]
        set cmd [vt_resp_command [list echo [string repeat x 65536]]]
        set res ok
        for {set i 0} {$i < 50 && $res eq "ok"} {incr i} {
            # 64 MB of requests in total, each producing a 64 KB reply.
            set res [$c write_noread [string repeat $cmd 20] 10]
        }
        assert {$res ne "stuck"} "server stopped reading from the client instead of closing it"
        assert {[$c wait_close 10]} "client still connected after 64 MB of unread replies"
        $c close
        assert_equal PONG [r ping]
        wait_for_condition 250 20 {[info_field connected_clients clients] == $base_clients} else {
            fail "client not freed"
        }
        wait_for_condition 250 20 {[info_field used_memory memory] < $base_mem + 2097152} else {
            fail "used_memory [info_field used_memory memory] did not return near $base_mem"
        }
    }

    test {A client that reads its replies is not affected by the limit} {
        set c [raw_client]
        set cmd [vt_resp_command [list echo [string repeat y 65536]]]
        for {set i 0} {$i < 10} {incr i} {
            $c write [string repeat $cmd 10]
            $c flush
            for {set j 0} {$j < 10} {incr j} {
                assert_equal 65536 [string length [$c read]]
            }
        }
        $c close
    }

    test {Soft limit: above it for longer than the given seconds closes the client} {
        r config set client-output-buffer-limit "normal 0 256kb 1"
        set c [raw_client]
        set cmd [vt_resp_command [list echo [string repeat s 65536]]]
        set t0 [clock milliseconds]
        # 24 MB of replies at once: far more than the socket buffers hold, so
        # the server-side buffer stays above the soft limit...
        set closed [expr {[$c write_noread [string repeat $cmd 384] 5] ne "ok"}]
        # ...while small commands keep adding to it. Reading would drain the
        # buffer, so the close is seen as a failed write (reset connection).
        while {!$closed && [clock milliseconds] - $t0 < 8000} {
            if {[$c write_noread [vt_resp_command {ping}] 2] ne "ok"} { set closed 1; break }
            vt_sleep 100
        }
        assert {$closed} "client above the soft limit for 8 s was not closed"
        assert_morethan_equal [expr {[clock milliseconds] - $t0}] 900
        $c close
        assert_equal PONG [r ping]
        r config set client-output-buffer-limit "normal 1mb 0 0"
    }
}

start_server {tags {limits timeout} overrides {timeout 1}} {
    test {Idle clients are closed after timeout; active ones are kept} {
        set idle [redis_client]
        set busy [redis_client]
        $idle ping
        set t0 [clock milliseconds]
        for {set i 0} {$i < 12} {incr i} {
            assert_equal PONG [$busy ping]
            vt_sleep 250
        }
        assert {[$idle wait_close 5]} "idle client still connected after [expr {([clock milliseconds] - $t0) / 1000}] s"
        assert_equal PONG [$busy ping]
        $idle close
        $busy close
    }

    test {CONFIG SET timeout 0 disables the idle timeout} {
        set admin [redis_client]
        $admin config set timeout 0
        $admin close
        set c [redis_client]
        $c ping
        vt_sleep 2500
        assert_equal PONG [$c ping]
        $c close
    }
}

start_server {tags {limits unix} overrides {unixsocket %DIR%/vectis.sock unixsocketperm 700}} {
    test {unixsocket is created with unixsocketperm and serves redis-cli} {
        set path [file join [srv 0 dir] vectis.sock]
        assert_equal socket [file type $path]
        assert_equal 0700 [format %04o [expr {[file attributes $path -permissions] & 0777}]]
        set res [run_program [list redis-cli -s $path ping] 10]
        assert_equal [list 0 "PONG\n"] $res
        set res [run_program [list redis-cli -s $path echo unix] 10]
        assert_equal "unix\n" [lindex $res 1]
    }

    test {CONFIG GET unixsocket / unixsocketperm} {
        assert_equal [file join [srv 0 dir] vectis.sock] [lindex [r config get unixsocket] 1]
        assert_match "*700" [lindex [r config get unixsocketperm] 1]
    }
}

start_server {tags {limits unix} overrides {port 0 unixsocket %DIR%/only.sock unixsocketperm 755}} {
    test {port 0: no TCP listener, the unix socket alone serves} {
        set path [file join [srv 0 dir] only.sock]
        assert_equal 0755 [format %04o [expr {[file attributes $path -permissions] & 0777}]]
        assert_equal [list 0 "PONG\n"] [run_program [list redis-cli -s $path ping] 10]
        assert_equal "port\n0" [string trim [lindex [run_program [list redis-cli -s $path config get port] 10] 1]]
    }
}

start_server {tags {limits bind} overrides {bind {127.0.0.1 ::1}}} {
    test {bind 127.0.0.1 ::1 listens on both loopback addresses} {
        foreach host {127.0.0.1 ::1} {
            set c [vt_client_open $host [srv 0 port]]
            assert_equal PONG [$c ping]
            $c close
        }
    }
}

start_server {tags {limits bind} overrides {bind 127.0.0.1}} {
    test {bind 127.0.0.1 does not listen on ::1} {
        assert {[catch {socket ::1 [srv 0 port]} s]} "connected to ::1"
        assert_equal PONG [r ping]
    }
}

start_server {tags {limits tcp} overrides {tcp-backlog 100 tcp-keepalive 100}} {
    test {tcp-backlog is the listen backlog (ss Send-Q)} {
        set lines [ss_lines -ltn "( sport = :[srv 0 port] )"]
        if {[llength $lines] == 0} { fail "ss shows no listener (is ss installed?)" }
        foreach l $lines {
            assert_equal 100 [lindex $l 2] "listener line: $l"
        }
    }

    test {tcp-keepalive sets a keepalive timer on accepted connections} {
        set c [redis_client]
        $c ping
        set lines [ss_lines -tno state established "( sport = :[srv 0 port] )"]
        assert_morethan [llength $lines] 0
        foreach l $lines {
            assert_match "*timer:(keepalive,*" $l
        }
        $c close
    }
}

start_server {tags {limits tcp} overrides {tcp-keepalive 0}} {
    test {tcp-keepalive 0 leaves connections without keepalive} {
        set c [redis_client]
        $c ping
        foreach l [ss_lines -tno state established "( sport = :[srv 0 port] )"] {
            assert_no_match "*keepalive*" $l
        }
        $c close
    }
}
