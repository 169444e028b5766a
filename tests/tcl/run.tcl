#!/usr/bin/env tclsh
# End-to-end test runner for vectis (Redis test-suite shape, own code).
#
#   tclsh tests/tcl/run.tcl --server <binary> [--single <file>]... [--only <glob>]...
#         [--tags "a,-b"] [--clients N] [--verbose] [--seed N] [--timeout S]
#         [--target vectis|redis] [--dont-clean] [--list]
#
# The parent process runs each test file (unit/*.tcl, integration/*.tcl) in its
# own tclsh child, N at a time (--clients, default 2), each child with its own
# port range, and collects the status lines the children print (see
# support/test.tcl). It prints every result, kills the servers of a child that
# exceeds --timeout seconds (per file), and ends with
#   "N passed, N failed, N skipped" and the names of failed tests;
# the exit status is 1 when anything failed.
#
# --target redis (the default when the binary is named redis-server) skips
# tests tagged vectis-only, so the suite can validate itself against the real
# Redis; --target vectis skips tests tagged redis-only.

set ::vt_script [file normalize [info script]]
set ::vt_dir [file dirname $::vt_script]
set ::vt_root [file normalize [file join $::vt_dir .. ..]]

proc usage {} {
    puts stderr "usage: tclsh tests/tcl/run.tcl --server <binary> \[--single file\]... \[--only glob\]...\
        \[--tags \"a,-b\"\] \[--clients N\] \[--verbose\] \[--seed N\] \[--timeout S\]\
        \[--target vectis|redis\] \[--dont-clean\] \[--list\]"
    exit 2
}

set opt(server) ""
set opt(single) {}
set opt(only) {}
set opt(tags) ""
set opt(clients) 2
set opt(verbose) 0
set opt(seed) [expr {[clock milliseconds] % 1000000}]
set opt(timeout) 600
set opt(target) ""
set opt(dont_clean) 0
set opt(list) 0
set opt(child) ""
set opt(port_base) 0
set opt(port_count) 200

for {set i 0} {$i < $argc} {incr i} {
    set a [lindex $argv $i]
    set v [lindex $argv [expr {$i + 1}]]
    switch -- $a {
        --server { set opt(server) $v; incr i }
        --single { lappend opt(single) $v; incr i }
        --only { lappend opt(only) $v; incr i }
        --tags { set opt(tags) $v; incr i }
        --clients { set opt(clients) $v; incr i }
        --verbose { set opt(verbose) 1 }
        --seed { set opt(seed) $v; incr i }
        --timeout { set opt(timeout) $v; incr i }
        --target { set opt(target) $v; incr i }
        --dont-clean { set opt(dont_clean) 1 }
        --list { set opt(list) 1 }
        --child { set opt(child) $v; incr i }
        --port-base { set opt(port_base) $v; incr i }
        --port-count { set opt(port_count) $v; incr i }
        --help - -h { usage }
        default { puts stderr "unknown option $a"; usage }
    }
}

