/**
 * The interactive chat: local history first, then the backlog marked as missed, then live
 * messages printed above the input line; slash commands; a prompt that shows the room, the
 * topic, and whether we are offline (and how many messages wait).
 * Talks only to a ChatBackend, so the repeater and the broadcast modes share it.
 */
import type { BackendState, ChatBackend, ChatMessage, QueuedMessage } from '../backend.js';
import { formatMessage, mentions, missedSeparator, type FormatOptions } from '../format.js';
import { sanitizeLine } from '../sanitize.js';
import { describeNetError } from '../wrong-server.js';
import { HELP_LINES, parseCommand, type Command } from './commands.js';
import { MissedTail } from './missed-tail.js';
import type { ChatUiOptions } from './options.js';
import { outboxListing, pendingBlock, queuedAsMessage } from './outbox-view.js';
import { Screen } from './screen.js';
import { wrapText } from './width.js';

/** The backlog may be huge after a long absence; the rest is in /history. */
const MAX_MISSED_SHOWN = 200;
/** Rooms listed by /rooms at most (a server may send more). */
const MAX_ROOMS_SHOWN = 200;
/** Rows of the pending block at most (the newest; a line counts the rest). */
const MAX_PENDING_ROWS = 5;
/** One bell per this much time at most: a flood of direct messages must not make the terminal ring on and on. */
const BELL_INTERVAL_MS = 2000;

export async function runTerminal(backend: ChatBackend, opts: ChatUiOptions): Promise<number> {
  const ui = new TerminalUi(backend, opts);
  return ui.run();
}

class TerminalUi {
  private readonly screen: Screen;
  private readonly color: boolean;
  private readonly bell: boolean;
  private room: string;
  private readonly rooms: string[];
  private topic: string | null = null;
  /** The backlog arriving: its newest MAX_MISSED_SHOWN and a count (the rest is in the local store). */
  private readonly missed = new MissedTail<ChatMessage>(MAX_MISSED_SHOWN);
  /** Backlogs shown so far: the first is what was missed while away, later ones waited out an outage. */
  private syncs = 0;
  /** Our messages waiting, as last shown (a refused one is printed from here once it is gone). */
  private waiting = new Map<string, QueuedMessage>();
  /** For a backend that cannot list its queue: what we sent and is not acknowledged yet. */
  private readonly ownQueue = new Map<string, QueuedMessage>();
  /** Messages that had to wait (typed offline, from last time, or cut off): "(delivered)" once acknowledged. */
  private readonly hadToWait = new Set<string>();
  private exitCode = 0;
  private lastBell = -Infinity;
  private work: Promise<void> = Promise.resolve();
  private readonly listeners: Array<[string, (...a: any[]) => void]> = [];

  constructor(
    private readonly backend: ChatBackend,
    private readonly opts: ChatUiOptions,
  ) {
    const input = opts.input ?? process.stdin;
    const output = opts.output ?? process.stdout;
    this.screen = new Screen(input, output);
    this.color = opts.color ?? (Boolean(output.isTTY) && !process.env.NO_COLOR);
    this.bell = opts.bell !== false;
    this.room = opts.room ?? 'lobby';
    this.rooms = [this.room];
  }

  private formatOptions(): FormatOptions {
    return {
      currentRoom: this.room, me: this.backend.username, color: this.color,
      ...(this.opts.timeZone !== undefined ? { timeZone: this.opts.timeZone } : {}),
    };
  }

  private fmt(m: ChatMessage, extra: { suffix?: string; highlight?: boolean } = {}): string {
    return formatMessage(m, { ...this.formatOptions(), width: this.screen.columns, ...extra });
  }

  /** A direct message to us, or our name in someone's room message. */
  private highlighted(m: ChatMessage): boolean {
    const me = this.backend.username;
    if (m.username === me) return false;
    return m.to === me || (m.to === null && mentions(m.content, me));
  }

