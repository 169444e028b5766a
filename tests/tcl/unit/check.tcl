# vectis-check (utils/vectis_check.c): the offline checker of a vectis
# database. A database is written through the server (appendonly yes),
# the server stops cleanly (memtables flushed to SST files, whose log values
# are uncompressed), and the checker runs on copies of the directory:
#   - a clean copy: exit 0, the summary;
#   - one byte flipped inside a known log value (found by a unique element
#     name with a search of the SST files): exit 1, the damaged key named
#     "log lsn N"; the server refuses to start on that copy and names the
#     same key; --truncate-log removes lsn N..end and the server then starts
#     with exactly the elements written before lsn N;
#   - no database (exit 2) and a database held by a live server (exit 2,
#     "locked").

# The checker built next to the server under test: src/vectis-check beside
# src/vectis-server, or <build>/utils/vectis-check beside <build>/vectis-server.
proc check_bin {} {
    set dir [file dirname $::vt::server_bin]
    foreach c [list [file join $dir vectis-check] [file join $dir utils vectis-check]] {
        if {[file executable $c]} { return $c }
    }
    vt_fail "vectis-check not found next to $::vt::server_bin (make src/vectis-check)"
}

# Runs the checker; returns {exitcode output}.
proc run_check {args} {
    return [run_program [list [check_bin] {*}$args] [expr {120 * $::vt::slow}]]
}

# A fresh directory for a copy of a database, deleted at the end of the file.
set ::check_dirs {}
proc check_new_dir {} {
    set d [file normalize [file join $::vt::tmproot "check.[pid].[incr ::check_seq]"]]
    file delete -force $d
    file mkdir $d
    lappend ::check_dirs $d
    return $d
}
set ::check_seq 0

# Copies <src>/vectis.db into a fresh directory; returns that directory.
proc check_copy {src} {
    set d [check_new_dir]
    file copy [file join $src vectis.db] [file join $d vectis.db]
    return $d
}

# Every element of every key with its vector and attribute, in one list.
proc check_snapshot {{level 0}} {
    set out {}
    foreach k [lsort [r $level keys *]] {
        lappend out key $k [r $level vcard $k]
        foreach e [lsort [r $level vrange $k - +]] {
            lappend out $e [r $level vemb $k $e] [r $level vgetattr $k $e]
        }
    }
    return $out
}

proc check_last_lsn {} {
    return [info_field aof_last_lsn persistence]
}

# The column family an SST file belongs to, from its properties block
# ("rocksdb.column.family.name" follows "...id" with its first 22 bytes
# shared), or "" when it cannot be told.
proc check_sst_family {data} {
    if {[regexp {column\.family\.id.\x16\x04.name([a-z]+)} $data -> fam]} { return $fam }
    return ""
}

# Offsets of every occurrence of `needle` in the SST files of family `fam`
# of a database: a list of {file offset} pairs.
proc check_sst_find {db fam needle} {
    set hits {}
    foreach f [lsort [glob -nocomplain -directory $db *.sst]] {
        set data [vt_file_read $f]
        if {[check_sst_family $data] ne $fam} continue
        set i [string first $needle $data]
        while {$i >= 0} {
            lappend hits [list $f $i]
            set i [string first $needle $data [expr {$i + 1}]]
        }
    }
    return $hits
}

# Flips bits of the byte at `offset` of `file` (xor 0x20: a letter changes
# case, so the value keeps its length and only its checksum can tell).
proc check_flip_byte {file offset} {
    set fd [open $file r+]
    fconfigure $fd -translation binary
    seek $fd $offset
    binary scan [read $fd 1] cu b
    seek $fd $offset
    puts -nonewline $fd [binary format cu [expr {$b ^ 0x20}]]
    close $fd
}

# Problem lines of a checker output (everything before the summary that is
# not a note).
proc check_problem_lines {out} {
    set lines {}
    foreach line [split $out "\n"] {
        if {[string match "summary of *" $line]} break
        if {$line eq "" || [string match "note: *" $line]} continue
        lappend lines $line
    }
    return $lines
}

set ::check_marker "chkmark-[randstr 20]"
puts "    marker element $::check_marker"

