// What the browser tests share: a real `portal` binary in embedded mode on a free loopback port
// (its own data directory, never left running), Debian's Chromium, and axe-core's WCAG 2.1 A/AA
// check (injected through the DevTools protocol: the CSP is `script-src 'self'`; see
// portal.test.mjs for why not addScriptTag nor bypassCSP).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
const require = createRequire(import.meta.url);
export const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// `target/debug/portal`, or under CARGO_TARGET_DIR when that is set.
export const BINARY = path.join(process.env.CARGO_TARGET_DIR || path.join(repo, 'target'), 'debug', 'portal');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/// A random API key (at least 32 characters: shorter keys are refused at start).
export function apiKey() {
  return 'browser-test-key-' + Math.random().toString(36).slice(2).padEnd(12, '0') + '-0123456789';
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const running = new Set();
// Never leave a server behind, whatever happens.
process.on('exit', () => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
    process.exit(130);
  });
}

/// The portal binary with `key` as its API key and `args` (e.g. `--demo`).
export class Server {
  constructor({ key, args = [] }) {
    this.key = key;
    this.args = args;
    this.child = null;
    this.dataDir = null;
    this.base = '';
  }

  async start() {
    assert.ok(existsSync(BINARY), `${BINARY} is missing: run cargo build -p portal`);
    const port = await freePort();
    this.dataDir = mkdtempSync(path.join(os.tmpdir(), 'portaal-browser-'));
    const env = {
      ...process.env,
      PORTAAL_DATA_DIR: this.dataDir,
      PORTAAL_ADDR: `127.0.0.1:${port}`,
      PORTAAL_API_KEY: this.key,
      PORTAAL_BACKEND: 'embedded',
    };
    delete env.PORTAAL_PUBLIC_URL;
    const child = spawn(BINARY, this.args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    running.add(child);
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      if (err.length > 200_000) err = err.slice(-100_000);
    });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner within 30 s; stdout:\n${out}\nstderr:\n${err}`)), 30_000);
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('Stop with Ctrl+C.')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server exited early (${code ?? signal}); stdout:\n${out}\nstderr:\n${err}`));
      });
    });
    child.removeAllListeners('exit');
    child.stdout.resume();
    this.base = `http://127.0.0.1:${port}`;
    assert.ok(out.includes(this.base), `banner names ${this.base}:\n${out}`);
    return this.base;
  }

  /// Stops the server (SIGINT, then SIGKILL after 5 s) and removes its data.
  async stop() {
    const child = this.child;
    this.child = null;
    if (child) {
      running.delete(child);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    }
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
    this.dataDir = null;
  }

  /// A call to the case-system API: status, JSON (if any) and text.
  async api(method, urlPath, body) {
    const res = await fetch(this.base + urlPath, {
      method,
      headers: {
        Authorization: `Bearer ${this.key}`,
        Accept: 'application/json',
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, json, text };
  }
}

/// Debian's Chromium, headless.
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/// axe-core on the page: fails with every WCAG 2.1 A/AA violation, `log`s the count passed.
export async function runAxe(page, label, log) {
  const already = await page.evaluate(() => typeof window.axe === 'object');
  if (!already) {
    await page.evaluate(axeSource);
  }
  const result = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }),
    AXE_TAGS,
  );
  const violations = result.violations;
  if (violations.length) {
    const detail = violations
      .map((v) => {
        const nodes = v.nodes
          .map((n) => `    - ${n.target.join(' ')}\n      ${n.html}\n      ${(n.failureSummary || '').replace(/\n/g, '\n      ')}`)
          .join('\n');
        return `  [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n${nodes}`;
      })
      .join('\n');
    assert.fail(`axe found ${violations.length} violation(s) on ${label}:\n${detail}`);
  }
  log(`     axe: 0 violations on ${label} (${result.passes ? result.passes.length : '?'} rules passed)`);
}

/// Runs `main`, then `cleanup` whatever happened (its own failure ignored); answers the exit code
/// (1 when `main` threw, after printing why).
export async function runTest(main, cleanup) {
  let code = 0;
  try {
    await main();
  } catch (err) {
    code = 1;
    console.error(err && err.stack ? err.stack : err);
  } finally {
    await cleanup().catch(() => {});
  }
  return code;
}
