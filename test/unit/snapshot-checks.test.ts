import { Type } from 'avsc';
import { hasTopLevelField, refuseFieldClash } from '../../src/snapshots/export-file';
import { describeSnapshots, entryOutsideDataset, headProblem } from '../../src/snapshots/head-check';
import type { Snapshot, SnapshotPartition } from '../../src/snapshots/types';
import { SeenEntries, snapshotEntries } from '../../src/tools/history';

const DS = 's3://b/out/ds/';

describe('snapshot heads against their keys', () => {
  const url = `${DS}_snapshots/00000002.json`;
  it('takes a head whose number is its key', () => {
    expect(headProblem({ kind: 'partflow.snapshot', snapshot: 2 }, 2, url)).toBeNull();
  });
  it('refuses a head whose body names another number, naming the object', () => {
    expect(headProblem({ kind: 'partflow.snapshot', snapshot: 5 }, 2, url))
      .toBe(`${url} says it is snapshot 5, but its key is that of snapshot 2: it was edited or copied by hand; restore it or delete it`);
  });
  it('refuses something that is not a snapshot head', () => {
    expect(headProblem({ snapshot: 2 }, 2, url)).toBe(`${url} is not a partflow snapshot (no "kind": "partflow.snapshot")`);
  });
});

describe('snapshot entries stay inside their dataset', () => {
  const e = (output: string, manifest = `${DS}copy/p-0123456789ab/1-x.json`) => ({ output, manifest });
  it('takes outputs and manifests under the dataset folder', () => {
    expect(entryOutsideDataset(DS, e(`${DS}copy/p-0123456789ab/1-x.avro`))).toBeNull();
  });
  it("refuses another dataset's object, a prefix-sharing sibling and a ../ escape", () => {
    expect(entryOutsideDataset(DS, e('s3://b/out/other/copy/p-0123456789ab/1-x.avro'))).toBe(`its output "s3://b/out/other/copy/p-0123456789ab/1-x.avro" is not inside the dataset folder ${DS}`);
    expect(entryOutsideDataset(DS, e('s3://b/out/ds2/copy/x.avro'))).toMatch(/^its output /);
    expect(entryOutsideDataset(DS, e(`${DS}../other/x.avro`))).toMatch(/^its output /);
    expect(entryOutsideDataset(DS, e(`${DS}copy/x.avro`, 's3://c/out/ds/copy/x.json'))).toMatch(/^its manifest "s3:\/\/c\/out\/ds\/copy\/x.json"/);
  });
});

describe('the snapshot numbers a message lists', () => {
  it('says "1 snapshot", a contiguous range, or every number when gc left gaps', () => {
    expect(describeSnapshots([])).toBe('it has no snapshots yet (an ingest commits one when it ends)');
    expect(describeSnapshots([7])).toBe('it has 1 snapshot, 7');
    expect(describeSnapshots([2, 3, 4, 5])).toBe('it has 4 snapshots, 2 to 5');
    expect(describeSnapshots([2, 5, 6, 7])).toBe('it has 4 snapshots: 2, 5, 6 and 7');
    expect(describeSnapshots([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21])).toBe('it has 11 snapshots from 1 to 21, with gaps (gc deleted some): list them with partflow snapshots');
  });
});

describe('history of a removed partition', () => {
  const entry = (stage: string, version: string): SnapshotPartition => ({
    partition: 'p-0123456789ab', name: 'o3.csv', output: `${DS}${stage}/p-0123456789ab/${version}.avro`, manifest: `${DS}${stage}/p-0123456789ab/${version}.json`,
    records: 1, counts: { in: 1, out: 1, rejected: 0, dropped: 0 }, sha256: 'x', codeVersion: '1', contentVersion: version, workflowId: 'wf', runId: 'r',
  });
  const snap = (n: number, stages: Snapshot['stages'], changes: Snapshot['changes']) => ({
    snapshot: n, committedAt: `2026-01-0${n}T00:00:00Z`, run: { workflowId: `wf${n}` }, stages, changes,
  }) as unknown as Snapshot;

  it("shows each stage's own last version, not the last stage's", () => {
    const known = new Set(['o3.csv']);
    const seen: SeenEntries = new Map();
    const one = snapshotEntries(snap(1, { raw: [entry('raw', 'import-1-aaa')], copy: [entry('copy', '2-bbb')] },
      { raw: { added: ['p-0123456789ab'], changed: [], removed: [] }, copy: { added: ['p-0123456789ab'], changed: [], removed: [] } }), 'o3.csv', known, seen);
    expect(one.map((x) => `${x.stage} ${x.change} ${x.contentVersion}`)).toEqual(['raw added import-1-aaa', 'copy added 2-bbb']);
    const two = snapshotEntries(snap(2, { raw: [], copy: [] },
      { raw: { added: [], changed: [], removed: ['p-0123456789ab'] }, copy: { added: [], changed: [], removed: ['p-0123456789ab'] } }), 'o3.csv', known, seen);
    expect(two.map((x) => `${x.snapshot} ${x.stage} ${x.change} ${x.name} ${x.contentVersion}`)).toEqual(['2 raw removed o3.csv import-1-aaa', '2 copy removed o3.csv 2-bbb']);
  });
});

describe('the export\'s partition field against the records\' fields', () => {
  const type = Type.forSchema({ type: 'record', name: 'r', fields: [{ name: 'id', type: 'long' }, { name: 'inner', type: { type: 'record', name: 'i', fields: [{ name: '_partition', type: 'string' }] } }] });
  it('clashes with a top-level field only', () => {
    expect(hasTopLevelField(type, 'id')).toBe(true);
    expect(hasTopLevelField(type, '_partition')).toBe(false);
    expect(hasTopLevelField(Type.forSchema('string'), 'id')).toBe(false);
  });
  it('names the field, the stage and the object', () => {
    expect(() => refuseFieldClash(type, 'id', 's3://b/ds/copy/p-0123456789ab/1.avro', 'copy'))
      .toThrow('--partition-field id: the records of stage copy already have a field "id" (schema of s3://b/ds/copy/p-0123456789ab/1.avro)');
    expect(() => refuseFieldClash(type, '_partition', 's3://b/x.avro', 'copy')).not.toThrow();
  });
});
