import { Type } from 'avsc';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { ContainerReader } from '../../src/avro/container-reader';
import { DecodeGuard } from '../../src/avro/decode-guard';
import { forSchemaLenientDefaults } from '../../src/avro/lenient-defaults';
import { chunked } from '../helpers/avro';

/**
 * Files written by Java avro-tools whose writer schema has defaults avsc refuses (fastavro and
 * Java read them): partflow reads them too, and keeps their schema text exactly as written.
 */
const HEADERS: [string, string, unknown[]][] = [
  ['a long default over 2^53',
    '{"type":"record","name":"Acct","namespace":"bank","fields":[{"name":"id","type":"long"},{"name":"limit","type":"long","default":9223372036854775807},{"name":"note","type":["null","string"],"default":null}]}',
    [{ id: 1, limit: 5, note: null }, { id: 2, limit: 6, note: 'x' }]],
  ['a timestamp-nanos default',
    '{"type":"record","name":"M","fields":[{"name":"ts","type":{"type":"long","logicalType":"timestamp-nanos"},"default":1700000000000000000}]}',
    [{ ts: 1 }]],
  ['NaN and Infinity defaults',
    '{"type":"record","name":"M","fields":[{"name":"score","type":"double","default":"NaN"},{"name":"f","type":"float","default":"-Infinity"}]}',
    [{ score: 2, f: 0.5 }]],
  ['a union default matching a later branch',
    '{"type":"record","name":"T","fields":[{"name":"s","type":["null","string"],"default":"x"},{"name":"in","type":{"type":"record","name":"In","fields":[{"name":"n","type":["null","long"],"default":3}]}}]}',
    [{ s: 'y', in: { n: 4 } }, { s: null, in: { n: null } }]],
];

/** A container file whose header holds `schemaText` as written, records encoded by a type without defaults. */
function fileWith(schemaText: string, records: unknown[]): Buffer {
  const plain = Type.forSchema(JSON.parse(schemaText.replace(/,"default":("[^"]*"|[-\d]+)/g, '')), { wrapUnions: 'auto' });
  const enc = new ContainerEncoder(plain, schemaText, { codec: 'null', sync: syncMarkerFor('defaults') });
  const parts = [enc.header(), ...records.map((r) => enc.add(r)).filter((b): b is Buffer => b !== null)];
  const last = enc.flush();
  if (last) parts.push(last);
  return Buffer.concat(parts);
}

describe('writer schemas with defaults avsc refuses', () => {
  it.each(HEADERS)('reads a file whose header has %s, keeping its schema text', async (_what, text, records) => {
    const reader = await ContainerReader.open(chunked(fileWith(text, records)), { name: 's3://b/in.avro' });
    const out: unknown[] = [];
    for await (const { record } of reader.records()) out.push({ ...(record as object) });
    expect(out).toEqual(records.map((r) => ({ ...(r as object) })));
    expect(reader.header.schemaJson).toBe(text);
  });

  it.each(HEADERS)('the decode guard checks blocks of a file whose header has %s', async (_what, text, records) => {
    const guard = new DecodeGuard({ heapMb: 32, threads: 1 });
    try {
      const reader = await ContainerReader.open(chunked(fileWith(text, records)), { name: 's3://b/in.avro' });
      for await (const b of reader.blocks()) await expect(guard.check(b, { writer: text }, 's3://b/in.avro')).resolves.toBeUndefined();
    } finally {
      await guard.close();
    }
  });

  it('keeps every default avsc accepts, and reads Java\'s "NaN" and "Infinity" as numbers', () => {
    const inner = { type: 'record', name: 'R2', fields: [{ name: 'k', type: 'int', default: 'z' }, { name: 'j', type: 'int', default: 1 }] };
    const t = forSchemaLenientDefaults({
      type: 'record', name: 'R', namespace: 'n', fields: [
        { name: 'big', type: 'long', default: 9007199254740993 }, { name: 'ok', type: 'long', default: 7 },
        { name: 'nan', type: 'double', default: 'NaN' }, { name: 'inf', type: ['float', 'null'], default: 'Infinity' },
        { name: 'u', type: ['null', 'string'], default: 'x' }, { name: 'arr', type: { type: 'array', items: inner }, default: [] },
      ],
    }, { wrapUnions: 'auto' }) as unknown as { fields: { name: string; defaultValue(): unknown; type: { fields?: unknown } }[] };
    const defaults = Object.fromEntries(t.fields.map((f) => [f.name, f.defaultValue()]));
    expect(defaults).toEqual({ big: undefined, ok: 7, nan: NaN, inf: Infinity, u: undefined, arr: [] });
    const r2 = (t.fields[5].type as unknown as { itemsType: { fields: { name: string; defaultValue(): unknown }[] } }).itemsType;
    expect(r2.fields.map((f) => f.defaultValue())).toEqual([undefined, 1]);
  });

  it('still refuses a schema that is invalid for another reason', () => {
    expect(() => forSchemaLenientDefaults({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'nope', default: 1 }] })).toThrow(/nope/);
    expect(() => forSchemaLenientDefaults({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'long', default: 1.5 }, { name: 'a', type: 'int' }] })).toThrow(/duplicate/);
  });
});
