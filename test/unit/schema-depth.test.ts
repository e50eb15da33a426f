import { Type } from 'avsc';
import { encodeHeader, syncMarkerFor } from '../../src/avro/container';
import { AvroFormatError } from '../../src/avro/container-reader';
import { checkSchemaDepth, MAX_SCHEMA_DEPTH } from '../../src/avro/schema-depth';
import { decodeAll, encodeFile } from '../helpers/avro';

/** Schemas nested past what avsc can compile are refused by name, not by a stack overflow. */
const arrays = (depth: number) => {
  let s = '"long"';
  for (let i = 0; i < depth; i++) s = `{"type":"array","items":${s}}`;
  return s;
};
const records = (depth: number) => {
  let s = '"long"';
  for (let i = 0; i < depth; i++) s = `{"type":"record","name":"R${i}","fields":[{"name":"f","type":${s}}]}`;
  return s;
};

async function headerFailure(schemaJson: string): Promise<Error> {
  try {
    await decodeAll(encodeHeader(schemaJson, 'null', syncMarkerFor('deep')), { name: 's3://bucket/deep.avro' });
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the read to fail');
}

describe('schema nesting depth', () => {
  it('refuses a 20000-deep header schema, naming the object (was: Maximum call stack size exceeded)', async () => {
    const e = await headerFailure(arrays(20000));
    expect(e).toBeInstanceOf(AvroFormatError);
    expect(e.message).toBe(`s3://bucket/deep.avro: header schema is invalid: schema nested too deeply (over ${MAX_SCHEMA_DEPTH} levels) (at byte 4)`);
    expect((await headerFailure(records(5000))).message).toMatch(/header schema is invalid: schema nested too deeply \(over 1000 levels\)/);
  });

  it('counts deeply nested JSON anywhere in the schema, attributes included', async () => {
    const attr = `{"type":"record","name":"R","x":${'['.repeat(200000)}${']'.repeat(200000)},"fields":[{"name":"f","type":"long"}]}`;
    const types = `${'{"type":'.repeat(20000)}"long"${'}'.repeat(20000)}`;
    expect((await headerFailure(types)).message).toMatch(/header schema is invalid: schema nested too deeply \(over 1000 levels\)/);
    const unions = `${'['.repeat(20000)}"long"${']'.repeat(20000)}`;
    expect((await headerFailure(unions)).message).toMatch(/header schema is invalid: schema nested too deeply \(over 1000 levels\)/);
    expect((await headerFailure(attr)).message).toMatch(/header schema is invalid: schema nested too deeply \(over 1000 levels\) \(at byte 4\)$/);
  });

  it('still reads schemas nested up to the limit', async () => {
    expect(() => checkSchemaDepth(JSON.parse(arrays(MAX_SCHEMA_DEPTH)))).not.toThrow();
    expect(() => checkSchemaDepth(JSON.parse(arrays(MAX_SCHEMA_DEPTH + 1)))).toThrow(/nested too deeply/);
    const type = Type.forSchema(JSON.parse(records(300)));
    let value: unknown = 7;
    for (let i = 0; i < 300; i++) value = { f: value };
    expect(await decodeAll(encodeFile(type, [value]))).toEqual([value]);
  });
});
