/**
 * A deterministic counting semaphore whose capacity can shrink: a window hands spare slots back
 * to its parent. Later pipeline stages go first, so partitions that are further along finish
 * before new ones start.
 */
export class Slots {
  private inUse = 0;
  private seq = 0;
  private readonly waiting: { priority: number; seq: number; grant: () => void }[] = [];

  constructor(public capacity: number) {}

  async acquire(priority: number): Promise<void> {
    if (this.inUse < this.capacity && this.waiting.length === 0) {
      this.inUse++;
      return;
    }
    await new Promise<void>((grant) => this.waiting.push({ priority, seq: this.seq++, grant }));
  }

  release(): void {
    this.inUse--;
    this.grant();
  }

  shrink(n: number): void {
    this.capacity = Math.max(0, this.capacity - n);
  }

  async with<T>(priority: number, fn: () => Promise<T>): Promise<T> {
    await this.acquire(priority);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private grant(): void {
    while (this.inUse < this.capacity && this.waiting.length > 0) {
      let best = 0;
      for (let i = 1; i < this.waiting.length; i++) {
        const w = this.waiting[i];
        const b = this.waiting[best];
        if (w.priority > b.priority || (w.priority === b.priority && w.seq < b.seq)) best = i;
      }
      const [next] = this.waiting.splice(best, 1);
      this.inUse++;
      next.grant();
    }
  }
}
