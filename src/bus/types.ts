/**
 * Fan-out between servers. Every stored message goes store -> ack -> bus -> subscribers, even on
 * a single node (the in-process bus), so one server and a cluster run the same path.
 * Backends pass the shared contract suite in test/contract/bus-contract.ts.
 */
import type { StoredMessage } from '../store/types.js';

export type BusEvent =
  | { kind: 'message'; message: StoredMessage; /** connection that sent it, to skip on its own node */ origin: string }
  | { kind: 'presence'; room: string; username: string; status: 'online' | 'offline'; node: string };

export interface MessageBus {
  publish(event: BusEvent): void;
  /** Registers a subscriber; returns a function that removes it. */
  subscribe(handler: (event: BusEvent) => void): () => void;
  close(): Promise<void>;
}
