/** The targets of issue 5, each checked as a ratio from this one run where the issue says so. */
import type { Results, Target } from './results.js';
import { formatNumber } from './svg.js';

const ORIGINAL_PYTHON_POSTS = 655; // the figure for the original board, when no copy of it is run

export function checkTargets(r: Results): Target[] {
  const t: Target[] = [];
  const fan = (name: string) => r.fanout.find((f) => f.server === name && !f.error);
  const lab = fan('lab93');
  const ratio = (peer: string, min: number): void => {
    const p = fan(peer);
    const v = lab?.flood && p?.flood ? lab.flood.deliveredPerSec / p.flood.deliveredPerSec : NaN;
    t.push({
      name: `fan-out vs ${peer}`,
      target: `≥ ${min.toFixed(1)}×`,
      measured: Number.isFinite(v) ? `${v.toFixed(2)}× (${formatNumber(lab!.flood!.deliveredPerSec)} vs ${formatNumber(p!.flood!.deliveredPerSec)}/s)` : 'not measured',
      pass: Number.isFinite(v) ? v >= min : null,
    });
  };
  ratio('nats-server', 1.0);
  ratio('ngircd', 1.4);

  const loss = lab?.flood && lab.latency ? lab.flood.loss + lab.latency.loss : NaN;
  t.push({
    name: 'lab93 loss, every message stored',
    target: '0 lost; all acked stored',
    measured: Number.isFinite(loss) ? `${loss} lost; ${lab?.stored?.detail ?? 'store not checked'}` : 'not measured',
    pass: Number.isFinite(loss) ? loss === 0 && lab?.stored?.ok === true : null,
  });

  const p99 = lab?.latency?.p99Ms ?? NaN;
  t.push({ name: `p99 latency at ${r.meta.fanout.rate} msg/s × ${r.meta.fanout.receivers}`, target: '≤ 3 ms', measured: Number.isFinite(p99) ? `${p99} ms` : 'not measured', pass: Number.isFinite(p99) ? p99 <= 3 : null });
  // Peers are the other servers, not lab93 itself over TLS.
  const peers = r.fanout.filter((f) => !f.server.startsWith('lab93') && f.latency && !f.error);
  const best = peers.reduce<(typeof peers)[number] | null>((b, f) => (b === null || f.latency!.p99Ms < b.latency!.p99Ms ? f : b), null);
  t.push({
    name: 'p99 latency no worse than any peer',
    target: `≤ best peer`,
    measured: best && Number.isFinite(p99) ? `${p99} ms vs ${best.server} ${best.latency!.p99Ms} ms` : 'not measured',
    pass: best && Number.isFinite(p99) ? p99 <= best.latency!.p99Ms : null,
  });

  const mem = (server: string, n: number) => r.connections.find((c) => c.server === server && c.n === n && !c.error);
  const n = Math.max(0, ...r.connections.map((c) => c.n));
  const lm = mem('lab93', n);
  const bm = mem('node-relay-naive', n);
  const mr = lm && bm ? lm.bytesPerConnection / bm.bytesPerConnection : NaN;
  t.push({
    name: `memory per idle connection at ${n.toLocaleString('en')}`,
    target: '≤ 1.2× bare Node socket',
    measured: Number.isFinite(mr) ? `${mr.toFixed(2)}× (${(lm!.bytesPerConnection / 1024).toFixed(1)} vs ${(bm!.bytesPerConnection / 1024).toFixed(1)} KiB)` : 'not measured',
    pass: Number.isFinite(mr) ? mr <= 1.2 : null,
  });

  const ing = r.ingest && !r.ingest.error ? r.ingest : null;
  t.push({
    name: 'durable ingest vs one commit per message',
    target: '≥ 10× (synchronous=FULL)',
    measured: ing ? `${ing.ratio.toFixed(1)}× (${formatNumber(ing.ackedPerSec)} vs ${formatNumber(ing.oneCommitPerMessage)}/s)` : 'not measured',
    pass: ing ? ing.ratio >= 10 : null,
  });
  t.push({
    name: 'durable ingest, acknowledged msg/s',
    target: '≥ 100,000/s, all stored',
    measured: ing ? `${formatNumber(ing.ackedPerSec)}/s; ${ing.stored?.detail ?? 'store not checked'}` : 'not measured',
    pass: ing ? ing.ackedPerSec >= 100_000 && ing.stored?.ok === true : null,
  });

  const cu = r.catchup && !r.catchup.error ? r.catchup : null;
  t.push({ name: `catch-up of ${(r.catchup?.messages ?? 100_000).toLocaleString('en')} messages`, target: '< 2 s', measured: cu ? `${cu.seconds.toFixed(2)} s` : r.catchup?.error ?? 'not measured', pass: cu ? cu.seconds < 2 : null });

  const cl = r.classic;
  if (!cl || !cl.available) t.push({ name: 'classic POST tx/s', target: '≥ 20× original', measured: cl?.reason ?? 'not available', pass: null });
  else {
    const best = Math.max(...cl.post.map((p) => p.perSec));
    const ref = cl.original ? Math.max(...cl.original.post.map((p) => p.perSec)) : ORIGINAL_PYTHON_POSTS;
    const allStored = cl.post.every((p) => p.stored === p.acked);
    t.push({
      name: 'classic POST tx/s',
      target: '≥ 20× original, all acked stored',
      measured: `${(best / ref).toFixed(1)}× (${formatNumber(best)} vs ${formatNumber(ref)}/s${cl.original ? '' : ', the issue\'s figure'}); ${allStored ? 'all stored' : 'some acked POSTs not stored'}`,
      pass: best / ref >= 20 && allStored,
    });
  }
  return t;
}
