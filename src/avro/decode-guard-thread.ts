/**
 * The decode guard's thread (see decode-guard.ts): decodes one block at a time with the same
 * reader code and guards as a stage, and answers only whether it decoded, never the records. Its
 * heap is capped, so a block whose records do not fit kills this thread, not the worker.
 */
import { parentPort } from 'node:worker_threads';
import { AvroFormatError, BlockDecoder, blockDecoder, decodeBlock } from './container-reader';
import { ItemBudget } from './guards';
import { forSchemaLenientDefaults } from './lenient-defaults';

export interface CheckRequest {
  /** Which schemas the block is read with; the same id as the previous request's when they are the same. */
  schemas: number;
  /** Schema JSON; absent when it is the same as in this thread's previous request. */
  writer?: string;
  reader?: string;
  name: string;
  offset: number;
  end: number;
  count: number;
  data: ArrayBuffer;
  budget?: ItemBudget;
}

export type CheckReply =
  | { ok: true; count: number }
  /** `schemas`: no decoder could be built from the request's schemas (the thread keeps none). */
  | { ok: false; format: boolean; schemas?: true; object: string; offset: number; message: string };

// Compiling a schema costs more than decoding a small block: keep a few, by content.
const MAX_CACHED = 32;
const decoders = new Map<string, BlockDecoder>();
let last: { id: number; decoder: BlockDecoder } | undefined;

function decoderFor(writer: string, reader: string | undefined): BlockDecoder {
  const key = `${writer}\0${reader ?? ''}`;
  let d = decoders.get(key);
  if (!d) {
    // As the reader built them (src/avro/type-cache.ts): a writer default avsc refuses is dropped.
    const parse = (json: string) => forSchemaLenientDefaults(JSON.parse(json), { wrapUnions: 'auto' });
    d = blockDecoder(parse(writer), reader === undefined ? undefined : parse(reader));
    if (decoders.size >= MAX_CACHED) decoders.delete(decoders.keys().next().value as string);
    decoders.set(key, d);
  }
  return d;
}

function check(req: CheckRequest): CheckReply {
  if (req.writer !== undefined) {
    // Never left with another request's decoder: a block read with it would fail as if corrupt.
    last = undefined;
    try {
      last = { id: req.schemas, decoder: decoderFor(req.writer, req.reader) };
    } catch (err) {
      return { ok: false, format: false, schemas: true, object: req.name, offset: req.offset, message: (err as Error)?.message ?? String(err) };
    }
  }
  try {
    if (last?.id !== req.schemas) throw new Error(`the decode guard sent a block without its schemas (id ${req.schemas}; the thread has ${last ? `id ${last.id}` : 'none'})`);
    const block = { offset: req.offset, end: req.end, count: req.count, data: Buffer.from(req.data), budget: req.budget && { ...req.budget } };
    return { ok: true, count: decodeBlock(req.name, block, last.decoder).length };
  } catch (err) {
    const e = err as Error;
    if (err instanceof AvroFormatError) return { ok: false, format: true, object: err.object, offset: err.offset, message: err.message };
    return { ok: false, format: false, object: req.name, offset: req.offset, message: e?.message ?? String(err) };
  }
}

parentPort!.on('message', (req: CheckRequest) => parentPort!.postMessage(check(req)));
parentPort!.postMessage({ ready: true });
