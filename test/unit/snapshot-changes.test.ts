import { snapshotsText } from '../../src/snapshots/cursors';
import { RunManifest } from '../../src/manifest/run';
import { applyEffect, changeList, diffStages, kafkaCoveredBy, KafkaRangeOverlapError, keepCandidates, keptForFailed, removalsOf, runEffect, SourcesOf, Stages } from '../../src/snapshots/changes';
import { SnapshotPartition } from '../../src/snapshots/types';

const p = (id: string, version: string, records = 10): SnapshotPartition => ({
  partition: id, name: `${id}.avro`, output: `s3://b/ds/map/${id}/${version}.avro`, manifest: `s3://b/ds/map/${id}/${version}.json`, records,
  counts: { in: records, out: records, rejected: 0, dropped: 0 }, sha256: `sha-${id}-${version}`, codeVersion: '1', contentVersion: version, workflowId: 'wf', runId: 'r',
});

function run(committed: SnapshotPartition[], failed: string[] = [], stage = 'map'): RunManifest {
  return {
    stages: { [stage]: {} }, status: failed.length ? 'partial' : 'completed',
    committed: { [stage]: committed.map((c) => ({ ...c, result: 'computed' as const })) },
    failures: failed.map((id) => ({ stage, partition: id, name: `${id}.avro`, error: 'boom', attempts: 3, runs: 1 })), blocked: [],
  } as unknown as RunManifest;
}

const ids = (s: Stages, stage = 'map') => (s[stage] ?? []).map((x) => `${x.partition}@${x.contentVersion}${x.carriedForward ? '*' : ''}`);

describe('applying a run to a snapshot', () => {
  const parent: Stages = { map: [p('a', '1'), p('b', '1'), p('c', '1')] };

  it('takes committed outputs, removes what the plan no longer lists, and reports the changes', () => {
    const effect = runEffect(run([p('a', '1'), p('b', '2'), p('d', '1')]));
    const applied = applyEffect(parent, effect, removalsOf(parent, effect));
    expect(ids(applied.stages)).toEqual(['a@1', 'b@2', 'd@1']);
    expect(diffStages(parent, applied.stages)).toEqual({ map: { added: ['d'], changed: ['b'], removed: ['c'] } });
  });

  it('carries a failed partition forward from the parent, marked, and notes one that never had an output', () => {
    const effect = runEffect(run([p('a', '2')], ['b', 'x']));
    const applied = applyEffect(parent, effect, removalsOf(parent, effect));
    expect(ids(applied.stages)).toEqual(['a@2', 'b@1*']);
    expect(applied.failed.map).toEqual([{ partition: 'b', name: 'b.avro', carriedForward: true }, { partition: 'x', name: 'x.avro', carriedForward: false }]);
    // Carried forward is not a change; c is gone from the plan.
    expect(diffStages(parent, applied.stages).map).toEqual({ added: [], changed: ['a'], removed: ['c'] });
  });

  it('rebases onto a newer parent: keeps what a concurrent run added that this run did not touch', () => {
    const effect = runEffect(run([p('a', '3'), p('b', '1')]));
    const removals = removalsOf(parent, effect); // c, fixed against the parent this run first saw
    const concurrent: Stages = { map: [p('a', '2'), p('b', '1'), p('c', '1'), p('e', '1')] };
    const applied = applyEffect(concurrent, effect, removals);
    expect(ids(applied.stages)).toEqual(['a@3', 'b@1', 'e@1']);
    expect(diffStages(concurrent, applied.stages).map).toEqual({ added: [], changed: ['a'], removed: ['c'] });
  });

  it('drops a stage the pipeline no longer has', () => {
    const two: Stages = { ...parent, old: [p('a', '1')] };
    const effect = runEffect(run([p('a', '1'), p('b', '1'), p('c', '1')]));
    const applied = applyEffect(two, effect, removalsOf(two, effect));
    expect(applied.stages.old).toBeUndefined();
    expect(diffStages(two, applied.stages).old).toEqual({ added: [], changed: [], removed: ['a'] });
  });
});

