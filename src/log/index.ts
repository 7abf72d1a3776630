/**
 * Structured logging (pino). The server core takes a logger; each connection gets a child
 * (`conn`, `remote`, `user`). Message content is never logged at info level.
 *
 * Two formats (docs/operations.md, "Logs"): JSON lines, for services and scripts, and readable
 * lines for a person at a terminal (./pretty.ts). `auto` picks readable when the destination
 * is a terminal. Both write synchronously, so nothing logged before an exit is lost.
 */
import { isatty } from 'node:tty';
import pino, { type Logger, type Level } from 'pino';
import { PrettyFormatter, type LogFormat } from './pretty.js';

export type { Logger } from 'pino';
export type { LogFormat } from './pretty.js';

export interface LoggerOptions {
  level?: Level | 'silent';
  /** A file descriptor (2, standard error, by default) or a file path. */
  destination?: number | string;
  name?: string;
  /** `auto` (the default): readable on a terminal, JSON lines otherwise. */
  format?: LogFormat | 'auto';
}

/** The format `auto` means for this destination: readable only on a terminal. */
export function resolveLogFormat(format: LogFormat | 'auto' | undefined, destination: number | string = 2): LogFormat {
  if (format === 'json' || format === 'pretty') return format;
  return typeof destination === 'number' && isatty(destination) ? 'pretty' : 'json';
}

/** Colours only on a terminal that has them, and never with NO_COLOR (https://no-color.org). */
function colorFor(destination: number | string): boolean {
  if (typeof destination !== 'number' || !isatty(destination) || process.env.NO_COLOR) return false;
  const stream = destination === 1 ? process.stdout : destination === 2 ? process.stderr : null;
  return stream !== null && typeof stream.hasColors === 'function' && stream.hasColors();
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const destination = opts.destination ?? 2;
  const level = opts.level ?? 'info';
  const sink = pino.destination({ dest: destination, sync: true });
  const options = { name: opts.name ?? 'lab93', level, base: { pid: process.pid } };
  if (resolveLogFormat(opts.format, destination) === 'json') return pino(options, sink);
  const formatter = new PrettyFormatter({ color: colorFor(destination), verbose: level === 'debug' || level === 'trace' });
  return pino(options, {
    write(line: string) {
      const text = formatter.format(line);
      if (text) sink.write(text);
    },
  });
}

/** A logger that writes nothing, for tests and embedded use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
