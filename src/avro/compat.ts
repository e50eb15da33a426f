import { Type } from 'avsc';
import { resolutionProblem } from './resolution-problem';
import { listSchemaNames, loadSchema, schemaVersions, SCHEMAS_DIR } from './schemas';

/**
 * Schema compatibility as a schema registry checks it:
 *  - backward: the new schema can read data written with the old one (consumers upgrade first);
 *  - forward:  the old schema can read data written with the new one (producers upgrade first);
 *  - full:     both.
 * Checks are transitive: each version against every earlier one.
 */
export type CompatMode = 'backward' | 'forward' | 'full';
export const COMPAT_MODES: readonly CompatMode[] = ['backward', 'forward', 'full'];

export function compatProblems(newer: Type, older: Type, mode: CompatMode): string[] {
  const problems: string[] = [];
  if (mode !== 'forward') {
    const p = resolutionProblem(newer, older);
    if (p) problems.push(`new schema cannot read old data (backward): ${p}`);
  }
  if (mode !== 'backward') {
    const p = resolutionProblem(older, newer);
    if (p) problems.push(`old schema cannot read new data (forward): ${p}`);
  }
  return problems;
}

export interface SchemaCheck {
  name: string;
  version: number;
  against: number;
  problems: string[];
}

/** Every version of every schema in dir against all its earlier versions. */
export function checkSchemas(dir = SCHEMAS_DIR, mode: CompatMode = 'backward', only?: string[]): SchemaCheck[] {
  const out: SchemaCheck[] = [];
  for (const name of listSchemaNames(dir)) {
    if (only && !only.includes(name)) continue;
    const versions = schemaVersions(name, dir);
    for (let i = 1; i < versions.length; i++) {
      const newer = loadSchema(`${name}@${versions[i]}`, dir).type;
      for (let j = 0; j < i; j++) {
        const older = loadSchema(`${name}@${versions[j]}`, dir).type;
        out.push({ name, version: versions[i], against: versions[j], problems: compatProblems(newer, older, mode) });
      }
    }
  }
  return out;
}
