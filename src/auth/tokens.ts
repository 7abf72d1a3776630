/**
 * Session tokens: 32 random bytes (256 bits) handed to a client once, in `welcome` or
 * `registered`, and stored only as their SHA-256. A token is as good as the password until it is
 * revoked (`lab93 user logout NAME`, a new password, or the account's deletion), so a stolen
 * database must not yield usable tokens; a fast hash is enough because, unlike a password, a
 * token cannot be guessed from a dictionary.
 */
import { createHash, randomBytes } from 'node:crypto';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
