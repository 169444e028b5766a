# Disk full: with the database on a small tmpfs, once free space drops
# below min-free-disk, writes get -MISCONF (before RocksDB ever sees
# ENOSPC), reads and PING go on, SAVE refuses, INFO says disk_low:1; when
# space comes back writes are accepted again; and after a kill -9 restart
# every acknowledged write is there. Then with min-free-disk 0 the log
# write itself fails with ENOSPC: the clients whose writes were in that
# frame are dropped unanswered, later writes get -MISCONF, reads go on,
# and after a kill -9 restart with room again every acknowledged write is
# there and the log reads back whole; a SIGTERM in that state exits 0
# without closing RocksDB (which can abort after a write error) and loses
# nothing. Last, an unwritable (read-only) dir:
# the server refuses to start and says why, and nothing is lost. Needs root
# (mount); skipped with the reason otherwise.

source [file join $::vt_dir support persist_util.tcl]

proc df_mount {dir size} {
    file mkdir $dir
    if {[catch {exec mount -t tmpfs -o size=$size tmpfs $dir} e]} { return $e }
    return ""
}

# VADDs (element e<n>, an attribute of padlen bytes) pipelined in rounds of
# `round` until a reply is not 1 or the connection is dropped; returns
# {acked failure}: the error reply, or "dropped: <why>" for a connection
# closed without one.
proc df_fill {padlen round {key s}} {
    set pad [string repeat x $padlen]
    set rd [redis_deferring_client]
    set acked 0
    set failed ""
    for {set k 0} {$k < 400 && $failed eq ""} {incr k} {
        # The server may drop the connection while this round is still
        # being sent (its first commands could not be logged): a failed
        # write is that drop too.
        if {[catch {
            for {set i 0} {$i < $round} {incr i} {
                set n [expr {$k * $round + $i}]
                $rd vadd $key VALUES 4 [expr {$n % 7}] 1 2 3 e$n SETATTR "{\"p\":\"$pad\"}"
            }
        } r]} {
            set failed "dropped: $r"
            break
        }
        for {set i 0} {$i < $round} {incr i} {
            if {[catch {$rd read} r opts]} {
                if {[lindex [dict get $opts -errorcode] 0] eq "VT_REPLY_ERROR"} {
                    set failed $r
                } else {
                    set failed "dropped: $r"
                }
                break
            }
            if {$r ne "1"} { set failed $r; break }
            incr acked
        }
    }
    catch {$rd close}
    return [list $acked $failed]
}

