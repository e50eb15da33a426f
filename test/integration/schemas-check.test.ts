import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';

/** `partflow schemas check` (the built CLI) checks the schemas of the project it runs in, not partflow's own. */
const cli = path.join(PROJECT_ROOT, 'dist/src/cli/main.js');
function run(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node', [cli, 'schemas', 'check', ...args], { cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const project = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-schemas-check-'));
const order = (fields: object[]) => JSON.stringify({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'long' }, ...fields] });

beforeAll(() => {
  fs.mkdirSync(path.join(project, 'schemas', 'order'), { recursive: true });
  fs.writeFileSync(path.join(project, 'schemas', 'order', 'v1.avsc'), order([]));
  // A new field without a default: v2 cannot read what v1 wrote.
  fs.writeFileSync(path.join(project, 'schemas', 'order', 'v2.avsc'), order([{ name: 'currency', type: 'string' }]));
  fs.mkdirSync(path.join(project, 'sub'));
});
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

describe('partflow schemas check', () => {
  it('checks schemas/ in the current directory by default, and names the folder', async () => {
    const r = await run(project);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^INCOMPATIBLE order v2 vs v1: .*currency/m);
    expect(r.stdout).toMatch(new RegExp(`1 schema in ${fs.realpathSync(project).replace(/[/\\\\.]/g, '\\$&')}/schemas, 1 check, 1 incompatible\\n$`));
  });

  it('refuses a folder without schemas/ instead of checking partflow\'s own', async () => {
    const r = await run(path.join(project, 'sub'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`no schema directory ${path.join(fs.realpathSync(project), 'sub', 'schemas')}: run this in your project's folder, which holds schemas/, or give --dir`);
    const given = await run(path.join(project, 'sub'), '--dir', '../schemas');
    expect([given.code, given.stdout]).toEqual([1, expect.stringMatching(/1 check, 1 incompatible/)]);
  });
});
