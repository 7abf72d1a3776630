/**
 * Network namespaces for multi-host tests: a "switch" namespace holding Linux bridges, and one
 * namespace per host, joined to bridges by veth pairs, with addresses in 10.93.<bridge>.0/24,
 * lo up and a multicast route. Nothing is created in the root namespace, so deleting the
 * namespaces removes everything; that happens in destroy(), on process exit, and for leftovers
 * of earlier runs whose process is gone (names carry the pid).
 *
 * Needs root and iproute2; netnsUnavailable() says why not, so tests can skip with a reason.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const PREFIX = 'l93t';

function ip(args: string[], allowFail = false): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0 && !allowFail) throw new Error(`ip ${args.join(' ')}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

let cachedReason: string | null | undefined;

/** Why namespaces cannot be made here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (cachedReason !== undefined) return cachedReason;
  if (process.platform !== 'linux') return (cachedReason = 'network namespaces need Linux');
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return (cachedReason = 'network namespaces need root (CI runs as root)');
  const probe = `${PREFIX}-${process.pid}-probe`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.error) return (cachedReason = `cannot run ip (iproute2): ${r.error.message}`);
  if (r.status !== 0) return (cachedReason = `ip netns add failed: ${r.stderr.trim()}`);
  spawnSync('ip', ['netns', 'del', probe]);
  return (cachedReason = null);
}

/** Deletes namespaces left by earlier runs whose process no longer exists. */
function removeLeftovers(): void {
  for (const line of ip(['netns', 'list'], true).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${PREFIX}-(\\d+)-`).exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) ip(['netns', 'del', name], true);
  }
}

const live = new Set<Lab>();
let exitHooked = false;

export interface Host {
  name: string;
  ns: string;
  /** Host addresses, one per bridge it is on, in the order given. */
  addresses: string[];
  /** Switch-side interface names, one per bridge. */
  ports: string[];
}

/** One test topology. Create with new Lab(), always destroy() in an after hook. */
export class Lab {
  readonly id = `${PREFIX}-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly switchNs: string;
  readonly hosts = new Map<string, Host>();
  private readonly bridges: string[] = [];
  private readonly namespaces: string[] = [];
  private destroyed = false;

  constructor() {
    if (!exitHooked) {
      exitHooked = true;
      process.on('exit', () => {
        for (const l of live) l.destroy();
      });
    }
    removeLeftovers();
    live.add(this);
    this.switchNs = this.addNs('sw');
  }

  private addNs(suffix: string): string {
    const ns = `${this.id}-${suffix}`;
    ip(['netns', 'add', ns]);
    this.namespaces.push(ns);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A bridge (a LAN segment) numbered in order: bridge i has the subnet 10.93.i.0/24. */
  addBridge(): number {
    const i = this.bridges.length;
    const br = `br${i}`;
    // No IGMP snooping: without a querier on this little LAN it could hold multicast back.
    ip(['-n', this.switchNs, 'link', 'add', br, 'type', 'bridge', 'mcast_snooping', '0']);
    ip(['-n', this.switchNs, 'link', 'set', br, 'up']);
    this.bridges.push(br);
    return i;
  }

  /** A host on the given bridges; its address on bridge b is 10.93.b.<n>. */
  addHost(name: string, n: number, bridges: number[]): Host {
    const ns = this.addNs(name);
    const host: Host = { name, ns, addresses: [], ports: [] };
    bridges.forEach((b, k) => {
      const port = `${name}${k}`;
      const dev = `eth${k}`;
      ip(['-n', this.switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', dev, 'netns', ns]);
      ip(['-n', this.switchNs, 'link', 'set', port, 'master', this.bridges[b]!]);
      ip(['-n', this.switchNs, 'link', 'set', port, 'up']);
      const addr = `10.93.${b}.${n}`;
      ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
      ip(['-n', ns, 'link', 'set', dev, 'up']);
      ip(['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', dev, 'metric', String(10 + k)]);
      host.addresses.push(addr);
      host.ports.push(port);
    });
    this.hosts.set(name, host);
    return host;
  }

  /** Cuts a host off its bridge (its cable pulled), or plugs it back. */
  setLink(name: string, up: boolean, k = 0): void {
    const h = this.hosts.get(name)!;
    ip(['-n', this.switchNs, 'link', 'set', h.ports[k]!, up ? 'up' : 'down']);
  }

  /** `ip netns exec NS ...argv`, for spawn(). */
  exec(name: string, argv: string[]): string[] {
    return ['ip', 'netns', 'exec', this.hosts.get(name)!.ns, ...argv];
  }

  /** Deletes every namespace (and with them their veths and bridges). Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const ns of [...this.namespaces].reverse()) spawnSync('ip', ['netns', 'del', ns]);
  }
}
