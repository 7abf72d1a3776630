/**
 * `lab93 -r -c` without an address: finds the repeater server on the LAN by mDNS
 * (docs/broadcast.md, "Finding a server"; docs/security.md, "Files").
 *
 * Anyone on the LAN can answer mDNS under any name, so nothing is picked silently:
 * - one server: joined, unless it contradicts a pin (its name or address was pinned to another
 *   certificate, or it now announces none): then refused, saying how to forget the pin;
 * - several answers (several servers, or several under one name): listed with their addresses
 *   and fingerprints, and the user picks one; without a terminal, refused with the list;
 * - none: said so.
 * Every name printed here came from the network and is sanitised first.
 * A server that announces a fingerprint is dialled over TLS and must present that certificate.
 */
import { createInterface } from 'node:readline/promises';
import { UsageError } from '../cli/usage.js';
import { PinStore, instanceKey, serverKey, type Pin } from '../client/pins.js';
import { sanitizeLine } from '../client/sanitize.js';
import type { ClientTlsOptions } from '../client/transport.js';
import { discoverRepeater, type ServiceEntry } from './discovery.js';

export interface FoundServer {
  host: string;
  port: number;
  /** The name it announced, sanitised. */
  instance: string;
  /** The certificate fingerprint it announced, or null (no TLS announced). */
  fingerprint: string | null;
  /** How to dial it: TLS expecting its certificate, or null for plaintext. */
  tls: Omit<ClientTlsOptions, 'onTrust'> | null;
}

/** One server as the user will see it: answers that are provably the same server merged. */
export interface Candidate {
  instance: string;
  /** The name as announced, unsanitised: the pin key. */
  rawInstance: string;
  host: string;
  port: number;
  fingerprint: string | null;
  peerId: string;
  /** A pin this candidate contradicts, if any. */
  conflict: { key: string; pin: Pin } | null;
  /** Pinned under its name with this very fingerprint. */
  pinned: boolean;
}

const MAX_NAME = 64;

/** A name from the network, safe and short enough for one line of a terminal. */
function shown(name: string): string {
  const s = sanitizeLine(name).replace(/[\p{Cc}\p{Cf}]/gu, '?');
  return s.length > MAX_NAME ? `${s.slice(0, MAX_NAME - 1)}…` : s;
}

/**
 * Answers merged into candidates. Two answers are one server only when a certificate proves it:
 * the same announced fingerprint, peer id and port (TLS then checks the certificate at whichever
 * address is dialled). Without a fingerprint, answers at different addresses stay apart.
 */
export function candidates(found: ServiceEntry[], pins: PinStore): Candidate[] {
  const out = new Map<string, Candidate>();
  for (const e of found) {
    const host = e.addresses[0];
    if (host === undefined) continue;
    const key = e.fingerprint !== null ? `${e.instance}\0${e.peerId}\0${e.port}\0${e.fingerprint}` : `${e.instance}\0${e.peerId}\0${e.port}\0${host}`;
    if (out.has(key)) continue;
    const byName = pins.get(instanceKey(e.instance));
    const byAddr = pins.get(serverKey(host, e.port));
    let conflict: Candidate['conflict'] = null;
    if (byName && byName.fingerprint !== e.fingerprint) conflict = { key: instanceKey(e.instance), pin: byName };
    else if (byAddr && byAddr.fingerprint !== e.fingerprint) conflict = { key: serverKey(host, e.port), pin: byAddr };
    out.set(key, {
      instance: shown(e.instance), rawInstance: e.instance, host, port: e.port, fingerprint: e.fingerprint, peerId: e.peerId,
      conflict, pinned: byName !== null && byName.fingerprint === e.fingerprint,
    });
  }
  return [...out.values()].sort((a, b) => a.instance.localeCompare(b.instance) || a.host.localeCompare(b.host) || a.port - b.port);
}

