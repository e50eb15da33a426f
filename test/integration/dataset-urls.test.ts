import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import * as api from '../../src';
import { datasetRef, snapshotKey } from '../../src/snapshots/layout';
import type { SnapshotHead } from '../../src/snapshots/types';
import { ensureBucket } from '../../src/stack/embedded';
import { createS3Client, s3Client } from '../../src/storage/client';
import { listObjects } from '../../src/storage/objects';
import { runCli } from '../helpers/cli';
import { testConfig } from '../helpers/stack';

/**
 * The library's dataset functions, as a consumer calls them from the package's exports, on URLs
 * that hold no dataset: a typo, a source prefix, a bucket that does not exist. Each fails as the
 * CLI does (SnapshotError, the same words) rather than pass for a dataset with nothing in it yet,
 * which left a consumer's sync() doing nothing forever. Datasets are written by hand: no Temporal
 * needed; the CLI case needs `npm run build` (the CLI runs dist/).
 */
const BUCKET = 'it-dataset-urls';
const cfg = testConfig(`test-dataset-urls-${process.pid}`, BUCKET);
const NO_BUCKET = `no-bucket-dsurls-${process.pid}`;
const url = (key: string) => `s3://${BUCKET}/${key}`;
let s3: S3Client;
const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));

/** What a call gave: its value, or its error's class and message. */
async function outcome(call: () => Promise<unknown>): Promise<unknown> {
  try {
    return { value: await call() };
  } catch (err) {
    return { threw: err instanceof api.SnapshotError ? 'SnapshotError' : (err as Error).name, message: (err as Error).message };
  }
}

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
  await put('incoming/products/a.csv', 'id\n1\n');
  // A dataset whose first ingest has planned (its marker) but not ended.
  await put('datasets/fresh/_partflow.json', '{"kind":"partflow.dataset"}');
  // A dataset with snapshot 1 (no partitions) and a consumer at it.
  await put('datasets/products/_partflow.json', '{"kind":"partflow.dataset"}');
  const head: SnapshotHead = {
    kind: 'partflow.snapshot', version: 1, snapshot: 1, parent: 0, committedAt: new Date().toISOString(), dataset: 'products', datasetUrl: url('datasets/products/'),
    status: 'completed', run: { workflowId: 'wf', runId: 'r1', pipeline: 'copy', manifest: url('datasets/products/_runs/wf/r1.json'), plan: url('datasets/products/_plans/p.json'), status: 'completed' },
    counts: {}, changes: {}, failed: {}, stages: { copy: [] },
  };
  await put(snapshotKey(datasetRef(url('datasets/products/')), 1), JSON.stringify(head));
  await put('datasets/products/_consumers/me.json', JSON.stringify({ kind: 'partflow.consumer', consumer: 'me', snapshot: 1, committedAt: new Date().toISOString() }));
});

