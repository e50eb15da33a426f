/**
 * The compare benchmark's data and its transform. The same bytes go to local files (raw loop,
 * Spark) and to versitygw (partflow); the transform's rules are written three times (here, as
 * Spark SQL built-ins and as a Python UDF in spark_job.py) and the runs check they agree on counts.
 */
import { Type } from 'avsc';
import { ContainerEncoder, syncMarkerFor } from '../../src/avro/container';

/** A merchant feed as exported: every field a string, padded, some values bad. */
export const RAW_OFFER = Type.forSchema({
  type: 'record', name: 'RawOffer', namespace: 'bench', fields: [
    { name: 'id', type: 'string' }, { name: 'merchant', type: 'string' }, { name: 'title', type: 'string' },
    { name: 'price', type: 'string' }, { name: 'currency', type: 'string' }, { name: 'listed', type: 'string' },
  ],
} as never);

const pad2 = (n: number) => String(n).padStart(2, '0');

/** Raw offer i of a merchant: 1 in 97 has a blank title (dropped), 1 in 53 a bad price and 1 in 71 an impossible date (rejected). */
export function rawOffer(merchant: number, i: number): Record<string, string> {
  return {
    id: ` ${merchant * 1_000_000 + i} `,
    merchant: `m-${merchant}`,
    title: i % 97 === 0 ? '   ' : `  Offer ${i} of merchant ${merchant} `,
    price: i % 53 === 0 ? 'n/a' : ` ${((i * 37) % 10_000) / 100} `,
    currency: ' eur ',
    listed: i % 71 === 0 ? '2024-02-30' : `2024-${pad2((i % 12) + 1)}-${pad2((i % 28) + 1)}`,
  };
}

/** What rawOffer's rules give for n records: out, rejected (bad price or date) and dropped (blank title). */
export function expectedCounts(n: number): { out: number; rejected: number; dropped: number } {
  let out = 0, rejected = 0, dropped = 0;
  for (let i = 0; i < n; i++) {
    if (i % 97 === 0) dropped++;
    else if (i % 53 === 0 || i % 71 === 0) rejected++;
    else out++;
  }
  return { out, rejected, dropped };
}

export function rawFeed(merchant: number, n: number): Buffer {
  const enc = new ContainerEncoder(RAW_OFFER, JSON.stringify(RAW_OFFER.schema()), { codec: 'zstandard', sync: syncMarkerFor(`raw-feed-${merchant}`) });
  const parts = [enc.header()];
  for (let i = 0; i < n; i++) parts.push(enc.add(rawOffer(merchant, i)) ?? Buffer.alloc(0));
  parts.push(enc.flush() ?? Buffer.alloc(0));
  return Buffer.concat(parts);
}

export class BadRecord extends Error {}

const NUMBER = /^-?\d+(\.\d+)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Trims and types a raw offer. Returns null to drop it (blank title: nothing to list), throws
 * BadRecord to reject it (a price that is not a decimal number, a listing date that is not a real
 * yyyy-mm-dd calendar date). The Spark versions implement the same rules, in the same order.
 */
export function cleanOffer(r: Record<string, string | null>) {
  const title = (r.title ?? '').trim();
  if (title === '') return null;
  const id = (r.id ?? '').trim();
  if (!/^\d{1,15}$/.test(id)) throw new BadRecord(`id ${JSON.stringify(r.id)} is not a whole number`);
  const price = (r.price ?? '').trim();
  if (!NUMBER.test(price)) throw new BadRecord(`price ${JSON.stringify(r.price)} is not a number`);
  const listed = (r.listed ?? '').trim();
  const m = DATE.exec(listed);
  const t = m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) : NaN;
  const back = new Date(t);
  if (!m || back.getUTCFullYear() !== +m[1] || back.getUTCMonth() !== +m[2] - 1 || back.getUTCDate() !== +m[3]) {
    throw new BadRecord(`listed ${JSON.stringify(r.listed)} is not a yyyy-mm-dd date`);
  }
  return {
    id: Number(id), merchant: (r.merchant ?? '').trim(), title, price: Number(price),
    currency: (r.currency ?? '').trim().toUpperCase(), listed: t / 86_400_000,
  };
}
