/**
 * Splits a byte stream into lines ended by "\n" (a "\r" before it is dropped).
 *
 * Hand-written because it is the hot path and must enforce the frame limit while the
 * line is still arriving: a peer that never sends "\n" must not make us buffer without bound.
 * Pure: bytes in, lines out, no I/O.
 */
export type SplitResult =
  | { ok: true; lines: Buffer[] }
  | { ok: false; lines: Buffer[]; error: 'too_large' };

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Bytes of an unfinished line held so far. */
  get buffered(): number {
    return this.pendingBytes;
  }

  push(chunk: Buffer): SplitResult {
    const lines: Buffer[] = [];
    let start = 0;
    let nl = chunk.indexOf(10, start);
    while (nl !== -1) {
      let line: Buffer;
      if (this.pendingBytes > 0) {
        this.pending.push(chunk.subarray(start, nl));
        line = Buffer.concat(this.pending, this.pendingBytes + (nl - start));
        this.pending = [];
        this.pendingBytes = 0;
      } else {
        line = chunk.subarray(start, nl);
      }
      if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
      if (line.length > this.maxLineBytes) return { ok: false, lines, error: 'too_large' };
      lines.push(line);
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      // +1: a trailing "\r" of a line at exactly the limit is still allowed.
      if (this.pendingBytes + rest.length > this.maxLineBytes + 1) {
        this.pending = [];
        this.pendingBytes = 0;
        return { ok: false, lines, error: 'too_large' };
      }
      // Copy: the caller may reuse the chunk's memory, and a small copy frees the big read buffer.
      this.pending.push(Buffer.from(rest));
      this.pendingBytes += rest.length;
    }
    return { ok: true, lines };
  }
}
