/**
 * Running a worker until SIGINT/SIGTERM: the one path for `partflow worker`, the library's
 * runWorker and each process of a multi-process worker.
 */
import { ConfigError } from '../config/errors';
import { logger } from '../log';
import { collectProcessMetrics } from '../metrics/aggregate';
import { PipelineRegistry } from '../pipeline/registry';
import { supervise, WORKER_SLOT_ENV, WorkerMessage } from './supervisor';
import { BalancedActivitySlots, PeersMessage } from './balance';
import { GracefulShutdownPeriodExpiredError } from '@temporalio/worker';
import { userCodeAbandoned, userCodeAwaited } from '../../activities/user-code-wait';
import { createWorker, SHUTDOWN_HANDOVER_MS, workerConcurrency, WorkerOptions } from './worker';
import { CONTACT_PROBE, watchContact } from '../temporal/contact';
import { describeConnection } from '../temporal/connection';
import { checkWorkerSettings, shutdownGraceMs } from './settings';
import { WorkerS3StoppedError } from './refusals';
import { describeEndpoint, s3Client } from '../storage/client';

export interface RunWorkerOptions extends WorkerOptions {
  /**
   * Processes to run (one event loop uses about one core). 1: this process, as it is. More: this
   * process supervises that many copies of itself (process.argv re-run with a marker in the
   * environment, as node's cluster does), each running the same code with its own activities.
   */
  processes?: number;
}

/** This process's slot when a supervisor forked it. */
export function workerSlot(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const v = env[WORKER_SLOT_ENV];
  if (!process.send || v === undefined || v === '') return undefined;
  return Number(v);
}

export async function runWorker(opts: RunWorkerOptions): Promise<void> {
  const slot = workerSlot();
  if (slot !== undefined) return runChild(opts, slot);
  if ((opts.processes ?? 1) <= 1) return runHere(opts);
  // A bad pipeline (a cycle, an unknown stage) or setting fails once, here, rather than in every child.
  new PipelineRegistry(opts.pipelines);
  balanceSlots();
  if (opts.concurrency === undefined) workerConcurrency();
  checkWorkerSettings();
  return supervise({ processes: opts.processes! });
}

