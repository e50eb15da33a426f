import type { OperatorService } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { logger } from '../log';
import { SEARCH_ATTRIBUTES } from '../stack/search-attributes';
import { DEFAULT_TEMPORAL_ADDRESS } from './connection';

/** The two operator calls this module needs; a Connection's or NativeConnection's operatorService has them. */
export type SearchAttributeOperator = Pick<OperatorService, 'listSearchAttributes' | 'addSearchAttributes'>;

export interface AttributeProblem {
  name: string;
  /** The type partflow's workflows upsert. */
  type: 'Keyword' | 'Int';
  /** The type the namespace has it under, when it has it under another one. */
  found?: string;
}

export interface EnsureOptions {
  namespace: string;
  /** Server address, for the commands the error message prints. */
  address?: string;
  /** How long newly registered attributes may take to show up in the namespace. */
  visibleWithinMs?: number;
  /** Where to say that they were registered, for people (the CLI's notes); else the log. */
  onNote?: (note: string) => void;
}

// Server enum value -> the name the `temporal` CLI uses (KEYWORD_LIST -> KeywordList).
const TYPE_NAMES = Object.fromEntries(Object.values(SearchAttributeType).map((t) => [
  encodeSearchAttributeIndexedValueType(t), t.toLowerCase().replace(/(?:^|_)(\w)/g, (_m, c: string) => c.toUpperCase()),
]));

/** What the ingest workflow's upserts need and the namespace lacks (missing, or under another type). */
export async function searchAttributeProblems(op: SearchAttributeOperator, namespace: string): Promise<AttributeProblem[]> {
  const { customAttributes } = await op.listSearchAttributes({ namespace });
  const have = customAttributes ?? {};
  const problems: AttributeProblem[] = [];
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
    const found = have[name];
    if (found === undefined || found === null) problems.push({ name, type });
    else if (found !== encodeSearchAttributeIndexedValueType(type.toUpperCase() as SearchAttributeType)) {
      problems.push({ name, type, found: TYPE_NAMES[found] ?? String(found) });
    }
  }
  return problems;
}

/**
 * Where a printed `temporal` command acts: without --namespace it acts on "default" (run as
 * printed, a remove once dropped the attribute from the wrong namespace), without --address on
 * the CLI's own default server.
 */
function target(namespace: string, address?: string): string {
  return `--namespace ${namespace}${address && address !== DEFAULT_TEMPORAL_ADDRESS ? ` --address ${address}` : ''}`;
}

/** The `temporal` CLI commands that create the missing attributes. */
export function createCommands(problems: AttributeProblem[], namespace: string, address?: string): string[] {
  return problems.map((p) => `temporal operator search-attribute create --name ${p.name} --type ${p.type} ${target(namespace, address)}`);
}

/** Raised when the namespace lacks partflow's search attributes and they could not be registered from here. */
export class SearchAttributesMissing extends Error {
  constructor(readonly namespace: string, readonly problems: AttributeProblem[], cause: string, address?: string) {
    const missing = problems.filter((p) => !p.found);
    const wrong = problems.filter((p) => p.found);
    const lines = [
      `Temporal namespace "${namespace}"${address ? ` at ${address}` : ''} lacks search attributes that partflow's ingest workflow sets (${cause}):`,
      ...missing.map((p) => `  ${p.name} (${p.type}): missing`),
      ...wrong.map((p) => `  ${p.name} (${p.type}): registered as ${p.found}; remove it (temporal operator search-attribute remove --name ${p.name} ${target(namespace, address)}) before creating it`),
      'Without them every ingest would retry its first workflow task forever. Create them once, then start again:',
      ...createCommands(problems, namespace, address).map((c) => `  ${c}`),
    ];
    super(lines.join('\n'));
    this.name = 'SearchAttributesMissing';
  }
}

// Codes with which a server (Temporal Cloud, an authorizer) refuses operator calls to this caller.
const REFUSED = new Set([7 /* PERMISSION_DENIED */, 12 /* UNIMPLEMENTED */, 16 /* UNAUTHENTICATED */]);

/**
 * Makes sure the namespace has partflow's search attributes before anything runs an ingest:
 * registers the missing ones where the server allows it and waits until they are visible, or
 * fails with SearchAttributesMissing naming each one and the command that creates it. Workers,
 * `partflow ingest` and anything else that starts ingests (a schedule, too) call this. Returns
 * the attributes it registered.
 */
export async function ensureSearchAttributes(op: SearchAttributeOperator, opts: EnsureOptions): Promise<string[]> {
  const { namespace, address } = opts;
  let problems: AttributeProblem[];
  try {
    problems = await searchAttributeProblems(op, namespace);
  } catch (err) {
    if (!REFUSED.has((err as { code?: number }).code ?? -1)) throw err;
    // A server that will not even list them (Temporal Cloud) has them created in its own console.
    logger().warn({ namespace, err: (err as Error).message, needed: SEARCH_ATTRIBUTES }, 'cannot list the namespace\'s search attributes; make sure partflow\'s exist');
    return [];
  }
  if (problems.length === 0) return [];
  if (problems.some((p) => p.found)) throw new SearchAttributesMissing(namespace, problems, 'some have the wrong type', address);
  try {
    await op.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(problems.map((p) => [p.name, encodeSearchAttributeIndexedValueType(p.type.toUpperCase() as SearchAttributeType)!])),
    });
  } catch (err) {
    // Another worker starting at the same moment may have registered them first.
    const left = await searchAttributeProblems(op, namespace).catch(() => problems);
    if (left.length) throw new SearchAttributesMissing(namespace, left, `registering them failed: ${(err as Error).message}`, address);
    return [];
  }
  const deadline = Date.now() + (opts.visibleWithinMs ?? 30_000);
  for (;;) {
    const left = await searchAttributeProblems(op, namespace);
    if (left.length === 0) break;
    if (Date.now() > deadline) throw new SearchAttributesMissing(namespace, left, `registered, but still not visible after ${(opts.visibleWithinMs ?? 30_000) / 1000}s`, address);
    await new Promise((r) => setTimeout(r, 250));
  }
  const registered = problems.map((p) => p.name);
  if (opts.onNote) opts.onNote(`registered partflow's search attributes in namespace ${namespace}: ${registered.join(', ')}`);
  else logger().info({ namespace, registered }, 'registered partflow\'s search attributes');
  return registered;
}
