import { WorkflowHandle } from '@temporalio/client';
import cliProgress from 'cli-progress';
import type { IngestSummary } from '../manifest/run';
import { unreachableCause } from '../temporal/unreachable';
import { notRunCounts } from './not-run';
import { noWorkerAnswer, noWorkerPolling, queryInTime, unanswered } from './no-worker';
// Type only: the shape the workflow's `progress` query returns.
import type { Progress } from '../../workflows/state';

/** Returned by waitWithProgress when the run has failed partitions and waits for a retry. */
export interface WaitingForRetry {
  status: 'waiting-for-retry';
  workflowId: string;
  /** The first 100 failed partitions (the workflow keeps no more). */
  failed: string[];
  /** How many partitions failed, from the stages' counts. */
  total: number;
}

/** Failed partitions of every stage, from a progress answer (its `failed` list holds the first 100 only). */
export function failedTotal(p: { stages?: Progress['stages']; failed?: string[] }): number {
  return Math.max(Object.values(p.stages ?? {}).reduce((n, s) => n + s.failed, 0), p.failed?.length ?? 0);
}

const NO_WORKER_WARNING_MS = 10_000;

export interface WaitOptions {
  /** Temporal's address, for the lost-contact lines; default: the handle's connection's. */
  address?: string;
  /** Delays between tries to reach a Temporal that went away: doubling from firstMs up to maxMs. */
  retry?: { firstMs: number; maxMs: number };
  /** Whether Temporal answers again; default: describe the run, bounded by PROBE_MS. */
  probe?: () => Promise<unknown>;
  /** false: wait for the result only, drawing nothing (a run that only commits what it has, after `finish`). */
  progress?: boolean;
}

export const CONTACT_RETRY = { firstMs: 1_000, maxMs: 30_000 };
const PROBE_MS = 5_000;
const TICK_MS = 500;

type Outcome = { ok: true; value: IngestSummary } | { ok: false; err: unknown };

/** A run's progress on one line, for a wait whose output is no terminal: per stage, done of total and what ended otherwise. */
export function progressLine(p: Progress): string {
  return Object.entries(p.stages).map(([n, s]) => {
    const ended = [...(s.failed ? [`${s.failed} failed`] : []), ...notRunCounts(s)];
    return `${n} ${s.done}/${s.total}${ended.length ? ` (${ended.join(', ')})` : ''}`;
  }).join('  ');
}

/**
 * Waits for an ingest, drawing one progress bar per stage from the workflow's `progress`
 * query. Without a TTY it prints a line per change instead.
 *
 * Temporal out of reach (a restart, a network fault) is not the run failing: the run goes on in
 * Temporal, and a cron wrapper told "failed" would report it or start a second ingest. So the
 * wait says once that contact is lost, tries again with capped backoff, says when it is back,
 * and only a real answer (the run's result or failure) ends it.
 */
