// The console in headless Chromium (Debian's, driven by playwright-core) against the real
// headless server, its demo fleet and simulated chargers: what a depot manager does, clicked.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Depot, accessibility, openBrowser, screenshots, until } from './harness.mjs';

const shots = screenshots();

const depot = new Depot();
let browser;
let page;

before(async () => {
  await depot.start({ demo: 4 });
  await depot.api('POST', '/api/id-tags', { id_tag: 'E2E-TAG', status: 'Accepted', group_kind: 'driver', group_name: 'Test driver' });
  for (const id of ['E2E-DRIVE', 'E2E-REMOTE', 'E2E-TECH', 'E2E-REFUSE', 'E2E-FORGET', 'E2E-V201', 'E2E-TLS', 'E2E-CERT', 'E2E-UPGRADE']) await depot.api('POST', '/api/stations', { id, registration: 'accepted' });
  ({ browser, page } = await openBrowser());
});

after(async () => {
  await browser?.close();
  depot.stop();
});

const tile = (station, connector = 1) => page.locator(`[data-testid=tile][data-station="${station}"][data-connector="${connector}"]`);

test('the dashboard shows a simulated charger move to Charging', async () => {
  await page.goto(`${depot.base}/#/`);
  depot.charger('E2E-DRIVE', ['--connectors', '1', '--tag', 'E2E-TAG', '--meter-interval', '1', '--samples', '600']);
  await until('E2E-DRIVE to show Charging', async () => (await tile('E2E-DRIVE').getAttribute('data-status')) === 'Charging');
  await until('its session power on the tile', async () => /kW/.test(await tile('E2E-DRIVE').locator('[data-testid=power]').innerText()));
  // The demo depot is alive too, with its history behind it.
  await until('the demo tiles', async () => (await page.locator('[data-testid=tile][data-station^="DEMO-"]').count()) >= 4);
  await page.screenshot({ path: join(shots, 'dashboard.png') });
});

test('remote start from the station view starts a transaction, remote stop ends it', async () => {
  depot.charger('E2E-REMOTE', ['--connectors', '1', '--idle']);
  await page.goto(`${depot.base}/#/`);
  await until('E2E-REMOTE online and Available', async () => (await tile('E2E-REMOTE').getAttribute('data-status')) === 'Available');
  await tile('E2E-REMOTE').locator('a').click();
  await page.getByTestId('station-title').filter({ hasText: 'E2E-REMOTE' }).waitFor();
  await page.getByTestId('start-tag').fill('E2E-TAG');
  await page.getByTestId('remote-start').click();
  await until('the accepted answer', async () => /accepted/i.test(await page.getByTestId('notice').innerText()));
  await page.getByTestId('remote-stop').waitFor({ timeout: 15_000 });
  const open = await depot.api('GET', '/api/transactions?station_id=E2E-REMOTE&open=true');
  assert.equal(open.total, 1, 'a transaction runs on the charger');

  await page.goto(`${depot.base}/#/`);
  await until('the tile to show Charging', async () => (await tile('E2E-REMOTE').getAttribute('data-status')) === 'Charging');
  await tile('E2E-REMOTE').locator('a').click();
  await page.getByTestId('remote-stop').click();
  await until('the session to end', async () => (await depot.api('GET', '/api/transactions?station_id=E2E-REMOTE&open=true')).total === 0);
  await page.goto(`${depot.base}/#/`);
  await until('the tile to leave Charging', async () => (await tile('E2E-REMOTE').getAttribute('data-status')) !== 'Charging');
  await until('the session gone from the tile', async () => (await tile('E2E-REMOTE').locator('[data-testid=session]').count()) === 0);

  // The station's page lists the session, finished, and counts it in today's figures.
  const [done] = (await depot.api('GET', '/api/transactions?station_id=E2E-REMOTE')).items;
  await page.goto(`${depot.base}/#/station/E2E-REMOTE`);
  const row = page.locator(`[data-testid=station-session][data-transaction="${done.id}"]`);
  await until('the session listed as stopped from the console', async () => (await row.count()) === 1 && /Stopped from the console/.test(await row.innerText()));
  assert.match(await page.getByTestId('station-today').innerText(), /^1 session · \d+\.\d\d kWh · /);
  await page.screenshot({ path: join(shots, 'station.png'), fullPage: true });
  await row.locator('a').click();
  await until('its detail', async () => new URL(page.url()).hash === `#/sessions/${done.id}`);
  await page.goBack();
  await page.getByTestId('station-all-sessions').click();
  await until('every session of the station', async () => new URL(page.url()).hash === '#/sessions?station=E2E-REMOTE');
});

test('a charger offline answers with a clear message', async () => {
  await page.goto(`${depot.base}/#/station/${encodeURIComponent('E2E-GONE')}`);
  await depot.api('POST', '/api/stations', { id: 'E2E-GONE', registration: 'accepted' });
  await page.reload();
  await page.getByTestId('start-tag').fill('E2E-TAG');
  await page.getByTestId('remote-start').click();
  await until('the offline message', async () => /offline/i.test(await page.getByTestId('notice').innerText()));
});

test('a remote start with a tag that is not accepted is refused before it reaches the charger', async () => {
  depot.charger('E2E-REFUSE', ['--connectors', '1', '--idle']);
  await page.goto(`${depot.base}/#/station/E2E-REFUSE`);
  await until('E2E-REFUSE online', async () => (await depot.api('GET', '/api/stations/E2E-REFUSE')).connected);
  await page.getByTestId('start-tag').fill('NOBODY-KNOWN');
  await page.getByTestId('remote-start').click();
  await until('the reason', async () => /NOBODY-KNOWN is not known here/.test(await page.getByTestId('notice').innerText()));
  const log = await depot.api('GET', '/api/stations/E2E-REFUSE/commands');
  assert.equal(log.length, 0, 'nothing was sent to the charger');
  assert.equal((await depot.api('GET', '/api/transactions?station_id=E2E-REFUSE&open=true')).total, 0, 'nothing runs');
});

test('the dashboard cost follows the meter values of a running session', async () => {
  await page.goto(`${depot.base}/#/`);
  const cost = tile('E2E-DRIVE').locator('[data-testid=cost]');
  await cost.waitFor({ timeout: 20_000 });
  const first = await cost.innerText();
  await until('the cost to grow without a reload', async () => (await cost.innerText()) !== first, 20_000);
  // The same figure as the session priced through the API.
  const open = await depot.api('GET', '/api/transactions?station_id=E2E-DRIVE&open=true');
  assert.ok(open.items[0].cost.total > 0);
});

test('a session the charger forgot: its stop is rejected and the operator closes it, with the reason kept', async () => {
  const first = depot.charger('E2E-FORGET', ['--connectors', '1', '--idle']);
  await page.goto(`${depot.base}/#/station/E2E-FORGET`);
  await until('E2E-FORGET online', async () => (await depot.api('GET', '/api/stations/E2E-FORGET')).connected);
  await page.getByTestId('start-tag').fill('E2E-TAG');
  await page.getByTestId('remote-start').click();
  await page.getByTestId('remote-stop').waitFor({ timeout: 15_000 });
  // The charger loses power and comes back without the session.
  first.kill('SIGKILL');
  await until('E2E-FORGET offline', async () => !(await depot.api('GET', '/api/stations/E2E-FORGET')).connected);
  depot.charger('E2E-FORGET', ['--connectors', '1', '--idle']);
  await until('E2E-FORGET back', async () => (await depot.api('GET', '/api/stations/E2E-FORGET')).connected);
  await page.getByTestId('remote-stop').click();
  await until('the rejection explained', async () => /no longer has session/.test(await page.getByTestId('notice').innerText()));
  await page.getByTestId('close-session').click();
  await until('a reason asked for', async () => /Say why/.test(await page.getByTestId('notice').innerText()));
  await page.getByTestId('close-reason').fill('charger rebooted and lost it');
  await page.getByTestId('close-session').click();
  await until('closed', async () => /closed/.test(await page.getByTestId('notice').innerText()));
  await until('no session running', async () => (await page.getByTestId('running').count()) === 0);
  const [closed] = (await depot.api('GET', '/api/transactions?station_id=E2E-FORGET')).items;
  assert.equal(closed.closed_by, 'console');
  await page.goto(`${depot.base}/#/sessions/${closed.id}`);
  await until('the session says who closed it and why', async () => /charger rebooted and lost it/.test(await page.getByTestId('closed-by').innerText()));
});

