import { definePipeline, defineStage } from 'partflow';

/** An order as it arrives (for example one line of a JSON Lines file). */
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

export const clean = defineStage<RawOrder, Order>({
  name: 'clean',
  schema: 'order@1',
  // Bump when the transform changes: outputs of another version are never reused.
  version: '1',
  transform: (r) => {
    const amount = Number(r.amount);
    // A thrown error rejects the record: it lands in the partition's rejects object, with this reason.
    if (r.amount === null || r.amount === undefined || r.amount === '' || !Number.isFinite(amount)) {
      throw new Error(`amount ${JSON.stringify(r.amount)} is not a number`);
    }
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
