import { logger } from '../log';
import { S3CredentialsError, S3EndpointError, S3RegionError } from '../storage/failures';

export type WorkerRefusal = S3CredentialsError | S3RegionError | S3EndpointError;

/**
 * Refused for who they are (unknown key, wrong secret, expired token) or not found at all, or
 * sent to a region the store does not take or to an endpoint that is no S3 API: only other
 * settings, and so a restart, fix these. AccessDenied is not among them: the store knows the
 * credentials, which may only lack a grant on the default bucket (a worker's runs may all write
 * elsewhere), and a grant needs no restart.
 */
export function refusesThisWorker(err: unknown): err is WorkerRefusal {
  return (err instanceof S3CredentialsError && err.name !== 'AccessDenied') || (err instanceof S3RegionError && !err.bucketsOwn) || err instanceof S3EndpointError;
}

/** The refusal an activity's error carries, itself or as a cause (activities wrap S3's errors in failures). */
export function refusalIn(err: unknown): WorkerRefusal | undefined {
  let e: unknown = err;
  for (let depth = 0; e && depth < 8; depth++) {
    if (refusesThisWorker(e)) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface RefusalWatchOptions {
  /**
   * The start-time check again (s3-probe.ts): the refusal it meets, or undefined when the store
   * takes this worker's settings.
   */
  recheck: () => Promise<WorkerRefusal | undefined>;
}

/**
 * Tells a running worker whether S3 now refuses it as it would refuse a starting one (keys
 * rotated or revoked under it, a token expired): then it must stop taking work, for it would fail
 * every partition it took, other workers' runs too, within milliseconds, and poll again at once.
 *
 * One refusal in an activity is not proof on its own: a store may answer SignatureDoesNotMatch
 * for one odd object key it canonicalises differently, a region error may be about one run's
 * bucket in another region, a refreshing token may expire in flight. So the first such refusal
 * sends the start-time check again (one request, a GET of a key that never exists in the default
 * bucket): if that is refused too, the refusal is about this worker's settings, and restarting
 * it with them would be refused the same way; a single refusal then suffices, with no count to
 * wait for while partitions burn their attempts. If the check passes, the refusal was about the
 * request, and the activity fails as it did before. One check runs at a time; refusals that come
 * meanwhile share its answer.
 */
export class RefusalWatch {
  private checking?: Promise<WorkerRefusal | undefined>;
  private refusal?: WorkerRefusal;
  private listeners: ((err: WorkerRefusal) => void)[] = [];

  constructor(private readonly opts: RefusalWatchOptions) {}

  /** The refusal this worker stops for, once confirmed. */
  get refused(): WorkerRefusal | undefined {
    return this.refusal;
  }

  /** Called once, when a refusal is confirmed (at once if it already was). */
  onRefused(fn: (err: WorkerRefusal) => void): void {
    if (this.refusal) tell(fn, this.refusal);
    else this.listeners.push(fn);
  }

  /**
   * For an activity's error: the refusal the worker stops for, if the error is one and the
   * check confirms it (or the worker already stops); undefined otherwise.
   */
  async check(err: unknown): Promise<WorkerRefusal | undefined> {
    if (!refusalIn(err)) return undefined;
    if (this.refusal) return this.refusal;
    this.checking ??= this.opts.recheck()
      .catch(() => undefined)
      .finally(() => { this.checking = undefined; });
    const confirmed = await this.checking;
    if (confirmed && !this.refusal) {
      this.refusal = confirmed;
      for (const fn of this.listeners.splice(0)) tell(fn, confirmed);
    }
    return this.refusal;
  }
}

/**
 * Listeners run inside an activity's failure handling: one that throws must neither replace
 * that failure nor keep the others (the one that stops the worker) from hearing.
 */
function tell(fn: (err: WorkerRefusal) => void, err: WorkerRefusal): void {
  try {
    fn(err);
  } catch (e) {
    logger().error({ err: (e as Error).message }, 'a listener for S3 refusing this worker failed');
  }
}

/**
 * A running worker stopped because S3 refuses it (RefusalWatch): what it met, where, and what to
 * do. A process manager then restarts it onto the start-time check, which refuses it with the
 * same error until its settings are fixed.
 */
export class WorkerS3StoppedError extends Error {
  constructor(readonly original: WorkerRefusal, readonly taskQueue: string) {
    const fix = original instanceof S3CredentialsError ? 'fix its credentials' : original instanceof S3RegionError ? 'fix its region (AWS_REGION)' : 'fix its endpoint (AWS_ENDPOINT_URL_S3)';
    super(`S3 refuses this running worker: ${original.message}. This worker stops taking partitions from task queue ${taskQueue}; ${fix} and start it again`, { cause: original });
    this.name = 'WorkerS3StoppedError';
  }
}
