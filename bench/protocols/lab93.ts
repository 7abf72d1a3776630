/**
 * Lab-93 protocol v1 (docs/protocol.md): base64 JSON frames, one per line. Received frames are
 * told apart by the base64 of their first 12 bytes (`{"type":"ack` and so on), which is the
 * same whatever follows, so counting needs no decoding; payloads are decoded only while
 * latency is measured.
 */
import { Lines, startsWith } from './lines.js';
import { TOPIC, type ClientSpec, type ParseSink, type Parser, type ProtocolAdapter } from './types.js';

const prefix = (type: string): Buffer => {
  const head = `{"type":"${type}`.slice(0, 12);
  return Buffer.from(Buffer.from(head).toString('base64'));
};
const MESSAGE = prefix('message');
const ACK = prefix('ack');
const SYNCED = prefix('synced');
const PING = prefix('ping');
const ERROR = prefix('error');

const frame = (packet: object): Buffer => Buffer.from(Buffer.from(JSON.stringify(packet)).toString('base64') + '\n');
const PONG = frame({ type: 'pong' });
const CONTENT = Buffer.from('"content":"');

export const lab93: ProtocolAdapter = {
  name: 'lab93',
  greet(c: ClientSpec): Buffer {
    // Idle connections join no room: each join would send presence to everyone in it.
    return frame({ type: 'hello', username: c.name, since: null, rooms: c.role === 'idle' ? [] : [c.room ?? TOPIC], client: 'lab93-bench' });
  },
  parser(_c: ClientSpec, sink: ParseSink): Parser {
    return new Lines((buf, start, end) => {
      if (startsWith(buf, start, end, MESSAGE)) {
        if (!sink.wantPayload) return sink.message(null);
        // The payload is ASCII without quotes or escapes: find it in the decoded JSON rather
        // than parse it, which would make the generator the slowest part of a latency run.
        const json = Buffer.from(buf.toString('latin1', start, end), 'base64');
        const at = json.indexOf(CONTENT);
        sink.message(at === -1 ? null : json.subarray(at + CONTENT.length, json.indexOf(34, at + CONTENT.length)));
      } else if (startsWith(buf, start, end, ACK)) sink.ack(1);
      else if (startsWith(buf, start, end, SYNCED)) sink.ready();
      else if (startsWith(buf, start, end, PING)) sink.reply(PONG);
      else if (startsWith(buf, start, end, ERROR)) sink.error(Buffer.from(buf.toString('latin1', start, end), 'base64').toString('utf8'));
    });
  },
  publish(c: ClientSpec, seq: number, payload: string): Buffer {
    return frame({ type: 'message', uid: `${c.name}-${seq}`, content: payload, room: c.room ?? TOPIC });
  },
  probe: null,
};

/** The same protocol inside TLS, on the same port (issue 9: the TLS fan-out row beside the plaintext one). */
export const lab93Tls: ProtocolAdapter = { ...lab93, name: 'lab93-tls', tls: true };
