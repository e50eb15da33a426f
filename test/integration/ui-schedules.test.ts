import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { chromium, Browser } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/config/paths';
import { createSchedule, scheduleSpec } from '../../src/schedules';
import { stackInfo, testConfig } from '../helpers/stack';

/**
 * The real Temporal UI of the dev server, in headless Chromium (as in ui.test.ts): a schedule
 * made by partflow shows on the UI's Schedules page, with its ingest. No worker is needed: the
 * schedule is paused and never fires. The screenshot is kept in .artifacts/.
 */
const ARTIFACT = path.join(PROJECT_ROOT, '.artifacts', 'temporal-ui-schedules.png');
const ID = `nightly-ui-${process.pid}`;
let browser: Browser;
let connection: Connection;
let client: Client;

beforeAll(async () => {
  const cfg = testConfig(`test-ui-sched-${process.pid}`);
  connection = await Connection.connect({ address: cfg.temporalAddress });
  client = new Client({ connection, namespace: cfg.temporalNamespace });
  await createSchedule(client, cfg, {
    id: ID, paused: true, note: 'made by ui-schedules.test.ts',
    input: { pipeline: 'birdstrikes', source: 's3://partflow/incoming/birdstrikes/' },
    spec: scheduleSpec({ cron: '0 2 * * *', timezone: 'Europe/Paris' }),
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  });
});

afterAll(async () => {
  await browser?.close();
  await client?.schedule.getHandle(ID).delete().catch(() => undefined);
  await connection?.close();
});

it('shows a partflow schedule on the Temporal UI Schedules page', async () => {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
  const url = `http://127.0.0.1:${stackInfo().uiPort}/namespaces/default/schedules`;
  // The page lists from Temporal's visibility store, which catches up a moment after the create.
  let found = false;
  for (let i = 0; i < 10 && !found; i++) {
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60_000 });
    found = await page.getByText(ID).first().waitFor({ state: 'visible', timeout: 10_000 }).then(() => true, () => false);
  }
  fs.mkdirSync(path.dirname(ARTIFACT), { recursive: true });
  await page.screenshot({ path: ARTIFACT, fullPage: true });
  expect(found).toBe(true);
  expect(fs.statSync(ARTIFACT).size).toBeGreaterThan(10_000);
  // Its own page shows what it runs: the ingest workflow, paused with the note.
  await page.getByText(ID).first().click();
  await page.getByText('ingest').first().waitFor({ state: 'visible', timeout: 30_000 });
  await page.screenshot({ path: ARTIFACT.replace('.png', '-detail.png'), fullPage: true });
  const text = await page.locator('body').innerText();
  fs.writeFileSync(ARTIFACT.replace('.png', '-detail.txt'), text);
  expect(text).toContain(ID);
  expect(text).toMatch(/made by ui-schedules\.test\.ts/);
}, 180_000);
