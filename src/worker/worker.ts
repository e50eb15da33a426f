import { DefaultLogger, LogEntry, LogLevel, makeTelemetryFilterString, NativeConnection, Runtime, TunerHolder, Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import path from 'node:path';
import { createActivities } from '../../activities';
import { FailureTypes } from '../../activities/deps';
import { Config } from '../config';
import { envInteger } from '../config/errors';
import type { Logger } from 'pino';
import { logger } from '../log';
import { withErrorFields } from '../log/error-fields';
import { PipelineDefinition, RAW_STAGE } from '../pipeline/types';
import { PipelineRegistry } from '../pipeline/registry';
import { s3Client } from '../storage/client';
import { connectNativeTemporal, isNamespaceNotFound, namespaceNotFoundError } from '../temporal/connect';
import { describeConnection } from '../temporal/connection';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { partitionMetrics } from '../metrics';
import { metricsPort, MetricsServer, startMetricsServer } from '../metrics/server';
import { freePort } from '../stack/process';
import { BalancedActivitySlots } from './balance';
import { checkWorkerSettings, shutdownGraceMs, temporalLogLevel } from './settings';
import { bundleWorkflowsAt, cachedWorkflowBundle } from './workflow-bundle';
import { probeS3, recheckS3 } from './s3-probe';
import { RefusalWatch } from './refusals';
import { workerIdentity } from './identity';

export interface WorkerOptions {
  config: Config;
  pipelines: PipelineDefinition[];
  taskQueue?: string;
  /** Activities run at once on this worker. */
  concurrency?: number;
  /** A pre-built workflow bundle (tests share one); otherwise workflows/ is bundled at start. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /**
   * false: an activity-only worker (no workflow bundle, no search-attribute check); the extra
   * processes of a multi-process worker are, since one process runs the workflow tasks.
   */
  workflows?: boolean;
  /**
   * false: with PARTFLOW_METRICS_PORT, collect metrics (and the SDK's) but serve no port: a
   * multi-process worker's supervisor serves them for all its processes.
   */
  metricsServer?: boolean;
  /**
   * false: activities that this worker's workflow tasks schedule are never handed straight back
   * to it (eager dispatch, on in the dev server) but go through the task queue to any worker.
   * A multi-process worker needs that: otherwise the one process running workflows takes up to
   * three new partitions per workflow task, and the others idle.
   */
  eagerActivities?: boolean;
  /**
   * Activity slots shared out with the other processes of a multi-process worker (its
   * `concurrency` is the per-process maximum); default: a fixed number of slots.
   */
  activitySlots?: BalancedActivitySlots;
}

export const WORKFLOWS_PATH = require.resolve('../../workflows');

export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowsAt(WORKFLOWS_PATH);
}

/** partflow's own workflows, bundled once per version of their code and kept beside it (see workflow-bundle.ts). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  const root = path.dirname(path.dirname(WORKFLOWS_PATH));
  return cachedWorkflowBundle({
    workflowsPath: WORKFLOWS_PATH,
    sourceDirs: ['workflows', 'src', 'activities'].map((d) => path.join(root, d)),
    cacheDir: path.join(root, '.cache'),
  });
}

/** How long after PARTFLOW_SHUTDOWN_GRACE a stopping worker waits for its cancelled partitions to hand over. */
export const SHUTDOWN_HANDOVER_MS = 15_000;

let runtimeInstalled = false;

/**
 * Routes the Temporal SDK's own logs into pino, at warn unless PARTFLOW_TEMPORAL_LOG_LEVEL says
 * otherwise, and exports its metrics in Prometheus text at prometheusAddress. The runtime is
 * installed once per process: returns false when it already was (then these options are not used).
 */
export function installRuntime(opts: { prometheusAddress?: string } = {}): boolean {
  if (runtimeInstalled) return false;
  runtimeInstalled = true;
  const level: LogLevel = temporalLogLevel();
  Runtime.install({
    logger: new DefaultLogger(level, sdkLogFunction(logger().child({ component: 'temporal-sdk' }))),
    telemetryOptions: {
      logging: coreLogging(level),
      ...(opts.prometheusAddress ? { metrics: { prometheus: { bindAddress: opts.prometheusAddress } } } : {}),
    },
  });
  return true;
}

