import { printSummary, stageProgressLine } from '../../src/cli/print';
import { progressLine } from '../../src/client/wait';
import type { Progress, StageProgress } from '../../workflows/state';
import type { IngestSummary } from '../../src/manifest/run';
import { codeVersionOf, versionSkew } from '../../src/manifest/version-skew';

function printed(s: IngestSummary): string {
  let text = '';
  printSummary(s, { write: (t: string) => { text += t; return true; } } as unknown as typeof process.stdout);
  return text;
}

const base: IngestSummary = {
  status: 'completed', pipeline: 'copy', dataset: 'feeds', source: 's3://b/feeds/', plan: 's3://b/ds/feeds/_plans/0123456789abcdef.json', partitions: 2,
  stages: { copy: { output: 's3://b/ds/feeds/copy/', succeeded: 2, skipped: 0, failed: 0, blocked: 0, records: { in: 5, out: 5, rejected: 0, dropped: 0 }, failures: [] } },
  outputPrefix: 's3://b/ds/feeds/', manifest: 's3://b/ds/feeds/_runs/w/r.json',
};

describe('printSummary', () => {
  it('says nothing of empty objects when there were none', () => {
    expect(printed(base)).not.toContain('left out');
  });

  it('names the one empty source object on one line', () => {
    expect(printed({ ...base, emptySources: { count: 1, urls: ['s3://b/feeds/empty.csv'] } })).toContain('  left out: 1 empty source object (no records): s3://b/feeds/empty.csv\n  outputs:');
  });

  it('lists the first five of many, and where the plan names more', () => {
    const urls = Array.from({ length: 10 }, (_, i) => `s3://b/feeds/e-${i}.csv`);
    const text = printed({ ...base, emptySources: { count: 12, urls } });
    expect(text).toContain(['  left out: 12 empty source objects (no records):', ...urls.slice(0, 5).map((u) => `           ${u}`),
      '           … and 7 more (the plan names the first 100: s3://b/ds/feeds/_plans/0123456789abcdef.json)', ''].join('\n'));
    expect(printed({ ...base, emptySources: { count: 2, urls: urls.slice(0, 2) } })).toContain(`(no records):\n           ${urls[0]}\n           ${urls[1]}\n  outputs:`);
  });

  it('says where rejected records are only when a stage rejected some', () => {
    expect(printed(base)).not.toContain('rejects.avro');
    const copy = { ...base.stages.copy, records: { in: 5, out: 0, rejected: 5, dropped: 0 } };
    expect(printed({ ...base, stages: { copy } })).toContain('rejected 5, dropped 0\n           s3://b/ds/feeds/copy/\n           rejected records, each with its reason: <partition>/<version>.rejects.avro beside its output');
  });

  it('says which partitions the snapshot carried forward because the partitions that now read their objects failed', () => {
    expect(printed({ ...base, snapshot: { number: 2, url: 's3://b/ds/feeds/_snapshots/00000002.json' } })).not.toContain('carried forward');
    const first = Array.from({ length: 6 }, (_, i) => ({ stage: 'copy', partition: `p-old${i}`, name: `a${i}.avro+1`, failed: [{ partition: `p-new${i}`, name: `a${i}.avro+2` }] }));
    const text = printed({ ...base, status: 'partial', snapshot: { number: 2, url: 's3://b/ds/feeds/_snapshots/00000002.json', kept: { count: 7, first } } });
    expect(text).toContain('  snapshot: 2 (s3://b/ds/feeds/_snapshots/00000002.json)\n'
      + '  carried forward: 7 partitions this run no longer plans, whose source objects now go to partitions that failed:\n'
      + '           snapshot 2 keeps their last good output until those succeed\n'
      + '           copy a0.avro+1 (p-old0), for a0.avro+2 (p-new0)\n');
    expect(text).toContain('copy a4.avro+1 (p-old4)');
    expect(text).not.toContain('a5.avro+1');
    expect(text).toContain('           … and 2 more (the snapshot\'s head lists them: "keeps" of its failed partitions)\n');
  });

  it("says when a stage's records are all in reused outputs (nothing was processed)", () => {
    expect(printed(base)).not.toContain('reused outputs');
    const copy = { ...base.stages.copy, skipped: 2 };
    expect(printed({ ...base, stages: { copy } })).toContain('2 reused | records in 5, out 5, rejected 0, dropped 0, all in reused outputs\n');
  });
});

