import { Command } from 'commander';
import path from 'node:path';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Config, DEFAULTS } from '../../config';
import { envInteger } from '../../config/errors';
import { cliConfig } from '../config';
import { DATA_DIR } from '../../config/paths';
import { connectClient, startIngest, waitWithProgress } from '../../client';
import { IngestInput } from '../../pipeline/input';
import { describeEndpoint, s3Client } from '../../storage/client';
import { WorkerS3StoppedError } from '../../worker/refusals';
import { createWorker } from '../../worker/worker';
import { startEmbeddedStack } from '../../stack/embedded';
import { installShutdownGuard } from '../../stack/shutdown';
import { whenUnexpectedExit } from '../../stack/process';
import { seedSample, SAMPLE } from '../../stack/sample';
import { loadPipelineModules } from '../../api/load-pipelines';
import { int } from '../args';
import { printSummary, printWaiting } from '../print';
import { endpointPathNote } from '../../storage/endpoint-path';

/** The sample's bucket on a store partflow did not start: there, creating buckets is the user's call. */
async function requireBucket(s3: S3Client, cfg: Config): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: cfg.bucket }));
  } catch (e) {
    if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw e;
    throw new Error(`the bucket "${cfg.bucket}" does not exist at ${await describeEndpoint(s3, cfg.s3)}, and up --no-s3 does not create buckets in your store: create it, set PARTFLOW_BUCKET to one that exists, or start with --no-sample${endpointPathNote(cfg.s3.endpoint)}`);
  }
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('start the embedded stack (Temporal dev server, versitygw, a worker), run the sample ingest, and keep it all up until Ctrl-C')
    .option('--pipelines <module>', 'register your pipelines too, from a module exporting `pipelines` (as `partflow worker --pipelines`; repeatable): every worker on the task queue must know every pipeline it is asked to run', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--no-worker', 'start no worker (run `partflow worker --pipelines …` yourself, on the same task queue); implies --no-sample')
    .option('--data-dir <dir>', 'where the stack keeps its state', DATA_DIR)
    .option('--ui-port <port>', `Temporal UI port (default PARTFLOW_UI_PORT, else ${DEFAULTS.temporalUiPort})`, int('ui-port', 1, 65535))
    .option('--sample', 'run the sample ingest (the default, unless --pipelines is given)')
    .option('--no-sample', 'do not run the sample ingest')
    .option('--no-s3', 'start no versitygw: use your own S3 store, which AWS_ENDPOINT_URL_S3 names (unset, with static keys: the embedded stack\'s 127.0.0.1:7070), or AWS through the SDK\'s credential chain (AWS_PROFILE, or PARTFLOW_S3_CREDENTIALS=chain); the sample needs its bucket (PARTFLOW_BUCKET) to exist there')
    .option('--kafka', 'also start a single-node Kafka broker (KRaft) for kafka:// sources; its jars come from `npx partflow setup --kafka`')
    .option('--kafka-port <port>', 'the Kafka broker\'s port on 127.0.0.1 (default PARTFLOW_KAFKA_PORT, else 9092)', int('kafka-port', 1, 65535))
    .action(async (o: { dataDir: string; uiPort?: number; sample?: boolean; worker: boolean; s3: boolean; pipelines: string[]; kafka?: boolean; kafkaPort?: number }) => {
      const cfg = cliConfig();
      // Read here, not as the options' defaults: a bad value must not break every command's registration.
      const port = (name: string, fallback: number) => envInteger(process.env, name, { min: 1, max: 65535, fallback, what: 'a port number (1-65535)' });
      const opts = { ...o, uiPort: o.uiPort ?? port('PARTFLOW_UI_PORT', DEFAULTS.temporalUiPort), kafkaPort: o.kafkaPort ?? port('PARTFLOW_KAFKA_PORT', 9092) };
      // Loaded and checked before anything starts: a module that does not load, or an invalid
      // pipeline, stops `up` with its error, not half-way.
      const pipelines = loadPipelineModules(opts.pipelines);
      const err = process.stderr;
      // Before the first server starts: Ctrl-C during start-up, or a crash later, stops them all.
      const guard = installShutdownGuard(err);
      let worker: Awaited<ReturnType<typeof createWorker>> | undefined;
      let running: Promise<void> | undefined;
      guard.beforeStop(async () => {
        if (worker && worker.worker.getState() === 'RUNNING') worker.worker.shutdown();
        await running?.catch(() => undefined);
        await worker?.connection.close();
      }, () => (worker ? 'worker' : undefined));
      // Keep the terminal for progress; structured logs go to a file unless asked otherwise.
      process.env.PARTFLOW_LOG_FILE ??= path.join(path.resolve(opts.dataDir), 'logs', 'partflow.log');
      err.write(opts.s3
        ? `Starting Temporal dev server (${cfg.temporalAddress}) and versitygw (${cfg.s3.endpoint}); state in ${opts.dataDir}\n`
        : `Starting Temporal dev server (${cfg.temporalAddress}); state in ${opts.dataDir}. S3: ${await describeEndpoint(s3Client(cfg.s3), cfg.s3)}, not started here (--no-s3)\n`);
      err.write(`Logs: ${process.env.PARTFLOW_LOG_FILE}\n`);
      try {
        if (opts.kafka) err.write(`Starting Kafka (127.0.0.1:${opts.kafkaPort})\n`);
        const stack = await startEmbeddedStack(cfg, { dataDir: path.resolve(opts.dataDir), uiPort: opts.uiPort, s3: opts.s3, ...(opts.kafka ? { kafka: { port: opts.kafkaPort } } : {}) });
        // A server that dies under a running stack would leave `up` looking healthy while nothing
        // works: say which, how and where its log is, and stop the rest (exit 1) rather than guess
        // whether a restart is safe.
        whenUnexpectedExit((m, code, signal) => {
          if (guard.stopping) return;
          err.write(`\n${m.name} exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); its log: ${m.logFile}\n`);
          void guard.shutdown(1);
        });
        if (opts.worker) {
          worker = await createWorker({ config: cfg, pipelines });
          let refused: WorkerS3StoppedError | undefined;
          worker.refusals.onRefused((e) => (refused = new WorkerS3StoppedError(e, cfg.taskQueue)));
          running = worker.worker.run().then(() => {
            if (refused) throw refused;
          }, (e: Error) => {
            throw new Error(`the worker stopped: ${e.message} (its log: ${process.env.PARTFLOW_LOG_FILE})`, { cause: e });
          });
          // Whenever it stops on its own (S3 refusing it, a crash), even during the sample ingest: say why and stop the stack.
          running.catch((e: Error) => {
            if (guard.stopping) return;
            err.write(`\nerror: ${e.message}\n`);
            void guard.shutdown(1);
          });
          err.write(`Worker on task queue "${cfg.taskQueue}": pipelines ${pipelines.map((p) => p.name).join(', ')}\n`);
        } else err.write(`No worker: run \`partflow worker --pipelines …\` with PARTFLOW_TASK_QUEUE=${cfg.taskQueue}, TEMPORAL_ADDRESS=${cfg.temporalAddress} and AWS_ENDPOINT_URL_S3=${cfg.s3.endpoint}\n`);
        err.write(`Temporal UI: ${stack.uiUrl}\n`);
        // Your own pipelines' stack need not ingest birdstrikes into your bucket on every start.
        if ((opts.sample ?? opts.pipelines.length === 0) && opts.worker) {
          const s3 = s3Client(cfg.s3);
          // versitygw got the bucket at start; a store of the user's own must have it.
          if (!opts.s3) await requireBucket(s3, cfg);
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
        err.write(`\nThe stack is up. Temporal UI: ${stack.uiUrl}   S3: ${await describeEndpoint(s3Client(cfg.s3), cfg.s3)} (bucket ${cfg.bucket})${stack.kafka ? `   Kafka: kafka://${stack.kafka.bootstrap}/<topic>` : ''}\nPress Ctrl-C to stop.\n`);
        // Without a worker, the servers run until Ctrl-C, which the guard turns into a clean stop.
        await (running ?? new Promise<void>(() => undefined));
        await guard.shutdown(0);
      } catch (e) {
        // A start-up that Ctrl-C interrupts fails on its way out; that is no news.
        if (!guard.stopping) err.write(`\nerror: ${(e as Error).message}\n`);
        await guard.shutdown(1);
      }
    });
}
