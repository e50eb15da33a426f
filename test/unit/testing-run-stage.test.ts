import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { definePipeline, defineStage, PartitionError } from '../../src';
import { runStage } from '../../src/testing';

process.env.PARTFLOW_LOG_LEVEL ??= 'error';

const schemasDir = fs.mkdtempSync(path.join(os.tmpdir(), 'partflow-runstage-'));
fs.mkdirSync(path.join(schemasDir, 'trip'));
fs.writeFileSync(path.join(schemasDir, 'trip', 'v1.avsc'), JSON.stringify({
  type: 'record', name: 'Trip', fields: [{ name: 'id', type: 'long' }, { name: 'km', type: 'double' }, { name: 'zone', type: ['null', 'string'], default: null }],
}));
fs.mkdirSync(path.join(schemasDir, 'node'));
fs.writeFileSync(path.join(schemasDir, 'node', 'v1.avsc'), JSON.stringify({
  type: 'record', name: 'Node', fields: [{ name: 'id', type: 'long' }, { name: 'next', type: ['null', 'Node'], default: null }],
}));
fs.mkdirSync(path.join(schemasDir, 'proto'));
fs.writeFileSync(path.join(schemasDir, 'proto', 'v1.avsc'), JSON.stringify({
  type: 'record', name: 'P', fields: [{ name: '__proto__', type: 'long' }, { name: 'other', type: 'long' }, { name: 'm', type: { type: 'map', values: 'int' } }],
}));
fs.mkdirSync(path.join(schemasDir, 'num'));
fs.writeFileSync(path.join(schemasDir, 'num', 'v1.avsc'), JSON.stringify({ type: 'record', name: 'Num', fields: [{ name: 'v', type: ['null', 'long', 'double'] }] }));
afterAll(() => fs.rmSync(schemasDir, { recursive: true, force: true }));

interface Raw { id: string; miles?: string; zone?: string }
interface Trip { id: number; km: number; zone: string | null }

const clean = defineStage<Raw, Trip, Map<string, string>>({
  name: 'clean', schema: 'trip', version: '1', lookups: ['zones'],
  setup: async (ctx) => new Map((await ctx.lookup('zones')).map((z) => [String(z.code), String(z.name)])),
  transform: (r, ctx) => {
    if (r.id === 'skip') return null;
    if (r.id === 'fatal') throw new PartitionError('the zone service is down', { retryable: false });
    if (r.miles === undefined) throw new Error('no miles');
    // A bad id gives NaN: not a long, so the schema rejects it.
    return { id: Number(r.id), km: Number(r.miles) * 1.609344, zone: r.zone ? ctx.state.get(r.zone) ?? null : null, extra: 'not in the schema' } as Trip;
  },
});
const pipeline = definePipeline({ name: 'trips', schemasDir, lookups: { zones: { defaultKey: 'zones.csv', format: 'csv' } }, stages: [clean] });
const zones = { zones: [{ code: 'A', name: 'Airport' }] };

describe('partflow/testing runStage', () => {
  it('writes, drops and rejects records as a real run does, with the stage schema applied', async () => {
    const res = await runStage(pipeline, clean, [
      { id: '1', miles: '10', zone: 'A' }, { id: 'skip' }, { id: '2' }, { id: 'x3', miles: '1' }, { id: '4', miles: '0', zone: 'Z' },
    ], { lookups: zones });
    expect(res.counts).toEqual({ in: 5, out: 2, rejected: 2, dropped: 1 });
    // Read back through the schema: the field it lacks is gone.
    expect(res.output).toEqual([{ id: 1, km: 16.09344, zone: 'Airport' }, { id: 4, km: 0, zone: null }]);
    expect(res.rejects).toEqual([
      { stage: 'clean', partition: 'p-test', source: 'raw', index: 2, reason: 'no miles', record: '{"id":"2"}' },
      expect.objectContaining({ source: 'raw', index: 3, record: '{"id":"x3","miles":"1"}' }),
    ]);
    expect(res.rejects[1].reason).toMatch(/^output does not match schema: id: NaN is not a long/);
  });

  it('fails like the activity on a PartitionError, naming the stage, partition and record', async () => {
    await expect(runStage(pipeline, 'clean', [{ id: '1', miles: '1' }, { id: 'fatal' }], { lookups: zones }))
      .rejects.toThrow('stage "clean" partition p-test (test): transform failed the partition at record 1 of raw: the zone service is down');
  });

  it('fails setup when a lookup has no records, and names a stage the pipeline lacks', async () => {
    await expect(runStage(pipeline, clean, [])).rejects.toThrow(/stage setup failed: runStage: no records given for lookup "zones"/);
    await expect(runStage(pipeline, 'nope', [])).rejects.toThrow('pipeline "trips" has no stage "nope" (it has clean)');
    // An edited copy under the pipeline stage's name is not what a worker would run.
    const copy = defineStage({ ...clean, transform: (r: Record<string, unknown>) => r });
    await expect(runStage(pipeline, copy, [{ id: '1', miles: '1' }], { lookups: zones })).rejects.toThrow('runStage: the stage object given is not pipeline "trips"\'s stage "clean": pass the object in its stages, or the stage\'s name');
  });

  it('checks the pipeline as a worker would (a missing schema is an error)', async () => {
    const bad = definePipeline({ name: 'bad', schemasDir, stages: [defineStage({ name: 's', schema: 'missing', version: '1', transform: (r) => r })] });
    await expect(runStage(bad, 's', [{}])).rejects.toThrow(/schema "missing" not found/);
  });
});

