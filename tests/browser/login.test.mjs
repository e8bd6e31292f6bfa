// The console's login in headless Chromium against the real server set to ask for one, over
// HTTPS: nothing shows before it, roles decide what an operator may change, and logging out ends
// it; plain http:// on the same port is sent on to https://.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Depot, accessibility, openBrowser, screenshots, until } from './harness.mjs';

const shots = screenshots();
const depot = new Depot();
let browser;
let page;

before(async () => {
  await depot.start({ demo: 1, historyDays: 1, requireLogin: true, https: true, operators: [['Ann', 'manager', 'ann-secret-pw']] });
  ({ browser, page } = await openBrowser(depot.trustArgs()));
});

after(async () => {
  await browser?.close();
  depot.stop();
});

async function logIn(name, password) {
  await page.getByTestId('login-name').fill(name);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

test('a manager logs in, adds a read-only operator who cannot start charging, and both log out', async () => {
  assert.match(depot.base, /^https:\/\//);
  const plain = await fetch(depot.base.replace('https://', 'http://') + '/#/settings', { redirect: 'manual' });
  assert.equal(plain.status, 308, 'plain http:// is sent on');
  assert.equal(plain.headers.get('location'), `${depot.base}/`);
  await page.goto(depot.base);
  await page.getByTestId('login-form').waitFor();
  assert.equal(await page.getByTestId('nav-dashboard').count(), 0, 'nothing of the depot before the login');
  const status = (path) => page.evaluate(async (p) => (await fetch(p)).status, path);
  assert.equal(await status('/api/stations'), 401, 'nor through the API');
  await page.screenshot({ path: join(shots, 'login.png') });
  await accessibility(page, 'login');

  await logIn('Ann', 'not-her-password');
  await until('a wrong password said', async () => /Wrong name or password/.test(await page.getByTestId('notice').innerText()));
  await logIn('Ann', 'ann-secret-pw');
  await until('the dashboard', async () => (await page.getByTestId('signed-in').count()) === 1);
  assert.match(await page.getByTestId('signed-in').innerText(), /Ann · manager/);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'chargeyard_session');
  assert.ok(session?.httpOnly, 'the session cookie is HttpOnly');
  assert.ok(session.secure, 'and sent over HTTPS only');
  assert.equal(session.sameSite, 'Strict');

  await page.goto(`${depot.base}/#/settings`);
  await page.getByTestId('operators').waitFor();
  await page.getByTestId('operator-name').fill('Rita');
  await page.getByTestId('operator-role').selectOption('read_only');
  await page.getByTestId('operator-password').fill('short');
  await page.getByTestId('operator-add').click();
  await until('a short password refused', async () => /at least 10 characters/.test(await page.getByTestId('notice').innerText()));
  await page.getByTestId('operator-password').fill('rita-secret-pw');
  await page.getByTestId('operator-add').click();
  await until('Rita added', async () => (await page.locator('[data-testid=operator][data-name="Rita"]').count()) === 1);
  await page.getByTestId('logout').click();
  await page.getByTestId('login-form').waitFor();

  await logIn('Rita', 'rita-secret-pw');
  await until('Rita in', async () => /Rita · read-only/.test(await page.getByTestId('signed-in').innerText()));
  const [station] = await page.evaluate(async () => (await fetch('/api/stations')).json());
  await page.goto(`${depot.base}/#/station/${encodeURIComponent(station.id)}`);
  await page.getByTestId('start-tag').fill('ANY-TAG');
  await page.getByTestId('remote-start').click();
  await until('refused for her role', async () => /read-only operator cannot change anything/.test(await page.getByTestId('notice').innerText()));
  await page.getByTestId('logout').click();
  await page.getByTestId('login-form').waitFor();
  assert.equal(await status('/api/stations'), 401, 'the session is over');
});
