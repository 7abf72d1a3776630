/**
 * Our messages not acknowledged yet, as the terminal shows them: the pending block above the
 * prompt (one row each, marked "(sending)" or "(queued)"), and the numbered list of `/outbox`.
 * Pure: the terminal decides when to draw.
 */
import type { ChatMessage, QueuedMessage } from '../backend.js';
import { formatMessage, type FormatOptions } from '../format.js';
import { truncate } from './width.js';

/** What one pending row looks like; `mark` is "sending" or "queued". */
export function pendingRow(q: QueuedMessage, me: string, mark: string, o: Omit<FormatOptions, 'width' | 'suffix' | 'highlight'>, columns: number): string {
  const firstLine = queuedAsMessage(q, me);
  firstLine.content = firstLine.content.split(/\r?\n/)[0]!;
  // Plain first, then cut to the width (minus the mark), then coloured: one row, whatever it holds.
  const suffix = ` (${mark})`;
  const plain = formatMessage(firstLine, { ...o, color: false });
  const row = truncate(plain, Math.max(10, columns - 1 - suffix.length)) + suffix;
  return o.color ? `\x1b[2m${row}\x1b[0m` : row;
}

/**
 * The pending block: the newest `max` queued messages, and a line counting the older ones.
 * Empty when nothing waits.
 */
export function pendingBlock(queue: QueuedMessage[], me: string, online: boolean, o: Omit<FormatOptions, 'width' | 'suffix' | 'highlight'>, columns: number, max: number): string[] {
  if (queue.length === 0) return [];
  const shown = queue.slice(-max);
  const rows: string[] = [];
  const hidden = queue.length - shown.length;
  if (hidden > 0) {
    const line = `· ${hidden} older message(s) queued too (/outbox lists them)`;
    rows.push(o.color ? `\x1b[2m${truncate(line, columns - 1)}\x1b[0m` : truncate(line, columns - 1));
  }
  for (const q of shown) rows.push(pendingRow(q, me, online ? 'sending' : 'queued', o, columns));
  return rows;
}

/** A queued message as a ChatMessage, for formatting (no id yet; its time is when it was typed). */
export function queuedAsMessage(q: QueuedMessage, me: string): ChatMessage {
  const m: ChatMessage = { key: `q:${q.uid}`, id: null, uid: q.uid, username: me, subject: q.subject, content: q.content, room: q.room, to: q.to, timestamp: q.created };
  if (q.action) m.action = true;
  return m;
}

/** `/outbox`: one numbered line per message, oldest first ("1. 13:02 #lobby alice: hi (queued)"). */
export function outboxListing(queue: QueuedMessage[], me: string, online: boolean, o: Omit<FormatOptions, 'suffix' | 'width'>): string[] {
  if (queue.length === 0) return ['· the outbox is empty: everything you sent is delivered'];
  const head = `· ${queue.length} message(s) not delivered yet${online ? '' : ' (offline)'}; /outbox drop <n> cancels one:`;
  return [head, ...queue.map((q, i) => `  ${i + 1}. ${formatMessage(queuedAsMessage(q, me), { ...o, currentRoom: '', suffix: q.sending ? ' (sending, cannot be cancelled)' : ' (queued)' })}`)];
}
