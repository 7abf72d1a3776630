import type { BusEvent, MessageBus } from './types.js';

/** In-process bus: delivers synchronously, in publish order, to every subscriber. */
export class LocalBus implements MessageBus {
  private handlers: Array<(e: BusEvent) => void> = [];

  publish(event: BusEvent): void {
    for (const h of this.handlers) h(event);
  }

  subscribe(handler: (e: BusEvent) => void): () => void {
    this.handlers.push(handler);
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  async close(): Promise<void> {
    this.handlers = [];
  }
}
