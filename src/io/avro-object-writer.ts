import { S3Client } from '@aws-sdk/client-s3';
import { Type } from 'avsc';
import { createHash, Hash } from 'node:crypto';
import { CodecName } from '../avro/codecs';
import { ContainerEncoder } from '../avro/container';
import { getObjectStream, PreconditionFailedError } from '../storage/objects';
import { MultipartState, MultipartWriter } from '../storage/multipart';
import { formatS3Url } from '../storage/s3url';

export interface WrittenObject {
  key: string;
  url: string;
  bytes: number;
  sha256: string;
  records: number;
}

/**
 * Everything a later attempt needs to go on writing the same object, except the bytes written
 * but not uploaded yet: those may hold record data, so they travel apart (see checkpoint()).
 */
export interface WriterCheckpoint {
  upload: MultipartState;
  /** Encoded bytes accepted but not uploaded yet. */
  pendingBytes: number;
  /** The open block: its encoded bytes (which follow the pending ones) and records. */
  blockBytes: number;
  blockRecords: number;
  recordsWritten: number;
  bytes: number;
}

/** A writer's state and, apart from it, its buffered bytes: the pending ones, then the open block's. */
export interface WriterSnapshot {
  state: WriterCheckpoint;
  buffered: Buffer;
}

export class RecordEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordEncodeError';
  }
}

export class OutputConflictError extends Error {
  constructor(url: string, ours: string, theirs: string) {
    super(`${url} already exists with different content (sha256 ${theirs}, this attempt wrote ${ours}); outputs are never overwritten`);
    this.name = 'OutputConflictError';
  }
}

/**
 * Streams records into one Avro object in S3. The header is always written, so an output with
 * no records is still a valid container file. Bytes are hashed as they go; a writer resumed from
 * a checkpoint cannot recover the hash state and hashes the finished object instead.
 */
export class AvroObjectWriter {
  private readonly enc: ContainerEncoder;
  private readonly upload: MultipartWriter;
  private readonly hash: Hash | undefined = createHash('sha256');
  private bytes = 0;
  private started = false;
  /** True right after a write completed a part: the moment a clean checkpoint can be taken. */
  partCompleted = false;

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
    readonly key: string,
    type: Type,
    schemaJson: string,
    opts: { codec: CodecName; sync: Buffer; blockBytes?: number; partSize?: number; meta?: Record<string, string>; resume?: WriterSnapshot },
  ) {
    this.enc = new ContainerEncoder(type, schemaJson, opts);
    const r = opts.resume?.state;
    const buffered = opts.resume?.buffered ?? Buffer.alloc(0);
    if (r && buffered.length !== r.pendingBytes + r.blockBytes) {
      throw new Error(`cannot resume ${formatS3Url({ bucket, key })}: the checkpoint's buffered bytes are ${buffered.length}, not ${r.pendingBytes + r.blockBytes}`);
    }
    this.upload = new MultipartWriter(s3, bucket, key, {
      partSize: opts.partSize, contentType: 'application/avro', resume: r?.upload, pending: r ? buffered.subarray(0, r.pendingBytes) : undefined,
    });
    if (r) {
      this.enc.restore({ block: buffered.subarray(r.pendingBytes).toString('base64'), count: r.blockRecords, recordsWritten: r.recordsWritten });
      this.bytes = r.bytes;
      this.started = true;
      this.hash = undefined;
    }
  }

  get url(): string {
    return formatS3Url({ bucket: this.bucket, key: this.key });
  }

  get records(): number {
    return this.enc.recordsWritten;
  }

  /**
   * Checks, for a resumed writer, that the upload and its parts still exist on the server; throws
   * when the server cannot tell (after retries), so that a flaky check never discards the upload.
   */
  verifyResume(): Promise<boolean> {
    return this.upload.verifyResume();
  }

  private async emit(buf: Buffer): Promise<void> {
    this.hash?.update(buf);
    this.bytes += buf.length;
    if (await this.upload.write(buf)) this.partCompleted = true;
  }

  private async start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      await this.emit(this.enc.header());
    }
  }

  /**
   * Adds a record. Synchronous unless a block fills up (then it returns the upload's promise):
   * this runs once per record, and an await per record costs more than the encoding.
   * Throws RecordEncodeError (and writes nothing) if the record does not match the schema.
   */
  add(record: unknown): Promise<void> | undefined {
    if (!this.started) return this.startThenAdd(record);
    let block: Buffer | null;
    try {
      block = this.enc.add(record);
    } catch (err) {
      throw new RecordEncodeError((err as Error).message);
    }
    return block ? this.emit(block) : undefined;
  }

  // Apart from add(): a closure there would make V8 allocate add()'s context for every record.
  private startThenAdd(record: unknown): Promise<void> | undefined {
    return this.start().then(() => this.add(record));
  }

  /** The writer's state, and apart from it the bytes it holds that are not uploaded yet. */
  checkpoint(): WriterSnapshot | null {
    if (!this.started) return null;
    const pending = this.upload.pendingBytes();
    const enc = this.enc.snapshot();
    const block = Buffer.from(enc.block, 'base64');
    return {
      state: {
        upload: this.upload.state(), pendingBytes: pending.length, blockBytes: block.length, blockRecords: enc.count, recordsWritten: enc.recordsWritten, bytes: this.bytes,
      },
      buffered: Buffer.concat([pending, block]),
    };
  }

  async finish(): Promise<WrittenObject> {
    await this.start();
    const last = this.enc.flush();
    if (last) await this.emit(last);
    let sha256 = this.hash?.digest('hex');
    try {
      await this.upload.complete();
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      // An earlier attempt (or another worker) got here first. Outputs are deterministic, so
      // the same bytes are fine; anything else is a conflict we must not paper over.
      const theirs = await sha256Of(this.s3, this.bucket, this.key);
      if (sha256 !== undefined && theirs !== sha256) throw new OutputConflictError(this.url, sha256, theirs);
      sha256 = theirs;
    }
    sha256 ??= await sha256Of(this.s3, this.bucket, this.key);
    return { key: this.key, url: this.url, bytes: this.bytes, sha256, records: this.enc.recordsWritten };
  }

  async abort(): Promise<void> {
    await this.upload.abort();
  }
}

export async function sha256Of(s3: S3Client, bucket: string, key: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of await getObjectStream(s3, bucket, key)) h.update(c as Buffer);
  return h.digest('hex');
}
