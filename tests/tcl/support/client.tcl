# RESP client in pure Tcl for the vectis end-to-end tests.
#
# Each client is a Tcl command (returned by vt_client_open) wrapping one TCP
# socket in non-blocking binary mode with our own input buffer, so every read
# has a deadline: a server that hangs makes the test fail with "timeout"
# instead of hanging the suite. Reading and writing run the event loop
# (vwait), which also lets Tcl flush large pipelines in the background and
# lets several clients' fileevents fire while one of them waits.
#
# Replies: RESP2 and RESP3 are parsed by their type byte, no protocol state is
# kept. Maps come back as flat lists (usable as dicts), sets and pushes as
# lists, doubles and big numbers as their text, booleans as 1/0, every kind of
# null as the empty string, verbatim strings without their "txt:" prefix. An
# error reply at top level raises a Tcl error whose message is the error text
# (errorCode {VT_REPLY_ERROR}); errors nested in an aggregate are returned as
# "-text" strings. Arguments are sent as byte strings (characters above \xff
# are not expected in tests).
#
# Methods ($c <method> ...) -- anything else is sent as a command:
#   close                 close the socket
#   read                  read and parse one reply
#   write bytes           append raw bytes to the output (no flush)
#   flush                 push every queued byte to the socket (reads incoming
#                         data meanwhile, so a server applying back-pressure
#                         cannot deadlock us)
#   send args             write a multibulk command and flush, no read
#   deferred 0|1          deferring clients only send; replies via "read"
#   timeout secs          read/flush deadline (default 30 s)
#   read_line             one raw line, without CRLF
#   read_bytes n          exactly n raw bytes
#   read_until_close ?s?  every byte until the server closes (error on timeout)
#   wait_close ?s?        1 if the server closes within s seconds (unread data
#                         is discarded), 0 otherwise
#   pending               1 if reply bytes are available right now
#   last_type             type byte of the last top-level reply (+ - : $ * % ...)
#   fd / host / port      the socket and its address
#   write_noread bytes ?s?  write without ever reading; returns "closed" if the
#                         server closed/reset the connection, "ok" when all was
#                         written, "stuck" when nothing moved for s seconds

namespace eval ::vt::client {
    variable seq 0
    variable methods {close read write flush send deferred timeout read_line read_bytes
        read_until_close wait_close pending last_type fd host port write_noread}
}

# Opens a connection; returns the new client command. Options: -deferred 0|1,
# -timeout seconds.
proc vt_client_open {host port args} {
    set deferred 0
    set timeout 30
    foreach {k v} $args {
        switch -- $k {
            -deferred { set deferred $v }
            -timeout { set timeout $v }
            default { error "vt_client_open: unknown option $k" }
        }
    }
    set fd [socket $host $port]
    fconfigure $fd -blocking 0 -translation binary -encoding binary -buffering none
    set id [incr ::vt::client::seq]
    set name ::vt::client::c$id
    upvar #0 ::vt::client::S$id s
    array set s [list fd $fd buf "" pos 0 deferred $deferred timeout $timeout eof 0 \
                     host $host port $port last_type "" ev ""]
    proc $name {args} "::vt::client::dispatch $id \$args"
    return $name
}

# Serialises a command as a RESP multibulk.
proc vt_resp_command {argv} {
    set out "*[llength $argv]\r\n"
    foreach a $argv {
        append out "\$[string length $a]\r\n$a\r\n"
    }
    return $out
}

proc ::vt::client::dispatch {id argv} {
    variable methods
    upvar #0 ::vt::client::S$id s
    set m [lindex $argv 0]
    set rest [lrange $argv 1 end]
    if {[lsearch -exact $methods $m] >= 0} {
        switch -- $m {
            close { return [client_close $id] }
            read { return [read_reply $id 1] }
            write { return [queue_out $id [lindex $rest 0]] }
            flush { return [flush_out $id] }
            send {
                queue_out $id [vt_resp_command $rest]
                return [flush_out $id]
            }
            deferred { set s(deferred) [lindex $rest 0]; return }
            timeout { set s(timeout) [lindex $rest 0]; return }
            read_line { return [read_line $id] }
            read_bytes { return [read_exact $id [lindex $rest 0]] }
            read_until_close { return [read_until_close $id {*}$rest] }
            wait_close { return [wait_close $id {*}$rest] }
            pending { return [is_pending $id] }
            last_type { return $s(last_type) }
            fd { return $s(fd) }
            host { return $s(host) }
            port { return $s(port) }
            write_noread { return [write_noread $id {*}$rest] }
        }
    }
    queue_out $id [vt_resp_command $argv]
    flush_out $id
    if {$s(deferred)} return
    return [read_reply $id 1]
}

