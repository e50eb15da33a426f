import fs from 'node:fs';
import path from 'node:path';
import * as partflow from '../../src';
import { PROJECT_ROOT } from '../../src/config/paths';

describe('the errors a library user can catch', () => {
  const exported = Object.entries(partflow)
    .filter(([, v]) => typeof v === 'function' && v.prototype instanceof Error)
    .map(([name]) => name)
    .sort();

  it('are all listed in the README\'s API table', () => {
    const row = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8').split('\n').find((l) => l.startsWith('| errors |')) ?? '';
    expect(exported.length).toBeGreaterThan(15);
    expect(exported.filter((name) => !row.includes(`\`${name}\``))).toEqual([]);
  });

  it('include ConfigError, which loadConfig throws for a setting with a bad value', () => {
    expect(exported).toContain('ConfigError');
    expect(() => partflow.loadConfig({ PARTFLOW_S3_PATH_STYLE: 'maybe' })).toThrow(partflow.ConfigError);
  });
});
