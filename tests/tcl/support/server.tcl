# Server lifecycle for the vectis end-to-end suite: start_server, srv, r,
# redis_client, restart_server, and the checks done when a server stops.
#
# start_server {options} {body}
#   options (a dict):
#     overrides {k v ...}  config directives written after port/dir/logfile
#                          (values are written verbatim: quote them yourself,
#                          e.g. requirepass {"a b"}; an empty value becomes "")
#     config_lines {...}   raw lines appended to the generated file (comments,
#                          unknown directives, odd spacing)
#     args {...}           extra command-line arguments after the config file
#                          (`--port N` in them is honoured for clients)
#     tags {...}           tags for every test inside; a denied tag skips the
#                          whole block without starting a server
#     noconfig 1           no config file: port/dir/logfile are given as
#                          command-line arguments instead
#     (in overrides, config_lines and args, %DIR% is replaced by the server's
#     directory: pidfile %DIR%/vectis.pid)
#     ulimit N             raise the fd limit of the server to N (sh ulimit -n)
#     expect_fail 1        the server must fail to start; the body runs with
#                          `srv 0 exitcode` and `srv 0 output` (stdout, stderr
#                          and log), or is replaced by a failure if it started
#   Each server runs in a fresh directory under tests/tmp/, on a free port,
#   with stdout/stderr in files there. The body runs, then the server gets
#   SIGTERM and must exit 0 within the deadline. A server that died on its
#   own, exited non-zero, or printed sanitizer reports ("ERROR:
#   AddressSanitizer", "LeakSanitizer", "runtime error:") fails the file.
#   On failure the directory is kept and the log tail printed; on success it
#   is deleted (unless --dont-clean).
#
# Server processes are spawned through a Tcl command pipeline whose write end
# is the server's stdin: the harness can then reap the process (close) and
# read its real exit status, and /proc/<pid>/stat tells a running process
# from a zombie (kill -0 cannot). Rejected: running the server under a shell
# wrapper that records `$?` (SIGINT is ignored in background jobs of a
# non-interactive shell, which would falsify the SIGINT test).

namespace eval ::vt {
    variable stack {}
    variable srv_seq 0
    variable port_next 0
}

# ---------------------------------------------------------------- processes

# Returns the state letter of a process (R, S, D, Z, ...) or "" when gone.
proc vt_proc_state {pid} {
    if {[catch {open /proc/$pid/stat r} f]} { return "" }
    set line ""
    catch {set line [read $f]}
    close $f
    # The command name is in parentheses and may contain spaces.
    set i [string last ")" $line]
    if {$i < 0} { return "" }
    return [lindex [string range $line [expr {$i + 1}] end] 0]
}

proc vt_pid_alive {pid} {
    set st [vt_proc_state $pid]
    return [expr {$st ne "" && $st ne "Z"}]
}

proc vt_file_read {path} {
    if {[catch {open $path r} f]} { return "" }
    fconfigure $f -translation binary
    set d [read $f]
    close $f
    return $d
}

proc vt_file_write {path data} {
    set f [open $path w]
    fconfigure $f -translation binary
    puts -nonewline $f $data
    close $f
}

proc vt_tail {text n} {
    set lines [split [string trimright $text "\n"] "\n"]
    return [join [lrange $lines end-[expr {$n - 1}] end] "\n"]
}

# ---------------------------------------------------------------- ports

proc vt_port_free {port} {
    if {[catch {socket -server vt_never_called -myaddr 127.0.0.1 $port} s]} { return 0 }
    close $s
    # A client can still be connected to a port nobody listens on (TIME_WAIT
    # is fine); also make sure nothing answers there.
    if {![catch {socket 127.0.0.1 $port} c]} { close $c; return 0 }
    return 1
}

proc vt_find_free_port {} {
    for {set i 0} {$i < $::vt::port_count} {incr i} {
        set port [expr {$::vt::port_base + ($::vt::port_next % $::vt::port_count)}]
        incr ::vt::port_next
        if {[vt_port_free $port]} { return $port }
    }
    error "no free port in $::vt::port_base..+$::vt::port_count"
}

# ---------------------------------------------------------------- config

proc vt_conf_value {v} {
    if {$v eq ""} { return {""} }
    return $v
}

proc vt_base_overrides {} {
    # Reference Redis needs a few settings to behave like the spec (DEBUG is
    # disabled by default in 7.0; no RDB files on shutdown).
    if {$::vt::target eq "redis"} {
        return {save {""} enable-debug-command yes}
    }
    return {}
}

