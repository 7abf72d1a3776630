/**
 * `npm run fuzz -- --minutes N [--runs R] [--seed S]`: the fuzz tests of `npm test`, for longer.
 *
 * 1. The property tests (test/property/) with R runs per property (LAB93_FUZZ_RUNS, default
 *    20,000) instead of a few hundred.
 * 2. The network fuzz (test/integration/fuzz-net.test.ts) against a real server and a real peer,
 *    in rounds of up to a minute with a fresh seed each (fresh processes too), for N minutes.
 *
 * Both run with LAB93_FUZZ_SAVE=1: a decoder that throws, or a connection that ends the server,
 * is saved as a regression vector under test/fixtures/fuzz/ (listed at the end; commit them).
 * Failing seeds are printed for replay. Exits 1 when anything failed.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) {
    console.error(`--${name} takes a number, not ${process.argv[i + 1]}`);
    process.exit(2);
  }
  return v;
}

const minutes = flag('minutes', 5);
const runs = flag('runs', 20_000);
const firstSeed = process.argv.includes('--seed') ? flag('seed', 0) : null;
const vectorDir = new URL('../test/fixtures/fuzz/', import.meta.url).pathname;
const before = new Set(readdirSync(vectorDir));
const failures: string[] = [];
const env = { ...process.env, LAB93_FUZZ_SAVE: '1', LAB93_MDNS_INTERFACES: process.env.LAB93_MDNS_INTERFACES ?? 'lo' };

function runTests(files: string[], extraEnv: Record<string, string>, timeoutMs: number): number {
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-force-exit', `--test-timeout=${timeoutMs}`, ...files], { stdio: 'inherit', env: { ...env, ...extraEnv } });
  return res.status ?? 1;
}

console.log(`== property tests, ${runs} runs per property`);
const props = readdirSync('test/property').filter((f) => f.endsWith('.test.ts')).map((f) => `test/property/${f}`);
if (runTests(props, { LAB93_FUZZ_RUNS: String(runs), ...(firstSeed !== null ? { LAB93_FUZZ_SEED: String(firstSeed) } : {}) }, 24 * 3600_000) !== 0) {
  failures.push(`property tests (rerun one with LAB93_FUZZ_SEED=<seed printed above> LAB93_FUZZ_RUNS=${runs})`);
}

const deadline = Date.now() + minutes * 60_000;
let round = 0;
while (Date.now() < deadline - 5_000) {
  const ms = Math.min(60_000, deadline - Date.now());
  const seed = round === 0 && firstSeed !== null ? firstSeed : Math.floor(Math.random() * 2 ** 31);
  round++;
  console.log(`== network fuzz round ${round}: ${Math.round(ms / 1000)} s, seed ${seed}`);
  if (runTests(['test/integration/fuzz-net.test.ts'], { LAB93_FUZZ_NET_MS: String(ms), LAB93_FUZZ_SEED: String(seed) }, ms + 180_000) !== 0) {
    failures.push(`network fuzz seed ${seed} (replay: LAB93_FUZZ_SEED=${seed} LAB93_FUZZ_NET_MS=${ms} node scripts/run-tests.mjs test/integration/fuzz-net)`);
  }
}

const added = readdirSync(vectorDir).filter((f) => !before.has(f));
console.log(`\n== ${round} network round(s), ${failures.length} failure(s)`);
for (const f of failures) console.log(`FAILED: ${f}`);
for (const f of added) console.log(`new regression vector: test/fixtures/fuzz/${f}`);
process.exit(failures.length > 0 ? 1 : 0);
