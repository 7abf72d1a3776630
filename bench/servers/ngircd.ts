/**
 * ngircd, the IRC server a classroom would install. Minimal loopback config: no DNS or ident
 * lookups, no per-IP or total connection caps, long ping timeouts, and an operator account the
 * senders use to set user mode +F (ngircd's flood protection off for them).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IRC_OPER } from '../protocols/irc.js';
import { launch, which, type ServerKind } from './process.js';

export const ngircdServer: ServerKind = {
  name: 'ngircd',
  protocol: 'irc',
  missing: () => (which('ngircd') ? null : 'apt-get install -y ngircd'),
  start(o) {
    const conf = join(o.dir, 'ngircd.conf');
    writeFileSync(
      conf,
      `[Global]
	Name = bench.local
	Info = lab93 benchmark
	Listen = 127.0.0.1
	Ports = ${o.port}
	MotdPhrase = bench
	PidFile = ${join(o.dir, 'ngircd.pid')}
[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxNickLength = 16
	PingTimeout = 600
	PongTimeout = 600
[Options]
	DNS = no
	Ident = no
	PAM = no
	OperCanUseMode = yes
[Operator]
	Name = ${IRC_OPER.name}
	Password = ${IRC_OPER.password}
`,
    );
    return launch('ngircd', 'irc', [which('ngircd')!, '--nodaemon', '--config', conf], o);
  },
};
