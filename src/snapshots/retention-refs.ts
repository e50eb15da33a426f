import { S3Client } from '@aws-sdk/client-s3';
import { partitionFileOf } from '../pipeline/layout';
import { formatS3Url, parseS3Url } from '../storage/s3url';
import { readCursor } from './cursors';
import { consumersPrefix, DatasetRef } from './layout';
import type { Category } from './retention-keep';
import { readSnapshot, SnapshotError } from './store';

/** What gc reads to decide what to keep: snapshots' references and consumers' cursors. */

export interface CursorInfo {
  consumer: string;
  snapshot: number;
  /** The cursor points at a snapshot that does not exist: the consumer cannot go on until it is moved. */
  missing?: true;
}

const keyOf = (url: string) => parseS3Url(url).key;

/** What snapshot n references: keys (part files, run manifest, plan, plans of kept partitions) and partition-file stems (outputs, rejects, manifests). */
export async function referencesOf(s3: S3Client, d: DatasetRef, n: number): Promise<{ keys: Set<string>; stems: Set<string> }> {
  const s = await readSnapshot(s3, d, n);
  const keys = new Set<string>([keyOf(s.run.manifest), keyOf(s.run.plan), ...(s.parts ?? []).map((p) => `${d.prefix}_snapshots/${p.file}`)]);
  const stems = new Set<string>();
  for (const list of Object.values(s.stages)) {
    for (const p of list) {
      for (const url of [p.output, p.manifest]) stems.add(partitionFileOf(keyOf(url))?.stem ?? keyOf(url));
      // A partition kept without being planned finds its source objects in this plan at the next commit.
      if (p.plannedIn) keys.add(keyOf(p.plannedIn));
    }
  }
  return { keys, stems };
}

/** Whether an object is one of these references (a snapshot head never is: heads are kept by number). */
export function isReferenced(o: { key: string; category: Category }, refs: { keys: Set<string>; stems: Set<string> }): boolean {
  // A partition's output, rejects and manifest share a stem: a snapshot naming one keeps all three.
  if (o.category === 'output' || o.category === 'partition-manifest') return refs.stems.has(partitionFileOf(o.key)!.stem);
  return o.category !== 'snapshot' && refs.keys.has(o.key);
}

/**
 * Every consumer's cursor. A cursor that cannot be read could be holding back a snapshot: gc
 * stops rather than guess.
 */
export async function readCursors(s3: S3Client, d: DatasetRef, cursorKeys: string[], numbers: number[]): Promise<CursorInfo[]> {
  const out: CursorInfo[] = [];
  for (const key of cursorKeys) {
    const name = key.slice(consumersPrefix(d).length).replace(/\.json$/, '');
    const cursor = await readCursor(s3, d, name).catch((err: Error) => {
      throw new SnapshotError(`gc keeps what every consumer still reads, and consumer "${name}"'s cursor ${formatS3Url({ bucket: d.bucket, key })} cannot be read: ${err.message}; nothing was deleted (fix or remove the cursor, then run gc again)`);
    });
    if (cursor) out.push({ consumer: name, snapshot: cursor.snapshot, ...(numbers.includes(cursor.snapshot) || cursor.snapshot === 0 ? {} : { missing: true as const }) });
  }
  return out;
}
