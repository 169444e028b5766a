# Keyspace commands on vector sets (VECTORSETS.md section 0, DESIGN.md
# section 3): DEL, UNLINK, EXISTS, TYPE (vectorset), OBJECT ENCODING, KEYS,
# SCAN with MATCH / COUNT / TYPE, RENAME, RENAMENX, DBSIZE, FLUSHALL /
# FLUSHDB (SYNC / ASYNC), RANDOMKEY, with the replies and error strings of
# Redis (`ERR no such key`, `ERR invalid cursor`, `ERR syntax error`, lower-case
# names in arity errors of core commands), in RESP2 and RESP3.

source [file join $::vt_dir support vset_util.tcl]

proc mkset {key {n 3} {dim 2}} {
    for {set i 0} {$i < $n} {incr i} {
        set v {}
        for {set j 0} {$j < $dim} {incr j} { lappend v [expr {rand() + 0.01}] }
        r vadd $key VALUES $dim {*}$v e$i
    }
}

# Full SCAN iteration; returns the unique keys and checks every cursor.
proc scan_all {args} {
    set cursor 0
    set keys {}
    set rounds 0
    while 1 {
        set rep [r scan $cursor {*}$args]
        assert_equal 2 [llength $rep] "SCAN reply shape: $rep"
        lassign $rep cursor page
        assert {[string is wideinteger -strict $cursor]} "cursor '$cursor'"
        lappend keys {*}$page
        if {$cursor eq "0"} break
        if {[incr rounds] > 10000} { fail "SCAN did not terminate" }
    }
    return [lsort -unique $keys]
}

