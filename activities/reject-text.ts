import { Type } from 'avsc';
import { losslessTypeOf } from '../src/avro/long';

/*
 * The texts of a reject: its record and its reason. They are built from whatever a transform
 * returned or did to its input, which may hold itself, a NaN or a bigint: building them must
 * never throw, or one odd record would fail (and retry) its whole partition.
 */

/** A reason names every failing field, up to about this many characters (a reject's reason is cut at 4096). */
const REASON_CHARS = 2_000;
const VALUE_CHARS = 80;
/** Where a value refers back to one of its parents, in a record's JSON and in a reason. */
const CIRCULAR = '[Circular]';

/**
 * A record as JSON for the rejects object (bytes as base64, longs beyond 2^53 as strings). A
 * transform may have made its input hold itself before it threw: that reference reads "[Circular]".
 */
export function recordText(record: unknown): string {
  try {
    return JSON.stringify(record, jsonValue) ?? String(record);
  } catch {
    // Cyclic (the only error JSON.stringify throws on a decoded record): again without the cycles.
  }
  try {
    return JSON.stringify(acyclic(record, []), jsonValue) ?? String(record);
  } catch (err) {
    return JSON.stringify(`(the record cannot be shown: ${thrownText(err)})`);
  }
}

function jsonValue(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
    return Buffer.from((v as { data: number[] }).data).toString('base64');
  }
  return v;
}

/** A copy of plain objects and arrays in which a reference to a parent is CIRCULAR. */
function acyclic(v: unknown, parents: object[]): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (parents.includes(v)) return CIRCULAR;
  // Buffers, Dates and the like say themselves how they read as JSON.
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return v;
  parents.push(v);
  const copy = Array.isArray(v) ? v.map((x) => acyclic(x, parents)) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, acyclic(x, parents)]));
  parents.pop();
  return copy;
}

/**
 * What a thrown value says in a reject reason or a failure: an Error's message, a string as it
 * is, anything else as JSON (`throw { code: 42 }` would read "[object Object]").
 */
export function thrownText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  if (err === undefined) return 'threw undefined';
  if (err !== null && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') return (err as { message: string }).message;
  let json: string | undefined;
  try {
    json = JSON.stringify(err, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    json = valueText(err);
  }
  return `threw ${json ?? String(err)}`;
}

/**
 * Why an output the writer refused does not fit the stage's schema: every failing field with
 * its value and type, or what else is wrong with it (an array for one record, a value that holds
 * itself under a recursive schema). `err` is the writer's error, for when no field is found wrong.
 */
export function invalidReason(type: Type | undefined, value: unknown, err?: unknown): string {
  return `output does not match schema: ${type ? problems(type, value, err) : invalid(err)}`;
}

function problems(type: Type, value: unknown, err: unknown): string {
  if (Array.isArray(value) && !acceptsArray(type)) {
    // A transform returns one record per input record: an array is not several records.
    const n = value.length;
    return `the transform returned an array (of ${n} value${n === 1 ? '' : 's'}), not ${typeText(type)}: a transform returns one record, or null to drop the input record`;
  }
  const found: string[] = [];
  let chars = 0;
  let more = 0;
  const errorHook = (path: string[], v: unknown, t: Type): void => {
    if (chars > REASON_CHARS) {
      more++;
      return;
    }
    const p = path.length ? `${path.join('.')}: ${valueText(v)} is not ${typeText(t)}${longHint(v, t)}${wrapHint(v, t)}` : `the transform returned ${valueText(v)}, not ${typeText(t)}`;
    found.push(p);
    chars += p.length + 2;
  };
  try {
    // The writer takes longs as numbers within 2^53 or as bigints within 64 bits: check as it does.
    losslessTypeOf(type).isValid(value, { errorHook });
  } catch (e) {
    // A value that holds itself, checked against a recursive schema, never ends (nor does its encoding).
    const cycle = cyclePath(value);
    if (cycle?.at === '') return `the transform returned a cyclic value (${cycle.back} refers back to the record), which cannot be written`;
    if (cycle) return `${cycle.at}: a cyclic value (${cycle.back} refers back to ${cycle.at}) cannot be written`;
    return `checking the output failed: ${thrownText(e)}`;
  }
  const rest = more ? `; and ${more} more field${more === 1 ? '' : 's'}` : '';
  return found.length ? `${found.join('; ')}${rest}` : invalid(err);
}

function invalid(err: unknown): string {
  if (err === undefined) return 'invalid value';
  const why = thrownText(err);
  return `invalid value (${why.length > 200 ? `${why.slice(0, 200)}…` : why})`;
}

function acceptsArray(type: Type): boolean {
  const types = (type as { types?: Type[] }).types;
  return type.typeName === 'array' || (types ?? []).some((t) => t.typeName === 'array');
}

/**
 * A union with two branches of one kind (two number types, say) takes its value wrapped in the
 * branch's name, as it is read: a bare number cannot say whether it is the long or the double.
 */
function wrapHint(v: unknown, t: Type): string {
  if (t.typeName !== 'union:wrapped' || v === null || (typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v))) return '';
  const names = ((t as { types?: Type[] }).types ?? []).map((b) => b.branchName).filter((n) => n !== 'null');
  const shown = valueText(v);
  return ` (this union takes its value wrapped in a branch's name: ${names.slice(0, 2).map((n) => `{"${n}": ${shown}}`).join(' or ')}${names.length > 2 ? ' …' : ''})`;
}

