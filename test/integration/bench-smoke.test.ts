/**
 * The benchmark runs (issue 5): tiny parameters, lab93 and the bare Node relay only, so it needs
 * no extra packages and takes seconds. Checks what a user of `npm run bench` relies on: the
 * table with the targets, the JSON and the latency chart, and lab93's promises under load
 * (nothing lost, every acknowledged message stored).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Results } from '../../bench/report/results.js';

const out = mkdtempSync(join(tmpdir(), 'lab93-bench-smoke-'));
after(() => rmSync(out, { recursive: true, force: true }));

function bench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { cwd: process.cwd(), env: { ...process.env, LAB93_DATA_DIR: out } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run bench (smoke)', () => {
  it('runs every lab93 section with tiny parameters and reports them', { timeout: 110_000 }, async () => {
    const r = await bench([
      '--quick', '--out', out, '--servers', 'lab93,node-relay-naive', '--only', 'fanout,connections,ingest,catchup',
      '--receivers', '3', '--senders', '2', '--duration', '0.5', '--latency-duration', '0.5', '--rate', '200', '--window', '50',
      '--connections', '50', '--catchup', '500', '--ingest-senders', '2', '--ingest-duration', '0.5', '--workers', '1',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /## Fan-out/);
    assert.match(r.stdout, /## Targets \(issue 5\)/);
    assert.match(r.stdout, /\| node-relay-naive /);

    const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Results;
    const lab = results.fanout.find((f) => f.server === 'lab93')!;
    assert.equal(lab.error, undefined);
    assert.ok(lab.flood!.delivered > 0, 'messages reached the receivers');
    assert.equal(lab.flood!.loss, 0, 'lab93 lost nothing in the flood');
    assert.equal(lab.latency!.loss, 0, 'lab93 lost nothing at a fixed rate');
    assert.ok(lab.latency!.p99Ms > 0 && lab.latency!.p99Ms >= lab.latency!.p50Ms);
    assert.equal(lab.stored?.ok, true, lab.stored?.detail);
    assert.ok(results.connections.some((c) => c.server === 'lab93' && c.connected === 50));
    assert.equal(results.ingest!.synchronous, 'full');
    assert.ok(results.ingest!.ackedPerSec > 0 && results.ingest!.stored?.ok, results.ingest!.stored?.detail);
    assert.equal(results.catchup!.received, 500);
    assert.ok(results.targets.length >= 9);

    const svg = readdirSync(out).find((f) => f.endsWith('-latency.svg'));
    assert.ok(svg, 'a latency chart was written');
    assert.match(readFileSync(join(out, svg!), 'utf8'), /^<svg[^>]*>[\s\S]*lab93[\s\S]*<\/svg>\n$/);
  });
});
