# Real client libraries against the vector-set commands:
#  - Debian's python3-redis (4.3.4, RESP2): execute_command("VADD", ...),
#    VSIM in every reply form, VEMB, VINFO, attributes and FILTER, VLINKS,
#    VRANDMEMBER, VRANGE, VREM, errors as ResponseError, a pipeline of 500
#    VADDs, TYPE;
#  - node-redis (npm `redis`, pinned in tests/helpers/node/package.json,
#    installed by `make vset-node-deps`): its typed vector-set methods, in
#    RESP3 and RESP2 (tests/helpers/node/vset-check.js).
# Both run the points example of the vector-set documentation. The node test
# is skipped, with the reason, when node/npm or the package is missing.
# Runs only when "vset-clients" is listed in tests/tcl/unit/vset/ENABLED.

source [file join $::vt_dir support vset_util.tcl]

set ::vs_py_script {
import json, time
import struct
import sys

import redis

port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
r.delete("points")
points = [("pt:A", (1.0, 1.0)), ("pt:B", (-1.0, -1.0)), ("pt:C", (-1.0, 1.0)),
          ("pt:D", (1.0, -1.0)), ("pt:E", (1.0, 0.0))]
for name, (x, y) in points:
    assert r.execute_command("VADD", "points", "VALUES", 2, x, y, name) == 1, name
assert r.execute_command("VADD", "points", "VALUES", 2, 1.0, 1.0, "pt:A") == 0
print("vadd ok")
assert r.execute_command("VCARD", "points") == 5
assert r.execute_command("VDIM", "points") == 2
assert r.type("points") == b"vectorset", r.type("points")
assert r.exists("points") == 1
print("vcard vdim type ok")

res = r.execute_command("VSIM", "points", "VALUES", 2, 0.9, 0.1)
assert res == [b"pt:E", b"pt:A", b"pt:D", b"pt:C", b"pt:B"], res
blob = struct.pack("<2f", 0.9, 0.1)
assert r.execute_command("VSIM", "points", "FP32", blob) == res
res = r.execute_command("VSIM", "points", "ELE", "pt:A", "WITHSCORES", "COUNT", 2)
assert len(res) == 4 and res[0] == b"pt:A" and res[2] == b"pt:E", res
assert abs(float(res[1]) - 1.0) < 1e-3 and abs(float(res[3]) - 0.8535533) < 1e-2, res
print("vsim ok")

emb = [float(x) for x in r.execute_command("VEMB", "points", "pt:E")]
assert len(emb) == 2 and abs(emb[0] - 1.0) < 0.02 and abs(emb[1]) < 0.02, emb
assert r.execute_command("VEMB", "points", "nosuch") is None
raw = r.execute_command("VEMB", "points", "pt:A", "RAW")
assert raw[0] in (b"int8", "int8") and len(raw[1]) == 2, raw
assert abs(float(raw[2]) - 2 ** 0.5) < 1e-4, raw
print("vemb ok")

flat = r.execute_command("VINFO", "points")
info = dict(zip(flat[0::2], flat[1::2]))
assert info[b"quant-type"] in (b"int8", "int8"), info
assert info[b"vector-dim"] == 2 and info[b"size"] == 5 and info[b"hnsw-m"] == 16, info
assert r.execute_command("VINFO", "nokey") is None
print("vinfo ok")

attrs = {"pt:A": {"size": "large", "price": 18.99}, "pt:B": {"size": "large", "price": 35.99},
         "pt:C": {"size": "large", "price": 25.99}, "pt:D": {"size": "small", "price": 21.00},
         "pt:E": {"size": "small", "price": 17.75}}
for name, a in attrs.items():
    assert r.execute_command("VSETATTR", "points", name, json.dumps(a)) == 1
assert json.loads(r.execute_command("VGETATTR", "points", "pt:A")) == attrs["pt:A"]
assert r.execute_command("VGETATTR", "points", "nosuch") is None
assert r.execute_command("VSETATTR", "points", "nosuch", "{}") == 0
res = r.execute_command("VSIM", "points", "ELE", "pt:A", "FILTER", '.size == "large"')
assert res == [b"pt:A", b"pt:C", b"pt:B"], res
res = r.execute_command("VSIM", "points", "ELE", "pt:A", "FILTER", '.size == "large" && .price > 20.00')
assert res == [b"pt:C", b"pt:B"], res
res = r.execute_command("VSIM", "points", "VALUES", 2, 0.9, 0.1, "WITHSCORES", "WITHATTRIBS",
                        "FILTER", ".price < 20")
assert len(res) == 6 and res[0] == b"pt:E" and res[3] == b"pt:A", res
assert json.loads(res[2]) == attrs["pt:E"], res
print("attributes filter ok")

# vectis links an element once the background index has it
for _ in range(200):
    if b"rows_unindexed:0" in r.execute_command("INFO", "vectors"):
        break
    time.sleep(0.01)
links = r.execute_command("VLINKS", "points", "pt:A")
assert len(links) >= 1 and len(links[-1]) >= 1, links
assert all(n in [b"pt:B", b"pt:C", b"pt:D", b"pt:E"] for lv in links for n in lv), links
assert r.execute_command("VLINKS", "points", "nosuch") is None
one = r.execute_command("VRANDMEMBER", "points")
assert one in [n.encode() for n, _ in points], one
assert len(set(r.execute_command("VRANDMEMBER", "points", 3))) == 3
assert len(r.execute_command("VRANDMEMBER", "points", -8)) == 8
assert r.execute_command("VRANDMEMBER", "points", 0) == []
assert r.execute_command("VRANGE", "points", "-", "+") == [b"pt:A", b"pt:B", b"pt:C", b"pt:D", b"pt:E"]
assert r.execute_command("VRANGE", "points", "(pt:A", "[pt:C") == [b"pt:B", b"pt:C"]
assert r.execute_command("VISMEMBER", "points", "pt:A") == 1
print("vlinks vrandmember vrange ok")

for args, text in [(("VADD", "points", "VALUES", 3, 1, 2, 3, "x"), "Vector dimension mismatch - got 3 but set has 2"),
                   (("VSIM", "points", "ELE", "nosuch"), "element not found in set"),
                   (("VSIM", "points", "ELE", "pt:A", "COUNT", 0), "invalid COUNT"),
                   (("VDIM", "nokey"), "key does not exist")]:
    try:
        r.execute_command(*args)
        raise SystemExit("no error for %r" % (args,))
    except redis.exceptions.ResponseError as e:
        assert text in str(e), (args, str(e))
print("errors ok")

p = r.pipeline(transaction=False)
for i in range(500):
    p.execute_command("VADD", "many", "FP32", struct.pack("<3f", i, 1.0, -i), "m%d" % i, "NOQUANT")
assert p.execute() == [1] * 500
assert r.execute_command("VCARD", "many") == 500
assert r.execute_command("VSIM", "many", "ELE", "m7", "COUNT", 1) == [b"m7"]
print("pipeline ok")

for name, _ in points:
    assert r.execute_command("VREM", "points", name) == 1
assert r.execute_command("VREM", "points", "pt:A") == 0
assert r.exists("points") == 0
assert r.execute_command("VSIM", "points", "VALUES", 2, 1, 0) == []
assert r.delete("many") == 1
print("vrem ok")
print("ALL OK")
}

