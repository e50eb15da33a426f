import { Command, InvalidArgumentError } from 'commander';
import { defaultPayloadConverter } from '@temporalio/common';
import path from 'node:path';
import { loadConfig, DEFAULTS } from '../config';
import { DATA_DIR } from '../config/paths';
import { connectClient, startIngest, waitWithProgress, WaitingForRetry } from '../client';
import { IngestInput, INPUT_LIMITS } from '../pipeline/input';
import { readAvroRecords } from '../io/avro-object-reader';
import { s3Client } from '../storage/client';
import { parseS3Url } from '../storage/s3url';
import { builtinPipelines } from '../pipelines';
import { createWorker } from '../worker/worker';
import { startEmbeddedStack } from '../stack/embedded';
import { installShutdownGuard } from '../stack/shutdown';
import { seedSample, SAMPLE } from '../stack/sample';
import type { IngestSummary, RunManifest } from '../manifest/run';
import { getObjectBuffer } from '../storage/objects';
import type { PipelineDefinition } from '../pipeline/types';
import { isCodecName } from '../avro/codecs';
import { checkSchemas, COMPAT_MODES, CompatMode } from '../avro/compat';
import { listSchemaNames, SCHEMAS_DIR } from '../avro/schemas';
import { FlatFormat } from '../formats/flat';
import { importFlatFiles } from '../tools/import';
import { inspectObject } from '../tools/inspect';
import { abortUploads, parseDuration, staleUploads } from '../tools/gc';
import { verifyManifests, verifyObject, verifyStageDirs } from '../tools/verify';
import { partitionHistory, runManifests } from '../tools/history';
import { matchPartitions, readPlan } from '../tools/partition-match';

const ENV_HELP = `
Environment:
  TEMPORAL_ADDRESS       Temporal frontend host:port          (default ${DEFAULTS.temporalAddress})
  TEMPORAL_NAMESPACE     Temporal namespace                   (default ${DEFAULTS.temporalNamespace})
  PARTFLOW_TASK_QUEUE    task queue of workers and ingests    (default ${DEFAULTS.taskQueue})
  AWS_ENDPOINT_URL_S3    S3 endpoint URL                      (default ${DEFAULTS.s3Endpoint})
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION        (embedded defaults: ${DEFAULTS.accessKeyId} / *** / ${DEFAULTS.s3Region})
  PARTFLOW_BUCKET        bucket the embedded stack creates    (default ${DEFAULTS.bucket})
  PARTFLOW_LOG_LEVEL     pino log level                       (default info)`;

function int(name: string, min: number, max: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };
}

