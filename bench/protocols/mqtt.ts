/**
 * MQTT 3.1.1 at QoS 0, as Mosquitto speaks it: CONNECT, SUBSCRIBE, PUBLISH, and PINGREQ as the
 * window probe (answered in order by PINGRESP).
 */
import { TOPIC, type ClientSpec, type ParseSink, type Parser, type ProtocolAdapter } from './types.js';

const CONNACK = 2;
const PUBLISH = 3;
const SUBACK = 9;
const PINGRESP = 13;

function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function packet(header: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([header, ...remainingLength(body.length)]), body]);
}

function str(s: string): Buffer {
  const b = Buffer.from(s);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

const TOPIC_BYTES = str(TOPIC);

/** Reads MQTT packets across chunk boundaries and calls `onPacket(type, buf, bodyStart, bodyEnd)`. */
class MqttParser implements Parser {
  private tail: Buffer | null = null;

  constructor(private readonly onPacket: (type: number, buf: Buffer, start: number, end: number) => void) {}

  feed(chunk: Buffer): void {
    let buf = chunk;
    if (this.tail !== null) {
      buf = Buffer.concat([this.tail, chunk]);
      this.tail = null;
    }
    let i = 0;
    while (i < buf.length) {
      let len = 0;
      let mult = 1;
      let j = i + 1;
      let complete = false;
      while (j < buf.length && j < i + 5) {
        const b = buf[j++]!;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || j + len > buf.length) break;
      this.onPacket(buf[i]! >> 4, buf, j, j + len);
      i = j + len;
    }
    if (i < buf.length) this.tail = Buffer.from(buf.subarray(i));
  }
}

export const mqtt: ProtocolAdapter = {
  name: 'mqtt',
  greet(c: ClientSpec): Buffer {
    // Protocol "MQTT" level 4 (3.1.1), clean session, keep-alive off.
    const header = Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 0])]);
    return packet(0x10, Buffer.concat([header, str(c.name)]));
  },
  parser(c: ClientSpec, sink: ParseSink): Parser {
    return new MqttParser((type, buf, start, end) => {
      switch (type) {
        case PUBLISH: {
          if (!sink.wantPayload) return sink.message(null);
          const topicLen = buf.readUInt16BE(start);
          sink.message(buf.subarray(start + 2 + topicLen, end));
          return;
        }
        case PINGRESP:
          return sink.ack(1);
        case CONNACK:
          if (buf[start + 1] !== 0) return sink.error(`CONNACK return code ${buf[start + 1]}`);
          if (c.role === 'receiver') sink.reply(packet(0x82, Buffer.concat([Buffer.from([0, 1]), TOPIC_BYTES, Buffer.from([0])])));
          else sink.ready();
          return;
        case SUBACK:
          if (buf[end - 1] === 0x80) return sink.error('SUBACK refused');
          return sink.ready();
        default:
          return;
      }
    });
  },
  publish(_c: ClientSpec, _seq: number, payload: string): Buffer {
    return packet(0x30, Buffer.concat([TOPIC_BYTES, Buffer.from(payload)]));
  },
  probe: () => Buffer.from([0xc0, 0]),
};
