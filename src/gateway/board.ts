/**
 * The classic board mapped onto the shared store and bus (docs/classic-board.md, "Where it
 * lives"): a POST is a room message in the lobby from `classic@<address>`, stored through the
 * group commit and only then answered and published; GET lists the lobby's room messages.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { MessageBus } from '../bus/types.js';
import { listEnd, listItem, listStart, type AnswerName } from '../protocol/classic.js';
import type { GroupCommit } from '../store/group-commit.js';
import type { MessageStore, StoredMessage } from '../store/types.js';
import type { ClassicOptions } from './config.js';
import { CLASSIC_PREFIX } from '../auth/names.js';

/** The board's own first message on a fresh database, as the original's table started. */
export const START_TEXT = 'Server has Started';
export const SYSTEM_USER = 'server';
/** Fixed uid, so two boards starting on one empty store store it once. */
export const START_UID = 'classic-board-started';
/** `classic@<address>`: reserved for the board, so no chat user or account can use it (src/auth/names.ts). */
export { CLASSIC_PREFIX };
/** A post that begins like a chat line (`alice: …`) could pass for one in the list. */
const LOOKS_LIKE_CHAT = /^\s*[^\s:]{1,64}:\s/u;
/** Bus origin of classic posts: no Lab-93 session has this id, so every chat user gets them. */
export const CLASSIC_ORIGIN = 'classic';

/**
 * A stored message as the text of its GET tuple: classic posts and the start message as they
 * are, chat messages as `name: text`, or `name: [subject] text` when they have a subject.
 * A classic post that begins like a chat line gets its author in front (`classic@10.0.0.7:
 * alice: …`), so a board user can never pass for a chat user, registered or not.
 * A `%` (possible only in chat messages) becomes the fullwidth `％`: board clients read an
 * answer up to its first `%`, and a bare one would cut the list short.
 */
export function boardText(m: StoredMessage): string {
  const classic = m.username.startsWith(CLASSIC_PREFIX);
  const text = (classic && !LOOKS_LIKE_CHAT.test(m.content)) || (m.username === SYSTEM_USER && m.uid === START_UID)
    ? m.content
    : m.subject ? `${m.username}: [${m.subject}] ${m.content}` : `${m.username}: ${m.content}`;
  return text.includes('%') ? text.replaceAll('%', '\uff05') : text;
}

export interface BoardDeps {
  store: MessageStore;
  committer: GroupCommit;
  bus: MessageBus;
  log: Logger;
  opts: Readonly<ClassicOptions>;
  now: () => number;
}

export class Board {
  /** Messages in the store (all rooms), kept current from the bus, for the maxMessages limit. */
  private stored = 0;
  /** Posts submitted and not yet committed: they count against the limit too. */
  private inflight = 0;
  private readonly unsubscribe: () => void;

  private constructor(private readonly d: BoardDeps, stored: number) {
    this.stored = stored;
    this.unsubscribe = d.bus.subscribe((ev) => {
      if (ev.kind === 'message') this.stored++;
    });
  }

  /** Opens the board; on an empty store it first stores "Server has Started" as message 1. */
  static async open(d: BoardDeps): Promise<Board> {
    const count = await d.store.count();
    const board = new Board(d, count);
    if (count === 0) {
      const r = await d.committer.submitAsync({
        uid: START_UID, username: SYSTEM_USER, room: d.opts.room, to: null, subject: null,
        content: START_TEXT, timestamp: d.now() / 1000, remote: null,
      });
      if (!r.duplicate) d.bus.publish({ kind: 'message', message: r.message, origin: CLASSIC_ORIGIN });
    }
    return board;
  }

  get messageCount(): number {
    return this.stored;
  }

  /** Stores a post; resolves to the answer's name once it is durable (or refused). */
  async post(text: string, address: string, remote: string): Promise<AnswerName> {
    const max = this.d.opts.maxMessages;
    if (max > 0 && this.stored + this.inflight >= max) return 'boardFull';
    this.inflight++;
    try {
      const r = await this.d.committer.submitAsync({
        uid: null, username: CLASSIC_PREFIX + address, room: this.d.opts.room, to: null, subject: null,
        content: text, timestamp: this.d.now() / 1000, remote,
      });
      this.inflight--;
      this.d.bus.publish({ kind: 'message', message: r.message, origin: CLASSIC_ORIGIN });
      this.d.log.info({ id: r.message.id, remote, bytes: Buffer.byteLength(text) }, 'classic post stored');
      return 'posted';
    } catch (err) {
      this.inflight--;
      this.d.log.error({ err, remote }, 'classic post could not be stored');
      return 'serverError';
    }
  }

  /**
   * GET's answer in pieces, page by page from the store, so a long board neither sits whole in
   * memory nor holds the event loop: other connections are served between pages. Lists the room
   * as it was when the GET began, oldest first: `GET<n>%` (`newest` = n) the newest n messages,
   * `GET%` the newest that fit the window (docs/classic-board.md, "The board beside a busy chat").
   */
  async *list(newest: number | null): AsyncGenerator<string> {
    const { store, opts } = this.d;
    const upTo = await store.lastId();
    const count = newest ?? (opts.window > 0 ? opts.window : null);
    let after = count === null ? 0 : await this.startAfter(count, upTo, newest === null ? opts.windowBytes : 0);
    let out = listStart;
    let first = true;
    for (;;) {
      const page = await store.page(opts.room, after, opts.pageSize);
      let done = page.length < opts.pageSize;
      for (const m of page) {
        if (m.id > upTo) {
          done = true;
          break;
        }
        out += listItem(m.id, boardText(m), first);
        first = false;
        after = m.id;
      }
      if (done) break;
      yield out;
      out = '';
      await nextTurn();
    }
    yield out + listEnd;
  }

  /**
   * The id after which the newest `n` room messages up to `upTo` begin; with `maxBytes`, fewer
   * when the answer would pass that many bytes (but never none, if there is one).
   */
  private async startAfter(n: number, upTo: number, maxBytes: number): Promise<number> {
    const { store, opts } = this.d;
    let before = upTo + 1;
    let left = n;
    let bytes = listStart.length + listEnd.length;
    let taken = 0;
    while (left > 0) {
      const want = Math.min(left, opts.pageSize);
      const rows = await store.history(opts.room, before, want);
      if (rows.length === 0) break;
      if (maxBytes > 0) {
        for (let i = rows.length - 1; i >= 0; i--) {
          const m = rows[i]!;
          // Which item carries the ", " does not change the sum: every one but the first does.
          bytes += Buffer.byteLength(listItem(m.id, boardText(m), taken === 0));
          if (taken > 0 && bytes > maxBytes) return m.id;
          taken++;
        }
      }
      before = rows[0]!.id;
      left -= rows.length;
      if (rows.length < want) break;
      await nextTurn();
    }
    return before - 1;
  }

  close(): void {
    this.unsubscribe();
  }
}
