#!/bin/sh
# Installs the Debian packages vectis needs to build, test and benchmark.
# As root it runs `apt-get update` once (a fresh machine has an empty package
# list) and `apt-get install -y` for what is missing; otherwise it prints the
# command to run. Packages already installed are left alone, so a second run
# costs one dpkg-query.
set -e

PKGS="build-essential pkg-config libevent-dev librocksdb-dev libxxhash-dev
libjemalloc-dev libhiredis-dev libcmocka-dev tcl redis-tools redis-server
python3-redis clang libclang-rt-14-dev iproute2"

# Benchmark-only packages (make bench*): the peer index and the data set.
if [ "$1" = "--bench" ]; then
    PKGS="$PKGS libhnswlib-dev dataset-fashion-mnist g++ zlib1g-dev"
fi
# The aarch64 cross build of the SIMD test (make test-neon, about 56 MB):
# the compiler, the aarch64 glibc (headers, crt files, the static libc.a;
# the compiler only recommends it) and qemu-aarch64 to run the binary.
# Rejected: multiarch (dpkg --add-architecture arm64) for an arm64 cmocka --
# it changes apt's configuration for every later install and ships no
# static library; tests/neon/cmocka.h stands in.
if [ "$1" = "--cross" ]; then
    PKGS="$PKGS gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "vectis needs these packages:$missing"
    echo "run: sudo apt-get update && sudo apt-get install -y$missing"
    exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Debian may start redis-server as a service on install; the tests and
# benchmarks start their own instances on other ports, and `make run` wants
# 6379, so stop the packaged service (only that one) if it runs.
if command -v service >/dev/null 2>&1; then service redis-server stop >/dev/null 2>&1 || true; fi
exit 0