proc ::vt::client::client_close {id} {
    upvar #0 ::vt::client::S$id s
    if {![info exists s(fd)]} return
    catch {fileevent $s(fd) readable {}}
    catch {fconfigure $s(fd) -blocking 1}
    catch {close $s(fd)}
    rename ::vt::client::c$id {}
    unset s
}

proc ::vt::client::queue_out {id bytes} {
    upvar #0 ::vt::client::S$id s
    if {[catch {puts -nonewline $s(fd) $bytes} err]} {
        error "write failed: $err" {} {VT_CONN_CLOSED}
    }
    return
}

# Waits until fd is readable (or writable when $what is "w") or the deadline
# passes. Returns "r", "w" or "t".
proc ::vt::client::wait_event {id what deadline} {
    upvar #0 ::vt::client::S$id s
    set remaining [expr {$deadline - [clock milliseconds]}]
    if {$remaining < 0} { set remaining 0 }
    set var ::vt::client::S${id}(ev)
    set s(ev) ""
    fileevent $s(fd) readable [list set $var r]
    if {$what eq "w"} { fileevent $s(fd) writable [list set $var w] }
    set timer [after $remaining [list set $var t]]
    vwait $var
    after cancel $timer
    catch {fileevent $s(fd) readable {}}
    catch {fileevent $s(fd) writable {}}
    return $s(ev)
}

# Reads whatever is available into the buffer. Returns the number of bytes
# read; sets s(eof) when the peer closed (or reset) the connection.
proc ::vt::client::pull {id} {
    upvar #0 ::vt::client::S$id s
    if {$s(eof)} { return 0 }
    if {[catch {read $s(fd)} data]} {
        set s(eof) 1
        set s(err) $data
        return 0
    }
    if {$data ne ""} {
        append s(buf) $data
        return [string length $data]
    }
    if {[eof $s(fd)]} { set s(eof) 1 }
    return 0
}

# Makes sure more input arrives (or raises on timeout / close).
proc ::vt::client::fill {id deadline} {
    upvar #0 ::vt::client::S$id s
    while 1 {
        if {[pull $id] > 0} return
        if {$s(eof)} {
            set extra [expr {[info exists s(err)] ? " ($s(err))" : ""}]
            error "connection closed by server$extra" {} {VT_CONN_CLOSED}
        }
        if {[clock milliseconds] >= $deadline} {
            error "timeout after $s(timeout) s waiting for a reply from\
                   $s(host):$s(port)" {} {VT_TIMEOUT}
        }
        wait_event $id r $deadline
    }
}

proc ::vt::client::deadline {id} {
    upvar #0 ::vt::client::S$id s
    return [expr {[clock milliseconds] + int($s(timeout) * 1000)}]
}

proc ::vt::client::compact {id} {
    upvar #0 ::vt::client::S$id s
    if {$s(pos) > 65536} {
        set s(buf) [string range $s(buf) $s(pos) end]
        set s(pos) 0
    }
}

proc ::vt::client::read_line {id} {
    upvar #0 ::vt::client::S$id s
    set dl [deadline $id]
    set from $s(pos)
    while 1 {
        set i [string first "\r\n" $s(buf) $from]
        if {$i >= 0} {
            set line [string range $s(buf) $s(pos) [expr {$i - 1}]]
            set s(pos) [expr {$i + 2}]
            compact $id
            return $line
        }
        set from [expr {max($s(pos), [string length $s(buf)] - 1)}]
        fill $id $dl
    }
}

proc ::vt::client::read_exact {id n} {
    upvar #0 ::vt::client::S$id s
    set dl [deadline $id]
    while {[string length $s(buf)] - $s(pos) < $n} {
        fill $id $dl
    }
    set data [string range $s(buf) $s(pos) [expr {$s(pos) + $n - 1}]]
    incr s(pos) $n
    compact $id
    return $data
}

