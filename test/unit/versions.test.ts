import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { schemaExtras } from '../../src/avro/schema-extras';
import { checkPipeline } from '../../src/pipeline/dag';
import { PipelineInfo, StageInfo } from '../../src/pipeline/types';
import { sourceVersion, stageVersion } from '../../src/pipeline/versions';

/**
 * Content versions must change with everything a schema says that changes what is read or
 * written, and stay exactly what they were for schemas whose canonical form says it all (those
 * datasets are not computed again after an upgrade).
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'versions-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let count = 0;
/** Writes `schema` as a new schema of its own and returns the pipeline info of a stage writing it and reading through it. */
function infoFor(schema: unknown): PipelineInfo {
  const name = `s${++count}`;
  fs.mkdirSync(path.join(dir, name));
  fs.writeFileSync(path.join(dir, name, 'v1.avsc'), typeof schema === 'string' ? schema : JSON.stringify(schema));
  return checkPipeline({ name: 'p', schemasDir: dir, input: `${name}@1`, stages: [{ name: 'enrich', schema: `${name}@1`, version: '3', transform: (r) => r }] });
}

const PIECES = [{ key: 'in/a.avro', etag: '"e-a"', size: 10 }];
const stageOf = (info: PipelineInfo): string => stageVersion(info.stages[0], {}, {}, [['raw', 'src-0123456789abcdef']]);
const sourceOf = (info: PipelineInfo): string => sourceVersion(PIECES, info.input!.fingerprint, info.input!.extras);

const order = (currency: Record<string, unknown> = {}) => ({
  type: 'record', name: 'order', namespace: 'shop',
  fields: [{ name: 'id', type: 'string' }, { name: 'currency', type: 'string', ...currency }],
});

describe('content versions and schema attributes beyond the canonical form', () => {
  const base = infoFor(order());

  it.each([
    ['a field default', order({ default: 'EUR' })],
    ['a field alias', order({ aliases: ['cur'] })],
    ['a field doc', order({ doc: 'ISO 4217' })],
    ['a logical type', { ...order(), fields: [{ name: 'id', type: 'string' }, { name: 'currency', type: { type: 'string', logicalType: 'uuid' } }] }],
    ['a record doc', { ...order(), doc: 'An order' }],
  ])('%s changes the stage version and the source version, not the fingerprint', (_what, schema) => {
    const info = infoFor(schema);
    expect(info.stages[0].schemaFingerprint).toBe(base.stages[0].schemaFingerprint);
    expect(stageOf(info)).not.toBe(stageOf(base));
    expect(sourceOf(info)).not.toBe(sourceOf(base));
  });

  it('a changed default, alias or logical-type parameter changes the versions again', () => {
    const eur = infoFor(order({ default: 'EUR' }));
    const gbp = infoFor(order({ default: 'GBP' }));
    expect(stageOf(gbp)).not.toBe(stageOf(eur));
    expect(sourceOf(gbp)).not.toBe(sourceOf(eur));
    const alias = (a: string[]) => infoFor(order({ default: '?', aliases: a }));
    expect(sourceOf(alias(['name']))).not.toBe(sourceOf(alias(['title'])));
    const decimal = (scale: number) => infoFor({ type: 'record', name: 'r', fields: [{ name: 'd', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale } }] });
    expect(stageOf(decimal(2))).not.toBe(stageOf(decimal(3)));
  });

  it('a logical type inside a field type is not the same as one beside it', () => {
    const inside = infoFor({ type: 'record', name: 'r', fields: [{ name: 'd', type: { type: 'int', logicalType: 'date' } }] });
    const beside = infoFor({ type: 'record', name: 'r', fields: [{ name: 'd', type: 'int', logicalType: 'date' }] });
    expect(stageOf(inside)).not.toBe(stageOf(beside));
  });

  it('keeps the versions of a schema with nothing beyond its canonical form exactly as before (and its plan entries too)', () => {
    // Written with a namespace apart, a {"type": …} wrapper and its own key order: none of it is an extra.
    const info = infoFor(`{ "type": "record", "namespace": "shop", "name": "order",
      "fields": [
        { "name": "id", "type": "string" },
        { "name": "qty", "type": { "type": "int" } },
        { "name": "tags", "type": { "type": "array", "items": "string" } }
      ] }`);
    // Computed with the code before extras counted (commit 09ee916).
    expect(stageOf(info)).toBe('3-903da2f0ded773df');
    expect(sourceOf(info)).toBe('src-c6e7c2ad56bdd2b5');
    // Plans hold these, and a plan's id is its content.
    expect(Object.keys(info.stages[0])).toEqual(['name', 'after', 'version', 'schemaRef', 'schemaFingerprint', 'codec', 'lookups']);
    expect(Object.keys(info.input!)).toEqual(['ref', 'fingerprint']);
  });

  it('keeps versions computed from given identities exactly as before', () => {
    const stage: Pick<StageInfo, 'name' | 'version' | 'schemaFingerprint' | 'codec'> = { name: 'enrich', version: '1', schemaFingerprint: 'ab'.repeat(32), codec: 'deflate' };
    expect(stageVersion(stage, { region: 'eu' }, { fx: '"e1"' }, [['raw', 'src-0123456789abcdef']])).toBe('1-e809d6014de3dbe9');
    expect(sourceVersion(PIECES, 'cd'.repeat(32))).toBe('src-5c272b5e5f717ca8');
    expect(sourceVersion(PIECES, null)).toBe('src-34c7cfe2f60eb213');
  });
});

describe('schemaExtras', () => {
  it('finds none in how a schema is written', () => {
    expect(schemaExtras('string')).toEqual([]);
    expect(schemaExtras(['null', { type: 'map', values: { type: 'array', items: { type: 'long' } } }])).toEqual([]);
    expect(schemaExtras({ fields: [{ type: 'int', name: 'a' }], name: 'x.r', type: 'record' })).toEqual([]);
    expect(schemaExtras({ type: 'enum', name: 'E', namespace: 'n', symbols: ['A'] })).toEqual([]);
    expect(schemaExtras({ type: 'fixed', name: 'F', size: 4 })).toEqual([]);
  });

  it('finds every other attribute, with where it is, however its keys are ordered', () => {
    const schema = {
      type: 'record', name: 'r', doc: 'd', fields: [
        { name: 'e', type: ['null', { type: 'enum', name: 'E', symbols: ['A', 'B'], default: 'A' }], default: null, order: 'descending' },
        { name: 'm', type: { type: 'map', values: { type: 'long', logicalType: 'timestamp-millis' } }, default: { b: 1, a: 2 } },
        { name: 'f', type: { type: 'fixed', name: 'F', size: 8, aliases: ['G'], 'x-custom': true } },
      ],
    };
    expect(schemaExtras(schema)).toEqual([
      ['schema', [], { doc: 'd' }],
      ['field', ['e'], { default: null, order: 'descending' }],
      ['schema', ['e', '1'], { default: 'A' }],
      ['field', ['m'], { default: { a: 2, b: 1 } }],
      ['schema', ['m', 'values'], { logicalType: 'timestamp-millis' }],
      ['schema', ['f'], { aliases: ['G'], 'x-custom': true }],
    ]);
    expect(JSON.stringify(schemaExtras({ ...schema, fields: [...schema.fields.slice(0, 1), { ...schema.fields[1], default: { a: 2, b: 1 } }, schema.fields[2]] })))
      .toBe(JSON.stringify(schemaExtras(schema)));
  });
});
