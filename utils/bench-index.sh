#!/bin/sh
# bench-index.sh -- `make bench-index`: vectis's index library against hnswlib, side by side.
#
# Prepares the data sets once (build/data/, cached), then for each data set runs bench_index,
# which starts the hnswlib peer (utils/hnswlib_peer --serve) as a child on the same files and
# alternates with it step by step (never both at once: the machine has two cores), then prints
# the comparison table. `uptime` is printed before and after, since the machine is shared and
# the figures are noisy.
#
# Environment:
#   BUILD=build              where the tools were built (make puts them in $BUILD/utils)
#   BENCH_DATA=build/data    data-set cache
#   BENCH_QUICK=1            1,000 queries, a shorter ef sweep, 2-thread builds only
#   BENCH_DATASETS="fashion-mnist synth-200k"   which sets to run (also: synth-1m, 1,000,000
#                            rows of the same mixture; its ground truth takes a few minutes once)
#   BENCH_REPS=1             passes per sweep point; the median QPS is reported (3 halves
#                            the noise on a busy machine and triples the sweep time)
# The output of every run is kept in $BUILD/bench/index-<set>.txt.
#
# Exit status: non-zero only when something is broken (a tool missing or failing), never
# because of speed.
set -e

BUILD=${BUILD:-build}
BENCH_DATA=${BENCH_DATA:-$BUILD/data}
BENCH_DATASETS=${BENCH_DATASETS:-"fashion-mnist synth-200k"}
TOOLS=$BUILD/utils
OUT=$BUILD/bench
mkdir -p "$OUT"

if [ -n "$BENCH_QUICK" ] && [ "$BENCH_QUICK" != 0 ]; then
    ARGS="--queries 1000 --efs 10,16,32,64,128,256 --build-threads 2"
    VARGS="--flat-queries 50"
    echo "bench-index: QUICK mode (1,000 queries, short sweep, 2-thread builds only)"
else
    ARGS="--queries 10000 --efs 10,16,20,32,48,64,96,128,192,256,384,512 --build-threads 2,1"
    VARGS="--flat-queries 200"
fi

ARGS="$ARGS --reps ${BENCH_REPS:-1}"

# Runs "$@" with its output shown and saved to $1; fails when the command fails (a plain
# pipe into tee would report tee's status).
run_logged() {
    log=$1
    shift
    { set +e; "$@"; echo $? >"$log.rc"; } | tee "$log"
    rc=$(cat "$log.rc")
    rm -f "$log.rc"
    if [ "$rc" != 0 ]; then
        echo "bench-index: $1 failed (exit $rc)" >&2
        exit 1
    fi
}

echo "bench-index: uptime before: $(uptime)"

for ds in $BENCH_DATASETS; do
    dir=$BENCH_DATA/$ds
    case $ds in
    fashion-mnist) "$TOOLS/datasets" fashion-mnist "$dir" ;;
    synth-200k) "$TOOLS/datasets" synth "$dir" --n 200000 ;;
    synth-1m) "$TOOLS/datasets" synth "$dir" --n 1000000 ;;
    *) echo "bench-index: unknown data set '$ds'" >&2; exit 1 ;;
    esac
    "$TOOLS/datasets" gt "$dir"
done

for ds in $BENCH_DATASETS; do
    dir=$BENCH_DATA/$ds
    echo
    echo "---- $ds: $(date +%T), load: $(cut -d' ' -f1-3 /proc/loadavg)"
    # bench_index runs the peer as a child and alternates: each hnswlib build right before the
    # matching vectis build, each sweep point right before or after vectis's, never both at once.
    # shellcheck disable=SC2086
    run_logged "$OUT/index-$ds.txt" "$TOOLS/bench_index" --data "$dir" $ARGS $VARGS \
        --search-threads 1,2 --peer-exec "$TOOLS/hnswlib_peer --data $dir $ARGS --serve"
done

echo
echo "bench-index: uptime after: $(uptime)"
