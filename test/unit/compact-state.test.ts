import { Code, CompactState, packCodes, UNKEPT_ERROR, unpackCodes } from '../../workflows/run/compact';
import { cutError, KEPT_ERROR_CHARS, SHOWN_ERROR_CHARS } from '../../workflows/run/cut-error';
import { MAX_UNBLOCKED_RUNS, requeue, rerunUnblocked, retryProblem, unblocked } from '../../workflows/run/retry';
import type { PlanSummary } from '../../src/pipeline/plan';

const plan = (partitions: number): PlanSummary => ({
  planKey: 'k', bucket: 'b', dataset: 'd', targetPrefix: '', format: 'csv', partitions, ids: [], names: null, sourceObjects: 1, scannedRecords: 0, needsImport: true,
  // raw -> a -> b, a -> c, (b, c) -> d
  stages: [{ name: 'a', after: ['raw'], version: '1' }, { name: 'b', after: ['a'], version: '1' }, { name: 'c', after: ['a'], version: '1' }, { name: 'd', after: ['b', 'c'], version: '1' }],
  retry: { maximumAttempts: 1, initialIntervalSeconds: 1, backoffCoefficient: 2, maximumIntervalSeconds: 1 },
});
const STAGES = ['raw', 'a', 'b', 'c', 'd'];

describe('compact status codes', () => {
  it('round-trip run-length and packed forms, and stay small at 100k partitions', () => {
    const mostlyDone = new Uint8Array(100_000).fill(Code.done);
    mostlyDone.fill(Code.failed, 500, 510);
    expect(packCodes(mostlyDone)).toMatch(/^r/);
    expect(packCodes(mostlyDone).length).toBeLessThan(50);
    expect(unpackCodes(packCodes(mostlyDone), 100_000)).toEqual(mostlyDone);
    // The worst case, no two neighbours alike: two codes per byte, base64.
    const mixed = Uint8Array.from({ length: 100_001 }, (_, i) => i % 6);
    const packed = packCodes(mixed);
    expect(packed).toMatch(/^p/);
    expect(packed.length).toBeLessThan(51_000);
    expect(unpackCodes(packed, 100_001)).toEqual(mixed);
  });

  it('keeps counters in step with every change and survives a carry', () => {
    const s = new CompactState(1000, STAGES, [], null);
    s.set(1, 7, Code.running);
    s.set(1, 7, Code.done, { in: 5, out: 4, rejected: 1, dropped: 0 });
    s.fail({ stage: 'b', index: 7, partition: 'p-1', name: 'x.csv', error: 'boom', errorType: 'E', attempts: 2, runs: 1 });
    const now = Date.now() + 1000;
    const p = s.progress('running', undefined, now);
    expect(p.stages.a).toMatchObject({ done: 1, pending: 999, records: { in: 5, out: 4, rejected: 1, dropped: 0 } });
    expect(p.stages.b).toMatchObject({ failed: 1, pending: 999 });
    expect(p.failed).toEqual(['b x.csv: boom']);
    const again = new CompactState(1000, STAGES, [], null, JSON.parse(JSON.stringify(s.carry())));
    expect(again.progress('running', undefined, now).stages).toEqual(p.stages);
    expect(again.list({ status: 'failed' }).partitions).toEqual([expect.objectContaining({ stage: 'b', index: 7, partition: 'p-1', name: 'x.csv', error: 'boom', attempts: 2 })]);
  });

  it('cuts a long error to 500 characters, saying so and where the rest is', () => {
    const s = new CompactState(10, STAGES, [], null);
    const schema = `schema ${'{"name":"f"},'.repeat(100)} END`;
    s.fail({ stage: 'b', index: 1, partition: 'p-1', error: `cannot read the input as ${schema}`, errorType: 'SchemaMismatch', attempts: 1, runs: 1 });
    const shown = s.list({ status: 'failed' }).partitions[0].error as string;
    expect(shown).toHaveLength(500);
    expect(shown).toMatch(/^cannot read the input as schema \{"name":"f"\},.* … \[cut from 1336 characters; the run manifest keeps it whole\]$/);
    expect(cutError('x'.repeat(3000), SHOWN_ERROR_CHARS)).toMatch(/ … \[cut from 3000 characters; the run manifest keeps 2000\]$/);
    expect(cutError('x'.repeat(3000), KEPT_ERROR_CHARS)).toMatch(/^x{1970,} … \[cut from 3000 characters\]$/);
    expect(cutError('short', SHOWN_ERROR_CHARS)).toBe('short');
  });

  it('pages through every (partition, stage) entry in plan order', () => {
    const s = new CompactState(30, STAGES, [], null);
    const seen: string[] = [];
    for (let offset = 0; ; offset += 7) {
      const page = s.list({ offset, limit: 7 });
      expect(page.total).toBe(150);
      seen.push(...page.partitions.map((e) => `${e.index}/${e.stage}`));
      if (page.partitions.length < 7) break;
    }
    expect(seen).toHaveLength(150);
    expect(seen.slice(0, 6)).toEqual(['0/raw', '0/a', '0/b', '0/c', '0/d', '1/raw']);
    expect(s.list({ stage: 'c', offset: 28 }).partitions.map((e) => e.partition)).toEqual(['#28', '#29']);
  });
});