  private ring(): void {
    const now = Date.now();
    if (!this.bell || now - this.lastBell < BELL_INTERVAL_MS) return;
    this.lastBell = now;
    this.screen.bell();
  }

  private dim(text: string): string {
    return this.color ? `\x1b[2m${text}\x1b[0m` : text;
  }

  /** A line of ours (status, command output), marked so it is not taken for a message; long ones wrap under the text. */
  private info(text: string): void {
    const rows = wrapText(text, this.screen.columns - 2, this.screen.columns - 2);
    this.screen.print(rows.map((r, i) => this.dim(`${i === 0 ? '·' : ' '} ${r}`)).join('\n'));
  }

  private promptText(): string {
    let p = `#${sanitizeLine(this.room)}`;
    if (this.topic !== null) p += ` [${sanitizeLine(this.topic)}]`;
    const state: BackendState = this.backend.state;
    const queued = this.backend.pendingCount();
    if (state !== 'online') {
      const tag = `(${state === 'connecting' ? 'connecting' : 'offline'}${queued > 0 ? `, ${queued} queued` : ''})`;
      p += ' ' + (this.color ? `\x1b[33m${tag}\x1b[0m` : tag);
    } else if (queued > 0) {
      p += ` (${queued} sending)`;
    }
    return `${p}> `;
  }

  private updatePrompt(): void {
    this.screen.setPrompt(this.promptText());
  }

  private queue(): QueuedMessage[] {
    return this.backend.queued ? this.backend.queued() : [...this.ownQueue.values()];
  }

  /** Redraws the pending block: what waits stays in sight, marked, until it is acknowledged. */
  private refreshPending(): void {
    const q = this.queue();
    this.waiting = new Map(q.map((x) => [x.uid, x]));
    const max = Math.max(1, Math.min(MAX_PENDING_ROWS, this.screen.rows - 4));
    this.screen.setPending(pendingBlock(q, this.backend.username, this.backend.state === 'online', this.formatOptions(), this.screen.columns, max));
  }

  private on(event: string, fn: (...a: any[]) => void): void {
    this.backend.on(event, fn);
    this.listeners.push([event, fn]);
  }

  private flushMissed(): void {
    const { count, newest: ms } = this.missed.take();
    if (count === 0) return;
    const lines = [this.dim(missedSeparator(count, this.syncs > 0))];
    if (count > ms.length) lines.push(this.dim(`   (${count - ms.length} older ones are in the local history; /history shows more)`));
    let ring = false;
    for (const m of ms) {
      const highlight = this.highlighted(m);
      ring ||= highlight;
      lines.push(this.fmt(m, { highlight }));
    }
    this.screen.print(lines.join('\n'));
    if (ring) this.ring();
  }

