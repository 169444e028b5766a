# INFO: sections and fields that clients, redis-cli and Sentinel read;
# counters (connections, commands, commandstats, errorstats) and RESETSTAT.

start_server {tags {info}} {
    test {INFO default sections and text format} {
        set text [r info]
        foreach sec {Server Clients Memory Persistence Stats Replication Keyspace} {
            assert_match "*# $sec\r\n*" $text
        }
        # Every line is "# Header", "field:value" or empty, CRLF-terminated.
        assert_equal "\r\n" [string range $text end-1 end]
        set text [string range $text 0 end-2]
        assert {![regexp {[^\r]\n} $text]} "a line ends without CR"
        foreach line [split [string map {"\r\n" "\n"} $text] "\n"] {
            if {$line eq "" || [string match "# *" $line]} continue
            assert_regexp {^[a-z][a-z0-9_|]*:[^\r\n]*$} $line
        }
    }

    test {INFO server fields} {
        set d [vt_info_dict [r info server]]
        assert {[dict get $d redis_version] ne ""}
        assert_regexp {^[0-9a-f]{40}$} [dict get $d run_id]
        assert_equal [srv 0 port] [dict get $d tcp_port]
        assert_equal [srv 0 pid] [dict get $d process_id]
        assert {[string is integer -strict [dict get $d uptime_in_seconds]]}
        assert_equal standalone [dict get $d redis_mode]
        assert_equal [file normalize [srv 0 config_file]] [file normalize [dict get $d config_file]]
        assert {[file executable [dict get $d executable]]} "executable: [dict get $d executable]"
    }

    tags {vectis-only} {
        test {INFO server has vectis_version} {
            assert {[info_field vectis_version server] ne ""}
        }
    }

    test {INFO run_id is stable while running} {
        assert_equal [info_field run_id server] [info_field run_id server]
    }

    test {INFO clients: connected_clients follows connections; maxclients} {
        set d [vt_info_dict [r info clients]]
        foreach k {connected_clients blocked_clients maxclients} {
            assert {[string is integer -strict [dict get $d $k]]} "$k: [dict get $d $k]"
        }
        assert_equal 10000 [dict get $d maxclients]
        assert_equal 0 [dict get $d blocked_clients]
        set base [dict get $d connected_clients]
        set cs {}
        for {set i 0} {$i < 3} {incr i} { lappend cs [redis_client]; [lindex $cs end] ping }
        assert_equal [expr {$base + 3}] [info_field connected_clients clients]
        foreach c $cs { $c close }
        wait_for_condition 100 20 {[info_field connected_clients clients] == $base} else {
            fail "connected_clients stuck at [info_field connected_clients clients]"
        }
    }

    test {INFO memory fields} {
        set d [vt_info_dict [r info memory]]
        foreach k {used_memory used_memory_rss used_memory_peak maxmemory} {
            assert {[string is wide -strict [dict get $d $k]]} "$k: [dict get $d $k]"
        }
        assert_morethan [dict get $d used_memory] 0
        assert_morethan [dict get $d used_memory_rss] 0
        assert_morethan_equal [dict get $d used_memory_peak] [dict get $d used_memory]
        assert_regexp {^[0-9.]+[BKMGT]$} [dict get $d used_memory_human]
        assert {[dict get $d mem_allocator] ne ""}
        assert_equal 0 [dict get $d maxmemory]
        r config set maxmemory 100mb
        assert_equal 104857600 [info_field maxmemory memory]
        r config set maxmemory 0
    }

    test {INFO persistence: loading:0} {
        assert_equal 0 [info_field loading persistence]
    }

    test {INFO replication: role:master, connected_slaves:0} {
        set text [r info replication]
        assert_match "*role:master\r\n*" $text
        assert_match "*connected_slaves:0\r\n*" $text
    }

    test {INFO keyspace is present and empty} {
        set text [r info keyspace]
        assert_match "# Keyspace*" $text
        assert_no_match "*db0:*" $text
    }

    test {INFO stats: total_connections_received counts new connections} {
        set before [info_field total_connections_received stats]
        for {set i 0} {$i < 5} {incr i} { set c [redis_client]; $c ping; $c close }
        assert_equal [expr {$before + 5}] [info_field total_connections_received stats]
    }

    test {INFO stats: total_commands_processed counts every command} {
        set c [redis_client]
        set before [info_field total_commands_processed stats $c]
        for {set i 0} {$i < 10} {incr i} { $c ping }
        set after [info_field total_commands_processed stats $c]
        # 10 PINGs and one INFO.
        assert_equal [expr {$before + 11}] $after
        $c close
    }

    test {INFO stats fields exist} {
        set d [vt_info_dict [r info stats]]
        foreach k {total_connections_received total_commands_processed instantaneous_ops_per_sec
                   rejected_connections} {
            assert {[string is integer -strict [dict get $d $k]]} "$k: [dict get $d $k]"
        }
    }

    test {INFO with several sections returns only those} {
        set text [r info server clients]
        assert_match "*# Server*" $text
        assert_match "*# Clients*" $text
        assert_no_match "*# Memory*" $text
        assert_no_match "*# Stats*" $text
    }

    test {INFO sections are case-insensitive; unknown sections give an empty reply} {
        assert_match "# Server*" [r info SERVER]
        assert_equal "" [r info nosuchsection]
    }

    test {INFO all and everything include commandstats} {
        r ping
        assert_match "*# Commandstats*cmdstat_ping:*" [r info all]
        assert_match "*# Commandstats*cmdstat_ping:*" [r info everything]
        assert_no_match "*# Commandstats*" [r info]
    }

    test {INFO in RESP3 is a verbatim string} {
        set c [redis_client]
        $c hello 3
        set text [$c info server]
        assert_equal = [$c last_type]
        assert_match "# Server*" $text
        $c close
    }
}

