/**
 * Drives a program inside a real pseudo-terminal through tmux: type keys, read the screen.
 * Each Tmux uses its own server socket (`tmux -L <unique>`) and no user config, and kill()
 * removes that server, so tests never touch the user's tmux or each other's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TMUX = '/usr/bin/tmux';

/** Why tmux tests cannot run here, or null when they can. */
export function tmuxUnavailable(): string | null {
  try {
    execFileSync(TMUX, ['-V'], { stdio: 'pipe' });
    return null;
  } catch {
    return `tmux is not installed at ${TMUX}: the pseudo-terminal tests are skipped`;
  }
}

let counter = 0;

export interface TmuxStart {
  width?: number;
  height?: number;
  env?: Record<string, string>;
  cwd?: string;
}

export class Tmux {
  readonly socket = `lab93-test-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  private readonly confDir = mkdtempSync(join(tmpdir(), 'lab93-tmux-'));
  private started = false;
  private socketPath = '';

  private run(args: string[]): string {
    return execFileSync(TMUX, ['-L', this.socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Starts `argv` in a detached session; the pane stays readable after the program exits. */
  start(argv: string[], o: TmuxStart = {}): void {
    const conf = join(this.confDir, 'tmux.conf');
    writeFileSync(conf, 'set -g remain-on-exit on\nset -g history-limit 2000\nset -g status off\n');
    const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const envArgs = Object.entries({ TERM: 'xterm-256color', ...(o.env ?? {}) }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    const cmd = (o.cwd ? `cd ${quote(o.cwd)} && ` : '') + 'exec ' + argv.map(quote).join(' ');
    execFileSync(TMUX, ['-L', this.socket, '-f', conf, 'new-session', '-d', '-x', String(o.width ?? 100), '-y', String(o.height ?? 30), ...envArgs, cmd], { stdio: 'pipe' });
    this.started = true;
    this.socketPath = this.run(['display-message', '-p', '#{socket_path}']).trim();
  }

  /** Types text literally (no key names interpreted). */
  type(text: string): void {
    this.run(['send-keys', '-l', text]);
  }

  /** Presses keys by name: "Enter", "C-c", "C-d", "BSpace"… */
  press(...keys: string[]): void {
    this.run(['send-keys', ...keys]);
  }

  /** The visible screen, one string per row, trailing spaces removed. */
  screen(): string[] {
    return this.run(['capture-pane', '-p']).split('\n').map((l) => l.replace(/\s+$/, ''));
  }

  /** The visible screen with its SGR attributes (colours, bold, reverse) as escape sequences. */
  screenWithAttributes(): string[] {
    return this.run(['capture-pane', '-p', '-e']).split('\n');
  }

  /** Rows with text, the last one being the prompt line in a chat. */
  lines(): string[] {
    const rows = this.screen();
    while (rows.length > 0 && rows[rows.length - 1] === '') rows.pop();
    return rows;
  }

  cursor(): { x: number; y: number } {
    const [x, y] = this.run(['display-message', '-p', '#{cursor_x},#{cursor_y}']).trim().split(',').map(Number);
    return { x: x!, y: y! };
  }

  /** True once the program in the pane has exited. */
  dead(): boolean {
    return this.run(['display-message', '-p', '#{pane_dead}']).trim() === '1';
  }

  /**
   * Polls the screen until `pred` holds (a terminal has no events to await; polling every
   * 25 ms is the event here). Fails with the screen in the message.
   */
  async waitFor(pred: (lines: string[]) => boolean, what: string, ms = 10_000): Promise<string[]> {
    const deadline = Date.now() + ms;
    let last: string[] = [];
    for (;;) {
      last = this.lines();
      if (pred(last)) return last;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen:\n${last.join('\n')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  kill(): void {
    if (this.started) {
      try {
        this.run(['kill-server']);
      } catch {
        /* already gone */
      }
      // kill-server leaves the socket file behind.
      if (this.socketPath) rmSync(this.socketPath, { force: true });
    }
    rmSync(this.confDir, { recursive: true, force: true });
  }
}
