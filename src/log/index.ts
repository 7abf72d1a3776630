/**
 * Structured logging (pino). The server core takes a logger; each connection gets a child
 * (`conn`, `remote`, `user`). Message content is never logged at info level.
 */
import pino, { type Logger, type Level } from 'pino';

export type { Logger } from 'pino';

export function createLogger(opts: { level?: Level | 'silent'; destination?: number | string; name?: string } = {}): Logger {
  return pino(
    { name: opts.name ?? 'lab93', level: opts.level ?? 'info', base: { pid: process.pid } },
    pino.destination({ dest: opts.destination ?? 2, sync: true }),
  );
}

/** A logger that writes nothing, for tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
