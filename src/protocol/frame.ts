/**
 * Frame codec of protocol v1 (docs/protocol.md, "Framing"): one frame per line, either the
 * base64 (standard alphabet, padded) of a UTF-8 JSON object, or, on a plain connection, the
 * JSON object itself. Pure functions.
 */
import { parsePyDict } from './pyliteral.js';
import { loneSurrogate, surrogateReason } from './text.js';

export type FrameMode = 'base64' | 'plain';

export type DecodeResult =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; code: 'bad_frame' | 'bad_packet'; message: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes one line (without its newline) into a JSON object. */
export function decodeFrame(line: Buffer, mode: FrameMode): DecodeResult {
  let bytes: Buffer = line;
  if (mode === 'base64') {
    const text = line.toString('latin1');
    // Node's decoder skips characters outside the alphabet; a frame is valid only if encoding
    // what was decoded gives back the very same text (canonical, padded). Stricter than the
    // regex it replaced and about half its cost per frame (bench/tools/base64-check.mjs).
    bytes = Buffer.from(text, 'base64');
    if (text.length === 0 || bytes.toString('base64') !== text) return { ok: false, code: 'bad_frame', message: 'not base64' };
  }
  let json: string;
  try {
    json = utf8.decode(bytes);
  } catch {
    return { ok: false, code: 'bad_frame', message: 'not UTF-8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    // The original Lab-93 client sent Python's str() of a dict; see pyliteral.ts. Its result is
    // flat and already checked (no surrogates), so it needs no walk.
    if (!json.startsWith('{')) return { ok: false, code: 'bad_frame', message: 'not JSON' };
    return parsePyDict(json);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, code: 'bad_packet', message: 'a packet must be a JSON object: one {"type":…} per line' };
  }
  // Strictly decoded UTF-8 holds no lone surrogate: only a \u escape can make one, so strings are
  // checked only when the text has one.
  const fault = check(value, 1, json.includes('\\u'));
  if (fault !== null) return { ok: false, code: 'bad_packet', message: fault.path.length > 0 ? `${shorten(fault.path.join(''))}: ${fault.why}` : fault.why };
  return { ok: true, value: value as Record<string, unknown> };
}

/**
 * Deepest nesting a frame may have. Packets are at most 3 levels deep; the limit exists because
 * echoing a ping's `data` (JSON.stringify, recursive) overflows the stack a few thousand levels
 * down, and a 64 KiB frame can nest 32,000 deep.
 */
export const MAX_JSON_DEPTH = 32;

interface Fault { path: string[]; why: string }

/** Finds nesting past MAX_JSON_DEPTH and (when `strings`) lone surrogates in keys and strings. */
function check(v: unknown, depth: number, strings: boolean): Fault | null {
  if (typeof v === 'string') {
    const unit = strings ? loneSurrogate(v) : -1;
    return unit === -1 ? null : { path: [], why: surrogateReason(unit) };
  }
  if (v === null || typeof v !== 'object') return null;
  if (depth > MAX_JSON_DEPTH) return { path: [], why: `nested deeper than ${MAX_JSON_DEPTH} levels` };
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const f = check(v[i], depth + 1, strings);
      if (f !== null) {
        f.path.unshift(`[${i}]`);
        return f;
      }
    }
    return null;
  }
  for (const k of Object.keys(v)) {
    const unit = strings ? loneSurrogate(k) : -1;
    const f = unit !== -1 ? { path: [], why: `a key ${surrogateReason(unit)}` } : check((v as Record<string, unknown>)[k], depth + 1, strings);
    if (f !== null) {
      f.path.unshift(fieldName(k, depth));
      return f;
    }
  }
  return null;
}

function shorten(path: string): string {
  return path.length > 60 ? path.slice(0, 60) + '…' : path;
}

/** `content`, `.a` below the top, or a quoted name when the key is not a plain word (it may be anything). */
function fieldName(k: string, depth: number): string {
  const plain = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/.test(k);
  const name = plain ? k : JSON.stringify(k.slice(0, 40)).replace(/\\u[dD][89a-fA-F][0-9a-fA-F]{2}/g, '?');
  return depth === 1 ? name : plain ? '.' + name : `[${name}]`;
}

/** Encodes a packet as one frame line, newline included. */
export function encodeFrame(packet: object, mode: FrameMode): Buffer {
  const json = JSON.stringify(packet);
  if (mode === 'plain') return Buffer.from(json + '\n', 'utf8');
  const raw = Buffer.from(json, 'utf8');
  return Buffer.from(raw.toString('base64') + '\n', 'latin1');
}

/**
 * A packet encoded lazily once per mode: fan-out sends the same bytes to every receiver,
 * so a relayed message is serialised at most twice, whatever the number of receivers.
 */
export class EncodedPacket {
  private b64?: Buffer;
  private plain?: Buffer;
  constructor(readonly packet: object) {}
  frame(mode: FrameMode): Buffer {
    if (mode === 'plain') return (this.plain ??= encodeFrame(this.packet, 'plain'));
    if (this.b64 === undefined) {
      const json = this.plain ? this.plain.subarray(0, this.plain.length - 1) : Buffer.from(JSON.stringify(this.packet), 'utf8');
      this.b64 = Buffer.from(json.toString('base64') + '\n', 'latin1');
    }
    return this.b64;
  }
}
