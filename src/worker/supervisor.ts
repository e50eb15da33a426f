/**
 * A multi-process worker: one event loop decodes, transforms and encodes on about one core, so
 * `partflow worker` runs a process per core. The supervisor forks copies of its own command
 * (marked by PARTFLOW_WORKER_SLOT), restarts one that crashes, stops them all on SIGINT/SIGTERM
 * and fails when S3 comes to refuse one (run.ts, refusals.ts),
 * and serves their metrics on one port. It runs no Temporal worker of its own.
 */
import { ChildProcess, fork } from 'node:child_process';
import { logger } from '../log';
import { mergeProcessMetrics, ProcessMetrics } from '../metrics/aggregate';
import { metricsPort, MetricsServer, startMetricsServer } from '../metrics/server';
import type { PeersMessage, SlotsMessage } from './balance';

export const WORKER_SLOT_ENV = 'PARTFLOW_WORKER_SLOT';

export type WorkerMessage =
  | SlotsMessage
  | { type: 'partflow:ready' }
  | { type: 'partflow:failed'; message: string }
  /** S3 refuses the running process's settings (refusals.ts): the others would meet the same. */
  | { type: 'partflow:refused'; message: string }
  | { type: 'partflow:metrics'; id: number; metrics?: ProcessMetrics };

/** Restart delays double from the first to the last; a process that ran this long resets them. */
export const RESTART = { firstMs: 1_000, maxMs: 30_000, stableMs: 60_000, maxStartFailures: 5 };
const METRICS_TIMEOUT_MS = 5_000;

interface Slot {
  index: number;
  child?: ChildProcess;
  ready: boolean;
  everReady: boolean;
  startFailures: number;
  crashes: number;
  startedAt: number;
  /** Activities it runs, as it last said. */
  running: number;
  error?: string;
  timer?: NodeJS.Timeout;
}

export interface SuperviseOptions {
  processes: number;
  /** What each child runs; default: this process's own script and arguments. */
  module?: string;
  args?: string[];
}

