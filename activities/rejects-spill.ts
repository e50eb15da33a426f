import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { getObjectBuffer, listObjects, ObjectNotFoundError, putIfAbsent, PreconditionFailedError } from '../src/storage/objects';

/** Where the rejects' bytes not uploaded yet were put aside at a checkpoint: an S3 object. */
export interface SpillRef {
  key: string;
  bytes: number;
  sha256: string;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The rejects writer's buffered bytes are records, so a checkpoint (which travels in Temporal
 * heartbeats) must not carry them: they are put aside in small create-only S3 objects under
 * `prefix`, and the checkpoint holds only a SpillRef.
 */
export class RejectsSpill {
  /** The last spill, and how many rejects it covered. */
  private last?: { records: number; ref: SpillRef | null };

  /** `earlierAttempts`: this is not the partition's first attempt, whose spills may still be there (see drop()). */
  constructor(
    private readonly s3: S3Client, private readonly bucket: string, private readonly prefix: string, private readonly log: Logger,
    private readonly earlierAttempts = false,
  ) {}

  /**
   * Puts `buffered` aside under `<prefix><name>`. Unchanged since the last spill (the same number
   * of rejects): the same object serves. Returns undefined when the key is taken (the checkpoint
   * is then skipped).
   */
  async put(buffered: Buffer, records: number, name: string): Promise<SpillRef | null | undefined> {
    if (this.last && this.last.records === records) return this.last.ref;
    let ref: SpillRef | null = null;
    if (buffered.length > 0) {
      ref = { key: `${this.prefix}${name}`, bytes: buffered.length, sha256: sha256(buffered) };
      try {
        await putIfAbsent(this.s3, this.bucket, ref.key, buffered);
      } catch (err) {
        if (err instanceof PreconditionFailedError) return undefined;
        throw err;
      }
    }
    this.last = { records, ref };
    return ref;
  }

  /** The spilled bytes of a checkpoint, or null when they are gone or not what was recorded. */
  async get(ref: SpillRef | null, records: number): Promise<Buffer | null> {
    let buf: Buffer = Buffer.alloc(0);
    if (ref) {
      try {
        buf = await getObjectBuffer(this.s3, this.bucket, ref.key, ref.bytes + 1);
      } catch (err) {
        if (err instanceof ObjectNotFoundError) return null;
        throw err;
      }
      if (buf.length !== ref.bytes || sha256(buf) !== ref.sha256) return null;
    }
    this.last = { records, ref };
    return buf;
  }

  forget(): void {
    this.last = undefined;
  }

  /**
   * Best effort: spills are of no use once the partition is committed or given up. Earlier
   * attempts' count too, though this one may not know them: it started over (their uploads were
   * gone) or never got their checkpoint, and spilled nothing itself. Only a first attempt that
   * spilled nothing skips the LIST: nobody can have spilled for it.
   */
  async drop(): Promise<void> {
    if (!this.last && !this.earlierAttempts) return;
    try {
      const spills = await listObjects(this.s3, this.bucket, this.prefix);
      await Promise.all(spills.map((o) => this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: o.key }))));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not delete checkpoint spills');
    }
  }
}
