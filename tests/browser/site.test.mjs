// Load management in headless Chromium against the real server and its demo fleet: the site set
// up from the Site view (a mistake named in place, then fixed), its live load, the decisions,
// a session's limits on its own page, and the dashboard's power against the site's limit. A depot
// of its own: turning load management on changes what every charger may draw.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Depot, accessibility, openBrowser, screenshots, until } from './harness.mjs';

const shots = screenshots();
const depot = new Depot();
let browser;
let page;

before(async () => {
  await depot.start({ demo: 4, historyDays: 1 });
  ({ browser, page } = await openBrowser());
});

after(async () => {
  await browser?.close();
  depot.stop();
});

test('the site is set up in the console, shares the connection, and says why each car gets what it gets', async () => {
  await page.goto(`${depot.base}/#/site`);
  await page.getByTestId('site-off').waitFor();
  assert.ok((await accessibility(page, 'site (off)')) > 10);

  // Turned on with the chargers not yet placed: the engine names each, nothing is saved.
  await page.getByTestId('site-enabled').check();
  await page.getByTestId('site-limit').fill('40');
  await page.getByTestId('save-site').click();
  const problems = page.getByTestId('site-problems');
  await problems.waitFor();
  assert.match(await problems.innerText(), /Charger DEMO-01 is on no circuit/);
  assert.equal((await depot.api('GET', '/api/site')).enabled, false, 'nothing saved');

  // A 3×16 A feeder with two chargers on it, the others on the connection.
  await page.getByTestId('add-circuit').click();
  const circuit = page.getByTestId('circuit-row').first();
  await circuit.getByLabel('Id', { exact: true }).fill('feeder');
  await circuit.getByLabel('Name', { exact: true }).fill('Carport feeder');
  await circuit.getByLabel('Fuse (A per phase)').fill('16');
  for (const id of ['DEMO-01', 'DEMO-02', 'DEMO-03', 'DEMO-04']) {
    const row = page.locator(`[data-testid=placement][data-station="${id}"]`);
    await row.getByTestId('placement-circuit').selectOption(id <= 'DEMO-02' ? 'feeder' : 'main');
  }
  // The first demo driver's car must be full by six and is served first.
  const group = page.locator('[data-testid=group-priority][data-group="Demo driver 1"]');
  await group.getByRole('combobox').selectOption('High');
  await group.getByTestId('ready-by').fill('06:00');
  await page.getByTestId('save-site').click();
  await until('saved', async () => (await page.getByTestId('site-problems').count()) === 0 && (await depot.api('GET', '/api/site')).enabled);
  const site = await depot.api('GET', '/api/site');
  assert.deepEqual(site.circuits, [{ id: 'feeder', name: 'Carport feeder', parent: 'main', limit_a: 16 }]);
  assert.equal(site.stations.find((s) => s.station_id === 'DEMO-01').circuit, 'feeder');
  assert.deepEqual(site.priorities, [{ group: 'Demo driver 1', priority: 'High', ready_by: '06:00' }]);

  // Live: both circuits with their limits, what the depot does while the console is closed.
  await page.getByTestId('circuit-feeder').waitFor();
  assert.match(await page.getByTestId('circuit-main').innerText(), /40 A per phase/);
  assert.match(await page.getByTestId('failsafe-summary').innerText(), /If Chargeyard stops, the chargers fall back to their failsafe/);
  // The demo's drivers charge: each session has its share and the reason for it.
  await until('a session with its share', async () => (await page.getByTestId('site-session').count()) > 0, 60_000);
  const reason = await page.getByTestId('site-session').first().locator('.why').innerText();
  assert.ok(reason.length > 5, `a reason is given: ${reason}`);
  // Every limit sent is in the decisions, with the charger's answer.
  await page.getByTestId('decisions').waitFor();
  assert.match(await page.getByTestId('decisions').innerText(), /Failsafe[\s\S]*Accepted/);
  assert.ok((await accessibility(page, 'site (on)')) > 10);
  // The demo's cars obey their limits: what they draw comes in with their meter values.
  await until('a draw measured', async () => /\d\.\d A/.test(await page.getByTestId('site-sessions').locator('td:nth-child(6)').allInnerTexts().then((t) => t.join(' '))), 30_000);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, 'site.png'), fullPage: false });

  // In Swedish too.
  await page.getByTestId('lang-toggle').click();
  await page.getByRole('heading', { name: 'Anläggning och last' }).waitFor();
  assert.ok((await accessibility(page, 'site (sv)')) > 10);
  await page.getByTestId('lang-toggle').click();
  await page.getByRole('heading', { name: 'Site and load' }).waitFor();

  // The dashboard sets the depot's power against the connection's limit (3 × 40 A at 230 V).
  await page.goto(`${depot.base}/#/`);
  await page.getByTestId('strip-limit').waitFor();
  assert.equal(await page.getByTestId('strip-limit').innerText(), 'of 27.6 kW site limit');

  // A session's page lists the limits it was given.
  const running = await depot.api('GET', '/api/site/load');
  const withTx = running.connectors.find((c) => c.transaction_id !== null);
  await page.goto(`${depot.base}/#/sessions/${withTx.transaction_id}`);
  await page.getByTestId('session-limits').waitFor();
  assert.match(await page.getByTestId('session-limits').innerText(), /Session/);

  // Off again: the live view says so.
  await page.goto(`${depot.base}/#/site`);
  await page.getByTestId('site-enabled').uncheck();
  await page.getByTestId('save-site').click();
  await until('off', async () => !(await depot.api('GET', '/api/site')).enabled);
  // and the dashboard no longer speaks of a limit.
  await page.goto(`${depot.base}/#/`);
  await page.getByTestId('strip-power').waitFor();
  await until('no limit on the dashboard', async () => (await page.getByTestId('strip-limit').count()) === 0);
});
