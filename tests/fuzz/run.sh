#!/bin/sh
# Builds every libFuzzer target tests/fuzz/fuzz_<name>.c into build-fuzz/ and
# runs each for $FUZZ_SECONDS seconds (default 30), starting from the seed
# corpus tests/fuzz/corpus/<name>/ (new inputs go to build-fuzz/corpus/<name>,
# never into the repository). Prints one line per target; exits non-zero when
# a target fails to build or finds a crash (the input is kept under
# build-fuzz/artifacts/<name>/ and the log in build-fuzz/<name>.log).
#
# A target names the library sources it needs on a line of its own source:
#     FUZZ_SOURCES: src/resp/resp_parser.c src/resp/resp_reply.c
# (globs allowed) and, optionally, extra link flags:
#     FUZZ_LIBS: -lm
# The sources are compiled here with the fuzzer flags; build/libvectis.a is
# never used (it is built without sanitizer coverage).
#
# Environment: FUZZ_SECONDS, FUZZ_TARGETS (space-separated names, default
# all), CLANG (compiler, default clang or clang-14).
set -u
cd "$(dirname "$0")/../.." || exit 1

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
OUT=build-fuzz
FLAGS="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 -std=c11 -D_GNU_SOURCE -Isrc"

if [ -z "${CLANG:-}" ]; then
    for c in clang clang-14 clang-15 clang-16; do
        if command -v "$c" >/dev/null 2>&1; then CLANG=$c; break; fi
    done
fi
if [ -z "${CLANG:-}" ] || ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "fuzz: clang not found; install clang (Debian: apt-get install clang-14) to run the fuzz targets" >&2
    exit 1
fi
mkdir -p "$OUT"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
    >"$OUT/probe.c"
if ! "$CLANG" -fsanitize=fuzzer,address "$OUT/probe.c" -o "$OUT/probe" >"$OUT/probe.log" 2>&1; then
    echo "fuzz: $CLANG cannot link libFuzzer (-fsanitize=fuzzer); install the clang runtime" \
         "(Debian: libclang-rt-14-dev or clang-14). See $OUT/probe.log" >&2
    exit 1
fi
rm -f "$OUT/probe" "$OUT/probe.c" "$OUT/probe.log"

status=0
for src in tests/fuzz/fuzz_*.c; do
    [ -e "$src" ] || continue
    bin=$(basename "$src" .c)
    name=${bin#fuzz_}
    if [ -n "${FUZZ_TARGETS:-}" ]; then
        case " $FUZZ_TARGETS " in *" $name "*) ;; *) continue ;; esac
    fi
    sources=$(sed -n 's/^.*FUZZ_SOURCES:[[:space:]]*//p' "$src" | head -n 1)
    libs=$(sed -n 's/^.*FUZZ_LIBS:[[:space:]]*//p' "$src" | head -n 1)
    # Globs in FUZZ_SOURCES expand here, relative to the repository root.
    # shellcheck disable=SC2086
    set -- $sources
    log="$OUT/$name.log"
    if ! "$CLANG" $FLAGS -o "$OUT/$bin" "$src" "$@" $libs -lm >"$OUT/$name.build.log" 2>&1; then
        echo "[FAIL] $bin: build failed, see $OUT/$name.build.log"
        status=1
        continue
    fi
    mkdir -p "$OUT/corpus/$name" "$OUT/artifacts/$name"
    seeds=tests/fuzz/corpus/$name
    [ -d "$seeds" ] || seeds=
    # shellcheck disable=SC2086
    "./$OUT/$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 -timeout=25 \
        -rss_limit_mb=2048 -artifact_prefix="$OUT/artifacts/$name/" \
        "$OUT/corpus/$name" $seeds >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    if [ "$rc" -eq 0 ]; then
        echo "[ok]   $bin: ${FUZZ_SECONDS}s, ${runs:-?} runs, coverage ${cov:-?} edges, no crash"
    else
        art=$(ls -t "$OUT/artifacts/$name/" 2>/dev/null | head -n 1)
        echo "[FAIL] $bin: exit $rc, input $OUT/artifacts/$name/$art, log $log"
        status=1
    fi
done
exit $status
