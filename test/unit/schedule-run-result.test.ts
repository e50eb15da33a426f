import { runResult } from '../../src/cli/schedule-print';
import type { ScheduleRun } from '../../src/schedules';

const run = (r: Partial<ScheduleRun>): ScheduleRun => ({ workflowId: 'nightly-2026-11-24T02:00:00Z', runId: 'r', scheduledAt: '', takenAt: '', status: 'completed', ...r });

describe("a schedule's recent run, as describe shows it", () => {
  it('counts blocked partitions beside failed ones, so the numbers add up', () => {
    expect(runResult(run({ result: 'partial', computed: 18, reused: 0, failedPartitions: 1, blockedPartitions: 1, recordsOut: 900 })))
      .toBe('partial: 18 computed, 0 reused, 1 failed, 1 blocked; 900 records out');
  });

  it('says a running run waits for a retry, with its failures and what to do', () => {
    expect(runResult(run({ status: 'running', phase: 'waiting-for-retry', failedPartitions: 2 })))
      .toBe('waiting for a retry: 2 failed (partflow status nightly-2026-11-24T02:00:00Z; partflow retry or finish it)');
    expect(runResult(run({ status: 'running', phase: 'running' }))).toBe('running');
    expect(runResult(run({ status: 'running' }))).toBe('');
  });
});
