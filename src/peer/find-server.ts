/**
 * `lab93 -r -c` without an address: finds the repeater server on the LAN by mDNS
 * (docs/broadcast.md, "Finding a server"). One found: joined. Several: listed, and the user
 * picks one (or, without a terminal, is told to choose with -a). None: said so.
 */
import { createInterface } from 'node:readline/promises';
import { UsageError } from '../cli/usage.js';
import { discoverRepeater, type ServiceEntry } from './discovery.js';

export interface FoundServer {
  host: string;
  port: number;
  instance: string;
}

function line(e: ServiceEntry, i: number): string {
  return `  ${i + 1}) ${e.instance.replace(/[\p{Cc}\p{Cf}]/gu, '?')}  ${e.addresses[0]}:${e.port}`;
}

export async function findServerOnLan(o: {
  waitMs?: number;
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: NodeJS.WritableStream;
  discover?: typeof discoverRepeater;
} = {}): Promise<FoundServer> {
  const input = o.input ?? process.stdin;
  const out = o.output ?? process.stderr;
  out.write('lab93: no address given (-a); looking for a lab93 server on the LAN...\n');
  const found = await (o.discover ?? discoverRepeater)({ waitMs: o.waitMs ?? 2000 });
  if (found.length === 0) {
    throw new UsageError('no lab93 server answered on the LAN: give its address with -a HOST (or start one: lab93 server)');
  }
  const pick = (e: ServiceEntry): FoundServer => ({ host: e.addresses[0]!, port: e.port, instance: e.instance });
  if (found.length === 1) {
    const s = pick(found[0]!);
    out.write(`lab93: found ${s.instance} at ${s.host}:${s.port}\n`);
    return s;
  }
  const list = found.map(line).join('\n');
  if (!input.isTTY) throw new UsageError(`${found.length} lab93 servers answered on the LAN; pick one with -a HOST -p PORT:\n${list}`);
  out.write(`lab93: ${found.length} servers answered:\n${list}\n`);
  const rl = createInterface({ input, output: out });
  try {
    for (;;) {
      const answer = (await rl.question(`which one? [1-${found.length}] `)).trim();
      const n = Number(answer);
      if (Number.isInteger(n) && n >= 1 && n <= found.length) return pick(found[n - 1]!);
      if (answer === '' || answer === 'q') throw new UsageError('no server chosen');
    }
  } finally {
    rl.close();
  }
}
