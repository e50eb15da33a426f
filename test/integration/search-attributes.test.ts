process.env.PARTFLOW_LOG_LEVEL ??= 'error';

import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { Type } from 'avsc';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Config, loadConfig } from '../../src/config';
import { IngestSummary } from '../../src/manifest/run';
import { builtinPipelines } from '../../src/pipelines';
import { startIngest } from '../../src/client';
import { ensureBucket, startTemporal } from '../../src/stack/embedded';
import { freePort, Managed, toolPath } from '../../src/stack/process';
import { SEARCH_ATTRIBUTES } from '../../src/stack/search-attributes';
import { s3Client } from '../../src/storage/client';
import { ensureSearchAttributes, searchAttributeProblems, SearchAttributesMissing } from '../../src/temporal/search-attributes';
import { bundleWorkflows, createWorker } from '../../src/worker/worker';
import { encodeFile } from '../helpers/avro';
import { runCliWith } from '../helpers/cli';
import { runOf } from '../helpers/runs';
import { decodeUrl } from '../helpers/s3';
import { stackInfo } from '../helpers/stack';

// A Temporal dev server of its own, started WITHOUT partflow's search attributes, as a user's
// own cluster may be; S3 is the test stack's versitygw.
const BUCKET = 'it-bare-sa';
const ALL_MISSING = Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) => ({ name, type }));
let dataDir: string;
let temporal: Managed;
let cfg: Config;
let conn: Connection;

function configFor(namespace: string): Config {
  return loadConfig({
    TEMPORAL_ADDRESS: cfg.temporalAddress, TEMPORAL_NAMESPACE: namespace, AWS_ENDPOINT_URL_S3: cfg.s3.endpoint,
    PARTFLOW_TASK_QUEUE: cfg.taskQueue, PARTFLOW_BUCKET: BUCKET,
  });
}