start_server {tags {info stats}} {
    test {CONFIG RESETSTAT clears commandstats and errorstats} {
        r ping
        catch {r nosuchcommand}
        assert_equal OK [r config resetstat]
        set text [r info commandstats]
        assert_no_match "*cmdstat_ping:*" $text
        assert_equal "" [string trim [string map {"# Errorstats" ""} [r info errorstats]]]
    }

    test {commandstats: calls, usec, usec_per_call, rejected_calls, failed_calls} {
        r config resetstat
        for {set i 0} {$i < 7} {incr i} { r ping }
        set line [lindex [regexp -inline -line {^cmdstat_ping:.*$} [r info commandstats]] 0]
        set d [vt_kv_dict [lindex [split [string trimright $line "\r"] :] 1]]
        assert_equal 7 [dict get $d calls]
        assert {[string is integer -strict [dict get $d usec]]}
        assert {[string is double -strict [dict get $d usec_per_call]]}
        assert_equal 0 [dict get $d rejected_calls]
        assert_equal 0 [dict get $d failed_calls]
    }

    test {commandstats: arity errors are rejected_calls, runtime errors failed_calls} {
        r config resetstat
        catch {r echo a b c}
        catch {r select abc}
        set text [r info commandstats]
        set echo [vt_kv_dict [lindex [regexp -inline -line {cmdstat_echo:(\S*)} $text] 1]]
        assert_equal 1 [dict get $echo rejected_calls]
        assert_equal 0 [dict get $echo calls]
        set sel [vt_kv_dict [lindex [regexp -inline -line {cmdstat_select:(\S*)} $text] 1]]
        assert_equal 1 [dict get $sel calls]
        assert_equal 1 [dict get $sel failed_calls]
    }

    test {commandstats: subcommands are named container|sub} {
        r config resetstat
        r client id
        r config get port
        set text [r info commandstats]
        assert_match "*cmdstat_client|id:calls=1,*" $text
        assert_match "*cmdstat_config|get:calls=1,*" $text
    }

    test {errorstats count errors by their first word} {
        r config resetstat
        catch {r nosuchcommand}
        catch {r echo a b c}
        catch {r hello 4}
        set text [r info errorstats]
        assert_match "*errorstat_ERR:count=2\r\n*" $text
        assert_match "*errorstat_NOPROTO:count=1\r\n*" $text
    }
}

start_server {tags {info}} {
    test {run_id changes across restarts} {
        set before [info_field run_id server]
        restart_server
        set after [info_field run_id server]
        assert_regexp {^[0-9a-f]{40}$} $after
        assert_not_equal $before $after
    }
}
