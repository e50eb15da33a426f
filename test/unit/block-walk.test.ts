import { Type } from 'avsc';
import { walkBlocks } from '../../src/avro/block-walk';
import { AvroFormatError, ContainerReader } from '../../src/avro/container-reader';
import { splitRanges } from '../../src/pipeline/partitioning';
import { chunked, encodeFile } from '../helpers/avro';
import { FORGED_SYNC, injectFile, swallowFile } from '../helpers/forged-sync';

const type = Type.forSchema({ type: 'record', name: 'Row', fields: [{ name: 'id', type: 'long' }, { name: 'text', type: 'string' }] });
const rows = Array.from({ length: 3000 }, (_, i) => ({ id: i, text: `row ${i} ${'y'.repeat(i % 40)}` }));
const honest = encodeFile(type, rows, 'deflate', { blockBytes: 4000 });

/** Block start offsets as a sequential read finds them (and the end of the last block). */
async function blockStarts(file: Buffer): Promise<number[]> {
  const reader = await ContainerReader.open(chunked(file), { name: 'x' });
  const out = [reader.header.headerSize];
  for await (const b of reader.blocks()) out.push(b.end);
  return out;
}

describe('walking the blocks of a split Avro object', () => {
  it('starts every piece at the first block that starts in its range, whatever the chunking', async () => {
    const starts = await blockStarts(honest);
    expect(starts.length).toBeGreaterThan(10);
    const ranges = splitRanges(honest.length, 5000);
    const expected = ranges.map(([s], k) => {
      const first = k === 0 ? starts[0] : starts.find((b) => b >= s)!;
      return first;
    });
    for (const size of [1, 7, 97, 4096, honest.length]) {
      const walk = await walkBlocks(chunked(honest, size), honest.length, ranges, { name: 'honest.avro' });
      expect(walk.blocks.map((b) => b[0])).toEqual(expected);
      expect(walk.blocks.map((b) => b[1])).toEqual([...expected.slice(1), honest.length]);
      // No copy of the marker in the data: the old search starts every piece at the same block.
      expect(walk.resynced.every((r) => !r)).toBe(true);
    }
  });

  it('a piece with no block start in it is empty, and the next one starts at the block after', async () => {
    const one = encodeFile(type, rows.slice(0, 500), 'null', { blockBytes: 1_000_000 });
    const ranges = splitRanges(one.length, 2000);
    const walk = await walkBlocks(chunked(one), one.length, ranges, { name: 'one-block.avro' });
    const [headerSize] = await blockStarts(one);
    expect(walk.blocks[0]).toEqual([headerSize, one.length]);
    for (const b of walk.blocks.slice(1)) expect(b).toEqual([one.length, one.length]);
    expect(walk.resynced.every((r) => !r)).toBe(true);
  });

  it.each([['inject', injectFile()], ['swallow', swallowFile()]])('%s: finds the true block starts where a value holds the sync marker, and says the old search misread the piece', async (_, file) => {
    const starts = await blockStarts(file);
    const forged = file.indexOf(FORGED_SYNC, starts[0]);
    expect(forged).toBeLessThan(starts[1] - 16); // the copy inside block 1's data
    const ranges = splitRanges(file.length, 1024);
    for (const size of [1, 13, 97, file.length]) {
      const walk = await walkBlocks(chunked(file, size), file.length, ranges, { name: 'forged.avro' });
      for (const [k, [s]] of ranges.entries()) expect(walk.blocks[k][0]).toBe(k === 0 ? starts[0] : starts.find((b) => b >= s) ?? file.length);
      // The pieces whose old search reached the forged copy first.
      expect(walk.resynced).toEqual(ranges.map(([s], k) => k > 0 && s - 16 <= forged));
      expect(walk.resynced.some((r) => r)).toBe(true);
    }
  });

  it('a truncated object fails naming the object and the byte where the cut block starts', async () => {
    const starts = await blockStarts(honest);
    const cut = honest.subarray(0, starts[5] + 40);
    const walk = walkBlocks(chunked(cut), cut.length, splitRanges(cut.length, 5000), { name: 's3://b/cut.avro' });
    await expect(walk).rejects.toThrow(AvroFormatError);
    await expect(walkBlocks(chunked(cut), cut.length, splitRanges(cut.length, 5000), { name: 's3://b/cut.avro' }))
      .rejects.toThrow(/^s3:\/\/b\/cut\.avro: file is truncated: block of \d+ records needs \d+ bytes, only \d+ left \(at byte \d+\)$/);
  });

  it('a sync marker that does not match fails naming the byte of the marker', async () => {
    const starts = await blockStarts(honest);
    const bad = Buffer.from(honest);
    bad[starts[7] - 3] ^= 0xff;
    await expect(walkBlocks(chunked(bad), bad.length, splitRanges(bad.length, 5000), { name: 's3://b/bad.avro' }))
      .rejects.toThrow(`s3://b/bad.avro: sync marker mismatch after block (corrupt or misaligned data) (at byte ${starts[7] - 16})`);
  });

  it('a block over the size limit fails as reading would, naming the block', async () => {
    const starts = await blockStarts(honest);
    await expect(walkBlocks(chunked(honest), honest.length, splitRanges(honest.length, 5000), { name: 'x.avro', limits: { maxBlockBytes: 100 } }))
      .rejects.toThrow(new RegExp(`over the 100-byte limit \\(at byte ${starts[0]}\\)$`));
  });
});
