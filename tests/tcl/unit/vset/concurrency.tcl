# Concurrency (issue 4, Tests): 4 writer connections run VADD (new elements
# and updates) / VREM / VSETATTR while 4 reader connections run VSIM on the
# same set, for 20 s (5 s when VECTIS_QUICK is set; VECTIS_VSET_CONC_SECONDS
# overrides both). Checked on every reply:
#   - well-formed: no error, WITHSCORES lists of even length, scores in [0,1]
#     in descending order, no duplicates, COUNT respected (exactly COUNT when
#     no filter and the set is larger);
#   - no removed element: a VSIM whose request was SENT after the reply of a
#     VREM of element e was RECEIVED must not return e;
#   - no unknown element: every name returned was VADDed (sent) before the
#     VSIM reply arrived;
#   - read-your-writes across connections: a VSIM TRUTH COUNT 1 for the exact
#     vector of an element whose VADD reply was received before the VSIM was
#     sent, and whose VREM / update was not sent before the VSIM reply
#     arrived, returns that element with score 1;
#   - VCARD in flight lies between what must and what may exist;
#   - at the end: VCARD, VISMEMBER, VGETATTR and a full TRUTH scan equal the
#     model.
#
# Soundness: everything runs in this one Tcl process, so a single logical
# clock (::cc(tick), incremented at every send and every processed reply)
# orders our own events. A reply processed at tick r was received by the
# socket at or before r, and a request sent at tick s left after every event
# with a smaller tick. So "VREM reply processed at r < VSIM sent at s" implies
# the VREM was executed before the VSIM was sent, hence before it executed.
# Element names are never reused after removal, each element belongs to one
# writer, and a writer has one request in flight, so the model of each
# element's state is exact.

source [file join $::vt_dir support vset_util.tcl]

set ::cc(seconds) 20
if {[info exists ::env(VECTIS_QUICK)] && $::env(VECTIS_QUICK) ne ""} { set ::cc(seconds) 5 }
if {[info exists ::env(VECTIS_VSET_CONC_SECONDS)]} { set ::cc(seconds) $::env(VECTIS_VSET_CONC_SECONDS) }
set ::cc(dim) 8
set ::cc(preload) 2000
set ::cc(key) cc

proc cc_tick {} { return [incr ::cc(tick)] }

proc cc_vec {} {
    set v {}
    for {set i 0} {$i < $::cc(dim)} {incr i} { lappend v [expr {rand() * 2 - 1}] }
    return $v
}

proc cc_violation {msg} {
    incr ::cc(violations)
    if {[llength $::cc(vmsgs)] < 20} { lappend ::cc(vmsgs) $msg }
}

# ------------------------------------------------------------------ writers

proc cc_writer_next {w} {
    upvar #0 ::cc_w$w st
    set c $st(client)
    set live $st(live)
    set r [expr {rand()}]
    if {[llength $live] == 0 || $r < 0.4} {
        set e "w$w:[incr st(seq)]"
        set v [cc_vec]
        set ::cc_vec($e) $v
        set ::cc_addsent($e) [cc_tick]
        incr ::cc(adds_sent)
        set st(op) [list add $e]
        set attr "{\"v\": $st(seq), \"w\": $w}"
        set ::cc_attr($e) $attr
        $c VADD $::cc(key) FP32 [vs_f32 $v] $e NOQUANT SETATTR $attr
    } elseif {$r < 0.7} {
        set i [expr {int(rand() * [llength $live])}]
        set e [lindex $live $i]
        set st(live) [lreplace $live $i $i]
        set ::cc_remsent($e) [cc_tick]
        unset -nocomplain ::cc_confirmed($e)
        # Readers hunt for recently removed elements by their exact vector.
        lappend ::cc(recent_rem) $e
        if {[llength $::cc(recent_rem)] > 50} { set ::cc(recent_rem) [lrange $::cc(recent_rem) end-49 end] }
        set st(op) [list rem $e]
        $c VREM $::cc(key) $e
    } elseif {$r < 0.9} {
        set e [lindex $live [expr {int(rand() * [llength $live])}]]
        set attr "{\"v\": [expr {int(rand() * 1000)}], \"w\": $w, \"s\": 1}"
        set ::cc_attr($e) $attr
        set st(op) [list setattr $e]
        cc_tick
        $c VSETATTR $::cc(key) $e $attr
    } else {
        set e [lindex $live [expr {int(rand() * [llength $live])}]]
        set v [cc_vec]
        set ::cc_vec($e) $v
        # An updated element no longer has a single known vector for readers.
        set ::cc_unstable($e) 1
        set st(op) [list update $e]
        cc_tick
        $c VADD $::cc(key) FP32 [vs_f32 $v] $e NOQUANT
    }
    set st(inflight) 1
}

