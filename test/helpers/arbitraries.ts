/**
 * Hostile inputs for property tests (fast-check), shared by every decoder's tests: what a room
 * of students writing their own clients, or one of them on purpose, can put on the wire.
 *
 * `FUZZ_RUNS` scales every property: `npm test` runs a modest number, `npm run fuzz` sets
 * LAB93_FUZZ_RUNS to run many more (scripts/fuzz.ts). LAB93_FUZZ_SEED replays a failure.
 */
import fc from 'fast-check';

/**
 * Runs for a property whose `npm test` count is `fallback` (kept small so the suite stays quick).
 * LAB93_FUZZ_RUNS is the count for a typical property (400 in `npm test`); each property scales
 * by the same factor, so the costly ones (every byte boundary, python3) stay in proportion.
 */
export function fuzzRuns(fallback: number): number {
  const env = Number(process.env.LAB93_FUZZ_RUNS);
  return Number.isSafeInteger(env) && env > 0 ? Math.max(fallback, Math.round((env * fallback) / 400)) : fallback;
}

/** fast-check parameters for one property: its runs, and the seed to replay when one is given. */
export function fuzzParams<T = unknown>(fallbackRuns: number): fc.Parameters<T> {
  const seed = Number(process.env.LAB93_FUZZ_SEED);
  return { numRuns: fuzzRuns(fallbackRuns), ...(Number.isSafeInteger(seed) ? { seed } : {}) };
}

// ---- characters ---------------------------------------------------------------------------
/** One UTF-16 surrogate half, alone: valid in a JS string and a JSON `\u` escape, not Unicode text. */
export const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u));

/**
 * Characters that look like nothing or reorder what is around them: zero-width, joiners, BOM,
 * soft hyphen, fillers, bidi embeddings/overrides/isolates/marks, line and paragraph separators,
 * C0 and C1 controls (ESC included), NUL.
 */
export const INVISIBLE = [
  '\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u2060', '\ufeff', '\u00ad', '\u034f', '\u115f', '\u1160',
  '\u3164', '\uffa0', '\u2800', '\u180e', '\u061c', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e',
  '\u2066', '\u2067', '\u2068', '\u2069', '\u2028', '\u2029', '\u0000', '\u0007', '\u0008', '\t', '\r', '\u000b',
  '\u000c', '\u001b', '\u007f', '\u0085', '\u009b', '\u009d', '\ue000', '\u{f0000}', '\ufffe', '\uffff',
] as const;
export const invisibleChar = fc.constantFrom(...INVISIBLE);

/** Strings mixing ordinary text, astral characters, invisible/bidi/control characters and lone surrogates. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 3 }), invisibleChar, loneSurrogate, fc.constantFrom('😀', '\ud83d\ude00', 'é', 'e\u0301', "'", '"', '\\', '%', '\n')), { maxLength: 12 }).map((a) => a.join('')),
  fc.constantFrom('', ' ', 'lobby', 'alice', 'x'.repeat(33), 'é'.repeat(2049), '\ud800', '\udfff', 'a\ud800b', '\udc00\ud800', '__proto__', 'constructor'),
);

// ---- numbers -------------------------------------------------------------------------------
/** Numbers a validator may meet in a decoded object: non-finite, huge, negative zero, unsafe integers, fractions. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 1, -1, 0.5, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324, Infinity, -Infinity, NaN, 65535, 65536),
);

/** Number literals as JSON text may spell them, including ones JSON.parse turns into ±Infinity or 0. */
export const hostileNumberText = fc.oneof(
  hostileNumber.filter(Number.isFinite).map((n) => JSON.stringify(n)),
  fc.constantFrom('1e400', '-1e400', '1e-400', '9007199254740993', '123456789012345678901234567890', '-0', '0.0000000001', '1E+2'),
);

// ---- objects -------------------------------------------------------------------------------
/** Keys that reach into prototypes or shadow Object methods when code is careless. */
export const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'then'] as const;

/** An object built with own data properties, as JSON.parse builds them (`__proto__` stays a key). */
export function ownObject(entries: Array<[string, unknown]>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
  return o;
}

/** Any JSON-ish value (plus non-finite numbers and lone surrogates), with hostile keys. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.constantFrom(null, true, false, undefined),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(fc.oneof(hostileString, fc.constantFrom(...HOSTILE_KEYS)), tie('value')), { maxLength: 4 }).map(ownObject),
  ),
})).value;

/** A value nested `depth` levels deep (arrays or objects), for stack-depth limits. */
export function nested(depth: number, leaf: unknown = 1, kind: 'array' | 'object' = 'array'): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { a: v };
  return v;
}

/** Every field any packet has, client or peer: the fields a hostile object targets. */
export const PACKET_FIELDS = [
  'type', 'username', 'content', 'subject', 'uid', 'room', 'rooms', 'to', 'since', 'before', 'limit', 'data', 'client', 'quiet',
  'peer_id', 'name', 'version', 'port', 'have', 'users', 'gid', 'origin', 'seq', 'timestamp', 'sent', 'reason', 'code', 'message',
] as const;

export const CLIENT_TYPES = ['hello', 'message', 'join', 'leave', 'history', 'who', 'ping', 'pong', 'bye'] as const;
export const PEER_TYPES = ['peer-hello', 'peer-message', 'peer-synced', 'peer-have', 'peer-users', 'ping', 'pong', 'bye', 'error'] as const;

