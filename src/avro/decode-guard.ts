/**
 * Defence in depth for Avro reading: every block is first decoded on a worker thread whose heap
 * is capped (`resourceLimits`). Whatever slips past the guards in guards.ts, limits.ts and
 * codecs.ts and would exhaust the heap then kills that thread, not the worker process: the
 * partition fails as corrupt input and the next block gets a fresh thread.
 *
 * The thread decodes with the same code and guards as the stage, and answers only success or the
 * decode error; the stage then decodes the block itself as before. Blocks whose decoded size has a
 * small bound from their schema and sizes (decode-bound.ts) are not sent: most real blocks. `guardedBlocks` checks block
 * N+1 while the caller processes block N, so the check runs on another core instead of adding
 * latency.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { Type } from 'avsc';
import { AvroFormatError, Block, ContainerReader } from './container-reader';
import type { CheckReply, CheckRequest } from './decode-guard-thread';
import { ConfigError, envInteger } from '../config/errors';
import { blockHeapBound, UNGUARDED_BLOCK_HEAP } from './decode-bound';
import { startThread } from './decode-guard-start';
import { fullSchema } from './schema-export';

/** A block's data could not be decoded within the thread's heap (or the thread died decoding it). */
export class DecodeGuardError extends AvroFormatError {
  constructor(object: string, offset: number, message: string) {
    super(object, offset, message);
    // Reads as "<object>: decoding the block at byte N ...": the offset belongs in the sentence.
    this.message = `${object}: ${message}`;
    this.name = 'DecodeGuardError';
  }
}

/**
 * The guard's thread could not build a decoder from a block's schemas. Not the block's fault: the
 * stage reads it with the same schemas, so this is the guard's own failure, named as such.
 */
export class DecodeGuardSchemaError extends Error {
  constructor(object: string, reader: boolean, cause: string) {
    super(`the Avro decode guard cannot read ${object} with its ${reader ? 'reader ' : ''}schema: ${cause}`);
    this.name = 'DecodeGuardSchemaError';
  }
}

export interface BlockSchemas {
  /** The writer schema's JSON (the object's header). */
  writer: string;
  /** The reader schema's JSON, if the block is read through schema resolution. */
  reader?: string;
}

export interface DecodeGuardOptions {
  /** Thread heap (V8 old generation) in MiB. */
  heapMb?: number;
  /** Threads in the pool. */
  threads?: number;
}

export interface DecodeGuardSettings {
  enabled: boolean;
  heapMb: number;
}

/** Reads PARTFLOW_DECODE_GUARD (on|off, default on) and PARTFLOW_DECODE_HEAP_MB (default 512). */
export function decodeGuardSettings(env: NodeJS.ProcessEnv = process.env): DecodeGuardSettings {
  const g = (env.PARTFLOW_DECODE_GUARD ?? '').trim().toLowerCase() || 'on';
  if (g !== 'on' && g !== 'off') throw new ConfigError(`PARTFLOW_DECODE_GUARD must be "on" or "off", got ${JSON.stringify(env.PARTFLOW_DECODE_GUARD)}`);
  // Below about 16 MiB the thread cannot even load the reader.
  const heapMb = envInteger(env, 'PARTFLOW_DECODE_HEAP_MB', { min: 16, max: 1_048_576, fallback: 512, what: 'a number of MiB from 16 to 1048576' });
  return { enabled: g === 'on', heapMb };
}

interface Job {
  /** All but the schemas, which depend on the thread it goes to. */
  req: Omit<CheckRequest, 'schemas' | 'writer' | 'reader'>;
  schemas: BlockSchemas;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job?: Job;
  /**
   * The schemas of the last request sent, and the id they were sent with: the thread keeps their
   * decoder, so they need not be sent again. Cleared when the thread could not build it.
   */
  sent?: { schemas: BlockSchemas; id: number };
  error?: Error;
}

export class DecodeGuard {
  readonly heapMb: number;
  readonly threads: number;
  /** Blocks sent to a thread so far. */
  checked = 0;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private closed = false;
  private schemasSent = 0;

  constructor(opts: DecodeGuardOptions = {}) {
    this.heapMb = opts.heapMb ?? 512;
    // One thread keeps up with one main thread (it only decodes); a second helps only with cores to spare.
    this.threads = opts.threads ?? ((os.availableParallelism?.() ?? os.cpus().length) > 2 ? 2 : 1);
  }

