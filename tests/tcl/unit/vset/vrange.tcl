# VRANGE (VECTORSETS.md sections 3, 9): lexicographic ranges over element
# names with - / + and [inclusive / (exclusive bounds, optional count
# (negative = unlimited), byte-wise ordering with shorter prefixes first,
# paging, missing key (empty array), every error string.

source [file join $::vt_dir support vset_util.tcl]

start_server {tags {vset vrange}} {
    test {VRANGE - + returns every element in byte order} {
        r flushall
        foreach e {d b e a c} { r vadd k VALUES 2 1 [expr {rand()}] $e }
        assert_equal {a b c d e} [r vrange k - +]
        assert_equal {array {bulk bulk bulk bulk bulk}} [vs_skel [vs_typed [redis_client] VRANGE k - +]]
        assert_equal {array {bulk bulk bulk bulk bulk}} [vs_skel [vs_typed [vs_resp3] VRANGE k - +]]
    }

    test {VRANGE inclusive and exclusive bounds} {
        assert_equal {b c d} [r vrange k {[b} {[d}]
        assert_equal {c} [r vrange k {(b} {(d}]
        assert_equal {b c} [r vrange k {[b} {(d}]
        assert_equal {c d} [r vrange k {(b} {[d}]
        assert_equal {c d e} [r vrange k {(b} +]
        assert_equal {a b} [r vrange k - {(c}]
        assert_equal {c d e} [r vrange k {[bb} +]
        assert_equal {a b c} [r vrange k - {[cc}]
        assert_equal {} [r vrange k {[c} {(c}]
        assert_equal {c} [r vrange k {[c} {[c}]
        assert_equal {} [r vrange k {[d} {[b}]
        assert_equal {} [r vrange k {(e} +]
        assert_equal {} [r vrange k - {(a}]
    }

    test {VRANGE count: limits the reply; negative or missing means unlimited} {
        assert_equal {a b} [r vrange k - + 2]
        assert_equal {c d e} [r vrange k {[c} + 10]
        assert_equal {a b c d e} [r vrange k - + -1]
        assert_equal {a b c d e} [r vrange k - + 5]
        assert_equal {b} [r vrange k {(a} + 1]
    }

    test {VRANGE paging with an exclusive start visits every element once} {
        r del p
        set names {}
        for {set i 0} {$i < 137} {incr i} {
            set n [format "n%04d" [expr {($i * 53) % 137}]]
            r vadd p VALUES 2 1 $i $n
            lappend names $n
        }
        set got {}
        set start -
        while 1 {
            set page [r vrange p $start + 10]
            if {[llength $page] == 0} break
            assert {[llength $page] <= 10}
            lappend got {*}$page
            set start "([lindex $page end]"
        }
        assert_equal [lsort $names] $got
    }

    test {VRANGE orders names byte-wise, shorter prefix first, binary safe} {
        r del b
        foreach e [list "b" "a\x00" "ab" "\xff" "B" "a" "a\xff" "a\x00\x00"] {
            r vadd b VALUES 2 1 0 $e
        }
        set exp [list "B" "a" "a\x00" "a\x00\x00" "ab" "a\xff" "b" "\xff"]
        assert_equal $exp [r vrange b - +]
        assert_equal [list "a\x00" "a\x00\x00"] [r vrange b "(a" "(ab"]
        assert_equal [list "ab" "a\xff"] [r vrange b "(a\x00\x00" "\[a\xff"]
    }

    test {VRANGE on a missing key: empty array (RESP2 and RESP3)} {
        assert_equal {array {}} [vs_typed [redis_client] VRANGE nokey - +]
        assert_equal {array {}} [vs_typed [vs_resp3] VRANGE nokey - + 10]
    }

    test {VRANGE errors: start / end format, misplaced - and +, COUNT, arity} {
        assert_error_exact {ERR invalid start range format} {r vrange k b {[d}}
        assert_error_exact {ERR invalid start range format} {r vrange k "" +}
        assert_error_exact {ERR invalid end range format} {r vrange k {[b} d}
        assert_error_exact {ERR invalid end range format} {r vrange k - ""}
        assert_error_exact {ERR '-' can only be used as first argument, '+' only as second} {r vrange k + -}
        assert_error_exact {ERR '-' can only be used as first argument, '+' only as second} {r vrange k - -}
        assert_error_exact {ERR invalid COUNT value} {r vrange k - + abc}
        assert_error_exact {ERR invalid COUNT value} {r vrange k - + 1.5}
        assert_error_exact {ERR wrong number of arguments for 'VRANGE' command} {r vrange k -}
    }
}