  async run(): Promise<number> {
    const b = this.backend;
    if (this.opts.title) this.screen.print(this.opts.title + this.dim('  (/help for commands)'));
    const recent = b.recent(this.opts.recentCount ?? 20);
    if (recent.length > 0) {
      this.screen.print([this.dim('── local history ──'), ...recent.map((m) => this.fmt(m))].join('\n'));
    }
    if (b.pendingCount() > 0) this.info(`${b.pendingCount()} message(s) from last time are queued and will be sent when connected`);
    for (const q of this.queue()) this.hadToWait.add(q.uid);

    this.on('message', (m: ChatMessage, info?: { missed?: boolean }) => {
      if (info?.missed) return this.missed.push(m);
      const highlight = this.highlighted(m);
      this.screen.print(this.fmt(m, { highlight }));
      if (highlight) this.ring();
    });
    this.on('synced', () => {
      this.flushMissed();
      this.syncs++;
    });
    this.on('acked', (uid: string, m: ChatMessage, info?: { recipientSeen?: boolean }) => {
      this.ownQueue.delete(uid);
      // The mark changes: from "(queued)" in the pending block to "(delivered)" in the chat.
      this.screen.print(this.fmt(m, this.hadToWait.delete(uid) ? { suffix: ' (delivered)' } : {}));
      if (info?.recipientSeen === false && m.to !== null) this.info(`nobody named '${sanitizeLine(m.to)}' has been here; it will wait for them`);
      this.refreshPending();
      this.updatePrompt();
    });
    this.on('failed', (uid: string) => {
      const q = this.waiting.get(uid) ?? this.ownQueue.get(uid);
      this.ownQueue.delete(uid);
      this.hadToWait.delete(uid);
      if (q) this.screen.print(this.fmt(queuedAsMessage(q, b.username), { suffix: ' (not sent)' }));
      this.refreshPending();
      this.updatePrompt();
    });
    this.on('presence', (p: { room: string; username: string; status: string }) => {
      const where = p.room === this.room ? '' : ` in #${sanitizeLine(p.room)}`;
      this.info(`${sanitizeLine(p.username)} is ${p.status === 'online' ? 'here' : 'gone'}${where}`);
    });
    this.on('state', (s: BackendState, detail?: string) => {
      if (s !== 'online') this.flushMissed();
      if (s === 'offline') for (const q of this.queue()) this.hadToWait.add(q.uid);
      // Broadcast mode has no server to be connected to (its backend says where it listens).
      if (s === 'online' && this.backend.kind !== 'broadcast') this.info('connected');
      else if (s === 'offline' && this.exitCode === 0) this.info(`offline${detail ? ` (${sanitizeLine(describeNetError(detail))})` : ''}; reconnecting by itself, messages you type are queued`);
      this.refreshPending();
      this.updatePrompt();
    });
    this.on('notice', (text: string) => this.info(sanitizeLine(String(text))));
    this.on('fatal', (reason: string) => {
      const left = b.pendingCount();
      this.info(`${sanitizeLine(reason)}; not reconnecting${left > 0 ? ` (${left} message(s) stay queued for this address)` : ''}`);
      this.exitCode = 1;
      this.screen.close();
    });

    const done = new Promise<void>((resolve) => this.screen.rl.once('close', () => resolve()));
    this.screen.rl.on('line', (line: string) => {
      this.screen.eraseEcho();
      this.work = this.work.then(() => this.handle(parseCommand(line))).catch((err: unknown) => this.info(`error: ${(err as Error).message}`));
    });
    this.screen.rl.on('SIGINT', () => {
      if (this.screen.rl.line.length > 0) this.screen.clearInput();
      else this.screen.close();
    });
    this.refreshPending();
    this.updatePrompt();
    await b.start();
    await done;
    await this.work;
    const left = b.pendingCount();
    for (const [e, fn] of this.listeners) b.off(e, fn);
    if (this.exitCode === 0) this.screen.print(left > 0 ? `· ${left} message(s) not delivered yet: they stay queued and are sent the next time you connect` : '· bye');
    await b.close();
    return this.exitCode;
  }

  private say(content: string, extra: { subject?: string | null; to?: string | null; action?: boolean } = {}): void {
    const subject = extra.subject !== undefined ? extra.subject : this.topic;
    const to = extra.to ?? null;
    const b = this.backend;
    const uid = b.send({ content, subject, room: this.room, to, ...(extra.action ? { action: true } : {}) });
    if (b.state !== 'online') this.hadToWait.add(uid);
    if (!b.queued) this.ownQueue.set(uid, { uid, content, subject, room: this.room, to, action: extra.action === true, created: Date.now() / 1000, sending: true });
    this.refreshPending();
    this.updatePrompt();
  }

