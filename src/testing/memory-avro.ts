import { Type } from 'avsc';
import { ContainerEncoder } from '../avro/container';
import { setEntry } from '../avro/proto-fields';
import { ContainerReader } from '../avro/container-reader';
import { RecordEncodeError } from '../io/avro-object-writer';

/**
 * Records encoded into an Avro container in memory and decoded back, with the encoder and reader
 * a worker's objects go through: what comes back is what the next stage would read (longs past
 * 2^53 as bigints, JSON-text fields as strings), as plain objects.
 */
export class MemoryAvro {
  private readonly enc: ContainerEncoder;
  private readonly chunks: Buffer[] = [];

  constructor(readonly type: Type, private readonly name: string) {
    this.enc = new ContainerEncoder(type, JSON.stringify(type.schema({ exportAttrs: true })), { codec: 'null', sync: Buffer.alloc(16, 7) });
    this.chunks.push(this.enc.header());
  }

  /** Throws RecordEncodeError, as an output object's writer does, when the record does not fit the schema. */
  add(record: unknown): void {
    let block: Buffer | null;
    try {
      block = this.enc.add(record);
    } catch (err) {
      throw new RecordEncodeError((err as Error).message);
    }
    if (block) this.chunks.push(block);
  }

  async records(): Promise<unknown[]> {
    const last = this.enc.flush();
    if (last) this.chunks.push(last);
    const reader = await ContainerReader.open((async function* (c) { yield* c; })(this.chunks), { name: this.name });
    const out: unknown[] = [];
    for await (const { record } of reader.records()) out.push(plain(record));
    return out;
  }
}

/** avsc decodes records into instances of generated classes; tests compare plain objects. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v === null || typeof v !== 'object' || Buffer.isBuffer(v) || v instanceof Date) return v;
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) setEntry(o, k, plain(x));
  return o;
}
