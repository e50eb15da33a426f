/**
 * Everything readable in what Temporal stored (history events, heartbeat details, failures), as
 * one text: payload bytes decoded as UTF-8 (and walked again when they are JSON), and every string
 * that looks like base64 decoded too, so that record bytes hidden in a checkpoint's base64 show.
 */
export function temporalText(value: unknown): string {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const str = (s: string) => {
    out.push(s);
    if (s.length >= 16 && /^[A-Za-z0-9+/]+={0,2}$/.test(s)) out.push(Buffer.from(s, 'base64').toString('latin1'));
  };
  const walk = (v: unknown): void => {
    if (v === null || v === undefined) return;
    if (typeof v === 'string') return str(v);
    if (typeof v !== 'object') return void out.push(String(v));
    if (seen.has(v)) return;
    seen.add(v);
    if (v instanceof Uint8Array) {
      const text = Buffer.from(v).toString('utf8');
      out.push(text, Buffer.from(v).toString('latin1'));
      try {
        walk(JSON.parse(text));
      } catch {
        // not JSON: the raw text above is enough
      }
      return;
    }
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function' && !Array.isArray(v)) {
      const j = (v as { toJSON(): unknown }).toJSON();
      if (j !== v) walk(j);
    }
    for (const x of Object.values(v as object)) walk(x);
  };
  walk(value);
  return out.join('\n');
}
