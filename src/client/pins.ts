/**
 * The client's certificate pins: trust on first use, as ssh's known_hosts (docs/client.md,
 * "TLS"). The first TLS connection to a server whose certificate no CA vouches for records the
 * certificate's SHA-256 fingerprint under the address dialled (`host:port`) and, for a server
 * found by mDNS, under its announced name (`mdns:<instance>`); later connections must present
 * the same certificate. `lab93 pins forget KEY` removes one.
 *
 * One JSON file, 0600 in a 0700 folder, rewritten whole and atomically (writePrivateFile), and
 * read afresh on every lookup so that two clients of the same user see each other's pins. A
 * file that cannot be read is an error, never "no pins": treating it as empty would silently
 * trust whatever answers next.
 */
import { readFileSync } from 'node:fs';
import { pinsPath, writePrivateFile } from '../config/paths.js';
import { normalizeFingerprint } from '../net/tls.js';

export interface Pin {
  fingerprint: string;
  /** ISO time it was pinned. */
  added: string;
}

interface PinFile {
  version: 1;
  servers: Record<string, Pin>;
}

/** The pin key of an address dialled: `host:port`, `[v6]:port`, host names in lower case. */
export function serverKey(host: string, port: number): string {
  const h = host.toLowerCase();
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`;
}

/** The pin key of a server found by mDNS, by the name it announces. */
export function instanceKey(instance: string): string {
  return `mdns:${instance}`;
}

export class PinsFileError extends Error {}

export class PinStore {
  constructor(readonly path: string = pinsPath(), private readonly now: () => Date = () => new Date()) {}

  private read(): PinFile {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, servers: Object.create(null) as Record<string, Pin> };
      throw new PinsFileError(`cannot read the pins file ${this.path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      const v = JSON.parse(text) as PinFile;
      if (v === null || typeof v !== 'object' || typeof v.servers !== 'object' || v.servers === null) throw new Error('no "servers" object');
      const servers: Record<string, Pin> = Object.create(null);
      for (const [k, p] of Object.entries(v.servers)) {
        const fp = typeof p?.fingerprint === 'string' ? normalizeFingerprint(p.fingerprint) : null;
        if (fp === null) throw new Error(`the pin of ${k} is not a SHA-256 fingerprint`);
        servers[k] = { fingerprint: fp, added: typeof p.added === 'string' ? p.added : '' };
      }
      return { version: 1, servers };
    } catch (err) {
      throw new PinsFileError(`the pins file ${this.path} is damaged (${(err as Error).message}); fix it or remove it (every server is then trusted anew on first use)`);
    }
  }

  private write(f: PinFile): void {
    writePrivateFile(this.path, JSON.stringify(f, null, 1) + '\n');
  }

  get(key: string): Pin | null {
    return this.read().servers[key] ?? null;
  }

  /** Pins `fingerprint` under each key (replacing what was there: only after the user said so). */
  set(keys: string[], fingerprint: string): void {
    const f = this.read();
    const added = this.now().toISOString();
    for (const k of keys) f.servers[k] = { fingerprint, added };
    this.write(f);
  }

  /** Removes a pin; false when there was none under that key. */
  forget(key: string): boolean {
    const f = this.read();
    if (!(key in f.servers)) return false;
    delete f.servers[key];
    this.write(f);
    return true;
  }

  list(): Array<{ key: string } & Pin> {
    return Object.entries(this.read().servers).map(([key, p]) => ({ key, ...p })).sort((a, b) => a.key.localeCompare(b.key));
  }
}
