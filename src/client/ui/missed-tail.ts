/**
 * The backlog received on (re)connect, as the screen keeps it until `synced`: a count of all and
 * the newest `keep` only. The rest is in the local store already (the connection stores before
 * it emits), so a backlog of any size costs the screen `keep` messages of memory.
 */
export class MissedTail<T> {
  private items: T[] = [];
  private start = 0;
  private total = 0;

  constructor(readonly keep: number) {}

  push(item: T): void {
    this.total++;
    this.items.push(item);
    // Drop from the front in steps, so a long backlog costs no O(keep) shift per message.
    if (this.items.length - this.start > this.keep) this.start++;
    if (this.start >= this.keep) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }

  /** Messages held now (at most 2 × keep between compactions). */
  get held(): number {
    return this.items.length;
  }

  /** Everything pushed since the last take(). */
  get count(): number {
    return this.total;
  }

  /** The newest `keep` and the count of all, oldest first; empties the tail. */
  take(): { count: number; newest: T[] } {
    const out = { count: this.total, newest: this.items.slice(this.start) };
    this.items = [];
    this.start = 0;
    this.total = 0;
    return out;
  }
}