/** Why a whole number is not a long when it looks like one. */
function longHint(v: unknown, t: Type): string {
  if (!(t.typeName ?? '').endsWith('long')) return '';
  if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) return ' (beyond 2^53 a number has lost precision: give a bigint)';
  if (typeof v === 'bigint') return ' (beyond 64 bits)';
  return '';
}

/** A type as a reason says it: avsc's own names ("union:unwrapped") mean nothing to a pipeline's author. */
function typeText(t: Type): string {
  const any = t as Type & { types?: Type[]; name?: string; size?: number };
  // The writer's lossless long is an "abstract:long".
  const kind = (t.typeName ?? String(t)).replace(/^abstract:/, '');
  // A union's branches are never unions themselves.
  if (kind.startsWith('union')) return `one of ${(any.types ?? []).map((x) => (x as { name?: string }).name ?? x.typeName.replace(/^abstract:/, '')).join(', ')}`;
  const a = (w: string) => `${/^[aeiou]/.test(w) ? 'an' : 'a'} ${w}`;
  if (kind === 'record' || kind === 'error' || kind === 'enum') return `${a(kind)} ${any.name ?? ''}`.trimEnd();
  if (kind === 'fixed') return `a fixed of ${any.size} bytes`;
  if (kind === 'null' || kind === 'bytes') return kind;
  return a(kind);
}

/**
 * A value as a reason shows it, cut at VALUE_CHARS: JSON-like, but as JavaScript writes what
 * JSON cannot (NaN, Infinity, 5n, undefined) and "[Circular]" where it refers back to a parent.
 */
export function valueText(v: unknown): string {
  const out = { text: '' };
  try {
    show(v, [], out);
  } catch (err) {
    // A getter that throws, say.
    return `(a value that cannot be shown: ${thrownText(err)})`;
  }
  return out.text.length > VALUE_CHARS ? `${out.text.slice(0, VALUE_CHARS)}…` : out.text;
}

/** Appends v's text to out, stopping once it is longer than VALUE_CHARS (which also bounds the depth). */
function show(v: unknown, parents: object[], out: { text: string }): void {
  if (out.text.length > VALUE_CHARS) return;
  switch (typeof v) {
    case 'string':
      out.text += JSON.stringify(v.length > VALUE_CHARS ? v.slice(0, VALUE_CHARS + 1) : v);
      return;
    case 'bigint':
      out.text += `${v}n`;
      return;
    case 'function':
      out.text += 'a function';
      return;
    case 'object':
      break;
    default:
      // numbers (NaN and Infinity included), booleans, undefined, symbols
      out.text += String(v);
      return;
  }
  if (v === null) out.text += 'null';
  else if (parents.includes(v)) out.text += CIRCULAR;
  else if (Buffer.isBuffer(v)) out.text += `<${v.length} bytes>`;
  else if (v instanceof Date) out.text += `Date ${Number.isNaN(v.getTime()) ? 'invalid' : v.toISOString()}`;
  else if (v instanceof Map || v instanceof Set) out.text += `a ${v instanceof Map ? 'Map' : 'Set'} of ${v.size}`;
  else {
    parents.push(v);
    const array = Array.isArray(v);
    out.text += array ? '[' : '{';
    let first = true;
    for (const k of array ? v.keys() : Object.keys(v).values()) {
      if (out.text.length > VALUE_CHARS) break;
      if (!first) out.text += ',';
      first = false;
      if (!array) out.text += `${JSON.stringify(k)}:`;
      show((v as Record<string | number, unknown>)[k], parents, out);
    }
    out.text += array ? ']' : '}';
    parents.pop();
  }
}

/** Where a value first refers back to one of its parents: the parent's path and the referring one's. */
function cyclePath(value: unknown): { at: string; back: string } | undefined {
  const parents: { v: object; path: string }[] = [];
  let budget = 100_000;
  const visit = (v: unknown, path: string): { at: string; back: string } | undefined => {
    if (v === null || typeof v !== 'object' || --budget < 0 || parents.length > 1_000) return undefined;
    const parent = parents.find((p) => p.v === v);
    if (parent) return { at: parent.path, back: path };
    parents.push({ v, path });
    for (const [k, x] of Object.entries(v)) {
      const found = visit(x, path ? `${path}.${k}` : k);
      if (found) return found;
    }
    parents.pop();
    return undefined;
  };
  return visit(value, '');
}
