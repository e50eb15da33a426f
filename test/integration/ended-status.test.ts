import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Client, WorkflowHandle } from '@temporalio/client';
import { builtinPipelines } from '../../src/pipelines';
import { s3Client } from '../../src/storage/client';
import { startHarness, TestHarness } from '../helpers/stack';
import { until } from '../helpers/until';

/**
 * PartflowStatus of runs that end without a result: a run that fails, in whatever phase, says
 * `failed`, and one cancelled before its plan says `cancelled`, so that list filters such as
 * `PartflowStatus = "planning"` show only runs that are planning.
 */
const BUCKET = 'it-ended';
let h: TestHarness;

beforeAll(async () => {
  h = await startHarness('ended', builtinPipelines, { bucket: BUCKET });
  await s3Client(h.cfg.s3).send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src/a.csv', Body: 'id,label\n1,one\n' }));
});

afterAll(async () => {
  await h?.stop();
});

const status = async (x: WorkflowHandle) => (await x.describe()).searchAttributes.PartflowStatus;

/** Ids of this task queue's runs that Temporal's visibility store lists under the query. */
async function listed(client: Client, taskQueue: string, query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of client.workflow.list({ query: `TaskQueue = "${taskQueue}" AND ${query}` })) ids.push(w.workflowId);
  return ids.sort();
}

describe('PartflowStatus of a run that ends without a result', () => {
  it('is failed, whatever the run failed at, and list filters say so', async () => {
    const cases = {
      'bad-input': { pipeline: 'copy', source: 's3://Bad/x' },
      'unknown-pipeline': { pipeline: 'nope', source: `s3://${BUCKET}/src/` },
      'missing-bucket': { pipeline: 'copy', source: 's3://it-ended-no-such-bucket/src/' },
      'typod-source': { pipeline: 'copy', source: `s3://${BUCKET}/scr/` },
    };
    const ids = Object.keys(cases).map((k) => `ended-${k}-${process.pid}`).sort();
    const handles = await Promise.all(Object.entries(cases).map(([k, input]) => h.client.workflow.start('ingest', {
      taskQueue: h.cfg.taskQueue, workflowId: `ended-${k}-${process.pid}`, args: [input], workflowExecutionTimeout: '1m',
    })));
    for (const x of handles) {
      await expect(x.result()).rejects.toThrow();
      expect([x.workflowId, (await x.describe()).status.name, await status(x)]).toEqual([x.workflowId, 'FAILED', ['failed']]);
    }
    // What `temporal workflow list --query 'PartflowStatus = "failed"'` lists; the store catches up a moment later.
    await until('the failed runs listed as failed', 30_000, async () => {
      const l = await listed(h.client, h.cfg.taskQueue, 'PartflowStatus = "failed"');
      return ids.every((id) => l.includes(id)) ? l : undefined;
    });
    expect(await listed(h.client, h.cfg.taskQueue, 'PartflowStatus = "planning"')).toEqual([]);
  });

  it('is cancelled for a run cancelled while it plans', async () => {
    // The run is cancelled before a worker polls its task queue: its first workflow task sets
    // "planning", starts planning, and is cancelled there.
    const queue = `test-ended-cancel-${process.pid}`;
    const x = await h.client.workflow.start('ingest', { taskQueue: queue, workflowId: `ended-cancelled-${process.pid}`, args: [{ pipeline: 'copy', source: `s3://${BUCKET}/src/` }] });
    await x.cancel();
    const worker = await startHarness('ended-cancel', builtinPipelines, { bucket: BUCKET });
    try {
      await expect(x.result()).rejects.toThrow();
      expect((await x.describe()).status.name).toBe('CANCELLED');
      expect(await status(x)).toEqual(['cancelled']);
    } finally {
      await worker.stop();
    }
  });
});
