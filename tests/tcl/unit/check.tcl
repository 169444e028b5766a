# vectis-check (utils/vectis_check.c): the offline checker of a vectis
# database: <dir>/vectis.db (RocksDB) and the mutation log files of
# <dir>/vectis.log (engine/wal.c). A database is written through the
# server (appendonly yes, appendfsync always, one command per round trip,
# so that each write is one frame of the log), the server stops without a
# checkpoint (everything stays in the log files), and the checker runs on
# copies of the directory:
#   - a clean copy: exit 0, the summary;
#   - one byte flipped inside the record of a marked write (found by a
#     unique element name in the .vlog file): exit 1, "log lsn N: ...
#     checksum mismatch"; the server refuses to start on that copy naming
#     the same LSN; --truncate-log cuts the log at that frame, prints the
#     LSN range removed, and the server then starts with exactly the writes
#     before it;
#   - the last frame cut short (a torn tail): exit 0 with a note; the
#     server cuts it and starts with every write before it;
#   - a damaged frame header in the middle of the log: exit 1 naming the
#     file and offset; the server refuses naming them too; --truncate-log
#     cuts there;
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

# Copies <src>/vectis.db and <src>/vectis.log into a fresh directory;
# returns that directory.
proc check_copy {src} {
    set d [check_new_dir]
    file copy [file join $src vectis.db] [file join $d vectis.db]
    if {[file isdirectory [file join $src vectis.log]]} {
        file copy [file join $src vectis.log] [file join $d vectis.log]
    }
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

# The log files of a database directory, oldest first (the names sort as
# numbers).
proc check_vlogs {dir} {
    return [lsort [glob -nocomplain -directory [file join $dir vectis.log] *.vlog]]
}

# The frames of a log file (format: the top comment of src/engine/wal.c;
# a 40-byte file header, then 32-byte frame headers of magic u32, count
# u32, payload bytes u64, last lsn u64, xxh64 u64, each followed by its
# payload): a list of {offset count payload last_lsn}, up to the first
# frame that does not fit in the file.
proc check_vlog_frames {file} {
    set data [vt_file_read $file]
    set size [string length $data]
    set off 40
    set out {}
    while {$off + 32 <= $size} {
        binary scan $data @${off}iuiuwuwu magic count payload last
        if {$magic != 0x4d524656 || $off + 32 + $payload > $size} break
        lappend out [list $off $count $payload $last]
        incr off [expr {32 + $payload}]
    }
    return $out
}

# The frame of `file` that holds byte `offset`: {offset count payload last_lsn}.
proc check_vlog_frame_at {file offset} {
    foreach f [check_vlog_frames $file] {
        lassign $f off count payload
        if {$offset >= $off && $offset < $off + 32 + $payload} { return $f }
    }
    vt_fail "no frame of $file holds offset $offset"
}

# Offsets of every occurrence of `needle` in the log files of a database
# directory: a list of {file offset} pairs.
proc check_vlog_find {dir needle} {
    set hits {}
    foreach f [check_vlogs $dir] {
        set data [vt_file_read $f]
        set i [string first $needle $data]
        while {$i >= 0} {
            lappend hits [list $f $i]
            set i [string first $needle $data [expr {$i + 1}]]
        }
    }
    return $hits
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

# Cuts `file` to `size` bytes.
proc check_truncate_file {file size} {
    set fd [open $file r+]
    chan truncate $fd $size
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

# The output of a --truncate-log run after "checking again:".
proc check_recheck {out} {
    set i [string first "checking again:" $out]
    assert {$i >= 0} "no re-check in: $out"
    return [string range $out $i end]
}

set ::check_marker "chkmark-[randstr 20]"
puts "    marker element $::check_marker"

# The pristine database, copied out of the server's directory (which the
# harness deletes when the server block ends).
set ::check_src ""

# save "": no checkpoint but the ones a test asks for. Every `r` below is
# one command and one round trip: with one client, each write is alone in
# its event-loop turn, hence alone in its frame of the log.
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
        # The last write: the torn-tail case cuts its frame.
        set ::check_before_last [check_snapshot]
        set ::check_lsn_before_last [check_last_lsn]
        r vrem flat f:3
        set ::check_lsn_last [check_last_lsn]
        assert_equal [expr {$::check_lsn_before_last + 1}] $::check_lsn_last
        assert_morethan $::check_lsn_last [expr {$::check_lsn + 25}]
        assert_equal 295 [r vcard ck]
        # NOSAVE: the log stays the database (a checkpoint would move the
        # rows into data chunks and delete the log files).
        server_expect_exit
        catch {r shutdown nosave}
        assert_equal 0 [wait_for_server_exit]
        set ::check_src [check_copy [srv 0 dir]]
        # One log file, every write in it, no family entries to speak of.
        assert_equal 1 [llength [check_vlogs $::check_src]]
        set last [lindex [check_vlog_frames [lindex [check_vlogs $::check_src] 0]] end]
        assert_equal [list 1 $::check_lsn_last] [list [lindex $last 1] [lindex $last 3]]
    }
}

# The marker's frame in the pristine copy: {file offset count payload last_lsn},
# checked to hold the marked write alone.
proc check_marker_frame {dir} {
    set hits [check_vlog_find $dir $::check_marker]
    assert_equal 1 [llength $hits] "the marker is in exactly one log record: $hits"
    lassign [lindex $hits 0] file off
    set frame [check_vlog_frame_at $file $off]
    assert_equal [list 1 $::check_lsn] [list [lindex $frame 1] [lindex $frame 3]] \
        "the marker's frame holds only lsn $::check_lsn"
    return [list $file $off {*}$frame]
}

test {vectis-check on a clean copy: exit 0 and the summary} {
    set d [check_copy $::check_src]
    lassign [run_check $d] code out
    assert_equal 0 $code $out
    assert_equal {} [check_problem_lines $out]
    assert_match "*summary of $d/vectis.db (log files in $d/vectis.log)*" $out
    assert_match "*problems:    0 *" $out
    # Every LSN written is in the log files (no checkpoint was taken).
    set bytes [file size [lindex [check_vlogs $d] 0]]
    assert_match "*log: * 0 keys in the family, $::check_lsn_last records in 1 files ($bytes bytes), lsn 1..$::check_lsn_last (0 at or below the checkpoint)*" $out
    # The database path itself is accepted too (the log is its sibling).
    lassign [run_check [file join $d vectis.db]] code2 out2
    assert_equal 0 $code2 $out2
    assert_match "*problems:    0 *" $out2
    assert_match "*lsn 1..$::check_lsn_last *" $out2
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

test {A byte flipped in a log record: vectis-check exits 1 and names "log lsn N"} {
    set ::check_bad [check_copy $::check_src]
    lassign [check_marker_frame $::check_bad] file off ::check_frame_off
    set ::check_vlog_name [file tail $file]
    check_flip_byte $file [expr {$off + 10}]
    lassign [run_check $::check_bad] code out
    assert_equal 1 $code $out
    set lines [check_problem_lines $out]
    assert_equal 1 [llength $lines] $out
    assert_match "log lsn $::check_lsn: LOG record: checksum mismatch*" [lindex $lines 0]
    assert_match "*problems:    1 (meta 0, data 0, index 0, log 1)*" $out
    # The records after the damaged one are read and counted too.
    assert_match "*$::check_lsn_last records in 1 files*lsn 1..$::check_lsn_last *" $out
}

test {The server refuses to start on the damaged copy and names the same LSN} {
    start_server [list tags {check} expect_fail 1 \
                      overrides [list appendonly yes save {""} dir $::check_bad]] {
        assert_not_equal 0 [srv 0 exitcode]
        assert_match "*log lsn $::check_lsn: LOG record: checksum mismatch*" [srv 0 output]
    }
}

test {vectis-check --truncate-log cuts the log at the damaged frame and prints the range} {
    lassign [run_check --truncate-log $::check_bad] code out
    assert_equal 0 $code $out
    set n [expr {$::check_lsn_last - $::check_lsn + 1}]
    assert_match "*truncated the log files at log file $::check_vlog_name offset $::check_frame_off: removed lsn $::check_lsn..$::check_lsn_last ($n records)*" $out
    # The file ends where the damaged frame began.
    assert_equal $::check_frame_off [file size [file join $::check_bad vectis.log $::check_vlog_name]]
    # The check after the truncation is clean and ends before the damage.
    set after [check_recheck $out]
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
        assert_equal $::check_lsn_before [check_last_lsn]
    }
}

test {--truncate-log on an intact database changes nothing} {
    set d [check_copy $::check_src]
    set sizes {}
    foreach f [check_vlogs $d] { lappend sizes [file tail $f] [file size $f] }
    lassign [run_check --truncate-log $d] code out
    assert_equal 0 $code $out
    assert_match "*the log is intact, nothing to truncate*" $out
    assert_match "*lsn 1..$::check_lsn_last *" $out
    set after {}
    foreach f [check_vlogs $d] { lappend after [file tail $f] [file size $f] }
    assert_equal $sizes $after
}

test {A torn tail (the last frame cut short): exit 0 with a note} {
    set ::check_torn [check_copy $::check_src]
    set file [lindex [check_vlogs $::check_torn] end]
    lassign [lindex [check_vlog_frames $file] end] off count payload last
    assert_equal $::check_lsn_last $last
    set ::check_torn_file [file tail $file]
    set ::check_torn_off $off
    # In the middle of the frame's payload, as a write cut short leaves it.
    set size [expr {$off + 32 + $payload / 2}]
    check_truncate_file $file $size
    set ::check_torn_bytes [expr {$size - $off}]
    lassign [run_check $::check_torn] code out
    assert_equal 0 $code $out
    assert_equal {} [check_problem_lines $out]
    assert_match "*note: log file $::check_torn_file: $::check_torn_bytes bytes at offset $off cut short by a crash; the server cuts them at start*" $out
    assert_match "*lsn 1..$::check_lsn_before_last *" $out
    assert_match "*problems:    0 *" $out
    # Nothing for --truncate-log to do either: the server cuts a torn tail.
    lassign [run_check --truncate-log $::check_torn] code out
    assert_equal 0 $code $out
    assert_match "*the log is intact, nothing to truncate*" $out
    assert_equal $size [file size $file]
}

start_server [list tags {check persistence vectis-only} \
                  overrides [list appendonly yes save {""} dir $::check_torn]] {
    test {The server cuts the torn tail, logs it and has every write before that frame} {
        assert_match "*cut off $::check_torn_bytes bytes at the end of $::check_torn_file (offset $::check_torn_off)*" [server_log]
        assert_equal $::check_before_last [check_snapshot]
        assert_equal 1 [r vismember flat f:3]
        assert_equal $::check_lsn_before_last [check_last_lsn]
    }
}

test {A damaged frame header in the middle of the log: exit 1, the file and offset named} {
    set ::check_hdr [check_copy $::check_src]
    lassign [check_marker_frame $::check_hdr] file - off
    set ::check_hdr_file [file tail $file]
    set ::check_hdr_off $off
    # The count field: the frame header's own checksum then fails.
    check_flip_byte $file [expr {$off + 4}]
    lassign [run_check $::check_hdr] code out
    assert_equal 1 $code $out
    set lines [check_problem_lines $out]
    assert_equal 1 [llength $lines] $out
    assert_equal "log file $::check_hdr_file offset $off: bad frame header (checksum mismatch)" \
        [lindex $lines 0]
    assert_match "*problems:    1 (meta 0, data 0, index 0, log 1)*" $out
    # The log cannot be read past the damage.
    assert_match "*lsn 1..$::check_lsn_before *" $out
    start_server [list tags {check} expect_fail 1 \
                      overrides [list appendonly yes save {""} dir $::check_hdr]] {
        assert_not_equal 0 [srv 0 exitcode]
        assert_match "*log file $::check_hdr_file offset $off: bad frame header*" [srv 0 output]
    }
}

test {--truncate-log cuts the log at the damaged frame header} {
    lassign [run_check --truncate-log $::check_hdr] code out
    assert_equal 0 $code $out
    assert_match "*truncated the log files from log file $::check_hdr_file offset $::check_hdr_off to the end: removed lsn $::check_lsn and everything after it (the log could not be read past the damage)*" $out
    assert_equal $::check_hdr_off [file size [file join $::check_hdr vectis.log $::check_hdr_file]]
    set after [check_recheck $out]
    assert_match "*log: * lsn 1..$::check_lsn_before *" $after
    assert_match "*problems:    0 *" $after
}

start_server [list tags {check persistence vectis-only} \
                  overrides [list appendonly yes save {""} dir $::check_hdr]] {
    test {After cutting at the damaged frame header the server has the writes before it} {
        assert_equal $::check_before [check_snapshot]
        assert_equal $::check_lsn_before [check_last_lsn]
    }
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
        wait_for_condition 3000 20 {
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
