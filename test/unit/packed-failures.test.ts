import { printWaiting } from '../../src/cli/print';
import { isPackedFailure, packedCannotRead, packedCorruptHint, packedDropsFields, packedInputCannotRead, packedObjectCount } from '../../src/pipeline/packed-failures';

/** What a failure caused by one object of a packed partition says, and that the run keeps that part. */
const where = 'stage "copy" partition p-3fa9c1d20b7e (exports/2025/region=eu-west/orders-000001.avro+11)';
const long = (name: string) => `s3://a-rather-long-bucket-name/exports/2025/region=eu-west/daily/${name}-0000000000000000000000000000.avro`;
/** A run keeps the first 500 characters of each failure it lists (workflows/run/compact.ts). */
const KEPT = 500;

describe('failures of packed partitions', () => {
  it('counts the source objects, a split one once', () => {
    expect(packedObjectCount(['a', 'b', 'a'])).toBe(2);
    expect(packedCorruptHint(1)).toBe('');
  });

  it('a corrupt object says it fails the others and that --no-pack (or removing it) isolates it', () => {
    expect(packedCorruptHint(3)).toBe('. It is one of 3 source objects packed into this partition, which all fail with it: ingest with --no-pack ("pack": false) '
      + 'to give each object its own partition, so that only this one fails, or remove or fix it and start a new ingest');
  });

  it('different schemas say --no-pack within what the run keeps, however long the URLs and the fields lost', () => {
    const dropped = Array.from({ length: 40 }, (_, i) => `a_rather_long_field_name_${i}`);
    const msg = packedDropsFields(where, long('b'), long('a'), dropped);
    expect(msg.slice(0, KEPT)).toContain('--no-pack');
    expect(msg.slice(0, KEPT)).toContain(long('b'));
    expect(msg).toContain('a_rather_long_field_name_9 and 30 more; writing it would drop them');
    const cannot = packedCannotRead(where, long('b'), long('a'), 'field price: the data has no such field, and the reading schema gives it no default');
    expect(cannot.slice(0, KEPT)).toMatch(/^stage "copy" partition [^:]+: objects with different schemas were packed into one partition: ingest with --no-pack/);
    expect(cannot).toMatch(/Input \S+b-0+\.avro cannot be read with the expected schema, this partition's output schema, taken from its first input \S+a-0+\.avro: field price: /);
  });

  it("an object the pipeline's input schema cannot read says it fails the others and that --no-pack isolates it, before the reason", () => {
    const problem = 'field qty: cannot read "string" as "long"';
    const msg = packedInputCannotRead(where, long('c'), 3, problem);
    expect(msg).toBe(`${where}: input ${long('c')} cannot be read with the expected schema. It is one of 3 source objects packed into this partition, which all fail with it: `
      + 'ingest with --no-pack ("pack": false) to give each object its own partition, so that only this one fails, or remove or fix it and start a new ingest. '
      + `Why it cannot be read: ${problem}`);
    expect(msg.slice(0, KEPT)).toContain('--no-pack');
    expect(isPackedFailure(msg)).toBe(true);
    // Alone in its partition (or an upstream output), as before.
    expect(packedInputCannotRead(where, long('c'), 1, problem)).toBe(`${where}: input ${long('c')} cannot be read with the expected schema: ${problem}`);
  });

  it('partflow ingest --wait adds --no-pack to its advice when packing caused a failure', () => {
    let text = '';
    const out = { write: (s: string) => { text += s; return true; } } as unknown as typeof process.stdout;
    printWaiting({ status: 'waiting-for-retry', workflowId: 'ingest-p', failed: [`copy a.avro+1: ${packedDropsFields(where, long('b'), long('a'), ['price'])}`], total: 1 }, out);
    expect(text).toContain('Every failure is in the source objects');
    expect(text).toContain('start that ingest with --no-pack ("pack": false)');
    text = '';
    printWaiting({ status: 'waiting-for-retry', workflowId: 'ingest-q', failed: ['copy a.avro: corrupt input: s3://b/a.avro: bad block'], total: 1 }, out);
    expect(text).not.toContain('--no-pack');
  });
});
