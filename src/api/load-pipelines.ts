import fs from 'node:fs';
import path from 'node:path';
import type { PipelineDefinition } from '../pipeline/types';
import { projectDirOf, withSchemasDir } from './schemas-dirs';

export { projectDirOf } from './schemas-dirs';

let tsxRegistered = false;

/** Lets require() load TypeScript (tsx's CommonJS hook), so a project's pipelines.ts runs without a build step. */
function registerTypeScript(): void {
  if (tsxRegistered) return;
  tsxRegistered = true;
  // tsx is reached through its package exports, which this compiler setting does not read.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  (require('tsx/cjs/api') as { register(): () => void }).register();
}

function isPipeline(v: unknown): v is PipelineDefinition {
  return typeof v === 'object' && v !== null && typeof (v as PipelineDefinition).name === 'string' && Array.isArray((v as PipelineDefinition).stages);
}

/**
 * Loads a module's pipelines: its `pipelines` export (an array), or its default export (an
 * array or one pipeline). `.ts` modules are compiled on the fly. Pipelines that name no
 * schemasDir read the schemas/ folder of the module's project.
 */
export function loadPipelinesModule(spec: string): PipelineDefinition[] {
  const file = path.resolve(spec);
  if (!fs.existsSync(file)) throw new Error(`--pipelines ${spec}: no such file (${file})`);
  if (/\.[cm]?ts$/.test(file)) registerTypeScript();
  let mod: { pipelines?: unknown; default?: unknown };
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    mod = require(file);
  } catch (err) {
    throw new Error(`--pipelines ${spec}: cannot load it: ${(err as Error).message}`);
  }
  const found = mod.pipelines ?? (mod.default as { pipelines?: unknown } | undefined)?.pipelines ?? mod.default;
  const list = isPipeline(found) ? [found] : found;
  if (!Array.isArray(list) || list.length === 0 || !list.every(isPipeline)) {
    throw new Error(`--pipelines ${spec}: export \`pipelines\`, an array of pipeline definitions (from definePipeline), or one as the default export`);
  }
  return withSchemasDir(list, [{ dir: path.join(projectDirOf(file), 'schemas'), why: `the project of ${file}` }]);
}
