import { ActivityDeps, withAttempt } from './deps';
import { ImportRequest, makeImportActivity } from './import';
import { makeDescribePartitionsActivity, makePlanActivity } from './plan';
import { makeRunManifestActivity } from './run-manifest';
import { makeSaveWindowActivity, makeStreamRunManifestActivity } from './run-manifest-stream';
import { makeStageActivity, StageRequest } from './stage';

export type { ActivityDeps } from './deps';
export { FailureTypes } from './deps';

/** Every activity partflow's worker registers, bound to its dependencies. */
export function createActivities(deps: ActivityDeps) {
  const importPartition = makeImportActivity(deps);
  const runStage = makeStageActivity(deps);
  return {
    planIngest: makePlanActivity(deps),
    describePartitions: makeDescribePartitionsActivity(deps),
    importPartition: async (req: ImportRequest) => importPartition(req).catch((err) => { throw withAttempt(err); }),
    runStage: async (req: StageRequest) => runStage(req).catch((err) => { throw withAttempt(err); }),
    writeRunManifest: makeRunManifestActivity(deps),
    streamRunManifest: makeStreamRunManifestActivity(deps),
    saveWindowResults: makeSaveWindowActivity(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
