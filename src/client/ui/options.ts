/** Options of runChatUi(), shared by the interactive and the pipe front ends. */
export interface ChatUiOptions {
  /** The room the user starts in (default "lobby"); the backend should have joined it. */
  room?: string;
  /** Default process.stdin. */
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Default process.stdout. */
  output?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Pipe mode's notices (default process.stderr). */
  errorOutput?: NodeJS.WritableStream;
  /** Force pipe mode on or off; by default it is on when the input or the output is not a terminal. */
  pipe?: boolean;
  /** The server as people write it ("lab-pc:5190"), for pipe mode's closing lines. */
  address?: string;
  /** First line shown, e.g. "lab93 · alice@lab-pc:5190". */
  title?: string;
  /** Messages of the local history shown at start (default 20). */
  recentCount?: number;
  /** ANSI colours; default: output is a TTY and NO_COLOR is not set. */
  color?: boolean;
  /** Ring the terminal bell for a direct message or a mention of your name (default true; --no-bell). */
  bell?: boolean;
  /** For tests: "UTC" instead of the local time zone. */
  timeZone?: string;
  /**
   * Pipe mode: once the input has ended, give up when the server has been unreachable this long
   * (default: wait for ever); the run then exits 1 and says what stayed unsent.
   */
  unreachableTimeoutMs?: number;
}
