import { loadSchema } from '../avro/schemas';
import { CODECS } from '../avro/codecs';
import { kindOf, NotADefinition, notDefinitionsParagraphs } from './definition-shape';
import { NAME_RE } from './name';
import { DEFAULT_RETRY, INHERIT_SCHEMA, PipelineDefinition, PipelineInfo, RAW_STAGE, StageInfo } from './types';

export const DEFAULT_CODEC = 'zstandard';

/** What is wrong with one pipeline definition. */
export interface PipelineProblems {
  pipeline: string;
  problems: string[];
}

/**
 * One or more invalid pipelines, every problem of each listed (one message, so one fix round),
 * and the elements of the list that are no pipeline definition at all (`notDefinitions`).
 */
export class PipelineDefinitionError extends Error {
  readonly invalid: PipelineProblems[];
  /** Elements of the list given (createWorker's `pipelines`, a `--pipelines` module's) without a string `name` or a `stages` array, by index. */
  readonly notDefinitions: NotADefinition[];
  constructor(pipeline: string, problems: string[]);
  constructor(invalid: PipelineProblems[], notDefinitions?: NotADefinition[]);
  constructor(a: string | PipelineProblems[], b: string[] | NotADefinition[] = []) {
    const invalid = typeof a === 'string' ? [{ pipeline: a, problems: b as string[] }] : a;
    const notDefinitions = typeof a === 'string' ? [] : b as NotADefinition[];
    super([
      ...notDefinitionsParagraphs(notDefinitions),
      ...invalid.map((i) => `pipeline "${i.pipeline}" is invalid:\n  - ${i.problems.join('\n  - ')}`),
    ].join('\n'));
    this.name = 'PipelineDefinitionError';
    this.invalid = invalid;
    this.notDefinitions = notDefinitions;
  }
}

/**
 * The cycles among stages that can never run: each written closed, in the direction records
 * flow (`a -> b -> a`: b reads a, a reads b). Every stuck stage depends on another stuck one, so
 * following dependencies from each ends in a cycle; stages that only wait on one are left out.
 */
function cyclesOf(stuck: string[], after: Map<string, string[]>): string[] {
  const inStuck = new Set(stuck);
  const seen = new Set<string>();
  const out: string[] = [];
  for (const start of stuck) {
    const walk: string[] = [];
    let cur: string | undefined = start;
    while (cur !== undefined && !walk.includes(cur)) {
      walk.push(cur);
      cur = (after.get(cur) ?? []).find((d) => inStuck.has(d));
    }
    if (cur === undefined) continue;
    // walk[k] reads walk[k + 1]; reversed, the cycle reads in flow order, from its stage defined first.
    const flow = walk.slice(walk.indexOf(cur)).reverse();
    const at = flow.indexOf(stuck.find((n) => flow.includes(n))!);
    const cycle = [...flow.slice(at), ...flow.slice(0, at)];
    const key = [...cycle].sort().join(' ');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push([...cycle, cycle[0]].join(' -> '));
  }
  return out;
}

/**
 * Checks a pipeline's stage DAG and resolves its schemas. Returns the stages in a topological
 * order (stable: definition order wherever the DAG allows).
 */
