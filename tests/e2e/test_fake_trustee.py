#!/usr/bin/python3
"""
custos-agent against a fake Trustee KBS (fake_trustee.py) that answers with Trustee's exact
responses: the agent must accept them, and must send what Trustee's guest client sends. Covers
get-resource to stdout and to a file (0600, atomic), Trustee's 401-for-everything with bounded
re-attestation, HTTPS with a trusted self-signed certificate, a pinned key and a wrong pin, and
the CDH/AA API of `custos-agent serve` (resource, token cache, evidence binding).
"""
import base64
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_util as u  # noqa: E402
import trustee_wire as w  # noqa: E402

from cryptography.hazmat.primitives import serialization  # noqa: E402

AGENT = u.prog("custos-agent")
SECRET = "s3cr3t-value_for.e2e"


def agent(*args, url=None):
    return u.run([AGENT] + list(args) + ["--tee", "sample", "--kbs", url])


def test_plain(tmp):
    f = u.Fake("--resource", "default/key/k1=" + SECRET)
    try:
        url = "http://127.0.0.1:%d" % f.port
        rc, out, err = agent("get-resource", "kbs:///default/key/k1", url=url)
        u.check(rc == 0 and out == SECRET.encode(), "stdout secret (rc %d, %r, %s)" % (rc, out, err))
        st = f.stats()
        u.check(st["auth"] == 1 and st["attest"] == 1, "one RCAR exchange: %r" % st)
        # The attestation body as Trustee's guest client writes it.
        body = json.loads(st["last_attest_body"])
        u.check(sorted(body) == ["runtime-data", "tee-evidence"], "outer keys %r" % sorted(body))
        te = body["tee-evidence"]
        u.check(sorted(te) == ["additional_evidence", "primary_evidence"], "inner keys")
        u.check(te["additional_evidence"] == "", "additional_evidence is the empty string")
        jwk = body["runtime-data"]["tee-pubkey"]
        u.check(jwk.get("alg") == "ECDH-ES+A256KW" and jwk.get("crv") == "P-256"
                and jwk.get("kty") == "EC" and sorted(jwk) == ["alg", "crv", "kty", "x", "y"],
                "tee-pubkey JWK %r" % jwk)
        rd = base64.b64decode(te["primary_evidence"]["report_data"])
        want = w.report_data(body["runtime-data"]["nonce"], jwk, "")
        u.check(rd in (want, want + bytes(16)), "report data binds nonce and key")

        out_file = os.path.join(tmp, "secret.bin")
        rc, out, err = agent("get-resource", "-o", out_file, "kbs:///default/key/k1", url=url)
        u.check(rc == 0 and out == b"", "-o: nothing on stdout (rc %d %s)" % (rc, err))
        u.check(open(out_file, "rb").read() == SECRET.encode(), "-o file content")
        u.check(stat.S_IMODE(os.stat(out_file).st_mode) == 0o600, "-o file mode 0600")
        u.check(sorted(os.listdir(tmp)) == ["secret.bin"], "no temporary file left behind")

        # Trustee answers a missing resource 401 PluginInternalError: the agent re-attests and
        # gives up after 3 requests, exit 1, with Trustee's detail; nothing is written.
        before = f.stats()
        missing = os.path.join(tmp, "missing.bin")
        rc, out, err = agent("get-resource", "-o", missing, "kbs:///default/key/nope", url=url)
        after = f.stats()
        u.check(rc == 1, "missing resource exit 1 (got %d)" % rc)
        u.check("Resource not found" in err, "Trustee's detail shown: %s" % err.strip())
        u.check(after["resource"] - before["resource"] == 3, "exactly 3 GETs")
        u.check(after["attest"] - before["attest"] == 3, "re-attested before each")
        u.check(not os.path.exists(missing), "no file for a failed fetch")

        # init-data as guest-components sends it: {"format": "toml", "body": <text>}.
        toml = os.path.join(tmp, "..", "initdata.toml")
        with open(toml, "w") as fh:
            fh.write('version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"aa.toml" = \'\'\'x\'\'\'\n')
        rc, out, err = agent("get-resource", "--init-data", toml, "kbs:///default/key/k1", url=url)
        body = json.loads(f.stats()["last_attest_body"])
        u.check(rc == 0 and body.get("init-data") == {"format": "toml",
                                                      "body": open(toml).read()},
                "init-data sent as TOML (%s, %r)" % (err, body.get("init-data")))
        rc, out, err = agent("get-resource", "--init-data", toml + ".missing",
                             "kbs:///default/key/k1", url=url)
        u.check(rc == 2, "unreadable init-data file: exit 2 (rc %d)" % rc)
        rc, out, err = agent("get-resource", "kbs:///default/../k1", url=url)
        u.check(rc == 2, "path traversal refused locally (rc %d)" % rc)
        rc, out, err = agent("get-resource", "https://x/default/key/k1", url=url)
        u.check(rc == 2, "wrong URI scheme refused")
    finally:
        f.stop()

    # A policy denial (403, custos' deviation from Trustee's 401): exit 1 with the reason, and
    # no pointless re-attestation.
    f = u.Fake("--resource", "default/key/k1=" + SECRET, "--deny", "default/key/k1")
    try:
        url = "http://127.0.0.1:%d" % f.port
        rc, out, err = agent("get-resource", "kbs:///default/key/k1", url=url)
        st = f.stats()
        u.check(rc == 1 and out == b"", "denied: exit 1, nothing written (rc %d)" % rc)
        u.check("denied by policy" in err and "Resource policy denied" in err,
                "denial reason shown: %s" % err.strip())
        u.check(st["attest"] == 1 and st["resource"] == 1, "no retry on 403: %r" % st)
    finally:
        f.stop()

    # A challenge that selects the hash (IBM SE's form): the binding follows it.
    for h in ("sha512", "sha256"):
        f = u.Fake("--resource", "default/key/k1=" + SECRET, "--select-hash", h)
        try:
            rc, out, err = agent("get-resource", "kbs:///default/key/k1",
                                 url="http://127.0.0.1:%d" % f.port)
            u.check(rc == 0 and out == SECRET.encode(), "selected %s binding (%s)" % (h, err))
        finally:
            f.stop()

    # A token that the KBS stops accepting (401) once: one re-attestation, then success.
    f = u.Fake("--resource", "default/key/k1=" + SECRET, "--fail-gets", "1")
    try:
        url = "http://127.0.0.1:%d" % f.port
        rc, out, err = agent("get-resource", "kbs:///default/key/k1", url=url)
        st = f.stats()
        u.check(rc == 0 and out == SECRET.encode(), "retry after 401 succeeds (%s)" % err)
        u.check(st["attest"] == 2 and st["resource"] == 2, "one retry: %r" % st)
    finally:
        f.stop()


