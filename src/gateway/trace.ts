/**
 * Tracing of board connections for the teaching lab (`lab93 server --trace`; the sink is
 * src/teach/trace.ts). Null when off, so a board that does not trace pays one null check per
 * request and answer. The board's bytes stay the original's whatever is traced: its hints go to
 * the trace only (docs/teaching.md, "Hints").
 */
import type { AnswerName, ClassicRequest } from '../protocol/classic.js';

/** A board connection as the trace names it. */
export interface BoardTraced {
  /** `b1`, `b2`…: apart from the chat's `c…` connections in the same trace. */
  readonly id: string;
  /** The peer's address and port. */
  readonly remote: string;
  /** The name its posts are stored under, `classic@<address>`. */
  readonly username: string;
}

export interface BoardTraceSink {
  /** A complete request (its bytes without the `%`) and how the board read it. */
  boardRequest(c: BoardTraced, body: Buffer, req: ClassicRequest): void;
  /** A fixed answer as sent; `pending` is the request still waiting for its `%` when it answers a timeout. */
  boardAnswer(c: BoardTraced, name: AnswerName, pending: Buffer | null): void;
  /** A GET's answer, whole (sent in pieces). */
  boardList(c: BoardTraced, answer: Buffer): void;
  /** The client went away leaving bytes that never got their `%`, and nothing answered them. */
  boardClosed(c: BoardTraced, pending: Buffer): void;
  /** Bytes that came after the one exchange of a connection without KEEP%: never read (once per connection). */
  boardIgnored(c: BoardTraced, bytes: Buffer): void;
}
