#!/bin/sh
# The cost of policy evaluation inside a resource fetch, measured end to end: token-authenticated
# fetches per second against custos-kbs (1 worker thread on CPU 0, rcar_load on the other CPUs),
# first under the built-in default policy, then with a stored 10-rule resource policy for the
# fetched path whose reference-value list (20 values, the token's last) lives in the store too.
# Then bench_policy's per-evaluation figures on the same machine.
#   bench/policy_fetch.sh BUILD [CLIENTS] [SECONDS]   (here), or on another machine:
#   bench/rcar_bundle.sh build build-bench && cp build/bench/bench_policy build-bench/bin/ &&
#   bench/policy_fetch.sh build-bench 8 5
set -eu
# DIR: a bundle (bin/, lib/ from bench/rcar_bundle.sh, bench_policy copied into bin/) or a build dir.
D=$(cd "${1:-build}" && pwd); CT=${2:-8}; S=${3:-5}
if [ -d "$D/bin" ]; then
	export LD_LIBRARY_PATH="$D/lib"
	K="$D/bin/custos-kbs"; C="$D/bin/custos"; L="$D/bin/rcar_load"; P_BENCH="$D/bin/bench_policy"
else
	K="$D/cmd/custos-kbs"; C="$D/cmd/custos"; L="$D/bench/rcar_load"; P_BENCH="$D/bench/bench_policy"
fi
DATA=$(mktemp -d); PORT=$((20000 + $$ % 20000)); URL="http://127.0.0.1:$PORT"
echo '{"auth_rate": {"per_second": 1000000, "burst": 1000000}}' >"$DATA/b.json"
taskset -c 0 "$K" --dev --threads 1 --listen "127.0.0.1:$PORT" --data "$DATA" \
	--config "$DATA/b.json" 2>"$DATA/kbs.log" &
P=$!
sleep 1
head -c 32 /dev/urandom | "$C" admin --kbs "$URL" resource put default/bench/secret
phase() {
	taskset -c "1-$(($(nproc) - 1))" "$L" --kbs "$URL" --path default/bench/secret \
		--kbs-cores 1 --threads "$CT" --seconds "$S" | grep -E "fetch|load against"
}
echo "== built-in default resource policy"
phase
cat >"$DATA/p.pol" <<'POL'
policy resource for "default/bench/*";
let cpu = submods.cpu0;
let ae = cpu["ear.veraison.annotated-evidence"];
let bad = first(m in keys(submods) : (submods[m]["ear.status"] ?? "") != "affirming");
deny "the token has no submodules" if len(submods ?? []) == 0;
deny "submodule {bad} is not affirming" if exists(bad);
deny "unknown sample SVN" if (ae.sample.svn ?? "") not in rv("bench-svn");
deny "no tee-pubkey" if not exists(ae.runtime_data_claims["tee-pubkey"]);
deny "hardware not affirmed" if cpu["ear.trustworthiness-vector"].hardware > 31;
deny "executables not affirmed" if cpu["ear.trustworthiness-vector"].executables > 31;
deny "configuration not affirmed" if cpu["ear.trustworthiness-vector"].configuration > 31;
deny "wrong profile" if eat_profile != "tag:github.com,2024:confidential-containers/Trustee";
deny "not this tenant" if path[0] != "default";
allow "bench" if (query.version ?? "latest") in ["latest", "1", "2"] and glob(resource, "default/bench/*");
POL
"$C" policy check "$DATA/p.pol"
"$C" admin --kbs "$URL" policy set "$DATA/p.pol"
python3 -c '
import base64, json
v = ["%d" % (100 + i) for i in range(19)] + ["1"]
print(json.dumps({"version": "0.1.0", "type": "sample",
                  "payload": base64.b64encode(json.dumps({"bench-svn": v}).encode()).decode()}))' \
	>"$DATA/rv.json"
"$C" admin --kbs "$URL" reference-value set "$DATA/rv.json"
echo "== stored 10-rule resource policy, 20 reference values in the store"
phase
kill $P; wait $P || true
python3 - "$DATA/kbs.log" <<'PY'
import json, sys
ph, out = 0, {}
for l in open(sys.argv[1]):
    try:
        o = json.loads(l)
    except ValueError:
        continue
    if o.get("ev") != "request":
        continue
    if o["method"] == "POST" and o["path"].endswith("/resource-policy"):
        ph = 1
    if o["method"] == "GET" and "/resource/" in o["path"] and o.get("status") == 200:
        out.setdefault(ph, []).append(o["us"])
for k, v in sorted(out.items()):
    v.sort()
    print("broker log GET resource (%s): n=%d p50 %d us mean %d us" % (
        "default policy" if k == 0 else "stored policy", len(v), v[len(v) // 2], sum(v) // len(v)))
PY
rm -rf "$DATA"
echo "== bench_policy"
"$P_BENCH" 0.5