proc cc_writer_reply {w rep} {
    upvar #0 ::cc_w$w st
    set t [cc_tick]
    lassign $st(op) kind e
    set st(inflight) 0
    incr ::cc(ops)
    switch -- $kind {
        add {
            if {$rep ne "1"} { cc_violation "VADD $e replied '$rep' (expected 1)"; return }
            lappend st(live) $e
            set ::cc_confirmed($e) $t
        }
        rem {
            if {$rep ne "1"} { cc_violation "VREM $e replied '$rep' (expected 1)" }
            set ::cc_removed($e) $t
            incr ::cc(rems_done)
        }
        setattr {
            if {$rep ne "1"} { cc_violation "VSETATTR $e replied '$rep' (expected 1)" }
        }
        update {
            if {$rep ne "0"} { cc_violation "VADD update of $e replied '$rep' (expected 0)" }
        }
    }
}

# ------------------------------------------------------------------ readers

proc cc_reader_next {rd} {
    upvar #0 ::cc_r$rd st
    set c $st(client)
    set st(sent) [cc_tick]
    set r [expr {rand()}]
    if {$r < 0.15} {
        # Read-your-writes probe: a confirmed, never-updated element.
        set names [array names ::cc_confirmed]
        set e ""
        for {set try 0} {$try < 5 && [llength $names]} {incr try} {
            set cand [lindex $names [expr {int(rand() * [llength $names])}]]
            if {![info exists ::cc_unstable($cand)]} { set e $cand; break }
        }
        if {$e ne ""} {
            set st(op) [list probe $e]
            $c VSIM $::cc(key) FP32 [vs_f32 $::cc_vec($e)] COUNT 1 WITHSCORES TRUTH
            set st(inflight) 1
            return
        }
    }
    if {$r < 0.22} {
        set st(op) [list vcard [array names ::cc_confirmed] $::cc(rems_done)]
        $c VCARD $::cc(key)
        set st(inflight) 1
        return
    }
    set q [cc_vec]
    set kind [expr {int(rand() * 6)}]
    if {$kind >= 4} {
        # Hunt: the exact vector of an element whose VREM was sent recently
        # (maybe still in flight), so the removal race is exercised.
        if {[llength $::cc(recent_rem)] == 0} {
            set kind 0
        } else {
            set e [lindex $::cc(recent_rem) [expr {int(rand() * [llength $::cc(recent_rem)])}]]
            set q $::cc_vec($e)
            if {[info exists ::cc_removed($e)]} { incr ::cc(hunts) }
        }
    }
    switch -- $kind {
        0 { set args [list FP32 [vs_f32 $q] COUNT 10 WITHSCORES]; set full 1 }
        1 { set args [list VALUES $::cc(dim) {*}$q COUNT 10 WITHSCORES EF 50]; set full 1 }
        2 { set args [list ELE p[expr {int(rand() * $::cc(preload))}] COUNT 10 WITHSCORES]; set full 1 }
        3 { set args [list FP32 [vs_f32 $q] COUNT 10 WITHSCORES FILTER {.v >= 0}]; set full 0 }
        4 { set args [list FP32 [vs_f32 $q] COUNT 5 WITHSCORES]; set full 0 }
        5 { set args [list FP32 [vs_f32 $q] COUNT 5 WITHSCORES TRUTH]; set full 0 }
    }
    set st(op) [list vsim $full $args]
    $c VSIM $::cc(key) {*}$args
    set st(inflight) 1
}

