import { table } from '../../src/cli/print';

function printed(rows: Record<string, unknown>[]): string[] {
  let text = '';
  table(rows, { write: (t: string) => { text += t; return true; } } as unknown as typeof process.stdout);
  return text.split('\n').slice(0, -1);
}

describe('table', () => {
  const url = `s3://partflow/datasets/${'orders-'.repeat(8)}/raw/p-6d76c7d13c87/import-2-44ec8858e8c22613.avro`;
  const long = 'x'.repeat(100);

  it('never cuts a URL, and marks any other cut with …', () => {
    expect(url.length).toBeGreaterThan(80);
    const lines = printed([{ output: url, name: long, error: 'e' }, { output: '(was ' + url + ')', name: 'short', error: '' }]);
    const cut = `${'x'.repeat(79)}…`;
    expect(lines).toEqual([
      `${'output'.padEnd(url.length + 6)}  ${'name'.padEnd(80)}  error`,
      `${url.padEnd(url.length + 6)}  ${cut}  e`,
      `(was ${url})  short`,
    ]);
  });

  it('keeps cells of up to 80 characters and the last column whole, aligned', () => {
    const eighty = 'y'.repeat(80);
    const lines = printed([{ a: eighty, error: long }, { a: 'b', error: 'c' }]);
    expect(lines).toEqual([`${'a'.padEnd(80)}  error`, `${eighty}  ${long}`, `${'b'.padEnd(80)}  c`]);
  });
});