async function runHere(opts: WorkerOptions, onReady?: (sdkMetricsAddress?: string) => void, process_?: number, onRefused?: (err: WorkerS3StoppedError) => void): Promise<void> {
  const { worker, connection, metrics, sdkMetricsAddress, refusals } = await createWorker(opts);
  const log = logger().child(process_ === undefined ? {} : { process: process_ });
  const graceMs = shutdownGraceMs();
  const taskQueue = opts.taskQueue ?? opts.config.taskQueue;
  let refused: WorkerS3StoppedError | undefined;
  // S3 refuses the worker now as it would refuse it at start: createWorker stops it, as on SIGTERM
  // (running partitions get the grace, then resume elsewhere); then it fails (the process exits 1).
  refusals.onRefused((err) => {
    refused = new WorkerS3StoppedError(err, taskQueue);
    void describeS3(opts).then((where) => log.error({ ...where, taskQueue, graceMs }, refused!.message));
    onRefused?.(refused);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (worker.getState() !== 'RUNNING') return;
    log.info({ signal, graceMs }, `${signal}: stopping the worker; running partitions have ${graceMs / 1000}s to finish, then resume on their next attempt`);
    worker.shutdown();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // A closed terminal (an SSH session without nohup) hangs up: stop as gracefully as on SIGTERM,
  // not at once with partitions left to their heartbeat timeout.
  process.on('SIGHUP', stop);
  // The SDK's polls retry in silence while Temporal is away: say when it goes and comes back.
  const temporal = opts.config.temporalAddress;
  const contact = watchContact({
    intervalMs: CONTACT_PROBE.intervalMs,
    probe: () => connection.withDeadline(Date.now() + CONTACT_PROBE.timeoutMs, () => connection.workflowService.getSystemInfo({})),
    onLost: (error) => log.warn({ temporal, connection: describeConnection(opts.config.temporal), error }, `lost contact with Temporal at ${temporal}: ${error}; the worker keeps retrying`),
    onBack: (downMs) => log.info({ temporal, downMs }, `back in contact with Temporal at ${temporal}`),
  });
  try {
    const running = worker.run();
    onReady?.(sdkMetricsAddress);
    await running.catch((err: unknown) => {
      // Stopping for a refusal is the news, even when partitions then outlast the forced stop.
      throw refused ?? stoppedLate(err);
    });
    log.info('worker stopped');
    if (refused) throw refused;
  } finally {
    contact.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.off('SIGHUP', stop);
    await connection.close();
    await metrics?.close();
  }
}

/**
 * The endpoint of a worker's S3, for its log line when S3 refuses it. The access key ID is in the
 * refusal's words (a field of that name is redacted in every log line, log/index.ts).
 */
async function describeS3(opts: WorkerOptions): Promise<{ endpoint: string }> {
  return { endpoint: await describeEndpoint(s3Client(opts.config.s3), opts.config.s3) };
}

/**
 * The SDK gave up waiting for running activities (shutdownForceTime): say what was still running,
 * then fail, so that the process ends (the CLI exits; a script calling runWorker decides).
 */
function stoppedLate(err: unknown): unknown {
  if (!(err instanceof GracefulShutdownPeriodExpiredError)) return err;
  const running = userCodeAwaited();
  const waitedS = (shutdownGraceMs() + SHUTDOWN_HANDOVER_MS) / 1000;
  logger().error({ stillRunning: running }, `the worker did not stop within ${waitedS} s of the shutdown request (PARTFLOW_SHUTDOWN_GRACE and the hand-over); stopping with activities still running`);
  return new Error(`the worker did not stop within ${waitedS} s: activities were still running${running.length ? `: ${running.join('; ')}` : ''}`);
}

/**
 * For the CLI's worker and each process of a multi-process one, once the worker has stopped:
 * pipeline code it let go of (a setup or transform that ignored the cancel) may still hold the
 * process open with a timer or a socket. Then it exits, naming that code, instead of lingering.
 */
export function exitIfUserCodeHolds(): void {
  const held = userCodeAbandoned();
  if (held.length === 0) return;
  logger().warn({ pending: held }, 'the worker stopped; pipeline code it let go of (it ignored the cancel) is still pending: exiting');
  process.exit(0);
}

/** PARTFLOW_WORKER_BALANCE=off: fixed activity slots per process, as a single worker has. */
export function balanceSlots(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.PARTFLOW_WORKER_BALANCE ?? '').toLowerCase();
  if (v === '' || v === 'on' || v === '1' || v === 'true') return true;
  if (v === 'off' || v === '0' || v === 'false') return false;
  throw new ConfigError(`PARTFLOW_WORKER_BALANCE must be "on" or "off", got ${JSON.stringify(env.PARTFLOW_WORKER_BALANCE)}`);
}

const send = (m: WorkerMessage, done?: () => void) => process.send!(m, undefined, {}, done);
/** Lost counts are harmless (the next one replaces them); a closed channel is noticed by 'disconnect'. */
const trySend = (m: WorkerMessage) => {
  if (process.connected) process.send!(m, undefined, {}, () => undefined);
};

/**
 * One process of a multi-process worker. Slot 0 also runs the workflow tasks (without eager
 * activities, which would keep partitions in that process); the others poll activities only, so
 * the workflow bundle is built once. Activity slots are shared out with the other processes
 * (balance.ts). A child whose supervisor is gone (even
 * by kill -9: the IPC channel closes) exits at once, as the supervisor would have: its partitions
 * resume from their checkpoints on the next attempt.
 */
async function runChild(opts: WorkerOptions, slot: number): Promise<void> {
  const orphaned = () => {
    logger().warn({ process: slot }, 'the worker supervisor is gone: exiting');
    process.exit(1);
  };
  process.on('disconnect', orphaned);
  let ready = false;
  const activitySlots = balanceSlots() ? new BalancedActivitySlots(opts.concurrency ?? workerConcurrency(), slot, (running) => trySend({ type: 'partflow:slots', running })) : undefined;
  // Listened to from the start: the supervisor answers this process's first count at once.
  process.on('message', (m: WorkerMessage | PeersMessage) => {
    if (m?.type === 'partflow:peers') activitySlots?.peers(m.running);
  });
  try {
    await runHere({ ...opts, workflows: slot === 0, metricsServer: false, eagerActivities: false, activitySlots }, (sdkAddress) => {
      ready = true;
      process.on('message', (m: WorkerMessage) => {
        if (m?.type !== 'partflow:metrics') return;
        collectProcessMetrics(slot, sdkAddress).then((metrics) => send({ type: 'partflow:metrics', id: m.id, metrics }), () => undefined);
      });
      send({ type: 'partflow:ready' });
    }, slot, (refused) => {
      // Said at once, not once this process has stopped: the supervisor stops the others now.
      trySend({ type: 'partflow:refused', message: refused.message });
    });
  } catch (err) {
    // S3 refusing the worker is no crash a restart mends: the supervisor has been told, and fails with it.
    if (err instanceof WorkerS3StoppedError) process.exit(1);
    if (ready) throw err;
    // The supervisor reports a start-up failure once, with this message.
    await new Promise<void>((r) => send({ type: 'partflow:failed', message: (err as Error).message }, () => r()));
    process.exit(1);
  }
  process.off('disconnect', orphaned);
  process.disconnect();
  exitIfUserCodeHolds();
}
