import { ListMultipartUploadsCommand, CreateMultipartUploadCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Type } from 'avsc';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { Config, loadConfig } from '../../src/config';
import { PROJECT_ROOT } from '../../src/config/paths';
import { PartitionManifest } from '../../src/manifest/partition';
import { IngestSummary, RunManifest } from '../../src/manifest/run';
import { IngestInput } from '../../src/pipeline/input';
import { startS3, startTemporal } from '../../src/stack/embedded';
import { freePort, Managed } from '../../src/stack/process';
import { s3Client } from '../../src/storage/client';
import { decodeUrl, fetchTree, getJson, sha256 } from '../helpers/s3';
import { abortUploads, staleUploads } from '../../src/tools/gc';
import { faultyS3 } from '../helpers/faulty-s3';
import { runCli } from '../helpers/cli';
import { temporalText } from '../helpers/temporal-text';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { REJECT_MARKER } = require('../fixtures/slow-pipelines.js') as { REJECT_MARKER: string };

/**
 * Faults on a stack of this file's own (so that servers can be stopped), with workers as
 * separate processes (so that they can be killed with SIGKILL). Every wait is bounded. Each
 * worker is one process (PARTFLOW_WORKER_PROCESSES=1): the tests read its log for the attempts it
 * ran; worker-processes.test.ts covers a supervisor's kill -9.
 */
const BUCKET = 'faults';
const PARTITIONS = 3;
const RECORDS = 50_000; // ~19 MB per partition, ~14 MB of output: two checkpoints each at 5 MiB parts
let cfg: Config;
let dataDir: string;
let temporal: Managed;
let s3server: Managed;
let uiPort: number;
let s3: S3Client;
let client: Client;
let conn: Connection;
const workers: ChildProcess[] = [];

