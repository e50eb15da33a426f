/** A value as an error shows it: its kind, and a short value for scalars (`5`, `"x"`, an object). */
export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 39)}…` : v)}`;
  if (typeof v === 'undefined') return 'undefined';
  return `${typeof v === 'bigint' ? 'the bigint' : `the ${typeof v}`} ${String(v)}`;
}

/**
 * What keeps `v` from being a pipeline definition at all (so that the full check, which names the
 * pipeline, cannot run on it): empty when it has a string `name` and a `stages` array.
 */
export function shapeProblems(v: unknown): string[] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return [`it is ${kindOf(v)}, not a pipeline definition (an object from definePipeline)`];
  const p = v as Record<string, unknown>;
  const out: string[] = [];
  if (p.name === undefined) out.push('it has no "name"');
  else if (typeof p.name !== 'string') out.push(`its "name" is ${kindOf(p.name)}, not a string`);
  if (p.stages === undefined) out.push('it has no "stages" (an array of stage definitions)');
  else if (!Array.isArray(p.stages)) out.push(`its "stages" is ${kindOf(p.stages)}, not an array of stage definitions`);
  return out;
}

/** `pipelines[2] ("orders")`, or `pipelines[2]` for one without a string name. */
export function elementLabel(list: string, v: unknown, i: number): string {
  const name = typeof v === 'object' && v !== null ? (v as { name?: unknown }).name : undefined;
  return `${list}[${i}]${typeof name === 'string' && name !== '' ? ` (${JSON.stringify(name)})` : ''}`;
}

/** An element of a list of pipelines that is not a pipeline definition, and what it lacks. */
export interface NotADefinition {
  /** `pipelines[2] ("orders")`, as elementLabel gives it. */
  element: string;
  problems: string[];
  /**
   * The list it is in when that is not the caller's `pipelines`: a module's (`--pipelines
   * ./defs.js`, whose `pipelines` or default export it is), so that the message names the module.
   */
  list?: { where: string; label: string };
}

/** The elements of `list` that are not pipeline definitions, labelled `${prefix}[i]`. */
export function notDefinitionsIn(list: readonly unknown[], prefix = 'pipelines', from?: NotADefinition['list']): NotADefinition[] {
  return list.flatMap((v, i) => {
    const problems = shapeProblems(v);
    return problems.length ? [{ element: elementLabel(prefix, v, i), problems, ...(from ? { list: from } : {}) }] : [];
  });
}

/**
 * A paragraph per list (notDefinitionsText) of the elements that are no definition: the caller's
 * `pipelines` as it is, a module's after its name (`--pipelines ./defs.js: an element of …`).
 */
export function notDefinitionsParagraphs(bad: readonly NotADefinition[]): string[] {
  const lists = new Map<string, NotADefinition[]>();
  for (const b of bad) {
    const key = b.list ? `${b.list.where}\0${b.list.label}` : '';
    lists.set(key, [...(lists.get(key) ?? []), b]);
  }
  return [...lists.values()].map((group) => {
    const from = group[0].list;
    return from ? `${from.where}: ${notDefinitionsText(group, from.label)}` : notDefinitionsText(group);
  });
}

/** One paragraph naming every element that is not a definition, one line each: what `label` (`\`pipelines\``) holds instead. */
export function notDefinitionsText(bad: readonly NotADefinition[], label = '`pipelines`'): string {
  const which = bad.length === 1 ? `an element of ${label} is` : `${bad.length} elements of ${label} are`;
  return `${which} not a pipeline definition (an object with a "name" and "stages", from definePipeline):\n${bad.map((b) => `  - ${b.element}: ${b.problems.join('; ')}`).join('\n')}`;
}

/** Throws unless `list` is an array; what it is instead, when it is not. */
export function assertPipelineArray(list: unknown, where: string, label = '`pipelines`'): asserts list is unknown[] {
  if (!Array.isArray(list)) throw new Error(`${where}: ${label} is ${kindOf(list)}, not an array of pipeline definitions`);
}
