import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { startEmbeddedStack } from '../../src/stack/embedded';
import { freePort } from '../../src/stack/process';
import { STACK_FILE, TestStackInfo } from './stack-file';

/**
 * One real Temporal dev server and one real versitygw for the whole run, on free ports so that a
 * developer's own `npm start` stack can keep running.
 */
export default async function globalSetup(): Promise<void> {
  const dataDir = path.join(path.dirname(STACK_FILE), `test-stack-${process.pid}`);
  fs.rmSync(dataDir, { recursive: true, force: true });
  const info: TestStackInfo = {
    temporalAddress: `127.0.0.1:${await freePort()}`,
    s3Endpoint: `http://127.0.0.1:${await freePort()}`,
    uiPort: await freePort(),
    dataDir,
  };
  const cfg = loadConfig({ TEMPORAL_ADDRESS: info.temporalAddress, AWS_ENDPOINT_URL_S3: info.s3Endpoint });
  const stack = await startEmbeddedStack(cfg, { dataDir, uiPort: info.uiPort });
  (globalThis as unknown as { __partflowStack: typeof stack }).__partflowStack = stack;
  fs.mkdirSync(path.dirname(STACK_FILE), { recursive: true });
  fs.writeFileSync(STACK_FILE, JSON.stringify(info));
}
