/**
 * Drives real `lab93 peer --headless` processes and observes them without a UI: their JSON log
 * lines (stderr), and a repeater-mode client speaking plain JSON lines to the peer's own port
 * (the control channel: it posts messages and receives everything the peer stores).
 * Both can run inside a network namespace (`prefix` = ["ip", "netns", "exec", NS]).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = new URL('../..', import.meta.url).pathname;
const procs = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of procs) p.kill('SIGKILL');
});

type Json = Record<string, any>;

/** Lines of JSON from a stream, with waiting for one that matches. */
class JsonLines {
  readonly lines: Json[] = [];
  private waiters: Array<{ pred: (j: Json) => boolean; resolve: (j: Json) => void }> = [];
  feed(text: string): void {
    let j: Json;
    try {
      j = JSON.parse(text) as Json;
    } catch {
      return;
    }
    this.lines.push(j);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(j)) return true;
      w.resolve(j);
      return false;
    });
  }
  /** Resolves with the first line (past or future) matching `pred`. */
  wait(pred: (j: Json) => boolean, timeoutMs: number, what: string): Promise<Json> {
    const hit = this.lines.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (j: Json) => (clearTimeout(t), resolve(j)) };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
}

export interface PeerProcOptions {
  name: string;
  prefix?: string[];
  port?: number;
  args?: string[];
  env?: Record<string, string>;
}

/** A `lab93 peer --headless` process with its own data directory. */
export class PeerProc {
  readonly log = new JsonLines();
  readonly proc: ChildProcess;
  readonly dataDir: string;
  readonly name: string;
  private exited: Promise<number | null>;

  constructor(o: PeerProcOptions) {
    this.name = o.name;
    this.dataDir = mkdtempSync(join(tmpdir(), `lab93-peer-${o.name}-`));
    const argv = [...(o.prefix ?? []), process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'peer', '--headless', '--name', o.name, '--port', String(o.port ?? 5190), ...(o.args ?? [])];
    this.proc = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env: { ...process.env, LAB93_DATA_DIR: this.dataDir, ...(o.env ?? {}) }, stdio: ['ignore', 'ignore', 'pipe'] });
    procs.add(this.proc);
    this.exited = new Promise((r) => this.proc.once('exit', (code) => (procs.delete(this.proc), r(code))));
    createInterface({ input: this.proc.stderr! }).on('line', (l) => this.log.feed(l));
  }

  /** Waits for "peer listening"; resolves with { port, peer }. */
  async ready(timeoutMs = 15_000): Promise<{ port: number; peer: string }> {
    const j = await Promise.race([
      this.log.wait((l) => l.msg === 'peer listening', timeoutMs, `${this.name} to listen`),
      this.exited.then((c) => {
        throw new Error(`${this.name} exited with ${c} before listening: ${JSON.stringify(this.log.lines.slice(-3))}`);
      }),
    ]);
    return { port: j.port as number, peer: j.peer as string };
  }

  /** Its store (the "peer listening" line names it; the test may read it while the peer runs). */
  get dbPath(): string {
    const l = this.log.lines.find((x) => x.msg === 'peer listening');
    if (!l) throw new Error(`${this.name} is not listening yet`);
    return l.db as string;
  }

  /** Rows of its store, read beside the running peer (SQLite in WAL mode allows a reader). */
  query<T = Json>(sql: string, ...args: unknown[]): T[] {
    const d = new Database(this.dbPath, { readonly: true, fileMustExist: true });
    try {
      return d.prepare(sql).all(...args) as T[];
    } finally {
      d.close();
    }
  }

  /** Peer ids this process has a link up to right now (from its log). */
  linkedPeers(): Set<string> {
    const up = new Set<string>();
    for (const l of this.log.lines) {
      if (l.msg === 'peer link up') up.add(l.peer);
      else if (l.msg === 'peer link down') up.delete(l.peer);
    }
    return up;
  }

  /** Resolves once links to all of `peers` are up at the same time. */
  async waitLinked(peers: string[], timeoutMs: number): Promise<void> {
    const ok = (): boolean => {
      const up = this.linkedPeers();
      return peers.every((p) => up.has(p));
    };
    if (ok()) return;
    await this.log.wait(() => ok(), timeoutMs, `${this.name} linked to ${peers.join(', ')}`);
  }

  /** SIGTERM (SIGKILL after 5 s), then removes the data directory. */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(t);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * A repeater-mode client on plain JSON lines, connected to 127.0.0.1:port (inside a namespace
 * through a tiny relay process, since a test cannot open a socket in another namespace itself).
 */
export class LineClient {
  readonly got = new JsonLines();
  private writeLine: (s: string) => void;
  private closeFn: () => void;
  private n = 0;

