import { definePipeline, defineStage } from 'partflow';

/**
 * An order as the raw stage gives it, imported from a line of data/orders.jsonl. A JSON field
 * whose values are all of one kind arrives as that kind. A field whose values are of different
 * kinds arrives as each value's JSON text: "amount" is "12.50" on one line and 3 on another, so
 * the stage gets '"12.50"' and '3'. (A CSV cell always arrives as a string.)
 */
export interface RawOrder {
  id: number | string;
  customer?: string | null;
  amount?: number | string | null;
}

/** An order as the `clean` stage writes it: see schemas/order/v1.avsc. */
export interface Order {
  id: number;
  customer: string;
  amount_cents: number;
}

/** The value a raw field holds, whether it arrives plain (12.5, "12.50") or as JSON text ('"12.50"'). */
function valueOf(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v; // plain text, not JSON: "n/a", a CSV cell
  }
}

export const clean = defineStage<RawOrder, Order>({
  name: 'clean',
  schema: 'order@1',
  // Bump when the transform changes: outputs of another version are never reused.
  version: '1',
  transform: (r) => {
    const value = valueOf(r.amount);
    const amount = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
    // A thrown error rejects the record: it lands in the partition's rejects object, with this reason.
    if (!Number.isFinite(amount)) throw new Error(`amount ${JSON.stringify(value) ?? 'missing'} is not a number`);
    const customer = (r.customer ?? '').trim();
    // Returning null drops the record (it is counted, not lost).
    if (customer === '') return null;
    return { id: Number(r.id), customer, amount_cents: Math.round(amount * 100) };
  },
});

export const pipelines = [
  definePipeline({
    name: '__PIPELINE__',
    description: 'Example pipeline: cleans orders.',
    stages: [clean],
  }),
];
