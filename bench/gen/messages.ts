/** Messages between the bench (pool.ts) and its load-generator worker processes (worker.ts). */
import type { HistogramData } from '../lib/histogram.js';
import type { ClientSpec } from '../protocols/types.js';

export interface ConnectCmd {
  cmd: 'connect';
  protocol: string;
  host: string;
  port: number;
  clients: ClientSpec[];
  /** Loopback source addresses to spread the clients over (servers cap connections per address). */
  sources: string[];
  /** Connections being opened at once. */
  concurrency: number;
  timeoutMs: number;
}

export interface RunCmd {
  cmd: 'run';
  /** flood: keep every sender's window full; rate: send at `ratePerSender` msg/s each. */
  mode: 'flood' | 'rate';
  durationMs: number;
  /** Unacknowledged messages a sender may have outstanding. */
  window: number;
  /** For protocols without per-message acks: a probe after every this many messages. */
  probeEvery: number;
  ratePerSender: number;
  /** Stamp payloads with the send time and record latency at the receivers. */
  latency: boolean;
  /** How long senders wait for their last acknowledgements after the run. */
  settleMs: number;
}

export type Command = ConnectCmd | RunCmd | { cmd: 'stats' } | { cmd: 'finish' } | { cmd: 'close' };

export interface SenderResult {
  name: string;
  /** In this run. */
  sent: number;
  acked: number;
  /** Since the client connected (what the server should have stored from it). */
  totalSent: number;
  totalAcked: number;
}

export type Reply =
  | { type: 'connected'; ok: number; failed: number; errors: string[]; ms: number }
  | { type: 'sent'; senders: SenderResult[]; startUs: number; endUs: number; lastAckUs: number }
  | { type: 'stats'; delivered: number; lastDeliveryUs: number }
  | { type: 'finished'; delivered: number; lastDeliveryUs: number; cpuSeconds: number; histogram: HistogramData; errors: string[]; closedEarly: number }
  | { type: 'fatal'; error: string };

/** Microseconds on the monotonic clock, the same in every process of the machine (CLOCK_MONOTONIC). */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
