import { printWaiting } from '../../src/cli/print';

describe('printWaiting', () => {
  it('lists the failures and says when a retry cannot help', () => {
    let text = '';
    const out = { write: (s: string) => { text += s; return true; } } as unknown as typeof process.stdout;
    printWaiting({ status: 'waiting-for-retry', workflowId: 'ingest-x', failed: ['copy a.avro+3: corrupt input: s3://b/a.avro: bad block'] }, out);
    expect(text).toContain('ingest-x has 1 failed partition(s)');
    expect(text).toContain('! copy a.avro+3: corrupt input');
    expect(text).toContain('partflow retry ingest-x');
    expect(text).toContain('To publish what succeeded now instead of waiting: partflow finish ingest-x');
    expect(text).toMatch(/A retry reads the same source objects.*\n.*start a new ingest of the source instead/);
  });
});
