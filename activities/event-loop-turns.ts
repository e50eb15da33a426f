/**
 * Lets the event loop turn during long stretches of record work. A socket read hands over up to
 * about 2 MB at once (libuv reads a ready socket up to 32 times per callback), and decoding that
 * runs in one chain of promise callbacks: measured on one 2.5M-record partition, the loop did not
 * turn for 185-260 ms at a time, again and again. Until it turns, nothing else in the process
 * runs: the heartbeat timer, a cancellation, the SDK starting another activity, the worker
 * supervisor's messages about slots, a metrics scrape.
 */
export class EventLoopTurns {
  private calls = 0;
  private last: number;

  /**
   * @param everyMs the most record work between two turns of the loop
   * @param now the clock (tests pass their own)
   */
  constructor(private readonly everyMs = 20, private readonly now: () => number = Date.now) {
    this.last = now();
  }

  /**
   * Call once per record. Reads the clock only every 256th call; after `everyMs` of work it
   * returns a promise that settles on the loop's next turn (setImmediate: after pending I/O and
   * timers), and otherwise nothing, so the caller awaits only then.
   */
  due(): Promise<void> | undefined {
    if ((++this.calls & 255) !== 0) return undefined;
    if (this.now() - this.last < this.everyMs) return undefined;
    return this.turn();
  }

  // Apart from due(): a closure there would make V8 allocate due()'s context on every call.
  private turn(): Promise<void> {
    return new Promise<void>((resolve) => setImmediate(() => {
      this.last = this.now();
      resolve();
    }));
  }
}
