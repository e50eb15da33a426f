import { CancelledFailure, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityDeps } from './deps';

/** An attempt that failed because S3 refuses this worker, which stops for it: retried on another worker. */
export const WORKER_S3_REFUSED = 'WorkerS3Refused';

/** The words an attempt's failure gets when its worker stops for the refusal it met. */
export function stoppingNote(taskQueue: string): string {
  return `; this worker stops taking partitions from task queue ${taskQueue} for it, so the attempt is retried on another worker`;
}

/**
 * An activity whose failures are checked for a refusal of this worker by S3 (worker/refusals.ts).
 * When the worker stops for it, the failure becomes retryable, whatever it was: its next attempt
 * runs on another worker, whose credentials the store may well take. Planning's refused
 * credentials are non-retryable otherwise (storageRefusal), and would fail the whole ingest on
 * the one worker whose keys were rotated.
 */
export function guarded<A extends unknown[], R>(deps: ActivityDeps, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  const watch = deps.refusals;
  if (!watch) return fn;
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      if (err instanceof CancelledFailure || (err instanceof ApplicationFailure && err.type === WORKER_S3_REFUSED)) throw err;
      if (!(await watch.check(err))) throw err;
      const app = err instanceof ApplicationFailure ? err : undefined;
      const e = err instanceof Error ? err : new Error(String(err));
      throw ApplicationFailure.create({
        type: WORKER_S3_REFUSED,
        message: `${e.message}${stoppingNote(Context.current().info.taskQueue)}`,
        nonRetryable: false,
        ...(app?.details?.length ? { details: [...app.details] } : {}),
        cause: app ? (app.cause instanceof Error ? app.cause : undefined) : e,
      });
    }
  };
}
