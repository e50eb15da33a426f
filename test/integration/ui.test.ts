import { PutObjectCommand } from '@aws-sdk/client-s3';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, Browser } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/config/paths';
import { builtinPipelines } from '../../src/pipelines';
import { s3Client } from '../../src/storage/client';
import { startHarness, stackInfo, TestHarness } from '../helpers/stack';
import { encodeFile } from '../helpers/avro';
import { Type } from 'avsc';

/**
 * The real Temporal UI of the dev server, in headless Chromium (Debian's, installed by
 * scripts/setup-tools.sh --test): a run with a failed partition shows that partition's activity
 * and its summary. The screenshot is kept in .artifacts/.
 */
const BUCKET = 'it-ui';
const ARTIFACT = path.join(PROJECT_ROOT, '.artifacts', 'temporal-ui-failed-partition.png');
let h: TestHarness;
let browser: Browser;

beforeAll(async () => {
  h = await startHarness('ui', builtinPipelines, { bucket: BUCKET });
  const s3 = s3Client(h.cfg.s3);
  const type = Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'n', type: 'int' }] } as never);
  const good = encodeFile(type, [{ n: 1 }, { n: 2 }]);
  const bad = Buffer.from(good);
  bad[bad.length - 3] ^= 0xff;
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src/a.avro', Body: good }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'src/b.avro', Body: bad }));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  await h?.stop();
});

it('shows the failed partition activity and its summary in the Temporal UI', async () => {
  const id = `ui-${process.pid}`;
  const handle = await h.client.workflow.start('ingest', {
    taskQueue: h.cfg.taskQueue, workflowId: id, workflowExecutionTimeout: '5m', staticSummary: 'ingest copy from s3://it-ui/src/',
    // One activity per partition: each shows in the UI as its own (a batch would show as one).
    args: [{ pipeline: 'copy', source: `s3://${BUCKET}/src/`, target: `s3://${BUCKET}/out/`, waitForRetry: '1h', pack: false, partitionsPerActivity: 1 }],
  });
  for (let i = 0; i < 150; i++) {
    const p = await handle.query<{ phase: string }>('progress').catch(() => ({ phase: '' }));
    if (p.phase === 'waiting-for-retry') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
  await page.goto(`http://127.0.0.1:${stackInfo().uiPort}/namespaces/default/workflows/${id}`, { waitUntil: 'domcontentloaded', timeout: 60_000 });
  // The timeline and event list show each activity's summary with the partition's name: "copy b.avro" is the failed one.
  const failed = page.getByText('copy b.avro').first();
  await failed.waitFor({ state: 'visible', timeout: 60_000 });
  await page.getByText('copy a.avro').first().waitFor({ state: 'visible', timeout: 30_000 });
  fs.mkdirSync(path.dirname(ARTIFACT), { recursive: true });
  await page.screenshot({ path: ARTIFACT, fullPage: true });
  expect(fs.statSync(ARTIFACT).size).toBeGreaterThan(10_000);
  expect(await page.locator('body').innerText()).toMatch(/runStage • copy b\.avro/);
  // The event history names the failure: the activity, its summary and the error naming the object.
  await page.goto(page.url().replace(/\/timeline.*$/, '/history'), { waitUntil: 'domcontentloaded', timeout: 60_000 });
  await page.getByText('Activity Task Failed').first().waitFor({ state: 'visible', timeout: 30_000 });
  await page.screenshot({ path: ARTIFACT.replace('.png', '-events.png'), fullPage: true });
  const text = await page.locator('body').innerText();
  fs.writeFileSync(ARTIFACT.replace('.png', '-events.txt'), text);
  expect(text).toMatch(/copy b\.avro/);
  expect(text).toMatch(/stage "copy" partition p-[0-9a-f]{12} \(b\.avro\): corrupt input: s3:\/\/it-ui\/src\/b\.avro: sync marker mismatch/);
  await handle.terminate('ui test done');
}, 180_000);