/** A fresh namespace, which has no custom search attributes of its own. */
async function newNamespace(namespace: string): Promise<void> {
  await conn.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  for (let i = 0; ; i++) {
    try {
      await conn.operatorService.listSearchAttributes({ namespace });
      return;
    } catch (err) {
      if (i >= 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-bare-temporal-'));
  cfg = loadConfig({
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, AWS_ENDPOINT_URL_S3: stackInfo().s3Endpoint,
    PARTFLOW_TASK_QUEUE: `bare-sa-${process.pid}`, PARTFLOW_BUCKET: BUCKET,
  });
  temporal = await startTemporal(cfg, { dataDir, uiPort: await freePort(), searchAttributes: false });
  conn = await Connection.connect({ address: cfg.temporalAddress });
  await ensureBucket(s3Client(cfg.s3), BUCKET);
});

afterAll(async () => {
  await conn?.close();
  await temporal?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("a Temporal namespace without partflow's search attributes", () => {
  it('a starting worker registers them, and an ingest then completes', async () => {
    expect(await searchAttributeProblems(conn.operatorService, cfg.temporalNamespace)).toEqual(ALL_MISSING);
    const type = Type.forSchema({ type: 'record', name: 'Item', fields: [{ name: 'id', type: 'int' }, { name: 'name', type: 'string' }] });
    const records = [{ id: 1, name: 'one' }, { id: 2, name: 'two' }, { id: 3, name: 'three' }];
    await s3Client(cfg.s3).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'incoming/items/a.avro', Body: encodeFile(type, records) }));

    const { worker, connection } = await createWorker({ config: cfg, pipelines: builtinPipelines, workflowBundle: await bundleWorkflows() });
    const running = worker.run();
    try {
      expect(await searchAttributeProblems(conn.operatorService, cfg.temporalNamespace)).toEqual([]);
      const client = new Client({ connection: conn, namespace: cfg.temporalNamespace });
      const handle = await startIngest(client, cfg, { pipeline: 'copy', source: `s3://${BUCKET}/incoming/items/`, target: `s3://${BUCKET}/datasets/` });
      // Bounded: without the attributes the first workflow task would be retried until this runs out.
      let timer: NodeJS.Timeout | undefined;
      const summary = await Promise.race([
        handle.result() as Promise<IngestSummary>,
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('ingest did not complete within 90 s')), 90_000); }),
      ]).finally(() => clearTimeout(timer));
      expect(summary.status).toBe('completed');
      expect(summary.stages.copy.records).toEqual({ in: 3, out: 3, rejected: 0, dropped: 0 });
      expect(await decodeUrl(s3Client(cfg.s3), (await runOf(s3Client(cfg.s3), summary)).committed.copy[0].output)).toEqual(records);
      const desc = await handle.describe();
      expect(desc.searchAttributes.PartflowStatus).toEqual(['completed']);
      expect(desc.searchAttributes.PartflowPipeline).toEqual(['copy']);
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
  });

  it('`partflow ingest` registers them before it starts the run', async () => {
    const namespace = `cli-${process.pid}`;
    await newNamespace(namespace);
    expect(await searchAttributeProblems(conn.operatorService, namespace)).toEqual(ALL_MISSING);
    // At the CLI's default log level: what it did is a note for people, not a JSON log line.
    const r = await runCliWith(configFor(namespace), { PARTFLOW_LOG_LEVEL: 'info' }, 'ingest', 'copy', '--source', `s3://${BUCKET}/incoming/items/`, '--workflow-id', `cli-sa-${process.pid}`);
    expect(r.stderr).toContain(`started cli-sa-${process.pid}\n`);
    expect(r.stderr).toContain(`note: registered partflow's search attributes in namespace ${namespace}: PartflowPipeline, `);
    expect(r.stderr).not.toMatch(/^\{"level"/m);
    expect(r.code).toBe(0);
    expect(await searchAttributeProblems(conn.operatorService, namespace)).toEqual([]);
  });

  it('two workers starting at once on a bare namespace both go ahead', async () => {
    const namespace = `race-${process.pid}`;
    await newNamespace(namespace);
    const other = await Connection.connect({ address: cfg.temporalAddress });
    try {
      const results = await Promise.all([conn, other].map((c) => ensureSearchAttributes(c.operatorService, { namespace })));
      expect(results.flat().sort()).toEqual(expect.arrayContaining(Object.keys(SEARCH_ATTRIBUTES).sort()));
      expect(await searchAttributeProblems(conn.operatorService, namespace)).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('where the server will not register them, refuses with each attribute and the exact command that creates it', async () => {
    const namespace = `refused-${process.pid}`;
    await newNamespace(namespace);
    let added = 0;
    // What a server with an authorizer answers; a dev server always allows it.
    const refusing = {
      listSearchAttributes: conn.operatorService.listSearchAttributes.bind(conn.operatorService),
      addSearchAttributes: async () => {
        added++;
        throw Object.assign(new Error('7 PERMISSION_DENIED: Request unauthorized.'), { code: 7 });
      },
    } as unknown as Parameters<typeof ensureSearchAttributes>[0];
    const err = await ensureSearchAttributes(refusing, { namespace, address: cfg.temporalAddress }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(SearchAttributesMissing);
    expect(added).toBe(1);
    const msg = (err as Error).message;
    expect(msg).toContain(`Temporal namespace "${namespace}" at ${cfg.temporalAddress} lacks search attributes`);
    expect(msg).toContain('registering them failed: 7 PERMISSION_DENIED: Request unauthorized.');
    const commands = msg.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('temporal operator'));
    expect(commands).toEqual(Object.entries(SEARCH_ATTRIBUTES).map(([name, type]) =>
      `temporal operator search-attribute create --name ${name} --type ${type} --namespace ${namespace} --address ${cfg.temporalAddress}`));
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) expect(msg).toContain(`  ${name} (${type}): missing`);

    // The commands are the fix: run them as printed, and the same check passes without registering anything.
    for (const c of commands) execFileSync(toolPath('temporal'), c.split(' ').slice(1), { timeout: 30_000 });
    for (let i = 0; i < 100 && (await searchAttributeProblems(conn.operatorService, namespace)).length; i++) await new Promise((r) => setTimeout(r, 100));
    await expect(ensureSearchAttributes(refusing, { namespace, address: cfg.temporalAddress })).resolves.toEqual([]);
    expect(added).toBe(1);
  });
});