describe('a transform that throws something other than an Error', () => {
  it('rejects the record with what was thrown, as JSON, not "[object Object]"', async () => {
    const odd = defineStage<{ id: number }, { id: number }>({
      name: 'odd', schema: '@input', version: '1',
      transform: (r) => {
        if (r.id === 1) throw { code: 42 };
        if (r.id === 2) throw undefined;
        if (r.id === 3) return Promise.reject('async string');
        return r;
      },
    });
    const res = await runStage(definePipeline({ name: 'odd', stages: [odd] }), odd, [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }]);
    expect(res.rejects.map((r) => r.reason)).toEqual(['threw {"code":42}', 'threw undefined', 'async string']);
    expect(res.counts).toEqual({ in: 4, out: 1, rejected: 3, dropped: 0 });
  });
});

describe('an output the schema cannot take', () => {
  type Out = { id: unknown; km: unknown; zone: unknown };
  const odd = defineStage<{ id: number }, Out | Out[]>({
    name: 'odd', schema: 'trip', version: '1',
    transform: (r) => {
      const out: Out = { id: r.id, km: 1, zone: null };
      if (r.id === 1) {
        const c: Record<string, unknown> = { a: 1 };
        c.self = c;
        out.zone = c;
      }
      if (r.id === 2) return [out];
      if (r.id === 3) return { id: 2n ** 60n, km: 'far', zone: null };
      return out;
    },
  });
  const trips = definePipeline({ name: 'odd-trips', schemasDir, stages: [odd] });

  it('is a reject naming the field, never a failure: a cyclic value, an array for one record, a valid bigint not listed', async () => {
    const res = await runStage(trips, odd, [{ id: 0 }, { id: 1 }, { id: 2 }, { id: 3 }]);
    expect(res.counts).toEqual({ in: 4, out: 1, rejected: 3, dropped: 0 });
    expect(res.rejects.map((r) => r.reason)).toEqual([
      'output does not match schema: zone: {"a":1,"self":[Circular]} is not one of null, string',
      'output does not match schema: the transform returned an array (of 1 value), not a record Trip: a transform returns one record, or null to drop the input record',
      // The bigint is a valid long: only km is wrong.
      'output does not match schema: km: "far" is not a double',
    ]);
  });

  it('is a reject when a value holds itself under a recursive schema', async () => {
    const loop = defineStage<{ id: number }, unknown>({
      name: 'loop', schema: 'node', version: '1',
      transform: (r) => {
        const n: Record<string, unknown> = { id: r.id, next: null };
        if (r.id === 1) n.next = n;
        return n;
      },
    });
    const res = await runStage(definePipeline({ name: 'loops', schemasDir, stages: [loop] }), loop, [{ id: 0 }, { id: 1 }]);
    expect(res.counts).toEqual({ in: 2, out: 1, rejected: 1, dropped: 0 });
    expect(res.rejects[0].reason).toBe('output does not match schema: the transform returned a cyclic value (next refers back to the record), which cannot be written');
  });
});

describe("runStage's lookups", () => {
  const enrich = defineStage<{ sku: string }, { sku: string }>({
    name: 'enrich', schema: '@input', version: '1', lookups: ['products'],
    setup: async (ctx) => (await ctx.lookup('products')).length,
    transform: (r) => r,
  });
  const shop = definePipeline({ name: 'shop', lookups: { products: { defaultKey: 'products.csv', format: 'csv', columns: ['sku', 'name', 'category'] } }, stages: [enrich] });

  it('are checked against the columns the pipeline declares, failing as a real run fails', async () => {
    await expect(runStage(shop, enrich, [{ sku: 'a' }], { lookups: { products: [{ sku: 'a', name: 'Apple' }] } }))
      .rejects.toThrow('stage "enrich" partition p-test (test): stage setup failed: lookup "products": options.lookups.products lacks the column "category" the pipeline needs (it has "sku", "name")');
    const ok = await runStage(shop, enrich, [{ sku: 'a' }], { lookups: { products: [{ sku: 'a', name: 'Apple', category: 'fruit' }] } });
    expect(ok.counts.out).toBe(1);
  });

  it('gives back record fields and map keys named __proto__ as own properties', async () => {
    const bump = defineStage<{ other: number }, { other: number }>({ name: 'bump', schema: 'proto', version: '1', transform: (r) => ({ ...r, other: r.other + 1 }) });
    const res = await runStage(definePipeline({ name: 'proto', schemasDir, stages: [bump] }), bump, [JSON.parse('{"__proto__": 1, "other": 2, "m": {"__proto__": 3}}')]);
    expect(res.counts).toEqual({ in: 1, out: 1, rejected: 0, dropped: 0 });
    expect(JSON.stringify(res.output)).toBe('[{"__proto__":1,"other":3,"m":{"__proto__":3}}]');
  });

  it('writes a union of long and double, wrapped, also with a long past 2^53 among them', async () => {
    const num = defineStage<{ v: unknown }, { v: unknown }>({ name: 'num', schema: 'num', version: '1', transform: (r) => r });
    const values = [{ long: 5 }, { long: Number.MAX_SAFE_INTEGER }, { long: 2n ** 60n }, { double: 1.5 }, { double: 5 }, null];
    const res = await runStage(definePipeline({ name: 'num', schemasDir, stages: [num] }), num, [...values.map((v) => ({ v })), { v: 5 }]);
    expect(res.counts).toEqual({ in: 7, out: 6, rejected: 1, dropped: 0 });
    expect(res.output).toEqual(values.map((v) => ({ v })));
    expect(res.rejects[0].reason).toBe('output does not match schema: v: 5 is not one of null, long, double (this union takes its value wrapped in a branch\'s name: {"long": 5} or {"double": 5})');
  });
});
