# Test primitives for the vectis end-to-end suite: `test`, assertions, tags,
# wait_for_condition, and the status lines a test-file process sends to the
# runner (run.tcl).
#
# Status protocol (stdout of a child process, one line each):
#   ##VT testing <name>     a test starts (the runner remembers it for timeouts)
#   ##VT ok <ms> <name>     passed
#   ##VT err <name>         failed (details were printed just before)
#   ##VT skip <name>        skipped by tags or --only
#   ##VT spawned <pid>      a server process was started (killed by the
#   ##VT reaped <pid>       runner if this process dies or times out)
# Any other output is detail text the runner prints as is.
#
# Failure kinds: an assertion raises with errorCode VT_ASSERT and its message
# is printed; any other error is an exception and its stack is printed too.
# Both count as a failed test; the file goes on with the next test.

namespace eval ::vt {
    variable tags {}
    variable allow_tags {}
    variable deny_tags {}
    variable only {}
    variable verbose 0
    variable passed 0
    variable failed 0
    variable skipped 0
    variable current_test ""
}

proc vt_status {args} {
    puts "##VT [join $args { }]"
    flush stdout
}

proc vt_detail {msg} {
    foreach line [split $msg "\n"] { puts "    $line" }
    flush stdout
}

# True when a test (or server block) with these tags must be skipped.
proc vt_tags_denied {tags} {
    foreach t $tags {
        if {[lsearch -exact $::vt::deny_tags $t] >= 0} { return 1 }
    }
    if {[llength $::vt::allow_tags] == 0} { return 0 }
    foreach t $tags {
        if {[lsearch -exact $::vt::allow_tags $t] >= 0} { return 0 }
    }
    return 1
}

proc tags {taglist body} {
    set saved $::vt::tags
    lappend ::vt::tags {*}$taglist
    set code [catch {uplevel 1 $body} res opts]
    set ::vt::tags $saved
    return -options $opts $res
}

proc vt_name_selected {name} {
    if {[llength $::vt::only] == 0} { return 1 }
    foreach pat $::vt::only {
        if {[string match $pat $name]} { return 1 }
    }
    return 0
}

# test name body ?expected?  -- runs body in the caller's scope.
proc test {name body {expected __vt_none__}} {
    if {[vt_tags_denied $::vt::tags] || ![vt_name_selected $name]} {
        incr ::vt::skipped
        vt_status skip $name
        return
    }
    set ::vt::current_test $name
    vt_status testing $name
    set start [clock milliseconds]
    set code [catch {uplevel 1 $body} result opts]
    set ms [expr {[clock milliseconds] - $start}]
    set ok 0
    if {$code == 0 || $code == 2} {
        if {$expected eq "__vt_none__" || $result eq $expected} {
            set ok 1
        } else {
            set msg "Expected '$expected' to equal '$result'"
        }
    } else {
        set ecode [dict get $opts -errorcode]
        if {[lindex $ecode 0] eq "VT_ASSERT"} {
            set msg $result
        } else {
            set msg "Exception: $result\n[vt_where [dict get $opts -errorinfo]]"
        }
    }
    if {$ok} {
        incr ::vt::passed
        vt_status ok $ms $name
    } else {
        incr ::vt::failed
        puts "\[err\]: $name in $::vt::file"
        vt_detail $msg
        vt_status err $name
        vt_after_failure
    }
    set ::vt::current_test ""
}

# The test-body line an error came from (the whole stack for Tcl errors in
# the harness itself).
proc vt_where {info} {
    set where {}
    foreach {all cmd line} [regexp -all -inline {"((?:[^"\\]|\\.)*)"\n\s*\("uplevel" body line (\d+)\)} $info] {
        lappend where "at body line $line: [string range $cmd 0 200]"
    }
    if {[llength $where]} { return [join $where "\n"] }
    return $info
}

# Hook set by server.tcl: checks whether the current server is still alive.
proc vt_after_failure {} {}

