#!/bin/sh
# bench-persist.sh -- `make bench-persist`: the persistence figures of issue 5 on the synthetic
# 128-d set of utils/datasets.c (seeded Gaussian mixture, unit rows; the first $ROWS rows of the
# cached 1,000,000-row file, which are exactly what `datasets synth --n $ROWS` writes).
#
#   0. data: `datasets synth $BENCH_DATA/synth-1m --n 1000000` (cached after the first run).
#   1. load rate: REPEAT rounds of three fresh servers, each on a fresh dir, one after the
#      other: appendonly no; appendonly yes + appendfsync always; appendonly yes + appendfsync
#      everysec (medians over the rounds, and everysec/no round by round). Same client each time: `VADD synth FP32 <row> <id> M 16 EF 200` with the
#      server's default quantisation (Q8, as Redis 8; QUANT=NOQUANT overrides), LOAD_CONNS
#      connections x LOAD_DEPTH pipelined requests (2 x 256: bench-vset's best ingest
#      configuration). Measured: acknowledged VADDs per second (the write is logged and, with
#      always, synced; indexing goes on in the background and is not waited for). Each server
#      is then shut down without saving, except the last everysec one, which goes on.
#   2. on-disk size: wait until INFO vectors says rows_unindexed:0 and index_build_queue:0,
#      SAVE (a checkpoint), then `du -sb` of the server's dir, and again once the size has
#      stopped changing (RocksDB compactions after the log is trimmed), against ROWS x 128 x 4
#      raw vector bytes; INFO persistence per column family.
#   3. restart: SHUTDOWN (checkpoints), start, and time from the process start to the first
#      VSIM returning results (polled every 10 ms; refused connections and -LOADING are "not
#      yet") and to INFO loading:0; the server's log lines about loading; then the time until
#      it has no row left to index. Then EXTRA rows more (query rows, "q:<i>", acknowledged
#      and left in the log), kill -9, start, the same figures, and VCARD against what was
#      acknowledged.
# Every phase prints `uptime` before and after: the machine is shared, figures are noisy.
#
# Environment:
#   BUILD=build                   where make put the server and tools
#   BENCH_DATA=build/data         data-set cache
#   ROWS=1000000                  rows loaded (quick run: ROWS=100000)
#   QUANT=default                 default (Q8) | NOQUANT | Q8 | BIN
#   LOAD_CONNS=2 LOAD_DEPTH=256   client connections and pipeline depth of every load
#   SEGMENT_MAX_ROWS=250000       the server's segment-max-rows (sealed segments of 250,000)
#   REPEAT=3                      rounds of the three loads (medians and per-round ratios)
#   EXTRA=10000                   rows added before the kill -9 (query rows: at most 10,000)
#   INDEX_WAIT=3600               most seconds to wait for indexing (after a load, a restart)
#   BENCH_PERSIST_DIR=/tmp/vectis-bench-persist   scratch (dirs, logs); removed at the end
#                                 unless KEEP=1
# Raw records: $BUILD/bench/persist.txt.
#
# Exit status: 1 only when a server cannot be started (or the tools are missing); speed and
# missing features (SAVE before the checkpoint code lands) never fail the run.
set -e

BUILD=${BUILD:-build}
BENCH_DATA=${BENCH_DATA:-$BUILD/data}
ROWS=${ROWS:-1000000}
QUANT=${QUANT:-default}
LOAD_CONNS=${LOAD_CONNS:-2}
LOAD_DEPTH=${LOAD_DEPTH:-256}
SEGMENT_MAX_ROWS=${SEGMENT_MAX_ROWS:-250000}
EXTRA=${EXTRA:-10000}
REPEAT=${REPEAT:-3}
INDEX_WAIT=${INDEX_WAIT:-3600}
ROOT=${BENCH_PERSIST_DIR:-/tmp/vectis-bench-persist}
TOOLS=$BUILD/utils
SERVER=$BUILD/vectis-server
DATA=$BENCH_DATA/synth-1m
OUT=$BUILD/bench
DIM=128

