# Helpers for the vector-set end-to-end tests (tests/tcl/unit/vset/*.tcl and
# tests/tcl/integration/vset-clients.tcl). Each of those files sources this
# one; nothing here starts servers or talks to the runner.
#
#   vs_f32 floats            little-endian float32 blob (what VADD/VSIM FP32 take)
#   vs_unf32 blob            the floats back from such a blob
#   vs_values floats         "VALUES n v1 .. vn" argument list
#   vs_typed client args     sends a command and returns its reply as a typed tree
#   vs_skel tree             the type skeleton of a typed tree (for shape asserts)
#   vs_plain tree            the typed tree without types (like the harness client)
#   vs_resp3 ?level?         a new client switched to RESP3 with HELLO 3
#   assert_error_exact msg body   the error text must equal msg (no glob: the
#                            expected texts contain [ ] * ? characters)
#   assert_error_nocase pat body  glob match ignoring case
#   assert_float_eq exp got tol   numeric comparison with an absolute tolerance
#   vs_lcg_seed n / vs_rand / vs_gauss   seeded generator, independent of rand()
#   vs_random_vec dim / vs_gauss_vec dim / vs_norm v / vs_dot a b / vs_cos a b
#   vs_score a b             the vector-set score 1 - d/2 = (1 + cos) / 2
#   vs_pipeline client cmds  sends a list of commands in one write, returns replies
#
# Typed replies (vs_typed): a two-element list {type value} where type is
#   simple err int bulk nullbulk array nullarray map set push double bool null
#   verb big attr
# and value is the text (scalars), 1/0 (bool), a list of typed trees
# (array/set/push) or a flat list k v k v of typed trees (map). Null kinds
# keep their identity so RESP2 `$-1` vs `*-1` vs RESP3 `_` can be asserted;
# the harness client maps all of them to "" and doubles to text.

namespace eval ::vs {
    variable lcg 1
}

# ---------------------------------------------------------------- vectors

proc vs_f32 {floats} {
    return [binary format r* $floats]
}

proc vs_unf32 {blob} {
    binary scan $blob r* l
    return $l
}

proc vs_values {floats} {
    return [list VALUES [llength $floats] {*}$floats]
}

# 32-bit linear congruential generator (Numerical Recipes constants), so data
# sets are the same for a given seed on every platform and do not disturb
# rand(). The product stays below 2^53, so Tcl never falls back to bignums
# (a 48-bit LCG is ten times slower here). Low bits are weak; we only use
# the whole state as a fraction.
proc vs_lcg_seed {seed} {
    set ::vs::lcg [expr {wide($seed) & 0xFFFFFFFF}]
}

proc vs_rand {} {
    set ::vs::lcg [expr {($::vs::lcg * 1664525 + 1013904223) & 0xFFFFFFFF}]
    return [expr {$::vs::lcg / 4294967296.0}]
}

# Standard normal (Box-Muller, one value per call).
proc vs_gauss {} {
    set u [vs_rand]
    if {$u < 1e-12} { set u 1e-12 }
    return [expr {sqrt(-2.0 * log($u)) * cos(6.283185307179586 * [vs_rand])}]
}

proc vs_random_vec {dim} {
    set v {}
    for {set i 0} {$i < $dim} {incr i} { lappend v [expr {[vs_rand] * 2.0 - 1.0}] }
    return $v
}

proc vs_gauss_vec {dim} {
    set v {}
    for {set i 0} {$i < $dim} {incr i} { lappend v [vs_gauss] }
    return $v
}

proc vs_dot {a b} {
    set s 0.0
    foreach x $a y $b { set s [expr {$s + $x * $y}] }
    return $s
}

proc vs_norm {a} {
    return [expr {sqrt([vs_dot $a $a])}]
}

proc vs_cos {a b} {
    set na [vs_norm $a]
    set nb [vs_norm $b]
    if {$na == 0 || $nb == 0} { return 0.0 }
    return [expr {[vs_dot $a $b] / ($na * $nb)}]
}

proc vs_score {a b} {
    return [expr {(1.0 + [vs_cos $a $b]) / 2.0}]
}

proc vs_l2sq {a b} {
    set s 0.0
    foreach x $a y $b { set s [expr {$s + ($x - $y) * ($x - $y)}] }
    return $s
}

# ---------------------------------------------------------------- asserts

proc assert_error_exact {msg body} {
    if {[catch {uplevel 1 $body} err]} {
        if {$err ne $msg} {
            vt_fail "Expected error '$msg' but got error '[vt_short $err]'"
        }
        return $err
    }
    vt_fail "Expected error '$msg' but got reply '[vt_short $err]'"
}

proc assert_error_nocase {pattern body} {
    if {[catch {uplevel 1 $body} err]} {
        if {![string match -nocase $pattern $err]} {
            vt_fail "Expected error matching '$pattern' (any case) but got error '[vt_short $err]'"
        }
        return $err
    }
    vt_fail "Expected error matching '$pattern' but got reply '[vt_short $err]'"
}

proc assert_float_eq {expected value tol {detail ""}} {
    if {![string is double -strict $value] || abs($value - $expected) > $tol} {
        set m "Expected '[vt_short $value]' to be $expected +- $tol"
        if {$detail ne ""} { append m " ($detail)" }
        vt_fail $m
    }
}

# Compares two lists as sets (order ignored, duplicates kept).
proc assert_same_elements {expected value {detail ""}} {
    if {[lsort $expected] ne [lsort $value]} {
        set m "Expected elements {[vt_short [lsort $expected]]} but got {[vt_short [lsort $value]]}"
        if {$detail ne ""} { append m " ($detail)" }
        vt_fail $m
    }
}

# ---------------------------------------------------------------- clients

