#!/usr/bin/python3
"""
The audit log over the admin API, end to end: a (non-dev) custos-kbs with the sample TEE and an
ES256 admin key with roles; `custos admin` stores a recognizable secret, a resource policy, an
appraisal policy and a reference value; Trustee's client attests (once with a wrong nonce) and
fetches (released, denied by the stored policy, missing). Then `custos admin audit`:
- roles: an "auditor" may read the log but not write resources, a "reader" may not read it;
- `list` and `export` (JSON lines; the hash chain recomputed here independently, paging with
  --from/--to); every attestation record names client, TEE types, the claims digest per
  submodule, verdict, appraisal policy id and version, token id (SHA-256 of the token); every
  release/denial path, version, token id and the policy decision with policy id and version;
  admin writes op, path/id/name, client and role;
- the secret appears nowhere in list or export output;
- resource requests refused before the policy (no token, a non-Bearer Authorization, a garbage
  token, an expired token under the broker's key, a token signed by another key, a malformed
  path) each leave one "release" record with outcome "refused", its reason, the client, the path
  when it parsed and the token id (never the token); a flood of refusals is recorded only up to
  the per-client limit, the rest counted in /metrics and named by the next record;
- `verify` says intact; then, with the broker stopped, the SQLite database is edited by hand
  (triggers dropped, one record's time changed; on a second copy one record deleted) and, after
  a restart, `custos admin audit verify` exits 1 naming the first bad record.
"""
import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_util as u  # noqa: E402
import trustee_client as tc  # noqa: E402
import trustee_wire as w  # noqa: E402

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

CUSTOS = u.prog("custos")
KBS = u.prog("custos-kbs")


def canon(obj):
    # RFC 8785 for what the log holds (ASCII names, strings and integers): sorted, no spaces.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Broker:
    def __init__(self, cfg, data):
        self.cfg, self.data = cfg, data
        self.port = int(json.load(open(cfg))["listen"].rsplit(":", 1)[1])
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(data, "kbs.log"), "ab")
        self.proc = subprocess.Popen([KBS, "--config", cfg], stdout=self.log, stderr=self.log)
        u.wait_port(self.port, self.proc)

    def stop(self):
        u.stop(self.proc)
        self.log.close()


def admin(url, key, *args, role=None, data=None):
    argv = [CUSTOS, "admin", "--kbs", url, "--key", key]
    if role:
        argv += ["--role", role]
    return u.run(argv + list(args), input=data)


def events(lines):
    """(seq, kind, body) of every event, batches flattened."""
    out = []
    for line in lines:
        rec = json.loads(line)
        if rec["kind"] == "batch":
            out += [(rec["seq"], e["kind"], e["body"]) for e in rec["body"]["events"]]
        else:
            out.append((rec["seq"], rec["kind"], rec["body"]))
    return out


def check_chain(lines):
    prev = bytes(32)
    for n, line in enumerate(lines, 1):
        rec = json.loads(line)
        body = {"body": rec["body"], "kind": rec["kind"], "seq": rec["seq"], "time": rec["time"]}
        h = hashlib.sha256(prev + canon(body).encode()).digest()
        if rec["seq"] != n or h.hex() != rec["hash"]:
            return n
        prev = h
    return 0