describe('outputs of other code versions than planned', () => {
  it('are counted per stage from the committed partitions, only when some differ, raw left out', () => {
    const planned = [{ name: 'clean', version: '1' }, { name: 'enrich', version: '1' }];
    const committed = [
      ...Array.from({ length: 3 }, () => ({ stage: 'enrich', codeVersion: '1' })), ...Array.from({ length: 9 }, () => ({ stage: 'enrich', codeVersion: '7' })),
      { stage: 'clean', codeVersion: '1' }, { stage: 'raw', codeVersion: 'import-2' },
    ];
    expect(versionSkew(planned, committed, 'partflow')).toEqual({ taskQueue: 'partflow', stages: [{ stage: 'enrich', planned: '1', computed: { 1: 3, 7: 9 } }] });
    expect(versionSkew(planned, committed.filter((c) => c.codeVersion !== '7'), 'partflow')).toBeUndefined();
    expect(codeVersionOf('2024.1-rc-0123456789abcdef')).toBe('2024.1-rc');
  });

  it('are printed as a warning naming the stage, both versions, the task queue and the pipeline', () => {
    const text = printed({ ...base, pipeline: 'sales', versionSkew: { taskQueue: 'partflow', stages: [{ stage: 'enrich', planned: '1', computed: { 1: 3, 7: 9 } }] } });
    expect(text).toContain('  WARNING:  stage enrich: 9 partitions computed by version 7, planned with version 1 (3 by version 1): two workers on task queue "partflow" '
      + 'register different definitions of pipeline "sales", or a deploy was under way; the run manifest says which version made each partition\n  outputs:');
    expect(printed(base)).not.toContain('WARNING');
  });
});

describe('printSummary, failures', () => {
  it('ends a cut list of a stage\'s failures with how many more and where they are all listed', () => {
    const failures = Array.from({ length: 7 }, (_, i) => ({ partition: `p-${i}`, error: 'boom', attempts: 5 }));
    const text = printed({ ...base, status: 'partial', stages: { copy: { ...base.stages.copy, succeeded: 0, failed: 7, failures } } });
    expect(text).toContain('! p-4: boom');
    expect(text).not.toContain('! p-5');
    expect(text).toContain('… and 2 more failed (the run manifest lists them all: s3://b/ds/feeds/_runs/w/r.json)');
    expect(printed({ ...base, status: 'partial', stages: { copy: { ...base.stages.copy, failed: 5, failures: failures.slice(0, 5) } } })).not.toContain('more failed');
  });
});

describe('partitions that did not run', () => {
  const progress = (over: Partial<StageProgress>): StageProgress => ({
    total: 20, pending: 0, running: 0, done: 18, skipped: 0, failed: 0, blocked: 0, cancelled: 0, records: { in: 18, out: 18, rejected: 0, dropped: 0 }, recordsPerSecond: 0, ...over,
  });

  it('are counted in the summary, blocked and cancelled, only when some are, so the counts add up', () => {
    const third = { ...base.stages.copy, succeeded: 19, blocked: 1 };
    expect(printed({ ...base, status: 'partial', stages: { third } })).toContain('  third       19 ok   0 failed    0 reused, 1 blocked | records in 5');
    const cancelled = { ...base.stages.copy, succeeded: 30, cancelled: 70 };
    expect(printed({ ...base, status: 'cancelled', stages: { s: cancelled } })).toContain('  s           30 ok   0 failed    0 reused, 70 cancelled | records');
    expect(printed(base)).toContain('  copy         2 ok   0 failed    0 reused | records');
  });

  it('are counted in status, blocked and cancelled, only when some are', () => {
    expect(stageProgressLine('third', progress({ blocked: 2 }))).toBe('  third    18/20 done, 0 running, 0 failed, 2 blocked; 18 records out, 0 rejected\n');
    expect(stageProgressLine('nap', progress({ done: 0, cancelled: 20, records: { in: 0, out: 0, rejected: 0, dropped: 0 } }))).toBe('  nap      0/20 done, 0 running, 0 failed, 20 cancelled; 0 records out, 0 rejected\n');
    expect(stageProgressLine('copy', progress({ done: 20 }))).toBe('  copy     20/20 done, 0 running, 0 failed; 18 records out, 0 rejected\n');
    // A run of several windows cannot tell started from queued: the line says so.
    expect(stageProgressLine('map', progress({ done: 4, running: 16 }), true)).toBe('  map      4/20 done, 16 running or queued in windows, 0 failed; 18 records out, 0 rejected\n');
  });

  it('are counted in the progress lines of a wait', () => {
    const p: Progress = { phase: 'done', partitions: 20, failed: [], stages: { second: progress({ failed: 1, done: 19 }), third: progress({ done: 19, blocked: 1 }), last: progress({ done: 20 }) } };
    expect(progressLine(p)).toBe('second 19/20 (1 failed)  third 19/20 (1 blocked)  last 20/20');
  });
});
