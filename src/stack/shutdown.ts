import { killAllProcesses, liveProcessNames, stopAllProcesses } from './process';

export interface ShutdownGuard {
  /**
   * Adds a step that runs before the servers stop (a worker talking to them), in the order added;
   * `what` names what it stops, when there is something (said in the "Shutting down" line).
   */
  beforeStop(step: () => Promise<void>, what?: () => string | undefined): void;
  /** Stops everything, then exits with `code`; later calls wait for the first. */
  shutdown(code: number): Promise<never>;
  /** True once shutdown has begun: errors of a start-up it interrupts are expected then. */
  readonly stopping: boolean;
}

// A step that hangs (a worker waiting on a stuck activity) must not keep the servers up.
const STEP_BOUND_MS = 20_000;

/**
 * Makes sure the servers this process starts (startProcess) stop however it ends: SIGINT, SIGTERM
 * or SIGHUP at any point, start-up included; an uncaught exception or unhandled rejection; or
 * process.exit, where only SIGKILL is possible. Install it before the first server starts. A second
 * signal during shutdown kills the servers at once.
 */
export function installShutdownGuard(out: NodeJS.WritableStream = process.stderr): ShutdownGuard {
  const steps: { step: () => Promise<void>; what?: () => string | undefined }[] = [];
  let done: Promise<never> | undefined;
  const shutdown = (code: number): Promise<never> => (done ??= (async () => {
    // Only what was started and still runs: `up --no-worker` has no worker to stop.
    const names = [...steps.map((s) => s.what?.()), ...liveProcessNames()].filter((n): n is string => Boolean(n));
    // Nothing started (a port taken, a tool missing): no shutdown to tell of, as if there had been a start.
    if (names.length) out.write(`\nShutting down: ${names.join(', ')}...\n`);
    for (const { step } of steps) {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([step(), new Promise((resolve) => { timer = setTimeout(resolve, STEP_BOUND_MS); })]);
      } catch (err) {
        out.write(`  (${(err as Error).message})\n`);
      } finally {
        clearTimeout(timer);
      }
    }
    await stopAllProcesses();
    if (names.length) out.write('Stopped.\n');
    process.exit(code);
  })());

  const onSignal = (signal: NodeJS.Signals) => {
    if (done) {
      out.write(`\n${signal} again: killing the servers\n`);
      killAllProcesses();
      process.exit(130);
    }
    void shutdown(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  // Node routes unhandled rejections here too (its default --unhandled-rejections=throw).
  process.on('uncaughtException', (err) => {
    out.write(`\npartflow crashed: ${err.stack ?? String(err)}\n`);
    void shutdown(1);
  });
  process.on('exit', killAllProcesses);
  return {
    beforeStop: (step, what) => { steps.push({ step, what }); },
    shutdown,
    get stopping() { return done !== undefined; },
  };
}
