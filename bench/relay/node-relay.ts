/**
 * The bare Node relay: what Node itself costs to pass lines on, without storage, validation or
 * rooms. Every line goes to every other connection; a line starting with "?" goes back to its
 * sender alone (the load generator's window probe).
 *
 *   naive:   one socket.write() per message per receiver
 *   batched: a receiver's messages of one tick are joined and written once (as FrameConn does)
 *
 * Usage: node --import tsx bench/relay/node-relay.ts --port P [--mode naive|batched]
 */
import net, { type Socket } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' }, mode: { type: 'string', default: 'naive' } } });
const mode = values.mode === 'batched' ? 'batched' : 'naive';

interface Peer {
  socket: Socket;
  queue: Buffer[];
  queued: number;
  scheduled: boolean;
}

const peers = new Set<Peer>();

function flush(p: Peer): void {
  p.scheduled = false;
  if (p.queue.length === 0 || p.socket.destroyed) return;
  p.socket.write(p.queue.length === 1 ? p.queue[0]! : Buffer.concat(p.queue, p.queued));
  p.queue = [];
  p.queued = 0;
}

function send(p: Peer, line: Buffer): void {
  if (mode === 'naive') {
    p.socket.write(line);
    return;
  }
  p.queue.push(line);
  p.queued += line.length;
  if (!p.scheduled) {
    p.scheduled = true;
    queueMicrotask(() => flush(p));
  }
}

const server = net.createServer({ noDelay: true }, (socket) => {
  const me: Peer = { socket, queue: [], queued: 0, scheduled: false };
  peers.add(me);
  let tail: Buffer | null = null;
  socket.on('data', (chunk: Buffer) => {
    const buf = tail === null ? chunk : Buffer.concat([tail, chunk]);
    tail = null;
    let start = 0;
    let nl = buf.indexOf(10);
    while (nl !== -1) {
      const line = buf.subarray(start, nl + 1);
      if (line[0] === 0x3f) send(me, line);
      else for (const p of peers) if (p !== me) send(p, line);
      start = nl + 1;
      nl = buf.indexOf(10, start);
    }
    if (start < buf.length) tail = Buffer.from(buf.subarray(start));
  });
  socket.on('error', () => {});
  socket.on('close', () => peers.delete(me));
});
server.listen({ port: Number(values.port ?? 0), host: values.host, backlog: 4096 }, () => {
  process.stdout.write(`relay (${mode}) on ${JSON.stringify(server.address())}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
