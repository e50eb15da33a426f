import fc from 'fast-check';
import { Readable } from 'node:stream';
import { ArrayElement, arrayElements, elementValue } from '../../src/formats/json-array';
import { scanFlatFile } from '../../src/formats/flat';
import { FlatRecord, readChunk } from '../../src/formats/flat-read';
import { parseJson } from '../../src/formats/json-value';

/** The tokenizer that finds a .json array's top-level elements without parsing the array whole. */

function stream(b: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) parts.push(b.subarray(i, i + size));
  return Readable.from(parts);
}

async function walk(text: string | Buffer, size = 7, opts: { start?: number; bounded?: boolean; max?: number } = {}): Promise<ArrayElement[]> {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const start = opts.start ?? 0;
  const out: ArrayElement[] = [];
  for await (const e of arrayElements('s3://b/x.json', stream(buf.subarray(start), size), { start, bounded: opts.bounded ?? false, max: opts.max ?? 1 << 20 })) out.push(e);
  return out;
}

const texts = (es: ArrayElement[]) => es.map((e) => (e.oversized ? null : e.bytes.toString()));

const tricky = '\ufeff \n[ {"s":"a,b]}[{","q":"say \\"hi\\", ok","bs":"ends in \\\\","n":[1,[2,{"x":"]"}]],"u":"é😀"} ,\r\n'
  + '"a \\"string\\" element", 12.5e-3 ,true,null,[],{} ,[[["deep"]]]\t]\n ';

