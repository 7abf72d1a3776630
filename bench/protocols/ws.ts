/**
 * Lab-93 over the web client's WebSocket (`/ws` on --web PORT, src/web): one text message per
 * plain JSON packet. Spoken over the raw socket like every adapter here (no client library):
 * the upgrade request as the greeting, then RFC 6455 frames. Client frames must be masked; a
 * zero mask key is a valid key and leaves the payload as it is, so publishing costs no XOR.
 */
import { TOPIC, type ClientSpec, type ParseSink, type Parser, type ProtocolAdapter } from './types.js';

const prefix = (type: string): Buffer => Buffer.from(`{"type":"${type}"`);
const MESSAGE = prefix('message');
const ACK = prefix('ack');
const SYNCED = prefix('synced');
const PING = prefix('ping');
const ERROR = prefix('error');
const CONTENT = Buffer.from('"content":"');
const HEAD_END = Buffer.from('\r\n\r\n');

/** One masked text frame (mask key 0). */
export function wsText(text: string): Buffer {
  const body = Buffer.from(text);
  const n = body.length;
  const head = n < 126 ? Buffer.from([0x81, 0x80 | n]) : n < 65536 ? Buffer.from([0x81, 0x80 | 126, n >> 8, n & 0xff]) : Buffer.concat([Buffer.from([0x81, 0x80 | 127, 0, 0, 0, 0]), (() => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; })()]);
  return Buffer.concat([head, Buffer.alloc(4), body]);
}

const PONG = wsText(JSON.stringify({ type: 'pong' }));

const startsWith = (buf: Buffer, start: number, end: number, p: Buffer): boolean => {
  if (end - start < p.length) return false;
  for (let i = 0; i < p.length; i++) if (buf[start + i] !== p[i]) return false;
  return true;
};

/** Reads the 101 answer, then server frames (unmasked), calling `onText` per text message. */
class WsFrames implements Parser {
  private buf: Buffer = Buffer.alloc(0);
  private upgraded = false;

  constructor(
    private readonly onText: (buf: Buffer, start: number, end: number) => void,
    private readonly onError: (text: string) => void,
  ) {}

  feed(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (!this.upgraded) {
      const at = this.buf.indexOf(HEAD_END);
      // A copy: the worker reads into one shared buffer.
      if (at === -1) return void (this.buf = Buffer.from(this.buf));
      const status = this.buf.toString('latin1', 0, Math.min(at, 40));
      if (!status.startsWith('HTTP/1.1 101')) return this.onError(`upgrade refused: ${status.split('\r\n')[0]}`);
      this.upgraded = true;
      this.buf = this.buf.subarray(at + 4);
    }
    let off = 0;
    const b = this.buf;
    while (b.length - off >= 2) {
      const opcode = b[off]! & 0x0f;
      let len = b[off + 1]! & 0x7f;
      let head = 2;
      if (len === 126) {
        if (b.length - off < 4) break;
        len = b.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) {
        if (b.length - off < 10) break;
        len = b.readUInt32BE(off + 6);
        head = 10;
      }
      if (b.length - off < head + len) break;
      if (opcode === 1) this.onText(b, off + head, off + head + len);
      else if (opcode === 8) this.onError('the server closed the WebSocket');
      off += head + len;
    }
    // Keep the unfinished tail as a copy: the worker reuses its read buffer.
    this.buf = off === b.length ? Buffer.alloc(0) : Buffer.from(b.subarray(off));
  }
}

export const lab93Ws: ProtocolAdapter = {
  name: 'lab93-ws',
  greet(c: ClientSpec): Buffer {
    const hello = JSON.stringify({ type: 'hello', username: c.name, since: null, rooms: c.role === 'idle' ? [] : [c.room ?? TOPIC], client: 'lab93-bench' });
    // No Origin header: not a browser, so the origin check lets it through (src/web/origin.ts).
    const req = 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    return Buffer.concat([Buffer.from(req), wsText(hello)]);
  },
  parser(_c: ClientSpec, sink: ParseSink): Parser {
    return new WsFrames(
      (buf, start, end) => {
        if (startsWith(buf, start, end, MESSAGE)) {
          if (!sink.wantPayload) return sink.message(null);
          const at = buf.indexOf(CONTENT, start);
          sink.message(at === -1 || at >= end ? null : Buffer.from(buf.subarray(at + CONTENT.length, buf.indexOf(34, at + CONTENT.length))));
        } else if (startsWith(buf, start, end, ACK)) sink.ack(1);
        else if (startsWith(buf, start, end, SYNCED)) sink.ready();
        else if (startsWith(buf, start, end, PING)) sink.reply(PONG);
        else if (startsWith(buf, start, end, ERROR)) sink.error(buf.toString('utf8', start, end));
      },
      (text) => sink.error(text),
    );
  },
  publish(c: ClientSpec, seq: number, payload: string): Buffer {
    return wsText(JSON.stringify({ type: 'message', uid: `${c.name}-${seq}`, content: payload, room: c.room ?? TOPIC }));
  },
  probe: null,
};
