/**
 * The teacher's page data (`/admin`): the live connections with their address, user, protocol
 * and messages in and out, and each one's latest protocol errors, so the teacher sees whose
 * client is stuck. Who may see it: operators (accounts with `operator`) once the server has
 * accounts; before that, only the machine itself (loopback), as nobody could prove who they are.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Lab93Server } from '../server/server.js';

export interface AdminConnection {
  id: string;
  address: string;
  user: string | null;
  protocol: 'base64' | 'plain' | 'web';
  state: string;
  messagesIn: number;
  messagesOut: number;
  rooms: string[];
  since: number;
  errors: Array<{ code: string; message: string; at: number }>;
}

/** A snapshot of the server's sessions for the teacher's page. */
export function listConnections(server: Lab93Server): AdminConnection[] {
  return [...server.sessions].map((s) => ({
    id: s.id,
    address: s.conn.remote,
    user: s.username,
    protocol: s.conn.transport === 'web' ? 'web' : s.mode,
    state: s.state,
    messagesIn: s.conn.framesIn,
    messagesOut: s.conn.framesOut,
    rooms: [...s.rooms],
    since: s.openedAt,
    errors: [...s.recentErrors],
  }));
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\./.test(a);
}

/** Whether a Host header names this machine: localhost, 127.x.y.z or [::1], with any port. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** Operator logins to the teacher's page: a random cookie, kept in memory, ending after `ttlMs`. */
export class AdminSessions {
  private readonly live = new Map<string, { name: string; until: number }>();

  constructor(
    private readonly now: () => number,
    private readonly ttlMs = 8 * 3600_000,
  ) {}

  create(name: string): string {
    const id = randomBytes(24).toString('base64url');
    this.live.set(id, { name, until: this.now() + this.ttlMs });
    // Expired entries are swept here: operators log in rarely, so the map stays tiny.
    for (const [k, v] of this.live) if (v.until < this.now()) this.live.delete(k);
    return id;
  }

  /** The operator's name for the request's cookie, or null. */
  check(req: IncomingMessage): string | null {
    const m = /(?:^|;\s*)lab93admin=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? '');
    if (!m) return null;
    const s = this.live.get(m[1]!);
    if (!s || s.until < this.now()) return null;
    return s.name;
  }
}
