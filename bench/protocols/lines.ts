/**
 * Line splitting for the generator's parsers: calls `onLine(buf, start, end)` for each
 * complete line (end excludes "\n" and a "\r" before it) without copying, and keeps an
 * unfinished tail between chunks.
 */
export class Lines {
  private tail: Buffer | null = null;

  constructor(private readonly onLine: (buf: Buffer, start: number, end: number) => void) {}

  feed(chunk: Buffer): void {
    let buf = chunk;
    if (this.tail !== null) {
      buf = Buffer.concat([this.tail, chunk]);
      this.tail = null;
    }
    let start = 0;
    let nl = buf.indexOf(10, start);
    while (nl !== -1) {
      const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
      this.onLine(buf, start, end);
      start = nl + 1;
      nl = buf.indexOf(10, start);
    }
    if (start < buf.length) this.tail = Buffer.from(buf.subarray(start));
  }
}

/** True when buf[start..] begins with the bytes of `prefix`. */
export function startsWith(buf: Buffer, start: number, end: number, prefix: Buffer): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}
