import { Type } from 'avsc';
import fs from 'node:fs';
import path from 'node:path';
import { ContainerEncoder, encodeHeader, syncMarkerFor } from '../../src/avro/container';
import { Block, ContainerReader } from '../../src/avro/container-reader';
import { DecodeGuard } from '../../src/avro/decode-guard';
import { losslessTypeOf } from '../../src/avro/long';
import { typeForSchema } from '../../src/avro/type-cache';
import { chunked, decodeAll, encodeFile } from '../helpers/avro';

/**
 * Record fields named `__proto__` (a valid Avro name): avsc's compiled code sets and reads them
 * through Object.prototype's accessor. Every type here is built the way partflow builds them
 * (typeForSchema, through src/avro/proto-fields.ts).
 */
const zig = (n: number) => Type.forSchema('int').toBuffer(n);
const SYNC = syncMarkerFor('proto');
const SIMPLE = JSON.stringify({ type: 'record', name: 'O', fields: [{ name: '__proto__', type: 'int' }, { name: 'other', type: 'int' }] });
// The records as JSON: JSON.parse makes "__proto__" an own key, and JSON.stringify writes own keys only.
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));

/** A container file of one block holding `data`, as another writer would make it. */
function fileOf(schema: string, count: number, data: Buffer): Buffer {
  return Buffer.concat([encodeHeader(schema, 'null', SYNC), zig(count), zig(data.length), data, SYNC]);
}

const simpleData = Buffer.concat([zig(1), zig(7), zig(-3), zig(8), zig(0), zig(9)]);

