import { Context } from '@temporalio/activity';
import { logger } from '../src/log';
import { ingestOf } from './ingest-id';
import { Plan } from '../src/pipeline/plan';
import { INHERIT_SCHEMA, StageInfo } from '../src/pipeline/types';

/** Runs and stages already warned about in this process: once each, not once per partition. */
const warned = new Set<string>();
const MAX_WARNED = 10_000;

/** What differs between the planning worker's definition of a stage and this worker's, in words; empty when nothing does. */
export function stageDifferences(planned: StageInfo | undefined, mine: StageInfo): string[] {
  if (!planned) return ['the planning worker had no such stage'];
  const out: string[] = [];
  if (planned.version !== mine.version) out.push(`version ${mine.version} here, ${planned.version} in the plan`);
  if (planned.schemaFingerprint !== mine.schemaFingerprint) {
    const fp = (s: StageInfo) => (s.schemaFingerprint === INHERIT_SCHEMA ? INHERIT_SCHEMA : `${s.schemaRef} ${s.schemaFingerprint.slice(0, 12)}`);
    out.push(`output schema ${fp(mine)} here, ${fp(planned)} in the plan`);
  } else if ((planned.schemaExtras ?? '') !== (mine.schemaExtras ?? '')) {
    // Same canonical form, different defaults, aliases, doc or logical types: the outputs differ all the same.
    const ex = (s: StageInfo) => (s.schemaExtras ? s.schemaExtras.slice(0, 12) : 'none');
    out.push(`output schema ${mine.schemaRef} says more beyond its canonical form (defaults, aliases, doc, logical types): extras ${ex(mine)} here, ${ex(planned)} in the plan`);
  }
  return out;
}

/** "two workers on task queue … register different definitions of pipeline …, or a deploy was under way". */
export function twoDefinitions(taskQueue: string, pipeline: string): string {
  return `two workers on task queue "${taskQueue}" register different definitions of pipeline "${pipeline}", or a deploy was under way`;
}

/**
 * Workers compute with their own stage definitions, so a rolling deploy never stalls a run. The
 * same freedom lets two workers that register different definitions of one pipeline mix their
 * outputs in one run; this worker says so, loudly, the first time it runs such a stage of a run.
 */
export function warnStageSkew(plan: Plan, planKey: string, mine: StageInfo): void {
  const differences = stageDifferences((plan.stages ?? []).find((s) => s.name === mine.name), mine);
  if (differences.length === 0) return;
  const info = Context.current().info;
  const workflowId = info.workflowExecution?.workflowId ?? '';
  // Windows and batches of one ingest are its child workflows: one run (a "/" in its own id does not split it).
  const run = ingestOf(workflowId);
  const key = `${run}\n${planKey}\n${mine.name}`;
  if (warned.has(key)) return;
  if (warned.size >= MAX_WARNED) warned.clear();
  warned.add(key);
  logger().warn(
    { pipeline: plan.pipeline, stage: mine.name, workflowId: run, plan: `s3://${plan.bucket}/${planKey}`, workerVersion: mine.version, plannedVersion: (plan.stages ?? []).find((s) => s.name === mine.name)?.version },
    `run ${run}: this worker's definition of stage "${mine.name}" of pipeline "${plan.pipeline}" differs from the one the run was planned with (${differences.join('; ')}): `
    + `${twoDefinitions(info.taskQueue, plan.pipeline)}. This worker computes the stage with its own definition, so the run's outputs may come from both; `
    + 'run one definition per pipeline and task queue (bump the version with every change)',
  );
}
