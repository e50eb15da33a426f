import { Type } from 'avsc';
import { kafkaCause } from './errors';
import { canonicalForm, crc64Avro } from '../../avro/fingerprint';
import { isPrecisionLoss, losslessTypeOf } from '../../avro/long';
import { listSchemaNames, loadSchema, schemaVersions } from '../../avro/schemas';
import { typeForSchema } from '../../avro/type-cache';
import type { KafkaValueSettings } from './source';
import { hasZeroByteItems, ZeroByteBudget } from './zero-byte-budget';

/**
 * The raw record of a Kafka source: the message's coordinates and metadata next to its value.
 * JSON values are kept as their text (checked to parse); Avro values as records of the reader
 * schema. A null value (a tombstone) stays null.
 */
export function rawSchemaJson(value: KafkaValueSettings): string {
  const valueType: unknown = value.format === 'json' ? ['null', 'string'] : ['null', JSON.parse(loadSchema(value.schema!).json)];
  return JSON.stringify({
    type: 'record', name: 'KafkaRecord', namespace: 'partflow.kafka',
    fields: [
      { name: 'topic', type: 'string' },
      { name: 'partition', type: 'int' },
      { name: 'offset', type: 'long' },
      { name: 'timestamp', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'key', type: ['null', 'bytes'] },
      { name: 'headers', type: { type: 'array', items: { type: 'record', name: 'KafkaHeader', fields: [{ name: 'key', type: 'string' }, { name: 'value', type: ['null', 'bytes'] }] } } },
      { name: 'value', type: valueType },
    ],
  });
}

/** A value that cannot be decoded: the record becomes a reject with this reason. */
export class ValueError extends Error {}

/**
 * The schema registry does not know the schema ids this partition's values name: a wrong
 * registry URL, not bad messages. It fails the partition rather than rejecting every message.
 */
export class RegistryMisconfiguredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryMisconfiguredError';
  }
}

/** A 404 of a real registry for an id it does not hold (error_code 40403), as against a 404 for the path itself. */
class SchemaNotFound extends Error {}

export type ValueDecoder = (value: Buffer) => Promise<unknown>;

// ignoreBOM: a leading byte order mark stays in the text, so the value's bytes are kept as given.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The 10-byte header of Avro single-object encoding (Avro spec): C3 01, then the CRC-64-AVRO fingerprint, little-endian. */
export const SINGLE_OBJECT_MAGIC = Buffer.from([0xc3, 0x01]);

export function singleObjectHeader(type: Type): Buffer {
  const b = Buffer.alloc(10);
  SINGLE_OBJECT_MAGIC.copy(b);
  b.writeBigUInt64LE(crc64Avro(canonicalForm(type)), 2);
  return b;
}

/** Every schema of schemas/, by CRC-64-AVRO fingerprint: the writer schemas single-object values may name. */
function schemasByFingerprint(): Map<bigint, Type> {
  const out = new Map<bigint, Type>();
  for (const name of listSchemaNames()) {
    for (const v of schemaVersions(name)) {
      const t = loadSchema(`${name}@${v}`).type;
      out.set(crc64Avro(canonicalForm(t)), t);
    }
  }
  return out;
}

/** GETs a Schema-Registry-compatible `/schemas/ids/<id>` (Confluent's API, also Karapace's and Apicurio's ccompat). */
async function registrySchema(registry: string, id: number): Promise<Type> {
  const url = `${registry}/schemas/ids/${id}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/vnd.schemaregistry.v1+json, application/json' }, signal: AbortSignal.timeout(30_000) });
  } catch (err) {
    // fetch says only "fetch failed": why (ECONNREFUSED, ENOTFOUND, a timeout) is in its cause.
    const top = (err as Error).message;
    const why = kafkaCause(err);
    throw new Error(`schema registry ${url}: ${why === top ? top : `${top}: ${why}`}`);
  }
  if (res.status === 404) {
    const body = await res.text();
    let code: unknown;
    try {
      code = (JSON.parse(body) as { error_code?: unknown }).error_code;
    } catch {
      // Not a registry's JSON error: the URL is not a schema registry's.
    }
    if (code === 40403) throw new SchemaNotFound(`schema id ${id} is not in the schema registry ${registry}`);
    throw new RegistryMisconfiguredError(`schema registry ${registry}: GET ${url} answered 404 ${JSON.stringify(body.slice(0, 200))}, not a registry's "schema not found" (error_code 40403); is the registry URL right?`);
  }
  if (!res.ok) throw new Error(`schema registry ${url} answered ${res.status} ${(await res.text()).slice(0, 200)}`);
  const body = (await res.json()) as { schema?: string; schemaType?: string };
  if (body.schemaType && body.schemaType !== 'AVRO') throw new ValueError(`schema id ${id} is a ${body.schemaType} schema; only Avro is supported`);
  try {
    return typeForSchema(body.schema ?? '');
  } catch (err) {
    throw new ValueError(`schema id ${id} of ${registry} is not a valid Avro schema: ${(err as Error).message}`);
  }
}

