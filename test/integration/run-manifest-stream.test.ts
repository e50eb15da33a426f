import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import pLimit from 'p-limit';
import { createActivities } from '../../activities';
import type { ManifestCheckpoint, StreamManifestRequest } from '../../activities/run-manifest-stream';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { partitionKeys } from '../../src/pipeline/layout';
import { PipelineRegistry } from '../../src/pipeline/registry';
import { ensureBucket } from '../../src/stack/embedded';
import { s3Client } from '../../src/storage/client';
import { listObjects, objectExists, putObject } from '../../src/storage/objects';
import type { SavedEntry } from '../../src/manifest/window-results';
import { getJson } from '../helpers/s3';
import { testConfig } from '../helpers/stack';

/**
 * The run manifest activity on the real S3 server: it works from a reference (plan + windows
 * prefix), writes in parts, and a retried attempt resumes from its heartbeat checkpoint without
 * reading again what it had uploaded.
 */
const BUCKET = 'it-manifest-stream';
const cfg = testConfig('manifest-stream', BUCKET);
const N = 600;
// Entries of ~20 KiB, so the manifest spans three parts of S3's 5 MiB minimum.
const FILLER = 'f'.repeat(20 * 1024);
let s3: S3Client;
const acts = () => createActivities({ config: cfg, s3, registry: new PipelineRegistry([]) });
const env = (details?: unknown) => new MockActivityEnvironment({ activityId: 'manifest', ...(details ? { heartbeatDetails: details } : {}) }, { logger: new DefaultLogger('ERROR') });
const id = (i: number) => `p-${String(i).padStart(12, '0')}`;
const version = (i: number) => `1-${String(i).padStart(8, '0')}`;

function request(key: string): StreamManifestRequest {
  const summary = {
    status: 'partial', pipeline: 'x', dataset: 'ds', source: `s3://${BUCKET}/src/`, plan: `s3://${BUCKET}/ds/_plans/p.json`, partitions: N,
    stages: { a: { output: `s3://${BUCKET}/ds/a/`, succeeded: N - 1, skipped: 1, failed: 1, blocked: 0, records: { in: 0, out: 0, rejected: 0, dropped: 0 }, failures: [] } },
    outputPrefix: `s3://${BUCKET}/ds/`, manifest: `s3://${BUCKET}/${key}`,
  } as unknown as IngestSummary;
  return { bucket: BUCKET, planKey: 'ds/_plans/p.json', workflowId: 'wf', runId: 'r1', summary, windowsPrefix: 'ds/_windows/wf/r1/', partBytes: 5 * 1024 * 1024 };
}

beforeAll(async () => {
  s3 = s3Client(cfg.s3);
  await ensureBucket(s3, BUCKET);
  const partitions = Array.from({ length: N }, (_, i) => ({ id: id(i), name: `o-${i}.avro`, pieces: [], rawVersion: 'src-x' }));
  await putObject(s3, BUCKET, 'ds/_plans/p.json', JSON.stringify({ kind: 'partflow.plan', version: 2, bucket: BUCKET, targetPrefix: '', dataset: 'ds', partitions }));
  await putWindows();
  const limit = pLimit(16);
  await Promise.all(Array.from({ length: N }, (_, i) => limit(() => writeManifest(i))));
}, 60_000);

/** Two windows; the second re-ran partition 5 (failed again) and 7 (now done). */
async function putWindows(): Promise<void> {
  const entry = (i: number): SavedEntry => (i === 5 ? { stage: 'a', index: i, status: 'failed', attempts: 1, runs: 1, error: 'boom' }
    : { stage: 'a', index: i, status: i === 6 ? 'skipped' : 'done', attempts: 1, runs: 1, version: version(i), counts: { in: 1, out: 1, rejected: 0, dropped: 0 } });
  await putObject(s3, BUCKET, 'ds/_windows/wf/r1/000001.json', JSON.stringify({ entries: Array.from({ length: N }, (_, i) => (i === 7 ? { ...entry(7), status: 'failed', error: 'first' } : entry(i))) }));
  await putObject(s3, BUCKET, 'ds/_windows/wf/r1/000002.json', JSON.stringify({ entries: [{ ...entry(5), runs: 2 }, { ...entry(7), runs: 2 }] }));
}

function writeManifest(i: number): Promise<void> {
  const keys = partitionKeys('', 'ds', 'a', id(i), version(i));
  return putObject(s3, BUCKET, keys.manifest, JSON.stringify({
    output: { url: `s3://${BUCKET}/${keys.output}`, sha256: `sha-${i}-${FILLER}` }, counts: { in: 1, out: 1, rejected: 0, dropped: 0 },
    codeVersion: '1', contentVersion: version(i), run: { workflowId: 'wf', runId: 'r1' },
  }));
}

