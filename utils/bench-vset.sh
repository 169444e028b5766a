#!/bin/sh
# bench-vset.sh -- `make bench-vset`: Redis 8 vector-set commands end to end through a vectis
# server, next to the in-process HNSW of the index library, in one run.
#
#   1. data (cached under $BENCH_DATA): fashion-mnist as .fvecs (utils/datasets), an
#      L2-normalised copy in fashion-mnist-cos/ (bench_vset prepare) and its exact top-100 by
#      inner product = cosine (datasets gt);
#   2. a vectis server on a free port, its dir and log under $BUILD/bench-vset/;
#   3. bench_vset run: the in-process HNSW anchor (index library, IP over the unit rows,
#      M=16 EFC=200, measured interleaved with the VSIM sweep), VADD loads, VSIM sweeps, p99
#      under VADD load, the goal table (see utils/bench_vset.c);
#   4. the server is shut down (also on error or interrupt).
# `uptime` is printed before and after: the machine is shared, the figures are noisy.
#
# Environment:
#   BUILD=build             where make put the server and tools
#   BENCH_DATA=build/data   data-set cache
#   BENCH_QUICK=1           quick mode (~2 minutes): 2-connection loads only, ef 10,20,40,80,200,
#                           500 queries per point (repeated for at least 0.5 s), load test
#                           4 rounds of 2 s idle + 2 s loaded
#   BENCH_VSET_ARGS="..."   extra arguments for bench_vset run (e.g. --load-rate 2000)
# Raw records: $BUILD/bench/vset.txt.
#
# Exit status: non-zero only when something is broken, never because of speed.
set -e

BUILD=${BUILD:-build}
BENCH_DATA=${BENCH_DATA:-$BUILD/data}
TOOLS=$BUILD/utils
OUT=$BUILD/bench
RUNDIR=$BUILD/bench-vset
RAW=$BENCH_DATA/fashion-mnist
COS=$BENCH_DATA/fashion-mnist-cos
mkdir -p "$OUT" "$RUNDIR" "$COS"
RUNDIR=$(cd "$RUNDIR" && pwd) # the server chdirs to its dir before opening the log

if [ -n "$BENCH_QUICK" ] && [ "$BENCH_QUICK" != 0 ]; then
    EFS=10,20,40,80,200
    ARGS="--quick --efs $EFS --queries 500 --sub-queries 500 --min-seconds 0.5 --load-conns 2"
    ARGS="$ARGS --load-seconds 8 --load-rounds 4"
    echo "bench-vset: QUICK mode"
else
    EFS=10,20,40,80,120,200,400
    ARGS="--efs $EFS --queries 10000 --sub-queries 2000 --min-seconds 1 --load-conns 1,2"
    ARGS="$ARGS --load-seconds 15 --load-rounds 5"
fi

echo "bench-vset: uptime before: $(uptime)"
echo "bench-vset: $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"

# ---- 1. data
"$TOOLS/datasets" fashion-mnist "$RAW"
"$TOOLS/bench_vset" prepare "$RAW" "$COS"
"$TOOLS/datasets" gt "$COS"

# ---- 2. the server
port_free() {
    ! (ss -Htln 2>/dev/null | awk '{print $4}' | grep -q ":$1\$")
}
PORT=
for try in 1 2 3 4 5 6 7 8 9 10; do
    p=$((20000 + $$ % 20000 + try * 97))
    if port_free $p; then PORT=$p; break; fi
done
[ -n "$PORT" ] || { echo "bench-vset: no free port found"; exit 1; }
rm -f "$RUNDIR/vectis.log"
"$BUILD/vectis-server" --port "$PORT" --bind 127.0.0.1 --dir "$RUNDIR" \
    --logfile "$RUNDIR/vectis.log" &
SPID=$!
stop_server() {
    if kill -0 $SPID 2>/dev/null; then
        redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
        i=0
        while kill -0 $SPID 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill $SPID 2>/dev/null || true
    fi
}
trap stop_server EXIT
trap 'stop_server; exit 1' INT TERM
i=0
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $SPID 2>/dev/null; then
        echo "bench-vset: server did not start (see $RUNDIR/vectis.log)"
        exit 1
    fi
    sleep 0.1
done
echo
echo "---- vectis server pid $SPID port $PORT (log $RUNDIR/vectis.log) $(date +%T)," \
    "load: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 3. the client
# (The exit status travels through a file: sh has no pipefail.)
rm -f "$OUT/vset.rc"
# shellcheck disable=SC2086
{
    status=0
    "$TOOLS/bench_vset" run --port "$PORT" --raw "$RAW" --cos "$COS" $ARGS $BENCH_VSET_ARGS ||
        status=$?
    echo $status > "$OUT/vset.rc"
} | tee "$OUT/vset.txt"
rc=$(cat "$OUT/vset.rc" 2>/dev/null || echo 1)

echo
echo "bench-vset: uptime after: $(uptime)"
exit $rc
