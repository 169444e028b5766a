# VADD (VECTORSETS.md sections 0, 1, 3, 9): FP32 blobs and VALUES, reply 1/0
# in RESP2 and RESP3, real updates, SETATTR on add and update, quantisation
# and M fixed at creation (mismatch errors), REDUCE projection and its
# errors, CAS, every error string of section 1, arity, dimension limits,
# zero vectors, binary-safe names, and the command-table entries (arity,
# flags, key positions) of every V* command.

source [file join $::vt_dir support vset_util.tcl]

# VINFO as a dict (RESP2 flat list or RESP3 map both parse to k v k v).
proc vinfo {key} { return [r vinfo $key] }
proc vinfo_field {key field} { return [dict get [r vinfo $key] $field] }

proc assert_vec {expected got tol {detail ""}} {
    if {[llength $expected] != [llength $got]} {
        vt_fail "Expected vector {$expected} but got {[vt_short $got]} $detail"
    }
    foreach x $expected y $got {
        if {![string is double -strict $y] || abs($x - $y) > $tol} {
            vt_fail "Expected vector {$expected} +- $tol but got {[vt_short $got]} $detail"
        }
    }
}

start_server {tags {vset vadd}} {
    test {VADD VALUES creates a vector set: reply 1, VCARD, VDIM, TYPE vectorset, EXISTS} {
        r flushall
        assert_equal 1 [r vadd k VALUES 3 0.1 0.2 0.3 a]
        assert_equal : [r last_type]
        assert_equal 1 [r vcard k]
        assert_equal 3 [r vdim k]
        assert_equal vectorset [r type k]
        assert_equal 1 [r exists k]
        assert_equal 1 [r vismember k a]
    }

    test {VADD FP32 takes a little-endian float32 blob (same vector as VALUES)} {
        r flushall
        set v {1.5 -2.25 0.125 4.0}
        assert_equal 1 [r vadd k FP32 [vs_f32 $v] a NOQUANT]
        assert_equal 1 [r vadd k VALUES 4 {*}$v b NOQUANT]
        assert_vec $v [r vemb k a] 1e-5
        assert_vec $v [r vemb k b] 1e-5
        # A big-endian blob of the same floats is a different vector.
        assert_equal 1 [r vadd k FP32 [binary format R* $v] c NOQUANT]
        set c [r vemb k c]
        assert {abs([lindex $c 0] - 1.5) > 0.01} "FP32 was read as big-endian: $c"
        # Scores agree: a and b are the same vector.
        set res [r vsim k ELE a WITHSCORES COUNT 2]
        assert_equal 4 [llength $res]
        assert_same_elements {a b} [list [lindex $res 0] [lindex $res 2]]
        assert_float_eq 1.0 [lindex $res 1] 1e-5
        assert_float_eq 1.0 [lindex $res 3] 1e-5
    }

    test {VADD reply: RESP2 :1 then :0 on update; RESP3 #t then #f} {
        r flushall
        set c [redis_client]
        assert_equal {int 1} [vs_typed $c VADD k2 VALUES 2 1 0 a]
        assert_equal {int 0} [vs_typed $c VADD k2 VALUES 2 0 1 a]
        set c3 [vs_resp3]
        assert_equal {bool 1} [vs_typed $c3 VADD k3 VALUES 2 1 0 a]
        assert_equal {bool 0} [vs_typed $c3 VADD k3 VALUES 2 0 1 a]
        assert_equal {bool 1} [vs_typed $c3 VADD k3 VALUES 2 1 1 b]
        $c close
        $c3 close
    }

    test {VADD update is a real update: VEMB shows the new vector, VSIM finds it by it} {
        r flushall
        assert_equal 1 [r vadd k VALUES 3 1 0 0 a NOQUANT]
        assert_equal 1 [r vadd k VALUES 3 0 0 1 b NOQUANT]
        assert_equal 0 [r vadd k VALUES 3 0 2 0 a NOQUANT]
        assert_equal 2 [r vcard k]
        assert_vec {0 2 0} [r vemb k a] 1e-5
        set res [r vsim k VALUES 3 0 1 0 WITHSCORES]
        assert_equal a [lindex $res 0]
        assert_float_eq 1.0 [lindex $res 1] 1e-5
        # The old direction now scores 0.5 (orthogonal) for a.
        set res [r vsim k VALUES 3 1 0 0 WITHSCORES]
        assert_float_eq 0.5 [dict get $res a] 1e-5
        assert_float_eq 0.5 [dict get $res b] 1e-5
        # By element: a's nearest other element is now b at score 0.5.
        assert_equal {a b} [r vsim k ELE a]
    }

    test {VADD update on a bigger set: the element moves, VCARD unchanged} {
        r flushall
        vs_lcg_seed 11
        puts "    seed 11 (vs_lcg) for the update test"
        set vecs [vs_fill [redis_client] k 300 8 e NOQUANT]
        set newv [vs_random_vec 8]
        assert_equal 0 [r vadd k FP32 [vs_f32 $newv] e7 NOQUANT]
        assert_equal 300 [r vcard k]
        assert_vec $newv [r vemb k e7] 1e-5
        set res [r vsim k FP32 [vs_f32 $newv] COUNT 1 WITHSCORES]
        assert_equal e7 [lindex $res 0]
        assert_float_eq 1.0 [lindex $res 1] 1e-5
        # Searching by the old vector no longer gives e7 a perfect score.
        set old [dict get $vecs e7]
        set res [r vsim k FP32 [vs_f32 $old] COUNT 300 WITHSCORES TRUTH]
        assert_float_eq [vs_score $old $newv] [dict get $res e7] 1e-4
    }

    test {VADD SETATTR stores the attribute; update without SETATTR keeps it} {
        r flushall
        assert_equal 1 [r vadd k VALUES 2 1 0 a SETATTR {{"x":1}}]
        assert_equal {{"x":1}} [r vgetattr k a]
        assert_equal 0 [r vadd k VALUES 2 0 1 a]
        assert_equal {{"x":1}} [r vgetattr k a]
        assert_equal 1 [vinfo_field k attributes-count]
    }

    test {VADD update with SETATTR replaces the attribute; empty SETATTR removes it} {
        r flushall
        r vadd k VALUES 2 1 0 a SETATTR {{"x":1}}
        assert_equal 0 [r vadd k VALUES 2 1 0 a SETATTR {{"y":"two"}}]
        assert_equal {{"y":"two"}} [r vgetattr k a]
        assert_equal 0 [r vadd k VALUES 2 1 0 a SETATTR ""]
        assert_equal {} [r vgetattr k a]
        assert_equal 0 [vinfo_field k attributes-count]
        # The RESP2 null is $-1.
        set c [redis_client]
        assert_equal {nullbulk {}} [vs_typed $c VGETATTR k a]
        $c close
    }

    test {VADD defaults: Q8 (int8) and M 16} {
        r flushall
        r vadd k VALUES 3 1 2 3 a
        set info [vinfo k]
        assert_equal int8 [dict get $info quant-type]
        assert_equal 16 [dict get $info hnsw-m]
        assert_equal 3 [dict get $info vector-dim]
        assert_equal 0 [dict get $info projection-input-dim]
    }

    test {VADD NOQUANT / Q8 / BIN map to quant-type f32 / int8 / bin} {
        r flushall
        r vadd kn VALUES 3 1 2 3 a NOQUANT
        r vadd kq VALUES 3 1 2 3 a Q8
        r vadd kb VALUES 3 1 2 3 a BIN
        assert_equal f32 [vinfo_field kn quant-type]
        assert_equal int8 [vinfo_field kq quant-type]
        assert_equal bin [vinfo_field kb quant-type]
    }

    test {VADD options are case-insensitive, and so are FP32 / VALUES} {
        r flushall
        assert_equal 1 [r vadd k values 2 1 0 a noquant ef 50 m 8 setattr {{"a":1}}]
        assert_equal 1 [r vadd k fp32 [vs_f32 {0 1}] b NoQuant Ef 50 M 8]
        assert_equal 1 [r vadd k VALUES 2 1 1 c nOqUaNt m 8 cas]
        set info [vinfo k]
        assert_equal f32 [dict get $info quant-type]
        assert_equal 8 [dict get $info hnsw-m]
        assert_equal 3 [r vcard k]
    }

    test {VADD repeated options: the last quantisation word wins} {
        r flushall
        r vadd k1 VALUES 2 1 0 a BIN NOQUANT
        assert_equal f32 [vinfo_field k1 quant-type]
        r vadd k2 VALUES 2 1 0 a NOQUANT BIN
        assert_equal bin [vinfo_field k2 quant-type]
        r vadd k3 VALUES 2 1 0 a M 8 M 12 EF 10 EF 20
        assert_equal 12 [vinfo_field k3 hnsw-m]
    }

    test {VADD quantisation is fixed at creation: mismatch errors} {
        r flushall
        r vadd kn VALUES 2 1 0 a NOQUANT
        assert_error_exact {ERR asked quantization mismatch with existing vector set} {r vadd kn VALUES 2 0 1 b}
        assert_error_exact {ERR asked quantization mismatch with existing vector set} {r vadd kn VALUES 2 0 1 b Q8}
        assert_error_exact {ERR asked quantization mismatch with existing vector set} {r vadd kn VALUES 2 0 1 b BIN}
        assert_equal 1 [r vadd kn VALUES 2 0 1 b NOQUANT]
        r vadd kd VALUES 2 1 0 a
        assert_error_exact {ERR asked quantization mismatch with existing vector set} {r vadd kd VALUES 2 0 1 b NOQUANT}
        assert_error_exact {ERR asked quantization mismatch with existing vector set} {r vadd kd VALUES 2 0 1 b BIN}
        assert_equal 1 [r vadd kd VALUES 2 0 1 b Q8]
        assert_equal 1 [r vadd kd VALUES 2 1 1 c]
        r vadd kb VALUES 2 1 0 a BIN
        assert_error_exact {ERR asked quantization mismatch with existing vector set} {r vadd kb VALUES 2 0 1 b}
        assert_equal 1 [r vadd kb VALUES 2 0 1 b BIN]
        # The failed VADDs added nothing.
        assert_equal 2 [r vcard kn]
        assert_equal 0 [r vismember kb c]
        assert_equal 2 [r vcard kb]
    }

    test {VADD M is fixed at creation: mismatch errors compare the written value} {
        r flushall
        r vadd k VALUES 2 1 0 a M 32
        assert_equal 32 [vinfo_field k hnsw-m]
        assert_error_exact {ERR asked M value mismatch with existing vector set} {r vadd k VALUES 2 0 1 b}
        assert_error_exact {ERR asked M value mismatch with existing vector set} {r vadd k VALUES 2 0 1 b M 16}
        assert_equal 1 [r vadd k VALUES 2 0 1 b M 32]
        r vadd kd VALUES 2 1 0 a
        assert_error_exact {ERR asked M value mismatch with existing vector set} {r vadd kd VALUES 2 0 1 b M 32}
        assert_equal 1 [r vadd kd VALUES 2 0 1 b M 16]
        assert_equal 2 [r vcard k]
        assert_equal 2 [r vcard kd]
    }

    test {VADD M range 4..4096, EF range 1..1000000} {
        r flushall
        assert_error_exact {ERR invalid M} {r vadd k VALUES 2 1 0 a M 3}
        assert_error_exact {ERR invalid M} {r vadd k VALUES 2 1 0 a M 4097}
        assert_error_exact {ERR invalid M} {r vadd k VALUES 2 1 0 a M 0}
        assert_error_exact {ERR invalid M} {r vadd k VALUES 2 1 0 a M -16}
        assert_error_exact {ERR invalid M} {r vadd k VALUES 2 1 0 a M abc}
        assert_error_exact {ERR invalid EF} {r vadd k VALUES 2 1 0 a EF 0}
        assert_error_exact {ERR invalid EF} {r vadd k VALUES 2 1 0 a EF 1000001}
        assert_error_exact {ERR invalid EF} {r vadd k VALUES 2 1 0 a EF -1}
        assert_error_exact {ERR invalid EF} {r vadd k VALUES 2 1 0 a EF abc}
        assert_equal 0 [r exists k]
        assert_equal 1 [r vadd m4 VALUES 2 1 0 a M 4]
        assert_equal 1 [r vadd e1 VALUES 2 1 0 a EF 1]
        assert_equal 1 [r vadd e1 VALUES 2 0 1 b EF 1000000]
    }

    test {VADD M 4096 (the upper bound) is accepted} {
        assert_equal 1 [r vadd m4096 VALUES 2 1 0 a M 4096]
        assert_equal 4096 [vinfo_field m4096 hnsw-m]
        assert_equal 1 [r vadd m4096 VALUES 2 0 1 b M 4096]
        assert_equal {a b} [r vsim m4096 VALUES 2 1 0.1]
    }

    test {VADD: unknown option or an option without its value after the element} {
        r flushall
        assert_error_exact {ERR invalid option after element} {r vadd k VALUES 2 1 0 a FOO}
        assert_error_exact {ERR invalid option after element} {r vadd k VALUES 2 1 0 a EF}
        assert_error_exact {ERR invalid option after element} {r vadd k VALUES 2 1 0 a M}
        assert_error_exact {ERR invalid option after element} {r vadd k VALUES 2 1 0 a SETATTR}
        assert_error_exact {ERR invalid option after element} {r vadd k VALUES 2 1 0 a NOQUANT WITHSCORES}
        # REDUCE must come before the vector.
        assert_error_exact {ERR invalid option after element} {r vadd k VALUES 2 1 0 a REDUCE 1}
        assert_equal 0 [r exists k]
    }

    test {VADD: invalid vector specifications} {
        r flushall
        set e {ERR invalid vector specification}
        # FP32 length must be a non-zero multiple of 4.
        assert_error_exact $e {r vadd k FP32 "\x00\x00\x80" a}
        assert_error_exact $e {r vadd k FP32 "\x00\x00\x80\x3f\x00" a}
        assert_error_exact $e {r vadd k FP32 "" a}
        # VALUES: bad count or a bad number.
        assert_error_exact $e {r vadd k VALUES 0 a b}
        assert_error_exact $e {r vadd k VALUES -1 1 a}
        assert_error_exact $e {r vadd k VALUES abc 1 a}
        assert_error_exact $e {r vadd k VALUES 3 1 x 0 a}
        assert_error_exact $e {r vadd k VALUES 2 1 0.5.5 a}
        # Unknown format word.
        assert_error_exact $e {r vadd k FP64 abcdefgh a}
        assert_error_exact $e {r vadd k VECTOR 1 a b}
        # Bad REDUCE.
        assert_error_exact $e {r vadd k REDUCE 0 VALUES 2 1 0 a}
        assert_error_exact $e {r vadd k REDUCE -1 VALUES 2 1 0 a}
        assert_error_exact $e {r vadd k REDUCE abc VALUES 2 1 0 a}
        assert_error_exact $e {r vadd k REDUCE 4 VALUES 3 1 0 0 a}
        assert_equal 0 [r exists k]
        assert_equal 0 [r dbsize]
    }

    test {VADD arity: the element missing after the vector is an arity error} {
        r flushall
        set e {ERR wrong number of arguments for 'VADD' command}
        assert_error_exact $e {r vadd k VALUES 3 1 0 0}
        assert_error_exact $e {r vadd k VALUES 2}
        assert_error_exact $e {r vadd k FP32 [vs_f32 {1 0}]}
        assert_error_exact $e {r vadd k}
        assert_error_exact $e {r vadd}
        assert_equal 0 [r exists k]
    }

    test {VADD dimension mismatch: exact message, FP32 and VALUES} {
        r flushall
        r vadd k VALUES 3 1 0 0 a
        assert_error_exact {ERR Vector dimension mismatch - got 2 but set has 3} {r vadd k VALUES 2 1 0 b}
        assert_error_exact {ERR Vector dimension mismatch - got 4 but set has 3} {r vadd k FP32 [vs_f32 {1 0 0 1}] b}
        assert_error_exact {ERR Vector dimension mismatch - got 2 but set has 3} {r vadd k VALUES 2 1 0 a}
        assert_equal 1 [r vcard k]
        # The failed update left the old vector in place.
        assert_equal 3 [llength [r vemb k a]]
    }

    test {VADD accepts dimension 65536 and rejects 65537} {
        r flushall
        set blob [binary format r65536 [lrepeat 65536 0.5]]
        assert_equal 1 [r vadd big FP32 $blob a]
        assert_equal 65536 [r vdim big]
        set blob [binary format r65537 [lrepeat 65537 0.5]]
        assert_error {ERR *} {r vadd big2 FP32 $blob a}
        assert_equal 0 [r exists big2]
        r del big
    }

    test {VADD accepts a zero vector: VEMB zeros, score 0.5 against anything} {
        r flushall
        assert_equal 1 [r vadd k VALUES 3 0 0 0 z NOQUANT]
        assert_equal 1 [r vadd k VALUES 3 1 0 0 a NOQUANT]
        assert_vec {0 0 0} [r vemb k z] 1e-6
        set res [r vsim k VALUES 3 1 0 0 WITHSCORES]
        assert_float_eq 1.0 [dict get $res a] 1e-5
        assert_float_eq 0.5 [dict get $res z] 1e-5
        set res [r vsim k VALUES 3 0 0 -1 WITHSCORES]
        assert_float_eq 0.5 [dict get $res z] 1e-5
        # Q8 too: range 0, still distance 1.
        assert_equal 1 [r vadd kq VALUES 3 0 0 0 z]
        assert_equal 1 [r vadd kq VALUES 3 0 1 0 a]
        set res [r vsim kq VALUES 3 0 1 0 WITHSCORES]
        assert_float_eq 0.5 [dict get $res z] 1e-3
    }

    test {VADD REDUCE: projection at creation, VDIM reduced, VINFO projection-input-dim} {
        r flushall
        assert_equal 1 [r vadd p REDUCE 2 VALUES 4 1 2 3 4 a]
        assert_equal 2 [r vdim p]
        set info [vinfo p]
        assert_equal 2 [dict get $info vector-dim]
        assert_equal 4 [dict get $info projection-input-dim]
        # Later VADDs give full-size vectors, with or without the same REDUCE.
        assert_equal 1 [r vadd p VALUES 4 -1 -2 -3 -4 b]
        assert_equal 1 [r vadd p REDUCE 2 FP32 [vs_f32 {4 3 2 1}] c]
        assert_equal 3 [r vcard p]
        assert_equal 2 [llength [r vemb p a]]
        # The projection is deterministic: a duplicate of a scores 1 against a.
        assert_equal 1 [r vadd p VALUES 4 1 2 3 4 a2]
        set res [r vsim p ELE a WITHSCORES COUNT 2]
        assert_same_elements {a a2} [list [lindex $res 0] [lindex $res 2]]
        assert_float_eq 1.0 [lindex $res 3] 1e-3
        # VSIM takes full-size vectors and already-reduced ones.
        assert_equal a [lindex [r vsim p VALUES 4 1 2 3 4 COUNT 1] 0]
        set red [r vemb p a]
        assert {[lindex [r vsim p VALUES 2 {*}$red COUNT 1] 0] in {a a2}}
        # b is a's opposite: projection is linear.
        set res [r vsim p ELE a WITHSCORES]
        assert_float_eq 0.0 [dict get $res b] 1e-2
    }

    test {VADD REDUCE errors: input dim, projection dim, projection on a plain set} {
        r flushall
        r vadd p REDUCE 2 VALUES 4 1 2 3 4 a
        assert_error_exact {ERR Input dimension mismatch for projection - got 3 but projection expects 4} \
            {r vadd p VALUES 3 1 2 3 b}
        assert_error_exact {ERR projection dimension mismatch with existing set} \
            {r vadd p REDUCE 3 VALUES 4 1 2 3 4 b}
        r vadd plain VALUES 3 1 2 3 a
        assert_error_exact {ERR cannot add projection to existing set without projection} \
            {r vadd plain REDUCE 2 VALUES 3 1 2 3 b}
        assert_equal 1 [r vcard p]
        assert_equal 1 [r vcard plain]
    }

    test {VADD REDUCE equal to the input dim is accepted} {
        r flushall
        assert_equal 1 [r vadd p REDUCE 3 VALUES 3 1 2 3 a]
        assert_equal 3 [r vdim p]
        assert_equal 3 [vinfo_field p projection-input-dim]
    }

    test {VADD CAS: adds a new element (reply 1), also when creating the key} {
        r flushall
        assert_equal 1 [r vadd k VALUES 2 1 0 a CAS]
        assert_equal 1 [r vadd k VALUES 2 0 1 b CAS]
        assert_equal 2 [r vcard k]
        assert_equal 1 [r vismember k a]
        assert_equal 1 [r vismember k b]
        assert_equal {a b} [r vsim k VALUES 2 1 0.1]
    }

    test {VADD CAS on an existing element: an update as without CAS (reply 0 / #f)} {
        # Redis drops CAS when the element exists (VECTORSETS.md section 1)
        # and runs the normal update: the vector is replaced, the attribute
        # kept unless SETATTR is given, and the reply says "not added".
        r flushall
        r vadd k VALUES 2 1 0 a SETATTR {{"n":1}}
        r vadd k VALUES 2 0 1 b
        set c [redis_client]
        assert_equal {int 0} [vs_typed $c VADD k VALUES 2 0 3 a CAS]
        assert_vec {0 3} [r vemb k a] 1e-3
        assert_equal {{"n":1}} [r vgetattr k a]
        assert_equal 2 [r vcard k]
        set c3 [vs_resp3]
        assert_equal {bool 0} [vs_typed $c3 VADD k VALUES 2 -2 0 a CAS SETATTR {{"n":2}}]
        assert_vec {-2 0} [r vemb k a] 1e-3
        assert_equal {{"n":2}} [r vgetattr k a]
        # A new element with CAS still replies 1 / #t.
        assert_equal {bool 1} [vs_typed $c3 VADD k VALUES 2 1 1 c CAS]
        assert_equal {int 1} [vs_typed $c VADD k VALUES 2 1 -1 d CAS]
        assert_equal 4 [r vcard k]
        assert_equal {a} [r vsim k VALUES 2 -1 0 COUNT 1]
        $c close
        $c3 close
    }

    test {VADD element names are binary safe} {
        r flushall
        set name "a\x00b\r\n\xff"
        assert_equal 1 [r vadd k VALUES 2 1 0 $name]
        assert_equal 1 [r vadd k VALUES 2 0 1 "a"]
        assert_equal 1 [r vismember k $name]
        assert_equal 0 [r vismember k "a\x00b"]
        assert_equal $name [lindex [r vsim k VALUES 2 1 0 COUNT 1] 0]
        assert_equal 2 [r vcard k]
        assert_equal 1 [r vadd k VALUES 2 1 0 ""]
        assert_equal 1 [r vismember k ""]
    }

    test {A failed VADD on a new key does not create it} {
        r flushall
        catch {r vadd k VALUES 2 1 0 a M 2}
        catch {r vadd k VALUES 2 1 x a}
        catch {r vadd k VALUES 2 1 0 a BOGUS}
        assert_equal 0 [r exists k]
        assert_equal 0 [r dbsize]
    }
}

start_server {tags {vset vadd}} {
    # Section 0: arity (COMMAND INFO), flags and key positions of every V*
    # command.
    test {COMMAND INFO of the vector-set commands: arity, flags, first/last/step key} {
        set table {
            vadd -5 {write denyoom}
            vrem 3 {write}
            vsim -4 {readonly}
            vdim 2 {readonly fast}
            vcard 2 {readonly fast}
            vemb -3 {readonly fast}
            vlinks -3 {readonly fast}
            vinfo 2 {readonly fast}
            vsetattr 4 {write fast}
            vgetattr 3 {readonly fast}
            vrandmember -2 {readonly}
            vismember 3 {readonly}
            vrange -4 {readonly}
        }
        foreach {name arity flags} $table {
            set e [lindex [r command info $name] 0]
            assert {[llength $e] >= 6} "COMMAND INFO $name: '$e'"
            assert_equal $name [string tolower [lindex $e 0]] "name of $name"
            assert_equal $arity [lindex $e 1] "arity of $name"
            # The whole set must match: a missing flag and an extra one both fail.
            set got [lindex $e 2]
            assert {[lsearch -exact $got module] >= 0} "$name lacks flag module: $got"
            set got [lsearch -all -inline -not -exact $got module]
            assert_equal [lsort $flags] [lsort $got] "flags of $name"
            assert_equal {1 1 1} [lrange $e 3 5] "key positions of $name"
        }
    }

    # Section 0: COMMAND DOCS carries summary, since and arguments; VISMEMBER
    # is from 8.2, VRANGE from 8.4, the rest from 8.0.
    test {COMMAND DOCS of the vector-set commands: summary, since, arguments} {
        foreach {name since} {vadd 8.0.0 vrem 8.0.0 vsim 8.0.0 vdim 8.0.0 vcard 8.0.0 vemb 8.0.0
                              vlinks 8.0.0 vinfo 8.0.0 vsetattr 8.0.0 vgetattr 8.0.0
                              vrandmember 8.0.0 vismember 8.2.0 vrange 8.4.0} {
            set reply [r command docs $name]
            assert_equal 2 [llength $reply] "COMMAND DOCS $name: $reply"
            assert_equal $name [string tolower [lindex $reply 0]]
            set d [lindex $reply 1]
            assert {[string length [dict get $d summary]] > 10} "summary of $name"
            assert_equal $since [dict get $d since] "since of $name"
            assert {[dict exists $d arguments] && [llength [dict get $d arguments]] >= 1} "arguments of $name"
        }
    }
}
