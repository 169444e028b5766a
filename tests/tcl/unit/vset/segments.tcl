# Segments (vectis only): with a small segment-max-rows a set spreads over
# several segments (the first 1,024-row segment is promoted to full size
# when it fills, later segments have segment-max-rows rows); searches over them run as
# one job per big segment on the worker pool and are merged, and must give
# the same answers as an exact scan; deletes, updates and DEL work across
# segments; VDESCRIBE reports the segments and their states.

source [file join $::vt_dir support vset_util.tcl]

start_server {tags {vset segments vectis-only} overrides {segment-max-rows 2048 search-threads 2}} {
    set c [redis_client]

    test {A set of 12,000 elements spreads over sealed segments and one growing} {
        vs_lcg_seed 77
        set ::vecs [vs_fill $c big 12000 128 e NOQUANT]
        assert_equal 12000 [r vcard big]
        vs_wait_indexed big 120
        set d [r vdescribe big]
        set segs [dict get $d segments]
        # 2048 * 5 + 1760 (the first 1,024 rows moved into the first big one)
        assert_equal 6 [llength $segs]
        set states {}
        set total 0
        foreach s $segs {
            lappend states [dict get $s state]
            incr total [dict get $s rows]
        }
        assert_equal 12000 $total
        assert_equal {sealed sealed sealed sealed sealed growing} $states
        assert_equal 2048 [dict get [lindex $segs 0] rows]
        assert_equal 1760 [dict get [lindex $segs 5] rows]
    }

    test {Multi-segment VSIM (fan-out to workers) equals the exact answer on most queries} {
        set hits 0
        set total 0
        regexp {worker_jobs_done:(\d+)} [r info stats] -> jobs0
        for {set q 0} {$q < 40} {incr q} {
            set v [vs_random_vec 128]
            set approx [r vsim big FP32 [vs_f32 $v] COUNT 10 EF 200]
            set exact [r vsim big FP32 [vs_f32 $v] COUNT 10 TRUTH]
            assert_equal 10 [llength $approx]
            foreach e $approx { if {$e in $exact} { incr hits } }
            incr total 10
        }
        set recall [expr {double($hits) / $total}]
        puts "    multi-segment recall@10: $recall"
        assert_range $recall 0.95 1.0
        # every search ran as one job per segment (6 segments, 80 searches)
        regexp {worker_jobs_done:(\d+)} [r info stats] -> jobs1
        assert_range [expr {$jobs1 - $jobs0}] [expr {80 * 6}] 100000
    }

    test {An element's own vector finds it first, whatever its segment} {
        foreach i {0 1500 5000 11999} {
            set v [dict get $::vecs e$i]
            set r1 [r vsim big FP32 [vs_f32 $v] COUNT 1 WITHSCORES]
            assert_equal e$i [lindex $r1 0]
            assert_float_eq 1.0 [lindex $r1 1] 1e-5
        }
    }

    test {Deletes and updates across segments are seen by the next search} {
        set v [dict get $::vecs e100]
        assert_equal 1 [r vrem big e100]
        set r1 [r vsim big FP32 [vs_f32 $v] COUNT 5]
        assert {"e100" ni $r1}
        # move e7000 (a middle segment) onto e200's vector
        assert_equal 0 [r vadd big FP32 [vs_f32 [dict get $::vecs e200]] e7000 NOQUANT]
        set r2 [r vsim big FP32 [vs_f32 [dict get $::vecs e200]] COUNT 2]
        assert_same_elements {e200 e7000} $r2
        set r3 [r vsim big FP32 [vs_f32 [dict get $::vecs e7000]] COUNT 1 TRUTH]
        assert {$r3 ne "e7000"}
        assert_equal 11999 [r vcard big]
        set d [r vdescribe big]
        set deleted 0
        foreach s [dict get $d segments] { incr deleted [dict get $s deleted] }
        assert_equal 2 $deleted
    }

    test {Pipelined multi-segment VSIMs on one connection keep their order} {
        set cmds {}
        foreach i {10 3000 9000 11000 20 4000} {
            lappend cmds [list VSIM big FP32 [vs_f32 [dict get $::vecs e$i]] COUNT 1]
        }
        set reps [vs_pipeline $c $cmds]
        assert_equal {e10 e3000 e9000 e11000 e20 e4000} [lmap r $reps {lindex $r 0}]
    }

    test {A client that disconnects during a fan-out search leaves the server healthy} {
        for {set k 0} {$k < 5} {incr k} {
            set d [redis_deferring_client]
            for {set i 0} {$i < 20} {incr i} {
                $d send {*}[list VSIM big FP32 [vs_f32 [vs_random_vec 128]] COUNT 50 EF 400]
            }
            $d close
        }
        assert_equal PONG [r ping]
        assert_equal 11999 [r vcard big]
    }

    test {DEL of a multi-segment set while searches run; the key is gone at once} {
        set d [redis_deferring_client]
        for {set i 0} {$i < 10} {incr i} {
            $d send {*}[list VSIM big FP32 [vs_f32 [vs_random_vec 128]] COUNT 10]
        }
        assert_equal 1 [r del big]
        assert_equal 0 [r exists big]
        # each search ran on its snapshot (10 results) or found the key gone
        for {set i 0} {$i < 10} {incr i} { assert {[llength [$d read]] in {0 10}} }
        $d close
        assert_equal {} [r vsim big VALUES 2 1 0]
    }
}

start_server {tags {vset segments vectis-only} overrides {segment-max-bytes 1mb}} {
    set c [redis_client]

    test {segment-max-bytes seals segments by size: 128-d rows, 1 MB segments} {
        assert_equal {segment-max-bytes 1048576} [r config get segment-max-bytes]
        vs_lcg_seed 78
        vs_fill $c sized 5000 128 e NOQUANT
        assert_equal 5000 [r vcard sized]
        set segs [dict get [r vdescribe sized] segments]
        assert {[llength $segs] >= 3}
        set total 0
        foreach s [lrange $segs 0 end-1] {
            assert_equal sealed [dict get $s state]
            # 512 vector bytes + a row record each: under 2,048 rows per MB
            assert {[dict get $s rows] < 2048 && [dict get $s rows] > 1000}
        }
        foreach s $segs { incr total [dict get $s rows] }
        assert_equal 5000 $total
        assert_equal growing [dict get [lindex $segs end] state]
    }

    test {segment-max-bytes 0 means rows only; bad values rejected} {
        r config set segment-max-bytes 0
        assert_equal {segment-max-bytes 0} [r config get segment-max-bytes]
        assert_error {*segment-max-bytes*} {r config set segment-max-bytes -1}
        assert_error {*segment-max-bytes*} {r config set segment-max-bytes lots}
        r config set segment-max-bytes 1gb
    }
}