/** A byte size: 1048576, 512KiB, 64MiB, 1GiB (k/M/G are taken as binary too). */
function bytesArg(name: string, min: number, max: number) {
  return (v: string) => {
    const m = /^(\d+)\s*(?:([kKmMgG])i?[bB]?)?$/.exec(v.trim());
    const n = m ? Number(m[1]) * 1024 ** ({ k: 1, m: 2, g: 3 }[(m[2] ?? '').toLowerCase() as 'k'] ?? 0) : NaN;
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a size from ${min} bytes to ${max / 1024 ** 3}GiB, like 64MiB`);
    return n;
  };
}

function keyValue(v: string, acc: Record<string, string>) {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`expected key=value, got "${v}"`);
  return { ...acc, [v.slice(0, i)]: v.slice(i + 1) };
}

function printSummary(s: IngestSummary, out = process.stdout): void {
  out.write(`\nIngest ${s.status}: ${s.partitions} partitions of ${s.dataset} (pipeline ${s.pipeline})\n`);
  for (const [name, st] of Object.entries(s.stages)) {
    out.write(`  ${name.padEnd(8)} ${String(st.succeeded).padStart(5)} ok ${String(st.failed).padStart(3)} failed ${String(st.skipped).padStart(4)} reused | records in ${st.records.in}, out ${st.records.out}, rejected ${st.records.rejected}, dropped ${st.records.dropped}\n`);
    out.write(`           ${st.output}\n`);
    for (const f of st.failures.slice(0, 5)) out.write(`           ! ${f.partition}: ${f.error}\n`);
  }
  out.write(`  outputs:  ${s.outputPrefix}\n  manifest: ${s.manifest}\n`);
}

function printWaiting(w: WaitingForRetry, out = process.stdout): void {
  out.write(`\n${w.workflowId} has ${w.failed.length} failed partition(s) and waits for a retry:\n`);
  for (const f of w.failed.slice(0, 20)) out.write(`  ! ${f}\n`);
  out.write(`Fix the cause, then: partflow retry ${w.workflowId}   (or: partflow partitions ${w.workflowId} --status failed)\n`);
}

function table(rows: Record<string, unknown>[], out = process.stdout): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const cell = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const width = cols.map((c) => Math.min(80, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))));
  out.write(cols.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd() + '\n');
  for (const r of rows) out.write(cols.map((c, i) => cell(r[c]).slice(0, 80).padEnd(width[i])).join('  ').trimEnd() + '\n');
}

const program = new Command();
program
  .name('partflow')
  .description('Durable batch data pipelines over immutable Avro objects in S3, run by Temporal.')
  .addHelpText('after', ENV_HELP)
  .showHelpAfterError();

program
  .command('up')
  .description('start the embedded stack (Temporal dev server, versitygw, a worker), run the sample ingest, and keep it all up until Ctrl-C')
  .option('--data-dir <dir>', 'where the stack keeps its state', DATA_DIR)
  .option('--ui-port <port>', 'Temporal UI port', int('ui-port', 1, 65535), Number(process.env.PARTFLOW_UI_PORT || DEFAULTS.temporalUiPort))
  .option('--no-sample', 'do not run the sample ingest')
  .action(async (opts: { dataDir: string; uiPort: number; sample: boolean }) => {
    const cfg = loadConfig();
    const err = process.stderr;
    // Before the first server starts: Ctrl-C during start-up, or a crash later, stops them all.
    const guard = installShutdownGuard(err);
    let worker: Awaited<ReturnType<typeof createWorker>> | undefined;
    let running: Promise<void> | undefined;
    guard.beforeStop(async () => {
      if (worker && worker.worker.getState() === 'RUNNING') worker.worker.shutdown();
      await running?.catch(() => undefined);
      await worker?.connection.close();
    });
    // Keep the terminal for progress; structured logs go to a file unless asked otherwise.
    process.env.PARTFLOW_LOG_FILE ??= path.join(path.resolve(opts.dataDir), 'logs', 'partflow.log');
    err.write(`Starting Temporal dev server (${cfg.temporalAddress}) and versitygw (${cfg.s3.endpoint}); state in ${opts.dataDir}\n`);
    err.write(`Logs: ${process.env.PARTFLOW_LOG_FILE}\n`);
    try {
      const stack = await startEmbeddedStack(cfg, { dataDir: path.resolve(opts.dataDir), uiPort: opts.uiPort });
      worker = await createWorker({ config: cfg, pipelines: builtinPipelines });
      running = worker.worker.run();
      err.write(`Temporal UI: ${stack.uiUrl}\n`);
      if (opts.sample) {
        const s3 = s3Client(cfg.s3);
        const seeded = await seedSample(s3, cfg.bucket);
        err.write(`Sample data: ${seeded.join(', ')}\n`);
        const { client } = await connectClient(cfg);
        const input: IngestInput = { pipeline: 'birdstrikes', source: SAMPLE.source(cfg.bucket), partitionRecords: 2000, maxParallel: 4 };
        const handle = await startIngest(client, cfg, input);
        err.write(`Started ingest ${handle.workflowId}\n  ${stack.uiUrl}/namespaces/${cfg.temporalNamespace}/workflows/${handle.workflowId}\n`);
        const r = await waitWithProgress(handle);
        if (r.status === 'waiting-for-retry') printWaiting(r);
        else printSummary(r);
      }
      err.write(`\nThe stack is up. Temporal UI: ${stack.uiUrl}   S3: ${cfg.s3.endpoint} (bucket ${cfg.bucket})\nPress Ctrl-C to stop.\n`);
      await running;
      await guard.shutdown(0);
    } catch (e) {
      // A start-up that Ctrl-C interrupts fails on its way out; that is no news.
      if (!guard.stopping) err.write(`\nerror: ${(e as Error).message}\n`);
      await guard.shutdown(1);
    }
  });

program
  .command('worker')
  .description('run a worker for the built-in pipelines (and yours, with --pipelines) against TEMPORAL_ADDRESS')
  .option('--concurrency <n>', 'activities at once', int('concurrency', 1, 1000))
  .option('--pipelines <module>', 'a JS module exporting `pipelines` (an array of pipeline definitions) to register too (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .action(async (opts: { concurrency?: number; pipelines: string[] }) => {
    const cfg = loadConfig();
    const extra = opts.pipelines.flatMap((m) => {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const mod = require(path.resolve(m)) as { pipelines?: PipelineDefinition[]; default?: PipelineDefinition[] };
      const list = mod.pipelines ?? mod.default;
      if (!Array.isArray(list)) throw new Error(`${m} does not export a \`pipelines\` array`);
      return list;
    });
    const { worker, connection } = await createWorker({ config: cfg, pipelines: [...builtinPipelines, ...extra], concurrency: opts.concurrency });
    process.on('SIGINT', () => worker.shutdown());
    process.on('SIGTERM', () => worker.shutdown());
    await worker.run();
    await connection.close();
  });

