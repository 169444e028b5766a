# Checkpoints (SAVE, BGSAVE, LASTSAVE, save points, sealed segments,
# SHUTDOWN) and start-up from them: the state after a restart -- clean or
# kill -9, with sealed and growing segments, deletes and attribute updates
# before and after the checkpoint -- equals the state before; the log is
# truncated at the checkpoint; sealed indexes are loaded, not rebuilt; while
# loading the server answers -LOADING and INFO says loading:1.

source [file join $::vt_dir support persist_util.tcl]

# With an HNSW query too, taken once every index has caught up (a search
# over a partly built graph plus its exact tail may rank near-ties apart).
proc ck_snapshot {} {
    foreach k [r keys *] { ck_wait_indexed $k }
    return [persist_snapshot 1]
}

# n elements e<from>..e<from+n-1> in key k, 8-d, every third with an attribute.
proc ck_fill {k from n} {
    set rd [redis_deferring_client]
    for {set i $from} {$i < $from + $n} {incr i} {
        set v {}
        for {set d 0} {$d < 8} {incr d} { lappend v [expr {sin($i * 7 + $d * 3)}] }
        if {$i % 3 == 0} {
            $rd vadd $k VALUES 8 {*}$v e$i SETATTR "{\"i\":$i}"
        } else {
            $rd vadd $k VALUES 8 {*}$v e$i
        }
    }
    for {set i 0} {$i < $n} {incr i} { $rd read }
    $rd close
}

# VDESCRIBE's segments as a list of dicts.
proc ck_segments {k} {
    set d [r vdescribe $k]
    set out {}
    foreach s [dict get $d segments] { lappend out $s }
    return $out
}

# SAVE, retried while a background checkpoint runs: a sealed segment whose
# index completes asks for one by itself, and SAVE then replies "ERR
# Background save already in progress" (as Redis does).
proc ck_save {} {
    wait_for_condition 3000 20 {
        [catch {r save} e] == 0
    } else { vt_fail "SAVE kept failing: $e" }
    return $e
}

proc ck_wait_indexed {k} {
    wait_for_condition 3000 20 {
        [apply {{k} {
            foreach s [ck_segments $k] {
                if {[dict get $s indexed] != [dict get $s rows]} { return 0 }
            }
            return 1
        }} $k]
    } else { vt_fail "segments of $k not indexed: [ck_segments $k]" }
}

start_server {tags {persistence vectis-only}} {
    test {SAVE, BGSAVE with appendonly no: a clear error; LASTSAVE is the start time} {
        assert_error {ERR nothing to save: appendonly is no*} {r save}
        assert_error {ERR nothing to save: appendonly is no*} {r bgsave}
        set t [r lastsave]
        assert {$t > 1700000000 && $t <= [clock seconds]}
    }

    test {BGSAVE argument errors; SAVE and LASTSAVE arity} {
        assert_error {ERR syntax error*} {r bgsave now}
        assert_error {ERR syntax error*} {r bgsave schedule extra}
        assert_error {ERR wrong number of arguments for 'save' command} {r save now}
        assert_error {ERR wrong number of arguments for 'lastsave' command} {r lastsave 1}
    }

    test {LASTSAVE and the BGSAVE error in RESP3} {
        r hello 3
        assert {[r lastsave] > 1700000000}
        assert_error {ERR nothing to save: appendonly is no*} {r bgsave schedule}
        r hello 2
    }

    test {CONFIG SET min-free-disk and key-load-delay: units, bounds, bad values} {
        r config set min-free-disk 1gb
        assert_equal {min-free-disk 1073741824} [r config get min-free-disk]
        r config set min-free-disk 0
        assert_error {*min-free-disk*} {r config set min-free-disk -5}
        assert_error {*min-free-disk*} {r config set min-free-disk lots}
        assert_equal {min-free-disk 0} [r config get min-free-disk]
        r config set min-free-disk 64mb
        r config set key-load-delay 10
        assert_error {*key-load-delay*} {r config set key-load-delay -1}
        assert_error {*key-load-delay*} {r config set key-load-delay 1000001}
        assert_equal {key-load-delay 10} [r config get key-load-delay]
        r config set key-load-delay 0
    }

    test {CONFIG SET save: pairs of integers, "" disables, bad values rejected atomically} {
        assert_equal {save {3600 1 300 100 60 10000}} [r config get save]
        r config set save "60 1000"
        assert_equal {save {60 1000}} [r config get save]
        assert_error {*Invalid save parameters*} {r config set save "60"}
        assert_error {*Invalid save parameters*} {r config set save "x 1"}
        assert_error {*Invalid save parameters*} {r config set save "60 -1"}
        assert_equal {save {60 1000}} [r config get save]
        r config set save ""
        assert_equal {save {}} [r config get save]
    }
}