describe('arrayElements', () => {
  it('finds every top-level element with its byte range, whatever the buffers, strings holding brackets, commas and escaped quotes', async () => {
    const buf = Buffer.from(tricky);
    const want = (JSON.parse(tricky.slice(1)) as unknown[]).map((v) => JSON.stringify(v));
    for (const size of [1, 2, 3, 7, 64, 1 << 16]) {
      const es = await walk(buf, size);
      expect(es.map((e) => JSON.stringify(elementValue('x', e as Extract<ArrayElement, { bytes: Buffer }>)))).toEqual(want);
      for (const e of es) expect(buf.subarray(e.start, e.end).toString()).toBe((e as { bytes: Buffer }).bytes.toString());
    }
    expect(texts(await walk(buf))[2]).toBe('12.5e-3');
  });

  it('reads on from an element\'s end (a later chunk), and a chunk may end after a number', async () => {
    const text = '[{"a":1}, 2 ,"x,]" , 4]';
    const all = await walk(text);
    expect(all.map((e) => e.end)).toEqual([8, 11, 18, 22]);
    // From the end of the first element to the end of the second (a number): a bounded chunk.
    expect(texts(await walk(Buffer.from(text).subarray(0, 11), 3, { bounded: true }))).toEqual(['{"a":1}', '2']);
    expect(texts(await walk(text, 3, { start: 8 }))).toEqual(['2', '"x,]"', '4']);
    expect(texts(await walk(text, 3, { start: 18 }))).toEqual(['4']);
  });

  it('an empty array, blanks, a lone BOM or nothing hold no elements', async () => {
    for (const t of ['[]', ' [ \n ] \n', '', ' \r\n\t', '\ufeff', '\ufeff[]']) expect(await walk(t, 1)).toEqual([]);
  });

  it('fails a malformed array naming the object and byte, never quoting its text', async () => {
    const cases: [string, RegExp][] = [
      ['[{"a":"SECRET"}', /not valid JSON \(the array is not closed: the file ends at byte 15\)/],
      ['[{"a":1},', /the array is not closed/],
      ['[{"a":"SECRET', /the array is not closed: the file ends at byte 13, inside an element/],
      ['[1, 2', /the array is not closed/],
      ['[', /the array is not closed/],
      ['[1,]', /not valid JSON \(at byte 3: expected an element after ","\)/],
      ['[,1]', /not valid JSON \(at byte 1: expected an element after ","\)/],
      ['[{"a":1} {"b":2}]', /not valid JSON \(at byte 9: expected "," or "\]" after an element\)/],
      ['[1] SECRET', /not valid JSON \(at byte 4: something follows the array's closing "\]"\)/],
      ['[1][2]', /at byte 3: something follows/],
      ['SECRET', /not valid JSON \(at byte 0: a \.json source must hold one JSON array of records\)/],
    ];
    for (const [t, re] of cases) {
      const err = await walk(t, 2).then(() => null, (e: Error) => e);
      expect([t, err?.message]).toEqual([t, expect.stringMatching(re)]);
      expect(err!.message).toMatch(/^s3:\/\/b\/x\.json: /);
      expect(err!.message).not.toMatch(/SECRET/);
    }
    for (const t of ['{"a":[1]}', ' "x"', '12', 'null']) {
      await expect(walk(t)).rejects.toThrow(/^s3:\/\/b\/x\.json: a \.json source must hold one JSON array of records$/);
    }
  });

  it('an element that is not JSON fails the object when parsed, naming the byte', async () => {
    for (const [t, re] of [['[{"a":1}, {"a": SECRET}]', /not valid JSON \((at byte 1[0-9]|in the element at bytes 10-23)\)$/], ['[{"a":[1}]]', /not valid JSON/], ['[tru]', /not valid JSON/]] as const) {
      const err = await scanFlatFile('s3://b/x.json', 'json', stream(Buffer.from(t), 3), 10, 'rec').then(() => null, (e: Error) => e);
      expect(err?.message).toMatch(re);
      expect(err!.message).not.toMatch(/SECRET/);
    }
  });

  it('an element over the limit is never assembled: it comes out oversized with its range and first bytes, and the walk goes on', async () => {
    const big = JSON.stringify({ s: 'x'.repeat(5000), t: '],"[' });
    const text = `[{"a":1},${big},"${'y'.repeat(3000)}",{"a":2}]`;
    const es = await walk(text, 100, { max: 1000 });
    expect(es.map((e) => [e.oversized ?? false, e.end - e.start])).toEqual([[false, 7], [true, big.length], [true, 3002], [false, 7]]);
    const prefix = (es[1] as { prefix: Buffer }).prefix.toString();
    expect(prefix.length).toBeGreaterThan(1000);
    expect(big.startsWith(prefix)).toBe(true);
  });

  it('gives the elements parsing the array whole gives, for any array in any buffers', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 8 }), fc.integer({ min: 1, max: 50 }), fc.boolean(), async (items, size, pretty) => {
      const text = JSON.stringify(items, null, pretty ? 2 : undefined);
      const es = await walk(text, size);
      expect(es.map((e) => elementValue('x', e as Extract<ArrayElement, { bytes: Buffer }>))).toEqual(parseJson(text));
    }), { numRuns: 300, seed: 8 });
  });
});

describe('a .json source in chunks', () => {
  it('is read chunk by chunk from its byte ranges, each record once and in order, rejects at their index in the chunk', async () => {
    const items = Array.from({ length: 23 }, (_, i) => (i === 11 ? [i] : { id: i, s: `a "q" ,]} ${i}`, n: { v: [i, '[', '\\'] } }));
    const buf = Buffer.from(`\ufeff${JSON.stringify(items, null, 1)}\n`);
    const scan = await scanFlatFile('mem://f', 'json', stream(buf, 5), 5, 'rec');
    expect(scan.chunks.map((c) => c.records)).toEqual([5, 5, 5, 5, 3]);
    const got: FlatRecord[] = [];
    for (const c of scan.chunks) {
      for await (const r of readChunk('mem://f', 'json', stream(buf.subarray(c.start, c.end < 0 ? undefined : c.end), 4), c, scan.fields)) got.push(r);
    }
    expect(got.map((r) => (r.ok ? r.value.id : r.raw))).toEqual(items.map((x, i) => (i === 11 ? '[11]' : i)));
    expect(got[12]).toMatchObject({ ok: true, value: { id: 12, s: 'a "q" ,]} 12', n: '{"v":[12,"[","\\\\"]}' } });
  });
});