  constructor(readonly username: string, port: number, prefix?: string[]) {
    if (prefix) {
      const code = "const s=require('net').connect(+process.argv[1],'127.0.0.1');process.stdin.pipe(s);s.pipe(process.stdout);s.on('close',()=>process.exit(0));s.on('error',e=>{console.error(e.message);process.exit(1)})";
      const p = spawn(prefix[0]!, [...prefix.slice(1), process.execPath, '-e', code, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
      procs.add(p);
      p.once('exit', () => procs.delete(p));
      createInterface({ input: p.stdout! }).on('line', (l) => this.got.feed(l));
      this.writeLine = (s) => p.stdin!.write(s + '\n');
      this.closeFn = () => p.kill('SIGTERM');
    } else {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      createInterface({ input: s }).on('line', (l) => this.got.feed(l));
      this.writeLine = (x) => s.write(x + '\n');
      this.closeFn = () => s.destroy();
    }
  }

  /** Logs in with since 0 (everything the peer holds) and waits for `synced`. */
  async hello(timeoutMs = 10_000): Promise<void> {
    this.writeLine(JSON.stringify({ type: 'hello', username: this.username, since: 0, rooms: ['lobby'] }));
    await this.got.wait((j) => j.type === 'synced', timeoutMs, `${this.username} synced`);
  }

  /** Posts a message (`to`: a direct message) and waits for its ack (stored by the peer). */
  async say(content: string, timeoutMs = 10_000, to?: string): Promise<void> {
    const uid = `${this.username}-${++this.n}`;
    this.writeLine(JSON.stringify({ type: 'message', uid, content, ...(to === undefined ? {} : { to }) }));
    const ack = await this.got.wait((j) => (j.type === 'ack' || j.type === 'error') && j.uid === uid, timeoutMs, `ack of ${uid}`);
    if (ack.type === 'error') throw new Error(`${uid} refused: ${ack.code} ${ack.message}`);
  }

  /** Contents of the messages received so far, in order. */
  contents(): string[] {
    return this.got.lines.filter((j) => j.type === 'message').map((j) => j.content as string);
  }

  /** Waits until every one of `contents` has been received. */
  async waitFor(contents: string[], timeoutMs: number): Promise<void> {
    const done = (): boolean => {
      const have = new Set(this.contents());
      return contents.every((c) => have.has(c));
    };
    if (done()) return;
    await this.got.wait(() => done(), timeoutMs, `${this.username} to receive ${contents.filter((c) => !this.contents().includes(c)).join(', ')}`);
  }

  close(): void {
    this.closeFn();
  }
}

/**
 * A rogue peer process (test/helpers/rogue-peer.ts), inside a namespace when `prefix` is given:
 * it links to real peers with a key of its own and sends them what the test hands it.
 */
export class RogueProc {
  readonly out = new JsonLines();
  private readonly proc: ChildProcess;

  constructor(prefix: string[] = []) {
    const argv = [...prefix, process.execPath, '--import', 'tsx', 'test/helpers/rogue-peer.ts'];
    this.proc = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    procs.add(this.proc);
    this.proc.once('exit', () => procs.delete(this.proc));
    createInterface({ input: this.proc.stdout! }).on('line', (l) => this.out.feed(l));
  }

  private command(c: object): void {
    this.proc.stdin!.write(`${JSON.stringify(c)}\n`);
  }

  /** Waits for `conn` to be open (or for the rogue to say why it is not). */
  private async opened(conn: string, timeoutMs: number): Promise<Json> {
    const j = await this.out.wait((x) => (x.ev === 'open' || x.ev === 'fail') && x.conn === conn, timeoutMs, `rogue ${conn} to connect`);
    if (j.ev === 'fail') throw new Error(`rogue ${conn}: ${j.message}`);
    return j;
  }

  /**
   * Links as fake peer `label` to HOST:PORT (hello proved, caught up; `net`: the network secret
   * it knows); resolves with its peer id.
   */
  async link(conn: string, host: string, port: number, label: string, net?: string, timeoutMs = 15_000): Promise<string> {
    this.command({ op: 'link', conn, host, port, label, ...(net === undefined ? {} : { net }) });
    const open = await this.opened(conn, timeoutMs);
    await this.waitLine(conn, (l) => l.type === 'peer-synced', timeoutMs, 'caught up');
    return open.self as string;
  }

  /** Connects to HOST:PORT and says nothing: the test sends every line. */
  async open(conn: string, host: string, port: number, timeoutMs = 15_000): Promise<void> {
    this.command({ op: 'open', conn, host, port });
    await this.opened(conn, timeoutMs);
  }

  send(conn: string, packet: object): void {
    this.command({ op: 'send', conn, packet });
  }

  /** The lines connection `conn` received so far. */
  lines(conn: string): Json[] {
    return this.out.lines.filter((j) => j.ev === 'line' && j.conn === conn).map((j) => j.line as Json);
  }

  /** Resolves with the first line (past or future) on `conn` matching `pred`. */
  async waitLine(conn: string, pred: (l: Json) => boolean, timeoutMs: number, what: string): Promise<Json> {
    const j = await this.out.wait((x) => x.ev === 'line' && x.conn === conn && pred(x.line as Json), timeoutMs, `rogue ${conn}: ${what}`);
    return j.line as Json;
  }

  /** Resolves once the other side closed `conn`. */
  async closed(conn: string, timeoutMs: number): Promise<void> {
    await this.out.wait((j) => j.ev === 'closed' && j.conn === conn, timeoutMs, `rogue ${conn} to be closed`);
  }

  /** Waits until the lines on `conn` matching `pred` number `n` (counted, never one for another). */
  async waitCount(conn: string, pred: (l: Json) => boolean, n: number, timeoutMs: number, what: string): Promise<void> {
    const count = (): number => this.lines(conn).filter(pred).length;
    if (count() >= n) return;
    await this.out.wait(() => count() >= n, timeoutMs, `rogue ${conn}: ${what} (${count()} of ${n})`);
  }

  close(conn: string): void {
    this.command({ op: 'close', conn });
  }

  /** Closes its stdin (it exits) and waits for it. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = new Promise((r) => this.proc.once('exit', r));
    this.proc.stdin!.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }
}
