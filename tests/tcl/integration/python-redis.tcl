# Debian's python3-redis (4.3.4): connect with a password and a client name,
# PING, ECHO, INFO, CLIENT ID, CONFIG GET, a non-transactional pipeline of
# 1000 commands, and authentication errors. RESP3 (protocol=3) is checked
# only when the installed redis-py supports it (4.3.4 does not: redis-py
# added RESP3 in 5.0).

set ::py_script {
import sys
import redis

port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, password="pypass", client_name="pyclient",
                socket_timeout=20)
assert r.ping() is True, "ping"
print("ping ok")
assert r.echo("hi there") == b"hi there", "echo"
print("echo ok")
assert r.client_getname() in ("pyclient", b"pyclient"), r.client_getname()
print("client_name ok")
cid = r.client_id()
assert isinstance(cid, int) and cid > 0, cid
print("client_id ok")
info = r.info()
assert info["redis_mode"] == "standalone", info.get("redis_mode")
assert info["loading"] == 0
assert info["role"] == "master"
assert r.info("server")["tcp_port"] == port
print("info ok")
assert r.config_get("port") == {"port": str(port)}, r.config_get("port")
print("config ok")
p = r.pipeline(transaction=False)
for i in range(1000):
    p.echo("v%d" % i)
res = p.execute()
assert res == [("v%d" % i).encode() for i in range(1000)], res[:5]
print("pipeline ok")
try:
    redis.Redis(host="127.0.0.1", port=port, password="wrong").ping()
    raise SystemExit("wrong password accepted")
except (redis.exceptions.AuthenticationError, redis.exceptions.ResponseError) as e:
    assert "WRONGPASS" in str(e), str(e)
print("wrongpass ok")
try:
    redis.Redis(host="127.0.0.1", port=port).ping()
    raise SystemExit("no password accepted")
except (redis.exceptions.AuthenticationError, redis.exceptions.ResponseError) as e:
    assert "Authentication required" in str(e), str(e)
    print("noauth ok")
try:
    r3 = redis.Redis(host="127.0.0.1", port=port, password="pypass", protocol=3)
except TypeError:
    print("resp3 unsupported by redis-py", redis.__version__)
else:
    assert r3.ping() is True
    hello = r3.execute_command("HELLO", "3")
    print("resp3 ok")
print("ALL OK")
}

start_server {tags {python} overrides {requirepass pypass}} {
    test {python3-redis: password, client name, ping, echo, info, pipeline, auth errors} {
        set py /usr/bin/python3
        if {![file executable $py] || [catch {exec $py -c "import redis"} err]} {
            fail "Debian python3-redis is not installed (/usr/bin/python3 -c 'import redis': $err)"
        }
        set script [file join [srv 0 dir] client.py]
        vt_file_write $script $::py_script
        lassign [run_program [list $py $script [srv 0 port]] 60] code out
        assert_equal 0 $code "python output:\n$out"
        assert_match "*ALL OK*" $out
        foreach line [split [string trim $out] "\n"] { puts "    python: $line" }
    }
}
