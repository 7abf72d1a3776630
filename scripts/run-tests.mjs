#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's built-in runner through tsx.
// (Node 20's `--test` does not expand globs itself, hence this small finder.)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return find(p);
    return p.endsWith('.test.ts') ? [p] : [];
  });
}

const filter = process.argv.slice(2);
const files = find('test').filter((f) => filter.length === 0 || filter.some((x) => f.includes(x))).sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Tests never send mDNS beyond this machine: servers and peers they start announce on loopback
// only, unless a test says otherwise (the network namespace tests, inside their own LANs).
// Servers the tests start serve no web client unless a test asks (two of them would race for port 8093).
const env = { ...process.env, LAB93_MDNS_INTERFACES: process.env.LAB93_MDNS_INTERFACES ?? 'lo', LAB93_WEB: process.env.LAB93_WEB ?? 'off' };
// --test-force-exit: a test file whose tests are done ends even if a failure left a socket or a
// child open, so one failure cannot hang the suite; --test-timeout turns a stuck test into a failure.
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-force-exit', '--test-timeout=180000', ...files], { stdio: 'inherit', env });
process.exit(res.status ?? 1);