case "$ROOT" in
/tmp/?*) ;;
*) echo "bench-persist: BENCH_PERSIST_DIR must be a directory under /tmp (it is removed)"; exit 1 ;;
esac
if ! [ "$ROWS" -ge 1 ] 2>/dev/null || [ "$ROWS" -gt 1000000 ]; then
    echo "bench-persist: ROWS must be 1..1000000"
    exit 1
fi
mkdir -p "$OUT"
SERVER=$(cd "$(dirname "$SERVER")" && pwd)/$(basename "$SERVER")
RESULTS=$OUT/persist.results
RAWOUT=$OUT/persist.txt

# Everything printed goes to the terminal and to $RAWOUT (the script runs itself once more with
# its output through tee; sh has no pipefail, so the status travels through a file).
if [ -z "$BENCH_PERSIST_TEED" ]; then
    rm -f "$OUT/persist.rc"
    {
        status=0
        BENCH_PERSIST_TEED=1 "$0" "$@" 2>&1 || status=$?
        echo $status > "$OUT/persist.rc"
    } | tee "$RAWOUT"
    rc=$(cat "$OUT/persist.rc" 2>/dev/null || echo 1)
    rm -f "$OUT/persist.rc"
    exit "$rc"
fi
: > "$RESULTS"

# ---- helpers
SPID=
PORT=
say() { echo "$@"; }
stamp() { say "bench-persist: uptime $1: $(uptime)"; }
result() { echo "RESULT $1 $2"; echo "RESULT $1 $2" >> "$RESULTS"; }

# Runs a tool, shows its output and keeps its RESULT lines; returns the tool's status.
run_tool() {
    rm -f "$ROOT/tool.rc"
    { "$@" 2>&1 || echo $? > "$ROOT/tool.rc"; } | tee -a "$ROOT/tool.out"
    grep '^RESULT ' "$ROOT/tool.out" >> "$RESULTS" 2>/dev/null || true
    : > "$ROOT/tool.out"
    [ ! -f "$ROOT/tool.rc" ]
}

port_free() {
    ! (ss -Htln 2>/dev/null | awk '{print $4}' | grep -q ":$1\$")
}

# start_server NAME APPENDONLY FSYNC: a server on $ROOT/NAME/data, log $ROOT/logs/NAME.log;
# sets SPID and T0 (realtime second right before the exec).
start_server() {
    name=$1
    mkdir -p "$ROOT/$name/data" "$ROOT/logs"
    LOG=$ROOT/logs/$name.log
    touch "$LOG"
    LOGLINES=$(wc -l < "$LOG")
    T0=$(date +%s.%N)
    "$SERVER" --port "$PORT" --bind 127.0.0.1 --dir "$ROOT/$name/data" --logfile "$LOG" \
        --appendonly "$2" --appendfsync "$3" --segment-max-rows "$SEGMENT_MAX_ROWS" &
    SPID=$!
}

# Waits until the fresh server answers PING; exits 1 if it does not within 10 s.
wait_ping() {
    i=0
    until redis-cli -p "$PORT" ping >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$SPID" 2>/dev/null; then
            say "bench-persist: the server did not start; its log ($LOG):"
            tail -n 20 "$LOG"
            exit 1
        fi
        sleep 0.1
    done
}

# Waits up to $1 seconds for the server process to exit; 0 when it did.
wait_exit() {
    i=0
    while kill -0 "$SPID" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt $(($1 * 10)) ] && return 1
        sleep 0.1
    done
    wait "$SPID" 2>/dev/null || true
    return 0
}

stop_server() {
    [ -n "$SPID" ] || return 0
    if kill -0 "$SPID" 2>/dev/null; then
        redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true
        wait_exit 30 || { kill "$SPID" 2>/dev/null || true; wait_exit 10 || kill -9 "$SPID"; }
    fi
    wait "$SPID" 2>/dev/null || true
    SPID=
}