# ---------------------------------------------------------------- spawning

# Starts a server process; returns the record id. Does not wait for it.
proc vt_spawn {id} {
    upvar #0 ::vt::srv_$id s
    set cmd [list $::vt::server_bin]
    if {$s(config_file) ne ""} { lappend cmd $s(config_file) }
    lappend cmd {*}$s(cmdargs)
    if {$s(ulimit) ne ""} {
        set cmd [list sh -c "ulimit -n $s(ulimit) 2>/dev/null || ulimit -n \$(ulimit -Hn); exec \"\$@\"" \
                     sh {*}$cmd]
    }
    set s(fd) [open "|[list {*}$cmd > $s(stdout) 2> $s(stderr)]" w]
    set s(pid) [lindex [pid $s(fd)] 0]
    set s(exited) 0
    set s(exitcode) ""
    vt_status spawned $s(pid)
}

# Reaps an exited server; returns its exit code (or "signal NAME").
proc vt_reap {id} {
    upvar #0 ::vt::srv_$id s
    if {$s(fd) eq ""} { return $s(exitcode) }
    set code 0
    if {[catch {close $s(fd)} err opts]} {
        set ec [dict get $opts -errorcode]
        switch -- [lindex $ec 0] {
            CHILDSTATUS { set code [lindex $ec 2] }
            CHILDKILLED { set code "signal [lindex $ec 2]" }
            default { set code 0 }
        }
    }
    set s(fd) ""
    set s(exitcode) $code
    set s(exited) 1
    vt_status reaped $s(pid)
    return $code
}

proc vt_server_output {id} {
    upvar #0 ::vt::srv_$id s
    set out ""
    foreach {label path} [list stdout $s(stdout) stderr $s(stderr) log $s(logfile)] {
        if {$path eq ""} continue
        set d [vt_file_read $path]
        if {$d ne ""} { append out "--- $label ($path)\n$d\n" }
    }
    return $out
}

proc vt_server_log {id} {
    upvar #0 ::vt::srv_$id s
    set d [vt_file_read $s(stdout)]
    if {$s(logfile) ne ""} { append d [vt_file_read $s(logfile)] }
    return $d
}

# Waits for the ready line (or, when the log level hides it, for a PONG).
# Returns "" when ready, else a reason.
proc vt_wait_ready {id} {
    upvar #0 ::vt::srv_$id s
    set deadline [expr {[clock milliseconds] + int(20000 * $::vt::slow)}]
    while {[clock milliseconds] < $deadline} {
        if {![vt_pid_alive $s(pid)]} {
            return "exited before becoming ready (exit code [vt_reap $id])"
        }
        if {[string match -nocase "*ready to accept connections*" [vt_server_log $id]]} {
            return ""
        }
        if {$s(quiet_log) && $s(port) > 0 && ![catch {socket 127.0.0.1 $s(port)} c]} {
            fconfigure $c -translation binary
            catch {puts -nonewline $c "PING\r\n"; flush $c; gets $c line}
            close $c
            if {[info exists line] && [string match "+PONG*" $line]} { return "" }
        }
        after 20
    }
    return "not ready after [expr {int(20 * $::vt::slow)}] s"
}

