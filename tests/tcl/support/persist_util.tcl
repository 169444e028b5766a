# Helpers of the persistence tests (unit/persistence, unit/checkpoint).

# Every observable fact about the keyspace, as one comparable list: keys,
# types, VCARD, VDIM, every element's VEMB and VGETATTR, an exact VSIM with
# scores and attributes, and with `approx` also an HNSW VSIM (EF 500), whose
# answer depends on the stored graph.
proc persist_snapshot {{approx 0}} {
    set out {}
    foreach k [lsort [r keys *]] {
        lappend out key $k [r type $k] [r vcard $k] [r vdim $k]
        foreach e [r vrange $k - +] {
            lappend out $e [r vemb $k $e] [r vgetattr $k $e]
        }
        set dim [r vdim $k]
        set q {}
        for {set i 0} {$i < $dim} {incr i} { lappend q [expr {($i % 3) - 0.5}] }
        lappend out [r vsim $k VALUES $dim {*}$q WITHSCORES WITHATTRIBS TRUTH COUNT 50]
        if {$approx} { lappend out [r vsim $k VALUES $dim {*}$q WITHSCORES COUNT 10 EF 500] }
    }
    return $out
}

# kill -9 of server 0, then a restart on the same dir (waits for "ready").
proc persist_kill_restart {} {
    server_expect_exit
    exec kill -9 [srv 0 pid]
    wait_for_server_exit
    restart_server
}

# SHUTDOWN NOSAVE, then a start on the same dir that does not wait for the
# load; returns a client connected while the server loads.
proc persist_restart_loading {} {
    set id [vt_srv_id 0]
    catch {r shutdown nosave}
    wait_for_server_exit
    vt_spawn $id
    set c ""
    wait_for_condition 250 20 {![catch {set c [redis_client]}]} else {
        vt_fail "no connection while loading"
    }
    return $c
}
