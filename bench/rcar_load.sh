#!/bin/sh
# The RCAR load benchmark against a real broker: custos-kbs --dev with ONE worker thread pinned to
# CPU 0, the load generator pinned to the other CPUs, a 32-byte secret stored with custos admin.
# Usage: bench/rcar_load.sh BUILD [SECONDS] [THREADS]
set -eu
BUILD=${1:-build}
SECONDS_=${2:-5}
THREADS=${3:-4}
DATA=$(mktemp -d "${TMPDIR:-/tmp}/custos-bench.XXXXXX")
PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
NCPU=$(nproc)
LAST=$((NCPU - 1))
# One client address does all the load: lift the per-client /auth rate limit.
echo '{"auth_rate": {"per_second": 1000000, "burst": 1000000}}' >"$DATA/bench.json"
taskset -c 0 "$BUILD/cmd/custos-kbs" --dev --threads 1 --listen "127.0.0.1:$PORT" --data "$DATA" \
	--config "$DATA/bench.json" 2>"$DATA/kbs.log" &
KBS_PID=$!
trap 'kill $KBS_PID 2>/dev/null; wait $KBS_PID 2>/dev/null; [ -z "${KEEP_LOG:-}" ] || cp "$DATA/kbs.log" "$KEEP_LOG"; rm -rf "$DATA"' EXIT INT TERM
i=0
until curl -fsS "$URL/healthz" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || { cat "$DATA/kbs.log" >&2; exit 2; }
	sleep 0.1
done
head -c 32 /dev/urandom | "$BUILD/cmd/custos" admin --kbs "$URL" resource put default/bench/secret
if [ "$NCPU" -gt 1 ]; then PIN="taskset -c 1-$LAST"; else PIN=""; fi
$PIN "$BUILD/bench/rcar_load" --kbs "$URL" --path default/bench/secret --kbs-cores 1 \
	--threads "$THREADS" --seconds "$SECONDS_" --kbs-pid "$KBS_PID"
