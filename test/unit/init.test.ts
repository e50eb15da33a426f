import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dependencySpec, nameFromDir, scaffold } from '../../src/cli/commands/init';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'partflow-init-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('partflow init', () => {
  it('scaffolds package.json, pipelines.ts, the schema, sample data, a unit test, tsconfig, README and .gitignore', () => {
    const dir = path.join(tmp, 'My Orders');
    const files = scaffold(dir).map((f) => path.relative(dir, f)).sort();
    expect(files).toEqual(['.gitignore', 'README.md', 'data/orders.jsonl', 'package.json', 'pipelines.ts', 'schemas/order/v1.avsc', 'test/pipelines.test.ts', 'tsconfig.json']);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('my-orders');
    // Not on the npm registry: by default the project depends on the partflow that ran init (this clone).
    expect(pkg.dependencies).toEqual({ partflow: `file:${path.resolve(__dirname, '../..')}` });
    expect(pkg.scripts.test).toBe('node --import tsx --test test/pipelines.test.ts');
    // The pipeline is named after the directory, and the README says the two commands.
    expect(fs.readFileSync(path.join(dir, 'pipelines.ts'), 'utf8')).toContain("name: 'my-orders'");
    const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(readme).toContain('npm test');
    expect(readme).toContain('npx partflow worker --pipelines ./pipelines.ts');
    expect(readme).not.toContain('__PIPELINE__');
    // SIGTERM to npx/npm does not reach the worker: the README says to run (and signal) node itself.
    expect(readme.replace(/\s+/g, ' ')).toContain('Under a process manager or in a container, start it with node itself: `node node_modules/.bin/partflow worker');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'schemas/order/v1.avsc'), 'utf8')).name).toBe('Order');
  });

  it('refuses a non-empty directory unless forced, and takes a name and a partflow spec', () => {
    const dir = path.join(tmp, 'busy');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    expect(() => scaffold(dir)).toThrow(`${dir} is not empty (notes.txt); choose an empty directory, or pass --force to write over files of the same names`);
    expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
    scaffold(dir, { force: true, name: 'trips', partflowSpec: 'file:../partflow-0.1.0.tgz' });
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    expect([pkg.name, pkg.dependencies.partflow]).toEqual(['trips', 'file:../partflow-0.1.0.tgz']);
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, '');
    expect(() => scaffold(file)).toThrow(`${file} exists and is not a directory`);
  });

  it('makes a path given as the partflow spec absolute, refuses one that does not exist, and keeps ranges and file: specs', () => {
    const tarball = path.join(tmp, 'partflow-9.9.9.tgz');
    fs.writeFileSync(tarball, '');
    expect(dependencySpec('partflow-9.9.9.tgz', tmp)).toBe(`file:${tarball}`);
    expect(dependencySpec('./partflow-9.9.9.tgz', tmp)).toBe(`file:${tarball}`);
    expect(dependencySpec(path.basename(tmp) + '/partflow-9.9.9.tgz', path.dirname(tmp))).toBe(`file:${tarball}`);
    expect(() => dependencySpec('./nope.tgz', tmp)).toThrow(`--partflow-spec ./nope.tgz: ${path.join(tmp, 'nope.tgz')} does not exist`);
    expect(dependencySpec('^0.1.0', tmp)).toBe('^0.1.0');
    expect(dependencySpec('file:../x.tgz', tmp)).toBe('file:../x.tgz');
  });

  it('derives a valid pipeline name from any directory name', () => {
    expect(nameFromDir('/x/Sales_2024 EU')).toBe('sales_2024-eu');
    expect(nameFromDir('/x/2024-data')).toBe('data');
    expect(nameFromDir('/x/___')).toBe('pipeline');
  });
});
