/**
 * What a failure caused by one object of a packed partition (several small source objects in
 * one) says: that packing is why the others fail or why schemas clash, and that `--no-pack`
 * isolates it. The remedy comes before the long parts (URLs, field lists): a run keeps only the
 * first 500 characters of each failure it lists.
 */

/** Source objects among a partition's pieces: the pieces of one split object count once. */
export function packedObjectCount(keys: readonly string[]): number {
  return new Set(keys).size;
}

const NO_PACK = 'ingest with --no-pack ("pack": false)';

const PACKED_CORRUPT_MARK = 'source objects packed into this partition';

/** Appended to a corrupt input's failure when its partition packs `objects` source objects (none for one). */
export function packedCorruptHint(objects: number): string {
  if (objects < 2) return '';
  return `. It is one of ${objects} ${PACKED_CORRUPT_MARK}, which all fail with it: ${NO_PACK} to give each object its own partition, `
    + 'so that only this one fails, or remove or fix it and start a new ingest';
}

/**
 * A source object of a packed partition that the pipeline's input schema cannot read: it fails
 * the objects packed with it. The remedy before the reason, which can run long.
 */
export function packedInputCannotRead(where: string, input: string, objects: number, problem: string): string {
  const hint = packedCorruptHint(objects);
  return `${where}: input ${input} cannot be read with the expected schema${hint ? `${hint}. Why it cannot be read` : ''}: ${problem}`;
}

const PACKED_SCHEMAS_MARK = 'objects with different schemas were packed into one partition';

/** A failure message that packing caused or spread (one of these), for the CLI's advice (src/cli/print.ts). */
export function isPackedFailure(message: string): boolean {
  return message.includes(PACKED_SCHEMAS_MARK) || message.includes(PACKED_CORRUPT_MARK);
}

const PACKED_SCHEMAS = `${PACKED_SCHEMAS_MARK}: ${NO_PACK} so that each keeps its own schema, or give the stage a schema that holds every field`;

/** Fields listed in a failure: a schema that lost many would push everything after it out of view. */
const LISTED_FIELDS = 10;

function listed(fields: string[]): string {
  const more = fields.length - LISTED_FIELDS;
  return fields.slice(0, LISTED_FIELDS).join(', ') + (more > 0 ? ` and ${more} more` : '');
}

/**
 * An input of an "@input" stage with fields (or enum symbols) that the output schema, taken from
 * the partition's first input, lacks: writing it would drop them.
 */
export function packedDropsFields(where: string, input: string, first: string, dropped: string[]): string {
  return `${where}: ${PACKED_SCHEMAS}. Input ${input} has fields or enum symbols that this partition's output schema, taken from its first input ${first}, `
    + `lacks: ${listed(dropped)}; writing it would drop them`;
}

/** An input of an "@input" stage that the output schema, taken from the partition's first input, cannot read. */
export function packedCannotRead(where: string, input: string, first: string, problem: string): string {
  return `${where}: ${PACKED_SCHEMAS}. Input ${input} cannot be read with the expected schema, this partition's output schema, taken from its first input ${first}: ${problem}`;
}
