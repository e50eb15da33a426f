import fs from 'node:fs';
import path from 'node:path';
import { noteSchemasSearch } from '../avro/schemas';
import { shapeProblems } from '../pipeline/definition-shape';
import type { PipelineDefinition } from '../pipeline/types';

/** A schemas/ folder a pipeline without schemasDir may read, and why it is looked in (for errors). */
export interface SchemasPlace {
  dir: string;
  why: string;
}

/** The nearest directory at or above `file` with a package.json: the user's project. */
export function projectDirOf(file: string): string {
  let dir = path.dirname(file);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.dirname(file);
    dir = up;
  }
}

/**
 * The schemas/ folder of the project of the script node runs (the nearest package.json above
 * process.argv[1]'s real path). None when that script sits under node_modules: a test runner's
 * or a tool's project is not the pipelines'.
 */
export function mainModuleSchemas(argv1: string | undefined = process.argv[1]): SchemasPlace | undefined {
  if (!argv1) return undefined;
  let real: string;
  try {
    real = fs.realpathSync(argv1);
  } catch {
    return undefined;
  }
  if (real.split(path.sep).includes('node_modules')) return undefined;
  return { dir: path.join(projectDirOf(real), 'schemas'), why: `the project of the main module ${real}` };
}

/**
 * Where a pipeline given as a definition (createWorker, runWorker, runStage) finds its schemas
 * without a schemasDir: its main module's project, else the current directory.
 */
export function defaultSchemasPlaces(cwd = process.cwd(), argv1: string | undefined = process.argv[1]): SchemasPlace[] {
  const places = [mainModuleSchemas(argv1), { dir: path.join(path.resolve(cwd), 'schemas'), why: 'the current directory' }];
  return places.filter((p, i): p is SchemasPlace => p !== undefined && places.findIndex((q) => q?.dir === p.dir) === i);
}

/**
 * The first of `places` that exists. When none does, the first, noted so that a schema's "not
 * found" error names every folder looked in rather than one.
 */
export function chooseSchemasDir(places: SchemasPlace[]): string {
  const found = places.find((p) => fs.existsSync(p.dir));
  if (found) return found.dir;
  noteSchemasSearch(places[0].dir, places.map((p) => `${p.dir} (${p.why})`));
  return places[0].dir;
}

/**
 * Pipelines without a schemasDir get the first of `places` that exists (see chooseSchemasDir).
 * Elements that are no pipeline definition are left as they are, for the registry to name.
 */
export function withSchemasDir(pipelines: PipelineDefinition[], places: SchemasPlace[]): PipelineDefinition[] {
  const needs = (p: PipelineDefinition) => shapeProblems(p).length === 0 && !p.schemasDir;
  if (!pipelines.some(needs)) return pipelines;
  const dir = chooseSchemasDir(places);
  return pipelines.map((p) => (needs(p) ? { ...p, schemasDir: dir } : p));
}
