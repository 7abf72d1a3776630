/** The bare Node relay (bench/relay/node-relay.ts): naive per-receiver writes, or batched per tick. */
import { launch, type ServerKind } from './process.js';

function relayKind(mode: 'naive' | 'batched'): ServerKind {
  const name = `node-relay-${mode}`;
  return {
    name,
    protocol: 'relay',
    missing: () => null,
    start(o) {
      const prof = o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
      return launch(name, 'relay', [process.execPath, ...prof, '--import', 'tsx', 'bench/relay/node-relay.ts', '--port', String(o.port), '--mode', mode], o);
    },
  };
}

export const relayNaive = relayKind('naive');
export const relayBatched = relayKind('batched');
