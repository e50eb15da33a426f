import { CancellationScope, defineSignal, getExternalWorkflowHandle, log, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { Code, FailureDetail } from './compact';
import type { SavedEntry } from '../../src/manifest/window-results';
import { Entry, runWindow, WindowItem, WindowSettings } from './window';

export interface WindowInput extends WindowSettings {
  seq: number;
  slots: number;
  items: WindowItem[];
  /** S3 key where this window writes what it ran (versions, counts, errors) for the run manifest. */
  resultsKey: string;
  parentId: string;
  /** Set by a reset run once it starts windows of its own: echoed in every report (see WindowReport.tag). */
  tag?: string;
}

/** A window's report to its parent: counts and failures only, never per-partition state lists. */
export interface WindowReport {
  seq: number;
  entries: Entry[];
  failures: FailureDetail[];
  freed: number;
  done?: boolean;
  /**
   * Set by the parent, never by a window: the window ended without its last report, so what it
   * ran was never saved for the run manifest (reports come first, the save at the end).
   */
  lost?: boolean;
  /**
   * The starting run's tag (WindowInput.tag): a reset run that runs every partition again takes
   * reports only from its own windows, not from the windows its base run left running.
   */
  tag?: string;
}

export const windowReportSignal = defineSignal<[WindowReport]>('windowReport');

// Tried until it succeeds (an S3 outage only delays it): a window that cannot save its results
// ends without its last report, and its parent then runs its partitions again.
const { saveWindowResults } = proxyActivities<Activities>({ startToCloseTimeout: '10m', retry: { initialInterval: '1s', maximumInterval: '1m' } });

/** Entries per report signal: fewer signals in the parent's history, still timely progress. */
const REPORT_ENTRIES = 50;

/**
 * A window of a large ingest, run as a child workflow: a slice of partitions with its share of
 * the ingest's slots. It signals the parent by workflow id only, so reports reach the parent's
 * current run across continue-as-new.
 */
export async function ingestWindow(w: WindowInput): Promise<{ ran: number }> {
  const parent = getExternalWorkflowHandle(w.parentId);
  // Reports go out after a cancel too: a batch that commits before the cancel reaches it reports
  // then, and the parent counts only what reaches it. Windows that ran before this sent them from
  // the cancelled scope, which drops a signal unsent (the parent counted those partitions
  // cancelled while the run manifest listed them committed); they replay so. The patch is asked
  // only once the window is cancelled, so that only such histories carry its marker (a worker of
  // an earlier release cannot replay one that does).
  const send = (report: WindowReport) => (CancellationScope.current().consideredCancelled && patched('reports-outlive-cancel')
    ? CancellationScope.nonCancellable(() => parent.signal(windowReportSignal, report))
    : parent.signal(windowReportSignal, report));
  let entries: Entry[] = [];
  let failures: FailureDetail[] = [];
  let freed = 0;
  let chain = Promise.resolve();
  const flush = (done = false): Promise<void> => {
    const report: WindowReport = { seq: w.seq, entries, failures, freed, ...(done ? { done } : {}), ...(w.tag ? { tag: w.tag } : {}) };
    entries = [];
    failures = [];
    freed = 0;
    // In order, one at a time: the parent applies them as they come.
    chain = chain.then(() => send(report)).catch((err) => log.warn('window report not delivered', { error: String(err) }));
    return chain;
  };
  const saved: SavedEntry[] = [];
  try {
    await runWindow(w, w.items, w.slots, {
      result(e, failure) {
        entries.push(e);
        if (failure) failures.push(failure);
        // Failures and what they block go at once: a retry asked for now should see them.
        if (failure || e[2] === Code.blocked || entries.length >= REPORT_ENTRIES) void flush();
      },
      freed(n) {
        freed += n;
        void flush();
      },
    }, saved);
  } finally {
    await CancellationScope.nonCancellable(async () => {
      if (saved.length) await saveWindowResults({ bucket: w.plan.bucket, key: w.resultsKey, entries: saved });
      await flush(true);
    });
  }
  return { ran: saved.length };
}
