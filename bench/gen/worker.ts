/**
 * A load-generator process: opens its share of the clients, drives the senders (window-bounded
 * flood, or a fixed rate with timestamps in the payload), counts what the receivers get, and
 * reports its own CPU time, so a run limited by the generator shows as such.
 * Started by pool.ts with an IPC channel; see messages.ts for the conversation.
 */
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { Histogram } from '../lib/histogram.js';
import { PROTOCOLS } from '../protocols/index.js';
import type { ClientSpec, Parser, ProtocolAdapter } from '../protocols/types.js';
import { nowUs, type Command, type ConnectCmd, type Reply, type RunCmd, type SenderResult } from './messages.js';

const PAYLOAD_BYTES = 64;
const READ_BUFFER = Buffer.alloc(256 * 1024);

interface Client {
  spec: ClientSpec;
  socket: Socket;
  parser: Parser;
  sent: number;
  acked: number;
  /** `sent` at each probe still unanswered. */
  probes: number[];
  /** sent and acked when the current run began: results are per run, sequence numbers are not. */
  sentBefore: number;
  ackedBefore: number;
  pumpScheduled: boolean;
  closed: boolean;
}

let adapter: ProtocolAdapter;
const clients: Client[] = [];
const errors: string[] = [];
let histogram = new Histogram();
let delivered = 0;
let lastDeliveryUs = 0;
let lastAckUs = 0;
let closedEarly = 0;
let run: RunCmd | null = null;
let stopping = false;
let chunkUs = 0;
let cpuAtStart = process.cpuUsage();

const reply = (r: Reply): void => void process.send!(r);
const note = (e: string): void => {
  if (errors.length < 20) errors.push(e);
};

/** 64 ASCII bytes: the send time (µs, monotonic clock) when latency is measured, then padding. */
function payload(c: Client, stamp: boolean): string {
  const head = stamp ? `T${nowUs()}:${c.spec.name}:${c.sent}:` : `${c.spec.name}:${c.sent}:`;
  return head.length >= PAYLOAD_BYTES ? head.slice(0, PAYLOAD_BYTES) : head + '.'.repeat(PAYLOAD_BYTES - head.length);
}

function stampOf(p: Buffer): number {
  if (p[0] !== 0x54 /* T */) return NaN;
  let v = 0;
  for (let i = 1; i < p.length; i++) {
    const d = p[i]! - 48;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
  }
  return v;
}

/** The socket a client speaks on: plain TCP, or TLS when the protocol says so. */
function open(cmd: ConnectCmd, source: string, feed: (chunk: Buffer) => void): Socket {
  if (adapter.tls) {
    // TLS decrypts into buffers of its own, so 'data' events (onread is for plain sockets).
    const raw = net.connect({ host: cmd.host, port: cmd.port, localAddress: source, noDelay: true });
    const socket = tls.connect({ socket: raw, rejectUnauthorized: false });
    socket.on('data', feed);
    return socket;
  }
  // onread with one shared buffer: no stream machinery or allocation per read, which is most
  // of what a Node receiver costs (parsers copy whatever they keep past the call).
  return net.connect({
    host: cmd.host,
    port: cmd.port,
    localAddress: source,
    noDelay: true,
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number, buf: Uint8Array): boolean => {
        feed(Buffer.from(buf.buffer, buf.byteOffset, n));
        return true;
      },
    },
  });
}

function connectOne(spec: ClientSpec, cmd: ConnectCmd, source: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = open(cmd, source, (chunk) => {
      chunkUs = nowUs();
      c.parser.feed(chunk);
    });
    let ready = false;
    const timer = setTimeout(() => fail(`${spec.name}: no handshake within ${cmd.timeoutMs} ms`), cmd.timeoutMs);
    const fail = (why: string): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(new Error(why));
    };
    const c: Client = { spec, socket, parser: null as unknown as Parser, sent: 0, acked: 0, probes: [], sentBefore: 0, ackedBefore: 0, pumpScheduled: false, closed: false };
    const isReceiver = spec.role === 'receiver';
    c.parser = adapter.parser(spec, {
      get wantPayload() {
        return run !== null && run.latency && isReceiver;
      },
      ready() {
        if (ready) return;
        ready = true;
        clearTimeout(timer);
        resolve(c);
      },
      message(p) {
        if (!isReceiver) return;
        delivered++;
        lastDeliveryUs = chunkUs;
        if (p !== null) {
          const t = stampOf(p);
          if (!Number.isNaN(t)) histogram.record(Math.max(0, chunkUs - t));
        }
      },
      ack(n) {
        if (adapter.probe === null) c.acked += n;
        else for (let i = 0; i < n && c.probes.length > 0; i++) c.acked = c.probes.shift()!;
        lastAckUs = chunkUs;
        if (run?.mode === 'flood' && !c.pumpScheduled) {
          c.pumpScheduled = true;
          setImmediate(() => pump(c));
        }
      },
      reply(bytes) {
        socket.write(bytes);
      },
      error(text) {
        note(`${spec.name}: ${text.slice(0, 200)}`);
        if (!ready) fail(text);
      },
    });
    socket.on(adapter.tls ? 'secureConnect' : 'connect', () => {
      const hello = adapter.greet(spec);
      if (hello.length > 0) socket.write(hello);
    });
    socket.on('error', (err) => {
      if (!ready) fail(`${spec.name}: ${err.message}`);
    });
    socket.on('close', () => {
      if (!ready) fail(`${spec.name}: closed during the handshake`);
      else if (!c.closed) {
        c.closed = true;
        closedEarly++;
        note(`${spec.name}: the server closed the connection`);
      }
    });
  });
}

