import type { PlanSummary } from '../../src/pipeline/plan';
import type { Inflight } from '../../workflows/run/carry';
import { Code, CompactState } from '../../workflows/run/compact';
import { applyReport, Ledger, settleUnfinished, windowReportProblem } from '../../workflows/run/reports';

const plan: PlanSummary = {
  planKey: 'k', bucket: 'b', dataset: 'd', targetPrefix: '', format: 'csv', partitions: 6, ids: [], names: null, sourceObjects: 1, scannedRecords: 0, needsImport: false,
  // a -> b -> c
  stages: [{ name: 'a', after: ['raw'], version: '1' }, { name: 'b', after: ['a'], version: '1' }, { name: 'c', after: ['b'], version: '1' }],
  retry: { maximumAttempts: 1, initialIntervalSeconds: 1, backoffCoefficient: 2, maximumIntervalSeconds: 1 },
};
const STAGES = ['a', 'b', 'c'];

function ledger(): Ledger {
  const state = new CompactState(6, STAGES, [], null);
  // Window 1 runs a and b of partitions 0-2, holding 2 slots.
  for (let i = 0; i < 3; i++) for (const s of [0, 1]) state.set(s, i, Code.running);
  const w: Inflight = { seq: 1, id: 'wf/w-000001', slots: 2, ranges: [[0, 2]], stages: ['a', 'b'] };
  return { state, plan, inflight: new Map([[1, w]]), recount: new Set(), requeueLost: true };
}

describe("a window's report", () => {
  it('counts what it finished, hands back slots, and is ignored for a window the parent no longer holds', () => {
    const l = ledger();
    expect(applyReport(l, { seq: 1, entries: [[0, 0, Code.done, 10, 9, 1, 0]], failures: [], freed: 1 })).toEqual({ freed: 1, from: Infinity });
    expect(l.state.get(0, 0)).toBe(Code.done);
    expect(l.inflight.get(1)!.slots).toBe(1);
    expect(applyReport(l, { seq: 7, entries: [[0, 1, Code.done, 1, 1, 0, 0]], failures: [], freed: 1 })).toBeNull();
    expect(l.state.get(0, 1)).toBe(Code.running);
  });

  it('never undoes a retry: an entry the parent no longer holds running is left alone', () => {
    const l = ledger();
    l.state.set(0, 1, Code.pending);
    applyReport(l, { seq: 1, entries: [[0, 1, Code.failed, 0, 0, 0, 0]], failures: [], freed: 0 });
    expect(l.state.get(0, 1)).toBe(Code.pending);
  });

  it('the last one gives back the window\'s slots and runs again what it held but never reported', () => {
    const l = ledger();
    applyReport(l, { seq: 1, entries: [[0, 0, Code.done, 1, 1, 0, 0], [1, 0, Code.done, 1, 1, 0, 0]], failures: [], freed: 0 });
    expect(applyReport(l, { seq: 1, entries: [], failures: [], freed: 0, done: true })).toEqual({ freed: 2, from: 1 });
    expect(l.inflight.size).toBe(0);
    expect([l.state.get(0, 0), l.state.get(1, 0), l.state.get(0, 1), l.state.get(1, 2)]).toEqual([Code.done, Code.done, Code.pending, Code.pending]);
    expect(l.recount.size).toBe(0);
  });

  it('of a window that ended without it (lost) runs again what it reported too, and counts those records once', () => {
    const l = ledger();
    applyReport(l, { seq: 1, entries: [[0, 0, Code.done, 5, 5, 0, 0]], failures: [], freed: 0 });
    expect(applyReport(l, { seq: 1, entries: [], failures: [], freed: 0, done: true, lost: true })).toEqual({ freed: 2, from: 0 });
    expect(l.state.get(0, 0)).toBe(Code.pending);
    expect([...l.recount]).toEqual(['0/0']);
    // Its second run: a new window reports it, and its records are not added again.
    l.state.set(0, 0, Code.running);
    l.inflight.set(2, { seq: 2, id: 'wf/w-000002', slots: 1, ranges: [[0, 0]], stages: ['a'] });
    applyReport(l, { seq: 2, entries: [[0, 0, Code.skipped, 5, 5, 0, 0]], failures: [], freed: 0 });
    expect(l.state.get(0, 0)).toBe(Code.skipped);
    expect(l.recount.size).toBe(0);
    expect(l.state.progress('running', undefined).stages.a.records.in).toBe(5);
  });

  it('keeps the recount mark when the re-run is given back pending (its window cancelled alone): the run that finishes it counts nothing twice', () => {
    const l = ledger();
    applyReport(l, { seq: 1, entries: [[0, 0, Code.done, 5, 5, 0, 0]], failures: [], freed: 0 });
    applyReport(l, { seq: 1, entries: [], failures: [], freed: 0, done: true, lost: true });
    // Window 2 runs it again and is cancelled alone: it reports it pending.
    l.state.set(0, 0, Code.running);
    l.inflight.set(2, { seq: 2, id: 'wf/w-000002', slots: 1, ranges: [[0, 0]], stages: ['a'] });
    applyReport(l, { seq: 2, entries: [[0, 0, Code.pending, 0, 0, 0, 0]], failures: [], freed: 0, done: true });
    expect([...l.recount]).toEqual(['0/0']);
    // Window 3 finishes it.
    l.state.set(0, 0, Code.running);
    l.inflight.set(3, { seq: 3, id: 'wf/w-000003', slots: 1, ranges: [[0, 0]], stages: ['a'] });
    applyReport(l, { seq: 3, entries: [[0, 0, Code.skipped, 5, 5, 0, 0]], failures: [], freed: 0 });
    expect(l.state.progress('running', undefined).stages.a.records.in).toBe(5);
  });
});

