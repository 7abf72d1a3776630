/**
 * DNS-SD over multicast DNS for Lab-93 (docs/broadcast.md, "Discovery"), on the
 * `multicast-dns` library: one responder per IPv4 interface, so that a multi-homed machine
 * announces on each network with that network's own address, and a packet is read only by the
 * responder of the interface it came in on.
 *
 * A Discovery announces this instance (twice at start, and again when an interface appears),
 * answers queries for `_lab93._tcp.local`, browses continuously (a query at start, then at
 * 1 s, 3 s and every ttl/3), and keeps a table of the services seen, dropping one on its
 * goodbye (TTL 0) or when its records expire. Peers and repeater servers use the same code;
 * their TXT `mode` tells them apart.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import makeMdns from 'multicast-dns';
import type { Answer } from 'dns-packet';
import type { Logger } from 'pino';
import { silentLogger } from '../log/index.js';
import { isFingerprint } from '../net/tls.js';
import { PEER_PROTOCOL_VERSION } from './packets.js';
import { randomPeerId } from './peer-store.js';
import { interfaceFilter, ipv4Interfaces, onSubnet, type Ipv4Interface } from './interfaces.js';
import {
  SERVICE_TYPE, hostLabel, instanceFqdn, metaRecords, queryWants, readSightings, serviceRecords,
  type LocalService, type ServiceMode, type Sighting,
} from './mdns-records.js';

export { SERVICE_TYPE, type ServiceMode } from './mdns-records.js';

/** A Lab-93 instance seen on the network. */
export interface ServiceEntry {
  /** `<username>@<hostname>`, as announced. */
  instance: string;
  peerId: string;
  mode: ServiceMode;
  username: string;
  version: number;
  /** A repeater's TLS certificate fingerprint as announced (TXT fp), when valid; a claim only. */
  fingerprint: string | null;
  /** Broadcast mode: the network key's discovery tag (TXT net), or null without one. */
  net?: string | null;
  host: string;
  port: number;
  /** Addresses to dial, best first (the source of the last packet, then its A records). */
  addresses: string[];
  /** Local interface it was last seen on. */
  via: string;
  /** Unix milliseconds. */
  firstSeen: number;
  lastSeen: number;
  expiresAt: number;
}

export interface DiscoveryOptions {
  /** Announce ourselves (and answer queries); omit to only browse. */
  service?: Omit<LocalService, 'host' | 'version' | 'instance'> & { instance?: string; host?: string };
  /** Keep a table of what others announce. */
  browse?: boolean;
  /** Interface names or addresses; default LAB93_MDNS_INTERFACES, else every IPv4 interface. */
  interfaces?: string[];
  /** UDP port; default LAB93_MDNS_PORT, else 5353. Another port isolates a test or a lab. */
  mdnsPort?: number;
  /** TTL of our records in seconds (how long a silent crash stays listed). */
  ttl?: number;
  /** How often the interface list is re-read (hot-plugged or re-addressed networks). */
  interfaceCheckMs?: number;
  log?: Logger;
  now?: () => number;
}

interface Responder {
  iface: Ipv4Interface;
  mdns: makeMdns.MulticastDNS;
  ready: Promise<boolean>;
}

const DEFAULT_TTL = 120;
const DEFAULT_MDNS_PORT = 5353;

/** The default instance name: `<username>@<hostname>`, with the port when it is not the default. */
export function defaultInstanceName(username: string, port: number, defaultPort = 5190): string {
  const base = `${username}@${hostLabel(os.hostname())}`;
  return port === defaultPort ? base : `${base} (${port})`;
}

export function mdnsPortFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.LAB93_MDNS_PORT);
  return Number.isInteger(n) && n > 0 && n < 65536 ? n : DEFAULT_MDNS_PORT;
}

/**
 * Events: 'up' (entry) a service appeared; 'update' (entry) seen again or changed;
 * 'down' (entry, reason: 'goodbye' | 'expired') it left.
 */
