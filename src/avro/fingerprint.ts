import { Type } from 'avsc';
import { createHash } from 'node:crypto';

/** Parsing Canonical Form of a schema (Avro spec), as avsc produces it. */
export function canonicalForm(type: Type): string {
  return JSON.stringify(type.schema());
}

const EMPTY = 0xc15d213aa4d7a795n;
let table: BigUint64Array | undefined;

function crcTable(): BigUint64Array {
  if (!table) {
    table = new BigUint64Array(256);
    for (let i = 0; i < 256; i++) {
      let fp = BigInt(i);
      for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n));
      table[i] = fp & 0xffffffffffffffffn;
    }
  }
  return table;
}

/** CRC-64-AVRO (the spec's "Rabin" fingerprint) of a canonical form, as an unsigned 64-bit value. */
export function crc64Avro(canonical: string): bigint {
  const t = crcTable();
  let fp = EMPTY;
  for (const b of Buffer.from(canonical, 'utf8')) fp = (fp >> 8n) ^ t[Number((fp ^ BigInt(b)) & 0xffn)];
  return fp;
}

/** The fingerprint partflow records in manifests: SHA-256 of the canonical form, hex. */
export function schemaFingerprint(type: Type): string {
  let fp = fingerprints.get(type);
  if (fp === undefined) fingerprints.set(type, (fp = createHash('sha256').update(canonicalForm(type)).digest('hex')));
  return fp;
}

// Types are shared (type-cache.ts) and never change, so their fingerprint can be kept with them.
const fingerprints = new WeakMap<Type, string>();