def populate(b, key, tmp, secret):
    url = b.url
    for path in ("default/key/k1", "default/closed/x"):
        rc, _, err = admin(url, key, "resource", "put", path, data=secret)
        u.check(rc == 0, "resource put %s (%d %s)" % (path, rc, err))
    pol = os.path.join(tmp, "closed.pol")
    with open(pol, "w") as f:
        f.write('policy resource for "default/closed/*";\ndeny "closed for audit";\n')
    rc, _, err = admin(url, key, "policy", "set", pol)
    u.check(rc == 0, "resource policy set (%d %s)" % (rc, err))
    rc, ap, err = u.run([CUSTOS, "policy", "default", "appraisal", "sample"])
    app = os.path.join(tmp, "sample.pol")
    with open(app, "wb") as f:
        f.write(ap)
    rc, _, err = admin(url, key, "attestation-policy", "set", "sample-ap", app)
    u.check(rc == 0, "appraisal policy set (%d %s)" % (rc, err))
    rv = os.path.join(tmp, "rv.json")
    payload = base64.b64encode(json.dumps({"audit-e2e": ["1"]}).encode()).decode()
    with open(rv, "w") as f:
        json.dump({"version": "0.1.0", "type": "sample", "payload": payload}, f)
    rc, _, err = admin(url, key, "reference-value", "set", rv)
    u.check(rc == 0, "reference value set (%d %s)" % (rc, err))

    bad = tc.Client(url)
    bad.auth()
    try:
        bad.attest(bad.attestation_body(nonce="AAAA"))
        u.check(False, "a wrong nonce attested")
    except tc.Error as e:
        u.check(e.status == 401, "wrong nonce refused (%d)" % e.status)
    c = tc.Client(url)
    c.auth()
    c.attest()
    u.check(c.resource("default/key/k1") == secret, "secret released")
    cpu0 = json.loads(base64.urlsafe_b64decode(c.token.split(".")[1] + "==="))["submods"]["cpu0"]
    u.check(cpu0.get("ear.appraisal-policy-id") == "sample-ap",
            "the token names the stored appraisal policy (%r)" % cpu0.get("ear.appraisal-policy-id"))
    for path, status in (("default/closed/x", 403), ("default/key/missing", 404)):
        try:
            c.resource(path)
            u.check(False, "%s released" % path)
        except tc.Error as e:
            u.check(e.status == status, "%s refused %d (%d)" % (path, status, e.status))
    return hashlib.sha256(c.token.encode()).hexdigest(), c.token


def sha(tok):
    return hashlib.sha256(tok.encode()).hexdigest()


def metric(port, name):
    s, body = u.get("127.0.0.1", port, "/metrics")
    u.check(s == 200, "metrics 200 (%d)" % s)
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    u.check(False, "metric %s present" % name)
    return 0