function startWorker(name: string, env: Record<string, string> = {}): { child: ChildProcess; log: string } {
  const log = path.join(dataDir, `worker-${name}.log`);
  const child = spawn('node', ['dist/src/cli/main.js', 'worker', '--pipelines', 'test/fixtures/slow-pipelines.js'], {
    cwd: PROJECT_ROOT, stdio: 'ignore',
    env: {
      ...process.env, TEMPORAL_ADDRESS: cfg.temporalAddress, AWS_ENDPOINT_URL_S3: cfg.s3.endpoint, PARTFLOW_TASK_QUEUE: cfg.taskQueue,
      PARTFLOW_BUCKET: BUCKET, PARTFLOW_PART_SIZE: String(5 * 1024 * 1024), PARTFLOW_LOG_FILE: log, PARTFLOW_LOG_LEVEL: 'info',
      PARTFLOW_WORKER_CONCURRENCY: '2', PARTFLOW_WORKER_PROCESSES: '1', ...env,
    },
  });
  workers.push(child);
  return { child, log };
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function logLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Sends SIGTERM and waits (bounded) for the process to exit; returns its exit code. */
function terminated(child: ChildProcess, ms: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the worker did not exit within ${ms} ms of SIGTERM`)), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** The result, retrying the long poll through server restarts. */
async function result(workflowId: string, ms = 240_000): Promise<IngestSummary> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return (await client.workflow.getHandle(workflowId).result()) as IngestSummary;
    } catch (err) {
      if (Date.now() > deadline || (err as Error).name === 'WorkflowFailedError') throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function input(target: string, extra: Partial<IngestInput> = {}): IngestInput {
  return { pipeline: 'slowcopy', source: `s3://${BUCKET}/big/`, target: `s3://${BUCKET}/${target}/`, dataset: 'big', maxParallel: 1, heartbeatTimeoutSeconds: 5, splitBytes: 64 * 1024 * 1024, ...extra };
}

async function start(id: string, inp: IngestInput): Promise<string> {
  const workflowId = `${id}-${process.pid}`;
  await client.workflow.start('ingest', { taskQueue: cfg.taskQueue, workflowId, args: [inp], workflowExecutionTimeout: '10m' });
  return workflowId;
}

async function sameBytes(a: string, b: string): Promise<number> {
  const ta = await fetchTree(s3, a);
  const tb = await fetchTree(s3, b);
  const keys = [...ta.keys()].filter((k) => k.endsWith('.avro')).sort();
  expect([...tb.keys()].filter((k) => k.endsWith('.avro')).sort()).toEqual(keys);
  for (const k of keys) expect(sha256(tb.get(k)!)).toBe(sha256(ta.get(k)!));
  return keys.length;
}

let clean: IngestSummary;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-faults-'));
  uiPort = await freePort();
  cfg = loadConfig({
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await freePort()}`,
    PARTFLOW_TASK_QUEUE: 'faults', PARTFLOW_BUCKET: BUCKET,
  });
  [temporal, s3server] = await Promise.all([startTemporal(cfg, { dataDir, uiPort }), startS3(cfg, { dataDir, uiPort })]);
  s3 = s3Client(cfg.s3);
  conn = await Connection.connect({ address: cfg.temporalAddress });
  client = new Client({ connection: conn });

  // Sources: Avro objects of barely compressible records, so outputs span several 5 MiB parts.
  const type = Type.forSchema({ type: 'record', name: 'Big', fields: [{ name: 'id', type: 'long' }, { name: 'payload', type: 'string' }] } as never);
  let seed = 42;
  const rand = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e3779b9) | 0) >>> 0);
  for (let p = 0; p < PARTITIONS; p++) {
    const enc = new ContainerEncoder(type, JSON.stringify(type.schema()), { codec: 'null', sync: syncMarkerFor(`big-${p}`) });
    const parts = [enc.header()];
    const bytes = Buffer.alloc(272);
    for (let i = 0; i < RECORDS; i++) {
      for (let j = 0; j < bytes.length; j += 4) bytes.writeUInt32LE(rand(), j);
      const b = enc.add({ id: p * RECORDS + i, payload: bytes.toString('base64') });
      if (b) parts.push(b);
    }
    parts.push(enc.flush()!);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `big/part-${p}.avro`, Body: Buffer.concat(parts) }));
  }
  startWorker('clean');
  clean = await result(await start('clean', input('clean')));
}, 300_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => killed(w)));
  await conn?.close();
  await Promise.all([temporal?.stop(), s3server?.stop()]);
  if (!process.env.PARTFLOW_KEEP_TEST_DATA) fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('faults on the real stack', () => {
  it('a clean run commits every partition with checkpoints along the way', () => {
    expect(clean.status).toBe('completed');
    expect(clean.stages.copy.records).toEqual({ in: PARTITIONS * RECORDS, out: PARTITIONS * RECORDS, rejected: 0, dropped: 0 });
    expect(logLines(path.join(dataDir, 'worker-clean.log')).filter((l) => l.includes('"msg":"checkpoint"')).length).toBeGreaterThanOrEqual(PARTITIONS * 2);
    expect(logLines(path.join(dataDir, 'worker-clean.log')).filter((l) => l.includes('resuming partition'))).toEqual([]);
  });

  /** Runs an ingest while killing workers (-9) as soon as the server holds a new checkpoint; returns the result and kills. */
  async function ingestWithKills(name: string, inp: IngestInput): Promise<{ r: IngestSummary; kills: number }> {
    await Promise.all(workers.splice(0).map((w) => killed(w)));
    const id = await start(name, inp);
    let kills = 0;
    // Up to three kills, each as soon as the server holds a new checkpoint of a running
    // partition (seen in the pending activity's heartbeat details), so that it lands mid-partition.
    const seenCheckpoints = new Set<string>();
    for (let round = 0; round < 3; round++) {
      const w = startWorker(`${name}-${round}`);
      const seen = await until(`a new checkpoint in round ${round}`, 90_000, async () => {
        const desc = await client.workflow.getHandle(id).describe();
        if (desc.status.name !== 'RUNNING') return 'closed';
        for (const a of desc.raw.pendingActivities ?? []) {
          const p = a.heartbeatDetails?.payloads?.[0];
          const cp = p && (defaultPayloadConverter.fromPayload(p) as { checkpoint?: { identity: string; position: { blockOffset: number } } }).checkpoint;
          const key = cp && `${cp.identity}@${cp.position.blockOffset}`;
          if (key && !seenCheckpoints.has(key)) {
            seenCheckpoints.add(key);
            return 'checkpoint';
          }
        }
        return undefined;
      });
      await killed(w.child);
      if (seen === 'closed') break;
      kills++;
    }
    startWorker(`${name}-final`);
    return { r: await result(id), kills };
  }

  async function resumedManifests(r: IngestSummary, stage: string): Promise<PartitionManifest[]> {
    const run = await getJson<RunManifest>(s3, r.manifest);
    expect(run.committed[stage]).toHaveLength(r.partitions);
    const manifests = await Promise.all(run.committed[stage].map((c) => getJson<PartitionManifest>(s3, c.manifest)));
    return manifests.filter((m) => m.resumedFrom && m.resumedFrom.records > 0 && m.resumedFrom.position.blockOffset > 0);
  }

  /** Attempts of a run's workers that resumed from a checkpoint at a non-zero offset (from their logs). */
  function resumedAttempts(name: string): { stage: string; position: { blockOffset: number }; counts: { in: number } }[] {
    return fs.readdirSync(dataDir).filter((f) => f.startsWith(`worker-${name}-`))
      .flatMap((f) => logLines(path.join(dataDir, f)))
      .filter((l) => l.includes('"msg":"resuming partition from checkpoint"'))
      .map((l) => JSON.parse(l))
      .filter((e) => e.position.blockOffset > 0 && e.counts.in > 0);
  }

  it('kill -9 of the worker mid-partition: the next attempt resumes from the checkpoint and the bytes are the same', async () => {
    const { r, kills } = await ingestWithKills('killed', input('killed'));
    expect(kills).toBeGreaterThanOrEqual(1);
    expect(r.status).toBe('completed');
    expect(r.stages.copy.records).toEqual(clean.stages.copy.records);
    expect(await sameBytes(clean.stages.copy.output, r.stages.copy.output)).toBe(PARTITIONS);
    expect(resumedAttempts('killed').length).toBeGreaterThanOrEqual(1);
    for (const m of await resumedManifests(r, 'copy')) {
      expect(m.run.attempt).toBeGreaterThan(1);
      expect(m.counts.in).toBe(RECORDS);
    }
  }, 300_000);

  it('a worker lost mid-partition with no attempts left: the failure names the partition and says what happened', async () => {
    await Promise.all(workers.splice(0).map((w) => killed(w)));
    const id = await start('lost', input('lost', { pipeline: 'slowcopy-once', dataset: 'lost', waitForRetry: '0' }));
    const w = startWorker('lost-0');
    await until('a checkpoint of a running partition', 90_000, async () => {
      const desc = await client.workflow.getHandle(id).describe();
      return (desc.raw.pendingActivities ?? []).some((a) => {
        const p = a.heartbeatDetails?.payloads?.[0];
        return p && (defaultPayloadConverter.fromPayload(p) as { checkpoint?: unknown }).checkpoint;
      });
    });
    await killed(w.child);
    startWorker('lost-final');
    const r = await result(id);
    expect(r.status).toBe('partial');
    expect(r.stages.copy.failures).toHaveLength(1);
    // Temporal's own text is "activity Heartbeat timeout", which names nothing.
    expect(r.stages.copy.failures[0]).toMatchObject({
      attempts: 1,
      error: expect.stringMatching(/^stage "copy" partition p-[0-9a-f]+ \(part-\d\.avro[^)]*\): no heartbeat for 5s: the worker running it stopped or lost its connection to Temporal \(each such loss uses one of the retry policy's attempts; the next attempt resumes from the partition's last checkpoint\)$/),
    });
  }, 180_000);

  it('status names a partition whose worker was killed, before Temporal notices at the heartbeat timeout', async () => {
    await Promise.all(workers.splice(0).map((w) => killed(w)));
    const id = await start('silent', input('silent', { dataset: 'silent', heartbeatTimeoutSeconds: 60 }));
    const w = startWorker('silent-0');
    const handle = client.workflow.getHandle(id);
    try {
      await until('a heartbeat of a running partition', 90_000, async () => (await handle.describe()).raw.pendingActivities?.some((a) => a.lastHeartbeatTime));
      // A live worker's partitions are not named.
      expect((await runCli(cfg, 'status', id)).stdout).not.toContain('no heartbeat');
      await killed(w.child);
      const killedAt = Date.now();
      const line = await until('status naming the silent partition', 40_000, async () => {
        const out = (await runCli(cfg, 'status', id)).stdout;
        return out.split('\n').find((l) => l.includes('no heartbeat for'));
      });
      expect(Date.now() - killedAt).toBeLessThan(30_000);
      expect(line).toMatch(new RegExp(`^  no heartbeat for \\d+ s: copy:p-[0-9a-f]{12}, attempt 1, on worker ${w.child.pid}@.* — its worker is likely gone or frozen \\(a live one heartbeats every 2 s\\); Temporal gives the partition to another worker at its heartbeat timeout \\(60 s\\)$`));
      const json = JSON.parse((await runCli(cfg, 'status', id, '--json')).stdout) as { silent?: { workflowId: string; attempt: number; heartbeatTimeoutMs: number }[] };
      expect(json.silent).toEqual([expect.objectContaining({ workflowId: id, attempt: 1, heartbeatTimeoutMs: 60_000 })]);
    } finally {
      await handle.terminate('test done').catch(() => undefined);
    }
  }, 180_000);

  it('kill -9 during the import of a CSV: the import resumes at a record boundary with the same bytes', async () => {
    // Two partitions of ~55 MB of CSV: each takes seconds to import, so kills land inside one.
    const rows = 150_000;
    const lines = ['id,payload'];
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e3779b9) | 0) >>> 0);
    const bytes = Buffer.alloc(272);
    for (let i = 0; i < rows * 2; i++) {
      for (let j = 0; j < bytes.length; j += 4) bytes.writeUInt32LE(rand(), j);
      lines.push(`${i},"${bytes.toString('base64')}"`);
    }
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'csv/big.csv', Body: lines.join('\n') + '\n' }));
    const csvInput = (target: string) => ({ ...input(target), pipeline: 'copy', source: `s3://${BUCKET}/csv/`, partitionRecords: rows });
    startWorker('csv-clean');
    const cleanCsv = await result(await start('csv-clean', csvInput('csv-clean')));
    const { r, kills } = await ingestWithKills('csv-killed', csvInput('csv-killed'));
    expect(kills).toBeGreaterThanOrEqual(1);
    expect(r.status).toBe('completed');
    expect(r.stages.raw.records).toEqual({ in: rows * 2, out: rows * 2, rejected: 0, dropped: 0 });
    expect(await sameBytes(cleanCsv.stages.raw.output, r.stages.raw.output)).toBe(2);
    expect(await sameBytes(cleanCsv.stages.copy.output, r.stages.copy.output)).toBe(2);
    // The last kill may land after a partition's upload completed; that attempt's successor then
    // (correctly) starts over, so resumes are counted from the workers' logs, not the manifests.
    const resumed = resumedAttempts('csv-killed');
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    expect(resumed.some((e) => e.stage === 'raw')).toBe(true);
  }, 400_000);

  it('SIGTERM of a worker mid-partition: the upload stays, the next attempt resumes from the checkpoint it sent, same bytes; no record data in Temporal', async () => {
    await Promise.all(workers.splice(0).map((w) => killed(w)));
    startWorker('rejects-clean');
    const cleanRejects = await result(await start('rejects-clean', input('rejects-clean', { pipeline: 'slowreject' })));
    expect(cleanRejects.stages.copy.records.rejected).toBe(PARTITIONS * RECORDS / 1000);
    await Promise.all(workers.splice(0).map((w) => killed(w)));

    const id = await start('sigterm', input('sigterm', { pipeline: 'slowreject' }));
    const handle = client.workflow.getHandle(id);
    // Everything the server shows of the activities while they run (heartbeat details, the last
    // failure), as text.
    const seen: string[] = [];
    const checkpointOnServer = async () => {
      const desc = await handle.describe();
      for (const a of desc.raw.pendingActivities ?? []) {
        // The failure of the attempt before: on a slow machine a later attempt may end the
        // activity, and the history then keeps only the last failure.
        seen.push(temporalText(a.heartbeatDetails), temporalText(a.lastFailure));
        const p = a.heartbeatDetails?.payloads?.[0];
        const cp = p && (defaultPayloadConverter.fromPayload(p) as { checkpoint?: { position: { blockOffset: number }; counts: { in: number } } }).checkpoint;
        if (cp && cp.position.blockOffset > 0) return cp;
      }
      return undefined;
    };
    // The first worker crawls from record 30,000 of each partition: stopped after the first
    // checkpoint (about record 19,000), it is in the middle of the partition, whatever the timing.
    const first = startWorker('sigterm-0', { PF_CRAWL_AFTER: '30000', PARTFLOW_SHUTDOWN_GRACE: '1s' });
    const cp = await until('a checkpoint on the server', 90_000, checkpointOnServer);
    expect(await terminated(first.child, 60_000)).toBe(0);
    expect(logLines(first.log).some((l) => l.includes('worker shutting down: uploads left for the next attempt'))).toBe(true);
    // Nothing aborted the upload: the next attempt resumes it.
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'sigterm/' }));
    expect((uploads.Uploads ?? []).map((u) => u.Key)).toEqual([expect.stringMatching(/^sigterm\/big\/copy\/p-[0-9a-f]{12}\/1-[0-9a-f]+\.avro$/)]);
    const last = await checkpointOnServer();
    expect(last!.counts.in).toBeGreaterThanOrEqual(cp.counts.in);

    startWorker('sigterm-1');
    let running = true;
    const watching = (async () => {
      while (running) {
        await checkpointOnServer().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const r = await result(id).finally(() => { running = false; });
    await watching;
    expect(r.status).toBe('completed');
    expect(r.stages.copy.records).toEqual(cleanRejects.stages.copy.records);
    // Outputs and rejects alike.
    expect(await sameBytes(cleanRejects.stages.copy.output, r.stages.copy.output)).toBe(PARTITIONS * 2);
    const resumed = resumedAttempts('sigterm');
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    expect(resumed[0].counts.in).toBe(last!.counts.in);
    const manifests = await resumedManifests(r, 'copy');
    expect(manifests).toHaveLength(1);
    expect(manifests[0].run.attempt).toBe(2);

    // No record data in Temporal: not in the history (inputs, results, failures), not in any
    // heartbeat seen. The rejected records' text and their reasons are in the rejects objects only.
    const rejects = (await Promise.all(manifests.map((m) => decodeUrl(s3, m.rejects!.url)))).flat() as { record: string; reason: string }[];
    expect(rejects.length).toBe(RECORDS / 1000);
    expect(rejects.every((x) => x.reason.startsWith(REJECT_MARKER))).toBe(true);
    const text = temporalText(await handle.fetchHistory()) + seen.join('\n');
    expect(text).toContain('"checkpoint"');
    expect(text).toContain('WorkerShutdown');
    expect(text).not.toContain(REJECT_MARKER);
    const leaked = rejects.map((x) => (JSON.parse(x.record) as { payload: string }).payload).filter((payload) => text.includes(payload));
    expect(leaked).toEqual([]);
  }, 400_000);

  it('restarting the Temporal server mid-run on the same database: the ingest completes', async () => {
    const id = await start('temporal-restart', input('temporal-restart'));
    await until('the first committed partition', 60_000, async () => (await fetchTree(s3, `s3://${BUCKET}/temporal-restart/big/`)).size > 0 || undefined);
    await temporal.stop();
    // A new UI port: the old one, free while Temporal was down, may have been taken since.
    temporal = await startTemporal(cfg, { dataDir, uiPort: await freePort() });
    const r = await result(id);
    expect(r.status).toBe('completed');
    expect(await sameBytes(clean.stages.copy.output, r.stages.copy.output)).toBe(PARTITIONS);
  }, 300_000);

  it('stopping the S3 server for several seconds mid-run: the ingest completes after it returns', async () => {
    const id = await start('s3-outage', input('s3-outage'));
    await until('work under way', 60_000, () => fs.readdirSync(dataDir).filter((f) => f.startsWith('worker-'))
      .some((f) => logLines(path.join(dataDir, f)).some((l) => l.includes('s3-outage-'))) || undefined);
    await s3server.stop();
    await new Promise((r) => setTimeout(r, 4000));
    s3server = await startS3(cfg, { dataDir, uiPort });
    const r = await result(id);
    expect(r.status).toBe('completed');
    expect(r.stages.copy.records).toEqual(clean.stages.copy.records);
    expect(await sameBytes(clean.stages.copy.output, r.stages.copy.output)).toBe(PARTITIONS);
  }, 300_000);

  it('two workers racing on the same partitions: each partition gets exactly one committed result', async () => {
    startWorker('racer');
    const inp = input('race', { maxParallel: 3 });
    const [a, b] = await Promise.all([start('race-a', inp), start('race-b', inp)]);
    const [ra, rb] = await Promise.all([result(a), result(b)]);
    for (const r of [ra, rb]) {
      expect(r.status).toBe('completed');
      expect(r.stages.copy.records).toEqual(clean.stages.copy.records);
    }
    const tree = await fetchTree(s3, ra.stages.copy.output);
    const manifests = [...tree.keys()].filter((k) => k.endsWith('.json'));
    expect(manifests).toHaveLength(PARTITIONS);
    for (const k of manifests) {
      const m = JSON.parse(tree.get(k)!.toString()) as PartitionManifest;
      expect([a, b]).toContain(m.run.workflowId);
      expect(sha256(tree.get(k.replace(/\.json$/, '.avro'))!)).toBe(m.output.sha256);
    }
    expect(await sameBytes(clean.stages.copy.output, ra.stages.copy.output)).toBe(PARTITIONS);
  }, 300_000);

  it('partflow gc --uploads aborts uploads that failed attempts left behind', async () => {
    await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'leftover/part-00000.avro' }));
    const stale = await staleUploads(s3, BUCKET, 'leftover/', 0);
    expect(stale.map((u) => u.key)).toEqual(['leftover/part-00000.avro']);
    expect(await staleUploads(s3, BUCKET, 'leftover/', 3_600_000)).toEqual([]);
    expect(await abortUploads(s3, BUCKET, stale)).toBe(1);
    const left = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'leftover/' }));
    expect(left.Uploads ?? []).toEqual([]);
  });

  it('partflow gc --uploads --prefix finds uploads on a server that lists uploads by whole key only (MinIO)', async () => {
    // MinIO answers ListMultipartUploads with a prefix that is not a whole object key with no uploads.
    const minioLike = faultyS3(cfg.s3, () => (cmd) => (cmd instanceof ListMultipartUploadsCommand && cmd.input.Prefix ? Promise.resolve({ Uploads: [], IsTruncated: false }) : undefined));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'minio-like/a/part-00000.avro' }));
    await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'other/part-00000.avro' }));
    const stale = await staleUploads(minioLike, BUCKET, 'minio-like/', 0);
    expect(stale.map((u) => [u.key, u.uploadId])).toEqual([['minio-like/a/part-00000.avro', UploadId]]);
    expect(await abortUploads(minioLike, BUCKET, stale)).toBe(1);
    expect(await staleUploads(s3, BUCKET, 'minio-like/', 0)).toEqual([]);
  });

  it('partflow gc --uploads sends its prefix to a server that filters by it (AWS), and still matches it itself', async () => {
    const prefixes: (string | undefined)[] = [];
    const seen = faultyS3(cfg.s3, () => (cmd) => {
      if (cmd instanceof ListMultipartUploadsCommand) prefixes.push(cmd.input.Prefix);
      return undefined;
    });
    await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'aws-like/a/part-00000.avro' }));
    await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'aws-like-not/part-00000.avro' }));
    const stale = await staleUploads(seen, BUCKET, 'aws-like/', 0, { serverPrefix: true });
    expect(stale.map((u) => u.key)).toEqual(['aws-like/a/part-00000.avro']);
    expect(prefixes).toEqual(['aws-like/']);
    await staleUploads(seen, BUCKET, 'aws-like/', 0);
    expect(prefixes).toEqual(['aws-like/', undefined]);
    await abortUploads(s3, BUCKET, [...stale, ...(await staleUploads(s3, BUCKET, 'aws-like-not/', 0))]);
  });
});
