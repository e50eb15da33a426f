import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

describe('kafkaLibs', () => {
  const saved = { tools: process.env.PARTFLOW_TOOLS_DIR, libs: process.env.PARTFLOW_KAFKA_LIBS };
  afterEach(() => {
    for (const [k, v] of [['PARTFLOW_TOOLS_DIR', saved.tools], ['PARTFLOW_KAFKA_LIBS', saved.libs]] as const) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  });

  it('finds the broker jars under PARTFLOW_TOOLS_DIR, where setup-tools.sh puts them, as it does Temporal and versitygw', () => {
    const tools = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-tools-'));
    fs.mkdirSync(path.join(tools, 'kafka', 'libs'), { recursive: true });
    fs.writeFileSync(path.join(tools, 'kafka', 'libs', 'kafka_2.13-3.9.1.jar'), '');
    process.env.PARTFLOW_TOOLS_DIR = tools;
    delete process.env.PARTFLOW_KAFKA_LIBS;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { kafkaLibs } = require('../../src/stack/kafka') as typeof import('../../src/stack/kafka');
      expect(kafkaLibs()).toBe(path.join(tools, 'kafka', 'libs'));
    });
    fs.rmSync(tools, { recursive: true, force: true });
  });
});
