import { WeightedLru } from '../../src/io/weighted-lru';

describe('WeightedLru', () => {
  const keys = (c: WeightedLru<string>) => ['a', 'b', 'c', 'd', 'e'].filter((k) => c.get(k) !== undefined);

  it('evicts the least recently used over the entry bound', () => {
    const c = new WeightedLru<string>(2, Infinity);
    c.set('a', 'A');
    c.set('b', 'B');
    expect(c.get('a')).toBe('A'); // a is now the most recent
    c.set('c', 'C');
    expect(c.get('b')).toBeUndefined();
    expect(c.size).toBe(2);
  });

  it('evicts by weight once a value is weighed, never the entry weighed, and keeps the total right', () => {
    const c = new WeightedLru<string>(10, 100);
    c.set('a', 'A', 40);
    c.set('b', 'B');
    c.set('c', 'C');
    c.weigh('b', 'B', 50);
    expect([c.size, c.weight]).toEqual([3, 90]);
    c.weigh('c', 'C', 30); // 120 > 100: a (least recent) goes
    expect([c.size, c.weight]).toEqual([2, 80]);
    c.set('d', 'D', 500); // alone over the bound: everything else goes, d stays
    expect([c.size, c.weight]).toEqual([1, 500]);
    expect(c.get('d')).toBe('D');
  });

  it('weighs and deletes only the value a key still holds', () => {
    const c = new WeightedLru<string>(10, 100);
    c.set('a', 'old');
    c.set('a', 'new', 10);
    c.weigh('a', 'old', 99);
    c.delete('a', 'old');
    expect([c.get('a'), c.weight]).toEqual(['new', 10]);
    c.delete('a');
    expect([c.size, c.weight]).toEqual([0, 0]);
  });

  it('a plan-sized bound: many large entries keep the newest that fit', () => {
    const c = new WeightedLru<string>(64, 256);
    for (const k of ['a', 'b', 'c', 'd', 'e']) c.set(k, k.toUpperCase(), 100);
    expect(keys(c)).toEqual(['d', 'e']);
  });
});
