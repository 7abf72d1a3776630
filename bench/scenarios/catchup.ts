/**
 * Catch-up: a store already holding N messages in the room, then a client that saw none of them
 * says hello with since 0; measured from writing hello to reading `synced`, with every missed
 * message received on the way.
 */
import net from 'node:net';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { NewMessage } from '../../src/store/types.js';
import { cpuSeconds, freePort, load1 } from '../lib/proc.js';
import { Lines, startsWith } from '../protocols/lines.js';
import type { ServerKind } from '../servers/index.js';

export interface CatchUpResult {
  messages: number;
  received: number;
  seconds: number;
  serverCpu: number;
  load: number;
  error?: string;
}

const b64 = (s: string): Buffer => Buffer.from(Buffer.from(s).toString('base64'));
const MESSAGE = b64('{"type":"mes');
const SYNCED = b64('{"type":"syn');

async function fill(path: string, n: number): Promise<void> {
  // synchronous=OFF only for filling: this is set-up, not what is measured.
  const store = new SqliteStore(path, 'off');
  const content = 'x'.repeat(64);
  const batch: NewMessage[] = [];
  for (let i = 0; i < n; i++) {
    batch.push({ uid: `m${i}`, username: `u${i % 10}`, room: 'bench', to: null, subject: null, content, timestamp: 1.7e9 + i / 1000 });
    if (batch.length === 5000 || i === n - 1) {
      await store.append(batch);
      batch.length = 0;
    }
  }
  await store.close();
}

function catchUp(port: number): Promise<{ received: number; seconds: number }> {
  return new Promise((resolve, reject) => {
    let received = 0;
    let t0 = 0;
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => {
      t0 = performance.now();
      socket.write(b64(JSON.stringify({ type: 'hello', username: 'away', since: 0, rooms: ['bench'] })) + '\n');
    });
    const lines = new Lines((buf, start, end) => {
      if (startsWith(buf, start, end, MESSAGE)) received++;
      else if (startsWith(buf, start, end, SYNCED)) {
        const seconds = (performance.now() - t0) / 1000;
        socket.destroy();
        resolve({ received, seconds });
      }
    });
    socket.on('data', (c: Buffer) => lines.feed(c));
    socket.on('error', reject);
    socket.setTimeout(60_000, () => {
      socket.destroy();
      reject(new Error('no synced within 60 s'));
    });
  });
}

export async function runCatchUp(kind: ServerKind, n: number, dir: string, log: (s: string) => void): Promise<CatchUpResult> {
  const r: CatchUpResult = { messages: n, received: 0, seconds: NaN, serverCpu: 0, load: load1() };
  const port = await freePort();
  // The server opens the file the bench filled: same name as the lab93 launcher uses.
  await fill(join(dir, 'lab93.db'), n);
  const server = await kind.start({ dir, port });
  try {
    const cpu0 = cpuSeconds(server.pid);
    const got = await catchUp(port);
    r.serverCpu = cpuSeconds(server.pid) - cpu0;
    r.received = got.received;
    r.seconds = got.seconds;
    r.load = load1();
    if (got.received !== n) r.error = `received ${got.received} of ${n} missed messages`;
    log(`  catch-up of ${n.toLocaleString('en')} messages: ${r.seconds.toFixed(2)} s${r.error ? ` (${r.error})` : ''}`);
  } catch (err) {
    r.error = (err as Error).message;
    log(`  catch-up: ${r.error}`);
  } finally {
    await server.stop();
  }
  return r;
}
