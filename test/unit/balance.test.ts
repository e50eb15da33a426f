import type { ActivitySlotInfo, SlotReleaseContext } from '@temporalio/worker';
import { BalancedActivitySlots } from '../../src/worker/balance';

const info = { type: 'activity', activityType: 'runStage' } as ActivitySlotInfo;
const used = { slotInfo: info, permit: {} };
const released = (wasUsed: boolean) => ({ ...(wasUsed ? { slotInfo: info } : {}), permit: {} }) as SlotReleaseContext<ActivitySlotInfo>;

/** Resolves to whether the promise settled within a few turns of the event loop. */
async function settles(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
}

describe('balanced activity slots', () => {
  it('polls once at a time, and only while not ahead of the least busy peer', async () => {
    const told: number[] = [];
    const slots = new BalancedActivitySlots(4, 0, (n) => told.push(n));
    expect(told).toEqual([0]);
    const never = new AbortController().signal;
    // Before the supervisor has said anything: one poll, as if every peer were idle.
    await slots.reserveSlot({}, never);
    const second = slots.reserveSlot({}, never);
    expect(await settles(second)).toBe(false);

    // The poll got a task; the peer runs none, so this process may not poll again...
    slots.markSlotUsed(used);
    expect(told).toEqual([0, 1]);
    expect(await settles(second)).toBe(false);
    // ...until the peer runs one too. Its own count (slot 0) is left out.
    slots.peers({ 0: 1, 1: 1 });
    expect(await settles(second)).toBe(true);

    // One poll is out: no second one, even though the peer is not behind...
    const third = slots.reserveSlot({}, never);
    expect(await settles(third)).toBe(false);
    // ...until that poll ends with no task and frees its slot.
    slots.releaseSlot(released(false));
    expect(await settles(third)).toBe(true);
    // This poll gets a task: two running against the peer's one.
    slots.markSlotUsed(used);
    const fourth = slots.reserveSlot({}, never);
    expect(await settles(fourth)).toBe(false);
    slots.peers({ 0: 2, 1: 5, 2: 2 });
    expect(await settles(fourth)).toBe(true);
  });

  it('never holds more than its maximum, and a finished task frees a slot', async () => {
    const slots = new BalancedActivitySlots(2, 1, () => undefined);
    const never = new AbortController().signal;
    slots.peers({ 0: 9 });
    await slots.reserveSlot({}, never);
    slots.markSlotUsed(used);
    await slots.reserveSlot({}, never);
    slots.markSlotUsed(used);
    const third = slots.reserveSlot({}, never);
    expect(await settles(third)).toBe(false);
    expect(slots.tryReserveSlot()).toBeNull();
    slots.releaseSlot(released(true));
    expect(await settles(third)).toBe(true);
  });

  it('has no peer limit when no other process is alive, and gives up a wait on shutdown', async () => {
    const slots = new BalancedActivitySlots(8, 0, () => undefined);
    slots.peers({ 0: 0 });
    const never = new AbortController().signal;
    for (let i = 0; i < 3; i++) {
      await slots.reserveSlot({}, never);
      slots.markSlotUsed(used);
    }
    slots.peers({ 0: 3, 1: 0 });
    const stop = new AbortController();
    const waiting = slots.reserveSlot({}, stop.signal);
    expect(await settles(waiting)).toBe(false);
    stop.abort(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
    // The abandoned wait took no slot: once the peer catches up, one poll is allowed.
    slots.peers({ 0: 3, 1: 3 });
    await slots.reserveSlot({}, never);
    expect(slots.tryReserveSlot()).toBeNull();
  });
});
