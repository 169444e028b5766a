# VSIM (VECTORSETS.md sections 0, 2, 9): ELE / FP32 / VALUES queries, cosine
# scores 1 - d/2 (identical 1, orthogonal 0.5, opposite 0), result order,
# COUNT / EPSILON / EF / FILTER-EF / TRUTH / NOTHREAD, every reply shape in
# RESP2 and RESP3 (flat lists vs maps, bulk vs double, null attributes),
# missing key (empty array before argument checks), missing element, every
# error string, pipelined and parallel VSIMs, Q8 and BIN scores. Tests tagged
# vectis-only check where vectis does better than Redis: scores of a pair do
# not drift as the set grows, Q8 results are re-ranked with float vectors.

source [file join $::vt_dir support vset_util.tcl]

# The points of the vector-set documentation example.
set ::pts {pt:A {1 1} pt:B {-1 -1} pt:C {-1 1} pt:D {1 -1} pt:E {1 0}}

proc load_points {key args} {
    foreach {e v} $::pts { r vadd $key VALUES 2 {*}$v $e {*}$args }
}

# Expected (element, score) list for a query, best first, computed in Tcl.
proc expected_ranking {query} {
    set l {}
    foreach {e v} $::pts { lappend l [list $e [vs_score $query $v]] }
    return [lsort -real -decreasing -index 1 $l]
}

proc assert_scored_like {expected flat tol} {
    assert_equal [llength $expected] [expr {[llength $flat] / 2}] "result count of {$flat}"
    foreach pair $expected {e s} $flat {
        assert_float_eq [lindex $pair 1] $s $tol "score of $e (expected order $expected, got $flat)"
    }
}

