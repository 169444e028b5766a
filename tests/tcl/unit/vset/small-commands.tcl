# The small vector-set commands (VECTORSETS.md sections 0, 3, 4, 9): VREM
# (bool, real deletion, the last element deletes the key), VCARD, VDIM (error
# on a missing key), VEMB (NOQUANT / Q8 / BIN, RAW), VLINKS (levels,
# WITHSCORES), VINFO (nine fields in order, null array on a missing key),
# VSETATTR / VGETATTR (verbatim, empty removes, JSON not validated),
# VISMEMBER. Every reply in RESP2 and RESP3 with its exact type, the
# missing-key and missing-element rows of the section 3 table, arity errors.

source [file join $::vt_dir support vset_util.tcl]

proc assert_vec {expected got tol {detail ""}} {
    if {[llength $expected] != [llength $got]} {
        vt_fail "Expected vector {$expected} but got {[vt_short $got]} $detail"
    }
    foreach x $expected y $got {
        if {![string is double -strict $y] || abs($x - $y) > $tol} {
            vt_fail "Expected vector {$expected} +- $tol but got {[vt_short $got]} $detail"
        }
    }
}

# Both protocols: runs `body` with $c bound to a RESP2 and then a RESP3 client
# and $proto set to 2 or 3.
proc both_protocols {body} {
    foreach proto {2 3} {
        set c [expr {$proto == 2 ? [redis_client] : [vs_resp3]}]
        uplevel 1 [list set c $c]
        uplevel 1 [list set proto $proto]
        set code [catch {uplevel 1 $body} res opts]
        $c close
        if {$code} { return -options $opts $res }
    }
}