export class Discovery extends EventEmitter {
  private readonly responders = new Map<string, Responder>();
  private readonly table = new Map<string, ServiceEntry>();
  private readonly partial = new Map<string, Sighting>();
  private readonly local: LocalService | null;
  private readonly ttl: number;
  private readonly port: number;
  private readonly filter: string[] | undefined;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private browseTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private ifaceTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly opts: DiscoveryOptions) {
    super();
    this.ttl = opts.ttl ?? DEFAULT_TTL;
    this.port = opts.mdnsPort ?? mdnsPortFromEnv();
    this.filter = opts.interfaces ?? interfaceFilter();
    this.log = opts.log ?? silentLogger();
    this.now = opts.now ?? Date.now;
    const s = opts.service;
    this.local = s
      ? {
          ...s,
          host: s.host ?? hostLabel(os.hostname()),
          instance: s.instance ?? defaultInstanceName(s.username, s.port),
          version: PEER_PROTOCOL_VERSION,
        }
      : null;
  }

  /** The instance name we announce, if we announce. */
  get instance(): string | null {
    return this.local?.instance ?? null;
  }

  /** Opens a responder per interface, announces and starts browsing. */
  async start(): Promise<void> {
    await this.syncInterfaces();
    this.ifaceTimer = setInterval(() => void this.syncInterfaces(), this.opts.interfaceCheckMs ?? 3000);
    this.ifaceTimer.unref();
    if (this.opts.browse) {
      this.sweepTimer = setInterval(() => this.sweep(), 1000);
      this.sweepTimer.unref();
      this.later(1000, () => this.query());
      this.later(3000, () => this.query());
      this.browseTimer = setInterval(() => this.query(), Math.max(5, this.ttl / 3) * 1000);
      this.browseTimer.unref();
    }
  }

  /** The services alive now (ourselves excluded), by instance name. */
  services(): ServiceEntry[] {
    return [...this.table.values()].sort((a, b) => a.instance.localeCompare(b.instance));
  }

  /** Sends an active query on every interface. */
  query(): void {
    for (const r of this.responders.values()) this.queryOn(r);
  }

  /** Queries and waits `waitMs`: the services that answered meanwhile. */
  async scan(waitMs = 1500): Promise<ServiceEntry[]> {
    const since = this.now();
    this.query();
    await new Promise((r) => setTimeout(r, waitMs));
    return this.services().filter((e) => e.lastSeen >= since);
  }

  /** Says goodbye (TTL 0) on every interface and closes the sockets. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of [this.browseTimer, this.sweepTimer, this.ifaceTimer]) if (t) clearInterval(t);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.responders.values()].map(async (r) => {
      if (this.local && (await r.ready)) await this.send(r, 0);
      await new Promise<void>((res) => r.mdns.destroy(() => res()));
    }));
    this.responders.clear();
  }

  // ---- interfaces -------------------------------------------------------------------------
  private async syncInterfaces(): Promise<void> {
    if (this.stopped) return;
    const now = ipv4Interfaces(this.filter);
    const key = (i: Ipv4Interface): string => `${i.name}/${i.address}/${i.netmask}`;
    const wanted = new Map(now.map((i) => [key(i), i]));
    for (const [k, r] of this.responders) {
      if (wanted.has(k)) continue;
      this.log.info({ iface: r.iface.name, address: r.iface.address }, 'discovery: interface gone');
      this.responders.delete(k);
      r.mdns.destroy();
    }
    const added: Responder[] = [];
    for (const [k, iface] of wanted) {
      if (this.responders.has(k)) continue;
      const r = this.open(iface);
      this.responders.set(k, r);
      added.push(r);
    }
    await Promise.all(added.map(async (r) => {
      if (!(await r.ready) || this.stopped) return;
      this.log.info({ iface: r.iface.name, address: r.iface.address, mdnsPort: this.port }, 'discovery: on interface');
      if (this.local) {
        await this.send(r, this.ttl);
        this.later(1000, () => void this.send(r, this.ttl));
      }
      if (this.opts.browse) this.queryOn(r);
    }));
  }

  private open(iface: Ipv4Interface): Responder {
    // bind 0.0.0.0: a socket bound to the interface's unicast address would not receive
    // multicast on Linux; `interface` still picks where we join the group and send from.
    const mdns = makeMdns({ interface: iface.address, bind: '0.0.0.0', port: this.port, reuseAddr: true, loopback: true });
    const ready = new Promise<boolean>((resolve) => {
      mdns.once('ready', () => resolve(true));
      mdns.once('error', (err: Error) => {
        this.log.warn({ iface: iface.name, err: err.message }, 'discovery: cannot use interface');
        resolve(false);
      });
    });
    mdns.on('warning', (err: Error) => this.log.debug({ iface: iface.name, err: err.message }, 'discovery: warning'));
    mdns.on('query', (q, rinfo) => {
      if (!onSubnet(rinfo.address, iface)) return; // another interface's copy of the packet
      this.onQuery(r, q);
    });
    mdns.on('response', (res, rinfo) => {
      if (!onSubnet(rinfo.address, iface)) return;
      this.onResponse(r, [...(res.answers ?? []), ...(res.additionals ?? [])], rinfo.address);
    });
    const r: Responder = { iface, mdns, ready };
    return r;
  }

  // ---- announcing and answering -----------------------------------------------------------
  private send(r: Responder, ttl: number): Promise<void> {
    if (!this.local) return Promise.resolve();
    const recs = serviceRecords(this.local, r.iface.address, ttl);
    return new Promise((resolve) => r.mdns.respond({ answers: recs.answers, additionals: recs.additionals }, () => resolve()));
  }

  private onQuery(r: Responder, q: makeMdns.QueryPacket): void {
    if (!this.local || this.stopped) return;
    const want = queryWants(q.questions ?? [], this.local);
    if (want === null) return;
    // Known-answer suppression (RFC 6762 7.1): the asker already holds our PTR.
    const fqdn = instanceFqdn(this.local.instance).toLowerCase();
    if (want === 'service' && (q.answers ?? []).some((a) => a.type === 'PTR' && typeof a.data === 'string' && a.data.toLowerCase() === fqdn && (a.ttl ?? 0) > this.ttl / 2)) return;
    // A random delay of 20-120 ms (RFC 6762 6): responders on one link do not answer in lockstep.
    this.later(20 + Math.floor(Math.random() * 100), () => {
      if (want === 'meta') r.mdns.respond({ answers: metaRecords(this.ttl) });
      else if (want === 'address') r.mdns.respond({ answers: serviceRecords(this.local!, r.iface.address, this.ttl).additionals.filter((a) => a.type === 'A') });
      else void this.send(r, this.ttl);
    });
  }

  private queryOn(r: Responder): void {
    if (this.stopped) return;
    r.mdns.query({ questions: [{ name: SERVICE_TYPE, type: 'PTR' }] });
  }

  // ---- browsing ---------------------------------------------------------------------------
  private onResponse(r: Responder, records: Answer[], source: string): void {
    if (!this.opts.browse || this.stopped) return;
    const t = this.now();
    for (const s of readSightings(records)) {
      const key = s.fqdn.toLowerCase();
      if (s.ttl === 0) {
        this.partial.delete(key);
        const gone = this.table.get(key);
        if (gone && (s.txt?.id === undefined || s.txt.id === gone.peerId)) {
          this.table.delete(key);
          this.emit('down', gone, 'goodbye');
        }
        continue;
      }
      // A packet may carry part of a service; merge it with what earlier packets said.
      const prev = this.partial.get(key);
      const merged: Sighting = { ...prev, ...s, txt: s.txt ?? prev?.txt, addresses: s.addresses.length ? s.addresses : prev?.addresses ?? [] };
      if (merged.port === undefined && prev?.port !== undefined) {
        merged.port = prev.port;
        merged.host = prev.host;
      }
      this.partial.set(key, merged);
      const txt = merged.txt;
      if (merged.port === undefined || !txt) {
        r.mdns.query({ questions: [{ name: s.fqdn, type: 'SRV' }, { name: s.fqdn, type: 'TXT' }] });
        continue;
      }
      const id = txt.id;
      if (!id || (this.local && id === this.local.peerId)) continue;
      const mode: ServiceMode = txt.mode === 'repeater' ? 'repeater' : 'broadcast';
      const addresses = [...new Set([source, ...merged.addresses.filter((a) => onSubnet(a, r.iface))])];
      const old = this.table.get(key);
      const entry: ServiceEntry = {
        instance: merged.instance, peerId: id, mode, username: txt.user ?? merged.instance.split('@')[0] ?? '',
        version: Number(txt.v) || 0, fingerprint: txt.fp !== undefined && isFingerprint(txt.fp) ? txt.fp : null, net: txt.net !== undefined && /^[a-z2-7]{1,32}$/.test(txt.net) ? txt.net : null, host: merged.host ?? '', port: merged.port, addresses, via: r.iface.name,
        firstSeen: old && old.peerId === id ? old.firstSeen : t, lastSeen: t, expiresAt: t + merged.ttl * 1000,
      };
      this.table.set(key, entry);
      if (!old || old.peerId !== id) {
        this.log.info({ instance: entry.instance, peer: id, mode, address: addresses[0], port: entry.port, via: entry.via }, 'discovery: found');
        this.emit('up', entry);
      } else this.emit('update', entry);
    }
  }

  private sweep(): void {
    const t = this.now();
    for (const [k, e] of this.table) {
      if (e.expiresAt > t) continue;
      this.table.delete(k);
      this.partial.delete(k);
      this.log.info({ instance: e.instance, peer: e.peerId }, 'discovery: expired');
      this.emit('down', e, 'expired');
    }
  }

  private later(ms: number, f: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) f();
    }, ms);
    t.unref();
    this.timers.add(t);
  }
}

/**
 * Announces a repeater server on the LAN (TXT mode=repeater) until stop() is called.
 * Used by `lab93 server` unless `--no-announce`.
 */