test('a charger accepted with a password keeps connecting; one without it is refused, and that shows', async () => {
  depot.charger('E2E-LOCK', ['--connectors', '1', '--idle']);
  await page.goto(`${depot.base}/#/inbox`);
  const card = page.locator('[data-testid=pending][data-station="E2E-LOCK"]');
  await card.waitFor({ timeout: 15_000 });
  await card.getByTestId('accept-password').fill('abc');
  await card.getByTestId('accept').click();
  await until('the length asked for beside the field', async () => /needs 16 to 40 characters; it has 3/.test(await card.getByTestId('field-error').innerText()));
  assert.equal(await card.getByTestId('accept-password').getAttribute('aria-invalid'), 'true');
  await card.getByTestId('accept-password').fill('e2e-lock-key-0123456');
  await card.getByTestId('accept').click();
  await until('accepted', async () => /accepted/i.test(await page.getByTestId('notice').innerText()));
  await page.goto(`${depot.base}/#/station/E2E-LOCK`);
  await until('a password required', async () => /Required/.test(await page.getByTestId('password-state').innerText()));
  await page.getByTestId('password').fill('short');
  await page.getByTestId('password-save').click();
  await until('a short one refused beside the field', async () => /needs 16 to 40 characters; it has 5/.test(await page.locator('[data-testid=field-error][data-field=password]').innerText()));
  // The charger was given the key: after a reset it reconnects with it.
  await depot.api('POST', '/api/stations/E2E-LOCK/commands/Reset', { type: 'Soft' });
  await until('E2E-LOCK back online after its reboot', async () => {
    const s = await depot.api('GET', '/api/stations/E2E-LOCK');
    return s.connected && s.events.filter((e) => e.kind === 'connected').length >= 2;
  });
  // A charger without the key is refused, and the console says so.
  depot.charger('E2E-LOCK2', ['--connectors', '1', '--idle']);
  await until('E2E-LOCK2 known', async () => (await depot.api('GET', '/api/stations')).some((s) => s.id === 'E2E-LOCK2'));
  await depot.api('PUT', '/api/stations/E2E-LOCK2/password', { password: 'another-key-0123456789', on_charger: false });
  await depot.api('POST', '/api/stations/E2E-LOCK2/accept', {});
  await depot.api('POST', '/api/stations/E2E-LOCK2/commands/Reset', { type: 'Soft' });
  await page.goto(`${depot.base}/#/station/E2E-LOCK2`);
  await until('refused connections shown', async () => /Refused \d+ connections.*it sent no password/.test(await page.getByTestId('refused').innerText()));
  await page.goto(`${depot.base}/#/inbox`);
  await until('listed among chargers that cannot get in', async () => (await page.locator('[data-testid=locked-out][data-station="E2E-LOCK2"]').count()) === 1);
  await page.goto(`${depot.base}/#/station/E2E-LOCK2/health`);
  await until('health says so', async () => /refused/.test(await page.getByTestId('findings').innerText()));
});

