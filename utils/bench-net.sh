#!/bin/sh
# bench-net: redis-benchmark (PING_INLINE, PING_MBULK, 50 clients, -P 1 and
# -P 16) against vectis and against Debian's redis-server on this machine,
# in the same run, interleaved so both see the same machine load. Prints
# requests/s, p50 and p99 latency for each and the vectis/redis ratios.
# Never fails on speed. BENCH_N (default 1000000) requests per test,
# BENCH_ROUNDS (default 3) rounds per test, median reported.
set -e
cd "$(dirname "$0")/.."
N=${BENCH_N:-1000000}
C=${BENCH_CLIENTS:-50}
VPORT=${VPORT:-16379}
RPORT=${RPORT:-16380}
TMP=$(mktemp -d)
trap 'kill $VPID $RPID 2>/dev/null || true; rm -rf "$TMP"' EXIT INT TERM

command -v redis-benchmark >/dev/null || { echo "redis-benchmark missing (apt-get install redis-tools)"; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server missing (apt-get install redis-server)"; exit 1; }

./src/vectis-server --port $VPORT --logfile "$TMP/vectis.log" --dir "$TMP" &
VPID=$!
redis-server --port $RPORT --save "" --appendonly no --dir "$TMP" --logfile "$TMP/redis.log" &
RPID=$!
for p in $VPORT $RPORT; do
    i=0
    until redis-cli -p $p ping >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -gt 100 ] && { echo "server on $p did not start"; exit 1; }
        sleep 0.1
    done
done

echo "bench-net: $N requests, $C clients, $(nproc) cores; load before: $(uptime | sed 's/.*load/load/')"
echo "vectis $(./src/vectis-server --version | cut -d' ' -f3) vs $(redis-server --version | cut -d' ' -f1-3)"
printf '%-12s %3s  %12s %8s %8s  %12s %8s %8s  %7s %7s\n' test P "vectis rps" p50ms p99ms \
    "redis rps" p50ms p99ms "rps x" "p99 x"
# Each test runs ROUNDS times, alternating servers, and the median round is
# reported: single runs on a shared 2-core machine swing by 15%.
ROUNDS=${BENCH_ROUNDS:-3}
for P in 1 16; do
    for t in PING_INLINE PING_MBULK; do
        lt=$(echo $t | tr A-Z a-z)
        for r in $(seq $ROUNDS); do
            for run in vectis redis; do
                port=$VPORT; [ $run = redis ] && port=$RPORT
                redis-benchmark -p $port -c $C -n $N -P $P -t $lt --csv 2>/dev/null |
                    tr -d '"' | grep "^$t," >> "$TMP/$run.$P.$t.csv"
            done
        done
        # The median by requests/s of each server's rounds.
        v=$(sort -t, -k2 -g "$TMP/vectis.$P.$t.csv" | sed -n "$(( (ROUNDS + 1) / 2 ))p")
        r=$(sort -t, -k2 -g "$TMP/redis.$P.$t.csv" | sed -n "$(( (ROUNDS + 1) / 2 ))p")
        echo "$v|$r" | awk -F'|' -v P=$P -v T=$t '{
            split($1, a, ","); split($2, b, ",");
            printf "%-12s %3d  %12.0f %8.3f %8.3f  %12.0f %8.3f %8.3f  %7.2f %7.2f\n",
                T, P, a[2], a[5], a[7], b[2], b[5], b[7], a[2] / b[2], (b[7] > 0 ? a[7] / b[7] : 0) }'
    done
done
echo "load after: $(uptime | sed 's/.*load/load/')"
echo "(rps x = vectis/redis requests per second, higher is better; p99 x = vectis/redis p99, lower is better)"
