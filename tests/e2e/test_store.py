#!/usr/bin/python3
"""
`custos store` on a real broker's database. A development broker takes a few `custos admin`
writes (each one audited), is stopped, and then: `custos store audit verify` accepts the log;
`audit export` prints it as JSON lines whose hash chain this script recomputes on its own
(SHA-256 over the previous hash and the record's canonical JSON) and whose head MAC it recomputes
from the master key file, so the documented format is checked by a second implementation; no
secret value appears in the export or in the database file; a record edited by hand with sqlite3
is reported at its seq (exit 1); and `custos store rekey` moves the database to a new master key
that the old one can no longer open.
"""
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_util as u  # noqa: E402

CUSTOS = u.prog("custos")


def canon(obj):
    # RFC 8785 for what the log holds (ASCII names, strings and integers): sorted, no spaces.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def check_chain(lines):
    prev = bytes(32)
    for n, line in enumerate(lines, 1):
        rec = json.loads(line)
        u.check(rec["seq"] == n, "seq %d in order" % n)
        body = {"body": rec["body"], "kind": rec["kind"], "seq": rec["seq"], "time": rec["time"]}
        h = hashlib.sha256(prev + canon(body).encode()).digest()
        u.check(h.hex() == rec["hash"], "hash of record %d recomputed independently" % n)
        prev = h
    return prev


def main():
    for p in (CUSTOS, u.prog("custos-kbs")):
        if not os.path.exists(p):
            u.skip("%s not built" % p)
    kbs = u.Kbs()
    data = kbs.data
    secrets = []
    try:
        for i in range(5):
            val = ("store-e2e-secret-%d-%s" % (i, os.urandom(8).hex())).encode()
            secrets.append(val)
            rc, _, err = u.run([CUSTOS, "admin", "--kbs", kbs.url(), "resource", "put",
                                "default/store-e2e/k%d" % i], input=val)
            u.check(rc == 0, "admin put %d: %s" % (i, err.strip()))
    finally:
        kbs.stop()

    db = os.path.join(data, "kbs.db")
    url = "sqlite://" + db
    rc, out, err = u.run([CUSTOS, "store", "audit", "verify", url])
    u.check(rc == 0 and b"intact" in out, "verify accepts the broker's log: %r %s" % (out, err))

    rc, out, err = u.run([CUSTOS, "store", "audit", "export", url])
    lines = out.decode().splitlines()
    u.check(rc == 0 and len(lines) >= 5, "export prints the records (%d)" % len(lines))
    last = check_chain(lines)
    kinds = [json.loads(line)["kind"] for line in lines]
    u.check(kinds.count("admin") >= 5, "each admin write is audited")
    rc, out2, _ = u.run([CUSTOS, "store", "audit", "export", url, "--from", "2", "--to", "3"])
    u.check(rc == 0 and [json.loads(x)["seq"] for x in out2.decode().splitlines()] == [2, 3],
            "export of a range")

    # The head MAC, from the key file: akey = HMAC(master, label); mac over seq and hash.
    with open(db + ".master-key", "rb") as f:
        master = f.read()
    u.check(len(master) == 32 and (os.stat(db + ".master-key").st_mode & 0o777) == 0o600,
            "the key file is 32 bytes, 0600")
    con = sqlite3.connect(db)
    seq, hsh, mac = con.execute("SELECT seq, hash, mac FROM audit_head").fetchone()
    akey = hmac.new(master, b"custos-store-audit-head-key-v1", hashlib.sha256).digest()
    want = hmac.new(akey, b"custos-audit-head-v1\x00" + seq.to_bytes(8, "big") + hsh,
                    hashlib.sha256).digest()
    u.check(seq == len(lines) and hsh == last, "the head names the last record")
    u.check(mac == want, "head MAC recomputed independently")
    con.close()

    # No secret value in the log or anywhere in the database file.
    blob = open(db, "rb").read()
    for s in secrets:
        u.check(s not in out and s not in blob, "secret absent from export and database")

    # Tampering by hand, on a copy: reported at the edited record.
    shutil.copy(db, db + ".orig")
    con = sqlite3.connect(db)
    con.executescript("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;"
                      " UPDATE audit SET time = time + 1 WHERE seq = 2;")
    con.close()
    rc, out, _ = u.run([CUSTOS, "store", "audit", "verify", url])
    u.check(rc == 1 and b"BROKEN at seq 2" in out, "an edited record is found: %r" % out)
    shutil.copy(db + ".orig", db)

    # Rotation: the database follows the new key; the old key is refused.
    newkey = os.path.join(data, "new.key")
    rc, out, err = u.run([CUSTOS, "store", "rekey", url, "--new-key", newkey])
    u.check(rc == 0, "rekey: %s" % err.strip())
    rc, out, _ = u.run([CUSTOS, "store", "audit", "verify", url, "--master-key", newkey])
    u.check(rc == 0 and b"intact" in out, "verify with the new key")
    rc, _, err = u.run([CUSTOS, "store", "audit", "verify", url])
    u.check(rc == 2 and "key" in err, "the old key is refused: %s" % err.strip())
    rc, _, _ = u.run([CUSTOS, "store", "frobnicate", url])
    u.check(rc == 2, "usage error")
    shutil.rmtree(data, ignore_errors=True)
    u.done()


if __name__ == "__main__":
    main()
