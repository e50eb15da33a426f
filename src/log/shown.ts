/** About how much of a value an error message repeats. */
export const SHOWN_CHARS = 200;

/**
 * A value as an error message repeats it: its JSON, cut after about SHOWN_CHARS characters and
 * followed by how long it was, so that a huge mistaken value (a 120 KB URL) makes a message
 * one can read, not one as huge. Pure: the workflow's input checks use it.
 */
export function shown(v: unknown, max = SHOWN_CHARS): string {
  if (typeof v === 'string') return v.length > max ? `${JSON.stringify(v.slice(0, max))}… (${v.length} characters)` : JSON.stringify(v);
  let json: string;
  try {
    json = JSON.stringify(v) ?? String(v);
  } catch {
    json = String(v);
  }
  return json.length > max ? `${json.slice(0, max)}… (${json.length} characters)` : json;
}

/** The fields of `o` that are not `known`, as a message names them ("unknown fields "a", "b""), or null when there are none. */
export function unknownFields(o: object, known: readonly string[]): string | null {
  const unknown = Object.keys(o).filter((k) => !known.includes(k));
  if (!unknown.length) return null;
  return `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.slice(0, 5).map((k) => shown(k, 50)).join(', ')}${unknown.length > 5 ? ', …' : ''}`;
}

/** `n` with its noun, singular for one ("1 partition", "3 partitions"). Pure: workflows' details use it. */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
