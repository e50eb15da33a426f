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
  const importPartition = makeImportActivity(deps);
  const runStage = makeStageActivity(deps);
  const runBatch = makeBatchActivity((req, { index, upstream }) => (req.stage === RAW_STAGE
    ? importPartition({ bucket: req.bucket, planKey: req.planKey, index })
    : runStage({ bucket: req.bucket, planKey: req.planKey, stage: req.stage, index, upstream })).catch((err) => { throw failed(req.planKey, req.stage, err); }));
  return {
    planIngest: makePlanActivity(deps),
    describePartitions: makeDescribePartitionsActivity(deps),
    importPartition: async (req: ImportRequest) => importPartition(req).catch((err) => { throw failed(req.planKey, RAW_STAGE, err); }),
    runStage: async (req: StageRequest) => runStage(req).catch((err) => { throw failed(req.planKey, req.stage, err); }),
    runBatch,
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
