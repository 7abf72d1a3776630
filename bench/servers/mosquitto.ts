/** Mosquitto, the MQTT broker, at QoS 0. Minimal loopback config: anonymous, no persistence, no caps. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, which, type ServerKind } from './process.js';

export const mosquittoServer: ServerKind = {
  name: 'mosquitto',
  protocol: 'mqtt',
  missing: () => (which('mosquitto') ? null : 'apt-get install -y mosquitto'),
  start(o) {
    const conf = join(o.dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      `listener ${o.port} 127.0.0.1
allow_anonymous true
persistence false
max_connections -1
max_queued_messages 0
max_queued_bytes 0
set_tcp_nodelay true
log_dest stdout
log_type error
log_type warning
`,
    );
    return launch('mosquitto', 'mqtt', [which('mosquitto')!, '-c', conf], o);
  },
};
