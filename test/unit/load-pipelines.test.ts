import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPipelineModules, pipelinesOf } from '../../src/api/load-pipelines';
import { createWorker, runWorker } from '../../src/api/worker';
import { ConfigError } from '../../src/config/errors';
import { PipelineDefinitionError } from '../../src/pipeline/dag';
import { builtinPipelines } from '../../src/pipelines';

/** What `--pipelines <module>` says of a module that does not export pipeline definitions. */
const t = (r: unknown) => r;
const good = { name: 'ok', stages: [{ name: 'a', schema: 'x@1', version: '1', transform: t }] };
const errorOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('pipelinesOf', () => {
  it('names every element that is not a pipeline definition, by index and name, and what it lacks, with the module', () => {
    const found = pipelinesOf({ pipelines: [good, { stages: [] }, { name: 'nostages' }, null, { name: 5, stages: {} }] }, '--pipelines ./defs.js');
    expect(found.pipelines).toEqual([good]);
    expect(new PipelineDefinitionError([], found.notDefinitions).message).toBe('--pipelines ./defs.js: 4 elements of `pipelines` are not a pipeline definition (an object with a "name" and "stages", from definePipeline):\n'
      + '  - pipelines[1]: it has no "name"\n'
      + '  - pipelines[2] ("nostages"): it has no "stages" (an array of stage definitions)\n'
      + '  - pipelines[3]: it is null, not a pipeline definition (an object from definePipeline)\n'
      + '  - pipelines[4]: its "name" is the number 5, not a string; its "stages" is an object, not an array of stage definitions');
  });

  it('says what the module exports when it exports no pipelines, and that an array is empty', () => {
    expect(errorOf(() => pipelinesOf({ pipeline: [good] } as never, 'm'))).toMatch(/^m: export `pipelines`, .*; it exports `pipeline`$/);
    expect(errorOf(() => pipelinesOf({}, 'm'))).toMatch(/it exports nothing$/);
    expect(errorOf(() => pipelinesOf({ pipelines: [] }, 'm'))).toMatch(/^m: `pipelines` is an empty array/);
    expect(errorOf(() => pipelinesOf({ default: { name: 'x' } }, 'm'))).toMatch(/^m: the default export is neither an array of pipeline definitions nor one: it has no "stages"/);
    const dflt = pipelinesOf({ default: [good, 'x'] }, 'm');
    expect(new PipelineDefinitionError([], dflt.notDefinitions).message).toMatch(/^m: an element of the default export is not a pipeline definition [^\n]*\n {2}- default\[1\]: it is the string "x"/);
  });

  it('takes an array, a default export, or one pipeline', () => {
    for (const mod of [{ pipelines: [good] }, { default: { pipelines: [good] } }, { default: good }]) {
      expect(pipelinesOf(mod, 'm')).toEqual({ pipelines: [good], notDefinitions: [] });
    }
  });
});

describe('loadPipelineModules (worker and up --pipelines)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-load-pipelines-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const rejectionOf = (specs: string[]): PipelineDefinitionError => {
    try {
      loadPipelineModules(specs);
    } catch (e) {
      expect(e).toBeInstanceOf(PipelineDefinitionError);
      return e as PipelineDefinitionError;
    }
    throw new Error('expected an error');
  };

  it('names, in one error, an element that is no definition with every problem of every invalid pipeline, a built-in\'s name taken included', () => {
    // It named pipelines[2] alone; the other problems showed only once that element was gone.
    const file = write('defs.js', BAD_MODULE);
    const err = rejectionOf([file]);
    expect(err.notDefinitions).toEqual([{ element: 'pipelines[2] ("orders")', problems: ['it has no "stages" (an array of stage definitions)'], list: { where: `--pipelines ${file}`, label: '`pipelines`' } }]);
    expect(err.invalid.map((i) => i.pipeline)).toEqual(['cyc', 'copy', 'bad2']);
    const lines = err.message.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      `--pipelines ${file}: an element of \`pipelines\` is not a pipeline definition (an object with a "name" and "stages", from definePipeline):`,
      '  - pipelines[2] ("orders"): it has no "stages" (an array of stage definitions)',
      'pipeline "cyc" is invalid:',
    ]);
    for (const problem of [
      '  - stages form a cycle: a -> b -> a',
      'pipeline "copy" is invalid:',
      '  - its name clashes with partflow\'s built-in pipeline "copy" (which `partflow worker` and `partflow up` register): give yours another name',
      'pipeline "bad2" is invalid:',
      '  - stage "x" is defined twice',
      '  - stage "x": transform is the number 5, not a function',
    ]) expect(lines).toContain(problem);
    expect(err.message).toMatch(/^ {2}- stage "x": schema "nope" not found/m);
  });

  it('names each module with its own elements, and returns the built-ins and every pipeline when all are valid', () => {
    const a = write('a.js', 'exports.pipelines = [{ name: "one", stages: [] }, 5];');
    const b = write('b.js', 'exports.default = [{ stages: [] }];');
    expect(rejectionOf([a, b]).message).toMatch(new RegExp(`^--pipelines ${a}: an element of \`pipelines\` [^\n]*\n {2}- pipelines\\[1\\]: it is the number 5[^\n]*\n`
      + `--pipelines ${b}: an element of the default export [^\n]*\n {2}- default\\[0\\]: it has no "name"\n`
      + 'pipeline "one" is invalid:\n {2}- it has no stages$'));
    fs.mkdirSync(path.join(dir, 'schemas', 'x'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'schemas', 'x', 'v1.avsc'), JSON.stringify({ type: 'record', name: 'x', fields: [{ name: 'id', type: 'long' }] }));
    const ok = write('ok.js', 'exports.pipelines = [{ name: "mine", stages: [{ name: "a", schema: "x@1", version: "1", transform: (r) => r }] }];');
    expect(loadPipelineModules([ok]).map((p) => p.name)).toEqual([...builtinPipelines.map((p) => p.name), 'mine']);
  });
});

