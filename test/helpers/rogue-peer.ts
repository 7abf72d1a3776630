/**
 * A rogue peer as a process, so it can sit on a LAN of its own network namespace
 * (`ip netns exec NS node --import tsx test/helpers/rogue-peer.ts`); driven by RogueProc
 * (peer-proc.ts). It is the fake peer of the loopback tests (fake-peer.ts) on real addresses.
 *
 * Commands, one JSON object a line on stdin:
 *   {"op":"link","conn":C,"host":H,"port":P,"label":L}  connect, say a hello proving the key of
 *       label L (made here, never leaves this process), be caught up; optional: `have`, and
 *       `net`, the network secret it knows (a rogue of that class)
 *   {"op":"open","conn":C,"host":H,"port":P}            connect and say nothing (the test speaks)
 *   {"op":"send","conn":C,"packet":{...}}                 one line, as it is
 *   {"op":"close","conn":C}
 * Reports, one JSON object a line on stdout:
 *   {"ev":"open","conn":C,"self":ID|null}  connected (`self`: the peer id its hello claims)
 *   {"ev":"line","conn":C,"line":{...}}    every line received
 *   {"ev":"closed","conn":C}               the other side closed
 *   {"ev":"fail","op":..,"message":..}     a command that could not be carried out
 */
import { createInterface } from 'node:readline';
import { deriveNetworkKey } from '../../src/peer/identity.js';
import { hello, idOf, rawPeer, type RawPeer } from './fake-peer.js';

interface Command { op: string; conn: string; host?: string; port?: number; label?: string; have?: Record<string, number>; net?: string; packet?: object }

const conns = new Map<string, RawPeer>();
const report = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

async function run(c: Command): Promise<void> {
  if (c.op === 'link' || c.op === 'open') {
    const k = c.net === undefined ? null : deriveNetworkKey(c.net);
    if (k && !k.ok) throw new Error(k.message);
    const r = await rawPeer(c.port!, k ? k.value : null, {
      host: c.host!,
      onLine: (line) => {
        report({ ev: 'line', conn: c.conn, line });
        // Pings answered, so a slow test never loses the link to the link timeout.
        if (line?.type === 'ping') conns.get(c.conn)?.send(line.data === undefined ? { type: 'pong' } : { type: 'pong', data: line.data });
      },
    });
    conns.set(c.conn, r);
    void r.closed.then(() => report({ ev: 'closed', conn: c.conn }));
    const self = c.op === 'link' ? c.label! : null;
    if (self !== null) r.send(hello(self, c.have ?? {}));
    report({ ev: 'open', conn: c.conn, self: self === null ? null : idOf(self) });
    return;
  }
  const r = conns.get(c.conn);
  if (!r) throw new Error(`no connection ${c.conn}`);
  if (c.op === 'send') r.send(c.packet!);
  else if (c.op === 'close') r.s.destroy();
  else throw new Error(`unknown op ${c.op}`);
}

createInterface({ input: process.stdin }).on('line', (l) => {
  let c: Command;
  try {
    c = JSON.parse(l) as Command;
  } catch {
    return report({ ev: 'fail', op: null, message: `not JSON: ${l.slice(0, 80)}` });
  }
  run(c).catch((err: Error) => report({ ev: 'fail', op: c.op, conn: c.conn, message: err.message }));
});
// The test ends the rogue by closing its stdin.
process.stdin.on('end', () => process.exit(0));
