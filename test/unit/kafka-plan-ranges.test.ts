import { cutRange, planOffsets, uncovered } from '../../src/sources/kafka/ranges';
import { earliestStarts, planOrigins } from '../../src/sources/kafka/published';

const names = (r: { start: number; end: number; published?: boolean }[]) => r.map((x) => `${x.start}-${x.end}${x.published ? '*' : ''}`);

describe('uncovered offsets', () => {
  test('the pieces of a span no range holds', () => {
    expect(uncovered([], 0, 10)).toEqual([{ start: 0, end: 10 }]);
    expect(uncovered([{ start: 2, end: 4 }, { start: 0, end: 1 }, { start: 8, end: 20 }], 0, 10)).toEqual([{ start: 1, end: 2 }, { start: 4, end: 8 }]);
    expect(uncovered([{ start: 0, end: 5 }, { start: 3, end: 10 }], 0, 10)).toEqual([]);
    expect(uncovered([{ start: 0, end: 5 }], 7, 9)).toEqual([{ start: 7, end: 9 }]);
  });
});

describe('planning a topic partition around the ranges the dataset holds', () => {
  test('nothing published: aligned ranges from the start, as cutRange', () => {
    const p = planOffsets(0, { start: 0, low: 0, high: 2500, size: 1000, published: [] });
    expect(names(p.ranges)).toEqual(names(cutRange(0, 0, 2500, 1000)));
    expect(p).toMatchObject({ gone: [], end: 2500 });
  });

  test('a partial run\'s ranges are reused; only what they do not hold is new, so its tail is not read again', () => {
    const p = planOffsets(0, { start: 0, low: 0, high: 1600, size: 1000, published: [{ start: 0, end: 1000 }, { start: 1000, end: 1500 }] });
    expect(names(p.ranges)).toEqual(['0-1000*', '1000-1500*', '1500-1600']);
  });

  test('retention past offsets never ingested (issue: a partial first run, then deleteRecords): they are gone, the published ones are not', () => {
    const published = [{ start: 0, end: 50_000 }, { start: 50_000, end: 100_000 }];
    const p = planOffsets(0, { start: 0, low: 200_000, high: 300_000, size: 50_000, published });
    expect(p.gone).toEqual([{ start: 100_000, end: 200_000 }]);
    expect(names(p.ranges)).toEqual(['0-50000*', '50000-100000*', '200000-250000', '250000-300000']);
  });

  test('partitionRecords changed after a partial run: the published range stays whole, new ones start at its end', () => {
    const p = planOffsets(0, { start: 0, low: 0, high: 4, size: 2, published: [{ start: 0, end: 3 }] });
    expect(names(p.ranges)).toEqual(['0-3*', '3-4']);
  });

  test('retention inside a published range (allowGaps): no gap, nothing overlaps it', () => {
    const p = planOffsets(0, { start: 200, low: 250, high: 350, size: 1000, published: [{ start: 200, end: 300 }] });
    expect(p.gone).toEqual([]);
    expect(names(p.ranges)).toEqual(['200-300*', '300-350']);
  });

  test('ranges before the start (committed by an earlier run) are not this run\'s; one past the high watermark extends the end', () => {
    const p = planOffsets(0, { start: 100, low: 0, high: 150, size: 100, published: [{ start: 0, end: 100 }, { start: 100, end: 160 }] });
    expect(names(p.ranges)).toEqual(['100-160*']);
    expect(p.end).toBe(160);
  });

  test('a hole between published ranges is planned again, aligned', () => {
    const p = planOffsets(1, { start: 0, low: 0, high: 3000, size: 1000, published: [{ start: 0, end: 1000 }, { start: 2000, end: 3000 }] });
    expect(names(p.ranges)).toEqual(['0-1000*', '1000-2000', '2000-3000*']);
    expect(p.ranges.every((r) => r.partition === 1)).toBe(true);
  });
});

describe('where an earlier partial run started', () => {
  test('a plan\'s starts, before the gap it skipped at the start', () => {
    expect(planOrigins({ starts: { 0: 150, 1: 0 }, gaps: [{ partition: 0, from: 100, to: 150 }] } as never)).toEqual({ 0: 100, 1: 0 });
  });

  test('the earlier of the plan\'s start and the first published range (a run planned by older code started later)', () => {
    const ranges = new Map([[0, [{ start: 50_000, end: 100_000 }, { start: 0, end: 50_000 }]], [2, [{ start: 10, end: 20 }]]]);
    expect(earliestStarts({ 0: 200_000, 1: 5 }, ranges)).toEqual({ 0: 0, 1: 5, 2: 10 });
    expect(earliestStarts(null, new Map())).toBeNull();
  });
});