start_server {tags {vset vsim}} {
    test {VSIM VALUES: docs example order pt:E pt:A pt:D pt:C pt:B with cosine scores} {
        r flushall
        load_points pts NOQUANT
        assert_equal {pt:E pt:A pt:D pt:C pt:B} [r vsim pts VALUES 2 0.9 0.1]
        set res [r vsim pts VALUES 2 0.9 0.1 WITHSCORES]
        assert_equal {pt:E pt:A pt:D pt:C pt:B} [vs_check_scored $res]
        assert_scored_like [expected_ranking {0.9 0.1}] $res 1e-5
    }

    test {VSIM FP32 gives the same answer as VALUES} {
        set a [r vsim pts VALUES 2 0.9 0.1 WITHSCORES]
        set b [r vsim pts FP32 [vs_f32 {0.9 0.1}] WITHSCORES]
        assert_equal [vs_check_scored $a] [vs_check_scored $b]
        foreach {e s} $a {e2 s2} $b { assert_float_eq $s $s2 1e-6 }
    }

    test {VSIM scores: identical 1.0, orthogonal 0.5, opposite 0.0} {
        set res [r vsim pts ELE pt:A WITHSCORES]
        assert_equal pt:A [lindex $res 0]
        assert_float_eq 1.0 [dict get $res pt:A] 1e-6
        assert_float_eq 0.5 [dict get $res pt:C] 1e-6
        assert_float_eq 0.5 [dict get $res pt:D] 1e-6
        assert_float_eq 0.0 [dict get $res pt:B] 1e-6
        assert_float_eq [expr {(1 + sqrt(0.5)) / 2}] [dict get $res pt:E] 1e-6
        # Magnitude does not matter (cosine): a long vector in A's direction.
        set res [r vsim pts VALUES 2 100 100 WITHSCORES COUNT 1]
        assert_equal pt:A [lindex $res 0]
        assert_float_eq 1.0 [lindex $res 1] 1e-6
    }

    test {VSIM ELE: uses the element's vector; missing element is an error} {
        assert_equal {pt:E pt:A pt:D} [r vsim pts ELE pt:E COUNT 3]
        assert_error_exact {ERR element not found in set} {r vsim pts ELE nosuch}
        assert_error_exact {ERR element not found in set} {r vsim pts ELE nosuch WITHSCORES COUNT 3}
    }

    test {VSIM on a missing key: empty array, before the other arguments are checked} {
        set c [redis_client]
        assert_equal {array {}} [vs_typed $c VSIM nokey ELE x]
        assert_equal {array {}} [vs_typed $c VSIM nokey VALUES 2 1 0 COUNT -5]
        assert_equal {array {}} [vs_typed $c VSIM nokey FOO bar baz]
        assert_equal {array {}} [vs_typed $c VSIM nokey VALUES 3 1 0 0 WITHSCORES]
        set c3 [vs_resp3]
        assert_equal {array {}} [vs_typed $c3 VSIM nokey ELE x WITHSCORES]
        assert_equal {array {}} [vs_typed $c3 VSIM nokey VALUES 3 1 0 0 WITHSCORES WITHATTRIBS]
        $c close
        $c3 close
    }

    test {VSIM arity: fewer than 4 arguments} {
        set e {ERR wrong number of arguments for 'VSIM' command}
        assert_error_exact $e {r vsim pts ELE}
        assert_error_exact $e {r vsim pts}
        assert_error_exact $e {r vsim}
    }

    test {VSIM errors: vector, COUNT, EPSILON, EF, FILTER-EF, unknown words} {
        assert_error_exact {ERR invalid vector specification} {r vsim pts FP32 "\x00\x00\x80"}
        assert_error_exact {ERR invalid vector specification} {r vsim pts VALUES 2 1 x}
        assert_error_exact {ERR invalid vector specification} {r vsim pts VALUES abc 1 0}
        assert_error_exact {ERR invalid vector specification} {r vsim pts VALUES 0 1}
        assert_error_exact {ERR invalid vector specification} {r vsim pts VECTOR 1 0}
        assert_error_exact {ERR Vector dimension mismatch - got 3 but set has 2} {r vsim pts VALUES 3 1 0 0}
        assert_error_exact {ERR Vector dimension mismatch - got 1 but set has 2} {r vsim pts FP32 [vs_f32 {1}]}
        assert_error_exact {ERR invalid COUNT} {r vsim pts ELE pt:A COUNT 0}
        assert_error_exact {ERR invalid COUNT} {r vsim pts ELE pt:A COUNT -1}
        assert_error_exact {ERR invalid COUNT} {r vsim pts ELE pt:A COUNT abc}
        assert_error_exact {ERR invalid EPSILON} {r vsim pts ELE pt:A EPSILON 0}
        assert_error_exact {ERR invalid EPSILON} {r vsim pts ELE pt:A EPSILON -0.5}
        assert_error_exact {ERR invalid EPSILON} {r vsim pts ELE pt:A EPSILON abc}
        assert_error_exact {ERR invalid EF} {r vsim pts ELE pt:A EF 0}
        assert_error_exact {ERR invalid EF} {r vsim pts ELE pt:A EF 1000001}
        assert_error_exact {ERR invalid EF} {r vsim pts ELE pt:A EF abc}
        assert_error_exact {ERR invalid FILTER-EF} {r vsim pts ELE pt:A FILTER-EF 0}
        assert_error_exact {ERR invalid FILTER-EF} {r vsim pts ELE pt:A FILTER-EF -3}
        assert_error_exact {ERR invalid FILTER-EF} {r vsim pts ELE pt:A FILTER-EF abc}
        assert_error_exact {ERR syntax error in VSIM command} {r vsim pts ELE pt:A FOO}
        assert_error_exact {ERR syntax error in VSIM command} {r vsim pts ELE pt:A COUNT}
        assert_error_exact {ERR syntax error in VSIM command} {r vsim pts ELE pt:A EF}
        assert_error_exact {ERR syntax error in VSIM command} {r vsim pts ELE pt:A EPSILON}
        assert_error_exact {ERR syntax error in VSIM command} {r vsim pts ELE pt:A FILTER}
        assert_error_exact {ERR syntax error in VSIM command} {r vsim pts ELE pt:A FILTER-EF}
        assert_error_exact {ERR syntax error in VSIM command} {r vsim pts ELE pt:A WITHSCORES COUNT 2 BOGUS}
    }

    test {VSIM options are case-insensitive} {
        set res [r vsim pts values 2 0.9 0.1 withscores count 2 ef 50 epsilon 1.5 nothread]
        assert_equal {pt:E pt:A} [vs_check_scored $res]
        assert_equal {pt:E pt:A} [r vsim pts ele pt:E count 2 truth]
    }

    test {VSIM COUNT: default 10, fewer when the set is smaller, EF below COUNT still gives COUNT} {
        r del many
        vs_lcg_seed 21
        vs_fill [redis_client] many 50 4 m NOQUANT
        assert_equal 10 [llength [r vsim many ELE m0]]
        assert_equal 3 [llength [r vsim many ELE m0 COUNT 3]]
        assert_equal 50 [llength [r vsim many ELE m0 COUNT 100]]
        assert_equal 20 [llength [r vsim many ELE m0 COUNT 20 EF 1]]
        assert_equal 5 [llength [r vsim pts ELE pt:A COUNT 10]]
        # No duplicates in any result.
        set res [r vsim many ELE m0 COUNT 50]
        assert_equal 50 [llength [lsort -unique $res]]
    }

    test {VSIM EPSILON: only results with score >= 1 - epsilon} {
        set res [r vsim pts VALUES 2 1 0 WITHSCORES EPSILON 0.2]
        assert_equal pt:E [lindex $res 0]
        assert_same_elements {pt:E pt:A pt:D} [vs_check_scored $res]
        foreach {e s} $res { assert_morethan_equal $s 0.8 }
        assert_equal {pt:E} [r vsim pts VALUES 2 1 0 EPSILON 0.01]
        assert_equal 5 [llength [r vsim pts VALUES 2 1 0 EPSILON 1.0]]
        assert_equal 5 [llength [r vsim pts VALUES 2 1 0 EPSILON 2]]
    }

    test {VSIM EF accepts 1 and 1000000} {
        assert_equal pt:E [lindex [r vsim pts VALUES 2 1 0 EF 1] 0]
        assert_equal {pt:E pt:A pt:D pt:C pt:B} [r vsim pts VALUES 2 0.9 0.1 EF 1000000]
    }

    test {VSIM FILTER-EF with a positive value is accepted} {
        r vsetattr pts pt:A {{"n":1}}
        assert_equal {pt:A} [r vsim pts VALUES 2 1 0 FILTER {.n == 1} FILTER-EF 5]
        assert_equal {pt:A} [r vsim pts VALUES 2 1 0 FILTER-EF 500 FILTER {.n == 1}]
    }

    test {VSIM TRUTH and NOTHREAD return the exact top-k on a 500-element set} {
        r del t
        vs_lcg_seed 31
        puts "    seed 31 (vs_lcg) for the TRUTH test"
        set vecs [vs_fill [redis_client] t 500 16 t NOQUANT]
        for {set q 0} {$q < 5} {incr q} {
            set query [vs_random_vec 16]
            set exp {}
            dict for {e v} $vecs { lappend exp [list $e [vs_score $query $v]] }
            set exp [lrange [lsort -real -decreasing -index 1 $exp] 0 9]
            set truth [r vsim t FP32 [vs_f32 $query] TRUTH WITHSCORES]
            assert_scored_like $exp $truth 1e-5
            set names {}
            foreach p $exp { lappend names [lindex $p 0] }
            assert_equal $names [vs_check_scored $truth]
            set nt [r vsim t FP32 [vs_f32 $query] TRUTH NOTHREAD]
            assert_equal $names $nt
            # HNSW at a wide beam finds the same ten on this small set.
            assert_same_elements $names [r vsim t FP32 [vs_f32 $query] EF 500]
            assert_same_elements $names [r vsim t FP32 [vs_f32 $query] EF 500 NOTHREAD]
        }
    }

    test {VSIM reply shapes in RESP2: flat lists, bulk scores, $-1 attributes} {
        r del s
        r vadd s VALUES 2 1 0 a NOQUANT SETATTR {{"x":1}}
        r vadd s VALUES 2 0 1 b NOQUANT
        set c [redis_client]
        assert_equal {array {bulk bulk}} [vs_skel [vs_typed $c VSIM s VALUES 2 1 0]]
        set t [vs_typed $c VSIM s VALUES 2 1 0 WITHSCORES]
        assert_equal {array {bulk bulk bulk bulk}} [vs_skel $t]
        lassign [vs_plain $t] e1 s1 e2 s2
        assert_equal {a b} [list $e1 $e2]
        assert_float_eq 1.0 $s1 1e-6
        assert_float_eq 0.5 $s2 1e-6
        set t [vs_typed $c VSIM s VALUES 2 1 0 WITHATTRIBS]
        assert_equal {array {bulk bulk bulk nullbulk}} [vs_skel $t]
        assert_equal {a {{"x":1}} b {}} [vs_plain $t]
        foreach opts {{WITHSCORES WITHATTRIBS} {WITHATTRIBS WITHSCORES}} {
            set t [vs_typed $c VSIM s VALUES 2 1 0 {*}$opts]
            assert_equal {array {bulk bulk bulk bulk bulk nullbulk}} [vs_skel $t] "options $opts"
            lassign [vs_plain $t] e1 s1 a1 e2 s2 a2
            assert_equal [list a {{"x":1}} b {}] [list $e1 $a1 $e2 $a2]
            assert_float_eq 1.0 $s1 1e-6
            assert_float_eq 0.5 $s2 1e-6
        }
        $c close
    }

    test {VSIM reply shapes in RESP3: maps, double scores, _ attributes, [score, attr] pairs} {
        set c [vs_resp3]
        assert_equal {array {bulk bulk}} [vs_skel [vs_typed $c VSIM s VALUES 2 1 0]]
        set t [vs_typed $c VSIM s VALUES 2 1 0 WITHSCORES]
        assert_equal {map {bulk double bulk double}} [vs_skel $t]
        set d [vs_plain $t]
        assert_equal {a b} [dict keys $d]
        assert_float_eq 1.0 [dict get $d a] 1e-6
        assert_float_eq 0.5 [dict get $d b] 1e-6
        set t [vs_typed $c VSIM s VALUES 2 1 0 WITHATTRIBS]
        assert_equal {map {bulk bulk bulk null}} [vs_skel $t]
        assert_equal {a {{"x":1}} b {}} [vs_plain $t]
        foreach opts {{WITHSCORES WITHATTRIBS} {WITHATTRIBS WITHSCORES}} {
            set t [vs_typed $c VSIM s VALUES 2 1 0 {*}$opts]
            assert_equal {map {bulk {array {double bulk}} bulk {array {double null}}}} [vs_skel $t] \
                "options $opts"
            set d [vs_plain $t]
            assert_float_eq 1.0 [lindex [dict get $d a] 0] 1e-6
            assert_equal {{"x":1}} [lindex [dict get $d a] 1]
            assert_float_eq 0.5 [lindex [dict get $d b] 0] 1e-6
        }
        $c close
    }

    test {VSIM scores are printed in the shortest round-trip form (RESP2 and RESP3)} {
        set c [redis_client]
        set c3 [vs_resp3]
        foreach t [list [vs_typed $c VSIM pts VALUES 2 0.9 0.1 WITHSCORES] \
                       [vs_typed $c3 VSIM pts VALUES 2 0.9 0.1 WITHSCORES]] {
            foreach {e s} [vs_plain $t] {
                assert {[string is double -strict $s]} "score '$s'"
                # Tcl prints doubles shortest-first too; integers differ (1 vs 1.0).
                if {$s != int($s)} {
                    assert_equal [expr {double($s)}] $s "score text of $e is not the shortest form"
                } else {
                    assert_match {[01]} $s
                }
            }
        }
        $c close
        $c3 close
    }

    test {A second FILTER replaces the first} {
        r del f
        r vadd f VALUES 2 1 0 a SETATTR {{"k":1}}
        r vadd f VALUES 2 0 1 b SETATTR {{"k":2}}
        assert_equal {b} [r vsim f VALUES 2 1 0 FILTER {.k == 1} FILTER {.k == 2}]
        assert_equal {a} [r vsim f VALUES 2 1 0 FILTER {.k == 2} FILTER {.k == 1}]
    }

    test {Q8 set: self score ~1 via ELE, orthogonal ~0.5, opposite ~0} {
        r del q
        load_points q
        assert_equal int8 [dict get [r vinfo q] quant-type]
        set res [r vsim q ELE pt:A WITHSCORES]
        assert_equal pt:A [lindex $res 0]
        assert_float_eq 1.0 [dict get $res pt:A] 1e-3
        assert_float_eq 0.5 [dict get $res pt:C] 1e-3
        assert_float_eq 0.0 [dict get $res pt:B] 1e-3
        assert_equal {pt:E pt:A pt:D pt:C pt:B} [r vsim q VALUES 2 0.9 0.1]
    }

    test {BIN set: score = 1 - hamming/dim} {
        r del b
        r vadd b VALUES 4 1 1 1 1 w BIN
        r vadd b VALUES 4 1 1 1 -1 x BIN
        r vadd b VALUES 4 1 1 -1 -1 y BIN
        r vadd b VALUES 4 -1 -1 -1 -1 z BIN
        set res [r vsim b VALUES 4 0.5 2 3 4 WITHSCORES]
        assert_equal {w x y z} [vs_check_scored $res]
        assert_float_eq 1.0 [dict get $res w] 1e-6
        assert_float_eq 0.75 [dict get $res x] 1e-6
        assert_float_eq 0.5 [dict get $res y] 1e-6
        assert_float_eq 0.0 [dict get $res z] 1e-6
    }

    test {Pipelined VSIMs on one connection come back in request order} {
        set c [redis_client]
        set cmds {}
        for {set i 0} {$i < 200} {incr i} {
            lappend cmds [list VSIM t ELE t$i COUNT 1]
        }
        set reps [vs_pipeline $c $cmds]
        for {set i 0} {$i < 200} {incr i} {
            assert_equal t$i [lindex $reps $i] "reply $i"
        }
        $c close
    }

    test {Four connections pipelining VSIMs at once all get their own answers} {
        set clients {}
        for {set k 0} {$k < 4} {incr k} {
            set c [redis_deferring_client]
            set buf ""
            for {set i $k} {$i < 500} {incr i 4} {
                append buf [vt_resp_command [list VSIM t ELE t$i COUNT 1 WITHSCORES]]
            }
            $c write $buf
            $c flush
            lappend clients $c
        }
        for {set k 0} {$k < 4} {incr k} {
            set c [lindex $clients $k]
            for {set i $k} {$i < 500} {incr i 4} {
                set rep [$c read]
                assert_equal t$i [lindex $rep 0] "client $k request for t$i"
                assert_float_eq 1.0 [lindex $rep 1] 1e-5
            }
            $c close
        }
    }
}

