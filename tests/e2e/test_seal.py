"""
Sealed models end to end (docs/sealed-format.md §8): `custos seal --kbs` generates a KEK and stores
it on a real custos-kbs through the admin API, `custos unseal --kbs --tee sample` attests directly
and gets it back, `custos unseal --agent` gets it through a running custos-agent's CDH API
(GET /cdh/resource/...), for a file and for a model directory; a key id the broker does not hold
is refused with exit status 1 and no output left behind.
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_util as u  # noqa: E402

CUSTOS = u.prog("custos")
AGENT = u.prog("custos-agent")


def same(a, b):
    with open(a, "rb") as f, open(b, "rb") as g:
        return f.read() == g.read()


def main():
    for p in (AGENT, CUSTOS, u.prog("custos-kbs")):
        if not os.path.exists(p):
            u.skip("%s not built" % os.path.basename(p))
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model.safetensors")
        with open(model, "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024 + 17))
        mdir = os.path.join(tmp, "hf")
        os.makedirs(os.path.join(mdir, "tok"))
        for name, size in (("config.json", 300), ("model-00001-of-00001.safetensors", 70000),
                           ("tok/tokenizer.json", 5000)):
            with open(os.path.join(mdir, name), "wb") as f:
                f.write(os.urandom(size))
        kbs = u.Kbs()
        agent = None
        try:
            url = kbs.url()
            sealed = os.path.join(tmp, "model.sealed")
            rc, _, err = u.run([CUSTOS, "seal", model, "-o", sealed, "--key-id",
                                "kbs:///default/model/e2e-kek", "--kbs", url, "-q"])
            u.check(rc == 0, "seal --kbs stores a fresh KEK and seals (rc %d %s)" % (rc, err))
            out = os.path.join(tmp, "out-kbs")
            rc, _, err = u.run([CUSTOS, "unseal", sealed, "-o", out, "--kbs", url, "--tee",
                                "sample", "-q"])
            u.check(rc == 0 and same(out, model), "unseal --kbs (attest directly) (rc %d %s)"
                    % (rc, err))
            sdir = os.path.join(tmp, "hf.sealed")
            rc, _, err = u.run([CUSTOS, "seal", mdir, "-o", sdir, "--key-id",
                                "kbs:///default/model/e2e-dir-kek", "--kbs", url, "-q"])
            u.check(rc == 0, "seal a directory with --kbs (rc %d %s)" % (rc, err))

            agent = subprocess.Popen([AGENT, "serve", "--listen", "127.0.0.1:0", "--tee",
                                      "sample", "--kbs", url], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
            m = re.search(r"on port (\d+)", agent.stderr.readline())
            if not u.check(m is not None, "custos-agent serve started"):
                return
            aurl = "http://127.0.0.1:%s" % m.group(1)
            out = os.path.join(tmp, "out-agent")
            rc, _, err = u.run([CUSTOS, "unseal", sealed, "-o", out, "--agent", aurl, "-q"])
            u.check(rc == 0 and same(out, model), "unseal --agent via the CDH API (rc %d %s)"
                    % (rc, err))
            odir = os.path.join(tmp, "hf.out")
            rc, _, err = u.run([CUSTOS, "unseal", sdir, "-o", odir, "--agent", aurl, "-q"])
            u.check(rc == 0 and all(same(os.path.join(mdir, n), os.path.join(odir, n))
                                    for n in ("config.json", "tok/tokenizer.json",
                                              "model-00001-of-00001.safetensors")),
                    "unseal a directory --agent (rc %d %s)" % (rc, err))
            # Standard input needs the key id spelled out; standard output streams.
            with open(sealed, "rb") as f:
                rc, data, err = u.run([CUSTOS, "unseal", "-", "-o", "-", "--agent", aurl,
                                       "--key-id", "kbs:///default/model/e2e-kek"],
                                      input=f.read())
            with open(model, "rb") as f:
                u.check(rc == 0 and data == f.read(), "unseal - -o - --agent (rc %d)" % rc)
            # A resource the broker does not hold: refused, exit 1, nothing written.
            rc, _, err = u.run([CUSTOS, "unseal", sealed, "-o", os.path.join(tmp, "x"),
                                "--agent", aurl, "--key-id", "kbs:///default/model/absent"])
            u.check(rc == 1 and not os.path.exists(os.path.join(tmp, "x")),
                    "absent key: exit 1, no output (rc %d %s)" % (rc, err))
            # The wrong KEK from the broker (the directory's KEK for the file): exit 1.
            rc, _, err = u.run([CUSTOS, "unseal", sealed, "-o", os.path.join(tmp, "y"),
                                "--agent", aurl, "--key-id", "kbs:///default/model/e2e-dir-kek"])
            u.check(rc == 1 and "CS_ERR_WRONG_KEY" in err and
                    not os.path.exists(os.path.join(tmp, "y")),
                    "wrong KEK via agent: exit 1 (rc %d %s)" % (rc, err))
        finally:
            u.stop(agent)
            kbs.cleanup()
    u.done()


if __name__ == "__main__":
    main()
