/** The table the bench prints: one section per workload, lab93's ratio to each peer, then the targets. */
import type { Results } from './results.js';
import { formatNumber } from './svg.js';

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w, i) => (i === 0 ? ':' : '') + '-'.repeat(w + 1) + (i === 0 ? '' : ':')).join('|') + '|', ...rows.map(line)].join('\n');
}

const kib = (b: number): string => (Number.isFinite(b) ? (b / 1024).toFixed(1) : 'n/a');
const x = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a');

export function renderTable(r: Results): string {
  const out: string[] = [];
  const f = r.meta.fanout;
  const lab = r.fanout.find((s) => s.server === 'lab93');
  out.push(`## Fan-out: ${f.receivers} receivers, ${f.senders} senders, 64-byte messages, window ${f.window}, ${f.durationMs / 1000} s`);
  out.push(
    table(
      ['server', 'delivered/s', 'acked/s', 'loss', 'lab93 ÷ it', 'server CPU', 'generator CPU', 'load'],
      r.fanout.map((s) =>
        s.flood
          ? [s.server, formatNumber(s.flood.deliveredPerSec), formatNumber(s.flood.ackedPerSec), String(s.flood.loss), s.server === 'lab93' ? '' : x((lab?.flood?.deliveredPerSec ?? NaN) / s.flood.deliveredPerSec), `${s.flood.serverCpu.toFixed(1)} s`, `${s.flood.generatorCpu.toFixed(1)} s`, String(s.flood.load)]
          : [s.server, 'failed', '', '', '', '', '', s.error ?? ''],
      ),
    ),
  );
  out.push('', `## Latency at ${f.rate} msg/s in total, ${f.receivers} receivers (send to receipt, ms)`);
  out.push(
    table(
      ['server', 'p50', 'p99', 'max', 'loss', 'p99 lab93 ÷ it', 'server CPU', 'generator CPU'],
      r.fanout.map((s) =>
        s.latency
          ? [s.server, String(s.latency.p50Ms), String(s.latency.p99Ms), String(s.latency.maxMs), String(s.latency.loss), s.server === 'lab93' ? '' : x((lab?.latency?.p99Ms ?? NaN) / s.latency.p99Ms), `${s.latency.serverCpu.toFixed(1)} s`, `${s.latency.generatorCpu.toFixed(1)} s`]
          : [s.server, 'failed', '', '', '', '', '', ''],
      ),
    ),
  );
  if (r.connections.length > 0) {
    const sizes = [...new Set(r.connections.map((c) => c.n))].sort((a, b) => a - b);
    const servers = [...new Set(r.connections.map((c) => c.server))];
    const get = (s: string, n: number) => r.connections.find((c) => c.server === s && c.n === n);
    out.push('', '## Memory per idle connection (server RSS delta / N, KiB)');
    out.push(
      table(
        ['server', ...sizes.map((n) => `at ${n.toLocaleString('en')}`), ...sizes.map((n) => `lab93 ÷ it at ${n.toLocaleString('en')}`)],
        servers.map((s) => [
          s,
          ...sizes.map((n) => {
            const c = get(s, n);
            return c ? (c.error ? `${kib(c.bytesPerConnection)} (${c.connected}/${n})` : kib(c.bytesPerConnection)) : '-';
          }),
          ...sizes.map((n) => (s === 'lab93' ? '' : x((get('lab93', n)?.bytesPerConnection ?? NaN) / (get(s, n)?.bytesPerConnection ?? NaN)))),
        ]),
      ),
    );
  }
  if (r.ingest) {
    const i = r.ingest;
    out.push('', '## Durable ingest (SQLite, synchronous=FULL)');
    out.push(
      table(
        ['what', 'msg/s', 'server CPU', 'generator CPU', 'load'],
        [
          ['store alone, one commit per message', formatNumber(i.oneCommitPerMessage), '', '', ''],
          ['lab93 server, group commit, acked', i.error ? `failed: ${i.error}` : formatNumber(i.ackedPerSec), `${i.serverCpu.toFixed(1)} s`, `${i.generatorCpu.toFixed(1)} s`, String(i.load)],
        ],
      ),
    );
  }
  if (r.catchup) out.push('', `## Catch-up: ${r.catchup.messages.toLocaleString('en')} missed messages until synced: ${r.catchup.error ?? `${r.catchup.seconds.toFixed(2)} s`} (server CPU ${r.catchup.serverCpu.toFixed(1)} s)`);
  if (r.classic) {
    const c = r.classic;
    out.push('', '## Classic board');
    if (!c.available || c.post.length === 0) out.push(c.reason ?? 'not available');
    else {
      out.push(table(['POST, one connection each', 'tx/s', 'acked', 'stored', 'failed', 'server CPU', 'generator CPU', 'load'], c.post.map((p) => [`${p.concurrency} concurrent`, formatNumber(p.perSec), String(p.acked), String(p.stored ?? 'n/a'), String(p.failed), `${p.serverCpu.toFixed(1)} s`, `${p.generatorCpu.toFixed(1)} s`, String(p.load)])));
      out.push('', table(['GET with', 'p50 ms', 'max ms', 'bytes'], c.get.map((g) => [`${g.messages.toLocaleString('en')} messages`, String(g.p50Ms), String(g.maxMs), String(g.bytes)])));
    }
    if (c.original) out.push('', table(['original POST', 'tx/s'], c.original.post.map((p) => [`${p.concurrency} concurrent`, formatNumber(p.perSec)])));
  }
  out.push('', '## Targets (issue 5)');
  out.push(table(['target', 'wanted', 'measured', 'result'], r.targets.map((t) => [t.name, t.target, t.measured, t.pass === null ? 'n/a' : t.pass ? 'pass' : 'MISS'])));
  if (r.meta.missing.length > 0) out.push('', `Not installed, so not measured: ${r.meta.missing.map((m) => `${m.server} (${m.install})`).join(', ')}`);
  return out.join('\n') + '\n';
}
