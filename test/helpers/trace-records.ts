/** A trace sink for tests: the records it wrote, parsed, and a way to wait for one. */
import { createTraceSink, type TraceRecord } from '../../src/teach/trace.js';

export interface TraceRecords {
  trace: ReturnType<typeof createTraceSink>;
  records: TraceRecord[];
  /** The first record matching `pred`, once it is written; fails after 20 s, listing what was written. */
  waitFor(pred: (r: TraceRecord) => boolean, what?: string): Promise<TraceRecord>;
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
    async waitFor(pred, what = 'a trace record') {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const r = records.find(pred);
        if (r) return r;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no ${what} in the trace: ${records.map((x) => JSON.stringify(x)).join('\n')}`);
        await new Promise<void>((res) => {
          const t = setTimeout(res, left);
          poke = () => {
            clearTimeout(t);
            res();
          };
        });
      }
    },
  };
}
