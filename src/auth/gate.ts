/**
 * The server's door: decides who a `hello` logs in as (an account, a guest, or nobody), lets a
 * guest register its name, keeps the names online by skeleton, and notices changes made
 * elsewhere (`lab93 user …`, another server of a cluster) so revoked sessions end
 * (docs/protocol.md, "Accounts"; docs/security.md, "Names and accounts").
 *
 * It knows sessions only as opaque objects (a WeakMap from session to who it is), so the server
 * core stays unaware of passwords and the auth layer unaware of sockets.
 */
import type { Logger } from 'pino';
import { ProtocolError } from '../protocol/errors.js';
import { authOptions, type AuthOptions } from './config.js';
import { checkName, checkUsername, nameKeys, type Name } from './names.js';
import { hashPassword, verifyPassword } from './password.js';
import { Throttle } from './throttle.js';
import { hashToken, newToken } from './tokens.js';
import type { Account, AccountStore } from './types.js';

/** The account a session is logged into, as it was when it logged in. */
export interface Login {
  name: string;
  key: string;
  generation: number;
  operator: boolean;
}

/** Who a session is: its name, and its account when it logged into one. */
export interface Identity {
  name: Name;
  login: Login | null;
}

/** A successful hello: the name to use, the account, and the token to hand the client. */
export interface Admission extends Identity {
  token: string | null;
}

export interface Credentials {
  username: string;
  password?: string | undefined;
  token?: string | undefined;
  /** The peer's address, for the per-address throttle. */
  address: string;
}

export interface AuthGateDeps {
  accounts: AccountStore;
  options?: Partial<AuthOptions>;
  /** Wall clock (ms) for throttles and token times; tests drive it. */
  now?: () => number;
  log?: Logger;
  /** Longest username after normalisation. */
  maxNameLength?: number;
}

/** The address part of `host:port` (IPv4-mapped IPv6 unwrapped): one address, one throttle. */
export function hostOf(remote: string): string {
  const i = remote.lastIndexOf(':');
  const host = i > 0 && /^\d+$/.test(remote.slice(i + 1)) ? remote.slice(0, i) : remote;
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}

const fatal = (code: 'auth_required' | 'auth_failed' | 'name_taken' | 'bad_packet', message: string): ProtocolError => new ProtocolError(code, message, { fatal: true });

/** Online names by skeleton: spelling -> number of sessions using it. */
class OnlineNames {
  private readonly bySkeleton = new Map<string, Map<string, number>>();

  add(n: Name): void {
    let m = this.bySkeleton.get(n.skeleton);
    if (!m) this.bySkeleton.set(n.skeleton, (m = new Map()));
    m.set(n.name, (m.get(n.name) ?? 0) + 1);
  }

  remove(n: Name): void {
    const m = this.bySkeleton.get(n.skeleton);
    const c = m?.get(n.name);
    if (!m || c === undefined) return;
    if (c > 1) m.set(n.name, c - 1);
    else {
      m.delete(n.name);
      if (m.size === 0) this.bySkeleton.delete(n.skeleton);
    }
  }

  /** An online name that looks like `n` but is spelled differently, if any. */
  lookalike(n: Name): string | null {
    for (const other of this.bySkeleton.get(n.skeleton)?.keys() ?? []) if (other !== n.name) return other;
    return null;
  }

  /** The online spelling with the same key as `n`, if any (a DM to `Bob` reaches `bob`). */
  sameKey(n: Name): string | null {
    for (const other of this.bySkeleton.get(n.skeleton)?.keys() ?? []) if (other === n.name || nameKeys(other).key === n.key) return other;
    return null;
  }
}

export class AuthGate<S extends object = object> {
  readonly options: Readonly<AuthOptions>;
  private readonly accounts: AccountStore;
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  private readonly maxNameLength: number;
  private readonly who = new WeakMap<S, Identity>();
  private readonly online = new OnlineNames();
  private readonly roomSkeletons = new Map<string, string>();
  private readonly perAccount: Throttle;
  private readonly perAddress: Throttle;
  private readonly registrations: Throttle;
  /** The registered accounts as last read: by key, and key by skeleton. */
  private byKey = new Map<string, Account>();
  private keyBySkeleton = new Map<string, string>();
  private version = -1;
  private loading: Promise<boolean> | null = null;
  private readonly loaded: Promise<void>;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(deps: AuthGateDeps) {
    this.options = authOptions(deps.options);
    this.accounts = deps.accounts;
    this.now = deps.now ?? Date.now;
    this.log = deps.log;
    this.maxNameLength = deps.maxNameLength ?? 32;
    const o = this.options;
    this.perAccount = new Throttle(o.loginFailuresPerAccount, o.loginWindowMs, this.now, o.maxThrottleEntries);
    this.perAddress = new Throttle(o.loginFailuresPerAddress, o.loginWindowMs, this.now, o.maxThrottleEntries);
    this.registrations = new Throttle(o.registrationsPerAddress, o.registrationWindowMs, this.now, o.maxThrottleEntries);
    this.loaded = this.refresh().then(
      () => {},
      (err: unknown) => this.log?.error({ err }, 'accounts: first read failed'),
    );
  }

