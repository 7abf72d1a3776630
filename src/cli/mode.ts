import { UsageError } from './usage.js';

/** Resolves the original flags to one mode, or says in one line what is wrong. */
export function chooseMode(o: { repeater?: boolean; broadcast?: boolean; mode?: string; server?: boolean; client?: boolean }): 'server' | 'client' | 'broadcast' {
  if (o.mode !== undefined && o.mode !== 'repeater' && o.mode !== 'broadcast') {
    throw new UsageError(`-m/--mode must be "repeater" or "broadcast", not "${o.mode}"`);
  }
  const repeater = o.repeater || o.mode === 'repeater';
  const broadcast = o.broadcast || o.mode === 'broadcast';
  if (repeater && broadcast) throw new UsageError('-r/--repeater and -b/--broadcast cannot be used together: pick one mode');
  if (o.server && o.client) throw new UsageError('-s/--server and -c/--client cannot be used together: pick one role');
  if (broadcast) {
    if (o.server || o.client) throw new UsageError('-s/--server and -c/--client belong to repeater mode (-r), not -b/--broadcast');
    return 'broadcast';
  }
  if (repeater) {
    if (o.server) return 'server';
    if (o.client) return 'client';
    throw new UsageError('repeater mode (-r) needs a role: -s/--server to host, or -c/--client to join');
  }
  if (o.server || o.client) throw new UsageError(`${o.server ? '-s/--server' : '-c/--client'} needs a mode: add -r/--repeater`);
  throw new UsageError('choose a mode: -r/--repeater with -s/--server or -c/--client, or -b/--broadcast (see lab93 --help)');
}
