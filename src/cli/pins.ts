/**
 * `lab93 pins list` and `lab93 pins forget KEY`: the certificates this user's client trusts on
 * first use (client/pins.ts), as ssh's `ssh-keygen -R host` for known_hosts.
 */
import { Command } from 'commander';
import { PinStore, PinsFileError, instanceKey, serverKey } from '../client/pins.js';
import { sanitizeLine } from '../client/sanitize.js';
import { DEFAULT_PORT } from '../protocol/limits.js';
import { UsageError, parseHostPort } from './usage.js';

/** "mdns:NAME" as it is; "host", "host:port" or "[v6]:port" as the key the client pins under. */
export function pinKeyOf(arg: string): string {
  if (arg.startsWith('mdns:')) return instanceKey(arg.slice(5));
  const { host, port } = parseHostPort(arg, DEFAULT_PORT);
  if (!host) throw new UsageError(`"${arg}" is not HOST[:PORT] or mdns:NAME`);
  return serverKey(host, port);
}

/** Runs `f` on the user's pins; a damaged pins file is a one-line error, exit status 2. */
function withPins<T>(f: (s: PinStore) => T): T {
  try {
    return f(new PinStore());
  } catch (err) {
    if (err instanceof PinsFileError) throw new UsageError(err.message);
    throw err;
  }
}

export function registerPinsCommand(program: Command): void {
  const pins = program.command('pins').description('certificates your client pinned on first use (TLS)');
  pins
    .command('list')
    .description('list the pinned servers and their SHA-256 fingerprints')
    .action(() => withPins((s) => {
      const list = s.list();
      if (list.length === 0) process.stdout.write(`no pins (${s.path})\n`);
      for (const p of list) process.stdout.write(`${sanitizeLine(p.key)}  ${p.fingerprint}  ${p.added}\n`);
    }));
  pins
    .command('forget')
    .description('forget a pinned certificate, so the next connection trusts the one presented (check its fingerprint!)')
    .argument('<server>', `HOST[:PORT] (port ${DEFAULT_PORT} unless given) or mdns:NAME as listed`)
    .action((arg: string) => withPins((s) => {
      const key = pinKeyOf(arg);
      if (!s.forget(key)) throw new UsageError(`no pin for ${sanitizeLine(key)} in ${s.path} (lab93 pins list shows them)`);
      process.stdout.write(`forgot the pin of ${sanitizeLine(key)}; the next connection pins the certificate it is shown\n`);
    }));
}
