/**
 * IRC (RFC 2812) as ngircd speaks it. Senders become IRC operators and set user mode +F
 * ("relaxed flood protection"), without which ngircd handles 3 commands per read and adds a
 * second of penalty whenever more are waiting. The window probe is `PING :n`, answered in
 * order by `PONG`.
 */
import { Lines, startsWith } from './lines.js';
import { TOPIC, type ClientSpec, type ParseSink, type Parser, type ProtocolAdapter } from './types.js';

/** Must match the [Operator] block the bench writes into ngircd.conf. */
export const IRC_OPER = { name: 'bench', password: 'bench' };

const CHANNEL = `#${TOPIC}`;
const PING = Buffer.from('PING ');
const PRIVMSG = Buffer.from('PRIVMSG ');
const PONG = Buffer.from('PONG ');
/** Numeric errors, except 422 (no MOTD file), which ngircd sends to everyone. */
const ERRORS = /^(4(?!22)\d\d|5\d\d)$/;

/** Offset just after the prefix (":nick!user@host ") of a line, or start when it has none. */
function commandStart(buf: Buffer, start: number, end: number): number {
  if (buf[start] !== 0x3a) return start;
  const sp = buf.indexOf(32, start);
  return sp === -1 || sp >= end ? end : sp + 1;
}

export const irc: ProtocolAdapter = {
  name: 'irc',
  greet(c: ClientSpec): Buffer {
    return Buffer.from(`NICK ${c.name}\r\nUSER ${c.name} 0 * :${c.name}\r\n`);
  },
  parser(c: ClientSpec, sink: ParseSink): Parser {
    return new Lines((buf, start, end) => {
      const cmd = commandStart(buf, start, end);
      if (startsWith(buf, cmd, end, PRIVMSG)) {
        if (!sink.wantPayload) return sink.message(null);
        const colon = buf.indexOf(' :', cmd);
        sink.message(buf.subarray(colon + 2, end));
      } else if (startsWith(buf, cmd, end, PONG)) sink.ack(1);
      else if (startsWith(buf, start, end, PING)) sink.reply(Buffer.from(`PONG ${buf.toString('latin1', start + 5, end)}\r\n`));
      else {
        const line = buf.toString('latin1', start, end);
        const command = line.slice(cmd - start, line.indexOf(' ', cmd - start));
        if (command === '001') {
          // Registered: senders ask for operator status first, everyone else joins at once.
          if (c.role === 'sender') sink.reply(Buffer.from(`OPER ${IRC_OPER.name} ${IRC_OPER.password}\r\n`));
          else if (c.role === 'receiver') sink.reply(Buffer.from(`JOIN ${CHANNEL}\r\n`));
          else sink.ready();
        } else if (command === '381') sink.reply(Buffer.from(`MODE ${c.name} +F\r\nJOIN ${CHANNEL}\r\n`));
        else if (command === '366') sink.ready();
        else if (ERRORS.test(command) || command === 'ERROR') sink.error(line);
      }
    });
  },
  publish(_c: ClientSpec, _seq: number, payload: string): Buffer {
    return Buffer.from(`PRIVMSG ${CHANNEL} :${payload}\r\n`);
  },
  probe: () => Buffer.from('PING :w\r\n'),
};
