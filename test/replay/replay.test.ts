import { Worker, ReplayResult } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import path from 'node:path';
import { WORKFLOWS_PATH, installRuntime } from '../../src/worker/worker';
import { recordedHistories } from './load';

/**
 * The workflow code must replay every history recorded from a released version: a change that
 * would break running ingests fails here. Refresh the histories at each release with
 * `npm run record-histories` (see README, "Deploying workflow changes").
 */
async function replayAll(workflowsPath: string): Promise<ReplayResult[]> {
  installRuntime();
  const results: ReplayResult[] = [];
  for await (const r of Worker.runReplayHistories({ workflowsPath, replayName: path.basename(workflowsPath) }, recordedHistories())) results.push(r);
  return results;
}

const histories = recordedHistories();

describe('replaying recorded histories', () => {
  it('has the small, large (child batches, then windows), retry, partial, failed (at planning) and cancelled (while an activity ran) histories of each release', () => {
    expect(histories.map((h) => h.file)).toEqual(expect.arrayContaining([
      // The first release's (child batches), and the windowed workflow's with its patches.
      ...['small', 'large', 'large+batch-00000', 'retry', 'partial', 'failed', 'cancelled'].map((n) => `v0.1-batches/${n}.json`),
      ...['small', 'large', 'large+w-000001', 'retry', 'partial', 'failed', 'cancelled'].map((n) => `${n}.json`),
    ]));
  });

  it('the current workflows replay every one without nondeterminism', async () => {
    const results = await replayAll(WORKFLOWS_PATH);
    expect(results.map((r) => [r.workflowId, r.error?.message])).toEqual(histories.map((h) => [h.workflowId, undefined]));
  });

  it('an unpatched new activity call is caught as a DeterminismViolationError', async () => {
    const results = await replayAll(require.resolve('./fixtures/unpatched-step'));
    // Children (a first release's batches, windows) are other workflow types, which the change leaves alone.
    const ingests = results.filter((r) => !/\/(batch-|w-)/.test(r.workflowId));
    expect(ingests.length).toBeGreaterThan(0);
    for (const r of ingests) {
      expect(r.error).toBeInstanceOf(DeterminismViolationError);
      expect(r.error?.message).toMatch(/nondetermin/i);
    }
  });

  it('the same step behind patched() replays cleanly', async () => {
    const results = await replayAll(require.resolve('./fixtures/patched-step'));
    expect(results.map((r) => [r.workflowId, r.error?.message])).toEqual(histories.map((h) => [h.workflowId, undefined]));
  });
});
