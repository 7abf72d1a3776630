/**
 * lab93 itself, from source (`node --import tsx src/cli/main.ts server`), with the per-connection
 * rate limit off (--rate 0: the benchmark floods on purpose) and synchronous=FULL, so that an
 * acknowledgement means the message is on disk.
 */
import { join } from 'node:path';
import { launch, type ServerKind } from './process.js';

export const lab93Server: ServerKind = {
  name: 'lab93',
  protocol: 'lab93',
  missing: () => null,
  async start(o) {
    const dbPath = join(o.dir, 'lab93.db');
    const prof = o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
    const argv = [process.execPath, ...prof, '--import', 'tsx', 'src/cli/main.ts', 'server', '--address', '127.0.0.1', '--port', String(o.port), '--db', dbPath, '--rate', '0', '--synchronous', 'full'];
    const h = await launch('lab93', 'lab93', argv, o, { LAB93_DATA_DIR: o.dir });
    return { ...h, dbPath };
  },
};
