/**
 * The bare Node relay's protocol (bench/relay/node-relay.ts): every line goes to every other
 * connection, except lines starting with "?", which come back to their sender alone and serve
 * as the window probe.
 */
import { Lines } from './lines.js';
import type { ClientSpec, ParseSink, Parser, ProtocolAdapter } from './types.js';

const PROBE = Buffer.from('?\n');

export const relay: ProtocolAdapter = {
  name: 'relay',
  greet(): Buffer {
    return Buffer.alloc(0);
  },
  parser(_c: ClientSpec, sink: ParseSink): Parser {
    const lines = new Lines((buf, start, end) => {
      if (buf[start] === 0x3f /* ? */) sink.ack(1);
      else sink.message(sink.wantPayload ? buf.subarray(start, end) : null);
    });
    // Nothing to wait for: a connected socket is in the room.
    queueMicrotask(() => sink.ready());
    return lines;
  },
  publish(_c: ClientSpec, _seq: number, payload: string): Buffer {
    return Buffer.from(payload + '\n');
  },
  probe: () => PROBE,
};