def test_hostile():
    """A broker that is down, one that never answers, one that answers too much: exit 2 with
    the reason, in bounded time, nothing on stdout."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rc, out, err = agent("get-resource", "kbs:///default/key/k1", url="http://127.0.0.1:%d" % port)
    u.check(rc == 2 and out == b"" and "network" in err, "broker down: exit 2 (%d %s)" % (rc, err))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)  # accepts connections in the kernel, never answers
    t0 = time.time()
    rc, out, err = u.run([AGENT, "get-resource", "--tee", "sample", "--timeout", "1", "--kbs",
                          "http://127.0.0.1:%d" % s.getsockname()[1], "kbs:///default/key/k1"])
    el = time.time() - t0
    s.close()
    u.check(rc == 2 and "timed out" in err, "silent broker: timeout, exit 2 (%d %s)" % (rc, err))
    u.check(el < 10, "the timeout bounds the wait (%.1f s)" % el)
    f = u.Fake("--huge-challenge")
    try:
        rc, out, err = agent("get-resource", "kbs:///default/key/k1",
                             url="http://127.0.0.1:%d" % f.port)
        u.check(rc == 2 and out == b"" and "size limit" in err,
                "8 MiB challenge refused by the response cap (%d %s)" % (rc, err))
    finally:
        f.stop()


def test_https(tmp):
    cert, key = u.self_signed(tmp)
    odir = os.path.join(tmp, "other")
    os.makedirs(odir)
    other, _ = u.self_signed(odir)
    f = u.Fake("--resource", "default/key/k1=" + SECRET, "--cert", cert, "--key", key)
    try:
        url = "https://127.0.0.1:%d" % f.port
        rc, out, err = u.run([AGENT, "get-resource", "--tee", "sample", "--kbs", url,
                              "--cacert", cert, "kbs:///default/key/k1"])
        u.check(rc == 0 and out == SECRET.encode(), "https with --cacert (%s)" % err)
        rc, out, err = u.run([AGENT, "get-resource", "--tee", "sample", "--kbs", url,
                              "kbs:///default/key/k1"])
        u.check(rc == 2 and out == b"", "untrusted certificate refused (rc %d)" % rc)
        rc, out, err = u.run([AGENT, "get-resource", "--tee", "sample", "--kbs", url,
                              "--cacert", other, "kbs:///default/key/k1"])
        u.check(rc == 2 and out == b"", "certificate of another CA refused (rc %d)" % rc)
        rc, out, err = u.run([AGENT, "get-resource", "--tee", "sample", "--kbs", url,
                              "--cacert", cert, "--pin", u.pubkey_pin(cert),
                              "kbs:///default/key/k1"])
        u.check(rc == 0 and out == SECRET.encode(), "https with the right pin (%s)" % err)
        rc, out, err = u.run([AGENT, "get-resource", "--tee", "sample", "--kbs", url,
                              "--cacert", cert, "--pin", u.pubkey_pin(other),
                              "kbs:///default/key/k1"])
        u.check(rc == 2 and out == b"", "wrong pin refused (rc %d)" % rc)
    finally:
        f.stop()


def serve(fake_port):
    p = subprocess.Popen(
        [AGENT, "serve", "--listen", "127.0.0.1:0", "--tee", "sample", "--kbs",
         "http://127.0.0.1:%d" % fake_port],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    line = p.stderr.readline()
    m = re.search(r"on port (\d+)", line)
    if not m:
        u.stop(p)
        raise RuntimeError("serve did not start: %r" % line)
    return p, int(m.group(1))


def test_serve():
    f = u.Fake("--resource", "default/key/k1=" + SECRET)
    p = None
    try:
        p, port = serve(f.port)
        s, b = u.get("127.0.0.1", port, "/cdh/resource/default/key/k1")
        u.check(s == 200 and b == SECRET.encode(), "CDH resource (%d %r)" % (s, b))
        s, b = u.get("127.0.0.1", port, "/aa/token?token_type=kbs")
        u.check(s == 200, "AA token status %d" % s)
        tok = json.loads(b)
        u.check(sorted(tok) == ["tee_keypair", "token"], "AA token members %r" % sorted(tok))
        # The key pair is the one the token is bound to.
        claims = w.jwt_claims(tok["token"])
        bound = claims["submods"]["cpu0"]["ear.veraison.annotated-evidence"][
            "runtime_data_claims"]["tee-pubkey"]
        priv = serialization.load_pem_private_key(tok["tee_keypair"].encode(), None)
        u.check(w.ec_jwk(priv.public_key())["x"] == bound["x"], "tee_keypair matches tee-pubkey")
        # Cached: neither the second resource nor the token attest again.
        before = f.stats()["attest"]
        u.get("127.0.0.1", port, "/cdh/resource/default/key/k1")
        u.get("127.0.0.1", port, "/aa/token?token_type=kbs")
        u.check(f.stats()["attest"] == before, "token cache reused")
        s, b = u.get("127.0.0.1", port, "/aa/token?token_type=coco_as")
        u.check(s == 400, "other token types refused (%d)" % s)
        s, b = u.get("127.0.0.1", port, "/aa/evidence?runtime_data=hello")
        ev = json.loads(b) if s == 200 else {}
        rd = base64.b64decode(ev.get("report_data", ""))
        u.check(s == 200 and rd[:5] == b"hello" and rd[5:] == bytes(len(rd) - 5),
                "evidence binds runtime data (%d %r)" % (s, rd[:8]))
        s, b = u.get("127.0.0.1", port, "/aa/evidence?runtime_data=" + "x" * 65)
        u.check(s == 400, "runtime data over 64 bytes refused (%d)" % s)
        s, b = u.get("127.0.0.1", port, "/aa/evidence?runtime_data=" + w.b64url(b"\x00\xffhi") +
                     "&encoding=base64")
        rd = base64.b64decode(json.loads(b).get("report_data", "")) if s == 200 else b""
        u.check(s == 200 and rd[:4] == b"\x00\xffhi" and rd[4:] == bytes(len(rd) - 4),
                "encoding=base64 runtime data (%d %r)" % (s, rd[:8]))
        s, b = u.get("127.0.0.1", port, "/aa/evidence?runtime_data=abc&encoding=hex")
        u.check(s == 400, "unknown encoding refused (%d)" % s)
        s, b = u.get("127.0.0.1", port, "/aa/evidence?runtime_data=abc&x=1")
        u.check(s == 400, "unknown parameter refused (%d)" % s)
        s, b = u.get("127.0.0.1", port, "/aa/token?token_type=kbs&x=1")
        u.check(s == 405, "token with an extra parameter: 405 as api-server-rest (%d)" % s)
        s, b = u.get("127.0.0.1", port, "/cdh/resource/default/key/nope")
        u.check(s in (401, 404), "missing resource is an error (%d)" % s)
        s, b = u.get("127.0.0.1", port, "/cdh/resource/default/../k1")
        u.check(s in (400, 404), "traversal refused (%d)" % s)
        s, b, _ = u.request(port, "POST", "/cdh/resource/default/key/k1", body=b"x")
        u.check(s == 405, "POST refused (%d)" % s)
    finally:
        u.stop(p)
        f.stop()

    rc, out, err = u.run([AGENT, "serve", "--listen", "0.0.0.0:0", "--tee", "sample", "--kbs",
                          "http://127.0.0.1:1"], timeout=10)
    u.check(rc == 2 and "configuration" in err, "serve refuses a non-loopback address (%d)" % rc)

    # A token about to expire (ttl 30 s < the 60 s refresh margin) is renewed on each use.
    f = u.Fake("--resource", "default/key/k1=" + SECRET, "--token-ttl", "30")
    try:
        p, port = serve(f.port)
        u.get("127.0.0.1", port, "/aa/token?token_type=kbs")
        u.get("127.0.0.1", port, "/aa/token?token_type=kbs")
        u.check(f.stats()["attest"] == 2, "re-attests before expiry: %r" % f.stats())
    finally:
        u.stop(p)
        f.stop()


def main():
    if not os.path.exists(AGENT):
        u.skip("custos-agent not built")
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "out"))
        test_plain(os.path.join(tmp, "out"))
        test_https(tmp)
    test_hostile()
    test_serve()
    u.done()


if __name__ == "__main__":
    main()