describe('streamRunManifest', () => {
  let whole: RunManifest;

  it('writes every committed partition in plan order, later windows superseding earlier ones', async () => {
    await env().run(acts().streamRunManifest, request('ds/_runs/wf/whole.json'));
    whole = await getJson<RunManifest>(s3, `s3://${BUCKET}/ds/_runs/wf/whole.json`);
    expect(whole.committed.a.map((c) => c.partition)).toEqual(Array.from({ length: N }, (_, i) => id(i)).filter((_, i) => i !== 5));
    const six = whole.committed.a.find((c) => c.partition === id(6))!;
    expect([six.name, six.result, six.sha256 === `sha-6-${FILLER}`]).toEqual(['o-6.avro', 'reused', true]);
    expect(whole.committed.a.find((c) => c.partition === id(7))?.result).toBe('computed');
    expect(whole.committed.a[0]).toMatchObject({ name: 'o-0.avro', result: 'computed', contentVersion: version(0), output: `s3://${BUCKET}/${partitionKeys('', 'ds', 'a', id(0), version(0)).output}` });
    expect(whole.failures).toEqual([{ stage: 'a', partition: id(5), name: 'o-5.avro', error: 'boom', attempts: 1, runs: 2 }]);
    expect(whole.blocked).toEqual([]);
    expect(whole).toMatchObject({ kind: 'partflow.run', version: 2, workflowId: 'wf', runId: 'r1', status: 'partial' });
    // Nothing reads the window results after the manifest: they are gone, and the manifest stays.
    expect(await listObjects(s3, BUCKET, 'ds/_windows/wf/r1/')).toEqual([]);
    expect(await objectExists(s3, BUCKET, 'ds/_runs/wf/whole.json')).toBe(true);
    await putWindows();
  });

  it('resumes a cancelled attempt from its checkpoint, reading only what it had not uploaded, to the same manifest', async () => {
    const first = env();
    const beats: (Partial<ManifestCheckpoint> & { phase?: string })[] = [];
    first.on('heartbeat', (d: Partial<ManifestCheckpoint>) => {
      beats.push(d);
      if (d.parts && d.parts.length >= 1) first.cancel();
    });
    await expect(first.run(acts().streamRunManifest, request('ds/_runs/wf/resumed.json'))).rejects.toBeInstanceOf(CancelledFailure);
    // Before the first part, the heartbeats name the phase.
    expect(beats.slice(0, 2).map((b) => b.phase)).toEqual(['reading the plan', `reading window results under s3://${BUCKET}/ds/_windows/wf/r1/`]);
    const cp = beats.filter((b) => b.parts && b.parts.length >= 1).pop() as ManifestCheckpoint;
    expect(cp.uploadId).toBeTruthy();
    expect(cp.next).toBeGreaterThan(200);
    expect(cp.next).toBeLessThan(N);
    // What the first attempt uploaded is not read again: those partition manifests are gone now.
    const uploaded = cp.next - 2; // the head and the stage's opening come first
    await Promise.all(Array.from({ length: uploaded }, (_, i) => s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: partitionKeys('', 'ds', 'a', id(i), version(i)).manifest }))));
    const second = env(cp);
    const resumedBeats: ManifestCheckpoint[] = [];
    second.on('heartbeat', (d: ManifestCheckpoint) => resumedBeats.push(d));
    await second.run(acts().streamRunManifest, request('ds/_runs/wf/resumed.json'));
    expect(resumedBeats[0].uploadId).toBe(cp.uploadId);
    expect(resumedBeats[resumedBeats.length - 1].parts.length).toBeGreaterThan(1);
    const resumed = await getJson<RunManifest>(s3, `s3://${BUCKET}/ds/_runs/wf/resumed.json`);
    expect(resumed.writtenAt).toBe(cp.writtenAt);
    expect({ ...resumed, writtenAt: '' }).toEqual({ ...whole, writtenAt: '', manifest: resumed.manifest });
    // Done once: a further attempt finds the manifest and returns.
    await expect(env(cp).run(acts().streamRunManifest, request('ds/_runs/wf/resumed.json'))).resolves.toBe(`s3://${BUCKET}/ds/_runs/wf/resumed.json`);
  }, 60_000);

  it('takes output, checksum and computing run from the window results when they carry them, reading no partition manifest', async () => {
    // Versions no partition manifest exists for: a read would fail the activity with 404.
    const entries: SavedEntry[] = [0, 1, 2].map((i) => ({
      stage: 'a', index: i, status: i === 1 ? 'skipped' : 'done', attempts: 1, runs: 1, version: `9-${i}`, counts: { in: 3, out: 2, rejected: 1, dropped: 0 },
      output: { url: `s3://${BUCKET}/out-${i}.avro`, sha256: `sum-${i}`, codeVersion: '7' }, computedBy: { workflowId: 'earlier', runId: `run-${i}` },
    }));
    await putObject(s3, BUCKET, 'ds/_windows/wf/r2/000001.json', JSON.stringify({ entries }));
    const req = { ...request('ds/_runs/wf/by-ref.json'), windowsPrefix: 'ds/_windows/wf/r2/' };
    await env().run(acts().streamRunManifest, req);
    const m = await getJson<RunManifest>(s3, `s3://${BUCKET}/ds/_runs/wf/by-ref.json`);
    expect(m.committed.a).toEqual([0, 1, 2].map((i) => ({
      partition: id(i), name: `o-${i}.avro`, output: `s3://${BUCKET}/out-${i}.avro`, manifest: `s3://${BUCKET}/${partitionKeys('', 'ds', 'a', id(i), `9-${i}`).manifest}`,
      sha256: `sum-${i}`, counts: { in: 3, out: 2, rejected: 1, dropped: 0 }, codeVersion: '7', contentVersion: `9-${i}`, result: i === 1 ? 'reused' : 'computed',
      workflowId: 'earlier', runId: `run-${i}`, attempts: 1,
    })));
  });

  it("lists a cancelled run's unfinished partitions as cancelled, and blocked only what a failure held back", async () => {
    const stages = [{ name: 'a', after: ['raw'], version: '1' }, { name: 'b', after: ['a'], version: '1' }];
    const partitions = [0, 1, 2].map((i) => ({ id: id(i), name: `o-${i}.avro`, pieces: [], rawVersion: 'src-x' }));
    await putObject(s3, BUCKET, 'ds/_plans/c.json', JSON.stringify({ kind: 'partflow.plan', version: 2, bucket: BUCKET, targetPrefix: '', dataset: 'ds', partitions, stages }));
    const done = (stage: string, i: number): SavedEntry => ({
      stage, index: i, status: 'done', attempts: 1, runs: 1, version: `9-${stage}${i}`, counts: { in: 1, out: 1, rejected: 0, dropped: 0 },
      output: { url: `s3://${BUCKET}/out-${stage}${i}.avro`, sha256: 'x', codeVersion: '1' }, computedBy: { workflowId: 'wf', runId: 'r3' },
    });
    // 0: a was cancelled, so its window saved b blocked; 1: a failed, b blocked; 2: both done.
    const entries: SavedEntry[] = [
      { stage: 'b', index: 0, status: 'blocked', attempts: 0, runs: 0 },
      { stage: 'a', index: 1, status: 'failed', attempts: 1, runs: 1, error: 'boom' }, { stage: 'b', index: 1, status: 'blocked', attempts: 0, runs: 0 },
      done('a', 2), done('b', 2),
    ];
    await putObject(s3, BUCKET, 'ds/_windows/wf/r3/000001.json', JSON.stringify({ entries }));
    const base = request('ds/_runs/wf/cancelled.json');
    const stage = { output: '', succeeded: 1, skipped: 0, failed: 0, blocked: 0, records: { in: 1, out: 1, rejected: 0, dropped: 0 }, failures: [] };
    const summary = { ...base.summary, status: 'cancelled', partitions: 3, stages: { a: { ...stage, failed: 1, cancelled: 1 }, b: { ...stage, blocked: 1, cancelled: 1 } } } as unknown as IngestSummary;
    await env().run(acts().streamRunManifest, { ...base, planKey: 'ds/_plans/c.json', windowsPrefix: 'ds/_windows/wf/r3/', summary });
    const m = await getJson<RunManifest>(s3, `s3://${BUCKET}/ds/_runs/wf/cancelled.json`);
    expect(m.blocked).toEqual([{ stage: 'b', partition: id(1), name: 'o-1.avro' }]);
    expect(m.cancelled).toEqual([{ stage: 'a', partition: id(0), name: 'o-0.avro' }, { stage: 'b', partition: id(0), name: 'o-0.avro' }]);
    expect(m.failures.map((f) => `${f.stage} ${f.name}`)).toEqual(['a o-1.avro']);
  });
});
