/**
 * `npm run bench [-- options]`: lab93 side by side with the servers users would pick instead
 * (nats-server, ngircd, Mosquitto, a bare Node relay) on this machine, in one invocation.
 * Prints a table with lab93's ratio to each and the targets of issue 5; writes JSON and SVG
 * charts to bench/results/. See docs/performance.md.
 */
import { execSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { load1 } from './lib/proc.js';
import { checkTargets } from './report/targets.js';
import type { Results } from './report/results.js';
import { barsSvg, latencySvg } from './report/svg.js';
import { renderTable } from './report/table.js';
import { runCatchUp } from './scenarios/catchup.js';
import { runClassic } from './scenarios/classic.js';
import { runConnections } from './scenarios/connections.js';
import { runFanout, type FanoutParams } from './scenarios/fanout.js';
import { runIngest } from './scenarios/ingest.js';
import { SERVERS } from './servers/index.js';
import { lab93Server } from './servers/lab93.js';
import { ROOT } from './servers/process.js';

const HELP = `Usage: npm run bench -- [options]

  --quick                  short runs (about 1.5 minutes): 2 s workloads, 10,000 connections for lab93 and the bare relay only
  --only LIST              sections: fanout,connections,ingest,catchup,classic (default: all)
  --servers LIST           servers for fan-out, latency and memory (default: all installed):
                           ${SERVERS.map((s) => s.name).join(',')}
  --receivers N            receivers in the room (default 100)
  --senders N              senders (default 4)
  --duration S             fan-out seconds (default 10; quick 2)
  --window N               unacknowledged messages per sender (default 500)
  --rate N                 total msg/s for the latency workload (default 2000)
  --latency-duration S     latency seconds (default 10; quick 2)
  --connections LIST       idle connection counts (default 1000,10000)
  --catchup N              missed messages for catch-up (default 100000)
  --ingest-senders N       senders for durable ingest (default 16)
  --ingest-duration S      durable ingest seconds (default 10; quick 2)
  --workers N              load-generator processes (default 2)
  --install                apt-get install the peers that are missing
  --keep                   keep the scratch directory (server logs, databases, configs)
  --profile                run Node servers with --cpu-prof (profiles in bench/results/prof-*)
  --classic-original FILE  also run the original board's server.py (a copy you have) for the POST ratio
  --out DIR                results directory (default bench/results)
`;

const { values: a } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    servers: { type: 'string' },
    receivers: { type: 'string' },
    senders: { type: 'string' },
    duration: { type: 'string' },
    window: { type: 'string' },
    rate: { type: 'string' },
    'latency-duration': { type: 'string' },
    connections: { type: 'string' },
    catchup: { type: 'string' },
    'ingest-senders': { type: 'string' },
    'ingest-duration': { type: 'string' },
    workers: { type: 'string' },
    install: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'classic-original': { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (a.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const num = (v: string | undefined, d: number): number => {
  if (v === undefined) return d;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`bench: not a number: ${v}\n`);
    process.exit(2);
  }
  return n;
};
const list = (v: string | undefined): string[] | null => (v === undefined ? null : v.split(',').map((s) => s.trim()).filter(Boolean));
const quick = a.quick!;
const sections = new Set(list(a.only) ?? ['fanout', 'connections', 'ingest', 'catchup', 'classic']);
const outDir = a.out ?? join(ROOT, 'bench', 'results');
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const profileDir = a.profile ? join(outDir, `prof-${stamp}`) : undefined;
mkdirSync(outDir, { recursive: true });
if (profileDir) mkdirSync(profileDir, { recursive: true });
const log = (s: string): void => void process.stderr.write(s + '\n');

// ---- which servers --------------------------------------------------------------------------
const wanted = list(a.servers);
let kinds = SERVERS.filter((k) => wanted === null || wanted.includes(k.name));
if (a.install) {
  const pkgs = kinds.map((k) => (k.missing() ?? '').replace(/^apt-get install -y /, '')).filter(Boolean);
  if (pkgs.length > 0) {
    log(`installing ${pkgs.join(' ')} ...`);
    spawnSync('sh', ['-c', `apt-get update -qq && apt-get install -y -qq ${pkgs.join(' ')}`], { stdio: 'inherit' });
  }
}
const missing = kinds.filter((k) => k.missing() !== null).map((k) => ({ server: k.name, install: k.missing()! }));
for (const m of missing) log(`${m.server} is not installed: ${m.install} (or run the bench with --install); it is left out`);
kinds = kinds.filter((k) => k.missing() === null);

const fanout: FanoutParams = {
  receivers: num(a.receivers, 100),
  senders: num(a.senders, 4),
  durationMs: num(a.duration, quick ? 2 : 10) * 1000,
  window: num(a.window, 500),
  probeEvery: 50,
  rate: num(a.rate, 2000),
  latencyMs: num(a['latency-duration'], quick ? 2 : 10) * 1000,
  warmupMs: quick ? 300 : 1000,
  workers: num(a.workers, 2),
  ...(profileDir ? { profileDir } : {}),
};

let commit = 'unknown';
try {
  commit = execSync('git rev-parse --short HEAD', { cwd: ROOT, encoding: 'utf8' }).trim();
  if (execSync('git status --porcelain -- src bench', { cwd: ROOT, encoding: 'utf8' }).trim() !== '') commit += '+changes';
} catch {
  /* not a git checkout */
}

const { profileDir: _p, ...fanoutMeta } = fanout;
const results: Results = {
  meta: {
    started: new Date().toISOString(),
    quick,
    node: process.version,
    cpus: cpus().length,
    commit,
    loadAtStart: load1(),
    fanout: fanoutMeta,
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    missing,
  },
  fanout: [],
  connections: [],
  targets: [],
};

const work = mkdtempSync(join(tmpdir(), 'lab93-bench-'));
const fresh = (name: string): string => {
  const d = join(work, name);
  mkdirSync(d, { recursive: true });
  return d;
};
const t0 = Date.now();
log(`lab93 bench (${quick ? 'quick' : 'full'}), ${cpus().length} CPUs, load ${load1()}, scratch ${work}`);

try {
  if (sections.has('fanout')) {
    log(`fan-out and latency: ${fanout.receivers} receivers, ${fanout.senders} senders, ${fanout.durationMs / 1000} s flood, ${fanout.rate} msg/s for ${fanout.latencyMs / 1000} s`);
    for (const k of kinds) results.fanout.push(await runFanout(k, fanout, fresh(`fanout-${k.name}`), log));
  }
  if (sections.has('connections')) {
    const sizes = list(a.connections)?.map(Number) ?? [1000, 10000];
    log(`memory per idle connection: ${sizes.join(', ')}`);
    for (const n of sizes) {
      for (const k of kinds) {
        // The quick run keeps the large count for the pair the target compares.
        if (quick && n > 1000 && !['lab93', 'node-relay-naive'].includes(k.name)) continue;
        results.connections.push(await runConnections(k, n, fanout.workers, fresh(`conn-${k.name}-${n}`), log));
      }
    }
  }
  if (sections.has('ingest')) {
    log('durable ingest (synchronous=FULL)');
    results.ingest = await runIngest(lab93Server, { senders: num(a['ingest-senders'], 16), window: 1000, durationMs: num(a['ingest-duration'], quick ? 2 : 10) * 1000, baselineMs: Math.min(num(a['ingest-duration'], quick ? 1 : 3), quick ? 1 : 3) * 1000, workers: fanout.workers, ...(profileDir ? { profileDir } : {}) }, fresh('ingest'), log);
  }
  if (sections.has('catchup')) {
    log('catch-up');
    results.catchup = await runCatchUp(lab93Server, num(a.catchup, 100_000), fresh('catchup'), log);
  }
  if (sections.has('classic')) {
    log('classic board');
    results.classic = await runClassic(
      { concurrency: [1, 8, 32], postMs: (quick ? 1 : 5) * 1000, getSizes: [1000, 10000], getTimes: quick ? 5 : 20, ...(a['classic-original'] ? { original: a['classic-original'] } : {}) },
      fresh('classic'),
      log,
    );
  }
} finally {
  if (a.keep) log(`scratch kept: ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

results.meta.finished = new Date().toISOString();
results.meta.loadAtEnd = load1();
results.targets = checkTargets(results);
const table = renderTable(results);
const base = join(outDir, `bench-${stamp}`);
writeFileSync(`${base}.json`, JSON.stringify(results, null, 1));
writeFileSync(join(outDir, 'latest.json'), JSON.stringify(results, null, 1));
writeFileSync(`${base}.md`, table);
const withLatency = results.fanout.filter((f) => f.latency && f.latency.cdf.length > 0);
if (withLatency.length > 0) {
  const svg = latencySvg(`Latency at ${fanout.rate} msg/s × ${fanout.receivers} receivers (send to receipt)`, withLatency.map((f) => ({ name: `${f.server} p99 ${f.latency!.p99Ms} ms`, cdf: f.latency!.cdf })));
  writeFileSync(`${base}-latency.svg`, svg);
  writeFileSync(join(outDir, 'latest-latency.svg'), svg);
}
const withFlood = results.fanout.filter((f) => f.flood);
if (withFlood.length > 0) {
  const svg = barsSvg(`Fan-out: messages delivered per second, ${fanout.receivers} receivers`, 'msg/s', withFlood.map((f) => ({ name: f.server, value: f.flood!.deliveredPerSec })));
  writeFileSync(`${base}-fanout.svg`, svg);
  writeFileSync(join(outDir, 'latest-fanout.svg'), svg);
}
process.stdout.write(`\n${table}\nload ${results.meta.loadAtStart} at start, ${results.meta.loadAtEnd} at end; ${((Date.now() - t0) / 1000).toFixed(0)} s; commit ${commit}\nresults: ${base}.json, ${base}-latency.svg\n`);