start_server {tags {vset small}} {
    # ------------------------------------------------------------ VREM
    test {VREM: 1 when removed, 0 when absent or the key is missing (RESP2 ints, RESP3 bools)} {
        r flushall
        both_protocols {
            r vadd k VALUES 2 1 0 a
            r vadd k VALUES 2 0 1 b
            set t1 [expr {$proto == 2 ? {int 1} : {bool 1}}]
            set t0 [expr {$proto == 2 ? {int 0} : {bool 0}}]
            assert_equal $t1 [vs_typed $c VREM k a]
            assert_equal $t0 [vs_typed $c VREM k a]
            assert_equal $t0 [vs_typed $c VREM nokey a]
            assert_equal 1 [r vcard k]
            assert_equal 0 [r vismember k a]
            r del k
        }
    }

    test {VREM of the last element deletes the key (EXISTS 0, TYPE none, VINFO null)} {
        r flushall
        r vadd k VALUES 2 1 0 a NOQUANT SETATTR {{"x":1}}
        r vadd k VALUES 2 0 1 b NOQUANT
        assert_equal 1 [r vrem k a]
        assert_equal 1 [r exists k]
        assert_equal 1 [r vrem k b]
        assert_equal 0 [r exists k]
        assert_equal none [r type k]
        assert_equal 0 [r vcard k]
        assert_equal 0 [r dbsize]
        assert_equal {} [r keys *]
        # The key is really gone: VADD creates a fresh set with new parameters.
        assert_equal 1 [r vadd k VALUES 3 1 0 0 a BIN]
        assert_equal bin [dict get [r vinfo k] quant-type]
        assert_equal 3 [r vdim k]
        assert_equal {} [r vgetattr k a]
    }

    test {VREM arity} {
        assert_error_exact {ERR wrong number of arguments for 'VREM' command} {r vrem k}
        assert_error_exact {ERR wrong number of arguments for 'VREM' command} {r vrem k a b}
    }

    test {VREM is a real deletion: removed elements never come back from VSIM} {
        r del big
        vs_lcg_seed 61
        puts "    seed 61 (vs_lcg) for the deletion test"
        set vecs [vs_fill [redis_client] big 400 8 n NOQUANT]
        set removed {}
        for {set i 0} {$i < 400} {incr i 2} {
            assert_equal 1 [r vrem big n$i]
            lappend removed n$i
        }
        assert_equal 200 [r vcard big]
        for {set q 0} {$q < 20} {incr q} {
            set query [vs_random_vec 8]
            foreach opts {{} {TRUTH} {NOTHREAD} {EF 400}} {
                set res [r vsim big FP32 [vs_f32 $query] COUNT 30 {*}$opts]
                assert_equal 30 [llength $res]
                foreach e $res {
                    assert {[lsearch -exact $removed $e] < 0} "VSIM $opts returned removed $e"
                }
            }
        }
        # Exact search over the survivors still finds the true neighbours.
        set query [vs_random_vec 8]
        set exp {}
        dict for {e v} $vecs {
            if {[lsearch -exact $removed $e] < 0} { lappend exp [list $e [vs_score $query $v]] }
        }
        set names {}
        foreach p [lrange [lsort -real -decreasing -index 1 $exp] 0 9] { lappend names [lindex $p 0] }
        assert_equal $names [r vsim big FP32 [vs_f32 $query] TRUTH]
        assert_same_elements $names [r vsim big FP32 [vs_f32 $query] EF 200]
        set ::removed $removed
    }

    test {After VREM no VLINKS reply names a removed element} {
        set removed $::removed
        for {set i 1} {$i < 400} {incr i 2} {
            foreach level [r vlinks big n$i] {
                foreach e $level {
                    assert {[lsearch -exact $removed $e] < 0} "VLINKS n$i names removed $e"
                }
            }
        }
    }

    # ------------------------------------------------------------ VCARD / VDIM
    test {VCARD: integer, 0 on a missing key, follows adds and removes} {
        r flushall
        assert_equal {int 0} [vs_typed [redis_client] VCARD nokey]
        r vadd k VALUES 2 1 0 a
        r vadd k VALUES 2 0 1 b
        r vadd k VALUES 2 0 1 b
        assert_equal 2 [r vcard k]
        assert_equal : [r last_type]
        r vrem k b
        assert_equal 1 [r vcard k]
        set c3 [vs_resp3]
        assert_equal {int 1} [vs_typed $c3 VCARD k]
        $c3 close
        assert_error_exact {ERR wrong number of arguments for 'VCARD' command} {r vcard}
        assert_error_exact {ERR wrong number of arguments for 'VCARD' command} {r vcard k x}
    }

    test {VDIM: integer; a missing key is an error} {
        r flushall
        r vadd k VALUES 5 1 2 3 4 5 a
        assert_equal 5 [r vdim k]
        assert_equal : [r last_type]
        assert_error_exact {ERR key does not exist} {r vdim nokey}
        assert_error_exact {ERR wrong number of arguments for 'VDIM' command} {r vdim}
        assert_error_exact {ERR wrong number of arguments for 'VDIM' command} {r vdim k x}
    }

    # ------------------------------------------------------------ VEMB
    test {VEMB NOQUANT: the vector back, scaled by the stored norm; bulk in RESP2, doubles in RESP3} {
        r flushall
        set v {3 -4 12 0.5}
        r vadd k VALUES 4 {*}$v a NOQUANT
        set c [redis_client]
        set t [vs_typed $c VEMB k a]
        assert_equal {array {bulk bulk bulk bulk}} [vs_skel $t]
        assert_vec $v [vs_plain $t] 1e-4
        set c3 [vs_resp3]
        set t [vs_typed $c3 VEMB k a]
        assert_equal {array {double double double double}} [vs_skel $t]
        assert_vec $v [vs_plain $t] 1e-4
        $c close
        $c3 close
    }

    test {VEMB Q8: approximately the vector (quantisation error under 1% of the norm)} {
        r del q
        set v {3 -4 12 0.5 -7 2}
        r vadd q VALUES 6 {*}$v a
        set got [r vemb q a]
        assert_vec $v $got [expr {0.01 * [vs_norm $v]}]
    }

    test {VEMB BIN: signs as +1 / -1 without the norm} {
        r del b
        r vadd b VALUES 5 0.5 -3 2 -0.1 7 a BIN
        assert_vec {1 -1 1 -1 1} [r vemb b a] 1e-9
    }

    test {VEMB: missing key and missing element give null ($-1 in RESP2, _ in RESP3)} {
        r flushall
        r vadd k VALUES 2 1 0 a
        set c [redis_client]
        assert_equal {nullbulk {}} [vs_typed $c VEMB nokey a]
        assert_equal {nullbulk {}} [vs_typed $c VEMB k nosuch]
        assert_equal {nullbulk {}} [vs_typed $c VEMB nokey a RAW]
        assert_equal {nullbulk {}} [vs_typed $c VEMB k nosuch RAW]
        set c3 [vs_resp3]
        assert_equal {null {}} [vs_typed $c3 VEMB nokey a]
        assert_equal {null {}} [vs_typed $c3 VEMB k nosuch]
        assert_equal {null {}} [vs_typed $c3 VEMB k nosuch RAW]
        $c close
        $c3 close
    }

    test {VEMB RAW f32: name, normalised float32 blob, L2 norm} {
        r del n
        set v {3 4 0 12}
        r vadd n VALUES 4 {*}$v a NOQUANT
        set c [redis_client]
        set t [vs_typed $c VEMB n a RAW]
        assert_equal {array {simple bulk bulk}} [vs_skel $t]
        lassign [vs_plain $t] name blob l2
        assert_equal f32 $name
        assert_equal 16 [string length $blob]
        assert_vec {0.23076923 0.30769231 0 0.92307692} [vs_unf32 $blob] 1e-6
        assert_float_eq 13.0 $l2 1e-4
        set c3 [vs_resp3]
        set t [vs_typed $c3 VEMB n a RAW]
        assert_equal {array {simple bulk double}} [vs_skel $t]
        assert_float_eq 13.0 [lindex [vs_plain $t] 2] 1e-4
        $c close
        $c3 close
    }

    test {VEMB RAW int8: name, dim signed bytes, L2 norm, quantisation range} {
        r del q
        set v {3 4 0 -12}
        r vadd q VALUES 4 {*}$v a
        set c3 [vs_resp3]
        set t [vs_typed $c3 VEMB q a RAW]
        assert_equal {array {simple bulk double double}} [vs_skel $t]
        lassign [vs_plain $t] name blob l2 range
        assert_equal int8 $name
        assert_equal 4 [string length $blob]
        assert_float_eq 13.0 $l2 1e-4
        # Normalised (3,4,0,-12)/13; max-abs 12/13 maps to 127.
        assert_float_eq [expr {12.0 / 13}] $range 1e-3
        binary scan $blob c* q
        assert_vec {32 42 0 -127} $q 1.0
        set c [redis_client]
        assert_equal {array {simple bulk bulk bulk}} [vs_skel [vs_typed $c VEMB q a RAW]]
        $c close
        $c3 close
    }

    test {VEMB RAW bin: name, packed sign bits, L2 norm of the input} {
        r del b
        # |(3,-1,1,1)| = sqrt(12) differs from sqrt(dim) = 2: the norm is
        # the input's, as Redis stores it, not the norm of the signs.
        r vadd b VALUES 4 3 -1 1 1 a BIN
        set c [redis_client]
        set t [vs_typed $c VEMB b a RAW]
        assert_equal {array {simple bulk bulk}} [vs_skel $t]
        lassign [vs_plain $t] name blob l2
        assert_equal bin $name
        assert_equal 1 [string length $blob]
        binary scan $blob cu bits
        assert_equal 13 $bits ;# signs + - + + -> bits 0, 2, 3
        assert_float_eq 3.4641016 $l2 1e-6
        set c3 [vs_resp3]
        set t [vs_typed $c3 VEMB b a RAW]
        assert_equal {array {simple bulk double}} [vs_skel $t]
        assert_float_eq 3.4641016 [lindex [vs_plain $t] 2] 1e-6
        # VEMB without RAW stays the signs, without the norm.
        assert_vec {1 -1 1 1} [r vemb b a] 0
        # An attribute change keeps the row's norm; an update takes the new one.
        r vsetattr b a {{"x":1}}
        assert_float_eq 3.4641016 [lindex [r vemb b a RAW] 2] 1e-6
        r vadd b VALUES 4 -0.5 0 0 0 a BIN
        assert_float_eq 0.5 [lindex [r vemb b a RAW] 2] 1e-6
        assert_vec {-1 -1 -1 -1} [r vemb b a] 0
        $c close
        $c3 close
    }

    test {VEMB with an option other than RAW: ERR invalid option; arity} {
        assert_error_exact {ERR invalid option} {r vemb n a FOO}
        assert_error_exact {ERR wrong number of arguments for 'VEMB' command} {r vemb n}
    }

    # ------------------------------------------------------------ VLINKS
    test {VLINKS: one array per level, top level first, layer 0 links to the other elements} {
        r flushall
        r vadd k VALUES 2 1 0 a NOQUANT
        r vadd k VALUES 2 0 1 b NOQUANT
        r vadd k VALUES 2 1 1 c NOQUANT
        vs_wait_indexed k ;# vectis links elements once the background index has them
        set c [redis_client]
        set t [vs_typed $c VLINKS k a]
        assert_equal array [vs_type $t]
        set levels [vs_plain $t]
        assert {[llength $levels] >= 1} "no levels: $levels"
        foreach l [lindex $t 1] { assert_equal array [vs_type $l] }
        assert_same_elements {b c} [lindex $levels end]
        # Upper levels are subsets of the set without a itself.
        foreach l $levels {
            foreach e $l { assert {$e in {b c}} "level names '$e'" }
        }
        $c close
    }

    test {VLINKS WITHSCORES: levels are flat name/score lists (RESP2) or maps of doubles (RESP3)} {
        set c [redis_client]
        set t [vs_typed $c VLINKS k a WITHSCORES]
        set l0 [lindex [lindex $t 1] end]
        assert_equal {array {bulk bulk bulk bulk}} [vs_skel $l0]
        set d [vs_plain $l0]
        assert_float_eq 0.5 [dict get $d b] 1e-5
        assert_float_eq [expr {(1 + sqrt(0.5)) / 2}] [dict get $d c] 1e-5
        set c3 [vs_resp3]
        set t [vs_typed $c3 VLINKS k a WITHSCORES]
        set l0 [lindex [lindex $t 1] end]
        assert_equal {map {bulk double bulk double}} [vs_skel $l0]
        set d [vs_plain $l0]
        assert_float_eq 0.5 [dict get $d b] 1e-5
        $c close
        $c3 close
    }

    test {VLINKS: missing key / element give null; a 4th argument other than WITHSCORES is an arity error} {
        set c [redis_client]
        assert_equal {nullbulk {}} [vs_typed $c VLINKS nokey a]
        assert_equal {nullbulk {}} [vs_typed $c VLINKS k nosuch]
        assert_equal {nullbulk {}} [vs_typed $c VLINKS k nosuch WITHSCORES]
        set c3 [vs_resp3]
        assert_equal {null {}} [vs_typed $c3 VLINKS nokey a]
        assert_equal {null {}} [vs_typed $c3 VLINKS k nosuch WITHSCORES]
        $c close
        $c3 close
        assert_error_exact {ERR wrong number of arguments for 'VLINKS' command} {r vlinks k a FOO}
        assert_error_exact {ERR wrong number of arguments for 'VLINKS' command} {r vlinks k}
    }

    test {VLINKS on a larger set: names exist, layer 0 non-empty, at most 2*M links} {
        r del g
        vs_lcg_seed 63
        vs_fill [redis_client] g 300 8 g NOQUANT
        # vectis indexes in the background: an element is linked once its
        # segment's index has caught up (before that VLINKS shows no links)
        vs_wait_indexed g
        for {set i 0} {$i < 300} {incr i 7} {
            set levels [r vlinks g g$i]
            assert {[llength $levels] >= 1}
            set l0 [lindex $levels end]
            assert {[llength $l0] >= 1 && [llength $l0] <= 32} "layer 0 of g$i has [llength $l0] links"
            foreach l $levels {
                foreach e $l {
                    assert_equal 1 [r vismember g $e] "g$i links to unknown '$e'"
                    assert_not_equal g$i $e "self link"
                }
            }
        }
    }

    # ------------------------------------------------------------ VINFO
    test {VINFO: nine fields in order (RESP2 flat list, RESP3 map with simple-string keys)} {
        r flushall
        r vadd k VALUES 3 1 0 0 a SETATTR {{"x":1}}
        r vadd k VALUES 3 0 1 0 b
        set fields [list quant-type hnsw-m vector-dim projection-input-dim size max-level \
                        attributes-count vset-uid hnsw-max-node-uid]
        set c [redis_client]
        set t [vs_typed $c VINFO k]
        assert_equal array [vs_type $t]
        set flat [vs_plain $t]
        assert_equal 18 [llength $flat]
        assert_equal $fields [dict keys $flat]
        set c3 [vs_resp3]
        set t [vs_typed $c3 VINFO k]
        assert_equal map [vs_type $t]
        set d [vs_plain $t]
        assert_equal $fields [dict keys $d]
        foreach {k v} [lindex $t 1] { assert_equal simple [vs_type $k] "type of key [lindex $k 1]" }
        assert_equal int8 [dict get $d quant-type]
        assert_equal 16 [dict get $d hnsw-m]
        assert_equal 3 [dict get $d vector-dim]
        assert_equal 0 [dict get $d projection-input-dim]
        assert_equal 2 [dict get $d size]
        assert_equal 1 [dict get $d attributes-count]
        assert {[string is integer -strict [dict get $d max-level]] && [dict get $d max-level] >= 0}
        assert {[string is integer -strict [dict get $d vset-uid]]}
        assert {[dict get $d hnsw-max-node-uid] >= 2} "hnsw-max-node-uid [dict get $d hnsw-max-node-uid]"
        # Integer fields are integers in both protocols.
        set types [dict create]
        foreach {k v} [lindex $t 1] { dict set types [lindex $k 1] [vs_type $v] }
        foreach f {hnsw-m vector-dim projection-input-dim size max-level attributes-count} {
            assert_equal int [dict get $types $f] "type of $f"
        }
        $c close
        $c3 close
    }

    test {VINFO on a missing key: *-1 in RESP2, _ in RESP3} {
        assert_equal {nullarray {}} [vs_typed [redis_client] VINFO nokey]
        assert_equal {null {}} [vs_typed [vs_resp3] VINFO nokey]
        assert_error_exact {ERR wrong number of arguments for 'VINFO' command} {r vinfo}
    }

    test {VINFO follows size, attributes-count, max-node-uid; vset-uid differs per set} {
        r flushall
        r vadd k VALUES 2 1 0 a
        set i1 [r vinfo k]
        r vadd k VALUES 2 0 1 b SETATTR {{"y":2}}
        r vadd k VALUES 2 0.5 0.5 c
        set i2 [r vinfo k]
        assert_equal 3 [dict get $i2 size]
        assert_equal 1 [dict get $i2 attributes-count]
        assert_morethan [dict get $i2 hnsw-max-node-uid] [dict get $i1 hnsw-max-node-uid]
        # An update consumes a new node id.
        r vadd k VALUES 2 0.2 0.8 c
        set i3 [r vinfo k]
        assert_equal 3 [dict get $i3 size]
        assert_morethan [dict get $i3 hnsw-max-node-uid] [dict get $i2 hnsw-max-node-uid]
        r vrem k b
        set i4 [r vinfo k]
        assert_equal 2 [dict get $i4 size]
        assert_equal 0 [dict get $i4 attributes-count]
        assert_equal [dict get $i1 vset-uid] [dict get $i4 vset-uid]
        r vadd k2 VALUES 2 1 0 a
        assert_not_equal [dict get $i1 vset-uid] [dict get [r vinfo k2] vset-uid]
    }

    # ------------------------------------------------------------ attributes
    test {VSETATTR / VGETATTR: verbatim round trip, bools in RESP2 and RESP3} {
        r flushall
        r vadd k VALUES 2 1 0 a
        both_protocols {
            set t1 [expr {$proto == 2 ? {int 1} : {bool 1}}]
            set json "{\"name\": \"caf\xc3\xa9\", \"n\": 1.50, \"list\": \[1, 2\]}"
            assert_equal $t1 [vs_typed $c VSETATTR k a $json]
            assert_equal [list bulk $json] [vs_typed $c VGETATTR k a]
        }
        assert_equal 1 [dict get [r vinfo k] attributes-count]
    }

    test {VSETATTR: missing key and missing element give 0; JSON is not validated} {
        both_protocols {
            set t0 [expr {$proto == 2 ? {int 0} : {bool 0}}]
            assert_equal $t0 [vs_typed $c VSETATTR nokey a {{"x":1}}]
            assert_equal $t0 [vs_typed $c VSETATTR k nosuch {{"x":1}}]
        }
        assert_equal 0 [r exists nokey]
        assert_equal 0 [r vismember k nosuch]
        set bad "\x7b\x7bnot json"
        assert_equal 1 [r vsetattr k a $bad]
        assert_equal $bad [r vgetattr k a]
        assert_equal 1 [r vsetattr k a "bin\x00ary\r\n"]
        assert_equal "bin\x00ary\r\n" [r vgetattr k a]
    }

    test {VSETATTR with an empty string removes the attribute} {
        r vsetattr k a {{"x":1}}
        assert_equal 1 [dict get [r vinfo k] attributes-count]
        assert_equal 1 [r vsetattr k a ""]
        assert_equal 0 [dict get [r vinfo k] attributes-count]
        assert_equal {nullbulk {}} [vs_typed [redis_client] VGETATTR k a]
        assert_equal {null {}} [vs_typed [vs_resp3] VGETATTR k a]
    }

    test {VGETATTR: null for a missing key, a missing element, no attribute} {
        r vadd k VALUES 2 0 1 b
        foreach args {{nokey a} {k nosuch} {k b}} {
            assert_equal {nullbulk {}} [vs_typed [redis_client] VGETATTR {*}$args] "VGETATTR $args"
            assert_equal {null {}} [vs_typed [vs_resp3] VGETATTR {*}$args] "VGETATTR $args RESP3"
        }
    }

    test {VSETATTR / VGETATTR arity} {
        assert_error_exact {ERR wrong number of arguments for 'VSETATTR' command} {r vsetattr k a}
        assert_error_exact {ERR wrong number of arguments for 'VSETATTR' command} {r vsetattr k a b c}
        assert_error_exact {ERR wrong number of arguments for 'VGETATTR' command} {r vgetattr k}
        assert_error_exact {ERR wrong number of arguments for 'VGETATTR' command} {r vgetattr k a b}
    }

    # ------------------------------------------------------------ VISMEMBER
    test {VISMEMBER: bool in both protocols, 0 for a missing key} {
        r flushall
        r vadd k VALUES 2 1 0 a
        both_protocols {
            set t1 [expr {$proto == 2 ? {int 1} : {bool 1}}]
            set t0 [expr {$proto == 2 ? {int 0} : {bool 0}}]
            assert_equal $t1 [vs_typed $c VISMEMBER k a]
            assert_equal $t0 [vs_typed $c VISMEMBER k b]
            assert_equal $t0 [vs_typed $c VISMEMBER nokey a]
        }
        assert_error_exact {ERR wrong number of arguments for 'VISMEMBER' command} {r vismember k}
        assert_error_exact {ERR wrong number of arguments for 'VISMEMBER' command} {r vismember k a b}
    }
}