# The pristine database, copied out of the server's directory (which the
# harness deletes when the server block ends).
set ::check_src ""

# save "": no checkpoint but the ones a test asks for.
start_server {tags {check persistence vectis-only}
              overrides {appendonly yes appendfsync always save {""}}} {
    test {vectis-check refuses a database a live server holds (exit 2, locked)} {
        r vadd warm VALUES 2 1 2 w
        lassign [run_check [srv 0 dir]] code out
        assert_equal 2 $code $out
        assert_match "*locked by process [srv 0 pid]*" $out
        # The server is untouched.
        assert_equal 1 [r vcard warm]
        r del warm
    }

    test {Build a database: VADD with attributes, VREM, a marker, more writes, clean SHUTDOWN} {
        for {set i 0} {$i < 300} {incr i} {
            set v {}
            for {set d 0} {$d < 8} {incr d} { lappend v [format %.4f [expr {rand() * 2 - 1}]] }
            r vadd ck VALUES 8 {*}$v c:$i SETATTR "{\"i\":$i}"
        }
        for {set i 0} {$i < 300} {incr i 10} { assert_equal 1 [r vrem ck c:$i] }
        r vcreate flat DIM 4 METRIC L2 INDEX FLAT
        for {set i 0} {$i < 20} {incr i} { r vadd flat VALUES 4 $i 1 2 3 f:$i }
        set ::check_before [check_snapshot]
        set ::check_lsn_before [check_last_lsn]
        r vadd ck VALUES 8 1 0 0 0 0 0 0 1 $::check_marker SETATTR {{"marker":1}}
        set ::check_lsn [check_last_lsn]
        assert_equal [expr {$::check_lsn_before + 1}] $::check_lsn
        # Writes after the marker: all of them go with the truncation.
        for {set i 0} {$i < 25} {incr i} { r vadd ck VALUES 8 1 2 3 4 5 6 7 $i d:$i }
        r vrem ck c:1
        r vsetattr ck c:2 {{"changed":2}}
        r vrem flat f:3
        set ::check_lsn_last [check_last_lsn]
        assert_morethan $::check_lsn_last [expr {$::check_lsn + 25}]
        assert_equal 295 [r vcard ck]
        # NOSAVE: the log stays the database (a checkpoint would move the
        # rows into data chunks); memtables are flushed to SST files.
        server_expect_exit
        catch {r shutdown nosave}
        assert_equal 0 [wait_for_server_exit]
        assert {[llength [glob -nocomplain -directory [file join [srv 0 dir] vectis.db] *.sst]] > 0}
        set ::check_src [check_copy [srv 0 dir]]
    }
}

test {vectis-check on a clean copy: exit 0 and the summary} {
    set d [check_copy $::check_src]
    lassign [run_check $d] code out
    assert_equal 0 $code $out
    assert_equal {} [check_problem_lines $out]
    assert_match "*summary of $d/vectis.db*" $out
    assert_match "*problems:    0 *" $out
    # Every LSN written is in the log (no checkpoint was taken).
    assert_match "*log: * keys, lsn 1..$::check_lsn_last *" $out
    # The database path itself is accepted too.
    lassign [run_check [file join $d vectis.db]] code2 out2
    assert_equal 0 $code2 $out2
    assert_match "*problems:    0 *" $out2
}

test {vectis-check on a directory without a database: exit 2, clear message} {
    set d [check_new_dir]
    lassign [run_check $d] code out
    assert_equal 2 $code $out
    assert_match "*no vectis database in '$d'*" $out
    lassign [run_check [file join $d nosuchdir]] code out
    assert_equal 2 $code $out
    assert_match "*cannot open*No such file or directory*" $out
    lassign [run_check] code out
    assert_equal 2 $code $out
    assert_match "*usage: vectis-check*" $out
}

