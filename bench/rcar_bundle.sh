#!/bin/sh
# Packs custos-kbs, custos, rcar_load and the shared libraries they load (all but libc's own) into
# OUT, with OUT/run.sh, so that the RCAR load benchmark runs on a bigger, idle machine without a
# build there (used for the 16-core figures in BENCHMARKS.md):
#   bench/rcar_bundle.sh build build-bench && <copy build-bench over> && build-bench/run.sh 1 8 5
# run.sh KBS_THREADS CLIENT_THREADS SECONDS pins the broker to CPUs 0..KBS_THREADS-1, the load
# generator to the rest, and prints the broker's own per-request timings from its log.
set -eu
BUILD=${1:-build}
OUT=${2:-build-bench}
rm -rf "$OUT"
mkdir -p "$OUT/bin" "$OUT/lib"
cp "$BUILD/cmd/custos-kbs" "$BUILD/cmd/custos" "$BUILD/bench/rcar_load" "$OUT/bin/"
for b in "$OUT"/bin/*; do ldd "$b" | awk '$3 ~ /^\// {print $3}'; done | sort -u |
	grep -vE '/(libc|libm|libresolv|libpthread|libdl)\.so|ld-linux' | xargs -I{} cp -L {} "$OUT/lib/"
cat >"$OUT/run.sh" <<'RUN'
#!/bin/sh
# Runs the RCAR load benchmark on this machine: custos-kbs --dev with KBS_THREADS worker threads
# pinned to CPUs 0..KBS_THREADS-1, rcar_load on the remaining CPUs.
set -eu
B=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH="$B/lib"
KT=${1:-1}; CT=${2:-8}; S=${3:-5}
DATA=$(mktemp -d); PORT=$((20000 + $$ % 20000))
echo '{"auth_rate": {"per_second": 1000000, "burst": 1000000}}' >"$DATA/b.json"
taskset -c 0-$((KT - 1)) "$B/bin/custos-kbs" --dev --threads "$KT" --listen "127.0.0.1:$PORT" \
	--data "$DATA" --config "$DATA/b.json" 2>"$DATA/kbs.log" &
P=$!
sleep 1
head -c 32 /dev/urandom | "$B/bin/custos" admin --kbs "http://127.0.0.1:$PORT" resource put default/bench/secret
taskset -c "$KT-$(($(nproc) - 1))" "$B/bin/rcar_load" --kbs "http://127.0.0.1:$PORT" \
	--path default/bench/secret --kbs-cores "$KT" --threads "$CT" --seconds "$S"
kill $P; wait $P || true
python3 - "$DATA/kbs.log" <<'PY'
import json, sys, collections
d = collections.defaultdict(list)
for l in open(sys.argv[1]):
    try:
        o = json.loads(l)
    except ValueError:
        continue
    if o.get("ev") == "request":
        p = o["path"]
        d[(o["method"], p.split("/")[3] if p.startswith("/kbs/") else p)].append(o["us"])
for k, v in sorted(d.items()):
    v.sort()
    print("broker log %-6s %-10s n=%6d p50 %6d us  mean %6d us" % (k[0], k[1], len(v), v[len(v)//2], sum(v)//len(v)))
PY
rm -rf "$DATA"
RUN
chmod +x "$OUT/run.sh"
du -sh "$OUT"
