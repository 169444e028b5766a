# Writes into sealed segments (vectis-only: DESIGN.md section 3, issue 4
# item 2). With segment-max-rows 1024, 5,000 elements fill several segments,
# sealed ones indexed in the background: VSIM must merge them (same answers
# as the exact top-k computed here), the score of a pair must not change when
# its segment seals, and VREM / updates / VSETATTR of rows in sealed segments
# must be visible at once (deleted rows never returned, updated rows found by
# their new vector only, filters see new attributes). (segments.tcl covers
# the segment layout, the fan-out to workers and DEL during searches.)

source [file join $::vt_dir support vset_util.tcl]

proc exact_top {vecs query k {skip {}}} {
    set l {}
    dict for {e v} $vecs {
        if {[dict exists $skip $e]} continue
        lappend l [list $e [vs_score $query $v]]
    }
    set names {}
    foreach p [lrange [lsort -real -decreasing -index 1 $l] 0 [expr {$k - 1}]] { lappend names [lindex $p 0] }
    return $names
}

start_server {tags {vset segments vectis-only} overrides {segment-max-rows 1024}} {
    test {5,000 elements with segment-max-rows 1024: several segments, sealed ones indexed} {
        set ::seed [expr {int(rand() * 1000000)}]
        puts "    seed $::seed (vs_lcg)"
        vs_lcg_seed $::seed
        # A pair whose score we follow while segments seal; pb is close to
        # pa, so it is among pa's nearest neighbours.
        set ::pa [vs_random_vec 16]
        set ::pb [lmap x $::pa {expr {$x + 0.2 * ([vs_rand] - 0.5)}}]
        r vadd s FP32 [vs_f32 $::pa] pa NOQUANT
        r vadd s FP32 [vs_f32 $::pb] pb NOQUANT
        set ::pair0 [dict get [r vsim s ELE pa WITHSCORES COUNT 2] pb]
        set c [redis_client]
        set ::vecs [dict create pa $::pa pb $::pb]
        set cmds {}
        for {set i 0} {$i < 5000} {incr i} {
            set v [vs_random_vec 16]
            dict set ::vecs s$i $v
            lappend cmds [list VADD s FP32 [vs_f32 $v] s$i NOQUANT SETATTR "{\"i\": $i}"]
        }
        foreach rep [vs_pipeline $c $cmds] { assert_equal 1 $rep }
        $c close
        assert_equal 5002 [r vcard s]
        set st [vs_wait_indexed s]
        puts "    indexed $st"
        set segs [dict get [r vdescribe s] segments]
        assert_morethan_equal [llength $segs] 3
        set sealed 0
        foreach seg $segs { if {[dict get $seg state] ne "growing"} { incr sealed } }
        assert_morethan_equal $sealed 2
    }

    test {Scores of a pair do not change when its segment seals} {
        set now [dict get [r vsim s ELE pa WITHSCORES COUNT 5002 TRUTH] pb]
        assert_float_eq $::pair0 $now 1e-7
        set now [dict get [r vsim s FP32 [vs_f32 $::pa] WITHSCORES COUNT 100 EF 500] pb]
        assert_float_eq $::pair0 $now 1e-6
        assert_float_eq [vs_score $::pa $::pb] $now 1e-5
    }

    test {VSIM over several segments equals the exact top 10 (TRUTH exactly, HNSW recall >= 0.95)} {
        set hits 0
        for {set q 0} {$q < 30} {incr q} {
            set query [vs_random_vec 16]
            set exp [exact_top $::vecs $query 10]
            assert_equal $exp [r vsim s FP32 [vs_f32 $query] TRUTH]
            foreach e [r vsim s FP32 [vs_f32 $query]] { if {$e in $exp} { incr hits } }
        }
        set recall [expr {$hits / 300.0}]
        puts "    recall@10 over the segments: $recall"
        assert_morethan_equal $recall 0.95
    }

    test {VREM of rows in sealed segments: never returned again, VCARD follows} {
        set ::gone [dict create]
        for {set i 0} {$i < 5000} {incr i 7} {
            assert_equal 1 [r vrem s s$i]
            dict set ::gone s$i 1
        }
        assert_equal [expr {5002 - [dict size $::gone]}] [r vcard s]
        for {set q 0} {$q < 10} {incr q} {
            # Query with the exact vector of a removed row.
            set victim s[expr {7 * int(rand() * 700)}]
            set query [dict get $::vecs $victim]
            foreach opts {{} TRUTH NOTHREAD {EF 500}} {
                set res [r vsim s FP32 [vs_f32 $query] COUNT 20 {*}$opts]
                assert_equal 20 [llength $res]
                foreach e $res { assert {![dict exists $::gone $e]} "VSIM $opts returned removed $e" }
            }
            assert_equal [exact_top $::vecs $query 10 $::gone] [r vsim s FP32 [vs_f32 $query] TRUTH]
        }
    }

    test {Updating rows of sealed segments: found by the new vector, not the old one} {
        for {set i 1} {$i < 200} {incr i 10} {
            if {[dict exists $::gone s$i]} continue
            set old [dict get $::vecs s$i]
            set new [lmap x $old {expr {-$x}}]
            assert_equal 0 [r vadd s FP32 [vs_f32 $new] s$i NOQUANT]
            dict set ::vecs s$i $new
            set res [r vsim s FP32 [vs_f32 $new] COUNT 1 WITHSCORES]
            assert_equal s$i [lindex $res 0]
            assert_float_eq 1.0 [lindex $res 1] 1e-5
            # By its old vector it is now the opposite: score ~0.
            set res [r vsim s FP32 [vs_f32 $old] COUNT 5002 WITHSCORES TRUTH]
            assert_float_eq 0.0 [dict get $res s$i] 1e-5
            # The attribute survived the update.
            assert_equal "{\"i\": $i}" [r vgetattr s s$i]
        }
        assert_equal [expr {5002 - [dict size $::gone]}] [r vcard s]
    }

    test {FILTER across segments sees VSETATTR changes at once and returns a full top-k} {
        # Mark about 40 rows spread over all segments.
        set marked {}
        for {set i 3} {$i < 5000} {incr i 125} {
            if {[dict exists $::gone s$i]} continue
            assert_equal 1 [r vsetattr s s$i {{"mark": 1}}]
            lappend marked s$i
        }
        set query [vs_random_vec 16]
        set mv [dict create]
        foreach e $marked { dict set mv $e [dict get $::vecs $e] }
        set exp [exact_top $mv $query 10]
        set res [r vsim s FP32 [vs_f32 $query] COUNT 10 FILTER {.mark == 1}]
        assert_equal 10 [llength $res]
        assert_same_elements $exp $res
        assert_equal [llength $marked] [llength [r vsim s FP32 [vs_f32 $query] COUNT 1000 FILTER {.mark == 1}]]
        # Removing the mark takes effect immediately.
        r vsetattr s [lindex $exp 0] {{"mark": 0}}
        assert {[lsearch -exact [r vsim s FP32 [vs_f32 $query] COUNT 10 FILTER {.mark == 1}] [lindex $exp 0]] < 0}
    }
}
