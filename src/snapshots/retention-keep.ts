import { DATASET_MARKER, partitionFileOf } from '../pipeline/layout';
import { snapshotNumberOf } from './layout';

/**
 * The pure parts of retention (src/snapshots/retention.ts): which keys gc may delete at all,
 * which folders are other datasets, and which superseded snapshots a consumer may still be reading.
 */

/** 'output' is a partition's data (its output or rejects); 'partition-manifest' the manifest that commits them. */
export type Category = 'snapshot' | 'snapshot-part' | 'run-manifest' | 'partition-manifest' | 'output' | 'plan';

/**
 * Deletion order, one category after another, each finished before the next begins: whatever
 * refers to an object goes before it. Snapshot heads name their part files, run manifest and
 * plan, and heads or parts name partition outputs; a run manifest names its outputs and plan; a
 * partition manifest names its output and rejects and is the mark an ingest trusts to reuse
 * them. Interrupted anywhere, gc leaves only objects nothing refers to, which the next gc
 * deletes, never a reference to something gone.
 */
export const ORDER: Category[] = ['snapshot', 'snapshot-part', 'run-manifest', 'partition-manifest', 'output', 'plan'];

/** The category of a key (relative to the dataset folder) partflow may delete, or null for keys it never deletes. */
export function categoryOf(rel: string): Category | null {
  if (rel.startsWith('_snapshots/parts/')) return 'snapshot-part';
  if (rel.startsWith('_snapshots/')) return snapshotNumberOf(rel.slice('_snapshots/'.length)) !== null ? 'snapshot' : null;
  if (rel.startsWith('_runs/')) return rel.endsWith('.json') ? 'run-manifest' : null;
  if (rel.startsWith('_plans/')) return rel.endsWith('.json') ? 'plan' : null;
  if (rel.startsWith('_')) return null;
  const f = partitionFileOf(rel);
  return f ? (f.kind === 'manifest' ? 'partition-manifest' : 'output') : null;
}

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