describe('a pack that took in an object that fails', () => {
  // Snapshot 1 holds pack "ab" (objects a, b). Then c arrives and joins it: the plan has "abc", a new id.
  const parent: Stages = { map: [p('ab', '1', 4), p('d', '1')] };
  const sources = new Map<string, SourcesOf>([['ab', { keys: ['a', 'b'], plan: 's3://b/ds/_plans/1.json' }], ['d', { keys: ['d'], plan: 's3://b/ds/_plans/1.json' }]]);
  const keep = (parentStages: Stages, effect: ReturnType<typeof runEffect>, planned: Record<string, string[]>) => {
    const removals = removalsOf(parentStages, effect);
    const kept = keptForFailed(parentStages, effect, removals, new Map(Object.entries(planned)), sources);
    return { removals, kept, applied: applyEffect(parentStages, effect, removals, kept) };
  };

  it('keeps the old pack, marked, while the new one fails: its objects did not change', () => {
    const effect = runEffect(run([p('d', '1')], ['abc']));
    const { applied } = keep(parent, effect, { abc: ['a', 'b', 'c'], d: ['d'] });
    expect(ids(applied.stages)).toEqual(['ab@1*', 'd@1']);
    expect(applied.stages.map[0]).toMatchObject({ successors: ['abc'], plannedIn: 's3://b/ds/_plans/1.json', records: 4 });
    expect(applied.failed.map).toEqual([{ partition: 'abc', name: 'abc.avro', carriedForward: false, keeps: [{ partition: 'ab', name: 'ab.avro' }] }]);
    expect(diffStages(parent, applied.stages).map).toEqual({ added: [], changed: [], removed: [] });
  });

  it('removes it as before once the new pack succeeds, or when one of its objects is gone or went to a pack that succeeded', () => {
    expect(ids(keep(parent, runEffect(run([p('abc', '1'), p('d', '1')])), { abc: ['a', 'b', 'c'], d: ['d'] }).applied.stages)).toEqual(['abc@1', 'd@1']);
    // b deleted: keeping ab would bring b's records back.
    expect(ids(keep(parent, runEffect(run([p('d', '1')], ['ac'])), { ac: ['a', 'c'], d: ['d'] }).applied.stages)).toEqual(['d@1']);
    // a went to a pack that succeeded, b to one that failed: keeping ab would hold a twice.
    expect(ids(keep(parent, runEffect(run([p('a0', '1'), p('d', '1')], ['bc'])), { a0: ['a'], bc: ['b', 'c'], d: ['d'] }).applied.stages)).toEqual(['a0@1', 'd@1']);
  });

  it('keeps it for several failed packs, and not when the parent holds one of them (that one carries its own output)', () => {
    const two = keep(parent, runEffect(run([p('d', '1')], ['a9', 'bc'])), { a9: ['a', '9'], bc: ['b', 'c'], d: ['d'] });
    expect(two.kept.get('map\u0000ab')!.successors.map((x) => x.partition)).toEqual(['a9', 'bc']);
    const held: Stages = { map: [...parent.map, p('bc', '1')] };
    expect(ids(keep(held, runEffect(run([p('d', '1')], ['bc'])), { bc: ['b', 'c'], d: ['d'] }).applied.stages)).toEqual(['bc@1*', 'd@1']);
  });

  it('a partition whose source objects are unknown is removed as before; a run without new failures has no candidates', () => {
    const effect = runEffect(run([p('d', '1')], ['abc']));
    const removals = removalsOf(parent, effect);
    expect(keptForFailed(parent, effect, removals, new Map([['abc', ['a', 'b', 'c']]]), new Map()).size).toBe(0);
    expect(keepCandidates(parent, effect, removals).map((x) => x.partition)).toEqual(['ab']);
    const carried = runEffect(run([], ['d']));
    expect(keepCandidates(parent, carried, removalsOf(parent, carried))).toEqual([]);
  });

  it('a rebase onto a parent where a concurrent run committed the new pack removes the old one', () => {
    const effect = runEffect(run([p('d', '1')], ['abc']));
    const { removals, kept } = keep(parent, effect, { abc: ['a', 'b', 'c'], d: ['d'] });
    const concurrent: Stages = { map: [p('ab', '1', 4), p('abc', '1', 5), p('d', '1')] };
    expect(ids(applyEffect(concurrent, effect, removals, kept).stages)).toEqual(['abc@1*', 'd@1']);
  });

  it('a later run that leaves the kept partition untouched (rebased onto it) keeps where its objects are listed', () => {
    const effect = runEffect(run([p('d', '1')], ['abc']));
    const { applied } = keep(parent, effect, { abc: ['a', 'b', 'c'], d: ['d'] });
    const other = runEffect(run([p('d', '2')]));
    const next = applyEffect(applied.stages, other, new Set());
    expect(next.stages.map[0]).toMatchObject({ partition: 'ab', plannedIn: 's3://b/ds/_plans/1.json' });
    expect(next.stages.map[0].carriedForward).toBeUndefined();
    expect(next.stages.map[0].successors).toBeUndefined();
  });
});