describe('dataset functions on a URL that holds no dataset', () => {
  it('latestSnapshot, snapshotNumbers and readCursor fail for a mistyped URL or a source prefix, as readSnapshot does', async () => {
    const cases = [
      [url('datasets/prodcts/'), `nothing stored at ${url('datasets/prodcts/')} (no _partflow.json): check the URL`],
      [url('incoming/products/'), `no partflow dataset at ${url('incoming/products/')} (no _partflow.json and no snapshots, though other objects are stored under it): check the URL`],
    ];
    for (const [ds, message] of cases) {
      const refused = { threw: 'SnapshotError', message };
      expect({
        ds,
        latest: await outcome(() => api.latestSnapshot(s3, ds)),
        numbers: await outcome(() => api.snapshotNumbers(s3, ds)),
        cursor: await outcome(() => api.readCursor(s3, ds, 'me')),
        start: await outcome(() => api.consumerStart(s3, api.datasetRef(ds), 'me')),
        snapshot: await outcome(() => api.readSnapshot(s3, ds, 1)),
      }).toEqual({ ds, latest: refused, numbers: refused, cursor: refused, start: refused, snapshot: refused });
    }
    expect(await listObjects(s3, BUCKET, 'datasets/prodcts/')).toEqual([]);
  });

  it('a dataset whose first ingest has not ended still gives 0, [] and null; one with a snapshot or a cursor is not asked for its marker', async () => {
    const fresh = url('datasets/fresh/');
    expect([await api.latestSnapshot(s3, fresh), await api.snapshotNumbers(s3, fresh), await api.readCursor(s3, fresh, 'me')]).toEqual([0, [], null]);
    // The check costs requests only where the answer is empty: count them on a client of its own.
    const counted = createS3Client(cfg.s3);
    const asked: string[] = [];
    counted.middlewareStack.add((next, context) => async (args) => {
      const input = args.input as { Key?: string; Prefix?: string };
      asked.push(`${context.commandName?.replace(/Command$/, '')} ${input.Key ?? input.Prefix}`);
      return next(args);
    }, { step: 'initialize', name: 'countRequests' });
    const products = url('datasets/products/');
    expect([await api.latestSnapshot(counted, products), await api.snapshotNumbers(counted, products), (await api.readCursor(counted, products, 'me'))?.snapshot]).toEqual([1, [1], 1]);
    expect(asked).toEqual(['ListObjectsV2 datasets/products/_snapshots/', 'ListObjectsV2 datasets/products/_snapshots/', 'GetObject datasets/products/_consumers/me.json']);
    // A consumer that has not committed yet, of a real dataset: null, not an error.
    expect(await api.readCursor(counted, products, 'new')).toBeNull();
  });

  it('a bucket that does not exist fails every dataset function naming the bucket and the endpoint, as the CLI does', async () => {
    const ds = `s3://${NO_BUCKET}/datasets/products/`;
    const refused = { threw: 'SnapshotError', message: `the bucket "${NO_BUCKET}" does not exist at ${cfg.s3.endpoint}: check the bucket name in the URL and AWS_ENDPOINT_URL_S3` };
    const calls: Record<string, () => Promise<unknown>> = {
      latestSnapshot: () => api.latestSnapshot(s3, ds),
      snapshotNumbers: () => api.snapshotNumbers(s3, ds),
      readSnapshot: () => api.readSnapshot(s3, ds, 1),
      readCursor: () => api.readCursor(s3, ds, 'me'),
      consumerStart: () => api.consumerStart(s3, ds, 'me'),
      commitCursor0: () => api.commitCursor(s3, ds, 'me', 0),
      commitCursor1: () => api.commitCursor(s3, ds, 'me', 1),
      datasetChanges: () => api.datasetChanges(ds, { since: 0, s3 }),
      datasetChangesTo: () => api.datasetChanges(ds, { since: 0, to: 1, s3 }),
      changedPartitions: async () => {
        for await (const p of api.changedPartitions(ds, { since: 0, s3 })) void p;
      },
      exportChanges: () => api.exportChanges(s3, ds, { stage: 'copy', since: 0, target: url('exports/') }),
      planRetention: () => api.planRetention(s3, ds, { keepSnapshots: 1, graceMs: 0 }),
    };
    const got: Record<string, unknown> = {};
    for (const [name, call] of Object.entries(calls)) got[name] = await outcome(call);
    expect(got).toEqual(Object.fromEntries(Object.keys(calls).map((k) => [k, refused])));
    // An export target's bucket is named the same way.
    const target = `no-target-dsurls-${process.pid}`;
    expect(await outcome(() => api.exportChanges(s3, url('datasets/products/'), { stage: 'copy', since: 0, target: `s3://${target}/exports/` })))
      .toEqual({ ...refused, message: refused.message.replace(NO_BUCKET, target) });
    // The CLI says the same words.
    expect(await runCli(cfg, 'snapshots', ds)).toEqual({ code: 1, stdout: '', stderr: `partflow: ${refused.message}\n` });
  });
});
