/**
 * The NATS client protocol (text): INFO, CONNECT, SUB, PUB, MSG, PING/PONG. PING is both the
 * handshake's end (its PONG comes after the server processed CONNECT and SUB) and the window
 * probe. Echo is off, so a sender does not get its own messages back.
 */
import { startsWith } from './lines.js';
import { TOPIC, type ClientSpec, type ParseSink, type Parser, type ProtocolAdapter } from './types.js';

const MSG = Buffer.from('MSG ');
const PONG = Buffer.from('PONG');
const PING = Buffer.from('PING');
const ERR = Buffer.from('-ERR');

/** Lines, except that a MSG line is followed by a payload of the size it names. */
class NatsParser implements Parser {
  private tail: Buffer | null = null;
  private handshakeDone = false;

  constructor(private readonly sink: ParseSink) {}

  feed(chunk: Buffer): void {
    let buf = chunk;
    if (this.tail !== null) {
      buf = Buffer.concat([this.tail, chunk]);
      this.tail = null;
    }
    let i = 0;
    for (;;) {
      const nl = buf.indexOf(10, i);
      if (nl === -1) break;
      const end = buf[nl - 1] === 13 ? nl - 1 : nl;
      if (startsWith(buf, i, end, MSG)) {
        // "MSG <subject> <sid> [reply-to] <#bytes>": the size is the last field.
        const sp = buf.lastIndexOf(32, end - 1);
        const size = Number(buf.toString('latin1', sp + 1, end));
        const payloadEnd = nl + 1 + size;
        if (payloadEnd + 2 > buf.length) break;
        this.sink.message(this.sink.wantPayload ? buf.subarray(nl + 1, payloadEnd) : null);
        i = payloadEnd + 2;
        continue;
      }
      if (startsWith(buf, i, end, PONG)) {
        if (this.handshakeDone) this.sink.ack(1);
        else {
          this.handshakeDone = true;
          this.sink.ready();
        }
      } else if (startsWith(buf, i, end, PING)) this.sink.reply(Buffer.from('PONG\r\n'));
      else if (startsWith(buf, i, end, ERR)) this.sink.error(buf.toString('latin1', i, end));
      i = nl + 1;
    }
    if (i < buf.length) this.tail = Buffer.from(buf.subarray(i));
  }
}

export const nats: ProtocolAdapter = {
  name: 'nats',
  greet(c: ClientSpec): Buffer {
    const connect = JSON.stringify({ verbose: false, pedantic: false, echo: false, name: c.name, lang: 'raw', version: '0', protocol: 1 });
    const sub = c.role === 'receiver' ? `SUB ${TOPIC} 1\r\n` : '';
    return Buffer.from(`CONNECT ${connect}\r\n${sub}PING\r\n`);
  },
  parser(_c: ClientSpec, sink: ParseSink): Parser {
    return new NatsParser(sink);
  },
  publish(_c: ClientSpec, _seq: number, payload: string): Buffer {
    return Buffer.from(`PUB ${TOPIC} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`);
  },
  probe: () => Buffer.from('PING\r\n'),
};