export async function waitWithProgress(handle: WorkflowHandle, out: NodeJS.WriteStream = process.stderr, opts: WaitOptions = {}): Promise<IngestSummary | WaitingForRetry> {
  const tty = Boolean(out.isTTY);
  const multi = tty
    ? new cliProgress.MultiBar({
      stream: out, clearOnComplete: false, hideCursor: true, autopadding: true,
      format: ' {stage} |{bar}| {value}/{total} partitions | {ended} | {records} records',
    }, cliProgress.Presets.shades_classic)
    : undefined;
  const bars = new Map<string, cliProgress.SingleBar>();
  let last = '';
  const draw = (p: Progress) => {
    for (const [stage, s] of Object.entries(p.stages)) {
      const payload = { stage: stage.padEnd(8), ended: [`${s.failed} failed`, ...notRunCounts(s)].join(', '), records: s.records.out };
      if (multi) {
        let bar = bars.get(stage);
        if (!bar) bars.set(stage, (bar = multi.create(s.total, 0, payload)));
        bar.setTotal(s.total);
        bar.update(s.done + s.failed + s.blocked, payload);
      }
    }
    if (!multi) {
      const line = progressLine(p);
      if (line !== last) out.write(`[${p.phase}] ${line}\n`);
      last = line;
    }
  };

  // The run's result, watched again after contact comes back (the first watch failed with it).
  let outcome: Outcome | undefined;
  let watching = 0;
  // Whether a watch is on: one that failed for want of contact is dropped, and started again once contact is back.
  let live = false;
  let wake: (() => void) | undefined;
  const watch = () => {
    const mine = ++watching;
    outcome = undefined;
    live = true;
    (handle.result() as Promise<IngestSummary>).then(
      (value) => { if (mine === watching) { outcome = { ok: true, value }; wake?.(); } },
      (err: unknown) => { if (mine === watching) { outcome = { ok: false, err }; wake?.(); } },
    );
  };
  const nap = (ms: number) => new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); wake = undefined; resolve(); }
    wake = done;
  });

  const address = opts.address ?? (handle.client?.connection as { options?: { address?: string } } | undefined)?.options?.address ?? 'its address';
  const retry = opts.retry ?? CONTACT_RETRY;
  const probe = opts.probe ?? (() => handle.client.connection.withDeadline(Date.now() + PROBE_MS, () => handle.describe()));
  let lost = false;
  let delay = retry.firstMs;
  const loseContact = (cause: string) => {
    if (lost) return;
    lost = true;
    delay = retry.firstMs;
    out.write(`lost contact with Temporal at ${address}: ${cause}; the run goes on in Temporal; still waiting (Ctrl-C to stop; partflow status ${handle.workflowId} later)\n`);
  };

  // A run no worker picks up would wait here in silence (its queries wait for a worker too): say so.
  let answered = false;
  // Whether the wait said that no worker answers; said again only after one answered since.
  let saidNoWorker = false;
  const check = setTimeout(() => {
    if (opts.progress === false || answered || outcome) return;
    noWorkerPolling(handle).then((why) => {
      if (why && !answered && !outcome && !lost && !saidNoWorker) {
        saidNoWorker = true;
        out.write(`${why}\n`);
      }
    }, () => undefined);
  }, NO_WORKER_WARNING_MS);
  check.unref();
  let summary: IngestSummary;
  watch();
  try {
    for (;;) {
      if (outcome?.ok) {
        summary = outcome.value;
        break;
      }
      if (outcome) {
        const cause = unreachableCause(outcome.err);
        // The run failed, or was refused: that is the answer, at once.
        if (cause === undefined) throw outcome.err;
        loseContact(cause);
        outcome = undefined;
        live = false;
        watching++;
      }
      if (lost) {
        await nap(delay);
        if (outcome) continue;
        delay = Math.min(retry.maxMs, delay * 2);
        try {
          await probe();
        } catch (err) {
          // Any other answer (the run gone, say) comes from Temporal, so contact is back; the result tells the rest.
          if (unreachableCause(err) !== undefined) continue;
        }
        lost = false;
        out.write(`back in contact with Temporal at ${address}; still waiting for ${handle.workflowId}\n`);
        if (!live) watch();
        continue;
      }
      if (opts.progress === false) {
        if (!outcome) await nap(TICK_MS);
        continue;
      }
      try {
        const p = await queryInTime<Progress>(handle, 'progress', []);
        answered = true;
        saidNoWorker = false;
        draw(p);
        // The run will wait (days, by default) for someone to fix and retry: stop watching.
        if (p.phase === 'waiting-for-retry') return { status: 'waiting-for-retry', workflowId: handle.workflowId, failed: p.failed, total: failedTotal(p) };
      } catch (err) {
        // A query also fails before the run starts or between tasks (try again on the next
        // tick), and waits for a worker until its deadline: only "unavailable" means Temporal is gone.
        const cause = unreachableCause(err, { deadline: false });
        if (cause !== undefined) loseContact(cause);
        // The workers left mid-run (or never came): say so once, and go on waiting.
        else if (unanswered(err) !== undefined && !saidNoWorker) {
          const why = await noWorkerAnswer(handle).catch(() => undefined);
          if (why && !outcome && !lost && !saidNoWorker) {
            saidNoWorker = true;
            out.write(`${why}; still waiting\n`);
          }
        }
      }
      if (!outcome && !lost) await nap(TICK_MS);
    }
    try {
      if (opts.progress !== false) draw(await queryInTime<Progress>(handle, 'progress', []));
    } catch {
      // a closed workflow may no longer answer queries on some servers
    }
  } finally {
    clearTimeout(check);
    multi?.stop();
  }
  return summary;
}
