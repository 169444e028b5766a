#!/bin/sh
# Installs the Debian packages that `make test-neon` (tests/neon.mk) needs to
# build the SIMD unit test for aarch64 and run it on an x86-64 machine:
#
#   gcc-aarch64-linux-gnu   the cross compiler (and binutils, as dependencies)
#   libc6-dev-arm64-cross   aarch64 glibc headers, crt files and the static
#                           libc.a for -static; gcc-aarch64-linux-gnu only
#                           recommends it, and we install without recommends
#   qemu-user               qemu-aarch64, the user-mode emulator that runs
#                           the aarch64 binary under this kernel
#
# About 56 MB of downloads on a machine that has none of them. As root it
# runs `apt-get update` once (a fresh machine has an empty package list) and
# `apt-get install -y` for what is missing; otherwise it prints the command to
# run and exits 1. Packages already installed are left alone, so a second run
# costs one dpkg-query per package.
#
# Rejected: multiarch (`dpkg --add-architecture arm64` for libcmocka-dev:arm64).
# It changes the machine's apt configuration for every later apt-get of every
# user, adds the arm64 package lists (~10 MB more per update), and Debian's
# libcmocka-dev ships no static library anyway; tests/neon.mk builds the test
# against a small cmocka stand-in instead (tests/neon/cmocka.h).
set -e

PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "make test-neon needs these packages:$missing"
    echo "run: sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing"
    exit 1
fi

echo "install-cross: installing$missing (about 56 MB to download when none is present)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
exit 0
