/**
 * Records workflow histories for the replay test (test/replay/replay.test.ts): starts a private
 * embedded stack on free ports, runs a few ingests that cover the workflow's paths (one fails at
 * planning), and writes each history as JSON into test/replay/histories/. Run it at each release
 * (`npm run record-histories`) so CI replays what the released workers wrote; keep the old files too.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Config, loadConfig } from '../src/config';
import { PartitionError, PipelineDefinition, INHERIT_SCHEMA } from '../src/pipeline/types';
import { copyPipeline } from '../src/pipelines/copy';
import { startEmbeddedStack } from '../src/stack/embedded';
import { freePort, toolPath } from '../src/stack/process';
import { s3Client } from '../src/storage/client';
import { createWorker } from '../src/worker/worker';

const OUT = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../test/replay/histories' : '../test/replay/histories');
const BUCKET = 'partflow';

const calls = new Map<string, number>();
/** Fails partition b.jsonl's first two attempts (so it fails until retried); rejects label "bad"; "dead.jsonl" always fails. */
const flaky: PipelineDefinition = {
  name: 'flaky',
  retry: { maximumAttempts: 2, initialIntervalSeconds: 0.2, maximumIntervalSeconds: 1 },
  stages: [
    {
      name: 'map', schema: INHERIT_SCHEMA, version: '1',
      transform: (r: { id: number; label: string }, ctx) => {
        if (ctx.recordIndex === 0) {
          const n = (calls.get(ctx.partitionName) ?? 0) + 1;
          calls.set(ctx.partitionName, n);
          if (ctx.partitionName === 'b.jsonl' && n <= 2) throw new PartitionError(`lookup service unavailable (call ${n})`);
          if (ctx.partitionName === 'dead.jsonl') throw new PartitionError('lookup service gone');
        }
        if (r.label === 'bad') throw new Error(`label "bad" is not allowed (id ${r.id})`);
        return r;
      },
    },
    { name: 'enrich', schema: INHERIT_SCHEMA, version: '1', transform: (r) => r },
  ],
};

