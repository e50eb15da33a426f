import { Duration } from '@temporalio/common';
import { isCancellation, log, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../../activities';

const { closedWindows } = proxyActivities<Activities>({
  startToCloseTimeout: '5m', retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});

export interface OrphanWatch {
  /** How often to look; each look is a timer and one activity in the parent's history. */
  every: Duration;
  /** Windows this run did not start (so cannot await), still held running: seq and workflow id. */
  orphans: () => { seq: number; id: string }[];
  /** A window that closed without its last report. */
  closed: (seq: number, id: string, status: string) => void;
  /** After each look: lets the parent continue as new if the looks grew its history. */
  looked: () => void;
}

/**
 * Watches the windows an earlier run started, until none is left. Their last report normally
 * ends them in the parent; one terminated (or failed) before it could send it would otherwise
 * hold its partitions, and the ingest, forever. A report is signalled before its window closes,
 * so it is always in the history before the look that finds the window closed.
 */
export function watchOrphans(w: OrphanWatch): void {
  void (async () => {
    for (;;) {
      if (!w.orphans().length) return;
      await sleep(w.every);
      const ids = w.orphans();
      if (!ids.length) return;
      try {
        const closed = await closedWindows({ ids: ids.map((o) => o.id) });
        for (const c of closed) {
          const o = w.orphans().find((x) => x.id === c.id);
          if (o) w.closed(o.seq, c.id, c.status);
        }
      } catch (err) {
        if (isCancellation(err)) throw err;
        log.warn('could not look at the windows of an earlier run; looking again later', { error: String(err) });
      }
      w.looked();
    }
  })().catch((err) => {
    // Cancellation of the ingest: the parent's own cancel path takes over.
    if (!isCancellation(err)) log.warn('stopped watching the windows of an earlier run', { error: String(err) });
  });
}