test {A byte flipped in a log value: vectis-check exits 1 and names "log lsn N"} {
    set ::check_bad [check_copy $::check_src]
    set db [file join $::check_bad vectis.db]
    set hits [check_sst_find $db log $::check_marker]
    assert_equal 1 [llength $hits] "the marker is in exactly one log SST value: $hits"
    lassign [lindex $hits 0] file off
    check_flip_byte $file [expr {$off + 10}]
    lassign [run_check $::check_bad] code out
    assert_equal 1 $code $out
    set lines [check_problem_lines $out]
    assert_equal 1 [llength $lines] $out
    assert_match "log lsn $::check_lsn: *checksum mismatch*" [lindex $lines 0]
    assert_match "*problems:    1 (meta 0, data 0, index 0, log 1)*" $out
}

test {The server refuses to start on the damaged copy and names the same key} {
    start_server [list tags {check} expect_fail 1 \
                      overrides [list appendonly yes save {""} dir $::check_bad]] {
        assert_not_equal 0 [srv 0 exitcode]
        assert_match "*log lsn $::check_lsn:*" [srv 0 output]
    }
}

test {vectis-check --truncate-log removes lsn N..end and prints the range} {
    lassign [run_check --truncate-log $::check_bad] code out
    assert_equal 0 $code $out
    assert_match "*removed lsn $::check_lsn..$::check_lsn_last ([expr {$::check_lsn_last - $::check_lsn + 1}] entries)*" $out
    # The check after the truncation is clean and ends before the damage.
    set after [string range $out [string first "checking again" $out] end]
    assert_match "*log: * lsn 1..$::check_lsn_before *" $after
    assert_match "*problems:    0 *" $after
    # And so is a fresh run.
    lassign [run_check $::check_bad] code out
    assert_equal 0 $code $out
}

start_server [list tags {check persistence vectis-only} \
                  overrides [list appendonly yes save {""} dir $::check_bad]] {
    test {After --truncate-log the server starts with exactly the writes before lsn N} {
        assert_equal $::check_before [check_snapshot]
        assert_equal 0 [r vismember ck $::check_marker]
        assert_equal 270 [r vcard ck]
        assert_equal {{"i":2}} [r vgetattr ck c:2]
    }
}

test {--truncate-log on an intact database changes nothing} {
    set d [check_copy $::check_src]
    lassign [run_check --truncate-log $d] code out
    assert_equal 0 $code $out
    assert_match "*the log is intact, nothing to truncate*" $out
    assert_match "*lsn 1..$::check_lsn_last *" $out
}


# ------------------------------------------------------------------------
# A checkpointed database (SAVE): rows, vectors and deletes in data chunks,
# the HNSW index in index parts, the log truncated. A byte flipped in a
# vectors chunk or in an index part is named by key, both by the checker
# and by the server's start-up, and --truncate-log refuses to "repair" it.

# Values (version 1, this type) in the SST files of family `fam`: a list of
# {file offset bodylen}. The envelope is version u8, type u8, reserved u16,
# body length u32 (record.c); the length must fit in the file.
proc check_sst_values {db fam type} {
    set hdr [binary format cucusu 1 $type 0]
    set out {}
    foreach f [lsort [glob -nocomplain -directory $db *.sst]] {
        set data [vt_file_read $f]
        if {[check_sst_family $data] ne $fam} continue
        set i [string first $hdr $data]
        while {$i >= 0} {
            binary scan $data @[expr {$i + 4}]iu len
            if {$i + 16 + $len <= [string length $data]} { lappend out [list $f $i $len] }
            set i [string first $hdr $data [expr {$i + 1}]]
        }
    }
    return $out
}

# Distinct float32 values (exact in binary) for the marker's vector.
set ::check_vec {1234.5 -2345.25 3456.125 -4567.0625 5678.5 -6789.25 7890.125 -8901.0625}

