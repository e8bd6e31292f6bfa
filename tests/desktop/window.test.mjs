// The console in the real Tauri window (WebKitGTK under Xvfb), driven through tauri-driver and
// WebKitWebDriver: a charger arrives, is accepted from the inbox, shows on the dashboard, and a
// remote start then a remote stop from the station view run a real transaction on it. The engine
// is the one inside the window process; the charger is chargeyard-sim over a loopback socket.
// Run by scripts/test as: xvfb-run -a dbus-run-session -- node --test tests/desktop/

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, freePort, simulator, until } from '../browser/harness.mjs';
import { Window } from './webdriver.mjs';

const shots = process.env.CHARGEYARD_SCREENSHOTS || join(tmpdir(), 'chargeyard-screenshots');
mkdirSync(shots, { recursive: true });

const dir = mkdtempSync(join(tmpdir(), 'chargeyard-window-'));
// The window's own home, where a start at login is written (~/.config/autostart).
const home = join(dir, 'home');
mkdirSync(home);
const children = [];
let w;
let ocpp;

before(async () => {
  const port = await freePort();
  ocpp = `ws://127.0.0.1:${port}/ocpp`;
  w = await Window.open(bin('chargeyard'), {
    CHARGEYARD_DATA_DIR: dir,
    CHARGEYARD_OCPP_LISTEN: `127.0.0.1:${port}`,
    CHARGEYARD_OCPP_TLS_LISTEN: '127.0.0.1:0',
    CHARGEYARD_EXIT_ON_CLOSE: '1',
    HOME: home,
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

test('in the window: a refused tag is explained before anything is sent, and a password given to WIN-1 keeps it connecting', async () => {
  await w.go('#/station/WIN-1');
  await (await w.wait('[data-testid=start-tag]')).fill('NOT-A-TAG');
  await (await w.find('[data-testid=remote-start]')).click();
  await until('the reason', async () => /NOT-A-TAG is not known here/.test(await notice()));
  await (await w.find('[data-testid=password]')).fill('abc');
  await (await w.find('[data-testid=password-save]')).click();
  await until('the length asked for beside the field', async () => {
    const e = await w.find('[data-testid=field-error][data-field=password]');
    return e !== null && /16 to 40 characters; it has 3/.test(await e.text());
  });
  await (await w.find('[data-testid=password]')).fill('window-key-0123456789');
  await (await w.find('[data-testid=password-save]')).click();
  await until('the charger took it', async () => /accepted the new password/.test(await notice()));
  await until('a password required', async () => /Required/.test(await (await w.find('[data-testid=password-state]')).text()));
  // The charger reboots and comes back with its new password.
  await (await w.find('[data-testid=reset]')).click();
  // A reset is asked about first, naming the station.
  assert.match(await (await w.wait('[data-testid=command-confirm]')).text(), /Soft reset WIN-1\?/);
  await (await w.find('[data-testid=command-confirm-yes]')).click();
  await until('the reset accepted', async () => /accepted/.test(await notice()));
  await w.go('#/station/WIN-1/health');
  await until('reconnected after its reboot', async () => {
    await (await w.wait('[data-testid=health-refresh]')).click();
    return Number(await (await w.wait('[data-testid=health-reconnects]')).text()) >= 1;
  }, 30_000);
  assert.equal((await (await w.find('[data-testid=health-refused]')).text()).trim().split(' ')[0], '0', 'never refused');
});

/** Set a form field the way typing does (date inputs take no keys the same way everywhere). */
async function setField(css, value) {
  await w.wait(css);
  await w.script('const e = document.querySelector(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event("input", { bubbles: true })); e.dispatchEvent(new Event("change", { bubbles: true }));', [css, value]);
}

test('a tariff made and edited in the window prices the next session, and its invoice is written to a file', async () => {
  await w.go('#/tariffs');
  await (await w.wait('[data-testid=add-tariff]')).click();
  await (await w.wait('[data-testid=tariff-name]')).fill('Window tariff');
  await (await w.find('[data-testid=tariff-per_kwh]')).fill('2');
  await (await w.find('[data-testid=save-tariff]')).click();
  await w.wait('[data-testid=tariff-row][data-name="Window tariff"]');
  await setField('[data-testid=assign-scope]', 'default');
  await (await w.find('[data-testid=assign]')).click();
  await until('a tariff to be asked for', async () => /Choose/.test(await notice()));
  await w.script('const s = document.querySelector("[data-testid=assign-tariff]"); s.value = [...s.options].find((o) => o.text === arguments[0]).value; s.dispatchEvent(new Event("change", { bubbles: true }));', ['Window tariff']);
  await (await w.find('[data-testid=assign]')).click();
  await until('the default listed', async () => /Window tariff/.test(await (await w.wait('[data-testid=assignment]')).text()));
  await (await w.find('[data-testid=tariff-row][data-name="Window tariff"] [data-testid=edit-tariff]')).click();
  await (await w.wait('[data-testid=tariff-per_kwh]')).fill('3');
  await (await w.find('[data-testid=save-tariff]')).click();
  await until('version 2', async () => (await (await w.find('[data-testid=tariff-row][data-name="Window tariff"] [data-testid=tariff-version]'))?.text()) === '2');
  writeFileSync(join(shots, 'window-tariffs.png'), await w.screenshot());

  // A charger that runs one short session of its own with a tag of its own.
  await w.go('#/tags');
  await (await w.wait('[data-testid=add-tag]')).click();
  await (await w.wait('[data-testid=tag-id]')).fill('WIN-TAG-2');
  await (await w.find('[data-testid=save-tag]')).click();
  await w.wait('[data-testid=tag-row][data-tag="WIN-TAG-2"]');
  // New chargers admitted at once (a pending one would wait a minute before booting again).
  await w.go('#/settings');
  await (await w.wait('input[name=policy][value=accept]')).click();
  await (await w.find('[data-testid=save-settings]')).click();
  await until('saved', async () => /in effect now/.test(await notice()));
  charger('WIN-2', ['--connectors', '1', '--tag', 'WIN-TAG-2', '--meter-interval', '1', '--samples', '3', '--sessions', '1']);
  await until('the WIN-2 session finished and priced', async () => {
    await w.go('#/');
    await w.go('#/sessions'); // the list loads when opened
    const row = await w.wait('[data-testid=session-row]');
    const text = row ? await row.text() : '';
    return /WIN-2/.test(text) && /SEK/.test(text) && !/Running/.test(text);
  }, 60_000);

  await w.go('#/invoices');
  const d = new Date(); // the engine's time zone is the system's, as this process's
  const today = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  await setField('[data-testid=invoice-from]', today);
  await setField('[data-testid=invoice-to]', today);
  await setField('[data-testid=csv-separator]', ',');
  const comma = await w.find('[data-testid=csv-decimal-comma]');
  if ((await comma.e('/selected')) === true) await comma.click();
  await (await w.find('[data-testid=export-invoice]')).click();
  await w.wait('[data-testid=export-result]', 30_000);
  assert.match(await notice(), /^Wrote 1 session to invoice_/);
  const files = readdirSync(join(dir, 'exports')).filter((f) => f.startsWith('invoice_'));
  assert.equal(files.length, 1, `one invoice file, nothing half-written: ${files}`);
  const csv = readFileSync(join(dir, 'exports', files[0]), 'utf8');
  const line = csv.split('\r\n').find((l) => /,WIN-2,/.test(l));
  assert.ok(line, csv);
  assert.match(line, /,WIN-TAG-2,.*,Window tariff v2,SEK,/);
  writeFileSync(join(shots, 'window-invoices.png'), await w.screenshot());
});

test('a technician inspects a charger, is refused a bad command, edits its configuration and gets its diagnostics, in the window', async () => {
  await w.go('#/station/WIN-1/messages');
  const boot = await w.wait('[data-testid=frame][data-action=BootNotification][data-type="2"]');
  assert.ok(boot, 'the boot is in the inspector');
  assert.match(await (await w.find('[data-testid=frame][data-action=BootNotification][data-type="2"] [data-testid=latency]')).text(), /^\d+ ms$/);
  await w.wait('[data-testid=composer-action] option[value=Reset]');
  await setField('[data-testid=composer-action]', 'Reset');
  await setField('[data-testid=composer-payload]', '{"type": "Warm"}');
  await until('the composer refuses the payload', async () => /Reset/.test(await (await w.find('[data-testid=composer-check]')).text()));
  assert.notEqual(await (await w.find('[data-testid=composer-send]')).attr('disabled'), null, 'nothing invalid can be sent');
  writeFileSync(join(shots, 'window-inspector.png'), await w.screenshot());

  await w.go('#/station/WIN-1/configuration');
  const input = '[data-testid=config-row][data-key=HeartbeatInterval] [data-testid=config-input]';
  await w.wait(input, 30_000);
  await setField(input, '90');
  await (await w.find('[data-testid=config-send]')).click();
  await until('the station accepts the key', async () =>
    (await (await w.find('[data-testid=config-row][data-key=HeartbeatInterval] [data-testid=config-result]')).text()) === 'Accepted');
  await until('read back from the station', async () => (await w.script('return document.querySelector(arguments[0]).value', [input])) === '90');

  await w.go('#/station/WIN-1/files');
  await (await w.wait('[data-testid=diagnostics-request]')).click();
  await w.wait('[data-testid=transfer][data-kind=diagnostics][data-state=transferred]', 30_000);
  const received = readdirSync(join(dir, 'transfers', 'diagnostics', 'WIN-1'));
  assert.equal(received.length, 1, 'the upload landed in the data folder');
  assert.match(readFileSync(join(dir, 'transfers', 'diagnostics', 'WIN-1', received[0]), 'utf8'), /WIN-1 diagnostics/);
  assert.match(await (await w.find('[data-testid=transfer]')).text(), /diagnostics-WIN-1\.log/);
  // Read in place, in the window.
  await (await w.find('[data-testid=transfer-view]')).click();
  await until('the log shown', async () => /WIN-1 diagnostics/.test(await (await w.wait('[data-testid=transfer-content]')).text()));
});

test('the desktop app starts at login when asked, minimised to the tray, and keeps a log in its data folder', async () => {
  const autostart = join(home, '.config', 'autostart');
  const entries = () => { try { return readdirSync(autostart).filter((f) => f.endsWith('.desktop')); } catch { return []; } };
  await w.go('#/settings');
  const box = await w.wait('[data-testid=start-at-login]');
  assert.equal(await box.e('/selected'), false, 'off until asked');
  assert.deepEqual(entries(), []);
  await box.click();
  await until('the notice', async () => /starts when you log in/.test(await notice()));
  assert.equal(entries().length, 1, 'one autostart entry');
  const entry = readFileSync(join(autostart, entries()[0]), 'utf8');
  assert.match(entry, /^Exec=.*--minimized/m, entry);
  await (await w.find('[data-testid=start-at-login]')).click();
  await until('off again', async () => entries().length === 0);
  // The log of this run, in a file of the day.
  const logs = readdirSync(join(dir, 'logs')).filter((f) => /^chargeyard\..*log$/.test(f));
  assert.equal(logs.length, 1, `${logs}`);
});