test('a charger switched to wss:// is then required to use it: the CA from Settings, profile 2 on the station page', async () => {
  // Settings: the wss:// address to enter in the charger and the depot's CA certificate.
  await page.goto(`${depot.base}/#/settings`);
  await page.getByTestId('tls').waitFor();
  await until('the wss:// address shown', async () => (await page.getByTestId('wss-url').first().innerText()).startsWith(`${depot.ocppTls}/ocpp/`));
  const tls = await depot.api('GET', '/api/tls');
  assert.equal(await page.getByTestId('tls-ca-sha256').innerText(), tls.ca.sha256);
  assert.match(await page.getByTestId('tls-ca-pem').inputValue(), /^-----BEGIN CERTIFICATE-----/);
  const href = await page.getByTestId('tls-ca-pem-download').getAttribute('href');
  assert.equal(decodeURIComponent(href.slice(href.indexOf(',') + 1)), tls.ca_pem, 'the download is the CA certificate');
  await page.screenshot({ path: join(shots, 'settings-tls.png'), fullPage: true });

  // The charger, given the CA, connects over TLS; the station page says so.
  depot.chargerOverTls('E2E-TLS', ['--connectors', '1', '--idle']);
  await page.goto(`${depot.base}/#/station/E2E-TLS`);
  await until('connected over TLS', async () => /over TLS/.test(await page.getByTestId('security-connection').innerText()));
  // Profile 2 is the password over TLS: asked for first, in words.
  await page.getByTestId('security-profile').selectOption('2');
  await page.getByTestId('security-apply').click();
  await until('a password asked for', async () => /set one first/.test(await page.getByTestId('notice').innerText()));
  await page.getByTestId('password').fill('e2e-tls-key-01234567');
  await page.getByTestId('password-save').click();
  await until('the charger took the password', async () => /Required/.test(await page.getByTestId('password-state').innerText()));
  // Profile 3 needs a client certificate this charger has not got: refused, nothing changed.
  await page.getByTestId('security-profile').selectOption('3');
  await page.getByTestId('security-apply').click();
  await until('no certificate, said', async () => /no client certificate/.test(await page.getByTestId('notice').innerText()));
  await page.getByTestId('security-profile').selectOption('2');
  await page.getByTestId('security-apply').click();
  await until('profile 2 in force', async () => /In force: 2: wss:\/\/ \(TLS\) with the password/.test(await page.getByTestId('security-in-force').innerText()));
  assert.match(await page.getByTestId('notice').innerText(), /requires profile 2: wss:\/\//);
  // Moving it up over OCPP offers what is above the profile in force: 3.
  assert.equal(await page.getByTestId('security-upgrade-to').inputValue(), '3');
  await page.screenshot({ path: join(shots, 'station-security.png'), fullPage: true });

  // The same charger on plain ws://, even with its password, is refused, and the page says why.
  depot.charger('E2E-TLS', ['--connectors', '1', '--idle', '--password', 'e2e-tls-key-01234567']);
  await until('the plain connection refused and shown', async () => /its security profile requires wss:\/\//.test(await page.getByTestId('refused').innerText()));
  assert.ok((await depot.api('GET', '/api/stations/E2E-TLS')).transport.tls, 'the TLS connection stays');
});

test('a charger on plain ws:// is moved to wss:// from its page, over OCPP, and held to profile 2 once back', async () => {
  depot.charger('E2E-UPGRADE', ['--connectors', '1', '--idle']);
  await page.goto(`${depot.base}/#/station/E2E-UPGRADE`);
  await until('connected on plain ws://', async () => /plain/.test(await page.getByTestId('security-connection').innerText()));
  await page.getByTestId('password').fill('e2e-upgrade-key-0123');
  await page.getByTestId('password-save').click();
  await until('the charger took the password', async () => /Required/.test(await page.getByTestId('password-state').innerText()));
  await page.getByTestId('security-upgrade-to').selectOption('2');
  await page.getByTestId('security-upgrade').click();
  await until('the charger took the steps', async () => /The charger took 2: wss:\/\/ \(TLS\) with the password \(InstallCertificate: Accepted · ChangeConfiguration SecurityProfile: Accepted\); it reconnects to wss:\/\/127\.0\.0\.1:\d+\/ocpp\//.test(await page.getByTestId('notice').innerText()));
  await until('back over TLS, profile 2 in force', async () => /In force: 2: wss:\/\//.test(await page.getByTestId('security-in-force').innerText())
    && /over TLS/.test(await page.getByTestId('security-connection').innerText()));
});

test('a 2.0.1 charger is asked for a new certificate from its page, comes back with it, and is held to profile 3', async () => {
  depot.chargerOverTls('E2E-CERT', ['--protocol', '2.0.1', '--connectors', '1', '--idle']);
  await page.goto(`${depot.base}/#/station/E2E-CERT`);
  await until('connected over TLS without a certificate', async () => /over TLS.*no client certificate/.test(await page.getByTestId('security-connection').innerText()));
  await page.getByTestId('security-renew').click();
  await until('the charger said yes', async () => /Ask the charger for a new certificate: the charger accepted/.test(await page.getByTestId('notice').innerText()));
  await until('the certificate signed and sent', async () => (await depot.api('GET', '/api/stations/E2E-CERT')).events.some((e) => e.kind === 'certificate_signed'));
  // After a restart it presents the certificate, which the page shows; profile 3 can then be required.
  await depot.api('POST', '/api/stations/E2E-CERT/reset', { hard: false });
  await until('the client certificate shown', async () => (await page.getByTestId('client-certificate-subject').count()) === 1 && (await page.getByTestId('client-certificate-subject').innerText()) === 'SN-E2E-CERT');
  await page.getByTestId('security-profile').selectOption('3');
  await page.getByTestId('security-apply').click();
  await until('profile 3 in force', async () => /In force: 3: wss:\/\/ with a client certificate/.test(await page.getByTestId('security-in-force').innerText()));
  // The technician finds both in the station's security log.
  await page.goto(`${depot.base}/#/station/E2E-CERT/health`);
  await until('the security log', async () => {
    const log = await page.getByTestId('security-log').innerText();
    return /Certificate for SN-E2E-CERT signed by the depot's CA and sent/.test(log) && /Security profile 0 → 3, by console/.test(log);
  });
});

test('accepting a pending charger from the inbox lets it boot', async () => {
  depot.charger('NEW-CHARGER', ['--connectors', '2', '--idle']);
  await page.goto(`${depot.base}/#/inbox`);
  const card = page.locator('[data-testid=pending][data-station="NEW-CHARGER"]');
  await card.waitFor({ timeout: 15_000 });
  // The server listens for chargers on loopback here: that is the only address offered, and the
  // page says chargers on the network cannot reach it.
  const urls = await page.getByTestId('connect-url').locator('input').evaluateAll((inputs) => inputs.map((i) => i.value));
  assert.deepEqual(urls, [`${depot.ocpp}/ocpp/`]);
  assert.match(await page.getByTestId('loopback-only').innerText(), /only this computer/);
  await page.screenshot({ path: join(shots, 'inbox.png') });
  await card.getByTestId('accept').click();
  await until('the acceptance notice', async () => /accepted/i.test(await page.getByTestId('notice').innerText()));
  await page.goto(`${depot.base}/#/`);
  await until('NEW-CHARGER booted and Available', async () => (await tile('NEW-CHARGER', 2).getAttribute('data-status')) === 'Available');
});

test('a full inbox turns further unknown chargers away and says so', async () => {
  const small = await new Depot().start({ demo: 0, args: ['--max-waiting-stations', '1'] });
  try {
    small.charger('FIRST-NEW', ['--idle']);
    await page.goto(`${small.base}/#/inbox`);
    await page.locator('[data-testid=pending][data-station="FIRST-NEW"]').waitFor({ timeout: 15_000 });
    small.charger('SECOND-NEW', ['--idle']);
    await page.getByTestId('inbox-full').waitFor({ timeout: 15_000 });
    assert.match(await page.getByTestId('inbox-full').innerText(), /unknown chargers? (was|were) turned away: the inbox is full \(1 waiting/);
    assert.match(await page.getByTestId('turned-away').innerText(), /SECOND-NEW: the inbox is full/);
    assert.equal(await page.getByTestId('pending').count(), 1, 'the second charger is not in the inbox');
  } finally {
    small.stop();
  }
});

test('sessions page, filter and session detail', async () => {
  await page.goto(`${depot.base}/#/sessions`);
  await until('backfilled sessions listed', async () => (await page.getByTestId('session-row').count()) === 50);
  const total = Number((await page.getByTestId('sessions-total').innerText()).replace(/\D/g, ''));
  assert.ok(total > 50, `history present: ${total}`);
  await page.getByTestId('next-page').click();
  await until('page 2', async () => /Page 2/.test(await page.locator('.pager').innerText()));
  await page.screenshot({ path: join(shots, 'sessions.png') });
  // The station picked from a list, the tag searched by its start in any case.
  await page.getByTestId('f-station').selectOption('DEMO-01');
  await page.getByTestId('f-state').selectOption('closed');
  await page.getByTestId('f-tag').fill('demo-tag-1');
  const filtered = async () => {
    const rows = await page.getByTestId('session-row').allInnerTexts();
    return rows.length > 0 && rows.every((r) => r.includes('DEMO-01') && /DEMO-TAG-1[0-2]/.test(r));
  };
  await until('only DEMO-01 with tags 10-12', filtered);
  // The view is in the address: opened again from it, it shows the same.
  await until('in the address', async () => new URL(page.url()).hash === '#/sessions?station=DEMO-01&tag=demo-tag-1&state=closed');
  const bookmarked = page.url();
  await page.goto(`${depot.base}/#/tags`);
  await page.goto(bookmarked);
  await until('the same view again', filtered);
  assert.equal(await page.getByTestId('f-station').inputValue(), 'DEMO-01');
  assert.equal(await page.getByTestId('f-tag').inputValue(), 'demo-tag-1');
  assert.equal(await page.getByTestId('f-state').inputValue(), 'closed');
  await page.getByTestId('session-row').first().locator('a').first().click();
  await until('meter values', async () => (await page.getByTestId('sample-row').count()) > 0);
  assert.match(await page.getByTestId('detail-energy').innerText(), /kWh/);
  // Priced with the demo tariff: the breakdown ends in a total in kronor.
  assert.match(await page.getByTestId('cost-total').innerText(), /SEK\s?\d+\.\d\d/);
  assert.match(await page.getByTestId('cost-tariff').innerText(), /^Priced with Demo depot, version 1; times of day in /);

  // A session that ran into the night: each price explained, and the lines add up to the cost.
  const amount = (text) => Math.round(Number(text.replace(/[^\d.-]/g, '')) * 100);
  const closed = (await depot.api('GET', '/api/transactions?open=false&limit=300')).items;
  let night = null;
  for (const x of closed) {
    const d = await depot.api('GET', `/api/transactions/${x.id}`);
    // Energy charged at both prices (a session can cross 22:00 idle, with no energy at night).
    const windows = (d.explanation?.parts ?? []).filter((p) => p.energy > 0).map((p) => p.window);
    if (windows.includes(null) && windows.includes('Night')) {
      night = d;
      break;
    }
  }
  assert.ok(night, 'a demo session that ran across 22:00 or 06:00');
  await page.goto(`${depot.base}/#/sessions/${night.id}`);
  await page.getByTestId('cost-parts').waitFor();
  const energyLines = page.getByTestId('cost-part').filter({ hasText: 'Energy' });
  assert.equal(await energyLines.count(), 2, 'energy at the base price and at the night price');
  assert.match(await page.locator('[data-testid=cost-part][data-window="Night"]').first().innerText(), /kWh.*SEK\s?1\.20\/kWh/);
  assert.match(await page.locator('[data-testid=cost-part][data-window="Base prices"]').first().innerText(), /SEK\s?2\.40\/kWh/);
  const lines = await energyLines.getByTestId('cost-part-amount').allInnerTexts();
  assert.equal(lines.map(amount).reduce((a, b) => a + b, 0), amount(await page.getByTestId('cost-energy').innerText()), 'the lines add up');
  assert.match(await page.getByTestId('cost-vat').locator('xpath=preceding-sibling::dt[1]').innerText(), /VAT 25 %/);
  // Meter values in the units people read, one row per reading time, a page at a time.
  const energy = page.locator('[data-testid=readings] td[data-measurand="Energy.Active.Import.Register"]');
  assert.match(await energy.first().innerText(), /^[\d,]+\.\d\d kWh$/);
  assert.ok((await page.getByTestId('sample-row').count()) <= 50);
  await page.screenshot({ path: join(shots, 'session.png') });
});

test('ID tags: add, block, import, and a bad row is refused with its line', async () => {
  await page.goto(`${depot.base}/#/tags`);
  await page.getByTestId('add-tag').click();
  await page.getByTestId('tag-id').fill('NEW-TAG-1');
  await page.getByTestId('tag-group').fill('Bus 12');
  await page.getByTestId('save-tag').click();
  const row = page.locator('[data-testid=tag-row][data-tag="NEW-TAG-1"]');
  await row.waitFor();
  await row.getByTestId('block').click();
  await until('blocked', async () => /Blocked/.test(await row.innerText()));
  assert.equal((await depot.api('GET', '/api/id-tags/NEW-TAG-1')).status, 'Blocked');

  // A file is previewed line by line first: every problem shown, nothing written while any.
  await page.getByTestId('import-csv').setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from('id_tag;status;parent_id_tag\nOK-1;Accepted;\nBAD-2;Sleeping;\nKID-3;Accepted;NOBODY\n') });
  const line = (n) => page.locator(`[data-testid=import-line][data-line="${n}"]`);
  await line(4).waitFor();
  assert.equal(await line(2).getByTestId('import-problem').innerText(), '');
  assert.match(await line(2).innerText(), /OK-1\s+adds\s+Accepted/);
  assert.match(await line(3).getByTestId('import-problem').innerText(), /Sleeping/);
  assert.match(await line(4).getByTestId('import-problem').innerText(), /NOBODY.*not a known tag/);
  assert.match(await page.getByTestId('import-summary').innerText(), /Would add 1 and update 0\.\s*2 lines have a problem/);
  assert.equal(await page.getByTestId('import-confirm').isDisabled(), true);
  await assert.rejects(depot.api('GET', '/api/id-tags/OK-1'), /404/, 'nothing written');
  await page.getByTestId('import-cancel').click();
  assert.equal(await page.getByTestId('import-preview').count(), 0);
  await page.getByTestId('import-csv').setInputFiles({ name: 'tags.csv', mimeType: 'text/csv', buffer: Buffer.from('id_tag;status;group_kind;group_name\nIMP-1;Accepted;vehicle;Van 3\nIMP-2;Blocked;customer;Acme AB\nNEW-TAG-1;Accepted;;\n') });
  await until('previewed', async () => /Would add 2 and update 1\./.test(await page.getByTestId('import-summary').innerText()));
  assert.match(await line(3).innerText(), /IMP-2\s+adds\s+Blocked\s+Customer · Acme AB/);
  assert.match(await line(4).innerText(), /NEW-TAG-1\s+updates/);
  await page.getByTestId('import-confirm').click();
  await until('the import report', async () => /2 new, 1 updated/.test(await page.getByTestId('notice').innerText()));
  assert.equal(await page.getByTestId('import-preview').count(), 0);
  await page.locator('[data-testid=tag-row][data-tag="IMP-2"]').waitFor();
  await page.screenshot({ path: join(shots, 'tags.png') });
});

test('forms say what is wrong in place: a tag too long is refused (not cut), an unknown parent, From after To; an expired tag says so', async () => {
  await page.goto(`${depot.base}/#/tags`);
  await page.getByTestId('add-tag').click();
  const long = 'A-TAG-THAT-IS-25-CHARS-XX';
  await page.getByTestId('tag-id').fill(long);
  assert.equal(await page.getByTestId('tag-id').inputValue(), long, 'nothing cut');
  await page.getByTestId('tag-parent').fill('P'.repeat(22));
  await page.getByTestId('save-tag').click();
  // Both problems at once, each beside its field with its label.
  assert.match(await page.getByTestId('tag-id-error').innerText(), /ID tag: 1 to 20 characters; this one has 25/);
  assert.match(await page.getByTestId('tag-parent-error').innerText(), /Parent tag: 1 to 20 characters; this one has 22/);
  assert.equal(await page.getByTestId('tag-id').getAttribute('aria-invalid'), 'true');
  assert.equal((await depot.api('GET', `/api/id-tags?q=A-TAG-THAT`)).total, 0, 'nothing saved');
  // An unknown parent is refused by the engine, saying which.
  await page.getByTestId('tag-id').fill('KID-1');
  await page.getByTestId('tag-parent').fill('NO-SUCH-FLEET');
  await page.getByTestId('save-tag').click();
  assert.equal(await page.getByTestId('tag-id-error').count(), 0, 'old errors cleared');
  await until('the refusal', async () => /"NO-SUCH-FLEET" is not a known tag/.test(await page.getByTestId('notice').innerText()));
  // A tag whose expiry has passed shows as Expired.
  await depot.api('POST', '/api/id-tags', { id_tag: 'OLD-TAG', status: 'Accepted', expiry: '2026-01-31T00:00:00Z' });
  await page.getByTestId('tag-search').fill('OLD-TAG');
  await until('Expired', async () => (await page.locator('[data-testid=tag-row][data-tag="OLD-TAG"] [data-testid=tag-status]').innerText()) === 'Expired');

  await page.goto(`${depot.base}/#/sessions`);
  await page.getByTestId('filter-from').fill('2026-11-20');
  await page.getByTestId('filter-to').fill('2026-11-10');
  await until('the range refused', async () => /From is after To/.test(await page.getByTestId('range-error').innerText()));
  await page.getByTestId('filter-to').fill('2026-11-30');
  await until('the error gone', async () => (await page.getByTestId('range-error').count()) === 0);
  // Dates are written the console's way, not the browser's: British English here, ISO in Swedish.
  const from = page.getByTestId('filter-from');
  await from.blur();
  assert.equal(await from.inputValue(), '20/11/2026');
  assert.equal(await from.getAttribute('placeholder'), 'DD/MM/YYYY');
  await from.fill('31/02/2026');
  assert.equal(await from.getAttribute('aria-invalid'), 'true');
  assert.equal(await from.evaluate((e) => e.validationMessage), 'Write it as DD/MM/YYYY');
  await from.fill('19/11/2026');
  await until('the URL follows the typed date', async () => page.url().includes('from=2026-11-19'));
  // A day picked from the calendar, which opens on the field's month and names it in Swedish.
  await page.getByTestId('lang-toggle').click();
  await until('ISO in Swedish', async () => (await from.inputValue()) === '2026-11-19');
  await page.getByTestId('filter-from-pick').click();
  const calendar = page.getByTestId('calendar');
  assert.match(await calendar.innerText(), /November 2026/);
  assert.ok((await accessibility(page, 'calendar (sv)')) > 5);
  await calendar.locator('[data-day="2026-11-02"]').click();
  await until('the URL follows the picked date', async () => page.url().includes('from=2026-11-02'));
  assert.equal(await from.inputValue(), '2026-11-02');
  await page.getByTestId('lang-toggle').click();
});

test('settings apply at once, addresses say they need a restart, and Swedish is one click away', async () => {
  await page.goto(`${depot.base}/#/settings`);
  await page.getByTestId('open-charging').check();
  await page.getByTestId('save-settings').click();
  await until('saved', async () => /in effect now/.test(await page.getByTestId('notice').innerText()));
  assert.equal((await depot.api('GET', '/api/info')).open_charging, true);
  // Both bad addresses said beside their fields, by label, at once; nothing saved.
  const before = await depot.api('GET', '/api/settings');
  await page.getByTestId('ocpp-listen').fill('not an address');
  await page.getByTestId('http-listen').fill('localhost:8180');
  await page.getByTestId('save-settings').click();
  const fieldError = (f) => page.locator(`[data-testid=field-error][data-field="${f}"]`);
  await until('the field errors', async () => (await fieldError('http_listen').count()) === 1);
  assert.match(await fieldError('ocpp_listen').innerText(), /^Charger address and port: "not an address" is not an IP address and port/);
  assert.match(await fieldError('http_listen').innerText(), /^Console address and port \(headless server\): "localhost:8180"/);
  assert.match(await page.getByTestId('notice').innerText(), /2 fields need fixing/);
  assert.equal(await page.getByTestId('ocpp-listen').getAttribute('aria-invalid'), 'true');
  assert.deepEqual(await depot.api('GET', '/api/settings'), before, 'nothing saved');
  await page.getByTestId('http-listen').fill('');
  await page.getByTestId('ocpp-listen').fill('0.0.0.0:9100');
  await page.getByTestId('save-settings').click();
  await until('restart notice', async () => /restart/i.test(await page.getByTestId('notice').innerText()));
  await page.screenshot({ path: join(shots, 'settings.png') });
  await page.getByTestId('lang-toggle').click();
  await until('Swedish', async () => (await page.getByTestId('nav-dashboard').innerText()) === 'Översikt');
  await page.goto(`${depot.base}/#/`);
  await until('Swedish tiles', async () => /Laddar|Ledig/.test(await page.locator('[data-testid=tile]').first().innerText()));
  await page.screenshot({ path: join(shots, 'dashboard-sv.png') });
  await page.getByTestId('lang-toggle').click();
});

test('how long the message log and every meter reading are kept is set in Settings, checked beside each field', async () => {
  await page.goto(`${depot.base}/#/settings`);
  const frames = page.getByTestId('frame-days');
  await until('the default shown', async () => (await frames.getAttribute('placeholder')) === '14');
  assert.match(await page.locator('#frame-days-help').innerText(), /empty: 14 days/);
  const fieldError = (f) => page.locator(`[data-testid=field-error][data-field="${f}"]`);
  await frames.fill('0');
  await page.getByTestId('detail-days').fill('a year');
  await page.getByTestId('save-settings').click();
  await until('both said', async () => (await fieldError('sample_detail_days').count()) === 1);
  assert.equal(await fieldError('frame_retention_days').innerText(), 'Days the raw message log is kept: "0" is not a number of days from 1 to 3650; leave it empty for the default.');
  assert.match(await fieldError('sample_detail_days').innerText(), /^Days every meter reading is kept: "a year"/);
  assert.equal(await frames.getAttribute('aria-invalid'), 'true');
  assert.equal((await depot.api('GET', '/api/settings')).frame_retention_days, null, 'nothing saved');
  await frames.fill('30');
  await page.getByTestId('detail-days').fill('90');
  await page.getByTestId('save-settings').click();
  await until('saved', async () => (await depot.api('GET', '/api/settings')).sample_detail_days === 90);
  assert.equal((await depot.api('GET', '/api/settings')).frame_retention_days, 30);
  assert.equal(await fieldError('frame_retention_days').count(), 0, 'the old problems cleared');
  await page.reload();
  await until('kept across a reload', async () => (await page.getByTestId('detail-days').inputValue()) === '90');
  // The engine refuses the same out of range values from any other client, by field.
  const r = await fetch(`${depot.base}/api/settings`, { method: 'PUT', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...(await depot.api('GET', '/api/settings')), frame_retention_days: 4000 }) });
  assert.equal(r.status, 400);
  assert.match((await r.json()).message, /^frame_retention_days: 4000 days; give 1 to 3650/);
  // Emptied: back to the defaults (the log's 14 days, every reading kept).
  await page.getByTestId('frame-days').fill('');
  await page.getByTestId('detail-days').fill('');
  await page.getByTestId('save-settings').click();
  await until('defaults again', async () => (await depot.api('GET', '/api/settings')).sample_detail_days === null);
  assert.equal((await depot.api('GET', '/api/settings')).frame_retention_days, null);
});

