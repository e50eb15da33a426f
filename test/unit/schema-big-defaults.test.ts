import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSchema, SchemaError } from '../../src/avro/schemas';

/** A pipeline schema whose long default lies beyond 2^53: refused naming the field and the digits written. */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-bigdef-'));
const write = (name: string, text: string) => {
  fs.mkdirSync(path.join(dir, name), { recursive: true });
  fs.writeFileSync(path.join(dir, name, 'v1.avsc'), text);
};
const record = (fields: string) => `{"type":"record","name":"R","fields":[{"name":"id","type":"long"},${fields}]}`;

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('pipeline schema defaults beyond 2^53', () => {
  it('a long default of Long.MAX_VALUE is refused naming the field and the number as written, not as rounded', () => {
    write('maxlong', record('{"name":"valid_to","type":"long","default":9223372036854775807}'));
    const err = (() => { try { loadSchema('maxlong', dir); } catch (e) { return e as Error; } return undefined; })();
    expect(err).toBeInstanceOf(SchemaError);
    expect(err!.message).toBe(`${path.join(dir, 'maxlong', 'v1.avsc')}: invalid Avro schema: the default of field "valid_to" (9223372036854775807) lies beyond ±9007199254740990 (about 2^53), `
      + 'which a pipeline schema cannot hold exactly (its defaults are JavaScript numbers): give a default within that range, or none. Input files whose own schemas have such defaults still read');
    expect(err!.message).not.toMatch(/9223372036854776000/);
  });

  it('names every such field, in unions and with logical types too', () => {
    write('two', record('{"name":"a","type":["long","null"],"default":-9007199254740991},{"name":"b","type":{"type":"long","logicalType":"timestamp-nanos"},"default": 1700000000000000000}'));
    expect(() => loadSchema('two', dir)).toThrow(/the defaults of fields "a", "b" \(-9007199254740991, 1700000000000000000\) lie beyond/);
  });

  it('loads a long default within 2^53 and a large double default as before; other schema errors keep their words', () => {
    write('fine', record('{"name":"n","type":"long","default":9007199254740990},{"name":"d","type":"double","default":1e20}'));
    expect(loadSchema('fine', dir).type.fromBuffer(loadSchema('fine', dir).type.toBuffer({ id: 1, n: 2, d: 3 }))).toEqual({ id: 1, n: 2, d: 3 });
    write('other', record('{"name":"n","type":"long","default":"x"},{"name":"big","type":"long","default":9223372036854775807}'));
    expect(() => loadSchema('other', dir)).toThrow(/incompatible field default "x"|invalid "long": "x"/);
  });
});