export async function announceRepeater(o: { port: number; username?: string; log?: Logger; interfaces?: string[]; mdnsPort?: number; fingerprint?: string; instance?: string; webPort?: number }): Promise<{ instance: string; stop(): Promise<void> }> {
  const username = o.username ?? safeUser();
  const d = new Discovery({
    service: { port: o.port, peerId: randomPeerId(), mode: 'repeater', username, ...(o.fingerprint ? { fingerprint: o.fingerprint } : {}), ...(o.webPort ? { webPort: o.webPort } : {}), ...(o.instance ? { instance: o.instance } : {}) },
    browse: false,
    ...(o.log ? { log: o.log } : {}),
    ...(o.interfaces ? { interfaces: o.interfaces } : {}),
    ...(o.mdnsPort ? { mdnsPort: o.mdnsPort } : {}),
  });
  await d.start();
  return { instance: d.instance!, stop: () => d.stop() };
}

/**
 * Looks for repeater servers on the LAN for `waitMs` and returns every distinct answer (for
 * `lab93 -r -c` without an address, peer/find-server.ts). Distinct means: not only one entry
 * per name. The table keeps the last answer under a name, so a second server answering under
 * the same name (a mistake, or someone posing as the real one) would replace the first without
 * a trace; every answer is collected from the events instead, and the caller decides.
 */
