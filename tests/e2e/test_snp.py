#!/usr/bin/python3
"""
SEV-SNP end to end with the real programs.

`custos verify`: every real fixture report with its expected verdict and exit status (0 verified,
1 rejected with the reason on stderr, 2 usage/IO), one flipped bit, the offline collateral path
(`custos collateral add` -> `export` -> `import` on another cache -> `verify --collateral`),
`custos collateral fetch --kds` against a local KDS.

sim-snp through the broker: `custos sim snp init` makes a test chip; custos-kbs --dev trusts its
test roots ($CUSTOS_SIM_SNP_DIR); custos-agent attests with it. Refused without reference values;
with the built-in SNP appraisal (which sim-snp gets without storing a policy) and reference values
for the measurement and TCB, the resource is released, and still with a stored appraisal policy; a guest with another measurement, and the same guest once the TCB reference values
change, are refused (403). The real `snp` verifier refuses the simulated chip (AMD roots).
"""
import base64
import hashlib
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_util as u  # noqa: E402

CUSTOS = u.prog("custos")
AGENT = u.prog("custos-agent")
FX = os.environ.get("CUSTOS_FIXTURES") or os.environ.get("CUSTOS_FIXTURES_DEFAULT") or ""
SECRET = b"snp-e2e-secret"
MEAS = bytes(range(48))

# (report, vek, --at, expected exit status)
FIXTURES = [
    ("snp/trustee/test-report.bin", "snp/trustee/test-vcek.der", None, 0),
    ("snp/trustee/test-vlek-report.bin", "snp/trustee/test-vlek.der", "2025-06-01T00:00:00Z", 0),
    ("snp/trustee/test-vlek-report.bin", "snp/trustee/test-vlek.der", None, 1),  # VLEK expired
    ("snp/openanolis-trustee/test-vlek-report.bin", "snp/openanolis-trustee/test-vlek.der",
     "2025-01-01T00:00:00Z", 0),
    ("snp/openanolis-trustee/turin-report.bin", "snp/openanolis-trustee/turin-vcek.der", None, 0),
    ("snp/trustee/e2e-evidence-genoa-report.bin", "snp/trustee/e2e-evidence-genoa-vcek.der",
     None, 0),
    ("snp/gosevguest/attestation.bin", "snp/gosevguest/vcek.der", None, 0),
    ("snp/virtee-sev/report_milan.bin", "snp/virtee-sev/vcek_milan.der", None, 0),
    ("snp/teekit/sev-gcp.bin", "snp/teekit/sev-gcp-vcek.pem", None, 0),
    ("snp/teekit/sev-gcp-reportdata.bin", "snp/teekit/sev-gcp-vcek.pem", None, 0),
    ("snp/teekit/sev-gcp-x25519-bound.bin", "snp/teekit/sev-gcp-x25519-vcek.pem", None, 0),
    ("peers/tinfoil/tinfoil-genoa-report.bin", "peers/tinfoil/tinfoil-genoa-vcek.der", None, 0),
    ("snp/trustee/test-report.bin", "snp/trustee/test-vcek-invalid-legacy.der", None, 1),
    ("snp/trustee/test-report.bin", "snp/trustee/test-vcek-invalid-new.der", None, 1),
    ("snp/trustee/test-report.bin", "snp/virtee-sev/vcek_milan.der", None, 1),  # other chip
    ("peers/lit-sev-snp-utils/guest_report_bad_sig.bin", "snp/trustee/test-vcek.der", None, 1),
    ("peers/lit-sev-snp-utils/guest_report_corrupt.bin", "snp/trustee/test-vcek.der", None, 1),
]


def verify(*args):
    return u.run([CUSTOS, "verify"] + list(args))


