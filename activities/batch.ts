import { CancelledFailure, Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { PartitionResult } from '../src/manifest/partition';
import { cancelReason } from './cancellation';
import { HEARTBEAT_MS } from './partition-run';
import { WORKER_S3_REFUSED } from './refusal-guard';

/** Several small partitions of one stage, run one after another in one activity. */
export interface BatchRequest {
  bucket: string;
  planKey: string;
  stage: string;
  /** `resolve`: committed earlier, asked for its version only (it is then read, not computed). */
  items: { index: number; upstream?: Record<string, string>; resolve?: true; fresh?: true }[];
}

/**
 * One partition's outcome. A failure the partition's own activity would retry comes back
 * `retryable`: the workflow then runs that partition alone with the attempts its retry policy
 * has left, so a batch never changes how often a partition is tried or what its error says.
 */
export type BatchOutcome =
  | { index: number; result: PartitionResult }
  | { index: number; failed: { error: string; type: string; attempts: number; retryable: boolean } };

type RunOne = (req: BatchRequest, item: BatchRequest['items'][number]) => Promise<PartitionResult>;

/**
 * The batch activity. Only what stops the whole attempt is thrown: a cancellation or a worker
 * shutdown (the next attempt finds the partitions already committed and reuses them). A user's
 * cancel that comes once some partitions are committed returns those: no later attempt comes to
 * report them, and the workflow (which waits for this outcome) counts them as this run's and
 * the ones left out as cancelled.
 */
export function makeBatchActivity(runOne: RunOne) {
  return async function runBatch(req: BatchRequest): Promise<BatchOutcome[]> {
    const ctx = Context.current();
    const out: BatchOutcome[] = [];
    let lastBeat = Date.now();
    const stop = (err: unknown): BatchOutcome[] => {
      if (out.length > 0 && cancelReason(ctx) === 'CANCELLED') return out;
      throw err;
    };
    for (const [k, item] of req.items.entries()) {
      if (ctx.cancellationSignal.aborted) return stop(ctx.cancellationSignal.reason instanceof Error ? ctx.cancellationSignal.reason : new CancelledFailure('cancelled'));
      try {
        out.push({ index: item.index, result: await runOne(req, item) });
      } catch (err) {
        if (stopsTheAttempt(err) || ctx.cancellationSignal.aborted) return stop(err);
        const app = err instanceof ApplicationFailure ? err : undefined;
        const e = err instanceof Error ? err : new Error(String(err));
        // Retryable as its own activity would be: not marked non-retryable, and attempts left.
        const max = ctx.info.retryPolicy?.maximumAttempts ?? 0;
        const retryable = !app?.nonRetryable && (max <= 0 || ctx.info.attempt < max);
        out.push({ index: item.index, failed: { error: e.message, type: app?.type ?? e.name ?? 'Error', attempts: ctx.info.attempt, retryable } });
      }
      // Partitions heartbeat on their own only after HEARTBEAT_MS; a batch of quick ones says it lives here.
      if (Date.now() - lastBeat >= HEARTBEAT_MS) {
        lastBeat = Date.now();
        ctx.heartbeat({ progress: { stage: req.stage, batch: { done: k + 1, of: req.items.length } } });
      }
    }
    return out;
  };
}

/** A cancel, a shutdown, or a worker stopping because S3 refuses it (refusal-guard.ts): the rest of the batch goes elsewhere. */
function stopsTheAttempt(err: unknown): boolean {
  return err instanceof CancelledFailure || (err instanceof ApplicationFailure && (err.type === 'WorkerShutdown' || err.type === WORKER_S3_REFUSED));
}