proc vt_new_record {options} {
    set id [incr ::vt::srv_seq]
    upvar #0 ::vt::srv_$id s
    set dir [file join $::vt::tmproot "server.[pid].$id"]
    file delete -force $dir
    file mkdir $dir
    set dir [file normalize $dir]
    array set s [list id $id host 127.0.0.1 dir $dir stdout $dir/stdout stderr $dir/stderr \
                     logfile $dir/log config_file "" cmdargs {} ulimit "" fd "" pid 0 \
                     exited 1 exitcode "" clients {} client "" quiet_log 0 unixsocket "" \
                     expect_exit 0 options $options]
    # %DIR% in values stands for the server's directory (pidfile, unixsocket).
    set map [list %DIR% $dir]
    set overrides [string map $map [concat [vt_base_overrides] [dict_get_default $options overrides {}]]]
    set args [string map $map [dict_get_default $options args {}]]
    dict set options config_lines [string map $map [dict_get_default $options config_lines {}]]
    set s(ulimit) [dict_get_default $options ulimit ""]
    set port ""
    foreach {k v} $overrides {
        switch -- [string tolower $k] {
            port { set port $v }
            logfile { set s(logfile) [expr {$v eq "" || $v eq {""} ? "" : $v}] }
            loglevel { if {$v eq "warning"} { set s(quiet_log) 1 } }
            unixsocket { set s(unixsocket) $v }
        }
    }
    if {$port eq ""} { set port [vt_find_free_port] }
    set i [lsearch -exact $args --port]
    if {$i >= 0} { set port [lindex $args [expr {$i + 1}]] }
    set s(port) $port
    set pairs [list port $port dir $dir logfile $dir/log]
    foreach {k v} $overrides {
        if {[lsearch -exact {port dir logfile} [string tolower $k]] >= 0} {
            set pairs [dict_set_ci $pairs $k $v]
        } else {
            lappend pairs $k $v
        }
    }
    if {[dict_get_default $options noconfig 0]} {
        foreach {k v} $pairs {
            lappend s(cmdargs) --$k $v
        }
    } else {
        set s(config_file) $dir/vectis.conf
        set text ""
        foreach {k v} $pairs { append text "$k [vt_conf_value $v]\n" }
        foreach line [dict_get_default $options config_lines {}] { append text "$line\n" }
        vt_file_write $s(config_file) $text
    }
    lappend s(cmdargs) {*}$args
    return $id
}

proc dict_get_default {d k default} {
    if {[dict exists $d $k]} { return [dict get $d $k] }
    return $default
}

# Replaces key k (case-insensitive) in a flat list of pairs.
proc dict_set_ci {pairs k v} {
    set out {}
    foreach {a b} $pairs {
        if {[string equal -nocase $a $k]} { set b $v }
        lappend out $a $b
    }
    return $out
}

proc vt_cleanup_record {id keep} {
    upvar #0 ::vt::srv_$id s
    if {!$keep && !$::vt::dont_clean} { file delete -force $s(dir) }
    unset s
}

# Reports a failure that is not tied to a single test.
proc vt_report_failure {name msg} {
    incr ::vt::failed
    puts "\[err\]: $name in $::vt::file"
    vt_detail $msg
    vt_status err $name
}

# Sanitizer and crash markers searched in every server's output.
proc vt_sanitizer_report {id} {
    set out [vt_server_output $id]
    foreach pat {"ERROR: AddressSanitizer" "LeakSanitizer" "runtime error:" \
                     "ThreadSanitizer" "=== VECTIS BUG REPORT" "REDIS BUG REPORT" "crashed by signal"} {
        if {[string first $pat $out] >= 0} { return $pat }
    }
    return ""
}

# Stops a server (SIGTERM unless it already exited as expected) and checks
# how it ended. Returns a list of problems (empty when fine).
proc vt_stop {id} {
    upvar #0 ::vt::srv_$id s
    set problems {}
    foreach c $s(clients) { catch {$c close} }
    set s(clients) {}
    set s(client) ""
    if {!$s(exited)} {
        if {![vt_pid_alive $s(pid)]} {
            set code [vt_reap $id]
            if {!$s(expect_exit)} {
                lappend problems "server pid $s(pid) died during the tests (exit code $code)"
            }
        } else {
            catch {exec kill -TERM $s(pid)}
            set deadline [expr {[clock milliseconds] + int(15000 * $::vt::slow)}]
            while {[vt_pid_alive $s(pid)] && [clock milliseconds] < $deadline} { after 10 }
            if {[vt_pid_alive $s(pid)]} {
                lappend problems "server pid $s(pid) did not exit within\
                    [expr {int(15 * $::vt::slow)}] s of SIGTERM (killed with SIGKILL)"
                catch {exec kill -KILL $s(pid)}
                while {[vt_pid_alive $s(pid)]} { after 10 }
            }
            set code [vt_reap $id]
            if {$code ne "0"} {
                lappend problems "server exited with code '$code' after SIGTERM (expected 0)"
            }
        }
    }
    set san [vt_sanitizer_report $id]
    if {$san ne ""} { lappend problems "sanitizer/crash report in the server output ('$san')" }
    return $problems
}

proc vt_print_server_tail {id} {
    upvar #0 ::vt::srv_$id s
    puts "    --- server $s(id) (pid $s(pid), port $s(port)) kept in $s(dir)"
    foreach {label path} [list log $s(logfile) stdout $s(stdout) stderr $s(stderr)] {
        if {$path eq ""} continue
        set d [vt_file_read $path]
        if {[string trim $d] eq ""} continue
        # Sanitizer reports are long; show them whole when present.
        set n [expr {[string first "Sanitizer" $d] >= 0 ? 200 : 30}]
        puts "    --- last lines of $label:"
        foreach line [split [vt_tail $d $n] "\n"] { puts "    | $line" }
    }
    flush stdout
}

