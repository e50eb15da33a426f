import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure, CancellationScope, condition, continueAsNew, getExternalWorkflowHandle, isCancellation, log, ParentClosePolicy, patched,
  proxyActivities, RetryPolicy, setCurrentDetails, setHandler, startChild, upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { IngestSummary } from '../../src/manifest/run';
import { IngestInput, ResolvedIngest } from '../../src/pipeline/input';
import { datasetPrefix, runManifestKey } from '../../src/pipeline/layout';
import type { PlanSummary } from '../../src/pipeline/plan';
import type { Progress } from '../state';
import type { Inflight, IngestCarry, ScaleOptions } from './carry';
import { Code, CompactCarry, CompactState } from './compact';
import { unitsOf } from './batches';
import { ingestWindow, WindowReport, windowReportSignal } from './child';
import { commitRun } from './finish';
import { carriedOrFail, resolveOrFail } from './input';
import { handleFinishPartial, partitionsQueryProblem, progressQuery, partitionsQuery, refuse, retryFailedSignal, retryFailedUpdate, SA, scheduledBy } from './handles';
import { watchOrphans } from './orphans';
import { requeue, retryProblem } from './retry';
import { applyReport, settleUnfinished, windowReportProblem } from './reports';
import { detailsText, ranges, summarize } from './summary';
import { stageNames } from './graph';
import type { SavedEntry } from '../../src/manifest/window-results';
import { runWindow, WindowItem } from './window';

export type { IngestCarry, ScaleOptions } from './carry';

const DEFAULT_CAN_EVENTS = 5000;
// ~6 events per activity (scheduled, started, completed, workflow tasks, reports): ~5k events.
const DEFAULT_WINDOW_ACTIVITIES = 800;
/** The plan summary carries ids and names up to this many partitions; larger runs go by index. */
export const SUMMARY_IDS_MAX = 1000;

const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 };
const { planIngest } = proxyActivities<Activities>({ startToCloseTimeout: '1h', heartbeatTimeout: '2m', retry });
// Tried until it succeeds or fails for good (an S3 outage only delays the run).
const { saveWindowResults } = proxyActivities<Activities>({ startToCloseTimeout: '10m', retry: { initialInterval: '1s', maximumInterval: '1m' } });

/**
 * The ingest for new executions: windows of partitions run as child workflows (or in the parent
 * when the run fits one window), a slot freed anywhere goes to the next partition, and the parent
 * continues as new with compact state before its history grows large.
 */
