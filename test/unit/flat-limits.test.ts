import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Type } from 'avsc';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';
import { maxRecordBytes } from '../../src/config';
import { FlatFileError } from '../../src/formats/errors';
import { Chunk, FlatFormat, ScanCheckpoint, scanFlatFile } from '../../src/formats/flat';
import { FlatRecord, readChunk } from '../../src/formats/flat-read';
import { REJECT_PREFIX_BYTES } from '../../src/formats/records';
import { gunzipRange } from '../../src/formats/source';
import { decodeAll } from '../helpers/avro';

function stream(b: Buffer, size = 7): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) parts.push(b.subarray(i, i + size));
  return Readable.from(parts);
}

async function all(format: FlatFormat, buf: Buffer, c: Chunk, fields: Parameters<typeof readChunk>[4], header?: Buffer, max?: number) {
  const body = buf.subarray(c.start, c.end < 0 ? undefined : c.end);
  const out: FlatRecord[] = [];
  for await (const r of readChunk('mem://f', format, stream(body, 64 * 1024), c, fields, header, max)) out.push(r);
  return out;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const MB = 1024 * 1024;
const TOTAL = 60 * MB;

/**
 * `head`, then `TOTAL` bytes of `fill` repeated, in fresh 64 KiB buffers made as they are read,
 * so that holding on to them would show in the process's memory. Records the peak RSS.
 */
function generated(head: string, fill: string, peak: { rss: number }): Readable {
  const unit = Buffer.from(fill.repeat(Math.ceil((64 * 1024) / fill.length)).slice(0, 64 * 1024));
  return Readable.from((function* () {
    yield Buffer.from(head);
    for (let n = 0; n < TOTAL; n += unit.length) {
      peak.rss = Math.max(peak.rss, process.memoryUsage().rss);
      yield Buffer.from(unit);
    }
  })());
}

describe('records over PARTFLOW_MAX_RECORD_BYTES', () => {
  const LIMIT = 1 * MB;
  // Holding the 60 MB (or re-copying it) would pass this; the limit plus garbage not yet collected does not.
  const RSS_BOUND = 40 * MB;

  beforeAll(async () => {
    // Let the heap grow to its working size first, so that the bound measures what the code keeps.
    for await (const _ of generated('', 'warm', { rss: 0 })) void _;
  });

  it('defaults to 16 MiB and reads the environment variable', () => {
    expect(maxRecordBytes({})).toBe(16 * MB);
    expect(maxRecordBytes({ PARTFLOW_MAX_RECORD_BYTES: '1024' })).toBe(1024);
    expect(() => maxRecordBytes({ PARTFLOW_MAX_RECORD_BYTES: 'lots' })).toThrow(/PARTFLOW_MAX_RECORD_BYTES must be a positive integer/);
    // Number() would read these as 32 and 1000000.
    expect(() => maxRecordBytes({ PARTFLOW_MAX_RECORD_BYTES: '0x20' })).toThrow('PARTFLOW_MAX_RECORD_BYTES must be a positive integer, got "0x20"');
    expect(() => maxRecordBytes({ PARTFLOW_MAX_RECORD_BYTES: '1e6' })).toThrow('PARTFLOW_MAX_RECORD_BYTES must be a positive integer, got "1e6"');
    expect(() => maxRecordBytes({ PARTFLOW_MAX_RECORD_BYTES: '0' })).toThrow('PARTFLOW_MAX_RECORD_BYTES must be a positive integer, got "0"');
  });

  it('an unclosed quote on line 2 of a 60 MB CSV is one reject with its position, in bounded memory', async () => {
    const head = 'id,text\n1,"never closed\n';
    const peak = { rss: 0 };
    const before = process.memoryUsage().rss;
    const scan = await scanFlatFile('s3://b/big.csv', 'csv', generated(head, 'x,y,z\n', peak), 1000, 'rec', { maxRecordBytes: LIMIT });
    expect(scan.records).toBe(1);
    expect(scan.oversized).toBe(1);
    expect(scan.chunks).toEqual([{ start: 8, end: -1, records: 1, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    // The import of that chunk (its body starts at byte 8): one reject, its raw text cut to a short prefix.
    const recs: FlatRecord[] = [];
    const body = generated(head, 'x,y,z\n', peak);
    const header = Buffer.from('id,text\n');
    let skipped = 0;
    const rest = Readable.from((async function* () {
      for await (const c of body) {
        const b = c as Buffer;
        const cut = Math.max(0, 8 - skipped);
        skipped += b.length;
        if (cut < b.length) yield b.subarray(cut);
      }
    })());
    for await (const r of readChunk('s3://b/big.csv', 'csv', rest, scan.chunks[0], scan.fields, header, LIMIT)) recs.push(r);
    expect(recs).toHaveLength(1);
    const [rej] = recs as Extract<FlatRecord, { ok: false }>[];
    expect(rej.ok).toBe(false);
    expect(rej.reason).toMatch(new RegExp(`^CSV record at bytes 8-${TOTAL + head.length} \\(${TOTAL + head.length - 8} bytes\\) is larger than the limit of ${LIMIT} bytes \\(PARTFLOW_MAX_RECORD_BYTES\\); it runs to the end of the object$`));
    expect(rej.raw.startsWith('1,"never closed\nx,y,z\n')).toBe(true);
    expect(Buffer.byteLength(rej.raw)).toBeLessThanOrEqual(REJECT_PREFIX_BYTES);
    expect(peak.rss - before).toBeLessThan(RSS_BOUND);
  });

  it('a 60 MB JSON Lines object with no newline is one reject, in bounded memory', async () => {
    const peak = { rss: 0 };
    const before = process.memoryUsage().rss;
    const head = '{"a": "';
    const scan = await scanFlatFile('s3://b/big.jsonl', 'jsonl', generated(head, 'abcdefgh', peak), 1000, 'rec', { maxRecordBytes: LIMIT });
    expect(scan).toMatchObject({ records: 1, oversized: 1, chunks: [{ start: 0, end: -1, records: 1 }] });
    const recs: FlatRecord[] = [];
    for await (const r of readChunk('s3://b/big.jsonl', 'jsonl', generated(head, 'abcdefgh', peak), scan.chunks[0], scan.fields, undefined, LIMIT)) recs.push(r);
    expect(recs).toEqual([{
      ok: false, reason: `line at bytes 0-${TOTAL + head.length} (${TOTAL + head.length} bytes) is larger than the limit of ${LIMIT} bytes (PARTFLOW_MAX_RECORD_BYTES); it runs to the end of the object`,
      raw: expect.stringMatching(/^\{"a": "abcdefgh/), end: TOTAL + head.length,
    }]);
    expect(Buffer.byteLength((recs[0] as { raw: string }).raw)).toBeLessThanOrEqual(REJECT_PREFIX_BYTES);
    expect(peak.rss - before).toBeLessThan(RSS_BOUND);
  });

  it('a closed oversized record is rejected and the records after it are read as usual', async () => {
    const csv = Buffer.from('a,b\n1,"0123456789\nabcdef"\n2,3\n');
    const scan = await scanFlatFile('mem://f', 'csv', stream(csv, 3), 1, 'rec', { maxRecordBytes: 10 });
    expect(scan.chunks).toEqual([{ start: 4, end: 26, records: 1, sha256: sha256('a,b\n1,"0123456789\nabcdef"\n') }, { start: 26, end: -1, records: 1, sha256: sha256('a,b\n2,3\n') }]);
    const header = csv.subarray(0, scan.headerEnd);
    expect(await all('csv', csv, scan.chunks[0], scan.fields, header, 10)).toEqual([
      { ok: false, reason: 'CSV record at bytes 4-26 (22 bytes) is larger than the limit of 10 bytes (PARTFLOW_MAX_RECORD_BYTES)', raw: '1,"0123456789\nabcdef"\n', end: 22 },
    ]);
    expect(await all('csv', csv, scan.chunks[1], scan.fields, header, 10)).toEqual([{ ok: true, value: { a: '2', b: '3' }, end: 4 }]);

    const jsonl = Buffer.from('{"a":1}\n{"a":"0123456789"}\n{"a":2}\n');
    const js = await scanFlatFile('mem://f', 'jsonl', stream(jsonl, 4), 10, 'rec', { maxRecordBytes: 10 });
    expect(js).toMatchObject({ records: 3, oversized: 1 });
    expect(js.fields).toEqual([{ name: 'a', source: 'a', type: 'long' }]);
    expect((await all('jsonl', jsonl, js.chunks[0], js.fields, undefined, 10)).map((r) => r.ok)).toEqual([true, false, true]);
  });

  it('a header row over the limit fails the object by name', async () => {
    await expect(scanFlatFile('s3://b/wide.csv', 'csv', stream(Buffer.from('a'.repeat(100) + '\n1\n')), 10, 'rec', { maxRecordBytes: 50 }))
      .rejects.toThrow(/^s3:\/\/b\/wide\.csv: the header row at bytes 0-101 \(101 bytes\) is larger than the limit of 50 bytes/);
  });
});

describe('scan progress and resume', () => {
  const rows = ['id,name,note'];
  for (let i = 0; i < 400; i++) rows.push(`${i},nåme ${i},${i % 7 === 0 ? `"multi\nline, ${i}"` : 'plain'}`);
  const csv = Buffer.from('\ufeff' + rows.join('\r\n') + '\r\n');
  const lines: string[] = [];
  for (let i = 0; i < 400; i++) lines.push(JSON.stringify(i < 300 ? { id: i, s: `é${i}` } : { id: i, s: null, late: i % 2 ? 1.5 : 2 }));
  const jsonl = Buffer.from(lines.join('\n'));

  for (const [format, buf] of [['csv', csv], ['jsonl', jsonl]] as const) {
    it(`${format}: reports progress, and a scan resumed from a mid-file checkpoint gives exactly the chunks of a full scan`, async () => {
      const progress: { bytes: number; records: number; chunks: number; checkpoint?: ScanCheckpoint }[] = [];
      const full = await scanFlatFile('mem://f', format, stream(buf, 100), 9, 'rec', { onProgress: (p) => progress.push(p), progressBytes: 1000 });
      expect(full.chunks.length).toBeGreaterThan(20);
      expect(progress.length).toBeGreaterThanOrEqual(Math.floor(buf.length / 1100));
      for (let i = 1; i < progress.length; i++) expect(progress[i].bytes).toBeGreaterThan(progress[i - 1].bytes);
      const cps = progress.map((p) => p.checkpoint).filter((c): c is ScanCheckpoint => c !== undefined);
      // Checkpoints travel in heartbeat details: JSON only.
      const mid = JSON.parse(JSON.stringify(cps[Math.floor(cps.length / 2)])) as ScanCheckpoint;
      expect(mid.offset).toBeGreaterThan(buf.length / 4);
      expect(mid.offset).toBeLessThan((buf.length * 3) / 4);
      expect(mid.offset).toBe(mid.chunks[mid.chunks.length - 1].end);
      const resumed = await scanFlatFile('mem://f', format, stream(buf.subarray(mid.offset), 13), 9, 'rec', { resume: mid });
      expect(resumed).toEqual(full);
      // Every checkpoint resumes to the same result.
      for (const cp of cps) expect(await scanFlatFile('mem://f', format, stream(buf.subarray(cp.offset), 50), 9, 'rec', { resume: cp })).toEqual(full);
    });
  }

  it('refuses a checkpoint of another format or chunk size', async () => {
    const cp: ScanCheckpoint = { v: 1, format: 'csv', perChunk: 9, offset: 0, records: 0, chunks: [], oversized: 0, header: '' };
    await expect(scanFlatFile('mem://f', 'csv', stream(csv), 10, 'rec', { resume: cp })).rejects.toThrow(/checkpoint is for csv, 9 records per chunk/);
  });
});

describe('integers beyond 2^53', () => {
  it('keep their exact value from JSON Lines into the raw Avro, and are inferred as long', async () => {
    const text = [
      '{"id": 9007199254740993, "n": 1, "f": 0.1234567890123456789, "tag": "12345678901234567890"}',
      '{"id": -9223372036854775808, "n": 2, "f": 2, "tag": "x"}',
      '{"id": 3, "n": 18446744073709551616, "f": 1.5, "tag": null}',
    ].join('\n');
    const buf = Buffer.from(text);
    const scan = await scanFlatFile('mem://f', 'jsonl', stream(buf), 10, 'rec');
    // Beyond Avro's long, n is kept exactly as JSON text.
    expect(Object.fromEntries(scan.fields.map((f) => [f.name, f.type]))).toEqual({ id: 'long', n: 'json', f: 'double', tag: 'string' });
    const recs = await all('jsonl', buf, scan.chunks[0], scan.fields);
    expect(recs.every((r) => r.ok)).toBe(true);
    const values = recs.map((r) => (r as { value: Record<string, unknown> }).value);
    expect(values.map((v) => v.id)).toEqual([9007199254740993n, -9223372036854775808n, 3]);
    expect(values.map((v) => v.n)).toEqual(['1', '2', '18446744073709551616']);
    expect(values[0].tag).toBe('12345678901234567890');

    const type = Type.forSchema(scan.schema as never);
    const enc = new ContainerEncoder(type, JSON.stringify(scan.schema), { codec: 'null', sync: syncMarkerFor('bigints') });
    const file = Buffer.concat([enc.header(), ...values.map((v) => enc.add(v) ?? Buffer.alloc(0)), enc.flush() ?? Buffer.alloc(0)]);
    const back = (await decodeAll(file)) as Record<string, unknown>[];
    expect(back.map((r) => r.id)).toEqual([9007199254740993n, -9223372036854775808n, 3]);
    expect(back[2].n).toBe('18446744073709551616');
  });

  it('JSON arrays too; ordinary numbers still parse as numbers', async () => {
    const buf = Buffer.from('[{"a": 9223372036854775807, "b": 1e300}, {"a": 1, "b": 2}]');
    const scan = await scanFlatFile('mem://f', 'json', stream(buf), 10, 'rec');
    expect(scan.fields.map((f) => f.type)).toEqual(['long', 'double']);
    const recs = await all('json', buf, scan.chunks[0], scan.fields);
    expect(recs.map((r) => (r as { value: unknown }).value)).toEqual([{ a: 9223372036854775807n, b: 1e300 }, { a: 1, b: 2 }]);
  });
});

describe('gzip sources', () => {
  const text = Buffer.from('h1,h2\n' + Array.from({ length: 5000 }, (_, i) => `${i},"v ${i}"`).join('\n') + '\n');
  const gz = gzipSync(text);

  it('decompress as they stream, giving the decompressed bytes [start, end)', async () => {
    for (const [start, end] of [[0, undefined], [0, 6], [1000, 2000], [text.length - 5, undefined], [text.length, undefined]] as const) {
      const out: Buffer[] = [];
      for await (const c of gunzipRange('s3://b/x.csv.gz', stream(gz, 1000), start, end)) out.push(c as Buffer);
      expect(Buffer.concat(out).equals(text.subarray(start, end))).toBe(true);
    }
  });

  it('plan the same chunks as the plain file', async () => {
    const plain = await scanFlatFile('mem://f', 'csv', stream(text, 999), 700, 'rec');
    const fromGz = await scanFlatFile('mem://f', 'csv', gunzipRange('s3://b/x.csv.gz', stream(gz, 999), 0), 700, 'rec');
    expect(fromGz).toEqual(plain);
  });

  it('a corrupt gzip stream fails naming the object', async () => {
    const bad = Buffer.from(gz);
    bad[bad.length >> 1] ^= 0xff;
    bad[(bad.length >> 1) + 1] ^= 0xff;
    const read = async () => {
      for await (const _ of gunzipRange('s3://b/x.csv.gz', stream(bad, 100), 0)) void _;
    };
    await expect(read()).rejects.toThrow(FlatFileError);
    await expect(read()).rejects.toThrow(/^s3:\/\/b\/x\.csv\.gz: not a valid gzip stream after \d+ decompressed bytes: /);
    await expect(scanFlatFile('s3://b/t.csv.gz', 'csv', gunzipRange('s3://b/t.csv.gz', stream(gz.subarray(0, gz.length - 100)), 0), 10, 'rec'))
      .rejects.toThrow(/^s3:\/\/b\/t\.csv\.gz: not a valid gzip stream after \d+ decompressed bytes: unexpected end of file/);
  });
});