# The server's log lines about loading since the last start.
show_log() {
    say "server log ($1), lines about loading since the start:"
    tail -n +"$((LOGLINES + 1))" "$LOG" |
        grep -i -E 'load|replay|checkpoint|recover|restor|segment|index|ready|LSN|log' |
        head -n 40 | sed 's/^/  | /'
}

cleanup() {
    stop_server
    if [ -z "$KEEP" ] || [ "$KEEP" = 0 ]; then rm -rf "$ROOT"; else say "kept $ROOT"; fi
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM

rm -rf "$ROOT"
mkdir -p "$ROOT"
: > "$ROOT/tool.out"
# A private copy of the server, so that a rebuild of $BUILD during the run (several engineers
# share the tree) cannot change the binary between phases.
[ -x "$SERVER" ] || { say "bench-persist: no server binary $SERVER"; exit 1; }
cp "$SERVER" "$ROOT/vectis-server"
say "bench-persist: server binary $SERVER ($(date -r "$SERVER" '+%F %T'), $("$SERVER" --version 2>&1 | head -n 1)), copied to $ROOT"
SERVER=$ROOT/vectis-server

for try in 1 2 3 4 5 6 7 8 9 10; do
    p=$((20000 + $$ % 20000 + try * 89))
    if port_free $p; then PORT=$p; break; fi
done
[ -n "$PORT" ] || { say "bench-persist: no free port found"; exit 1; }

stamp "at the start"
say "bench-persist: $(nproc) cores;$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2);" \
    "$(git log -1 --format='%h %s' 2>/dev/null | cut -c1-70 || true)"
say "bench-persist: ROWS=$ROWS x $DIM, VADD FP32 quant=$QUANT M 16 EF 200," \
    "segment-max-rows $SEGMENT_MAX_ROWS, $LOAD_CONNS connections x depth $LOAD_DEPTH, port $PORT," \
    "scratch $ROOT"
result rows "$ROWS"
result dim "$DIM"

# ---- 0. data
"$TOOLS/datasets" synth "$DATA" --n 1000000

LOADARGS="--port $PORT --data $DATA --rows $ROWS --quant $QUANT --conns $LOAD_CONNS --depth $LOAD_DEPTH"

# ---- 1. load rates (a fresh server and dir for every run; REPEAT rounds of no, always, everysec,
# so the three modes of one round see about the same machine; the last everysec server is kept
# for the phases below)
round=1
while [ $round -le "$REPEAT" ]; do
    for mode in no always everysec; do
        say
        say "==== phase 1 (round $round of $REPEAT): load, appendonly" \
            "$([ $mode = no ] && echo no || echo "yes, appendfsync $mode")"
        stamp before
        if [ $mode = no ]; then start_server no no everysec; else start_server $mode yes $mode; fi
        wait_ping
        say "server pid $SPID started $(date +%T)"
        last=0
        [ $mode = everysec ] && [ $round -eq "$REPEAT" ] && last=1
        WAIT=0
        [ $last = 1 ] && WAIT=$INDEX_WAIT
        # shellcheck disable=SC2086
        run_tool "$TOOLS/bench_persist" load $LOADARGS --label "load_$mode" --wait-indexed "$WAIT" ||
            say "bench-persist: ERROR: the $mode load failed (figures above are incomplete)"
        stamp after
        if [ $last = 0 ]; then
            say "shutting the $mode server down (nosave) and removing its dir"
            stop_server
            rm -rf "${ROOT:?}/$mode"
        fi
    done
    round=$((round + 1))
done

# ---- 2. on-disk size after a checkpoint (the everysec server, indexing finished above)
say
say "==== phase 2: on-disk size after SAVE (everysec server, dir $ROOT/everysec/data)"
stamp before
run_tool "$TOOLS/bench_persist" save --port "$PORT" || true
DB=$ROOT/everysec/data
d=$(du -sb "$DB" | cut -f1)
say "du -sb $DB right after SAVE: $d bytes (raw vectors $((ROWS * DIM * 4)) bytes)"
result disk_bytes "$d"
# RocksDB flushes and compacts in the background; wait until du has not changed for 10 s
# (at most 5 minutes) before the settled figure.
same=0
waited=0
while [ $same -lt 10 ] && [ $waited -lt 300 ]; do
    sleep 1
    waited=$((waited + 1))
    d2=$(du -sb "$DB" | cut -f1)
    if [ "$d2" = "$d" ]; then same=$((same + 1)); else same=0; d=$d2; fi
done
say "du -sb $DB once stable for ${same} s (after ${waited} s): $d bytes"
result disk_settled_bytes "$d"
say "files:"
du -sb "$DB"/* "$DB"/*/* 2>/dev/null | sort -k2 | awk '{printf "  %14d  %s\n", $1, $2}' |
    grep -v -E '/(LOG\.old|OPTIONS)' | head -n 40
say "INFO persistence (per column family):"
redis-cli -p "$PORT" info persistence | tr -d '\r' > "$ROOT/persistence.txt" || true
grep -E '^(rocksdb_|checkpoint|aof_|rdb_)' "$ROOT/persistence.txt" | sed 's/^/  /'
# Live bytes per family and what the checkpoint wrote, for the summary.
grep -E '^(checkpoint_last_bytes|rocksdb_(meta|log|data|index)_live_bytes|rocksdb_sst_bytes):' \
    "$ROOT/persistence.txt" | tr ':' ' ' | while read -r k v; do result "$k" "$v"; done
stamp after

# ---- 3. restarts
say
say "==== phase 3a: clean restart (SHUTDOWN, then start)"
stamp before
ts=$(date +%s.%N)
redis-cli -p "$PORT" shutdown >/dev/null 2>&1 || true
if wait_exit 1800; then
    te=$(date +%s.%N)
    sh=$(awk -v a="$ts" -v b="$te" 'BEGIN { printf "%.3f", b - a }')
    say "SHUTDOWN: process exited after $sh s"
    result shutdown_s "$sh"
else
    say "bench-persist: the server did not exit within 30 minutes of SHUTDOWN; killing it"
    kill -9 "$SPID" 2>/dev/null || true
    wait_exit 10 || true
fi
SPID=
start_server everysec yes everysec
run_tool "$TOOLS/bench_persist" first-vsim --port "$PORT" --data "$DATA" --since "$T0" \
    --pid "$SPID" --label clean --expect "$ROWS" --index-timeout "$INDEX_WAIT" || {
    show_log "clean restart"
    kill -0 "$SPID" 2>/dev/null || { say "bench-persist: the server did not restart"; exit 1; }
}
show_log "clean restart"
stamp after

say
say "==== phase 3b: kill -9 restart ($EXTRA more rows acknowledged first, left in the log)"
stamp before
run_tool "$TOOLS/bench_persist" load --port "$PORT" --data "$DATA" --source query --prefix q: \
    --rows "$EXTRA" --quant "$QUANT" --conns "$LOAD_CONNS" --depth "$LOAD_DEPTH" \
    --label extra || say "bench-persist: ERROR: the extra load failed"
sleep 2 # past one everysec sync, so the figure is about restart time, not the fsync policy
kill -9 "$SPID"
wait_exit 10 || true
say "killed with SIGKILL at $(date +%T)"
SPID=
start_server everysec yes everysec
run_tool "$TOOLS/bench_persist" first-vsim --port "$PORT" --data "$DATA" --since "$T0" \
    --pid "$SPID" --label kill9 --expect "$((ROWS + EXTRA))" --index-timeout "$INDEX_WAIT" || {
    show_log "kill -9 restart"
    kill -0 "$SPID" 2>/dev/null || { say "bench-persist: the server did not restart"; exit 1; }
}
show_log "kill -9 restart"
stamp after
stop_server

# ---- summary
say
say "==== bench-persist summary: synth $ROWS x $DIM, VADD FP32 quant=$QUANT M 16 EF 200," \
    "segment-max-rows $SEGMENT_MAX_ROWS, $LOAD_CONNS conns x depth $LOAD_DEPTH ===="
"$TOOLS/bench_persist" summary "$RESULTS"
stamp "at the end"
exit 0