# ---------------------------------------------------------------- start_server

proc start_server {options {body __vt_none__}} {
    set tags [dict_get_default $options tags {}]
    set saved_tags $::vt::tags
    if {[vt_tags_denied [concat $::vt::tags $tags]]} {
        incr ::vt::skipped
        vt_status skip "server block (tags: [concat $::vt::tags $tags])"
        return
    }
    if {[dict_get_default $options expect_fail 0]} {
        return [uplevel 1 [list vt_start_server_expect_fail $options $body]]
    }
    # Start, retrying on a port lost to a race with another process.
    for {set attempt 0} {$attempt < 3} {incr attempt} {
        set id [vt_new_record $options]
        vt_spawn $id
        set why [vt_wait_ready $id]
        if {$why eq ""} break
        set out [vt_server_output $id]
        if {$attempt < 2 && [regexp -nocase {address already in use|could not create server tcp} $out]} {
            catch {exec kill -KILL $::vt::srv_${id}(pid)}
            vt_reap $id
            vt_cleanup_record $id 0
            continue
        }
        if {![set ::vt::srv_${id}(exited)]} {
            catch {exec kill -KILL $::vt::srv_${id}(pid)}
            while {[vt_pid_alive [set ::vt::srv_${id}(pid)]]} { after 10 }
            vt_reap $id
        }
        vt_report_failure "start_server (tags: $tags)" "server failed to start: $why"
        vt_print_server_tail $id
        vt_cleanup_record $id 1
        if {$body eq "__vt_none__"} { error "server failed to start: $why" }
        return
    }
    lappend ::vt::stack $id
    if {$body eq "__vt_none__"} {
        # Manual lifetime: the caller stops it with vt_stop_server.
        return $id
    }
    set ::vt::tags [concat $::vt::tags $tags]
    set failed_before $::vt::failed
    set code [catch {uplevel 1 $body} res opts]
    set ::vt::tags $saved_tags
    set problems {}
    if {$code == 1} {
        if {[lindex [dict get $opts -errorcode] 0] eq "VT_SERVER_DIED"} {
            lappend problems "block aborted: $res"
        } else {
            lappend problems "exception outside a test: $res\n[dict get $opts -errorinfo]"
        }
    }
    set ::vt::stack [lrange $::vt::stack 0 end-1]
    lappend problems {*}[vt_stop $id]
    if {[llength $problems]} {
        vt_report_failure "server checks (tags: $tags, port [set ::vt::srv_${id}(port)])" \
            [join $problems "\n"]
    }
    set keep [expr {$::vt::failed > $failed_before}]
    if {$keep} { vt_print_server_tail $id }
    vt_cleanup_record $id $keep
    return
}

# Stops a server started without a body.
proc vt_stop_server {id} {
    set i [lsearch -exact $::vt::stack $id]
    if {$i >= 0} { set ::vt::stack [lreplace $::vt::stack $i $i] }
    set problems [vt_stop $id]
    if {[llength $problems]} {
        vt_report_failure "server checks (port [set ::vt::srv_${id}(port)])" [join $problems "\n"]
        vt_print_server_tail $id
        vt_cleanup_record $id 1
        return
    }
    vt_cleanup_record $id 0
}

# Runs a server that must fail to start. Returns a dict {exitcode output
# started}; with a body, runs it with srv 0 exitcode/output available.
proc vt_start_server_expect_fail {options {body __vt_none__}} {
    set id [vt_new_record $options]
    upvar #0 ::vt::srv_$id s
    vt_spawn $id
    set deadline [expr {[clock milliseconds] + int(5000 * $::vt::slow)}]
    set started 0
    while {[vt_pid_alive $s(pid)]} {
        if {[string match -nocase "*ready to accept connections*" [vt_server_log $id]] ||
            [clock milliseconds] > $deadline} {
            set started 1
            catch {exec kill -KILL $s(pid)}
            while {[vt_pid_alive $s(pid)]} { after 10 }
            break
        }
        after 10
    }
    vt_reap $id
    set s(output) [vt_server_output $id]
    set s(started) $started
    if {$started} { set s(exitcode) "started" }
    set s(config) [expr {$s(config_file) ne "" ? [vt_file_read $s(config_file)] : ""}]
    set result [dict create exitcode $s(exitcode) output $s(output) started $started \
                    config $s(config)]
    if {$body eq "__vt_none__"} {
        vt_cleanup_record $id 0
        return $result
    }
    lappend ::vt::stack $id
    set code [catch {uplevel 1 $body} res opts]
    set ::vt::stack [lrange $::vt::stack 0 end-1]
    vt_cleanup_record $id 0
    if {$code == 1} { return -options $opts $res }
    return
}