def cli_fixtures(tmp):
    if not os.path.isdir(os.path.join(FX, "snp")):
        print("SKIP: %d fixture checks: fixtures folder not found" % (len(FIXTURES) + 5))
        return
    for rep, vek, at, want in FIXTURES:
        args = ["--tee", "snp", "--report", os.path.join(FX, rep), "--vcek", os.path.join(FX, vek)]
        if at:
            args += ["--at", at]
        rc, out, err = verify(*args)
        u.check(rc == want and (want == 0) == out.startswith(b"verified:") and
                (want == 0 or "rejected:" in err),
                "verify %s with %s: rc %d want %d (%s)" % (rep, vek, rc, want, err.strip()))
    # Trustee's own `snp` evidence JSON (Genoa v3, VCEK inside), claims as JSON.
    rc, out, err = verify("--tee", "snp", "--evidence",
                          os.path.join(FX, "trustee/snp-evidence-e2e.json"), "--json")
    claims = json.loads(out or b"{}") if rc == 0 else {}
    u.check(rc == 0 and claims.get("product") == "Genoa" and
            claims.get("policy_debug_allowed") == "false" and
            claims.get("reported_tcb_snp") == "23",
            "Trustee evidence JSON verifies, Trustee-named claims (%d %s)" % (rc, err))
    # One flipped bit in MEASUREMENT.
    data = bytearray(open(os.path.join(FX, FIXTURES[0][0]), "rb").read())
    data[0x90] ^= 1
    flipped = os.path.join(tmp, "flipped.bin")
    open(flipped, "wb").write(data)
    rc, _, err = verify("--tee", "snp", "--report", flipped, "--vcek",
                        os.path.join(FX, FIXTURES[0][1]))
    u.check(rc == 1 and "CS_ERR_SIGNATURE" in err, "flipped bit rejected (%d %s)" % (rc, err))
    # Collateral: add the VCEK to a cache, bundle it, import it elsewhere, verify from there.
    c1, c2, bundle = os.path.join(tmp, "c1"), os.path.join(tmp, "c2"), os.path.join(tmp, "b.json")
    rc, out, err = u.run([CUSTOS, "collateral", "add", "snp", "--cache", c1, "--vcek",
                          os.path.join(FX, FIXTURES[0][1])])
    u.check(rc == 0 and out.startswith(b"snp/Milan/vcek/"), "collateral add (%d %s)" % (rc, err))
    rc, _, err = u.run([CUSTOS, "collateral", "export", "--cache", c1, "--out", bundle])
    rc2, _, err2 = u.run([CUSTOS, "collateral", "import", "--cache", c2, bundle])
    u.check(rc == 0 and rc2 == 0, "bundle export/import (%d %d %s %s)" % (rc, rc2, err, err2))
    rep = os.path.join(FX, FIXTURES[0][0])
    rc, _, err = verify("--tee", "snp", "--report", rep, "--collateral", c2)
    u.check(rc == 0, "verify with the VCEK from the imported bundle (%d %s)" % (rc, err))
    rc, _, err = verify("--tee", "snp", "--report", rep, "--collateral", os.path.join(tmp, "none"))
    u.check(rc == 1 and "CS_ERR_COLLATERAL" in err, "missing collateral said so (%d %s)" % (rc, err))


