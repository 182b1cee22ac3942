#!/usr/bin/env bash
# Usage: with-server.sh BIN CMD [ARGS...]
# Starts `BIN serve --demo` on a free loopback port with a fresh data
# directory, runs CMD with PEDIGREE_URL set to it, then stops the server.
set -euo pipefail
bin=$1; shift
dir=$(mktemp -d)
log=$dir/server.log
"$bin" serve --demo --data-dir "$dir/data" --addr 127.0.0.1:0 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
	url=$(grep -o 'url=http://[0-9.:]*' "$log" | head -1 | cut -d= -f2 || true)
	[ -n "$url" ] && break
	kill -0 $pid 2>/dev/null || { cat "$log" >&2; exit 1; }
	sleep 0.1
done
[ -n "$url" ] || { echo "server did not start" >&2; cat "$log" >&2; exit 1; }
PEDIGREE_URL=$url "$@"
