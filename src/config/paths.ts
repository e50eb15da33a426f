import fs from 'node:fs';
import path from 'node:path';

/** The partflow checkout or package this code runs from (works from src/ under ts-jest and from dist/). */
function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'partflow') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find partflow's package.json above ${start}`);
    dir = up;
  }
}

/** The project whose node_modules holds this package, if it is installed in one. */
function installingProject(root: string): string | undefined {
  const parts = root.split(path.sep);
  const i = parts.lastIndexOf('node_modules');
  return i > 0 ? parts.slice(0, i).join(path.sep) : undefined;
}

export const PROJECT_ROOT = findRoot(__dirname);
/**
 * The embedded stack's tools (scripts/setup-tools.sh): PARTFLOW_TOOLS_DIR, else `.tools` of a
 * checkout, else, for a package installed in a project's node_modules, that project's `.tools`
 * (where `npx partflow setup` puts them: a reinstall of node_modules keeps them).
 */
const HOME_PROJECT = installingProject(PROJECT_ROOT) ?? PROJECT_ROOT;
export const TOOLS_DIR = process.env.PARTFLOW_TOOLS_DIR || path.join(HOME_PROJECT, '.tools');
export const TOOLS_BIN = path.join(TOOLS_DIR, 'bin');
export const DATA_DIR = process.env.PARTFLOW_DATA_DIR || path.join(HOME_PROJECT, '.data');
