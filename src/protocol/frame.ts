/**
 * Frame codec of protocol v1 (docs/protocol.md, "Framing"): one frame per line, either the
 * base64 (standard alphabet, padded) of a UTF-8 JSON object, or, on a plain connection, the
 * JSON object itself. Pure functions.
 */
import { parsePyDict } from './pyliteral.js';

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
    value = parseSeedDict(json);
    if (value === undefined) return { ok: false, code: 'bad_frame', message: 'not JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, code: 'bad_packet', message: 'a packet must be a JSON object' };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** The original Lab-93 client sent Python's str() of a dict; see pyliteral.ts. */
function parseSeedDict(text: string): unknown {
  return text.startsWith('{') ? parsePyDict(text) : undefined;
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
