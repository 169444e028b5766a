# Connection and client commands: CLIENT ID/SETNAME/GETNAME/SETINFO/LIST/INFO/
# KILL/NO-EVICT/NO-TOUCH, HELLO (2/3, AUTH, SETNAME), RESET, QUIT, SELECT,
# READONLY/READWRITE.

start_server {tags {client}} {
    test {CLIENT ID is an integer, distinct and increasing per connection} {
        set a [r client id]
        set c1 [redis_client]
        set c2 [redis_client]
        set b [$c1 client id]
        set c [$c2 client id]
        assert {[string is integer -strict $a]}
        assert {$a < $b && $b < $c} "ids $a $b $c"
        assert_equal $b [$c1 client id]
        $c1 close
        $c2 close
    }

    test {CLIENT GETNAME is nil until CLIENT SETNAME} {
        set c [redis_client]
        assert_equal {} [$c client getname]
        assert_equal \$ [$c last_type]
        assert_equal OK [$c client setname myname]
        assert_equal myname [$c client getname]
        $c close
    }

    test {CLIENT SETNAME refuses spaces and newlines; empty name clears} {
        set c [redis_client]
        $c client setname before
        assert_error "ERR Client names cannot contain spaces, newlines or special characters." \
            {$c client setname "a b"}
        assert_error "ERR Client names cannot contain spaces*" {$c client setname "a\nb"}
        assert_equal before [$c client getname]
        assert_equal OK [$c client setname ""]
        assert_equal {} [$c client getname]
        $c close
    }

    test {CLIENT LIST: one line per client with id, addr, laddr, name, age, idle, cmd} {
        set c1 [redis_client]
        $c1 client setname listed
        set id1 [$c1 client id]
        set lines [vt_client_list_lines [r client list]]
        set found 0
        foreach line $lines {
            set d [vt_client_line_dict $line]
            foreach k {id addr laddr fd name age idle flags db cmd} {
                assert {[dict exists $d $k]} "field $k missing in '$line'"
            }
            if {[dict get $d id] == $id1} {
                incr found
                assert_equal listed [dict get $d name]
                assert_match "127.0.0.1:*" [dict get $d addr]
                assert_equal "127.0.0.1:[srv 0 port]" [dict get $d laddr]
                assert_equal 0 [dict get $d db]
            }
        }
        assert_equal 1 $found
        set me [vt_client_line_dict [lindex [lsearch -inline -all $lines "id=[r client id] *"] 0]]
        assert_equal client|list [dict get $me cmd]
        $c1 close
    }

    test {CLIENT LIST: age and idle grow, resp follows HELLO, MONITOR has flag O} {
        set c [redis_client]
        $c hello 3
        set id [$c client id]
        vt_sleep 1100
        set d [vt_client_line_dict [r client list id $id]]
        assert_morethan_equal [dict get $d age] 1
        assert_morethan_equal [dict get $d idle] 1
        assert_equal 3 [dict get $d resp]
        assert_equal N [dict get $d flags]
        $c ping
        set d [vt_client_line_dict [r client list id $id]]
        assert_equal 0 [dict get $d idle]
        $c monitor
        set d [vt_client_line_dict [r client list id $id]]
        assert_match "*O*" [dict get $d flags]
        $c close
    }

    test {CLIENT LIST counts every connection} {
        # A connection an earlier test closed may still be listed at first
        # (the server sees the close a moment later): compare ids, not counts.
        set ids_of {{text} {
            set ids {}
            foreach l [vt_client_list_lines $text] { regexp {^id=(\d+) } $l -> id; lappend ids $id }
            lsort -integer $ids
        }}
        set before [apply $ids_of [r client list]]
        set cs {}
        set new {}
        for {set i 0} {$i < 5} {incr i} { lappend cs [redis_client]; lappend new [[lindex $cs end] client id] }
        set during [apply $ids_of [r client list]]
        foreach id $new { assert {$id in $during} }
        foreach id $during { assert {$id in $new || $id in $before} }
        assert_equal [llength $during] [llength [lsort -unique $during]]
        foreach c $cs { $c close }
        wait_for_condition 100 20 {
            [llength [lmap id [apply $ids_of [r client list]] { expr {$id in $new ? $id : [continue]} }]] == 0
        } else {
            fail "closed clients still listed"
        }
    }

    test {CLIENT LIST ID and TYPE filters} {
        set c1 [redis_client]
        set id1 [$c1 client id]
        set lines [vt_client_list_lines [r client list id $id1]]
        assert_equal 1 [llength $lines]
        assert_match "id=$id1 *" [lindex $lines 0]
        set all [llength [vt_client_list_lines [r client list]]]
        assert_equal $all [llength [vt_client_list_lines [r client list type normal]]]
        assert_error "ERR*" {r client list type nosuchtype}
        $c1 close
    }

    test {CLIENT INFO describes the calling connection only} {
        set info [r client info]
        assert_equal 1 [llength [vt_client_list_lines $info]]
        set d [vt_client_line_dict $info]
        assert_equal [r client id] [dict get $d id]
        assert_equal client|info [dict get $d cmd]
    }

    test {CLIENT INFO / LIST in RESP3 are verbatim strings} {
        set c [redis_client]
        $c hello 3
        set info [$c client info]
        assert_equal = [$c last_type]
        assert_match "id=*" $info
        $c close
    }

    test {CLIENT KILL old form addr:port kills that client} {
        set c1 [redis_client]
        set addr [dict get [vt_client_line_dict [$c1 client info]] addr]
        assert_equal OK [r client kill $addr]
        assert {[$c1 wait_close 5]} "killed client still connected"
        $c1 close
        assert_error "ERR No such client" {r client kill $addr}
        assert_error "ERR No such client" {r client kill 1.2.3.4:5}
    }

    test {CLIENT KILL ID returns the count; unknown ids give 0} {
        set c1 [redis_client]
        set id1 [$c1 client id]
        assert_equal 1 [r client kill id $id1]
        assert {[$c1 wait_close 5]} "killed client still connected"
        $c1 close
        assert_equal 0 [r client kill id $id1]
        assert_equal 0 [r client kill id 999999]
        assert_error "ERR*" {r client kill id notanumber}
    }

    test {CLIENT KILL ADDR new form} {
        set c1 [redis_client]
        set addr [dict get [vt_client_line_dict [$c1 client info]] addr]
        assert_equal 1 [r client kill addr $addr]
        assert {[$c1 wait_close 5]}
        $c1 close
        assert_equal 0 [r client kill addr 1.2.3.4:5]
    }

    test {CLIENT KILL TYPE normal skips the caller by default} {
        set cs {}
        for {set i 0} {$i < 3} {incr i} { lappend cs [redis_client]; [lindex $cs end] ping }
        set n [r client kill type normal]
        assert_morethan_equal $n 3
        foreach c $cs { assert {[$c wait_close 5]}; $c close }
        assert_equal PONG [r ping]
    }

    test {CLIENT KILL TYPE pubsub / master / replica / slave with no such clients} {
        assert_equal 0 [r client kill type pubsub]
        assert_equal 0 [r client kill type master]
        assert_equal 0 [r client kill type replica]
        assert_equal 0 [r client kill type slave]
        assert_error "ERR Unknown client type 'nosuch'" {r client kill type nosuch}
    }

    test {CLIENT KILL ID of itself with SKIPME no closes the caller after the reply} {
        set c [redis_client]
        set id [$c client id]
        assert_equal 1 [$c client kill id $id skipme no]
        assert {[$c wait_close 5]}
        $c close
        set c [redis_client]
        set id [$c client id]
        assert_equal 0 [$c client kill id $id skipme yes]
        assert_equal PONG [$c ping]
        $c close
    }

    test {CLIENT KILL syntax errors} {
        assert_error "ERR*syntax*" {r client kill id 1 skipme maybe}
        assert_error "ERR*syntax*" {r client kill foo bar}
        assert_error "ERR*" {r client kill id}
    }

    test {CLIENT NO-EVICT on|off} {
        assert_equal OK [r client no-evict on]
        assert_equal OK [r client no-evict off]
        assert_error "ERR*" {r client no-evict maybe}
    }

    tags {vectis-only} {
        test {CLIENT NO-TOUCH on|off} {
            assert_equal OK [r client no-touch on]
            assert_equal OK [r client no-touch off]
            assert_error "ERR*" {r client no-touch maybe}
        }

        test {CLIENT SETINFO LIB-NAME / LIB-VER show in CLIENT INFO and LIST} {
            set c [redis_client]
            assert_equal OK [$c client setinfo lib-name mylib]
            assert_equal OK [$c client setinfo LIB-VER 1.2.3]
            set d [vt_client_line_dict [$c client info]]
            assert_equal mylib [dict get $d lib-name]
            assert_equal 1.2.3 [dict get $d lib-ver]
            assert_error "ERR*" {$c client setinfo lib-name "a b"}
            assert_error "ERR*" {$c client setinfo lib-name "a\nb"}
            assert_error "ERR*" {$c client setinfo nosuchattr x}
            $c close
        }
    }

    test {Unknown CLIENT subcommand} {
        assert_error "ERR unknown subcommand 'nosuch'. Try CLIENT HELP." {r client nosuch}
    }
}

