import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';
import { ConfigError } from '../../src/config/errors';
import { temporalLogLevel } from '../../src/worker/settings';

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('README documents the settings', () => {
  it('every PARTFLOW_* variable that src/, activities/ and workflows/ read', () => {
    const read = new Set<string>();
    for (const f of ['src', 'activities', 'workflows'].flatMap((d) => sources(path.join(PROJECT_ROOT, d)))) {
      // A name ending in "_" is a family in help text (PARTFLOW_KAFKA_*), not a variable.
      for (const m of fs.readFileSync(f, 'utf8').matchAll(/PARTFLOW_[A-Z0-9_]+/g)) if (!m[0].endsWith('_')) read.add(m[0]);
    }
    const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
    expect(read.size).toBeGreaterThan(30);
    expect([...read].filter((v) => !new RegExp(`\\b${v}\\b`).test(readme)).sort()).toEqual([]);
  });
});

describe('PARTFLOW_TEMPORAL_LOG_LEVEL', () => {
  it('takes the SDK\'s levels in any case, default WARN; another word is a ConfigError (it would pass every line)', () => {
    expect(temporalLogLevel({})).toBe('WARN');
    expect(temporalLogLevel({ PARTFLOW_TEMPORAL_LOG_LEVEL: 'debug' })).toBe('DEBUG');
    expect(() => temporalLogLevel({ PARTFLOW_TEMPORAL_LOG_LEVEL: 'verbose' })).toThrow(new ConfigError('PARTFLOW_TEMPORAL_LOG_LEVEL must be one of TRACE, DEBUG, INFO, WARN, ERROR, got "verbose"'));
  });
});
