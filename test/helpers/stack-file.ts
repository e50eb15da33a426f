import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths';

/** Where global-setup leaves the addresses of the test stack for the test files. */
export const STACK_FILE = path.join(PROJECT_ROOT, '.data', 'test-stack.json');

export interface TestStackInfo {
  temporalAddress: string;
  s3Endpoint: string;
  uiPort: number;
  dataDir: string;
}
