# Configuration: CONFIG GET/SET/REWRITE/RESETSTAT, units, booleans, enums and
# bounds, config-file and command-line parsing, start-up errors, log format.

proc config_get {name} {
    return [lindex [r config get $name] 1]
}

start_server {tags {config}} {
    test {CONFIG GET of one parameter} {
        assert_equal [list port [srv 0 port]] [r config get port]
    }

    test {CONFIG GET with glob patterns} {
        set d [r config get *max*len*]
        assert {[dict exists $d proto-max-bulk-len]} "proto-max-bulk-len missing: $d"
        assert {[dict exists $d slowlog-max-len]} "slowlog-max-len missing: $d"
        set d [r config get maxclient?]
        assert_equal {maxclients} [dict keys $d]
        set d [r config get {[mt]ime*}]
        assert_equal {timeout} [dict keys $d]
    }

    test {CONFIG GET with several patterns and unknown names} {
        set d [r config get port timeout nosuchparam]
        assert_equal [lsort {port timeout}] [lsort [dict keys $d]]
        assert_equal {} [r config get nosuchparam]
    }

    test {CONFIG GET knows every foundation directive} {
        foreach p {port bind unixsocket unixsocketperm maxclients timeout tcp-keepalive
                   tcp-backlog client-output-buffer-limit client-query-buffer-limit
                   proto-max-bulk-len daemonize pidfile logfile loglevel requirepass
                   slowlog-log-slower-than slowlog-max-len maxmemory dir} {
            assert {[dict exists [r config get $p] $p]} "CONFIG GET $p returned nothing"
        }
    }

    tags {vectis-only} {
        test {CONFIG GET search-threads (0 or more by default)} {
            assert_morethan_equal [config_get search-threads] 0
        }
    }

    test {CONFIG GET defaults as Redis 7} {
        assert_equal 0 [config_get timeout]
        assert_equal 300 [config_get tcp-keepalive]
        assert_equal 511 [config_get tcp-backlog]
        assert_equal 10000 [config_get maxclients]
        assert_equal 536870912 [config_get proto-max-bulk-len]
        assert_equal 1073741824 [config_get client-query-buffer-limit]
        assert_equal 10000 [config_get slowlog-log-slower-than]
        assert_equal 128 [config_get slowlog-max-len]
        assert_equal notice [config_get loglevel]
        assert_equal no [config_get daemonize]
        assert_match "*normal 0 0 0*" [config_get client-output-buffer-limit]
    }

    test {CONFIG GET in RESP3 is a map} {
        set c [redis_client]
        $c hello 3
        set reply [$c config get port timeout]
        assert_equal % [$c last_type]
        assert_equal [srv 0 port] [dict get $reply port]
        $c close
    }

    test {CONFIG SET then CONFIG GET} {
        assert_equal OK [r config set timeout 100]
        assert_equal 100 [config_get timeout]
        r config set timeout 0
    }

    test {CONFIG SET of several pairs at once} {
        assert_equal OK [r config set timeout 10 slowlog-max-len 33]
        assert_equal 10 [config_get timeout]
        assert_equal 33 [config_get slowlog-max-len]
    }

    test {CONFIG SET is atomic: one bad pair and nothing changes} {
        r config set timeout 10 slowlog-max-len 33
        assert_error "ERR*maxclients*" {r config set timeout 50 maxclients notanumber}
        assert_equal 10 [config_get timeout]
        assert_error "ERR*timeout*" {r config set slowlog-max-len 44 timeout -1}
        assert_equal 33 [config_get slowlog-max-len]
        assert_error "ERR*nosuchparam*" {r config set timeout 51 nosuchparam 1}
        assert_equal 10 [config_get timeout]
        r config set timeout 0 slowlog-max-len 128
    }

    test {CONFIG SET: unknown parameter, odd argument count} {
        assert_error "ERR Unknown option*'foo'*" {r config set foo bar}
        assert_error "ERR wrong number of arguments for 'config|set' command" {r config set timeout}
        assert_error "ERR*" {r config set timeout 1 maxclients}
    }

    test {CONFIG SET of an immutable parameter is refused} {
        assert_error "ERR*daemonize*immutable*" {r config set daemonize yes}
        assert_equal no [config_get daemonize]
    }

    test {CONFIG SET enforces bounds} {
        assert_error "ERR*timeout*" {r config set timeout -1}
        assert_error "ERR*maxclients*" {r config set maxclients 0}
        assert_error "ERR*slowlog-max-len*" {r config set slowlog-max-len -1}
        assert_error "ERR*maxclients*" {r config set maxclients 12abc}
    }

    test {CONFIG SET enums: loglevel} {
        foreach l {debug verbose warning notice} {
            assert_equal OK [r config set loglevel $l]
            assert_equal $l [config_get loglevel]
        }
        assert_error "ERR*loglevel*" {r config set loglevel loud}
        assert_equal notice [config_get loglevel]
    }

    test {Memory units: k=1000, kb=1024, m, mb, g, gb, case-insensitive} {
        foreach {in out} {1k 1000 1kb 1024 1m 1000000 1mb 1048576 1g 1000000000
                          1gb 1073741824 2GB 2147483648 3Mb 3145728 12345 12345} {
            r config set maxmemory $in
            assert_equal $out [config_get maxmemory] "maxmemory $in"
        }
        assert_error "ERR*maxmemory*" {r config set maxmemory 10zb}
        r config set maxmemory 0
    }

    test {client-output-buffer-limit is parsed with units} {
        r config set client-output-buffer-limit "normal 1mb 2mb 30"
        assert_match "*normal 1048576 2097152 30*" [config_get client-output-buffer-limit]
        assert_error "ERR*" {r config set client-output-buffer-limit "normal 1mb"}
        assert_error "ERR*" {r config set client-output-buffer-limit "nosuchclass 1 2 3"}
        r config set client-output-buffer-limit "normal 0 0 0"
        assert_match "*normal 0 0 0*" [config_get client-output-buffer-limit]
    }

    test {CONFIG RESETSTAT replies OK} {
        assert_equal OK [r config resetstat]
    }

    test {Log lines have the Redis shape: pid:role date time.ms level message} {
        set lines [log_lines_matching "*eady to accept connections*"]
        assert_equal 1 [llength $lines]
        assert_regexp {^\d+:M \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2}\.\d{3} \* } [lindex $lines 0]
        set pid [lindex [split [lindex $lines 0] :] 0]
        assert_equal [srv 0 pid] $pid
    }
}

