import { ListedObject, partitionListing, SourcePartition, splitRanges } from '../../src/pipeline/partitioning';
import { partitionFileOf, partitionKeys } from '../../src/pipeline/layout';
import { importVersion, sourceVersion } from '../../src/pipeline/versions';
import { scanFlatFile } from '../../src/formats/flat';
import { Readable } from 'node:stream';

/** A deterministic pseudo-random listing: merchant feeds of skewed sizes. */
function listing(n: number, seed = 7): ListedObject[] {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, (_, i) => {
    const size = Math.floor(200 * Math.exp(rnd() * 9)); // 200 B .. ~1.6 MB, skewed small
    return { key: `feeds/m-${String(i * 10).padStart(6, '0')}.avro`, size, etag: `"e${i}"` };
  });
}

const MiB = 1024 * 1024;
const opts = { format: 'avro' as const, partitionBytes: 4 * MiB, prefix: 'feeds/' };
const sig = (p: SourcePartition) => `${p.id}:${p.pieces.map((x) => `${x.key}@${x.range ?? ''}`).join(',')}`;

function changedBetween(a: SourcePartition[], b: SourcePartition[]): { added: SourcePartition[]; removed: SourcePartition[] } {
  const sa = new Set(a.map(sig));
  const sb = new Set(b.map(sig));
  return { added: b.filter((p) => !sa.has(sig(p))), removed: a.filter((p) => !sb.has(sig(p))) };
}

describe('partitioning a listing', () => {
  const objects = listing(2000);
  const parts = partitionListing(objects, opts);

  test('packs small objects into far fewer partitions, never over partitionBytes, losing no object', () => {
    expect(parts.length).toBeLessThan(objects.length / 5);
    const keys = parts.flatMap((p) => p.pieces.map((x) => x.key));
    expect(keys).toEqual(objects.map((o) => o.key).sort());
    for (const p of parts) {
      const bytes = p.pieces.reduce((n, x) => n + x.size, 0);
      if (p.pieces.length > 1) expect(bytes).toBeLessThanOrEqual(opts.partitionBytes);
    }
    expect(new Set(parts.map((p) => p.id)).size).toBe(parts.length);
  });

  test('is a pure function of the listing: order of the listing does not matter', () => {
    expect(partitionListing([...objects].reverse(), opts)).toEqual(parts);
  });

  test('inserting an object in the middle changes only the partition that takes it', () => {
    const extra = { key: 'feeds/m-010005.avro', size: 5000, etag: '"new"' };
    const after = partitionListing([...objects, extra], opts);
    const { added, removed } = changedBetween(parts, after);
    expect(added.some((p) => p.pieces.some((x) => x.key === extra.key))).toBe(true);
    // The pack that held the neighbours, and at most the one that a key boundary on the new key splits off.
    expect(removed.length).toBeLessThanOrEqual(1);
    expect(added.length).toBeLessThanOrEqual(2);
    for (const p of added) expect(p.pieces.some((x) => x.key === extra.key) || removed.some((r) => r.pieces.some((x) => p.pieces.map((y) => y.key).includes(x.key)))).toBe(true);
  });

  test('removing an object changes only the partition that held it', () => {
    const gone = objects[1000];
    const after = partitionListing(objects.filter((o) => o !== gone), opts);
    const { added, removed } = changedBetween(parts, after);
    expect(removed.length).toBeLessThanOrEqual(2);
    expect(removed.some((p) => p.pieces.some((x) => x.key === gone.key))).toBe(true);
    expect(added.length).toBeLessThanOrEqual(1);
  });

  test('changing an object keeps every id; only the raw version of its partition changes', () => {
    const changed = objects.map((o, i) => (i === 777 ? { ...o, etag: '"changed"' } : o));
    const after = partitionListing(changed, opts);
    expect(after.map((p) => p.id)).toEqual(parts.map((p) => p.id));
    const diffs = after.filter((p, i) => sourceVersion(p.pieces, null) !== sourceVersion(parts[i].pieces, null));
    expect(diffs.map((p) => p.pieces.some((x) => x.key === objects[777].key))).toEqual([true]);
  });

  test('names are readable: first key and how many more', () => {
    const packed = parts.find((p) => p.pieces.length > 1)!;
    expect(packed.name).toBe(`${packed.pieces[0].key.slice('feeds/'.length)}+${packed.pieces.length - 1}`);
    expect(packed.id).toMatch(/^p-[0-9a-f]{12}$/);
  });
});

