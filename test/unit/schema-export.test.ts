import { Type } from 'avsc';
import { losslessTypeOf } from '../../src/avro/long';
import { fullSchema } from '../../src/avro/schema-export';
import { decodeAll, encodeFile } from '../helpers/avro';

/** A type rebuilt from fullSchema() must resolve writer data as the original type does. */
describe('fullSchema', () => {
  const color = { type: 'enum', name: 'Color', namespace: 'x.y', symbols: ['RED', 'OTHER'], default: 'OTHER', aliases: ['Colour'] };
  const schema = {
    type: 'record', name: 'R', fields: [
      { name: 'c', type: color },
      { name: 'u', type: ['null', { type: 'array', items: { type: 'map', values: { type: 'enum', name: 'Size', symbols: ['S', 'M'], default: 'M' } } }], default: null },
      { name: 'again', type: 'x.y.Color' },
      { name: 'plain', type: { type: 'enum', name: 'Plain', symbols: ['P'] } },
      // A default that looks like an enum schema is a value: left as it is.
      { name: 'v', type: { type: 'record', name: 'V', fields: [{ name: 'type', type: 'string' }, { name: 'name', type: 'string' }] }, default: { type: 'enum', name: 'x.y.Color' } },
      { name: 'self', type: ['null', 'R'], default: null },
    ],
  };

  it('keeps enum defaults, which avsc 5.7.9 leaves out of schema({ exportAttrs: true })', () => {
    const t = Type.forSchema(schema as never);
    expect(JSON.stringify(t.schema({ exportAttrs: true }))).not.toContain('"default":"OTHER"');
    const out = fullSchema(t) as { fields: { name: string; type: unknown; default?: unknown }[] };
    expect(out.fields[0].type).toEqual({ name: 'x.y.Color', type: 'enum', symbols: ['RED', 'OTHER'], default: 'OTHER', aliases: ['x.y.Colour'] });
    expect(JSON.stringify(out.fields[1].type)).toContain('"symbols":["S","M"],"default":"M"');
    expect(out.fields[2].type).toBe('x.y.Color');
    expect(out.fields[3].type).toEqual({ name: 'Plain', type: 'enum', symbols: ['P'] });
    expect(out.fields[4].default).toEqual({ type: 'enum', name: 'x.y.Color' });
  });

  it('parses back to a type that reads unknown writer symbols as the defaults', () => {
    // The writer's enums have symbols the reader's lack.
    const writer = Type.forSchema(JSON.parse(JSON.stringify(schema).replace('["RED","OTHER"]', '["RED","GREEN","OTHER"]').replace('["S","M"]', '["S","M","L"]')));
    const reader = Type.forSchema(schema as never);
    const rebuilt = Type.forSchema(fullSchema(reader) as never);
    const buf = writer.toBuffer({ c: 'GREEN', u: [{ a: 'L', b: 'S' }], again: 'GREEN', plain: 'P', v: { type: 't', name: 'n' }, self: null });
    const expected = reader.fromBuffer(buf, reader.createResolver(writer));
    expect(JSON.parse(JSON.stringify(expected))).toEqual({ c: 'OTHER', u: [{ a: 'M', b: 'S' }], again: 'OTHER', plain: 'P', v: { type: 't', name: 'n' }, self: null });
    expect(rebuilt.fromBuffer(buf, rebuilt.createResolver(writer))).toEqual(expected);
  });

  it('serves lossless-long copies: a block with a long past 2^53 reads through an enum default', async () => {
    const record = (symbols: string[], dflt?: string) => Type.forSchema({
      type: 'record', name: 'R', fields: [{ name: 'e', type: { type: 'enum', name: 'E', symbols, default: dflt } }, { name: 'n', type: 'long' }],
    } as never);
    const buf = encodeFile(losslessTypeOf(record(['A', 'B', 'C'])), [{ e: 'C', n: 2n ** 60n }, { e: 'B', n: 1 }]);
    await expect(decodeAll(buf, { readerType: record(['A', 'B'], 'A') })).resolves.toEqual([{ e: 'A', n: 2n ** 60n }, { e: 'B', n: 1 }]);
  });
});
