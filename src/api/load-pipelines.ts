import fs from 'node:fs';
import path from 'node:path';
import type { PipelineDefinition } from '../pipeline/types';
import { NotADefinition, notDefinitionsIn, shapeProblems } from '../pipeline/definition-shape';
import { PipelineDefinitionError, PipelineProblems } from '../pipeline/dag';
import { PipelineRegistry } from '../pipeline/registry';
import { builtinPipelines } from '../pipelines';
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

/** A module's pipeline definitions, and the elements of its list that are none (named with the module). */
export interface ModulePipelines {
  pipelines: PipelineDefinition[];
  notDefinitions: NotADefinition[];
}

/**
 * Loads a module's pipelines: its `pipelines` export (an array), or its default export (an
 * array or one pipeline). `.ts` modules are compiled on the fly. Pipelines that name no
 * schemasDir read the schemas/ folder of the module's project.
 */
export function loadPipelinesModule(spec: string): ModulePipelines {
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
  const found = pipelinesOf(mod, `--pipelines ${spec}`);
  return { ...found, pipelines: withSchemasDir(found.pipelines, [{ dir: path.join(projectDirOf(file), 'schemas'), why: `the project of ${file}` }]) };
}

/**
 * The pipelines of the `--pipelines` modules after `builtins` (`partflow worker`, `up`), checked
 * together as createWorker checks its list: one PipelineDefinitionError names every element that
 * is no definition (by module and index) and every problem of every invalid pipeline, a clash
 * with a built-in's name included, rather than the first module's elements alone (whose fix then
 * revealed the rest).
 */
export function loadPipelineModules(specs: readonly string[], builtins: readonly PipelineDefinition[] = builtinPipelines): PipelineDefinition[] {
  if (specs.length === 0) return [...builtins];
  const loaded = specs.map((m) => loadPipelinesModule(m));
  const all = [...builtins, ...loaded.flatMap((l) => l.pipelines)];
  const notDefinitions = loaded.flatMap((l) => l.notDefinitions);
  let invalid: PipelineProblems[] = [];
  try {
    new PipelineRegistry(all, builtins);
  } catch (err) {
    if (!(err instanceof PipelineDefinitionError)) throw err;
    invalid = err.invalid;
  }
  if (invalid.length || notDefinitions.length) throw new PipelineDefinitionError(invalid, notDefinitions);
  return all;
}

const EXPECTED = 'export `pipelines`, an array of pipeline definitions (from definePipeline), or one as the default export';

/**
 * The module's pipelines and, element by element, what is wrong with those of its list that are
 * no definition (for the caller to name with the other invalid pipelines); an error naming what
 * it exports instead when it exports no list or definition.
 */
export function pipelinesOf(mod: { pipelines?: unknown; default?: unknown }, where: string): ModulePipelines {
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
    const notDefinitions = notDefinitionsIn(value, name === 'the default export' ? 'default' : name, { where, label });
    return { pipelines: value.filter((v) => shapeProblems(v).length === 0) as PipelineDefinition[], notDefinitions };
  }
  const problems = shapeProblems(value);
  if (problems.length === 0) return { pipelines: [value as PipelineDefinition], notDefinitions: [] };
  throw new Error(`${where}: ${label} is neither an array of pipeline definitions nor one: ${problems.join('; ')}. ${EXPECTED[0].toUpperCase()}${EXPECTED.slice(1)}`);
}
