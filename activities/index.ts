import { ActivityDeps } from './deps';
import { makeImportActivity } from './import';
import { makePlanActivity } from './plan';
import { makeRunManifestActivity } from './run-manifest';
import { makeStageActivity } from './stage';

export type { ActivityDeps } from './deps';
export { FailureTypes } from './deps';

/** Every activity partflow's worker registers, bound to its dependencies. */
export function createActivities(deps: ActivityDeps) {
  return {
    planIngest: makePlanActivity(deps),
    importPartition: makeImportActivity(deps),
    runStage: makeStageActivity(deps),
    writeRunManifest: makeRunManifestActivity(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
