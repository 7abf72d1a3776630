/**
 * nats-server. Minimal loopback config; NATS has no flood limit, but it cuts off a "slow
 * consumer" past max_pending bytes or a write deadline, both raised so a benchmark burst is
 * measured rather than cut.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, which, type ServerKind } from './process.js';

export const natsServer: ServerKind = {
  name: 'nats-server',
  protocol: 'nats',
  missing: () => (which('nats-server') ? null : 'apt-get install -y nats-server'),
  start(o) {
    const conf = join(o.dir, 'nats.conf');
    writeFileSync(
      conf,
      `listen: "127.0.0.1:${o.port}"
max_connections: 100000
max_pending: 268435456
write_deadline: "30s"
`,
    );
    return launch('nats-server', 'nats', [which('nats-server')!, '-c', conf], o);
  },
};