proc ::vt::client::read_reply {id top} {
    upvar #0 ::vt::client::S$id s
    set line [read_line $id]
    set t [string index $line 0]
    set v [string range $line 1 end]
    if {$top} { set s(last_type) $t }
    switch -exact -- $t {
        + - : - ( { return $v }
        , {
            return $v
        }
        - {
            if {$top} { error $v {} {VT_REPLY_ERROR} }
            return "-$v"
        }
        # { return [expr {$v eq "t" ? 1 : 0}] }
        _ { return {} }
        $ - = - ! {
            if {$v == -1} { return {} }
            set data [read_exact $id [expr {$v + 2}]]
            set data [string range $data 0 end-2]
            if {$t eq "="} { set data [string range $data 4 end] }
            if {$t eq "!"} {
                if {$top} { error $data {} {VT_REPLY_ERROR} }
                return "-$data"
            }
            return $data
        }
        * - ~ - > {
            if {$v == -1} { return {} }
            set l {}
            for {set i 0} {$i < $v} {incr i} { lappend l [read_reply $id 0] }
            return $l
        }
        % {
            set l {}
            for {set i 0} {$i < 2 * $v} {incr i} { lappend l [read_reply $id 0] }
            return $l
        }
        | {
            for {set i 0} {$i < 2 * $v} {incr i} { read_reply $id 0 }
            return [read_reply $id $top]
        }
        default {
            error "protocol error from server: unexpected line '$line'" {} {VT_PROTO}
        }
    }
}

proc ::vt::client::flush_out {id} {
    upvar #0 ::vt::client::S$id s
    set dl [deadline $id]
    while 1 {
        if {[catch {flush $s(fd)} err]} {
            error "write failed: $err" {} {VT_CONN_CLOSED}
        }
        if {[chan pending output $s(fd)] <= 0} return
        if {[clock milliseconds] >= $dl} {
            error "timeout after $s(timeout) s writing to $s(host):$s(port)" {} {VT_TIMEOUT}
        }
        # Keep reading replies meanwhile so the server never blocks on us.
        if {[wait_event $id w $dl] eq "r"} { pull $id }
    }
}

proc ::vt::client::write_noread {id bytes {secs 10}} {
    upvar #0 ::vt::client::S$id s
    if {[catch {puts -nonewline $s(fd) $bytes}]} { return closed }
    set last [chan pending output $s(fd)]
    set stuck_since [clock milliseconds]
    while 1 {
        if {[catch {flush $s(fd)}]} { return closed }
        set p [chan pending output $s(fd)]
        if {$p <= 0} { return ok }
        if {$p != $last} {
            set last $p
            set stuck_since [clock milliseconds]
        } elseif {[clock milliseconds] - $stuck_since > $secs * 1000} {
            return stuck
        }
        # Sleep briefly with the event loop running; Tcl flushes in the
        # background when the socket becomes writable.
        set var ::vt::client::S${id}(ev)
        set timer [after 20 [list set $var t]]
        vwait $var
        after cancel $timer
    }
}

proc ::vt::client::read_until_close {id {secs {}}} {
    upvar #0 ::vt::client::S$id s
    if {$secs eq ""} { set secs $s(timeout) }
    set dl [expr {[clock milliseconds] + int($secs * 1000)}]
    while 1 {
        pull $id
        if {$s(eof)} break
        if {[clock milliseconds] >= $dl} {
            error "timeout after $secs s waiting for the server to close the connection;\
                   received so far: [string range $s(buf) $s(pos) [expr {$s(pos) + 300}]]" {} {VT_TIMEOUT}
        }
        wait_event $id r $dl
    }
    set data [string range $s(buf) $s(pos) end]
    set s(buf) ""
    set s(pos) 0
    return $data
}

proc ::vt::client::wait_close {id {secs 5}} {
    upvar #0 ::vt::client::S$id s
    set dl [expr {[clock milliseconds] + int($secs * 1000)}]
    while 1 {
        # Unread replies are discarded: only the close matters here.
        pull $id
        set s(buf) ""
        set s(pos) 0
        if {$s(eof)} { return 1 }
        if {[clock milliseconds] >= $dl} { return 0 }
        wait_event $id r $dl
    }
}

proc ::vt::client::is_pending {id} {
    upvar #0 ::vt::client::S$id s
    pull $id
    return [expr {[string length $s(buf)] > $s(pos)}]
}
