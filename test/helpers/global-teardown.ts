import fs from 'node:fs';
import { STACK_FILE, TestStackInfo } from './stack-file';

export default async function globalTeardown(): Promise<void> {
  const stack = (globalThis as unknown as { __partflowStack?: { stop(): Promise<void> } }).__partflowStack;
  await stack?.stop();
  try {
    const info = JSON.parse(fs.readFileSync(STACK_FILE, 'utf8')) as TestStackInfo;
    fs.rmSync(info.dataDir, { recursive: true, force: true });
    fs.rmSync(STACK_FILE, { force: true });
  } catch {
    // nothing to clean
  }
}
