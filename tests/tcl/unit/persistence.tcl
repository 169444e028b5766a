# Persistence (appendonly yes): every vector-set write is in the mutation log
# (RocksDB, <dir>/vectis.db) and survives a clean SHUTDOWN restart and a
# SIGKILL restart with appendfsync always: the keys, VCARD, VDIM, every
# element's VEMB and VGETATTR, and VSIM TRUTH results are identical before
# and after. With appendonly no, nothing is written to dir.

source [file join $::vt_dir support persist_util.tcl]
source [file join $::vt_dir support vset_util.tcl]

# Applies one round of every kind of write; `seed` varies the data.
proc persist_writes {seed} {
    expr {srand($seed)}
    for {set i 0} {$i < 40} {incr i} {
        set v {}
        for {set d 0} {$d < 8} {incr d} { lappend v [expr {rand() * 2 - 1}] }
        if {$i % 3 == 0} {
            r vadd s VALUES 8 {*}$v e$i SETATTR "{\"i\":$i,\"seed\":$seed}"
        } else {
            r vadd s VALUES 8 {*}$v e$i
        }
    }
    # Update without SETATTR keeps the old attribute; with it replaces it.
    r vadd s VALUES 8 1 0 0 0 0 0 0 1 e0
    r vadd s VALUES 8 0 1 0 0 0 0 1 0 e1 SETATTR {{"upd":1}}
    r vsetattr s e3 {{"set":3}}
    r vsetattr s e6 {}
    r vrem s e2
    r vrem s e4
    # Other quantisations and REDUCE, stored in their own forms.
    r vadd q8 VALUES 4 0.1 0.2 0.3 0.4 a
    r vadd q8 VALUES 4 -0.1 0.5 0.3 0.9 b SETATTR {{"q":8}}
    r vadd nq VALUES 4 1.5 -2 3 4 a NOQUANT
    r vadd bin VALUES 8 1 -1 1 1 -1 1 1 -1 a BIN
    r vadd bin VALUES 8 -1 -1 1 1 -1 1 1 1 b BIN
    r vadd red REDUCE 2 VALUES 6 1 2 3 4 5 6 a
    r vadd red REDUCE 2 VALUES 6 6 5 4 3 2 1 b
    # Last element removed: the key goes.
    r vadd gone VALUES 2 1 1 only
    r vrem gone only
    # DEL, RENAME (over an existing key too).
    r vadd del1 VALUES 2 1 2 x
    r del del1
    r vadd ren1 VALUES 2 1 2 x
    r rename ren1 ren2
    r vadd ren3 VALUES 3 1 2 3 y
    r vadd ren4 VALUES 2 9 9 z
    r rename ren3 ren4
    # VCREATE then VADD.
    r vcreate made DIM 4
    r vadd made VALUES 4 1 2 3 4 m1 SETATTR {{"m":1}}
    r vadd made VALUES 4 4 3 2 1 m2
}

start_server {tags {persistence vectis-only} overrides {appendonly yes appendfsync always}} {
    test {INFO persistence reports the mutation log} {
        set info [r info persistence]
        assert_match {*aof_enabled:1*} $info
        assert_match {*aof_last_write_status:ok*} $info
        assert_match {*aof_fsync:always*} $info
        assert {[file isdirectory [file join [srv 0 dir] vectis.db]]}
    }

    test {Every vector-set write survives a clean SHUTDOWN restart} {
        set seed [expr {[clock milliseconds] % 100000}]
        puts "    persistence seed $seed"
        persist_writes $seed
        set before [persist_snapshot]
        assert {[llength $before] > 100}
        assert_equal 0 [r exists gone del1 ren1 ren3]
        assert_equal 38 [r vcard s]
        restart_server
        assert_equal $before [persist_snapshot]
        assert_match {*DB loaded from mutation log:*records*} [vt_server_log [vt_srv_id 0]]
    }

    test {Writes after a restart continue the log (LSNs and ids do not collide)} {
        r vadd s VALUES 8 1 1 1 1 1 1 1 1 after1 SETATTR {{"after":1}}
        r vadd newset VALUES 2 1 0 p
        r vrem s e5
        set before [persist_snapshot]
        restart_server
        assert_equal $before [persist_snapshot]
    }

    test {Acknowledged writes survive kill -9 (appendfsync always)} {
        r vadd s VALUES 8 0 0 0 1 1 0 0 0 killed SETATTR {{"k":9}}
        r vsetattr s e7 {{"k":7}}
        r vrem s e8
        r rename newset newset2
        set before [persist_snapshot]
        persist_kill_restart
        assert_equal $before [persist_snapshot]
        assert_equal {{"k":9}} [r vgetattr s killed]
    }

    test {FLUSHALL is logged: nothing comes back after a kill -9 restart} {
        r flushall
        r vadd fresh VALUES 2 3 4 f
        set before [persist_snapshot]
        persist_kill_restart
        assert_equal $before [persist_snapshot]
        assert_equal {fresh} [r keys *]
    }
}

