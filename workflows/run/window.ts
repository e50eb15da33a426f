import { isCancellation, patched, proxyActivities, sleep } from '@temporalio/workflow';
import { cutError, KEPT_ERROR_CHARS, SHOWN_ERROR_CHARS } from './cut-error';
import type { Activities } from '../../activities';
import type { BatchOutcome } from '../../activities/batch';
import type { PartitionResult } from '../../src/manifest/partition';
import type { SavedEntry } from '../../src/manifest/window-results';
import type { PlanSummary } from '../../src/pipeline/plan';
import { Code, EntryDetail, FailureDetail } from './compact';
import { attemptsLeft, backoffMs, BatchEntry, batchOptions, describeFailure, endedByCancel, options } from './activity-options';
import { unitsOf } from './batches';
import { afterOf, depthOf, stageNames } from './graph';
import { Slots } from './slots';
import { UnresolvedInputs, unresolvedFailure } from './unresolved';

export interface WindowSettings {
  plan: PlanSummary;
  heartbeatTimeoutSeconds: number;
  partitionTimeoutMs?: number;
  /** Small partitions per batch activity; absent or 1: one activity per partition. */
  batch?: number;
}

/** A partition to run and which of its stages; stages not named are committed already. */
export interface WindowItem {
  i: number;
  id?: string;
  name?: string;
  run: string[];
  /** Earlier runs per stage (retries), for activity ids and summaries. */
  runs?: Record<string, number>;
}

/** [stage index, partition index, status code, records in, out, rejected, dropped]: what a parent counts. */
export type Entry = [number, number, Code, number, number, number, number];

/**
 * What a stage ends as in a window, for the stages after it: its committed version, null when it
 * failed or was blocked, or CANCELLED when the cancel stopped it (then what reads it is cancelled
 * too, not blocked: no failure holds it back).
 */
const CANCELLED = Symbol('cancelled');
type Version = string | null | typeof CANCELLED;

export interface WindowHooks {
  /** Every finished (stage, partition): the count entry, and the failure when it failed. */
  result(e: Entry, failure?: FailureDetail, detail?: EntryDetail): void;
  /** Slots this window no longer needs (fewer units of work left than slots). */
  freed(n: number): void;
  /** The activity for (stage index, partition) got its slot and is being scheduled: for queries only, never for decisions. */
  started?(s: number, i: number): void;
}

/** Which stages of an item run, and which committed ones must still give their version to them. */
function needsOf(names: string[], after: Map<string, string[]>, item: WindowItem): { todo: Set<string>; needed: Set<string> } {
  const todo = new Set(item.run);
  // Committed stages whose version a re-run stage reads, directly or through another such stage.
  const needed = new Set<string>();
  for (const stage of [...names].reverse()) {
    if (!todo.has(stage) && names.some((t) => (todo.has(t) || needed.has(t)) && (after.get(t) ?? []).includes(stage))) needed.add(stage);
  }
  return { todo, needed };
}

/**
 * Runs the items with at most `slots` activities in flight, later stages first. Runs of small
 * partitions share one activity per stage (`batch`). As soon as fewer units of work are left
 * than slots, the spare slots are handed back so the parent can give them to the next window:
 * no window waits for another's slowest partition.
 */
