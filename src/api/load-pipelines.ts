import fs from 'node:fs';
import path from 'node:path';
import type { PipelineDefinition } from '../pipeline/types';
import { assertPipelineList, shapeProblems } from '../pipeline/definition-shape';
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
  return withSchemasDir(pipelinesOf(mod, `--pipelines ${spec}`), [{ dir: path.join(projectDirOf(file), 'schemas'), why: `the project of ${file}` }]);
}

const EXPECTED = 'export `pipelines`, an array of pipeline definitions (from definePipeline), or one as the default export';

/** The module's pipelines, or an error naming what it exports instead and, element by element, what is wrong. */
export function pipelinesOf(mod: { pipelines?: unknown; default?: unknown }, where: string): PipelineDefinition[] {
  const dflt = mod.default as { pipelines?: unknown } | undefined;
  const [value, name] = mod.pipelines !== undefined ? [mod.pipelines, 'pipelines']
    : dflt?.pipelines !== undefined ? [dflt.pipelines, 'default.pipelines']
      : [mod.default, 'the default export'];
  if (value === undefined) {
    const keys = Object.keys(mod).filter((k) => k !== '__esModule');
    throw new Error(`${where}: ${EXPECTED}; it exports ${keys.length ? keys.map((k) => `\`${k}\``).join(', ') : 'nothing'}`);
  }
  const label = name === 'the default export' ? name : `\`${name}\``;
  if (Array.isArray(value)) {
    if (value.length === 0) throw new Error(`${where}: ${label} is an empty array: ${EXPECTED}`);
    assertPipelineList(value, where, label, name === 'the default export' ? 'default' : name);
    return value;
  }
  const problems = shapeProblems(value);
  if (problems.length === 0) return [value as PipelineDefinition];
  throw new Error(`${where}: ${label} is neither an array of pipeline definitions nor one: ${problems.join('; ')}. ${EXPECTED[0].toUpperCase()}${EXPECTED.slice(1)}`);
}
