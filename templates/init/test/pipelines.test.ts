import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { rawRecords, runStage } from 'partflow/testing';
import { clean, pipelines, RawOrder } from '../pipelines';

test('clean converts amounts to cents, drops orders without a customer and rejects bad amounts', async () => {
  // The records an ingest of data/orders.jsonl gives the stage, through the same import code.
  const raw = await rawRecords<RawOrder>(path.join(__dirname, '..', 'data', 'orders.jsonl'));
  // "amount" is a string on some lines and a number on others: each value arrives as its JSON text.
  assert.deepEqual(raw.records.map((r) => r.amount), ['"12.50"', '3', '"n/a"', '0.07']);

  const res = await runStage(pipelines[0], clean, raw.records);
  assert.deepEqual(res.output, [{ id: 1, customer: 'ada', amount_cents: 1250 }, { id: 4, customer: 'cy', amount_cents: 7 }]);
  assert.deepEqual(res.counts, { in: 4, out: 2, rejected: 1, dropped: 1 });
  assert.equal(res.rejects[0].index, 2);
  assert.match(res.rejects[0].reason, /amount "n\/a" is not a number/);
});
