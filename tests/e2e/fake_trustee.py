#!/usr/bin/python3
"""
A fake Trustee KBS for the end-to-end tests: it answers exactly as Trustee's KBS 0.4.0 does
(research/trustee.md sections 1-3), so that custos-agent is proven against Trustee's responses
rather than against our own broker only:

  - challenge {"nonce": base64(32 bytes), "extra-params": ""} and a Set-Cookie
    `kbs-session-id=<32 hex>; Expires=...` with no other attributes;
  - the report data checked as SHA-384(JCS({additional-evidence, nonce, tee-pubkey})) against the
    `sample` evidence {"svn", "report_data": base64};
  - {"token": <ES256 EAR JWT, signer jwk in the header>};
  - the resource as a flattened JWE with the canonical protected header;
  - every error as 401 (or 404 for an unknown plugin) with an RFC 7807 body, including a missing
    resource (Trustee's PluginInternalError), which custos-agent must turn into a bounded retry.

Usage: fake_trustee.py [--resource repo/type/tag=VALUE]... [--fail-gets N] [--token-ttl S]
                       [--deny repo/type/tag]... [--huge-challenge] [--select-hash H]
                       [--cert PEM --key PEM]
Prints "PORT <n>" once listening on 127.0.0.1. GET /fake/stats returns request counters.
"""
import argparse
import base64
import email.utils
import json
import os
import re
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trustee_wire as w  # noqa: E402

SEGMENT = re.compile(r"^[a-zA-Z0-9_\-]+[a-zA-Z0-9_\-\.]*$")


class State:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.sessions = {}  # cookie -> {tee, nonce, expires, token}
        self.signer = ec.generate_private_key(ec.SECP256R1())
        self.resources = {}
        for spec in args.resource or []:
            path, _, value = spec.partition("=")
            self.resources[path] = value.encode()
        self.fail_gets = args.fail_gets
        self.deny = set(args.deny or [])
        self.huge = args.huge_challenge
        self.hash = args.select_hash
        self.token_ttl = args.token_ttl
        self.stats = {"auth": 0, "attest": 0, "resource": 0, "resource_ok": 0}
        self.last_attest_body = None