export function checkPipeline(p: PipelineDefinition): PipelineInfo {
  const problems: string[] = [];
  if (!NAME_RE.test(p.name ?? '')) problems.push(`name ${JSON.stringify(p.name)} must match ${NAME_RE}`);
  if (!Array.isArray(p.stages) || p.stages.length === 0) {
    throw new PipelineDefinitionError(String(p.name), [...problems, 'it has no stages']);
  }
  // A stage that is not an object is said and left out: every check below reads its fields.
  const stageList = p.stages.filter((s, i) => {
    const ok = typeof s === 'object' && s !== null && !Array.isArray(s);
    if (!ok) problems.push(`stages[${i}] is ${kindOf(s)}, not a stage definition (an object from defineStage)`);
    return ok;
  });
  const names = new Set<string>();
  for (const s of stageList) {
    if (!NAME_RE.test(s.name ?? '')) problems.push(`stage name ${JSON.stringify(s.name)} must match ${NAME_RE}`);
    if (s.name === RAW_STAGE) problems.push(`stage name "${RAW_STAGE}" is reserved for the imported source`);
    if (names.has(s.name)) problems.push(`stage "${s.name}" is defined twice`);
    names.add(s.name);
    // The functions a worker calls, checked here: found out at run time, each partition attempt would fail instead.
    if (s.transform === undefined) problems.push(`stage "${s.name}" has no transform function`);
    else if (typeof s.transform !== 'function') problems.push(`stage "${s.name}": transform is ${kindOf(s.transform)}, not a function`);
    if (s.setup != null && typeof s.setup !== 'function') problems.push(`stage "${s.name}": setup is ${kindOf(s.setup)}, not a function (leave it out for none)`);
    if (s.lookups !== undefined && !(Array.isArray(s.lookups) && s.lookups.every((l) => typeof l === 'string'))) {
      problems.push(`stage "${s.name}": lookups must be a list of lookup names (strings)`);
    }
    if (typeof s.version !== 'string' || !/^[A-Za-z0-9._-]{1,32}$/.test(s.version)) {
      problems.push(`stage "${s.name}" needs a version string like "1" or "2024.1" (letters, digits, . _ -)${typeof s.version === 'string' ? '' : s.version === undefined ? ': it has none' : `, not ${kindOf(s.version)}`}`);
    }
    for (const l of Array.isArray(s.lookups) ? s.lookups : []) if (!(p.lookups && l in p.lookups)) problems.push(`stage "${s.name}" reads lookup "${l}", which the pipeline does not declare`);
    const codec = s.codec ?? p.codec;
    if (codec !== undefined && !CODECS.includes(codec)) problems.push(`stage "${s.name}" has unknown codec "${codec}"`);
  }
  const after = new Map<string, string[]>();
  stageList.forEach((s, i) => {
    const given: unknown = s.after;
    if (given !== undefined && !(Array.isArray(given) && given.every((d) => typeof d === 'string'))) {
      problems.push(`stage "${s.name}" has an "after" that is not a list of stage names`);
      after.set(s.name, []);
      return;
    }
    const deps = s.after ?? [i === 0 ? RAW_STAGE : stageList[i - 1].name];
    if (deps.length === 0) problems.push(`stage "${s.name}" has an empty "after" list`);
    // A repeat would read the same upstream twice and count its records twice.
    for (const d of new Set(deps.filter((d, j) => deps.indexOf(d) !== j))) problems.push(`stage "${s.name}" lists "${d}" more than once in "after"`);
    for (const d of deps) {
      if (d !== RAW_STAGE && !names.has(d)) problems.push(`stage "${s.name}" depends on unknown stage "${d}"`);
      // Only an "after" given can name the stage itself: the default (the stage before) does so
      // only for a stage defined twice, which is reported as that.
      if (d === s.name && s.after !== undefined) problems.push(`stage "${s.name}" depends on itself`);
    }
    after.set(s.name, deps);
  });
  const schemas = new Map<string, { ref: string; fingerprint: string; extras?: string }>();
  for (const s of stageList) {
    if (s.schema === undefined || s.schema === '') {
      problems.push(`stage "${s.name}": schema is missing (expected "name@N" or "name", a schema in the schemas folder, or "${INHERIT_SCHEMA}" for its input's)`);
      continue;
    }
    if (typeof s.schema !== 'string') {
      problems.push(`stage "${s.name}": schema is ${kindOf(s.schema)}, not a string like "name@N"`);
      continue;
    }
    if (s.schema === INHERIT_SCHEMA) {
      if ((after.get(s.name) ?? []).length !== 1) problems.push(`stage "${s.name}" uses schema "${INHERIT_SCHEMA}" and so must read exactly one stage`);
      schemas.set(s.name, { ref: INHERIT_SCHEMA, fingerprint: INHERIT_SCHEMA });
      continue;
    }
    try {
      const l = loadSchema(s.schema, p.schemasDir);
      schemas.set(s.name, { ref: l.ref, fingerprint: l.fingerprint, extras: l.extras });
    } catch (err) {
      problems.push(`stage "${s.name}": ${(err as Error).message}`);
    }
  }
  let input: PipelineInfo['input'];
  if (p.input !== undefined && typeof p.input !== 'string') problems.push(`input is ${kindOf(p.input)}, not a schema reference like "name@N"`);
  else if (p.input !== undefined) {
    try {
      const l = loadSchema(p.input, p.schemasDir);
      input = { ref: l.ref, fingerprint: l.fingerprint, ...(l.extras ? { extras: l.extras } : {}) };
    } catch (err) {
      problems.push(`input schema: ${(err as Error).message}`);
    }
  }
  const retry = { ...DEFAULT_RETRY, ...p.retry };
  for (const [name, l] of Object.entries(p.lookups ?? {})) {
    if (typeof l?.defaultKey !== 'string' || l.defaultKey === '') problems.push(`lookup "${name}" needs a defaultKey (the table's key in the source bucket)`);
    if (!['csv', 'jsonl', 'avro'].includes(l?.format)) problems.push(`lookup "${name}" has format ${JSON.stringify(l?.format)}: csv, jsonl or avro`);
    if (l?.columns !== undefined && !(Array.isArray(l.columns) && l.columns.every((c) => typeof c === 'string' && c !== ''))) problems.push(`lookup "${name}" has columns that are not a list of column names`);
  }
  if (!Number.isInteger(retry.maximumAttempts) || retry.maximumAttempts < 1) problems.push('retry.maximumAttempts must be an integer >= 1');
  if (!(retry.initialIntervalSeconds > 0) || !(retry.maximumIntervalSeconds >= retry.initialIntervalSeconds)) problems.push('retry intervals must be > 0, maximum >= initial');
  if (!(retry.backoffCoefficient >= 1)) problems.push('retry.backoffCoefficient must be >= 1');
  // Kahn's algorithm, taking ready stages in definition order. Unknown upstream stages are
  // reported above; here they count as ready, so that a cycle is reported with them.
  const order: string[] = [];
  const done = new Set<string>([RAW_STAGE]);
  const unique = [...names];
  const ready = (d: string) => done.has(d) || !names.has(d);
  while (order.length < unique.length) {
    const next = unique.find((n) => !done.has(n) && (after.get(n) ?? []).every((d) => d === n ? false : ready(d)));
    if (!next) {
      const stuck = unique.filter((n) => !done.has(n));
      // A stage that names itself is reported as that, not again as a cycle.
      const cycles = cyclesOf(stuck, after).filter((c) => !/^([^ ]+) -> \1$/.test(c));
      for (const c of cycles) problems.push(`stages form a cycle: ${c}`);
      break;
    }
    order.push(next);
    done.add(next);
  }
  if (problems.length) throw new PipelineDefinitionError(p.name, problems);
  const byName = new Map(stageList.map((s) => [s.name, s]));
  const stages: StageInfo[] = order.map((n) => {
    const s = byName.get(n)!;
    return {
      name: n, after: after.get(n)!, version: s.version,
      schemaRef: schemas.get(n)!.ref, schemaFingerprint: schemas.get(n)!.fingerprint,
      // Only when there are some: a plan holds its stages, and its id is its content.
      ...(schemas.get(n)!.extras ? { schemaExtras: schemas.get(n)!.extras } : {}),
      codec: s.codec ?? p.codec ?? DEFAULT_CODEC,
      lookups: [...(s.lookups ?? Object.keys(p.lookups ?? {}))].sort(),
    };
  });
  return { name: p.name, stages, lookups: Object.keys(p.lookups ?? {}).sort(), input, retry };
}
