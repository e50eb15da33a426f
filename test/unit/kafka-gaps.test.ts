import { offsetsProblem } from '../../src/manifest/offsets';
import { printSummary } from '../../src/cli/print';
import { IngestSummary } from '../../src/manifest/run';
import { mergeGaps, summarizeGaps } from '../../src/sources/kafka/gaps';

describe('Kafka gaps', () => {
  test('merge: sorted by partition and offset, touching ranges of one partition made one', () => {
    expect(mergeGaps([
      { partition: 1, from: 50, to: 60 }, { partition: 0, from: 100, to: 150 }, { partition: 0, from: 150, to: 170 },
      { partition: 0, from: 10, to: 20 }, { partition: 1, from: 55, to: 58 }, { partition: 2, from: 5, to: 5 },
    ])).toEqual([{ partition: 0, from: 10, to: 20 }, { partition: 0, from: 100, to: 170 }, { partition: 1, from: 50, to: 60 }]);
  });

  test('summary: counts every range and offset, lists a bounded number', () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ partition: i, from: 0, to: 10 }));
    const s = summarizeGaps(many, 20)!;
    expect({ ranges: s.ranges, offsets: s.offsets, listed: s.first.length }).toEqual({ ranges: 50, offsets: 500, listed: 20 });
    expect(summarizeGaps([])).toBeUndefined();
  });

  test('the ingest summary says how many offsets were skipped, and where', () => {
    let text = '';
    const s = { status: 'completed', pipeline: 'copy', dataset: 'd', source: 'kafka://b/t', plan: 'p', partitions: 1, stages: {}, outputPrefix: 'o', manifest: 'm',
      kafkaGaps: summarizeGaps([{ partition: 0, from: 100, to: 150 }]) } as IngestSummary;
    printSummary(s, { write: (c: string) => { text += c; return true; } } as unknown as typeof process.stdout);
    expect(text).toContain('gaps:     50 offsets in 1 range no longer on the broker, skipped (allowGaps)');
    expect(text).toContain('partition 0: 100-149');
  });
});

describe('every offset of a Kafka range is accounted for', () => {
  const counts = { in: 8, out: 7, rejected: 1, dropped: 0 };
  const inputs = [{ url: 'kafka://b/t#0', etag: '', size: 17, range: [100, 117] as [number, number], gaps: [[90, 100], [110, 112]] as [number, number][] }];

  test('records, markers, aborted records, compaction holes and gaps add up to the range', () => {
    expect(offsetsProblem({ counts, inputs, offsets: { control: 3, aborted: 3, compacted: 1, gaps: 2 } })).toBeNull();
  });

  test('a missing offset is named', () => {
    expect(offsetsProblem({ counts, inputs, offsets: { control: 3, aborted: 3, compacted: 0, gaps: 2 } }))
      .toBe('offsets do not add up: records in 8 + control 3 + aborted 3 + compacted 0 + gaps 2 = 16, but the range 100-117 holds 17 offsets');
  });

  test('the gap count must match the gaps listed inside the range (not the one before it)', () => {
    expect(offsetsProblem({ counts, inputs, offsets: { control: 3, aborted: 2, compacted: 1, gaps: 3 } })).toMatch(/count 3 gap offsets, but the gaps listed inside the range 100-117 hold 2/);
  });

  test('manifests from before the count, and other sources, are not checked', () => {
    expect(offsetsProblem({ counts, inputs })).toBeNull();
    expect(offsetsProblem({ counts, inputs: [{ url: 's3://b/k', etag: 'e', size: 3 }], offsets: { control: 0, aborted: 0, compacted: 0, gaps: 0 } })).toBeNull();
  });
});
