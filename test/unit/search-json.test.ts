import { Type } from 'avsc';
import { forSchema } from '../../src/avro/proto-fields';
import { jsonText } from '../../src/formats/json-value';
import { searchJson } from '../../src/snapshots/search-json';

describe('Avro values as search documents', () => {
  it('unwraps unions, writes bytes and fixed as base64, keeps big longs exact and non-finite floats as strings', () => {
    const type = Type.forSchema({
      type: 'record', name: 'Doc', fields: [
        { name: 'id', type: 'long' },
        { name: 'title', type: ['null', 'string'] },
        { name: 'either', type: ['null', 'int', 'long'] },
        { name: 'rec', type: ['null', { type: 'record', name: 'A', fields: [{ name: 'a', type: 'int' }] }, { type: 'record', name: 'B', fields: [{ name: 'b', type: 'bytes' }] }] },
        { name: 'blob', type: 'bytes' },
        { name: 'hash', type: { type: 'fixed', name: 'H', size: 2 } },
        { name: 'kind', type: { type: 'enum', name: 'K', symbols: ['A', 'B'] } },
        { name: 'score', type: 'double' },
        { name: 'tags', type: { type: 'array', items: ['null', 'bytes'] } },
        { name: 'attrs', type: { type: 'map', values: { type: 'record', name: 'Attr', fields: [{ name: 'v', type: ['null', 'string'] }] } } },
      ],
    }, { wrapUnions: 'auto' });
    // Decoded as partflow decodes it, so wrapped unions are avsc's own branch objects.
    const value = type.fromBuffer(type.toBuffer({
      id: 5, title: 'x', either: { long: 7 }, rec: { B: { b: Buffer.from('z') } }, blob: Buffer.from('hi'), hash: Buffer.from([1, 2]), kind: 'B', score: NaN,
      tags: [null, Buffer.from('t')], attrs: { a: { v: 's' }, b: { v: null } },
    })) as Record<string, unknown>;
    const doc = searchJson(type, { ...value, id: 2n ** 60n });
    expect(jsonText(doc)).toBe('{"id":1152921504606846976,"title":"x","either":7,"rec":{"b":"eg=="},"blob":"aGk=","hash":"AQI=","kind":"B","score":"NaN","tags":[null,"dA=="],"attrs":{"a":{"v":"s"},"b":{"v":null}}}');
  });

  it('keeps record fields and map keys named __proto__', () => {
    const type = forSchema({
      type: 'record', name: 'P', fields: [
        { name: '__proto__', type: { type: 'record', name: 'In', fields: [{ name: '__proto__', type: ['null', 'string'] }] } },
        { name: 'attrs', type: { type: 'map', values: 'int' } },
      ],
    }, { wrapUnions: 'auto' });
    const text = '{"__proto__":{"__proto__":"x"},"attrs":{"__proto__":1,"b":2}}';
    expect(jsonText(searchJson(type, type.fromBuffer(type.toBuffer(JSON.parse(text)))))).toBe(text);
  });
});
