import { Type } from 'avsc';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkSchemas, compatProblems } from '../../src/avro/compat';
import { SCHEMAS_DIR } from '../../src/avro/schemas';

const rec = (fields: object[]) => Type.forSchema({ type: 'record', name: 'R', fields } as never);
const v1 = rec([{ name: 'id', type: 'long' }]);
const addWithDefault = rec([{ name: 'id', type: 'long' }, { name: 'c', type: 'string', default: 'x' }]);
const addRequired = rec([{ name: 'id', type: 'long' }, { name: 'c', type: 'string' }]);
const removed = rec([]);
const widened = rec([{ name: 'id', type: 'double' }]);

describe('schema compatibility', () => {
  it.each([
    ['a field added with a default', addWithDefault, { backward: 0, forward: 0, full: 0 }],
    ['a field added without a default', addRequired, { backward: 1, forward: 0, full: 1 }],
    ['a field removed', removed, { backward: 0, forward: 1, full: 1 }],
    ['long promoted to double', widened, { backward: 0, forward: 1, full: 1 }],
  ])('%s', (_name, newer, expected) => {
    for (const mode of ['backward', 'forward', 'full'] as const) {
      expect(compatProblems(newer as Type, v1, mode)).toHaveLength(expected[mode]);
    }
  });

  it('checks every version against every earlier one, and names the versions', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-schemas-'));
    fs.mkdirSync(path.join(dir, 'thing'));
    fs.writeFileSync(path.join(dir, 'thing', 'v1.avsc'), JSON.stringify(v1.schema({ exportAttrs: true })));
    fs.writeFileSync(path.join(dir, 'thing', 'v2.avsc'), JSON.stringify(addWithDefault.schema({ exportAttrs: true })));
    fs.writeFileSync(path.join(dir, 'thing', 'v3.avsc'), JSON.stringify(rec([{ name: 'c', type: 'string', default: 'x' }]).schema({ exportAttrs: true })));
    const results = checkSchemas(dir, 'full');
    expect(results.map((r) => [r.version, r.against, r.problems.length > 0])).toEqual([[2, 1, false], [3, 1, true], [3, 2, true]]);
    expect(checkSchemas(dir, 'backward').every((r) => r.problems.length === 0)).toBe(true);
    fs.rmSync(dir, { recursive: true });
  });

  it("keeps the project's own schemas backward compatible (CI runs this too)", () => {
    const results = checkSchemas(SCHEMAS_DIR, 'backward');
    expect(results.filter((r) => r.problems.length)).toEqual([]);
    expect(checkSchemas(path.join(__dirname, '../fixtures/schemas'), 'full').filter((r) => r.problems.length)).toEqual([]);
  });

  it('names the field path where a version cannot read another, not only the two types', () => {
    expect(compatProblems(rec([{ name: 'id', type: 'string' }]), v1, 'backward')).toEqual(['new schema cannot read old data (backward): field id: cannot read "long" as "string"']);
    expect(compatProblems(addRequired, v1, 'backward')).toEqual(['new schema cannot read old data (backward): field c: the data has no such field, and the reading schema gives it no default']);
    const nested = (x: string, symbols: string[]) => rec([
      { name: 'offer', type: { type: 'record', name: 'Offer', fields: [{ name: 'items', type: { type: 'array', items: { type: 'record', name: 'Item', fields: [{ name: 'tax', type: x }] } } }] } },
      { name: 'attrs', type: { type: 'map', values: ['null', { type: 'enum', name: 'Unit', symbols }] } },
    ]);
    expect(compatProblems(nested('int', ['A']), nested('string', ['A']), 'backward')).toEqual(['new schema cannot read old data (backward): field offer.items[].tax: cannot read "string" as "int"']);
    expect(compatProblems(nested('int', ['A']), nested('int', ['A', 'B']), 'backward')).toEqual(['new schema cannot read old data (backward): field attrs{}: the reading enum lacks symbol B (and has no default)']);
  });
});
