import type { PartitionResult, RecordCounts } from '../src/manifest/partition';

export interface StageProgress {
  total: number;
  running: number;
  done: number;
  skipped: number;
  failed: number;
  blocked: number;
  records: RecordCounts;
}

export type Progress = {
  phase: 'planning' | 'running' | 'finishing' | 'done';
  partitions: number;
  stages: Record<string, StageProgress>;
};

export interface Failure {
  stage: string;
  partition: string;
  error: string;
}

export function emptyProgress(): Progress {
  return { phase: 'running', partitions: 0, stages: {} };
}

export function emptyStage(total: number): StageProgress {
  return { total, running: 0, done: 0, skipped: 0, failed: 0, blocked: 0, records: { in: 0, out: 0, rejected: 0, dropped: 0 } };
}

/** Counters the workflow keeps as partitions finish; plain data, so queries can return it. */
export class ProgressTracker {
  readonly progress: Progress = { phase: 'planning', partitions: 0, stages: {} };
  readonly failures: Failure[] = [];

  init(partitions: number, stages: string[]): void {
    this.progress.partitions = partitions;
    for (const s of stages) this.progress.stages[s] = emptyStage(partitions);
    this.progress.phase = 'running';
  }

  started(stage: string): void {
    this.progress.stages[stage].running++;
  }

  succeeded(r: PartitionResult): void {
    const s = this.progress.stages[r.stage];
    s.running--;
    s.done++;
    if (r.status === 'skipped') s.skipped++;
    s.records.in += r.counts.in;
    s.records.out += r.counts.out;
    s.records.rejected += r.counts.rejected;
    s.records.dropped += r.counts.dropped;
  }

  failed(stage: string, partition: string, error: string): void {
    const s = this.progress.stages[stage];
    s.running--;
    s.failed++;
    this.failures.push({ stage, partition, error });
  }

  blocked(stage: string): void {
    this.progress.stages[stage].blocked++;
  }

  /** This workflow's progress plus that of running child batches (a copy, for queries). */
  combined(running: Progress[]): Progress {
    const out: Progress = JSON.parse(JSON.stringify(this.progress));
    for (const r of running) {
      for (const [name, o] of Object.entries(r.stages)) {
        const s = out.stages[name];
        if (!s) continue;
        for (const k of ['running', 'done', 'skipped', 'failed', 'blocked'] as const) s[k] += o[k];
        for (const k of ['in', 'out', 'rejected', 'dropped'] as const) s.records[k] += o.records[k];
      }
    }
    return out;
  }

  /** Adds a child workflow's final counts. */
  merge(other: Progress, failures: Failure[]): void {
    for (const [name, o] of Object.entries(other.stages)) {
      const s = this.progress.stages[name];
      for (const k of ['done', 'skipped', 'failed', 'blocked'] as const) s[k] += o[k];
      for (const k of ['in', 'out', 'rejected', 'dropped'] as const) s.records[k] += o.records[k];
    }
    this.failures.push(...failures);
  }

  describe(): string {
    const lines = Object.entries(this.progress.stages).map(([n, s]) =>
      `${n}: ${s.done}/${s.total} done, ${s.running} running, ${s.failed} failed; records in ${s.records.in}, out ${s.records.out}, rejected ${s.records.rejected}`);
    return [`**${this.progress.phase}** — ${this.progress.partitions} partitions`, ...lines].join('\n');
  }
}
