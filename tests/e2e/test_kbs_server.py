#!/usr/bin/python3
"""
custos-kbs server hygiene, over real sockets: two brokers sharing one data directory serve one
session between them (auth on A, attest on B, resource on A: no sticky sessions), a challenge is
good for one attestation only, Prometheus metrics count what happened, refusals arrive before
the body (413 with Expect: 100-continue, without the 100), chunked bodies are capped, every
error has an RFC 7807 body, one JSON log line per request that never holds the cookie or the
token, graceful SIGTERM, and configuration errors stop the start with exit 2.
"""
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_util as u  # noqa: E402
import trustee_client as tc  # noqa: E402
import trustee_wire as w  # noqa: E402

KBS = u.prog("custos-kbs")
PREFIX = "https://github.com/confidential-containers/kbs/errors/"


def problem(body):
    try:
        p = json.loads(body)
    except ValueError:
        return None
    if sorted(p) == ["detail", "type"] and p["type"].startswith(PREFIX):
        return p["type"][len(PREFIX):]
    return None


def raw(port, data, read_until_close=True):
    """Sends raw bytes, returns what came back before the server stopped talking."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if not read_until_close and b"\r\n\r\n" in out:
                break
    except socket.timeout:
        pass
    s.close()
    return out


def replicas(tmp):
    data = os.path.join(tmp, "shared")
    os.mkdir(data, 0o700)
    a = u.Kbs(data=data)
    b = u.Kbs(data=data)
    try:
        s, _, _ = u.request(a.port, "POST", "/kbs/v0/resource/default/key/r1", body=b"replicated",
                            headers={"Content-Type": "application/octet-stream"})
        u.check(s == 200, "put on replica A (%d)" % s)
        c = tc.Client(a.url())
        c.auth()                      # challenge from A
        c.port = b.port               # attestation to B, with A's cookie
        tok = c.attest()
        u.check(tok.count(".") == 2, "B attests A's session")
        c.port = a.port               # the resource from A, by cookie only
        got = c.resource("default/key/r1")
        u.check(got == b"replicated", "A releases by B's attested cookie (%r)" % got)
        # The same challenge cannot be attested again, on either replica.
        x = tc.Client(a.url())
        x.auth()
        first_cookie = x.cookie
        body = x.attestation_body()
        x.attest(body)
        for port in (a.port, b.port):
            s, data, _ = u.request(port, "POST", "/kbs/v0/attest", body=body,
                                   headers={"Cookie": "kbs-session-id=" + first_cookie})
            u.check(s == 401 and problem(data) == "AttestationError",
                    "challenge replay refused on %d (%d %r)" % (port, s, data[:120]))
        # The used challenge is refused before the tee-pubkey is looked at (importing one costs
        # up to ~40 ms for RSA-4096): a huge RSA key, or one no import accepts, still gets
        # "challenge already used", never a key error.
        huge = dict(body)
        huge["runtime-data"] = dict(body["runtime-data"])
        for key in ({"kty": "RSA", "alg": "RSA-OAEP-256", "e": "AQAB",
                     "n": base64.urlsafe_b64encode(b"\xc3" * 512).decode().rstrip("=")},
                    {"kty": "RSA", "alg": "RSA-OAEP-256", "e": "AQAB", "n": "AQ"}):
            huge["runtime-data"]["tee-pubkey"] = key
            s, data, _ = u.request(a.port, "POST", "/kbs/v0/attest", body=huge,
                                   headers={"Cookie": "kbs-session-id=" + first_cookie})
            u.check(s == 401 and problem(data) == "AttestationError" and
                    json.loads(data)["detail"] == "challenge already used",
                    "used challenge refused before the key import (%d %r)"
                    % (s, data[:120]))
        # A tee-pubkey no JWE algorithm fits is refused at attest, not at every fetch after.
        y = tc.Client(a.url())
        y.auth()
        body = y.attestation_body()
        body["runtime-data"]["tee-pubkey"]["alg"] = "ES256"
        rd = w.report_data(y.nonce, body["runtime-data"]["tee-pubkey"], "")
        body["tee-evidence"]["primary_evidence"]["report_data"] = base64.b64encode(rd).decode()
        try:
            y.attest(body)
            u.check(False, "signing-only tee-pubkey accepted")
        except tc.Error as e:
            u.check(e.status == 400 and problem(e.body) == "SerdeError",
                    "signing-only tee-pubkey refused (%d)" % e.status)
        # Both replicas publish the same signing key.
        ja = json.loads(u.get("127.0.0.1", a.port, "/kbs/v0/jwks")[1])
        jb = json.loads(u.get("127.0.0.1", b.port, "/kbs/v0/jwks")[1])
        u.check(ja == jb and len(ja["keys"]) == 1, "one JWK set for both replicas")
        u.check(ja["keys"][0].get("alg") == "ES256" and "d" not in ja["keys"][0],
                "JWKS: public ES256 key")
    finally:
        b.stop()
        a.cleanup()


def metrics_and_limits(tmp):
    os.mkdir(os.path.join(tmp, "m"), 0o700)
    kbs = u.Kbs(data=os.path.join(tmp, "m"))
    try:
        port = kbs.port
        u.request(port, "POST", "/kbs/v0/resource/default/key/m", body=b"x",
                  headers={"Content-Type": "application/octet-stream"})
        c = tc.Client(kbs.url())
        c.auth()
        c.attest()
        u.check(c.resource("default/key/m") == b"x", "release for metrics")
        s, body = u.get("127.0.0.1", port, "/metrics")
        text = body.decode()
        u.check(s == 200, "metrics 200")
        u.check(re.search(r'kbs_attestations_total\{tee="sample",verdict="affirming"\} [1-9]',
                          text) is not None, "attestation counted by TEE and verdict")
        u.check(re.search(r"kbs_resource_releases_total [1-9]", text) is not None,
                "release counted")
        u.check('kbs_http_requests_total{route="auth",code="200"}' in text, "requests counted")
        u.check('kbs_http_request_duration_seconds_bucket{route="attest",le="+Inf"}' in text,
                "latency histogram")
        s, body = u.get("127.0.0.1", port, "/healthz")
        u.check(s == 200, "healthz")

        # Policy uploads are compiled first: a syntax error (here Trustee's Rego) or the wrong
        # kind is refused with line:column; a good one lands under its policy_id and is listed.
        def put_policy(path, text, **extra):
            b = dict(extra, policy=base64.urlsafe_b64encode(text.encode()).decode().rstrip("="))
            return u.request(port, "POST", path, body=b)
        s, data, _ = put_policy("/kbs/v0/resource-policy", "package policy\ndefault allow = false\n")
        d = json.loads(data).get("detail", "")
        u.check(s == 400 and problem(data) == "ParsePolicyError" and re.match(r"\d+:\d+: ", d),
                "Rego refused with line:column (%d %r)" % (s, data[:120]))
        s, data, _ = put_policy("/kbs/v0/attestation-policy",
                                'policy resource for "x/*";\nallow "ok";\n', policy_id="p")
        u.check(s == 400 and problem(data) == "ParsePolicyError",
                "resource policy refused as an appraisal policy (%d %r)" % (s, data[:120]))
        s, data, _ = put_policy("/kbs/v0/resource-policy",
                                'policy resource for "other/*";\ndeny "closed";\n',
                                policy_id="other")
        u.check(s == 200, "resource policy with policy_id stored (%d %r)" % (s, data[:120]))
        s, data = u.get("127.0.0.1", port, "/kbs/v0/resource-policy")
        u.check(s == 200 and "other" in json.loads(data), "policy ids listed (%r)" % data)
        u.check(c.resource("default/key/m") == b"x", "a policy for other/* leaves default/* alone")

        # Method, route, errors: all RFC 7807.
        for method, path, want, variant in [
            ("GET", "/kbs/v0/auth", 405, "MethodNotAllowed"),
            ("PUT", "/kbs/v0/resource/a/b/c", 405, "MethodNotAllowed"),
            ("GET", "/kbs/v0/nothing", 404, "PluginNotFound"),
            ("GET", "/elsewhere", 404, "InvalidRequestPath"),
            ("GET", "/kbs/v0/resource/a/%2e%2e/c", 404, "InvalidRequestPath"),
            ("GET", "/kbs/v0/resource/a/b/c?x=1&x=2", 401, "TokenNotFound"),
        ]:
            s, data, _ = u.request(port, method, path)
            u.check(s == want and problem(data) == variant,
                    "%s %s -> %d %s (%d %r)" % (method, path, want, variant, s, data[:100]))

        # 413 from Content-Length before the body, with Expect: no 100 Continue is sent.
        out = raw(port, b"POST /kbs/v0/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                        b"\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n",
                  read_until_close=False)
        u.check(out.startswith(b"HTTP/1.1 413"), "413 before the body (%r)" % out[:40])
        u.check(b"100 Continue" not in out, "no 100 Continue for a refused body")
        # A chunked body that outgrows the limit.
        chunk = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
        out = raw(port, b"POST /kbs/v0/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                        b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                  chunk * 3 + b"0\r\n\r\n")
        u.check(out.startswith(b"HTTP/1.1 413"), "chunked body capped (%r)" % out[:40])
        # A request head larger than the connection's memory limit is refused, not buffered.
        out = raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (256 << 10) +
                  b"\r\n\r\n")
        u.check(out.startswith(b"HTTP/1.1 4"), "huge header refused (%r)" % out[:40])
        s, _ = u.get("127.0.0.1", port, "/healthz")
        u.check(s == 200, "alive after the limits")
    finally:
        kbs.stop()
        log = open(os.path.join(kbs.data, "kbs.log")).read()
        lines = [json.loads(l) for l in log.splitlines() if l.startswith('{"ev":"request"')]
        u.check(len(lines) >= 10, "one log line per request (%d)" % len(lines))
        u.check(all({"client", "method", "path", "status", "us"} <= set(l) for l in lines),
                "log lines structured")
        u.check(c.cookie not in log and c.token not in log and c.token[:40] not in log,
                "no cookie or token in the log")
        u.check('"ev":"stop"' in log, "graceful stop logged on SIGTERM")
        u.check(kbs.proc.returncode == 0, "exit 0 on SIGTERM (%s)" % kbs.proc.returncode)
        kbs.cleanup()


def graceful(tmp):
    """SIGTERM while a request is half sent: it is still answered, new connections are not."""
    os.mkdir(os.path.join(tmp, "g"), 0o700)
    kbs = u.Kbs(data=os.path.join(tmp, "g"))
    body = json.dumps({"version": "0.4.0", "tee": "sample", "extra-params": {}}).encode()
    s = socket.create_connection(("127.0.0.1", kbs.port), timeout=5)
    s.sendall(b"POST /kbs/v0/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])
    import time
    time.sleep(0.2)
    kbs.proc.send_signal(15)
    time.sleep(0.3)
    try:
        socket.create_connection(("127.0.0.1", kbs.port), timeout=1).close()
        refused = False
    except OSError:
        refused = True
    u.check(refused, "no new connections after SIGTERM")
    s.sendall(body[10:])
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    u.check(out.startswith(b"HTTP/1.1 200") and b'"nonce"' in out,
            "in-flight request answered after SIGTERM (%r)" % out[:60])
    kbs.proc.wait(10)
    u.check(kbs.proc.returncode == 0, "exit 0 after draining (%s)" % kbs.proc.returncode)
    kbs.cleanup()


def bad_starts(tmp):
    cfg = os.path.join(tmp, "typo.json")
    with open(cfg, "w") as f:
        json.dump({"listen": "127.0.0.1:1", "sesion_ttl_s": 5}, f)
    rc, _, err = u.run([KBS, "--config", cfg, "--data", tmp])
    u.check(rc == 2 and "sesion_ttl_s" in err, "unknown config member refused (%d %s)" % (rc, err))
    rc, _, err = u.run([KBS, "--dev", "--listen", "0.0.0.0:1", "--data", tmp])
    u.check(rc == 2, "dev mode refuses a non-loopback listen (%d)" % rc)
    rc, _, err = u.run([KBS, "--tee", "no-such-tee", "--data", tmp])
    u.check(rc == 2, "unknown TEE refused (%d)" % rc)
    rc, out, _ = u.run([KBS, "--help"])
    u.check(rc == 0 and b"--dev" in out and b"--insecure-admin" in out, "--help")


def master_key(tmp):
    """--master-key: the store's key where the operator says, bound to the database."""
    data = os.path.join(tmp, "mk-data")
    keys = os.path.join(tmp, "mk-keys")
    os.mkdir(data, 0o700)
    os.mkdir(keys, 0o700)
    key = os.path.join(keys, "master.key")
    kbs = u.Kbs("--master-key", key, data=data)
    try:
        s, _, _ = u.request(kbs.port, "POST", "/kbs/v0/resource/default/k/mk", body=b"v",
                            headers={"Content-Type": "application/octet-stream"})
        u.check(s == 200, "resource stored under the named master key (%d)" % s)
    finally:
        kbs.stop()
    st = os.stat(key)
    u.check(st.st_size == 32 and (st.st_mode & 0o777) == 0o600,
            "master key created 32 bytes 0600 where named (%d %o)" % (st.st_size, st.st_mode))
    u.check(not os.path.exists(os.path.join(data, "kbs.db.master-key")),
            "no default key file beside the database")
    # The database is bound to that key: without it (the default file) the broker refuses.
    rc, _, err = u.run([KBS, "--dev", "--listen", "127.0.0.1:%d" % u.free_port(), "--data",
                        data], timeout=20)
    u.check(rc == 2 and "store" in err, "other key refused at start (%d %s)" % (rc, err))
    # A PostgreSQL store without --master-key is a configuration error, named.
    rc, _, err = u.run([KBS, "--data", data, "--store", "postgresql://127.0.0.1:1/kbs"])
    u.check(rc == 2 and "master_key" in err and "--master-key" in err,
            "PostgreSQL without a master key refused (%d %s)" % (rc, err))
    rc, out, _ = u.run([KBS, "--help"])
    u.check(rc == 0 and b"--master-key" in out and b"--store" in out, "--help names them")
    shutil.rmtree(data, ignore_errors=True)


