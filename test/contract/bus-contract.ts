/** The MessageBus contract, run by every bus backend. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BusEvent, MessageBus } from '../../src/bus/types.js';

const message = (id: number): BusEvent => ({
  kind: 'message',
  origin: 'c1',
  message: { id, uid: `u${id}`, username: 'alice', room: 'lobby', to: null, subject: null, content: `m${id}`, timestamp: id, remote: null },
});

/** `settle` waits until a published event can have reached the subscribers (0 for in-process). */
export function busContract(name: string, factory: () => Promise<MessageBus>, settle: () => Promise<void> = async () => {}): void {
  describe(`MessageBus contract: ${name}`, () => {
    it('delivers every event to every subscriber, in publish order', async () => {
      const bus = await factory();
      const a: BusEvent[] = [];
      const b: BusEvent[] = [];
      bus.subscribe((e) => a.push(e));
      bus.subscribe((e) => b.push(e));
      const events = [message(1), { kind: 'presence', room: 'lobby', username: 'bob', status: 'online', node: 'n1' } as BusEvent, message(2)];
      for (const e of events) bus.publish(e);
      await settle();
      assert.deepEqual(a, events);
      assert.deepEqual(b, events);
      await bus.close();
    });

    it('stops delivering to an unsubscribed handler', async () => {
      const bus = await factory();
      const got: BusEvent[] = [];
      const off = bus.subscribe((e) => got.push(e));
      bus.publish(message(1));
      await settle();
      off();
      bus.publish(message(2));
      await settle();
      assert.deepEqual(got.map((e) => (e.kind === 'message' ? e.message.id : 0)), [1]);
      await bus.close();
    });
  });
}