def refusals(b, key, token):
    """Each kind of refusal before the policy: one record with its reason; a flood is capped."""
    port = b.port
    claims = w.jwt_claims(token)
    head = json.loads(w.b64url_dec(token.split(".")[0]))
    signer = serialization.load_pem_private_key(
        open(os.path.join(b.data, "token-signer.pem"), "rb").read(), None)
    expired = w.es256_jwt(signer, dict(claims, iat=claims["iat"] - 7200,
                                       exp=claims["iat"] - 3600), header_jwk="jwk" in head)
    forged = w.es256_jwt(ec.generate_private_key(ec.SECP256R1()), claims)
    garbage = "not.a-token.at-all"
    cases = [  # (path asked, headers, expected path, token presented, reason)
        ("default/key/r-none", {}, "default/key/r-none", None, "no token"),
        ("default/key/r-basic", {"Authorization": "Basic eDp5"}, "default/key/r-basic", None,
         "Authorization is not Bearer"),
        ("default/key/r-garbage", {"Authorization": "Bearer " + garbage},
         "default/key/r-garbage", garbage, None),
        ("default/key/r-expired", {"Authorization": "Bearer " + expired},
         "default/key/r-expired", expired, "token: expired"),
        ("default/key/r-forged", {"Authorization": "Bearer " + forged},
         "default/key/r-forged", forged, "token: signature verification failed"),
        ("default/../key", {"Authorization": "Bearer " + token}, None, None, "malformed path"),
    ]
    base = metric(port, "kbs_resource_refusals_total")
    for path, hdrs, _, _, _ in cases:
        s, _, _ = u.request(port, "GET", "/kbs/v0/resource/" + path, headers=hdrs)
        u.check(s in (401, 404), "refused %s (%d)" % (path, s))
    u.check(metric(port, "kbs_resource_refusals_total") == base + len(cases),
            "every refusal counted")
    rc, out, err = admin(b.url, key, "audit", "export")
    lines = out.decode().splitlines()
    u.check(rc == 0 and check_chain(lines) == 0, "chain intact after refusals (%d %s)" % (rc, err))
    refused = [bd for _, k, bd in events(lines) if k == "release" and
               bd.get("outcome") == "refused"]
    u.check(len(refused) == len(cases), "one record per refusal: %r" % refused)
    for (_, _, want_path, tok, reason), rec in zip(cases, refused):
        what = "refusal %r: %r" % (reason, rec)
        u.check(rec.get("released") is False and rec.get("client") == "127.0.0.1", what)
        u.check(rec.get("path") == want_path, "path when it parsed, " + what)
        u.check(rec.get("token_id") == (sha(tok) if tok else None), "token id, " + what)
        if reason is None:
            u.check(rec.get("reason", "").startswith("token: ") and
                    rec["reason"] not in ("token: expired",
                                          "token: signature verification failed"),
                    "garbage token, its own reason, " + what)
        else:
            u.check(rec.get("reason") == reason, "reason, " + what)
        u.check("suppressed_before" not in rec, "nothing suppressed yet, " + what)
    for t in (garbage, expired, forged, token):
        u.check(t.encode() not in out, "no token in the log")

    # A flood from one client: records stop at its limit (20, then 5/s), the rest are counted.
    n = 60
    sup0 = metric(port, "kbs_audit_refusals_suppressed_total")
    for i in range(n):
        s, _, _ = u.request(port, "GET", "/kbs/v0/resource/default/key/flood",
                            headers={"Authorization": "Bearer " + garbage})
        u.check(s == 401, "flood %d refused (%d)" % (i, s))
    sup = metric(port, "kbs_audit_refusals_suppressed_total") - sup0
    rc, out, _ = admin(b.url, key, "audit", "export")
    lines = out.decode().splitlines()
    flood = [bd for _, k, bd in events(lines) if k == "release" and
             bd.get("path") == "default/key/flood"]
    u.check(sup > 0 and len(flood) + sup == n,
            "flood: %d records + %d suppressed == %d" % (len(flood), sup, n))
    u.check(len(flood) < n - 10, "flood: the log did not take every refusal (%d)" % len(flood))
    time.sleep(1.0)  # the client's bucket refills (5 a second)
    s, _, _ = u.request(port, "GET", "/kbs/v0/resource/default/key/after-flood")
    u.check(s == 401, "refused after the flood (%d)" % s)
    rc, out, _ = admin(b.url, key, "audit", "export")
    lines = out.decode().splitlines()
    after = [bd for _, k, bd in events(lines) if k == "release" and
             bd.get("path") == "default/key/after-flood"]
    # Records written once the bucket refilled (mid-flood on a slow machine, or this one) name
    # the refusals suppressed before them: together, all of them.
    named = sum(bd.get("suppressed_before", 0) for bd in flood + after)
    u.check(len(after) == 1 and after[0].get("suppressed_before", 0) > 0 and named == sup and
            after[0].get("reason") == "no token",
            "the next records name the suppressed count (%r, %d of %d)" % (after, named, sup))
    u.check(check_chain(lines) == 0, "chain recomputed after the flood")


