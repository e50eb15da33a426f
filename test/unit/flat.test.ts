import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DELIMITER_SNIFF_BYTES, headerDelimiter, headerLineComplete, sniffDelimiter } from '../../src/formats/csv-delimiter';
import { FlatFormat, scanFlatFile, ScanCheckpoint } from '../../src/formats/flat';
import { FlatRecord, readChunk } from '../../src/formats/flat-read';

function stream(s: string | Buffer, chunk = 7): Readable {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += chunk) parts.push(b.subarray(i, i + chunk));
  return Readable.from(parts);
}

/** Scans, then reads every chunk back from its byte range, as the import activity does. */
async function roundTrip(format: FlatFormat, text: string | Buffer, per: number) {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const scan = await scanFlatFile('mem://f', format, stream(buf), per, 'rec');
  const chunks: FlatRecord[][] = [];
  for (const c of scan.chunks) {
    const body = buf.subarray(c.start, c.end < 0 ? undefined : c.end);
    const header = scan.headerEnd !== undefined ? { header: buf.subarray(0, scan.headerEnd), delimiter: scan.delimiter } : undefined;
    const recs: FlatRecord[] = [];
    for await (const r of readChunk('mem://f', format, stream(body), c, scan.fields, header)) recs.push(r);
    chunks.push(recs);
  }
  return { scan, chunks };
}

