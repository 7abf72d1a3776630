/**
 * What the load generator needs from each protocol. Every adapter speaks its protocol over a
 * raw socket (no client library: a library such as nats.js can itself be the bottleneck) and
 * keeps to a few byte comparisons per received message, so the generator stays cheap.
 */
export type Role = 'sender' | 'receiver' | 'idle';

export interface ClientSpec {
  /** Unique and short (IRC nicknames are at most 9 characters by default). */
  name: string;
  role: Role;
  /** lab93 only: a room of its own instead of the shared one (durable ingest measures the store, not fan-out). */
  room?: string;
}

/** Where a parser reports what it saw. */
export interface ParseSink {
  /** The handshake (login, join or subscribe) is complete. */
  ready(): void;
  /** One relayed message arrived; `payload` is given only when the sink asked for payloads. */
  message(payload: Buffer | null): void;
  /** `n` of this client's messages were acknowledged (per-message ack or a probe's answer). */
  ack(n: number): void;
  /** Bytes to write back at once (answers to the server's pings, handshake steps). */
  reply(bytes: Buffer): void;
  /** The server refused something; the worker reports it and counts the client as failed. */
  error(text: string): void;
  /** True while latency is measured: parsers then hand payloads over. */
  readonly wantPayload: boolean;
}

export interface Parser {
  feed(chunk: Buffer): void;
}

export interface ProtocolAdapter {
  readonly name: string;
  /** Bytes written right after the socket connects. */
  greet(c: ClientSpec): Buffer;
  parser(c: ClientSpec, sink: ParseSink): Parser;
  /** One message carrying `payload` (ASCII, 64 bytes in the benchmarks). */
  publish(c: ClientSpec, seq: number, payload: string): Buffer;
  /**
   * Protocols without per-message acknowledgements bound the sender's window with a probe (a
   * ping the server answers in order), answered by `ack(probeEvery)`-style counting in the worker:
   * null when every message is acknowledged on its own.
   */
  probe: (() => Buffer) | null;
  /** Speak it inside TLS (the server's certificate is not checked: the bench measures, it does not trust). */
  tls?: boolean;
}

/** The room, channel, topic or subject every benchmark client meets in. */
export const TOPIC = 'bench';
