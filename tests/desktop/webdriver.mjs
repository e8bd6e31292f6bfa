// A small W3C WebDriver client for the real Tauri window: tauri-driver (crates.io) in front of
// Debian's WebKitWebDriver. Only the commands the window tests use; each failure carries the
// driver's own error and message.

import { spawn } from 'node:child_process';
import { freePort, until } from '../browser/harness.mjs';

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class Window {
  /** Start tauri-driver and open the app at `application` with `env` added to its environment. */
  static async open(application, env = {}) {
    const port = await freePort();
    const nativePort = await freePort();
    const driver = spawn('tauri-driver', ['--port', String(port), '--native-port', String(nativePort)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    let exited = null;
    driver.on('exit', (code) => (exited = code));
    const w = new Window(`http://127.0.0.1:${port}`, driver);
    await until('tauri-driver to listen', async () => {
      if (exited !== null) throw new Error(`tauri-driver exited (${exited})`);
      return (await fetch(`${w.base}/status`)).ok;
    });
    // Only tauri:options: adding browserName makes WebKitWebDriver refuse the session.
    const s = await w.cmd('POST', '/session', { capabilities: { alwaysMatch: { 'tauri:options': { application } } } });
    w.session = s.sessionId;
    return w;
  }

  constructor(base, driver) {
    this.base = base;
    this.driver = driver;
  }

  async cmd(method, path, body) {
    const r = await fetch(this.base + path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await r.json();
    if (!r.ok) throw new Error(`WebDriver ${method} ${path}: ${answer.value?.error}: ${answer.value?.message}`);
    return answer.value;
  }

  s(path, method = 'GET', body) {
    return this.cmd(method, `/session/${this.session}${path}`, body);
  }

  /** Run `fn` (source of a function body) in the page and return its result. */
  script(body, args = []) {
    return this.s('/execute/sync', 'POST', { script: body, args });
  }

  /** Move the console's hash router to `hash` (the window has no address bar). */
  go(hash) {
    return this.script('location.hash = arguments[0]', [hash]);
  }

  /** The first element matching `css`, or null. */
  async find(css) {
    const found = await this.s('/elements', 'POST', { using: 'css selector', value: css });
    return found.length ? new Element(this, found[0][ELEMENT]) : null;
  }

  /** Wait for an element matching `css`. */
  wait(css, ms = 20_000) {
    return until(`${css} in the window`, () => this.find(css), ms);
  }

  async count(css) {
    return (await this.s('/elements', 'POST', { using: 'css selector', value: css })).length;
  }

  /** A PNG of the window, as a Buffer. */
  async screenshot() {
    return Buffer.from(await this.s('/screenshot'), 'base64');
  }

  async close() {
    try {
      if (this.session) await this.s('', 'DELETE');
    } finally {
      this.driver.kill('SIGTERM');
    }
  }
}

class Element {
  constructor(w, id) {
    this.w = w;
    this.id = id;
  }

  e(path, method = 'GET', body) {
    return this.w.s(`/element/${this.id}${path}`, method, body);
  }

  click() {
    return this.e('/click', 'POST', {});
  }

  async fill(text) {
    await this.e('/clear', 'POST', {});
    return this.e('/value', 'POST', { text });
  }

  text() {
    return this.e('/text');
  }

  attr(name) {
    return this.e(`/attribute/${encodeURIComponent(name)}`);
  }
}
