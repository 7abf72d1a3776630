/**
 * An account store in memory: the default when a server is built without one (tests, a
 * broadcast peer's embedded server), where nobody is registered and only the name rules apply.
 */
import type { Account, AccountStore, NewAccount } from './types.js';

interface Entry extends Account {
  passwordHash: string;
}

export class MemoryAccountStore implements AccountStore {
  private readonly accounts = new Map<string, Entry>();
  /** token hash -> account key and insertion order (newest kept). */
  private readonly tokens = new Map<string, { key: string; seq: number }>();
  private tokenSeq = 0;
  private counter = 0;

  private bump(): void {
    this.counter++;
  }

  private view(e: Entry): Account {
    let tokens = 0;
    for (const t of this.tokens.values()) if (t.key === e.key) tokens++;
    return { name: e.name, key: e.key, skeleton: e.skeleton, operator: e.operator, createdAt: e.createdAt, generation: e.generation, tokens };
  }

  async create(a: NewAccount): Promise<'ok' | 'taken'> {
    if (this.accounts.has(a.key) || [...this.accounts.values()].some((e) => e.skeleton === a.skeleton)) return 'taken';
    this.accounts.set(a.key, { ...a, generation: 1, tokens: 0 });
    this.bump();
    return 'ok';
  }

  async get(key: string): Promise<(Account & { passwordHash: string }) | null> {
    const e = this.accounts.get(key);
    return e ? { ...this.view(e), passwordHash: e.passwordHash } : null;
  }

  async bySkeleton(skeleton: string): Promise<Account | null> {
    for (const e of this.accounts.values()) if (e.skeleton === skeleton) return this.view(e);
    return null;
  }

  async list(): Promise<Account[]> {
    return [...this.accounts.values()].sort((a, b) => (a.key < b.key ? -1 : 1)).map((e) => this.view(e));
  }

  async setPassword(key: string, passwordHash: string): Promise<boolean> {
    const e = this.accounts.get(key);
    if (!e) return false;
    e.passwordHash = passwordHash;
    this.dropTokens(key);
    e.generation++;
    this.bump();
    return true;
  }

  async setOperator(key: string, operator: boolean): Promise<boolean> {
    const e = this.accounts.get(key);
    if (!e) return false;
    e.operator = operator;
    this.bump();
    return true;
  }

  async delete(key: string): Promise<boolean> {
    if (!this.accounts.delete(key)) return false;
    this.dropTokens(key);
    this.bump();
    return true;
  }

  async addToken(key: string, tokenHash: string, _now: number, keep: number): Promise<void> {
    if (!this.accounts.has(key)) return;
    this.tokens.set(tokenHash, { key, seq: ++this.tokenSeq });
    const mine = [...this.tokens].filter(([, t]) => t.key === key).sort((a, b) => b[1].seq - a[1].seq);
    for (const [h] of mine.slice(Math.max(keep, 0))) this.tokens.delete(h);
    this.bump();
  }

  async useToken(tokenHash: string): Promise<string | null> {
    return this.tokens.get(tokenHash)?.key ?? null;
  }

  async revokeTokens(key: string): Promise<number> {
    const e = this.accounts.get(key);
    if (!e) return -1;
    const n = this.dropTokens(key);
    e.generation++;
    this.bump();
    return n;
  }

  private dropTokens(key: string): number {
    let n = 0;
    for (const [h, t] of this.tokens) {
      if (t.key !== key) continue;
      this.tokens.delete(h);
      n++;
    }
    return n;
  }

  async version(): Promise<number> {
    return this.counter;
  }

  async close(): Promise<void> {}
}
