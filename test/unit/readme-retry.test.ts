import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';
import { DEFAULT_RETRY, RetrySettings } from '../../src/pipeline/types';

/** Seconds a partition waits in all between its attempts, as Temporal spaces them. */
function window(r: RetrySettings): number {
  const { maximumAttempts, initialIntervalSeconds, backoffCoefficient, maximumIntervalSeconds } = { ...DEFAULT_RETRY, ...r };
  let total = 0;
  for (let n = 1; n < maximumAttempts; n++) total += Math.min(initialIntervalSeconds * backoffCoefficient ** (n - 1), maximumIntervalSeconds);
  return total;
}

describe('README says how long a partition is retried', () => {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');

  it('the default window, computed from the defaults', () => {
    expect(window({})).toBe(15);
    expect(readme).toContain(`between its ${DEFAULT_RETRY.maximumAttempts} attempts`);
    expect(readme).toContain(`1 + 2 + 4 + 8 = **${window({})} s in all**`);
  });

  it('the wider examples', () => {
    expect(readme).toContain(`retry: { maximumAttempts: 10 },                              // 1+2+4+8+16+32+60+60+60 = ${window({ maximumAttempts: 10 })} s`);
    expect(readme).toContain(`retry: { maximumAttempts: 8, initialIntervalSeconds: 5 },    // 5+10+20+40+60+60+60 = ${window({ maximumAttempts: 8, initialIntervalSeconds: 5 })} s`);
  });
});
