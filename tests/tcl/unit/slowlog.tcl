# SLOWLOG GET/LEN/RESET with slowlog-log-slower-than and slowlog-max-len.

start_server {tags {slowlog} overrides {slowlog-log-slower-than 100000}} {
    test {SLOWLOG: fast commands are not logged, slow ones are} {
        r slowlog reset
        r ping
        assert_equal 0 [r slowlog len]
        r debug sleep 0.2
        assert_equal 1 [r slowlog len]
    }

    test {SLOWLOG GET entry: id, unix time, duration, argv, client addr, client name} {
        r slowlog reset
        r client setname slowname
        r debug sleep 0.2
        set e [lindex [r slowlog get] 0]
        assert_equal 6 [llength $e]
        lassign $e id ts dur argv addr name
        assert {[string is integer -strict $id]}
        assert_range $ts [expr {[clock seconds] - 10}] [expr {[clock seconds] + 1}]
        assert_range $dur 190000 10000000
        assert_equal {debug sleep 0.2} $argv
        assert_match "127.0.0.1:*" $addr
        assert_equal slowname $name
        r client setname ""
    }

    test {SLOWLOG RESET empties the log} {
        r debug sleep 0.11
        assert_morethan [r slowlog len] 0
        assert_equal OK [r slowlog reset]
        assert_equal 0 [r slowlog len]
        assert_equal {} [r slowlog get]
    }

    test {slowlog-log-slower-than -1 disables logging, 0 logs everything} {
        r config set slowlog-log-slower-than -1
        r slowlog reset
        r debug sleep 0.11
        assert_equal 0 [r slowlog len]
        r config set slowlog-log-slower-than 0
        r slowlog reset
        r ping
        r echo hi
        assert_morethan_equal [r slowlog len] 2
        set argvs {}
        foreach e [r slowlog get -1] { lappend argvs [lindex $e 3] }
        assert {[lsearch -exact $argvs ping] >= 0} "ping not logged: $argvs"
        assert {[lsearch -exact $argvs {echo hi}] >= 0} "echo not logged: $argvs"
        r config set slowlog-log-slower-than 100000
    }

    test {slowlog-max-len keeps only the newest entries} {
        r config set slowlog-log-slower-than 0
        r config set slowlog-max-len 10
        for {set i 0} {$i < 100} {incr i} { r echo "e$i" }
        assert_equal 10 [r slowlog len]
        set argvs {}
        foreach e [r slowlog get -1] { lappend argvs [lindex $e 3] }
        assert_equal 10 [llength $argvs]
        assert {[lsearch -exact $argvs {echo e99}] >= 0} "newest entry missing: $argvs"
        assert {[lsearch -exact $argvs {echo e80}] < 0} "old entry kept: $argvs"
        r config set slowlog-log-slower-than 100000
        r config set slowlog-max-len 128
    }

    test {SLOWLOG GET n: at most n entries, newest first, ids decreasing} {
        r config set slowlog-log-slower-than 0
        r slowlog reset
        for {set i 0} {$i < 5} {incr i} { r echo "g$i" }
        set entries [r slowlog get 3]
        assert_equal 3 [llength $entries]
        set ids {}
        foreach e $entries { lappend ids [lindex $e 0] }
        assert_equal [lsort -integer -decreasing $ids] $ids
        assert_equal {echo g4} [lindex [lindex $entries 0] 3]
        assert_morethan_equal [llength [r slowlog get -1]] 5
        assert_error "ERR*" {r slowlog get -2}
        assert_error "ERR*" {r slowlog get abc}
        r config set slowlog-log-slower-than 100000
    }

    test {SLOWLOG GET with no argument returns up to 10 entries} {
        r config set slowlog-log-slower-than 0
        r slowlog reset
        for {set i 0} {$i < 15} {incr i} { r ping }
        assert_equal 10 [llength [r slowlog get]]
        r config set slowlog-log-slower-than 100000
    }

    test {SLOWLOG trims long arguments and long argument lists} {
        r config set slowlog-log-slower-than 0
        r slowlog reset
        r echo [string repeat x 200]
        set e [lindex [r slowlog get] 0]
        set arg [lindex $e 3 1]
        assert_equal "[string repeat x 128]... (72 more bytes)" $arg
        catch {r nosuchcommand} ;# not executed, not logged
        r client setname [string repeat n 10]
        r slowlog reset
        set args [list config set]
        for {set i 0} {$i < 40} {incr i} { lappend args timeout 0 }
        catch {r {*}$args}
        set argv [lindex [r slowlog get 1] 0 3]
        assert_equal 32 [llength $argv]
        assert_equal "... (51 more arguments)" [lindex $argv end]
        r config set slowlog-log-slower-than 100000
    }

    test {SLOWLOG unknown subcommand} {
        assert_error "ERR unknown subcommand 'nosuch'. Try SLOWLOG HELP." {r slowlog nosuch}
    }
}
