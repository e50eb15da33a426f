import type { PlanSummary } from '../../src/pipeline/plan';
import { blockedByCancel } from '../../src/pipeline/blocked';
import type { Inflight } from './carry';
import type { WindowReport } from './child';
import { Code, CompactState, STATUSES } from './compact';
import { rerunUnblocked } from './retry';

/** What the parent keeps about its windows, which their reports change. */
export interface Ledger {
  state: CompactState;
  plan: PlanSummary;
  inflight: Map<number, Inflight>;
  /** "stage/index" run again after their window's results were lost: their records are counted already. */
  recount: Set<string>;
  /** Times a blocked stage ran again on its own; absent in runs started before 'unblock-after-retry'. */
  unblockedRuns?: Map<string, number>;
  /** Runs started before 'requeue-lost-window-results' do not run a lost window's reported partitions again. */
  requeueLost: boolean;
}

/**
 * What is wrong with a windowReport signal's payload, or null when it has a window report's
 * shape. Only a window sends one, but the Temporal UI and CLI offer the signal to anyone, and a
 * handler that threw on a person's `{}` failed every workflow task of the run from then on (a
 * run no cancel could end).
 */
export function windowReportProblem(r: unknown): string | null {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'expected a window\'s report (sent by partflow\'s own window workflows), not a signal to send by hand';
  const o = r as Record<string, unknown>;
  const int = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v);
  if (!int(o.seq) || !int(o.freed)) return 'a window report needs whole numbers "seq" and "freed"';
  if (!Array.isArray(o.entries) || !o.entries.every((e) => Array.isArray(e) && e.length >= 7 && e.every((x) => typeof x === 'number'))) return 'a window report\'s "entries" must be arrays of numbers';
  if (!Array.isArray(o.failures) || !o.failures.every((f) => typeof f === 'object' && f !== null && typeof (f as { stage?: unknown }).stage === 'string' && int((f as { index?: unknown }).index))) return 'a window report\'s "failures" must be objects with a stage and an index';
  return null;
}

/**
 * Applies a window's report: the slots it gave back and the lowest partition index to look at
 * again (Infinity when none), or null when no window of this run owns it. A report changes an
 * entry only while the parent holds it running for that window, so that a late or replayed
 * report can never undo a retry.
 */
export function applyReport(l: Ledger, r: WindowReport): { freed: number; from: number } | null {
  const { state } = l;
  const w = l.inflight.get(r.seq);
  if (!w) return null;
  let from = Infinity;
  const owns = (s: number, i: number) => w.stages.includes(state.stages[s]) && w.ranges.some(([a, b]) => i >= a && i <= b)
    && ![...l.inflight.values()].some((o) => o.seq > w.seq && o.stages.includes(state.stages[s]) && o.ranges.some(([a, b]) => i >= a && i <= b));
  for (const [s, i, code, rin, rout, rrej, rdrop] of r.entries) {
    if (!state.stages[s] || state.get(s, i) !== Code.running || !owns(s, i)) continue;
    if (code === Code.failed) {
      const f = r.failures.find((x) => x.index === i && x.stage === state.stages[s]);
      state.fail(f ?? { stage: state.stages[s], index: i, ...state.label(i), error: 'failed', errorType: 'Error', attempts: 0, runs: 1 });
    } else {
      // Run again after its results were lost: its records were counted the first time. Only a
      // finished run settles that (a window cancelled alone gives the stage back as pending).
      const again = (code === Code.done || code === Code.skipped) && l.recount.delete(`${s}/${i}`);
      state.set(s, i, code, again ? undefined : { in: rin, out: rout, rejected: rrej, dropped: rdrop });
      if (l.unblockedRuns && rerunUnblocked(state, l.plan, i, l.unblockedRuns)) from = Math.min(from, i);
    }
  }
  let freed = r.freed;
  w.slots -= r.freed;
  if (r.done) {
    freed += w.slots;
    l.inflight.delete(r.seq);
    // Anything it held but never reported (a window that died) is run again; and, when it ended
    // without its last report, so is what it reported, which it never saved for the run manifest.
    // Their committed outputs make that quick, and their records are not counted twice.
    for (const [a, b] of w.ranges) for (let i = a; i <= b; i++) for (const st of w.stages) {
      const s = state.stageIndex(st);
      const code = state.get(s, i);
      if (!owns(s, i) || code === Code.pending) continue;
      if (code !== Code.running && !(r.lost && l.requeueLost)) continue;
      if (code === Code.done || code === Code.skipped) l.recount.add(`${s}/${i}`);
      state.set(s, i, Code.pending);
      from = Math.min(from, i);
    }
  }
  return { freed, from };
}

/**
 * Settles what a run leaves unfinished as it ends: cancelled when the run was, else blocked (held
 * back by failures upstream). Memory and the manifest's text only: the commands are the same.
 */
export function settleUnfinished(s: CompactState, plan: PlanSummary, stopped: boolean): void {
  const left = stopped ? Code.cancelled : Code.blocked;
  for (let k = 0; k < s.stages.length; k++) for (let i = 0; i < s.partitions; i++) if (s.get(k, i) === Code.running || s.get(k, i) === Code.pending) s.set(k, i, left);
  // What a cancel left blocked behind cancelled (not failed) stages is cancelled too: windows of
  // before 'cancel-downstream' reported it blocked.
  if (!stopped || s.count(Code.blocked) === 0) return;
  for (let i = 0; i < s.partitions; i++) {
    for (const stage of blockedByCancel(plan.stages, (st) => { const k = s.stageIndex(st); return k < 0 ? undefined : STATUSES[s.get(k, i)]; })) s.set(s.stageIndex(stage), i, Code.cancelled);
  }
}
