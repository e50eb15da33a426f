import { checkPipeline, PipelineDefinitionError } from '../../src/pipeline/dag';
import { PipelineRegistry } from '../../src/pipeline/registry';
import { StageDefinition } from '../../src/pipeline/types';
import { builtinPipelines } from '../../src/pipelines';

const t = (r: unknown) => r;
const stage = (name: string, extra: Partial<StageDefinition> = {}): StageDefinition => ({ name, schema: 'birdstrike@1', version: '1', transform: t, ...extra });

describe('pipeline DAG checks', () => {
  it('orders a diamond topologically and defaults "after" to the previous stage', () => {
    expect(checkPipeline({ name: 'chain', stages: [stage('a'), stage('b')] }).stages.map((s) => s.after)).toEqual([['raw'], ['a']]);
    const info = checkPipeline({
      name: 'diamond',
      stages: [
        stage('join', { after: ['left', 'right'] }),
        stage('left', { after: ['base'] }),
        stage('base', { after: ['raw'] }),
        stage('right', { after: ['base'] }),
        stage('tail'),
      ],
    });
    expect(info.stages.map((s) => s.name)).toEqual(['base', 'left', 'right', 'join', 'tail']);
    expect(info.stages.find((s) => s.name === 'base')!.after).toEqual(['raw']);
    expect(info.stages.find((s) => s.name === 'tail')!.after).toEqual(['right']);
    expect(info.stages[0].schemaFingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reports a cycle with the stages in it', () => {
    expect(() => checkPipeline({ name: 'loop', stages: [stage('a', { after: ['b'] }), stage('b', { after: ['a'] })] }))
      .toThrow(/stages form a cycle: a -> b -> a$/);
  });

  it('reports every definition problem in one error', () => {
    let err: Error | undefined;
    try {
      checkPipeline({
        name: 'bad',
        stages: [
          stage('a', { after: ['ghost'] }),
          stage('a'),
          stage('raw'),
          stage('c', { schema: 'no_such_schema' }),
          stage('d', { version: '' }),
          stage('e', { transform: undefined as never }),
        ],
      });
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(PipelineDefinitionError);
    const msg = err!.message;
    expect(msg).toMatch(/depends on unknown stage "ghost"/);
    expect(msg).toMatch(/stage "a" is defined twice/);
    expect(msg).toMatch(/"raw" is reserved/);
    expect(msg).toMatch(/schema "no_such_schema" not found/);
    expect(msg).toMatch(/stage "d" needs a version/);
    expect(msg).toMatch(/stage "e" has no transform/);
  });

  it('refuses a stage that lists an upstream stage more than once', () => {
    expect(() => checkPipeline({ name: 'twice', stages: [stage('a'), stage('b', { after: ['a', 'raw', 'a', 'a'] })] }))
      .toThrow(/^pipeline "twice" is invalid:\n {2}- stage "b" lists "a" more than once in "after"$/);
    expect(() => checkPipeline({ name: 'raw-twice', stages: [stage('a', { after: ['raw', 'raw'] })] }))
      .toThrow(/stage "a" lists "raw" more than once in "after"/);
    expect(() => checkPipeline({ name: 'str', stages: [stage('a', { after: 'raw' as never })] }))
      .toThrow(/stage "a" has an "after" that is not a list of stage names/);
  });

  it('checks lookup definitions: a key, a known format, and columns as names', () => {
    const lookups = { a: { defaultKey: '', format: 'csv' }, b: { defaultKey: 'b.csv', format: 'xlsx' }, c: { defaultKey: 'c.csv', format: 'csv', columns: 'iata' } };
    expect(() => checkPipeline({ name: 'lk', lookups: lookups as never, stages: [stage('a')] })).toThrow(
      /lookup "a" needs a defaultKey[^]*lookup "b" has format "xlsx": csv, jsonl or avro[^]*lookup "c" has columns that are not a list of column names/,
    );
    expect(() => checkPipeline({ name: 'ok', lookups: { a: { defaultKey: 'a.csv', format: 'csv', columns: ['iata'] } }, stages: [stage('a')] })).not.toThrow();
  });

  it('insists that an inherited schema has exactly one input', () => {
    expect(() => checkPipeline({ name: 'x', stages: [stage('a'), stage('b'), stage('c', { schema: '@input', after: ['a', 'b'] })] }))
      .toThrow(/uses schema "@input" and so must read exactly one stage/);
  });

  it('registers the built-in pipelines and refuses duplicates', () => {
    const reg = new PipelineRegistry(builtinPipelines);
    expect(reg.names()).toEqual(['birdstrikes', 'copy']);
    expect(reg.get('birdstrikes')!.info.stages.map((s) => [s.name, s.after])).toEqual([['map', ['raw']], ['enrich', ['map']]]);
    expect(() => reg.register(builtinPipelines[0])).toThrow(/registered twice/);
  });
});

describe('pipeline checks at worker start say everything at once', () => {
  const problemsOf = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(PipelineDefinitionError);
      return (e as Error).message;
    }
    throw new Error('expected a PipelineDefinitionError');
  };

  it('lists every problem of every invalid pipeline in one error', () => {
    const msg = problemsOf(() => new PipelineRegistry([
      ...builtinPipelines,
      { name: 'one', stages: [stage('a', { schema: 'no_such_schema' })] },
      { name: 'fine', stages: [stage('a')] },
      { name: 'two', stages: [stage('a', { version: '' }), stage('b', { after: ['ghost'] })] },
    ]));
    expect(msg).toMatch(/^pipeline "one" is invalid:\n {2}- stage "a": schema "no_such_schema" not found[^\n]*\npipeline "two" is invalid:\n {2}- stage "a" needs a version[^\n]*\n {2}- stage "b" depends on unknown stage "ghost"$/);
    let err: PipelineDefinitionError | undefined;
    try {
      new PipelineRegistry([{ name: 'one', stages: [] }, { name: 'two', stages: [] }]);
    } catch (e) {
      err = e as PipelineDefinitionError;
    }
    expect(err!.invalid).toEqual([{ pipeline: 'one', problems: ['it has no stages'] }, { pipeline: 'two', problems: ['it has no stages'] }]);
  });

  it('a stage defined twice is reported as that, without "depends on itself"', () => {
    const msg = problemsOf(() => checkPipeline({ name: 'dup', stages: [stage('a'), stage('a')] }));
    expect(msg).toBe('pipeline "dup" is invalid:\n  - stage "a" is defined twice');
    // Named in its own "after", it does depend on itself, and that is said once (not again as a cycle).
    expect(problemsOf(() => checkPipeline({ name: 'self', stages: [stage('a', { after: ['a'] })] }))).toBe('pipeline "self" is invalid:\n  - stage "a" depends on itself');
  });

  it('prints a cycle closed, in the direction records flow, and only the stages in it', () => {
    expect(problemsOf(() => checkPipeline({ name: 'loop', stages: [stage('a', { after: ['b'] }), stage('b', { after: ['a'] })] })))
      .toBe('pipeline "loop" is invalid:\n  - stages form a cycle: a -> b -> a');
    // c reads b, b reads a, a reads c; d only waits on the cycle.
    expect(problemsOf(() => checkPipeline({ name: 'ring', stages: [stage('a', { after: ['c'] }), stage('b', { after: ['a'] }), stage('c', { after: ['b'] }), stage('d', { after: ['c'] })] })))
      .toBe('pipeline "ring" is invalid:\n  - stages form a cycle: a -> b -> c -> a');
    // Reported with the other problems, not after they are fixed.
    expect(problemsOf(() => checkPipeline({ name: 'both', stages: [stage('a', { after: ['b'], version: '' }), stage('b', { after: ['a'] })] })))
      .toMatch(/needs a version[^]*stages form a cycle: a -> b -> a$/);
  });

  it("a pipeline of yours named like a built-in is told it clashes with the built-in", () => {
    const mine = { name: 'copy', stages: [stage('a')] };
    expect(problemsOf(() => new PipelineRegistry([...builtinPipelines, mine])))
      .toBe('pipeline "copy" is invalid:\n  - its name clashes with partflow\'s built-in pipeline "copy" (which `partflow worker` and `partflow up` register): give yours another name');
    expect(problemsOf(() => new PipelineRegistry([mine, { ...mine }]))).toBe('pipeline "copy" is invalid:\n  - it is registered twice (two definitions with this name)');
  });

  it('a duplicate name is reported when the first copy is invalid too, with that copy\'s problems', () => {
    const broken = { name: 'copy2', stages: [stage('a', { version: '' })] };
    const fixed = { name: 'copy2', stages: [stage('a')] };
    expect(problemsOf(() => new PipelineRegistry([broken, fixed, fixed])))
      .toMatch(/^pipeline "copy2" is invalid:\n {2}- stage "a" needs a version[^\n]*\n {2}- it is registered twice \(two definitions with this name\)$/);
    let err: PipelineDefinitionError | undefined;
    try {
      new PipelineRegistry([broken, fixed]);
    } catch (e) {
      err = e as PipelineDefinitionError;
    }
    expect(err!.invalid).toHaveLength(1);
    expect(err!.invalid[0].problems).toHaveLength(2);
  });

  it('names the elements that are no pipeline definition in the same error as the invalid pipelines', () => {
    let err: PipelineDefinitionError | undefined;
    try {
      new PipelineRegistry([{ name: 'one', stages: [] }, null, { nome: 'typo' }, { name: 'one', stages: [] }] as never);
    } catch (e) {
      err = e as PipelineDefinitionError;
    }
    expect(err).toBeInstanceOf(PipelineDefinitionError);
    expect(err!.message).toBe('2 elements of `pipelines` are not a pipeline definition (an object with a "name" and "stages", from definePipeline):\n'
      + '  - pipelines[1]: it is null, not a pipeline definition (an object from definePipeline)\n'
      + '  - pipelines[2]: it has no "name"; it has no "stages" (an array of stage definitions)\n'
      + 'pipeline "one" is invalid:\n  - it has no stages\n  - it is registered twice (two definitions with this name)');
    expect(err!.notDefinitions.map((d) => d.element)).toEqual(['pipelines[1]', 'pipelines[2]']);
    expect(err!.invalid).toEqual([{ pipeline: 'one', problems: ['it has no stages', 'it is registered twice (two definitions with this name)'] }]);
  });

  it('says a missing schema is missing, rather than looking for a schema named "undefined"', () => {
    const msg = problemsOf(() => checkPipeline({ name: 'noschema', stages: [stage('a', { schema: undefined as never }), stage('b', { schema: 5 as never })] }));
    expect(msg).toMatch(/stage "a": schema is missing \(expected "name@N"/);
    expect(msg).toMatch(/stage "b": schema is the number 5, not a string like "name@N"/);
    expect(msg).not.toMatch(/undefined/);
  });

  it('refuses at start-up a setup or transform that is not a function, which every partition attempt would fail on', () => {
    const msg = problemsOf(() => checkPipeline({ name: 'fns', stages: [
      stage('a', { setup: 5 as never }),
      stage('b', { transform: 'x' as never }),
      stage('c', { setup: async () => 1 }),
    ] }));
    expect(msg).toBe('pipeline "fns" is invalid:\n  - stage "a": setup is the number 5, not a function (leave it out for none)\n  - stage "b": transform is the string "x", not a function');
  });

  it('names a stage that is not an object, and a version of another type, instead of failing on them', () => {
    const msg = problemsOf(() => checkPipeline({ name: 'odd', stages: [stage('a'), null as never, stage('b', { version: 1 as never, lookups: 'fx' as never })] }));
    expect(msg).toMatch(/stages\[1\] is null, not a stage definition/);
    expect(msg).toMatch(/stage "b" needs a version string like "1" or "2024.1" \(letters, digits, \. _ -\), not the number 1/);
    expect(msg).toMatch(/stage "b": lookups must be a list of lookup names/);
  });
});
