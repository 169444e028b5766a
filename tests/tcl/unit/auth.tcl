# Authentication: requirepass, AUTH (1 and 2 arguments), HELLO AUTH, NOAUTH
# for everything but AUTH/HELLO/QUIT/RESET, RESET de-authenticates, runtime
# password changes, pre-auth protocol limits.

start_server {tags {auth}} {
    test {AUTH without requirepass: the Redis 7 error} {
        assert_error "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?" {r auth foo}
    }

    test {Without requirepass every command works unauthenticated} {
        set c [redis_client]
        assert_equal PONG [$c ping]
        assert {[string is integer -strict [$c client id]]}
        $c close
    }
}

start_server {tags {auth} overrides {requirepass foobar}} {
    test {NOAUTH before authentication} {
        set c [redis_client]
        assert_error "NOAUTH Authentication required." {$c ping}
        assert_error "NOAUTH Authentication required." {$c client id}
        assert_error "NOAUTH Authentication required." {$c info}
        assert_error "NOAUTH Authentication required." {$c config get port}
        assert_error "NOAUTH Authentication required." {$c shutdown}
        # Unknown commands are reported as unknown first (lookup precedes auth).
        assert_error "ERR unknown command*" {$c nosuchcommand}
        $c close
        assert {[server_is_alive]}
    }

    test {NOAUTH for inline commands too} {
        set c [raw_client]
        $c write "PING\r\n"
        $c flush
        assert_equal "-NOAUTH Authentication required." [$c read_line]
        $c close
    }

    test {AUTH with a wrong password: WRONGPASS, connection stays usable} {
        set c [redis_client]
        assert_error "WRONGPASS invalid username-password pair or user is disabled." {$c auth wrong}
        assert_error "NOAUTH*" {$c ping}
        assert_equal OK [$c auth foobar]
        assert_equal PONG [$c ping]
        $c close
    }

    test {AUTH default <password> and AUTH with an unknown user} {
        set c [redis_client]
        assert_error "WRONGPASS*" {$c auth nosuchuser foobar}
        assert_error "WRONGPASS*" {$c auth default wrong}
        assert_equal OK [$c auth default foobar]
        assert_equal PONG [$c ping]
        $c close
    }

    test {AUTH syntax error with too many arguments} {
        set c [redis_client]
        assert_error "ERR syntax error" {$c auth a b c}
        $c close
    }

    test {A failed AUTH after success keeps the connection authenticated} {
        set c [redis_client]
        $c auth foobar
        catch {$c auth wrong}
        assert_equal PONG [$c ping]
        $c close
    }

    test {HELLO without AUTH on a protected server: NOAUTH} {
        set c [redis_client]
        assert_error "NOAUTH HELLO must be called with the client already authenticated*" {$c hello 3}
        assert_error "NOAUTH HELLO must be called with the client already authenticated*" {$c hello}
        assert_error "NOAUTH Authentication required." {$c ping}
        $c close
    }

    test {HELLO 3 AUTH default <password> SETNAME authenticates in one step} {
        set c [redis_client]
        set m [$c hello 3 auth default foobar setname authed]
        assert_equal 3 [dict get $m proto]
        assert_equal PONG [$c ping]
        assert_equal authed [$c client getname]
        $c close
    }

    test {HELLO with a wrong password: WRONGPASS and still RESP2} {
        set c [redis_client]
        assert_error "WRONGPASS*" {$c hello 3 auth default wrong}
        assert_error "NOAUTH*" {$c ping}
        assert_equal - [$c last_type]
        $c close
    }

    test {QUIT and RESET are allowed before authentication} {
        set c [redis_client]
        assert_equal RESET [$c reset]
        assert_equal OK [$c quit]
        assert {[$c wait_close 5]}
        $c close
    }

    test {RESET makes an authenticated connection unauthenticated again} {
        set c [redis_client]
        $c auth foobar
        assert_equal PONG [$c ping]
        assert_equal RESET [$c reset]
        assert_error "NOAUTH*" {$c ping}
        $c close
    }

    test {errorstats count NOAUTH and WRONGPASS} {
        set admin [redis_client]
        $admin auth foobar
        $admin config resetstat
        set c [redis_client]
        catch {$c ping}
        catch {$c auth wrong}
        $c close
        set text [$admin info errorstats]
        assert_match "*errorstat_NOAUTH:count=1*" $text
        assert_match "*errorstat_WRONGPASS:count=1*" $text
        $admin close
    }

    test {Pre-auth limits: more than 10 arguments or a bulk above 16 KB closes} {
        assert_equal "-ERR Protocol error: unauthenticated multibulk length\r\n" \
            [raw_exchange_until_close "*11\r\n[string repeat "\$1\r\na\r\n" 11]" 3]
        assert_equal "-ERR Protocol error: unauthenticated bulk length\r\n" \
            [raw_exchange_until_close "*2\r\n\$4\r\nECHO\r\n\$20000\r\n" 3]
    }

    test {CONFIG SET requirepass: existing sessions stay, new ones use the new password} {
        set admin [redis_client]
        $admin auth foobar
        assert_equal OK [$admin config set requirepass newpass]
        assert_equal PONG [$admin ping]
        set c [redis_client]
        assert_error "WRONGPASS*" {$c auth foobar}
        assert_equal OK [$c auth newpass]
        $c close
        $admin config set requirepass ""
        set c [redis_client]
        assert_equal PONG [$c ping]
        $c close
        $admin config set requirepass foobar
        $admin close
    }
}

start_server {tags {auth} overrides {requirepass {"pass word"}}} {
    test {A quoted password with a space in the config file} {
        set c [redis_client]
        assert_equal OK [$c auth "pass word"]
        assert_equal PONG [$c ping]
        $c close
    }
}
