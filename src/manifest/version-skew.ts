/**
 * Stages whose committed partitions were not all computed with the code version the plan saw.
 * Workers compute with their own definitions (so a rolling deploy never stalls a run), which
 * also lets two workers that register different definitions of one pipeline on one task queue
 * mix their outputs in one run: this makes that visible in the run's result and manifest.
 */

/** One stage's partitions of a run, counted by the code version that computed them. */
export interface StageVersionSkew {
  stage: string;
  /** The stage's code version as the worker that planned the run defined it. */
  planned: string;
  /** Committed partitions per code version (the planned one included, when any). */
  computed: Record<string, number>;
}

export interface VersionSkew {
  /** The task queue the run's workers poll: where the two definitions are registered. */
  taskQueue: string;
  stages: StageVersionSkew[];
}

/** The skew of a run's committed partitions, or undefined when every one has its plan's version. */
export function versionSkew(
  planned: readonly { name: string; version: string }[], committed: Iterable<{ stage: string; codeVersion: string }>, taskQueue: string,
): VersionSkew | undefined {
  const plannedOf = new Map(planned.map((s) => [s.name, s.version]));
  const counts = new Map<string, Record<string, number>>();
  for (const c of committed) {
    // raw (the import) has no stage definition of the user's, so no planned version here.
    if (!plannedOf.has(c.stage)) continue;
    const byVersion = counts.get(c.stage) ?? {};
    byVersion[c.codeVersion] = (byVersion[c.codeVersion] ?? 0) + 1;
    counts.set(c.stage, byVersion);
  }
  const stages = planned.flatMap((s): StageVersionSkew[] => {
    const computed = counts.get(s.name);
    if (!computed || Object.keys(computed).every((v) => v === s.version)) return [];
    return [{ stage: s.name, planned: s.version, computed }];
  });
  return stages.length ? { taskQueue, stages } : undefined;
}

/**
 * One line per skewed stage, e.g. "stage enrich: 9 partitions computed by version 7, planned
 * with version 1: …": what `partflow ingest --wait` and `status` print.
 */
export function describeVersionSkew(skew: VersionSkew, pipeline: string): string[] {
  return skew.stages.map((s) => {
    const others = Object.entries(s.computed).filter(([v]) => v !== s.planned)
      .map(([v, n]) => `${n} partition${n === 1 ? '' : 's'} computed by version ${v}`).join(', ');
    const same = s.computed[s.planned] ? ` (${s.computed[s.planned]} by version ${s.planned})` : '';
    return `stage ${s.stage}: ${others}, planned with version ${s.planned}${same}: two workers on task queue "${skew.taskQueue}" register `
      + `different definitions of pipeline "${pipeline}", or a deploy was under way; the run manifest says which version made each partition`;
  });
}

/** The code version in a stage's content version, `<code version>-<hash>` (src/pipeline/versions.ts). */
export function codeVersionOf(contentVersion: string): string {
  return contentVersion.replace(/-[0-9a-f]{16}$/, '');
}