start_server {tags {vset keyspace}} {
    test {TYPE vectorset (simple string), none for a missing key} {
        r flushall
        mkset v1
        assert_equal vectorset [r type v1]
        assert_equal + [r last_type]
        assert_equal none [r type nokey]
        assert_equal {simple vectorset} [vs_typed [vs_resp3] TYPE v1]
    }

    test {OBJECT ENCODING of a vector set is raw} {
        assert_equal raw [r object encoding v1]
    }

    test {EXISTS counts vector-set keys, repeated names count twice} {
        r flushall
        mkset v1
        mkset v2
        assert_equal 1 [r exists v1]
        assert_equal 0 [r exists nokey]
        assert_equal 3 [r exists v1 v2 v1 nokey]
        assert_error_exact {ERR wrong number of arguments for 'exists' command} {r exists}
    }

    test {DEL and UNLINK remove vector sets and reply with the count} {
        r flushall
        foreach k {a b c d e} { mkset $k }
        assert_equal 2 [r del a b nokey]
        assert_equal 0 [r exists a b]
        assert_equal 0 [r del a]
        assert_equal 2 [r unlink c d nokey]
        assert_equal 0 [r unlink c]
        assert_equal 1 [r dbsize]
        # A deleted set is gone for the V* commands too.
        assert_equal 0 [r vcard a]
        assert_equal {} [r vsim a VALUES 2 1 0]
        assert_error_exact {ERR key does not exist} {r vdim a}
        # And can be re-created with other parameters.
        assert_equal 1 [r vadd a VALUES 3 1 0 0 x NOQUANT]
        assert_equal f32 [dict get [r vinfo a] quant-type]
        assert_error_exact {ERR wrong number of arguments for 'del' command} {r del}
        assert_error_exact {ERR wrong number of arguments for 'unlink' command} {r unlink}
    }

    test {DEL of a 20,000-element set is fast and the server keeps serving} {
        r flushall
        vs_lcg_seed 81
        vs_fill [redis_client] big 20000 16 b
        assert_equal 20000 [r vcard big]
        set t0 [clock milliseconds]
        assert_equal 1 [r del big]
        assert_equal PONG [r ping]
        assert_lessthan [expr {[clock milliseconds] - $t0}] [slow_ms 1000]
        assert_equal 0 [r exists big]
        assert_equal 0 [r dbsize]
    }

    test {KEYS with patterns lists vector sets} {
        r flushall
        foreach k {vec:1 vec:2 vec:10 other "sp ace" "star*"} { mkset $k 1 }
        assert_equal [list other "sp ace" "star*" vec:1 vec:10 vec:2] [lsort [r keys *]]
        assert_equal {vec:1 vec:10 vec:2} [lsort [r keys vec:*]]
        assert_equal {vec:1 vec:2} [lsort [r keys vec:?]]
        assert_equal {vec:1 vec:2} [lsort [r keys {vec:[12]}]]
        assert_equal [list "star*"] [r keys {star\*}]
        assert_equal {} [r keys nomatch*]
        assert_equal * [r last_type]
    }

    test {SCAN visits every vector set; MATCH, COUNT and TYPE filter} {
        r flushall
        set all {}
        for {set i 0} {$i < 60} {incr i} {
            mkset k$i 1
            lappend all k$i
        }
        assert_equal [lsort $all] [scan_all]
        assert_equal [lsort $all] [scan_all COUNT 7]
        assert_equal [lsort $all] [scan_all COUNT 1000]
        assert_equal {k1 k10 k11 k12 k13 k14 k15 k16 k17 k18 k19} [scan_all MATCH k1* COUNT 5]
        assert_equal [lsort $all] [scan_all TYPE vectorset COUNT 9]
        assert_equal {} [scan_all TYPE string]
        assert_equal {k5 k50 k51 k52 k53 k54 k55 k56 k57 k58 k59} [scan_all MATCH k5* TYPE vectorset]
        # Cursor is a bulk string in an array of two.
        set t [vs_typed [redis_client] SCAN 0 COUNT 10]
        assert_equal array [vs_type $t]
        assert_equal bulk [vs_type [lindex [lindex $t 1] 0]]
    }

    test {SCAN errors: invalid cursor, COUNT, unknown option} {
        assert_error_exact {ERR invalid cursor} {r scan abc}
        assert_error_exact {ERR invalid cursor} {r scan -1x}
        assert_error_exact {ERR syntax error} {r scan 0 COUNT 0}
        assert_error_exact {ERR value is not an integer or out of range} {r scan 0 COUNT abc}
        assert_error_exact {ERR syntax error} {r scan 0 FOO bar}
        assert_error_exact {ERR syntax error} {r scan 0 MATCH}
        assert_error_exact {ERR wrong number of arguments for 'scan' command} {r scan}
    }

    test {DBSIZE counts vector sets} {
        r flushall
        assert_equal 0 [r dbsize]
        mkset a
        mkset b
        assert_equal 2 [r dbsize]
        r vadd a VALUES 2 1 1 more
        assert_equal 2 [r dbsize]
        r del a
        assert_equal 1 [r dbsize]
    }

    test {RENAME moves a vector set with its elements, vectors and attributes} {
        r flushall
        r vadd src VALUES 2 1 0 a NOQUANT SETATTR {{"x":1}}
        r vadd src VALUES 2 0 1 b NOQUANT
        assert_equal OK [r rename src dst]
        assert_equal 0 [r exists src]
        assert_equal vectorset [r type dst]
        assert_equal 2 [r vcard dst]
        assert_equal {{"x":1}} [r vgetattr dst a]
        assert_equal {a b} [r vsim dst VALUES 2 1 0.1]
        assert_equal {a} [r vsim dst VALUES 2 0 1 FILTER {.x == 1}]
        assert_equal f32 [dict get [r vinfo dst] quant-type]
        # Writes go to the new name.
        assert_equal 1 [r vadd dst VALUES 2 1 1 c NOQUANT]
        assert_equal 3 [r vcard dst]
        assert_equal 0 [r vcard src]
    }

    test {RENAME over an existing vector set replaces it} {
        r flushall
        r vadd a VALUES 2 1 0 x NOQUANT
        r vadd b VALUES 3 1 0 0 y
        r vadd b VALUES 3 0 1 0 z
        assert_equal OK [r rename a b]
        assert_equal 0 [r exists a]
        assert_equal 1 [r vcard b]
        assert_equal 2 [r vdim b]
        assert_equal {x} [r vrange b - +]
        assert_equal 1 [r dbsize]
    }

    test {RENAME errors and the same-name case} {
        r flushall
        assert_error_exact {ERR no such key} {r rename nokey x}
        assert_equal 0 [r exists x]
        mkset a
        assert_equal OK [r rename a a]
        assert_equal 3 [r vcard a]
        assert_error_exact {ERR wrong number of arguments for 'rename' command} {r rename a}
        assert_error_exact {ERR wrong number of arguments for 'rename' command} {r rename a b c}
    }

    test {RENAMENX: 1 when moved, 0 when the target exists, error for a missing source} {
        r flushall
        mkset a 2
        mkset b 4
        assert_equal 0 [r renamenx a b]
        assert_equal 2 [r vcard a]
        assert_equal 4 [r vcard b]
        assert_equal 1 [r renamenx a c]
        assert_equal 0 [r exists a]
        assert_equal 2 [r vcard c]
        assert_equal 0 [r renamenx c c]
        assert_equal 2 [r vcard c]
        assert_error_exact {ERR no such key} {r renamenx nokey z}
        assert_error_exact {ERR wrong number of arguments for 'renamenx' command} {r renamenx a}
        set c3 [vs_resp3]
        assert_equal {int 1} [vs_typed $c3 RENAMENX c d]
        $c3 close
    }

    test {FLUSHALL and FLUSHDB, plain, SYNC and ASYNC, remove every vector set} {
        r flushall
        foreach cmd {{flushall} {flushall async} {flushall sync} {flushdb} {flushdb async}
            {flushdb sync} {FLUSHALL ASYNC}} {
            mkset a
            mkset b 50 8
            assert_equal 2 [r dbsize]
            assert_equal OK [r {*}$cmd]
            assert_equal 0 [r dbsize] "after $cmd"
            assert_equal 0 [r exists a b]
            assert_equal {} [r keys *]
            assert_equal 0 [r vcard b]
        }
        assert_error_exact {ERR syntax error} {r flushall foo}
        assert_error_exact {ERR syntax error} {r flushdb foo}
    }

    test {RANDOMKEY: null on an empty database, else an existing key} {
        r flushall
        set c [redis_client]
        assert_equal {nullbulk {}} [vs_typed $c RANDOMKEY]
        set c3 [vs_resp3]
        assert_equal {null {}} [vs_typed $c3 RANDOMKEY]
        mkset only 1
        assert_equal only [r randomkey]
        for {set i 0} {$i < 20} {incr i} { mkset k$i 1 }
        set seen [dict create]
        for {set i 0} {$i < 200} {incr i} {
            set k [r randomkey]
            assert_equal 1 [r exists $k]
            dict incr seen $k
        }
        assert_morethan [dict size $seen] 5
        assert_equal {bulk} [lindex [vs_typed $c3 RANDOMKEY] 0]
        $c close
        $c3 close
        assert_error_exact {ERR wrong number of arguments for 'randomkey' command} {r randomkey x}
    }

    test {Keys created by VADD, removed by the last VREM, show up and vanish in KEYS / SCAN / DBSIZE} {
        r flushall
        r vadd k VALUES 2 1 0 a
        assert_equal {k} [r keys *]
        assert_equal {k} [scan_all TYPE vectorset]
        r vrem k a
        assert_equal {} [r keys *]
        assert_equal {} [scan_all]
        assert_equal 0 [r dbsize]
        assert_equal {} [r randomkey]
    }

    test {vectis-only: OBJECT REFCOUNT / IDLETIME / FREQ / HELP, missing keys and errors} {
        r vadd ob VALUES 2 1 0 a
        assert_equal 1 [r object refcount ob]
        assert_equal 0 [r object idletime ob]
        assert_error {ERR An LFU maxmemory policy is not selected*} {r object freq ob}
        assert_equal {} [r object encoding nokey]
        assert_equal {} [r object refcount nokey]
        assert_equal {} [r object idletime nokey]
        assert_equal {} [r object freq nokey]
        assert_match {OBJECT <subcommand>*} [lindex [r object help] 0]
        assert_error {ERR unknown subcommand 'nope'. Try OBJECT HELP.} {r object nope ob}
        assert_error {ERR wrong number of arguments for 'object|encoding' command} {r object encoding}
        assert_error {ERR wrong number of arguments for 'object' command} {r object}
    }
}
