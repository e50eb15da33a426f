import { Context } from '@temporalio/activity';
import { FlatFileError, FlatFormat, ScanResult } from '../src/formats/flat';
import { scanFlatObject } from '../src/formats/scan-object';
import { isGzipKey } from '../src/formats/source';
import { ResolvedIngest } from '../src/pipeline/input';
import { DATASET_MARKER, datasetPrefix } from '../src/pipeline/layout';
import { datasetFolders, withoutDatasets } from '../src/pipeline/source-listing';
import { ListedObject, partitionIdOf, partitionNameOf, Piece } from '../src/pipeline/partitioning';
import type { PlannedPartition } from '../src/pipeline/plan';
import { ObjectInfo, ObjectNotFoundError } from '../src/storage/objects';
import { formatS3Url } from '../src/storage/s3url';
import { ActivityDeps, nonRetryable } from './deps';

/** What planning takes from a source listing, and the scans of its flat objects. */

/**
 * Leaves partflow's own outputs out of a listing: every folder holding a dataset marker. A target
 * dataset folder inside the source that holds objects but no marker cannot be told apart from
 * source data, so it is refused before anything runs.
 */
export function withoutOutputs(listed: ObjectInfo[], input: ResolvedIngest, prefix: string): ObjectInfo[] {
  const owned = datasetFolders(listed);
  const target = `${datasetPrefix(input.targetPrefix, input.dataset)}/`;
  if (input.targetBucket === input.sourceBucket && target.startsWith(prefix) && !owned.includes(target) && listed.some((o) => o.key.startsWith(target))) {
    throw nonRetryable('InvalidInput', `the target ${formatS3Url({ bucket: input.targetBucket, key: target })} lies inside the source ${input.source} and already holds objects that partflow did not write (no ${DATASET_MARKER}); choose another target or dataset name`);
  }
  // Reading a stage's output folder itself (a later pipeline over partflow's outputs) takes the
  // outputs only: never the manifests and rejects kept beside them.
  return withoutDatasets(listed, owned);
}

/**
 * Source objects up to this size (uncompressed: a small .gz may hold a large file) are scanned
 * several at a time, without scan checkpoints.
 */
const SMALL_SCAN_BYTES = 1024 ** 2;
const SCAN_CONCURRENCY = 8;

/** A source object the scan could not read (corrupt, truncated, not the format its name says): why. */
export interface Unreadable {
  unreadable: string;
}

/**
 * Scans every flat source object, in the order given. Small objects go several at a time: one
 * after another, 100,000 of them took minutes of round trips. A large one is scanned alone, with
 * the checkpointed heartbeats that let a retry carry on inside it. An object that cannot be read
 * comes back as Unreadable rather than failing the plan: one bad file of a nightly feed must not
 * hold back the others (its partition fails, as a corrupt Avro object's does).
 */
export async function scanSources(deps: ActivityDeps, bucket: string, sources: ListedObject[], format: FlatFormat, perChunk: number, dataset: string): Promise<(ScanResult | Unreadable)[]> {
  const results: (ScanResult | Unreadable)[] = new Array(sources.length);
  let done = 0;
  const scanOne = async (k: number, checkpointed: boolean) => {
    const name = formatS3Url({ bucket, key: sources[k].key });
    if (!checkpointed) Context.current().heartbeat({ scanning: name, scanned: done });
    try {
      results[k] = await scanFlatObject(deps.s3, bucket, sources[k], format, perChunk, dataset, checkpointed ? Context.current() : undefined);
    } catch (err) {
      if (err instanceof FlatFileError) results[k] = { unreadable: err.message };
      else if (err instanceof ObjectNotFoundError) throw nonRetryable('InputMissing', `source object ${name} disappeared while planning`);
      else throw err;
    }
    done++;
  };
  // Each run of small objects between large ones goes through a pool of SCAN_CONCURRENCY loops.
  let run: number[] = [];
  const drain = async () => {
    const queue = run;
    run = [];
    let next = 0;
    let failed = false;
    await Promise.all(Array.from({ length: Math.min(SCAN_CONCURRENCY, queue.length) }, async () => {
      // Once one scan fails the activity fails: the other loops stop rather than scan the rest.
      while (next < queue.length && !failed) {
        try {
          await scanOne(queue[next++], false);
        } catch (err) {
          failed = true;
          throw err;
        }
      }
    }));
  };
  for (const [k, s] of sources.entries()) {
    if (s.size <= SMALL_SCAN_BYTES && !isGzipKey(s.key)) run.push(k);
    else {
      await drain();
      await scanOne(k, true);
    }
  }
  await drain();
  return results;
}

/** Partitions of unreadable objects: each alone, never packed with readable ones, so that only it fails. */
export function unreadablePartitions(objects: (ListedObject & Unreadable)[], prefix: string, versionOf: (pieces: Piece[]) => string): PlannedPartition[] {
  return objects.map((u) => {
    const pieces = [{ key: u.key, etag: u.etag, size: u.size }];
    return { id: partitionIdOf(pieces), name: partitionNameOf(pieces, prefix), pieces, rawVersion: versionOf(pieces), unreadable: u.unreadable };
  });
}