describe('splitting big objects', () => {
  test('an Avro object over partitionBytes becomes contiguous byte ranges, each its own partition', () => {
    const big = { key: 'big/feed.avro', size: 10 * MiB + 3, etag: '"b"' };
    const parts = partitionListing([{ key: 'big/a.avro', size: 100, etag: '"a"' }, big], { ...opts, prefix: 'big/' });
    const pieces = parts.filter((p) => p.pieces[0].key === big.key).map((p) => p.pieces);
    expect(pieces.length).toBe(3);
    expect(pieces.map((p) => p.length)).toEqual([1, 1, 1]);
    expect(pieces[0][0].range![0]).toBe(0);
    expect(pieces[2][0].range![1]).toBe(big.size);
    for (let i = 1; i < 3; i++) expect(pieces[i][0].range![0]).toBe(pieces[i - 1][0].range![1]);
    expect(parts.filter((p) => p.pieces[0].key === big.key).map((p) => p.name)).toEqual(['feed.avro#1/3', 'feed.avro#2/3', 'feed.avro#3/3']);
    expect(splitRanges(10, 100)).toEqual([[0, 10]]);
  });

  test('flat files are cut by their scan, and small ones are packed only with files of the same raw schema', () => {
    const files = [
      { key: 'in/a.csv', size: 100, etag: '"a"' }, { key: 'in/b.csv', size: 100, etag: '"b"' },
      { key: 'in/c.csv', size: 100, etag: '"c"' }, { key: 'in/d.csv', size: 9000, etag: '"d"' },
    ];
    const scans = new Map([
      ['in/a.csv', { schema: 0, chunks: [{ start: 10, end: -1, records: 3 }], headerEnd: 10 }],
      ['in/b.csv', { schema: 0, chunks: [{ start: 10, end: -1, records: 3 }], headerEnd: 10 }],
      ['in/c.csv', { schema: 1, chunks: [{ start: 12, end: -1, records: 3 }], headerEnd: 12 }],
      ['in/d.csv', { schema: 0, chunks: [{ start: 10, end: 5000, records: 50 }, { start: 5000, end: -1, records: 40 }], headerEnd: 10 }],
    ]);
    const parts = partitionListing(files, { format: 'csv', partitionBytes: 1 * MiB, prefix: 'in/', scans });
    const byFirst = new Map(parts.map((p) => [p.name, p]));
    expect([...byFirst.keys()].filter((n) => n.startsWith('d.csv'))).toEqual(['d.csv#1/2', 'd.csv#2/2']);
    const withA = parts.find((p) => p.pieces.some((x) => x.key === 'in/a.csv'))!;
    expect(withA.pieces.some((x) => x.key === 'in/c.csv')).toBe(false);
    expect(withA.schema).toBe(0);
    expect(parts.find((p) => p.pieces.some((x) => x.key === 'in/c.csv'))!.schema).toBe(1);
    expect(byFirst.get('d.csv#2/2')!.pieces[0]).toMatchObject({ range: [5000, -1], records: 40, headerEnd: 10, chunk: [1, 2] });
  });
});