set df_dir [file join $::vt::tmproot diskfull.[pid]]
set df_why [df_mount $df_dir 24m]
if {$df_why ne ""} {
    puts "    skipped: cannot mount a tmpfs ($df_why)"
    incr ::vt::skipped
} else {
    # The tmpfs is unmounted however the block ends (a dead server aborts it).
    set df_code [catch {
    start_server [list tags {persistence vectis-only} \
                      overrides [list appendonly yes appendfsync always save {""} dir $df_dir \
                                           min-free-disk 12mb hz 100]] {
        test {Disk full: -MISCONF for writes, reads go on, nothing acknowledged is lost} {
            lassign [df_fill 400 100] acked failed
            assert {$failed ne ""}
            assert {$acked > 100}
            # Later writes are refused with MISCONF; reads and PING work.
            assert_match {MISCONF Free disk space in dir is below min-free-disk*} $failed
            assert_error {MISCONF Free disk space*} {r vadd s VALUES 4 1 1 1 1 z}
            assert_error {MISCONF*} {r del s}
            assert_equal PONG [r ping]
            assert_equal $acked [r vcard s]
            assert_equal 1 [r vismember s e0]
            assert_equal 5 [llength [r vsim s VALUES 4 1 1 2 3 COUNT 5]]
            assert_equal 1 [info_field disk_low persistence]
            assert_equal ok [info_field aof_last_write_status persistence]
            assert_error {ERR Writes are refused (MISCONF)*} {r save}
            assert_match {*below min-free-disk*} [vt_server_log [vt_srv_id 0]]
            # Room again: writes are accepted without a restart.
            exec mount -o remount,size=96m $df_dir
            wait_for_condition 100 20 {[info_field disk_low persistence] == 0} else {
                vt_fail "disk_low stays 1"
            }
            assert_equal 1 [r vadd s VALUES 4 1 1 1 1 z]
            incr acked
            # kill -9: every acknowledged element is back.
            persist_kill_restart
            assert {[r vcard s] >= $acked}
            set missing {}
            if {![r vismember s z]} { lappend missing z }
            for {set n 0} {$n < $acked - 1} {incr n} {
                if {![r vismember s e$n]} { lappend missing e$n }
            }
            assert_equal {} $missing
            assert_equal 1 [r vadd s VALUES 4 1 1 1 1 after]
        }
    }
    # ENOSPC on the log itself. No checkpoint may run (RocksDB is not
    # meant to meet a full disk): no save points, no segment seals.
    exec umount $df_dir
    df_mount $df_dir 8m
    start_server [list tags {persistence vectis-only} \
                      overrides [list appendonly yes appendfsync everysec save {""} dir $df_dir \
                                           min-free-disk 0 segment-max-rows 1000000]] {
        test {Log write fails with ENOSPC: dropped unanswered, -MISCONF after, nothing acknowledged lost} {
            lassign [df_fill 2000 50] acked failed
            # The client whose frame could not be written was closed, its
            # replies dropped (no -MISCONF ever reached it for those).
            assert_match {dropped:*} $failed
            assert {$acked > 100}
            assert_error {MISCONF Errors writing to the mutation log*} {r vadd s VALUES 4 1 1 1 1 z}
            assert_equal PONG [r ping]
            assert {[r vcard s] >= $acked}
            assert_equal 1 [r vismember s e0]
            assert_equal err [info_field aof_last_write_status persistence]
            assert_match {*Error writing to the mutation log*No space left*} \
                [vt_server_log [vt_srv_id 0]]
            # Room again, kill -9, restart: every acknowledged write is
            # back, the log reads back whole, writes are accepted.
            exec mount -o remount,size=64m $df_dir
            persist_kill_restart
            set missing {}
            for {set n 0} {$n < $acked} {incr n} {
                if {![r vismember s e$n]} { lappend missing e$n }
            }
            assert_equal {} $missing
            assert_equal ok [info_field aof_last_write_status persistence]
            assert_equal 1 [r vadd s VALUES 4 1 1 1 1 after]
        }

        test {SIGTERM after a log write error: exit 0 (the database left unclosed), nothing lost} {
            set before [r vcard s]
            lassign [df_fill 4000 50 s2] acked failed
            assert_match {dropped:*} $failed
            assert_equal err [info_field aof_last_write_status persistence]
            exec mount -o remount,size=128m $df_dir
            # restart_server fails the test unless the server exits 0.
            restart_server
            assert_match {*Leaving the database unclosed*} \
                [vt_file_read "[srv logfile].old"]
            assert_equal $before [r vcard s]
            assert {[r vcard s2] >= $acked}
            assert_equal 1 [r vadd s VALUES 4 1 1 1 1 after-term]
        }
    }
    # An unwritable dir: the server does not start (the reason and the
    # path in its output), and the data written before is all there once
    # the dir is writable again.
    exec umount $df_dir
    df_mount $df_dir 16m
    set df_over [list appendonly yes appendfsync always save {""} dir $df_dir min-free-disk 0]
    start_server [list tags {persistence vectis-only} overrides $df_over] {
        test {Unwritable dir: written before (200 acknowledged VADDs, clean shutdown after)} {
            for {set n 0} {$n < 200} {incr n} {
                assert_equal 1 [r vadd s VALUES 4 [expr {$n % 5}] 1 2 3 e$n]
            }
        }
    }
    exec mount -o remount,ro $df_dir
    test {Unwritable dir: start-up refuses, naming the database and the reason} {
        set d [vt_start_server_expect_fail [list overrides $df_over]]
        assert_equal 1 [dict get $d exitcode]
        assert_match "*Can't open the database $df_dir/vectis.db*Read-only file system*" \
            [dict get $d output]
    }
    exec mount -o remount,rw $df_dir
    start_server [list tags {persistence vectis-only} overrides $df_over] {
        test {Unwritable dir: writable again, every acknowledged write is there} {
            assert_equal 200 [r vcard s]
            set missing {}
            for {set n 0} {$n < 200} {incr n} {
                if {![r vismember s e$n]} { lappend missing e$n }
            }
            assert_equal {} $missing
            assert_equal 1 [r vadd s VALUES 4 1 1 1 1 after]
        }
    }
    } df_err df_opts]
    catch {exec umount $df_dir}
    if {$df_code} { return -options $df_opts $df_err }
}