def check_records(lines, token_id):
    ev = events(lines)
    kinds = [k for _, k, _ in ev]
    ops = sorted(b.get("op") for _, k, b in ev if k == "admin")
    u.check(ops == sorted(["resource-put", "resource-put", "policy-set", "policy-set",
                           "reference-value-set"]), "every admin write audited: %r" % ops)
    for _, k, b in ev:
        u.check(b.get("client") == "127.0.0.1", "%s record names the client: %r" % (k, b))
        if k == "admin":
            u.check(b.get("role") == "admin", "admin record names the role: %r" % b)
    att = [b for _, k, b in ev if k == "attest"]
    u.check(len(att) == 2 and kinds.count("attest") == 2, "two attestations audited: %r" % att)
    failed = [b for b in att if b.get("verdict") == "error"]
    u.check(len(failed) == 1 and failed[0].get("tees") == ["sample"] and
            "nonce" in failed[0].get("reason", ""), "failed attestation with its reason: %r"
            % failed)
    ok = [b for b in att if b.get("verdict") == "affirming"]
    u.check(len(ok) == 1, "affirming attestation audited: %r" % att)
    if ok:
        a = ok[0]
        m = a.get("submods", {}).get("cpu0", {})
        u.check(a.get("tees") == ["sample"] and a.get("token_id") == token_id,
                "attestation: TEE types and token id (%r)" % a)
        u.check(len(m.get("claims_sha256", "")) == 64 and m.get("status") == "affirming" and
                m.get("tee") == "sample" and m.get("trust_vector", {}).get("hardware") == 2,
                "attestation: claims digest, status, trust vector (%r)" % m)
        u.check(m.get("appraisal_policy") == {"id": "sample-ap", "version": 1},
                "attestation: appraisal policy id and version (%r)" % m)
    rel = {b["path"]: b for _, k, b in ev if k == "release"}
    r = rel.get("default/key/k1", {})
    u.check(r.get("verdict") == "allow" and r.get("released") is True and
            r.get("version") == 1 and r.get("token_id") == token_id and
            r.get("decision", {}).get("policy") == {"id": "default", "version": 0} and
            r.get("decision", {}).get("reason") == "every submodule is affirming",
            "release: path, version, token id, decision by the built-in policy (%r)" % r)
    d = rel.get("default/closed/x", {})
    u.check(d.get("verdict") == "deny" and d.get("released") is False and
            d.get("version") == 1 and d.get("token_id") == token_id and
            d.get("decision", {}).get("policy") == {"id": "resource-policy", "version": 1} and
            d.get("decision", {}).get("reason") == "closed for audit" and
            d.get("decision", {}).get("rule") == "2:1",
            "denial: path, version, token id, stored policy id+version, reason, rule (%r)" % d)
    m = rel.get("default/key/missing", {})
    u.check(m.get("outcome") == "not-found" and m.get("released") is False and
            m.get("version") is None, "a missing resource is audited as such (%r)" % m)


def tamper(db, sql):
    con = sqlite3.connect(db)
    con.executescript("DROP TRIGGER IF EXISTS audit_no_update;"
                      " DROP TRIGGER IF EXISTS audit_no_delete;" + sql)
    con.close()