async function connectAll(cmd: ConnectCmd): Promise<void> {
  adapter = PROTOCOLS[cmd.protocol]!;
  const t0 = Date.now();
  let ok = 0;
  let failed = 0;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < cmd.clients.length) {
      const i = next++;
      try {
        clients.push(await connectOne(cmd.clients[i]!, cmd, cmd.sources[i % cmd.sources.length]!));
        ok++;
      } catch (err) {
        failed++;
        note((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, cmd.concurrency) }, lane));
  reply({ type: 'connected', ok, failed, errors: errors.slice(), ms: Date.now() - t0 });
}

/** Fills a sender's window in one write (a pipelining client). */
function pump(c: Client): void {
  c.pumpScheduled = false;
  if (run === null || stopping || c.closed) return;
  writeMessages(c, run.window - (c.sent - c.acked));
}

function writeMessages(c: Client, n: number): void {
  if (n <= 0 || run === null) return;
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    parts.push(adapter.publish(c.spec, c.sent, payload(c, run.latency)));
    c.sent++;
    if (adapter.probe !== null && c.sent % run.probeEvery === 0) {
      parts.push(adapter.probe());
      c.probes.push(c.sent);
    }
  }
  c.socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
}

async function runSenders(cmd: RunCmd): Promise<void> {
  run = cmd;
  stopping = false;
  delivered = 0;
  lastDeliveryUs = 0;
  lastAckUs = 0;
  histogram = new Histogram();
  cpuAtStart = process.cpuUsage();
  const senders = clients.filter((c) => c.spec.role === 'sender');
  for (const c of senders) {
    c.sentBefore = c.sent;
    c.ackedBefore = c.acked;
  }
  const startUs = nowUs();
  let ticker: NodeJS.Timeout | null = null;
  if (cmd.mode === 'flood') for (const c of senders) pump(c);
  else {
    // A 1 ms tick sends what each sender owes by the clock, so the rate holds whatever the timer jitter.
    ticker = setInterval(() => {
      const elapsed = (nowUs() - startUs) / 1e6;
      for (const c of senders) {
        const owed = Math.floor(elapsed * cmd.ratePerSender) - (c.sent - c.sentBefore);
        if (!c.closed) writeMessages(c, Math.min(owed, cmd.window - (c.sent - c.acked)));
      }
    }, 1);
  }
  await new Promise((r) => setTimeout(r, cmd.durationMs));
  stopping = true;
  if (ticker) clearInterval(ticker);
  const endUs = nowUs();
  // A last probe covers the tail that no periodic probe did.
  if (adapter.probe !== null) {
    for (const c of senders) {
      if (!c.closed && c.probes[c.probes.length - 1] !== c.sent && c.acked !== c.sent) {
        c.socket.write(adapter.probe());
        c.probes.push(c.sent);
      }
    }
  }
  const deadline = Date.now() + cmd.settleMs;
  while (Date.now() < deadline && senders.some((c) => !c.closed && c.acked < c.sent)) await new Promise((r) => setTimeout(r, 10));
  const result: SenderResult[] = senders.map((c) => ({ name: c.spec.name, sent: c.sent - c.sentBefore, acked: c.acked - c.ackedBefore, totalSent: c.sent, totalAcked: c.acked }));
  reply({ type: 'sent', senders: result, startUs, endUs, lastAckUs });
}

function finish(): void {
  const cpu = process.cpuUsage(cpuAtStart);
  reply({ type: 'finished', delivered, lastDeliveryUs, cpuSeconds: (cpu.user + cpu.system) / 1e6, histogram: histogram.toJSON(), errors: errors.slice(), closedEarly });
  run = null;
}

process.on('message', (m: Command) => {
  const fatal = (err: unknown): void => reply({ type: 'fatal', error: String((err as Error)?.stack ?? err) });
  try {
    switch (m.cmd) {
      case 'connect':
        connectAll(m).catch(fatal);
        break;
      case 'run':
        runSenders(m).catch(fatal);
        break;
      case 'stats':
        reply({ type: 'stats', delivered, lastDeliveryUs });
        break;
      case 'finish':
        finish();
        break;
      case 'close':
        for (const c of clients) {
          c.closed = true;
          c.socket.destroy();
        }
        process.exit(0);
    }
  } catch (err) {
    fatal(err);
  }
});
process.on('disconnect', () => process.exit(0));
