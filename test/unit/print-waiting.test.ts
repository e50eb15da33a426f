import { printWaiting } from '../../src/cli/print';
import { failedTotal } from '../../src/client/wait';

/** What printWaiting writes. */
function printed(w: Parameters<typeof printWaiting>[0]): string {
  let text = '';
  printWaiting(w, { write: (s: string) => { text += s; return true; } } as unknown as typeof process.stdout);
  return text;
}

describe('printWaiting', () => {
  it('lists the failures and says when a retry cannot help', () => {
    const text = printed({ status: 'waiting-for-retry', workflowId: 'ingest-x', failed: ['copy a.avro+3: corrupt input: s3://b/a.avro: bad block', 'copy b.avro: the transform failed: boom'], total: 2 });
    expect(text).toContain('ingest-x has 2 failed partitions');
    expect(text).toContain('! copy a.avro+3: corrupt input');
    expect(text).toContain('partflow retry ingest-x');
    expect(text).toContain('To publish what succeeded now instead of waiting: partflow finish ingest-x');
    expect(text).toMatch(/A retry reads the same source objects and lookup tables \(as they were when the run was planned\)[^]*a bad lookup table\), fix them and start a new ingest of the\nsource instead/);
  });

  it('leads with finish and a new ingest when every failure is in the source objects', () => {
    const text = printed({ status: 'waiting-for-retry', workflowId: 'ingest-y', failed: ['copy a.avro: corrupt input: s3://b/a.avro: bad block', 'copy c.avro: source object s3://b/c.avro changed since planning: …'], total: 2 });
    expect(text).toContain('Every failure is in the source objects, so a retry of this run would fail the same way');
    expect(text).toContain('partflow finish ingest-y');
    expect(text).not.toContain('partflow retry ingest-y');
  });

  it('says how to go on past Kafka offsets the broker no longer holds', () => {
    const text = printed({ status: 'waiting-for-retry', workflowId: 'ingest-k', failed: ['raw p-1a2b3c4d5e6f: partition p-1a2b3c4d5e6f of run ingest-k: topic orders partition 0: offsets 0-99 are no longer on the broker (its log now starts at 100, past retention). Records there were never ingested; set "allowGaps": true to skip them'], total: 1 });
    expect(text).toContain('a retry of this run would fail the same way');
    expect(text).toContain('partflow finish ingest-k');
    expect(text).toContain('"allowGaps": true');
    expect(text).not.toContain('partflow retry ingest-k');
  });
});

describe('printWaiting, a long list', () => {
  const failed = Array.from({ length: 24 }, (_, i) => `copy p${i}.avro: the transform failed: boom`);

  it('ends a cut list with how many more and where to see them', () => {
    const text = printed({ status: 'waiting-for-retry', workflowId: 'run-many', failed, total: 24 });
    expect(text).toContain('run-many has 24 failed partitions');
    expect(text).toContain('! copy p19.avro');
    expect(text).not.toContain('! copy p20.avro');
    expect(text).toContain('  … and 4 more: partflow partitions run-many --status failed\n');
  });

  it('counts the failures the workflow did not list (it lists the first 100)', () => {
    const text = printed({ status: 'waiting-for-retry', workflowId: 'run-many', failed, total: 130 });
    expect(text).toContain('run-many has 130 failed partitions');
    expect(text).toContain('… and 110 more: partflow partitions run-many --status failed');
  });

  it('says nothing more when every failure is listed', () => {
    expect(printed({ status: 'waiting-for-retry', workflowId: 'run-few', failed: failed.slice(0, 20), total: 20 })).not.toContain('more');
  });
});

describe('failedTotal', () => {
  it('counts every stage\'s failed partitions, not the workflow\'s list of the first 100', () => {
    const stage = (failed: number) => ({ total: 500, done: 0, running: 0, failed, skipped: 0, blocked: 0, pending: 0, cancelled: 0, recordsPerSecond: 0, records: { in: 0, out: 0, rejected: 0, dropped: 0 } });
    const failed = Array.from({ length: 100 }, (_, i) => `copy p${i}: boom`);
    expect(failedTotal({ stages: { copy: stage(130), map: stage(20) }, failed })).toBe(150);
    expect(failedTotal({ stages: {}, failed: ['copy p0: boom'] })).toBe(1);
  });
});