  // ---- logging in ---------------------------------------------------------------------------
  /**
   * Decides who a hello (or the seed's first frame, which has no credentials) logs in as.
   * Throws a fatal ProtocolError: `bad_packet` (a dishonest name), `auth_required`,
   * `auth_failed`, `name_taken` or `rate_limited` (with retryAfterMs).
   */
  async admit(c: Credentials): Promise<Admission> {
    await this.loaded;
    const n = checkUsername(c.username, this.maxNameLength);
    const hasCredentials = c.password !== undefined || c.token !== undefined;
    const account = await this.accounts.get(n.key);
    if (account) return this.logIn(n, account, c);
    if (hasCredentials) {
      // A client holding a token for an account that is gone learns so, instead of silently
      // becoming a guest; it counts as a failure like any wrong credential.
      this.throttled(c.address, null);
      this.perAddress.record(c.address);
      throw fatal('auth_failed', `there is no account named ${n.name}`);
    }
    if (!this.options.guests) throw fatal('auth_required', 'this server admits registered users only: log in with a password or token');
    const lookalike = await this.accounts.bySkeleton(n.skeleton);
    if (lookalike) throw fatal('name_taken', `${n.name} looks like the registered name ${lookalike.name}; choose another name`);
    const online = this.online.lookalike(n);
    if (online !== null) throw fatal('name_taken', `${n.name} looks like ${online}, who is online; choose another name`);
    return { name: n, login: null, token: null };
  }

  private async logIn(n: Name, account: Account & { passwordHash: string }, c: Credentials): Promise<Admission> {
    if (c.password === undefined && c.token === undefined) {
      throw fatal('auth_required', `${account.name} is a registered name: log in with its password or token`);
    }
    const asName = nameKeys(account.name);
    const login: Login = { name: account.name, key: account.key, generation: account.generation, operator: account.operator };
    // A token cannot be guessed (256 bits), so it is throttled per address only: a stranger's
    // wrong passwords never lock the account's owner out of a saved session.
    if (c.token !== undefined) {
      this.throttled(c.address, null);
      const owner = await this.accounts.useToken(hashToken(c.token), this.now());
      if (owner === account.key) return { name: asName, login, token: c.token };
      if (c.password === undefined) {
        this.perAddress.record(c.address);
        throw fatal('auth_failed', `the token is not valid for ${account.name} (revoked, or for another account): log in with the password`);
      }
    }
    this.throttled(c.address, account.key);
    if (!(await verifyPassword(c.password!, account.passwordHash))) {
      this.perAddress.record(c.address);
      this.perAccount.record(account.key);
      this.log?.info({ account: account.name, remote: c.address }, 'login failed: wrong password');
      throw fatal('auth_failed', `wrong password for ${account.name}`);
    }
    const token = newToken();
    await this.accounts.addToken(account.key, hashToken(token), this.now(), this.options.maxTokensPerAccount);
    return { name: asName, login, token };
  }

  /** Throws `rate_limited` when the address (or the account) has failed too often lately. */
  private throttled(address: string, accountKey: string | null): void {
    const wait = Math.max(this.perAddress.retryAfter(address), accountKey === null ? 0 : this.perAccount.retryAfter(accountKey));
    if (wait > 0) {
      throw new ProtocolError('rate_limited', `too many failed logins; try again in ${Math.ceil(wait / 1000)} s`, { fatal: true, retryAfterMs: wait });
    }
  }

  // ---- registering --------------------------------------------------------------------------
  /**
   * A guest claims the name it is logged in with. Throws `registration_closed`, `name_taken`,
   * `bad_packet` (a short password) or `rate_limited`; none of them closes the connection.
   */
  async register(session: S, password: string, address: string): Promise<{ login: Login; token: string }> {
    if (this.options.registration !== 'open') throw new ProtocolError('registration_closed', 'registration is closed on this server: ask its operator (lab93 user add)');
    const me = this.who.get(session);
    if (!me) throw new ProtocolError('not_hello', 'log in first');
    if (me.login) throw new ProtocolError('name_taken', `you are logged into the account ${me.login.name} already`);
    if ([...password].length < this.options.minPasswordLength) throw new ProtocolError('bad_packet', `password: at least ${this.options.minPasswordLength} characters`);
    const wait = this.registrations.retryAfter(address);
    if (wait > 0) throw new ProtocolError('rate_limited', `too many registrations from your address; try again in ${Math.ceil(wait / 1000)} s`, { retryAfterMs: wait });
    const hash = await hashPassword(password, this.options.scrypt);
    const n = me.name;
    const created = await this.accounts.create({ name: n.name, key: n.key, skeleton: n.skeleton, passwordHash: hash, operator: false, createdAt: this.now() });
    if (created === 'taken') throw new ProtocolError('name_taken', `${n.name} (or a look-alike) was registered meanwhile`);
    this.registrations.record(address);
    const account = await this.accounts.get(n.key);
    const login: Login = { name: n.name, key: n.key, generation: account?.generation ?? 1, operator: false };
    const token = newToken();
    await this.accounts.addToken(n.key, hashToken(token), this.now(), this.options.maxTokensPerAccount);
    this.who.set(session, { name: n, login });
    await this.refresh();
    this.log?.info({ account: n.name, remote: address }, 'account registered');
    return { login, token };
  }

