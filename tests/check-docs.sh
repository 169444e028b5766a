#!/bin/sh
# Keeps the documentation true: redis.conf.example must be exactly what the
# server prints with --example-config (regenerate it with
# `./src/vectis-server --example-config > redis.conf.example`), and every
# directive and every command must appear in README.md.
set -e
bin=${1:-src/vectis-server}
fail=0
if ! "$bin" --example-config | cmp -s - redis.conf.example; then
    echo "docs: redis.conf.example differs from '$bin --example-config'"
    fail=1
fi
for d in $("$bin" --example-config | grep -v '^#' | awk 'NF {print $1}'); do
    if ! grep -q "| \`$d\` |" README.md; then
        echo "docs: directive '$d' is not in README.md's configuration table"
        fail=1
    fi
done
port=$((20000 + $$ % 20000))
"$bin" --port $port --logfile /dev/null &
pid=$!
i=0
until redis-cli -p $port ping >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt 100 ] && { echo "docs: server did not start"; kill $pid; exit 1; }
    sleep 0.05
done
for c in $(redis-cli -p $port command list | tr 'a-z' 'A-Z'); do
    case "$c" in *\|*) name=$(echo "$c" | tr '|' ' ') ;; *) name=$c ;; esac
    if ! grep -q "\`$name" README.md; then
        echo "docs: command '$name' is not in README.md"
        fail=1
    fi
done
kill $pid
wait $pid 2>/dev/null || true
[ $fail -eq 0 ] && echo "docs: README.md and redis.conf.example match the server"
exit $fail