def kds_cli(tmp):
    """`custos collateral fetch snp --kds` against a local KDS (http.server in this process): the
    exact VCEK URL from the report's CHIP_ID and REPORTED_TCB, a 429 + Retry-After then the VCEK,
    cert_chain cached, a 404 crl failing the fetch with its reason; the cached VCEK then verifies
    offline; a base URL that is not allowed is refused before any request."""
    if not os.path.isdir(os.path.join(FX, "snp")):
        print("SKIP: 6 fixture checks: fixtures folder not found")
        return
    import http.server
    import threading
    rep_path = os.path.join(FX, "snp/trustee/test-report.bin")
    rep = open(rep_path, "rb").read()
    tcb = rep[0x180:0x188]
    url = "/vcek/v1/Milan/%s?blSPL=%02d&teeSPL=%02d&snpSPL=%02d&ucodeSPL=%02d" % (
        rep[0x1A0:0x1E0].hex(), tcb[0], tcb[1], tcb[6], tcb[7])
    vcek = open(os.path.join(FX, "snp/trustee/test-vcek.der"), "rb").read()
    chain = open(os.path.join(FX, "snp/trustee/milan_ask_ark_asvk.pem"), "rb").read()
    plan = {url: [(429, b"", {"Retry-After": "1"}), (200, vcek, {})],
            "/vcek/v1/Milan/cert_chain": [(200, chain, {})]}
    seen = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            seq = plan.get(self.path) or [(404, b"", {})]
            status, body, hdrs = seq.pop(0) if len(seq) > 1 else seq[0]
            self.send_response(status)
            for k, v in hdrs.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % srv.server_address[1]
    cache = os.path.join(tmp, "kds-cache")
    try:
        rc, _, err = u.run([CUSTOS, "collateral", "fetch", "snp", "--cache", cache, "--report",
                            rep_path, "--product", "Milan", "--kds", base])
        u.check(seen[:2] == [url, url], "exact KDS VCEK URL, asked again after 429 (%s)" % seen)
        u.check(seen[2:] == ["/vcek/v1/Milan/cert_chain", "/vcek/v1/Milan/crl"],
                "cert_chain then crl (%s)" % seen)
        u.check(rc == 2 and "crl" in err and "not found" in err,
                "a 404 crl fails the fetch with its reason (%d %s)" % (rc, err))
        u.check(os.path.isfile(os.path.join(cache, "snp/Milan/cert_chain.pem")) and
                not os.path.exists(os.path.join(cache, "snp/Milan/crl.der")),
                "cert_chain cached, no crl")
        rc, _, err = verify("--tee", "snp", "--report", rep_path, "--collateral", cache)
        u.check(rc == 0, "the fetched VCEK verifies from the cache (%d %s)" % (rc, err))
        n = len(seen)
        rc, _, err = u.run([CUSTOS, "collateral", "fetch", "snp", "--cache", cache, "--report",
                            rep_path, "--product", "Milan", "--kds", "http://kds.example"])
        u.check(rc == 1 and len(seen) == n and "configuration" in err,
                "plain http to a non-loopback KDS refused (%d %s)" % (rc, err))
    finally:
        srv.shutdown()
        srv.server_close()


def rv_message(values):
    payload = base64.b64encode(json.dumps(values).encode()).decode()
    return json.dumps({"version": "0.1.0", "type": "sample", "payload": payload}).encode()


def admin(url, *args):
    return u.run([CUSTOS, "admin", "--kbs", url] + list(args))


def agent(url, *args, meas=MEAS, host_data=None):
    env = dict(os.environ, CUSTOS_SIM_SNP_MEASUREMENT=meas.hex())
    if host_data is not None:
        env["CUSTOS_SIM_SNP_HOST_DATA"] = host_data
    return u.run([AGENT] + list(args[:1]) + ["--tee", "sim-snp", "--kbs", url] + list(args[1:]),
                 env=env)


def set_rv(url, tmp, tcb):
    path = os.path.join(tmp, "rv.json")
    with open(path, "wb") as f:
        f.write(rv_message({
            "snp_launch_measurement": [base64.b64encode(MEAS).decode()],
            "snp_bootloader": [tcb[0]], "snp_tee_svn": [tcb[1]], "snp_snp_svn": [tcb[2]],
            "snp_microcode": [tcb[3]],
        }))
    return admin(url, "reference-value", "set", path)


