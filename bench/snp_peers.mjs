// SEV-SNP peers for BENCHMARKS.md: @tinfoilsh/verifier (Genoa) and @lit-protocol/sev-snp-utils-sdk
// (Milan) verifying the same fixture reports bench_snp measures, warm, one thread (Node's event
// loop), with their verdicts on the good report and on one with a flipped bit.
// Usage: node bench/snp_peers.mjs PEERS_DIR FIXTURES_DIR [SECONDS [--verdicts]]
// PEERS_DIR: a folder where `npm install @lit-protocol/sev-snp-utils-sdk pako @tinfoilsh/verifier@1.1.0`
// ran (see ../shared/research/peers.md B1 for the override Tinfoil needs).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const [, , peers, fx, secsArg] = process.argv;
const secs = Number(secsArg || 3);
const req = createRequire(path.join(path.resolve(peers), 'package.json'));

async function rate(fn) {
  for (let i = 0; i < 20; i++) await fn(); // warm up (JIT, WASM)
  let n = 0;
  const t0 = process.hrtime.bigint();
  let dt = 0;
  do {
    for (let i = 0; i < 10; i++) await fn();
    n += 10;
    dt = Number(process.hrtime.bigint() - t0) / 1e9;
  } while (dt < secs);
  return n / dt;
}

async function verdict(fn) {
  try { await fn(); return 'accept'; } catch (e) { return 'reject'; }
}

// Tinfoil: Genoa report + VCEK (chain + signature + its report validation).
{
  const dist = req.resolve('@tinfoilsh/verifier').replace(/index\.js$/, '');
  const { Report } = await import(dist + 'sev/report.js');
  const { CertificateChain } = await import(dist + 'sev/cert-chain.js');
  const { verifyAttestation } = await import(dist + 'sev/verify.js');
  const { validateReport } = await import(dist + 'sev/validation.js');
  const rep = new Uint8Array(fs.readFileSync(path.join(fx, 'peers/tinfoil/tinfoil-genoa-report.bin')));
  const vcek = new Uint8Array(fs.readFileSync(path.join(fx, 'peers/tinfoil/tinfoil-genoa-vcek.der')));
  const run = async (bytes) => {
    const report = new Report(bytes);
    const chain = await CertificateChain.fromReport(report, vcek);
    await verifyAttestation(chain, report);
    validateReport(report, chain, { permitProvisionalFirmware: false, requireAuthorKey: false, requireIdBlock: false });
  };
  const bad = rep.slice(); bad[0x90] ^= 1;
  const r = await rate(() => run(rep));
  console.log(`Genoa  @tinfoilsh/verifier: ${r.toFixed(0)} /s (${(1e3 / r).toFixed(2)} ms); ` +
    `good: ${await verdict(() => run(rep))}, flipped bit: ${await verdict(() => run(bad))}`);
}

// LIT: Milan report + VCEK (virtee sev crate in WASM: chain + signature).
{
  const lit = req('@lit-protocol/sev-snp-utils-sdk');
  await lit.initWasmSevSnpUtilsSdk();
  const raw = fs.readFileSync(path.join(fx, 'snp/trustee/test-report.bin'));
  const vcek = new Uint8Array(fs.readFileSync(path.join(fx, 'snp/trustee/test-vcek.der')));
  const rep = raw.toString('base64');
  const badRaw = Buffer.from(raw); badRaw[0x90] ^= 1;
  const bad = badRaw.toString('base64');
  const run = async (b64) => { await lit.verify_attestation_report(b64, vcek); };
  const r = await rate(() => run(rep));
  console.log(`Milan  @lit-protocol/sev-snp-utils-sdk: ${r.toFixed(0)} /s (${(1e3 / r).toFixed(2)} ms); ` +
    `good: ${await verdict(() => run(rep))}, flipped bit: ${await verdict(() => run(bad))}`);
}

// Verdicts on every fixture pair (with the `--verdicts` flag as the 4th argument): each peer's
// accept/reject next to what custos decides (tests/e2e/test_snp.py asserts custos's column).
if (process.argv[5] === '--verdicts') {
  const pairs = [
    ['snp/trustee/test-report.bin', 'snp/trustee/test-vcek.der', 'accept'],
    ['snp/gosevguest/attestation.bin', 'snp/gosevguest/vcek.der', 'accept'],
    ['snp/virtee-sev/report_milan.bin', 'snp/virtee-sev/vcek_milan.der', 'accept'],
    ['snp/teekit/sev-gcp.bin', 'snp/teekit/sev-gcp-vcek.pem', 'accept'],
    ['snp/trustee/e2e-evidence-genoa-report.bin', 'snp/trustee/e2e-evidence-genoa-vcek.der', 'accept'],
    ['peers/tinfoil/tinfoil-genoa-report.bin', 'peers/tinfoil/tinfoil-genoa-vcek.der', 'accept'],
    ['snp/openanolis-trustee/turin-report.bin', 'snp/openanolis-trustee/turin-vcek.der', 'accept'],
    ['snp/trustee/test-vlek-report.bin', 'snp/trustee/test-vlek.der', 'accept (at 2025-06-01)'],
    ['snp/trustee/test-report.bin', 'snp/trustee/test-vcek-invalid-new.der', 'reject'],
    ['snp/trustee/test-report.bin', 'snp/virtee-sev/vcek_milan.der', 'reject'],
    ['peers/lit-sev-snp-utils/guest_report_bad_sig.bin', 'snp/trustee/test-vcek.der', 'reject'],
    ['peers/lit-sev-snp-utils/guest_report_corrupt.bin', 'snp/trustee/test-vcek.der', 'reject'],
  ];
  const der = (p) => {
    const b = fs.readFileSync(path.join(fx, p));
    if (!p.endsWith('.pem')) return new Uint8Array(b);
    const t = b.toString().replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    return new Uint8Array(Buffer.from(t, 'base64'));
  };
  const dist = req.resolve('@tinfoilsh/verifier').replace(/index\.js$/, '');
  const { Report } = await import(dist + 'sev/report.js');
  const { CertificateChain } = await import(dist + 'sev/cert-chain.js');
  const { verifyAttestation } = await import(dist + 'sev/verify.js');
  const lit = req('@lit-protocol/sev-snp-utils-sdk');
  await lit.initWasmSevSnpUtilsSdk();
  console.log('| report | VEK | custos | @tinfoilsh/verifier | @lit-protocol/sev-snp-utils-sdk |');
  console.log('|---|---|---|---|---|');
  for (const [r, v, want] of pairs) {
    const rep = fs.readFileSync(path.join(fx, r));
    const t = await verdict(async () => {
      const report = new Report(new Uint8Array(rep));
      await verifyAttestation(await CertificateChain.fromReport(report, der(v)), report);
    });
    const l = await verdict(() => lit.verify_attestation_report(rep.toString('base64'), der(v)));
    console.log(`| ${r} | ${v} | ${want} | ${t} | ${l} |`);
  }
}
