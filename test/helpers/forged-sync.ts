import { Schema, Type } from 'avsc';
import { encodeHeader, syncMarkerFor } from '../../src/avro/container';

/**
 * Valid Avro files (null codec) in which a bytes value holds the file's own sync marker followed
 * by bytes that parse as a block (after the hostile reviewer's gen_split.py). Sequential readers
 * see ids 1, 2, 3, 4. A reader that starts a split at the first sync marker it finds sees an
 * extra record 666 (inject), or a record 777 that swallows the real record 3 (swallow).
 */
export const FORGED_SCHEMA = { type: 'record', name: 'R', fields: [{ name: 'id', type: 'long' }, { name: 'payload', type: 'bytes' }] };
const type = Type.forSchema(FORGED_SCHEMA as Schema);
const long = Type.forSchema('long');
export const FORGED_SYNC = syncMarkerFor('forged');

const rec = (id: number, payload: Buffer) => type.toBuffer({ id, payload });
const block = (count: number, data: Buffer) => Buffer.concat([long.toBuffer(count), long.toBuffer(data.length), data, FORGED_SYNC]);
const fill = (c: string, n = 1500) => Buffer.alloc(n, c);
const header = () => encodeHeader(JSON.stringify(FORGED_SCHEMA), 'null', FORGED_SYNC);

/** Record 2's payload holds the marker and a block of one record 666, which block 1's own sync ends. */
export function injectFile(): Buffer {
  const fake = rec(666, Buffer.from('INJECTED'));
  const x = Buffer.concat([rec(1, fill('a')), rec(2, Buffer.concat([FORGED_SYNC, long.toBuffer(1), long.toBuffer(fake.length), fake]))]);
  return Buffer.concat([header(), block(2, x), block(1, rec(3, fill('c'))), block(1, rec(4, fill('d')))]);
}

/** The forged block's one record 777 takes block 1's sync and the whole real block 2 (record 3) as its payload. */
export function swallowFile(): Buffer {
  const y = block(1, rec(3, fill('c')));
  const payloadLength = y.length; // block 1's sync, then y but for its own sync (which ends the forged block)
  const prefix = Buffer.concat([long.toBuffer(777), long.toBuffer(payloadLength)]);
  const fakeSize = prefix.length + payloadLength;
  const x = Buffer.concat([rec(1, fill('a')), rec(2, Buffer.concat([FORGED_SYNC, long.toBuffer(1), long.toBuffer(fakeSize), prefix]))]);
  return Buffer.concat([header(), block(2, x), y, block(1, rec(4, fill('d')))]);
}

/** Ids of the records, as a sequential reader sees them. */
export const FORGED_IDS = [1, 2, 3, 4];
