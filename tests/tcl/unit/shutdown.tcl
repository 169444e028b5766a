# Shutdown: SIGTERM, SIGINT, SHUTDOWN [NOSAVE|SAVE|NOW|FORCE] (connection
# closes without a reply, exit code 0), pidfile written and removed,
# daemonize, and shutdown while work is in flight.

start_server {tags {shutdown} overrides {pidfile %DIR%/vectis.pid}} {
    test {pidfile holds the server pid} {
        set pf [file join [srv 0 dir] vectis.pid]
        assert {[file exists $pf]} "no pidfile"
        assert_equal [srv 0 pid] [string trim [vt_file_read $pf]]
    }

    test {SIGTERM: exit code 0, pidfile removed} {
        set pf [file join [srv 0 dir] vectis.pid]
        set c [redis_client]
        $c ping
        server_expect_exit
        exec kill -TERM [srv 0 pid]
        assert_equal 0 [wait_for_server_exit]
        assert {[$c wait_close 5]} "client not disconnected"
        assert {![file exists $pf]} "pidfile left behind"
    }
}

start_server {tags {shutdown} overrides {pidfile %DIR%/vectis.pid}} {
    test {SIGINT: exit code 0, pidfile removed} {
        server_expect_exit
        exec kill -INT [srv 0 pid]
        assert_equal 0 [wait_for_server_exit]
        assert {![file exists [file join [srv 0 dir] vectis.pid]]} "pidfile left behind"
    }
}

foreach variant {{} {nosave} {save} {now} {force} {nosave now force}} {
    start_server {tags {shutdown} overrides {pidfile %DIR%/vectis.pid}} {
        test "SHUTDOWN $variant: connection closes without a reply, exit code 0" {
            set other [redis_client]
            $other ping
            server_expect_exit
            set c [raw_client]
            $c write [vt_resp_command [concat shutdown $variant]]
            $c flush
            assert_equal "" [$c read_until_close 10]
            assert_equal 0 [wait_for_server_exit]
            assert {[$other wait_close 5]}
            assert {![file exists [file join [srv 0 dir] vectis.pid]]} "pidfile left behind"
        }
    }
}

start_server {tags {shutdown}} {
    test {SHUTDOWN with bad arguments is a syntax error and the server keeps running} {
        assert_error "ERR*" {r shutdown nosuchflag}
        assert_error "ERR*" {r shutdown nosave save}
        assert_equal PONG [r ping]
        assert {[server_is_alive]}
    }
}

start_server {tags {shutdown vectis-only}} {
    test {SHUTDOWN while clients wait on worker jobs exits 0 promptly} {
        set cs {}
        for {set i 0} {$i < 4} {incr i} {
            set a [redis_deferring_client]
            $a debug worker-sleep 1
            lappend cs $a
        }
        vt_sleep 50
        set t0 [clock milliseconds]
        server_expect_exit
        set c [raw_client]
        $c write [vt_resp_command {shutdown nosave}]
        $c flush
        assert_equal 0 [wait_for_server_exit]
        assert_lessthan [expr {[clock milliseconds] - $t0}] [slow_ms 5000]
        foreach a $cs { assert {[$a wait_close 5]}; $a close }
    }
}

start_server {tags {shutdown vectis-only}} {
    test {SIGTERM while a client waits on a worker job exits 0} {
        set a [redis_deferring_client]
        $a debug worker-sleep 0.5
        vt_sleep 50
        server_expect_exit
        exec kill -TERM [srv 0 pid]
        assert_equal 0 [wait_for_server_exit]
    }
}

tags {shutdown} {
    test {daemonize yes: detaches, writes the pidfile, SHUTDOWN removes it} {
        set dir [file normalize [file join $::vt::tmproot "daemon.[pid]"]]
        file delete -force $dir
        file mkdir $dir
        set port [vt_find_free_port]
        set conf $dir/vectis.conf
        set base ""
        foreach {k v} [vt_base_overrides] { append base "$k $v\n" }
        vt_file_write $conf "port $port\ndir $dir\nlogfile $dir/log\ndaemonize yes\npidfile $dir/vectis.pid\n$base"
        # The foreground process must exit at once (0) while the daemon lives on.
        set res [run_program [list $::vt::server_bin $conf] 10]
        assert_equal 0 [lindex $res 0] "foreground exit: [lindex $res 1]"
        wait_for_condition 250 20 {[file exists $dir/vectis.pid]} else {
            fail "no pidfile; log:\n[vt_file_read $dir/log]"
        }
        set dpid [string trim [vt_file_read $dir/vectis.pid]]
        wait_for_condition 250 20 {[string match -nocase "*ready to accept*" [vt_file_read $dir/log]]} else {
            catch {exec kill -KILL $dpid}
            fail "daemon not ready; log:\n[vt_file_read $dir/log]"
        }
        set ok [catch {
            assert {[vt_pid_alive $dpid]} "daemon pid $dpid not running"
            set c [vt_client_open 127.0.0.1 $port]
            assert_equal PONG [$c ping]
            assert_equal $dpid [info_field process_id server $c]
            $c write [vt_resp_command {shutdown}]
            $c flush
            $c wait_close 10
            $c close
            wait_for_condition 500 20 {![vt_pid_alive $dpid]} else { fail "daemon did not exit" }
            assert {![file exists $dir/vectis.pid]} "pidfile left behind"
        } err opts]
        if {[vt_pid_alive $dpid]} { catch {exec kill -KILL $dpid} }
        if {$ok} { return -options $opts $err }
        set log [vt_file_read $dir/log]
        foreach pat {"ERROR: AddressSanitizer" "LeakSanitizer" "runtime error:"} {
            assert {[string first $pat $log] < 0} "sanitizer report in the daemon log"
        }
        file delete -force $dir
    }
}
