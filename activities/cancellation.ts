import { CancelledFailure, Context } from '@temporalio/activity';

/**
 * Why the activity's cancellation signal fired: the SDK's reason (the CancelledFailure's message,
 * e.g. CANCELLED, WORKER_SHUTDOWN, TIMED_OUT, NOT_FOUND), or undefined while it has not fired.
 * partition-run.ts decides from it whether uploads may be aborted.
 */
export function cancelReason(ctx: Context): string | undefined {
  const signal = ctx.cancellationSignal;
  if (!signal.aborted) return undefined;
  if (signal.reason instanceof CancelledFailure && signal.reason.message) return signal.reason.message;
  const d = ctx.cancellationDetails;
  if (d?.workerShutdown) return 'WORKER_SHUTDOWN';
  if (d?.timedOut) return 'TIMED_OUT';
  if (d?.notFound) return 'NOT_FOUND';
  if (d?.paused) return 'PAUSED';
  if (d?.reset) return 'RESET';
  return d?.cancelRequested ? 'CANCELLED' : 'UNKNOWN';
}

/** `p`, or a rejection once `ms` have passed without an answer. */
export function withinMs<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(timer));
}
