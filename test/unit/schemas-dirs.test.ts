import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chooseSchemasDir, defaultSchemasPlaces, withSchemasDir } from '../../src/api/schemas-dirs';
import { loadPipelinesModule } from '../../src/api/load-pipelines';
import { loadSchema, SCHEMAS_DIR } from '../../src/avro/schemas';
import { PROJECT_ROOT } from '../../src/config/paths';
import { definePipeline, defineStage } from '../../src';
import { runStage } from '../../src/testing';

process.env.PARTFLOW_LOG_LEVEL ??= 'error';

/**
 * Where pipelines given as definitions (createWorker, runWorker, runStage) find their schemas:
 * the schemas/ of the project of the script node runs, else of the current directory; and a
 * "not found" names the folders looked in, never one inside partflow's own package.
 */
const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'partflow-schemas-dirs-')));
const proj = path.join(root, 'app');
const elsewhere = path.join(root, 'elsewhere');
const script = path.join(proj, 'dist', 'worker.js');
beforeAll(() => {
  fs.mkdirSync(path.join(proj, 'dist'), { recursive: true });
  fs.mkdirSync(path.join(proj, 'schemas', 'sale'), { recursive: true });
  fs.mkdirSync(elsewhere);
  fs.writeFileSync(path.join(proj, 'package.json'), '{"name":"app"}');
  fs.writeFileSync(script, '');
  fs.writeFileSync(path.join(proj, 'schemas', 'sale', 'v1.avsc'), JSON.stringify({ type: 'record', name: 'Sale', fields: [{ name: 'id', type: 'long' }] }));
  fs.symlinkSync(script, path.join(root, 'linked.js'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const sale = defineStage<{ id: number }, { id: number }>({ name: 'clean', schema: 'sale', version: '1', transform: (r) => r });
const pipeline = definePipeline({ name: 'sales', stages: [sale] });

describe('schemas of pipelines given as definitions', () => {
  it("come from the main module's project, whatever the current directory", () => {
    const places = defaultSchemasPlaces(elsewhere, script);
    expect(places.map((p) => p.dir)).toEqual([path.join(proj, 'schemas'), path.join(elsewhere, 'schemas')]);
    const [p] = withSchemasDir([pipeline], places);
    expect(p.schemasDir).toBe(path.join(proj, 'schemas'));
    expect(loadSchema('sale', p.schemasDir).version).toBe(1);
  });

  it("follow a symlinked main module to its real project", () => {
    expect(defaultSchemasPlaces(elsewhere, path.join(root, 'linked.js'))[0].dir).toBe(path.join(proj, 'schemas'));
  });

  it('come from the current directory when the main module is a tool under node_modules (a test runner)', () => {
    const jest = path.join(PROJECT_ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
    expect(defaultSchemasPlaces(proj, jest).map((p) => p.dir)).toEqual([path.join(proj, 'schemas')]);
  });

  it('keep a schemasDir the pipeline names', () => {
    const own = { ...pipeline, schemasDir: '/somewhere/schemas' };
    expect(withSchemasDir([own], defaultSchemasPlaces(elsewhere, script))[0].schemasDir).toBe('/somewhere/schemas');
  });

  it('not found: the error names every folder looked in, not partflow\'s own', () => {
    const lone = path.join(root, 'lone');
    fs.mkdirSync(path.join(lone, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(lone, 'package.json'), '{}');
    fs.writeFileSync(path.join(lone, 'dist', 'w.js'), '');
    const dir = chooseSchemasDir(defaultSchemasPlaces(elsewhere, path.join(lone, 'dist', 'w.js')));
    let message = '';
    try {
      loadSchema('sale', dir);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`schema "sale" not found`);
    expect(message).toContain(`${path.join(lone, 'schemas')} (the project of the main module ${path.join(lone, 'dist', 'w.js')})`);
    expect(message).toContain(`${path.join(elsewhere, 'schemas')} (the current directory)`);
    expect(message).not.toContain(SCHEMAS_DIR);
  });

  it('--pipelines: a module whose project has no schemas/ is told so, with that folder', () => {
    const mod = path.join(root, 'lone2', 'pipelines.js');
    fs.mkdirSync(path.dirname(mod));
    fs.writeFileSync(path.join(root, 'lone2', 'package.json'), '{}');
    fs.writeFileSync(mod, 'module.exports = { pipelines: [{ name: "x", stages: [{ name: "s", schema: "sale", version: "1", transform: (r) => r }] }] };');
    const [p] = loadPipelinesModule(mod).pipelines;
    expect(p.schemasDir).toBe(path.join(root, 'lone2', 'schemas'));
    expect(() => loadSchema('sale', p.schemasDir)).toThrow(`${path.join(root, 'lone2', 'schemas')} (the project of ${mod})`);
  });
});

describe('runStage', () => {
  const cwd = process.cwd();
  afterEach(() => process.chdir(cwd));

  it("reads the current directory's schemas/ (under a test runner), and its not-found names that folder, not partflow's", async () => {
    process.chdir(proj);
    const res = await runStage(pipeline, sale, [{ id: 1 }]);
    expect(res.output).toEqual([{ id: 1 }]);
    process.chdir(elsewhere);
    await expect(runStage(pipeline, sale, [{ id: 1 }])).rejects.toThrow(`${path.join(elsewhere, 'schemas')} (the current directory)`);
    await expect(runStage(pipeline, sale, [{ id: 1 }])).rejects.not.toThrow(SCHEMAS_DIR);
  });
});

describe('createWorker', () => {
  const cwd = process.cwd();
  const argv1 = process.argv[1];
  afterEach(() => {
    process.chdir(cwd);
    process.argv[1] = argv1;
  });

  it("checks pipelines against the schemas of the main module's project, run from any directory", async () => {
    process.chdir(elsewhere);
    process.argv[1] = script;
    // A second problem stops the worker before it connects anywhere; the schema is not one of them.
    const broken = definePipeline({ name: 'sales', stages: [{ ...sale, after: ['nosuch'] }] });
    const { createWorker } = await import('../../src/api/worker');
    const err = await createWorker({ pipelines: [broken] }).then(() => undefined, (e: Error) => e);
    expect(err?.message).toContain('nosuch');
    expect(err?.message).not.toContain('schema "sale" not found');
  });
});
