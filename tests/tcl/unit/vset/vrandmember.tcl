# VRANDMEMBER (VECTORSETS.md sections 3, 9): no count -> one bulk (null on a
# missing key), count 0 -> empty array (even for a missing key), count > 0 ->
# up to count distinct names, count < 0 -> |count| names with repeats,
# non-integer counts, reply types in RESP2 and RESP3, and that the picks are
# spread over the set (not always the same element).

source [file join $::vt_dir support vset_util.tcl]

start_server {tags {vset vrandmember}} {
    test {VRANDMEMBER without count: one member as a bulk string} {
        r flushall
        foreach e {a b c d e f g h i j} { r vadd k VALUES 2 [expr {rand()}] [expr {rand()}] $e }
        set m [r vrandmember k]
        assert_equal \$ [r last_type]
        assert {$m in {a b c d e f g h i j}} "got '$m'"
        set c3 [vs_resp3]
        set t [vs_typed $c3 VRANDMEMBER k]
        assert_equal bulk [vs_type $t]
        $c3 close
    }

    test {VRANDMEMBER on a missing key: null without count, empty array with one} {
        set c [redis_client]
        assert_equal {nullbulk {}} [vs_typed $c VRANDMEMBER nokey]
        assert_equal {array {}} [vs_typed $c VRANDMEMBER nokey 5]
        assert_equal {array {}} [vs_typed $c VRANDMEMBER nokey -5]
        assert_equal {array {}} [vs_typed $c VRANDMEMBER nokey 0]
        set c3 [vs_resp3]
        assert_equal {null {}} [vs_typed $c3 VRANDMEMBER nokey]
        assert_equal {array {}} [vs_typed $c3 VRANDMEMBER nokey 5]
        $c close
        $c3 close
    }

    test {VRANDMEMBER count 0: empty array} {
        set c [redis_client]
        assert_equal {array {}} [vs_typed $c VRANDMEMBER k 0]
        $c close
        assert_equal {array {}} [vs_typed [vs_resp3] VRANDMEMBER k 0]
    }

    test {VRANDMEMBER count > 0: distinct members, at most the set size} {
        foreach n {1 2 3 5 9} {
            set res [r vrandmember k $n]
            assert_equal $n [llength $res] "count $n: $res"
            assert_equal $n [llength [lsort -unique $res]] "count $n has duplicates: $res"
            foreach m $res { assert {$m in {a b c d e f g h i j}} }
        }
        foreach n {10 11 100} {
            assert_equal {a b c d e f g h i j} [lsort [r vrandmember k $n]] "count $n"
        }
        assert_equal {array {bulk bulk bulk}} [vs_skel [vs_typed [redis_client] VRANDMEMBER k 3]]
        assert_equal {array {bulk bulk bulk}} [vs_skel [vs_typed [vs_resp3] VRANDMEMBER k 3]]
    }

    test {VRANDMEMBER count < 0: exactly |count| members, repeats allowed} {
        set res [r vrandmember k -25]
        assert_equal 25 [llength $res]
        foreach m $res { assert {$m in {a b c d e f g h i j}} }
        assert {[llength [lsort -unique $res]] < 25} "25 picks out of 10 cannot be distinct"
        assert_equal 3 [llength [r vrandmember k -3]]
        r vadd one VALUES 2 1 0 only
        assert_equal {only only only only} [r vrandmember one -4]
        assert_equal {only} [r vrandmember one 4]
        assert_equal only [r vrandmember one]
    }

    test {VRANDMEMBER count that is not an integer} {
        assert_error_exact {ERR COUNT value is not an integer} {r vrandmember k abc}
        assert_error_exact {ERR COUNT value is not an integer} {r vrandmember k 1.5}
        assert_error_exact {ERR COUNT value is not an integer} {r vrandmember k ""}
        assert_error_exact {ERR wrong number of arguments for 'VRANDMEMBER' command} {r vrandmember}
    }

    test {VRANDMEMBER with extra arguments: the wrong-arity error, as Redis} {
        # The registered (upper-case) name, as for every module command.
        set e {ERR wrong number of arguments for 'VRANDMEMBER' command}
        assert_error_exact $e {r vrandmember k 1 2}
        assert_error_exact $e {r vrandmember k 1 withscores}
        assert_error_exact $e {r vrandmember nosuchkey 1 2}
    }

    test {VRANDMEMBER count LLONG_MIN: out of range, LLONG_MIN+1 and LLONG_MAX are fine} {
        set e {ERR COUNT value is out of range}
        assert_error_exact $e {r vrandmember k -9223372036854775808}
        assert_error_exact $e {r vrandmember nosuchkey -9223372036854775808}
        assert_error_exact {ERR COUNT value is not an integer} {r vrandmember k -9223372036854775809}
        # Distinct picks are capped at the set size.
        assert_equal 10 [llength [lsort -unique [r vrandmember k 9223372036854775807]]]
        assert_equal {} [r vrandmember nosuchkey -9223372036854775807]
        # The connection is still in sync after the errors.
        assert_equal 10 [r vcard k]
    }

    test {VRANDMEMBER picks are spread over the set} {
        r del big
        vs_lcg_seed 71
        vs_fill [redis_client] big 200 4 b
        set seen [dict create]
        for {set i 0} {$i < 300} {incr i} { dict incr seen [r vrandmember big] }
        assert_morethan [dict size $seen] 30
        # Small counts (random walks) and large ones both vary between calls.
        set seen [dict create]
        for {set i 0} {$i < 50} {incr i} {
            foreach m [r vrandmember big 5] { dict incr seen $m }
        }
        assert_morethan [dict size $seen] 30
        set firsts [dict create]
        for {set i 0} {$i < 30} {incr i} { dict incr firsts [lindex [r vrandmember big 150] 0] }
        assert_morethan [dict size $firsts] 3
        set res [r vrandmember big 150]
        assert_equal 150 [llength [lsort -unique $res]]
        foreach m $res { assert_equal 1 [r vismember big $m] }
    }
}