# A new client on the server at `level`, switched to RESP3.
proc vs_resp3 {{level 0}} {
    set c [redis_client $level]
    $c hello 3
    return $c
}

# Sends a list of commands (each a list) in one write and returns the
# replies; error replies come back as "-text" strings so one failure does not
# hide the others.
proc vs_pipeline {c cmds} {
    set buf ""
    foreach cmd $cmds { append buf [vt_resp_command $cmd] }
    $c write $buf
    $c flush
    set out {}
    foreach cmd $cmds {
        if {[catch {$c read} rep opts]} {
            if {[lindex [dict get $opts -errorcode] 0] ne "VT_REPLY_ERROR"} {
                return -options $opts $rep
            }
            set rep "-$rep"
        }
        lappend out $rep
    }
    return $out
}

# Sends one command on `c` (which must not have unread replies) and reads the
# reply byte by byte into a typed tree. A top-level error reply is returned
# as {err text}, not raised.
proc vs_typed {c args} {
    $c write [vt_resp_command $args]
    $c flush
    return [vs_read_typed $c]
}

proc vs_read_typed {c} {
    set line [$c read_line]
    set t [string index $line 0]
    set v [string range $line 1 end]
    switch -exact -- $t {
        + { return [list simple $v] }
        - { return [list err $v] }
        : { return [list int $v] }
        , { return [list double $v] }
        ( { return [list big $v] }
        # { return [list bool [expr {$v eq "t" ? 1 : 0}]] }
        _ { return [list null {}] }
        $ - = - ! {
            if {$v == -1} { return [list nullbulk {}] }
            set data [string range [$c read_bytes [expr {$v + 2}]] 0 end-2]
            switch -- $t {
                $ { return [list bulk $data] }
                = { return [list verb $data] }
                ! { return [list err $data] }
            }
        }
        * - ~ - > {
            if {$v == -1} { return [list nullarray {}] }
            set l {}
            for {set i 0} {$i < $v} {incr i} { lappend l [vs_read_typed $c] }
            return [list [dict get {* array ~ set > push} $t] $l]
        }
        % - | {
            set l {}
            for {set i 0} {$i < 2 * $v} {incr i} { lappend l [vs_read_typed $c] }
            if {$t eq "|"} { return [list attr $l] }
            return [list map $l]
        }
        default { error "vs_read_typed: unexpected line '$line'" }
    }
}

# Type skeleton: scalars become their type name, aggregates {type {children}}.
proc vs_skel {tree} {
    lassign $tree t v
    if {$t in {array set push map attr}} {
        set l {}
        foreach x $v { lappend l [vs_skel $x] }
        return [list $t $l]
    }
    return $t
}

# Values only (like the harness client, but without its null folding).
proc vs_plain {tree} {
    lassign $tree t v
    if {$t in {array set push map attr}} {
        set l {}
        foreach x $v { lappend l [vs_plain $x] }
        return $l
    }
    return $v
}

# Top-level type of a typed tree.
proc vs_type {tree} { return [lindex $tree 0] }

# ---------------------------------------------------------------- data sets

# Adds n elements "<prefix><i>" with random dim-d vectors to key; returns the
# vectors as a dict name -> vector. Extra VADD options go after the element.
proc vs_fill {c key n dim {prefix e} {opts {}}} {
    set vecs [dict create]
    set cmds {}
    for {set i 0} {$i < $n} {incr i} {
        set v [vs_random_vec $dim]
        dict set vecs $prefix$i $v
        lappend cmds [list VADD $key FP32 [vs_f32 $v] $prefix$i {*}$opts]
    }
    set batch 1000
    for {set i 0} {$i < $n} {incr i $batch} {
        set reps [vs_pipeline $c [lrange $cmds $i [expr {$i + $batch - 1}]]]
        foreach rep $reps {
            if {$rep ne "1"} { vt_fail "vs_fill $key: VADD replied '$rep'" }
        }
    }
    return $vecs
}

# Scores of a flat RESP2 WITHSCORES reply must be non-increasing and within
# [0,1]; returns the element names.
proc vs_check_scored {flat} {
    if {[llength $flat] % 2} { vt_fail "odd-length WITHSCORES reply: [vt_short $flat]" }
    set prev 2.0
    set names {}
    foreach {e s} $flat {
        if {![string is double -strict $s] || $s < -1e-6 || $s > 1.000001} {
            vt_fail "bad score '$s' for '$e' in [vt_short $flat]"
        }
        if {$s > $prev + 1e-9} { vt_fail "scores not in descending order: [vt_short $flat]" }
        set prev $s
        lappend names $e
    }
    return $names
}

# Reports a test as skipped, with the reason printed (for tests that need a
# tool the machine lacks).
proc vs_skip_test {name why} {
    puts "    \[skip\]: $name: $why"
    incr ::vt::skipped
    vt_status skip $name
}

# vectis only: waits (up to `secs`) until every row of the collection is in
# its segment's index (VDESCRIBE segments: rows / indexed), so that a search
# exercises the index and not the exact scan of the not-yet-indexed tail.
# Returns "indexed/rows" as last seen. No-op against Redis.
proc vs_wait_indexed {key {secs 60}} {
    if {$::vt::target ne "vectis"} { return "" }
    set deadline [expr {[clock milliseconds] + int($secs * 1000 * $::vt::slow)}]
    while 1 {
        set d [r vdescribe $key]
        set rows 0
        set indexed 0
        foreach seg [dict get $d segments] {
            incr rows [expr {[dict get $seg rows]}]
            incr indexed [expr {[dict get $seg indexed]}]
        }
        if {$indexed >= $rows || [clock milliseconds] > $deadline} {
            return "$indexed/$rows"
        }
        vt_sleep 50
    }
}