# Names listed in an ENABLED file (one per line, # comments).
proc enabled_names {path} {
    set names {}
    if {[catch {open $path r} f]} { return $names }
    foreach line [split [read $f] "\n"] {
        set line [string trim [lindex [split $line #] 0]]
        if {$line ne ""} { lappend names $line }
    }
    close $f
    return $names
}

# Every test file run by default, as "unit/x", "unit/sub/y", "integration/z".
# A subdirectory of unit/ with an ENABLED file contributes only the files it
# lists (a listed name that is not in the subdirectory refers to
# integration/<name>.tcl); integration files named "<subdir>-*" are gated by
# that list too. Without ENABLED, every file of the subdirectory runs.
proc all_test_files {} {
    set files {}
    set gated {}
    set enabled_integration {}
    foreach f [lsort [glob -nocomplain -directory [file join $::vt_dir unit] *.tcl]] {
        lappend files "unit/[file rootname [file tail $f]]"
    }
    foreach d [lsort [glob -nocomplain -type d -directory [file join $::vt_dir unit] *]] {
        set sub [file tail $d]
        set en [file join $d ENABLED]
        if {[file exists $en]} {
            lappend gated "$sub-"
            foreach n [enabled_names $en] {
                if {[file exists [file join $d $n.tcl]]} {
                    lappend files "unit/$sub/$n"
                } elseif {[file exists [file join $::vt_dir integration $n.tcl]]} {
                    lappend enabled_integration $n
                }
            }
        } else {
            foreach f [lsort [glob -nocomplain -directory $d *.tcl]] {
                lappend files "unit/$sub/[file rootname [file tail $f]]"
            }
        }
    }
    foreach f [lsort [glob -nocomplain -directory [file join $::vt_dir integration] *.tcl]] {
        set n [file rootname [file tail $f]]
        set is_gated 0
        foreach g $gated { if {[string match "$g*" $n]} { set is_gated 1 } }
        if {!$is_gated || [lsearch -exact $enabled_integration $n] >= 0} {
            lappend files "integration/$n"
        }
    }
    return $files
}

# Accepts "unit/protocol", "unit/protocol.tcl", "tests/tcl/unit/protocol.tcl",
# "protocol", "unit/vset/vadd" (any file under tests/tcl, enabled or not).
proc resolve_single {name} {
    set name [file rootname $name]
    foreach f [all_test_files] {
        if {$f eq $name || [string match "*/$f" $name] || [file tail $f] eq $name} { return $f }
    }
    regsub {^.*tests/tcl/} $name {} rel
    if {[file exists [file join $::vt_dir $rel.tcl]]} { return $rel }
    foreach d {unit integration} {
        set hits [glob -nocomplain -directory [file join $::vt_dir $d] -tails */$name.tcl]
        if {[llength $hits] == 1} { return "$d/[file rootname [lindex $hits 0]]" }
    }
    puts stderr "no such test file: $name"
    exit 2
}

if {$opt(list)} {
    foreach f [all_test_files] { puts $f }
    exit 0
}
if {$opt(server) eq ""} usage
set opt(server) [file normalize $opt(server)]
if {![file executable $opt(server)]} {
    puts stderr "server binary not found or not executable: $opt(server)"
    exit 2
}
if {$opt(target) eq ""} {
    set opt(target) [expr {[string match redis-server* [file tail $opt(server)]] ? "redis" : "vectis"}]
}

# Tag filter: "a,-b" or "a -b".
set allow {}
set deny {}
foreach t [split [string map {, " "} $opt(tags)] " "] {
    if {$t eq ""} continue
    if {[string index $t 0] eq "-"} { lappend deny [string range $t 1 end] } else { lappend allow $t }
}
if {$opt(target) eq "redis"} { lappend deny vectis-only } else { lappend deny redis-only }

# ================================================================== child
if {$opt(child) ne ""} {
    source [file join $::vt_dir support test.tcl]
    source [file join $::vt_dir support client.tcl]
    source [file join $::vt_dir support server.tcl]
    source [file join $::vt_dir support util.tcl]
    set ::vt::server_bin $opt(server)
    set ::vt::target $opt(target)
    set ::vt::allow_tags $allow
    set ::vt::deny_tags $deny
    set ::vt::only $opt(only)
    set ::vt::verbose $opt(verbose)
    set ::vt::dont_clean $opt(dont_clean)
    set ::vt::port_base $opt(port_base)
    set ::vt::port_count $opt(port_count)
    set ::vt::file $opt(child)
    set ::vt::root $::vt_root
    set ::vt::helpers [file join $::vt_root tests helpers]
    set ::vt::tmproot [file join $::vt_root tests tmp]
    file mkdir $::vt::tmproot
    if {![file exists $::vt::tmproot/.gitignore]} {
        catch {vt_file_write $::vt::tmproot/.gitignore "*\n"}
    }
    # Sanitizer builds are slower: widen deadlines (never the assertions).
    set ::vt::slow 1
    if {[regexp {asan|tsan|sanit} $opt(server)] ||
        (![catch {exec ldd $opt(server)} ldd] && [regexp {libasan|libtsan|libubsan} $ldd])} {
        set ::vt::slow 3
    }
    expr {srand($opt(seed))}
    puts "seed $opt(seed) for $opt(child)"
    set code [catch {source [file join $::vt_dir $opt(child).tcl]} err opts]
    if {$code == 1} {
        vt_report_failure "exception in $opt(child)" "$err\n[dict get $opts -errorinfo]"
        # Stop whatever the file left running.
        foreach id [lreverse $::vt::stack] { catch {vt_stop $id} }
    }
    vt_status done $::vt::passed $::vt::failed $::vt::skipped
    exit 0
}

# ================================================================== parent
if {[llength $opt(single)]} {
    set files {}
    foreach s $opt(single) { lappend files [resolve_single $s] }
} else {
    set files [all_test_files]
    # Longest files first so two workers finish together.
    set heavy {unit/crash unit/limits integration/redis-cli integration/redis-benchmark unit/protocol unit/workers}
    set ordered {}
    foreach h $heavy { if {[lsearch -exact $files $h] >= 0} { lappend ordered $h } }
    foreach f $files { if {[lsearch -exact $ordered $f] < 0} { lappend ordered $f } }
    set files $ordered
}

puts "vectis test suite: server $opt(server) (target $opt(target)), [llength $files] file(s),\
      $opt(clients) at a time, seed $opt(seed)"
if {[llength $deny] || [llength $allow]} { puts "tags: allow {$allow} deny {$deny}" }
flush stdout

set passed 0
set failed 0
set skipped 0
set failed_names {}
set queue $files
set running 0
set slot_free {}
for {set i 0} {$i < $opt(clients)} {incr i} { lappend slot_free $i }
# Port ranges depend on our pid so two suites on one machine rarely collide;
# all stay below the ephemeral range (32768+).
set port_root [expr {16000 + ([pid] % 40) * 400}]
set start_ms [clock milliseconds]

proc spawn_next {} {
    global queue running slot_free opt port_root child
    while {[llength $queue] && [llength $slot_free]} {
        set file [lindex $queue 0]
        set queue [lrange $queue 1 end]
        set slot [lindex $slot_free 0]
        set slot_free [lrange $slot_free 1 end]
        set pbase [expr {$port_root + $slot * $opt(port_count)}]
        set cmd [list [info nameofexecutable] $::vt_script --child $file --server $opt(server) \
                     --target $opt(target) --tags $opt(tags) --seed $opt(seed) \
                     --port-base $pbase --port-count $opt(port_count)]
        foreach o $opt(only) { lappend cmd --only $o }
        if {$opt(verbose)} { lappend cmd --verbose }
        if {$opt(dont_clean)} { lappend cmd --dont-clean }
        set fd [open "|[list {*}$cmd 2>@1]" r]
        fconfigure $fd -blocking 0 -buffering line
        set child($fd,file) $file
        set child($fd,slot) $slot
        set child($fd,start) [clock milliseconds]
        set child($fd,current) ""
        set child($fd,pids) {}
        set child($fd,done) 0
        set child($fd,timer) [after [expr {$opt(timeout) * 1000}] [list child_timeout $fd]]
        fileevent $fd readable [list child_input $fd]
        incr running
        if {$opt(verbose)} { puts "\[start\] $file"; flush stdout }
    }
}

proc child_input {fd} {
    global child opt passed failed skipped failed_names
    while {[gets $fd line] >= 0} {
        if {[string match "##VT *" $line]} {
            set rest [string range $line 5 end]
            set kind [lindex [split $rest " "] 0]
            set arg [string range $rest [expr {[string length $kind] + 1}] end]
            switch -- $kind {
                testing {
                    set child($fd,current) $arg
                    if {$opt(verbose)} { puts "\[testing\] $arg" }
                }
                ok {
                    set ms [lindex [split $arg " "] 0]
                    set name [string range $arg [expr {[string length $ms] + 1}] end]
                    incr passed
                    puts "\[ok\]: $name ($ms ms)"
                }
                err {
                    incr failed
                    lappend failed_names "$child($fd,file): $arg"
                }
                skip {
                    incr skipped
                    if {$opt(verbose)} { puts "\[skip\]: $arg" }
                }
                spawned { lappend child($fd,pids) $arg }
                reaped {
                    set i [lsearch -exact $child($fd,pids) $arg]
                    if {$i >= 0} { set child($fd,pids) [lreplace $child($fd,pids) $i $i] }
                }
                done { set child($fd,done) 1 }
            }
        } else {
            puts $line
        }
    }
    flush stdout
    if {[eof $fd]} { child_finished $fd "" }
}

proc child_timeout {fd} {
    global child opt
    set cur $child($fd,current)
    puts "\[timeout\]: $child($fd,file) exceeded $opt(timeout) s (running test: '$cur'); killing it"
    foreach p [pid $fd] { catch {exec kill -KILL $p} }
    child_finished $fd "timed out after $opt(timeout) s in test '$cur'"
}

proc child_finished {fd reason} {
    global child running slot_free failed failed_names done_all opt
    if {![info exists child($fd,file)]} return
    after cancel $child($fd,timer)
    fileevent $fd readable {}
    # Servers the child left behind (it crashed or was killed).
    foreach p $child($fd,pids) { catch {exec kill -KILL $p} }
    fconfigure $fd -blocking 1
    catch {close $fd}
    if {$reason eq "" && !$child($fd,done)} {
        set reason "test process exited before finishing (last test: '$child($fd,current)')"
    }
    if {$reason ne ""} {
        incr failed
        lappend failed_names "$child($fd,file): $reason"
        puts "\[err\]: $child($fd,file): $reason"
    }
    set secs [format %.1f [expr {([clock milliseconds] - $child($fd,start)) / 1000.0}]]
    puts "\[done\]: $child($fd,file) ($secs s)"
    flush stdout
    lappend slot_free $child($fd,slot)
    array unset child $fd,*
    incr running -1
    spawn_next
    if {$running == 0} { set done_all 1 }
}

spawn_next
if {$running > 0} { vwait done_all }

set secs [format %.1f [expr {([clock milliseconds] - $start_ms) / 1000.0}]]
puts ""
puts "$passed passed, $failed failed, $skipped skipped in $secs s (seed $opt(seed))"
if {$failed > 0} {
    puts "Failed tests:"
    foreach n $failed_names { puts "  $n" }
    exit 1
}
exit 0
