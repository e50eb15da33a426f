import { EventLoopTurns } from '../../activities/event-loop-turns';

describe('EventLoopTurns', () => {
  it('reads the clock only every 256th call, and asks for a turn only once the time is up', () => {
    let t = 0;
    let reads = 0;
    const turns = new EventLoopTurns(20, () => { reads++; return t; });
    expect(reads).toBe(1);
    for (let i = 0; i < 255; i++) expect(turns.due()).toBeUndefined();
    t = 19;
    expect(turns.due()).toBeUndefined(); // the 256th call: the clock is read, 19 ms < 20
    expect(reads).toBe(2);
    t = 20;
    for (let i = 0; i < 255; i++) expect(turns.due()).toBeUndefined();
    expect(reads).toBe(2);
    expect(turns.due()).toBeInstanceOf(Promise);
  });

  it('lets other callbacks run in the middle of a loop that would otherwise never give the event loop a turn', async () => {
    let t = 0;
    // A clock that moves 1 ms per read (one read per 256 calls): due at the 20th read.
    const turns = new EventLoopTurns(20, () => t++);
    let fired = -1;
    setImmediate(() => { fired = i; });
    let i = 0;
    for (; i < 10_000; i++) {
      const turn = turns.due();
      if (turn) await turn;
      // Awaiting an already settled promise, as a read of buffered data does, is no turn of the loop.
      await Promise.resolve();
    }
    expect(fired).toBe(20 * 256 - 1);
  });

  it('starts counting again after each turn', async () => {
    let t = 0;
    const turns = new EventLoopTurns(20, () => t);
    t = 100;
    let turn: Promise<void> | undefined;
    for (let i = 0; i < 256; i++) turn = turns.due() ?? turn;
    expect(turn).toBeInstanceOf(Promise);
    await turn;
    // The turn reset the start to 100: another 256 calls at 110 are not due.
    t = 110;
    for (let i = 0; i < 256; i++) expect(turns.due()).toBeUndefined();
  });
});
