/**
 * Starts a decode guard thread (decode-guard-thread.ts): the compiled module when there is one,
 * else, running from TypeScript sources (ts-jest), the same module transpiled here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker, WorkerOptions } from 'node:worker_threads';

const THREAD_JS = path.join(__dirname, 'decode-guard-thread.js');
const THREAD_TS = path.join(__dirname, 'decode-guard-thread.ts');

// Running from TypeScript sources (ts-jest), the thread runs its modules as transpiled here.
const TS_BOOT = `
const { workerData } = require('node:worker_threads');
require.extensions['.ts'] = (m, filename) => {
  const code = workerData.sources[filename];
  if (code === undefined) throw new Error('decode guard thread: no transpiled source for ' + filename);
  m._compile(code, filename);
};
require(workerData.file);
`;

let tsSources: Record<string, string> | undefined;

/**
 * The thread's TypeScript modules and the project modules they import, transpiled to CommonJS.
 * This is done here rather than in the thread: the compiler would not fit in the thread's heap.
 */
function transpiledSources(entry: string): Record<string, string> {
  if (tsSources) return tsSources;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const ts = require('typescript') as typeof import('typescript');
  const out: Record<string, string> = {};
  const visit = (file: string) => {
    if (out[file] !== undefined) return;
    const text = fs.readFileSync(file, 'utf8');
    out[file] = ts.transpileModule(text, {
      fileName: file, compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    for (const imp of ts.preProcessFile(text, true, true).importedFiles) {
      if (!imp.fileName.startsWith('.')) continue;
      const base = path.resolve(path.dirname(file), imp.fileName);
      const found = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
      if (found) visit(found);
    }
  };
  visit(entry);
  return (tsSources = out);
}

export function startThread(opts: WorkerOptions): Worker {
  return fs.existsSync(THREAD_JS)
    ? new Worker(THREAD_JS, opts)
    : new Worker(TS_BOOT, { ...opts, eval: true, workerData: { file: THREAD_TS, sources: transpiledSources(THREAD_TS) } });
}
