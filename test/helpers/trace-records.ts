/** A trace sink for tests: the records it wrote, parsed, and a way to wait for one. */
import { createTraceSink, type TraceRecord } from '../../src/teach/trace.js';

export interface TraceRecords {
  trace: ReturnType<typeof createTraceSink>;
  records: TraceRecord[];
  /** The first record matching `pred`, once it is written. */
  waitFor(pred: (r: TraceRecord) => boolean): Promise<TraceRecord>;
}

export function traceRecords(content = false): TraceRecords {
  const records: TraceRecord[] = [];
  let poke: (() => void) | null = null;
  const trace = createTraceSink((l) => {
    records.push(JSON.parse(l) as TraceRecord);
    poke?.();
  }, { content });
  return {
    trace,
    records,
    async waitFor(pred) {
      for (;;) {
        const r = records.find(pred);
        if (r) return r;
        await new Promise<void>((res) => (poke = res));
      }
    },
  };
}