proc vt_fail {msg} {
    error $msg {} {VT_ASSERT}
}
proc fail {msg} { vt_fail $msg }

proc vt_short {v} {
    if {[string length $v] > 600} {
        return "[string range $v 0 599]... ([string length $v] bytes)"
    }
    return $v
}

proc assert {cond {msg ""}} {
    if {![uplevel 1 [list expr $cond]]} {
        vt_fail "Assertion failed: $cond [expr {$msg ne {} ? "($msg)" : ""}]"
    }
}

proc assert_equal {expected value {detail ""}} {
    if {$expected ne $value} {
        set m "Expected '[vt_short $value]' to equal '[vt_short $expected]'"
        if {$detail ne ""} { append m " ($detail)" }
        vt_fail $m
    }
}

proc assert_not_equal {unexpected value {detail ""}} {
    if {$unexpected eq $value} {
        vt_fail "Expected '[vt_short $value]' to differ from '[vt_short $unexpected]' $detail"
    }
}

proc assert_match {pattern value {detail ""}} {
    if {![string match $pattern $value]} {
        set m "Expected '[vt_short $value]' to match '$pattern'"
        if {$detail ne ""} { append m " ($detail)" }
        vt_fail $m
    }
}

proc assert_no_match {pattern value} {
    if {[string match $pattern $value]} {
        vt_fail "Expected '[vt_short $value]' not to match '$pattern'"
    }
}

proc assert_regexp {re value} {
    if {![regexp -- $re $value]} {
        vt_fail "Expected '[vt_short $value]' to match regexp '$re'"
    }
}

proc assert_range {value min max} {
    if {!([string is double -strict $value] && $value >= $min && $value <= $max)} {
        vt_fail "Expected '$value' to be between $min and $max"
    }
}

proc assert_lessthan {value than} {
    if {!($value < $than)} { vt_fail "Expected '$value' < '$than'" }
}
proc assert_lessthan_equal {value than} {
    if {!($value <= $than)} { vt_fail "Expected '$value' <= '$than'" }
}
proc assert_morethan {value than} {
    if {!($value > $than)} { vt_fail "Expected '$value' > '$than'" }
}
proc assert_morethan_equal {value than} {
    if {!($value >= $than)} { vt_fail "Expected '$value' >= '$than'" }
}

# assert_error pattern body: body must raise an error whose message matches.
proc assert_error {pattern body} {
    if {[catch {uplevel 1 $body} err]} {
        if {![string match $pattern $err]} {
            vt_fail "Expected error matching '$pattern' but got error '[vt_short $err]'"
        }
        return $err
    }
    vt_fail "Expected error matching '$pattern' but got reply '[vt_short $err]'"
}

# Sleeps while running the event loop (background flushes, fileevents).
proc vt_sleep {ms} {
    set var ::vt::sleep_[incr ::vt::sleep_seq]
    after $ms [list set $var 1]
    vwait $var
    unset $var
}
set ::vt::sleep_seq 0

# wait_for_condition maxtries delay_ms {expr} else {script}
proc wait_for_condition {maxtries delay cond else_kw elsescript} {
    if {$else_kw ne "else"} { error "wait_for_condition: expected 'else'" }
    for {set i 0} {$i < $maxtries} {incr i} {
        if {[uplevel 1 [list expr $cond]]} return
        vt_sleep $delay
    }
    uplevel 1 $elsescript
}

# Random helpers; the seed is printed by the runner for every file.
proc randstr {len {alphabet abcdefghijklmnopqrstuvwxyz0123456789}} {
    set n [string length $alphabet]
    set s ""
    for {set i 0} {$i < $len} {incr i} {
        append s [string index $alphabet [expr {int(rand() * $n)}]]
    }
    return $s
}

proc randbytes {len} {
    set s ""
    for {set i 0} {$i < $len} {incr i} {
        append s [format %c [expr {int(rand() * 256)}]]
    }
    return $s
}
