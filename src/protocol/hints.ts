/**
 * The hints catalogue: the mistakes students commonly make, as data, each with what to do and
 * the doc section to read (docs/teaching.md, "Hints", lists the same ids; a test checks that).
 * Pure: the checker and the trace look mistakes up here.
 */

export interface Hint {
  id: string;
  /** What to do, said to the student. */
  hint: string;
  section: string;
}

export const HINTS = {
  'json-without-base64': { hint: 'this connection is base64: encode each JSON frame with base64 and end it with \\n (or send raw JSON from the first frame on for a plain connection)', section: 'docs/protocol.md#framing' },
  'no-newline': { hint: 'end every frame with \\n: the other side reads up to the newline and waits until it comes', section: 'docs/protocol.md#framing' },
  'message-before-hello': { hint: 'send {"type":"hello","username":…} first, and wait for welcome', section: 'docs/protocol.md#client-to-server' },
  'near-miss-field': { hint: 'did you mean `username`? (hello needs "username"; a message needs "content")', section: 'docs/protocol.md#client-to-server' },
  'python-str-dict': { hint: "str(dict) is Python's notation, not JSON: use json.dumps(packet)", section: 'docs/protocol.md#framing' },
  'no-pong': { hint: 'answer every {"type":"ping"} with {"type":"pong"}: a connection that stays silent is closed', section: 'docs/protocol.md#keeping-the-connection-alive' },
  'no-uid': { hint: 'give each message a "uid" (a random string, the same when you send it again): without one, a message resent after a reconnect is stored twice', section: 'docs/protocol.md#client-to-server' },
  'board-missing-percent': { hint: 'end every board request with %: the board waits for it (then answers ERRTimeout!%)', section: 'docs/classic-board.md#the-protocol' },
  'board-lower-case': { hint: 'board commands are upper case: POST and GET', section: 'docs/classic-board.md#the-protocol' },
  'board-one-exchange': { hint: 'one request per connection: the board answers, closes and never reads what comes after; open a new connection for each request (or send KEEP% first)', section: 'docs/classic-board.md#connections' },
  'board-before-command': { hint: 'nothing may come before POST or GET: remove the space or line break in front of the command', section: 'docs/classic-board.md#the-protocol' },
} as const satisfies Record<string, Omit<Hint, 'id'>>;

export type HintId = keyof typeof HINTS;

export function hint(id: HintId): Hint {
  return { id, ...HINTS[id] };
}

const NEAR_MISSES: Record<string, string> = { user: 'username', name: 'username', nick: 'username', msg: 'content', text: 'content', message: 'content', body: 'content' };

/** A packet's field that is a near miss of the field it lacks: "did you mean `username`?". */
export function nearMiss(packet: Record<string, unknown>, required: string): string | null {
  if (required in packet) return null;
  for (const k of Object.keys(packet)) if (NEAR_MISSES[k] === required) return `"${k}": did you mean \`${required}\`?`;
  return null;
}

/** Which mistake a frame that could not be read most likely is, from its bytes. */
export function diagnoseFrame(line: Buffer, mode: 'base64' | 'plain'): HintId | null {
  const text = line.toString('utf8').trimStart();
  if (text.startsWith("{'") || /^\{\s*'/.test(text)) return 'python-str-dict';
  if (mode === 'base64' && text.startsWith('{')) return 'json-without-base64';
  return null;
}

const BOARD_COMMAND = /^(POST|GET|KEEP)/;

/**
 * Which mistake a board request the board did not know (`ERRUnknown Command%`) most likely is,
 * from its text without the `%`. The board's own answer stays the original's: this goes to the
 * trace and the checker only.
 */
export function diagnoseBoard(request: string): HintId | null {
  const trimmed = request.trimStart();
  if (!BOARD_COMMAND.test(trimmed) && BOARD_COMMAND.test(trimmed.toUpperCase())) return 'board-lower-case';
  if (trimmed !== request && BOARD_COMMAND.test(trimmed)) return 'board-before-command';
  return null;
}

/** Why a board connection ended with `pending` bytes that never got their `%` (timed out, closed, overloaded). */
export function diagnoseBoardEnd(pending: Buffer | string): HintId | null {
  return pending.length > 0 ? 'board-missing-percent' : null;
}