test('tariffs: a new one with a night window, applied to a customer before the default, edited into a new version', async () => {
  await page.goto(`${depot.base}/#/tariffs`);
  await page.getByTestId('tariff-row').first().waitFor(); // the demo tariff
  // Bad fields are said beside each, by its label, all at once; the form keeps what was typed.
  await page.getByTestId('add-tariff').click();
  await page.getByTestId('tariff-name').fill('Broken');
  await page.getByTestId('tariff-vat').fill('lots');
  await page.getByTestId('tariff-per_kwh').fill('1.5 kr');
  await page.getByTestId('save-tariff').click();
  const fieldError = (f) => page.locator(`[data-testid=field-error][data-field="${f}"]`);
  await fieldError('vat').waitFor();
  assert.equal(await fieldError('vat').innerText(), 'VAT %: a number from 0 to 100.');
  assert.equal(await fieldError('per_kwh').innerText(), 'Per kWh: an amount such as 2.50 (or empty for none).');
  assert.equal(await page.getByTestId('tariff-vat').getAttribute('aria-invalid'), 'true');
  assert.match(await page.getByTestId('notice').innerText(), /2 fields need fixing/);
  assert.equal(await page.getByTestId('tariff-name').inputValue(), 'Broken');

  await page.getByTestId('tariff-name').fill('Fleet E2E');
  await page.getByTestId('tariff-vat').fill('25');
  await page.getByTestId('tariff-per_kwh').fill('1,50'); // a decimal comma is fine
  await page.getByTestId('tariff-session_fee').fill('2');
  await page.getByTestId('add-window').click();
  await page.getByTestId('window-name').fill('night');
  await page.getByTestId('window-start').fill('22:00');
  await page.getByTestId('window-end').fill('06:00');
  await page.getByTestId('window-per_kwh').fill('0.90');
  // A second window over the same hours is said to overlap (the first one wins), and goes again.
  await page.getByTestId('add-window').click();
  await until('the overlap said', async () =>
    /“night” and “window 2” overlap \(Mon 00:00–06:00 first\): “night” sets the prices/.test(await page.getByTestId('window-overlap').innerText()));
  await page.getByTestId('tariff-window').nth(1).getByRole('button', { name: 'Delete' }).click();
  assert.equal(await page.getByTestId('window-overlap').count(), 0);
  await page.getByTestId('save-tariff').click();
  const row = page.locator('[data-testid=tariff-row][data-name="Fleet E2E"]');
  await row.waitFor();
  assert.match(await page.getByTestId('notice').innerText(), /Saved Fleet E2E/, 'the old banner replaced');
  assert.equal(await row.getByTestId('tariff-version').innerText(), '1');
  assert.match(await row.getByTestId('tariff-summary').innerText(), /Per kWh 1\.5 · Session fee 2/);
  // The window with its days and hours in the list.
  assert.equal(await row.getByTestId('tariff-window-line').innerText(), 'night every day 22:00–06:00: Per kWh 0.9');

  // The group picked from those the tags are in, with how many tags each has.
  await page.getByTestId('assign-scope').selectOption('group');
  const acme = page.getByTestId('assign-group').locator('option[value="customer:Acme AB"]');
  assert.equal(await acme.innerText(), 'Customer · Acme AB (1 tag)');
  await page.getByTestId('assign-group').selectOption('customer:Acme AB');
  assert.equal(await page.getByTestId('assign-name').count(), 0, 'no name to type for a group picked');
  await page.getByTestId('assign-tariff').selectOption({ label: 'Fleet E2E' });
  await page.getByTestId('assign').click();
  await until('listed first, before the default', async () => {
    const items = await page.getByTestId('assignment').allInnerTexts();
    return items.length >= 2 && /Acme AB.*Fleet E2E/.test(items[0]) && /Default/.test(items.at(-1));
  });

  await row.getByTestId('edit-tariff').click();
  assert.equal(await page.getByTestId('window-per_kwh').inputValue(), '0.9');
  await page.getByTestId('tariff-per_kwh').fill('1.75');
  await page.getByTestId('save-tariff').click();
  await until('version 2', async () => (await row.getByTestId('tariff-version').innerText()) === '2');
  const saved = (await depot.api('GET', '/api/tariffs')).find((x) => x.name === 'Fleet E2E');
  assert.deepEqual([saved.version, saved.tariff.prices.per_kwh, saved.tariff.prices.session_fee, saved.tariff.windows[0].prices.per_kwh, saved.tariff.windows[0].start],
    [2, '1.75', '2', '0.9', '22:00']);
  await page.screenshot({ path: join(shots, 'tariffs.png') });
});

