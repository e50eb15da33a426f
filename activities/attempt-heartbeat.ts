import { CancelledFailure, Context } from '@temporalio/activity';
import { ActivityCancelledError } from '@temporalio/client';
import type { Logger } from 'pino';
import { withinMs } from './cancellation';
import { EventLoopTurns } from './event-loop-turns';

export const HEARTBEAT_MS = 2_000;

/**
 * The heartbeats, cancellation checks and event-loop turns of one partition's attempt. What a
 * heartbeat carries (progress, the latest checkpoint) comes from `details`.
 */
export class AttemptHeartbeat {
  /**
   * The first heartbeat goes out HEARTBEAT_MS after the start, not at once: most partitions of a
   * big ingest are done sooner, and each heartbeat costs the server a write.
   */
  private lastBeat = Date.now();
  /** Raised by a timer every HEARTBEAT_MS; tick() looks at it and at the cancellation only. */
  private beatDue = false;
  // Read per record rather than listened to: a batch runs many partitions in one attempt, and a
  // listener per partition would outlive each of them.
  private readonly cancelled = Context.current().cancellationSignal;
  private readonly turns = new EventLoopTurns();

  constructor(
    private readonly details: (extra: Record<string, unknown>) => Record<string, unknown>,
    private readonly where: () => string,
    private readonly log: Logger,
  ) {
    setTimeout(() => { this.beatDue = true; }, HEARTBEAT_MS).unref();
  }

  /**
   * Call once per record, and await what it returns, if anything. Costs two flag tests and a
   * counter: a timer raises one flag every HEARTBEAT_MS, so a slow transform still heartbeats
   * between its records, with no clock read per record; the other is the cancellation. Returns a
   * promise when the event loop is due a turn (see EventLoopTurns). Throws when the activity has
   * been cancelled.
   */
  tick(): Promise<void> | undefined {
    if (this.beatDue || this.cancelled.aborted) this.pulse();
    return this.turns.due();
  }

  private pulse(): void {
    this.throwIfCancelled();
    this.beatDue = false;
    this.beat();
    setTimeout(() => { this.beatDue = true; }, HEARTBEAT_MS).unref();
  }

  /** Heartbeats at most every HEARTBEAT_MS, or now if forced. */
  beat(extra: Record<string, unknown> = {}, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastBeat < HEARTBEAT_MS) return;
    this.lastBeat = now;
    Context.current().heartbeat(this.details(extra));
  }

  /**
   * Sends the heartbeat to the server right away and waits for the answer (the SDK's own
   * heartbeats are throttled and unacknowledged). True when the server still has this attempt
   * running, false when it does not (or did not answer), undefined with no client to ask
   * (MockActivityEnvironment).
   */
  async beatNow(extra: Record<string, unknown> = {}): Promise<boolean | undefined> {
    const ctx = Context.current();
    const details = this.details(extra);
    // The SDK flushes its last heartbeat when the attempt fails: let it say the same.
    ctx.heartbeat(details);
    let client;
    try {
      client = ctx.client;
    } catch {
      return undefined;
    }
    try {
      await withinMs(client.activity.heartbeat(ctx.info.taskToken, details), 10_000);
      return true;
    } catch (err) {
      // A cancel request comes back as this error: the server still knows this attempt.
      if (err instanceof ActivityCancelledError) return true;
      this.log.info({ err: (err as Error).message }, 'the server does not have this attempt running');
      return false;
    }
  }

  /** Stops work the workflow has cancelled (noticed through heartbeats). */
  private throwIfCancelled(): void {
    const signal = Context.current().cancellationSignal;
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new CancelledFailure(`${this.where()}: cancelled`);
  }
}
