import { Type } from 'avsc';
import fs from 'node:fs';
import path from 'node:path';
import { AvroFormatError, ContainerReader } from '../../src/avro/container-reader';
import { canonicalForm, crc64Avro } from '../../src/avro/fingerprint';
import { chunked, decodeAll, encodeFile } from '../helpers/avro';

// The Apache Avro project's own test files (Apache License 2.0), kept in ../shared/; see its README.
const ROOT = path.resolve(__dirname, '../../../shared/testdata/apache-avro');
const file = (p: string) => fs.readFileSync(path.join(ROOT, p));

describe('valid files from other implementations are read completely', () => {
  it.each([
    ['share/test/data/weather.avro', 5, 'null'],
    ['share/test/data/weather-deflate.avro', 5, 'deflate'],
    ['share/test/data/weather-snappy.avro', 5, 'snappy'],
    ['share/test/data/weather-zstd.avro', 5, 'zstandard'],
    ['share/test/data/weather-sorted.avro', 5, 'deflate'],
    ['share/test/data/syncInMeta.avro', 6001, 'deflate'],
    ['share/test/data/schemas/simple/data.avro', 3, 'null'],
    ['share/test/data/schemas/withUnion/data.avro', 3, 'null'],
    ['share/test/interop/rpc/add/onePlusOne/request.avro', 1, 'null'],
    ['share/test/interop/rpc/add/onePlusOne/response.avro', 1, 'null'],
    ['share/test/interop/rpc/echo/foo/request.avro', 1, 'null'],
    ['share/test/interop/rpc/echo/foo/response.avro', 1, 'null'],
    ['share/test/interop/rpc/hello/world/request.avro', 1, 'null'],
    ['share/test/interop/rpc/hello/world/response.avro', 1, 'null'],
    ['lang/c/tests/avro-1237-good.avro', 2, 'null'],
    ['lang/c/tests/avro-1238-good.avro', 2, 'null'],
    ['lang/c/tests/avro-1279-codec.avro', 3, 'null'],
    ['lang/c/tests/avro-1279-no-codec.avro', 3, 'null'],
    ['lang/java/mapred/src/test/resources/org/apache/avro/mapreduce/mapreduce-test-input.avro/part-r-00000.avro', 3, 'null'],
    ['lang/js/test/dat/person-10.avro', 10, 'null'],
    ['lang/js/test/dat/person-10.no-codec.avro', 10, 'null'],
  ])('%s: %d records (%s)', async (p, n, codec) => {
    const reader = await ContainerReader.open(chunked(file(p)), { name: p });
    expect(reader.header.codec).toBe(codec);
    const records = [];
    for await (const { record } of reader.records()) records.push(record);
    expect(records).toHaveLength(n);
  });

  it('decodes the weather files to the records in weather.json, in every codec', async () => {
    const expected = file('share/test/data/weather.json').toString().trim().split('\n').map((l) => JSON.parse(l));
    for (const f of ['weather.avro', 'weather-deflate.avro', 'weather-snappy.avro', 'weather-zstd.avro']) {
      expect(await decodeAll(file(`share/test/data/${f}`))).toEqual(expected);
    }
  });

  it('reads union values, including null first (avro-1237)', async () => {
    expect(await decodeAll(file('lang/c/tests/avro-1237-good.avro'))).toEqual([null, 100]);
  });

  it('reads longs of ±2^63 without loss and writes them back losslessly', async () => {
    const records = (await decodeAll(file('lang/c/tests/avro-1279-codec.avro'))) as Record<string, unknown>[];
    const longs = records.map((r) => Object.values(r).find((v) => typeof v === 'bigint'));
    expect(longs.slice(1)).toEqual([-(2n ** 63n), 2n ** 63n - 1n]);
    const reader = await ContainerReader.open(chunked(file('lang/c/tests/avro-1279-codec.avro')), { name: 'x' });
    const again = await decodeAll(encodeFile(reader.header.writerType, records));
    expect(again).toEqual(records);
  });

  it('notes the one trailing byte of person-10.no-codec.avro instead of failing', async () => {
    const reader = await ContainerReader.open(chunked(file('lang/js/test/dat/person-10.no-codec.avro')), { name: 'x' });
    for await (const _ of reader.records()) void _;
    expect(reader.trailingBytes).toBe(1);
  });
});

describe('corrupt, truncated and old-format files fail with a clear error', () => {
  it.each([
    ['lang/c/tests/avro-1237-bad-union-discriminant.avro', /record 1 of block: invalid union index: 2/],
    ['lang/c/tests/avro-1238-truncated.avro', /file is truncated: block sync marker needs 16 bytes, only 9 left/],
    ['share/test/data/test.avro12', /old Avro 1\.2 container format/],
  ])('%s', async (p, msg) => {
    const err = await decodeAll(file(p), { name: p }).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(AvroFormatError);
    expect(err!.message).toMatch(msg);
    expect(err!.message.startsWith(`${p}: `)).toBe(true);
  });
});

describe('schema fingerprints (share/test/data/schema-tests.txt)', () => {
  // The file is a list of <<INPUT / <<canonical / <<fingerprint entries; long values use heredocs.
  const lines = file('share/test/data/schema-tests.txt').toString().split('\n');
  const cases: { input: string; canonical: string; fingerprint?: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^<<(INPUT|canonical|fingerprint)(?: (.*))?$/.exec(lines[i]);
    if (!m) continue;
    let value = m[2];
    if (value === undefined) {
      const body: string[] = [];
      while (lines[++i] !== m[1]) body.push(lines[i]);
      value = body.join('\n');
    }
    if (m[1] === 'INPUT') cases.push({ input: value, canonical: '' });
    else if (m[1] === 'canonical') cases[cases.length - 1].canonical = value;
    else cases[cases.length - 1].fingerprint = value;
  }

  it('has the 34 cases the README describes', () => {
    expect(cases).toHaveLength(34);
  });

  it('computes every CRC-64-AVRO fingerprint from the canonical form', () => {
    const withFp = cases.filter((c) => c.fingerprint);
    expect(withFp.length).toBeGreaterThan(15);
    for (const c of withFp) expect(BigInt.asIntN(64, crc64Avro(c.canonical)).toString()).toBe(c.fingerprint);
  });

  it('produces the Parsing Canonical Form of every schema avsc accepts', () => {
    let checked = 0;
    for (const c of cases) {
      let type: Type;
      try {
        type = Type.forSchema(JSON.parse(c.input));
      } catch (err) {
        // Only the empty union, which can hold no value, is refused.
        expect(c.input.replace(/\s/g, '')).toBe('[]');
        continue;
      }
      expect(canonicalForm(type)).toBe(c.canonical);
      checked++;
    }
    expect(checked).toBe(33);
  });
});