def error(handler, status, variant, detail):
    body = json.dumps({"type": w.ERR_PREFIX + variant, "detail": detail}).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def ok_json(handler, obj, cookie=None, expires=None):
    body = json.dumps(obj, separators=(",", ":")).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    if cookie:
        handler.send_header(
            "Set-Cookie",
            "kbs-session-id=%s; Expires=%s" % (cookie, email.utils.formatdate(expires, usegmt=True)),
        )
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake-trustee: " + (fmt % args) + "\n")

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 2 * 1024 * 1024:
            raise ValueError("payload reached size limit")
        return self.rfile.read(n)

    def cookie(self):
        for part in (self.headers.get("Cookie") or "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == "kbs-session-id":
                return v
        return None

    def do_POST(self):
        st = self.server.state
        try:
            raw = self.body()
        except ValueError as e:
            return error(self, 401, "HttpError", str(e))
        if self.path == "/kbs/v0/auth" and st.huge:
            # A hostile or broken broker: a challenge far over any sane size.
            body = b'{"nonce":"' + b"A" * (8 << 20) + b'","extra-params":""}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass
            return None
        if self.path == "/kbs/v0/auth":
            with st.lock:
                st.stats["auth"] += 1
            try:
                req = json.loads(raw)
                version, tee = req["version"], req["tee"]
                req["extra-params"]
            except (ValueError, KeyError, TypeError) as e:
                return error(self, 401, "ParseRequest", "Invalid request: %s" % e)
            if version != w.VERSION:
                return error(
                    self, 401, "ProtocolVersion",
                    "Protocol Version Mismatch: expect =0.4.0 while the request is %s" % version,
                )
            nonce = base64.b64encode(os.urandom(32)).decode()
            cookie = os.urandom(16).hex()
            expires = time.time() + 300
            with st.lock:
                st.sessions[cookie] = {"tee": tee, "nonce": nonce, "expires": expires, "token": None}
            # IBM SE's challenge form selects the hash: {"selected-hash-algorithm": ...}.
            extra = {"selected-hash-algorithm": st.hash} if st.hash != "sha384" else ""
            with st.lock:
                st.sessions[cookie]["hash"] = st.hash
            return ok_json(self, {"nonce": nonce, "extra-params": extra}, cookie, expires)
        if self.path == "/kbs/v0/attest":
            with st.lock:
                st.stats["attest"] += 1
                st.last_attest_body = raw.decode(errors="replace")
            cookie = self.cookie()
            with st.lock:
                sess = st.sessions.get(cookie)
            if sess is None or sess["expires"] < time.time():
                return error(self, 401, "InvalidSession", "Session not found or expired")
            try:
                att = json.loads(raw)
                rd = att["runtime-data"]
                nonce, pubkey = rd["nonce"], rd["tee-pubkey"]
                ev = att["tee-evidence"]
                primary, additional = ev["primary_evidence"], ev["additional_evidence"]
                if not isinstance(additional, str):
                    raise TypeError("additional_evidence must be a string")
            except (ValueError, KeyError, TypeError) as e:
                return error(self, 401, "AttestationError", "Invalid attestation body: %s" % e)
            if nonce != sess["nonce"]:
                return error(self, 401, "AttestationError", "Nonce mismatch")
            if sess["tee"] != "sample":
                return error(self, 401, "AttestationError", "Verifier not enabled")
            expected = w.report_data(nonce, pubkey, additional, sess.get("hash", "sha384"))
            try:
                got = base64.b64decode(primary["report_data"], validate=True)
            except (ValueError, KeyError, TypeError):
                return error(self, 401, "AttestationError", "bad sample evidence")
            # The binding, zero-padded to the evidence's report-data size (48 as guest-components'
            # sample attester emits it for SHA-384, or 64), never truncated.
            if not (len(got) in (len(expected), 48, 64) and len(got) >= len(expected)
                    and got == expected + bytes(len(got) - len(expected))):
                return error(self, 401, "AttestationError",
                             "REPORT_DATA is different from that in Sample Quote")
            now = int(time.time())
            claims = {
                "eat_profile": "tag:github.com,2024:confidential-containers/Trustee",
                "iat": now,
                "exp": now + st.token_ttl,
                "iss": "CoCo-Attestation-Service",
                "ear.verifier-id": {
                    "developer": "https://confidentialcontainers.org",
                    "build": "attestation-service 0.1.0",
                },
                "submods": {
                    "cpu0": {
                        "ear.status": "warning",
                        "ear.trustworthiness-vector": {"executables": 33, "hardware": 97,
                                                       "configuration": 36},
                        "ear.appraisal-policy-id": "default",
                        "ear.veraison.annotated-evidence": {
                            "sample": {"svn": primary.get("svn"),
                                       "report_data": primary["report_data"]},
                            "report_data": expected.hex(),
                            "runtime_data_claims": {"nonce": nonce, "tee-pubkey": pubkey},
                        },
                    }
                },
            }
            token = w.es256_jwt(st.signer, claims)
            with st.lock:
                sess["token"] = token
            return ok_json(self, {"token": token}, cookie, sess["expires"])
        return error(self, 404, "PluginNotFound", "Plugin not found")

    def do_GET(self):
        st = self.server.state
        if self.path == "/fake/stats":
            with st.lock:
                return ok_json(self, dict(st.stats, last_attest_body=st.last_attest_body))
        if not self.path.startswith("/kbs/v0/resource/"):
            return error(self, 404, "PluginNotFound", "Plugin not found")
        with st.lock:
            st.stats["resource"] += 1
            fail = st.fail_gets > 0
            if fail:
                st.fail_gets -= 1
        segs = self.path[len("/kbs/v0/resource/"):].split("/")
        if len(segs) != 3 or not all(SEGMENT.match(s) for s in segs):
            return error(self, 404, "InvalidRequestPath", "Invalid resource path")
        auth = self.headers.get("Authorization") or ""
        token = None
        if auth.startswith("Bearer "):
            token = auth[len("Bearer "):]
        else:
            with st.lock:
                sess = st.sessions.get(self.cookie())
            token = sess and sess["token"]
        if not token:
            return error(self, 401, "TokenNotFound", "Attestation Token not found")
        if fail:
            return error(self, 401, "TokenVerifierError", "Token expired (injected)")
        try:
            claims = w.jwt_claims(token)
            if claims["exp"] < time.time():
                raise ValueError("expired")
            pub = claims["submods"]["cpu0"]["ear.veraison.annotated-evidence"][
                "runtime_data_claims"]["tee-pubkey"]
        except (ValueError, KeyError, TypeError) as e:
            return error(self, 401, "TokenVerifierError", "Failed to verify token: %s" % e)
        if "/".join(segs) in st.deny:
            # custos' deliberate deviation (and what Trustee's docs promise): 403 on denial.
            return error(self, 403, "PolicyDeny", "Resource policy denied the request (injected)")
        value = st.resources.get("/".join(segs))
        if value is None:
            return error(self, 401, "PluginInternalError", "Resource not found")
        with st.lock:
            st.stats["resource_ok"] += 1
        return ok_json(self, w.jwe_encrypt(value, pub))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--resource", action="append")
    ap.add_argument("--fail-gets", type=int, default=0)
    ap.add_argument("--deny", action="append")
    ap.add_argument("--huge-challenge", action="store_true")
    ap.add_argument("--select-hash", default="sha384", choices=["sha256", "sha384", "sha512"])
    ap.add_argument("--token-ttl", type=int, default=300)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