type Resolver = ReturnType<Type['createResolver']>;

/**
 * Decodes with avsc's fast long and, for a value holding a long beyond ±2^53, again with the
 * lossless long (bigints), as Avro files are read: such a value is data, not an error.
 */
function decodeLossless(reader: Type, body: Buffer, resolver: (lossless: boolean) => Resolver | null): unknown {
  try {
    const r = resolver(false);
    return r ? reader.fromBuffer(body, r) : reader.fromBuffer(body);
  } catch (err) {
    if (!isPrecisionLoss(err)) throw err;
    const r = resolver(true);
    const t = losslessTypeOf(reader);
    return r ? t.fromBuffer(body, r) : t.fromBuffer(body);
  }
}

function resolving(reader: Type) {
  const resolvers = new Map<Type, { plain: Resolver; lossless?: Resolver } | null>();
  return (writer: Type, body: Buffer, what: string): unknown => {
    let r = resolvers.get(writer);
    if (r === undefined) {
      try {
        r = writer === reader || canonicalForm(writer) === canonicalForm(reader) ? null : { plain: reader.createResolver(writer) };
      } catch (err) {
        throw new ValueError(`${what}: its writer schema cannot be read as ${reader.name ?? 'the reader schema'}: ${(err as Error).message}`);
      }
      resolvers.set(writer, r);
    }
    const rs = r;
    try {
      return decodeLossless(reader, body, (lossless) => (!rs ? null : lossless ? (rs.lossless ??= losslessTypeOf(reader).createResolver(losslessTypeOf(writer))) : rs.plain));
    } catch (err) {
      throw new ValueError(`${what}: ${(err as Error).message}`);
    }
  };
}

/**
 * Turns message values into the raw record's `value` field; a ValueError means a reject. Avro
 * values spend `budget` (the raw object's zero-byte items), when the schema can hold such items.
 */
export function valueDecoder(settings: KafkaValueSettings, budget = new ZeroByteBudget()): ValueDecoder {
  if (settings.format === 'json') {
    return async (v) => {
      let text: string;
      try {
        text = utf8.decode(v);
      } catch {
        throw new ValueError('value is not UTF-8 text');
      }
      try {
        // JSON allows a parser to ignore a byte order mark (RFC 8259 8.1); the text keeps it.
        JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
      } catch (err) {
        throw new ValueError(`value is not JSON: ${(err as Error).message}`);
      }
      return text;
    };
  }
  const reader = loadSchema(settings.schema!).type;
  const decode = avroDecoder(settings, reader);
  if (!hasZeroByteItems(reader)) return decode;
  return async (v) => {
    const value = await decode(v);
    budget.charge(reader, value);
    return value;
  };
}

function avroDecoder(settings: KafkaValueSettings, reader: Type): ValueDecoder {
  switch (settings.format) {
    case 'avro-single-object': {
      const read = resolving(reader);
      let known: Map<bigint, Type> | undefined;
      return async (v) => {
        if (v.length < 10 || v[0] !== 0xc3 || v[1] !== 0x01) throw new ValueError('value is not Avro single-object encoded (no C3 01 header)');
        const fp = v.readBigUInt64LE(2);
        known ??= schemasByFingerprint();
        const writer = known.get(fp);
        if (!writer) throw new ValueError(`value's writer schema (fingerprint ${fp.toString(16).padStart(16, '0')}) is not among schemas/`);
        return read(writer, v.subarray(10), 'single-object value');
      };
    }
    case 'confluent': {
      const read = resolving(reader);
      const writers = new Map<number, Promise<Type>>();
      // Whether any id resolved yet: until one has, an unknown id says the registry is the wrong one.
      let resolvedAny = false;
      return async (v) => {
        if (v.length < 5 || v[0] !== 0) throw new ValueError('value is not in the Confluent wire format (no magic byte 0 and schema id)');
        const id = v.readUInt32BE(1);
        let w = writers.get(id);
        if (!w) {
          w = registrySchema(settings.registry!, id);
          writers.set(id, w);
          w.catch(() => writers.delete(id));
        }
        let writer: Type;
        try {
          writer = await w;
        } catch (err) {
          if (!(err instanceof SchemaNotFound)) throw err;
          if (!resolvedAny) throw new RegistryMisconfiguredError(`${err.message}, and no schema id of this partition's values resolved before it; is the registry URL right?`);
          throw new ValueError(err.message);
        }
        resolvedAny = true;
        return read(writer, v.subarray(5), `value of schema id ${id}`);
      };
    }
    default:
      return async (v) => {
        try {
          return decodeLossless(reader, v, () => null);
        } catch (err) {
          throw new ValueError(`value is not Avro of ${settings.schema}: ${(err as Error).message}`);
        }
      };
  }
}
