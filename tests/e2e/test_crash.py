#!/usr/bin/python3
"""
Crash safety through the real programs: a burst of `custos admin resource put` from several
writers, the broker killed with SIGKILL in the middle of it, restarted on the same data
directory, and every write that `custos admin` acknowledged (exit 0) read back intact through
the protocol (one attested session, Bearer token). Also overwrites: the last acknowledged value
of a key is the one served. Three rounds, killed at a different moment each time.
"""
import os
import random
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_util as u  # noqa: E402
import trustee_client as tc  # noqa: E402

CUSTOS = u.prog("custos")
WRITERS = 4


def writer(url, rnd, wid, acked, pending, stop, lock):
    i = 0
    while not stop.is_set():
        # Even writers create new keys; odd writers overwrite a few keys of their own.
        key = "r%d-w%d-%d" % (rnd, wid, i) if wid % 2 == 0 else "hot%d-%d" % (wid, i % 3)
        val = ("%d:%d:%s" % (wid, i, os.urandom(6).hex())).encode()
        with lock:
            pending[key] = val  # in flight: may or may not survive the kill
        rc, _, _ = u.run([CUSTOS, "admin", "--kbs", url, "resource", "put",
                          "default/crash/" + key], input=val, timeout=20)
        with lock:
            if rc == 0:
                acked[key] = val
            if pending.get(key) == val and rc == 0:
                del pending[key]
        i += 1


def one_round(data, port, rnd):
    kbs = u.Kbs(data=data, port=port)
    url = kbs.url()
    acked, pending, lock, stop = {}, {}, threading.Lock(), threading.Event()
    ths = [threading.Thread(target=writer, args=(url, rnd, w, acked, pending, stop, lock),
                            daemon=True)
           for w in range(WRITERS)]
    try:
        for t in ths:
            t.start()
        time.sleep(0.8 + random.random() * 1.2)
        kbs.kill9()  # mid-burst: some puts are in flight right now
    finally:
        stop.set()
        kbs.stop()
    for t in ths:
        t.join()
    u.check(len(acked) > 0, "round %d: some writes acknowledged before the kill" % rnd)
    kbs = u.Kbs(data=data, port=port)
    return kbs, acked, pending


def main():
    for p in (CUSTOS, u.prog("custos-kbs")):
        if not os.path.exists(p):
            u.skip("%s not built" % os.path.basename(p))
    data = tempfile.mkdtemp(prefix="custos-e2e-crash-")
    port = u.free_port()
    everything = {}
    kbs = None
    try:
        for rnd in range(3):
            kbs, acked, pending = one_round(data, port, rnd)
            for key, val in acked.items():
                everything[key] = {val}
            for key, val in pending.items():
                # A put that was in flight at the kill may have committed: either the last
                # acknowledged value or that one is correct, nothing else.
                if key in everything:
                    everything[key].add(val)
            c = tc.Client(kbs.url())
            c.auth()
            c.attest()
            lost = []
            for key, vals in sorted(everything.items()):
                try:
                    got = c.resource("default/crash/" + key, bearer=c.token, cookie=False)
                except tc.Error as e:
                    got = "HTTP %d" % e.status
                if got not in vals:
                    lost.append((key, vals, got))
                everything[key] = {got} if got in vals else vals
            u.check(not lost, "round %d: all %d acknowledged writes present after kill -9 "
                    "(lost or stale: %r)" % (rnd, len(everything), lost[:3]))
            print("round %d: %d acknowledged writes, all present" % (rnd, len(everything))
                  if not lost else "round %d: %d lost" % (rnd, len(lost)))
            kbs.stop()
            kbs = None
    finally:
        if kbs is not None:
            kbs.stop()
        import shutil
        shutil.rmtree(data, ignore_errors=True)
    u.done()


if __name__ == "__main__":
    main()
