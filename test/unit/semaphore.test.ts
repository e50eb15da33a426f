import { Slots } from '../../workflows/run/slots';

describe('Slots', () => {
  it('never exceeds capacity and serves higher priority first, FIFO within a priority', async () => {
    const sem = new Slots(2);
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

  it('gives up capacity it no longer needs: a shrunk semaphore lets fewer in', async () => {
    const sem = new Slots(3);
    const gates: (() => void)[] = [];
    let running = 0;
    const job = () => sem.with(0, async () => { running++; await new Promise<void>((r) => gates.push(r)); running--; });
    const all = [job(), job(), job(), job(), job()];
    await new Promise((r) => setImmediate(r));
    expect(running).toBe(3);
    sem.shrink(2);
    gates.shift()!();
    gates.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(running).toBe(1); // capacity 1 now: the two freed slots are not handed on
    while (gates.length) { gates.shift()!(); await new Promise((r) => setImmediate(r)); }
    await Promise.all(all);
    expect(running).toBe(0);
  });
});
