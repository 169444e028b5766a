# Pipelined VSIMs share one worker job (vectis: client.h, "Batches"). What
# a client can observe must not change: every reply of a pipeline equals
# the reply of the same command sent alone, in order, whatever mix of
# worker-bound searches, inline searches (NOTHREAD, missing key), errors and
# other commands the pipeline holds, in RESP2 and RESP3. What the batch
# changes is the number of hand-offs: INFO stats worker_jobs_done grows by
# one per batch (at most 16 VSIMs), not by one per VSIM; it counts client
# jobs only. A client that
# leaves while its batch runs costs nothing (the job completes into the
# void; ASan checks the rest).

source [file join $::vt_dir support vset_util.tcl]

start_server {tags {vset vectis-only}} {
    set dim 64
    set c [redis_client]
    # 8,000 x 64 rows: a TRUTH scan is 512k multiply-adds, far above the
    # planner's inline bound (VSIM_INLINE_COST, 5e4): it goes to a worker.
    set vecs [vs_fill $c vb 8000 $dim]
    vs_wait_indexed vb
    set q1 [vs_random_vec $dim]
    set q2 [vs_random_vec $dim]
    set big [list VSIM vb VALUES $dim {*}$q1 COUNT 5 TRUTH]
    set cmds [list \
        $big \
        [list VSIM nosuchkey VALUES $dim {*}$q1] \
        [list VSIM vb VALUES 3 1 2 3] \
        [list VSIM vb VALUES $dim {*}$q2 COUNT 3 WITHSCORES TRUTH] \
        [list VSIM vb VALUES $dim {*}$q2 COUNT 2 NOTHREAD] \
        [list VSIM vb ELE e5 COUNT 4 WITHSCORES WITHATTRIBS TRUTH] \
        [list VSIM vb VALUES $dim {*}$q1 FILTER {.a ==}] \
        [list VSIM vb FP32 [vs_f32 $q2] COUNT 6 TRUTH] \
        [list PING] \
        $big \
        [list VSIM vb VALUES $dim {*}$q2 COUNT 7 WITHSCORES TRUTH] \
    ]

    foreach proto {2 3} {
        test "Pipelined VSIMs reply as if sent one by one, in order (RESP$proto)" {
            set a [redis_client]
            set b [redis_client]
            if {$proto == 3} { $a hello 3; $b hello 3 }
            set want {}
            foreach cmd $cmds { lappend want [lindex [vs_pipeline $b [list $cmd]] 0] }
            set got [vs_pipeline $a $cmds]
            assert_equal [llength $want] [llength $got]
            for {set i 0} {$i < [llength $want]} {incr i} {
                assert_equal [lindex $want $i] [lindex $got $i] "reply $i of the pipeline"
            }
            # The batch really held searches and errors: spot checks.
            assert_equal 5 [llength [lindex $got 0]]
            assert_equal {} [lindex $got 1]
            assert_match {-ERR Vector dimension mismatch*} [lindex $got 2]
            assert_match {-ERR syntax error in FILTER*} [lindex $got 6]
            assert_equal PONG [lindex $got 8]
            $a close
            $b close
        }
    }

    test {12 pipelined worker-bound VSIMs take one or two worker jobs, not 12} {
        set a [redis_client]
        set pipe {}
        for {set i 0} {$i < 12} {incr i} { lappend pipe $big }
        set before [info_field worker_jobs_done stats]
        set reps [vs_pipeline $a $pipe]
        set after [info_field worker_jobs_done stats]
        foreach rep $reps { assert_equal [lindex $reps 0] $rep }
        assert_equal 5 [llength [lindex $reps 0]]
        # One batch when the 12 arrive in one read; each TCP split of the
        # pipeline can start another (a busy machine splits more). Without
        # batching this is 12. Background jobs (catch-up, checkpoints,
        # frees) are not counted in worker_jobs_done.
        assert {$after - $before >= 1 && $after - $before <= 6}
        # 40 take at least three (16 per batch at most).
        set pipe {}
        for {set i 0} {$i < 40} {incr i} { lappend pipe $big }
        regexp -nocase {cmdstat_vsim:calls=(\d+)} [r info commandstats] -> calls0
        set before [info_field worker_jobs_done stats]
        set reps [vs_pipeline $a $pipe]
        set after [info_field worker_jobs_done stats]
        regexp -nocase {cmdstat_vsim:calls=(\d+)} [r info commandstats] -> calls1
        assert_equal 40 [llength $reps]
        assert {$after - $before >= 3 && $after - $before <= 20}
        # Every batched call is counted as a call.
        assert_equal 40 [expr {$calls1 - $calls0}]
        $a close
    }

    test {16 pipelined VSIMs of 3 KB each (several reads' worth) make one or two batches, not one per read} {
        # Each FP32 query is 768 floats = 3 KB, so the pipeline (~49 KB)
        # spans at least four 16 KB reads. A batch that ran out of input
        # reads again while the last read was full (networking.c,
        # batch_read_more); without that every read ended a batch: >= 4.
        # The DEBUG SLEEP in front holds the loop until the whole pipeline
        # is in the socket, so a busy machine cannot split it.
        r del wide
        set wc [redis_client]
        vs_fill $wc wide 300 768
        vs_wait_indexed wide
        set q [vs_f32 [vs_random_vec 768]]
        set pipe [list [list DEBUG SLEEP 0.2]]
        for {set i 0} {$i < 16} {incr i} { lappend pipe [list VSIM wide FP32 $q COUNT 3 TRUTH] }
        set before [info_field worker_jobs_done stats]
        set reps [lrange [vs_pipeline $wc $pipe] 1 end]
        set after [info_field worker_jobs_done stats]
        assert_equal 16 [llength $reps]
        foreach rep $reps { assert_equal [lindex $reps 0] $rep }
        assert_equal 3 [llength [lindex $reps 0]]
        assert {$after - $before >= 1 && $after - $before <= 2}
        $wc close
    }

    test {The planner: an EF 10 search of a wide set goes to a worker, a tiny one runs inline} {
        # 300 x 768 at EF 10: a few hundred thousand multiply-adds, above
        # VSIM_INLINE_COST (5e4); it ran inline under the old bound (5e5).
        set q [vs_f32 [vs_random_vec 768]]
        set before [info_field worker_jobs_done stats]
        assert_equal 10 [llength [r vsim wide FP32 $q COUNT 10 EF 10]]
        assert_equal [expr {$before + 1}] [info_field worker_jobs_done stats]
        # NOTHREAD keeps it on the main thread whatever the cost.
        assert_equal 10 [llength [r vsim wide FP32 $q COUNT 10 EF 10 NOTHREAD]]
        assert_equal [expr {$before + 1}] [info_field worker_jobs_done stats]
        # 20 x 4: far below the bound.
        r del tiny
        for {set i 0} {$i < 20} {incr i} { r vadd tiny VALUES 4 $i 1 2 3 t$i }
        assert_equal 5 [llength [r vsim tiny VALUES 4 1 1 1 1 COUNT 5]]
        assert_equal [expr {$before + 1}] [info_field worker_jobs_done stats]
    }

    test {A client that leaves while its batch runs: the server goes on} {
        set a [redis_deferring_client]
        set buf ""
        for {set i 0} {$i < 16} {incr i} { append buf [vt_resp_command $big] }
        $a write $buf
        $a flush
        $a close
        assert_equal PONG [r ping]
        assert_equal 5 [llength [r {*}$big]]
        assert_equal 8000 [r vcard vb]
    }
}