start_server {tags {config} overrides {maxmemory 2mb proto-max-bulk-len 16mb MaxClients 1234 timeout 5}
              config_lines {"timeout 7" "  # an indented comment" "slowlog-max-len   77   "}} {
    test {Config file: units, case-insensitive names, later lines win, extra spaces} {
        assert_equal 2097152 [config_get maxmemory]
        assert_equal 16777216 [config_get proto-max-bulk-len]
        assert_equal 1234 [config_get maxclients]
        assert_equal 7 [config_get timeout]
        assert_equal 77 [config_get slowlog-max-len]
    }
}

start_server {tags {config vectis-only} overrides {search-threads 3}} {
    test {search-threads from the config file} {
        assert_equal 3 [config_get search-threads]
    }
}

start_server {tags {config} overrides {timeout 5} args {--timeout 9 --slowlog-max-len 11}} {
    test {Command-line --name value pairs override the config file} {
        assert_equal 9 [config_get timeout]
        assert_equal 11 [config_get slowlog-max-len]
    }
}

start_server {tags {config} noconfig 1 overrides {maxclients 321}} {
    test {A server configured only from the command line} {
        assert_equal 321 [config_get maxclients]
        assert_equal [srv 0 port] [config_get port]
        assert_equal "" [info_field config_file server]
    }

    test {CONFIG REWRITE without a config file is an error} {
        assert_error "ERR*config file*" {r config rewrite}
    }
}

start_server {tags {config} overrides {slowlog-max-len 64}
              config_lines {"# a user comment" "" "# another comment, then a directive"
                            "slowlog-log-slower-than 5000" "# trailing comment"}} {
    test {CONFIG REWRITE keeps comments, updates lines in place, appends new ones} {
        r config set slowlog-max-len 99 slowlog-log-slower-than 6000 timeout 77
        assert_equal OK [r config rewrite]
        set text [vt_file_read [srv 0 config_file]]
        set lines [split $text "\n"]
        foreach c {"# a user comment" "# another comment, then a directive" "# trailing comment"} {
            assert {[lsearch -exact $lines $c] >= 0} "comment '$c' lost:\n$text"
        }
        assert {[lsearch -exact $lines "slowlog-max-len 99"] >= 0} "slowlog-max-len not updated:\n$text"
        assert {[lsearch -exact $lines "slowlog-max-len 64"] < 0} "old slowlog-max-len kept:\n$text"
        assert {[lsearch -exact $lines "timeout 77"] >= 0} "timeout not written:\n$text"
        # Updated in place: still between its two comments.
        set a [lsearch -exact $lines "# another comment, then a directive"]
        set b [lsearch -exact $lines "slowlog-log-slower-than 6000"]
        set c [lsearch -exact $lines "# trailing comment"]
        assert {$a < $b && $b < $c} "slowlog-log-slower-than moved:\n$text"
        assert {[lsearch -glob $lines "port *"] >= 0} "port line lost:\n$text"
    }

    test {CONFIG REWRITE is idempotent} {
        r config rewrite
        set first [vt_file_read [srv 0 config_file]]
        r config rewrite
        assert_equal [string trimright $first] [string trimright [vt_file_read [srv 0 config_file]]]
    }

    test {A rewritten config file restarts with the new values} {
        restart_server
        assert_equal 77 [config_get timeout]
        assert_equal 99 [config_get slowlog-max-len]
        assert_equal 6000 [config_get slowlog-log-slower-than]
    }
}

