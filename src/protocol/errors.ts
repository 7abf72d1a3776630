/**
 * The wire error codes of protocol v1, as data (docs/protocol.md, "Errors").
 * A test checks this table against the document, so adding a code means documenting it.
 */
export const ERROR_CODES = {
  bad_frame: 'the line is not valid base64 of UTF-8 JSON (or not JSON on a plain connection)',
  bad_packet: 'the packet is not an object, or a field is missing, of the wrong type, too long or has control characters',
  too_large: 'the frame or the message content is over the limit',
  unknown_type: 'the packet type is not one the server knows',
  not_hello: 'the first packet must be hello',
  already_hello: 'hello was already sent on this connection',
  rate_limited: 'too many messages (or failed logins) too fast; the message was not stored, send it again later',
  hello_timeout: 'no hello arrived in time',
  idle_timeout: 'nothing arrived for too long, not even a pong',
  send_queue_full: 'the connection read too slowly and its pending output passed the limit',
  not_in_room: 'the room named is not one this connection has joined',
  too_many_rooms: 'the connection has joined as many rooms as it may',
  server_busy: 'the server has as many connections as it may take',
  tls_required: 'the server accepts TLS connections only',
  shutting_down: 'the server is stopping',
  store_full: 'the message store is full; nothing more can be stored',
  internal: 'the server failed to handle the packet; it was not stored',
  auth_required: 'the name is registered: log in with its password or token (or this server admits registered users only)',
  auth_failed: 'the password or token is wrong, or there is no account of that name',
  name_taken: 'the name looks like a registered name or the name of someone online',
  registration_closed: 'this server does not let guests register their names',
  bad_proof: 'broadcast mode: the peer could not prove it holds the key of its hello',
  wrong_network: 'broadcast mode: the peer does not know the same network key',
  bad_signature: 'broadcast mode: the message is unsigned, or its signature does not verify for its origin',
  no_key: 'broadcast mode: the recipient\'s name is bound to no known key yet, so the direct message cannot be sealed; it was not stored',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error that ends up as an error frame; `fatal` ones close the connection after it. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  readonly fatal: boolean;
  readonly uid?: string;
  /** With `rate_limited`: how long to wait before trying again (sent as `retry_after_ms`). */
  readonly retryAfterMs?: number;
  constructor(code: ErrorCode, message?: string, opts: { fatal?: boolean; uid?: string; cause?: unknown; retryAfterMs?: number } = {}) {
    super(message ?? ERROR_CODES[code], opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.code = code;
    this.fatal = opts.fatal ?? false;
    if (opts.uid !== undefined) this.uid = opts.uid;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}