describe('chunk identity when rows are appended', () => {
  const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${from + i},row ${from + i}\n`).join('');
  /** Plans a CSV the way planIngest does: scan, partition, raw version per partition. */
  async function planCsv(body: string, etag: string) {
    const scan = await scanFlatFile('mem://log.csv', 'csv', Readable.from([Buffer.from(body)]), 10, 'log');
    const obj = { key: 'logs/log.csv', size: Buffer.byteLength(body), etag };
    const parts = partitionListing([obj], { format: 'csv', partitionBytes: MiB, prefix: 'logs/', scans: new Map([[obj.key, { schema: 0, chunks: scan.chunks, headerEnd: scan.headerEnd }]]) });
    return parts.map((p) => ({ id: p.id, name: p.name, raw: importVersion(p.pieces, 'csv', JSON.stringify(scan.schema)) }));
  }

  test('chunks keep their ids and raw versions: only the last one changes, and new ones are added', async () => {
    const before = await planCsv(`id,name\n${rows(0, 25)}`, '"v1"');
    const after = await planCsv(`id,name\n${rows(0, 37)}`, '"v2"');
    expect(before.map((p) => p.name)).toEqual(['log.csv#1/3', 'log.csv#2/3', 'log.csv#3/3']);
    expect(after.map((p) => p.name)).toEqual(['log.csv#1/4', 'log.csv#2/4', 'log.csv#3/4', 'log.csv#4/4']);
    expect(after.slice(0, 3).map((p) => p.id)).toEqual(before.map((p) => p.id));
    // The chunks' bytes decide their raw versions, not the object's ETag: the first two are reused.
    expect(after.slice(0, 2).map((p) => p.raw)).toEqual(before.slice(0, 2).map((p) => p.raw));
    expect(after[2].raw).not.toBe(before[2].raw);
    expect(new Set(after.map((p) => p.id)).size).toBe(4);
  });

  test('a file that grows past one chunk keeps its id for its first chunk; a whole object is versioned by its ETag', async () => {
    const one = await planCsv(`id,name\n${rows(0, 8)}`, '"v1"');
    const same = await planCsv(`id,name\n${rows(0, 8)}`, '"v2"');
    const two = await planCsv(`id,name\n${rows(0, 12)}`, '"v3"');
    expect(one.map((p) => p.name)).toEqual(['log.csv']);
    expect(two[0].id).toBe(one[0].id);
    expect(same[0].raw).not.toBe(one[0].raw);
  });

  test('the pieces of a split Avro object keep their ids by index as it grows, and change version (their ranges move)', () => {
    const o = { key: 'big/feed.avro', size: 10 * MiB + 3, etag: '"b"' };
    const a = partitionListing([o], { ...opts, prefix: 'big/' });
    const b = partitionListing([{ ...o, size: 13 * MiB, etag: '"c"' }], { ...opts, prefix: 'big/' });
    expect(b.length).toBe(a.length + 1);
    expect(b.slice(0, a.length).map((p) => p.id)).toEqual(a.map((p) => p.id));
    for (let i = 0; i < a.length; i++) expect(sourceVersion(b[i].pieces, null)).not.toBe(sourceVersion(a[i].pieces, null));
    // Chunk 0 is the object's beginning: the id of the object read whole.
    expect(a[0].id).toBe(partitionListing([{ ...o, size: 100 }], { ...opts, prefix: 'big/' })[0].id);
  });
});

describe('splitBytes', () => {
  test('objects between partitionBytes and splitBytes stand alone; only bigger ones are split', () => {
    const MiB2 = 1024 * 1024;
    const objects = [
      { key: 's/a.avro', size: 100, etag: '"a"' },
      { key: 's/b.avro', size: 3 * MiB2, etag: '"b"' },
      { key: 's/c.avro', size: 20 * MiB2, etag: '"c"' },
    ];
    const parts = partitionListing(objects, { format: 'avro', partitionBytes: MiB2, splitBytes: 8 * MiB2, prefix: 's/' });
    expect(parts.map((p) => p.name)).toEqual(['a.avro', 'b.avro', 'c.avro#1/3', 'c.avro#2/3', 'c.avro#3/3']);
    expect(parts[1].pieces[0].range).toBeUndefined();
  });

  test('a splitBytes below partitionBytes still splits the objects over it, and packs only the rest', () => {
    const objects = [
      { key: 's/a.avro', size: 100, etag: '"a"' },
      { key: 's/b.avro', size: 200, etag: '"b"' },
      { key: 's/c.avro', size: 22_609, etag: '"c"' },
    ];
    const parts = partitionListing(objects, { format: 'avro', partitionBytes: 256 * 1024, splitBytes: 8 * 1024, prefix: 's/' });
    expect(parts.map((p) => p.name)).toEqual(['a.avro+1', 'c.avro#1/3', 'c.avro#2/3', 'c.avro#3/3']);
  });
});

describe('split Avro pieces with block walks', () => {
  const o = { key: 's/c.avro', size: 22_609, etag: '"c"' };
  const split = { format: 'avro' as const, partitionBytes: 256 * 1024, splitBytes: 8 * 1024, prefix: 's/' };
  const ranges = splitRanges(o.size, 8 * 1024);
  const walk = (resynced: boolean[]) => new Map([[o.key, { blocks: ranges.map(([s], k): [number, number] => [s + 7, k + 1 < ranges.length ? ranges[k + 1][0] + 7 : o.size]), resynced }]]);

  test('keep the ids, names and versions of the plans made before the walk; the walk rides along in the pieces', () => {
    const before = partitionListing([o], split);
    const after = partitionListing([o], { ...split, walks: walk([false, false, false]) });
    expect(after.map((p) => [p.id, p.name])).toEqual(before.map((p) => [p.id, p.name]));
    expect(after.map((p) => sourceVersion(p.pieces, null))).toEqual(before.map((p) => sourceVersion(p.pieces, null)));
    expect(after.map((p) => p.pieces[0].blocks)).toEqual([[7, ranges[1][0] + 7], [ranges[1][0] + 7, ranges[2][0] + 7], [ranges[2][0] + 7, o.size]]);
    expect(after.map((p) => p.pieces[0].range)).toEqual(before.map((p) => p.pieces[0].range));
  });

  test('a piece the old sync search misread keeps its id but gets a new version, so its output is computed again', () => {
    const before = partitionListing([o], split);
    const after = partitionListing([o], { ...split, walks: walk([false, true, false]) });
    expect(after.map((p) => p.id)).toEqual(before.map((p) => p.id));
    const versions = (ps: SourcePartition[]) => ps.map((p) => sourceVersion(p.pieces, null));
    expect(versions(after)[0]).toBe(versions(before)[0]);
    expect(versions(after)[1]).not.toBe(versions(before)[1]);
    expect(versions(after)[2]).toBe(versions(before)[2]);
  });

  test('a split object without its walk is refused when walks are given', () => {
    expect(() => partitionListing([o], { ...split, walks: new Map() })).toThrow('no block walk of 3 pieces for split Avro object s/c.avro');
  });
});

describe('the output layout', () => {
  test('tells a partition output from its rejects and manifest, with the stem they share', () => {
    const keys = partitionKeys('out/', 'offers', 'map', 'p-3fa9c1d20b7e', '2024.1-0123456789abcdef');
    expect(partitionFileOf(keys.output)).toEqual({ kind: 'output', stem: keys.output.slice(0, -'.avro'.length) });
    expect(partitionFileOf(keys.rejects)).toEqual({ kind: 'rejects', stem: keys.output.slice(0, -'.avro'.length) });
    expect(partitionFileOf(`s3://b/${keys.manifest}`)?.kind).toBe('manifest');
    expect(partitionFileOf('out/offers/_plans/abc.json')).toBeNull();
    expect(partitionFileOf('feeds/m-0001.avro')).toBeNull();
  });
});
