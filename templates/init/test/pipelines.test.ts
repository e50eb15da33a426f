import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runStage } from 'partflow/testing';
import { clean, pipelines } from '../pipelines';

test('clean converts amounts to cents, drops orders without a customer and rejects bad amounts', async () => {
  const res = await runStage(pipelines[0], clean, [
    { id: 1, customer: ' ada ', amount: '12.50' },
    { id: 2, customer: '', amount: 3 },
    { id: 3, customer: 'bob', amount: 'n/a' },
  ]);
  assert.deepEqual(res.output, [{ id: 1, customer: 'ada', amount_cents: 1250 }]);
  assert.deepEqual(res.counts, { in: 3, out: 1, rejected: 1, dropped: 1 });
  assert.equal(res.rejects[0].index, 2);
  assert.match(res.rejects[0].reason, /amount "n\/a" is not a number/);
});
