/**
 * Errors as log fields. pino serialises an error only under `err`, and an Error's message and
 * stack are not enumerable, so an error logged under any other key (the Temporal SDK logs its
 * failures under `error`) comes out as `{}`. Errors from workflow code come through another
 * realm and a structured clone, so they are recognised by shape, not by instanceof.
 */

export interface ErrorFields {
  type: string;
  message: string;
  /** ApplicationFailure's own type ("SourceEmpty", "DatasetConflict"), which says what went wrong. */
  failureType?: string;
  stack?: string;
  cause?: ErrorFields;
  [detail: string]: unknown;
}

// Deep enough for ActivityFailure -> ApplicationFailure -> the error an activity threw -> its cause.
const MAX_CAUSES = 8;
// Kept out: `failure` is the raw protobuf the SDK built the error from, `details` arbitrary payloads.
const LEFT_OUT = new Set(['message', 'stack', 'cause', 'name', 'failure', 'details', 'type']);

export function isErrorLike(v: unknown): v is Error {
  return typeof v === 'object' && v !== null && typeof (v as Error).message === 'string'
    && (v instanceof Error || typeof (v as Error).stack === 'string' || typeof (v as Error).name === 'string');
}

/**
 * The error's class. An error that crossed from a workflow thread was structured-cloned: that
 * keeps message, stack and cause but turns every name but the standard ones into "Error" (and
 * drops ApplicationFailure's type); the first line of its stack still names the class.
 */
function typeName(e: Error): string {
  if (typeof e.name === 'string' && e.name !== 'Error' && e.name !== '') return e.name;
  const ctor = (e as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof ctor === 'string' && ctor !== 'Error' && ctor !== 'Object' && ctor !== '') return ctor;
  const head = typeof e.stack === 'string' ? /^([A-Za-z_$][\w$]*): /.exec(e.stack) : null;
  return head && e.stack!.startsWith(`${head[1]}: ${e.message}`) ? head[1] : 'Error';
}

/** The error's type, message and cause chain, its scalar fields (activityType, nonRetryable…), and with `stack`, the stacks. */
export function errorFields(e: Error, opts: { stack?: boolean } = {}, depth = 0): ErrorFields {
  const out: ErrorFields = { type: typeName(e), message: e.message };
  const failureType = (e as { type?: unknown }).type;
  if (typeof failureType === 'string' && failureType !== '') out.failureType = failureType;
  for (const [k, v] of Object.entries(e)) {
    if (LEFT_OUT.has(k) || v === undefined || v === null) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  if (opts.stack && typeof e.stack === 'string' && e.stack !== '') out.stack = e.stack;
  const cause = (e as { cause?: unknown }).cause;
  if (isErrorLike(cause) && depth < MAX_CAUSES) out.cause = errorFields(cause, opts, depth + 1);
  else if (cause !== undefined && cause !== null && !isErrorLike(cause)) out.cause = { type: typeof cause, message: String(cause) };
  return out;
}

/** `meta` with every error in it (at its top level) replaced by its fields. */
export function withErrorFields(meta: Record<string, unknown>, opts: { stack?: boolean } = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) out[k] = isErrorLike(v) ? errorFields(v, opts) : v;
  return out;
}
