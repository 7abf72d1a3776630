/**
 * What the accounts layer can be told (docs/operations.md, "Accounts"); the CLI validates the
 * flags once, then the options are frozen. Each limit has a flag and a row in
 * docs/security.md, "Names and accounts".
 */
import type { ScryptParams } from './password.js';

export type Registration = 'closed' | 'open';

export interface AuthOptions {
  /** May unregistered names log in at all (`--guests yes|no`). */
  guests: boolean;
  /** `open`: a guest may claim its free name with a `register` packet (`--registration`). */
  registration: Registration;
  /** Failed logins per account in a window before it is throttled (`--login-failures`). */
  loginFailuresPerAccount: number;
  /** Failed logins per address in a window (`--login-failures-per-address`). */
  loginFailuresPerAddress: number;
  loginWindowMs: number;
  /** Accounts one address may register with `register` per window (`--registrations-per-hour`). */
  registrationsPerAddress: number;
  registrationWindowMs: number;
  /** Shortest password `register` and `lab93 user` accept. */
  minPasswordLength: number;
  /** Live tokens per account; the oldest is revoked past it (`--max-tokens`). */
  maxTokensPerAccount: number;
  /** How often the server looks for changes made by `lab93 user` or another server of a cluster. */
  pollMs: number;
  /** Entries per throttle table before the oldest are forgotten. */
  maxThrottleEntries: number;
  /** The scrypt cost of new hashes (tests lower it; see password.ts for the defaults' reasons). */
  scrypt: Partial<ScryptParams>;
}

export const DEFAULT_AUTH_OPTIONS: Readonly<AuthOptions> = Object.freeze({
  guests: true,
  registration: 'closed',
  // ergo allows 3 a minute per client; per account we allow a few more typos, per address (a
  // classroom behind one NAT) more again.
  loginFailuresPerAccount: 5,
  loginFailuresPerAddress: 20,
  loginWindowMs: 60_000,
  registrationsPerAddress: 5,
  registrationWindowMs: 3_600_000,
  minPasswordLength: 8,
  maxTokensPerAccount: 10,
  pollMs: 2000,
  maxThrottleEntries: 100_000,
  scrypt: {},
});

export function authOptions(overrides: Partial<AuthOptions> = {}): Readonly<AuthOptions> {
  const o = { ...DEFAULT_AUTH_OPTIONS };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  return Object.freeze(o);
}