describe('retry requests', () => {
  // Partition 1: b failed, c done, d blocked. Partition 2: b and c failed, d blocked.
  const failedRun = () => {
    const s = new CompactState(3, STAGES, [], null);
    for (let i = 0; i < 3; i++) for (let k = 0; k < 5; k++) s.set(k, i, Code.done);
    s.fail({ stage: 'b', index: 1, partition: 'p-1', error: 'e', errorType: 'E', attempts: 1, runs: 1 });
    s.set(4, 1, Code.blocked);
    s.fail({ stage: 'b', index: 2, partition: 'p-2', error: 'e', errorType: 'E', attempts: 1, runs: 2 });
    s.fail({ stage: 'c', index: 2, partition: 'p-2', name: 'two.csv', error: 'e', errorType: 'E', attempts: 1, runs: 1 });
    s.set(4, 2, Code.blocked);
    return s;
  };

  it('limits a retry to the stages asked for, partition by partition, with what they unblock', () => {
    const s = failedRun();
    expect(requeue(s, plan(3), { stages: ['b'] })).toEqual([
      { stage: 'b', index: 1, runs: 1 }, { stage: 'd', index: 1, runs: 0 }, { stage: 'b', index: 2, runs: 2 },
    ]);
    // d of partition 2 still waits for its failed c; c of partition 2 is not re-run.
    expect([s.get(3, 2), s.get(4, 2)]).toEqual([Code.failed, Code.blocked]);
    expect(requeue(s, plan(3), {})).toEqual([{ stage: 'c', index: 2, runs: 1 }, { stage: 'd', index: 2, runs: 0 }]);
  });

  it('runs a blocked stage again once every input is committed, up to what the caller allows', () => {
    const s = failedRun();
    // Partition 1's b is queued again (c is done): d waits for b to commit, not just to be queued.
    s.set(2, 1, Code.pending);
    expect(unblocked(s, plan(3), 1, () => true)).toEqual([]);
    s.set(2, 1, Code.done);
    expect(unblocked(s, plan(3), 1, () => false)).toEqual([]);
    expect(s.get(4, 1)).toBe(Code.blocked);
    expect(unblocked(s, plan(3), 1, () => true)).toEqual([{ stage: 'd', index: 1, runs: 0 }]);
    expect(s.get(4, 1)).toBe(Code.pending);
    // Partition 2 still has failed inputs.
    expect(unblocked(s, plan(3), 2, () => true)).toEqual([]);
  });

  it('gives a stage that keeps ending blocked with committed inputs up after a few runs', () => {
    const s = failedRun();
    s.set(2, 1, Code.done);
    const runs = new Map<string, number>();
    for (let n = 1; n <= MAX_UNBLOCKED_RUNS; n++) {
      expect(rerunUnblocked(s, plan(3), 1, runs)).toBe(true);
      expect(runs.get('d/1')).toBe(n);
      s.set(4, 1, Code.blocked); // it ran, and ended blocked again
    }
    expect(rerunUnblocked(s, plan(3), 1, runs)).toBe(false);
    expect(s.get(4, 1)).toBe(Code.blocked);
    // With nothing blocked anywhere, nothing is looked at.
    const clean = new CompactState(3, STAGES, [], null);
    expect(rerunUnblocked(clean, plan(3), 1, runs)).toBe(false);
  });

  it('on request, also queues a blocked stage of a partition with nothing failed left', () => {
    const s = failedRun();
    s.set(2, 1, Code.done); // partition 1's b committed by a retry; d stayed blocked
    expect(requeue(s, plan(3), { partitions: ['#1'] })).toEqual([]);
    expect(requeue(s, plan(3), { partitions: ['#1'] }, { unblock: true })).toEqual([{ stage: 'd', index: 1, runs: 0 }]);
  });

  it('takes partitions by id, name or #index, and names what it does not know', () => {
    const s = failedRun();
    expect(requeue(s, plan(3), { partitions: ['two.csv'] }).map((r) => `${r.stage}/${r.index}`)).toEqual(['b/2', 'c/2', 'd/2']);
    expect(retryProblem({ partitions: ['p-1'] }, s, STAGES)).toBeNull();
    expect(retryProblem({ partitions: ['#1'] }, s, STAGES)).toBeNull();
    expect(retryProblem({ partitions: ['p-9'] }, s, STAGES)).toMatch(/unknown partition "p-9".*too large to know every id/);
    expect(retryProblem({ stages: ['zz'] }, s, STAGES)).toBe('unknown stage "zz" (stages: raw, a, b, c, d)');
    expect(retryProblem({ partitions: 'x' }, s, STAGES)).toBe('"partitions" must be a list of strings');
  });
});

