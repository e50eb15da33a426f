import { isSmall, partitionBytes, SMALL_PARTITION_BYTES, smallMask } from '../../src/pipeline/small-partitions';
import { unitsOf } from '../../workflows/run/batches';
import type { PlanSummary } from '../../src/pipeline/plan';

describe('small partition mask', () => {
  it('round-trips every partition of odd-sized plans', () => {
    for (const n of [0, 1, 3, 4, 5, 17, 1001]) {
      const bytes = Array.from({ length: n }, (_, i) => ((i * 7919) % 3 === 0 ? SMALL_PARTITION_BYTES + 1 : i * 100));
      const mask = smallMask(bytes);
      expect(mask.length).toBe(Math.ceil(n / 4));
      for (let i = 0; i < n; i++) expect(isSmall(mask, i)).toBe(bytes[i] <= SMALL_PARTITION_BYTES);
      expect(isSmall(mask, n + 4)).toBe(false);
      expect(isSmall(mask, -1)).toBe(false);
    }
    expect(isSmall(undefined, 0)).toBe(false);
  });

  it('stays near 25 KB at 100k partitions', () => {
    expect(smallMask(new Array(100_000).fill(1)).length).toBe(25_000);
  });

  it('counts the bytes a partition reads', () => {
    const piece = { key: 'k', etag: 'e', size: 1000 };
    expect(partitionBytes([piece, { ...piece, range: [100, 300] }])).toBe(1200);
    expect(partitionBytes([{ ...piece, range: [900, -1] }])).toBe(100);
    // A JSON array's chunk is a byte range too.
    expect(partitionBytes([{ ...piece, range: [0, 5] }])).toBe(5);
  });
});

describe('units of work', () => {
  const plan = (small: boolean[]) => ({ small: smallMask(small.map((s) => (s ? 1 : SMALL_PARTITION_BYTES + 1))) }) as PlanSummary;
  const items = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));
  const shape = (u: { i: number }[][]) => u.map((x) => x.map((y) => y.i));

  it('groups runs of small partitions up to the batch size; big ones stand alone', () => {
    const p = plan([true, true, true, false, true, true, true, true, true]);
    expect(shape(unitsOf(p, items(9), 2))).toEqual([[0, 1], [2], [3], [4, 5], [6, 7], [8]]);
    // A big partition cuts a run: its neighbours still go on together.
    expect(shape(unitsOf(p, items(9), 16))).toEqual([[0, 1, 2], [3], [4, 5, 6, 7, 8]]);
  });

  it('runs one partition per unit with a batch of 1 or a plan without a mask', () => {
    expect(shape(unitsOf(plan([true, true]), items(2), 1))).toEqual([[0], [1]]);
    expect(shape(unitsOf({} as PlanSummary, items(3), 16))).toEqual([[0], [1], [2]]);
  });
});