describe('record fields named __proto__', () => {
  it('decode as own properties and encode to the same bytes', async () => {
    const file = fileOf(SIMPLE, 3, simpleData);
    const reader = await ContainerReader.open(chunked(file), { name: 'mem://o.avro' });
    const records: unknown[] = [];
    for await (const { record } of reader.records()) records.push(record);
    expect(records.map(json)).toEqual(['{"__proto__":1,"other":7}', '{"__proto__":-3,"other":8}', '{"__proto__":0,"other":9}']);
    for (const r of records) {
      expect(Object.getOwnPropertyDescriptor(r, '__proto__')).toMatchObject({ enumerable: true, writable: true });
      // Still a record of its type, with avsc's methods: the value did not become its prototype.
      expect(typeof (r as { toBuffer?: unknown }).toBuffer).toBe('function');
    }
    const enc = new ContainerEncoder(reader.header.writerType, reader.header.schemaJson, { codec: 'null', sync: SYNC });
    for (const r of records) enc.add(r);
    expect(Buffer.concat([enc.header(), enc.flush()!]).equals(file)).toBe(true);
    // What a transform makes of one: a spread keeps the own property.
    const out = new ContainerEncoder(reader.header.writerType, reader.header.schemaJson, { codec: 'null', sync: SYNC });
    out.add({ ...(records[0] as object), other: 70 });
    expect(out.flush()!.equals(Buffer.concat([zig(1), zig(3), zig(1), zig(70), SYNC]))).toBe(true);
  });

  it('round-trip nested in records, arrays, maps and unions, with defaults', async () => {
    const inner = { type: 'record', name: 'Inner', fields: [{ name: '__proto__', type: ['null', 'string'], default: null }, { name: 'n', type: 'long' }] };
    const type = typeForSchema(JSON.stringify({
      type: 'record', name: 'Outer', fields: [
        { name: '__proto__', type: inner },
        { name: 'list', type: { type: 'array', items: 'Inner' } },
        { name: 'byKey', type: { type: 'map', values: 'Inner' } },
        { name: 'maybe', type: ['null', 'Inner'], default: null },
      ],
    }), { wrapUnions: 'auto' });
    const text = [
      '{"__proto__":{"__proto__":"a","n":1},"list":[{"__proto__":null,"n":2},{"__proto__":"b","n":3}],"byKey":{"__proto__":{"__proto__":"m","n":4}},"maybe":{"__proto__":"u","n":5}}',
      '{"__proto__":{"__proto__":null,"n":6},"list":[],"byKey":{},"maybe":null}',
    ];
    const file = encodeFile(type, text.map((t) => JSON.parse(t)));
    expect((await decodeAll(file)).map(json)).toEqual(text);
    // A field with a default may be left out of a record, __proto__ too: the default is written.
    const [withDefault] = await decodeAll(encodeFile(type, [JSON.parse('{"__proto__": {"n": 7}, "list": [], "byKey": {}}')]));
    expect(json(withDefault)).toBe('{"__proto__":{"__proto__":null,"n":7},"list":[],"byKey":{},"maybe":null}');
  });

  it('resolve against reader schemas that drop, keep, rename or add the field', async () => {
    const file = fileOf(SIMPLE, 3, simpleData);
    const read = async (fields: object[]) => (await decodeAll(file, { readerType: typeForSchema(JSON.stringify({ type: 'record', name: 'O', fields })) })).map(json);
    // Dropping it must skip its bytes: reading on from the middle of a record gave other = 1.
    expect(await read([{ name: 'other', type: 'int' }])).toEqual(['{"other":7}', '{"other":8}', '{"other":9}']);
    expect(await read([{ name: '__proto__', type: 'long' }, { name: 'other', type: 'int' }, { name: 'added', type: 'string', default: 'x' }]))
      .toEqual(['{"__proto__":1,"other":7,"added":"x"}', '{"__proto__":-3,"other":8,"added":"x"}', '{"__proto__":0,"other":9,"added":"x"}']);
    expect(await read([{ name: 'renamed', type: 'int', aliases: ['__proto__'] }])).toEqual(['{"renamed":1}', '{"renamed":-3}', '{"renamed":0}']);
    // Names a Field object has (type, name, doc) are not fields of the writer.
    expect(await read([{ name: 'other', type: 'int' }, { name: 'type', type: 'int', default: 5 }])).toEqual(['{"other":7,"type":5}', '{"other":8,"type":5}', '{"other":9,"type":5}']);
    const plain = fileOf(JSON.stringify({ type: 'record', name: 'O', fields: [{ name: 'other', type: 'int' }] }), 1, zig(7));
    const added = typeForSchema(JSON.stringify({ type: 'record', name: 'O', fields: [{ name: 'other', type: 'int' }, { name: '__proto__', type: 'int', default: 4 }] }));
    expect((await decodeAll(plain, { readerType: added })).map(json)).toEqual(['{"other":7,"__proto__":4}']);
  });

  it('keep longs beyond 2^53 (decoded again with bigints)', async () => {
    const type = typeForSchema(JSON.stringify({ type: 'record', name: 'L', fields: [{ name: '__proto__', type: 'long' }] }));
    const big = 2n ** 60n + 1n;
    const rec = JSON.parse('{"__proto__": 0}');
    rec.__proto__ = big;
    const [back] = await decodeAll(encodeFile(type, [rec]));
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toBe(big);
    expect(Object.getOwnPropertyDescriptor(losslessTypeOf(type).fromBuffer(losslessTypeOf(type).toBuffer(rec)), '__proto__')?.value).toBe(big);
  });

  it('are read from the record itself when encoding and checking, never from its prototype', () => {
    const type = typeForSchema(SIMPLE);
    const missing = { other: 1 };
    const problems: [string, unknown][] = [];
    expect(type.isValid(missing, { errorHook: (path: string[], v: unknown) => problems.push([path.join('.'), v]) })).toBe(false);
    expect(problems).toEqual([['__proto__', undefined]]);
    expect(() => type.toBuffer(missing)).toThrow(/invalid "int": undefined/);
    // A map or a defaulted field would have taken the prototype for a value without a word.
    const map = typeForSchema(JSON.stringify({ type: 'record', name: 'M', fields: [{ name: '__proto__', type: { type: 'map', values: 'int' } }] }));
    expect(() => map.toBuffer({})).toThrow();
    const defaulted = typeForSchema(JSON.stringify({ type: 'record', name: 'D', fields: [{ name: '__proto__', type: 'int', default: 5 }, { name: 'other', type: 'int' }] }));
    expect(defaulted.toBuffer(missing).equals(Buffer.concat([zig(5), zig(1)]))).toBe(true);
    // Undeclared fields are found: the fields by name held the __proto__ field as their prototype.
    const rec = JSON.parse('{"__proto__": 1, "other": 2}');
    expect(type.isValid(rec, { noUndeclaredFields: true })).toBe(true);
    expect(type.isValid({ ...rec, type: 3 }, { noUndeclaredFields: true })).toBe(false);
    expect((type as unknown as { field(n: string): unknown }).field('name')).toBeUndefined();
    expect(json(type.clone(rec))).toBe('{"__proto__":1,"other":2}');
    expect(type.compare(rec, JSON.parse('{"__proto__": 2, "other": 2}'))).toBe(-1);
  });

  it('pass the decode guard, whose thread resolves them as a stage does', async () => {
    const guard = new DecodeGuard({ heapMb: 32, threads: 1 });
    try {
      const reader = await ContainerReader.open(chunked(fileOf(SIMPLE, 3, simpleData)), { name: 'mem://o.avro' });
      const blocks: Block[] = [];
      for await (const b of reader.blocks()) blocks.push(b);
      const readers = [
        [{ name: 'other', type: 'int' }],
        [{ name: '__proto__', type: 'long' }, { name: 'other', type: 'int' }, { name: 'added', type: 'string', default: 'x' }],
      ];
      for (const fields of [undefined, ...readers]) {
        const schemas = { writer: reader.header.schemaJson, reader: fields && JSON.stringify({ type: 'record', name: 'O', fields }) };
        await expect(guard.check(blocks[0], schemas, 'mem://o.avro')).resolves.toBeUndefined();
      }
    } finally {
      await guard.close();
    }
  });

  it('are handled wherever partflow builds a type: nothing calls Type.forSchema of avsc itself', () => {
    const root = path.join(__dirname, '../..');
    const calls: string[] = [];
    for (const dir of ['src', 'activities', 'workflows']) {
      for (const f of fs.readdirSync(path.join(root, dir), { recursive: true }).map(String)) {
        if (!f.endsWith('.ts') || f === path.join('avro', 'proto-fields.ts')) continue;
        if (/\bType\.forSchema\s*\(/.test(fs.readFileSync(path.join(root, dir, f), 'utf8'))) calls.push(path.join(dir, f));
      }
    }
    expect(calls).toEqual([]);
  });
});
