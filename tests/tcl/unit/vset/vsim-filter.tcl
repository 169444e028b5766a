# VSIM FILTER end to end (VECTORSETS.md sections 2, 4, 5): a handful of
# expressions against attributes set with VADD SETATTR and VSETATTR, the
# missing-field rule (the whole expression is false, even under `or` and
# `not`), elements without attributes or with invalid JSON never match,
# mixed-type equality, `in` on tuples and strings, the syntax-error message
# with its tail, FILTER on a missing key, WITHATTRIBS with FILTER. The
# exhaustive language table is the filter unit test (tests/unit); here the
# point is the command wiring.
#
# vectis-only: filtered VSIM returns a full top-k whenever at least COUNT
# elements match (10% / 1% / 0.1% selectivity over 10,000 elements), equal to
# the exact filtered top-k, even with a small FILTER-EF (Redis stops after
# FILTER-EF expanded nodes and may return fewer).

source [file join $::vt_dir support vset_util.tcl]

proc fsim {expr} {
    return [lsort [r vsim mv VALUES 2 1 1 COUNT 100 FILTER $expr]]
}

start_server {tags {vset filter}} {
    test {FILTER setup: attributes through VADD SETATTR and VSETATTR} {
        r flushall
        r vadd mv VALUES 2 1 0 a NOQUANT SETATTR {{"year": 1950, "genre": "drama", "rating": 8.5, "tags": ["x", "y"]}}
        r vadd mv VALUES 2 0 1 b NOQUANT
        assert_equal 1 [r vsetattr mv b {{"year": 1990, "genre": "action", "rating": 6.1}}]
        r vadd mv VALUES 2 1 1 c NOQUANT SETATTR {{"year": 2020, "genre": "drama"}}
        r vadd mv VALUES 2 -1 0 d NOQUANT
        r vadd mv VALUES 2 0 -1 e NOQUANT SETATTR {not json}
        r vadd mv VALUES 2 2 1 f NOQUANT
        assert_equal 1 [r vsetattr mv f {{"year": "1950", "genre": "noir \"quoted\""}}]
        r vadd mv VALUES 2 1 2 g NOQUANT SETATTR {{"year": 1980, "nested": {"a": 1}, "genre": "comedy"}}
        assert_equal 7 [r vcard mv]
        assert_equal 6 [dict get [r vinfo mv] attributes-count]
    }

    test {FILTER: numeric comparison and string equality} {
        assert_equal {b c g} [fsim {.year > 1960}]
        assert_equal {a c} [fsim {.genre == "drama"}]
        assert_equal {a c} [fsim {.genre == 'drama'}]
        assert_equal {b} [fsim {.rating >= 6 && .rating < 7}]
        assert_equal {a} [fsim {.genre == "drama" and .year < 2000}]
    }

    test {FILTER: a missing field makes the whole expression false, even under or / not} {
        # c has no rating: its year > 2000 does not rescue it.
        assert_equal {a} [fsim {.rating > 7 or .year > 2000}]
        assert_equal {a} [fsim {.year > 2000 or .rating > 7}]
        assert_equal {} [fsim {!.rating}]
        assert_equal {} [fsim {not (.missing == 1)}]
        assert_equal {} [fsim {.missing == 1 or .year > 0}]
    }

    test {FILTER: a nested object value counts as missing; selectors are top-level only} {
        assert_equal {} [fsim {.nested == 1}]
        # .nested.a is two selectors in a row, not a path: a syntax error.
        assert_error {ERR syntax error in FILTER expression near: *} {fsim {.nested.a == 1}}
        assert_equal {g} [fsim {.genre == "comedy"}]
    }

    test {FILTER: no attribute or invalid JSON never matches} {
        set all [fsim {.year > 0 or .year <= 0}]
        assert_equal {a b c f g} $all
        set one [fsim {1}]
        foreach x {a b c f g} { assert {[lsearch $one $x] >= 0} "FILTER 1 lacks $x: $one" }
        assert {[lsearch $one d] < 0} "FILTER 1 matched an element without attributes: $one"
    }

    test {FILTER: mixed types compare as numbers; arithmetic converts strings} {
        assert_equal {a f} [fsim {.year == "1950"}]
        assert_equal {a f} [fsim {.year == 1950}]
        assert_equal {a f} [fsim {(.year - 1900) / 10 == 5}]
        assert_equal {a f g} [fsim {not (.year > 1985)}]
    }

    test {FILTER: in with a tuple, a substring, a JSON array} {
        assert_equal {b g} [fsim {.genre in ["action", "comedy"]}]
        assert_equal {a c} [fsim {"ram" in .genre}]
        assert_equal {a} [fsim {"x" in .tags}]
        assert_equal {} [fsim {"z" in .tags}]
        assert_equal {f} [fsim {"quoted" in .genre}]
    }

    test {FILTER after VSETATTR changes and removals} {
        assert_equal 1 [r vsetattr mv d {{"year": 2001}}]
        assert_equal {c d} [fsim {.year > 2000}]
        assert_equal 1 [r vsetattr mv d ""]
        assert_equal {c} [fsim {.year > 2000}]
        # Invalid JSON replaced by valid JSON starts matching.
        assert_equal 1 [r vsetattr mv e {{"year": 2005}}]
        assert_equal {c e} [fsim {.year > 2000}]
        r vsetattr mv e {not json}
    }

    test {FILTER with WITHATTRIBS and WITHSCORES returns the matching elements' attributes} {
        set res [r vsim mv VALUES 2 1 0 FILTER {.genre == "drama"} WITHSCORES WITHATTRIBS]
        assert_equal 6 [llength $res]
        lassign $res e1 s1 a1 e2 s2 a2
        assert_equal a $e1
        assert_float_eq 1.0 $s1 1e-6
        assert_equal {{"year": 1950, "genre": "drama", "rating": 8.5, "tags": ["x", "y"]}} $a1
        assert_equal c $e2
        assert_equal {{"year": 2020, "genre": "drama"}} $a2
    }

    test {FILTER with ELE and COUNT: nearest matching elements first} {
        assert_equal {c} [r vsim mv ELE a COUNT 1 FILTER {.year > 1960 and .genre == "drama"}]
        assert_equal {a c} [r vsim mv ELE a COUNT 2 FILTER {.genre == "drama"}]
    }

    # Redis's tokenizer reads a whole run of letters before it finds that the
    # word is no operator, so the tail starts after the word (hence the two
    # spaces); an error position at the very end of the input ("true" is the
    # last word) and errors found after tokenising print the whole expression.
    test {FILTER syntax errors: the tail as Redis prints it} {
        assert_error_exact {ERR syntax error in FILTER expression near:  .year < 2000} \
            {r vsim mv VALUES 2 1 0 FILTER {.year > 1960 AND .year < 2000}}
        assert_error_exact {ERR syntax error in FILTER expression near: .ok == true} \
            {r vsim mv VALUES 2 1 0 FILTER {.ok == true}}
        assert_error_exact {ERR syntax error in FILTER expression near:  and .ok > 1} \
            {r vsim mv VALUES 2 1 0 FILTER {.ok == true and .ok > 1}}
        assert_error_exact {ERR syntax error in FILTER expression near: @ > 1} \
            {r vsim mv VALUES 2 1 0 FILTER {@ > 1}}
        assert_error_exact {ERR syntax error in FILTER expression near: .a ==== 1} \
            {r vsim mv VALUES 2 1 0 FILTER {.a ==== 1}}
        assert_error_exact {ERR syntax error in FILTER expression near: (.year > 1} \
            {r vsim mv VALUES 2 1 0 FILTER {(.year > 1}}
    }

    test {FILTER syntax errors: upper-case keywords, true/false, bad tokens, unbalanced input} {
        assert_error {ERR syntax error in FILTER expression near: *} \
            {r vsim mv VALUES 2 1 0 FILTER {.year > 1960 AND .year < 2000}}
        foreach bad {{.year >} {(.year > 1} {.year > 1)} {-.year > 1} {.year == false} {@} {.a ==== 1}} {
            assert_error {ERR syntax error in FILTER expression near: *} \
                {r vsim mv VALUES 2 1 0 FILTER $bad}
        }
        # The vector must come first: FILTER there is an unknown format word.
        assert_error_exact {ERR invalid vector specification} {r vsim mv FILTER {.x >} VALUES 2 1 0}
        # Options after the vector in any order.
        assert_error {ERR syntax error in FILTER expression*} {r vsim mv VALUES 2 1 0 FILTER {.x >} COUNT 3}
    }

    test {FILTER on a missing key: empty array, even with a bad expression} {
        assert_equal {} [r vsim nokey VALUES 2 1 0 FILTER {((( bad}]
        assert_equal * [r last_type]
    }
}

start_server {tags {vset filter vectis-only}} {
    # 10,000 elements: .p matches 10%, .q 1%, .g 0.1% (exactly 10 elements).
    set ::N 10000
    set ::dim 16

    test {vectis-only: load 10,000 elements with attributes p (10%), q (1%), g (0.1%)} {
        vs_lcg_seed 51
        puts "    seed 51 (vs_lcg) for the selectivity data"
        set ::vecs {}
        set c [redis_client]
        set cmds {}
        for {set i 0} {$i < $::N} {incr i} {
            set v [vs_random_vec $::dim]
            lappend ::vecs $v
            set attr [format {{"p": %d, "q": %d, "g": %d}} [expr {$i % 10}] [expr {$i % 100}] [expr {$i % 1000}]]
            lappend cmds [list VADD sel FP32 [vs_f32 $v] e$i NOQUANT SETATTR $attr]
            if {[llength $cmds] == 1000} {
                foreach rep [vs_pipeline $c $cmds] { assert_equal 1 $rep }
                set cmds {}
            }
        }
        $c close
        assert_equal $::N [r vcard sel]
    }

    # Exact filtered top-k computed here.
    proc exact_topk {query pred k} {
        set l {}
        set lambda [list i $pred]
        for {set i 0} {$i < $::N} {incr i} {
            if {[apply $lambda $i]} {
                lappend l [list e$i [vs_score $query [lindex $::vecs $i]]]
            }
        }
        set names {}
        foreach p [lrange [lsort -real -decreasing -index 1 $l] 0 [expr {$k - 1}]] {
            lappend names [lindex $p 0]
        }
        return $names
    }

    foreach {label expr pred} {
        10%  {.p == 3}             {expr {$i % 10 == 3}}
        1%   {.q == 7}             {expr {$i % 100 == 7}}
        0.1% {.g == 42}            {expr {$i % 1000 == 42}}
        0.2% {.g == 42 or .g == 977} {expr {$i % 1000 == 42 || $i % 1000 == 977}}
    } {
        test "vectis-only: FILTER with $label selectivity returns the exact top 10" {
            vs_lcg_seed 53
            for {set q 0} {$q < 4} {incr q} {
                set query [vs_random_vec $::dim]
                set exp [exact_topk $query $pred 10]
                assert_equal 10 [llength $exp]
                set res [r vsim sel FP32 [vs_f32 $query] COUNT 10 FILTER $expr]
                assert_equal 10 [llength $res] "got [llength $res] results for FILTER $expr"
                assert_same_elements $exp $res "FILTER $expr"
                set truth [r vsim sel FP32 [vs_f32 $query] COUNT 10 FILTER $expr TRUTH]
                assert_equal $exp $truth "TRUTH with FILTER $expr"
                # A small FILTER-EF does not cut the result short.
                set res [r vsim sel FP32 [vs_f32 $query] COUNT 10 FILTER $expr FILTER-EF 20]
                assert_same_elements $exp $res "FILTER $expr FILTER-EF 20"
            }
        }
    }

    test {vectis-only: FILTER with fewer matches than COUNT returns exactly the matches} {
        set res [r vsim sel VALUES 16 {*}[lrepeat 16 1] COUNT 50 FILTER {.g == 42}]
        set exp {}
        for {set i 42} {$i < $::N} {incr i 1000} { lappend exp e$i }
        assert_same_elements $exp $res
        assert_equal {} [r vsim sel VALUES 16 {*}[lrepeat 16 1] COUNT 50 FILTER {.g == 4242}]
    }
}