describe('what crosses continue-as-new', () => {
  it('stays well under 512 KiB at 100k partitions and 5 stages, worst case', () => {
    const s = new CompactState(100_000, STAGES, [], null);
    for (let k = 0; k < 5; k++) for (let i = 0; i < 100_000; i++) s.set(k, i, ((i * 7 + k) % 6) as Code);
    for (let i = 0; i < 1000; i++) s.fail({ stage: 'b', index: i * 3, partition: `p-${String(i).padStart(12, '0')}`, name: `${'n'.repeat(200)}-${i}`, error: 'x'.repeat(5000), errorType: 'TransformFailed', attempts: 5, runs: 3 });
    const bytes = Buffer.byteLength(JSON.stringify(s.carry()));
    expect(bytes).toBeLessThan(400 * 1024);
    expect(s.failureDetails.size).toBe(100);
    // A failure past the first 100 says where its error is, rather than showing none.
    const [kept] = s.list({ status: 'failed', stage: 'b', limit: 1 }).partitions;
    expect(kept).toMatchObject({ index: 0, status: 'failed', attempts: 5, error: expect.stringMatching(/^x{440,} … \[cut from 5000 characters; the run manifest keeps 2000\]$/), errorType: 'TransformFailed' });
    const [past] = s.list({ status: 'failed', stage: 'b', offset: 150, limit: 1 }).partitions;
    expect(past).toMatchObject({ status: 'failed', error: UNKEPT_ERROR });
    expect(past.error).toMatch(/first 100 failures.*window workflow's history/);
  });
});

describe('queries of a run of one window (it sees its activities start)', () => {
  it('show a partition handed to the window but not started as pending, and only started ones as running', () => {
    const s = new CompactState(10, ['raw', 'copy'], [], null);
    s.tracksStarts = true;
    for (let i = 0; i < 10; i++) s.set(0, i, Code.running);
    s.begin(0, 2);
    s.begin(0, 5);
    expect(s.progress('running', undefined).stages.raw).toMatchObject({ running: 2, pending: 8 });
    expect(s.list({ status: 'running', stage: 'raw' })).toEqual({ total: 2, partitions: [expect.objectContaining({ index: 2, status: 'running' }), expect.objectContaining({ index: 5, status: 'running' })] });
    expect(s.list({ status: 'pending', stage: 'raw' }).total).toBe(8);
    // A finished entry is no longer running; held again (a retry), it waits until it starts again.
    s.set(0, 2, Code.done, { in: 1, out: 1, rejected: 0, dropped: 0 });
    s.set(0, 5, Code.pending);
    s.set(0, 5, Code.running);
    expect(s.progress('running', undefined).stages.raw).toMatchObject({ running: 0, pending: 9, done: 1 });
  });

  it('a run of more than one window shows every held entry running (its windows report only ends)', () => {
    const s = new CompactState(4, ['raw'], [], null);
    s.set(0, 1, Code.running);
    expect(s.progress('running', undefined).stages.raw).toMatchObject({ running: 1, pending: 3 });
  });

  it('count cancelled entries apart from blocked ones, and carry them', () => {
    const s = new CompactState(3, ['raw'], [], null);
    s.set(0, 0, Code.cancelled);
    const again = new CompactState(3, ['raw'], [], null, JSON.parse(JSON.stringify(s.carry())));
    expect(again.progress('done', undefined).stages.raw).toMatchObject({ cancelled: 1, blocked: 0, pending: 2 });
    expect(again.list({ status: 'cancelled' }).partitions).toEqual([expect.objectContaining({ index: 0, status: 'cancelled' })]);
  });
});
