# Wire protocol: pipelining of any depth, byte splits, inline commands with
# quotes and escapes, blank lines, RESP3 encodings, and every protocol error
# (reply "-ERR Protocol error: ..." then close; other clients unaffected).

# Sends bytes on a fresh connection; the server must answer exactly
# `expected` (replies before the error, then the error) and close.
proc assert_protocol_error {bytes expected} {
    set out [raw_exchange_until_close $bytes 10]
    assert_equal $expected $out
    # Everyone else is still served.
    assert_equal PONG [r ping]
}

proc pipeline_of {n cmd} {
    return [string repeat [vt_resp_command $cmd] $n]
}

start_server {tags {protocol}} {
    test {Pipelining: 10,000 PINGs in one write come back in order} {
        set c [raw_client]
        $c write [pipeline_of 10000 ping]
        $c flush
        for {set i 0} {$i < 10000} {incr i} {
            set rep [$c read]
            if {$rep ne "PONG"} { fail "reply $i was '$rep'" }
        }
        assert_equal 0 [$c pending]
        $c close
    }

    test {Pipelining: 10,000 distinct ECHOs keep their order} {
        set c [raw_client]
        set buf ""
        for {set i 0} {$i < 10000} {incr i} { append buf [vt_resp_command [list echo "v$i"]] }
        $c write $buf
        $c flush
        for {set i 0} {$i < 10000} {incr i} {
            set rep [$c read]
            if {$rep ne "v$i"} { fail "reply $i was '$rep'" }
        }
        $c close
    }

    test {Pipelining: 100,000 commands mixing inline and multibulk in one stream} {
        set c [raw_client]
        set unit "PING\r\n[vt_resp_command {echo m}]ECHO i\r\n\r\n"
        $c write [string repeat $unit 25000]
        $c flush
        for {set i 0} {$i < 25000} {incr i} {
            set a [$c read]; set b [$c read]; set d [$c read]
            if {"$a $b $d" ne "PONG m i"} { fail "group $i: '$a $b $d'" }
        }
        $c close
    }

    test {A request split at every byte boundary is parsed once complete} {
        set req [vt_resp_command [list echo "hello world"]]
        set c [raw_client]
        for {set cut 1} {$cut < [string length $req]} {incr cut} {
            $c write [string range $req 0 [expr {$cut - 1}]]
            $c flush
            vt_sleep 2
            assert_equal 0 [$c pending] "reply before the request was complete (cut $cut)"
            $c write [string range $req $cut end]
            $c flush
            assert_equal "hello world" [$c read]
        }
        $c close
    }

    test {A request sent one byte at a time (multibulk and inline)} {
        set c [raw_client]
        foreach req [list [vt_resp_command {echo bytewise}] "ECHO bytewise\r\n"] {
            foreach ch [split $req ""] {
                $c write $ch
                $c flush
                vt_sleep 1
            }
            assert_equal bytewise [$c read]
        }
        $c close
    }

    test {Binary-safe bulk arguments (CR, LF, NUL, high bytes)} {
        set payload "\r\n\x00\xff\r\n*1\r\n\$4\r\nPING"
        assert_equal $payload [r echo $payload]
        set payload [randbytes 1000]
        assert_equal $payload [r echo $payload]
    }

    test {Large arguments: 1 MB and 8 MB round trips} {
        foreach size {1048576 8388608} {
            set payload [string repeat [randstr 64] [expr {$size / 64}]]
            set rep [r echo $payload]
            assert_equal $size [string length $rep]
            assert {$rep eq $payload} "payload of $size bytes came back different"
        }
    }

    test {Many large replies to a pipelined client (20 MB) all arrive} {
        set c [raw_client]
        set payload [string repeat x 100000]
        $c write [pipeline_of 200 [list echo $payload]]
        $c flush
        for {set i 0} {$i < 200} {incr i} {
            assert_equal 100000 [string length [$c read]]
        }
        $c close
    }

    test {Inline: double quotes with escapes \\n \\r \\t \\b \\a \\\\ \\" and \\xHH} {
        set c [raw_client]
        $c write "ECHO \"a\\x41\\n\\r\\t\\b\\a\\\\\\\"z\"\r\n"
        $c flush
        assert_equal "aA\n\r\t\b\a\\\"z" [$c read]
        $c close
    }

    test {Inline: single quotes, escaped single quote, runs of spaces, LF-only lines} {
        set c [raw_client]
        $c write "ECHO 'it\\'s'\r\n"
        $c write "ECHO    spaced     \r\n"
        $c write "ECHO \"two words\"\n"
        $c write "ECHO ''\r\n"
        $c write "ECHO 'no \\n escape'\r\n"
        $c flush
        assert_equal "it's" [$c read]
        assert_equal spaced [$c read]
        assert_equal "two words" [$c read]
        assert_equal "" [$c read]
        assert_equal "no \\n escape" [$c read]
        $c close
    }

    test {Inline: quoted arguments count as one argument each} {
        set c [raw_client]
        $c write "ECHO \"a b\" 'c d'\r\n"
        $c flush
        assert_error "ERR wrong number of arguments for 'echo' command" {$c read}
        $c close
    }

    test {Empty and blank inline lines are ignored (no reply)} {
        set c [raw_client]
        $c write "\r\n\r\n   \r\n\n\t\r\nPING\r\n\r\nECHO marker\r\n"
        $c flush
        assert_equal PONG [$c read]
        assert_equal marker [$c read]
        vt_sleep 50
        assert_equal 0 [$c pending]
        $c close
    }

    test {Multibulk counts *0 and *-1 are ignored (no reply), like Redis} {
        set c [raw_client]
        $c write "*0\r\n*-1\r\nPING\r\n"
        $c flush
        assert_equal PONG [$c read]
        vt_sleep 50
        assert_equal 0 [$c pending]
        $c close
    }

    test {RESP2 vs RESP3 wire encodings (null, map, verbatim)} {
        set c [raw_client]
        $c write [vt_resp_command {client getname}]
        $c flush
        assert_equal {$-1} [$c read_line]
        $c write [vt_resp_command {hello 3}]
        $c flush
        set first [$c read_line]
        assert_equal {%7} $first
        # Skip the 7 pairs of the HELLO map.
        for {set i 0} {$i < 14} {incr i} { $c read }
        $c write [vt_resp_command {client getname}]
        $c flush
        assert_equal {_} [$c read_line]
        $c write [vt_resp_command {config get port}]
        $c flush
        assert_equal {%1} [$c read_line]
        $c read; $c read
        $c write [vt_resp_command {info server}]
        $c flush
        set hdr [$c read_line]
        assert_match {=*} $hdr
        set len [string range $hdr 1 end]
        set body [$c read_bytes [expr {$len + 2}]]
        assert_match "txt:# Server\r\n*" $body
        $c write [vt_resp_command {hello 2}]
        $c flush
        assert_equal {*14} [$c read_line]
        $c close
    }
}