  /**
   * Decodes `block` on a guard thread. Resolves if it decodes; rejects with its AvroFormatError if
   * not, or with a DecodeGuardError if decoding it exhausted the thread's heap.
   */
  check(block: Block, schemas: BlockSchemas, name: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the decode guard is closed'));
    this.checked++;
    // A copy of the block's bytes is transferred, not cloned: the block may share its memory.
    const data = new ArrayBuffer(block.data.length);
    new Uint8Array(data).set(block.data);
    const b = block.budget;
    const req: Job['req'] = {
      name, offset: block.offset, end: block.end, count: block.count, data,
      // The thread spends what the object has left now; the stage charges the exact amount when it decodes.
      budget: b && { maxCollectionItems: b.maxCollectionItems, zeroByteItems: b.zeroByteItems, maxZeroByteItems: b.maxZeroByteItems },
    };
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ req, schemas, resolve, reject });
      this.pump();
    });
  }

  /** Stops the threads; checks under way fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('the decode guard is closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => !s.job);
      if (!slot) {
        if (this.slots.length >= this.threads) return;
        slot = this.spawn();
      }
      const job = this.queue.shift()!;
      const req: CheckRequest = { ...job.req, schemas: 0 };
      // By value: each read makes its own BlockSchemas, and partition after partition has the same.
      const sent = slot.sent;
      if (sent && sent.schemas.writer === job.schemas.writer && sent.schemas.reader === job.schemas.reader) {
        req.schemas = sent.id;
      } else {
        req.schemas = ++this.schemasSent;
        req.writer = job.schemas.writer;
        req.reader = job.schemas.reader;
        slot.sent = { schemas: job.schemas, id: req.schemas };
      }
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage(req, [req.data]);
    }
  }

  private spawn(): Slot {
    const opts = {
      resourceLimits: {
        maxOldGenerationSizeMb: this.heapMb,
        // A young generation of a few MiB makes decoding (all short-lived objects) scavenge often.
        maxYoungGenerationSizeMb: Math.max(4, Math.min(48, Math.floor(this.heapMb / 8))),
      },
      stdout: false,
      stderr: false,
    };
    const worker = startThread(opts);
    const slot: Slot = { worker, ready: false };
    worker.unref();
    worker.on('message', (msg: CheckReply | { ready: true }) => {
      if ('ready' in msg) {
        slot.ready = true;
        return;
      }
      const job = slot.job;
      slot.job = undefined;
      worker.unref();
      // The thread has no decoder for these schemas: the next request sends them again.
      if (!msg.ok && msg.schemas) slot.sent = undefined;
      if (job) settle(job, msg);
      this.pump();
    });
    worker.on('error', (err) => (slot.error = err));
    worker.on('exit', (code) => this.died(slot, code));
    this.slots.push(slot);
    return slot;
  }

  private died(slot: Slot, code: number): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    const job = slot.job;
    slot.job = undefined;
    if (job) {
      const { name, offset } = job.req;
      const oom = (slot.error as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      const cause = slot.error ? slot.error.message : `exit code ${code}`;
      if (this.closed) job.reject(new Error('the decode guard is closed'));
      else if (!slot.ready) {
        // Not the input's fault: the thread never got as far as the block.
        job.reject(new Error(`the Avro decode guard thread failed to start (PARTFLOW_DECODE_HEAP_MB=${this.heapMb}): ${cause}`));
      } else if (oom) {
        job.reject(new DecodeGuardError(name, offset, `decoding the block at byte ${offset} ran out of memory (limit ${this.heapMb} MiB, PARTFLOW_DECODE_HEAP_MB)`));
      } else {
        job.reject(new DecodeGuardError(name, offset, `decoding the block at byte ${offset} stopped the decode thread: ${cause}`));
      }
    }
    // The next check gets a fresh thread.
    if (!this.closed) this.pump();
  }
}

function settle(job: Job, reply: CheckReply): void {
  if (reply.ok) return job.resolve();
  if (reply.schemas) return job.reject(new DecodeGuardSchemaError(reply.object, job.schemas.reader !== undefined, reply.message));
  if (!reply.format) return job.reject(new Error(`the Avro decode guard failed on ${reply.object} at byte ${reply.offset}: ${reply.message}`));
  const err = new AvroFormatError(reply.object, reply.offset, '');
  err.message = reply.message;
  job.reject(err);
}

let shared: DecodeGuard | null | undefined;

/** The process's guard per PARTFLOW_DECODE_GUARD and PARTFLOW_DECODE_HEAP_MB (read at first use), or null when off. */
export function decodeGuard(): DecodeGuard | null {
  if (shared === undefined) {
    const s = decodeGuardSettings();
    shared = s.enabled ? new DecodeGuard({ heapMb: s.heapMb }) : null;
  }
  return shared;
}

/** Closes the process's guard; the next `decodeGuard()` reads the settings again. */
export async function closeDecodeGuard(): Promise<void> {
  const g = shared;
  shared = undefined;
  await g?.close();
}

const schemaJson = new WeakMap<Type, string>();

/**
 * `reader.blocks()`, each block checked by the guard before it is yielded; the next block is read
 * and checked while the caller processes this one (at most two blocks in flight). Blocks at or
 * past `end` (the next piece's) are passed on unchecked: the caller stops at them.
 */
export async function* guardedBlocks(reader: ContainerReader, readerType?: Type, end = Infinity, guard = decodeGuard()): AsyncGenerator<Block> {
  if (!guard) return yield* reader.blocks();
  let readerJson: string | undefined;
  if (readerType) {
    readerJson = schemaJson.get(readerType);
    // Not the parsed JSON, which the type does not keep: what the thread rebuilds must resolve as `readerType` does.
    if (readerJson === undefined) schemaJson.set(readerType, (readerJson = JSON.stringify(fullSchema(readerType))));
  }
  const schemas: BlockSchemas = { writer: reader.header.schemaJson, reader: readerJson };
  const name = reader.opts.name;
  const writerType = reader.header.writerType;
  const checked = (b: Block): Promise<void> | undefined => {
    if (b.offset >= end) return undefined;
    const bound = blockHeapBound(writerType, readerType, b.count, b.data.length);
    if (bound !== undefined && bound <= UNGUARDED_BLOCK_HEAP) return undefined;
    const p = guard.check(b, schemas, name);
    // The caller may stop before this block's check is awaited.
    p.catch(() => undefined);
    return p;
  };
  const it = reader.blocks();
  try {
    let r = await it.next();
    let pending = r.done ? undefined : checked(r.value);
    while (!r.done) {
      const block = r.value;
      if (block.offset >= end) {
        yield block;
        r = await it.next();
        continue;
      }
      await pending;
      let next: IteratorResult<Block> | { error: unknown };
      try {
        next = await it.next();
      } catch (error) {
        // Reported after this block, where reading without the guard would have reported it.
        next = { error };
      }
      pending = 'error' in next || next.done ? undefined : checked(next.value);
      yield block;
      if ('error' in next) throw next.error;
      r = next;
    }
  } finally {
    await it.return(undefined);
  }
}