/** Holds each partition's first record up to 30 s: the recorder cancels the run while its activity runs. */
const held: PipelineDefinition = {
  name: 'held',
  stages: [{
    name: 'copy', schema: INHERIT_SCHEMA, version: '1',
    transform: async (r, ctx) => {
      if (ctx.recordIndex === 0) await new Promise((res) => setTimeout(res, 30_000).unref());
      return r;
    },
  }],
};

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The history as the Temporal CLI writes it (the JSON every SDK's replayer reads). The CLI, not
 * historyToJSON: with this lockfile @temporalio/common's protobufjs differs from @temporalio/proto's,
 * and historyToJSON throws "type must be a Type".
 */
function save(cfg: Config, workflowId: string): void {
  // The replayer needs the workflow id (child ids derive from it): the file name carries it, '/' as '+'.
  const name = workflowId.replace(/\//g, '+');
  const json = execFileSync(toolPath('temporal'), [
    'workflow', 'show', '--address', cfg.temporalAddress, '--namespace', cfg.temporalNamespace, '--workflow-id', workflowId, '--output', 'json',
  ], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  fs.writeFileSync(path.join(OUT, `${name}.json`), json);
  console.log(`${name}.json: ${(json.length / 1024).toFixed(0)} KiB`);
}

/** The ingests named on the command line (`npm run record-histories -- failed`), or all of them. */
const only = process.argv.slice(2);
const CASES = ['small', 'large', 'retry', 'partial', 'failed', 'cancelled'];
const wanted = (name: string) => !only.length || only.includes(name);

async function main(): Promise<void> {
  const unknown = only.filter((n) => !CASES.includes(n));
  if (unknown.length) throw new Error(`unknown history ${unknown.join(', ')}: record any of ${CASES.join(', ')}`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'partflow-record-'));
  // Only these settings: a developer's AWS_PROFILE or Temporal profile must not redirect the private stack.
  const cfg = loadConfig({
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, TEMPORAL_NAMESPACE: 'default',
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await freePort()}`, PARTFLOW_BUCKET: BUCKET, PARTFLOW_TASK_QUEUE: 'record-histories',
  });
  const stack = await startEmbeddedStack(cfg, { dataDir, uiPort: await freePort() });
  try {
    const s3 = s3Client(cfg.s3);
    const put = (key: string, lines: object[]) =>
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: lines.map((l) => JSON.stringify(l)).join('\n') + '\n' }));
    await put('small/a.jsonl', [{ id: 1, label: 'one' }, { id: 2, label: 'two' }]);
    for (let i = 0; i < 24; i++) await put(`large/o${String(i).padStart(2, '0')}.jsonl`, [{ id: i, label: `l${i}` }]);
    await put('retry/a.jsonl', [{ id: 1, label: 'one' }, { id: 2, label: 'bad' }]);
    await put('retry/b.jsonl', [{ id: 3, label: 'three' }]);
    await put('partial/a.jsonl', [{ id: 1, label: 'one' }]);
    await put('partial/dead.jsonl', [{ id: 2, label: 'two' }]);

    const { worker, connection } = await createWorker({ config: cfg, pipelines: [copyPipeline, flaky, held] });
    const running = worker.run();
    const conn = await Connection.connect({ address: cfg.temporalAddress });
    const client = new Client({ connection: conn, namespace: cfg.temporalNamespace });
    const start = (id: string, input: object) =>
      client.workflow.start('ingest', { taskQueue: cfg.taskQueue, workflowId: id, workflowExecutionTimeout: '10m', args: [input] });
    const target = `s3://${BUCKET}/out/`;
    try {
      fs.mkdirSync(OUT, { recursive: true });
      if (wanted('small')) {
        const small = await start('small', { pipeline: 'copy', source: `s3://${BUCKET}/small/`, target, dataset: 'small' });
        await small.result();
        save(cfg, small.workflowId);
      }

      if (wanted('large')) {
        // 24 partitions, 10 per window: three ingestWindow children (`<id>/w-000001` …).
        const large = await start('large', { pipeline: 'copy', source: `s3://${BUCKET}/large/`, target, dataset: 'large', pack: false, partitionsPerWorkflow: 10 });
        await large.result();
        save(cfg, large.workflowId);
        save(cfg, 'large/w-000001');
      }

      if (wanted('retry')) {
        const retry = await start('retry', { pipeline: 'flaky', source: `s3://${BUCKET}/retry/`, target, dataset: 'retry', pack: false, waitForRetry: '2m' });
        await until('waiting-for-retry', 60_000, async () => ((await retry.query<{ phase: string }>('progress')).phase === 'waiting-for-retry' ? true : undefined));
        await retry.executeUpdate('retryFailed', { args: [{ partitions: ['b.jsonl'] }] });
        await retry.result();
        save(cfg, retry.workflowId);
      }

      if (wanted('partial')) {
        const partial = await start('partial', { pipeline: 'flaky', source: `s3://${BUCKET}/partial/`, target, dataset: 'partial', pack: false, waitForRetry: '1s' });
        const summary = await partial.result() as { status: string };
        if (summary.status !== 'partial') throw new Error(`expected a partial run, got ${summary.status}`);
        save(cfg, partial.workflowId);
      }

      if (wanted('failed')) {
        // Fails at planning: no worker registers the pipeline.
        const failed = await start('failed', { pipeline: 'nosuch', source: `s3://${BUCKET}/small/`, target, dataset: 'failed' });
        if (await failed.result().then(() => true, () => false)) throw new Error('expected the run of an unknown pipeline to fail');
        save(cfg, failed.workflowId);
      }

      if (wanted('cancelled')) {
        // Cancelled while a partition's activity runs: what the workflow does with that activity.
        const c = await start('cancelled', { pipeline: 'held', source: `s3://${BUCKET}/small/`, target, dataset: 'cancelled' });
        await until('its copy activity running', 60_000, async () => ((await c.query<{ stages: Record<string, { running: number }> }>('progress')).stages.copy?.running ? true : undefined));
        await c.cancel();
        if (await c.result().then(() => true, () => false)) throw new Error('expected the cancelled run to end cancelled');
        save(cfg, c.workflowId);
      }
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
      await conn.close();
    }
  } finally {
    await stack.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
