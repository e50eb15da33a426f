import { LosslessNumber, stringify as losslessStringify } from 'lossless-json';

/**
 * A record as one JSON line for `partflow cat`: longs beyond 2^53 (bigints) as strings, bytes and
 * fixed as base64, NaN and infinities as the strings "NaN", "Infinity", "-Infinity" (JSON has
 * none; JSON.stringify would print null, which reads as a null union), and -0.0 as -0.0 (it
 * printed 0). The slower lossless writer runs only for a record that holds a -0.
 */
export function catJsonLine(record: unknown): string {
  let negativeZero = false;
  const replace = (_k: string, v: unknown): unknown => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return String(v);
      if (Object.is(v, -0)) negativeZero = true;
      return v;
    }
    if (typeof v === 'bigint') return v.toString();
    if (Buffer.isBuffer(v)) return v.toString('base64');
    // JSON.stringify has called a Buffer's toJSON before the replacer sees it.
    const b = v as { type?: unknown; data?: unknown } | null;
    if (b && b.type === 'Buffer' && Array.isArray(b.data)) return Buffer.from(b.data as number[]).toString('base64');
    return v;
  };
  const text = JSON.stringify(record, replace);
  if (!negativeZero) return text;
  return losslessStringify(record, (k, v) => (Object.is(v, -0) ? new LosslessNumber('-0.0') : replace(k, v))) as string;
}