export async function discoverRepeater(o: { waitMs?: number; log?: Logger; interfaces?: string[]; mdnsPort?: number } = {}): Promise<ServiceEntry[]> {
  const d = new Discovery({
    browse: true,
    ...(o.log ? { log: o.log } : {}),
    ...(o.interfaces ? { interfaces: o.interfaces } : {}),
    ...(o.mdnsPort ? { mdnsPort: o.mdnsPort } : {}),
  });
  const seen = new Map<string, ServiceEntry>();
  const note = (e: ServiceEntry): void => {
    if (e.mode !== 'repeater') return;
    seen.set([e.instance, e.peerId, e.addresses[0], e.port, e.fingerprint, e.net].join('\0'), e);
  };
  d.on('up', note);
  d.on('update', note);
  await d.start();
  try {
    const waitMs = o.waitMs ?? 2000;
    // Two queries: a single datagram can be lost on a busy Wi-Fi.
    setTimeout(() => d.query(), Math.min(500, waitMs / 2)).unref();
    await d.scan(waitMs);
    return [...seen.values()];
  } finally {
    await d.stop();
  }
}

/** The login name, made safe for an instance label. */
export function safeUser(): string {
  let u = process.env.LAB93_NAME ?? '';
  if (!u) {
    try {
      u = os.userInfo().username;
    } catch {
      u = process.env.USER ?? 'lab93';
    }
  }
  return u.replace(/[^\p{L}\p{N}._-]/gu, '') || 'lab93';
}