export async function ingestWindowed(input: IngestInput, second?: IngestCarry | ScaleOptions): Promise<IngestSummary> {
  const resolved = resolveOrFail(input);
  const carried = carriedOrFail(second);
  const carry = carried && 'state' in carried ? carried : undefined;
  const options: ScaleOptions = carry ? carry.options : (carried as ScaleOptions | undefined) ?? {};
  const info = workflowInfo();
  const schedule = scheduledBy();
  const title = `ingest **${resolved.pipeline}** from ${resolved.source} into ${resolved.target}${resolved.dataset}/${schedule ? ` — started by schedule **${schedule}**` : ''}`;
  let phase: Progress['phase'] = carry ? 'running' : 'planning';
  let plan: PlanSummary | undefined = carry?.plan;
  let state: CompactState | undefined;
  let note = carry?.note ?? '';
  const stagesOf = () => (plan ? stageNames(plan) : []);
  const restore = (p: PlanSummary, c?: CompactCarry) => new CompactState(p.partitions, stageNames(p), p.ids, p.names, c);
  if (carry && plan) state = restore(plan, carry.state);
  const retryRuns = new Map<string, number>(carry?.retryRuns ?? []);
  // Runs started before this never re-ran a blocked stage on their own.
  const unblock = patched('unblock-after-retry');
  const unblockedRuns = new Map<string, number>(carry?.unblocked ?? []);
  const inflight = new Map<number, Inflight>((carry?.inflight ?? []).map((f) => [f.seq, f]));
  let seq = carry?.seq ?? 0;
  let cursor = carry?.cursor ?? 0;
  let free = carry?.free ?? resolved.maxParallel;
  let waitUntil = carry?.waitUntil ?? null;
  let changed = true;
  // When the ingest started and read its source: its first run's start, kept across
  // continue-as-new (each run's own start is later). Snapshots order runs by it (supersededBy).
  const startedAt = carry?.startedAt ?? info.startTime.toISOString();
  // Runs started before this lost, from the run manifest and snapshot, what a window that ended
  // without its last report had reported done; they replay so.
  const requeueLost = patched('requeue-lost-window-results');
  const recount = new Set<string>(carry?.recount ?? []);
  // Windows a reset run started are tagged with its run id: in their ids, which its base run's
  // windows (left running by ParentClosePolicy.ABANDON) may still hold, and in their reports.
  let tag = carry?.tag;
  let resetPending = carry?.reset === true || info.originalExecutionRunId !== info.runId;
  // A window run in the parent that could not save its results: the run fails with it.
  let saveFailure: unknown = null;
  // More than one window: the parent sees only their ends, not which activities have started.
  let windowed = false;

  const planUrl = () => (plan ? `s3://${plan.bucket}/${plan.planKey}` : undefined);
  const progress = (): Progress => ({ ...(state ? state.progress(phase, planUrl()) : { phase, partitions: 0, stages: {}, failed: [] }), ...(schedule ? { schedule } : {}), ...(windowed ? { windows: inflight.size } : {}), startedAt });
  const describe = () => setCurrentDetails(detailsText(title, progress(), inflight.size, note));
  const status = (s: string) => upsertSearchAttributes([{ key: SA.status, value: s }, { key: SA.failed, value: state?.count(Code.failed) ?? 0 }]);

  const closed = (): string | null => (phase === 'finishing' || phase === 'done'
    ? `the run is ${phase === 'done' ? 'done' : 'finishing (writing its run manifest)'} and takes no more retries; once it has closed, \`partflow retry ${info.workflowId}\` starts a new run that reuses every committed partition`
    : null);
  const doRetry = (req: { partitions?: string[]; stages?: string[] } = {}) => {
    if (!state || !plan) return { requeued: [] };
    const out = requeue(state, plan, req, { unblock });
    for (const r of out) {
      if (r.runs) retryRuns.set(`${r.stage}/${r.index}`, r.runs);
      cursor = Math.min(cursor, r.index);
    }
    changed = true;
    return { requeued: out.slice(0, 1000).map((r) => ({ stage: r.stage, partition: state!.label(r.index).partition })) };
  };
  setHandler(progressQuery, () => progress());
  setHandler(partitionsQuery, (q = {}) => {
    const problem = partitionsQueryProblem(q, stagesOf());
    if (problem) throw new Error(problem);
    return state ? state.list(q) : { total: 0, partitions: [] };
  });
  setHandler(retryFailedUpdate, (req) => doRetry(req ?? {}), {
    validator: (req) => {
      const problem = closed() ?? retryProblem(req, state, stagesOf());
      if (problem) refuse(problem, 'RetryRefused');
    },
  });
  setHandler(retryFailedSignal, (req) => {
    // Runs started before this took a request with unknown fields or empty lists as "all".
    const problem = closed() ?? retryProblem(req, state, stagesOf(), patched('strict-retry-request'));
    if (!problem) {
      // An update answers `requeued: []`; a signal cannot, so a person in the UI learns it here.
      if (doRetry(req ?? {}).requeued.length === 0) {
        note = `a retryFailed signal re-queued nothing: no failed or blocked partition matches ${JSON.stringify(req ?? {}).slice(0, 200)}`;
        describe();
      }
      return;
    }
    log.warn('ignored a retryFailed signal', { problem });
    note = `a retryFailed signal was ignored: ${problem}`;
    describe();
  });

  const apply = (r: WindowReport) => {
    if (!state || !plan) return;
    const out = applyReport({ state, plan, inflight, recount, requeueLost, ...(unblock ? { unblockedRuns } : {}) }, r);
    if (!out) return;
    free += out.freed;
    cursor = Math.min(cursor, out.from);
    changed = true;
  };
  setHandler(windowReportSignal, (r) => {
    const problem = windowReportProblem(r);
    if (problem) {
      log.warn('ignored a windowReport signal', { problem });
      note = `a windowReport signal was ignored: ${problem}`;
      describe();
      return;
    }
    // Once a reset run tags its windows, reports of its base run's windows change nothing.
    if (!tag || r.tag === tag) apply(r);
  });
  // Only a run that waits for a retry can be told to stop waiting; it then ends as waitForRetry running out would end it.
  let finishAsked = carry?.finishAsked ?? false;
  handleFinishPartial(
    () => (phase !== 'waiting-for-retry' ? `the run is ${phase}, not waiting for a retry; finishPartial ends only a run whose failed partitions wait for one` : null),
    () => {
      // A history in which this signal reached a worker that did not know it replays as it ran: the signal changed nothing.
      if (patched('finish-partial')) {
        finishAsked = true;
        changed = true;
      }
      return { failed: state?.count(Code.failed) ?? 0 };
    },
    (problem) => {
      log.warn('ignored a finishPartial signal', { problem });
      note = `a finishPartial signal was ignored: ${problem}`;
      describe();
    },
  );
  describe();
  upsertSearchAttributes([{ key: SA.pipeline, value: resolved.pipeline }, { key: SA.dataset, value: resolved.dataset }, { key: SA.status, value: carry ? 'running' : 'planning' }]);

  if (!plan) {
    plan = await planIngest(resolved, { maxIds: options.summaryIdsMax ?? SUMMARY_IDS_MAX });
    state = restore(plan);
    phase = 'running';
    status('running');
  }
  const st = state!;
  const p = plan;
  const windowSize = Math.max(1, Math.min(resolved.partitionsPerWorkflow, Math.floor((options.windowActivities ?? DEFAULT_WINDOW_ACTIVITIES) / st.stages.length)));
  const inline = p.partitions <= windowSize;
  windowed = !inline;
  // Only a window run in the parent shows the parent which activities have started.
  st.tracksStarts = inline;
  // Runs of small partitions share an activity per stage (runs started before this ran one each).
  const batch = patched('batched-partitions') ? resolved.partitionsPerActivity : 1;
  const settings = { plan: { ...p, ids: [], names: null }, heartbeatTimeoutSeconds: resolved.heartbeatTimeoutSeconds, partitionTimeoutMs: resolved.partitionTimeoutMs, batch };
  // Names the run manifest and the folder of window results. A reset run replays its base run's
  // history up to the reset point, and the child windows of that history saved their results under
  // the base's id (the run id on the started event, which a reset keeps), so a reset run keeps that
  // id until it starts windows of its own (rerunAfterReset). A run of one window, run in the
  // parent, saves what it replays under its own id (runs before this did so in both cases).
  let firstRunId = carry?.firstRunId ?? (inline ? info.runId : info.originalExecutionRunId);
  // Beside the run manifests, not among them: readers of _runs/ take every object there for one.
  const prefixOf = (runId: string) => `${datasetPrefix(resolved.targetPrefix, p.dataset)}/_windows/${info.workflowId.replace(/[^A-Za-z0-9._-]/g, '_')}/${runId}/`;
  let resultsPrefix = prefixOf(firstRunId);

  /**
   * A reset run, about to start a window for the first time past its reset point, runs every
   * partition again, in windows of its own, before any of its base run's results count: those
   * windows saved under the base's id, and a completed base deleted them once its run manifest was
   * written, so the reset run could not list them (a run manifest and snapshot with only the
   * partitions of windows started after the reset point). Committed partitions are reused (the
   * summary counts them skipped), so this costs a look at each. The base's windows still held are
   * cancelled; their reports, and those of windows the base started after the reset point, are
   * ignored. Histories without the marker (every run that was not reset) replay as they ran.
   */
  const rerunAfterReset = (): void => {
    if (!resetPending || !patched('rerun-after-reset')) return;
    resetPending = false;
    if (!inline) {
      for (const w of inflight.values()) void getExternalWorkflowHandle(w.id).cancel().catch(() => undefined);
      inflight.clear();
      free = resolved.maxParallel;
    }
    // In the parent, a window under way is the reset run's own (it saves under this run's id): kept.
    for (let s = 0; s < st.stages.length; s++) for (let i = 0; i < p.partitions; i++) {
      if (st.get(s, i) === Code.pending || (inline && st.get(s, i) === Code.running)) continue;
      st.set(s, i, Code.pending);
      st.details.delete(`${st.stages[s]}/${i}`);
    }
    for (const r of st.records) Object.assign(r, { in: 0, out: 0, rejected: 0, dropped: 0 });
    recount.clear();
    cursor = 0;
    waitUntil = null;
    firstRunId = info.runId;
    resultsPrefix = prefixOf(firstRunId);
    if (!inline) tag = info.runId;
    changed = true;
    log.info('reset run: every partition runs again in windows of its own; committed ones are reused', { base: info.originalExecutionRunId });
  };

  /** The next partitions with pending stages, marked running. */
  const nextItems = (max: number): WindowItem[] => {
    const items: WindowItem[] = [];
    for (let wrapped = false; items.length < max;) {
      if (cursor >= p.partitions) {
        if (wrapped || st.count(Code.pending) === 0) break;
        cursor = 0;
        wrapped = true;
      }
      const i = cursor++;
      const run = st.stages.filter((_, s) => st.get(s, i) === Code.pending);
      if (!run.length) continue;
      const runs: Record<string, number> = {};
      for (const stage of run) {
        st.set(st.stageIndex(stage), i, Code.running);
        const k = `${stage}/${i}`;
        if (retryRuns.has(k)) { runs[stage] = retryRuns.get(k)!; retryRuns.delete(k); }
      }
      const name = st.names?.[i];
      items.push({ i, ...(st.ids[i] ? { id: st.ids[i] } : {}), ...(name ? { name } : {}), run, ...(Object.keys(runs).length ? { runs } : {}) });
    }
    return items;
  };

  const launch = async (items: WindowItem[], slots: number) => {
    const n = ++seq;
    const w: Inflight = { seq: n, id: `${info.workflowId}/${tag ? `${tag}/` : ''}w-${String(n).padStart(6, '0')}`, slots, ranges: ranges(items.map((x) => x.i)), stages: [...new Set(items.flatMap((x) => x.run))] };
    inflight.set(n, w);
    free -= slots;
    const resultsKey = `${resultsPrefix}${String(n).padStart(6, '0')}.json`;
    if (inline) {
      // Small runs stay in the parent's own history: no child workflow to wait for.
      const saved: SavedEntry[] = [];
      void runWindow({ ...settings, plan: p }, items, slots, {
        result: (e, failure, detail) => {
          apply({ seq: n, entries: [e], failures: failure ? [failure] : [], freed: 0 });
          if (detail) st.details.set(`${st.stages[e[0]]}/${e[1]}`, detail);
        },
        freed: (k) => apply({ seq: n, entries: [], failures: [], freed: k }),
        started: (s, i) => st.begin(s, i),
      }, saved)
        .finally(() => CancellationScope.nonCancellable(async () => {
          if (saved.length) await saveWindowResults({ bucket: p.bucket, key: resultsKey, entries: saved });
        }))
        .finally(() => apply({ seq: n, entries: [], failures: [], freed: 0, done: true }))
        // Not left unhandled: that would fail every workflow task, and the run would hang.
        .catch((err) => {
          if (isCancellation(err)) return;
          saveFailure = err;
          changed = true;
        });
      return;
    }
    const child = await startChild(ingestWindow, {
      workflowId: w.id,
      // Abandoned, not terminated, when this run continues as new: the next run takes its reports.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      args: [{ ...settings, seq: n, slots, items, resultsKey, parentId: info.workflowId, ...(tag ? { tag } : {}) }],
    }).catch((err) => {
      // Started in a scope the run's cancel already reached (the cancel came in the task that freed
      // this slot): the window was never created, so no report will come for it to wait on.
      if (isCancellation(err) && patched('unstarted-window-cancelled')) apply({ seq: n, entries: [], failures: [], freed: 0, done: true });
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      // Only a window of an earlier run of this workflow (left running when its parent was reset
      // or continued as new) holds such an id: the run cannot take that window's place.
      throw ApplicationFailure.nonRetryable(`window ${w.id} (partitions ${w.ranges.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',')}) could not start: a workflow with that id is already running, a window an earlier run of ${info.workflowId} started and left running (after a reset or continue-as-new). Let it end or terminate it (temporal workflow terminate -w '${w.id}'), then reset this run to its last workflow task, or start a new run (partflow retry ${info.workflowId}), which reuses every committed partition`, 'WindowAlreadyRunning');
    });
    // A window that ends without its last report (terminated, say) gives its partitions back.
    // Only this run sees the result; after continue-as-new the last report is all there is.
    void child.result().then(() => undefined, (err) => {
      if (!isCancellation(err)) log.warn('window ended without its last report', { window: w.id, error: String(err) });
      apply({ seq: n, entries: [], failures: [], freed: 0, done: true, lost: !isCancellation(err) });
    });
  };

  // Windows of earlier runs: this run cannot await them, so it looks at them now and then.
  const carriedSeq = carry?.seq ?? 0;
  if (!inline) {
    watchOrphans({
      every: (options.windowCheckSeconds ?? 60) * 1000,
      orphans: () => [...inflight.values()].filter((w) => w.seq <= carriedSeq).map((w) => ({ seq: w.seq, id: w.id })),
      closed: (n, id, how) => {
        log.warn('window of an earlier run ended without its last report', { window: id, status: how });
        apply({ seq: n, entries: [], failures: [], freed: 0, done: true, lost: how !== 'CANCELED' });
      },
      looked: () => { if (shouldContinue()) changed = true; },
    });
  }

  let cancelled: unknown = null;
  try {
    for (;;) {
      if (saveFailure) throw saveFailure;
      while (free > 0 && phase === 'running') {
        if (st.count(Code.pending) > 0) rerunAfterReset();
        const items = nextItems(windowSize);
        if (!items.length) break;
        await launch(items, Math.min(free, unitsOf(p, items, batch).length));
      }
      describe();
      if (inflight.size === 0 && st.count(Code.pending) === 0) {
        if (st.count(Code.failed) === 0) break;
        phase = 'waiting-for-retry';
        status('waiting-for-retry');
        describe();
        waitUntil ??= Date.now() + resolved.waitForRetryMs;
        const left = waitUntil - Date.now();
        // A retry that came with the request to finish runs first; then the run ends without waiting again.
        const asked = finishAsked || (left > 0 ? await condition(() => st.count(Code.pending) > 0 || finishAsked || (!inline && shouldContinue()), left) : st.count(Code.pending) > 0);
        if (!asked || (finishAsked && st.count(Code.pending) === 0)) break;
        if (st.count(Code.pending) > 0) {
          waitUntil = null;
          phase = 'running';
          status('running');
          continue;
        }
      }
      if (!inline && shouldContinue()) {
        const next: IngestCarry = { options, plan: p, state: st.carry(), firstRunId, startedAt, seq, cursor, free, inflight: [...inflight.values()], retryRuns: [...retryRuns], ...(unblockedRuns.size ? { unblocked: [...unblockedRuns] } : {}), waitUntil, ...(note ? { note } : {}), ...(finishAsked ? { finishAsked: true as const } : {}), ...(recount.size ? { recount: [...recount] } : {}), ...(tag ? { tag } : {}), ...(resetPending ? { reset: true as const } : {}) };
        await continueAsNew<(i: IngestInput, c: IngestCarry) => Promise<IngestSummary>>(input, next);
      }
      changed = false;
      await condition(() => changed);
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelled = err;
    await CancellationScope.nonCancellable(async () => {
      for (const w of inflight.values()) if (!inline) await getExternalWorkflowHandle(w.id).cancel().catch(() => undefined);
      // Cancelled windows still report what they finished; wait a bounded time for them.
      await condition(() => inflight.size === 0, '2m');
    });
  }
  const summary = await CancellationScope.nonCancellable(() => finish(p, resolved, st, firstRunId, resultsPrefix, cancelled !== null));
  phase = 'done';
  status(cancelled ? 'cancelled' : summary.status);
  describe();
  // Ends cancelled, as asked; the run manifest says what was committed before.
  if (cancelled) throw cancelled;
  return summary;

  function shouldContinue(): boolean {
    const i = workflowInfo();
    return i.continueAsNewSuggested || i.historyLength >= (options.continueAsNewEvents ?? DEFAULT_CAN_EVENTS);
  }

  async function finish(pl: PlanSummary, r: ResolvedIngest, s: CompactState, runId: string, windows: string, stopped: boolean): Promise<IngestSummary> {
    phase = 'finishing';
    describe();
    // Left unfinished: by the cancel, or (not cancelled) by a run that ended waiting on failures upstream.
    settleUnfinished(s, pl, stopped);
    const summary = summarize(pl, r, s, runManifestKey(r.targetPrefix, pl.dataset, info.workflowId, runId));
    if (stopped) summary.status = 'cancelled';
    if (schedule) summary.schedule = schedule;
    summary.startedAt = startedAt;
    return commitRun(pl, summary, runId, windows, stopped);
  }
}
