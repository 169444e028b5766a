# Utilities for the vectis end-to-end tests: INFO parsing, log inspection,
# raw sockets for protocol tests, running external programs with a deadline.

# Parses INFO text into a dict field -> value (section headers dropped).
proc vt_info_dict {text} {
    set d [dict create]
    foreach line [split $text "\n"] {
        set line [string trimright $line "\r"]
        if {$line eq "" || [string index $line 0] eq "#"} continue
        set i [string first : $line]
        if {$i < 0} continue
        dict set d [string range $line 0 [expr {$i - 1}]] [string range $line [expr {$i + 1}] end]
    }
    return $d
}

# Value of one INFO field (from `INFO section` when given), "" if absent.
proc info_field {field {section ""} {client ""}} {
    if {$client eq ""} {
        set text [expr {$section eq "" ? [r info] : [r info $section]}]
    } else {
        set text [expr {$section eq "" ? [$client info] : [$client info $section]}]
    }
    set d [vt_info_dict $text]
    if {[dict exists $d $field]} { return [dict get $d $field] }
    return ""
}

# Redis-suite spelling: s field (from INFO all).
proc s {field} { return [info_field $field all] }

# Parses "k=v,k=v" INFO values into a dict.
proc vt_kv_dict {text} {
    set d [dict create]
    foreach kv [split $text ,] {
        set i [string first = $kv]
        if {$i < 0} continue
        dict set d [string range $kv 0 [expr {$i - 1}]] [string range $kv [expr {$i + 1}] end]
    }
    return $d
}

# Parses one CLIENT LIST / CLIENT INFO line into a dict.
proc vt_client_line_dict {line} {
    set d [dict create]
    foreach kv [split [string trim $line] " "] {
        set i [string first = $kv]
        if {$i < 0} continue
        dict set d [string range $kv 0 [expr {$i - 1}]] [string range $kv [expr {$i + 1}] end]
    }
    return $d
}

proc vt_client_list_lines {text} {
    set out {}
    foreach line [split $text "\n"] {
        set line [string trim $line "\r"]
        if {$line ne ""} { lappend out $line }
    }
    return $out
}

# ---------------------------------------------------------------- logs

proc server_log {{level 0}} {
    set id [vt_srv_id $level]
    return [vt_server_log $id]
}

proc log_line_count {{level 0}} {
    return [llength [split [server_log $level] "\n"]]
}

# Lines of the log (from line `from`, 0-based) matching a glob pattern.
proc log_lines_matching {pattern {from 0} {level 0}} {
    set out {}
    foreach line [lrange [split [server_log $level] "\n"] $from end] {
        if {[string match $pattern $line]} { lappend out $line }
    }
    return $out
}

# Waits until at least `count` lines after line `from` match the pattern.
proc wait_for_log_lines {pattern {from 0} {count 1} {maxtries 250} {delay 20} {level 0}} {
    for {set i 0} {$i < $maxtries} {incr i} {
        set m [log_lines_matching $pattern $from $level]
        if {[llength $m] >= $count} { return $m }
        vt_sleep $delay
    }
    vt_fail "log: expected $count line(s) matching '$pattern' after line $from; last lines:\n[vt_tail [server_log $level] 15]"
}

# ---------------------------------------------------------------- raw sockets

# A client for byte-exact protocol tests: same object as redis_client (write,
# flush, read_line, read_until_close, wait_close ...).
proc raw_client {{level 0}} {
    return [redis_client $level -deferred 1]
}

# Sends bytes on a fresh connection and returns everything the server sends
# until it closes the connection (error on timeout).
proc raw_exchange_until_close {bytes {secs 10} {level 0}} {
    set c [raw_client $level]
    $c write $bytes
    $c flush
    set out [$c read_until_close $secs]
    $c close
    return $out
}

# ---------------------------------------------------------------- programs

# Runs a program with a deadline; returns {exitcode output} (stdout+stderr).
# stdin_data is fed to the program when given.
proc run_program {argv {secs 60} {stdin_data ""}} {
    set tmp [file join $::vt::tmproot "prog.[pid].[incr ::vt::prog_seq]"]
    set in $tmp.in
    vt_file_write $in $stdin_data
    set f [open "|[list {*}$argv < $in 2>@1]" r]
    fconfigure $f -blocking 0 -translation binary
    set out ""
    set deadline [expr {[clock milliseconds] + int($secs * 1000)}]
    set ::vt::prog_ev ""
    while 1 {
        append out [read $f]
        if {[eof $f]} break
        if {[clock milliseconds] > $deadline} {
            foreach p [pid $f] { catch {exec kill -KILL $p} }
            catch {close $f}
            file delete $in
            return [list timeout $out]
        }
        fileevent $f readable {set ::vt::prog_ev r}
        set t [after 100 {set ::vt::prog_ev t}]
        vwait ::vt::prog_ev
        after cancel $t
        fileevent $f readable {}
    }
    fconfigure $f -blocking 1
    set code 0
    if {[catch {close $f} err opts]} {
        set ec [dict get $opts -errorcode]
        if {[lindex $ec 0] eq "CHILDSTATUS"} { set code [lindex $ec 2] }
        if {[lindex $ec 0] eq "CHILDKILLED"} { set code "signal [lindex $ec 2]" }
    }
    file delete $in
    return [list $code $out]
}
set ::vt::prog_seq 0

# Path of a system python3 that has python3-redis (Debian's), if any.
proc vt_python {} {
    foreach p {/usr/bin/python3 python3} {
        if {![catch {exec $p -c "import sys"}]} { return $p }
    }
    return ""
}

# Scales a time bound for sanitizer builds.
proc slow_ms {ms} { return [expr {int($ms * $::vt::slow)}] }

# Number of open file descriptors of the server at `level` (Linux /proc).
proc server_fd_count {{level 0}} {
    return [llength [glob -nocomplain /proc/[srv $level pid]/fd/*]]
}

# Runs a server whose config ends with `line`; it must exit 1 and name the
# directive and the line number.
proc assert_bad_config {line directive {extra_args {}}} {
    set d [vt_start_server_expect_fail [list config_lines [list $line] args $extra_args]]
    set out [dict get $d output]
    assert_equal 1 [dict get $d exitcode] "exit code for bad line '$line'; output:\n$out"
    assert_match "*$directive*" $out
    if {[llength $extra_args] == 0} {
        set lineno [llength [split [string trimright [dict get $d config] "\n"] "\n"]]
        assert {[regexp -nocase "line\[^0-9\]{0,12}${lineno}(\[^0-9\]|\$)" $out]} \
            "output does not name line $lineno:\n$out"
    }
}
