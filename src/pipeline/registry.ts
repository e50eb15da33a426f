import { checkPipeline } from './dag';
import { PipelineDefinition, PipelineInfo } from './types';

/** The pipelines a worker can run, checked when they are registered (that is, at worker start). */
export class PipelineRegistry {
  private readonly defs = new Map<string, { def: PipelineDefinition; info: PipelineInfo }>();

  constructor(pipelines: PipelineDefinition[] = []) {
    for (const p of pipelines) this.register(p);
  }

  register(def: PipelineDefinition): PipelineInfo {
    if (this.defs.has(def.name)) throw new Error(`pipeline "${def.name}" is registered twice`);
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