proc cc_check_names {names sent what} {
    foreach e $names {
        if {[string match p* $e]} {
            set n [string range $e 1 end]
            if {![string is integer -strict $n] || $n < 0 || $n >= $::cc(preload)} {
                cc_violation "$what returned unknown element '$e'"
            }
            continue
        }
        if {![info exists ::cc_addsent($e)]} {
            cc_violation "$what returned '$e', never added"
            continue
        }
        if {[info exists ::cc_removed($e)] && $::cc_removed($e) < $sent} {
            cc_violation "$what (sent at tick $sent) returned '$e', whose VREM replied at tick $::cc_removed($e)"
        }
    }
}

proc cc_reader_reply {rd rep} {
    upvar #0 ::cc_r$rd st
    cc_tick
    set st(inflight) 0
    incr ::cc(reads)
    set op $st(op)
    switch -- [lindex $op 0] {
        probe {
            set e [lindex $op 1]
            if {[llength $rep] != 2} { cc_violation "probe for $e: reply '$rep'"; return }
            # Must find it unless a VREM or an update was sent before now.
            if {![info exists ::cc_remsent($e)] && ![info exists ::cc_unstable($e)]} {
                incr ::cc(probes)
                if {[lindex $rep 0] ne $e} {
                    cc_violation "VSIM TRUTH for the vector of $e (VADD confirmed before the request) returned '$rep'"
                } elseif {abs([lindex $rep 1] - 1.0) > 1e-5} {
                    cc_violation "score of $e against its own vector: [lindex $rep 1]"
                }
            }
            cc_check_names [list [lindex $rep 0]] $st(sent) "probe VSIM"
        }
        vcard {
            lassign $op - snapshot rems_at_send
            if {![string is integer -strict $rep]} { cc_violation "VCARD replied '$rep'"; return }
            set low $::cc(preload)
            foreach e $snapshot { if {![info exists ::cc_remsent($e)]} { incr low } }
            set high [expr {$::cc(preload) + $::cc(adds_sent) - $rems_at_send}]
            if {$rep < $low || $rep > $high} {
                cc_violation "VCARD $rep outside \[$low, $high\]"
            }
        }
        vsim {
            lassign $op - full args
            if {[catch {vs_check_scored $rep} names]} {
                cc_violation "VSIM $args: malformed reply: $names"
                return
            }
            if {[llength $names] != [llength [lsort -unique $names]]} {
                cc_violation "VSIM duplicates: $rep"
            }
            if {[llength $names] > 10 || ($full && [llength $names] != 10)} {
                cc_violation "VSIM [string range $args 0 40]: [llength $names] results"
            }
            cc_check_names $names $st(sent) "VSIM"
        }
    }
}

# ------------------------------------------------------------------ driver

proc cc_read_reply {c} {
    if {[catch {$c read} rep opts]} {
        if {[lindex [dict get $opts -errorcode] 0] eq "VT_REPLY_ERROR"} { return "-ERR-REPLY $rep" }
        return -options $opts $rep
    }
    return $rep
}

proc cc_run {} {
    set deadline [expr {[clock milliseconds] + int($::cc(seconds) * 1000)}]
    set stopping 0
    while 1 {
        set now [clock milliseconds]
        if {$now >= $deadline} { set stopping 1 }
        set busy 0
        set progressed 0
        for {set w 0} {$w < 4} {incr w} {
            upvar #0 ::cc_w$w ws
            if {$ws(inflight) && [$ws(client) pending]} {
                cc_writer_reply $w [cc_read_reply $ws(client)]
                set progressed 1
            }
            if {!$ws(inflight) && !$stopping} { cc_writer_next $w }
            if {$ws(inflight)} { set busy 1 }
        }
        for {set rd 0} {$rd < 4} {incr rd} {
            upvar #0 ::cc_r$rd rs
            if {$rs(inflight) && [$rs(client) pending]} {
                cc_reader_reply $rd [cc_read_reply $rs(client)]
                set progressed 1
            }
            if {!$rs(inflight) && !$stopping} { cc_reader_next $rd }
            if {$rs(inflight)} { set busy 1 }
        }
        if {$stopping && !$busy} break
        if {$stopping && $now > $deadline + [slow_ms 30000]} {
            fail "replies still missing 30 s after the end of the run"
        }
        if {!$progressed} { vt_sleep 1 }
    }
}

