import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT as ROOT } from '../../src/config/paths';

/**
 * `npm ci` (CI, the Docker image) installs exactly the lock file and refuses one that misses a
 * package npm would resolve, such as another platform's optional binary: the lock must list
 * every optional dependency of every package in it, whatever the platform it was written on.
 */

interface LockEntry { version?: string; optionalDependencies?: Record<string, string>; os?: string[]; cpu?: string[] }

describe('package-lock.json', () => {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

  /** Where npm would find `name` from the package at `from` (its own node_modules, then upwards). */
  function resolve(from: string, name: string): LockEntry | undefined {
    for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
      const e = lock.packages[`${dir ? `${dir}/` : ''}node_modules/${name}`];
      if (e || dir === '') return e;
    }
  }

  it('lists every optional dependency for every platform, at the version asked for', () => {
    const missing: string[] = [];
    let checked = 0;
    for (const [where, entry] of Object.entries(lock.packages)) {
      for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
        checked++;
        const found = resolve(where, name);
        if (!found) missing.push(`${name}@${range} (for ${where})`);
        else if (/^\d+\.\d+\.\d+$/.test(range) && found.version !== range) missing.push(`${name}@${range} (for ${where}; the lock has ${found.version})`);
      }
    }
    expect(missing).toEqual([]);
    // The per-platform binaries of @swc/core (used to bundle workflows) are among them.
    expect(checked).toBeGreaterThanOrEqual(12);
    expect(lock.packages['node_modules/@swc/core-darwin-arm64']?.os).toEqual(['darwin']);
  });

  it('is what CI and the image install from, with npm ci', () => {
    expect(fs.readFileSync(path.join(ROOT, '.ci/run'), 'utf8')).toMatch(/^npm ci\b/m);
    expect(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/^RUN npm ci\b/m);
  });
});
