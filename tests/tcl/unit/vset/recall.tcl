# Recall through the server (issue 4, Tests): 20,000 clustered 64-d vectors
# loaded with pipelined VADD FP32 into a NOQUANT, a Q8 and a BIN set, then 200
# held-out queries: VSIM COUNT 10 (default EF) must reach recall@10 >= 0.95
# against VSIM ... TRUTH on the same set (BIN against its own exact answer,
# counting ties at the 10th score as hits, since Hamming scores tie a lot).
# The data comes from a 32-bit LCG seeded from the runner's seed; the seed
# is printed (rerun with --seed to reproduce).

source [file join $::vt_dir support vset_util.tcl]

set ::rc(n) 20000
set ::rc(dim) 64
set ::rc(clusters) 100
set ::rc(queries) 200
set ::rc(seed) [expr {int(rand() * 1000000)}]

# Clustered data: centres uniform in [-1,1]^dim, points = centre + uniform
# noise of half-width 0.6 (a cluster is a cone of a few tens of degrees).
# Inline LCG: this loop makes 1.3M numbers.
proc rc_generate {} {
    set x $::rc(seed)
    set dim $::rc(dim)
    set centres {}
    for {set c 0} {$c < $::rc(clusters)} {incr c} {
        set v {}
        for {set j 0} {$j < $dim} {incr j} {
            set x [expr {($x * 1664525 + 1013904223) & 0xFFFFFFFF}]
            lappend v [expr {$x / 2147483648.0 - 1.0}]
        }
        lappend centres $v
    }
    set total [expr {$::rc(n) + $::rc(queries)}]
    set blobs {}
    for {set i 0} {$i < $total} {incr i} {
        set x [expr {($x * 1664525 + 1013904223) & 0xFFFFFFFF}]
        set centre [lindex $centres [expr {$x % $::rc(clusters)}]]
        set v {}
        foreach cj $centre {
            set x [expr {($x * 1664525 + 1013904223) & 0xFFFFFFFF}]
            lappend v [expr {$cj + 1.2 * ($x / 4294967296.0 - 0.5)}]
        }
        lappend blobs [binary format r* $v]
    }
    set ::rc(data) [lrange $blobs 0 [expr {$::rc(n) - 1}]]
    set ::rc(qs) [lrange $blobs $::rc(n) end]
}

proc rc_load {key quant} {
    set c [redis_deferring_client]
    $c timeout [expr {120 * $::vt::slow}]
    set t0 [clock milliseconds]
    set batch 1000
    for {set i 0} {$i < $::rc(n)} {incr i $batch} {
        set buf ""
        set end [expr {min($i + $batch, $::rc(n))}]
        for {set j $i} {$j < $end} {incr j} {
            append buf [vt_resp_command [list VADD $key FP32 [lindex $::rc(data) $j] p$j $quant]]
        }
        $c write $buf
        $c flush
        for {set j $i} {$j < $end} {incr j} {
            set rep [$c read]
            if {$rep ne "1"} { fail "VADD p$j into $key replied '$rep'" }
        }
    }
    set ms [expr {max(1, [clock milliseconds] - $t0)}]
    puts [format "    loaded %d vectors into %s (%s) in %.1f s: %.0f VADD/s" \
              $::rc(n) $key $quant [expr {$ms / 1000.0}] [expr {$::rc(n) * 1000.0 / $ms}]]
    $c close
}

# Sends every query as one pipeline; returns the list of replies.
proc rc_query_all {key args} {
    set cmds {}
    foreach q $::rc(qs) { lappend cmds [list VSIM $key FP32 $q COUNT 10 WITHSCORES {*}$args] }
    set c [redis_client]
    $c timeout [expr {120 * $::vt::slow}]
    set reps [vs_pipeline $c $cmds]
    $c close
    foreach rep $reps {
        if {[string index $rep 0] eq "-"} { fail "VSIM $key $args: $rep" }
    }
    return $reps
}

# Mean recall@10; tie-aware counts a result whose score reaches the 10th
# exact score as a hit.
proc rc_recall {approx exact tie_aware} {
    set hits 0
    set total 0
    foreach a $approx e $exact {
        set names [vs_check_scored $a]
        set truth [vs_check_scored $e]
        if {[llength $truth] != 10 || [llength $names] != 10} {
            fail "expected 10 results, got [llength $names] (approx) and [llength $truth] (exact)"
        }
        if {$tie_aware} {
            set kth [lindex $e end]
            foreach {n s} $a { if {$s >= $kth - 1e-6} { incr hits } }
        } else {
            foreach n $names { if {[lsearch -exact $truth $n] >= 0} { incr hits } }
        }
        incr total 10
    }
    return [expr {double($hits) / $total}]
}

# Two search threads: the index catch-up after a pipelined load runs as a
# gang of two jobs adding rows to the same graph at once (INFO vectors
# index_rows_added_parallel), so the NOQUANT recall also checks that path.
start_server {tags {vset recall} overrides {search-threads 2}} {
    test "Recall: generate $::rc(n) clustered $::rc(dim)-d vectors (seed $::rc(seed))" {
        puts "    recall data seed $::rc(seed) (derived from the runner seed)"
        set t0 [clock milliseconds]
        rc_generate
        puts "    generated in [expr {[clock milliseconds] - $t0}] ms"
        assert_equal $::rc(n) [llength $::rc(data)]
    }

    foreach {key quant tie} {rn NOQUANT 0 rq Q8 0 rb BIN 1} {
        test "Recall: VSIM recall@10 >= 0.95 against TRUTH, $quant" {
            set added0 [info_field index_rows_added vectors]
            set par0 [info_field index_rows_added_parallel vectors]
            rc_load $key $quant
            assert_equal $::rc(n) [r vcard $key]
            # vectis: let the index catch up so VSIM searches the graph.
            set t0 [clock milliseconds]
            set st [vs_wait_indexed $key]
            if {$st ne ""} {
                puts "    $key: $st rows indexed after [expr {[clock milliseconds] - $t0}] ms"
            }
            set t0 [clock milliseconds]
            set approx [rc_query_all $key]
            set t1 [clock milliseconds]
            set exact [rc_query_all $key TRUTH]
            set t2 [clock milliseconds]
            set recall [rc_recall $approx $exact $tie]
            puts [format "    %s: recall@10 %.4f over %d queries (VSIM %d ms, TRUTH %d ms)" \
                      $quant $recall $::rc(queries) [expr {$t1 - $t0}] [expr {$t2 - $t1}]]
            assert_morethan_equal $recall 0.95
            set added [expr {[info_field index_rows_added vectors] - $added0}]
            set par [expr {[info_field index_rows_added_parallel vectors] - $par0}]
            puts "    $key: $added rows indexed, $par of them by parallel catch-up"
            if {$quant eq "NOQUANT"} {
                # 20,000 rows acknowledged far faster than one thread
                # indexes 64-d rows at EF 200: the backlog goes parallel.
                # (More than n: the small first segment's rows are indexed
                # again in the full-size segment that replaces it.)
                assert_morethan_equal $added $::rc(n)
                assert_morethan $par [expr {$::rc(n) / 2}]
            }
            # Free the memory before the next set.
            r del $key
        }
    }
}
