import { Type } from 'avsc';
import { syncMarkerFor } from '../../src/avro/container';
import { blockDecoder, ContainerReader, decodeBlock } from '../../src/avro/container-reader';
import { DecodeGuard, guardedBlocks } from '../../src/avro/decode-guard';
import { chunked, encodeFile } from '../helpers/avro';

/**
 * Blocks read through schema resolution are checked on the guard's thread with the reader schema
 * the stage reads them with: the thread must resolve them as the stage does (enum defaults,
 * aliases, added fields, promotions).
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
});
