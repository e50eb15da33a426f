/**
 * Kafka client failures in words a person can act on. @platformatic/kafka wraps a connection
 * failure as AggregateError("metadata failed 4 times.") → AggregateError("Cannot connect to any
 * broker.") → NetworkError("Connection to h:p failed.") with the socket error (ECONNREFUSED,
 * ENOTFOUND) as its cause: the top message alone says nothing about why.
 */

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT']);

interface Leafy { message?: string; code?: string; errors?: unknown[]; cause?: unknown }

/** The innermost errors: AggregateError.errors and cause chains followed down. */
function leaves(err: unknown, depth = 0): Leafy[] {
  const e = err as Leafy;
  if (!e || typeof e !== 'object' || depth > 8) return [];
  const inner = [...(Array.isArray(e.errors) ? e.errors : []), ...(e.cause ? [e.cause] : [])];
  const below = inner.flatMap((x) => leaves(x, depth + 1));
  return below.length ? below : [e];
}

/** Every distinct root cause, joined: "connect ECONNREFUSED 127.0.0.1:1". */
export function kafkaCause(err: unknown): string {
  const seen = [...new Set(leaves(err).map((l) => l.message || l.code || String(l)))];
  const top = (err as Error)?.message;
  return seen.length ? seen.join('; ') : top ?? String(err);
}

/** The broker could not be reached (refused, unknown host, timed out): a retry may help. */
export function isKafkaUnreachable(err: unknown): boolean {
  const chain: Leafy[] = [];
  const walk = (x: unknown, d: number) => {
    const e = x as Leafy;
    if (!e || typeof e !== 'object' || d > 8) return;
    chain.push(e);
    for (const y of Array.isArray(e.errors) ? e.errors : []) walk(y, d + 1);
    if (e.cause) walk(e.cause, d + 1);
  };
  walk(err, 0);
  return chain.some((e) => (e.code !== undefined && NETWORK_CODES.has(e.code)) || /Cannot connect to any broker/.test(e.message ?? ''));
}

/** A failure of the Kafka client (its errors' codes start PLT_KFK_), not of partflow's own code. */
export function isKafkaClientError(err: unknown): boolean {
  return /^PLT_KFK_/.test(String((err as { code?: unknown })?.code ?? '')) || isKafkaUnreachable(err);
}
