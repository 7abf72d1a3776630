import type { MessagePacket } from '../protocol/packets.js';
import type { StoredMessage } from '../store/types.js';

/** A stored message as clients see it (the peer address and the recipient's account flag stay on the server). */
export function toPacket(m: StoredMessage): MessagePacket {
  const p: MessagePacket = { type: 'message', id: m.id, uid: m.uid, username: m.username, subject: m.subject, content: m.content, room: m.room, to: m.to, timestamp: m.timestamp, verified: m.verified === true };
  if (m.action) p.action = true;
  return p;
}