start_server {tags {client hello}} {
    test {HELLO without arguments: the 7-field map, protocol unchanged} {
        set c [redis_client]
        set m [$c hello]
        assert_equal * [$c last_type]
        assert_equal {server version proto id mode role modules} [dict keys $m]
        assert_equal 2 [dict get $m proto]
        assert_equal [$c client id] [dict get $m id]
        $c close
    }

    test {HELLO 3: map reply, field types and values} {
        set c [redis_client]
        set m [$c hello 3]
        assert_equal % [$c last_type]
        assert_equal {server version proto id mode role modules} [dict keys $m]
        assert {[dict get $m server] ne ""}
        assert {[dict get $m version] ne ""}
        assert_equal 3 [dict get $m proto]
        assert {[string is integer -strict [dict get $m id]]}
        assert_equal [$c client id] [dict get $m id]
        assert_equal standalone [dict get $m mode]
        assert_equal master [dict get $m role]
        assert_equal {} [dict get $m modules]
        # Later replies use RESP3.
        $c client getname
        assert_equal _ [$c last_type]
        $c close
    }

    test {HELLO 2 after HELLO 3 goes back to RESP2 (flat 14-element array)} {
        set c [redis_client]
        $c hello 3
        set m [$c hello 2]
        assert_equal * [$c last_type]
        assert_equal 14 [llength $m]
        assert_equal 2 [dict get $m proto]
        $c close
    }

    test {HELLO 3 SETNAME sets the connection name} {
        set c [redis_client]
        $c hello 3 setname fromhello
        assert_equal fromhello [$c client getname]
        $c close
    }

    test {HELLO errors: NOPROTO, non-integer version, unknown option} {
        assert_error "NOPROTO unsupported protocol version" {r hello 4}
        assert_error "NOPROTO unsupported protocol version" {r hello 1}
        assert_error "ERR Protocol version is not an integer or out of range" {r hello abc}
        assert_error "ERR Syntax error in HELLO option 'foo'" {r hello 3 foo}
        # A failed HELLO does not switch the protocol.
        r client getname
        assert_equal \$ [r last_type]
    }

    test {RESET: +RESET, name cleared, back to RESP2} {
        set c [redis_client]
        $c hello 3
        $c client setname tobereset
        assert_equal RESET [$c reset]
        assert_equal + [$c last_type]
        assert_equal {} [$c client getname]
        assert_equal \$ [$c last_type]
        set m [$c hello]
        assert_equal 2 [dict get $m proto]
        $c close
    }

    test {QUIT replies +OK and closes; later pipelined commands are not run} {
        set c [raw_client]
        $c write "[vt_resp_command {ping}][vt_resp_command {quit}][vt_resp_command {client setname notrun}]"
        $c flush
        assert_equal "+PONG\r\n+OK\r\n" [$c read_until_close 5]
        $c close
        foreach line [vt_client_list_lines [r client list]] {
            assert_no_match "*name=notrun *" $line
        }
    }

    test {SELECT 0 works; out-of-range and non-integer indexes fail} {
        assert_equal OK [r select 0]
        assert_error "ERR DB index is out of range" {r select 100000}
        assert_error "ERR DB index is out of range" {r select -1}
        assert_error "ERR value is not an integer or out of range" {r select abc}
        assert_equal PONG [r ping]
    }

    tags {vectis-only} {
        test {SELECT of any database but 0 is refused (vectis has only db 0)} {
            assert_error "ERR DB index is out of range" {r select 9}
            assert_error "ERR DB index is out of range" {r select 1}
        }

        test {READONLY and READWRITE reply +OK} {
            assert_equal OK [r readonly]
            assert_equal OK [r readwrite]
        }
    }
}
