import fs from 'node:fs';
import path from 'node:path';
import { cachedWorkflowBundle } from '../../src/worker/workflow-bundle';

// Inside the project, so that the bundler finds @temporalio/workflow from here (.artifacts is ignored).
const dir = path.join(__dirname, '..', '..', '.artifacts', `workflow-bundle-${process.pid}`);
const wf = path.join(dir, 'wf');
const cacheDir = path.join(dir, 'cache');

beforeAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(wf, { recursive: true });
  fs.writeFileSync(path.join(wf, 'index.js'), "const { greeting } = require('./greeting');\nexports.hello = async function hello() { return greeting; };\n");
  fs.writeFileSync(path.join(wf, 'greeting.js'), "exports.greeting = 'hello, version 1';\n");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const opts = () => ({ workflowsPath: path.join(wf, 'index.js'), sourceDirs: [wf], cacheDir });
const kept = () => fs.readdirSync(cacheDir).filter((f) => f.startsWith('workflow-bundle-')).sort();

describe('the workflow bundle cache', () => {
  it('bundles once, serves the kept bundle after, and bundles again when the code changes', async () => {
    const first = await cachedWorkflowBundle(opts());
    expect(first.code).toContain('hello, version 1');
    const files = kept();
    expect(files).toEqual([expect.stringMatching(/^workflow-bundle-[0-9a-f]{24}\.js$/), expect.stringMatching(/^workflow-bundle-[0-9a-f]{24}\.js\.map$/)]);

    // Served from the cache: a mark put into the kept file comes back.
    fs.appendFileSync(path.join(cacheDir, files[0]), '\n// kept\n');
    const second = await cachedWorkflowBundle(opts());
    expect(second.code).toContain('// kept');
    expect(second.sourceMap).toBe(first.sourceMap);

    // A change to any source file is a new key: bundled again, and the old bundle removed.
    fs.writeFileSync(path.join(wf, 'greeting.js'), "exports.greeting = 'hello, version 2';\n");
    const third = await cachedWorkflowBundle(opts());
    expect(third.code).toContain('hello, version 2');
    expect(third.code).not.toContain('// kept');
    expect(kept()).toHaveLength(2);
    expect(kept()).not.toContain(files[0]);
  }, 120_000);

  it('bundles every time when the cache folder cannot be written', async () => {
    const blocked = path.join(dir, 'a-file');
    fs.writeFileSync(blocked, 'not a folder');
    const b = await cachedWorkflowBundle({ ...opts(), cacheDir: path.join(blocked, 'cache') });
    expect(b.code).toContain('hello, version');
  }, 120_000);
});
