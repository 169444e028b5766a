# Engine-level collection commands (vectis-only; issue 4 item 6): VCREATE
# with DIM / METRIC / TYPE / INDEX (M, EFC), errors that name the bad
# argument, an empty collection that exists as a vectorset key, VADD / VSIM
# into it ordered by its metric (L2 and IP differ from cosine), VDESCRIBE
# (dim, metric, type, index, rows, segments), VLIST.

source [file join $::vt_dir support vset_util.tcl]

proc describe {key} {
    set d [r vdescribe $key]
    # Map in RESP3, flat pairs in RESP2: both read as a dict.
    assert {[llength $d] % 2 == 0} "VDESCRIBE reply is not a map: $d"
    return $d
}

start_server {tags {vset vcreate vectis-only}} {
    test {VCREATE creates an empty collection: +OK, EXISTS, TYPE vectorset, VCARD 0, VDIM} {
        r flushall
        assert_equal OK [r vcreate c1 DIM 4]
        assert_equal + [r last_type]
        assert_equal 1 [r exists c1]
        assert_equal vectorset [r type c1]
        assert_equal 0 [r vcard c1]
        assert_equal 4 [r vdim c1]
        assert_equal 1 [r dbsize]
        assert_equal {c1} [r keys *]
    }

    test {VCREATE on an existing key is an error} {
        assert_error_nocase {*exists*} {r vcreate c1 DIM 4}
        r vadd vs VALUES 2 1 0 a
        assert_error_nocase {*exists*} {r vcreate vs DIM 2}
        assert_equal 1 [r vcard vs]
    }

    test {VCREATE argument errors name the argument} {
        assert_error_nocase {ERR*} {r vcreate x}
        assert_error_nocase {ERR*DIM*} {r vcreate x METRIC L2}
        assert_error_nocase {ERR*DIM*} {r vcreate x DIM 0}
        assert_error_nocase {ERR*DIM*} {r vcreate x DIM -3}
        assert_error_nocase {ERR*DIM*} {r vcreate x DIM abc}
        assert_error_nocase {ERR*METRIC*} {r vcreate x DIM 4 METRIC FOO}
        assert_error_nocase {ERR*TYPE*} {r vcreate x DIM 4 TYPE FLOAT64}
        assert_error_nocase {ERR*INDEX*} {r vcreate x DIM 4 INDEX IVF_FOO}
        assert_error_nocase {ERR*M*} {r vcreate x DIM 4 INDEX HNSW M 0}
        assert_error_nocase {ERR*EFC*} {r vcreate x DIM 4 INDEX HNSW EFC 0}
        assert_error_nocase {ERR*} {r vcreate x DIM 4 BOGUS}
        assert_error_nocase {ERR*} {r vcreate x DIM 4 METRIC}
        assert_equal 0 [r exists x]
    }

    test {VCREATE accepts every metric, type and index of the grammar} {
        set i 0
        foreach metric {L2 IP COSINE cosine} {
            foreach type {FLOAT32 FLOAT16 BFLOAT16 INT8} {
                assert_equal OK [r vcreate m[incr i] DIM 8 METRIC $metric TYPE $type INDEX HNSW M 8 EFC 50]
            }
        }
        assert_equal OK [r vcreate bin1 DIM 64 TYPE BINARY METRIC HAMMING INDEX FLAT]
        assert_equal OK [r vcreate flat1 DIM 8 INDEX FLAT]
        assert_equal OK [r vcreate hnsw1 DIM 8 INDEX HNSW]
    }

    test {VDESCRIBE: dim, metric, type, index, rows, segments} {
        r flushall
        r vcreate d1 DIM 3 METRIC L2 TYPE FLOAT32 INDEX HNSW M 12 EFC 64
        set d [describe d1]
        foreach f {dim metric type index rows segments} {
            assert {[dict exists $d $f]} "VDESCRIBE lacks '$f': $d"
        }
        assert_equal 3 [dict get $d dim]
        assert_equal L2 [string toupper [dict get $d metric]]
        assert_equal 0 [dict get $d rows]
        assert {[string match -nocase *HNSW* [dict get $d index]]} "index [dict get $d index]"
        assert {[string toupper [dict get $d type]] in {FLOAT32 F32}} "type [dict get $d type]"
        r vadd d1 VALUES 3 1 2 3 a
        r vadd d1 VALUES 3 3 2 1 b
        assert_equal 2 [dict get [describe d1] rows]
        r vrem d1 a
        assert_equal 1 [dict get [describe d1] rows]
        # A vector set made by VADD is a collection too: cosine.
        r vadd vs VALUES 2 1 0 a
        set d [describe vs]
        assert_equal COSINE [string toupper [dict get $d metric]]
        assert_equal 2 [dict get $d dim]
        assert_equal 1 [dict get $d rows]
        # RESP3: a map.
        set c3 [vs_resp3]
        assert_equal map [vs_type [vs_typed $c3 VDESCRIBE d1]]
        $c3 close
    }

    test {VDESCRIBE: the schema's fields, the _default partition, each segment's partition} {
        r flushall
        r vcreate f1 DIM 3 METRIC IP TYPE FLOAT16
        set d [describe f1]
        assert_equal VARCHAR [dict get $d primary-key]
        assert_equal 1 [dict get $d dynamic-attributes]
        set fields [dict get $d fields]
        assert_equal 2 [llength $fields]
        assert_equal {name id kind primary-key type VARCHAR} [lindex $fields 0]
        assert_equal {name vector kind vector type FLOAT16 dim 3 metric IP} [lindex $fields 1]
        assert_equal {{name _default rows 0 segments 0}} [dict get $d partitions]
        for {set i 0} {$i < 5} {incr i} { r vadd f1 VALUES 3 $i 1 2 e$i }
        r vrem f1 e0
        set d [describe f1]
        assert_equal {{name _default rows 4 segments 1}} [dict get $d partitions]
        set seg [lindex [dict get $d segments] 0]
        assert_equal _default [dict get $seg partition]
        assert_equal 5 [dict get $seg rows]
        assert_equal 1 [dict get $seg deleted]
        # RESP3: fields, partitions and segments are arrays of maps.
        set c3 [vs_resp3]
        set t [vs_typed $c3 VDESCRIBE f1]
        assert_equal map [vs_type $t]
        set kv [lindex $t 1]
        foreach part {fields partitions segments} {
            set v {}
            foreach {k x} $kv { if {[lindex $k 1] eq $part} { set v $x } }
            assert_equal array [vs_type $v] "$part: $v"
            assert_equal map [vs_type [lindex $v 1 0]] "$part: $v"
        }
        $c3 close
    }

    test {VCREATE METRIC L2: VSIM orders by Euclidean distance, not by angle} {
        r flushall
        r vcreate l2 DIM 2 METRIC L2
        r vadd l2 VALUES 2 10 0 far
        r vadd l2 VALUES 2 1 1 near
        r vadd l2 VALUES 2 0 1.5 mid
        # Query (1,0): L2 order near (1), mid (1.80), far (9); cosine would say far first.
        assert_equal {near mid far} [r vsim l2 VALUES 2 1 0]
        assert_equal {near mid far} [r vsim l2 VALUES 2 1 0 TRUTH]
        set res [r vsim l2 VALUES 2 1 0 WITHSCORES]
        assert_equal {near mid far} [dict keys $res]
        assert_equal 3 [r vcard l2]
    }

    test {VCREATE METRIC IP: VSIM orders by inner product} {
        r vcreate ip DIM 2 METRIC IP
        r vadd ip VALUES 2 10 0 big
        r vadd ip VALUES 2 1 1 diag
        r vadd ip VALUES 2 2 5 tall
        # Query (1,0): IP big 10, tall 2, diag 1; cosine would put diag before tall.
        assert_equal {big tall diag} [r vsim ip VALUES 2 1 0]
        assert_equal {big tall diag} [r vsim ip VALUES 2 1 0 TRUTH]
    }

    test {VCREATE METRIC COSINE with INDEX FLAT behaves like a vector set} {
        r vcreate cf DIM 2 METRIC COSINE INDEX FLAT
        r vadd cf VALUES 2 10 0 big
        r vadd cf VALUES 2 1 1 diag
        r vadd cf VALUES 2 2 5 tall
        set res [r vsim cf VALUES 2 1 0 WITHSCORES]
        assert_equal {big diag tall} [dict keys $res]
        assert_float_eq 1.0 [dict get $res big] 1e-5
        assert_float_eq [expr {(1 + sqrt(0.5)) / 2}] [dict get $res diag] 1e-5
    }

    test {VCREATE L2 on 500 random vectors: VSIM equals the exact L2 top 10} {
        r vcreate l2big DIM 8 METRIC L2 INDEX HNSW
        vs_lcg_seed 91
        puts "    seed 91 (vs_lcg) for the L2 test"
        set vecs [dict create]
        set cmds {}
        for {set i 0} {$i < 500} {incr i} {
            set v [vs_random_vec 8]
            # Different norms so that L2 and cosine disagree.
            set s [expr {0.1 + 3 * [vs_rand]}]
            set v [lmap x $v {expr {$x * $s}}]
            dict set vecs p$i $v
            lappend cmds [list VADD l2big FP32 [vs_f32 $v] p$i]
        }
        foreach rep [vs_pipeline [redis_client] $cmds] { assert_equal 1 $rep }
        for {set q 0} {$q < 5} {incr q} {
            set query [vs_random_vec 8]
            set l {}
            dict for {e v} $vecs { lappend l [list $e [vs_l2sq $query $v]] }
            set exp {}
            foreach p [lrange [lsort -real -increasing -index 1 $l] 0 9] { lappend exp [lindex $p 0] }
            assert_equal $exp [r vsim l2big FP32 [vs_f32 $query] TRUTH]
            assert_same_elements $exp [r vsim l2big FP32 [vs_f32 $query] EF 200]
        }
    }

    test {VLIST returns every collection, VCREATE-made and VADD-made} {
        r flushall
        assert_equal {} [r vlist]
        r vcreate a DIM 2
        r vcreate b DIM 3 METRIC L2
        r vadd c VALUES 2 1 0 x
        assert_equal {a b c} [lsort [r vlist]]
        r del b
        assert_equal {a c} [lsort [r vlist]]
        r rename c d
        assert_equal {a d} [lsort [r vlist]]
        r flushall
        assert_equal {} [r vlist]
    }
}
