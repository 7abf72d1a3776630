/**
 * Regression vectors (test/fixtures/fuzz/*.json): bytes that once crashed or fooled a decoder,
 * replayed against every decoder by test/property/regressions.test.ts and against a real server
 * by test/integration/fuzz-net.test.ts. `npm run fuzz` adds the crashes it finds.
 *
 * A vector: { decoder, bytes (base64), mode?, expect?, reset?, text?, found }.
 * - decoder: the one that failed ("frame", "pyliteral", "client-packet", "peer-packet",
 *   "line-splitter", "classic", "sniff", or "server" for a whole-process crash over TCP);
 * - bytes: one line without its newline (or a byte stream for the splitters and "server");
 * - mode: the frame mode it arrives in; expect: the error code the server answers with;
 * - reset: over TCP, the client resets the connection once the answer arrives.
 */
import { AssertionError } from 'node:assert';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ClassicSplitter, parseRequest } from '../../src/protocol/classic.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { decodeFrame, type FrameMode } from '../../src/protocol/frame.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { LineSplitter } from '../../src/protocol/line-splitter.js';
import { decodeClientPacket } from '../../src/protocol/packets.js';
import { parsePyDict } from '../../src/protocol/pyliteral.js';
import { sniff } from '../../src/protocol/sniff.js';
import { parsePeerPacket } from '../../src/peer/packets.js';

export const VECTOR_DIR = new URL('../fixtures/fuzz/', import.meta.url).pathname;

export interface FuzzVector {
  name: string;
  decoder: string;
  bytes: Buffer;
  mode?: FrameMode;
  expect?: string;
  /** Replay over TCP: reset the connection (RST) once the first answer arrives. */
  reset?: boolean;
  found: string;
}

export function loadVectors(): FuzzVector[] {
  return readdirSync(VECTOR_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const j = JSON.parse(readFileSync(join(VECTOR_DIR, f), 'utf8')) as Record<string, unknown>;
      const v: FuzzVector = { name: f.slice(0, -5), decoder: String(j.decoder), bytes: Buffer.from(String(j.bytes), 'base64'), found: String(j.found ?? '') };
      if (j.mode === 'plain' || j.mode === 'base64') v.mode = j.mode;
      if (typeof j.expect === 'string') v.expect = j.expect;
      if (j.reset === true) v.reset = true;
      return v;
    });
}

/**
 * Saves a new vector (named after its decoder and a hash of its bytes, so the same crash is
 * saved once); returns its file name.
 */
export function saveVector(decoder: string, bytes: Buffer, found: string, extra: { mode?: FrameMode; expect?: string } = {}): string {
  mkdirSync(VECTOR_DIR, { recursive: true });
  const name = `${decoder}-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}.json`;
  const text = bytes.toString('utf8');
  const readable = Buffer.from(text, 'utf8').equals(bytes) && bytes.length <= 2000 ? { text } : {};
  writeFileSync(join(VECTOR_DIR, name), JSON.stringify({ decoder, bytes: bytes.toString('base64'), ...readable, ...extra, found }, null, 2) + '\n');
  return name;
}

/** What each decoder made of some bytes (for messages); throws the first exception a decoder let out. */
export function replayAllDecoders(bytes: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  out.sniff = sniff(bytes);
  const lines = new LineSplitter(DEFAULT_LIMITS.maxFrameBytes);
  const r = lines.push(bytes);
  const oneByOne = new LineSplitter(DEFAULT_LIMITS.maxFrameBytes);
  for (const b of bytes) oneByOne.push(Buffer.from([b]));
  out['line-splitter'] = r.ok ? `${r.lines.length} lines` : r.error;
  for (const mode of ['plain', 'base64'] as const) {
    const d = decodeFrame(bytes, mode);
    out[`frame-${mode}`] = d.ok ? 'ok' : d.code;
    if (!d.ok) continue;
    const p = decodeClientPacket(d.value, DEFAULT_LIMITS);
    out[`client-packet-${mode}`] = p.ok ? p.packet.type : p.error.code;
    try {
      out[`peer-packet-${mode}`] = parsePeerPacket(d.value, DEFAULT_LIMITS).type;
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      out[`peer-packet-${mode}`] = err.code;
    }
  }
  const py = parsePyDict(bytes.toString('utf8'));
  out.pyliteral = py.ok ? 'ok' : py.code;
  const classic = new ClassicSplitter();
  const c = classic.push(bytes);
  out.classic = [...c.requests.map((q) => parseRequest(q).type), ...(c.overloaded ? ['overload'] : [])].join(',');
  out['classic-request'] = parseRequest(bytes).type;
  return out;
}

/**
 * fc.assert, plus: when the property fails because the code under test THREW (not because an
 * assertion failed) and LAB93_FUZZ_SAVE is set (`npm run fuzz`), the shrunk counterexample is
 * saved as a regression vector through `toVector`.
 */
export function checkProperty<Ts>(prop: fc.IProperty<Ts>, params: fc.Parameters<Ts>, toVector?: (counterexample: Ts) => { decoder: string; bytes: Buffer; mode?: FrameMode }): void {
  const details = fc.check(prop, params);
  if (!details.failed) return;
  const err = details.errorInstance;
  if (toVector !== undefined && details.counterexample !== null && !(err instanceof AssertionError) && process.env.LAB93_FUZZ_SAVE) {
    const v = toVector(details.counterexample);
    const file = saveVector(v.decoder, v.bytes, `fast-check (seed ${details.seed}): ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, v.mode ? { mode: v.mode } : {});
    console.error(`saved a new regression vector: test/fixtures/fuzz/${file}`);
  }
  throw new Error(fc.defaultReportMessage(details) ?? 'property failed');
}
