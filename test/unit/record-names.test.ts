import * as avro from 'avsc';
import { Readable } from 'node:stream';
import { scanFlatFile } from '../../src/formats/flat';
import { avroName } from '../../src/formats/names';

const PRIMITIVES = ['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'];

describe('raw record names', () => {
  it.each([
    ['csv', 'a,b\n1,2\n'],
    ['jsonl', '{"a":1}\n'],
    ['json', '[{"a":1}]'],
  ] as const)('a %s source named like an Avro primitive type gets a schema avsc accepts, its name with a leading _', async (format, text) => {
    for (const name of PRIMITIVES) {
      const scan = await scanFlatFile(`mem://${name}`, format, Readable.from([Buffer.from(text)]), 100, name);
      expect(() => avro.Type.forSchema(scan.schema as avro.Schema)).not.toThrow();
      expect(scan.schema).toMatchObject({ name: `_${name}`, namespace: 'partflow.raw' });
    }
  });

  it('keeps every name avsc accepted before, so that no raw schema (and content version) changes', () => {
    const before = (s: string) => {
      const n = s.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
      return n === '' ? 'record' : /^[0-9]/.test(n) ? `_${n}` : n;
    };
    const names = ['orders', 'Long', 'INT', 'longs', 'long_2', 'my-long', 'long.v2', '2024', '', '--', 'record', 'array', 'map', 'enum', 'fixed', 'error', 'double-entry'];
    for (const n of names) expect(avroName(n)).toBe(before(n));
    // `_long` lost its `_` before, and failed as `long` did.
    expect(avroName('_long')).toBe('_long');
    for (const n of names) expect(() => avro.Type.forSchema({ type: 'record', name: avroName(n), namespace: 'partflow.raw', fields: [] })).not.toThrow();
  });
});
