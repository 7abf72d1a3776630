/**
 * Fan-out between lab93 servers over NATS (docs/cluster.md). Every server publishes each
 * BusEvent as JSON on `<prefix>.events` and subscribes to the same subject.
 *
 * Delivery: an event is handed to this process's subscribers synchronously at publish(), as
 * LocalBus does, and its echo from NATS (each server receives its own publications back) is
 * dropped by the bus instance id it carries. So local clients get exactly one copy, with no
 * round trip to NATS, and keep chatting when NATS is away; other servers get exactly one copy
 * from NATS, in the order each server published (NATS keeps per-connection order).
 *
 * With a `source` (the shared store), message events also pass through a Sequencer: every
 * server then delivers messages in id order with no gaps, reading from the store what NATS
 * reordered or lost (while a server is cut off, core NATS drops what is published). That is
 * what keeps `since` and the delivery cursors exact across servers. Presence events are
 * best-effort: those published while NATS is away are not repeated.
 *
 * This module is loaded only by createBus() when the driver is 'nats', so `nats` never loads on
 * the default (in-process) path.
 */
import { randomUUID } from 'node:crypto';
import { connect, Events, DebugEvents, type NatsConnection, type Subscription } from 'nats';
import type { Logger } from 'pino';
import { Sequencer, type MessageEvent, type SequenceSource, type SequencerOptions } from './sequencer.js';
import type { BusEvent, MessageBus } from './types.js';

export interface NatsBusOptions {
  /** One or more servers: "nats://host:4222", "host:4222". */
  servers: string | string[];
  /** Subject prefix shared by the servers of one cluster (default "lab93"). */
  prefix?: string;
  log?: Logger;
  /** Wait between reconnect attempts (default 1000 ms); nats.js retries forever. */
  reconnectTimeWaitMs?: number;
  /** Connection name shown by the NATS server's monitoring. */
  name?: string;
  /** The cluster's shared store: message events are then delivered in id order, gaps read from it. */
  source?: SequenceSource;
  /** Sequencer timing (tests shorten it). */
  sequencer?: Omit<SequencerOptions, 'log'>;
}

/** What travels on the subject: the event and the bus instance that published it. */
interface Envelope {
  v: 1;
  node: string;
  event: BusEvent;
}

function isEvent(e: unknown): e is BusEvent {
  if (typeof e !== 'object' || e === null) return false;
  const o = e as Record<string, unknown>;
  if (o.kind === 'message') {
    const m = o.message as Record<string, unknown> | null;
    return typeof o.origin === 'string' && typeof m === 'object' && m !== null && typeof m.id === 'number' && typeof m.username === 'string' && typeof m.room === 'string' && typeof m.content === 'string';
  }
  return o.kind === 'presence' && typeof o.room === 'string' && typeof o.username === 'string' && (o.status === 'online' || o.status === 'offline') && typeof o.node === 'string';
}

/** Parses "nats://a:4222,nats://b:4222?prefix=x" into servers and prefix. */
export function parseNatsUrl(url: string): { servers: string[]; prefix?: string } {
  const q = url.indexOf('?');
  const prefix = q >= 0 ? new URLSearchParams(url.slice(q + 1)).get('prefix') ?? undefined : undefined;
  const servers = (q >= 0 ? url.slice(0, q) : url).split(',').map((s) => s.trim().replace(/\/+$/, '')).filter(Boolean);
  return prefix !== undefined ? { servers, prefix } : { servers };
}

export class NatsBus implements MessageBus {
  /** This bus instance, stamped on every publication so that its echo can be recognized. */
  readonly node = randomUUID();
  readonly subject: string;
  private handlers: Array<(e: BusEvent) => void> = [];
  private readonly sub: Subscription;
  private closed = false;
  /** Present when the bus has a source: message events then go through it (id order, no gaps). */
  readonly sequencer: Sequencer | null;

  private constructor(private readonly nc: NatsConnection, prefix: string, private readonly log: Logger | undefined, o: NatsBusOptions) {
    this.subject = `${prefix}.events`;
    this.sequencer = o.source ? new Sequencer(o.source, (e) => this.dispatch(e), { ...o.sequencer, ...(log ? { log } : {}) }) : null;
    this.sub = nc.subscribe(this.subject, { callback: (err, msg) => (err ? this.log?.error({ err: err.message }, 'nats: subscription error') : this.receive(msg.data)) });
  }

