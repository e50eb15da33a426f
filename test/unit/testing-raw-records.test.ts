import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { scaffold } from '../../src/cli/commands/init';
import { rawRecords, runStage } from '../../src/testing';

process.env.PARTFLOW_LOG_LEVEL ??= 'error';

// The scaffolded pipelines.ts imports 'partflow': here, this checkout's sources.
jest.mock('partflow', () => jest.requireActual('../../src'), { virtual: true });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'partflow-rawrecords-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('partflow/testing rawRecords', () => {
  it('gives a JSON Lines field of mixed kinds as each value\'s JSON text, and one-kind fields as their type', async () => {
    const lines = ['{"id":1,"amount":"12.50","n":9007199254740993}', '{"id":2,"amount":3,"n":null}', 'not json', '{"id":3,"amount":{"v":1}}'];
    const r = await rawRecords('orders.jsonl', { content: lines.join('\n') + '\n' });
    expect(r.records).toEqual([
      { id: 1, amount: '"12.50"', n: 9007199254740993n },
      { id: 2, amount: '3', n: null },
      { id: 3, amount: '{"v":1}', n: null },
    ]);
    expect(r.counts).toEqual({ in: 4, out: 3, rejected: 1, dropped: 0 });
    expect(r.rejects).toEqual([{ stage: 'raw', partition: 'p-test', source: 'orders.jsonl', index: 2, reason: expect.stringMatching(/^invalid JSON: /), record: 'not json' }]);
    expect((r.schema as { fields: object[] }).fields[1]).toMatchObject({ name: 'amount', type: ['null', 'string'], 'partflow.encoding': 'json' });
  });

  it('gives CSV cells as strings under their Avro field names, and rejects rows of the wrong width', async () => {
    const r = await rawRecords('x.csv', { content: 'id,Cost Total $\n1,2.5\n2\n3,"a,b"\n' });
    expect(r.records).toEqual([{ id: '1', Cost_Total: '2.5' }, { id: '3', Cost_Total: 'a,b' }]);
    expect(r.rejects.map((x) => [x.index, x.reason])).toEqual([[1, 'row has 1 fields, the header has 2']]);
  });

  it('reads a file from disk, decompresses .gz, takes .json arrays and an explicit format', async () => {
    const file = path.join(tmp, 'a.jsonl.gz');
    fs.writeFileSync(file, gzipSync('{"a":1}\n{"a":2.5}\n'));
    expect((await rawRecords(file)).records).toEqual([{ a: 1 }, { a: 2.5 }]);
    expect((await rawRecords('a.json', { content: '[{"b":true},{"b":null}]' })).records).toEqual([{ b: true }, { b: null }]);
    expect((await rawRecords('export.txt', { content: '{"c":"x"}\n', format: 'jsonl' })).records).toEqual([{ c: 'x' }]);
    expect((await rawRecords('empty.jsonl', { content: '\n\n' })).records).toEqual([]);
    await expect(rawRecords('data.avro', { content: '' })).rejects.toThrow('rawRecords: cannot tell the flat format of data.avro');
  });

  it("takes `partflow init`'s sample data through its pipeline with the counts its unit test expects", async () => {
    const dir = path.join(tmp, 'orders');
    scaffold(dir);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { clean, pipelines } = require(path.join(dir, 'pipelines.ts'));
    const raw = await rawRecords(path.join(dir, 'data', 'orders.jsonl'));
    expect(raw.counts.rejected).toBe(0);
    const res = await runStage(pipelines[0], clean, raw.records, { schemasDir: path.join(dir, 'schemas') });
    expect(res.counts).toEqual({ in: 4, out: 2, rejected: 1, dropped: 1 });
    expect(res.output).toEqual([{ id: 1, customer: 'ada', amount_cents: 1250 }, { id: 4, customer: 'cy', amount_cents: 7 }]);
    expect(res.rejects.map((x) => [x.index, x.reason])).toEqual([[2, 'amount "n/a" is not a number']]);
    // The project's own test asserts these very counts.
    expect(fs.readFileSync(path.join(dir, 'test', 'pipelines.test.ts'), 'utf8')).toContain('{ in: 4, out: 2, rejected: 1, dropped: 1 }');
  });
});
