/**
 * DNS-SD records of the Lab-93 service (RFC 6763 over multicast DNS, RFC 6762), built and read
 * as plain data: no sockets here, so the parsing of what strangers send is unit-testable.
 *
 * An instance `alice@lab-pc._lab93._tcp.local` is announced as
 *   PTR  _lab93._tcp.local            -> alice@lab-pc._lab93._tcp.local
 *   SRV  alice@lab-pc._lab93._tcp.local -> lab-pc.local : 5190
 *   TXT  alice@lab-pc._lab93._tcp.local  "v=1" "id=<peer id>" "mode=broadcast" "user=alice" ["net=<tag>"]
 *                                        ["fp=<SHA-256 of a repeater's TLS certificate>"]
 *   A    lab-pc.local                 -> the address of the interface it is sent on
 */
import type { Answer, Question } from 'dns-packet';

export const SERVICE_TYPE = '_lab93._tcp.local';
export const SERVICES_META = '_services._dns-sd._udp.local';

export type ServiceMode = 'broadcast' | 'repeater';

/** What we announce about ourselves. */
export interface LocalService {
  instance: string;
  /** Host label, announced as `<host>.local`. */
  host: string;
  port: number;
  peerId: string;
  mode: ServiceMode;
  username: string;
  version: number;
  /**
   * A repeater with TLS: its certificate's SHA-256 fingerprint (net/tls.ts form). Anyone on the
   * LAN can announce anything, so this is a claim, not a proof: the client checks the
   * certificate it is shown against it, and against its own pin of this name.
   */
  fingerprint?: string;
  /** A repeater serving the web client: its HTTP(S) port (TXT web), for a link to hand out. */
  webPort?: number;
  /**
   * Broadcast mode with a network key: its discovery tag (identity.ts deriveNetworkKey), a
   * one-way value of the secret. Peers dial only services with their own tag (none = none).
   */
  net?: string;
}

/** One service seen in one packet. */
export interface Sighting {
  fqdn: string;
  instance: string;
  /** TTL of its SRV (or PTR) record in seconds; 0 is a goodbye. */
  ttl: number;
  host?: string;
  port?: number;
  txt?: Record<string, string>;
  addresses: string[];
}

export function instanceFqdn(instance: string): string {
  return `${instance}.${SERVICE_TYPE}`;
}

/** "alice@lab-pc" from "alice@lab-pc._lab93._tcp.local" (instance labels may contain dots). */
export function instanceOf(fqdn: string): string {
  return fqdn.endsWith(`.${SERVICE_TYPE}`) ? fqdn.slice(0, -(SERVICE_TYPE.length + 1)) : fqdn;
}

/** A DNS label for the host: letters, digits and "-" only (RFC 952 style), never empty. */
export function hostLabel(hostname: string): string {
  const label = hostname.split('.')[0]!.replace(/[^A-Za-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return label || 'lab93-host';
}

function txtStrings(s: LocalService): string[] {
  const txt = [`v=${s.version}`, `id=${s.peerId}`, `mode=${s.mode}`, `user=${s.username}`];
  if (s.fingerprint) txt.push(`fp=${s.fingerprint}`);
  if (s.webPort) txt.push(`web=${s.webPort}`);
  if (s.net) txt.push(`net=${s.net}`);
  return txt;
}

/**
 * The full record set for one interface: PTR as the answer, SRV, TXT and A as additionals
 * (so one packet is enough to dial). `ttl` 0 makes it a goodbye.
 */
export function serviceRecords(s: LocalService, address: string | null, ttl: number): { answers: Answer[]; additionals: Answer[] } {
  const fqdn = instanceFqdn(s.instance);
  const target = `${s.host}.local`;
  const additionals: Answer[] = [
    { name: fqdn, type: 'SRV', ttl, flush: true, data: { port: s.port, target, priority: 0, weight: 0 } },
    { name: fqdn, type: 'TXT', ttl, flush: true, data: txtStrings(s) },
  ];
  if (address !== null) additionals.push({ name: target, type: 'A', ttl, flush: true, data: address });
  return { answers: [{ name: SERVICE_TYPE, type: 'PTR', ttl, data: fqdn }], additionals };
}

/** Does this query ask for something we hold? Returns the kind of answer it needs. */
export function queryWants(questions: Question[], s: LocalService): 'service' | 'meta' | 'address' | null {
  const fqdn = instanceFqdn(s.instance).toLowerCase();
  const target = `${s.host}.local`.toLowerCase();
  let want: 'service' | 'meta' | 'address' | null = null;
  for (const q of questions) {
    const name = q.name.toLowerCase();
    const any = (q.type as string) === 'ANY';
    if ((name === SERVICE_TYPE && (q.type === 'PTR' || any)) || (name === fqdn && (q.type === 'SRV' || q.type === 'TXT' || any))) return 'service';
    if (name === SERVICES_META && (q.type === 'PTR' || any)) want = 'meta';
    else if (name === target && (q.type === 'A' || any) && want === null) want = 'address';
  }
  return want;
}

export function metaRecords(ttl: number): Answer[] {
  return [{ name: SERVICES_META, type: 'PTR', ttl, data: SERVICE_TYPE }];
}

function txtMap(data: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const parts = Array.isArray(data) ? data : [data];
  for (const p of parts) {
    const s = Buffer.isBuffer(p) ? p.toString('utf8') : typeof p === 'string' ? p : '';
    const i = s.indexOf('=');
    if (i > 0 && i < 200) out[s.slice(0, i).toLowerCase()] = s.slice(i + 1, i + 1 + 200);
  }
  return out;
}

const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/**
 * Reads the Lab-93 services out of one response packet (answers and additionals together).
 * A packet may hold only part of a service (a PTR alone): the sighting then lacks host, port
 * or txt, and the caller asks for the rest. Anything malformed is skipped, never thrown.
 */
export function readSightings(records: Answer[]): Sighting[] {
  const byFqdn = new Map<string, Sighting>();
  const hosts = new Map<string, string[]>();
  const get = (fqdn: string, ttl: number): Sighting => {
    let s = byFqdn.get(fqdn.toLowerCase());
    if (!s) byFqdn.set(fqdn.toLowerCase(), (s = { fqdn, instance: instanceOf(fqdn), ttl, addresses: [] }));
    return s;
  };
  const suffix = `.${SERVICE_TYPE}`;
  for (const r of records) {
    if (!r || typeof r.name !== 'string') continue;
    const name = r.name.toLowerCase();
    const rttl = (r as { ttl?: unknown }).ttl;
    const ttl = typeof rttl === 'number' ? rttl : 120;
    if (r.type === 'PTR' && name === SERVICE_TYPE && typeof r.data === 'string' && r.data.toLowerCase().endsWith(suffix)) {
      const s = get(r.data, ttl);
      if (ttl === 0) s.ttl = 0;
    } else if (r.type === 'SRV' && name.endsWith(suffix) && r.data && typeof r.data === 'object' && 'port' in r.data) {
      const s = get(r.name, ttl);
      s.ttl = ttl;
      s.port = r.data.port;
      s.host = String(r.data.target);
    } else if (r.type === 'TXT' && name.endsWith(suffix)) {
      get(r.name, ttl).txt = txtMap(r.data);
    } else if (r.type === 'A' && typeof r.data === 'string' && IPV4.test(r.data)) {
      const list = hosts.get(name) ?? [];
      list.push(r.data);
      hosts.set(name, list);
    }
  }
  for (const s of byFqdn.values()) if (s.host) s.addresses = hosts.get(s.host.toLowerCase()) ?? [];
  return [...byFqdn.values()];
}