  private async handle(c: Command): Promise<void> {
    const b = this.backend;
    switch (c.kind) {
      case 'empty':
        return;
      case 'say':
        return this.say(c.text);
      case 'subject':
        return this.say(c.text, { subject: c.subject });
      case 'msg':
        return this.say(c.text, { to: c.to });
      case 'me':
        // Broadcast peers do not carry the flag yet: sent anyway, it would arrive as plain text.
        if (b.kind !== 'repeater') return this.info('/me: broadcast mode does not carry action lines yet; nothing was sent');
        return this.say(c.text, { action: true });
      case 'topic':
        this.topic = c.subject;
        this.info(c.subject === null ? 'topic cleared' : `topic: ${sanitizeLine(c.subject)} (for the following messages; /topic alone clears it)`);
        return this.updatePrompt();
      case 'quit':
        return this.screen.close();
      case 'help':
        return this.screen.print(HELP_LINES.join('\n'));
      case 'usage':
        return this.info(c.message);
      case 'unknown':
        return this.info(`unknown command /${sanitizeLine(c.name)}: /help lists them`);
      case 'join': {
        await b.join(c.room);
        if (!this.rooms.includes(c.room)) this.rooms.push(c.room);
        this.room = c.room;
        this.info(b.state === 'online' ? `now in #${c.room}` : `now in #${c.room} (joined on the server once back online)`);
        return this.updatePrompt();
      }
      case 'leave': {
        const room = c.room ?? this.room;
        if (!this.rooms.includes(room)) return this.info(`you are not in #${sanitizeLine(room)}`);
        if (this.rooms.length === 1) return this.info(`#${room} is your only room: /join another one first`);
        await b.leave(room);
        this.rooms.splice(this.rooms.indexOf(room), 1);
        if (this.room === room) this.room = this.rooms[this.rooms.length - 1]!;
        this.info(`left #${room}; now in #${this.room}`);
        return this.updatePrompt();
      }
      case 'who': {
        const room = c.room ?? this.room;
        try {
          const users = await b.who(room);
          return this.info(`in #${sanitizeLine(room)}: ${users.length > 0 ? users.map(sanitizeLine).join(', ') : 'nobody'}`);
        } catch (err) {
          return this.info(`/who: ${(err as Error).message}`);
        }
      }
      case 'rooms':
        return this.listRooms();
      case 'nick':
        return this.nick(c.name);
      case 'outbox':
        return this.screen.print(outboxListing(this.queue(), b.username, b.state === 'online', this.formatOptions()).map((l, i) => (i === 0 ? this.dim(l) : l)).join('\n'));
      case 'outbox-drop':
        return this.dropQueued(c.n);
      case 'history': {
        const ms = await b.history(this.room, c.limit);
        const online = b.state === 'online';
        // Offline, what we typed here and is not sent yet belongs to the picture too.
        const queued = online ? [] : this.queue().filter((q) => q.to === null && q.room === this.room);
        if (ms.length === 0 && queued.length === 0) return this.info(`no messages in #${this.room} yet`);
        const lines = [this.dim(`── last ${ms.length} in #${this.room}${online ? '' : ' (local history, offline)'} ──`), ...ms.map((m) => this.fmt(m))];
        if (queued.length > 0) {
          lines.push(this.dim(`── ${queued.length} queued, sent when the server is back ──`));
          for (const q of queued) lines.push(this.fmt(queuedAsMessage(q, b.username), { suffix: ' (queued)' }));
        }
        lines.push(this.dim('──'));
        return this.screen.print(lines.join('\n'));
      }
      case 'scan': {
        if (!b.scan) return this.info(b.kind === 'repeater' ? '/scan belongs to broadcast mode: start `lab93 -b` to find peers on the LAN (here a server relays everything)' : '/scan is not available here');
        this.info('scanning the LAN…');
        const found = await b.scan();
        if (found.length === 0) return this.info('nothing found on the LAN');
        const now = Date.now();
        const rows = found.map((e) => [sanitizeLine(e.name), `${sanitizeLine(e.host)}:${e.port}`, e.mode, `seen ${ago(now - e.lastSeen)}`, e.connected ? 'connected' : 'not connected']);
        const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
        return this.screen.print(rows.map((r) => '  ' + r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n'));
      }
      case 'trust': {
        if (!b.trust) return this.info('/trust belongs to broadcast mode (`lab93 -b`)');
        return this.info(sanitizeLine(b.trust(c.name, c.number)));
      }
      case 'peers': {
        if (!b.peers) return this.info(b.kind === 'repeater' ? '/peers belongs to broadcast mode (`lab93 -b`); here /who lists the room' : '/peers is not available here');
        const ps = b.peers();
        if (ps.length === 0) return this.info('no peers connected');
        return this.screen.print(ps.map((p) => `  ${sanitizeLine(p.name)}${p.fingerprint ? `#${sanitizeLine(p.fingerprint)}` : ''}  ${sanitizeLine(p.address)}  ${p.users.map(sanitizeLine).join(', ')}${p.refused ? `  refused: ${sanitizeLine(p.refused)}` : ''}`).join('\n'));
      }
    }
  }

  private async listRooms(): Promise<void> {
    const b = this.backend;
    if (!b.listRooms) return this.info('/rooms: not available in broadcast mode; /who lists the people in this room');
    let list;
    try {
      list = await b.listRooms();
    } catch (err) {
      const e = err as Error & { code?: string };
      return this.info(e.code === 'unknown_type' ? '/rooms: this server does not know the rooms request (an older lab93?)' : `/rooms: ${e.message}`);
    }
    if (list.rooms.length === 0) return this.info('no rooms with people in them right now');
    const shown = list.rooms.slice(0, MAX_ROOMS_SHOWN);
    const more = list.more + list.rooms.length - shown.length;
    const names = shown.map((r) => `#${sanitizeLine(r.room)}`);
    const w = Math.max(...names.map((n) => n.length));
    const lines = [this.dim(`· ${list.rooms.length + list.more} room(s) with people in them:`)];
    shown.forEach((r, i) => lines.push(`  ${names[i]!.padEnd(w)}  ${r.users} ${r.users === 1 ? 'person' : 'people'}${this.rooms.includes(r.room) ? (r.room === this.room ? ' (you are here)' : ' (joined)') : ''}`));
    if (more > 0) lines.push(this.dim(`  and ${more} more`));
    this.screen.print(lines.join('\n'));
  }

  private nick(name: string): void {
    const b = this.backend;
    if (!b.rename) return this.info('/nick: not available in broadcast mode (the name is the peer\'s: restart with --name)');
    if (name === b.username) return this.info(`you are ${sanitizeLine(name)} already`);
    const waiting = b.pendingCount();
    if (waiting > 0) return this.info(`/nick: ${waiting} message(s) still wait to be sent as ${sanitizeLine(b.username)}; /outbox lists them (wait for them, or /outbox drop them)`);
    const old = b.username;
    b.rename(name);
    this.info(`${sanitizeLine(old)} is now ${sanitizeLine(name)}; reconnecting under the new name`);
    this.updatePrompt();
  }

  private dropQueued(n: number): void {
    const b = this.backend;
    const q = this.queue();
    if (!b.dropQueued) return this.info('/outbox drop: not available in broadcast mode (messages are stored at once)');
    const target = q[n - 1];
    if (!target) return this.info(q.length === 0 ? 'the outbox is empty' : `no message ${n} in the outbox: /outbox lists ${q.length}`);
    const r = b.dropQueued(target.uid);
    const what = `"${sanitizeLine(target.content.split(/\r?\n/)[0]!).slice(0, 40)}"`;
    if (r === 'sending') return this.info(`message ${n} (${what}) is on its way to the server already and cannot be taken back`);
    this.hadToWait.delete(target.uid);
    this.info(r === 'dropped' ? `dropped message ${n}: ${what}` : `message ${n} was delivered meanwhile`);
    this.refreshPending();
    this.updatePrompt();
  }
}

/** "just now", "12 s ago", "3 min ago": for /scan's last-seen column. */
function ago(ms: number): string {
  if (ms < 1500) return 'just now';
  if (ms < 90_000) return `${Math.round(ms / 1000)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}
