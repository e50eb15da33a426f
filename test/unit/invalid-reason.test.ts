import { Type } from 'avsc';
import { invalidReason, thrownText } from '../../activities/transform-step';

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
  });
});