program
  .command('ingest <pipeline>')
  .description('start an ingest workflow')
  .requiredOption('--source <url>', 's3:// URL of the source prefix or object')
  .option('--target <url>', 's3:// URL under which outputs go (default: s3://<source bucket>/datasets/)')
  .option('--dataset <name>', 'dataset name (default: last segment of the source)')
  .option('--partition-records <n>', 'records per raw partition', int('partition-records', INPUT_LIMITS.partitionRecords.min, INPUT_LIMITS.partitionRecords.max))
  .option('--partition-bytes <size>', 'largest packed partition; bigger Avro objects are split (e.g. 64MiB, the default)', bytesArg('partition-bytes', INPUT_LIMITS.partitionBytes.min, INPUT_LIMITS.partitionBytes.max))
  .option('--max-parallel <n>', 'activities in flight at once', int('max-parallel', INPUT_LIMITS.maxParallel.min, INPUT_LIMITS.maxParallel.max))
  .option('--format <fmt>', 'source format: csv, jsonl, json or avro (default: from object names)')
  .option('--param <key=value>', 'pipeline parameter (repeatable), e.g. lookup.airports=s3://…', keyValue, {})
  .option('--wait-for-retry <duration>', 'how long a run with failed partitions waits for a retry, e.g. 3d, 12h, 0 (default 3d)')
  .option('--workflow-id <id>', 'workflow id (default: ingest-<pipeline>-<time>)')
  .option('--wait', 'wait for the result (or for the run to wait for a retry), with a progress bar per stage')
  .option('--json', 'print the result as JSON (with --wait)')
  .action(async (pipeline: string, o: Record<string, unknown>) => {
    const cfg = loadConfig();
    const input: IngestInput = { pipeline, source: o.source as string };
    if (o.target) input.target = o.target as string;
    if (o.dataset) input.dataset = o.dataset as string;
    if (o.partitionRecords) input.partitionRecords = o.partitionRecords as number;
    if (o.partitionBytes) input.partitionBytes = o.partitionBytes as number;
    if (o.maxParallel) input.maxParallel = o.maxParallel as number;
    if (o.format) input.format = o.format as IngestInput['format'];
    if (Object.keys(o.param as object).length) input.params = o.param as Record<string, string>;
    if (o.waitForRetry !== undefined) input.waitForRetry = o.waitForRetry as string;
    const { client, connection } = await connectClient(cfg);
    const handle = await startIngest(client, cfg, input, o.workflowId as string | undefined);
    process.stderr.write(`started ${handle.workflowId}\n`);
    if (o.wait) {
      const summary = await waitWithProgress(handle);
      if (o.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      else if (summary.status === 'waiting-for-retry') printWaiting(summary);
      else printSummary(summary);
      if (summary.status !== 'completed') process.exitCode = 3;
    } else process.stdout.write(handle.workflowId + '\n');
    await connection.close();
  });

program
  .command('status <workflowId>')
  .description("show an ingest's state, progress and, once closed, its result")
  .option('--json', 'print JSON')
  .action(async (workflowId: string, o: { json?: boolean }) => {
    const cfg = loadConfig();
    const { client, connection } = await connectClient(cfg);
    const handle = client.workflow.getHandle(workflowId);
    const desc = await handle.describe();
    const status = desc.status.name;
    let progress: unknown;
    try {
      progress = await handle.query('progress');
    } catch {
      progress = undefined;
    }
    const result = status === 'COMPLETED' ? await handle.result() : undefined;
    if (o.json) process.stdout.write(JSON.stringify({ workflowId, runId: desc.runId, status, progress, result }, null, 2) + '\n');
    else {
      process.stdout.write(`${workflowId}  ${status}  started ${desc.startTime.toISOString()}${desc.closeTime ? `  closed ${desc.closeTime.toISOString()}` : ''}\n`);
      const p = progress as { stages?: Record<string, { total: number; done: number; running: number; failed: number; records: { out: number; rejected: number } }> } | undefined;
      for (const [n, s] of Object.entries(p?.stages ?? {})) {
        process.stdout.write(`  ${n.padEnd(8)} ${s.done}/${s.total} done, ${s.running} running, ${s.failed} failed; ${s.records.out} records out, ${s.records.rejected} rejected\n`);
      }
      if (result) printSummary(result as IngestSummary);
      if (status === 'FAILED') {
        try {
          await handle.result();
        } catch (e) {
          process.stdout.write(`  failure: ${(e as Error & { cause?: Error }).cause?.message ?? (e as Error).message}\n`);
        }
      }
    }
    await connection.close();
  });

program
  .command('retry <workflowId>')
  .description('retry failed partitions (and what they blocked) of a run; a closed run gets a new run that reuses every committed partition')
  .option('--partition <id>', 'only this partition: its id (p-3fa9c1d20b7e) or name (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--stage <name>', 'only failures of this stage (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option('--wait', 'wait for the run, with progress')
  .action(async (workflowId: string, o: { partition: string[]; stage: string[]; wait?: boolean }) => {
    const cfg = loadConfig();
    const { client, connection } = await connectClient(cfg);
    let handle = client.workflow.getHandle(workflowId);
    const desc = await handle.describe();
    if (desc.status.name === 'RUNNING') {
      const res = await handle.executeUpdate<{ requeued: { stage: string; partition: string }[] }, [object]>('retryFailed', { args: [{ partitions: o.partition, stages: o.stage }] });
      process.stdout.write(res.requeued.length ? `re-queued ${res.requeued.length}: ${res.requeued.map((r) => `${r.stage} ${r.partition}`).join(', ')}\n` : 'nothing to retry: no failed partition matches\n');
    } else {
      // The closed run's input, from its history: the new run finds every committed partition and reuses it.
      const history = await handle.fetchHistory();
      const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
      const input = defaultPayloadConverter.fromPayload(started!.input!.payloads![0]) as IngestInput;
      handle = await startIngest(client, cfg, input, `${workflowId}-retry-${Date.now().toString(36)}`);
      process.stdout.write(`${workflowId} is ${desc.status.name.toLowerCase()}; started ${handle.workflowId}, which reuses every committed partition\n`);
    }
    if (o.wait) {
      const r = await waitWithProgress(handle);
      if (r.status === 'waiting-for-retry') printWaiting(r);
      else printSummary(r);
      if (r.status !== 'completed') process.exitCode = 3;
    }
    await connection.close();
  });

program
  .command('partitions <workflowId>')
  .description("a run's partitions per stage: status, attempts, last error, records, duration, output (from Temporal, or with --dataset from the run manifest)")
  .option('--status <status>', 'only pending, running, done, skipped, failed or blocked')
  .option('--stage <name>', 'only this stage')
  .option('--partition <id|name|key>', 'only the partition with this id or name, or that reads this source key')
  .option('--dataset <url>', 's3:// URL of the dataset (<target>/<dataset>/): read the run manifest instead of asking Temporal')
  .option('--json', 'print JSON')
  .action(async (workflowId: string, o: { status?: string; stage?: string; partition?: string; dataset?: string; json?: boolean }) => {
    const statuses = ['pending', 'running', 'done', 'skipped', 'failed', 'blocked'];
    if (o.status && !statuses.includes(o.status)) throw new InvalidArgumentError(`--status must be one of ${statuses.join(', ')}`);
    const cfg = loadConfig();
    let rows: Record<string, unknown>[] = [];
    let planUrl: string | undefined;
    if (!o.dataset) {
      const { client, connection } = await connectClient(cfg);
      const handle = client.workflow.getHandle(workflowId);
      planUrl = (await handle.query<{ plan?: string }>('progress')).plan;
      for (let offset = 0; ; offset += 1000) {
        const page = await handle.query<{ total: number; partitions: Record<string, unknown>[] }, [object]>('partitions', { status: o.status, stage: o.stage, offset, limit: 1000 });
        rows.push(...page.partitions);
        if (offset + 1000 >= page.total) break;
      }
      await connection.close();
      rows = rows.map((p) => ({
        partition: p.partition, name: p.name ?? '', stage: p.stage, status: p.status, attempts: p.attempts, runs: p.runs,
        records: p.records ? `${(p.records as { in: number }).in}>${(p.records as { out: number }).out}` : '', rejected: (p.records as { rejected?: number })?.rejected ?? '',
        ms: p.durationMs ?? '', output: p.outputKey ?? '', error: p.error ?? '',
      }));
    } else {
      const runs = await runManifests(s3Client(cfg.s3), o.dataset, workflowId);
      const run = runs[runs.length - 1];
      if (!run) throw new Error(`no run manifest for ${workflowId} under ${o.dataset}_runs/`);
      planUrl = run.plan;
      for (const [stage, list] of Object.entries(run.committed)) {
        for (const c of list) {
          rows.push({
            partition: c.partition, name: c.name, stage, status: c.result === 'computed' ? 'done' : 'skipped', version: c.contentVersion,
            records: `${c.counts.in}>${c.counts.out}`, rejected: c.counts.rejected, output: c.output, error: '',
          });
        }
      }
      for (const f of run.failures) rows.push({ partition: f.partition, name: f.name, stage: f.stage, status: 'failed', attempts: f.attempts, error: f.error });
      for (const b of run.blocked) rows.push({ partition: b.partition, name: b.name, stage: b.stage, status: 'blocked' });
      rows = rows.filter((r) => (!o.status || r.status === o.status) && (!o.stage || r.stage === o.stage)).sort((a, b) => String(a.name).localeCompare(String(b.name)));
    }
    if (o.partition) {
      const q = o.partition;
      let ids = new Set(rows.filter((r) => r.partition === q || r.name === q).map((r) => r.partition));
      if (ids.size === 0 && planUrl) ids = new Set(matchPartitions(await readPlan(s3Client(cfg.s3), planUrl), q).map((p) => p.id));
      if (ids.size === 0) throw new Error(`no partition of ${workflowId} has the id or name ${q} or reads a source object ${q}`);
      rows = rows.filter((r) => ids.has(r.partition));
    }
    if (o.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    else if (rows.length) table(rows);
    else process.stdout.write('no partitions match\n');
  });

program
  .command('history <datasetUrl>')
  .description('every run that touched a partition of a dataset (s3://bucket/prefix/dataset/), from the immutable manifests')
  .requiredOption('--partition <id|name|key>', 'the partition: its id (p-3fa9c1d20b7e), its name, or a source key it reads')
  .option('--json', 'print JSON')
  .action(async (datasetUrl: string, o: { partition: string; json?: boolean }) => {
    const entries = await partitionHistory(s3Client(loadConfig().s3), datasetUrl, o.partition);
    if (o.json) process.stdout.write(JSON.stringify(entries, null, 2) + '\n');
    else if (entries.length) {
      table(entries.map((e) => ({
        when: e.when, partition: e.partition, name: e.name, stage: e.stage, result: e.result, version: e.contentVersion ?? '', attempts: e.attempts ?? '',
        records: e.counts ? `in ${e.counts.in} out ${e.counts.out} rej ${e.counts.rejected} drop ${e.counts.dropped}` : '',
        workflow: e.workflowId, error: e.error ?? '',
      })));
    } else process.stdout.write(`no run touched ${o.partition} under ${datasetUrl}\n`);
  });

program
  .command('cat <url>')
  .description('print the records of an Avro object as JSON lines')
  .option('--limit <n>', 'stop after n records', int('limit', 0, Number.MAX_SAFE_INTEGER))
  .action(async (url: string, o: { limit?: number }) => {
    const cfg = loadConfig();
    const loc = parseS3Url(url);
    let n = 0;
    for await (const { record } of readAvroRecords(s3Client(cfg.s3), loc.bucket, loc.key)) {
      if (o.limit !== undefined && n >= o.limit) break;
      process.stdout.write(JSON.stringify(record, (_k, v) => (typeof v === 'bigint' ? v.toString() : v && v.type === 'Buffer' ? Buffer.from(v.data).toString('base64') : v)) + '\n');
      n++;
    }
  });

program
  .command('import <from>')
  .description('import local or S3 flat files (csv, jsonl, json) into raw Avro partitions, without Temporal')
  .requiredOption('--to <url>', 's3:// prefix to write part-NNNNN.avro (and _rejects/, _manifests/) under')
  .option('--format <fmt>', 'csv, jsonl or json (default: from file names)')
  .option('--schema <file.avsc>', 'Avro schema to convert records to (default: infer one and print it)')
  .option('--partition-records <n>', 'records per partition', int('partition-records', 1, 10_000_000), 50_000)
  .option('--codec <codec>', 'null, deflate, snappy or zstandard', 'zstandard')
  .action(async (from: string, o: { to: string; format?: string; schema?: string; partitionRecords: number; codec: string }) => {
    if (o.format && !['csv', 'jsonl', 'json'].includes(o.format)) throw new InvalidArgumentError('--format must be csv, jsonl or json');
    if (!isCodecName(o.codec)) throw new InvalidArgumentError('--codec must be null, deflate, snappy or zstandard');
    const cfg = loadConfig();
    const r = await importFlatFiles(s3Client(cfg.s3), {
      from, to: o.to, format: o.format as FlatFormat | undefined, schemaFile: o.schema, partitionRecords: o.partitionRecords, codec: o.codec,
    });
    for (const sc of r.inferredSchemas) process.stdout.write(`${JSON.stringify(sc, null, 2)}\n`);
    process.stderr.write(`imported ${r.partitions} partitions: records in ${r.records.in}, out ${r.records.out}, rejected ${r.records.rejected}\n`);
    for (const u of r.outputs) process.stderr.write(`  ${u}\n`);
  });

program
  .command('inspect <url>')
  .description('show an Avro object: schema, codec, blocks, records, size, sync marker')
  .option('--json', 'print JSON')
  .action(async (url: string, o: { json?: boolean }) => {
    const i = await inspectObject(s3Client(loadConfig().s3), url);
    if (o.json) {
      process.stdout.write(JSON.stringify(i, null, 2) + '\n');
      return;
    }
    const lines = [
      `object:       ${i.url}`, `size:         ${i.size} bytes (header ${i.headerBytes})`, `codec:        ${i.codec}`,
      `records:      ${i.records} in ${i.blocks} blocks (largest ${i.largestBlock.records} records, ${i.largestBlock.bytes} bytes uncompressed)`,
      `uncompressed: ${i.uncompressedBytes} bytes`, `sync marker:  ${i.syncMarker}`,
      ...Object.entries(i.metadata).map(([k, v]) => `meta:         ${k} = ${v}`),
      ...(i.trailingBytes ? [`warning:      ${i.trailingBytes} trailing bytes after the last block`] : []),
      `schema:       ${JSON.stringify(i.schema, null, 2).replace(/\n/g, '\n              ')}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  });

program
  .command('verify <target>')
  .description("decode everything and check manifests' counts and checksums: an s3:// object, a stage directory, or a workflow id")
  .action(async (target: string) => {
    const cfg = loadConfig();
    const s3 = s3Client(cfg.s3);
    let report;
    if (target.startsWith('s3://')) {
      report = target.endsWith('.avro') ? await verifyObject(s3, target) : await verifyStageDirs(s3, [target]);
    } else {
      const { client, connection } = await connectClient(cfg);
      const summary = (await client.workflow.getHandle(target).result()) as IngestSummary;
      await connection.close();
      const loc = parseS3Url(summary.manifest);
      const run = JSON.parse((await getObjectBuffer(s3, loc.bucket, loc.key, 1024 ** 3)).toString('utf8')) as RunManifest;
      report = await verifyManifests(s3, Object.values(run.committed).flatMap((list) => list.map((c) => c.manifest)));
    }
    for (const p of report.problems) process.stdout.write(`PROBLEM ${p}\n`);
    const what = target.endsWith('.avro') ? 'object' : 'partitions';
    process.stdout.write(`verified ${report.checked} ${what}: ${report.problems.length ? `${report.problems.length} problems` : 'all good'}\n`);
    if (report.problems.length) process.exitCode = 1;
  });

program
  .command('gc')
  .description('clean up after failed work: --uploads aborts stale multipart uploads')
  .requiredOption('--uploads', 'abort multipart uploads older than --older-than')
  .option('--bucket <bucket>', 'bucket to sweep', loadConfig().bucket)
  .option('--prefix <prefix>', 'only uploads under this key prefix', '')
  .option('--older-than <duration>', 'age threshold, e.g. 90s, 30m, 24h, 7d', '24h')
  .option('--dry-run', 'list what would be aborted')
  .action(async (o: { bucket: string; prefix: string; olderThan: string; dryRun?: boolean }) => {
    const s3 = s3Client(loadConfig().s3);
    const stale = await staleUploads(s3, o.bucket, o.prefix, parseDuration(o.olderThan));
    for (const u of stale) process.stdout.write(`${o.dryRun ? 'would abort' : 'abort'} s3://${o.bucket}/${u.key} (upload ${u.uploadId}, started ${u.initiated.toISOString()})\n`);
    const n = o.dryRun ? 0 : await abortUploads(s3, o.bucket, stale);
    process.stdout.write(`${stale.length} stale uploads${o.dryRun ? '' : `, ${n} aborted`}\n`);
  });

const schemas = program.command('schemas').description('record schemas in schemas/');
schemas
  .command('check')
  .description('check that every schema version is compatible with all earlier ones (as a schema registry would)')
  .option('--mode <mode>', 'backward, forward or full', 'backward')
  .option('--dir <dir>', 'schema directory', SCHEMAS_DIR)
  .action((o: { mode: string; dir: string }) => {
    if (!(COMPAT_MODES as readonly string[]).includes(o.mode)) throw new InvalidArgumentError('--mode must be backward, forward or full');
    const results = checkSchemas(o.dir, o.mode as CompatMode);
    let bad = 0;
    for (const r of results) {
      if (r.problems.length) {
        bad++;
        for (const p of r.problems) process.stdout.write(`INCOMPATIBLE ${r.name} v${r.version} vs v${r.against}: ${p}\n`);
      } else process.stdout.write(`ok ${r.name} v${r.version} vs v${r.against} (${o.mode})\n`);
    }
    process.stdout.write(`${listSchemaNames(o.dir).length} schemas, ${results.length} checks, ${bad} incompatible\n`);
    if (bad) process.exitCode = 1;
  });

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`partflow: ${e.message}\n`);
  process.exit(1);
});
