import { PrioritySemaphore } from '../../workflows/semaphore';

describe('PrioritySemaphore', () => {
  it('never exceeds capacity and serves higher priority first, FIFO within a priority', async () => {
    const sem = new PrioritySemaphore(2);
    const order: string[] = [];
    let inUse = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const job = (name: string, prio: number) => sem.with(prio, async () => {
      inUse++;
      peak = Math.max(peak, inUse);
      order.push(name);
      await new Promise<void>((r) => gates.push(r));
      inUse--;
    });
    const all = [job('a0', 0), job('b0', 0), job('c0', 0), job('d2', 2), job('e1', 1), job('f2', 2)];
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['a0', 'b0']);
    while (order.length < 6 || gates.length) {
      const g = gates.shift();
      if (!g) break;
      g();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(order).toEqual(['a0', 'b0', 'd2', 'f2', 'e1', 'c0']);
    expect(peak).toBe(2);
  });
});
