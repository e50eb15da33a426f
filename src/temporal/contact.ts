/**
 * Noticing that Temporal went away and came back. A worker's polls retry quietly (the SDK logs
 * nothing at warn for it), so an operator whose Temporal is down would see a silent worker: this
 * probes on a timer and says so once when contact is lost and once when it is back.
 */
import { withoutEmptyResolutionNote } from './unreachable';

export interface ContactWatch {
  stop(): void;
}

export interface ContactOptions {
  /** Resolves when Temporal answers; rejects (in time: bound it) when it does not. */
  probe: () => Promise<unknown>;
  intervalMs: number;
  onLost: (cause: string) => void;
  onBack: (downMs: number) => void;
}

export const CONTACT_PROBE = { intervalMs: 10_000, timeoutMs: 5_000 };

export function errorText(err: unknown): string {
  const e = err as { details?: unknown; message?: unknown };
  const text = typeof e?.details === 'string' && e.details ? e.details : typeof e?.message === 'string' ? e.message : String(err);
  return withoutEmptyResolutionNote(text);
}

/** Probes every intervalMs (one probe at a time), calling onLost at the first failure and onBack at the first answer after. */
export function watchContact(o: ContactOptions): ContactWatch {
  let lostAt: number | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      await o.probe();
      if (!stopped && lostAt !== undefined) {
        const downMs = Date.now() - lostAt;
        lostAt = undefined;
        o.onBack(downMs);
      }
    } catch (err) {
      if (!stopped && lostAt === undefined) {
        lostAt = Date.now();
        o.onLost(errorText(err));
      }
    }
    if (!stopped) schedule();
  };
  const schedule = () => {
    timer = setTimeout(() => void tick(), o.intervalMs);
    timer.unref();
  };
  schedule();
  return { stop: () => { stopped = true; clearTimeout(timer); } };
}
