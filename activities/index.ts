import { ActivityDeps, withAttempt } from './deps';
import { ImportRequest, makeImportActivity } from './import';
import { makeKafkaOffsetsActivity } from './kafka-offsets';
import { makePlanActivity } from './plan';
import { makeRunManifestActivity } from './run-manifest';
import { makeSnapshotActivity } from './snapshot';
import { makeStageActivity, StageRequest } from './stage';

export type { ActivityDeps } from './deps';
export { FailureTypes } from './deps';

/** Every activity partflow's worker registers, bound to its dependencies. */
export function createActivities(deps: ActivityDeps) {
  const importPartition = makeImportActivity(deps);
  const runStage = makeStageActivity(deps);
  return {
    planIngest: makePlanActivity(deps),
    importPartition: async (req: ImportRequest) => importPartition(req).catch((err) => { throw withAttempt(err); }),
    runStage: async (req: StageRequest) => runStage(req).catch((err) => { throw withAttempt(err); }),
    writeRunManifest: makeRunManifestActivity(deps),
    commitSnapshot: makeSnapshotActivity(deps),
    commitKafkaOffsets: makeKafkaOffsetsActivity(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
