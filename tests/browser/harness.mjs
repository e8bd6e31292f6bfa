// Starts the real headless server (with the demo fleet) and simulated chargers for browser and
// window tests, and talks to its API. Loopback only; everything stops with stop().

import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
export const bin = (name) => join(process.env.CARGO_TARGET_DIR || join(root, 'target'), 'debug', name);

/** A free loopback TCP port. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function until(what, fn, ms = 20_000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (String(e).includes('exited')) throw e;
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
}

/** A simulated charger (chargeyard-sim) connecting to `url`; `args` as its command line. */
export function simulator(url, id, args = []) {
  return spawn(bin('chargeyard-sim'), ['--url', url, '--id', id, ...args], { stdio: 'ignore' });
}

/** `require` from the UI's packages (playwright-core, axe-core). */
export const uiRequire = createRequire(new URL('../../ui/package.json', import.meta.url));

/** Headless Chromium (Debian's, driven by playwright-core) and a page of the console's size. */
export async function openBrowser(args = []) {
  const { chromium } = uiRequire('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...args],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 }, locale: 'en-GB' });
  page.on('pageerror', (e) => console.error('page error:', e));
  return { browser, page };
}

/** WCAG 2 A and AA rules (contrast, names, labels, landmarks, ARIA) checked by axe-core in the
 * page: fails naming the violations, else the number of checks passed. */
export async function accessibility(page, name) {
  await page.addScriptTag({ path: uiRequire.resolve('axe-core/axe.min.js') });
  const result = await page.evaluate(() => window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(found, [], `${name}: accessibility violations`);
  return result.passes.length;
}

/** Where screenshots go: CHARGEYARD_SCREENSHOTS (docs/screenshots to refresh the committed ones). */
export function screenshots() {
  const dir = process.env.CHARGEYARD_SCREENSHOTS || join(tmpdir(), 'chargeyard-screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export class Depot {
  children = [];

  /** The server on free loopback ports with a demo fleet of `demo` stations; with `requireLogin`
   * the console asks for a login, and `operators` ([name, role, password]) are made first, as
   * `chargeyard-server operator add` makes them; `args`: further server flags; `dir`: the data
   * folder (a new temporary one by default). */
  async start({ demo = 4, historyDays = 2, requireLogin = false, https = false, operators = [], args = [], dir = null } = {}) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'chargeyard-browser-'));
    for (const [name, role, password] of operators) {
      execFileSync(bin('chargeyard-server'), ['--data-dir', this.dir, 'operator', 'add', name, '--role', role], { input: `${password}\n`, stdio: ['pipe', 'ignore', 'inherit'] });
    }
    const flags = [...(requireLogin ? ['--require-login'] : []), ...(https ? ['--https'] : []), ...args];
    const server = spawn(bin('chargeyard-server'), [...flags, 
      '--data-dir', this.dir, '--ocpp-listen', '127.0.0.1:0', '--ocpp-tls-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0',
      '--demo', String(demo), '--demo-speed', '60', '--demo-history-days', String(historyDays), '--ui-dir', join(root, 'ui/dist'),
    ], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.children.push(server);
    let out = '';
    let exited = null;
    server.stdout.on('data', (d) => (out += d));
    server.on('exit', (code) => (exited = code));
    await until('the server to print its addresses', () => {
      if (exited !== null) throw new Error(`chargeyard-server exited (${exited}): ${out}`);
      return /Chargers over TLS/.test(out);
    });
    this.base = out.match(/Console and API: (https?:\/\/[^\s/]+)\//)[1];
    this.ocpp = out.match(/Chargers connect to: (ws:\/\/[^\s]+)\/ocpp\//)[1];
    this.ocppTls = out.match(/Chargers over TLS: +(wss:\/\/[^\s]+)\/ocpp\//)[1];
    return this;
  }

  async api(method, path, body) {
    const r = await fetch(this.base + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** A simulated charger (chargeyard-sim); `args` as its command line. */
  charger(id, args = []) {
    const child = simulator(`${this.ocpp}/ocpp`, id, args);
    this.children.push(child);
    return child;
  }

  /** A simulated charger over wss://, trusting the depot's CA. */
  chargerOverTls(id, args = []) {
    const child = simulator(`${this.ocppTls}/ocpp`, id, ['--ca', join(this.dir, 'tls', 'ca.pem'), ...args]);
    this.children.push(child);
    return child;
  }

  /** The Chromium flag that trusts exactly this server's certificate key (as a browser given the
   * depot's CA would trust the certificate). */
  trustArgs() {
    const cert = new X509Certificate(readFileSync(join(this.dir, 'tls', 'server.pem'), 'utf8'));
    const spki = createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
    return [`--ignore-certificate-errors-spki-list=${spki}`];
  }

  stop() {
    for (const c of this.children) c.kill('SIGTERM');
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
