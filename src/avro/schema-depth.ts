/**
 * avsc compiles a schema recursively: one nested deep enough (a 20000-deep header schema is a few
 * hundred KB) overflows the stack, and "Maximum call stack size exceeded" names no cause. Parsed
 * JSON is measured first, without recursion. 1000 levels is Jackson's default nesting limit (so
 * Java readers refuse deeper schemas too) and about a third of what avsc can compile.
 */
export const MAX_SCHEMA_DEPTH = 1000;

export class SchemaDepthError extends Error {
  constructor() {
    super(`schema nested too deeply (over ${MAX_SCHEMA_DEPTH} levels)`);
    this.name = 'SchemaDepthError';
  }
}

/** Throws SchemaDepthError if arrays and objects in `json` nest deeper than MAX_SCHEMA_DEPTH. */
export function checkSchemaDepth(json: unknown): void {
  const stack: [unknown, number][] = [[json, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_SCHEMA_DEPTH) throw new SchemaDepthError();
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
}

/**
 * avsc compiles each record type into functions with a parameter per field, and V8 allows 65,534
 * parameters: a record of 32,768 fields or more fails with "Too many parameters in function
 * definition", which names neither the record nor the limit (a 100,000-column CSV, say).
 */
export const MAX_RECORD_FIELDS = 32_767;

export class SchemaWidthError extends Error {
  constructor(readonly record: string, readonly fields: number) {
    super(`record "${record}" has ${fields.toLocaleString('en-US')} fields, over the ${MAX_RECORD_FIELDS.toLocaleString('en-US')} one record can have here (the Avro library compiles a function parameter per field)`);
    this.name = 'SchemaWidthError';
  }
}