describe('settling what a run leaves unfinished', () => {
  it('is cancelled in a cancelled run, also what windows of before marked blocked behind a cancel; blocked behind a failure stays blocked', () => {
    const s = new CompactState(3, STAGES, [], null);
    // 0: a running at the cancel; 1: a cancelled, b and c blocked (an old window); 2: a failed, b and c blocked.
    s.set(0, 0, Code.running);
    s.set(1, 0, Code.pending);
    s.set(2, 0, Code.pending);
    s.set(0, 1, Code.pending);
    s.set(1, 1, Code.blocked);
    s.set(2, 1, Code.blocked);
    s.fail({ stage: 'a', index: 2, partition: 'p-2', error: 'x', errorType: 'Error', attempts: 1, runs: 1 });
    s.set(1, 2, Code.blocked);
    s.set(2, 2, Code.blocked);
    settleUnfinished(s, plan, true);
    const row = (i: number) => [0, 1, 2].map((k) => s.get(k, i));
    expect(row(0)).toEqual([Code.cancelled, Code.cancelled, Code.cancelled]);
    expect(row(1)).toEqual([Code.cancelled, Code.cancelled, Code.cancelled]);
    expect(row(2)).toEqual([Code.failed, Code.blocked, Code.blocked]);
  });

  it('is blocked in a run that ended with failures', () => {
    const s = new CompactState(1, STAGES, [], null);
    s.set(0, 0, Code.done);
    s.set(1, 0, Code.pending);
    settleUnfinished(s, plan, false);
    expect([s.get(1, 0), s.get(2, 0)]).toEqual([Code.blocked, Code.blocked]);
  });
});

describe('windowReportProblem: a windowReport signal sent by hand (the Temporal UI and CLI offer it)', () => {
  it('passes a window\'s report', () => {
    expect(windowReportProblem({ seq: 1, entries: [[0, 3, 2, 5, 5, 0, 0]], failures: [{ stage: 'raw', index: 4, error: 'x' }], freed: 1, done: true })).toBeNull();
    expect(windowReportProblem({ seq: 2, entries: [], failures: [], freed: 0 })).toBeNull();
  });

  it('names what is wrong with anything else, instead of the handler throwing on it', () => {
    for (const bad of [undefined, null, 'x', [], {}, { seq: 1 }, { seq: 1, freed: 0, entries: 'x', failures: [] }, { seq: 1, freed: 0, entries: [[1, 2]], failures: [] },
      { seq: 1, freed: 0, entries: [], failures: [null] }, { seq: '1', freed: 0, entries: [], failures: [] }]) {
      expect(windowReportProblem(bad)).toEqual(expect.any(String));
    }
  });
});
