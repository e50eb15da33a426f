/**
 * A least-recently-used cache bounded by entry count and by total weight (bytes, records), for
 * what a worker loads once and shares between partitions (plans, lookup tables). Values are often
 * promises whose weight is known only once they resolve: `weigh` sets it then, and evicts older
 * entries, never the one weighed, so a single entry over the bound is still served once.
 */
export class WeightedLru<V> {
  private readonly entries = new Map<string, { weight: number; value: V }>();
  private total = 0;

  constructor(private readonly maxEntries: number, private readonly maxWeight: number) {}

  get(key: string): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e); // most recently used last
    return e.value;
  }

  set(key: string, value: V, weight = 0): void {
    this.delete(key);
    this.entries.set(key, { weight, value });
    this.total += weight;
    this.evict(key);
  }

  /** Sets the weight of `key`'s entry if it still holds `value` (a reload may have replaced it). */
  weigh(key: string, value: V, weight: number): void {
    const e = this.entries.get(key);
    if (!e || e.value !== value) return;
    this.total += weight - e.weight;
    e.weight = weight;
    this.evict(key);
  }

  /** Removes `key`'s entry; with `value`, only if it still holds that value. */
  delete(key: string, value?: V): void {
    const e = this.entries.get(key);
    if (!e || (value !== undefined && e.value !== value)) return;
    this.entries.delete(key);
    this.total -= e.weight;
  }

  get size(): number {
    return this.entries.size;
  }

  get weight(): number {
    return this.total;
  }

  private evict(keep: string): void {
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.total <= this.maxWeight) return;
      if (k === keep) continue;
      this.entries.delete(k);
      this.total -= e.weight;
    }
  }
}
