// What the browser tests share: a real `portal` binary in embedded mode on a free loopback port
// (its own data directory, never left running), Debian's Chromium, and axe-core's WCAG 2.1 A/AA
// check (injected through the DevTools protocol: the CSP is `script-src 'self'`; see
// portal.test.mjs for why not addScriptTag nor bypassCSP).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
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
  /// `env(base)` (optional, may be async): more environment for the server, made once its base
  /// URL is known (e.g. a client registered at the OpenID provider for its redirect URI).
  constructor({ key, args = [], env = null }) {
    this.key = key;
    this.args = args;
    this.extraEnv = env;
    this.child = null;
    this.dataDir = null;
    this.base = '';
  }

  /// Starts the server; `again` starts it on the data directory and port of the one before
  /// (after `kill`), as a restart after a crash.
  async start({ again = false } = {}) {
    assert.ok(existsSync(BINARY), `${BINARY} is missing: run cargo build -p portal`);
    const port = again ? Number(new URL(this.base).port) : await freePort();
    if (!again) this.dataDir = mkdtempSync(path.join(os.tmpdir(), 'portaal-browser-'));
    const env = {
      ...process.env,
      PORTAAL_DATA_DIR: this.dataDir,
      PORTAAL_ADDR: `127.0.0.1:${port}`,
      PORTAAL_API_KEY: this.key,
      PORTAAL_BACKEND: 'embedded',
    };
    delete env.PORTAAL_PUBLIC_URL;
    for (const name of Object.keys(env)) if (name.startsWith('PORTAAL_OIDC_')) delete env[name];
    if (this.extraEnv) Object.assign(env, await this.extraEnv(`http://127.0.0.1:${port}`));
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

  /// Kills the server at once (SIGKILL, as a crash), keeping its data for `start({ again })`.
  async kill() {
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      running.delete(child);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
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

/// The test OpenID provider (tests/oidc/provider.mjs: oidc-provider from npm, accounts handler,
/// admin, records, all, nobody, mapped; any password), as tests/src/oidc.rs starts it: it prints
/// its issuer URL first and stops when its standard input closes. Answers its issuer URL.
export async function startProvider() {
  const dir = path.join(repo, 'tests', 'oidc');
  assert.ok(
    existsSync(path.join(dir, 'node_modules', 'oidc-provider')),
    'the test OpenID provider is not installed: npm ci --prefix tests/oidc',
  );
  const child = spawn(process.execPath, [path.join(dir, 'provider.mjs')], {
    cwd: dir,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => {
    err += d;
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  const issuer = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the provider printed no issuer within 20 s:\n${err}`)), 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl).trim());
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the provider exited early (${code ?? signal}):\n${err}`));
    });
  });
  child.removeAllListeners('exit');
  child.stdout.resume();
  assert.match(issuer, /^http:\/\/127\.0\.0\.1:\d+$/, `provider said ${issuer}`);
  return {
    issuer,
    stop() {
      running.delete(child);
      child.stdin.end();
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

/// A client registered at the provider (dynamic registration) for a portal at `base`, as
/// tests/src/oidc.rs registers one: the portal's PORTAAL_OIDC_* settings.
export async function oidcClientFor(issuer, base) {
  const res = await fetch(`${issuer}/reg`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [`${base}/staff/auth/callback`],
      post_logout_redirect_uris: [`${base}/staff/logout`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }),
  });
  assert.equal(res.status, 201, `client registration: ${await res.clone().text()}`);
  const client = await res.json();
  return {
    PORTAAL_OIDC_ISSUER: issuer,
    PORTAAL_OIDC_CLIENT_ID: client.client_id,
    PORTAAL_OIDC_CLIENT_SECRET: client.client_secret,
    PORTAAL_OIDC_EXTRA_SCOPES: 'roles',
  };
}

/// Opens `url` (a console page) in `page`, expects the provider's login form, signs in there as
/// `login` (any password), consents if asked, and waits until the browser is back at the portal.
export async function signInAtProvider(page, url, login, { issuer, base }) {
  await page.goto(url);
  const issuerOrigin = new URL(issuer).origin;
  assert.equal(new URL(page.url()).origin, issuerOrigin, `sent to the provider, not ${page.url()}`);
  for (let i = 0; i < 6 && new URL(page.url()).origin === issuerOrigin; i += 1) {
    const loginField = page.locator('input[name="login"]');
    if (await loginField.count()) {
      await loginField.fill(login);
      await page.fill('input[name="password"]', 'test');
    }
    await Promise.all([page.waitForNavigation(), page.locator('button[type="submit"]').first().click()]);
  }
  assert.equal(new URL(page.url()).origin, new URL(base).origin, `back at the portal, not ${page.url()}`);
}

/// A dossier with a request, and a delivery of one PDF through the link (as the portal's
/// script sends it: stage, upload, confirm).
export async function dossierWithDelivery(server, caseId, title = 'Bezwaar tegen weigering omgevingsvergunning Kerkstraat 3') {
  const base = server.base;
  const put = await server.api('PUT', `/api/v1/dossiers/${caseId}`, {
    case_type: 'bezwaar',
    title,
    submitter: { name: 'J. de Vries' },
    decision: { reference: 'OV-2026-0901', date: '2026-10-01', department: 'Vergunningen' },
    handler: { name: 'M. Jansen', email: 'm.jansen@example.nl' },
  });
  assert.equal(put.status, 201, put.text);
  const req = await server.api('POST', `/api/v1/dossiers/${caseId}/requests`, {
    department: 'Vergunningen',
    to: ['vergunningen@example.nl'],
    due: '2099-12-31',
  });
  assert.equal(req.status, 201, req.text);
  const link = req.json.portal_url;
  const bytes = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n', 'latin1');
  const portal = (method, url, body) =>
    fetch(url, {
      method,
      headers: { 'X-Portaal-Client': '1', 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
  const staged = await (
    await portal('POST', `${link}/uploads`, {
      filename: 'besluit.pdf',
      content_type: 'application/pdf',
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    })
  ).json();
  const headers = Object.fromEntries(Object.entries(staged.upload.headers).filter(([k]) => k !== 'content-length'));
  const sent = await fetch(new URL(staged.upload.url, base), { method: staged.upload.method, headers, body: bytes });
  assert.ok(sent.ok, `upload: ${sent.status}`);
  const confirmed = await portal('POST', `${link}/deliveries`, {
    uploads: [staged.id],
    comment: 'Alle stukken.',
    submitted_by: { name: 'Piet Bakker', email: 'p.bakker@example.nl' },
  });
  assert.equal(confirmed.status, 201, await confirmed.text());
  return { link };
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
