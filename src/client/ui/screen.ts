/**
 * The interactive terminal: Node's readline for the input line, and printing *above* it, so a
 * message that arrives while the user types never tears through the half-typed line.
 *
 * Printing: move the cursor up to the first row of the input area (the prompt may wrap over
 * several rows), clear from there down, write the text, then let readline draw the prompt and
 * the partial input again with the cursor where it was.
 *
 * readline keeps the cursor's row inside the input area in `prevRows` and moves up by it on its
 * next redraw; after we printed, the input area starts on a fresh row, so it must be 0. The field
 * is not documented (it is stable since Node 10); without it a wrapped input line would be
 * redrawn one row too high. Hand-written because no maintained library does "print above a
 * readline prompt" without taking over the whole screen.
 *
 * Between the printed lines and the prompt sits the pending block: our messages not acknowledged
 * yet, one row each (the caller cuts them to the width), redrawn with the prompt, so that they
 * stay in sight, marked, until the server has them (issue 11, item 6).
 */
import readline from 'node:readline';

type RlWithRows = readline.Interface & { prevRows?: number };

export class Screen {
  readonly rl: readline.Interface;
  private closed = false;
  /** Rows the input took when Enter was pressed: readline leaves that echo on screen. */
  private echoRows = 0;
  /** The pending block, and how many of its rows are on screen now. */
  private pending: string[] = [];
  private pendingDrawn = 0;

  constructor(
    readonly input: NodeJS.ReadableStream,
    readonly output: NodeJS.WritableStream,
  ) {
    this.rl = readline.createInterface({ input, output, terminal: true, historySize: 500, prompt: '> ' });
    // Before readline handles Enter, measure the rows the prompt and the line occupy, so the
    // echo readline leaves behind can be replaced by the formatted message.
    input.prependListener('keypress', (_s: string, key: { name?: string } | undefined) => {
      if (key && (key.name === 'return' || key.name === 'enter')) {
        const saved = this.rl.cursor;
        (this.rl as { cursor: number }).cursor = this.rl.line.length;
        this.echoRows = this.rl.getCursorPos().rows + 1;
        (this.rl as { cursor: number }).cursor = saved;
      }
    });
    this.rl.on('close', () => {
      this.closed = true;
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Terminal columns (80 when the output does not say). */
  get columns(): number {
    return (this.output as { columns?: number }).columns || 80;
  }

  /** Terminal rows (24 when the output does not say). */
  get rows(): number {
    return (this.output as { rows?: number }).rows || 24;
  }

  setPrompt(prompt: string): void {
    if (this.closed) return;
    this.rl.setPrompt(prompt);
    this.redraw();
  }

  /** Replaces the pending block (rows no wider than the terminal) and draws it above the prompt. */
  setPending(rows: string[]): void {
    if (this.closed) {
      this.pending = rows;
      return;
    }
    this.clearInputArea();
    this.pending = rows;
    this.drawInputArea();
  }

  /** Draws the prompt and the partial input again, cursor kept. */
  redraw(): void {
    if (this.closed) return;
    this.clearInputArea();
    this.drawInputArea();
  }

  /** Clears the pending block, the prompt and the input, leaving the cursor where they began. */
  private clearInputArea(): void {
    const rows = this.rl.getCursorPos().rows + this.pendingDrawn;
    if (rows > 0) readline.moveCursor(this.output, 0, -rows);
    readline.cursorTo(this.output, 0);
    readline.clearScreenDown(this.output);
    (this.rl as RlWithRows).prevRows = 0;
    this.pendingDrawn = 0;
  }

  private drawInputArea(): void {
    for (const row of this.pending) this.output.write(row + '\n');
    this.pendingDrawn = this.pending.length;
    this.rl.prompt(true);
  }

  /** Prints text (one or more lines) above the pending block and the input line, leaving the input intact. */
  print(text: string): void {
    if (this.closed) {
      this.output.write(text + '\n');
      return;
    }
    this.clearInputArea();
    this.output.write(text + '\n');
    this.drawInputArea();
  }

  /** Rings the terminal bell. */
  bell(): void {
    this.output.write('\x07');
  }

  /** Removes the line readline echoed when Enter was pressed (call from the 'line' handler). */
  eraseEcho(): void {
    if (this.closed) return;
    if (this.echoRows > 0) {
      readline.moveCursor(this.output, 0, -this.echoRows);
      readline.cursorTo(this.output, 0);
      readline.clearScreenDown(this.output);
      this.echoRows = 0;
    }
    this.rl.prompt(true);
  }

  /** Empties the input line (Ctrl-C with text typed). */
  clearInput(): void {
    this.rl.write(null, { ctrl: true, name: 'e' });
    this.rl.write(null, { ctrl: true, name: 'u' });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.rl.close();
  }
}