# Restarts the server at `level` in place (same dir, config file and port).
proc restart_server {{level 0}} {
    set id [vt_srv_id $level]
    upvar #0 ::vt::srv_$id s
    set problems [vt_stop $id]
    if {[llength $problems]} { vt_fail "restart_server: [join $problems {; }]" }
    # Keep the old log for inspection; start a new one.
    foreach f [list $s(logfile) $s(stdout) $s(stderr)] {
        if {$f ne "" && [file exists $f]} { file rename -force $f $f.old }
    }
    vt_spawn $id
    set why [vt_wait_ready $id]
    if {$why ne ""} { vt_fail "restart_server: server $why" }
}

# ---------------------------------------------------------------- accessors

proc vt_srv_id {level} {
    set n [llength $::vt::stack]
    if {$n == 0} { error "no server running" }
    set i [expr {$n - 1 + $level}]
    if {$i < 0 || $i >= $n} { error "no server at level $level" }
    return [lindex $::vt::stack $i]
}

# srv ?level? field -- host, port, pid, dir, config_file, logfile, stdout,
# stderr, unixsocket, exitcode, output, started, id.
proc srv {args} {
    set level 0
    if {[llength $args] == 2} { lassign $args level field } else { set field [lindex $args 0] }
    set id [vt_srv_id $level]
    upvar #0 ::vt::srv_$id s
    if {![info exists s($field)]} { error "srv: unknown field '$field'" }
    return $s($field)
}

# Opens an extra client on the server at `level` (0 = innermost).
proc redis_client {{level 0} args} {
    set id [vt_srv_id $level]
    upvar #0 ::vt::srv_$id s
    set c [vt_client_open $s(host) $s(port) -timeout [expr {30 * $::vt::slow}] {*}$args]
    lappend s(clients) $c
    return $c
}

proc redis_deferring_client {{level 0}} {
    return [redis_client $level -deferred 1]
}

# r ?level? cmd args... -- the default client of a server.
proc r {args} {
    set level 0
    if {[string is integer -strict [lindex $args 0]]} {
        set level [lindex $args 0]
        set args [lrange $args 1 end]
    }
    set id [vt_srv_id $level]
    upvar #0 ::vt::srv_$id s
    if {$s(client) eq "" || [info commands $s(client)] eq ""} {
        set s(client) [redis_client $level]
    }
    set code [catch {$s(client) {*}$args} res opts]
    if {$code == 1 && [lindex [dict get $opts -errorcode] 0] in {VT_CONN_CLOSED VT_TIMEOUT}} {
        # Do not reuse a broken default client in the next test.
        catch {$s(client) close}
        set s(client) ""
    }
    return -options $opts $res
}

# Marks the server as about to exit on purpose (SHUTDOWN, signals) and waits
# for it; returns the exit code (or "timeout").
proc wait_for_server_exit {{level 0} {secs 15}} {
    set id [vt_srv_id $level]
    upvar #0 ::vt::srv_$id s
    set s(expect_exit) 1
    set deadline [expr {[clock milliseconds] + int($secs * 1000 * $::vt::slow)}]
    while {[vt_pid_alive $s(pid)]} {
        if {[clock milliseconds] > $deadline} { return timeout }
        vt_sleep 10
    }
    return [vt_reap $id]
}

proc server_expect_exit {{level 0}} {
    set ::vt::srv_[vt_srv_id $level](expect_exit) 1
}

proc server_is_alive {{level 0}} {
    return [vt_pid_alive [srv $level pid]]
}

# After a failed test: if the server is gone, abort the rest of the block.
proc vt_after_failure {} {
    if {[llength $::vt::stack] == 0} return
    set id [lindex $::vt::stack end]
    upvar #0 ::vt::srv_$id s
    if {!$s(exited) && !$s(expect_exit) && ![vt_pid_alive $s(pid)]} {
        error "server pid $s(pid) died (exit code [vt_reap $id])" {} {VT_SERVER_DIED}
    }
}
