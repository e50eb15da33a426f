import { Readable } from 'node:stream';
import { checkLookupColumns, readJsonLinesLookup } from '../../src/io/lookup';

describe('JSON Lines lookups', () => {
  it('decode multi-byte characters that straddle stream chunks', async () => {
    const rows = [{ code: 'ZÜR', name: 'Zürich–Kloten ✈' }, { code: 'NRT', name: '成田国際空港' }, { code: 'X', name: 'emoji 😀 ok' }];
    const bytes = Buffer.from(rows.map((r) => JSON.stringify(r)).join('\r\n') + '\n\n');
    // One byte per chunk: every multi-byte character is split across chunks.
    const oneByte = Readable.from([...bytes].map((b) => Buffer.from([b])));
    const out: unknown[] = [];
    for await (const r of readJsonLinesLookup(oneByte)) out.push(r);
    expect(out).toEqual(rows);
  });

  it('name the line of a bad line (the loader adds the table)', async () => {
    const read = async () => {
      for await (const _ of readJsonLinesLookup(Readable.from([Buffer.from('{"a":1}\n{oops\n')]))) void _;
    };
    await expect(read()).rejects.toThrow(/^line 2: /);
  });
});

describe('a lookup table of the wrong shape', () => {
  it('fails for good, naming the missing columns and the ones it has', () => {
    const table = [{ a: '1', b: '2', c: '3' }];
    expect(() => checkLookupColumns(table, ['iata', 'a', 'name'], 's3://b/airports.csv')).toThrow('s3://b/airports.csv lacks the columns "iata", "name" the pipeline needs (it has "a", "b", "c")');
    expect(() => checkLookupColumns(table, ['a', 'c'], 's3://b/x.csv')).not.toThrow();
    expect(() => checkLookupColumns([], ['iata'], 's3://b/empty.csv')).not.toThrow(); // an empty table is the stage's to judge
  });
});
