import avro from 'avsc';
import { catJsonLine } from '../../src/tools/cat-json';

describe('catJsonLine', () => {
  const type = avro.Type.forSchema({
    type: 'record', name: 'R', fields: [
      { name: 'd', type: 'double' }, { name: 'f', type: 'float' }, { name: 'u', type: ['null', 'double'] },
      { name: 'b', type: 'bytes' }, { name: 'x', type: { type: 'fixed', name: 'F', size: 2 } }, { name: 'a', type: { type: 'array', items: 'double' } },
    ],
  });

  it('prints NaN and infinities as strings, not as null, and -0.0 as -0.0, through a decode', () => {
    const rec = type.fromBuffer(type.toBuffer({ d: NaN, f: -Infinity, u: Infinity, b: Buffer.from('hi'), x: Buffer.from([1, 2]), a: [-0, 0, 1.5] }));
    expect(catJsonLine(rec)).toBe('{"d":"NaN","f":"-Infinity","u":"Infinity","b":"aGk=","x":"AQI=","a":[-0.0,0,1.5]}');
    expect(catJsonLine({ ...rec, a: [] })).toBe('{"d":"NaN","f":"-Infinity","u":"Infinity","b":"aGk=","x":"AQI=","a":[]}');
    expect(JSON.parse(catJsonLine({ z: -0 })).z).toBe(-0);
  });

  it('prints longs beyond 2^53 as strings, and ordinary values as JSON.stringify does', () => {
    expect(catJsonLine({ n: 9223372036854775807n, m: -0, s: 'NaN', o: { k: null } })).toBe('{"n":"9223372036854775807","m":-0.0,"s":"NaN","o":{"k":null}}');
    const plain = { id: 1, title: 'a "b"', price: 2.5, tags: ['x'], when: null };
    expect(catJsonLine(plain)).toBe(JSON.stringify(plain));
  });
});
