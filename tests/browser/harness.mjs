// Starts the real headless server (with the demo fleet) and simulated chargers for browser and
// window tests, and talks to its API. Loopback only; everything stops with stop().

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

export class Depot {
  children = [];

  /** The server on free loopback ports with a demo fleet of `demo` stations. */
  async start({ demo = 4, historyDays = 2 } = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'chargeyard-browser-'));
    const server = spawn(bin('chargeyard-server'), [
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
    this.base = out.match(/Console and API: (http:\/\/[^\s/]+)\//)[1];
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

  stop() {
    for (const c of this.children) c.kill('SIGTERM');
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
