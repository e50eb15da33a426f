import type { PlanSummary } from '../../src/pipeline/plan';

/** A plan's stages in order: `raw` first when its sources are imported. */
export function stageNames(plan: PlanSummary): string[] {
  return [...(plan.needsImport ? ['raw'] : []), ...plan.stages.map((s) => s.name)];
}

/** Stage name -> its upstream stages, raw included. */
export function afterOf(plan: PlanSummary): Map<string, string[]> {
  return new Map<string, string[]>([['raw', []], ...plan.stages.map((s) => [s.name, s.after] as [string, string[]])]);
}

/** Stage name -> its depth in the DAG (raw 0): deeper stages go first for a free slot, so partitions finish rather than all start. */
export function depthOf(plan: PlanSummary): Map<string, number> {
  const depth = new Map<string, number>([['raw', 0]]);
  for (const st of plan.stages) depth.set(st.name, 1 + Math.max(...st.after.map((d) => depth.get(d) ?? 0)));
  return depth;
}
