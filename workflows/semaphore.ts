/**
 * A deterministic counting semaphore for workflow code, where later pipeline stages go first:
 * a partition that is further along finishes before new partitions start, so outputs appear
 * early and downstream stages never starve behind a long queue of imports.
 */
export class PrioritySemaphore {
  private inUse = 0;
  private seq = 0;
  private readonly waiting: { priority: number; seq: number; grant: () => void }[] = [];

  constructor(private readonly capacity: number) {}

  async acquire(priority: number): Promise<void> {
    if (this.inUse < this.capacity && this.waiting.length === 0) {
      this.inUse++;
      return;
    }
    await new Promise<void>((grant) => {
      this.waiting.push({ priority, seq: this.seq++, grant });
    });
  }

  release(): void {
    if (this.waiting.length === 0) {
      this.inUse--;
      return;
    }
    let best = 0;
    for (let i = 1; i < this.waiting.length; i++) {
      const w = this.waiting[i];
      const b = this.waiting[best];
      if (w.priority > b.priority || (w.priority === b.priority && w.seq < b.seq)) best = i;
    }
    const [next] = this.waiting.splice(best, 1);
    next.grant(); // the slot passes straight to the next holder
  }

  async with<T>(priority: number, fn: () => Promise<T>): Promise<T> {
    await this.acquire(priority);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}