test('invoices: a period exported as CSV with progress, downloaded, and a session\'s meter values', async () => {
  await page.goto(`${depot.base}/#/invoices`);
  const day = (d) => new Date(Date.now() + d * 86_400_000).toISOString().slice(0, 10);
  await page.getByTestId('invoice-from').fill(day(-5));
  await page.getByTestId('invoice-to').fill(day(1));
  // Decimal comma between commas is refused before anything is sent.
  await page.getByTestId('csv-separator').selectOption(',');
  await page.getByTestId('csv-decimal-comma').check();
  await page.getByTestId('export-invoice').click();
  await until('the form error', async () => /semicolons or tabs/.test(await page.getByTestId('notice').innerText()));

  await page.getByTestId('csv-separator').selectOption(';');
  // Record whether the progress bar was shown while the export ran.
  await page.evaluate(() => {
    window.sawProgress = false;
    new MutationObserver(() => { if (document.querySelector('[data-testid=export-progress]')) window.sawProgress = true; })
      .observe(document.body, { childList: true, subtree: true });
  });
  await page.getByTestId('export-invoice').click();
  await page.getByTestId('export-result').waitFor();
  assert.equal(await page.evaluate(() => window.sawProgress), true, 'a progress bar while exporting');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-download').click()]);
  const csv = await (await import('node:fs/promises')).readFile(await download.path(), 'utf8');
  const lines = csv.split('\r\n');
  assert.match(lines[0], /^session;station;connector;id tag;/);
  const demo = lines.filter((l) => /;DEMO-\d+;/.test(l));
  assert.ok(demo.length > 0, `sessions on the invoice: ${csv.slice(0, 300)}`);
  assert.match(demo[0], /;SEK;\d+,\d\d;/, 'amounts with a decimal comma');
  assert.ok(lines.some((l) => l.startsWith('summary;')), 'a summary per customer');
  assert.match(await page.getByTestId('export-file').first().innerText(), /invoice_/);
  await page.screenshot({ path: join(shots, 'invoices.png') });

  const closed = await depot.api('GET', '/api/transactions?station_id=DEMO-01&open=false&limit=1');
  await page.goto(`${depot.base}/#/sessions/${closed.items[0].id}`);
  // The session's chart, drawn by the engine, and saved as PNG.
  await page.getByTestId('session-chart').locator('svg').waitFor();
  const strokes = await page.getByTestId('session-chart').locator('svg polyline').evaluateAll((ls) => ls.map((l) => l.getAttribute('stroke')));
  assert.ok(strokes.includes('#0F7A4A'), `the energy line drawn: ${strokes}`);
  await page.getByTestId('export-chart-png').click();
  await until('the chart saved', async () => /chart_session-\d+\.png/.test(await page.getByTestId('notice').innerText()));
  await page.getByTestId('export-samples').click();
  // Until the samples are written, the link still offers the chart just saved.
  await until('the samples exported', async () => /\.csv$/.test(await page.getByTestId('samples-download').innerText()));
  const [values] = await Promise.all([page.waitForEvent('download'), page.getByTestId('samples-download').click()]);
  const text = await (await import('node:fs/promises')).readFile(await values.path(), 'utf8');
  assert.match(text.split('\r\n')[1] ?? '', /Energy\.Active\.Import\.Register|Power|SoC/);
});

