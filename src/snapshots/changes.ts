import type { RunManifest } from '../manifest/run';
import { parseRangeName, uncovered } from '../sources/kafka/ranges';
import type { ChangeKind, FailedEntry, SnapshotPartition, StageChanges, StageCounts } from './types';

/**
 * The pure part of snapshots: what a run does to a dataset's state, and what changed between two
 * states. A run's effect is a set of actions (Delta Lake style): per stage, the partitions it
 * committed, the ones it failed (keep the last good output) and the ones it no longer plans
 * (remove). Applying the same effect to a newer parent is how a commit rebases after a conflict.
 */
export type Stages = Record<string, SnapshotPartition[]>;

export interface RunEffect {
  stages: Record<string, { committed: SnapshotPartition[]; failed: { partition: string; name: string }[] }>;
}

export function runEffect(m: RunManifest): RunEffect {
  const stages: RunEffect['stages'] = {};
  const stage = (s: string) => (stages[s] ??= { committed: [], failed: [] });
  for (const s of Object.keys(m.stages ?? {})) stage(s);
  for (const [s, list] of Object.entries(m.committed ?? {})) {
    for (const c of list) {
      stage(s).committed.push({
        partition: c.partition, name: c.name, output: c.output, manifest: c.manifest, records: c.counts.out, counts: c.counts,
        sha256: c.sha256, codeVersion: c.codeVersion, contentVersion: c.contentVersion, workflowId: c.workflowId, runId: c.runId,
      });
    }
  }
  // A blocked partition is as unfinished as a failed one: both keep their last good output.
  for (const f of [...(m.failures ?? []), ...(m.blocked ?? [])]) stage(f.stage).failed.push({ partition: f.partition, name: f.name });
  return { stages };
}

const key = (stage: string, partition: string) => `${stage}\u0000${partition}`;

/**
 * The partitions of `parent` this run removes: every one it neither committed nor failed, in a
 * stage it ran (its plan no longer lists them), or in a stage its pipeline no longer has. Fixed
 * once, against the parent the run first saw, so that a rebase keeps what a concurrent run added.
 */
export function removalsOf(parent: Stages, effect: RunEffect): Set<string> {
  const out = new Set<string>();
  for (const [stage, list] of Object.entries(parent)) {
    const e = effect.stages[stage];
    const touched = new Set([...(e?.committed ?? []), ...(e?.failed ?? [])].map((p) => p.partition));
    for (const p of list) if (!touched.has(p.partition)) out.add(key(stage, p.partition));
  }
  return out;
}

/**
 * A partition of the parent that the run no longer plans, kept (carried forward) rather than
 * removed: its source objects now go only to partitions of the run that failed.
 */
export interface Kept {
  successors: { partition: string; name: string }[];
  /** s3:// URL of the plan its source objects were looked up in. */
  plannedIn: string;
}

/** The source objects a partition reads ("bucket\u0000key", each once) and the plan that lists them. */
export interface SourcesOf {
  keys: string[];
  plan: string;
}

/**
 * The removals of `parent` to keep instead, keyed as removals are. Small objects are packed into
 * one partition whose id hashes their keys: a new object that joins a pack makes a new partition
 * of the old pack's objects and itself, and the old one is no longer planned. When the new one
 * fails, removing the old one would drop the old objects' records, which did not change, for one
 * object that did not load. So an old partition is kept while every source object it read is
 * read now only by partitions this run failed (or blocked) that the parent does not hold; it goes
 * as before when any of its objects is gone from the source, or read by a partition that
 * succeeded or that the parent holds (either would hold its records twice).
 *
 * `planned`: the source objects of every partition the run planned; `sources`: those of the
 * parent's partitions, where known (an unknown one is removed as before).
 */
export function keptForFailed(parent: Stages, effect: RunEffect, removals: Set<string>, planned: Map<string, string[]>, sources: Map<string, SourcesOf>): Map<string, Kept> {
  const out = new Map<string, Kept>();
  const readers = new Map<string, string[]>();
  for (const [id, keys] of planned) for (const k of keys) (readers.get(k) ?? readers.set(k, []).get(k)!).push(id);
  for (const [stage, list] of Object.entries(parent)) {
    const e = effect.stages[stage];
    if (!e || e.failed.length === 0) continue;
    const failed = new Map(e.failed.map((f) => [f.partition, f.name]));
    const held = new Set(list.map((p) => p.partition));
    for (const p of list) {
      const k = key(stage, p.partition);
      const src = sources.get(p.partition);
      if (!removals.has(k) || !src || src.keys.length === 0) continue;
      const successors = new Map<string, string>();
      const ok = src.keys.every((obj) => {
        const now = readers.get(obj);
        if (!now) return false; // gone from the source
        for (const r of now) {
          if (!failed.has(r) || held.has(r)) return false;
          successors.set(r, failed.get(r)!);
        }
        return true;
      });
      if (ok) out.set(k, { successors: [...successors].map(([partition, name]) => ({ partition, name })), plannedIn: src.plan });
    }
  }
  return out;
}

/** The parent's partitions that keptForFailed could keep: removals in a stage where the run failed a partition the parent lacks. */
export function keepCandidates(parent: Stages, effect: RunEffect, removals: Set<string>): SnapshotPartition[] {
  const out: SnapshotPartition[] = [];
  for (const [stage, list] of Object.entries(parent)) {
    const held = new Set(list.map((p) => p.partition));
    if (!(effect.stages[stage]?.failed ?? []).some((f) => !held.has(f.partition))) continue;
    for (const p of list) if (removals.has(key(stage, p.partition))) out.push(p);
  }
  return out;
}

/** A Kafka run's committed range holds some offsets of a range the dataset holds, but not all of them. */
export class KafkaRangeOverlapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KafkaRangeOverlapError';
  }
}

/**
 * The partitions of `parent` a Kafka run's committed ranges cover, stage by stage: each old range
 * whose every offset is in the run's new ranges of the same topic partition, one or several
 * (`orders#0@0-3` is covered by `orders#0@0-2` and `orders#0@2-4`). Both kept would hold those
 * offsets twice. Planning keeps published ranges and plans only around them (planOffsets), so
 * this matters for runs planned at the same time as the one that published. An old range the new
 * ones cover only in part can be neither kept (its offsets there would be held twice) nor
 * dropped (the rest are held by it alone): that throws KafkaRangeOverlapError, and the run's
 * snapshot is not committed; the next run plans around what is published.
 */
export function kafkaCoveredBy(parent: Stages, effect: RunEffect): Set<string> {
  const out = new Set<string>();
  for (const [stage, list] of Object.entries(parent)) {
    const ranges = (effect.stages[stage]?.committed ?? []).map((c) => ({ id: c.partition, name: c.name, r: parseRangeName(c.name)! })).filter((x) => x.r);
    if (ranges.length === 0) continue;
    for (const p of list) {
      const old = parseRangeName(p.name);
      if (!old) continue;
      const mine = ranges.filter(({ id, r }) => id !== p.partition && r.topic === old.topic && r.partition === old.partition && r.start < old.end && old.start < r.end);
      if (mine.length === 0) continue;
      if (uncovered(mine.map((x) => x.r), old.start, old.end).length === 0) out.add(key(stage, p.partition));
      else {
        throw new KafkaRangeOverlapError(`stage ${stage}: the run's range${mine.length > 1 ? 's' : ''} ${mine.map((x) => x.name).join(', ')} hold${mine.length > 1 ? '' : 's'} some offsets of ${p.name}, which the dataset already holds, but not all of them: `
          + 'keeping both would hold those offsets twice, and dropping it would lose the rest. No snapshot was committed for this run (its outputs stay); the next ingest plans around the ranges the dataset holds');
      }
    }
  }
  return out;
}

export interface Applied {
  stages: Stages;
  failed: Record<string, FailedEntry[]>;
}

const byName = (a: SnapshotPartition, b: SnapshotPartition) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.partition < b.partition ? -1 : a.partition > b.partition ? 1 : 0);

/**
 * The dataset's state after the run: committed outputs win, failed ones keep the parent's
 * (marked), removals go, except those `kept` (marked, and named by the failed partitions that
 * read their objects now).
 */
export function applyEffect(parent: Stages, effect: RunEffect, removals: Set<string>, kept: Map<string, Kept> = new Map()): Applied {
  const stages: Stages = {};
  const failed: Applied['failed'] = {};
  for (const stage of new Set([...Object.keys(parent), ...Object.keys(effect.stages)])) {
    const before = new Map((parent[stage] ?? []).map((p) => [p.partition, p]));
    const e = effect.stages[stage] ?? { committed: [], failed: [] };
    const out = new Map<string, SnapshotPartition>();
    for (const c of e.committed) out.set(c.partition, { ...c });
    for (const f of e.failed) {
      const last = before.get(f.partition);
      if (last && !out.has(f.partition)) out.set(f.partition, { ...last, carriedForward: true });
      (failed[stage] ??= []).push({ partition: f.partition, name: f.name, carriedForward: !!last });
    }
    const keeps = new Map<string, { partition: string; name: string }[]>();
    for (const [id, p] of before) {
      if (out.has(id)) continue;
      const k = kept.get(key(stage, id));
      // Kept unless a concurrent run (this one rebased onto) committed one of its successors: that holds its objects now.
      if (k && !k.successors.some((s) => before.has(s.partition))) {
        out.set(id, { ...p, carriedForward: true, successors: k.successors.map((s) => s.partition), plannedIn: k.plannedIn });
        for (const s of k.successors) (keeps.get(s.partition) ?? keeps.set(s.partition, []).get(s.partition)!).push({ partition: id, name: p.name });
        continue;
      }
      if (removals.has(key(stage, id))) continue;
      // A concurrent run's partition this run did not touch; no longer "carried" by this run
      // (where its objects are listed stays known).
      const { carriedForward: _, successors: _s, ...untouched } = p;
      out.set(id, untouched);
    }
    for (const f of failed[stage] ?? []) {
      const k = keeps.get(f.partition);
      if (k) f.keeps = k;
    }
    if (out.size > 0 || effect.stages[stage]) stages[stage] = [...out.values()].sort(byName);
  }
  return { stages, failed };
}

const same = (a: SnapshotPartition, b: SnapshotPartition) => a.contentVersion === b.contentVersion && a.output === b.output;

/** Net changes from one state to another: intermediate states do not matter, only the two ends. */
export function diffStages(from: Stages, to: Stages): Record<string, StageChanges> {
  const out: Record<string, StageChanges> = {};
  for (const c of changeList(from, to)) (out[c.stage] ??= { added: [], changed: [], removed: [] })[c.change].push(c.partition.partition);
  for (const stage of Object.keys(to)) out[stage] ??= { added: [], changed: [], removed: [] };
  return out;
}

export interface Change {
  stage: string;
  change: ChangeKind;
  /** The partition as it is now; for a removal, as it was. */
  partition: SnapshotPartition;
  /** For a change or removal: the partition as it was. */
  previous?: SnapshotPartition;
}

/** Every change from `from` to `to`, stage by stage, in name order. */
export function changeList(from: Stages, to: Stages, stage?: string): Change[] {
  const out: Change[] = [];
  const stages = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort().filter((s) => stage === undefined || s === stage);
  for (const s of stages) {
    const before = new Map((from[s] ?? []).map((p) => [p.partition, p]));
    const after = new Map((to[s] ?? []).map((p) => [p.partition, p]));
    const list: Change[] = [];
    for (const [id, p] of after) {
      const b = before.get(id);
      if (!b) list.push({ stage: s, change: 'added', partition: p });
      else if (!same(b, p)) list.push({ stage: s, change: 'changed', partition: p, previous: b });
    }
    for (const [id, b] of before) if (!after.has(id)) list.push({ stage: s, change: 'removed', partition: b, previous: b });
    out.push(...list.sort((x, y) => byName(x.partition, y.partition)));
  }
  return out;
}

export function countStages(stages: Stages, failed: Applied['failed']): Record<string, StageCounts> {
  const out: Record<string, StageCounts> = {};
  for (const [stage, list] of Object.entries(stages)) {
    out[stage] = {
      partitions: list.length, records: list.reduce((n, p) => n + p.records, 0),
      carriedForward: list.filter((p) => p.carriedForward).length, missing: (failed[stage] ?? []).filter((f) => !f.carriedForward).length,
    };
  }
  return out;
}