start_server {tags {vset concurrency}} {
    test "Concurrency: 4 writers (VADD/VREM/VSETATTR) and 4 VSIM readers for $::cc(seconds) s" {
        array set ::cc {tick 0 violations 0 vmsgs {} ops 0 reads 0 probes 0 adds_sent 0 rems_done 0
            recent_rem {} hunts 0}
        array unset ::cc_vec; array unset ::cc_addsent; array unset ::cc_remsent
        array unset ::cc_removed; array unset ::cc_confirmed; array unset ::cc_unstable
        array unset ::cc_attr
        set cmds {}
        for {set i 0} {$i < $::cc(preload)} {incr i} {
            lappend cmds [list VADD $::cc(key) FP32 [vs_f32 [cc_vec]] p$i NOQUANT]
        }
        foreach rep [vs_pipeline [redis_client] $cmds] { assert_equal 1 $rep }

        for {set w 0} {$w < 4} {incr w} {
            array set ::cc_w$w [list client [redis_deferring_client] live {} seq 0 inflight 0 op {}]
        }
        for {set rd 0} {$rd < 4} {incr rd} {
            array set ::cc_r$rd [list client [redis_deferring_client] inflight 0 op {} sent 0]
        }
        cc_run
        set live_total 0
        for {set w 0} {$w < 4} {incr w} { incr live_total [llength [set ::cc_w${w}(live)]] }
        puts [format "    %d s: %d writes, %d reads (%d read-your-writes probes, %d searches for\
                      the exact vector of an element already removed), %d live writer elements" \
                  $::cc(seconds) $::cc(ops) $::cc(reads) $::cc(probes) $::cc(hunts) $live_total]
        if {$::cc(violations)} {
            fail "$::cc(violations) violation(s):\n[join $::cc(vmsgs) \n]"
        }
        assert_morethan $::cc(ops) 100
        assert_morethan $::cc(reads) 100
        assert_morethan $::cc(hunts) 10
    }

    test {Concurrency: after the run VCARD, VISMEMBER, VGETATTR and a TRUTH scan match the model} {
        set live {}
        for {set w 0} {$w < 4} {incr w} { lappend live {*}[set ::cc_w${w}(live)] }
        set expected [expr {$::cc(preload) + [llength $live]}]
        assert_equal $expected [r vcard $::cc(key)]
        set removed [array names ::cc_removed]
        set cmds {}
        foreach e $live { lappend cmds [list VISMEMBER $::cc(key) $e] }
        foreach e $removed { lappend cmds [list VISMEMBER $::cc(key) $e] }
        set reps [vs_pipeline [redis_client] $cmds]
        set i 0
        foreach e $live {
            assert_equal 1 [lindex $reps $i] "live $e"
            incr i
        }
        foreach e $removed {
            assert_equal 0 [lindex $reps $i] "removed $e"
            incr i
        }
        set cmds {}
        foreach e $live { lappend cmds [list VGETATTR $::cc(key) $e] }
        set reps [vs_pipeline [redis_client] $cmds]
        foreach e $live rep $reps { assert_equal $::cc_attr($e) $rep "attribute of $e" }
        set all [r vsim $::cc(key) VALUES $::cc(dim) {*}[lrepeat $::cc(dim) 1] COUNT [expr {$expected + 10}] TRUTH]
        assert_equal $expected [llength $all]
        set want $live
        for {set i 0} {$i < $::cc(preload)} {incr i} { lappend want p$i }
        assert_same_elements $want $all
        # Updated elements carry their last vector.
        foreach e [lrange [array names ::cc_unstable] 0 50] {
            if {[lsearch -exact $live $e] < 0} continue
            set rep [r vsim $::cc(key) FP32 [vs_f32 $::cc_vec($e)] COUNT 1 TRUTH]
            assert_equal $e [lindex $rep 0] "updated element $e"
        }
    }
}
