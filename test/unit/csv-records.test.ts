import fc from 'fast-check';
import { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse/sync';
import { CSV_OPTIONS, csvItems } from '../../src/formats/csv-items';
import { RECORD_DELIMITERS } from '../../src/formats/csv-records';

/** csv-parse over the whole text at once: the reference the splitter must agree with. */
function reference(buf: Buffer) {
  const items: unknown[] = [];
  parseCsv(buf, {
    ...CSV_OPTIONS, bom: true, record_delimiter: RECORD_DELIMITERS,
    on_record: (r: { record: string[]; info: { bytes_records: number } }) => {
      items.push({ kind: 'row', record: r.record, end: r.info.bytes_records });
      return null;
    },
    on_skip: (err: Error | undefined) => {
      items.push({ kind: 'bad', reason: `unparseable CSV row: ${err?.message.replace(/ at line \d+/g, '')}` });
      return undefined;
    },
  } as never);
  return items;
}

async function split(buf: Buffer, cuts: number[]) {
  const parts: Buffer[] = [];
  let at = 0;
  for (const c of [...new Set(cuts.map((x) => x % (buf.length + 1)))].sort((a, b) => a - b)) {
    parts.push(buf.subarray(at, c));
    at = c;
  }
  parts.push(buf.subarray(at));
  const items: unknown[] = [];
  for await (const it of csvItems(Readable.from(parts.filter((p) => p.length)), Infinity)) {
    items.push(it.kind === 'row' ? { kind: 'row', record: it.record, end: it.end } : it.kind === 'bad' ? { kind: 'bad', reason: it.reason } : it);
  }
  return items;
}

describe('CSV record splitter', () => {
  it('finds the same records, ends and errors as csv-parse on the whole text, however the bytes arrive', async () => {
    const text = fc.array(fc.constantFrom('a', 'b', ',', '"', '\n', '\r', '\r\n', 'é', ' '), { maxLength: 60 })
      .map((xs) => xs.join(''));
    const bom = fc.boolean();
    await fc.assert(fc.asyncProperty(text, bom, fc.array(fc.nat(), { maxLength: 8 }), async (t, b, cuts) => {
      const buf = Buffer.from((b ? '\ufeff' : '') + t);
      expect(await split(buf, cuts)).toEqual(reference(buf));
    }), { numRuns: 3000, seed: 20240611 });
  });

  it('agrees on typical files: quoted newlines, escaped quotes, CRLF, bare CR, a missing final newline', async () => {
    for (const t of [
      'h1,h2\r\n"a\r\nb","c""d"\r\n1,2',
      'h1,h2\r"x",y\r"p""q",r\r',
      'h\n\n\n"",\n"""",x\n',
      'a,b\n1,"2\n3,4\n',
      'a,b\n1,x"y"\n"u"v,w\n',
      'a,b\n1,2\r\n3,4\r\n', // a header in LF, rows in CRLF
      'a,b\r\n1,2\r\n3,4\n5,6\n',
      'a,b\r\n1,2\n3,4\r5,6\r\n',
      'a,"b"\r\n"1"\n"2"\r"3"\r\n',
    ]) {
      const buf = Buffer.from(t);
      expect(await split(buf, [1, 2, 3, 5, 8, 13])).toEqual(reference(buf));
    }
  });
});