describe('CSV field delimiters', () => {
  it('reads semicolon, tab and pipe files by their header, with the delimiter inside quotes kept, in chunks', async () => {
    for (const d of [';', '\t', '|']) {
      const text = `\ufeffid${d}name${d}price\r\n1${d}"Ann${d} A, B"${d}1,50\r\n2${d}Bob${d}2\r\n3${d}"Cy ""q"""${d}\r\n`;
      const { scan, chunks } = await roundTrip('csv', text, 2);
      expect(scan.fields.map((f) => f.name)).toEqual(['id', 'name', 'price']);
      expect(scan.chunks.map((c) => c.records)).toEqual([2, 1]);
      expect(chunks.flat().map((r) => (r.ok ? r.value : r))).toEqual([
        { id: '1', name: `Ann${d} A, B`, price: '1,50' },
        { id: '2', name: 'Bob', price: '2' },
        { id: '3', name: 'Cy "q"', price: '' },
      ]);
    }
  });

  it('finds the header line after blank lines', async () => {
    const { scan, chunks } = await roundTrip('csv', '\r\n\r\nid;name\r\n1;Ann\r\n2;Bob\r\n', 1);
    expect(scan.fields.map((f) => f.name)).toEqual(['id', 'name']);
    expect(chunks.flat().map((r) => (r.ok ? r.value : r))).toEqual([{ id: '1', name: 'Ann' }, { id: '2', name: 'Bob' }]);
  });

  it('keeps comma whenever the header has one and the rows agree, and for a one-column file', () => {
    const both = (text: string) => {
      const b = Buffer.from(text);
      const d = headerDelimiter(b);
      expect(sniffDelimiter(b, true)).toBe(d);
      return d;
    };
    // Semicolons in values, unevenly: the header's comma holds.
    expect(both('a,b;c;d\n1,2;3\n')).toBe(',');
    expect(both('a,b;c;d\n')).toBe(',');
    expect(both('"x;y",z\n')).toBe(',');
    expect(both('only\n1\n')).toBe(',');
    // Delimiters quoted in the header do not count; the header's rule looks at nothing after it.
    expect(headerDelimiter(Buffer.from('"a;b"|c\n1;2;3;4\n'))).toBe('|');
    expect(both('"a;b"|c\n1|2\n')).toBe('|');
    expect(both('a\tb;c\td\n')).toBe('\t');
    // Blank lines before the header are skipped, as the parser skips them.
    expect(both('\ufeff\r\n\na;b\n1;2\n')).toBe(';');
    expect(headerLineComplete(Buffer.from('\n\r\n'), false)).toBe(false);
  });

  it('chooses the delimiter that splits the header and first rows evenly, and records it for chunk reads', async () => {
    // A semicolon file whose header has a comma, with decimal commas: before, two columns.
    const euro = 'Name;Preis (EUR, brutto);Datum\nA;1,50;2024-01-01\nB;2,00;2024-01-02\nC;3,25;2024-01-03\n';
    expect(headerDelimiter(Buffer.from(euro))).toBe(',');
    expect(sniffDelimiter(Buffer.from(euro), true)).toBe(';');
    for (const size of [1, 7, 4096]) {
      const scan = await scanFlatFile('mem://f', 'csv', stream(euro, size), 1, 'rec');
      expect(scan.delimiter).toBe(';');
      expect(scan.chunks.every((c) => c.sha256)).toBe(true);
    }
    // Chunks after the first see only the header: the recorded delimiter reads them.
    const { scan, chunks } = await roundTrip('csv', euro, 1);
    expect(scan.fields.map((f) => f.source)).toEqual(['Name', 'Preis (EUR, brutto)', 'Datum']);
    expect(chunks.flat().map((r) => (r.ok ? r.value : r))).toEqual([
      { Name: 'A', Preis_EUR_brutto: '1,50', Datum: '2024-01-01' },
      { Name: 'B', Preis_EUR_brutto: '2,00', Datum: '2024-01-02' },
      { Name: 'C', Preis_EUR_brutto: '3,25', Datum: '2024-01-03' },
    ]);
    // A scan resumed from a checkpoint keeps the delimiter its first attempt chose.
    const long = Buffer.from(euro + Array.from({ length: 30 }, (_, i) => `D${i};${i},00;2024-02-01\n`).join(''));
    const full = await scanFlatFile('mem://f', 'csv', stream(long), 2, 'rec');
    const cps: ScanCheckpoint[] = [];
    await scanFlatFile('mem://f', 'csv', stream(long, 1), 2, 'rec', { onProgress: (p) => p.checkpoint && cps.push(p.checkpoint), progressBytes: 1 });
    const cp = cps[cps.length - 1];
    expect(cp.delimiter).toBe(';');
    expect(await scanFlatFile('mem://f', 'csv', stream(long.subarray(cp.offset)), 2, 'rec', { resume: cp })).toEqual(full);
  });

  it('chooses as before, and records nothing, for files the header alone read right', async () => {
    const files = [
      'id,name,price\n1,"Ann; A",1.5\n2,Bob,2\n',
      'id;name;price\n1;"Ann, A";1,50\n2;Bob;2\n',
      'id\tname\tprice\n1\tAnn, A\t1,5\n2\tBob;x\t2\n',
      'id|name|price\n1|Ann, A|1,5\n2|Bob|2\n',
      'a,b;c\n1,2;3\n4,5\n',
      'only\n1\n2\n',
      'id,name\n',
      // Ragged rows whichever way: the header's rule.
      'a;b,c\n1;2\n3,4,5\n',
    ];
    for (const f of files) {
      expect(sniffDelimiter(Buffer.from(f), true)).toBe(headerDelimiter(Buffer.from(f)));
      expect((await scanFlatFile('mem://f', 'csv', stream(f), 1, 'rec')).delimiter).toBeUndefined();
    }
  });

  it("honours Excel's sep= first line: it names the delimiter and is not a row", async () => {
    for (const [sep, d] of [['sep=;', ';'], ['SEP=,', ','], ['sep=|', '|'], ['sep=\t', '\t']]) {
      const text = `${sep}\r\na${d}b,c\r\n1${d}2,3\r\n4${d}5,6\r\n`;
      expect(headerDelimiter(Buffer.from(text))).toBe(d);
      const { scan, chunks } = await roundTrip('csv', text, 1);
      expect(scan.fields.map((f) => f.source)).toEqual(d === ',' ? ['a', 'b', 'c'] : ['a', 'b,c']);
      expect(scan.headerEnd).toBe(text.indexOf('1'));
      expect(chunks.flat().filter((r) => r.ok)).toHaveLength(2);
    }
    // A plan made before took the sep= line as the header row (its header bytes end there): it reads as it did.
    const old = 'sep=;\na;b\n1;2\n';
    const recs: FlatRecord[] = [];
    const fields = [{ name: 'sep', source: 'sep=', type: 'string' as const }, { name: 'column_2', source: '', type: 'string' as const }];
    const header = Buffer.from(old).subarray(0, 6);
    for await (const r of readChunk('mem://f', 'csv', stream(old.slice(6)), { start: 6, end: -1, records: 2 }, fields, header)) recs.push(r);
    expect(recs.map((r) => (r.ok ? r.value : r))).toEqual([{ sep: 'a', column_2: 'b' }, { sep: '1', column_2: '2' }]);
  });

  it('decides on the first 64 KiB of a longer header, as the scan sees it', () => {
    const long = Buffer.from(`${'x'.repeat(DELIMITER_SNIFF_BYTES - 2)};y,z\n`);
    expect(headerDelimiter(long)).toBe(';');
    expect(sniffDelimiter(long, false)).toBe(';');
    expect(headerLineComplete(long.subarray(0, 100), false)).toBe(false);
    expect(headerLineComplete(long.subarray(0, DELIMITER_SNIFF_BYTES), false)).toBe(true);
  });
});

