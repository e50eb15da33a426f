import type { SnapshotPartition } from './types';

/**
 * Pure checks of what a snapshot file says against where it was found: a head is read by its key,
 * but listed and diffed by its number, so the two must agree; an entry's URLs are followed by
 * export and verify, so they must stay inside the dataset (gc keeps only what is under it).
 */

/** Why a head read from `url` (the key of snapshot n) cannot be used, or null. */
export function headProblem(body: { kind?: unknown; snapshot?: unknown }, n: number, url: string): string | null {
  if (body === null || typeof body !== 'object' || body.kind !== 'partflow.snapshot') return `${url} is not a partflow snapshot (no "kind": "partflow.snapshot")`;
  if (body.snapshot !== n) return `${url} says it is snapshot ${JSON.stringify(body.snapshot)}, but its key is that of snapshot ${n}: it was edited or copied by hand; restore it or delete it`;
  return null;
}

/** An entry's output or manifest that does not lie under the dataset folder, named; null when both do. */
export function entryOutsideDataset(datasetUrl: string, e: Pick<SnapshotPartition, 'output' | 'manifest'>): string | null {
  for (const [what, url] of [['output', e.output], ['manifest', e.manifest]] as const) {
    const rel = typeof url === 'string' && url.startsWith(datasetUrl) ? url.slice(datasetUrl.length) : null;
    if (rel === null || rel === '' || rel.split('/').some((s) => s === '..' || s === '.' || s === '')) {
      return `its ${what} ${JSON.stringify(url)} is not inside the dataset folder ${datasetUrl}`;
    }
  }
  return null;
}

/**
 * The snapshot numbers a dataset has, for the message that n is not one of them. After gc the
 * numbers have gaps: "4 snapshots, 2 to 7" would read as if 3 to 6 were there.
 */
export function describeSnapshots(all: number[]): string {
  if (all.length === 0) return 'it has no snapshots yet (an ingest commits one when it ends)';
  if (all.length === 1) return `it has 1 snapshot, ${all[0]}`;
  const first = all[0];
  const last = all[all.length - 1];
  if (last - first + 1 === all.length) return `it has ${all.length} snapshots, ${first} to ${last}`;
  if (all.length <= 10) return `it has ${all.length} snapshots: ${all.slice(0, -1).join(', ')} and ${last}`;
  return `it has ${all.length} snapshots from ${first} to ${last}, with gaps (gc deleted some): list them with partflow snapshots`;
}