def sim_through_kbs(tmp):
    sim = os.path.join(tmp, "sim")
    rc, _, err = u.run([CUSTOS, "sim", "snp", "init", sim, "--product", "Genoa"])
    u.check(rc == 0, "custos sim snp init (%d %s)" % (rc, err))
    # The CLI verifies the simulated chip only with its test roots.
    rd = "ab" * 64
    rep = os.path.join(tmp, "sim.bin")
    rc, _, err = u.run([CUSTOS, "sim", "snp", "report", sim, "--out", rep, "--report-data", rd])
    u.check(rc == 0, "custos sim snp report (%d %s)" % (rc, err))
    vcek = os.path.join(sim, "vcek.der")
    rc, _, err = verify("--tee", "sim-snp", "--roots", sim, "--report", rep, "--vcek", vcek,
                        "--report-data", rd)
    u.check(rc == 0, "sim report verifies with the test roots (%d %s)" % (rc, err))
    rc, _, err = verify("--tee", "sim-snp", "--roots", sim, "--report", rep, "--vcek", vcek,
                        "--report-data", "cd" * 64)
    u.check(rc == 1 and "CS_ERR_BINDING" in err, "report-data mismatch (%d %s)" % (rc, err))
    rc, _, err = verify("--tee", "snp", "--report", rep, "--vcek", vcek)
    u.check(rc == 1 and "CS_ERR_CERT" in err, "AMD roots refuse the sim (%d %s)" % (rc, err))

    os.environ["CUSTOS_SIM_SNP_DIR"] = sim
    kbs = u.Kbs()
    try:
        url = kbs.url()
        secret = os.path.join(tmp, "secret")
        open(secret, "wb").write(SECRET)
        rc, _, err = admin(url, "resource", "put", "default/model/k", secret)
        u.check(rc == 0, "resource put (%d %s)" % (rc, err))
        # The built-in SNP appraisal applies to sim-snp; without reference values it
        # recognises nothing: verified, but not affirming -> refused.
        rc, out, err = agent(url, "get-resource", "kbs:///default/model/k")
        u.check(rc == 1 and out == b"" and "not affirming" in err,
                "refused before any reference value (%d %s)" % (rc, err))
        rc, _, err = set_rv(url, tmp, ["10", "0", "23", "84"])
        u.check(rc == 0, "reference values (%d %s)" % (rc, err))
        rc, out, err = agent(url, "get-resource", "kbs:///default/model/k")
        u.check(rc == 0 and out == SECRET, "released by the built-in SNP appraisal, no policy "
                "stored (%d %s)" % (rc, err))
        # A stored appraisal policy for sim-snp still takes precedence over the built-in one.
        rc, pol, err = u.run([CUSTOS, "policy", "default", "appraisal", "snp"])
        path = os.path.join(tmp, "ap.pol")
        with open(path, "wb") as f:
            f.write(pol.replace(b'policy appraisal for "snp"', b'policy appraisal for "sim-snp"'))
        rc, _, err = admin(url, "attestation-policy", "set", "sim-snp", path)
        u.check(rc == 0, "appraisal policy for sim-snp (%d %s)" % (rc, err))
        rc, _, err = set_rv(url, tmp, ["10", "0", "23", "84"])
        u.check(rc == 0, "reference values (%d %s)" % (rc, err))
        rc, out, err = agent(url, "get-resource", "kbs:///default/model/k")
        u.check(rc == 0 and out == SECRET, "released: measurement and TCB in the reference "
                "values (%d %s)" % (rc, err))
        # Init-data: its digest must be the HOST_DATA the (simulated) host launched with.
        init = os.path.join(tmp, "init.toml")
        body = b'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"policy.rego" = "x"\n'
        open(init, "wb").write(body)
        digest = hashlib.sha256(body).hexdigest()
        rc, out, err = agent(url, "get-resource", "kbs:///default/model/k", "--init-data", init,
                             host_data=digest)
        u.check(rc == 0 and out == SECRET, "released: HOST_DATA = init-data digest (%d %s)"
                % (rc, err))
        rc, out, err = agent(url, "get-resource", "kbs:///default/model/k", "--init-data", init,
                             host_data="00" * 32)
        u.check(rc != 0 and out == b"", "refused: HOST_DATA is not the init-data digest (%d %s)"
                % (rc, err))
        rc, out, err = agent(url, "get-resource", "kbs:///default/model/k", meas=bytes(48))
        u.check(rc == 1 and out == b"" and "not affirming" in err,
                "denied: measurement not in the reference values (%d %s)" % (rc, err))
        rc, _, err = set_rv(url, tmp, ["10", "0", "23", "85"])
        rc, out, err = agent(url, "get-resource", "kbs:///default/model/k")
        u.check(rc == 1 and out == b"" and "not affirming" in err,
                "denied: TCB not in the reference values (%d %s)" % (rc, err))
    finally:
        kbs.cleanup()
        del os.environ["CUSTOS_SIM_SNP_DIR"]


def main():
    for p in (CUSTOS, AGENT, u.prog("custos-kbs")):
        if not os.path.exists(p):
            u.skip("%s not built" % p)
    tmp = tempfile.mkdtemp(prefix="custos-e2e-snp-")
    try:
        cli_fixtures(tmp)
        kds_cli(tmp)
        sim_through_kbs(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    u.done()


if __name__ == "__main__":
    main()
