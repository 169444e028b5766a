#!/bin/sh
# Runs every unit-test binary given; prints one line per binary and a
# summary; exits non-zero when any failed.
pass=0; fail=0; failed=""
for t in "$@"; do
    if out=$("$t" 2>&1); then
        pass=$((pass + 1)); echo "[ok]   $t"
    else
        fail=$((fail + 1)); failed="$failed $t"; echo "[FAIL] $t"; echo "$out" | tail -40
    fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