def store_failure(tmp):
    """A store that cannot record the challenge is the broker's fault: 503 with a generic RFC 7807
    body, not 401 with the store's message. Another process holds SQLite's write lock past the
    broker's busy timeout (5 s)."""
    import sqlite3
    data = os.path.join(tmp, "sf")
    os.mkdir(data, 0o700)
    kbs = u.Kbs(data=data)
    try:
        c = tc.Client(kbs.url())
        c.auth()
        body = c.attestation_body()
        db = sqlite3.connect(os.path.join(data, "kbs.db"), timeout=0, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        try:
            s, data_, _ = u.request(kbs.port, "POST", "/kbs/v0/attest", body=body, timeout=30,
                                    headers={"Cookie": "kbs-session-id=" + c.cookie})
        finally:
            db.execute("ROLLBACK")
            db.close()
        u.check(s == 503 and problem(data_) == "PluginInternalError" and
                "store" not in json.loads(data_)["detail"].lower(),
                "store failure on the nonce record -> 503, generic (%d %r)" % (s, data_[:160]))
        s, _ = u.get("127.0.0.1", kbs.port, "/healthz")
        u.check(s == 200, "alive after the store failure")
    finally:
        kbs.cleanup()


def slow_clients(tmp):
    """Slowloris: a request head that is not complete within limits.head_timeout_s, or a body not
    within body_timeout_s after it, is closed even though the client is never idle; normal
    clients are served meanwhile; connections are counted
    per client address (per IPv6 /64) and refused over limits.connections_per_client."""
    import time
    data = os.path.join(tmp, "slow")
    os.mkdir(data, 0o700)
    cfg = os.path.join(tmp, "slow.json")
    with open(cfg, "w") as f:
        json.dump({"limits": {"head_timeout_s": 2, "body_timeout_s": 2,
                              "connections_per_client": 8}}, f)
    kbs = u.Kbs("--config", cfg, data=data)
    slow = []
    try:
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", kbs.port), timeout=5)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        for _ in range(2):  # the head at once, then the body one byte at a time
            s = socket.create_connection(("127.0.0.1", kbs.port), timeout=5)
            s.sendall(b"POST /kbs/v0/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                      b"\r\nContent-Length: 1000\r\n\r\n")
            slow.append(s)
        closed = [False] * len(slow)
        t0 = time.monotonic()
        served = False
        while not all(closed) and time.monotonic() - t0 < 8:
            for i, s in enumerate(slow):   # one header line every 0.4 s: never idle
                if closed[i]:
                    continue
                try:
                    s.sendall(b"X-Slow: %d\r\n" % i if i < 5 else b" ")
                    s.settimeout(0.01)
                    closed[i] = s.recv(1) == b""
                except socket.timeout:
                    pass
                except OSError:
                    closed[i] = True
            if not served:
                st, _ = u.get("127.0.0.1", kbs.port, "/healthz")
                served = st == 200
            time.sleep(0.4)
        took = time.monotonic() - t0
        u.check(served, "a normal client is served beside the slow ones")
        u.check(all(closed), "slow request heads and bodies closed (%r)" % closed)
        u.check(took >= 1.5, "not before the bound (%.1f s)" % took)
        for s in slow:
            s.close()
        slow = []
        # A complete request on a fresh connection is answered as ever.
        st, _ = u.get("127.0.0.1", kbs.port, "/healthz")
        u.check(st == 200, "served after the slow clients")
        # 8 connections from 127.0.0.1 are the limit: of 9, exactly one is closed at once (after
        # the server has seen the connections above close).
        time.sleep(0.5)
        for _ in range(9):
            slow.append(socket.create_connection(("127.0.0.1", kbs.port), timeout=2))
        time.sleep(0.2)
        got = []
        for s in slow:
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                got.append(s.recv(12))
            except OSError:
                got.append(b"")
        u.check(got.count(b"HTTP/1.1 200") == 8 and got.count(b"") == 1,
                "9 connections, limit 8: one refused (%r)" % got)
        for s in slow:
            s.close()
        slow = []
        time.sleep(0.3)
        st, _ = u.get("127.0.0.1", kbs.port, "/healthz")
        u.check(st == 200, "served again once the connections closed")
        st, text = u.get("127.0.0.1", kbs.port, "/metrics")
        slow_n = re.search(rb'kbs_connections_refused_total\{reason="slow_request"\} (\d+)', text)
        lim_n = re.search(rb'kbs_connections_refused_total\{reason="per_client_limit"\} (\d+)',
                          text)
        u.check(slow_n is not None and int(slow_n.group(1)) >= 7 and
                lim_n is not None and int(lim_n.group(1)) >= 1,
                "guard counted in /metrics (%r %r)" % (slow_n and slow_n.group(0),
                                                        lim_n and lim_n.group(0)))
    finally:
        for s in slow:
            s.close()
        kbs.cleanup()


def framing(tmp):
    """Request smuggling: a body length two parsers could read differently is a 400 with an RFC
    7807 body and the connection closes (what follows it is never served); strict HTTP/1.1 parsing
    refuses a request without Host or with whitespace before a colon."""
    data = os.path.join(tmp, "fr")
    os.mkdir(data, 0o700)
    kbs = u.Kbs(data=data)
    smuggled = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    try:
        auth = b"POST /kbs/v0/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        for name, head in [
            ("two Content-Length", b"Content-Length: 2\r\nContent-Length: %d\r\n"
                                   % (2 + len(smuggled))),
            ("two equal Content-Length", b"Content-Length: 2\r\nContent-Length: 2\r\n"),
            ("Content-Length and chunked", b"Content-Length: 2\r\n"
                                           b"Transfer-Encoding: chunked\r\n"),
            ("chunked and Content-Length", b"Transfer-Encoding: chunked\r\n"
                                           b"Content-Length: 2\r\n"),
            ("two Transfer-Encoding", b"Transfer-Encoding: chunked\r\n"
                                      b"Transfer-Encoding: chunked\r\n"),
            ("Transfer-Encoding not chunked", b"Transfer-Encoding: gzip\r\n"),
            # MHD keeps the space in the name: not its Content-Length, but a proxy's.
            ("space before colon", b"Content-Length : 2\r\n"),
            ("tab before colon", b"Content-Length\t: 2\r\n"),
        ]:
            out = raw(kbs.port, auth + head + b"\r\n{}" + smuggled)
            status, _, rest = out.partition(b"\r\n")
            body = out.split(b"\r\n\r\n", 1)[-1]
            u.check(status == b"HTTP/1.1 400 Bad Request" and out.count(b"HTTP/1.1 ") == 1,
                    "%s: one 400, nothing smuggled (%r)" % (name, out[:200]))
            u.check(problem(body) == "SerdeError", "%s: RFC 7807 body (%r)" % (name, body[:100]))
        # Strict parsing (MHD's own 400s; their bodies are MHD's HTML, see ARCHITECTURE.md).
        for name, req in [
            ("no Host", b"GET /healthz HTTP/1.1\r\n\r\n"),
            ("space in the target", b"GET /healthz x HTTP/1.1\r\nHost: x\r\n\r\n"),
        ]:
            out = raw(kbs.port, req)
            u.check(out.startswith(b"HTTP/1.1 400") or out == b"",
                    "%s -> 400 or closed unanswered (%r)" % (name, out[:60]))
        out = raw(kbs.port, b"GET /healthz HTTP/1.0\r\nConnection: close\r\n\r\n")
        u.check(out.startswith(b"HTTP/1.0 200") or out.startswith(b"HTTP/1.1 200"),
                "HTTP/1.0 without Host still served (%r)" % out[:60])
        st, _ = u.get("127.0.0.1", kbs.port, "/healthz")
        u.check(st == 200, "alive after the framing tests")
    finally:
        kbs.cleanup()


def main():
    if not os.path.exists(KBS):
        u.skip("custos-kbs not built")
    with tempfile.TemporaryDirectory() as tmp:
        replicas(tmp)
        metrics_and_limits(tmp)
        graceful(tmp)
        bad_starts(tmp)
        master_key(tmp)
        store_failure(tmp)
        slow_clients(tmp)
        framing(tmp)
    u.done()


if __name__ == "__main__":
    main()
