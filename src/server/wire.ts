import type { MessagePacket } from '../protocol/packets.js';
import type { StoredMessage } from '../store/types.js';

/** A stored message as clients see it (the peer address stays on the server). */
export function toPacket(m: StoredMessage): MessagePacket {
  const p: MessagePacket = { type: 'message', id: m.id, uid: m.uid, username: m.username, subject: m.subject, content: m.content, room: m.room, to: m.to, timestamp: m.timestamp };
  if (m.action) p.action = true;
  return p;
}
