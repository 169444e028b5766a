# Memory and INFO for vector sets (issue 4 items 6 and 7): the INFO
# "# Vectors" section follows collections and rows; with maxmemory set, VADD
# fails with Redis's -OOM error once the limit is reached, while reads (VSIM,
# VCARD, VEMB), VREM and DEL keep working, and writes work again after memory
# is freed. VINFO / VDESCRIBE report a memory figure that grows with the set.

source [file join $::vt_dir support vset_util.tcl]

start_server {tags {vset memory vectis-only}} {
    test {INFO vectors: collections and rows follow VADD, VCREATE, VREM and DEL} {
        r flushall
        assert_equal 0 [info_field collections vectors]
        assert_equal 0 [info_field rows vectors]
        vs_lcg_seed 101
        vs_fill [redis_client] a 100 8 e
        r vcreate b DIM 4
        assert_equal 2 [info_field collections vectors]
        assert_equal 100 [info_field rows vectors]
        r vrem a e0
        assert_equal 99 [info_field rows vectors]
        r del a
        assert_equal 1 [info_field collections vectors]
        assert_equal 0 [info_field rows vectors]
        foreach f {segments index_build_queue search_jobs_queued search_jobs_running simd_level} {
            assert_not_equal "" [info_field $f vectors] "INFO vectors lacks $f"
        }
    }

    test {VDESCRIBE memory grows with the collection} {
        r flushall
        r vadd m VALUES 64 {*}[lrepeat 64 0.5] first NOQUANT
        set m0 [dict get [r vdescribe m] memory]
        vs_fill [redis_client] m 2000 64 x NOQUANT
        set m1 [dict get [r vdescribe m] memory]
        # 2000 float vectors of 64 dimensions are 512,000 bytes at least.
        assert_morethan $m1 [expr {$m0 + 512000}]
    }
}

start_server {tags {vset memory}} {
    test {maxmemory: VADD fails with -OOM, reads, VREM and DEL keep working, writes resume after DEL} {
        r flushall
        set used [info_field used_memory memory]
        r config set maxmemory [expr {$used + 8 * 1024 * 1024}]
        set c [redis_deferring_client]
        set oom ""
        set added 0
        vs_lcg_seed 103
        for {set batch 0} {$batch < 100 && $oom eq ""} {incr batch} {
            set buf ""
            for {set i 0} {$i < 500} {incr i} {
                set n [expr {$batch * 500 + $i}]
                append buf [vt_resp_command [list VADD big FP32 [vs_f32 [vs_random_vec 128]] e$n NOQUANT]]
            }
            $c write $buf
            $c flush
            for {set i 0} {$i < 500} {incr i} {
                if {[catch {$c read} rep]} {
                    if {$oom eq ""} { set oom $rep }
                } elseif {$rep eq "1"} {
                    incr added
                }
            }
        }
        $c close
        assert_equal {OOM command not allowed when used memory > 'maxmemory'.} $oom \
            "no OOM error after $added VADDs"
        assert_morethan $added 1000
        # Reads keep working.
        assert_equal $added [r vcard big]
        assert_equal 10 [llength [r vsim big ELE e0]]
        assert_equal 128 [llength [r vemb big e0]]
        assert_equal PONG [r ping]
        # Still refused.
        assert_error {OOM *} {r vadd big FP32 [vs_f32 [vs_random_vec 128]] extra NOQUANT}
        assert_error {OOM *} {r vadd other VALUES 2 1 0 a}
        # VREM is not deny-oom.
        assert_equal 1 [r vrem big e0]
        # DEL frees; writes resume (memory may be released in the background).
        assert_equal 1 [r del big]
        wait_for_condition 100 50 {
            ![catch {r vadd small VALUES 2 1 0 a}]
        } else {
            fail "VADD still refused after DEL: [catch {r vadd small VALUES 2 1 0 a} e] $e"
        }
        assert_equal 1 [r vcard small]
        r config set maxmemory 0
    }
}
