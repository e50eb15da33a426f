import { counted, shown } from '../../src/log/shown';

describe('shown: a value as an error message repeats it', () => {
  it('is its JSON when short', () => {
    expect([shown('a"b'), shown(5), shown(null), shown(undefined), shown({ a: [1] })]).toEqual(['"a\\"b"', '5', 'null', 'undefined', '{"a":[1]}']);
  });

  it('is cut after 200 characters, saying how long the value was', () => {
    expect(shown('y'.repeat(200))).toBe(JSON.stringify('y'.repeat(200)));
    expect(shown('y'.repeat(120_090))).toBe(`${JSON.stringify('y'.repeat(200))}… (120090 characters)`);
    expect(shown(Array.from({ length: 100 }, (_, i) => i), 10)).toBe('[0,1,2,3,4… (291 characters)');
  });
});

describe('counted', () => {
  it('says one thing in the singular and any other count in the plural', () => {
    expect([0, 1, 2].map((n) => counted(n, 'partition'))).toEqual(['0 partitions', '1 partition', '2 partitions']);
    expect(counted(1, 'entry', 'entries')).toBe('1 entry');
    expect(counted(3, 'entry', 'entries')).toBe('3 entries');
  });
});
