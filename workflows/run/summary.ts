import type { IngestSummary, StageSummary } from '../../src/manifest/run';
import type { ResolvedIngest } from '../../src/pipeline/input';
import { stagePrefix } from '../../src/pipeline/layout';
import type { PlanSummary } from '../../src/pipeline/plan';
import type { Progress } from '../state';
import { Code, CompactState } from './compact';
import { counted } from '../../src/log/shown';

/** Sorted indices as [first, last] ranges: what a window owns, in a few numbers. */
export function ranges(indices: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const i of indices) {
    const last = out[out.length - 1];
    if (last && last[1] === i - 1) last[1] = i;
    else out.push([i, i]);
  }
  return out;
}

/** The run's current details (Temporal UI, `temporal workflow describe`): markdown for people. */
export function detailsText(title: string, p: Progress, windows: number, note: string): string {
  // Windows report only ends: what they hold may still wait there for a slot.
  const running = p.windows === undefined ? 'running' : 'running or queued in windows';
  const lines = Object.entries(p.stages).map(([n, s]) => `${n}: ${s.done}/${s.total} done (${s.skipped} reused), ${s.running} ${running}, ${s.failed} failed, ${s.blocked} blocked; records in ${s.records.in}, out ${s.records.out}, rejected ${s.records.rejected}`);
  const failed = p.failed.length ? ['', '**failed partitions** (retry with the retryFailed update or signal; finishPartial ends the run with what succeeded):', ...p.failed.slice(0, 20).map((f) => `- ${f}`)] : [];
  return [title, `**${p.phase}** — ${counted(p.partitions, 'partition')}, ${counted(windows, 'window')} running`, ...lines, ...failed, ...(note ? ['', note] : [])].join('\n');
}

/** What the ingest returns, from counters and the failures it holds details of. */
export function summarize(plan: PlanSummary, input: ResolvedIngest, state: CompactState, manifestKey: string): IngestSummary {
  const url = (key: string) => `s3://${plan.bucket}/${key}`;
  const progress = state.progress('finishing', undefined);
  const stages: Record<string, StageSummary> = {};
  const failures = [...state.failureDetails.values()];
  for (const name of state.stages) {
    const p = progress.stages[name];
    stages[name] = {
      output: url(stagePrefix(plan.targetPrefix, plan.dataset, name)), succeeded: p.done, skipped: p.skipped, failed: p.failed, blocked: p.blocked, ...(p.cancelled ? { cancelled: p.cancelled } : {}), records: p.records,
      failures: failures.filter((f) => f.stage === name).slice(0, 100).map((f) => ({ partition: f.partition, ...(f.name ? { name: f.name } : {}), error: f.error, attempts: f.attempts })),
    };
  }
  return {
    status: state.count(Code.failed) + state.count(Code.blocked) > 0 ? 'partial' : 'completed',
    pipeline: input.pipeline, dataset: plan.dataset, source: input.source, plan: url(plan.planKey), partitions: plan.partitions, stages,
    outputPrefix: url(`${input.targetPrefix}${plan.dataset}/`),
    manifest: url(manifestKey),
    ...(plan.emptySources ? { emptySources: plan.emptySources } : {}),
    ...(plan.hiddenSources ? { hiddenSources: plan.hiddenSources } : {}),
    ...(plan.kafka?.gaps ? { kafkaGaps: plan.kafka.gaps } : {}),
  };
}
