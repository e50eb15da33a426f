import { CancelledFailure } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { partitionMetrics } from '../src/metrics';
import { RAW_STAGE } from '../src/pipeline/types';
import { makeBatchActivity } from './batch';
import { ActivityDeps, withAttempt } from './deps';
import { guarded } from './refusal-guard';
import { ImportRequest, makeImportActivity } from './import';
import { makeKafkaOffsetsActivity } from './kafka-offsets';
import { makeDescribePartitionsActivity, makePlanActivity } from './plan';
import { makeRunManifestActivity } from './run-manifest';
import { makeSaveWindowActivity, makeStreamRunManifestActivity } from './run-manifest-stream';
import { makeSnapshotActivity } from './snapshot';
import { makeStageActivity, StageRequest } from './stage';
import { makeClosedWindowsActivity } from './windows';

export type { ActivityDeps } from './deps';
export { FailureTypes } from './deps';

/** Every activity partflow's worker registers, bound to its dependencies. */
export function createActivities(deps: ActivityDeps) {
  const doImport = makeImportActivity(deps);
  const doStage = makeStageActivity(deps);
  // Each activity's failures are checked for S3 refusing this worker, which then stops (refusal-guard.ts).
  const g = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => guarded(deps, fn);
  const importPartition = g(async (req: ImportRequest) => doImport(req).catch((err) => { throw failed(req.planKey, RAW_STAGE, err); }));
  const runStage = g(async (req: StageRequest) => doStage(req).catch((err) => { throw failed(req.planKey, req.stage, err); }));
  return {
    planIngest: g(makePlanActivity(deps)),
    describePartitions: g(makeDescribePartitionsActivity(deps)),
    importPartition,
    runStage,
    runBatch: g(makeBatchActivity(({ bucket, planKey, stage }, { index, upstream, fresh, resolve }) => (stage === RAW_STAGE
      ? importPartition({ bucket, planKey, index, ...(fresh ? { fresh } : {}) })
      : runStage({ bucket, planKey, stage, index, upstream, ...(fresh ? { fresh } : {}), ...(resolve ? { resolve } : {}) })))),
    writeRunManifest: g(makeRunManifestActivity(deps)),
    streamRunManifest: g(makeStreamRunManifestActivity(deps)),
    saveWindowResults: g(makeSaveWindowActivity(deps)),
    closedWindows: makeClosedWindowsActivity(),
    commitSnapshot: g(makeSnapshotActivity(deps)),
    commitKafkaOffsets: g(makeKafkaOffsetsActivity(deps)),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** Counts a failed partition attempt by its type (the ApplicationFailure's, else the error's name). */
function failed(planKey: string, stage: string, err: unknown): unknown {
  const type = err instanceof CancelledFailure ? 'Cancelled' : err instanceof ApplicationFailure ? err.type ?? 'Error' : (err as Error)?.name || 'Error';
  partitionMetrics.failed(planKey, stage, type);
  return withAttempt(err);
}
