import { Type } from 'avsc';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';
import { encodeFile } from '../helpers/avro';

/**
 * `partflow cat … | slow reader`: every record reaches the reader, however slowly it reads.
 * Before, cat wrote without waiting for the pipe and the finished command exited 2 s later,
 * cutting what the reader had not yet taken (exit 0, a record cut in half). Needs `npm run build`.
 */
const N = 30_000;
let dir: string;
let file: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-cat-pipe-'));
  file = path.join(dir, 'many.avro');
  const type = Type.forSchema({ type: 'record', name: 'Row', fields: [{ name: 'id', type: 'long' }, { name: 'text', type: 'string' }] });
  fs.writeFileSync(file, encodeFile(type, Array.from({ length: N }, (_, id) => ({ id, text: `row ${id} ${'x'.repeat(60)}` }))));
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('gives a reader that starts late every record, whole, and exits 0', async () => {
  // The reader waits 4 s before it reads anything: longer than the exit's 2 s grace.
  const reader = 'import sys, time, json\ntime.sleep(4)\nn = 0\nfor line in sys.stdin:\n    json.loads(line)\n    n += 1\nprint(n)\n';
  const out = await new Promise<{ code: number | null; lines: string; stderr: string }>((resolve) => {
    const sh = spawn('bash', ['-c', `set -o pipefail; node dist/src/cli/main.js cat "$1" | python3 -c "$2"`, 'cat-pipe', file, reader], { cwd: PROJECT_ROOT });
    let lines = '';
    let stderr = '';
    sh.stdout.on('data', (d) => (lines += d));
    sh.stderr.on('data', (d) => (stderr += d));
    sh.on('close', (code) => resolve({ code, lines, stderr }));
  });
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);
  expect(Number(out.lines.trim())).toBe(N);
}, 60_000);
