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
  /** First line shown, e.g. "lab93 · alice@lab-pc:5190". */
  title?: string;
  /** Messages of the local history shown at start (default 20). */
  recentCount?: number;
  /** ANSI colours; default: output is a TTY and NO_COLOR is not set. */
  color?: boolean;
  /** For tests: "UTC" instead of the local time zone. */
  timeZone?: string;
  /** Pipe mode: after input ends, give up waiting for acknowledgements after this (default: wait). */
  drainTimeoutMs?: number;
}
