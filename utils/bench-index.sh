#!/bin/sh
# bench-index.sh -- `make bench-index`: vectis's index library against hnswlib, side by side.
#
# Prepares the data sets once (build/data/, cached), then for each data set runs the hnswlib
# peer and then bench_index on the same files, one after the other (never both at once: the
# machine has two cores), and bench_index prints the comparison table. `uptime` is printed
# before and after, since the machine is shared and the figures are noisy.
#
# Environment:
#   BUILD=build              where the tools were built (make puts them in $BUILD/utils)
#   BENCH_DATA=build/data    data-set cache
#   BENCH_QUICK=1            1,000 queries, a shorter ef sweep, 2-thread builds only
#   BENCH_DATASETS="fashion-mnist synth-200k"   which sets to run
# Raw records of every run are kept in $BUILD/bench/index-<set>-{hnswlib,vectis}.txt.
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

echo "bench-index: uptime before: $(uptime)"
"$TOOLS/datasets" prepare "$BENCH_DATA"

for ds in $BENCH_DATASETS; do
    dir=$BENCH_DATA/$ds
    echo
    echo "---- $ds: hnswlib $(date +%T), load: $(cut -d' ' -f1-3 /proc/loadavg)"
    # shellcheck disable=SC2086
    "$TOOLS/hnswlib_peer" --data "$dir" $ARGS --search-threads 1,2 | tee "$OUT/index-$ds-hnswlib.txt"
    echo "---- $ds: vectis $(date +%T), load: $(cut -d' ' -f1-3 /proc/loadavg)"
    # shellcheck disable=SC2086
    "$TOOLS/bench_index" --data "$dir" $ARGS $VARGS --search-threads 1,2 \
        --peer "$OUT/index-$ds-hnswlib.txt" | tee "$OUT/index-$ds-vectis.txt"
done

echo
echo "bench-index: uptime after: $(uptime)"