describe('net changes between two snapshots', () => {
  it('skips the snapshots in between: a change reverted is none, added then removed is nothing', () => {
    const s1: Stages = { map: [p('a', '1'), p('b', '1'), p('c', '1')] };
    // s2: a changed, x added; s3: a back to version 1, x removed, b changed, c removed, d added.
    const s3: Stages = { map: [p('a', '1'), p('b', '2'), p('d', '1')] };
    const list = changeList(s1, s3);
    expect(list.map((c) => `${c.change} ${c.partition.partition}`)).toEqual(['changed b', 'removed c', 'added d']);
    expect(list.find((c) => c.change === 'changed')!.previous!.contentVersion).toBe('1');
    expect(changeList(s1, s3, 'other')).toEqual([]);
    expect(changeList({}, s1).map((c) => c.change)).toEqual(['added', 'added', 'added']);
  });
});

describe('applying a Kafka run to a snapshot', () => {
  const range = (id: string, name: string): SnapshotPartition => ({ ...p(id, '1'), name });

  it('replaces a range published by a partial run that the next run planned again, longer', () => {
    // The partial run published orders#0@50000-50500 without committing offsets; the next run planned from 0 again.
    const parent: Stages = { map: [range('k1', 'orders#0@0-50000'), range('k2', 'orders#0@50000-50500'), range('k3', 'orders#1@0-700')] };
    const effect = runEffect(run([range('k1', 'orders#0@0-50000'), range('k4', 'orders#0@50000-50600')], ['k5']));
    const applied = applyEffect(parent, effect, kafkaCoveredBy(parent, effect));
    expect(applied.stages.map.map((x) => x.name)).toEqual(['orders#0@0-50000', 'orders#0@50000-50600', 'orders#1@0-700']);
    expect(diffStages(parent, applied.stages).map).toEqual({ added: ['k4'], changed: [], removed: ['k2'] });
  });

  it('keeps a published range that the covering range failed, and ranges of other partitions, topics or stages', () => {
    const parent: Stages = { map: [range('k2', 'orders#0@50000-50500'), range('k6', 'returns#0@50000-50500')], raw: [range('k2', 'orders#0@50000-50500')] };
    const failedCover = runEffect(run([], ['k4']));
    expect(kafkaCoveredBy(parent, failedCover).size).toBe(0);
    const cover = runEffect(run([range('k4', 'orders#0@50000-50600'), range('k7', 'orders#1@50000-50600')]));
    const applied = applyEffect(parent, cover, kafkaCoveredBy(parent, cover));
    expect(applied.stages.map.map((x) => x.name)).toEqual(['orders#0@50000-50600', 'orders#1@50000-50600', 'returns#0@50000-50500']);
    // The run did not commit raw here, so raw keeps its range.
    expect(applied.stages.raw.map((x) => x.name)).toEqual(['orders#0@50000-50500']);
  });

  it('leaves names that are not ranges, and ranges the run does not touch', () => {
    const parent: Stages = { map: [range('k2', 'orders#0@50000-50500'), range('x', 'a.avro')] };
    const effect = runEffect(run([range('k4', 'orders#0@50500-50600')]));
    expect(kafkaCoveredBy(parent, effect).size).toBe(0);
  });

  it('drops a range that several new ranges cover together (partitionRecords changed), so no offset is held twice', () => {
    const parent: Stages = { map: [range('k1', 'dup#0@0-3'), range('k9', 'dup#1@0-1')] };
    const effect = runEffect(run([range('k2', 'dup#0@0-2'), range('k3', 'dup#0@2-4')]));
    const applied = applyEffect(parent, effect, kafkaCoveredBy(parent, effect));
    expect(applied.stages.map.map((x) => x.name)).toEqual(['dup#0@0-2', 'dup#0@2-4', 'dup#1@0-1']);
  });

  it('refuses a range the new ones cover only in part: neither keeping nor dropping it is right', () => {
    const parent: Stages = { map: [range('k1', 'ov#0@200-300')] };
    const partial = runEffect(run([range('k2', 'ov#0@250-350')]));
    expect(() => kafkaCoveredBy(parent, partial)).toThrow(KafkaRangeOverlapError);
    expect(() => kafkaCoveredBy(parent, partial)).toThrow('ov#0@250-350 holds some offsets of ov#0@200-300');
    // Covered at both ends but not in the middle: offsets 240-259 are held by the old range only.
    const holed = runEffect(run([range('k3', 'ov#0@200-240'), range('k4', 'ov#0@260-300')]));
    expect(() => kafkaCoveredBy(parent, holed)).toThrow(KafkaRangeOverlapError);
  });
});

describe('the snapshots a gone cursor\'s message names', () => {
  it('lists them, as gc leaves gaps (a range would name deleted ones)', () => {
    expect(snapshotsText([1, 17, 25, 28])).toBe("the dataset's snapshots are 1, 17, 25 and 28");
    expect(snapshotsText([3, 4])).toBe("the dataset's snapshots are 3 and 4");
    expect(snapshotsText(Array.from({ length: 40 }, (_, i) => i * 2 + 1))).toBe('the dataset has 40 snapshots: 1, 3, 5, 7, 9, … 75, 77, 79');
  });
});