# repl-backlog-size 1: a checkpoint drops every log file it covers (the
# default keeps 1 MB of them; see the repl-backlog-size test).
start_server {tags {persistence vectis-only}
              overrides {appendonly yes appendfsync always segment-max-rows 1024 save {""}
                         repl-backlog-size 1}} {
    test {SAVE writes a checkpoint: replies +OK (RESP2 and RESP3), LASTSAVE and INFO move} {
        # Fewer rows than a segment first: a sealed segment whose index
        # completes asks for a checkpoint by itself, which resets the count.
        ck_fill s 0 1000
        assert {[info_field rdb_changes_since_last_save persistence] >= 1000}
        ck_fill s 1000 1500
        set before_last [r lastsave]
        after 1100
        assert_equal OK [ck_save]
        r hello 3
        assert_equal OK [ck_save]
        r hello 2
        assert {[r lastsave] > $before_last}
        assert_equal 0 [info_field rdb_changes_since_last_save persistence]
        assert_equal ok [info_field rdb_last_bgsave_status persistence]
        assert_equal 0 [info_field rdb_bgsave_in_progress persistence]
        assert {[info_field checkpoint_lsn persistence] >= 2500}
        # The log kept on disk starts after the checkpoint (or is empty).
        set first [info_field log_first_lsn persistence]
        assert {$first == 0 || $first > [info_field checkpoint_lsn persistence]}
        r vadd s VALUES 8 1 2 3 4 5 6 7 8 newest
        wait_for_condition 100 20 {
            [info_field log_last_lsn persistence] == [info_field aof_last_lsn persistence]
        } else { vt_fail "log_last_lsn: [r info persistence]" }
        assert {[info_field log_first_lsn persistence] > [info_field checkpoint_lsn persistence]}
        assert_match {*Checkpoint at lsn*done*} [vt_server_log [vt_srv_id 0]]
    }

    test {BGSAVE starts a background checkpoint; SCHEDULE while one runs} {
        ck_fill s 2500 10
        assert_equal {Background saving started} [r bgsave]
        # Either still running (scheduled) or already done (started).
        assert_match {Background saving s*} [r bgsave schedule]
        wait_for_condition 200 20 {
            [info_field rdb_bgsave_in_progress persistence] == 0 &&
            [info_field rdb_changes_since_last_save persistence] == 0
        } else { vt_fail "BGSAVE did not finish: [r info persistence]" }
    }

    test {Sealed and growing segments, deletes and updates survive kill -9 after a checkpoint} {
        ck_wait_indexed s
        ck_save
        # Changes after the checkpoint (in the log only): deletes and
        # attribute updates in sealed segments, new rows, a new key.
        r vrem s e5
        r vrem s e1500
        r vsetattr s e7 {{"after":"ck"}}
        r vadd s VALUES 8 1 1 1 1 1 1 1 1 e3 SETATTR {{"moved":1}}
        ck_fill s 3000 300
        r vadd t VALUES 2 1 2 only
        set before [ck_snapshot]
        set states {}
        foreach seg [ck_segments s] { lappend states [dict get $seg state] }
        assert {[lsearch $states sealed] >= 0 && [lsearch $states growing] >= 0}
        persist_kill_restart
        assert_equal $before [ck_snapshot]
        set log [vt_server_log [vt_srv_id 0]]
        assert_match {*Checkpoint loaded: lsn*} $log
    }

    test {Sealed segments come back with their index (loaded, not rebuilt)} {
        # Right after start-up, before any index job could have run: every
        # sealed segment is fully indexed.
        set growing 0
        foreach seg [ck_segments s] {
            if {[dict get $seg state] eq "sealed"} {
                assert_equal [dict get $seg rows] [dict get $seg indexed]
            } else {
                incr growing [dict get $seg rows]
            }
        }
        # And once every index has caught up, the rows indexed since start
        # are at most the growing segments' (of s, and t's one row): none
        # of a sealed segment.
        ck_wait_indexed s
        wait_for_condition 1200 50 {[info_field rows_unindexed vectors] == 0} else {
            vt_fail "indexes did not catch up"
        }
        set added [info_field index_rows_added vectors]
        assert {$added <= $growing + 1}
        assert {[info_field rows vectors] > $growing + 1000}
    }

    test {A clean SHUTDOWN writes the final checkpoint: the next start replays no log} {
        r config set save "3600 1"
        ck_fill s 4000 50
        r vrem s e4001
        set before [ck_snapshot]
        restart_server
        assert_equal $before [ck_snapshot]
        set log [vt_server_log [vt_srv_id 0]]
        assert_match {*DB loaded from mutation log: 0 records*} $log
        r config set save ""
    }

    test {A checkpoint truncates the log; dropped collections leave no data behind} {
        ck_fill gone 0 1100
        ck_save
        set keys_with [info_field rocksdb_data_keys persistence]
        r del gone
        r flushall
        ck_fill s 0 20
        ck_save
        set before [ck_snapshot]
        restart_server
        assert_equal $before [ck_snapshot]
        assert_equal {s} [r keys *]
        assert_equal 20 [r vcard s]
        # The log holds nothing at or below the checkpoint: replay read 0.
        assert_match {*DB loaded from mutation log: 0 records*} [vt_server_log [vt_srv_id 0]]
    }

    test {SAVE refuses while one runs; the error leaves the connection usable} {
        ck_fill big 0 1200
        set rd [redis_deferring_client]
        $rd bgsave
        $rd read
        # A SAVE right now either overlaps (error) or finds it done (OK).
        catch {r save} e
        assert {[regexp {^(OK|ERR Background save already in progress)$} $e]}
        assert_equal PONG [r ping]
        $rd close
    }

    test {repl-backlog-size: a checkpoint keeps that much recent log; a restart replays none of it} {
        r config set repl-backlog-size 1
        ck_save
        assert_equal 1 [info_field log_files persistence]
        ck_fill keep 0 300
        set bytes [info_field log_bytes persistence]
        r config set repl-backlog-size 100mb
        assert_equal 104857600 [info_field repl_backlog_size replication]
        ck_save
        # The file with the 300 VADDs stays beside the new one (and beside
        # any a checkpoint of its own -- a sealed index -- began meanwhile).
        assert_morethan_equal [info_field log_files persistence] 2
        assert_morethan_equal [info_field log_bytes persistence] $bytes
        set before [ck_snapshot]
        restart_server
        assert_equal $before [ck_snapshot]
        assert_match {*DB loaded from mutation log: 0 records*} [vt_server_log [vt_srv_id 0]]
        # Back to one byte: the next checkpoint drops what was kept.
        r config set repl-backlog-size 1
        ck_save
        assert_equal 1 [info_field log_files persistence]
        assert_error {*repl-backlog-size*} {r config set repl-backlog-size 0}
        assert_error {*repl-backlog-size*} {r config set repl-backlog-size lots}
    }

    test {CONFIG SET dir: refused while the database is open, the same dir accepted} {
        set d [lindex [r config get dir] 1]
        assert_equal OK [r config set dir $d]
        set other [file join [file dirname $d] moved-dir-[pid]]
        file mkdir $other
        assert_error {*can't change dir while appendonly is yes: the database is open in*} \
            {r config set dir $other}
        assert_equal $d [lindex [r config get dir] 1]
        assert_error {*No such file or directory*} {r config set dir $other/missing}
        file delete $other
        assert_equal 300 [r vcard keep]
        r vadd keep VALUES 8 1 1 1 1 1 1 1 1 after-refusal
        assert_equal 301 [r vcard keep]
    }
}

start_server {tags {persistence vectis-only}
              overrides {appendonly yes appendfsync everysec save {""} key-load-delay 3000}} {
    test {While loading: connections are accepted, data commands get -LOADING, INFO loading:1} {
        r config set key-load-delay 0
        ck_fill s 0 400
        r config set key-load-delay 3000
        set before [ck_snapshot]
        # Restart without waiting for "ready": ~400 records x 3 ms to load.
        set id [vt_srv_id 0]
        set c [persist_restart_loading]
        assert_error {LOADING Redis is loading the dataset in memory} {$c vcard s}
        assert_error {LOADING Redis is loading the dataset in memory} {$c ping}
        assert_error {LOADING *} {$c vadd s VALUES 8 1 1 1 1 1 1 1 1 x}
        set info [$c info persistence]
        assert_match {*loading:1*} $info
        assert_match {*loading_loaded_perc:*} $info
        assert_match {*loading_eta_seconds:*} $info
        assert_equal {key-load-delay 3000} [$c config get key-load-delay]
        wait_for_condition 500 20 {[info_field loading persistence $c] == 0} else {
            vt_fail "still loading"
        }
        assert_equal 400 [$c vcard s]
        $c close
        vt_wait_ready $id
        assert_equal $before [ck_snapshot]
    }

    test {SHUTDOWN while loading exits at once and changes nothing on disk} {
        set before [ck_snapshot]
        set id [vt_srv_id 0]
        set c [persist_restart_loading]
        assert_match {*loading:1*} [$c info persistence]
        server_expect_exit
        catch {$c shutdown nosave}
        catch {$c close}
        assert_equal 0 [wait_for_server_exit]
        assert_match {*Loading stopped: shutdown requested*} [vt_server_log $id]
        restart_server
        assert_equal $before [ck_snapshot]
    }
}
