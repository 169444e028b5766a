# redis-benchmark (Debian redis-tools 7.0): PING_INLINE and PING_MBULK with
# and without pipelining complete without errors and report a throughput.
# Throughput figures are printed, never asserted (make bench-net compares).

# Returns a dict test-name -> requests per second from `-q` output.
proc bench_rps {out} {
    set d [dict create]
    foreach part [split $out "\r\n"] {
        if {[regexp {^([A-Z_]+): ([0-9.]+) requests per second} [string trim $part] -> name rps]} {
            dict set d $name $rps
        }
    }
    return $d
}

start_server {tags {benchmark}} {
    test {redis-benchmark -t ping -n 100000 -P 16 -q} {
        lassign [run_program [list redis-benchmark -p [srv 0 port] -t ping -n 100000 -P 16 -q] 120] code out
        assert_equal 0 $code "output: $out"
        assert_no_match "*rror*" $out
        set d [bench_rps $out]
        assert_equal {PING_INLINE PING_MBULK} [dict keys $d] "output: $out"
        dict for {k v} $d {
            assert_morethan $v 0
            puts "    $k -P 16: $v requests per second"
        }
        assert_equal PONG [r ping]
    }

    test {redis-benchmark -t ping -n 20000 (no pipelining, 50 clients)} {
        lassign [run_program [list redis-benchmark -p [srv 0 port] -t ping -n 20000 -c 50 -q] 120] code out
        assert_equal 0 $code "output: $out"
        assert_no_match "*rror*" $out
        set d [bench_rps $out]
        assert_equal {PING_INLINE PING_MBULK} [dict keys $d] "output: $out"
        assert_equal 0 [llength [lsearch -all -inline [dict values $d] 0*]]
    }

    test {The server is healthy after the benchmark (all 50 clients gone)} {
        wait_for_condition 100 20 {[info_field connected_clients clients] == 1} else {
            fail "connected_clients [info_field connected_clients clients]"
        }
    }
}
