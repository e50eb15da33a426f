import { Readable } from 'node:stream';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { ContainerReader } from '../../src/avro/container-reader';
import { schemaFingerprint } from '../../src/avro/fingerprint';
import { typeForSchema } from '../../src/avro/type-cache';

const SCHEMA = JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: ['null', 'string'] }] });

function file(n: number): Buffer {
  const type = typeForSchema(SCHEMA);
  const enc = new ContainerEncoder(type, SCHEMA, { codec: 'null', sync: syncMarkerFor(`tc-${n}`) });
  const parts = [enc.header()];
  for (let i = 0; i < n; i++) parts.push(enc.add({ a: `x${i}` }) ?? Buffer.alloc(0));
  parts.push(enc.flush() ?? Buffer.alloc(0));
  return Buffer.concat(parts);
}

describe('parsed schemas are shared (per-partition cost)', () => {
  it('the same schema text gives the same type; union wrapping is part of the key', () => {
    const t = typeForSchema(SCHEMA);
    expect(typeForSchema(SCHEMA)).toBe(t);
    const auto = typeForSchema(SCHEMA, { wrapUnions: 'auto' });
    expect(typeForSchema(SCHEMA, { wrapUnions: 'auto' })).toBe(auto);
    expect(auto).not.toBe(t);
    expect(typeForSchema(SCHEMA.replace('"R"', '"S"'))).not.toBe(t);
    expect(schemaFingerprint(t)).toBe(schemaFingerprint(typeForSchema(SCHEMA)));
  });

  it('two objects with one schema are read with one writer type, and each decodes its own records', async () => {
    const a = await ContainerReader.open(Readable.from([file(2)]), { name: 'a' });
    const b = await ContainerReader.open(Readable.from([file(3)]), { name: 'b' });
    expect(a.header.writerType).toBe(b.header.writerType);
    const records = async (r: ContainerReader) => {
      const out: unknown[] = [];
      for await (const { record } of r.records()) out.push(record);
      return out;
    };
    expect(await records(a)).toEqual([{ a: 'x0' }, { a: 'x1' }]);
    expect(await records(b)).toEqual([{ a: 'x0' }, { a: 'x1' }, { a: 'x2' }]);
  });

  it('a bad schema is an error each time, not a cached type', () => {
    expect(() => typeForSchema('{"type": "nope"}')).toThrow(/nope/);
    expect(() => typeForSchema('{"type": "nope"}')).toThrow(/nope/);
  });
});
