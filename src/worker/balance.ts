/**
 * Activity slots shared out evenly over the processes of a multi-process worker.
 *
 * Each process polls the task queue on its own, and Temporal hands a task to whichever poll is
 * waiting. With a fixed number of slots per process, a process that just took a partition polls
 * again at once, so four big partitions over two processes often split 3:1 or 4:0 (7 of 12
 * measured runs), and the process with three runs them on one core while the other idles.
 *
 * Here a process asks for a slot to poll with only while it has no poll out already and holds no
 * more slots than every other live process has running. The least busy process can always poll,
 * so no task waits for a process that will not take it. Counts travel through the supervisor
 * (one IPC message per task started or finished, passed on to every process); until a change
 * arrives, a process may wait a little longer than it needs to, or take one task too many.
 */
import type { ActivitySlotInfo, CustomSlotSupplier, SlotMarkUsedContext, SlotPermit, SlotReleaseContext } from '@temporalio/worker';

/** A child's running activities, told to its supervisor. */
export interface SlotsMessage { type: 'partflow:slots'; running: number }
/** Every live process's running activities by slot, from the supervisor. */
export interface PeersMessage { type: 'partflow:peers'; running: Record<number, number> }

export class BalancedActivitySlots implements CustomSlotSupplier<ActivitySlotInfo> {
  readonly type = 'custom';
  /** Reserved for a poll or running a task. */
  private held = 0;
  private running = 0;
  /**
   * The least count of running activities among the other live processes (none: no limit).
   * 0 until the supervisor first says: a process that starts before its peers must not poll
   * for many tasks at once, and a poll cannot be taken back once it has started.
   */
  private peerMin = 0;
  private waiters = new Set<() => void>();

  /**
   * @param max slots of this process, as with a fixed number (PARTFLOW_WORKER_CONCURRENCY)
   * @param slot this process's index, left out of the peers' counts
   * @param tell sends this process's running count to the supervisor
   */
  constructor(readonly max: number, private readonly slot: number, private readonly tell: (running: number) => void) {
    // Asks for the counts, which the supervisor sends to every process whenever one changes.
    tell(0);
  }

  /** The supervisor's latest counts. */
  peers(running: Record<number, number>): void {
    let min = Infinity;
    for (const [slot, n] of Object.entries(running)) if (Number(slot) !== this.slot) min = Math.min(min, n);
    this.peerMin = min;
    this.wake();
  }

  /**
   * One poll at a time (no slot held idle already), and not ahead of any peer. Slots held for
   * polls cannot be taken back when the peers' counts fall, so only one may wait at a time.
   */
  private mayReserve(): boolean {
    return this.held < this.max && this.held === this.running && this.held <= this.peerMin;
  }

  async reserveSlot(_ctx: unknown, abortSignal: AbortSignal): Promise<SlotPermit> {
    while (!this.mayReserve()) {
      if (abortSignal.aborted) throw abortSignal.reason;
      await new Promise<void>((resolve, reject) => {
        const done = () => {
          this.waiters.delete(done);
          abortSignal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          this.waiters.delete(done);
          reject(abortSignal.reason);
        };
        this.waiters.add(done);
        abortSignal.addEventListener('abort', onAbort, { once: true });
      });
    }
    this.held++;
    return {};
  }

  /** Eager tasks: a multi-process worker turns eager dispatch off, but answer sanely anyway. */
  tryReserveSlot(): SlotPermit | null {
    if (!this.mayReserve()) return null;
    this.held++;
    return {};
  }

  markSlotUsed(_ctx: SlotMarkUsedContext<ActivitySlotInfo>): void {
    this.running++;
    this.tell(this.running);
    this.wake();
  }

  releaseSlot(ctx: SlotReleaseContext<ActivitySlotInfo>): void {
    this.held--;
    if (ctx.slotInfo) {
      this.running--;
      this.tell(this.running);
    }
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
