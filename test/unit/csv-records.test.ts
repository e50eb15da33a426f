import fc from 'fast-check';
import { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse/sync';
import { CSV_OPTIONS, CsvItem, csvItems } from '../../src/formats/csv-items';
import { CsvRecordSplitter, RECORD_DELIMITERS, recordEnd } from '../../src/formats/csv-records';

/**
 * csv-parse over the whole text at once, skipping rows with errors as partflow did before it
 * rejected bad rows itself: the rows it accepts (and their ends) must not change.
 */
function reference(buf: Buffer) {
  const items: unknown[] = [];
  parseCsv(buf, {
    ...CSV_OPTIONS, bom: true, record_delimiter: RECORD_DELIMITERS, skip_records_with_error: true,
    on_record: (r: { record: string[]; info: { bytes_records: number } }) => {
      items.push({ kind: 'row', record: r.record, end: r.info.bytes_records });
      return null;
    },
  } as never);
  return items;
}

/** The splitter's record ends over the whole text: a limit of 0 makes every record its own piece. */
function splitterEnds(buf: Buffer): number[] {
  const s = new CsvRecordSplitter(0);
  return [...s.push(buf), ...s.end()].map((p) => (p.oversized ? p.end : p.start + p.buf.length));
}

async function items(buf: Buffer, cuts: number[]): Promise<CsvItem[]> {
  const parts: Buffer[] = [];
  let at = 0;
  for (const c of [...new Set(cuts.map((x) => x % (buf.length + 1)))].sort((a, b) => a - b)) {
    parts.push(buf.subarray(at, c));
    at = c;
  }
  parts.push(buf.subarray(at));
  const out: CsvItem[] = [];
  for await (const it of csvItems(Readable.from(parts.filter((p) => p.length)), Infinity)) out.push(it);
  return out;
}

async function split(buf: Buffer, cuts: number[]) {
  return (await items(buf, cuts)).filter((it) => it.kind === 'row').map((it) => it.kind === 'row' && { kind: 'row', record: it.record, end: it.end });
}

/** A row's text between two record ends, as items keep it: no BOM, empty lines or line ending. */
function between(buf: Buffer, from: number, to: number): string {
  return buf.subarray(from, to).toString().replace(/^\ufeff/, '').replace(/^[\r\n]+/, '').replace(/(?:\r\n|\n|\r)$/, '');
}

describe('CSV record splitter', () => {
  const text = fc.array(fc.constantFrom('a', 'b', ',', '"', '\n', '\r', '\r\n', 'é', ' '), { maxLength: 60 }).map((xs) => xs.join(''));

  it('finds the same rows and ends as csv-parse on the whole text, however the bytes arrive', async () => {
    await fc.assert(fc.asyncProperty(text, fc.boolean(), fc.array(fc.nat(), { maxLength: 8 }), async (t, b, cuts) => {
      const buf = Buffer.from((b ? '\ufeff' : '') + t);
      expect(await split(buf, cuts)).toEqual(reference(buf));
    }), { numRuns: 3000, seed: 20240611 });
  });

  it('makes every record the splitter finds one row or one reject, holding its whole text', async () => {
    await fc.assert(fc.asyncProperty(text, fc.boolean(), fc.array(fc.nat(), { maxLength: 8 }), async (t, b, cuts) => {
      const buf = Buffer.from((b ? '\ufeff' : '') + t);
      const got = (await items(buf, cuts)).map((it) => (it.kind === 'oversized' ? it.o.end : it));
      // Less the records that are empty lines, which csv-parse skips.
      const ends = splitterEnds(buf).filter((e, i, all) => /[^\r\n\ufeff]/.test(buf.subarray(i ? all[i - 1] : 0, e).toString()));
      expect(got.map((it) => (typeof it === 'number' ? it : it.end))).toEqual(ends);
      got.forEach((it, i) => {
        if (typeof it === 'number' || it.kind !== 'bad' || it.parseError === undefined) return;
        const from = i ? ends[i - 1] : 0;
        expect(it.raw).toEqual(between(buf, from, it.end));
        // The row alone does not parse either, for the reason the reject gives.
        let alone = '';
        try {
          parseCsv(it.raw, { ...CSV_OPTIONS, record_delimiter: RECORD_DELIMITERS } as never);
        } catch (err) {
          alone = (err as Error).message.replace(/ at line \d+/g, '');
        }
        expect(it.parseError!.split(';')[0]).toBe(alone);
      });
    }), { numRuns: 3000, seed: 20240612 });
  });

  it('ends a record where the splitter does, from any record start', () => {
    fc.assert(fc.property(text, (t) => {
      const buf = Buffer.from(t);
      const ends = splitterEnds(buf);
      ends.forEach((e, i) => expect(recordEnd(buf, i ? ends[i - 1] : 0, ',')).toBe(e));
    }), { numRuns: 3000, seed: 20240613 });
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
