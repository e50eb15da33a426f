import { checkPipeline, PipelineDefinitionError, PipelineProblems } from './dag';
import { PipelineDefinition, PipelineInfo } from './types';
import { builtinPipelines } from '../pipelines';

/** The pipelines a worker can run, checked when they are registered (that is, at worker start). */
export class PipelineRegistry {
  private readonly defs = new Map<string, { def: PipelineDefinition; info: PipelineInfo }>();

  /**
   * Registers every pipeline, or throws one PipelineDefinitionError listing every problem of
   * every invalid one (fixing them one worker start at a time would take a start per problem).
   * `builtins`: the definitions partflow registers itself (`partflow worker`, `up`), so that a pipeline of yours named like one
   * is told it clashes with the built-in rather than that it is registered twice.
   */
  constructor(pipelines: PipelineDefinition[] = [], builtins: readonly PipelineDefinition[] = builtinPipelines) {
    const invalid: PipelineProblems[] = [];
    for (const p of pipelines) {
      const earlier = this.defs.get(p.name)?.def;
      if (earlier) {
        invalid.push({
          pipeline: p.name,
          problems: [builtins.includes(earlier) && !builtins.includes(p)
            ? `its name clashes with partflow's built-in pipeline "${p.name}" (which \`partflow worker\` and \`partflow up\` register): give yours another name`
            : 'it is registered twice (two definitions with this name)'],
        });
        continue;
      }
      try {
        this.register(p);
      } catch (err) {
        if (!(err instanceof PipelineDefinitionError)) throw err;
        invalid.push(...err.invalid);
      }
    }
    if (invalid.length) throw new PipelineDefinitionError(invalid);
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
