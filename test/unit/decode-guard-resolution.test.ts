import { Type } from 'avsc';
import { AvroFormatError, Block, blockDecoder, ContainerReader, decodeBlock } from '../../src/avro/container-reader';
import { DecodeGuard, DecodeGuardSchemaError, guardedBlocks } from '../../src/avro/decode-guard';
import { chunked, encodeFile } from '../helpers/avro';
import { rejection } from '../helpers/rejection';

/**
 * Blocks read through schema resolution are checked on the guard's thread with the reader schema
 * the stage reads them with: the thread must resolve them as the stage does (enum defaults,
 * aliases, added fields, promotions), and a reader schema the thread cannot resolve must fail
 * with its own cause, for that check only.
 */
const NAME = 's3://bucket/evolved.avro';
// Parsed as loadSchema parses a pipeline's `input` schema.
const reader = (schema: object) => Type.forSchema(schema as never);

const writerE = Type.forSchema({
  type: 'record', name: 'E', namespace: 'com.acme', fields: [
    { name: 'color', type: { type: 'enum', name: 'Color', namespace: 'com.acme.types', symbols: ['RED', 'GREEN', 'UNKNOWN'] } },
    { name: 'inner', type: { type: 'record', name: 'Inner', namespace: 'other.ns', fields: [{ name: 'x', type: 'int' }] } },
    { name: 'inner2', type: 'other.ns.Inner' },
    { name: 'fx', type: { type: 'fixed', name: 'F4', size: 4 } },
    { name: 'c2', type: 'com.acme.types.Color' },
  ],
} as never);
// A renamed record and field (aliases), an enum that lost GREEN (its default takes it), an int
// read as long, dropped fields and an added one with a default.
const readerE2 = reader({
  type: 'record', name: 'E2', namespace: 'com.acme', aliases: ['com.acme.E'], fields: [
    { name: 'hue', aliases: ['color'], type: { type: 'enum', name: 'Color', namespace: 'com.acme.types', symbols: ['RED', 'BLUE', 'UNKNOWN'], default: 'UNKNOWN' } },
    { name: 'inner', type: { type: 'record', name: 'Inner', namespace: 'other.ns', fields: [{ name: 'x', type: 'long' }] } },
    { name: 'added', type: 'int', default: 5 },
  ],
});
const recordsE = [
  { color: 'GREEN', inner: { x: 1 }, inner2: { x: 2 }, fx: Buffer.from('abcd'), c2: 'RED' },
  { color: 'RED', inner: { x: -3 }, inner2: { x: 4 }, fx: Buffer.from('wxyz'), c2: 'GREEN' },
];

// The outside reviewer's case: a writer enum with a symbol the reader lacks, and the reader's default.
const enumSchema = (symbols: string[], dflt?: string) => ({
  type: 'record', name: 'R', fields: [{ name: 'e', type: { type: 'enum', name: 'E', symbols, ...(dflt ? { default: dflt } : {}) } }],
});
const writerABC = Type.forSchema(enumSchema(['A', 'B', 'C']) as never);
const readerAB = reader(enumSchema(['A', 'B'], 'A'));

async function inProcess(buf: Buffer, readerType: Type): Promise<unknown[]> {
  const r = await ContainerReader.open(chunked(buf), { name: NAME });
  const out: unknown[] = [];
  for await (const { record } of r.records(readerType)) out.push(record);
  return out;
}

/** The records of every block guardedBlocks yields, decoded as the stage decodes them. */
async function throughGuard(buf: Buffer, readerType: Type, guard: DecodeGuard): Promise<unknown[]> {
  const r = await ContainerReader.open(chunked(buf), { name: NAME });
  const decoder = blockDecoder(r.header.writerType, readerType);
  const out: unknown[] = [];
  const before = guard.checked;
  for await (const b of guardedBlocks(r, readerType, Infinity, guard)) out.push(...decodeBlock(NAME, b, decoder));
  // Resolved blocks have no heap bound: each one went to the thread.
  expect(guard.checked).toBeGreaterThan(before);
  return out;
}

async function blockOf(type: Type, records: unknown[]): Promise<{ block: Block; writer: string }> {
  const r = await ContainerReader.open(chunked(encodeFile(type, records)), { name: NAME });
  for await (const block of r.blocks()) return { block, writer: r.header.schemaJson };
  throw new Error('no block');
}

describe('the decode guard with schema resolution', () => {
  const guard = new DecodeGuard({ heapMb: 64, threads: 1 });
  afterAll(() => guard.close());

  it('resolves an enum symbol the reader lacks to the reader enum\'s default, as in-process reading does', async () => {
    const buf = encodeFile(writerABC, [{ e: 'A' }, { e: 'C' }]);
    const expected = await inProcess(buf, readerAB);
    expect(JSON.parse(JSON.stringify(expected))).toEqual([{ e: 'A' }, { e: 'A' }]);
    expect(await throughGuard(buf, readerAB, guard)).toEqual(expected);
  });

  it('reads through aliases, a namespaced enum default, int to long, dropped and added fields, as in-process reading does', async () => {
    const buf = encodeFile(writerE, recordsE);
    const expected = await inProcess(buf, readerE2);
    expect(JSON.parse(JSON.stringify(expected))).toEqual([
      { hue: 'UNKNOWN', inner: { x: 1 }, added: 5 },
      { hue: 'RED', inner: { x: -3 }, added: 5 },
    ]);
    expect(await throughGuard(buf, readerE2, guard)).toEqual(expected);
  });

  it('fails a reader schema the thread cannot resolve with that cause, every time, and the next check decodes with its own schemas', async () => {
    const ints = Type.forSchema({ type: 'record', name: 'Ints', fields: [{ name: 'xs', type: { type: 'array', items: 'int' } }] } as never);
    const good = await blockOf(ints, [{ xs: [1, 2] }, { xs: [3] }]);
    const abc = await blockOf(writerABC, [{ e: 'A' }, { e: 'C' }]);
    const noDefault = JSON.stringify(enumSchema(['A', 'B']));
    const bad = { writer: abc.writer, reader: noDefault };
    const cause = `the Avro decode guard cannot read ${NAME} with its reader schema: `;

    // The thread's decoder is now the Ints one.
    await expect(guard.check(good.block, { writer: good.writer }, NAME)).resolves.toBeUndefined();
    for (let i = 0; i < 2; i++) {
      const err = await rejection(guard.check(abc.block, bad, NAME));
      expect(err).toBeInstanceOf(DecodeGuardSchemaError);
      // Not corrupt input: the stage would fail its partition as CorruptInput.
      expect(err).not.toBeInstanceOf(AvroFormatError);
      expect(err.message).toBe(`${cause}cannot read "E" as "E"`);
    }
    // The same block with a reader that resolves, then with no reader: neither uses a decoder built for other schemas.
    await expect(guard.check(abc.block, { writer: abc.writer, reader: JSON.stringify(enumSchema(['A', 'B'], 'B')) }, NAME)).resolves.toBeUndefined();
    await expect(guard.check(abc.block, { writer: abc.writer }, NAME)).resolves.toBeUndefined();
    const err = await rejection(guard.check(abc.block, bad, NAME));
    expect(err.message.startsWith(cause)).toBe(true);
    await expect(guard.check(good.block, { writer: good.writer }, NAME)).resolves.toBeUndefined();
  });
});
