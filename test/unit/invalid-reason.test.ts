import { Type } from 'avsc';
import { invalidReason, recordText, thrownText, valueText } from '../../activities/reject-text';

describe('why an output does not fit its schema', () => {
  const type = Type.forSchema({
    type: 'record', name: 'Order', fields: [
      { name: 'id', type: 'long' },
      { name: 'notes', type: ['null', 'string'] },
      { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'DONE'] } },
    ],
  } as never);

  it("names the field, the value and the type in the schema's own words", () => {
    expect(invalidReason(type, { id: 1, notes: 7, status: 'NEW' })).toBe('output does not match schema: notes: 7 is not one of null, string');
    expect(invalidReason(type, { id: 'x', notes: null, status: 'LOST' })).toBe('output does not match schema: id: "x" is not a long; status: "LOST" is not an enum Status');
  });

  it('names every failing field, not the first three', () => {
    const wide = Type.forSchema({ type: 'record', name: 'Sale', fields: ['id', 'sku', 'qty', 'price_cents', 'store'].map((name) => ({ name, type: 'long' })) } as never);
    expect(invalidReason(wide, { id: 'a', sku: 'b', qty: 'c', price_cents: 'd', store: 1 }))
      .toBe('output does not match schema: id: "a" is not a long; sku: "b" is not a long; qty: "c" is not a long; price_cents: "d" is not a long');
  });

  it('stays bounded: long values are cut, and past about 2000 characters the rest are counted', () => {
    const fields = Array.from({ length: 200 }, (_, i) => ({ name: `field_${i}`, type: 'long' }));
    const many = Type.forSchema({ type: 'record', name: 'Many', fields } as never);
    const reason = invalidReason(many, Object.fromEntries(fields.map((f) => [f.name, 'x'.repeat(500)])));
    expect(reason.length).toBeLessThan(2_300);
    expect(reason).toContain(`field_0: "${'x'.repeat(79)}… is not a long`);
    expect(reason).toMatch(/; and 1\d\d more fields$/);
  });

  it('shows what JSON cannot as JavaScript does: NaN, Infinity, bigints as 5n, undefined', () => {
    expect(invalidReason(type, { id: NaN, notes: null, status: 'NEW' })).toBe('output does not match schema: id: NaN is not a long');
    expect(invalidReason(type, { id: -Infinity, notes: null, status: 'NEW' })).toBe('output does not match schema: id: -Infinity is not a long');
    expect(invalidReason(type, { id: 1, notes: { n: NaN, m: 5n, u: undefined }, status: 'NEW' }))
      .toBe('output does not match schema: notes: {"n":NaN,"m":5n,"u":undefined} is not one of null, string');
  });

  it('lists only the fields that are wrong: a bigint within 64 bits is a valid long, as the writer takes it', () => {
    expect(invalidReason(type, { id: 5n, notes: 7, status: 'NEW' })).toBe('output does not match schema: notes: 7 is not one of null, string');
    expect(invalidReason(type, { id: 2n ** 63n, notes: null, status: 'NEW' })).toBe('output does not match schema: id: 9223372036854775808n is not a long (beyond 64 bits)');
    expect(invalidReason(type, { id: 2 ** 60, notes: null, status: 'NEW' }))
      .toBe('output does not match schema: id: 1152921504606847000 is not a long (beyond 2^53 a number has lost precision: give a bigint)');
  });

  it('says so when the transform returned an array or something else than one record', () => {
    expect(invalidReason(type, [{ id: 1, notes: null, status: 'NEW' }]))
      .toBe('output does not match schema: the transform returned an array (of 1 value), not a record Order: a transform returns one record, or null to drop the input record');
    expect(invalidReason(type, 'a string')).toBe('output does not match schema: the transform returned "a string", not a record Order');
    // A schema of arrays takes arrays: its items are checked.
    const longs = Type.forSchema({ type: 'array', items: 'long' } as never);
    expect(invalidReason(longs, [1, 'x'])).toBe('output does not match schema: 1: "x" is not a long');
  });

  it('names a value that holds itself instead of throwing', () => {
    const c: Record<string, unknown> = { a: 1 };
    c.self = c;
    expect(invalidReason(type, { id: 1, notes: c, status: 'NEW' })).toBe('output does not match schema: notes: {"a":1,"self":[Circular]} is not one of null, string');
    // Under a recursive schema the check itself would never end.
    const list = Type.forSchema({ type: 'record', name: 'Node', fields: [{ name: 'v', type: 'long' }, { name: 'next', type: ['null', 'Node'] }] } as never);
    const second: Record<string, unknown> = { v: 2, next: null };
    const head = { v: 1, next: second };
    second.next = second;
    expect(invalidReason(list, head)).toBe('output does not match schema: next: a cyclic value (next.next refers back to next) cannot be written');
  });

  it('falls back to the writer\'s error when no field is wrong', () => {
    expect(invalidReason(type, { id: 1, notes: null, status: 'NEW' }, new Error('boom'))).toBe('output does not match schema: invalid value (boom)');
  });
});

describe('values in a reason', () => {
  it('are bounded however large or deep', () => {
    expect(valueText(Array.from({ length: 1e6 }, (_, i) => i))).toMatch(/^\[0,1,2,.{60,}…$/);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(valueText(deep)).toBe(`${'['.repeat(80)}…`);
    expect(valueText(Buffer.from('abc'))).toBe('<3 bytes>');
    expect(valueText(() => 1)).toBe('a function');
  });

  it('say it when a getter throws', () => {
    expect(valueText({ get x() { throw new Error('no x'); } })).toBe('(a value that cannot be shown: no x)');
  });
});

describe("a reject's record", () => {
  it('is JSON even when the transform made its input hold itself', () => {
    const r: Record<string, unknown> = { id: 1n, raw: Buffer.from('hi') };
    r.self = r;
    expect(recordText(r)).toBe('{"id":"1","raw":"aGk=","self":"[Circular]"}');
  });
});

describe('the reason a thrown value gives', () => {
  it('is an Error\'s message, a string as it is, anything else as JSON', () => {
    expect(thrownText(new Error('no miles'))).toBe('no miles');
    expect(thrownText('bad sku')).toBe('bad sku');
    expect(thrownText({ code: 42 })).toBe('threw {"code":42}');
    expect(thrownText({ message: 'like an error' })).toBe('like an error');
    expect(thrownText(undefined)).toBe('threw undefined');
    expect(thrownText(null)).toBe('threw null');
    expect(thrownText(7n)).toBe('threw "7"');
    const c: Record<string, unknown> = { code: 1 };
    c.self = c;
    expect(thrownText(c)).toBe('threw {"code":1,"self":[Circular]}');
  });
});