function describe(c: Candidate, i: number): string {
  const fp = c.fingerprint === null ? 'no TLS' : `TLS ${c.fingerprint}`;
  const mark = c.conflict ? `  REFUSED: pinned as ${c.conflict.pin.fingerprint.slice(0, 11)}… (${shown(c.conflict.key)})` : c.pinned ? '  (pinned)' : '';
  return `  ${i + 1}) ${c.instance}  ${c.host}:${c.port}  ${fp}${mark}`;
}

function refuseConflict(c: Candidate, pins: PinStore): never {
  const pin = c.conflict!;
  throw new UsageError(
    `@@@ WARNING: "${c.instance}" at ${c.host}:${c.port} does not match your pin @@@\n` +
    `  pinned (${shown(pin.key)}): ${pin.pin.fingerprint}\n` +
    `  announced now:  ${c.fingerprint ?? 'no certificate (plaintext)'}\n` +
    `  Something on the LAN may be posing as that server, or its operator made a new certificate. Not joined.\n` +
    `  If the operator confirms the new fingerprint, forget the pin and try again:\n` +
    `    lab93 pins forget '${shown(pin.key).replace(/'/g, "'\\''")}'\n` +
    `  (pins are kept in ${pins.path})`,
  );
}

function toFound(c: Candidate, wantTls: Omit<ClientTlsOptions, 'onTrust'> | null): FoundServer {
  let tls: FoundServer['tls'] = null;
  if (c.fingerprint !== null) {
    tls = {
      ...(wantTls ?? {}),
      expect: { fingerprint: c.fingerprint, source: c.pinned ? `your pin of ${c.instance}` : `the mDNS announcement of ${c.instance}` },
      alsoPin: [instanceKey(c.rawInstance)],
    };
  } else if (wantTls) {
    tls = { ...wantTls, alsoPin: [instanceKey(c.rawInstance)] };
  }
  return { host: c.host, port: c.port, instance: c.instance, fingerprint: c.fingerprint, tls };
}

export async function findServerOnLan(o: {
  waitMs?: number;
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: NodeJS.WritableStream;
  discover?: typeof discoverRepeater;
  pins?: PinStore;
  /** --tls / --ca given: a server that announces no certificate is still dialled over TLS. */
  tls?: Omit<ClientTlsOptions, 'onTrust'> | null;
} = {}): Promise<FoundServer> {
  const input = o.input ?? process.stdin;
  const out = o.output ?? process.stderr;
  const pins = o.pins ?? new PinStore();
  const wantTls = o.tls ?? null;
  out.write('lab93: no address given (-a); looking for a lab93 server on the LAN...\n');
  const found = candidates(await (o.discover ?? discoverRepeater)({ waitMs: o.waitMs ?? 2000 }), pins);
  if (found.length === 0) {
    throw new UsageError('no lab93 server answered on the LAN: give its address with -a HOST (or start one: lab93 server)');
  }
  if (found.length === 1) {
    const c = found[0]!;
    if (c.conflict) refuseConflict(c, pins);
    out.write(`lab93: found ${c.instance} at ${c.host}:${c.port}${c.fingerprint ? `, TLS ${c.fingerprint}${c.pinned ? ' (pinned)' : ''}` : ''}\n`);
    return toFound(c, wantTls);
  }
  const sameName = new Set(found.map((c) => c.rawInstance)).size < found.length;
  const list = found.map(describe).join('\n');
  const why = sameName ? ' (some under the same name: only one of them can be the real one)' : '';
  if (!input.isTTY) throw new UsageError(`${found.length} lab93 servers answered on the LAN${why}; pick one with -a HOST -p PORT:\n${list}`);
  out.write(`lab93: ${found.length} servers answered${why}:\n${list}\n`);
  const rl = createInterface({ input, output: out });
  try {
    for (;;) {
      const answer = (await rl.question(`which one? [1-${found.length}, q to quit] `)).trim();
      const n = Number(answer);
      if (Number.isInteger(n) && n >= 1 && n <= found.length) {
        const c = found[n - 1]!;
        if (c.conflict) refuseConflict(c, pins);
        return toFound(c, wantTls);
      }
      if (answer === '' || answer === 'q') throw new UsageError('no server chosen');
    }
  } finally {
    rl.close();
  }
}
