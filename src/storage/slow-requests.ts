/**
 * Requests to S3 that have had no answer for a while. A store that accepts connections and never
 * answers (a wrong port that is something else's, a stuck proxy) gets each try a 2-minute idle
 * timeout and 4 tries: a command would sit silent for 8 minutes. Listeners (the CLI) are told once
 * per request that passes SLOW_MS; with none, nothing is timed.
 */
export interface SlowRequest {
  /** Where it went, as configured ("http://127.0.0.1:7070", "AWS S3 (region …)"). */
  endpoint: string;
  /** "GetObject s3://bucket/key". */
  what: string;
  waitedMs: number;
}

export const SLOW_MS = 10_000;
/** Each try's idle timeout and tries (the SDK's handler and the direct path's alike), for what listeners say. */
export const S3_IDLE_TIMEOUT_MS = 120_000;
export const S3_MAX_ATTEMPTS = 4;

const listeners = new Set<(r: SlowRequest) => void>();

/** Tells `listener` of every request that goes SLOW_MS without an answer; returns the way to stop. */
export function onSlowS3Request(listener: (r: SlowRequest) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Starts timing a request; call the result when it is answered (or fails). */
export function watchRequest(endpoint: () => string, what: () => string | undefined): () => void {
  if (listeners.size === 0) return NO_WATCH;
  const timer = setTimeout(() => {
    const r: SlowRequest = { endpoint: endpoint(), what: what() ?? 'a request', waitedMs: SLOW_MS };
    for (const l of listeners) l(r);
  }, SLOW_MS);
  timer.unref();
  return () => clearTimeout(timer);
}

const NO_WATCH = (): void => undefined;
