import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { datasetRef, snapshotKey } from '../../src/snapshots/layout';
import { applyRetention, planRetention } from '../../src/snapshots/retention';
import type { SnapshotHead, SnapshotPartition } from '../../src/snapshots/types';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { listObjects } from '../../src/storage/objects';
import { faultyS3, s3Error } from '../helpers/faulty-s3';
import { testConfig } from '../helpers/stack';

/**
 * gc killed part way (kill -9, a lost connection) against the real versitygw: whatever number of
 * its deletes got through, no object left refers to one that is gone (a partition manifest, the
 * mark an ingest trusts to reuse an output, without its output above all), and the next gc
 * deletes what the interrupted one left. No Temporal needed.
 */
const BUCKET = 'it-retention-cut';
const cfg = testConfig(`test-retention-cut-${process.pid}`, BUCKET);
let s3: S3Client;
const DAY = 86_400_000;
const url = (key: string) => `s3://${BUCKET}/${key}`;
const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
const keys = async (prefix: string) => new Set((await listObjects(s3, BUCKET, prefix)).map((o) => o.key));

/**
 * A dataset with snapshots 1..3, snapshot i holding one output (with rejects) written by run r<i>
 * (whose window results an interrupted ingest left); snapshot 1 keeps its entries in a part file.
 * Returns what refers to what: every key and the keys it names.
 */
async function dataset(prefix: string): Promise<Map<string, string[]>> {
  const refs = new Map<string, string[]>();
  await put(`${prefix}_partflow.json`, '{"kind":"partflow.dataset"}');
  for (const i of [1, 2, 3]) {
    const stem = `${prefix}copy/p-00000000000${i}/1-v${i}`;
    const [data, rejects, manifest] = [`${stem}.avro`, `${stem}.rejects.avro`, `${stem}.json`];
    const [plan, run, windows] = [`${prefix}_plans/plan${i}.json`, `${prefix}_runs/wf/r${i}.json`, `${prefix}_windows/wf/r${i}/00000001.json`];
    await put(data, `output ${i}`);
    await put(rejects, `rejects ${i}`);
    await put(manifest, JSON.stringify({ kind: 'partflow.partition', output: { url: url(data) }, rejects: { url: url(rejects) } }));
    await put(plan, '{}');
    const entry: SnapshotPartition = {
      partition: `p-00000000000${i}`, name: `${i}.jsonl`, output: url(data), manifest: url(manifest), records: 1,
      counts: { in: 1, out: 1, rejected: 0, dropped: 0 } as SnapshotPartition['counts'], sha256: '0'.repeat(64),
      codeVersion: '1', contentVersion: `1-v${i}`, workflowId: 'wf', runId: `r${i}`,
    };
    await put(run, JSON.stringify({ kind: 'partflow.run', plan: url(plan), committed: { copy: [entry] } }));
    await put(windows, JSON.stringify({ kind: 'partflow.window', entries: [{ stage: 'copy', index: 0, status: 'done', version: `1-v${i}`, output: { url: url(data) } }] }));
    const head: SnapshotHead = {
      kind: 'partflow.snapshot', version: 1, snapshot: i, parent: i - 1, committedAt: new Date(Date.now() - (10 - i) * DAY).toISOString(), dataset: 'ds',
      datasetUrl: url(prefix), status: 'completed', counts: {}, changes: {}, failed: {},
      run: { workflowId: 'wf', runId: `r${i}`, pipeline: 'copy', manifest: url(run), plan: url(plan), status: 'completed' },
    };
    const headKey = snapshotKey(datasetRef(url(prefix)), i);
    if (i === 1) {
      const body = JSON.stringify({ kind: 'partflow.snapshot-part', stages: { copy: [entry] } });
      const sha256 = createHash('sha256').update(body).digest('hex');
      const part = `${prefix}_snapshots/parts/${sha256}.json`;
      await put(part, body);
      head.parts = [{ file: `parts/${sha256}.json`, sha256, entries: 1 }];
      refs.set(part, [manifest, data, rejects]);
      refs.set(headKey, [part, run, plan]);
    } else {
      head.stages = { copy: [entry] };
      refs.set(headKey, [manifest, data, rejects, run, plan]);
    }
    await put(headKey, JSON.stringify(head));
    refs.set(windows, [manifest, data]);
    refs.set(run, [manifest, data, plan]);
    refs.set(manifest, [data, rejects]);
  }
  return refs;
}

/** Objects still there that name one that is not: "refers -> missing". */
function dangling(refs: Map<string, string[]>, left: Set<string>): string[] {
  return [...refs].filter(([k]) => left.has(k)).flatMap(([k, named]) => named.filter((n) => !left.has(n)).map((n) => `${k} -> ${n}`));
}

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
});

describe('an interrupted gc', () => {
  it('leaves no reference to a deleted object, wherever it stops, and the next gc deletes what it left', async () => {
    const now = Date.now() + 30 * DAY;
    let orphansSeen = 0;
    for (let cut = 0; ; cut++) {
      const prefix = `cut${cut}/ds/`;
      const refs = await dataset(prefix);
      const plan = await planRetention(s3, url(prefix), { keepSnapshots: 1, graceMs: DAY, now });
      const doomed = plan.delete.map((x) => x.key);
      // Everything of snapshots 1 and 2, and the window results of all three runs (their run manifests are written).
      expect(doomed).toHaveLength(16);
      if (cut > doomed.length) break;
      // The process dies after `cut` deletes: none after reaches the store.
      let sent = 0;
      const dying = faultyS3(cfg.s3, () => (cmd) => (cmd instanceof DeleteObjectCommand && ++sent > cut ? Promise.reject(s3Error('NetworkingError', 'socket hang up', 0)) : undefined));
      if (cut < doomed.length) await expect(applyRetention(dying, plan)).rejects.toThrow(/gc could not delete s3:\/\/.*socket hang up.*run gc again to finish/);
      else expect(await applyRetention(dying, plan)).toBe(doomed.length);
      const left = await keys(prefix);
      expect([cut, dangling(refs, left)]).toEqual([cut, []]);
      // Data whose manifest is gone: nothing refers to it, and the next gc finds it all the same.
      const orphans = [...left].filter((k) => k.endsWith('.avro') && !left.has(k.replace(/(\.rejects)?\.avro$/, '.json')));
      if (orphans.length) orphansSeen++;
      const again = await planRetention(s3, url(prefix), { keepSnapshots: 1, graceMs: DAY, now });
      expect(again.delete.map((x) => x.key).sort()).toEqual(doomed.filter((k) => left.has(k)).sort());
      await applyRetention(s3, again);
      const after = await keys(prefix);
      expect([cut, doomed.filter((k) => after.has(k))]).toEqual([cut, []]);
      expect(dangling(refs, after)).toEqual([]);
      expect(after.size).toBe(7); // snapshot 3 with its run manifest, plan, manifest, output and rejects, and _partflow.json
    }
    expect(orphansSeen).toBeGreaterThan(0);
  });
});
