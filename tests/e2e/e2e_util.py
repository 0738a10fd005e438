"""
Shared plumbing for the end-to-end tests: locating the built programs, starting and stopping
brokers on free loopback ports, plain HTTP requests, self-signed certificates, and a tiny
check() that counts assertions and never lets a test pass by asserting nothing.
Exit status follows Meson: 0 pass, 1 fail, 77 skip (printed as one `SKIP:` line).
"""
import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("CUSTOS_BUILD_ROOT") or os.path.join(HERE, "..", "..", "build")
PY = "/usr/bin/python3"

_checks = 0
_failed = 0
_live = []  # servers started here, stopped at exit whatever happens


def _reap():
    for p in list(_live):
        stop(p)


atexit.register(_reap)
# meson's timeout (and a Ctrl-C) end the test with SIGTERM/SIGINT: unwind so that finally blocks
# and the atexit reaper stop the servers instead of leaving them running.
signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))


def prog(name):
    return os.path.join(BUILD, "cmd", name)


def check(cond, what):
    global _checks, _failed
    _checks += 1
    if not cond:
        _failed += 1
        print("CHECK failed: %s" % what, flush=True)
    return cond


def done():
    print("%d checks, %d failed" % (_checks, _failed))
    sys.exit(0 if _failed == 0 and _checks > 0 else 1)


def skip(why):
    print("SKIP: %s" % why)
    sys.exit(77)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc=None, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


def _children(pid):
    """Direct children of pid (Linux), e.g. the server a wrapper such as faketime forked."""
    kids = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                kids += [int(k) for k in f.read().split()]
    except OSError:
        pass
    return kids


def _gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a zombie child of ours counts as gone
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def stop(proc):
    """SIGTERM, then SIGKILL after 5 s, to proc and to its direct children: a wrapper (faketime,
    a shell) must not leave the real server running after the test."""
    if proc is None or proc.poll() is not None:
        return
    kids = _children(proc.pid)
    proc.send_signal(signal.SIGTERM)
    for k in kids:
        try:
            os.kill(k, signal.SIGTERM)
        except OSError:
            pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    end = time.time() + 5
    for k in kids:
        while not _gone(k) and time.time() < end:
            time.sleep(0.05)
        if not _gone(k):
            try:
                os.kill(k, signal.SIGKILL)
            except OSError:
                pass


class Fake:
    """The fake Trustee KBS (fake_trustee.py) in a child process."""

    def __init__(self, *args):
        self.proc = subprocess.Popen(
            [PY, os.path.join(HERE, "fake_trustee.py")] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        _live.append(self.proc)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError("fake trustee did not start")
        self.port = int(line.split()[1])

    def stats(self):
        return json.loads(get("127.0.0.1", self.port, "/fake/stats")[1])

    def stop(self):
        stop(self.proc)


class Kbs:
    """custos-kbs --dev on a free loopback port with a temporary data directory."""

    def __init__(self, *extra, data=None, port=None):
        self.data = data or tempfile.mkdtemp(prefix="custos-e2e-")
        self.port = port or free_port()
        self.extra = list(extra)
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.data, "kbs.log"), "ab")
        self.proc = subprocess.Popen(
            [prog("custos-kbs"), "--dev", "--listen", "127.0.0.1:%d" % self.port,
             "--data", self.data] + self.extra,
            stdout=self.log, stderr=self.log,
        )
        _live.append(self.proc)
        wait_port(self.port, self.proc)

    def url(self, scheme="http"):
        return "%s://127.0.0.1:%d" % (scheme, self.port)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        stop(self.proc)
        self.log.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)


def request(port, method, path, body=None, headers=None, tls_ctx=None, timeout=10):
    """(status, body bytes, headers) of one request on a fresh connection."""
    if tls_ctx is not None:
        c = http.client.HTTPSConnection("127.0.0.1", port, context=tls_ctx, timeout=timeout)
    else:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers = dict(headers or {}, **{"Content-Type": "application/json"})
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    hdrs = r.getheaders()
    c.close()
    return r.status, data, hdrs


def get(host, port, path, headers=None):
    s, b, _ = request(port, "GET", path, headers=headers)
    return s, b


def run(argv, input=None, timeout=60, env=None):
    """(rc, stdout bytes, stderr text) of a program run to completion."""
    p = subprocess.run(argv, input=input, capture_output=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def self_signed(dirpath, cn="127.0.0.1"):
    """A P-256 self-signed certificate for 127.0.0.1 made with the openssl CLI: (cert, key)."""
    cert = os.path.join(dirpath, "kbs.crt")
    key = os.path.join(dirpath, "kbs.key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + cn,
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


def pubkey_pin(cert):
    """curl's sha256//BASE64 pin of a certificate's public key."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         check=True, capture_output=True).stdout
    dg = subprocess.run(["openssl", "dgst", "-sha256", "-binary"], input=der,
                        check=True, capture_output=True).stdout
    import base64
    return "sha256//" + base64.b64encode(dg).decode()


def tls_ctx(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx
