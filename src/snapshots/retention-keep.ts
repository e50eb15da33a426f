import { DATASET_MARKER, partitionFileOf } from '../pipeline/layout';
import { snapshotNumberOf } from './layout';

/**
 * The pure parts of retention (src/snapshots/retention.ts): which keys gc may delete at all,
 * which folders are other datasets, and which superseded snapshots a consumer may still be reading.
 */

/** 'output' is a partition's data (its output or rejects); 'partition-manifest' the manifest that commits them. */
export type Category = 'snapshot' | 'snapshot-part' | 'window-result' | 'run-manifest' | 'partition-manifest' | 'output' | 'plan';

/**
 * Deletion order, one category after another, each finished before the next begins: whatever
 * refers to an object goes before it. Snapshot heads name their part files, run manifest and
 * plan, and heads or parts name partition outputs; window results name outputs too, and a run
 * manifest its outputs and plan; a partition manifest names its output and rejects and is the
 * mark an ingest trusts to reuse them. Interrupted anywhere, gc leaves only objects nothing
 * refers to, which the next gc deletes, never a reference to something gone.
 */
export const ORDER: Category[] = ['snapshot', 'snapshot-part', 'window-result', 'run-manifest', 'partition-manifest', 'output', 'plan'];

/** The folder of one run's window results (`_windows/<workflow>/<run>/`), where an ingest saves each window's results until its run manifest is written. */
const WINDOW_RESULT = /^(_windows\/([^/]+)\/([^/]+)\/)[^/]+\.json$/;

/** The category of a key (relative to the dataset folder) partflow may delete, or null for keys it never deletes. */
export function categoryOf(rel: string): Category | null {
  if (rel.startsWith('_snapshots/parts/')) return 'snapshot-part';
  if (rel.startsWith('_snapshots/')) return snapshotNumberOf(rel.slice('_snapshots/'.length)) !== null ? 'snapshot' : null;
  if (rel.startsWith('_runs/')) return rel.endsWith('.json') ? 'run-manifest' : null;
  if (rel.startsWith('_plans/')) return rel.endsWith('.json') ? 'plan' : null;
  if (rel.startsWith('_windows/')) return WINDOW_RESULT.test(rel) ? 'window-result' : null;
  if (rel.startsWith('_')) return null;
  const f = partitionFileOf(rel);
  return f ? (f.kind === 'manifest' ? 'partition-manifest' : 'output') : null;
}

/**
 * The run folders under `_windows/` whose window results gc may delete (each result also only
 * when older than the grace period). An ingest reads them to write its run manifest, which can
 * be long after they were saved: a run waits for a retry up to its waitForRetry (at most a year),
 * and a retried window saves only when it ends. So a folder goes once its run's manifest
 * (`_runs/<workflow>/<run>.json`, the same names) has existed for `graceMs` (nothing reads the
 * results after that; the ingest deletes them itself unless it was stopped first), or, with no
 * run manifest, once its newest result is older than `abandonedMs`: the run was terminated, or
 * its history lost, and will never write one.
 */
export function windowFoldersToDelete(objects: { rel: string; at: number }[], now: number, graceMs: number, abandonedMs: number): Set<string> {
  const runs = new Map(objects.filter((o) => o.rel.startsWith('_runs/')).map((o) => [o.rel, o.at]));
  const newest = new Map<string, { at: number; run: string }>();
  for (const o of objects) {
    const m = WINDOW_RESULT.exec(o.rel);
    if (!m) continue;
    const seen = newest.get(m[1]);
    if (!seen || o.at > seen.at) newest.set(m[1], { at: o.at, run: `_runs/${m[2]}/${m[3]}.json` });
  }
  const out = new Set<string>();
  for (const [folder, { at, run }] of newest) {
    const manifestAt = runs.get(run);
    if (manifestAt !== undefined ? now - manifestAt >= graceMs : now - at >= abandonedMs) out.add(folder);
  }
  return out;
}

/** The run folder of a window result's key (relative to the dataset folder). */
export const windowFolderOf = (rel: string): string => WINDOW_RESULT.exec(rel)![1];

/**
 * Folders (relative to the dataset folder, ending in "/") that hold a dataset marker of their
 * own: other datasets nested inside this one. Their snapshots are not this dataset's, so gc
 * would see all their outputs as unreferenced; it leaves everything under them alone.
 */
export function nestedDatasets(rels: string[]): string[] {
  return rels.filter((r) => r.endsWith(`/${DATASET_MARKER}`)).map((r) => r.slice(0, -DATASET_MARKER.length)).sort();
}

export const insideAny = (rel: string, folders: string[]) => folders.some((f) => rel.startsWith(f));

/**
 * Snapshots superseded less than `graceMs` before `now`: each but the latest, whose successor
 * (the next snapshot that exists) was committed within the grace period. A consumer that began
 * reading one of them while it was the latest may still be loading it. Walks back from the latest
 * and stops at the first successor committed earlier (commits come in order, give or take the
 * workers' clocks), so only as many heads are read as the grace period spans. A successor whose
 * time cannot be read counts as recent: keeping too much is the safe side.
 */
export async function supersededWithinGrace(numbers: number[], committedAtOf: (n: number) => Promise<number>, now: number, graceMs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = numbers.length - 1; i > 0; i--) {
    const at = await committedAtOf(numbers[i]);
    if (now - at >= graceMs) break;
    out.push(numbers[i - 1]);
  }
  return out.sort((a, b) => a - b);
}
