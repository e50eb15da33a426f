import { CancelledFailure } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { partitionMetrics } from '../src/metrics';
import { RAW_STAGE } from '../src/pipeline/types';
import { makeBatchActivity } from './batch';
import { ActivityDeps, withAttempt } from './deps';
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
  const importPartition = async (req: ImportRequest) => doImport(req).catch((err) => { throw failed(req.planKey, RAW_STAGE, err); });
  const runStage = async (req: StageRequest) => doStage(req).catch((err) => { throw failed(req.planKey, req.stage, err); });
  return {
    planIngest: makePlanActivity(deps),
    describePartitions: makeDescribePartitionsActivity(deps),
    importPartition,
    runStage,
    runBatch: makeBatchActivity(({ bucket, planKey, stage }, { index, upstream, fresh }) => (stage === RAW_STAGE
      ? importPartition({ bucket, planKey, index, ...(fresh ? { fresh } : {}) })
      : runStage({ bucket, planKey, stage, index, upstream, ...(fresh ? { fresh } : {}) }))),
    writeRunManifest: makeRunManifestActivity(deps),
    streamRunManifest: makeStreamRunManifestActivity(deps),
    saveWindowResults: makeSaveWindowActivity(deps),
    closedWindows: makeClosedWindowsActivity(),
    commitSnapshot: makeSnapshotActivity(deps),
    commitKafkaOffsets: makeKafkaOffsetsActivity(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** Counts a failed partition attempt by its type (the ApplicationFailure's, else the error's name). */
function failed(planKey: string, stage: string, err: unknown): unknown {
  const type = err instanceof CancelledFailure ? 'Cancelled' : err instanceof ApplicationFailure ? err.type ?? 'Error' : (err as Error)?.name || 'Error';
  partitionMetrics.failed(planKey, stage, type);
  return withAttempt(err);
}