start_server {tags {persistence vectis-only} overrides {appendonly yes}} {
    test {appendfsync everysec (default): a clean restart keeps every write} {
        assert_match {*aof_fsync:everysec*} [r info persistence]
        persist_writes 7
        set before [persist_snapshot]
        restart_server
        assert_equal $before [persist_snapshot]
    }
}

start_server {tags {persistence vectis-only}} {
    test {appendonly no: nothing is written to dir, INFO says aof_enabled:0} {
        r vadd s VALUES 2 1 2 a
        r del s
        r vadd s VALUES 2 1 2 a
        assert_match {*aof_enabled:0*} [r info persistence]
        assert {![file exists [file join [srv 0 dir] vectis.db]]}
        assert_error {ERR*} {r config set appendonly yes}
    }
}

start_server {tags {persistence vectis-only} overrides {appendonly yes appendfsync everysec save {""}}} {
    test {CONFIG SET appendfsync always at run time: later writes survive kill -9, in order} {
        set rd [redis_deferring_client]
        for {set i 0} {$i < 500} {incr i} { $rd vadd s VALUES 2 1 $i e$i }
        for {set i 0} {$i < 500} {incr i} { $rd read }
        $rd close
        r config set appendfsync always
        assert_match {*aof_fsync:always*} [r info persistence]
        r vadd s VALUES 2 1 1 last
        r vrem s e7
        set before [persist_snapshot]
        persist_kill_restart
        # The everysec writes before the switch were written (in order)
        # before the first synced one, so nothing is missing.
        assert_equal $before [persist_snapshot]
        assert_equal 500 [r vcard s]
    }
}

# VEMB RAW of every element: quantisation name, stored bytes, the L2 norm
# kept per row (and the Q8 range). persist_snapshot's plain VEMB cannot see
# a BIN set's norm (it gives the signs only), so this compares RAW.
proc persist_raw {} {
    set out {}
    foreach k [lsort [r keys *]] {
        foreach e [r vrange $k - +] { lappend out $k $e [r vemb $k $e RAW] }
    }
    return $out
}

start_server {tags {persistence vectis-only} overrides {appendonly yes appendfsync always}} {
    test {VEMB RAW norms survive the log replay, a checkpoint and kill -9 (BIN keeps the input's norm)} {
        # Norms that differ from sqrt(dim), so a BIN norm recomputed from the
        # signs would show: |(3,-1,1,1)| = sqrt(12), |(0.5,0,0,0)| = 0.5.
        r vadd bin VALUES 4 3 -1 1 1 a BIN
        r vadd bin VALUES 4 0.5 0 0 0 b BIN SETATTR {{"b":1}}
        r vadd q8 VALUES 4 3 4 0 -12 a
        r vadd nq VALUES 4 1.5 -2 3 4 a NOQUANT
        set before [persist_raw]
        assert_float_eq 3.4641016 [lindex [r vemb bin a RAW] 2] 1e-6
        restart_server
        assert_equal $before [persist_raw]
        assert_float_eq 0.5 [lindex [r vemb bin b RAW] 2] 1e-6
        # From a checkpoint (rows written with their norms), then the log.
        wait_for_condition 500 20 {[catch {r save}] == 0} else { vt_fail "SAVE kept failing" }
        r vadd bin VALUES 4 -2 2 -2 2 c BIN
        r vsetattr bin a {{"a":1}}
        set before [persist_raw]
        assert_float_eq 4.0 [lindex [r vemb bin c RAW] 2] 1e-6
        persist_kill_restart
        assert_equal $before [persist_raw]
        assert_float_eq 3.4641016 [lindex [r vemb bin a RAW] 2] 1e-6
    }
}