  /** Connects (failing if no server answers now) and subscribes; reconnects later by itself. */
  static async connect(o: NatsBusOptions): Promise<NatsBus> {
    const prefix = o.prefix ?? 'lab93';
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) throw new Error(`bad NATS subject prefix ${JSON.stringify(prefix)}: tokens of letters, digits, _ and - separated by dots`);
    const nc = await connect({
      servers: o.servers,
      name: o.name ?? 'lab93',
      maxReconnectAttempts: -1,
      reconnectTimeWait: o.reconnectTimeWaitMs ?? 1000,
    });
    const bus = new NatsBus(nc, prefix, o.log, o);
    void bus.watch();
    await nc.flush(); // the subscription is registered before anyone publishes through us
    try {
      await bus.sequencer?.start();
    } catch (err) {
      await nc.close();
      throw err;
    }
    o.log?.info({ server: nc.getServer(), subject: bus.subject }, 'nats: connected');
    return bus;
  }

  /** Logs connection trouble; nats.js reconnects by itself and we keep going. */
  private async watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === Events.Disconnect) {
        this.log?.warn({ server: s.data }, this.sequencer
          ? 'nats: disconnected; messages between servers now travel through the store (polled), presence changes are not shared'
          : 'nats: disconnected; events to and from other servers are lost until it is back');
      }
      else if (s.type === Events.Reconnect) this.log?.info({ server: s.data }, 'nats: reconnected');
      else if (s.type === Events.Error) this.log?.error({ err: String(s.data) }, 'nats: error');
      else if (s.type === DebugEvents.Reconnecting) this.log?.debug('nats: reconnecting');
    }
    if (!this.closed) {
      const err = await this.nc.closed();
      this.log?.error({ err: err?.message }, 'nats: connection closed for good');
    }
  }

  private receive(data: Uint8Array): void {
    let env: Envelope;
    try {
      env = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as Envelope;
    } catch {
      this.log?.warn('nats: dropped an event that is not JSON');
      return;
    }
    if (env?.node === this.node) return; // our own, delivered locally at publish()
    if (typeof env?.node !== 'string' || !isEvent(env.event)) {
      this.log?.warn('nats: dropped a malformed event');
      return;
    }
    const ev = env.event;
    // `origin` is a connection id, unique only on its own server (connections are c1, c2, …
    // everywhere): name it after the publisher so it can never match a connection here.
    if (ev.kind === 'message') {
      const local: MessageEvent = { ...ev, origin: `${env.node}/${ev.origin}` };
      if (this.sequencer) this.sequencer.push(local);
      else this.dispatch(local);
    } else this.dispatch(ev);
  }

  /** Hands an event to every subscriber; one failing subscriber does not stop the others. */
  private dispatch(e: BusEvent): void {
    for (const h of this.handlers) {
      try {
        h(e);
      } catch (err) {
        this.log?.error({ err }, 'bus subscriber failed');
      }
    }
  }

  publish(event: BusEvent): void {
    if (event.kind === 'message' && this.sequencer) this.sequencer.push(event);
    else this.dispatch(event);
    if (this.closed) return;
    const env: Envelope = { v: 1, node: this.node, event };
    try {
      this.nc.publish(this.subject, JSON.stringify(env));
    } catch (err) {
      // Only when the connection is closed for good; while reconnecting nats.js buffers.
      this.log?.error({ err: (err as Error).message }, 'nats: publish failed; other servers miss this event');
    }
  }

  subscribe(handler: (e: BusEvent) => void): () => void {
    this.handlers.push(handler);
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  /** Resolves once NATS has seen everything published so far (a round trip). */
  async flush(): Promise<void> {
    if (!this.closed) await this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers = [];
    this.sequencer?.close();
    this.sub.unsubscribe();
    // drain() sends what is still buffered before closing; fall back to close() if that fails.
    await this.nc.drain().catch(() => this.nc.close());
  }
}
