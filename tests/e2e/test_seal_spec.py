"""
docs/sealed-format.md is precise enough for an independent implementation: this file is one,
written from the document alone in Python (python3-cryptography, no custos code), and it must
agree with custos both ways: files and directories sealed by `custos seal` open here (commitment,
header MAC, chunk nonces and AAD, manifest MAC, sizes), and files sealed here open with `custos
unseal` and `custos inspect --kek`. Tampering is refused by both.
"""
import hashlib
import hmac
import os
import struct
import sys
import tempfile

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_util as u  # noqa: E402

CUSTOS = u.prog("custos")
MAGIC = b"\x89CSEAL\r\n"
MAN_MAGIC = b"\x89CSMAN\r\n"


class Bad(Exception):
    pass


def hkdf(ikm, salt, info):
    return HKDF(hashes.SHA256(), 32, salt, info.encode()).derive(ikm)


def keys(dek, salt):
    return (hkdf(dek, salt, "custos seal v1 payload key"),
            hkdf(dek, salt, "custos seal v1 header mac key"),
            hkdf(dek, salt, "custos seal v1 key commitment"))


def nonce(i, last):
    return b"\0\0\0" + struct.pack(">Q", i) + (b"\1" if last else b"\0")


def nchunks(length, c):
    return max(1, -(-length // c))


def open_file(data, kek):
    """§2-§4.2: the plaintext of a sealed file, or Bad."""
    h = data[:512]
    if len(h) < 512 or h[:8] != MAGIC:
        raise Bad("magic")
    version, alg, log2, hlen = struct.unpack_from("<HBBI", h, 8)
    if version != 1 or alg != 1 or hlen != 512 or not 12 <= log2 <= 30:
        raise Bad("fields")
    salt, commit = h[16:48], h[48:80]
    (length,) = struct.unpack_from("<Q", h, 96)
    wrap_alg, klen = h[104], struct.unpack_from("<H", h, 106)[0]
    if any(h[80:96]) or h[105] or wrap_alg != 1 or not 1 <= klen <= 256 or length > 1 << 60:
        raise Bad("fields")
    if any(h[148 + klen:480]):
        raise Bad("reserved")
    try:
        dek = aes_key_unwrap(kek, h[108:148])
    except Exception:
        raise Bad("wrong key")
    k_payload, k_mac, k_commit = keys(dek, salt)
    if not hmac.compare_digest(k_commit, commit):
        raise Bad("commitment")
    if not hmac.compare_digest(hmac.new(k_mac, h[:480], hashlib.sha256).digest(), h[480:512]):
        raise Bad("header mac")
    c, n = 1 << log2, nchunks(length, 1 << log2)
    if len(data) != 512 + length + 16 * n:
        raise Bad("size")
    out, g = [], AESGCM(k_payload)
    for i in range(n):
        plen = min(c, length - i * c)
        off = 512 + i * (c + 16)
        try:
            out.append(g.decrypt(nonce(i, i == n - 1), data[off:off + plen + 16], h[:96]))
        except Exception:
            raise Bad("chunk %d" % i)
    return b"".join(out), h[148:148 + klen].decode()


def seal(pt, kek, key_id, log2=16):
    """§4.1, from the document."""
    dek, salt = os.urandom(32), os.urandom(32)
    k_payload, k_mac, k_commit = keys(dek, salt)
    kid = key_id.encode()
    h = bytearray(512)
    h[0:8] = MAGIC
    struct.pack_into("<HBBI", h, 8, 1, 1, log2, 512)
    h[16:48], h[48:80] = salt, k_commit
    struct.pack_into("<QBBH", h, 96, len(pt), 1, 0, len(kid))
    h[108:148] = aes_key_wrap(kek, dek)
    h[148:148 + len(kid)] = kid
    h[480:512] = hmac.new(k_mac, bytes(h[:480]), hashlib.sha256).digest()
    c, n = 1 << log2, nchunks(len(pt), 1 << log2)
    g, body = AESGCM(k_payload), []
    for i in range(n):
        body.append(g.encrypt(nonce(i, i == n - 1), pt[i * c:(i + 1) * c], bytes(h[:96])))
    return bytes(h) + b"".join(body)


def open_manifest(data, kek):
    """§5: {name: (plaintext_len, plaintext_sha256, header_sha256)}, or Bad."""
    if data[:8] != MAN_MAGIC or struct.unpack_from("<HH", data, 8) != (1, 0):
        raise Bad("manifest header")
    salt = data[16:48]
    mac_key = hkdf(kek, salt, "custos seal v1 manifest mac key")
    if not hmac.compare_digest(hmac.new(mac_key, data[:-32], hashlib.sha256).digest(),
                               data[-32:]):
        raise Bad("manifest mac")
    (count,) = struct.unpack_from("<I", data, 12)
    (klen,) = struct.unpack_from("<H", data, 48)
    off, entries, last = 50 + klen, {}, None
    for _ in range(count):
        (nlen,) = struct.unpack_from("<H", data, off)
        name = data[off + 2:off + 2 + nlen].decode()
        off += 2 + nlen
        (plen,) = struct.unpack_from("<Q", data, off)
        entries[name] = (plen, data[off + 8:off + 40], data[off + 40:off + 72])
        off += 72
        if last is not None and not last < name.encode():
            raise Bad("order")
        last = name.encode()
    if off != len(data) - 32:
        raise Bad("manifest length")
    return entries


def main():
    if not os.path.exists(CUSTOS):
        u.skip("custos not built")
    with tempfile.TemporaryDirectory() as tmp:
        kek, kek2 = os.urandom(32), os.urandom(32)
        kf, kf2 = os.path.join(tmp, "kek"), os.path.join(tmp, "kek2")
        for p, k in ((kf, kek), (kf2, kek2)):
            with open(p, "wb") as f:
                f.write(k)
        # custos seals, this implementation opens: several sizes around the chunk edges.
        for size in (0, 1, 4095, 4096, 4097, 3 * 65536 + 5):
            pt = os.urandom(size)
            src, dst = os.path.join(tmp, "pt"), os.path.join(tmp, "pt.sealed")
            with open(src, "wb") as f:
                f.write(pt)
            rc, _, err = u.run([CUSTOS, "seal", src, "-o", dst, "--force", "-q", "--key-id",
                                "kbs:///default/model/spec", "--kek", kf, "--chunk-size",
                                "4096" if size < 65536 else "65536"])
            if not u.check(rc == 0, "custos seal %d bytes (%s)" % (size, err)):
                continue
            with open(dst, "rb") as f:
                data = f.read()
            got, kid = open_file(data, kek)
            u.check(got == pt and kid == "kbs:///default/model/spec",
                    "reference opens custos' %d-byte file" % size)
            for bad, why in ((open_file, "wrong KEK"),):
                try:
                    bad(data, kek2)
                    u.check(False, why + " accepted")
                except Bad:
                    u.check(True, why)
            if size > 0:
                t = bytearray(data)
                t[-1] ^= 1
                try:
                    open_file(bytes(t), kek)
                    u.check(False, "tampered last byte accepted by the reference")
                except Bad:
                    u.check(True, "tampered")
        # This implementation seals, custos opens.
        pt = os.urandom(200000)
        sealed = seal(pt, kek, "kbs:///default/model/from-python")
        p = os.path.join(tmp, "py.sealed")
        with open(p, "wb") as f:
            f.write(sealed)
        rc, out, err = u.run([CUSTOS, "unseal", p, "-o", "-", "--kek", kf])
        u.check(rc == 0 and out == pt, "custos unseals the reference's file (rc %d %s)" % (rc, err))
        rc, out, _ = u.run([CUSTOS, "inspect", p, "--kek", kf])
        u.check(rc == 0 and b"kbs:///default/model/from-python" in out and b"yes" in out,
                "custos inspect verifies the reference's header")
        t = bytearray(sealed)
        t[600] ^= 0x40
        with open(p, "wb") as f:
            f.write(t)
        rc, _, _ = u.run([CUSTOS, "unseal", p, "-o", "-", "--kek", kf])
        u.check(rc == 1, "custos refuses the reference's file with a flipped chunk bit")
        # A directory: the manifest and every file, opened here.
        d, sd = os.path.join(tmp, "m"), os.path.join(tmp, "m.sealed")
        os.makedirs(os.path.join(d, "tok"))
        files = {"config.json": b'{"a": 1}', "tok/t.json": os.urandom(5000),
                 "w.safetensors": os.urandom(70000)}
        for n, b in files.items():
            with open(os.path.join(d, n), "wb") as f:
                f.write(b)
        rc, _, err = u.run([CUSTOS, "seal", d, "-o", sd, "-q", "--key-id",
                            "kbs:///default/model/spec-dir", "--kek", kf])
        if u.check(rc == 0, "custos seal dir (%s)" % err):
            with open(os.path.join(sd, ".custos-manifest"), "rb") as f:
                man = f.read()
            entries = open_manifest(man, kek)
            u.check(sorted(entries) == sorted(files), "manifest lists exactly the files")
            for n, b in files.items():
                with open(os.path.join(sd, n), "rb") as f:
                    data = f.read()
                plen, psha, hsha = entries[n]
                got, _ = open_file(data, kek)
                u.check(got == b and plen == len(b) and psha == hashlib.sha256(b).digest() and
                        hsha == hashlib.sha256(data[:512]).digest(),
                        "manifest entry and file %s agree" % n)
            try:
                open_manifest(man, kek2)
                u.check(False, "manifest under the wrong KEK accepted")
            except Bad:
                u.check(True, "manifest wrong KEK")
    u.done()


if __name__ == "__main__":
    main()