export async function runWindow(s: WindowSettings, items: WindowItem[], slots: number, hooks: WindowHooks, saved: SavedEntry[] = []): Promise<SavedEntry[]> {
  const { plan } = s;
  const names = stageNames(plan);
  const after = afterOf(plan);
  const depth = depthOf(plan);
  if (items.some((it) => !it.id)) {
    // A plan too large for the workflow to hold every id: this window asks for its own, once.
    const { describePartitions } = proxyActivities<Activities>({ startToCloseTimeout: '10m', retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '1m' } });
    const d = await describePartitions({ bucket: plan.bucket, planKey: plan.planKey, indices: items.map((it) => it.i) });
    items = items.map((it, k) => ({ ...it, id: d.ids[k], name: d.names[k] }));
  }
  const sem = new Slots(slots);
  const units = unitsOf(plan, items, s.batch ?? 1);
  let unfinished = units.length;

  // A stage the plan found empty: its first run of a partition need not look for an earlier commit.
  const empty = new Set(plan.emptyStages ?? []);
  const freshOf = (stage: string, first: boolean) => (first && empty.has(stage) ? { fresh: true as const } : {});
  // On a cancel, wait for what each running activity ends as: one may still commit (see
  // awaitingCancel). Windows that ran before this took an activity as stopped the moment the
  // cancel asked, and went on at once; they replay so.
  let awaitAware: boolean | undefined;
  const awaitCancel = (): boolean => (awaitAware ??= patched('await-cancelled-activities'));
  // A partition that failed in a batch goes on with its retry policy's schedule when it runs
  // alone: first the wait before its next attempt, then the later waits. Windows that ran before
  // this ran it alone at once, its schedule starting afresh (7 s of waits by default, not 15 s);
  // they replay so.
  let resumeAware: boolean | undefined;
  const resumeSchedule = (): boolean => (resumeAware ??= patched('batch-retry-schedule'));
  const call = (stage: string, item: WindowItem, run: number, resolve: boolean, upstream: Record<string, string>, used = 0, first = false): Promise<PartitionResult> => {
    const acts = proxyActivities<Activities>(options(s, stage, item, run, resolve, used, awaitCancel(), used > 0 && resumeSchedule()));
    return stage === 'raw'
      ? acts.importPartition({ bucket: plan.bucket, planKey: plan.planKey, index: item.i, ...freshOf(stage, first) })
      : acts.runStage({ bucket: plan.bucket, planKey: plan.planKey, stage, index: item.i, upstream, ...(resolve ? { resolve: true as const } : freshOf(stage, first)) });
  };

  // What each (stage, partition) ends as: reported to the parent, and kept for the run manifest.
  const done = (stage: string, item: WindowItem, run: number, r: PartitionResult): string => {
    const c = r.counts;
    hooks.result([names.indexOf(stage), item.i, r.status === 'done' ? Code.done : Code.skipped, c.in, c.out, c.rejected, c.dropped], undefined,
      { attempts: r.attempt, runs: run, records: c, durationMs: r.durationMs, version: r.contentVersion, outputKey: r.outputKey });
    saved.push(savedOf(stage, item, run, r));
    return r.contentVersion;
  };
  const savedOf = (stage: string, item: WindowItem, run: number, r: PartitionResult): SavedEntry => ({
    stage, index: item.i, status: r.status, attempts: r.attempt, runs: run, version: r.contentVersion, counts: r.counts, durationMs: r.durationMs,
    ...(r.output && r.computedBy ? { output: { ...r.output, codeVersion: r.codeVersion }, computedBy: r.computedBy } : {}),
  });
  /**
   * A resolve's version, for the stages after it. It reads the output committed earlier; only
   * when none reads the same inputs does it compute one (`done`), which the stages after it then
   * read: the run manifest (and so the snapshot) must name that one, so it is saved as the
   * stage's result. Not reported to the parent, which counted the stage when it committed first.
   * Windows that ran before this saved only the first; they replay so.
   */
  const resolved = (stage: string, item: WindowItem, r: PartitionResult): string => {
    if (r.status === 'done' && patched('save-computed-resolve')) saved.push(savedOf(stage, item, 1, r));
    return r.contentVersion;
  };
  const failed = (stage: string, item: WindowItem, run: number, f: { error: string; type: string; attempts: number }): null => {
    hooks.result([names.indexOf(stage), item.i, Code.failed, 0, 0, 0, 0], {
      stage, index: item.i, partition: item.id ?? `#${item.i}`, ...(item.name ? { name: item.name } : {}), error: cutError(f.error, SHOWN_ERROR_CHARS), errorType: f.type, attempts: f.attempts, runs: run,
    });
    saved.push({ stage, index: item.i, status: 'failed', attempts: f.attempts, runs: run, error: cutError(f.error, KEPT_ERROR_CHARS) });
    return null;
  };
  const blocked = (stage: string, item: WindowItem, run: number): null => {
    hooks.result([names.indexOf(stage), item.i, Code.blocked, 0, 0, 0, 0], undefined, { attempts: 0, runs: run - 1 });
    saved.push({ stage, index: item.i, status: 'blocked', attempts: 0, runs: run - 1 });
    return null;
  };
  const unresolved = new UnresolvedInputs(after);
  /** A stage that cannot run: failed when an input it reads could not be resolved, else blocked. */
  const cannotRun = (stage: string, item: WindowItem, run: number): null => {
    const u = unresolved.input(stage, item.i);
    // Runs from before this ended such a stage blocked, losing the failure; they replay so.
    return u && patched('fail-on-unresolved-input') ? failed(stage, item, run, unresolvedFailure(stage, item, u)) : blocked(stage, item, run);
  };
  // Cancelled with its ingest: not a failure, just not run (the ingest ends it as cancelled, and saves nothing for it).
  // A window cancelled alone gives it back to its parent, which runs it again.
  // Windows that ran before this ended what stood behind it blocked; they replay so.
  let cancelAware: boolean | undefined;
  const stopped = (): Version => ((cancelAware ??= patched('cancel-downstream')) ? CANCELLED : null);
  const cancelled = (stage: string, item: WindowItem): Version => {
    hooks.result([names.indexOf(stage), item.i, Code.pending, 0, 0, 0, 0]);
    return stopped();
  };

  /**
   * One stage of one partition in an activity of its own; its committed version, or null. `first`:
   * nothing of this stage has run for the partition in this ingest (not in a batch either).
   */
  const runOne = (stage: string, item: WindowItem, run: number, up: Record<string, string>, used = 0, first = false): Promise<Version> =>
    sem.with(depth.get(stage)!, async () => {
      hooks.started?.(names.indexOf(stage), item.i);
      try {
        const r = await call(stage, item, run, false, up, used, first);
        return done(stage, item, run, { ...r, attempt: r.attempt + used });
      } catch (err) {
        if (isCancellation(err) || endedByCancel(err)) return cancelled(stage, item);
        const f = describeFailure(err, attemptsLeft(plan.retry.maximumAttempts, used), { stage, partition: item.id ?? `#${item.i}`, name: item.name, heartbeatTimeoutSeconds: s.heartbeatTimeoutSeconds, partitionTimeoutMs: s.partitionTimeoutMs });
        return failed(stage, item, run, { ...f, attempts: f.attempts + used });
      }
    });
  /** The version of a stage committed earlier, which a re-run stage reads (its committed output, not this worker's computing). */
  const resolveOne = (stage: string, item: WindowItem, up: Record<string, string>): Promise<Version> =>
    sem.with(depth.get(stage)!, async (): Promise<Version> => resolved(stage, item, await call(stage, item, 1, true, up))).catch((err) => {
      if (isCancellation(err) || endedByCancel(err)) return stopped();
      return unresolved.failed(stage, item.i, describeFailure(err, plan.retry.maximumAttempts, { stage, partition: item.id ?? `#${item.i}`, name: item.name, heartbeatTimeoutSeconds: s.heartbeatTimeoutSeconds, partitionTimeoutMs: s.partitionTimeoutMs }));
    });

  /** Slots this window no longer needs once a unit of work is done. */
  const unitDone = () => {
    unfinished--;
    const spare = sem.capacity - Math.max(unfinished, 0);
    if (spare > 0) {
      sem.shrink(spare);
      hooks.freed(spare);
    }
  };

  async function partition(item: WindowItem): Promise<void> {
    const ok = new Map<string, Promise<Version>>();
    const { todo, needed } = needsOf(names, after, item);
    /** The versions a stage reads; null when a failure holds one back, CANCELLED when only the cancel does. */
    const upstreamOf = async (stage: string): Promise<Record<string, string> | null | typeof CANCELLED> => {
      const up: Record<string, string> = {};
      let halted = false;
      for (const d of after.get(stage) ?? []) {
        const v = await ok.get(d)!;
        if (v === null) return null;
        if (v === CANCELLED) halted = true;
        else if (d !== 'raw') up[d] = v;
      }
      return halted ? CANCELLED : up;
    };
    for (const stage of names) {
      ok.set(stage, (async (): Promise<Version> => {
        if (!todo.has(stage)) {
          // Committed earlier; its version is fetched only if a stage that re-runs reads it.
          if (stage === 'raw' || !needed.has(stage)) return '';
          const up = await upstreamOf(stage);
          return up === null ? unresolved.via(stage, item.i) : up === CANCELLED ? CANCELLED : resolveOne(stage, item, up);
        }
        const up = await upstreamOf(stage);
        const run = (item.runs?.[stage] ?? 0) + 1;
        return up === null ? cannotRun(stage, item, run) : up === CANCELLED ? cancelled(stage, item) : runOne(stage, item, run, up, 0, run === 1);
      })());
    }
    await Promise.all(ok.values());
    unitDone();
  }

  /**
   * A run of small partitions, stage by stage: one activity per stage for all of them. A
   * partition whose failure its own activity would retry is run alone, with the attempts and
   * waits its retry policy has left; every partition of a batch activity that failed as a whole
   * is run alone with the whole policy.
   */
  async function batch(members: WindowItem[]): Promise<void> {
    const versions = new Map(members.map((m) => [m.i, new Map<string, Version>()]));
    const needs = new Map(members.map((m) => [m.i, needsOf(names, after, m)]));
    /**
     * Upstream versions as they stand (no waiting, unlike a partition's): null when one failed or
     * was blocked, undefined while one is still to run, CANCELLED when the cancel stopped one.
     */
    const upstreamNow = (stage: string, v: Map<string, Version>): Record<string, string> | null | undefined | typeof CANCELLED => {
      const up: Record<string, string> = {};
      let waiting = false;
      let halted = false;
      for (const d of after.get(stage) ?? []) {
        const x = v.get(d);
        if (x === null) return null;
        // Avro sources have no raw stage to run: their raw version is the plan's.
        if (x === undefined) { if (d !== 'raw') waiting = true; continue; }
        if (x === CANCELLED) halted = true;
        else if (d !== 'raw') up[d] = x;
      }
      return waiting ? undefined : halted ? CANCELLED : up;
    };
    /** Settles every later stage an upstream failure blocks, at once, as a partition alone would. */
    const settleBlocked = (from: number) => {
      for (const stage of names.slice(from)) for (const item of members) {
        const v = versions.get(item.i)!;
        if (v.has(stage) || upstreamNow(stage, v) !== null) continue;
        const { todo } = needs.get(item.i)!;
        v.set(stage, todo.has(stage) ? cannotRun(stage, item, (item.runs?.[stage] ?? 0) + 1) : unresolved.via(stage, item.i));
      }
    };
    /**
     * Runs alone partitions that failed in one batch attempt, after the wait their retry policy
     * has before the next: one timer for all of them (the attempt is the batch's, the same for
     * each), not one per partition. A cancel during the wait ends them as cancelled.
     */
    const resume = async (stage: string, tried: BatchEntry[], alone: (e: BatchEntry) => Promise<void>): Promise<void> => {
      if (!tried.length) return;
      if (resumeSchedule()) {
        try {
          await sleep(backoffMs(plan.retry, tried[0].used!));
        } catch (err) {
          if (!isCancellation(err)) throw err;
          for (const e of tried) versions.get(e.item.i)!.set(stage, cancelled(stage, e.item));
          return;
        }
      }
      await Promise.all(tried.map(alone));
    };
    for (const [si, stage] of names.entries()) {
      const entries: BatchEntry[] = [];
      for (const item of members) {
        const { todo, needed } = needs.get(item.i)!;
        const v = versions.get(item.i)!;
        if (v.has(stage)) continue;
        const up = upstreamNow(stage, v) ?? null;
        if (!todo.has(stage)) {
          if (stage === 'raw' || !needed.has(stage)) v.set(stage, '');
          else if (up === null) v.set(stage, unresolved.via(stage, item.i));
          else if (up === CANCELLED) v.set(stage, CANCELLED);
          else entries.push({ item, run: 1, resolve: true, up });
          continue;
        }
        const run = (item.runs?.[stage] ?? 0) + 1;
        if (up === null) v.set(stage, cannotRun(stage, item, run));
        else if (up === CANCELLED) v.set(stage, cancelled(stage, item));
        else entries.push({ item, run, resolve: false, up });
      }
      if (!entries.length) continue;
      const alone = (e: BatchEntry) => (e.resolve ? resolveOne(stage, e.item, e.up) : runOne(stage, e.item, e.run, e.up, e.used))
        .then((x) => { versions.get(e.item.i)!.set(stage, x); });
      let outcomes: BatchOutcome[];
      try {
        outcomes = entries.length === 1 ? [] : await sem.with(depth.get(stage)!, () => {
          for (const e of entries) if (!e.resolve) hooks.started?.(si, e.item.i);
          return proxyActivities<Activities>(batchOptions(s, stage, entries, awaitCancel())).runBatch({
          bucket: plan.bucket, planKey: plan.planKey, stage, items: entries.map((e) => ({ index: e.item.i, ...(stage === 'raw' ? {} : { upstream: e.up }), ...(e.resolve ? { resolve: true as const } : freshOf(stage, e.run === 1)) })),
          });
        });
      } catch (err) {
        if (isCancellation(err) || endedByCancel(err)) {
          for (const e of entries) versions.get(e.item.i)!.set(stage, e.resolve ? stopped() : cancelled(stage, e.item));
          continue;
        }
        outcomes = [];
      }
      const byIndex = new Map(outcomes.map((o) => [o.index, o]));
      const again: BatchEntry[] = [];
      for (const e of entries) {
        const o = byIndex.get(e.item.i);
        const v = versions.get(e.item.i)!;
        if (!o) again.push(e);
        else if ('failed' in o && o.failed.retryable) again.push({ ...e, used: o.failed.attempts });
        else if ('result' in o) v.set(stage, e.resolve ? resolved(stage, e.item, o.result) : done(stage, e.item, e.run, o.result));
        else v.set(stage, e.resolve ? unresolved.failed(stage, e.item.i, o.failed) : failed(stage, e.item, e.run, o.failed));
      }
      // Partitions the batch tried wait as their policy would before their next attempt.
      const tried = again.filter((e) => !e.resolve && e.used);
      await Promise.all([...again.filter((e) => !tried.includes(e)).map(alone), resume(stage, tried, alone)]);
      settleBlocked(si + 1);
    }
    unitDone();
  }

  await Promise.all(units.map((u) => (u.length > 1 ? batch(u) : partition(u[0]))));
  return saved;
}
