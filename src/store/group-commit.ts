/**
 * Group commit: messages submitted in the same turn of the event loop (and while a commit is
 * in flight) are stored in one `append`, i.e. one transaction and one fsync. Callers are
 * answered only after that append resolved, so an acknowledgement always means "stored".
 */
import type { AppendResult, MessageStore, NewMessage } from './types.js';

type Callback = (err: Error | null, result?: AppendResult) => void;

export class GroupCommit {
  private queue: NewMessage[] = [];
  private callbacks: Callback[] = [];
  private inFlight: Promise<void> | null = null;
  private scheduled = false;
  /** Largest batch committed so far (observability and tests). */
  maxBatch = 0;
  commits = 0;

  constructor(private readonly store: MessageStore, private readonly maxBatchSize = 5000) {}

  get pending(): number {
    return this.queue.length;
  }

  submit(msg: NewMessage, cb: Callback): void {
    this.queue.push(msg);
    this.callbacks.push(cb);
    if (!this.scheduled && this.inFlight === null) {
      this.scheduled = true;
      // setImmediate, not a microtask: lets every socket read in this I/O phase join the batch.
      setImmediate(() => this.flush());
    }
  }

  submitAsync(msg: NewMessage): Promise<AppendResult> {
    return new Promise((resolve, reject) => this.submit(msg, (err, r) => (err ? reject(err) : resolve(r!))));
  }

  private flush(): void {
    this.scheduled = false;
    if (this.inFlight !== null || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.maxBatchSize);
    const cbs = this.callbacks.splice(0, batch.length);
    this.maxBatch = Math.max(this.maxBatch, batch.length);
    this.commits++;
    this.inFlight = this.store.append(batch).then(
      (results) => {
        this.inFlight = null;
        for (let i = 0; i < cbs.length; i++) cbs[i]!(null, results[i]);
      },
      (err: unknown) => {
        this.inFlight = null;
        const e = err instanceof Error ? err : new Error(String(err));
        for (const cb of cbs) cb(e);
      },
    ).finally(() => {
      if (this.queue.length > 0) this.flush();
    });
  }

  /** Resolves once everything submitted so far is committed (or failed). */
  async drain(): Promise<void> {
    while (this.inFlight !== null || this.queue.length > 0) {
      if (this.inFlight === null) this.flush();
      await this.inFlight;
    }
  }
}