/**
 * The SDK's Rust core logs to the console by itself unless told to forward: raw coloured lines
 * (its poll retries while Temporal is down, dozens a minute) beside partflow's JSON. Forwarded,
 * they go through the logger above. Core's crates log at PARTFLOW_TEMPORAL_LOG_LEVEL; the other
 * Rust crates under it (gRPC, HTTP/2) at error, as the SDK's default has them.
 */
export function coreLogging(level: LogLevel): { forward: Record<string, never>; filter: string } {
  return { forward: {}, filter: makeTelemetryFilterString({ core: level, other: 'ERROR' }) };
}

/** SDK warnings about what partflow does on purpose: logged at debug. */
const NOT_WARNINGS = /^No workflows registered, not polling for workflow tasks/;

/**
 * Writes the SDK's log entries to pino. The SDK logs failures ("Workflow failed", "Activity
 * failed") as `error` in their meta, which pino would print as {}: they go out as their type,
 * message and cause chain instead, with stacks when pino logs at debug.
 */
export function sdkLogFunction(log: Logger): (e: LogEntry) => void {
  return (e) => {
    const meta = withErrorFields((e.meta ?? {}) as Record<string, unknown>, { stack: log.isLevelEnabled('debug') });
    // Only partflow's own activity-only workers (the extra processes of a multi-process worker,
    // `workflows: false`) register no workflows, on purpose: another process polls for them.
    const fn = NOT_WARNINGS.test(e.message) ? log.debug
      : e.level === 'ERROR' ? log.error : e.level === 'WARN' ? log.warn : e.level === 'INFO' ? log.info : log.debug;
    fn.call(log, meta, e.message);
  };
}

/** With PARTFLOW_METRICS_PORT: the runtime with SDK metrics on a loopback port, and the /metrics server. */
async function startMetrics(serve: boolean): Promise<{ server?: MetricsServer; sdkAddress?: string }> {
  const port = metricsPort();
  if (port === undefined) {
    installRuntime();
    return {};
  }
  const sdkAddress = `127.0.0.1:${await freePort()}`;
  const withSdk = installRuntime({ prometheusAddress: sdkAddress });
  if (!withSdk) logger().warn('the Temporal runtime was installed before the worker: /metrics has partflow\'s metrics only');
  if (!serve) return withSdk ? { sdkAddress } : {};
  const server = await startMetricsServer(port, { sdkAddress: withSdk ? sdkAddress : undefined, host: process.env.PARTFLOW_METRICS_HOST || undefined });
  logger().info({ port: server.port }, 'serving Prometheus metrics at /metrics');
  return { server, ...(withSdk ? { sdkAddress } : {}) };
}

/** This worker's partition series, at 0 until their first event (see partitionMetrics.declare). */
function declareMetrics(registry: PipelineRegistry): void {
  const pipelines = registry.names().map((name) => ({ name, stages: [RAW_STAGE, ...registry.get(name)!.info.stages.map((s) => s.name)] }));
  partitionMetrics.declare(pipelines, [...Object.values(FailureTypes), 'Cancelled', 'Error']);
}

/** The most activities one worker process may run at once (--concurrency, PARTFLOW_WORKER_CONCURRENCY). */
export const MAX_WORKER_CONCURRENCY = 1000;

/** Activities run at once per worker process: PARTFLOW_WORKER_CONCURRENCY, default 8, checked as --concurrency is. */
export function workerConcurrency(env: NodeJS.ProcessEnv = process.env): number {
  return envInteger(env, 'PARTFLOW_WORKER_CONCURRENCY', { min: 1, max: MAX_WORKER_CONCURRENCY, fallback: 8 });
}

/** "Namespace x is not found." says neither where nor why it was looked for: say both. */
function namespaceProblem(config: Config, err: unknown): unknown {
  return isNamespaceNotFound(err) ? namespaceNotFoundError(config.temporal) : err;
}