test('energy: the depot load stacked per station and a station\'s energy per day, for a period, saved as PNG', async () => {
  await page.goto(`${depot.base}/#/energy`);
  const depotChart = page.getByTestId('depot-chart');
  await depotChart.locator('svg').waitFor();
  // The demo's backfilled days are there, each demo station named in the legend.
  await until('demo stations in the legend', async () => /DEMO-01/.test(await depotChart.locator('svg').innerHTML()));
  await page.getByTestId('totals-chart').locator('svg').waitFor();
  // Values on hover: each bucket of the depot load names its time, its total and each station.
  const tips = () => depotChart.locator('svg rect title').allTextContents();
  await until('hover texts on the load', async () => (await tips()).some((x) => /^\d\d\/\d\d · \d+\.\d kW\nDEMO-0\d: \d+\.\d kW/.test(x)));
  // One scale per panel: every number on an axis sits at the left, none overprinted on the right.
  const axisX = (chart) => page.getByTestId(chart).locator('svg text').evaluateAll((ts) => ts.filter((t) => /^[\d.,]+$/.test(t.textContent.trim()) && !/\//.test(t.textContent)).map((t) => Number(t.getAttribute('x'))));
  for (const chart of ['depot-chart', 'totals-chart']) {
    const xs = await axisX(chart);
    assert.ok(xs.length > 4 && xs.every((x) => x < 80), `${chart}: axis numbers at ${xs}`);
  }
  // In Swedish the charts write a decimal comma.
  await page.getByTestId('lang-toggle').click();
  await until('kW with a comma', async () => (await tips()).some((x) => /\d+,\d kW/.test(x)));
  await page.getByTestId('lang-toggle').click();
  await until('kW with a point again', async () => (await tips()).some((x) => /\d+\.\d kW/.test(x)));
  await page.getByTestId('preset-364').click();
  await until('a year asked for', async () => (await page.getByTestId('energy-from').getAttribute('data-value')) < new Date(Date.now() - 300 * 86_400_000).toISOString().slice(0, 10));
  await page.getByTestId('energy-station').selectOption('DEMO-02');
  const bars = () => page.getByTestId('station-chart').locator('svg rect').evaluateAll((rs) => rs.filter((r) => r.getAttribute('fill') === '#1B6EF3').length);
  await until('energy bars for the demo days', async () => (await bars()) >= 1);
  // A year's dates carry the year.
  const dates = () => page.getByTestId('station-chart').locator('svg text').allTextContents();
  await until('dates with their year', async () => (await dates()).some((d) => /^\d\d\/\d\d\/\d{4}$/.test(d.trim())));
  // A period that ends before it starts is refused in the form.
  await page.getByTestId('energy-to').fill('2020-01-01');
  await until('the period error', async () => /before the start/.test(await page.locator('[role=alert]').first().innerText()));
  await page.getByTestId('preset-6').click();
  await page.getByTestId('save-depot-png').click();
  await until('saved', async () => /chart_depot_.*\.png/.test(await page.getByTestId('notice').innerText()));
  await page.screenshot({ path: join(shots, 'energy.png') });
});

test('technician: the inspector pairs messages live, the composer refuses a bad payload, filters and export', async () => {
  depot.charger('E2E-TECH', ['--connectors', '2', '--idle']);
  await page.goto(`${depot.base}/#/`);
  await until('E2E-TECH online', async () => (await tile('E2E-TECH').getAttribute('data-status')) === 'Available');
  await page.goto(`${depot.base}/#/station/E2E-TECH/messages`);
  const frame = (action, type) => page.locator(`[data-testid=frame][data-action="${action}"][data-type="${type}"]`);
  await frame('BootNotification', 2).first().waitFor();
  // The boot CALL shows its answer's latency; clicking it opens the paired answer.
  const boot = frame('BootNotification', 2).first();
  assert.match(await boot.getByTestId('latency').innerText(), /^\d+ ms$/);
  const partner = await boot.getAttribute('data-partner');
  await boot.getByTestId('latency').locator('button').click();
  await until('the answer opened', async () => (await page.locator(`#frame-${partner}`).getAttribute('class'))?.includes('open'));

  // The composer: a valid template is sent and its answer shown, live in the inspector.
  await page.getByTestId('composer-action').selectOption('TriggerMessage');
  await until('the template is valid', async () => /valid/i.test(await page.getByTestId('composer-check').innerText()));
  await page.getByTestId('composer-send').click();
  await until('the answer', async () => /Accepted/.test(await page.getByTestId('composer-answer').innerText()));
  await frame('TriggerMessage', 3).first().waitFor({ timeout: 10_000 });
  // A bad value is refused before sending: the button is disabled and the reason shown.
  await page.getByTestId('composer-action').selectOption('Reset');
  await page.getByTestId('composer-payload').fill('{"type": "Warm"}');
  await until('the refusal', async () => /Reset/.test(await page.getByTestId('composer-check').innerText()));
  assert.equal(await page.getByTestId('composer-send').isDisabled(), true);
  await page.getByTestId('composer-payload').fill('{"type": ');
  await until('not JSON', async () => /JSON/.test(await page.getByTestId('composer-check').innerText()));
  const resets = await depot.api('GET', '/api/stations/E2E-TECH/inspector?action=Reset');
  assert.equal(resets.length, 0, 'nothing invalid reached the station');

  // Filters: only what came from the station, one action; then a text search.
  await page.getByTestId('filter-action').selectOption('StatusNotification');
  await page.getByTestId('filter-direction').selectOption('in');
  await page.getByTestId('filter-apply').click();
  // Boot reported connectors 0, 1 and 2; the trigger asked for connector 1 once more.
  await until('four statuses', async () => (await page.getByTestId('frame').count()) === 4);
  await page.getByTestId('frame').first().locator('button').first().click();
  assert.match(await page.getByTestId('frame-raw').innerText(), /"StatusNotification"/);
  await page.screenshot({ path: join(shots, 'inspector.png') });
  await page.getByTestId('export-frames').click();
  await until('the JSON-lines export', async () => /frames_E2E-TECH_.*\.jsonl/.test(await page.getByTestId('frames-export').innerText()));
  const href = await page.getByTestId('frames-export').locator('a').getAttribute('href');
  const lines = (await (await fetch(`${depot.base}${href}`)).text()).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 4, 'the export follows the filter');
  assert.ok(lines.every((l) => l.action === 'StatusNotification' && l.direction === 'in'));
});

test('technician: configuration read, edited with a result per key, a bad value refused, snapshots compared', async () => {
  await page.goto(`${depot.base}/#/station/E2E-TECH/configuration`);
  const row = (key) => page.locator(`[data-testid=config-row][data-key="${key}"]`);
  await row('HeartbeatInterval').waitFor({ timeout: 15_000 });
  assert.match(await row('HeartbeatInterval').innerText(), /whole number \(seconds\)/);
  assert.match(await row('NumberOfConnectors').innerText(), /read-only/);
  assert.match(await row('VendorNetworkMode').innerText(), /vendor key/);
  await page.getByTestId('snapshot-name').fill('as found');
  await page.getByTestId('snapshot-save').click();
  await until('saved', async () => /as found/.test(await page.getByTestId('snapshots').innerText()));

  // A bad value: the engine names the key, nothing changes.
  await row('HeartbeatInterval').getByTestId('config-input').fill('5 min');
  await page.getByTestId('config-send').click();
  await until('the refusal', async () => /HeartbeatInterval/.test(await page.getByTestId('notice').innerText()));
  await row('HeartbeatInterval').getByTestId('config-input').fill('120');
  await row('VendorNetworkMode').getByTestId('config-input').fill('wifi');
  await page.getByTestId('config-send').click();
  await until('per-key results', async () => (await row('VendorNetworkMode').getByTestId('config-result').innerText()) === 'RebootRequired');
  assert.equal(await row('HeartbeatInterval').getByTestId('config-result').innerText(), 'Accepted');
  await until('read back', async () => (await row('HeartbeatInterval').getByTestId('config-input').inputValue()) === '120');
  await page.screenshot({ path: join(shots, 'configuration.png') });

  // Pending changes are listed and can be taken back one by one.
  await row('HeartbeatInterval').getByTestId('config-input').fill('150');
  const pending = page.getByTestId('config-pending');
  await until('listed', async () => /HeartbeatInterval: 120 → 150/.test(await pending.innerText()));
  await pending.locator('li[data-key="HeartbeatInterval"]').getByTestId('config-unedit').click();
  assert.equal(await pending.count(), 0);
  assert.equal(await row('HeartbeatInterval').getByTestId('config-input').inputValue(), '120');
  // A read-only key is not taken into a batch.
  await page.getByTestId('config-add-key').fill('NumberOfConnectors');
  await page.getByTestId('config-add-value').fill('4');
  await page.getByTestId('config-add-key').press('Enter');
  await until('refused', async () => /NumberOfConnectors is read-only/.test(await page.getByTestId('notice').innerText()));
  assert.equal(await pending.count(), 0);
  // A boolean is a switch, sent as true or false.
  const offline = row('LocalAuthorizeOffline').getByTestId('config-switch');
  assert.equal(await offline.isChecked(), true);
  await offline.uncheck();
  await until('listed', async () => /LocalAuthorizeOffline: true → false/.test(await pending.innerText()));
  await page.getByTestId('config-send').click();
  await until('its result', async () => (await row('LocalAuthorizeOffline').getByTestId('config-result').innerText()) === 'Accepted');
  await until('read back off', async () => !(await row('LocalAuthorizeOffline').getByTestId('config-switch').isChecked()));

  // The snapshot against the station now: the three edits are the differences.
  const snaps = await depot.api('GET', '/api/stations/E2E-TECH/snapshots');
  await page.getByTestId('diff-left').selectOption(`snapshot:${snaps[0].id}`);
  await page.getByTestId('diff-right').selectOption('station:E2E-TECH');
  await page.getByTestId('diff-run').click();
  await until('the diff', async () => (await page.getByTestId('diff-row').count()) === 3);
  const keys = await page.getByTestId('diff-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
  assert.deepEqual(keys, ['HeartbeatInterval', 'LocalAuthorizeOffline', 'VendorNetworkMode']);

  // The snapshot put back: its three values listed as pending changes first, then sent.
  const saved = (key) => snaps[0].keys.find((k) => k.key === key).value;
  await page.getByTestId('snapshot-restore').click();
  await until('staged', async () => /3 changes from “as found”/.test(await page.getByTestId('notice').innerText()));
  const staged = await pending.innerText();
  assert.match(staged, new RegExp(`HeartbeatInterval: 120 → ${saved('HeartbeatInterval')}`));
  assert.match(staged, /LocalAuthorizeOffline: false → true/);
  assert.match(staged, new RegExp(`VendorNetworkMode: wifi → ${saved('VendorNetworkMode')}`));
  await page.getByTestId('config-send').click();
  // Read back once sent: nothing pending any more (while it is sent, the staged values show).
  await until('read back as saved', async () =>
    (await pending.count()) === 0
    && (await row('HeartbeatInterval').getByTestId('config-input').inputValue()) === saved('HeartbeatInterval')
    && (await row('LocalAuthorizeOffline').getByTestId('config-switch').isChecked()));
  await page.getByTestId('snapshot-restore').click();
  await until('nothing left to put back', async () => /already has every value of “as found”/.test(await page.getByTestId('notice').innerText()));
  assert.equal(await pending.count(), 0);
});

test('technician: diagnostics are uploaded to the laptop and listed; health says what is off', async () => {
  await page.goto(`${depot.base}/#/station/E2E-TECH/files`);
  await page.getByTestId('diagnostics-request').click();
  await until('the upload listed', async () => (await page.locator('[data-testid=transfer][data-kind=diagnostics][data-state=transferred]').count()) === 1);
  await until('the station reports Uploaded', async () => (await page.getByTestId('diagnostics-status').innerText()) === 'Uploaded');
  const href = await page.getByTestId('transfer-file').first().getAttribute('href');
  assert.match(await (await fetch(`${depot.base}${href}`)).text(), /E2E-TECH diagnostics/);
  await page.getByTestId('transfer-view').first().click();
  await until('the log read in place', async () => /E2E-TECH diagnostics/.test(await page.getByTestId('transfer-content').innerText()));
  // A charger that only uploads over FTP.
  await page.getByTestId('diagnostics-protocol').selectOption('ftp');
  await page.getByTestId('diagnostics-request').click();
  await until('the FTP upload listed', async () => (await page.locator('[data-testid=transfer][data-kind=diagnostics][data-state=transferred]').count()) === 2);
  assert.match(await page.getByTestId('transfer').first().innerText(), /over FTP/);
  // Its security log (GetLog), over HTTP again.
  await page.getByTestId('diagnostics-protocol').selectOption('http');
  await page.getByTestId('diagnostics-log').selectOption('security');
  await page.getByTestId('diagnostics-request').click();
  await until('the security log listed', async () => (await page.locator('[data-testid=transfer][data-kind=diagnostics][data-state=transferred]').count()) === 3);
  assert.match(await page.getByTestId('transfer').first().innerText(), /security-E2E-TECH\.log/);
  await page.goto(`${depot.base}/#/station/E2E-TECH/health`);
  await page.getByTestId('findings').waitFor();
  assert.match(await page.getByTestId('health-heartbeat').innerText(), /expected/);
  // It follows the charger live: a heartbeat asked for over the API shows within seconds, sooner
  // than the page's 10 s refresh.
  const beats = () => page.getByTestId('health-heartbeat').innerText();
  const before = await beats();
  await new Promise((r) => setTimeout(r, 1100)); // the last heartbeat's time shows seconds
  const asked = Date.now();
  await depot.api('POST', '/api/stations/E2E-TECH/trigger', { message: 'Heartbeat' });
  await until('the new heartbeat shown', async () => (await beats()) !== before, 6_000);
  assert.ok(Date.now() - asked < 6_000);
  await page.screenshot({ path: join(shots, 'health.png') });
});

test('technician: commands answered in place, and a firmware file chosen in the page is downloaded by the charger', async () => {
  await page.goto(`${depot.base}/#/station/E2E-TECH/commands`);
  await page.getByTestId('trigger-message').selectOption('Heartbeat');
  await page.getByTestId('trigger-send').click();
  await until('the trigger accepted', async () => /"status":"Accepted"/.test(await page.getByTestId('command-answer').innerText()));
  await page.getByTestId('clear-cache').click();
  await until('the cache cleared', async () => /accepted/i.test(await page.getByTestId('notice').innerText()));
  await page.getByTestId('local-list-send').click();
  await until('the full list sent', async () => /"listVersion":1/.test(await page.getByTestId('command-answer').innerText()));
  // Each one is kept in the tab's history, newest first, with who sent it and what came back.
  const history = page.getByTestId('command-row');
  await until('three commands in the history', async () => (await history.count()) >= 3);
  const actions = await history.evaluateAll((rows) => rows.map((r) => r.dataset.action));
  const at = (a) => actions.indexOf(a);
  assert.ok(at('SendLocalList') >= 0 && at('SendLocalList') < at('ClearCache') && at('ClearCache') < at('TriggerMessage'), actions.join(' '));
  assert.match(await history.nth(at('ClearCache')).innerText(), /ClearCache\s+console\s+Answered Accepted/);
  await page.reload();
  await until('the history kept', async () => (await history.count()) >= 3);

  await page.goto(`${depot.base}/#/station/E2E-TECH/files`);
  const image = Buffer.alloc(300_000, 7);
  await page.getByTestId('firmware-file').setInputFiles({ name: 'fw-3.1.bin', mimeType: 'application/octet-stream', buffer: image });
  // Half a signature is refused, in words, before anything is offered.
  await page.locator('details.signed summary').click();
  await page.getByTestId('firmware-signature').fill('c2lnbmF0dXJl');
  await page.getByTestId('firmware-send').click();
  await page.getByTestId('firmware-confirm-yes').click();
  await until('half a signature refused', async () => /needs both the signing certificate and the signature/.test(await page.getByTestId('notice').innerText()));
  await page.getByTestId('firmware-signature').fill('');
  await page.getByTestId('firmware-send').click();
  // Installing firmware is asked about first, naming the file and the station.
  assert.match(await page.getByTestId('firmware-confirm').innerText(), /fw-3\.1\.bin on E2E-TECH/);
  await page.getByTestId('firmware-confirm-yes').click();
  await until('the firmware job done', async () => (await page.locator('[data-testid=transfer][data-kind=firmware][data-state=transferred]').count()) === 1, 20_000);
  await until('the station reports Installed', async () => (await page.getByTestId('firmware-status').innerText()) === 'Installed');
  const jobs = await depot.api('GET', '/api/stations/E2E-TECH/transfers');
  const fw = jobs.find((j) => j.kind === 'firmware');
  assert.equal(fw.bytes, image.length, 'the whole file was offered');
  assert.match(fw.detail, /downloaded by/);
});

test('reset, unlock and availability ask first, naming what they do and to what; availability starts at the current state', async () => {
  await page.goto(`${depot.base}/#/station/E2E-TECH`);
  await page.getByTestId('station-title').filter({ hasText: 'E2E-TECH' }).waitFor();
  const sent = async (action) => (await depot.api('GET', `/api/stations/E2E-TECH/inspector?action=${action}`)).length;
  const resets = await sent('Reset');

  // A hard reset is named as such; saying no sends nothing.
  await page.getByTestId('reset-type').selectOption('Hard');
  await page.getByTestId('reset').click();
  assert.match(await page.getByTestId('command-confirm').innerText(), /Hard reset E2E-TECH\?/);
  await page.getByTestId('command-confirm-no').click();
  assert.equal(await page.getByTestId('command-confirm').count(), 0);
  assert.equal(await sent('Reset'), resets, 'nothing sent');

  // Unlock names the connector.
  await page.getByTestId('unlock-evse').selectOption('2');
  await page.getByTestId('unlock').click();
  assert.match(await page.getByTestId('command-confirm').innerText(), /Unlock #2 of E2E-TECH\?/);
  await page.getByTestId('command-confirm-no').click();
  assert.equal(await sent('UnlockConnector'), 0);

  // Availability: the whole station is operative, so that is what the form starts at.
  assert.equal(await page.getByTestId('availability-evse').inputValue(), '0');
  assert.equal(await page.getByTestId('availability-type').inputValue(), 'Operative');
  await page.getByTestId('availability-evse').selectOption('2');
  await page.getByTestId('availability-type').selectOption('Inoperative');
  await page.getByTestId('availability').click();
  assert.match(await page.getByTestId('command-confirm').innerText(), /Make #2 of E2E-TECH inoperative\?/);
  await page.getByTestId('command-confirm-yes').click();
  await until('the answer', async () => /accepted/i.test(await page.getByTestId('notice').innerText()));
  await until('connector 2 unavailable', async () => (await page.locator('[data-testid=connector][data-connector="2"]').innerText()).includes('Unavailable'));
  // Chosen again, connector 2 starts at what it is now; the form put back takes it back.
  await page.getByTestId('availability-evse').selectOption('1');
  await page.getByTestId('availability-evse').selectOption('2');
  assert.equal(await page.getByTestId('availability-type').inputValue(), 'Inoperative');
  await page.getByTestId('availability-type').selectOption('Operative');
  await page.getByTestId('availability').click();
  assert.match(await page.getByTestId('command-confirm').innerText(), /Make #2 of E2E-TECH operative\?/);
  await page.getByTestId('command-confirm-yes').click();
  await until('connector 2 available again', async () => (await page.locator('[data-testid=connector][data-connector="2"]').innerText()).includes('Available'));
});

const audit = (name) => accessibility(page, name);

test('an OCPP 2.0.1 charger on the same address charges, is priced and is diagnosed like any other', async () => {
  depot.charger('E2E-V201', ['--protocol', '2.0.1', '--connectors', '1', '--tag', 'E2E-TAG', '--meter-interval', '1', '--samples', '600']);
  await page.goto(`${depot.base}/#/`);
  await until('E2E-V201 to show Charging', async () => (await tile('E2E-V201').getAttribute('data-status')) === 'Charging');
  // Its EVSE and connector, in 2.0.1 words; the cost so far from the same engine as 1.6.
  assert.match(await tile('E2E-V201').innerText(), /EVSE #1 · connector 1/);
  await tile('E2E-V201').locator('[data-testid=cost]').waitFor({ timeout: 20_000 });
  await tile('E2E-V201').locator('a').click();
  await page.getByTestId('station-title').filter({ hasText: 'E2E-V201' }).waitFor();
  assert.equal(await page.getByTestId('station-protocol').innerText(), 'ocpp2.0.1');
  assert.match(await page.locator('[data-testid=connector][data-connector="1"]').innerText(), /EVSE #1 · connector 1/);

  // The composer offers the 2.0.1 commands, checked against 2.0.1.
  await page.goto(`${depot.base}/#/station/E2E-V201/messages`);
  const actions = () => page.getByTestId('composer-action').locator('option').evaluateAll((os) => os.map((o) => o.value));
  await until('the 2.0.1 templates', async () => (await actions()).includes('RequestStartTransaction'));
  assert.ok((await actions()).includes('GetVariables'));
  assert.ok(!(await actions()).includes('RemoteStartTransaction'), 'no 1.6 command for a 2.0.1 charger');
  await page.getByTestId('composer-action').selectOption('TriggerMessage');
  await until('the template is valid', async () => /valid/i.test(await page.getByTestId('composer-check').innerText()));
  await page.getByTestId('composer-send').click();
  await until('the answer', async () => /Accepted/.test(await page.getByTestId('composer-answer').innerText()));
  await page.locator('[data-testid=frame][data-action="TransactionEvent"][data-type="2"]').first().waitFor();

  // The configuration view is its device model, edited with a result per variable.
  await page.goto(`${depot.base}/#/station/E2E-V201/configuration`);
  const row = page.locator('[data-testid=config-row][data-key="OCPPCommCtrlr/HeartbeatInterval"]');
  await row.waitFor({ timeout: 15_000 });
  await row.getByTestId('config-input').fill('90');
  await page.getByTestId('config-send').click();
  await until('its result', async () => (await row.getByTestId('config-result').innerText()) === 'Accepted');
  await until('read back', async () => (await row.getByTestId('config-input').inputValue()) === '90');

  // Its session reads like any other, with the charger's own transaction id.
  const open = await depot.api('GET', '/api/transactions?station_id=E2E-V201&open=true');
  assert.equal(open.items.length, 1);
  assert.ok(open.items[0].cost.total > 0, 'priced');
  await page.goto(`${depot.base}/#/sessions/${open.items[0].id}`);
  await until('the session', async () => /ocpp2\.0\.1 · /.test(await page.getByTestId('session-protocol').innerText()));
  await page.screenshot({ path: join(shots, 'station-201.png') });
});

test('every view passes an axe-core WCAG 2.1 AA audit, in English and Swedish', async () => {
  const views = [['dashboard', '#/', '[data-testid=tile]'], ['station', '#/station/DEMO-01', '[data-testid=station-title]'],
    ['sessions', '#/sessions', '[data-testid=session-row]'], ['tags', '#/tags', '[data-testid=tag-row]'],
    ['inbox', '#/inbox', '[data-testid=connect-url]'], ['settings', '#/settings', '[data-testid=save-settings]'],
    ['tariffs', '#/tariffs', '[data-testid=tariff-row]'], ['invoices', '#/invoices', '[data-testid=export-invoice]'],
    ['energy', '#/energy', '[data-testid=depot-chart] svg'],
    ['messages', '#/station/DEMO-01/messages', '[data-testid=frame]'], ['configuration', '#/station/DEMO-01/configuration', '[data-testid=config-row]'],
    ['commands', '#/station/DEMO-01/commands', '[data-testid=trigger-send]'], ['files', '#/station/DEMO-01/files', '[data-testid=diagnostics-request]'],
    ['health', '#/station/DEMO-01/health', '[data-testid=findings]']];
  for (const lang of ['en', 'sv']) {
    for (const [name, hash, ready] of views) {
      await page.goto(`${depot.base}/${hash}`);
      if ((await page.locator('html').getAttribute('lang')) !== lang) await page.getByTestId('lang-toggle').click();
      await page.locator(ready).first().waitFor();
      assert.ok((await audit(`${name} (${lang})`)) > 10, 'the audit ran its rules');
    }
  }
  // A session detail, with its table of meter values.
  const closed = await depot.api('GET', '/api/transactions?station_id=DEMO-01&open=false&limit=1');
  await page.goto(`${depot.base}/#/sessions/${closed.items[0].id}`);
  await page.getByTestId('sample-row').first().waitFor();
  await audit('session detail');
  if ((await page.locator('html').getAttribute('lang')) !== 'en') await page.getByTestId('lang-toggle').click();

  // With the system in dark mode the console is dark too, and every view still reads well.
  await page.emulateMedia({ colorScheme: 'dark' });
  try {
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.goto(`${depot.base}/#/`);
    await page.locator('[data-testid=tile]').first().waitFor();
    assert.equal(await background(), 'rgb(18, 20, 22)');
    await page.screenshot({ path: join(shots, 'dashboard-dark.png') });
    for (const [name, hash, ready] of views) {
      await page.goto(`${depot.base}/${hash}`);
      await page.locator(ready).first().waitFor();
      await audit(`${name} (dark)`);
    }
    await page.goto(`${depot.base}/#/sessions/${closed.items[0].id}`);
    await page.getByTestId('cost-breakdown').waitFor();
    await audit('session detail (dark)');
  } finally {
    await page.emulateMedia({ colorScheme: 'light' });
  }
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(248, 249, 250)', 'light again with the system');
});

test('a page on another origin can neither change the console nor read it', async () => {
  // Any page the manager opens: it tries a "simple" cross-site POST, a form posted as text/plain
  // and a read of the API.
  const evil = createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><title>another site</title>
      <form id="f" method="POST" action="${depot.base}/api/id-tags/import" enctype="text/plain" target="sink">
        <input name="id_tag&#10;EVIL-FORM-1&#10;x" value="y"></form>
      <iframe name="sink" title="sink"></iframe>
      <script>
        window.results = {};
        fetch('${depot.base}/api/id-tags/import', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: 'id_tag\\nEVIL-FETCH-1\\n' })
          .then(() => (results.post = 'sent'), () => (results.post = 'failed'));
        fetch('${depot.base}/api/info').then((r) => r.json()).then(() => (results.read = 'read'), () => (results.read = 'blocked'));
        document.getElementById('f').submit();
      </script>`);
  });
  await new Promise((r) => evil.listen(0, '127.0.0.1', r));
  const other = await browser.newPage();
  try {
    const refused = [];
    other.on('response', (r) => r.url().startsWith(depot.base) && refused.push(r.status()));
    await other.goto(`http://127.0.0.1:${evil.address().port}/`);
    await until('the page tried', async () => (await other.evaluate(() => window.results.read)) !== undefined && refused.length >= 2);
    assert.equal(await other.evaluate(() => window.results.read), 'blocked', 'the API is not readable from there');
    assert.ok(refused.every((s) => s === 403), `every request refused: ${refused}`);
    for (const tag of ['EVIL-FETCH-1', 'EVIL-FORM-1']) await assert.rejects(depot.api('GET', `/api/id-tags/${tag}`), /404/, tag);
  } finally {
    await other.close();
    evil.close();
  }
  // The console's own page works as before.
  await page.goto(`${depot.base}/#/tags`);
  await page.getByTestId('tag-row').first().waitFor();
});

test('the console works from the keyboard alone', async () => {
  await page.goto(`${depot.base}/#/`);
  await page.reload(); // a fresh document: Tab starts from the top
  await page.locator('[data-testid=tile]').first().waitFor();
  const focused = () => page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.textContent?.trim());
  // Tab reaches the navigation and Enter follows it.
  let reached = false;
  for (let i = 0; i < 10 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = (await focused()) === 'nav-tags';
  }
  assert.ok(reached, 'ID tags link reachable with Tab');
  await page.keyboard.press('Enter');
  await until('the tags view', async () => page.url().endsWith('#/tags'));
  // From the dashboard, a station tile opens with Enter, and its first action is reachable.
  await page.goto(`${depot.base}/#/`);
  await page.locator('[data-testid=tile]').first().waitFor();
  const first = page.locator('[data-testid=tile] a').first();
  await first.focus();
  const visible = await first.evaluate((a) => getComputedStyle(a).outlineStyle !== 'none' || getComputedStyle(a).boxShadow !== 'none');
  assert.ok(visible, 'focus is visible on a tile');
  await page.keyboard.press('Enter');
  await page.getByTestId('station-title').waitFor();
  reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = (await focused()) === 'start-tag';
  }
  assert.ok(reached, 'the remote start form reachable with Tab');
});

test('the depot time zone is set in Settings and shown where times are priced and invoiced', async () => {
  await page.goto(`${depot.base}/#/settings`);
  await page.getByTestId('time-zone').selectOption('Europe/Stockholm');
  await page.getByTestId('save-settings').click();
  await until('saved', async () => /in effect now|restart/.test(await page.getByTestId('notice').innerText()));
  assert.equal((await depot.api('GET', '/api/info')).time_zone, 'Europe/Stockholm');
  await page.goto(`${depot.base}/#/invoices`);
  await until('the invoice page names the zone', async () => /Europe\/Stockholm/.test(await page.getByTestId('invoice-zone').innerText()));
  await page.goto(`${depot.base}/#/tariffs`);
  await page.getByTestId('tariff-row').first().waitFor();
  await page.getByTestId('add-tariff').click();
  await until('the tariff form names the zone', async () => /Europe\/Stockholm/.test(await page.getByTestId('tariff-zone').innerText()));
});

// Last: it removes the demo depot the other tests use.
test('removing the demo asks first, takes its tariff with it, and asks for a real default', async () => {
  await page.goto(`${depot.base}/#/settings`);
  await page.getByTestId('remove-demo').click();
  await until('a confirmation naming what goes', async () => /demo stations/.test(await page.getByTestId('demo-confirm').innerText()));
  assert.ok((await depot.api('GET', '/api/stations')).some((s) => s.demo), 'nothing removed before the confirmation');
  await page.getByTestId('demo-confirm-yes').click();
  await until('removed', async () => /Demo removed/.test(await page.getByTestId('notice').innerText()));
  await until('a default tariff asked for', async () => /No tariff applies by default/.test(await page.getByTestId('need-default').innerText()));
  // The demo tariff priced sessions of this test's own chargers, so it stays for their records,
  // but applies nowhere.
  const demo = (await depot.api('GET', '/api/tariffs')).find((t) => t.name === 'Demo depot');
  const assigned = await depot.api('GET', '/api/tariff-assignments');
  assert.ok(!assigned.some((a) => a.scope === 'default'), 'no demo prices by default');
  assert.ok(!demo || !assigned.some((a) => a.tariff_id === demo.id), 'the demo tariff applies nowhere');
});
