// Backups in headless Chromium against the real server: the folder and schedule set in Settings
// (a bad folder named in place), a backup made while the demo's chargers charge, listed with what
// it holds, and restored: the server restarts itself with the backup and the page comes back.
// A depot of its own, since a restore rolls the database back.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Depot, accessibility, openBrowser, until } from './harness.mjs';

const depot = new Depot();
const folder = mkdtempSync(join(tmpdir(), 'chargeyard-backups-'));
let browser;
let page;

before(async () => {
  await depot.start({ demo: 2, historyDays: 1 });
  ({ browser, page } = await openBrowser());
});

after(async () => {
  await browser?.close();
  depot.stop();
  rmSync(folder, { recursive: true, force: true });
});

test('a backup is made from Settings while chargers charge, and restoring it brings the console back with its data', async () => {
  await page.goto(`${depot.base}/#/settings`);
  const section = page.getByTestId('backups');
  await section.waitFor();
  await until('the default folder shown', async () => /backups/.test(await page.getByTestId('backup-folder').getAttribute('placeholder')));

  // A folder that is not a full path is refused beside the form; nothing saved.
  await page.getByTestId('backup-folder').fill('usb/backups');
  await page.getByTestId('save-backups').click();
  await until('the problem said', async () => /is not a full path/.test(await page.getByTestId('backup-problem').innerText().catch(() => '')));
  assert.equal((await depot.api('GET', '/api/backups')).policy.folder, null);

  // The chosen folder, kept to three.
  await page.getByTestId('backup-folder').fill(folder);
  await page.getByTestId('backup-keep').fill('3');
  await page.getByTestId('save-backups').click();
  await until('saved', async () => /Backup settings saved/.test(await page.getByTestId('notice').innerText()));
  assert.equal(await page.getByTestId('backup-problem').count(), 0, 'the old problem cleared');
  assert.deepEqual((await depot.api('GET', '/api/backups')).policy, { folder, every_hours: 24, keep: 3 });

  // Backed up now, while the demo's chargers send their meter values.
  await page.getByTestId('back-up-now').click();
  await until('made', async () => /Backed up to chargeyard-.*\.db and checked: \d+ sessions?, 2 stations/.test(await page.getByTestId('notice').innerText()));
  const row = page.getByTestId('backup-row');
  assert.equal(await row.count(), 1);
  assert.match(await row.innerText(), /Sound/);
  assert.match(await row.innerText(), /\d+(\.\d)? (KiB|MiB)/);
  assert.equal(readdirSync(folder).filter((f) => f.endsWith('.db')).length, 1);
  assert.ok((await accessibility(page, 'settings with backups')) > 10);

  // Something recorded after the backup: a restore sets it aside.
  await depot.api('POST', '/api/id-tags', { id_tag: 'AFTER-BACKUP', status: 'Accepted' });
  await row.getByTestId('restore-backup').click();
  const confirm = page.getByTestId('restore-confirm');
  await confirm.waitFor();
  assert.match(await confirm.innerText(), /in place of the current database\?[\s\S]*before-restore-/);
  assert.match(await confirm.innerText(), /2 stations/);
  await page.getByTestId('restore-confirm-no').click();
  assert.equal((await depot.api('GET', '/api/id-tags?q=AFTER-BACKUP')).total, 1, 'cancelled: nothing happened');

  await row.getByTestId('restore-backup').click();
  await page.getByTestId('restore-confirm-yes').click();
  await until('restarting said', async () => /Chargeyard is restarting with the backup/.test(await page.getByTestId('notice').innerText().catch(() => '')));
  // The page reloads once the server is back: the tag made after the backup is gone.
  await page.waitForEvent('load', { timeout: 60_000 });
  await page.getByTestId('backups').waitFor();
  assert.equal((await depot.api('GET', '/api/id-tags?q=AFTER-BACKUP')).total, 0);
  assert.ok(readdirSync(depot.dir).some((f) => /^before-restore-.*\.db$/.test(f)), 'the database before is kept');
  // The demo's chargers come back to it.
  await until('chargers back', async () => (await depot.api('GET', '/api/stations')).filter((s) => s.connected).length === 2, 60_000);

  // In Swedish too.
  await page.getByTestId('lang-toggle').click();
  await page.getByRole('heading', { name: 'Säkerhetskopior' }).waitFor();
  assert.ok((await accessibility(page, 'backups (sv)')) > 10);
  await page.getByTestId('lang-toggle').click();
});
