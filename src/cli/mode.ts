import { fstatSync } from 'node:fs';
import { UsageError, suggest } from './usage.js';

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

/**
 * Words on the command line that are neither a command nor a flag's value: a misspelt command
 * (`lab93 conect lab-pc`), or the original client's habit of naming the server without -a
 * (`lab93 -r -c lab-pc`). Null when there are none.
 */
export function strayWords(words: string[], o: Parameters<typeof chooseMode>[0], commands: readonly string[]): UsageError | null {
  if (words.length === 0) return null;
  const word = words[0]!;
  const shown = word.length > 40 ? `${word.slice(0, 40)}…` : word;
  const anyMode = o.repeater || o.broadcast || o.mode !== undefined || o.server || o.client;
  if (!anyMode) {
    const near = suggest(word, commands);
    return new UsageError(`unknown command '${shown}'${near ? ` (did you mean ${near}?)` : ': lab93 --help lists the commands'}`);
  }
  if (o.client) return new UsageError(`'${shown}' is not an option: name the server with -a HOST (lab93 -r -c -a ${shown})`);
  if (o.server) return new UsageError(`'${shown}' is not an option: -a ADDR chooses the address to listen on, -p PORT the port`);
  return new UsageError(`'${shown}' is not an option: broadcast mode finds its peers by itself (--peer HOST:PORT adds one by hand)`);
}

/**
 * Standard input carries data piped or redirected from a file. A terminal is not piped, nor is
 * /dev/null (a character device: what a service manager gives), nor a socket (what a parent
 * process gives its child by default).
 */
export function stdinIsPiped(fd = 0): boolean {
  try {
    const st = fstatSync(fd);
    return st.isFIFO() || st.isFile();
  } catch {
    return false;
  }
}

/**
 * `printf … | lab93 -b`: refused, with what to do instead. A peer that sent its lines and exited
 * would have reached nobody: broadcast mode has no server to confirm a message arrived, and the
 * lines would sit in the peer's own store until it runs again.
 */
export const BROADCAST_PIPE_REFUSAL =
  'piped input is not sent in broadcast mode: a peer exiting after its input would reach nobody (no server confirms delivery). ' +
  'Keep a peer running (lab93 -b) and pipe into it like into a server: ... | lab93 connect PEER-HOST:PORT (the port it shows); ' +
  'or add --headless to run a relay that ignores its input';
