import { Context } from '@temporalio/activity';
import type { BlockWalk } from '../src/avro/block-walk';
import { AvroFormatError } from '../src/avro/container-reader';
import { walkAvroObject } from '../src/io/avro-object-reader';
import type { ListedObject } from '../src/pipeline/partitioning';
import { ObjectNotFoundError } from '../src/storage/objects';
import { formatS3Url } from '../src/storage/s3url';
import { nonRetryable } from './deps';
import type { Unreadable } from './plan-sources';
import type { ActivityDeps } from './deps';

/** Split Avro objects walked at once: each is over splitBytes (16 MiB by default), so a few streams keep the link busy. */
const WALK_CONCURRENCY = 4;
/** A heartbeat every this many bytes walked (the SDK throttles them further). */
const BEAT_BYTES = 8 * 1024 * 1024;

/**
 * Walks the blocks of every Avro object planning splits, in the order given (see block-walk.ts):
 * where each piece's first block really starts. An object that cannot be walked (corrupt,
 * truncated, over a read limit) comes back as Unreadable rather than failing the plan, as a flat
 * file's failed scan does: its partition fails as CorruptInput, naming the object and the byte.
 */
export async function walkSplitSources(
  deps: ActivityDeps, bucket: string, objects: (ListedObject & { ranges: [number, number][] })[],
): Promise<(BlockWalk | Unreadable)[]> {
  const results: (BlockWalk | Unreadable)[] = new Array(objects.length);
  let next = 0;
  let failed = false;
  let walked = 0;
  const walkOne = async (k: number) => {
    const o = objects[k];
    const name = formatS3Url({ bucket, key: o.key });
    let beatAt = 0;
    const beat = (offset: number) => Context.current().heartbeat({ walking: name, offset, walked });
    beat(0);
    try {
      results[k] = await walkAvroObject(deps.s3, bucket, o, o.ranges, {
        onProgress: (offset) => {
          if (offset - beatAt < BEAT_BYTES) return;
          beatAt = offset;
          beat(offset);
        },
      });
    } catch (err) {
      if (err instanceof AvroFormatError) results[k] = { unreadable: err.message };
      else if (err instanceof ObjectNotFoundError) throw nonRetryable('InputMissing', `source object ${name} disappeared while planning`);
      else throw err;
    }
    walked++;
  };
  await Promise.all(Array.from({ length: Math.min(WALK_CONCURRENCY, objects.length) }, async () => {
    // Once one walk fails the activity fails: the other loops stop rather than walk the rest.
    while (next < objects.length && !failed) {
      try {
        await walkOne(next++);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  }));
  return results;
}