start_server {tags {config} overrides {loglevel warning}} {
    test {loglevel warning: no notice, verbose or debug lines in the log} {
        for {set i 0} {$i < 5} {incr i} { set c [redis_client]; $c ping; $c close }
        r config get port
        foreach line [split [vt_server_log [lindex $::vt::stack end]] "\n"] {
            if {[regexp {^\d+:[A-Z] \d{2} \S+ \d{4} \S+ ([.\-*#]) } $line -> level]} {
                assert_equal # $level "line logged at level '$level': $line"
            }
        }
        assert_equal [srv 0 dir] [lindex [r config get dir] 1]
    }
}

start_server {tags {config} overrides {logfile {""}}} {
    test {logfile "" logs to standard output} {
        assert_match "*eady to accept connections*" [vt_file_read [srv 0 stdout]]
        assert_equal PONG [r ping]
    }
}

tags {config} {
    test {Start-up error: unknown directive (exit 1, directive and line named)} {
        assert_bad_config "foobar yes" foobar
    }

    test {Start-up error: bad integer, out-of-range port, negative timeout} {
        assert_bad_config "maxclients abc" maxclients
        assert_bad_config "port 99999" port
        assert_bad_config "timeout -5" timeout
    }

    test {Start-up error: bad boolean, bad enum, bad memory unit} {
        assert_bad_config "daemonize maybe" daemonize
        assert_bad_config "loglevel loud" loglevel
        assert_bad_config "maxmemory 10zb" maxmemory
    }

    test {Start-up error: bad unixsocketperm and wrong argument count} {
        assert_bad_config "unixsocketperm 999" unixsocketperm
        assert_bad_config "timeout 1 2" timeout
    }

    test {Start-up error: unknown command-line option} {
        assert_bad_config "" nosuchoption {--nosuchoption 1}
    }
}

start_server {tags {config}} {
    test {CONFIG SET of every foundation directive to its own CONFIG GET value} {
        foreach p {bind unixsocket unixsocketperm maxclients timeout tcp-keepalive tcp-backlog
                   client-output-buffer-limit client-query-buffer-limit proto-max-bulk-len
                   daemonize pidfile logfile loglevel requirepass slowlog-log-slower-than
                   slowlog-max-len maxmemory dir} {
            set v [lindex [r config get $p] 1]
            if {[catch {r config set $p $v} err]} {
                assert_match "*$p*" $err
                assert {[string match "*immutable*" $err] || [string match "*protected*" $err]} \
                    "CONFIG SET $p '$v' (its own value) failed: $err"
            } else {
                assert_equal $v [lindex [r config get $p] 1] "round trip of $p"
            }
        }
    }

    test {CONFIG GET * returns name/value pairs with unique names} {
        set all [r config get *]
        assert_equal 0 [expr {[llength $all] % 2}]
        set names [dict keys $all]
        assert_equal [llength $names] [expr {[llength $all] / 2}] "duplicate names in CONFIG GET *"
        foreach p {port timeout maxclients loglevel} {
            assert {[lsearch -exact $names $p] >= 0} "$p missing from CONFIG GET *"
        }
    }

    test {CONFIG REWRITE round trip: values with spaces, units and quotes survive a restart} {
        r config set client-output-buffer-limit "normal 1mb 2mb 30"
        r config set maxmemory 3mb
        r config set slowlog-log-slower-than 1234 slowlog-max-len 56 timeout 78
        r config set loglevel verbose tcp-keepalive 61
        r config set requirepass "two words \"quoted\""
        set keys {client-output-buffer-limit maxmemory slowlog-log-slower-than slowlog-max-len
                  timeout loglevel tcp-keepalive requirepass}
        set before {}
        foreach k $keys { lappend before $k [lindex [r config get $k] 1] }
        assert_equal OK [r config rewrite]
        restart_server
        assert_error "NOAUTH*" {r ping}
        assert_equal OK [r auth "two words \"quoted\""]
        foreach {k v} $before {
            assert_equal $v [lindex [r config get $k] 1] "$k after rewrite and restart"
        }
        r config set requirepass ""
    }
}