export async function supervise(opts: SuperviseOptions): Promise<void> {
  const log = logger().child({ component: 'worker-supervisor' });
  const module = opts.module ?? process.argv[1];
  const args = opts.args ?? process.argv.slice(2);
  const slots: Slot[] = Array.from({ length: opts.processes }, (_, index) => ({ index, ready: false, everReady: false, startFailures: 0, crashes: 0, startedAt: 0, running: 0 }));
  const replies = new Map<number, (m?: ProcessMetrics) => void>();
  let nextId = 0;

  const ask = (slot: Slot) => new Promise<ProcessMetrics | undefined>((resolve) => {
    const id = nextId++;
    const timer = setTimeout(() => done(undefined), METRICS_TIMEOUT_MS);
    const done = (m?: ProcessMetrics) => {
      clearTimeout(timer);
      replies.delete(id);
      resolve(m);
    };
    replies.set(id, done);
    try {
      slot.child!.send({ type: 'partflow:metrics', id } satisfies WorkerMessage);
    } catch {
      done(undefined);
    }
  });
  // Bound before any child starts, so a taken port stops the worker at once, as with one process.
  const port = metricsPort();
  const metrics: MetricsServer | undefined = port === undefined ? undefined : await startMetricsServer(port, {
    host: process.env.PARTFLOW_METRICS_HOST || undefined,
    collect: async () => {
      const parts = await Promise.all(slots.filter((s) => s.ready && s.child?.connected).map(ask));
      return mergeProcessMetrics(parts.filter((p): p is ProcessMetrics => p !== undefined));
    },
  });
  if (metrics) log.info({ port: metrics.port, processes: opts.processes }, 'serving Prometheus metrics of all worker processes at /metrics');

  return new Promise<void>((resolve, reject) => {
    let stopping = false;
    let failure: Error | undefined;

    const finish = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', stop);
      log.info(failure ? { error: failure.message } : {}, failure ? 'worker processes stopped after a failure' : 'worker processes stopped');
      void (metrics?.close() ?? Promise.resolve()).then(() => (failure ? reject(failure) : resolve()));
    };
    function stop(signal?: NodeJS.Signals): void {
      if (stopping) return;
      stopping = true;
      log.info({ processes: slots.filter((s) => s.child).length, ...(typeof signal === 'string' ? { signal } : {}) }, `${typeof signal === 'string' ? `${signal}: ` : ''}stopping the worker processes`);
      for (const s of slots) {
        clearTimeout(s.timer);
        s.child?.kill('SIGTERM');
      }
      if (slots.every((s) => !s.child)) finish();
    }
    const fail = (err: Error) => {
      failure ??= err;
      stop();
    };

    // Every live process learns how many activities the others run (balance.ts). At the first
    // start, one still starting counts as running none, so that the first one up does not take
    // everything; a restarted one counts once it is ready, so that the others keep taking work
    // while it starts.
    const share = () => {
      const running: PeersMessage['running'] = {};
      for (const s of slots) if (s.child && (s.ready || !s.everReady)) running[s.index] = s.running;
      for (const s of slots) {
        if (s.child?.connected) s.child.send({ type: 'partflow:peers', running } satisfies PeersMessage, () => undefined);
      }
    };

    const start = (slot: Slot) => {
      slot.timer = undefined;
      slot.running = 0;
      slot.ready = false;
      slot.error = undefined;
      slot.startedAt = Date.now();
      const child = fork(module, args, { env: { ...process.env, [WORKER_SLOT_ENV]: String(slot.index) }, stdio: 'inherit' });
      slot.child = child;
      child.on('message', (m: WorkerMessage) => {
        if (m?.type === 'partflow:ready') {
          slot.ready = slot.everReady = true;
          slot.startFailures = 0;
          log.info({ process: slot.index, childPid: child.pid, workflows: slot.index === 0 }, 'worker process ready');
          share();
        } else if (m?.type === 'partflow:slots') {
          slot.running = m.running;
          share();
        } else if (m?.type === 'partflow:failed') {
          slot.error = m.message;
        } else if (m?.type === 'partflow:refused') {
          // Every process has the same S3 settings, and a restarted one would be refused at start:
          // all stop (as on SIGTERM) and the supervisor fails with the refusal, for a process
          // manager to show, rather than restarting processes into that refusal.
          log.error({ process: slot.index, childPid: child.pid }, `S3 refuses worker process ${slot.index} (see its error): stopping the worker processes`);
          fail(new Error(`worker process ${slot.index} stopped: ${m.message}`));
        } else if (m?.type === 'partflow:metrics') {
          replies.get(m.id)?.(m.metrics);
        }
      });
      child.on('error', (err) => {
        slot.error ??= err.message;
      });
      // 'close', not 'exit': it comes after the IPC channel is drained, so a failing child's last message is in.
      child.on('close', (code, signal) => exited(slot, child, code, signal));
    };

    const exited = (slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null) => {
      if (slot.child !== child) return;
      slot.child = undefined;
      const wasReady = slot.ready;
      slot.ready = false;
      if (!stopping) share();
      if (stopping) {
        if (slots.every((s) => !s.child)) finish();
        return;
      }
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      if (!wasReady) {
        // A first start that fails is a set-up problem (a bad pipeline, Temporal unreachable), as
        // it is for one process; a restart that keeps failing is one too.
        slot.startFailures++;
        if (!slot.everReady || slot.startFailures >= RESTART.maxStartFailures) {
          const tries = slot.everReady ? ` (${slot.startFailures} restarts in a row)` : '';
          fail(new Error(`worker process ${slot.index} failed to start${tries}, ${how}${slot.error ? `: ${slot.error}` : ''}`));
          return;
        }
      }
      if (Date.now() - slot.startedAt > RESTART.stableMs) slot.crashes = 0;
      const delay = Math.min(RESTART.maxMs, RESTART.firstMs * 2 ** slot.crashes);
      slot.crashes++;
      log.error({ process: slot.index, childPid: child.pid, exitCode: code, signal, restartInMs: delay, ...(slot.error ? { error: slot.error } : {}) }, `worker process ${slot.index} exited (${how}); restarting it`);
      slot.timer = setTimeout(() => start(slot), delay);
    };

    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', stop);
    log.info({ processes: opts.processes }, 'starting worker processes');
    for (const s of slots) start(s);
  });
}