start_server {tags {check persistence vectis-only}
              overrides {appendonly yes appendfsync always save {""}}} {
    test {Build a checkpointed database: SAVE writes data chunks and the index} {
        # L2 over FLOAT32: vectors are stored exactly as sent.
        r vcreate cv DIM 8 METRIC L2
        for {set i 0} {$i < 300} {incr i} {
            set v {}
            for {set d 0} {$d < 8} {incr d} { lappend v [format %.4f [expr {rand() * 2 - 1}]] }
            r vadd cv VALUES 8 {*}$v v:$i SETATTR "{\"i\":$i}"
        }
        r vadd cv VALUES 8 {*}$::check_vec vmark SETATTR {{"marker":1}}
        for {set i 0} {$i < 300} {incr i 15} { assert_equal 1 [r vrem cv v:$i] }
        wait_for_condition 500 20 {
            [info_field rows_unindexed vectors] == 0 && [info_field index_build_queue vectors] == 0
        } else {
            fail "the index did not catch up: [r info vectors]"
        }
        set ::check_ck_before [check_snapshot]
        assert_equal OK [r save]
        assert_morethan [info_field checkpoint_lsn persistence] 0
        server_expect_exit
        catch {r shutdown nosave}
        assert_equal 0 [wait_for_server_exit]
        set ::check_ck_src [check_copy [srv 0 dir]]
    }
}

test {vectis-check on a checkpointed database: exit 0, data and index keys counted} {
    lassign [run_check $::check_ck_src] code out
    assert_equal 0 $code $out
    assert_regexp {checkpoint:  lsn [1-9]} $out
    assert_regexp {data: +[1-9][0-9]* keys \([1-9][0-9]* rows, [1-9][0-9]* vectors, [1-9][0-9]* deletes} $out
    assert_regexp {index: +[1-9][0-9]* keys \(1 indexes listed by manifests\)} $out
    assert_match "*collections: 1*" $out
    assert_match "*problems:    0 *" $out
}

# Flips a byte of the copy, checks that vectis-check names a key matching
# `pattern` (and returns that key), that the server refuses to start naming
# the same key, and that --truncate-log refuses and changes nothing.
proc check_damage_outside_log {dir pattern} {
    lassign [run_check $dir] code out
    assert_equal 1 $code $out
    set lines [check_problem_lines $out]
    assert_equal 1 [llength $lines] $out
    set line [lindex $lines 0]
    assert_match $pattern $line
    set key [string range $line 0 [expr {[string first ": " $line] - 1}]]
    start_server [list tags {check} expect_fail 1 \
                      overrides [list appendonly yes save {""} dir $dir]] {
        assert_not_equal 0 [srv 0 exitcode]
        assert_match "*$key: *" [srv 0 output]
    }
    lassign [run_check --truncate-log $dir] code out
    assert_equal 1 $code $out
    assert_match "*refusing --truncate-log: 1 problem(s) outside the log*" $out
    lassign [run_check $dir] code out2
    assert_equal 1 $code $out2
    assert_equal $lines [check_problem_lines $out2]
    return $key
}

test {A byte flipped in a data vectors chunk: named by key, server refuses, no truncation} {
    set d [check_copy $::check_ck_src]
    set hits [check_sst_find [file join $d vectis.db] data [binary format r* $::check_vec]]
    assert_equal 1 [llength $hits] "the marker vector is in exactly one data SST value: $hits"
    lassign [lindex $hits 0] file off
    check_flip_byte $file [expr {$off + 13}]
    check_damage_outside_log $d \
        "data collection * segment * vectors field 0 chunk *: VECTORS record: checksum mismatch*"
}

test {A byte flipped in an index part: named by key, server refuses, no truncation} {
    set d [check_copy $::check_ck_src]
    set parts [check_sst_values [file join $d vectis.db] index 48]
    assert_equal 1 [llength $parts] "one index part value in the index SST files: $parts"
    lassign [lindex $parts 0] file off len
    assert_morethan $len 64
    # Past the envelope header and the part, nparts and offset fields.
    check_flip_byte $file [expr {$off + 8 + 16 + ($len - 16) / 2}]
    check_damage_outside_log $d \
        "index collection * segment * field 0 part *: INDEX_PART record: checksum mismatch*"
}

start_server [list tags {check persistence vectis-only} \
                  overrides [list appendonly yes save {""} dir [check_copy $::check_ck_src]]] {
    test {The intact checkpointed copy loads with the same contents} {
        assert_equal $::check_ck_before [check_snapshot]
        assert_equal $::check_vec [r vemb cv vmark]
    }
}

if {!$::vt::dont_clean && $::vt::failed == 0} {
    foreach d $::check_dirs { file delete -force $d }
}
