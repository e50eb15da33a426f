/**
 * Telling "Temporal cannot be reached just now" from a real answer. A run goes on in Temporal
 * while a client or worker has lost contact, so whoever waits on it must keep waiting, not report
 * the run as failed.
 */

/** gRPC status codes: UNAVAILABLE (connection refused or lost) and DEADLINE_EXCEEDED (no answer in time). */
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

/**
 * grpc-js ends "No connection established" with "Resolution note: <note>", which is empty for a
 * plain address: an empty note says nothing and reads as text cut off, so it is left out.
 */
export function withoutEmptyResolutionNote(text: string): string {
  return text.replace(/\.? ?Resolution note: ?(?=$|\n|: )/g, '');
}

/**
 * Why Temporal could not be reached, when `err` (or one of its causes, as the client's
 * ServiceError wraps the gRPC error) says it could not; undefined for any other error.
 * `deadline`: whether DEADLINE_EXCEEDED counts too (not for a query, which waits for a worker
 * and ends so when none answers).
 */
export function unreachableCause(err: unknown, o: { deadline?: boolean } = {}): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const g = e as { code?: unknown; details?: unknown; message?: unknown };
    if (typeof g.details !== 'string' || typeof g.code !== 'number') continue;
    if (g.code === UNAVAILABLE || (g.code === DEADLINE_EXCEEDED && (o.deadline ?? true))) {
      const text = g.details || (typeof g.message === 'string' ? g.message : '') || (g.code === UNAVAILABLE ? 'unavailable' : 'deadline exceeded');
      return withoutEmptyResolutionNote(text);
    }
  }
  return undefined;
}