start_server {tags {vset vsim vectis-only}} {
    test {vectis-only: the score of a pair does not drift as the set grows (NOQUANT and Q8)} {
        vs_lcg_seed 41
        puts "    seed 41 (vs_lcg) for the drift test"
        set a [vs_random_vec 32]
        set b [vs_random_vec 32]
        set exact [vs_score $a $b]
        foreach {key q} {dn NOQUANT dq Q8} {
            r vadd $key FP32 [vs_f32 $a] a $q
            r vadd $key FP32 [vs_f32 $b] b $q
            set before [dict get [r vsim $key ELE a WITHSCORES] b]
            set beforev [dict get [r vsim $key FP32 [vs_f32 $a] WITHSCORES] b]
            vs_fill [redis_client] $key 3000 32 g $q
            set after [dict get [r vsim $key ELE a WITHSCORES COUNT 3002 TRUTH] b]
            set afterv [dict get [r vsim $key FP32 [vs_f32 $a] WITHSCORES COUNT 3002 TRUTH] b]
            assert_float_eq $before $after 1e-7 "$q ELE score drifted"
            assert_float_eq $beforev $afterv 1e-7 "$q VALUES score drifted"
            assert_float_eq $exact $afterv 1e-5 "$q score vs exact cosine"
        }
    }

    test {vectis-only: Q8 results are re-ranked with float vectors (scores match exact cosine)} {
        r del rq
        vs_lcg_seed 43
        puts "    seed 43 (vs_lcg) for the Q8 re-rank test"
        set vecs [vs_fill [redis_client] rq 400 24 r Q8]
        for {set q 0} {$q < 5} {incr q} {
            set query [vs_random_vec 24]
            set res [r vsim rq FP32 [vs_f32 $query] WITHSCORES COUNT 10 EF 400]
            vs_check_scored $res
            foreach {e s} $res {
                assert_float_eq [vs_score $query [dict get $vecs $e]] $s 1e-5 "score of $e"
            }
            # And the ranking is the exact float ranking.
            set exp {}
            dict for {e v} $vecs { lappend exp [list $e [vs_score $query $v]] }
            set names {}
            foreach p [lrange [lsort -real -decreasing -index 1 $exp] 0 9] { lappend names [lindex $p 0] }
            assert_equal $names [dict keys $res]
        }
    }
}
