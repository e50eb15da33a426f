import { checkPipeline, PipelineDefinitionError, PipelineProblems } from './dag';
import { notDefinitionsIn, shapeProblems } from './definition-shape';
import { PipelineDefinition, PipelineInfo } from './types';
import { builtinPipelines } from '../pipelines';

/** The pipelines a worker can run, checked when they are registered (that is, at worker start). */
export class PipelineRegistry {
  private readonly defs = new Map<string, { def: PipelineDefinition; info: PipelineInfo }>();

  /**
   * Registers every pipeline, or throws one PipelineDefinitionError listing every problem of
   * every invalid one (fixing them one worker start at a time would take a start per problem),
   * and every element that is no pipeline definition at all (createWorker passes its caller's
   * list unchecked, so that these are listed with the rest rather than alone, first).
   * `builtins`: the definitions partflow registers itself (`partflow worker`, `up`), so that a pipeline of yours named like one
   * is told it clashes with the built-in rather than that it is registered twice.
   */
  constructor(pipelines: PipelineDefinition[] = [], builtins: readonly PipelineDefinition[] = builtinPipelines) {
    const notDefinitions = notDefinitionsIn(pipelines);
    const invalid: PipelineProblems[] = [];
    // The first definition of each name, valid or not: a second is a duplicate either way.
    const first = new Map<string, PipelineDefinition>();
    for (const p of pipelines) {
      if (shapeProblems(p).length) continue;
      const earlier = first.get(p.name);
      if (earlier) {
        const problem = builtins.includes(earlier) && !builtins.includes(p)
          ? `its name clashes with partflow's built-in pipeline "${p.name}" (which \`partflow worker\` and \`partflow up\` register): give yours another name`
          : 'it is registered twice (two definitions with this name)';
        // The first copy's own problems, when it has any, and this in one entry for the name.
        const listed = invalid.find((i) => i.pipeline === p.name);
        if (!listed) invalid.push({ pipeline: p.name, problems: [problem] });
        else if (!listed.problems.includes(problem)) listed.problems.push(problem);
        continue;
      }
      first.set(p.name, p);
      try {
        this.register(p);
      } catch (err) {
        if (!(err instanceof PipelineDefinitionError)) throw err;
        invalid.push(...err.invalid);
      }
    }
    if (invalid.length || notDefinitions.length) throw new PipelineDefinitionError(invalid, notDefinitions);
  }

  register(def: PipelineDefinition): PipelineInfo {
    if (this.defs.has(def.name)) throw new PipelineDefinitionError(def.name, ['it is registered twice (two definitions with this name)']);
    const info = checkPipeline(def);
    this.defs.set(def.name, { def, info });
    return info;
  }

  names(): string[] {
    return [...this.defs.keys()].sort();
  }

  get(name: string): { def: PipelineDefinition; info: PipelineInfo } | undefined {
    return this.defs.get(name);
  }
}
