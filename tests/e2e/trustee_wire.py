"""
Trustee's KBS protocol 0.4.0 wire format, written independently in Python for the end-to-end
tests: the fake Trustee KBS (fake_trustee.py) and the Trustee-client conformance test
(trustee_client.py) share it. It follows research/trustee.md sections 1-3: JCS report-data
binding with SHA-384, the resource JWE (ECDH-ES+A256KW, A256GCM, flattened, canonical protected
header), and the guest client's way of rebuilding the AAD from the parsed header.

Only python3-jwcrypto's dependency python3-cryptography is used, for the primitives; the JOSE
framing is spelled out here so that every byte on the wire is under the test's control.
"""
import base64
import hashlib
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

VERSION = "0.4.0"
ERR_PREFIX = "https://github.com/confidential-containers/kbs/errors/"


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_dec(s):
    if "=" in s:
        raise ValueError("padded base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jcs(v):
    """RFC 8785 for the ASCII strings and objects the protocol uses (no numbers)."""
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def report_data(nonce, tee_pubkey, additional_evidence="", hash_name="sha384"):
    """H(JCS({additional-evidence, nonce, tee-pubkey})); SHA-384 (48 bytes) unless the challenge
    selected another hash (IBM SE's form)."""
    return hashlib.new(hash_name,
        jcs({"additional-evidence": additional_evidence, "nonce": nonce, "tee-pubkey": tee_pubkey})
    ).digest()


def ec_jwk(pub, alg="ECDH-ES+A256KW"):
    """Public P-256 JWK in the member order guest-components' serde emits it."""
    n = pub.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "alg": alg,
        "x": b64url(n.x.to_bytes(32, "big")),
        "y": b64url(n.y.to_bytes(32, "big")),
    }


def jwk_to_pub(jwk):
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise ValueError("only EC P-256 tee-pubkeys here")
    x = int.from_bytes(b64url_dec(jwk["x"]), "big")
    y = int.from_bytes(b64url_dec(jwk["y"]), "big")
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def concat_kdf(z, alg, keylen_bits=256):
    """RFC 7518 4.6.2: one round of SHA-256 suffices for 256 bits."""
    algid = alg.encode()
    other = (
        len(algid).to_bytes(4, "big") + algid
        + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
        + keylen_bits.to_bytes(4, "big")
    )
    return hashlib.sha256((1).to_bytes(4, "big") + z + other).digest()[: keylen_bits // 8]


def jwe_encrypt(plaintext, tee_pubkey_jwk):
    """Trustee's resource response: flattened JWE, members in Trustee's order, no aad."""
    recipient = jwk_to_pub(tee_pubkey_jwk)
    eph = ec.generate_private_key(ec.SECP256R1())
    kek = concat_kdf(eph.exchange(ec.ECDH(), recipient), "ECDH-ES+A256KW")
    cek = os.urandom(32)
    iv = os.urandom(12)
    en = eph.public_key().public_numbers()
    header = {
        "alg": "ECDH-ES+A256KW",
        "enc": "A256GCM",
        "epk": {
            "crv": "P-256",
            "kty": "EC",
            "x": b64url(en.x.to_bytes(32, "big")),
            "y": b64url(en.y.to_bytes(32, "big")),
        },
    }
    protected = b64url(json.dumps(header, separators=(",", ":")).encode())
    ct = AESGCM(cek).encrypt(iv, plaintext, protected.encode())
    return {
        "protected": protected,
        "encrypted_key": b64url(aes_key_wrap(kek, cek)),
        "iv": b64url(iv),
        "ciphertext": b64url(ct[:-16]),
        "tag": b64url(ct[-16:]),
    }


def gc_aad(protected_b64):
    """What guest-components authenticates: the parsed header re-serialized as `alg`, `enc`,
    then the other members sorted (serde BTreeMap), compact, base64url, as ASCII bytes. It does
    NOT use the received `protected` string, so a server must emit exactly this form."""
    hdr = json.loads(b64url_dec(protected_b64))
    rebuilt = {"alg": hdr.pop("alg"), "enc": hdr.pop("enc")}
    for k in sorted(hdr):
        rebuilt[k] = hdr[k]
    return b64url(json.dumps(rebuilt, sort_keys=True, separators=(",", ":")).encode()).encode()


def jwe_decrypt_gc(jwe, priv):
    """Decrypt a flattened resource JWE the way guest-components' keypair.rs does."""
    hdr = json.loads(b64url_dec(jwe["protected"]))
    if hdr.get("alg") != "ECDH-ES+A256KW" or hdr.get("enc") != "A256GCM":
        raise ValueError("unexpected JWE algorithms %r" % hdr)
    epk = jwk_to_pub(dict(hdr["epk"], alg="ECDH-ES+A256KW"))
    kek = concat_kdf(priv.exchange(ec.ECDH(), epk), "ECDH-ES+A256KW")
    cek = aes_key_unwrap(kek, b64url_dec(jwe["encrypted_key"]))
    ct = b64url_dec(jwe["ciphertext"]) + b64url_dec(jwe["tag"])
    return AESGCM(cek).decrypt(b64url_dec(jwe["iv"]), ct, gc_aad(jwe["protected"]))


def es256_jwt(priv, claims, header_jwk=True):
    """An ES256 JWT as Trustee's AS issues EAR tokens (header carries the signer's jwk)."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    hdr = {"alg": "ES256", "typ": "JWT"}
    if header_jwk:
        hdr["jwk"] = ec_jwk(priv.public_key(), alg="ES256")
    signing_input = (
        b64url(json.dumps(hdr, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    r, s = decode_dss_signature(priv.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def jwt_claims(token):
    """The payload of a compact JWS, not verified (for display and expiry checks in tests)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS")
    return json.loads(b64url_dec(parts[1]))


def pem_private(priv):
    return priv.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
