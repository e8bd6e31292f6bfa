// Benchmark: how long a charger's StatusNotification takes to reach the screen. A charger (a raw
// OCPP-J socket from this process) changes status; the console's dashboard in headless Chromium
// notes when its tile changes (MutationObserver) and when the next frame is drawn after that.
// Both sides read the same wall clock. Prints p50/p95/p99/max; not a test (timings vary with the
// machine), see docs/PERFORMANCE.md.
//
//   node --experimental-websocket tests/browser/latency.mjs [--changes 200] [--demo 0]
//
// Needs the debug binaries and ui/dist built, as the browser tests do.

import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { Depot, until } from './harness.mjs';

const { values: opt } = parseArgs({ options: { changes: { type: 'string', default: '200' }, demo: { type: 'string', default: '0' }, 'history-days': { type: 'string', default: '0' } } });
const changes = Number(opt.changes);
const require = createRequire(new URL('../../ui/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const now = () => performance.timeOrigin + performance.now();

const depot = await new Depot().start({ demo: Number(opt.demo), historyDays: Number(opt['history-days']) });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  await depot.api('POST', '/api/stations', { id: 'LATENCY-1', registration: 'accepted' });
  const ws = new WebSocket(`${depot.ocpp}/ocpp/LATENCY-1`, 'ocpp1.6');
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
  const waiting = new Map();
  ws.onmessage = (m) => {
    const [type, id] = JSON.parse(m.data);
    if (type === 3 || type === 4) waiting.get(id)?.(now());
  };
  let seq = 0;
  const call = (action, payload) => new Promise((acked) => {
    const id = String(++seq);
    waiting.set(id, acked);
    ws.send(JSON.stringify([2, id, action, payload]));
  });
  await call('BootNotification', { chargePointVendor: 'Bench', chargePointModel: 'Latency' });
  const status = (s) => call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: s, timestamp: new Date().toISOString() });
  await status('Available');

  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(`${depot.base}/#/`);
  const tile = '[data-testid=tile][data-station="LATENCY-1"][data-connector="1"]';
  await page.waitForSelector(tile);
  // In the page: every data-status change of the tile, with its time and the next frame's time.
  await page.evaluate((css) => {
    window.seen = [];
    const el = document.querySelector(css);
    new MutationObserver(() => {
      const entry = { status: el.dataset.status, dom: performance.timeOrigin + performance.now(), frame: 0 };
      window.seen.push(entry);
      requestAnimationFrame(() => (entry.frame = performance.timeOrigin + performance.now()));
    }).observe(el, { attributes: true, attributeFilter: ['data-status'] });
  }, tile);

  const ack = [];
  const dom = [];
  const frame = [];
  for (let i = 0; i < changes; i++) {
    const s = i % 2 === 0 ? 'Unavailable' : 'Available';
    const sent = now();
    ack.push((await status(s)) - sent);
    const entry = await until(`the tile to show ${s}`, () => page.evaluate((n) => {
      const e = window.seen[n];
      return e && e.frame ? e : null;
    }, i), 5_000);
    if (entry.status !== s) throw new Error(`change ${i}: the tile changed to ${entry.status}, expected ${s}`);
    dom.push(entry.dom - sent);
    frame.push(entry.frame - sent);
    await new Promise((r) => setTimeout(r, 50));
  }
  const q = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
  const row = (name, xs) => console.log(`${name.padEnd(34)} p50 ${q(xs, 50).toFixed(1).padStart(6)} ms   p95 ${q(xs, 95).toFixed(1).padStart(6)} ms   p99 ${q(xs, 99).toFixed(1).padStart(6)} ms   max ${Math.max(...xs).toFixed(1).padStart(6)} ms`);
  // Each change must show exactly once: an extra mutation would be a reload putting an old status back.
  const mutations = await page.evaluate(() => window.seen.length);
  if (mutations !== changes) throw new Error(`${mutations} tile changes for ${changes} status changes`);
  console.log(`${changes} status changes, demo fleet of ${opt.demo} stations running alongside; ${mutations} tile changes seen`);
  row('charger → CALLRESULT (durable ack)', ack);
  row('charger → tile changed (DOM)', dom);
  row('charger → next frame drawn', frame);
  ws.close();
} finally {
  await browser.close();
  depot.stop();
}