/** The SDK's defaults for the other task types, which a tuner must name too. */
function balancedTuner(activities: BalancedActivitySlots): TunerHolder {
  return {
    workflowTaskSlotSupplier: { type: 'fixed-size', numSlots: 40 },
    activityTaskSlotSupplier: activities,
    localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: 100 },
    nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 100 },
  };
}

/**
 * A partflow worker: the ingest workflows plus the activities of the given pipelines. Pipelines
 * are checked here (DAG, schemas), and the namespace's search attributes are registered or their
 * absence reported, so a bad set-up stops the worker before it takes work.
 */
export async function createWorker(opts: WorkerOptions): Promise<{ worker: Worker; connection: NativeConnection; registry: PipelineRegistry; refusals: RefusalWatch; metrics?: MetricsServer; sdkMetricsAddress?: string }> {
  checkWorkerSettings();
  if (opts.activitySlots === undefined && opts.concurrency === undefined) workerConcurrency();
  const workflows = opts.workflows ?? true;
  const grace = shutdownGraceMs();
  const registry = new PipelineRegistry(opts.pipelines);
  const s3 = s3Client(opts.config.s3);
  const s3Info = await probeS3(s3, opts.config);
  // Only now the Temporal runtime (with the metrics): once installed, its log forwarding keeps
  // the process alive until a connection made and closed shuts it down, so a worker refused
  // above must not have installed it (a library caller's process would not end).
  const { server: metrics, sdkAddress } = await startMetrics(opts.metricsServer ?? true);
  if (metricsPort() !== undefined) declareMetrics(registry);
  const connection = await connectNativeTemporal(opts.config.temporal).catch(async (err) => {
    await metrics?.close();
    throw err;
  });
  // An ingest upserts partflow's search attributes; without them its workflow task would fail
  // and retry forever, so a worker refuses to start on a namespace that lacks them.
  try {
    if (workflows) await ensureSearchAttributes(connection.operatorService, { namespace: opts.config.temporalNamespace, address: opts.config.temporalAddress });
  } catch (err) {
    await connection.close();
    await metrics?.close();
    throw namespaceProblem(opts.config, err);
  }
  const concurrency = opts.activitySlots?.max ?? opts.concurrency ?? workerConcurrency();
  const refusals = new RefusalWatch({ recheck: () => recheckS3(s3, opts.config) });
  const worker = await Worker.create({
    connection,
    namespace: opts.config.temporalNamespace,
    taskQueue: opts.taskQueue ?? opts.config.taskQueue,
    identity: workerIdentity(),
    // Without a workflow bundle the SDK polls activity tasks only.
    ...(workflows ? { workflowBundle: opts.workflowBundle ?? (await workflowBundle()) } : {}),
    activities: createActivities({ config: opts.config, s3, registry, refusals }),
    ...(opts.activitySlots ? { tuner: balancedTuner(opts.activitySlots) } : { maxConcurrentActivityTaskExecutions: concurrency }),
    ...(opts.eagerActivities === false ? { maxEagerActivityReservationsPerWorkflowTask: 0 } : {}),
    // Heartbeats carry partition checkpoints; the server should see each within seconds.
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
    shutdownGraceTime: grace,
    // After the grace the SDK cancels running partitions; they then hand over their last
    // checkpoint (a heartbeat the server confirms, within 10 s). Something that ignores the
    // cancel beyond that must not keep the worker from stopping: run() then fails (run.ts).
    shutdownForceTime: grace + SHUTDOWN_HANDOVER_MS,
  }).catch(async (err) => {
    await connection.close();
    await metrics?.close();
    throw namespaceProblem(opts.config, err);
  });
  // S3 refusing the running worker as the probe above would: it stops polling, as on SIGTERM, for
  // every caller (`up`, a library's own loop); run.ts and `up` also say why and exit 1.
  refusals.onRefused(() => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
  });
  logger().info({ temporal: describeConnection(opts.config.temporal), s3: s3Info.endpoint, s3Credentials: s3Info.credentials, taskQueue: opts.taskQueue ?? opts.config.taskQueue, pipelines: registry.names(), concurrency, workflows }, 'worker ready');
  return { worker, connection, registry, refusals, ...(metrics ? { metrics } : {}), ...(sdkAddress ? { sdkMetricsAddress: sdkAddress } : {}) };
}
