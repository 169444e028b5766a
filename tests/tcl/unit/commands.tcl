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

start_server {tags {commands}} {
    test {TIME returns seconds and microseconds of the wall clock} {
        set t [r time]
        assert_equal 2 [llength $t]
        lassign $t sec usec
        assert_range $sec [expr {[clock seconds] - 5}] [expr {[clock seconds] + 5}]
        assert_range $usec 0 999999
    }

    test {DBSIZE is 0 on an empty server} {
        assert_equal 0 [r dbsize]
        assert_equal : [r last_type]
    }

    test {Unknown command: exact Redis 7 wording with quoted args and a trailing space} {
        assert_error "ERR unknown command 'foo', with args beginning with: 'a' 'b' " {r foo a b}
        assert_error "ERR unknown command 'foo', with args beginning with: " {r foo}
        # The exact string matters to clients (RESP2 fallback detection).
        set e [assert_error * {r nosuchcmd x}]
        assert_equal "ERR unknown command 'nosuchcmd', with args beginning with: 'x' " $e
    }

    test {Unknown command: long arguments are cut at 128 characters} {
        set long [string repeat x 200]
        set e [assert_error "ERR unknown command*" {r foo $long}]
        assert_equal "ERR unknown command 'foo', with args beginning with: '[string repeat x 128]' " $e
        set e [assert_error "ERR unknown command*" {r $long}]
        assert_equal "ERR unknown command '[string repeat x 128]', with args beginning with: " $e
    }

    test {Unknown command: CR and LF from user input never reach the error line} {
        set e [assert_error "ERR unknown command*" {r "fo\r\no" "a\r\nb"}]
        assert_no_match "*\[\r\n\]*" $e
        assert_equal "ERR unknown command 'fo  o', with args beginning with: 'a  b' " $e
        # The connection is still in sync.
        assert_equal PONG [r ping]
    }

    test {Wrong arity for a container command and for a subcommand} {
        assert_error "ERR wrong number of arguments for 'config' command" {r config}
        assert_error "ERR wrong number of arguments for 'config|get' command" {r config get}
        assert_error "ERR wrong number of arguments for 'client|id' command" {r client id extra}
    }

    test {Unknown subcommand wording} {
        assert_error "ERR unknown subcommand 'foo'. Try CLIENT HELP." {r client foo}
        assert_error "ERR unknown subcommand 'foo'. Try COMMAND HELP." {r command foo}
        assert_error "ERR unknown subcommand 'foo'. Try CONFIG HELP." {r config foo}
        assert_error "ERR unknown subcommand 'foo'. Try SLOWLOG HELP." {r slowlog foo}
    }

    test {COMMAND COUNT matches COMMAND, COMMAND LIST and COMMAND DOCS} {
        set n [r command count]
        assert_morethan $n 15
        assert_equal $n [llength [r command]]
        assert_equal [expr {2 * $n}] [llength [r command docs]]
        # COMMAND LIST may also name subcommands (Redis lists "config|get").
        set list [r command list]
        assert_morethan_equal [llength $list] $n
        foreach e [r command] {
            assert {[lsearch -exact $list [lindex $e 0]] >= 0} "[lindex $e 0] not in COMMAND LIST"
        }
    }

    test {COMMAND LIST contains the foundation commands} {
        set names [r command list]
        foreach c {ping echo hello auth client select quit reset info time dbsize slowlog
                   monitor shutdown debug command config} {
            assert {[lsearch -exact $names $c] >= 0} "'$c' missing from COMMAND LIST"
        }
    }

    test {COMMAND INFO: name, arity (Redis rule), key positions; unknown names give nil} {
        set reply [r command info ping echo config nosuchcommand]
        assert_equal 4 [llength $reply]
        lassign $reply ping echo config none
        assert_equal ping [lindex $ping 0]
        assert_equal -1 [lindex $ping 1]
        assert_equal {0 0 0} [lrange $ping 3 5]
        assert_equal echo [lindex $echo 0]
        assert_equal 2 [lindex $echo 1]
        assert_equal config [lindex $config 0]
        assert_equal -2 [lindex $config 1]
        assert_equal {} $none
        foreach {name arity} {time 1 dbsize 1 select 2 auth -2 hello -1 client -2 info -1
                              quit -1 reset 1 monitor 1} {
            set e [lindex [r command info $name] 0]
            assert_equal $arity [lindex $e 1] "arity of $name"
        }
    }

    test {COMMAND INFO flags: ping is fast, shutdown and config are admin} {
        set ping [lindex [r command info ping] 0]
        assert {[lsearch -exact [lindex $ping 2] fast] >= 0} "ping flags: [lindex $ping 2]"
        foreach c {shutdown monitor debug} {
            set e [lindex [r command info $c] 0]
            assert {[lsearch -exact [lindex $e 2] admin] >= 0} "$c flags: [lindex $e 2]"
        }
    }

    test {COMMAND DOCS ping: summary, since, group and arguments (used by redis-cli hints)} {
        set docs [r command docs ping]
        assert_equal ping [lindex $docs 0]
        set d [lindex $docs 1]
        foreach k {summary since group} {
            assert {[dict exists $d $k] && [dict get $d $k] ne ""} "COMMAND DOCS ping lacks '$k': $d"
        }
        assert {[dict exists $d arguments]} "no arguments in $d"
        set arg [lindex [dict get $d arguments] 0]
        assert_equal message [dict get $arg name]
        assert_equal string [dict get $arg type]
        assert_match *optional* [dict get $arg flags]
    }

    test {COMMAND DOCS for a container command lists its subcommands} {
        set d [lindex [r command docs client] 1]
        assert {[dict exists $d subcommands]} "no subcommands in COMMAND DOCS client"
        set subs [dict keys [dict get $d subcommands]]
        foreach s {client|id client|setname client|getname client|list client|kill client|info} {
            assert {[lsearch -exact $subs $s] >= 0} "$s missing from $subs"
        }
    }

    test {COMMAND DOCS of several commands returns one entry each} {
        set d [r command docs ping echo]
        assert_equal [lsort {ping echo}] [lsort [dict keys $d]]
        assert {[dict get $d echo summary] ne ""}
    }

    test {COMMAND DOCS of an unknown command is an empty map} {
        assert_equal {} [r command docs nosuchcommand]
    }

    # The HELP replies keep the shape redis-cli users know: a header naming the
    # command, then per subcommand a synopsis line followed by indented
    # description lines. The synopses must name exactly the subcommands the
    # command table has (COMMAND DOCS), so HELP cannot drift from the table.
    test {HELP of every container command lists exactly its subcommands} {
        set cases {}
        foreach cmd {client config command slowlog object} {
            set subs {}
            foreach full [dict keys [dict get [lindex [r command docs $cmd] 1] subcommands]] {
                lappend subs [string toupper [lindex [split $full |] 1]]
            }
            lappend cases $cmd $subs
        }
        lappend cases debug {SLEEP WORKER-SLEEP HELP}
        foreach {cmd subs} $cases {
            set lines [r $cmd help]
            set up [string toupper $cmd]
            assert_match "$up <subcommand> *" [lindex $lines 0] "header of $up HELP"
            set seen {}
            set prev {}
            foreach line [lrange $lines 1 end] {
                if {[string match "    ?*" $line]} {
                    assert {$prev ne ""} "$up HELP: description before any synopsis: '$line'"
                    set prev described
                    continue
                }
                assert {$prev ne "synopsis"} "$up HELP: synopsis without description before '$line'"
                set prev synopsis
                set word [lindex [split $line " "] 0]
                if {$cmd eq "command" && $line eq "(no subcommand)"} continue
                assert_equal $word [string toupper $word] "$up HELP synopsis '$line'"
                lappend seen $word
            }
            assert_equal described $prev "$up HELP ends with a description"
            assert_equal [lsort $subs] [lsort -unique $seen] "subcommands in $up HELP"
        }
    }

    test {DEBUG SLEEP 0 replies OK; unknown DEBUG subcommand is an error} {
        assert_equal OK [r debug sleep 0]
        assert_error "ERR*" {r debug nosuchsubcommand}
    }

    test {DEBUG SLEEP blocks the main thread: other clients wait} {
        set rd [redis_deferring_client]
        set c2 [redis_client]
        $c2 ping
        # The server must have started the sleep before the PING arrives; that
        # cannot be observed from outside (the loop is blocked on purpose), so
        # give it 100 ms and allow two retries on a loaded machine. A server
        # whose DEBUG SLEEP does not block fails every attempt.
        set best 0
        for {set attempt 0} {$attempt < 3 && $best < 400} {incr attempt} {
            set t0 [clock milliseconds]
            $rd debug sleep 0.5
            vt_sleep 100
            assert_equal PONG [$c2 ping]
            set waited [expr {[clock milliseconds] - $t0}]
            assert_equal OK [$rd read]
            set best [expr {max($best, $waited)}]
        }
        assert_morethan_equal $best 400
        $rd close
        $c2 close
    }

    test {Pipelined mix of valid and invalid commands keeps reply order} {
        set rd [redis_deferring_client]
        $rd write [vt_resp_command {ping}]
        $rd write [vt_resp_command {nosuch a}]
        $rd write [vt_resp_command {echo x}]
        $rd write [vt_resp_command {ping a b}]
        $rd write [vt_resp_command {echo y}]
        $rd flush
        assert_equal PONG [$rd read]
        assert_error "ERR unknown command 'nosuch'*" {$rd read}
        assert_equal x [$rd read]
        assert_error "ERR wrong number of arguments for 'ping' command" {$rd read}
        assert_equal y [$rd read]
        $rd close
    }
}
