import { watchContact } from '../../src/temporal/contact';

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(ok()).toBe(true);
};

describe('watchContact', () => {
  it('says once when Temporal goes away, with the cause, and once when it is back', async () => {
    // up, down three probes (a gRPC UNAVAILABLE as the SDK gives it), up again
    const answers = [true, false, false, false, true, true];
    let probes = 0;
    const events: string[] = [];
    const w = watchContact({
      intervalMs: 1,
      probe: async () => {
        const ok = answers[Math.min(probes++, answers.length - 1)];
        if (!ok) throw Object.assign(new Error('14 UNAVAILABLE: x'), { code: 14, details: 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7600. Resolution note: ' });
      },
      onLost: (cause) => events.push(`lost: ${cause}`),
      onBack: () => events.push('back'),
    });
    await until(() => probes >= answers.length);
    w.stop();
    expect(events).toEqual(['lost: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7600', 'back']);
  });

  it('says nothing while Temporal answers, and nothing after stop()', async () => {
    let probes = 0;
    const events: string[] = [];
    const w = watchContact({ intervalMs: 1, probe: async () => { probes++; }, onLost: () => events.push('lost'), onBack: () => events.push('back') });
    await until(() => probes >= 3);
    w.stop();
    const after = probes;
    await new Promise((r) => setTimeout(r, 20));
    expect(probes).toBe(after);
    expect(events).toEqual([]);
  });
});
