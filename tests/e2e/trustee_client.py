#!/usr/bin/python3
"""
Trustee's guest client, played byte for byte in Python (guest-components kbs_protocol as
research/trustee.md §1-2 describes it): the `auth` request with supported-hash-algorithms, the
`kbs-session-id` cookie sent back verbatim, the attestation body with kebab-case outer and
snake_case inner members and `additional_evidence` as a JSON string, the sample TEE's evidence
(svn + base64 of the 48-byte SHA-384 binding, unpadded, as guest-components' sample attester
emits it), and the resource JWE decrypted with the AAD REBUILT from the parsed header with
sorted keys, as guest-components does, not taken from the received `protected` string.

As a module: class Client. As a program: trustee_client.py URL repo/type/tag prints the secret.
"""
import base64
import http.client
import json
import os
import sys
import urllib.parse

from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trustee_wire as w  # noqa: E402


class Error(Exception):
    def __init__(self, status, body):
        self.status = status
        self.body = body
        try:
            self.problem = json.loads(body)
        except ValueError:
            self.problem = None
        super().__init__("HTTP %d: %r" % (status, body[:200]))


class Client:
    def __init__(self, url, tee="sample", ssl_context=None):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port
        self.tls = u.scheme == "https"
        self.ctx = ssl_context
        self.tee = tee
        self.cookie = None
        self.nonce = None
        self.key = None
        self.jwk = None
        self.token = None
        self.challenge_raw = None
        self.last_attest = None

    def _conn(self):
        if self.tls:
            return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=10)
        return http.client.HTTPConnection(self.host, self.port, timeout=10)

    def send(self, method, path, body=None, headers=None, cookie=True):
        h = dict(headers or {})
        if body is not None:
            h.setdefault("Content-Type", "application/json")
        if cookie and self.cookie:
            h["Cookie"] = "kbs-session-id=" + self.cookie
        c = self._conn()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie" and v.startswith("kbs-session-id="):
                self.cookie = v[len("kbs-session-id="):].split(";")[0]
        c.close()
        return r.status, data, r.getheaders()

    def auth(self, version=w.VERSION, tee=None):
        body = json.dumps({
            "version": version,
            "tee": tee or self.tee,
            "extra-params": {"supported-hash-algorithms": ["sha256", "sha384", "sha512", "sm3"]},
        }).encode()
        self.cookie = None
        s, data, hdrs = self.send("POST", "/kbs/v0/auth", body)
        if s != 200:
            raise Error(s, data)
        self.challenge_raw = data
        ch = json.loads(data)
        self.nonce = ch["nonce"]
        self.headers_auth = hdrs
        return ch

    def attestation_body(self, nonce=None, report_data=None, key=None):
        """The body guest-components sends; pieces may be overridden for negative tests."""
        self.key = key or ec.generate_private_key(ec.SECP256R1())
        self.jwk = w.ec_jwk(self.key.public_key())
        nonce = self.nonce if nonce is None else nonce
        rd = w.report_data(nonce, self.jwk, "") if report_data is None else report_data
        return {
            "runtime-data": {"nonce": nonce, "tee-pubkey": self.jwk},
            "tee-evidence": {
                "primary_evidence": {"svn": "1", "report_data": base64.b64encode(rd).decode()},
                "additional_evidence": "",
            },
        }

    def attest(self, body=None):
        body = body if body is not None else self.attestation_body()
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.last_attest = raw
        s, data, _ = self.send("POST", "/kbs/v0/attest", raw)
        if s != 200:
            raise Error(s, data)
        self.token = json.loads(data)["token"]
        return self.token

    def resource(self, path, bearer=None, cookie=True):
        h = {"Authorization": "Bearer " + bearer} if bearer else {}
        s, data, hdrs = self.send("GET", "/kbs/v0/resource/" + path, headers=h, cookie=cookie)
        if s != 200:
            raise Error(s, data)
        jwe = json.loads(data)
        self.last_jwe = jwe
        return w.jwe_decrypt_gc(jwe, self.key)

    def get_resource(self, path):
        """The whole exchange, with guest-components' retry: re-attest on 401, 3 tries."""
        last = None
        for _ in range(3):
            if self.token is None:
                self.auth()
                self.attest()
            try:
                return self.resource(path)
            except Error as e:
                last = e
                if e.status != 401:
                    raise
                self.token = None
        raise last


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: trustee_client.py URL repo/type/tag\n")
        return 2
    c = Client(sys.argv[1])
    try:
        sys.stdout.buffer.write(c.get_resource(sys.argv[2]))
    except Error as e:
        sys.stderr.write("trustee_client: %s\n" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
