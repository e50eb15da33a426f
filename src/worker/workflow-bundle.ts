import { bundleWorkflowCode, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { logger } from '../log';

/**
 * The workflow bundle, kept on disk for the code it was built from. Bundling (webpack) took about
 * 1.7 s and 3 CPU s of every worker start on a 2-core machine; with the bundle kept, a worker
 * with workflows is ready as soon as one without. The key is a hash of every file the bundle can
 * hold (the compiled workflows, and the shared code and activities they import) and of the
 * SDK's version, so changed code is bundled again, never served stale: a stale bundle would run
 * old workflow code against new histories.
 */
export interface BundleCacheOptions {
  workflowsPath: string;
  /** Folders whose files may end up in the bundle; their .js/.ts files make the key. */
  sourceDirs: string[];
  /** Where bundles are kept; unset or unwritable: bundled every time, as the SDK would. */
  cacheDir?: string;
}

const quietBundlerLogger = {
  log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined,
  warn: (m: string, meta?: Record<string, unknown>) => logger().warn(meta ?? {}, m),
  error: (m: string, meta?: Record<string, unknown>) => logger().error(meta ?? {}, m),
};

export function bundleWorkflowsAt(workflowsPath: string): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
}

function sourceFiles(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name.startsWith('.') ? [] : sourceFiles(p);
    return /\.(js|ts|mjs|cjs)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The cache key: the SDK's version, then each source file's path (relative) and content. */
export function bundleKey(opts: BundleCacheOptions): string {
  const h = createHash('sha256');
  h.update(`@temporalio/workflow ${(require('@temporalio/workflow/package.json') as { version: string }).version}\0${path.basename(opts.workflowsPath)}\0`);
  for (const dir of opts.sourceDirs) {
    for (const f of sourceFiles(dir).sort()) {
      h.update(`${path.relative(path.dirname(opts.workflowsPath), f)}\0`);
      h.update(fs.readFileSync(f));
      h.update('\0');
    }
  }
  return h.digest('hex').slice(0, 24);
}

/** The bundle for the workflow code as it is now: read from the cache, or bundled (and kept). */
export async function cachedWorkflowBundle(opts: BundleCacheOptions): Promise<WorkflowBundleWithSourceMap> {
  if (!opts.cacheDir) return bundleWorkflowsAt(opts.workflowsPath);
  const key = bundleKey(opts);
  const codeFile = path.join(opts.cacheDir, `workflow-bundle-${key}.js`);
  const mapFile = `${codeFile}.map`;
  try {
    return { code: fs.readFileSync(codeFile, 'utf8'), sourceMap: fs.readFileSync(mapFile, 'utf8') };
  } catch {
    // Not kept yet (or only half): bundle below.
  }
  const bundle = await bundleWorkflowsAt(opts.workflowsPath);
  try {
    fs.mkdirSync(opts.cacheDir, { recursive: true });
    // Written under temporary names and renamed, map first: a reader that finds the code finds
    // its map, and two workers starting at once cannot read a half-written file.
    const tmp = `.${process.pid}-${Date.now()}`;
    fs.writeFileSync(mapFile + tmp, bundle.sourceMap);
    fs.renameSync(mapFile + tmp, mapFile);
    fs.writeFileSync(codeFile + tmp, bundle.code);
    fs.renameSync(codeFile + tmp, codeFile);
    for (const f of fs.readdirSync(opts.cacheDir)) {
      if (f.startsWith('workflow-bundle-') && !f.startsWith(`workflow-bundle-${key}.`)) fs.rmSync(path.join(opts.cacheDir, f), { force: true });
    }
  } catch (err) {
    logger().debug({ cacheDir: opts.cacheDir, err: (err as Error).message }, 'could not keep the workflow bundle; the next start bundles again');
  }
  return bundle;
}
