/**
 * The IPv4 interfaces discovery runs on: every one by default (a multi-homed machine announces
 * on each, with that interface's own address), or those named in LAB93_MDNS_INTERFACES
 * (comma-separated names or addresses; tests use "lo" so nothing leaves the machine).
 */
import os from 'node:os';

export interface Ipv4Interface {
  name: string;
  address: string;
  netmask: string;
  internal: boolean;
}

/** Parses LAB93_MDNS_INTERFACES; undefined or "all" means every interface. */
export function interfaceFilter(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const v = env.LAB93_MDNS_INTERFACES?.trim();
  if (!v || v === 'all') return undefined;
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** One IPv4 address per interface that is up (libuv lists only those). */
export function ipv4Interfaces(filter?: string[]): Ipv4Interface[] {
  const out: Ipv4Interface[] = [];
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    const a = (addrs ?? []).find((x) => x.family === 'IPv4' || (x.family as unknown) === 4);
    if (!a) continue;
    if (filter && !filter.includes(name) && !filter.includes(a.address)) continue;
    out.push({ name, address: a.address, netmask: a.netmask, internal: a.internal });
  }
  return out;
}

function toInt(ip: string): number {
  return ip.split('.').reduce((n, p) => ((n << 8) | (Number(p) & 255)) >>> 0, 0);
}

/** Is `ip` on the subnet of `iface`? Used to tell which interface a multicast packet came in on. */
export function onSubnet(ip: string, iface: Pick<Ipv4Interface, 'address' | 'netmask'>): boolean {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const mask = toInt(iface.netmask);
  return (toInt(ip) & mask) === (toInt(iface.address) & mask);
}
