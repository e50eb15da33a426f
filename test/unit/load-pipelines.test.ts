import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPipelinesModule, pipelinesOf } from '../../src/api/load-pipelines';
import { createWorker, runWorker } from '../../src/api/worker';
import { ConfigError } from '../../src/config/errors';
import { PipelineDefinitionError } from '../../src/pipeline/dag';

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
  it('names every element that is not a pipeline definition, by index and name, and what it lacks', () => {
    const msg = errorOf(() => pipelinesOf({ pipelines: [good, { stages: [] }, { name: 'nostages' }, null, { name: 5, stages: {} }] }, '--pipelines ./defs.js'));
    expect(msg).toBe('--pipelines ./defs.js: 4 elements of `pipelines` are not a pipeline definition (an object with a "name" and "stages", from definePipeline):\n'
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
    expect(errorOf(() => pipelinesOf({ default: [good, 'x'] }, 'm'))).toMatch(/an element of the default export is not a pipeline definition [^\n]*\n {2}- default\[1\]: it is the string "x"/);
  });

  it('takes an array, a default export, or one pipeline', () => {
    expect(pipelinesOf({ pipelines: [good] }, 'm')).toEqual([good]);
    expect(pipelinesOf({ default: { pipelines: [good] } }, 'm')).toEqual([good]);
    expect(pipelinesOf({ default: good }, 'm')).toEqual([good]);
  });

  it('is what loadPipelinesModule says of a module file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-load-pipelines-'));
    const file = path.join(dir, 'defs.js');
    fs.writeFileSync(file, 'exports.pipelines = [{ name: "p1", stages: [] }, { stages: [] }];');
    expect(errorOf(() => loadPipelinesModule(file))).toMatch(/^--pipelines \S+defs\.js: an element of `pipelines` is not a pipeline definition [^\n]*\n {2}- pipelines\[1\]: it has no "name"$/);
    fs.rmSync(dir, { recursive: true });
  });
});

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