/** pipelines[2] is no definition; the others are invalid each in their own ways. */
const BAD_MODULE = `const t = (r) => r;
exports.pipelines = [
  { name: 'cyc', stages: [{ name: 'a', after: ['b'], schema: 'order@1', version: '1', transform: t }, { name: 'b', after: ['a'], schema: 'order@1', version: '1', transform: t }] },
  { name: 'copy', stages: [{ name: 'x', schema: 'order@1', version: '1', transform: t }] },
  { name: 'orders' },
  { name: 'bad2', stages: [{ name: 'x', schema: 'nope@1', version: '1', transform: 5 }, { name: 'x', schema: 'order@1', version: '1', transform: t, after: ['zz'] }] },
];
`;

describe('createWorker', () => {
  /** createWorker(opts)'s rejection: a throw before its promise fails the test (a caller's .catch would never run). */
  const rejectionOf = async (opts: unknown): Promise<Error> => {
    let p: Promise<unknown> | undefined;
    expect(() => { p = createWorker(opts as never); }).not.toThrow();
    try {
      await p;
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected a rejection');
  };

  it('rejects with one PipelineDefinitionError naming the elements that are no definition with the other invalid pipelines, before anything reads them', async () => {
    const err = await rejectionOf({ pipelines: [good, undefined, { nome: 'typo' }], config: {} });
    expect(err).toBeInstanceOf(PipelineDefinitionError);
    expect(err.message).toMatch(/^2 elements of `pipelines` are not a pipeline definition [^\n]*\n {2}- pipelines\[1\]: it is undefined[^\n]*\n {2}- pipelines\[2\]: it has no "name"; it has no "stages"[^\n]*\npipeline "ok" is invalid:\n {2}- stage "a": schema "x" not found/);
  });

  it('rejects, rather than throws, for a bad setting and for `pipelines` that is not an array', async () => {
    const was = process.env.PARTFLOW_S3_PATH_STYLE;
    process.env.PARTFLOW_S3_PATH_STYLE = 'maybe';
    try {
      expect((await rejectionOf({ pipelines: [good] })).message).toMatch(/^PARTFLOW_S3_PATH_STYLE must be true/);
    } finally {
      if (was === undefined) delete process.env.PARTFLOW_S3_PATH_STYLE;
      else process.env.PARTFLOW_S3_PATH_STYLE = was;
    }
    expect((await rejectionOf({ pipelines: 'x', config: {} })).message).toBe('createWorker: `pipelines` is the string "x", not an array of pipeline definitions');
  });

  it('refuses a concurrency, and runWorker a number of processes, that the CLI and environment would refuse, naming the option', async () => {
    for (const [concurrency, shown] of [[0, '0'], [2.5, '2.5'], [NaN, 'NaN'], ['4', '"4"']] as const) {
      const err = await rejectionOf({ pipelines: [good], config: {}, concurrency });
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toBe(`createWorker: concurrency must be an integer from 1 to 1000, got ${shown}`);
    }
    // NaN (what Number(process.env.X) gives for garbage) started a supervisor that forked nothing and exited 0.
    for (const [processes, shown] of [[NaN, 'NaN'], [0, '0'], [300, '300'], [2.5, '2.5']] as const) {
      await expect(runWorker({ pipelines: [good], config: {} as never, processes })).rejects.toThrow(`runWorker: processes must be an integer from 1 to 256, got ${shown}`);
    }
  });
});
