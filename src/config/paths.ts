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

export const PROJECT_ROOT = findRoot(__dirname);
export const TOOLS_BIN = path.join(PROJECT_ROOT, '.tools', 'bin');
export const DATA_DIR = process.env.PARTFLOW_DATA_DIR || path.join(PROJECT_ROOT, '.data');