describe('CSV', () => {
  const csv = '\ufeffname,Cost Total $,note\n' +
    'ann,1,"multi\nline"\n' + 'bé,2,ü\n' + 'cy,3,"quoted, comma"\n' + 'dee,4,x\n' + 'eve,5,y\n';

  it.each([
    ['a header in LF, rows in CRLF', 'a,b\n1,2\r\n3,4\r\n5,6\r\n'],
    ['a header in CRLF, rows in LF', 'a,b\r\n1,2\n3,4\n5,6\n'],
    ['every ending in one file', 'a,b\r\n1,2\n3,4\r5,6\r\n'],
  ])('reads each line ending on its own, as Python\'s csv does: %s', async (_, text) => {
    const { scan, chunks } = await roundTrip('csv', text, 2);
    expect(scan.records).toBe(3);
    expect(chunks.flat().map((r) => (r.ok ? r.value : r))).toEqual([{ a: '1', b: '2' }, { a: '3', b: '4' }, { a: '5', b: '6' }]);
  });

  it('cuts deterministic chunks at record ends, even inside quotes and with multibyte text', async () => {
    const { scan, chunks } = await roundTrip('csv', csv, 2);
    expect(scan.records).toBe(5);
    expect(scan.chunks.map((c) => c.records)).toEqual([2, 2, 1]);
    expect(scan.fields.map((f) => f.name)).toEqual(['name', 'Cost_Total', 'note']);
    expect(scan.fields[1].source).toBe('Cost Total $');
    const values = chunks.flat().map((r) => (r.ok ? r.value : r));
    // Every record says where the next one starts: reading the chunk again from there resumes exactly.
    const buf = Buffer.from(csv);
    const header = buf.subarray(0, scan.headerEnd);
    const c0 = scan.chunks[0];
    const first = chunks[0][0];
    const rest: FlatRecord[] = [];
    for await (const r of readChunk('mem://f', 'csv', stream(buf.subarray(c0.start + first.end!, c0.end)), c0, scan.fields, header)) rest.push(r);
    expect(rest).toEqual([chunks[0][1]].map((r) => ({ ...r, end: r.end! - first.end! })));
    expect(values).toEqual([
      { name: 'ann', Cost_Total: '1', note: 'multi\nline' },
      { name: 'bé', Cost_Total: '2', note: 'ü' },
      { name: 'cy', Cost_Total: '3', note: 'quoted, comma' },
      { name: 'dee', Cost_Total: '4', note: 'x' },
      { name: 'eve', Cost_Total: '5', note: 'y' },
    ]);
    const again = await scanFlatFile('mem://f', 'csv', stream(csv, 3), 2, 'rec');
    expect(again.chunks).toEqual(scan.chunks);
  });

  it('turns bad rows into rejects with the reason and the raw text', async () => {
    const { chunks } = await roundTrip('csv', 'a,b\n1,2\n3\n4,5,6\n7,8\n', 10);
    const all = chunks.flat();
    expect(all.filter((r) => r.ok)).toHaveLength(2);
    const bad = all.filter((r): r is Extract<FlatRecord, { ok: false }> => !r.ok);
    expect(bad.map((r) => [r.reason, r.raw])).toEqual([
      ['row has 1 fields, the header has 2', '3'],
      ['row has 3 fields, the header has 2', '4,5,6'],
    ]);
    // Without its line ending, whichever the file uses.
    const crlf = (await roundTrip('csv', 'a,b\r\n1,2\r\n3\r\n"x\r\ny",5,6\r\n', 10)).chunks.flat();
    expect(crlf.filter((r): r is Extract<FlatRecord, { ok: false }> => !r.ok).map((r) => r.raw)).toEqual(['3', '"x\r\ny",5,6']);
    // Nor the empty lines before it, which csv-parse skips but keeps in the row's raw text.
    const gaps = (await roundTrip('csv', 'name,val\n1,2\n\r\n\r\nbad,row,here\n\n\n3\n', 10)).chunks.flat();
    expect(gaps.filter((r): r is Extract<FlatRecord, { ok: false }> => !r.ok).map((r) => r.raw)).toEqual(['bad,row,here', '3']);
  });

  it('keeps a trailing unterminated quote as a reject, not a silent loss', async () => {
    const { chunks } = await roundTrip('csv', 'a,b\n1,2\n3,"open\n', 10);
    const all = chunks.flat();
    expect(all).toHaveLength(2);
    expect(all[1]).toMatchObject({ ok: false, reason: expect.stringMatching(/unparseable CSV row: Quote Not Closed/) });
  });

  /** Each chunk's records as the import numbers them: index within the chunk, and the reject's text. */
  const rejectsOf = (chunks: FlatRecord[][]) => chunks.flatMap((c, k) => c.flatMap((r, i) => (r.ok ? [] : [[k, i, r.raw, r.reason]])));

  it('makes a row with a stray quote one reject holding the whole row, in chunks or not', async () => {
    // An inch mark in an unquoted field, and quotes inside a quoted one that are not doubled.
    const text = 'id,desc,ok\n1,item 1,yes\n2,item 2,yes\n3,TV 55" screen,yes\n4,item 4,yes\n5,item 5,yes\n' +
      '6,"say "hi" now",yes\n7,item 7,yes\n8,item 8,yes\n9,item 9,yes\n10,item 10,yes\n';
    const whole = await roundTrip('csv', text, 100);
    expect(whole.chunks.flat()).toHaveLength(10);
    expect(whole.chunks.flat().filter((r) => r.ok)).toHaveLength(8);
    expect(rejectsOf(whole.chunks)).toEqual([
      [0, 2, '3,TV 55" screen,yes', 'unparseable CSV row: Invalid Opening Quote: a quote is found on field 1, value is "TV 55"'],
      [0, 5, '6,"say "hi" now",yes', expect.stringMatching(/^unparseable CSV row: Invalid Closing Quote: got "h" instead of delimiter/)],
    ]);
    expect(whole.chunks.flat().map((r) => (r.ok ? r.value.id : null))).toEqual(['1', '2', null, '4', '5', null, '7', '8', '9', '10']);
    // Cut every 2 rows, each bad row opens a chunk (the scan cuts after parsed rows only).
    const cut = await roundTrip('csv', text, 2);
    expect(cut.scan.chunks.map((c) => c.records)).toEqual([2, 2, 2, 2]);
    expect(cut.chunks.map((c) => c.length)).toEqual([2, 3, 3, 2]);
    expect(rejectsOf(cut.chunks).map((r) => r.slice(0, 3))).toEqual([[1, 0, '3,TV 55" screen,yes'], [2, 0, '6,"say "hi" now",yes']]);
    // A reject says where the next row starts, so an import resumes after it, as after a row.
    const c1 = cut.scan.chunks[1];
    const bad = cut.chunks[1][0];
    const buf = Buffer.from(text);
    const rest: FlatRecord[] = [];
    for await (const r of readChunk('mem://f', 'csv', stream(buf.subarray(c1.start + bad.end!, c1.end)), c1, cut.scan.fields, buf.subarray(0, cut.scan.headerEnd))) rest.push(r);
    expect(rest.map((r) => r.ok && r.value.id)).toEqual(['4', '5']);
  });

  it('keeps every line a stray quote takes in within its one reject, and says how many', async () => {
    // A quote that opens a field ends it only before the delimiter or a line end, as csv-parse
    // reads it: `"a" trailing` leaves the field open, so the row runs on to such a quote.
    const trail = await roundTrip('csv', 'id,desc\n1,"a" trailing,x\n2,b\n3,"c",d\n4,e\n', 1);
    expect(trail.chunks.flat().map((r) => (r.ok ? r.value.id : r.raw))).toEqual(['1,"a" trailing,x\n2,b\n3,"c",d', '4']);
    expect(rejectsOf(trail.chunks)[0][3]).toMatch(/^unparseable CSV row: Invalid Closing Quote: got " " instead of .*; the row runs over 3 lines, as a field that opens with a quote ends only at a quote before the delimiter or a line end$/);
    // Never closed, it runs to the end of the file: one reject with all of it, not a loss.
    const open = await roundTrip('csv', 'id,desc\n0,z\n1,"unclosed\n2,b\n3,c\n', 1);
    expect(open.chunks.flat().map((r) => (r.ok ? r.value.id : r.raw))).toEqual(['0', '1,"unclosed\n2,b\n3,c']);
    expect(rejectsOf(open.chunks)[0][3]).toBe('unparseable CSV row: Quote Not Closed: the parsing is finished with an opening quote; the row runs to the end of the file: 3 lines');
    // Both kinds in one file, quotes balanced again before the row's end; each bad row opens a chunk of 1 parsed row.
    const inch = await roundTrip('csv', 'id,desc,ok\n1,5" screen,yes\n2,normal,yes\n3,"quoted "inner" x",yes\n4,last,yes\n', 1);
    expect(inch.chunks.flat().map((r) => (r.ok ? r.value.id : r.raw))).toEqual(['1,5" screen,yes', '2', '3,"quoted "inner" x",yes', '4']);
    expect(rejectsOf(inch.chunks).map((r) => r.slice(0, 2))).toEqual([[0, 0], [1, 0]]);
    // Two bad rows in a row, after empty lines and with CRLF: one reject each, without the empty lines or line endings.
    const two = await roundTrip('csv', '\ufeffa,b\r\n\r\n1,5" x\r\n\r\n2,x"y\r\n3,ok\r\n', 10);
    expect(two.chunks.flat().map((r) => (r.ok ? r.value.a : r.raw))).toEqual(['1,5" x', '2,x"y', '3']);
  });

  it('a header with no rows is a file of 0 records with its schema, not an empty one', async () => {
    const { scan, chunks } = await roundTrip('csv', 'id,name\n', 10);
    expect(scan).toMatchObject({ records: 0, chunks: [{ start: 8, end: -1, records: 0 }], headerEnd: 8 });
    expect(scan.empty).toBeUndefined();
    expect(scan.fields.map((f) => f.name)).toEqual(['id', 'name']);
    expect(chunks.flat()).toEqual([]);
  });

  it('fails a file whose header row does not parse, naming the cause, rather than take the next row as header', async () => {
    for (const [text, cause] of [
      ['id,na"me"\n1,a\n2,b\n', /^s3:\/\/b\/h\.csv: the header row cannot be parsed \(Invalid Opening Quote: a quote is found on field 1, value is "na"\)/],
      ['"id,name\n1,a\n2,b\n', /^s3:\/\/b\/h\.csv: the header row cannot be parsed \(Quote Not Closed/],
      [Buffer.concat([Buffer.from('\ufeff\nid,M'), Buffer.from([0xfc]), Buffer.from('nchen\n1,2\n')]), /^s3:\/\/b\/h\.csv: the header row is not valid UTF-8 \(a bad byte sequence at byte 8\); text sources must be UTF-8/],
    ] as const) {
      await expect(scanFlatFile('s3://b/h.csv', 'csv', stream(text), 10, 'rec')).rejects.toThrow(cause);
    }
  });
});

describe('files with no records at all', () => {
  const empty = { records: 0, chunks: [], fields: [], empty: true };

  it('are empty scans, not failures: a CSV with no header row, JSON Lines with blank lines only, a JSON [] or nothing', async () => {
    const cases: [FlatFormat, string][] = [
      ['csv', ''], ['csv', '\n\n'], ['csv', '\r\n\r\n'], ['csv', '\ufeff'], ['csv', '\ufeff\r\n\r\n'],
      ['jsonl', ''], ['jsonl', '\n \n\t\r\n'], ['jsonl', '\ufeff'], ['jsonl', '\ufeff\n\n'],
      ['json', '[]'], ['json', ' [ ]\n'], ['json', ''], ['json', ' \n'], ['json', '\ufeff'],
    ];
    for (const [format, text] of cases) {
      const { scan, chunks } = await roundTrip(format, text, 10);
      expect([format, text, scan]).toEqual([format, text, expect.objectContaining({ format, ...empty })]);
      expect(chunks).toEqual([]);
    }
  });

  it('a BOM on a line of its own in JSON Lines is a blank line, for the scan and the import alike', async () => {
    const { scan, chunks } = await roundTrip('jsonl', '\ufeff\n{"a":1}\n', 10);
    expect(scan.records).toBe(1);
    expect(chunks.flat()).toEqual([{ ok: true, value: { a: 1 }, end: 12 }]);
  });

  it('a JSON Lines file of unparseable lines is not empty: they are records that become rejects', async () => {
    const { scan, chunks } = await roundTrip('jsonl', 'nope\n', 10);
    expect(scan).toMatchObject({ records: 1 });
    expect(scan.empty).toBeUndefined();
    expect(chunks.flat()).toMatchObject([{ ok: false, raw: 'nope' }]);
  });
});

describe('JSON Lines and JSON arrays', () => {
  const lines = [
    '{"id": 1, "name": "a", "price": 1.5, "tags": ["x"], "ok": true}',
    '',
    '{"id": 2, "name": null, "price": 2, "extra": {"k": 1}}',
    'not json',
    '{"id": "3", "name": "c"}',
  ].join('\n');

  it('infers a flat nullable schema and keeps nested and mixed values as JSON text', async () => {
    const { scan, chunks } = await roundTrip('jsonl', lines, 2);
    expect(scan.records).toBe(4);
    const types = Object.fromEntries(scan.fields.map((f) => [f.name, f.type]));
    expect(types).toEqual({ id: 'json', name: 'string', price: 'double', tags: 'json', ok: 'boolean', extra: 'json' });
    const all = chunks.flat();
    expect(all[0]).toEqual({ ok: true, value: { id: '1', name: 'a', price: 1.5, tags: '["x"]', ok: true, extra: null }, end: lines.indexOf('\n') + 1 });
    expect(all[1]).toEqual({ ok: true, value: { id: '2', name: null, price: 2, tags: null, ok: null, extra: '{"k":1}' }, end: lines.indexOf('not json') });
    expect(all[2]).toMatchObject({ ok: false, reason: expect.stringMatching(/invalid JSON/), raw: 'not json' });
    // The string "3" and the number 3 must stay apart in a field of mixed kinds.
    expect(all[3]).toMatchObject({ ok: true, value: { id: '"3"', name: 'c' } });
  });

  it('a field of mixed kinds keeps every value apart: each reads back with JSON.parse as it was', async () => {
    const values = [5, '5', true, 'true', null, 'null', { a: 1 }, '{"a":1}', [1], 'plain text', ''];
    const text = values.map((v) => JSON.stringify({ v })).join('\n');
    const { scan, chunks } = await roundTrip('jsonl', text, 4);
    expect(scan.fields).toEqual([{ name: 'v', source: 'v', type: 'json' }]);
    const stored = chunks.flat().map((r) => (r.ok ? r.value.v : 'rejected'));
    expect(stored).toHaveLength(values.length);
    // A JSON null is an Avro null, as in every other nullable field; every other value is its JSON text.
    expect(stored.map((t) => (t === null ? null : JSON.parse(t as string)))).toEqual(values);
  });

  it.each([['JSON.parse', 1], ['the lossless parser', 12345678901234567n]])('fields named like Object.prototype properties are read from the record itself (%s)', async (_, n) => {
    const lines = [
      `{"constructor": "ferrari", "toString": "x", "hasOwnProperty": true, "__proto__": {"x": 1}, "n": ${n}}`,
      `{"n": ${n}}`,
    ].join('\n');
    const { scan, chunks } = await roundTrip('jsonl', lines, 10);
    expect(scan.records).toBe(2);
    const recs = chunks.flat();
    expect(recs.every((r) => r.ok)).toBe(true);
    const second = (recs[1] as Extract<FlatRecord, { ok: true }>).value;
    // Absent from the record: null, never the inherited function or object.
    expect(Object.entries(second).filter(([k]) => k !== 'n').map(([, v]) => v)).toEqual([null, null, null, null]);
    expect((recs[0] as Extract<FlatRecord, { ok: true }>).value).toMatchObject({ constructor: 'ferrari', toString: 'x', hasOwnProperty: true });
  });

  it('chunks a JSON array by element and rejects non-objects', async () => {
    const text = JSON.stringify([{ a: 1 }, { a: 2 }, 5, { a: 4 }, { a: 5 }]);
    const { scan, chunks } = await roundTrip('json', text, 2);
    // Byte ranges cut after an element, as JSON Lines chunks are cut after a line; the last runs to the end.
    expect(scan.chunks.map((c) => [c.start, c.end, c.records])).toEqual([[0, 16, 2], [16, 26, 2], [26, -1, 1]]);
    expect(text.slice(16, 26)).toBe(',5,{"a":4}');
    const all = chunks.flat();
    expect(all).toHaveLength(5);
    expect(all[2]).toMatchObject({ ok: false, reason: 'expected a JSON object, got number', raw: '5' });
  });

  it('a .json file that does not parse fails naming the object and position, never quoting its text', async () => {
    for (const text of ['[{"a": "SECRET-ONE"} SECRET-TWO]', '[SECRET-THREE]', '[{"a": 1}, {"b": "SECRET-FOUR"}, ']) {
      const err = await scanFlatFile('s3://b/x.json', 'json', stream(text), 10, 'rec').catch((e: Error) => e);
      expect((err as Error).message).toMatch(/^s3:\/\/b\/x\.json: not valid JSON/);
      expect((err as Error).message).not.toMatch(/SECRET/);
    }
  });

  it('names the object when a .json file is not an array', async () => {
    await expect(scanFlatFile('s3://b/x.json', 'json', stream('{"a":1}'), 10, 'rec')).rejects.toThrow(/s3:\/\/b\/x\.json: a \.json source must hold one JSON array/);
  });
});

describe('text that is not what it claims', () => {
  const latin1 = Buffer.from([0x4d, 0xfc, 0x6e, 0x63, 0x68, 0x65, 0x6e]); // "München" in Latin-1

  it('rejects a CSV record with invalid UTF-8, keeping its bytes, and reads the rows around it', async () => {
    const text = Buffer.concat([Buffer.from('id,city\n1,Köln\n2,'), latin1, Buffer.from('\n3,Real \uFFFD kept\n')]);
    const { chunks } = await roundTrip('csv', text, 2);
    const recs = chunks.flat();
    expect(recs.map((r) => (r.ok ? r.value : null))).toEqual([{ id: '1', city: 'Köln' }, null, { id: '3', city: 'Real \uFFFD kept' }]);
    const bad = recs[1] as Extract<FlatRecord, { ok: false }>;
    expect(bad.reason).toMatch(/^CSV record is not valid UTF-8 \(a bad byte sequence at byte 3 of the CSV record\).*iconv/);
    expect(Buffer.from(bad.raw, 'latin1').equals(Buffer.concat([Buffer.from('2,'), latin1]))).toBe(true);
  });

  it('rejects a JSON Lines line with invalid UTF-8, and reads a first line after a BOM', async () => {
    const text = Buffer.concat([Buffer.from('\ufeff{"id":1,"s":"a"}\r\n{"id":2,"s":"'), latin1, Buffer.from('"}\n{"id":3,"s":"c"}\n')]);
    const { chunks } = await roundTrip('jsonl', text, 10);
    const recs = chunks.flat();
    expect(recs.map((r) => (r.ok ? r.value : null))).toEqual([{ id: 1, s: 'a' }, null, { id: 3, s: 'c' }]);
    expect((recs[1] as Extract<FlatRecord, { ok: false }>).reason).toMatch(/^line is not valid UTF-8 \(a bad byte sequence at byte 14 of the line\)/);
  });

  it('rejects numbers beyond a double instead of storing Infinity, or null in JSON text', async () => {
    const { chunks } = await roundTrip('jsonl', '{"n":1e400,"j":{"a":1}}\n{"n":2,"j":{"a":-1e999}}\n{"n":3,"j":{"a":2}}\n', 10);
    const recs = chunks.flat();
    expect(recs.map((r) => (r.ok ? r.value : r.reason))).toEqual([
      'field "n": a number beyond the range of a double (it would be stored as Infinity)',
      'field "j": a number beyond the range of a double (it would be stored as null)',
      { n: 3, j: '{"a":2}' },
    ]);
  });

  it('fails a .json file with invalid UTF-8 naming the byte, and reads one with a BOM', async () => {
    await expect(roundTrip('json', Buffer.concat([Buffer.from('[{"s":"'), latin1, Buffer.from('"}]')]), 10)).rejects.toThrow(/mem:\/\/f.*not valid UTF-8 \(a bad byte sequence at byte 8\)/);
    const { chunks } = await roundTrip('json', '\ufeff[{"id":1}]', 10);
    expect(chunks.flat().map((r) => r.ok && r.value)).toEqual([{ id: 1 }]);
  });
});

describe('chunk hashes', () => {
  const sha = (...parts: (Buffer | string)[]) => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest('hex'); };
  const bytesOf = (buf: Buffer, c: { start: number; end: number }) => buf.subarray(c.start, c.end < 0 ? undefined : c.end);
  const csv = Buffer.from('\ufeff\r\nid,name\r\n' + Array.from({ length: 25 }, (_, i) => `${i},"r ${i}${i % 4 ? '' : '\r\nsecond line'}"`).join('\r\n') + '\r\n');
  const jsonl = (n: number, end = '\n') => Buffer.from(Array.from({ length: n }, (_, i) => JSON.stringify({ i })).join('\n') + end);

  it('are the SHA-256 of each chunk\'s bytes (after the CSV header\'s), however the object arrives', async () => {
    const lines = jsonl(25, '\n\n  \n');
    for (const size of [1, 3, 7, 64, 1 << 16]) {
      const c = await scanFlatFile('mem://f', 'csv', stream(csv, size), 10, 'rec');
      expect(c.chunks.map((k) => k.records)).toEqual([10, 10, 5]);
      const header = csv.subarray(0, c.headerEnd);
      expect(c.chunks.map((k) => k.sha256)).toEqual(c.chunks.map((k) => sha(header, bytesOf(csv, k))));
      const j = await scanFlatFile('mem://f', 'jsonl', stream(lines, size), 10, 'rec');
      expect(j.chunks.map((k) => k.records)).toEqual([10, 10, 5]);
      expect(j.chunks.map((k) => k.sha256)).toEqual(j.chunks.map((k) => sha(bytesOf(lines, k))));
    }
  });

  it('of the chunks before appended rows (or JSON array elements) stay the same', async () => {
    const more = Buffer.concat([csv, Buffer.from('25,late\r\n26,later\r\n')]);
    const [a, b] = [await scanFlatFile('mem://f', 'csv', stream(csv), 10, 'rec'), await scanFlatFile('mem://f', 'csv', stream(more), 10, 'rec')];
    expect(b.chunks.slice(0, 2)).toEqual(a.chunks.slice(0, 2));
    expect(b.chunks[2]).toMatchObject({ start: a.chunks[2].start, records: 7 });
    expect(b.chunks[2].sha256).not.toBe(a.chunks[2].sha256);
    const array = Buffer.from('[{"a":1},{"a":2},{"a":3}]');
    const json = await scanFlatFile('mem://f', 'json', stream(array), 2, 'rec');
    expect(json.chunks.map((k) => k.sha256)).toEqual(json.chunks.map((k) => sha(bytesOf(array, k))));
    const longer = await scanFlatFile('mem://f', 'json', stream('[{"a":1},{"a":2},{"a":3},{"a":4},{"a":5}]'), 2, 'rec');
    expect(longer.chunks[0]).toEqual(json.chunks[0]);
    expect(longer.chunks[1]).toMatchObject({ start: json.chunks[1].start, records: 2 });
  });

  it('a last chunk that runs on past its cut over blank lines hashes its hash at the cut and them, resumed at the cut or not', async () => {
    const exact = jsonl(30);
    const blank = jsonl(30, '\n\n  \n');
    const [e, b] = [await scanFlatFile('mem://f', 'jsonl', stream(exact), 10, 'rec'), await scanFlatFile('mem://f', 'jsonl', stream(blank), 10, 'rec')];
    expect(b.chunks.slice(0, 2)).toEqual(e.chunks.slice(0, 2));
    expect(e.chunks[2]).toEqual({ start: e.chunks[1].end, end: -1, records: 10, sha256: sha(bytesOf(exact, e.chunks[2])) });
    expect(b.chunks[2]).toEqual({ ...e.chunks[2], sha256: sha(e.chunks[2].sha256!, '\n  \n') });
    const cps: ScanCheckpoint[] = [];
    await scanFlatFile('mem://f', 'jsonl', stream(blank, 100), 10, 'rec', { onProgress: (p) => p.checkpoint && cps.push(p.checkpoint), progressBytes: 1 });
    const atLastCut = JSON.parse(JSON.stringify(cps.find((cp) => cp.chunks.length === 3))) as ScanCheckpoint;
    expect(await scanFlatFile('mem://f', 'jsonl', stream(blank.subarray(atLastCut.offset)), 10, 'rec', { resume: atLastCut })).toEqual(b);
  });
});
