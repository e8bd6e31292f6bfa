// A full disk as the depot manager sees it, in headless Chromium against the real server: the
// database on a small file system of its own (a tmpfs mounted for the test: root only, as
// scripts/test runs) that a file fills while the demo's chargers charge. The console says so in
// both languages, a remote start is refused with the reason, and it all clears once space is
// freed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Depot, accessibility, openBrowser, until } from './harness.mjs';

const root = process.getuid?.() === 0;
const mount = mkdtempSync(join(tmpdir(), 'chargeyard-small-disk-'));
const depot = new Depot();
let browser;
let page;

before(async () => {
  if (!root) return;
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mount]);
  mkdirSync(join(mount, 'data'));
  await depot.start({ demo: 2, historyDays: 1, dir: join(mount, 'data') });
  ({ browser, page } = await openBrowser());
});

after(async () => {
  await browser?.close();
  depot.stop();
  if (root) execFileSync('umount', ['-l', mount]);
  rmSync(mount, { recursive: true, force: true });
});

/** Write to `file` until the file system holding it is full. */
function fill(file) {
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(64 * 1024, 0xa5);
  try {
    for (;;) {
      writeSync(fd, block);
      fsyncSync(fd);
    }
  } catch (e) {
    if (e.code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

test('a full disk is shown in the console, a start is refused with the reason, and it clears when space is freed', { skip: !root && 'mounting a small file system needs root' }, async () => {
  await page.goto(`${depot.base}/#/`);
  await page.getByTestId('engine-status').waitFor();
  assert.equal(await page.getByTestId('disk-full').count(), 0, 'no banner while there is room');

  // The engine sees for itself that the disk is full: the demo's meter values may go on
  // fitting in pages the WAL's file already has for minutes.
  const filler = join(mount, 'filler');
  fill(filler);
  const banner = page.getByTestId('disk-full');
  await until('the banner', async () => (await banner.count()) === 1, 10_000);
  assert.match(await banner.innerText(), /disk holding the database \(.*chargeyard\.db\) is full/);
  assert.ok((await accessibility(page, 'a full disk')) > 10);
  await page.getByTestId('lang-toggle').click();
  await until('in Swedish', async () => /Disken med databasen .* är full/.test(await banner.innerText()));
  assert.ok((await accessibility(page, 'a full disk, in Swedish')) > 10);
  await page.getByTestId('lang-toggle').click();

  // A remote start is refused before anything goes to the charger, saying why.
  const [station] = await depot.api('GET', '/api/stations');
  const sent = (await depot.api('GET', `/api/stations/${encodeURIComponent(station.id)}/commands`)).length;
  await page.goto(`${depot.base}/#/station/${encodeURIComponent(station.id)}`);
  await page.getByTestId('start-tag').fill('DEPOT-VAN');
  await page.getByTestId('remote-start').click();
  await until('the reason', async () => /disk holding Chargeyard's database is full/.test(await page.getByTestId('notice').innerText()));
  assert.equal((await depot.api('GET', `/api/stations/${encodeURIComponent(station.id)}/commands`)).length, sent, 'nothing was sent');
  assert.equal(await banner.count(), 1, 'the banner on every page');

  // Space freed: the engine finds it can write again by itself (it does not wait for a
  // charger's next message, which may be a minute away) and the banner goes.
  unlinkSync(filler);
  await until('the banner gone', async () => (await banner.count()) === 0, 10_000);
  assert.equal((await depot.api('GET', '/api/info')).disk_full, false);
});
