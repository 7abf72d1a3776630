/**
 * The interactive chat: local history first, then the backlog marked as missed, then live
 * messages printed above the input line; slash commands; a prompt that shows the room, the
 * topic, and whether we are offline (and how many messages wait).
 * Talks only to a ChatBackend, so the repeater and the broadcast modes share it.
 */
import type { BackendState, ChatBackend, ChatMessage } from '../backend.js';
import { formatMessage, missedSeparator } from '../format.js';
import { sanitizeLine } from '../sanitize.js';
import { HELP_LINES, parseCommand, type Command } from './commands.js';
import { MissedTail } from './missed-tail.js';
import type { ChatUiOptions } from './options.js';
import { Screen } from './screen.js';

/** The backlog may be huge after a long absence; the rest is in /history. */
const MAX_MISSED_SHOWN = 200;

export async function runTerminal(backend: ChatBackend, opts: ChatUiOptions): Promise<number> {
  const ui = new TerminalUi(backend, opts);
  return ui.run();
}

class TerminalUi {
  private readonly screen: Screen;
  private readonly color: boolean;
  private room: string;
  private readonly rooms: string[];
  private topic: string | null = null;
  /** The backlog arriving: its newest MAX_MISSED_SHOWN and a count (the rest is in the local store). */
  private readonly missed = new MissedTail<ChatMessage>(MAX_MISSED_SHOWN);
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
    this.room = opts.room ?? 'lobby';
    this.rooms = [this.room];
  }

  private fmt(m: ChatMessage, suffix?: string): string {
    return formatMessage(m, {
      currentRoom: this.room, me: this.backend.username, color: this.color,
      ...(suffix !== undefined ? { suffix } : {}), ...(this.opts.timeZone !== undefined ? { timeZone: this.opts.timeZone } : {}),
    });
  }

  private dim(text: string): string {
    return this.color ? `\x1b[2m${text}\x1b[0m` : text;
  }

  /** A line of ours (status, command output), marked so it is not taken for a message. */
  private info(text: string): void {
    this.screen.print(this.dim(`· ${text}`));
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

  private on(event: string, fn: (...a: any[]) => void): void {
    this.backend.on(event, fn);
    this.listeners.push([event, fn]);
  }

  private flushMissed(): void {
    const { count, newest: ms } = this.missed.take();
    if (count === 0) return;
    const lines = [this.dim(missedSeparator(count))];
    if (count > ms.length) lines.push(this.dim(`   (${count - ms.length} older ones are in the local history; /history shows more)`));
    for (const m of ms) lines.push(this.fmt(m));
    this.screen.print(lines.join('\n'));
  }

  async run(): Promise<number> {
    const b = this.backend;
    if (this.opts.title) this.screen.print(this.opts.title + this.dim('  (/help for commands)'));
    const recent = b.recent(this.opts.recentCount ?? 20);
    if (recent.length > 0) {
      this.screen.print([this.dim('── local history ──'), ...recent.map((m) => this.fmt(m))].join('\n'));
    }
    if (b.pendingCount() > 0) this.info(`${b.pendingCount()} message(s) from last time are queued and will be sent when connected`);

    this.on('message', (m: ChatMessage, info?: { missed?: boolean }) => {
      if (info?.missed) this.missed.push(m);
      else this.screen.print(this.fmt(m));
    });
    this.on('synced', () => this.flushMissed());
    this.on('acked', () => this.updatePrompt());
    this.on('failed', () => this.updatePrompt());
    this.on('presence', (p: { room: string; username: string; status: string }) => {
      const where = p.room === this.room ? '' : ` in #${sanitizeLine(p.room)}`;
      this.info(`${sanitizeLine(p.username)} is ${p.status === 'online' ? 'here' : 'gone'}${where}`);
    });
    this.on('state', (s: BackendState, detail?: string) => {
      if (s !== 'online') this.flushMissed();
      // Broadcast mode has no server to be connected to (its backend says where it listens).
      if (s === 'online' && this.backend.kind !== 'broadcast') this.info('connected');
      else if (s === 'offline') this.info(`offline${detail ? ` (${sanitizeLine(detail)})` : ''}; reconnecting by itself, messages you type are queued`);
      this.updatePrompt();
    });
    this.on('notice', (text: string) => this.info(sanitizeLine(String(text))));

    const done = new Promise<void>((resolve) => this.screen.rl.once('close', () => resolve()));
    this.screen.rl.on('line', (line: string) => {
      this.screen.eraseEcho();
      this.work = this.work.then(() => this.handle(parseCommand(line))).catch((err: unknown) => this.info(`error: ${(err as Error).message}`));
    });
    this.screen.rl.on('SIGINT', () => {
      if (this.screen.rl.line.length > 0) this.screen.clearInput();
      else this.screen.close();
    });
    this.updatePrompt();
    await b.start();
    await done;
    await this.work;
    const left = b.pendingCount();
    for (const [e, fn] of this.listeners) b.off(e, fn);
    this.screen.print(left > 0 ? `· ${left} message(s) not delivered yet: they stay queued and are sent the next time you connect` : '· bye');
    await b.close();
    return 0;
  }

  private say(content: string, extra: { subject?: string | null; to?: string | null } = {}): void {
    const subject = extra.subject !== undefined ? extra.subject : this.topic;
    const to = extra.to ?? null;
    const b = this.backend;
    b.send({ content, subject, room: this.room, to });
    const offline = b.state !== 'online';
    const m: ChatMessage = { key: '', id: null, uid: null, username: b.username, subject, content, room: this.room, to, timestamp: Date.now() / 1000 };
    this.screen.print(this.fmt(m, offline ? this.dim(' (queued)') : ''));
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
        this.info(`unknown command /${sanitizeLine(c.name)}`);
        return this.screen.print(HELP_LINES.join('\n'));
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
      case 'history': {
        const ms = await b.history(this.room, c.limit);
        if (ms.length === 0) return this.info(`no messages in #${this.room} yet`);
        const lines = [this.dim(`── last ${ms.length} in #${this.room}${b.state === 'online' ? '' : ' (local history, offline)'} ──`), ...ms.map((m) => this.fmt(m)), this.dim('──')];
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
}

/** "just now", "12 s ago", "3 min ago": for /scan's last-seen column. */
function ago(ms: number): string {
  if (ms < 1500) return 'just now';
  if (ms < 90_000) return `${Math.round(ms / 1000)} s ago`;
  return `${Math.round(ms / 60_000)} min ago`;
}