  // ---- sessions -----------------------------------------------------------------------------
  /** Records who a session is once it is logged in (its name now counts as online). */
  enter(session: S, id: Identity): void {
    this.who.set(session, id);
    this.online.add(id.name);
  }

  /** The session is gone: its name no longer counts as online. */
  leave(session: S): void {
    const id = this.who.get(session);
    if (!id) return;
    this.who.delete(session);
    this.online.remove(id.name);
  }

  /** The account a session is logged into, if any. */
  loginOf(session: S): Login | null {
    return this.who.get(session)?.login ?? null;
  }

  /**
   * May this session receive a direct message that is for the account's connections only
   * (`accountOnly`: a DM to a registered name, or the copy of one sent from an account)?
   */
  mayReceive(session: S, accountOnly: boolean): boolean {
    return !accountOnly || this.who.get(session)?.login != null;
  }

  /**
   * Why a logged-in session must end after a change made elsewhere, or null: its account was
   * deleted or its sessions revoked (new password, `user logout`), or its guest name was registered.
   */
  revoked(session: S): string | null {
    const id = this.who.get(session);
    if (!id) return null;
    if (id.login) {
      const a = this.byKey.get(id.login.key);
      if (!a) return `the account ${id.login.name} was deleted`;
      if (a.generation !== id.login.generation) return `the sessions of ${id.login.name} were ended (new password or logout): log in again`;
      return null;
    }
    const key = this.keyBySkeleton.get(id.name.skeleton);
    return key === undefined ? null : `${id.name.name} is now a registered name: log in with its password`;
  }

  // ---- names in packets ---------------------------------------------------------------------
  /**
   * The recipient of a direct message: normalised and checked, then spelled as the account (or
   * the user online) it names, and whether it is a registered account's.
   */
  recipient(to: string, max: number): { name: string; account: boolean } {
    const n = checkUsername(to, max, 'to');
    const a = this.byKey.get(n.key);
    if (a) return { name: a.name, account: true };
    return { name: this.online.sameKey(n) ?? n.name, account: false };
  }

  /**
   * A room being entered: normalised and checked, and refused (`name_taken`) when it looks like
   * a room in use that is spelled differently (`Lobby` while `lobby` is open).
   */
  room(room: string, max: number, open: ReadonlyMap<string, unknown> | ReadonlySet<string>): string {
    const n = checkName(room, 'room', max);
    // An open room is joined as it is; only a new room is compared with every open one.
    if (open.has(n.name)) return n.name;
    for (const other of open.keys()) {
      if (this.roomSkeleton(other) === n.skeleton) throw new ProtocolError('name_taken', `room ${n.name} looks like the room ${other} in use; join ${other}`);
    }
    return n.name;
  }

  /** Skeletons of open rooms, remembered: a join compares against every open room. */
  private roomSkeleton(room: string): string {
    let s = this.roomSkeletons.get(room);
    if (s === undefined) {
      if (this.roomSkeletons.size >= 10_000) this.roomSkeletons.clear();
      this.roomSkeletons.set(room, (s = nameKeys(room).skeleton));
    }
    return s;
  }

  // ---- changes made elsewhere ---------------------------------------------------------------
  /** Reloads the accounts when their version moved; true when it did. */
  refresh(): Promise<boolean> {
    this.loading ??= (async () => {
      try {
        const v = await this.accounts.version();
        if (v === this.version) return false;
        const list = await this.accounts.list();
        this.byKey = new Map(list.map((a) => [a.key, a]));
        this.keyBySkeleton = new Map(list.map((a) => [a.skeleton, a.key]));
        this.version = v;
        return true;
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  /** Polls for changes every `pollMs`; `changed` runs after each reload (to end revoked sessions). */
  watch(changed: () => void): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => {
      this.refresh().then(
        (moved) => {
          if (moved && !this.closed) changed();
        },
        (err: unknown) => this.log?.warn({ err: (err as Error).message }, 'accounts: cannot read for changes'),
      );
    }, this.options.pollMs);
    this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