start_server {tags {vset python}} {
    test {python3-redis: vector-set commands through execute_command (RESP2)} {
        set py /usr/bin/python3
        if {![file executable $py] || [catch {exec $py -c "import redis"} err]} {
            fail "Debian python3-redis is not installed (/usr/bin/python3 -c 'import redis': $err)"
        }
        set script [file join [srv 0 dir] vset_client.py]
        vt_file_write $script $::vs_py_script
        lassign [run_program [list $py $script [srv 0 port]] 120] code out
        foreach line [split [string trim $out] "\n"] { puts "    python: $line" }
        assert_equal 0 $code "python output above"
        assert_match "*ALL OK*" $out
    }
}

# Finds node and the installed package; returns "" when usable, else the
# reason to skip. Installs the package with npm when it is missing.
proc vs_node_ready {dir} {
    if {[auto_execok node] eq ""} { return "node is not installed" }
    if {[file exists [file join $dir node_modules redis package.json]]} { return "" }
    if {[auto_execok npm] eq ""} { return "npm is not installed (and $dir/node_modules is missing)" }
    lassign [run_program [list npm ci --prefix $dir --no-audit --no-fund --loglevel=error] 300] code out
    if {$code ne "0" || ![file exists [file join $dir node_modules redis package.json]]} {
        return "npm ci --prefix $dir failed (exit $code): [string range $out 0 400]"
    }
    return ""
}

start_server {tags {vset node}} {
    set name {node-redis: typed vector-set methods (vAdd, vSim, vEmb, vInfo, ...) in RESP3 and RESP2}
    set dir [file join $::vt::root tests helpers node]
    set why [vs_node_ready $dir]
    if {$why ne ""} {
        vs_skip_test $name "SKIPPED, $why"
    } else {
        test $name {
            set ver [string trim [exec node -p "require('$dir/node_modules/redis/package.json').version"]]
            puts "    node [string trim [exec node --version]], redis (node-redis) $ver"
            lassign [run_program [list node [file join $dir vset-check.js] [srv 0 port]] 120] code out
            foreach line [split [string trim $out] "\n"] { puts "    node: $line" }
            assert_equal 0 $code "node output above"
            assert_match "*ALL OK*" $out
        }
    }
}