def main():
    for p in (CUSTOS, KBS):
        if not os.path.exists(p):
            u.skip("%s not built" % p)
    tmp = tempfile.mkdtemp(prefix="custos-e2e-audit-")
    data = os.path.join(tmp, "data")
    os.mkdir(data, 0o700)
    pre = os.path.join(tmp, "admin")
    rc, _, err = u.run([CUSTOS, "admin", "keygen", "--out", pre])
    u.check(rc == 0, "admin keygen (%s)" % err)
    key = pre + ".key"
    cfg = os.path.join(tmp, "kbs.json")
    with open(cfg, "w") as f:
        json.dump({
            "listen": "127.0.0.1:%d" % u.free_port(), "data": data, "tees": ["sample"],
            "audit_sync": True,
            "reference_values": {"svn": ["1"], "launch_digest": ["abcde"], "major_version": 1,
                                 "minimum_minor_version": 0},
            "admin": {"public_key": pre + ".pub",
                      "roles": {"admin": ["* /kbs/v0/*"],
                                "auditor": ["GET /kbs/v0/audit", "GET /kbs/v0/audit/*"],
                                "reader": ["GET /kbs/v0/resource-policy"]}},
        }, f)
    secret = ("audit-e2e-SECRET-%s" % os.urandom(12).hex()).encode()
    b = Broker(cfg, data)
    try:
        token_id, token = populate(b, key, tmp, secret)
        rc, _, err = admin(b.url, key, "audit", "list", role="reader")
        u.check(rc == 1, "reader may not read the audit log (%d %s)" % (rc, err))
        rc, _, err = admin(b.url, key, "audit", "verify", role="reader")
        u.check(rc == 1, "reader may not verify either (%d %s)" % (rc, err))
        rc, _, err = admin(b.url, key, "resource", "put", "default/key/z", role="auditor",
                           data=b"z")
        u.check(rc == 1, "auditor may not write resources (%d %s)" % (rc, err))
        rc, _, err = admin(b.url, "/nonexistent.key", "audit", "list")
        u.check(rc == 2, "unreadable key: usage/IO error (%d)" % rc)
        s, _, _ = u.request(b.port, "GET", "/kbs/v0/audit")
        u.check(s == 401, "audit without a token: 401 (%d)" % s)
        s, body, _ = u.request(b.port, "GET", "/kbs/v0/audit?from=0")
        u.check(s in (400, 401), "from=0 refused (%d)" % s)

        rc, lst, err = admin(b.url, key, "audit", "list", role="auditor")
        u.check(rc == 0 and len(lst.splitlines()) >= 5, "auditor lists the log (%d %s)"
                % (rc, err))
        rc, out, err = admin(b.url, key, "audit", "export", role="auditor")
        lines = out.decode().splitlines()
        u.check(rc == 0 and len(lines) == len(lst.splitlines()),
                "export: one JSON line per listed record (%d %d %s)" % (len(lines),
                                                                        len(lst.splitlines()),
                                                                        err))
        u.check(check_chain(lines) == 0, "exported chain recomputed independently")
        first = lst.splitlines()[0].split(b" ")
        u.check(first[0] == b"1" and first[2] == b"admin" and first[1].endswith(b"Z"),
                "list line: seq, RFC 3339 time, kind (%r)" % first[:3])
        check_records(lines, token_id)
        rc, part, _ = admin(b.url, key, "audit", "export", "--from", "2", "--to", "3")
        u.check(rc == 0 and [json.loads(x)["seq"] for x in part.decode().splitlines()] == [2, 3],
                "export of a range")
        rc, part, _ = admin(b.url, key, "audit", "list", "--from", str(len(lines)))
        u.check(rc == 0 and len(part.splitlines()) == 1, "list from the last record")
        rc, _, _ = admin(b.url, key, "audit", "export", "--from", "3", "--to", "2")
        u.check(rc == 2, "from > to: usage error")
        for what in (lst, out):
            u.check(secret not in what, "the secret never enters the audit log")
        rc, out, err = admin(b.url, key, "audit", "verify", role="auditor")
        u.check(rc == 0 and b"intact: %d records" % len(lines) in out,
                "verify: intact (%d %r %s)" % (rc, out, err))
        refusals(b, key, token)
        rc, out, err = admin(b.url, key, "audit", "verify", role="auditor")
        u.check(rc == 0 and b"intact" in out, "verify after refusals: intact (%d %r %s)"
                % (rc, out, err))
    finally:
        b.stop()

    db = os.path.join(data, "kbs.db")
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    shutil.copy(db, db + ".orig")
    for sql, bad, what in (("UPDATE audit SET time = time + 1 WHERE seq = 3;", 3, "edited"),
                           ("DELETE FROM audit WHERE seq = 2;", 2, "dropped")):
        shutil.copy(db + ".orig", db)
        for side in ("-wal", "-shm"):
            if os.path.exists(db + side):
                os.unlink(db + side)
        tamper(db, sql)
        b = Broker(cfg, data)
        try:
            rc, out, err = admin(b.url, key, "audit", "verify")
            u.check(rc == 1 and b"BROKEN at record %d" % bad in out,
                    "%s record found by custos admin audit verify (%d %r %s)"
                    % (what, rc, out, err))
        finally:
            b.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    u.done()


if __name__ == "__main__":
    main()
