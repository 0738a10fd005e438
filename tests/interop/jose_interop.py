#!/usr/bin/python3
"""custos JOSE <-> python3-jwcrypto, both directions, every algorithm custos supports.

Usage: /usr/bin/python3 jose_interop.py PATH/TO/jose_tool
Run by `meson test --suite interop` (and so by `make test`). Exits non-zero on the first
mismatch, printing what failed.

JWE (enc A256GCM): ECDH-ES+A256KW on P-256, P-384 and P-521, RSA-OAEP-256, RSA1_5, dir; flattened
and compact; custos encrypts -> jwcrypto decrypts, jwcrypto encrypts -> custos decrypts, with keys
made on either side. JWS: ES256, ES384, ES512, EdDSA, RS256, PS256, both directions. Also: the
protected header custos emits equals what Trustee's guest client rebuilds for the AAD, and
jwcrypto-made tokens that custos must refuse (HS256, alg not allowed) are refused.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile

from jwcrypto import jwe, jwk, jws

TOOL = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="custos-jose-")
checks = 0


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def tool(*args, stdin=b"", ok=True):
    global checks
    checks += 1
    p = subprocess.run([TOOL, *args], input=stdin, capture_output=True)
    if ok and p.returncode != 0:
        sys.exit(f"FAIL: jose_tool {' '.join(args)}: rc {p.returncode}: {p.stderr.decode()}")
    if not ok and p.returncode != 1:
        sys.exit(f"FAIL: jose_tool {' '.join(args)} should refuse (rc 1), got rc {p.returncode}")
    return p.stdout


def keyfile(name, jwk_json):
    path = os.path.join(TMP, name + ".jwk")
    with open(path, "w") as f:
        f.write(jwk_json)
    return path


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        sys.exit("FAIL: " + what)


def trustee_aad(protected_b64):
    """Trustee's guest client (kbs_protocol keypair.rs decrypt_response): parse the protected
    header into ProtectedHeader {alg, enc, other: BTreeMap}, serialize it with serde_json (struct
    fields first, then the map sorted, nested objects sorted, no whitespace), base64url it."""
    h = json.loads(b64url_dec(protected_b64))

    def sort(v):
        return {k: sort(v[k]) for k in sorted(v)} if isinstance(v, dict) else v

    rebuilt = {"alg": h.pop("alg"), "enc": h.pop("enc")}
    rebuilt.update(sort(h))
    text = json.dumps(rebuilt, separators=(",", ":"), ensure_ascii=False)
    return b64url(text.encode())


JWE_CASES = [
    ("ECDH-ES+A256KW", lambda: jwk.JWK.generate(kty="EC", crv="P-256"), "P-256"),
    ("ECDH-ES+A256KW", lambda: jwk.JWK.generate(kty="EC", crv="P-384"), "P-384"),
    ("ECDH-ES+A256KW", lambda: jwk.JWK.generate(kty="EC", crv="P-521"), "P-521"),
    ("RSA-OAEP-256", lambda: jwk.JWK.generate(kty="RSA", size=2048), "RSA"),
    ("RSA1_5", lambda: jwk.JWK.generate(kty="RSA", size=2048), "RSA"),
    ("dir", lambda: jwk.JWK.generate(kty="oct", size=256), "oct"),
]
SECRET = os.urandom(32) + b" and some more bytes of a resource \x00\xff"


def jwe_custos_to_jwcrypto(alg, key, tag):
    if alg == "dir":
        pub = key.export()
    else:
        d = json.loads(key.export_public())
        d["alg"] = alg  # Trustee's tee-pubkey names its alg
        pub = json.dumps(d)
    kf = keyfile(f"pub-{tag}", pub)
    for ser in ("flat", "compact"):
        out = tool("encrypt", kf, "auto", ser, stdin=SECRET)
        e = jwe.JWE(algs=[alg, "A256GCM"])
        e.deserialize(out.decode(), key)
        check(e.payload == SECRET, f"jwcrypto decrypts custos {alg} {tag} {ser}")
        if ser == "flat":
            o = json.loads(out)
            check(list(o) == (["protected", "iv", "ciphertext", "tag"] if alg == "dir" else
                              ["protected", "encrypted_key", "iv", "ciphertext", "tag"]),
                  f"flattened members in Trustee's order ({alg})")
            hdr = b64url_dec(o["protected"])
            canon = json.dumps(json.loads(hdr), sort_keys=True, separators=(",", ":")).encode()
            check(hdr == canon, f"protected header is sorted, no whitespace ({alg} {tag})")
            check(trustee_aad(o["protected"]) == o["protected"],
                  f"Trustee's rebuilt AAD equals the protected member ({alg} {tag})")
            if alg.startswith("ECDH"):
                epk = json.loads(hdr)["epk"]
                check(list(epk) == ["crv", "kty", "x", "y"] and epk["crv"] == tag.split("-custos")[0],
                      f"epk members and curve ({tag})")


def jwe_jwcrypto_to_custos(alg, key, tag):
    kf = keyfile(f"priv-{tag}", key.export())
    for compact in (False, True):
        e = jwe.JWE(SECRET, json.dumps({"alg": alg, "enc": "A256GCM"}), algs=[alg, "A256GCM"])
        e.add_recipient(key)
        out = tool("decrypt", kf, alg, stdin=e.serialize(compact=compact).encode())
        check(out == SECRET, f"custos decrypts jwcrypto {alg} {tag} compact={compact}")
        # The allow-list is honoured.
        other = "dir" if alg != "dir" else "RSA-OAEP-256"
        tool("decrypt", kf, other, stdin=e.serialize(compact=compact).encode(), ok=False)


def jwe_tests():
    for alg, gen, tag in JWE_CASES:
        key = gen()  # made by jwcrypto
        jwe_custos_to_jwcrypto(alg, key, tag)
        jwe_jwcrypto_to_custos(alg, key, tag)
        # A key made by custos, used by jwcrypto (private JWK export).
        ck = jwk.JWK.from_json(tool("genkey", "RSA" if alg.startswith("RSA") else tag).decode())
        jwe_custos_to_jwcrypto(alg, ck, tag + "-custos-key")
        jwe_jwcrypto_to_custos(alg, ck, tag + "-custos-key")
    # A tampered tag from jwcrypto is refused.
    key = jwk.JWK.generate(kty="EC", crv="P-256")
    e = jwe.JWE(SECRET, json.dumps({"alg": "ECDH-ES+A256KW", "enc": "A256GCM"}))
    e.add_recipient(key)
    parts = e.serialize(compact=True).split(".")
    t = bytearray(b64url_dec(parts[4]))
    t[0] ^= 1
    parts[4] = b64url(bytes(t))
    tool("decrypt", keyfile("tamper", key.export()), "ECDH-ES+A256KW",
         stdin=".".join(parts).encode(), ok=False)


JWS_CASES = [
    ("ES256", lambda: jwk.JWK.generate(kty="EC", crv="P-256"), "P-256"),
    ("ES384", lambda: jwk.JWK.generate(kty="EC", crv="P-384"), "P-384"),
    ("ES512", lambda: jwk.JWK.generate(kty="EC", crv="P-521"), "P-521"),
    ("EdDSA", lambda: jwk.JWK.generate(kty="OKP", crv="Ed25519"), "Ed25519"),
    ("RS256", lambda: jwk.JWK.generate(kty="RSA", size=2048), "RSA"),
    ("PS256", lambda: jwk.JWK.generate(kty="RSA", size=2048), "RSA"),
]
PAYLOAD = json.dumps({"iss": "custos", "submods": {"cpu0": {"ear.status": "affirming"}}}).encode()


def jws_tests():
    for alg, gen, tag in JWS_CASES:
        for key in (gen(), jwk.JWK.from_json(tool("genkey", tag).decode())):
            priv = keyfile(f"sig-{alg}", key.export())
            pub = keyfile(f"sigpub-{alg}", key.export_public())
            # custos signs, jwcrypto verifies.
            tok = tool("sign", priv, alg, stdin=PAYLOAD).decode()
            s = jws.JWS()
            s.deserialize(tok, key, alg=alg)
            check(s.payload == PAYLOAD, f"jwcrypto verifies custos {alg}")
            # jwcrypto signs, custos verifies (public key only).
            s = jws.JWS(PAYLOAD)
            s.add_signature(key, alg=alg, protected=json.dumps({"alg": alg, "kid": "k1"}))
            tok = s.serialize(compact=True)
            out = tool("verify", pub, alg, stdin=tok.encode())
            check(out == PAYLOAD, f"custos verifies jwcrypto {alg}")
            # Not in the allow-list, and the public key's JWK as an HS256 secret.
            others = ",".join(a for a, _, _ in JWS_CASES if a != alg)
            tool("verify", pub, others, stdin=tok.encode(), ok=False)
            with open(pub, "rb") as f:
                hk = jwk.JWK(kty="oct", k=b64url(f.read()))
            s = jws.JWS(PAYLOAD)
            s.add_signature(hk, alg="HS256", protected=json.dumps({"alg": "HS256"}))
            tool("verify", pub, "ES256,ES384,ES512,EdDSA,RS256,PS256",
                 stdin=s.serialize(compact=True).encode(), ok=False)


def jwk_tests():
    for gen in (lambda: jwk.JWK.generate(kty="EC", crv="P-256"),
                lambda: jwk.JWK.generate(kty="EC", crv="P-521"),
                lambda: jwk.JWK.generate(kty="RSA", size=2048),
                lambda: jwk.JWK.generate(kty="OKP", crv="Ed25519")):
        key = gen()
        out = tool("pubjwk", keyfile("jwk", key.export()))
        ref = json.dumps(json.loads(key.export_public()), sort_keys=True, separators=(",", ":"))
        check(out.decode() == ref, "canonical public JWK equals jwcrypto's, sorted")


def main():
    jwk_tests()
    jwe_tests()
    jws_tests()
    print(f"jose interop with python3-jwcrypto: {checks} checks passed")


if __name__ == "__main__":
    main()