start_server {tags {protocol} overrides {proto-max-bulk-len 1mb}} {
    test {Protocol error: non-numeric multibulk count} {
        assert_protocol_error "*abc\r\n" "-ERR Protocol error: invalid multibulk length\r\n"
    }

    test {Protocol error: multibulk count above INT_MAX} {
        assert_protocol_error "*3000000000\r\n" "-ERR Protocol error: invalid multibulk length\r\n"
    }

    tags {vectis-only} {
        test {Protocol error: multibulk count above 1048576 (vectis limit)} {
            assert_protocol_error "*1048577\r\n" "-ERR Protocol error: invalid multibulk length\r\n"
        }
    }

    test {A multibulk of exactly 1048576 arguments is accepted (then an arity error)} {
        set c [raw_client]
        $c write "*1048576\r\n\$4\r\nECHO\r\n[string repeat "\$0\r\n\r\n" 1048575]"
        $c flush
        assert_error "ERR wrong number of arguments for 'echo' command" {$c read}
        $c ping
        assert_equal PONG [$c read]
        $c close
    }

    test {Protocol error: non-numeric bulk length} {
        assert_protocol_error "*1\r\n\$abc\r\n" "-ERR Protocol error: invalid bulk length\r\n"
    }

    test {Protocol error: negative bulk lengths} {
        assert_protocol_error "*1\r\n\$-5\r\n" "-ERR Protocol error: invalid bulk length\r\n"
        assert_protocol_error "*1\r\n\$-1\r\n" "-ERR Protocol error: invalid bulk length\r\n"
    }

    test {Protocol error: bulk length above proto-max-bulk-len} {
        assert_protocol_error "*2\r\n\$4\r\nECHO\r\n\$1048577\r\n" \
            "-ERR Protocol error: invalid bulk length\r\n"
    }

    test {A bulk of exactly proto-max-bulk-len bytes is accepted} {
        set payload [string repeat a 1048576]
        assert_equal 1048576 [string length [r echo $payload]]
    }

    test {CONFIG SET proto-max-bulk-len takes effect for new requests} {
        r config set proto-max-bulk-len 2mb
        set payload [string repeat b 1500000]
        assert_equal 1500000 [string length [r echo $payload]]
        r config set proto-max-bulk-len 1mb
        assert_protocol_error "*2\r\n\$4\r\nECHO\r\n\$1500000\r\n" \
            "-ERR Protocol error: invalid bulk length\r\n"
    }

    test {Protocol error: expected '$' in a multibulk} {
        assert_protocol_error "*1\r\nfoo\r\n" "-ERR Protocol error: expected '\$', got 'f'\r\n"
        assert_protocol_error "*2\r\n\$4\r\nECHO\r\n:1\r\n" \
            "-ERR Protocol error: expected '\$', got ':'\r\n"
    }

    test {Protocol error: unbalanced quotes in inline requests} {
        foreach req [list "ECHO \"abc\r\n" "ECHO 'abc\r\n" "ECHO \"a\"b\r\n" "ECHO 'a'b\r\n"] {
            assert_protocol_error $req "-ERR Protocol error: unbalanced quotes in request\r\n"
        }
    }

    test {Protocol error: too big inline request (64 KB without a newline)} {
        assert_protocol_error [string repeat a [expr {65 * 1024}]] \
            "-ERR Protocol error: too big inline request\r\n"
    }

    test {Protocol error: too big multibulk count / bulk count line} {
        assert_protocol_error "*[string repeat 1 [expr {65 * 1024}]]" \
            "-ERR Protocol error: too big mbulk count string\r\n"
        assert_protocol_error "*1\r\n\$[string repeat 1 [expr {65 * 1024}]]" \
            "-ERR Protocol error: too big bulk count string\r\n"
    }

    test {Protocol error: earlier pipelined replies are flushed, later commands not run} {
        set req "[vt_resp_command {echo before}]*1\r\n\$-5\r\n[vt_resp_command {echo after}]"
        assert_protocol_error $req \
            "\$6\r\nbefore\r\n-ERR Protocol error: invalid bulk length\r\n"
        assert_protocol_error "PING\r\n*x\r\nPING\r\n" \
            "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"
    }

    test {Protocol errors are counted and the server stays healthy} {
        set before [info_field connected_clients clients]
        for {set i 0} {$i < 50} {incr i} {
            raw_exchange_until_close "*x\r\n" 5
        }
        wait_for_condition 100 20 {[info_field connected_clients clients] == $before} else {
            fail "connected_clients did not return to $before: [info_field connected_clients clients]"
        }
        assert_equal PONG [r ping]
    }

    test {Random garbage on 300 connections never takes the server down} {
        set clients {}
        for {set i 0} {$i < 300} {incr i} {
            set c [raw_client]
            set g [randbytes [expr {1 + int(rand() * 200)}]]
            # Bias towards protocol-looking input half of the time.
            if {rand() < 0.5} { set g "*[expr {int(rand() * 5)}]\r\n\$[expr {int(rand() * 9) - 2}]\r\n$g" }
            $c write $g
            $c flush
            lappend clients $c
        }
        foreach c $clients { $c close }
        assert_equal PONG [r ping]
        assert_equal ok [r echo ok]
    }
}

start_server {tags {protocol} overrides {client-query-buffer-limit 1mb}} {
    test {Query buffer past client-query-buffer-limit closes the connection} {
        set before [info_field connected_clients clients]
        set c [raw_client]
        # A declared 4 MB bulk whose bytes never finish: the unparsed input
        # grows past the 1 MB limit.
        $c write "*2\r\n\$4\r\nECHO\r\n\$4000000\r\n"
        set res [$c write_noread [string repeat z 3000000] 5]
        assert {[$c wait_close 5]} "connection still open after 3 MB of unparsed input ($res)"
        $c close
        assert_equal PONG [r ping]
        wait_for_condition 100 20 {[info_field connected_clients clients] == $before} else {
            fail "connected_clients did not return to $before"
        }
    }

    test {Many partial requests below the limit are fine} {
        set c [raw_client]
        $c write "*2\r\n\$4\r\nECHO\r\n\$900000\r\n"
        $c write [string repeat y 900000]
        $c flush
        vt_sleep 50
        $c write "\r\n"
        $c flush
        assert_equal 900000 [string length [$c read]]
        $c close
    }
}
