/**
 * What the trace costs when it is off, on the fan-out path alone: Session.deliver and
 * Session.reply of this tree against another tree (a checkout of the commit before), loaded in
 * the same process and timed in alternating rounds, so that a loaded machine slows both alike.
 * The end-to-end fan-out benchmark cannot show a few nanoseconds per frame on a shared machine;
 * this can (docs/performance.md, "Tracing off"). A third line shows tracing on, written nowhere.
 *
 *   node --import tsx bench/tools/trace-off.ts /path/to/other/tree [rounds]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Tree {
  name: string;
  /** A trace sink, for the figure with tracing on (written nowhere); null is off. */
  trace: object | null;
  Session: new (ctx: unknown, conn: unknown, mode: 'base64' | 'plain') => { state: string; syncedUpTo: number; deliver(enc: unknown, id: number): void; reply(p: object): void };
  EncodedPacket: new (p: object) => unknown;
}

async function load(root: string, name: string): Promise<Tree> {
  const url = (p: string): string => pathToFileURL(resolve(root, p)).href;
  const { Session } = (await import(url('src/server/session.ts'))) as { Session: Tree['Session'] };
  const { EncodedPacket } = (await import(url('src/protocol/frame.ts'))) as { EncodedPacket: Tree['EncodedPacket'] };
  return { name, Session, EncodedPacket, trace: null };
}

const RECEIVERS = 100;
const MESSAGES = 2_000;

/** Nanoseconds per delivered frame: one fan-out of MESSAGES messages to RECEIVERS sessions. */
function round(t: Tree): number {
  let sent = 0;
  const ctx = { now: () => 0, opts: { ratePerSecond: 0, rateBurst: 0 }, trace: t.trace };
  const sessions = Array.from({ length: RECEIVERS }, (_, i) => {
    const conn = { id: `c${i}`, remote: '127.0.0.1:1', send: () => (sent++, true) };
    const s = new t.Session(ctx, conn, 'base64');
    s.state = 'ready';
    return s;
  });
  const start = process.hrtime.bigint();
  for (let id = 1; id <= MESSAGES; id++) {
    const enc = new t.EncodedPacket({ type: 'message', id, uid: `u${id}`, username: 'sender', content: 'x'.repeat(64), room: 'lobby' });
    for (const s of sessions) s.deliver(enc, id);
    sessions[id % RECEIVERS]!.reply({ type: 'ack', uid: `u${id}`, id, timestamp: 0 });
  }
  const ns = Number(process.hrtime.bigint() - start);
  if (sent !== MESSAGES * (RECEIVERS + 1)) throw new Error(`${t.name}: ${sent} frames sent`);
  return ns / sent;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const other = process.argv[2];
if (!other) {
  console.error('usage: node --import tsx bench/tools/trace-off.ts OTHER_TREE [rounds]');
  process.exit(2);
}
const rounds = Number(process.argv[3] ?? 30);
const here = await load(resolve(import.meta.dirname, '../..'), 'this tree, tracing off');
const { createTraceSink } = await import('../../src/teach/trace.js');
const trees = [await load(resolve(other), `other tree (${other}), tracing off`), here, { ...here, name: 'this tree, tracing on (to nowhere)', trace: createTraceSink(() => {}) }];
for (const t of trees) for (let i = 0; i < 5; i++) round(t); // warm-up: both optimised before timing
const times = new Map(trees.map((t) => [t.name, [] as number[]]));
for (let i = 0; i < rounds; i++) for (const t of i % 2 === 0 ? trees : [...trees].reverse()) times.get(t.name)!.push(round(t));
for (const [name, xs] of times) console.log(`${name}: median ${median(xs).toFixed(1)} ns per frame out, min ${Math.min(...xs).toFixed(1)}, ${rounds} rounds of ${MESSAGES} × ${RECEIVERS + 1} frames`);