/** A plausible packet for one of `types`, then 0 to 4 fields replaced by hostile values or hostile keys added. */
export function hostilePacket(types: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const plausible: Record<string, fc.Arbitrary<unknown>> = {
    username: fc.constantFrom('alice', 'bob'), content: fc.constantFrom('hi', 'é😀'), room: fc.constantFrom('lobby', 'lab'),
    uid: fc.constantFrom('u1', 'u2'), peer_id: fc.constantFrom('abcd1234', 'peer-b'), origin: fc.constantFrom('abcd1234'),
    gid: fc.constantFrom('abcd1234:1'), seq: fc.constantFrom(1, 2), version: fc.constant(1), timestamp: fc.constant(1795300000.5),
    rooms: fc.constant(['lobby']), have: fc.constant({ abcd1234: 3 }), users: fc.constant([{ username: 'alice', rooms: ['lobby'] }]),
  };
  const base = fc.record(
    Object.fromEntries(PACKET_FIELDS.filter((f) => f !== 'type').map((f) => [f, plausible[f] ?? hostileValue])),
    { requiredKeys: [] },
  );
  return fc
    .tuple(
      types.length === 0 ? fc.constant(undefined) : fc.oneof(fc.constantFrom(...types), hostileValue, fc.constant(undefined)),
      base,
      fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PACKET_FIELDS), fc.constantFrom(...HOSTILE_KEYS)), hostileValue), { maxLength: 4 }),
    )
    .map(([type, fields, overrides]) => {
      const entries: Array<[string, unknown]> = Object.entries(fields);
      if (type !== undefined) entries.unshift(['type', type]);
      return ownObject([...entries, ...overrides]);
    });
}

// ---- bytes and lines -----------------------------------------------------------------------
export const anyBytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));

/** A JSON text for a hostile packet; lone surrogates come out as `\ud800` escapes, as JSON.stringify writes them. */
export function hostileJsonText(types: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    hostilePacket(types).map((o) => JSON.stringify(o) ?? 'null'),
    // Numbers JSON.parse turns into ±Infinity, unsafe integers or 0, in a field that wants an integer.
    fc.tuple(fc.constantFrom('since', 'limit', 'before', 'seq', 'port', 'timestamp', 'version'), hostileNumberText).map(([f, n]) => `{"type":"hello","username":"a","${f}":${n}}`),
    fc.integer({ min: 1, max: 3000 }).map((d) => `{"type":"ping","data":${'['.repeat(d)}${']'.repeat(d)}}`),
    fc.integer({ min: 1, max: 3000 }).map((d) => `{"type":"ping","data":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}`),
    fc.constantFrom(...HOSTILE_KEYS).map((k) => `{"${k}":{"type":"hello"},"type":"hello","username":"a"}`),
  );
}

/** Bytes mutated from a valid line: flipped, dropped, inserted, duplicated bytes. */
export function mutated(valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  const edit = fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('flip', 'drop', 'insert', 'dup'));
  return fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([b, edits]) => {
    let out = Buffer.from(b);
    for (const [at, byte, op] of edits) {
      const i = out.length === 0 ? 0 : at % out.length;
      if (op === 'flip' && out.length > 0) out[i] = out[i]! ^ (1 << (byte % 8));
      else if (op === 'drop') out = Buffer.concat([out.subarray(0, i), out.subarray(i + 1)]);
      else if (op === 'insert') out = Buffer.concat([out.subarray(0, i), Buffer.from([byte]), out.subarray(i)]);
      else out = Buffer.concat([out.subarray(0, i), out.subarray(i, i + 8), out.subarray(i)]);
    }
    return out;
  });
}

/** Cut points for splitting `length` bytes into reads (sorted, in range, possibly repeated: empty reads). */
export function cuts(maxCuts = 6): fc.Arbitrary<number[]> {
  return fc.array(fc.nat(), { maxLength: maxCuts });
}

/** `bytes` split at `points` (each taken modulo length + 1). */
export function splitAt(bytes: Buffer, points: number[]): Buffer[] {
  const at = points.map((p) => p % (bytes.length + 1)).sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let prev = 0;
  for (const p of at) {
    parts.push(Buffer.from(bytes.subarray(prev, p)));
    prev = p;
  }
  parts.push(Buffer.from(bytes.subarray(prev)));
  return parts;
}

// ---- Python literals -----------------------------------------------------------------------
/** Python's escape for one character, chosen among those that give it back. */
export function pyEscapes(ch: string): string[] {
  const cp = ch.codePointAt(0)!;
  const out = [`\\U${cp.toString(16).padStart(8, '0')}`];
  if (cp < 0x10000) out.push(`\\u${cp.toString(16).padStart(4, '0')}`);
  if (cp < 0x100) out.push(`\\x${cp.toString(16).padStart(2, '0')}`);
  if (cp < 0o1000) out.push(`\\${cp.toString(8)}`, `\\${cp.toString(8).padStart(3, '0')}`);
  const named: Record<string, string> = { '\\': '\\\\', "'": "\\'", '"': '\\"', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };
  if (named[ch]) out.push(named[ch]!);
  return out;
}
