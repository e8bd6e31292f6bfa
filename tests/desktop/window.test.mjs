// The console in the real Tauri window (WebKitGTK under Xvfb), driven through tauri-driver and
// WebKitWebDriver: a charger arrives, is accepted from the inbox, shows on the dashboard, and a
// remote start then a remote stop from the station view run a real transaction on it. The engine
// is the one inside the window process; the charger is chargeyard-sim over a loopback socket.
// Run by scripts/test as: xvfb-run -a dbus-run-session -- node --test tests/desktop/

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, freePort, simulator, until } from '../browser/harness.mjs';
import { Window } from './webdriver.mjs';

const shots = process.env.CHARGEYARD_SCREENSHOTS || join(tmpdir(), 'chargeyard-screenshots');
mkdirSync(shots, { recursive: true });

const dir = mkdtempSync(join(tmpdir(), 'chargeyard-window-'));
const children = [];
let w;
let ocpp;

before(async () => {
  const port = await freePort();
  ocpp = `ws://127.0.0.1:${port}/ocpp`;
  w = await Window.open(bin('chargeyard'), {
    CHARGEYARD_DATA_DIR: dir,
    CHARGEYARD_OCPP_LISTEN: `127.0.0.1:${port}`,
    CHARGEYARD_EXIT_ON_CLOSE: '1',
    NO_AT_BRIDGE: '1',
    RUST_LOG: 'warn',
  });
  await w.wait('[data-testid=nav-dashboard]', 60_000);
});

after(async () => {
  for (const c of children) c.kill('SIGTERM');
  await w?.close();
  rmSync(dir, { recursive: true, force: true });
});

function charger(id, args) {
  children.push(simulator(ocpp, id, args));
}

const tileCss = (station, connector = 1) => `[data-testid=tile][data-station="${station}"][data-connector="${connector}"]`;
const tileStatus = async (station) => (await w.find(tileCss(station)))?.attr('data-status');
const notice = async () => (await (await w.find('[data-testid=notice]'))?.text()) ?? '';

test('a new charger is accepted from the inbox and shows on the dashboard', async () => {
  charger('WIN-1', ['--connectors', '1', '--idle']);
  await w.go('#/inbox');
  await (await w.wait('[data-testid=pending][data-station="WIN-1"] [data-testid=accept]')).click();
  await until('the acceptance notice', async () => /accepted/i.test(await notice()));
  await w.go('#/');
  await until('WIN-1 booted and Available on the dashboard', async () => (await tileStatus('WIN-1')) === 'Available', 30_000);
  writeFileSync(join(shots, 'window-dashboard.png'), await w.screenshot());
});

test('remote start then remote stop from the station view, in the window', async () => {
  await w.go('#/tags');
  await (await w.wait('[data-testid=add-tag]')).click();
  await (await w.wait('[data-testid=tag-id]')).fill('WIN-TAG');
  await (await w.find('[data-testid=save-tag]')).click();
  await w.wait('[data-testid=tag-row][data-tag="WIN-TAG"]');

  await w.go('#/');
  await (await w.wait(`${tileCss('WIN-1')} a`)).click();
  assert.match(await (await w.wait('[data-testid=station-title]')).text(), /WIN-1/);
  await (await w.find('[data-testid=start-tag]')).fill('WIN-TAG');
  await (await w.find('[data-testid=remote-start]')).click();
  await until('the charger to accept', async () => /accepted/i.test(await notice()));
  await w.wait('[data-testid=remote-stop]', 15_000);
  writeFileSync(join(shots, 'window-station.png'), await w.screenshot());

  await w.go('#/');
  await until('the tile to show Charging', async () => (await tileStatus('WIN-1')) === 'Charging');
  await (await w.find(`${tileCss('WIN-1')} a`)).click();
  await (await w.wait('[data-testid=remote-stop]')).click();
  await until('the stop to be accepted', async () => /accepted/i.test(await notice()));
  await w.go('#/');
  await until('the tile to leave Charging', async () => {
    const s = await tileStatus('WIN-1');
    return s && s !== 'Charging';
  }, 30_000);
  await until('no session on the tile', async () => (await w.count(`${tileCss('WIN-1')} [data-testid=session]`)) === 0);

  // The finished session is in the history, with the tag that started it.
  await w.go('#/sessions');
  await until('the closed session listed', async () => {
    const row = await w.find('[data-testid=session-row]');
    const text = row ? await row.text() : '';
    return /WIN-1/.test(text) && /WIN-TAG/.test(text);
  });
});
