// Browser test of the portal page for link holders: Chromium (Debian's, via playwright-core)
// drives a real `target/debug/portal` in embedded mode; axe-core checks WCAG 2.1 A/AA.
//
// Run from the repository root: node tests/browser/portal.test.mjs (or bash tests/browser/run.sh).
//
// axe injection: the page's CSP is `script-src 'self'` (no inline script). `page.addScriptTag({path})`
// inlines the file's content into a <script> element, which the CSP blocks: with Chromium 148 and
// playwright-core 1.65 the call throws "Executing inline script violates the following Content
// Security Policy directive 'script-src 'self''" and `window.axe` stays undefined. We therefore
// evaluate axe's source with `page.evaluate(source)`: that goes through the DevTools protocol
// (Runtime.evaluate), which the page's CSP does not govern. We deliberately do NOT use
// `bypassCSP: true`: that would test the page under a weaker policy than users get and would hide
// CSP violations by the portal's own code, which the console check at the end is meant to catch.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

import { Server, apiKey, launchChromium, runAxe as axeCheck } from './harness.mjs';

const SCREENS = '/tmp/portaal-screens';
const API_KEY = apiKey();
const CASE_ID = 'BZ-2026-0042';

const server = new Server({ key: API_KEY });
let browser = null;
let dataDir = null;
let passed = 0;
let failed = 0;

function log(...args) {
  console.log('[portal.test]', ...args);
}

async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed += 1;
    log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    failed += 1;
    log(`FAIL ${name}`);
    throw err;
  }
}

// ------------------------------------------------------------------ server

async function startServer() {
  const base = await server.start();
  dataDir = server.dataDir;
  return base;
}

// ------------------------------------------------------------------ API

let BASE = '';

const api = (method, urlPath, body) => server.api(method, urlPath, body);

function isoDate(d) {
  return d.toISOString().slice(0, 10);
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

// ------------------------------------------------------------------ axe

const runAxe = (page, label) => axeCheck(page, label, log);

// ------------------------------------------------------------------ the test

async function main() {
  mkdirSync(SCREENS, { recursive: true });

  let portalUrl = '';
  await step('server starts and prints its banner', async () => {
    BASE = await startServer();
    log(`     server at ${BASE}, data in ${dataDir}`);
  });
  const origin = new URL(BASE).origin;

  const remarks = 'Graag ook de adviezen van de welstandscommissie en het verslag van de hoorzitting meesturen.';
  const decisionRef = 'OV-2026-0815';
  const message = 'Het gaat om het volledige dossier inclusief adviezen.';
  await step('dossier and request through the API', async () => {
    const put = await api('PUT', `/api/v1/dossiers/${CASE_ID}`, {
      case_type: 'bezwaar',
      title: 'Bezwaar tegen weigering omgevingsvergunning Dorpsstraat 12',
      remarks,
      submitter: { name: 'J. de Vries', address: 'Dorpsstraat 12\n1234 AB Ons Dorp' },
      decision: {
        reference: decisionRef,
        date: isoDate(new Date(Date.now() - 30 * 86_400_000)),
        subject: 'Weigering omgevingsvergunning',
        department: 'Vergunningen',
      },
      handler: { name: 'M. Jansen', email: 'm.jansen@example.nl' },
    });
    assert.equal(put.status, 201, `PUT dossier: ${put.text}`);
    const req = await api('POST', `/api/v1/dossiers/${CASE_ID}/requests`, {
      department: 'Vergunningen',
      to: ['vergunningen@example.nl'],
      due: isoDate(new Date(Date.now() + 14 * 86_400_000)),
      message,
    });
    assert.equal(req.status, 201, `POST request: ${req.text}`);
    portalUrl = req.json.portal_url;
    assert.match(portalUrl, /\/p\/[A-Za-z0-9_-]{20,}$/, `portal_url: ${portalUrl}`);
    assert.equal(new URL(portalUrl).origin, origin, 'portal_url points at this server');
  });

  await step('Chromium starts', async () => {
    browser = await launchChromium();
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'nl-NL' });
  const requests = [];
  const consoleErrors = [];
  context.on('request', (r) => requests.push(r.url()));
  context.on('response', (r) => { if (r.status() >= 400) log('     HTTP', r.status(), r.request().method(), r.url()); });
  const watch = (page) => {
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()} [at ${m.location().url}]`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: uncaught ${e.message}`));
  };
  const page = await context.newPage();
  watch(page);

  await step('portal page opens in Dutch', async () => {
    const res = await page.goto(portalUrl, { waitUntil: 'load' });
    assert.equal(res.status(), 200);
    assert.equal(await page.getAttribute('html', 'lang'), 'nl');
    assert.equal((await page.textContent('h1')).trim(), 'Verzoek om stukken');
    const body = await page.textContent('body');
    for (const text of ['Opmerkingen', remarks, message, decisionRef, 'Zaakgegevens', 'Primair besluit', CASE_ID]) {
      assert.ok(body.includes(text), `page shows ${JSON.stringify(text)}`);
    }
    const confirm = page.locator('#confirm');
    assert.equal((await confirm.textContent()).trim(), 'Bevestigen en versturen');
    // The script (assets/js/main.js) enables the button once it runs.
    await page.waitForFunction(() => !document.getElementById('confirm').disabled);
    await page.screenshot({ path: path.join(SCREENS, 'portal-nl.png'), fullPage: true });
  });

  await step('axe: Dutch portal page', async () => {
    await runAxe(page, 'portal page (nl)');
  });

  const pdf = Buffer.alloc(5 * 1024 * 1024);
  {
    const head = Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n', 'latin1');
    head.copy(pdf, 0);
    for (let i = head.length; i < pdf.length - 16; i++) pdf[i] = 32 + ((i * 31) % 95);
    Buffer.from('\n%%EOF\n').copy(pdf, pdf.length - 7);
  }
  const txt = Buffer.from('Verslag hoorzitting 12 mei 2026.\nAanwezig: bezwaarmaker en gemachtigde.\n', 'utf8');
  const files = [
    { name: 'besluit-OV-2026-0815.pdf', mimeType: 'application/pdf', buffer: pdf },
    { name: 'verslag-hoorzitting.txt', mimeType: 'text/plain', buffer: txt },
  ];

  await step('two files upload and are delivered with "Bevestigen en versturen"', async () => {
    await page.setInputFiles('#file-input', files);
    const rows = page.locator('#file-list li.file');
    await rows.nth(1).waitFor();
    await page.waitForFunction(
      () => document.querySelectorAll('#file-list li.file.is-done').length === 2,
      null,
      { timeout: 60_000 },
    );
    assert.equal(await rows.count(), 2);
    for (let i = 0; i < 2; i++) {
      assert.equal((await rows.nth(i).locator('.file-status').textContent()).trim(), 'Klaar om te versturen');
    }
    assert.equal(await page.locator('#file-list .file-error').count(), 0, 'no upload errors');
    assert.ok(await page.locator('#file-empty').isHidden(), '"no files yet" hint hidden');

    await page.fill('#comment', 'Hierbij het besluit en het verslag van de hoorzitting.');
    await page.fill('#submitter-name', 'P. Bakker');
    await page.fill('#submitter-email', 'p.bakker@example.nl');
    await page.click('#confirm');
    const success = page.locator('#delivery-success');
    await success.waitFor({ timeout: 30_000 });
    const text = await success.textContent();
    assert.ok(text.includes('Verstuurd'), `success message: ${text}`);
    assert.ok(text.includes(sha256(pdf)) && text.includes(sha256(txt)), 'success message lists both SHA-256 sums');
    assert.equal(await page.locator('#file-list li.file').count(), 0, 'sent files leave the list');

    const dossier = await api('GET', `/api/v1/dossiers/${CASE_ID}`);
    assert.equal(dossier.status, 200, dossier.text);
    const deliveries = dossier.json.deliveries;
    assert.equal(deliveries.length, 1, 'exactly one delivery');
    const docs = deliveries[0].documents;
    assert.equal(docs.length, 2, 'two documents');
    const byName = Object.fromEntries(docs.map((d) => [d.filename, d]));
    for (const f of files) {
      const d = byName[f.name];
      assert.ok(d, `document ${f.name} delivered`);
      assert.equal(d.sha256, sha256(f.buffer), `sha256 of ${f.name}`);
      assert.equal(d.size, f.buffer.length, `size of ${f.name}`);
      assert.equal(d.content_type, f.mimeType, `content type of ${f.name}`);
    }
    assert.equal(deliveries[0].submitted_by.name, 'P. Bakker');
    assert.equal(deliveries[0].submitted_by.email, 'p.bakker@example.nl');
  });

  await step('history shows the delivery; axe after delivery', async () => {
    const article = page.locator('#dossier-history article.delivery');
    await article.first().waitFor({ timeout: 15_000 });
    assert.equal(await article.count(), 1);
    const text = await article.first().textContent();
    for (const f of files) assert.ok(text.includes(f.name), `history lists ${f.name}`);
    assert.ok(text.includes('P. Bakker'), 'history names the submitter');
    const timeline = await page.textContent('#dossier-history .timeline');
    assert.ok(timeline.includes('Stukken aangeleverd'), 'timeline has the delivery event');
    // The refreshed document links point at this link's documents.
    const href = await article.first().locator('a.doc-link').first().getAttribute('href');
    assert.ok(href && href.startsWith(new URL(portalUrl).pathname + '/documents/'), `document link: ${href}`);
    await page.screenshot({ path: path.join(SCREENS, 'portal-delivered.png'), fullPage: true });
    await runAxe(page, 'portal page after delivery (nl)');
  });

  await step('a staged file can be removed again', async () => {
    await page.setInputFiles('#file-input', [
      { name: 'vergeten-bijlage.txt', mimeType: 'text/plain', buffer: Buffer.from('nog een stuk\n') },
    ]);
    const row = page.locator('#file-list li.file', { hasText: 'vergeten-bijlage.txt' });
    await row.waitFor();
    await page.waitForFunction(() => !!document.querySelector('#file-list li.file.is-done'), null, { timeout: 30_000 });
    let view = await fetch(portalUrl, { headers: { Accept: 'application/json' } }).then((r) => r.json());
    assert.equal(view.staged.length, 1, 'the server holds the staged file');
    await row.locator('button.file-remove').click();
    await row.waitFor({ state: 'detached', timeout: 15_000 });
    assert.equal(await page.locator('#file-list li.file').count(), 0);
    assert.ok(await page.locator('#file-empty').isVisible(), '"no files yet" hint is back');
    const status = await page.textContent('#upload-status');
    assert.ok(status.includes('vergeten-bijlage.txt is verwijderd.'), `status line: ${status}`);
    const res = await fetch(portalUrl, { headers: { Accept: 'application/json' } });
    assert.equal(res.status, 200);
    view = await res.json();
    assert.ok(Array.isArray(view.staged), 'JSON view has staged');
    assert.equal(view.staged.length, 0, 'nothing staged on the server');
  });

  await step('a 300 MiB file goes in parts, resumes after a lost connection and a reload, arrives byte-identical', async () => {
    // Several hundred MiB on disk (not in the test's memory as a buffer the page gets whole).
    const bigPath = path.join(dataDir, 'bouwtekeningen.pdf');
    const size = 300 * 1024 * 1024;
    {
      const fd = openSync(bigPath, 'w');
      const block = Buffer.alloc(4 * 1024 * 1024);
      for (let i = 0; i < block.length; i++) block[i] = 32 + ((i * 7) % 90);
      Buffer.from('%PDF-1.7\n').copy(block, 0);
      for (let at = 0; at < size; at += block.length) {
        block.writeUInt32BE(at / block.length, 16);
        writeSync(fd, block, 0, Math.min(block.length, size - at));
      }
      const tail = Buffer.from('\n%%EOF\n');
      writeSync(fd, tail, 0, tail.length, size - tail.length);
      closeSync(fd);
    }
    const want = createHash('sha256').update(readFileSync(bigPath)).digest('hex');
    const partsPut = [];
    let cut = false;
    // The connection drops after two parts: every later part PUT fails.
    await page.route((url) => url.pathname.startsWith('/blobs/') && url.searchParams.has('upload'), async (route) => {
      const part = Number(new URL(route.request().url()).searchParams.get('part'));
      if (partsPut.length >= 2) {
        cut = true;
        await route.abort('connectionreset');
        return;
      }
      partsPut.push(part);
      await route.continue();
    });
    await page.setInputFiles('#file-input', bigPath);
    const row = page.locator('#file-list li.file', { hasText: 'bouwtekeningen.pdf' });
    await row.locator('.file-error').waitFor({ timeout: 120_000 });
    assert.ok(cut, 'the connection was cut');
    assert.deepEqual(partsPut.sort(), [1, 2], 'two parts arrived before the cut');
    await page.unrouteAll({ behavior: 'ignoreErrors' });

    // A reload: the page lists the file as not completely uploaded.
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => !document.getElementById('confirm').disabled);
    const stopped = page.locator('#file-list li.file[data-incomplete]', { hasText: 'bouwtekeningen.pdf' });
    assert.ok((await stopped.textContent()).includes('Niet volledig'), 'the row says it stopped');
    await runAxe(page, 'portal page with an unfinished upload (nl)');

    // The same file chosen again: only the missing parts go.
    const resumed = [];
    context.on('request', (r) => {
      const u = new URL(r.url());
      if (r.method() === 'PUT' && u.pathname.startsWith('/blobs/') && u.searchParams.has('upload')) {
        resumed.push(Number(u.searchParams.get('part')));
      }
    });
    await page.setInputFiles('#file-input', bigPath);
    await page.waitForFunction(
      () => !!document.querySelector('#file-list li.file.is-done[data-filename="bouwtekeningen.pdf"]'),
      null,
      { timeout: 180_000 },
    );
    assert.deepEqual(resumed.sort(), [3, 4, 5], 'only the parts that did not arrive');
    assert.equal(await page.locator('#file-list li.file').count(), 1, 'one row for the file');
    await page.fill('#comment', 'De bouwtekeningen.');
    await page.fill('#submitter-name', 'P. Bakker');
    await page.fill('#submitter-email', 'p.bakker@example.nl');
    await page.click('#confirm');
    await page.locator('#delivery-success').waitFor({ timeout: 60_000 });

    const dossier = await api('GET', `/api/v1/dossiers/${CASE_ID}`);
    const doc = dossier.json.deliveries.flatMap((d) => d.documents).find((d) => d.filename === 'bouwtekeningen.pdf');
    assert.ok(doc, 'delivered');
    assert.equal(doc.size, size);
    assert.equal(doc.sha256, want, 'the SHA-256 the browser computed in pieces');
    assert.equal(doc.sha256_verified, true, 'measured by storage while joining');
    const content = await fetch(`${BASE}/api/v1/dossiers/${CASE_ID}/documents/${doc.id}/content`, {
      headers: { Authorization: `Bearer ${API_KEY}` },
      redirect: 'follow',
    });
    assert.equal(content.status, 200);
    const got = createHash('sha256').update(Buffer.from(await content.arrayBuffer())).digest('hex');
    assert.equal(got, want, 'downloaded bytes are identical');
    rmSync(bigPath, { force: true });
  });

  await step('keyboard: the file-picker button is reachable with Tab and shows focus', async () => {
    await page.goto(portalUrl, { waitUntil: 'load' });
    await page.evaluate(() => {
      window.scrollTo(0, 0);
      if (document.activeElement) document.activeElement.blur();
    });
    let reached = false;
    const seen = [];
    for (let i = 0; i < 80 && !reached; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => {
        const a = document.activeElement;
        return a ? a.id || a.tagName.toLowerCase() + (a.className ? '.' + a.className : '') : '';
      });
      seen.push(id);
      reached = id === 'pick-files';
    }
    assert.ok(reached, `#pick-files reached with Tab; focus went: ${seen.join(' > ')}`);
    const style = await page.evaluate(() => {
      const a = document.activeElement;
      const cs = getComputedStyle(a);
      return {
        focusVisible: a.matches(':focus-visible'),
        outlineStyle: cs.outlineStyle,
        outlineWidth: cs.outlineWidth,
        outlineColor: cs.outlineColor,
        boxShadow: cs.boxShadow,
      };
    });
    assert.ok(style.focusVisible, 'button matches :focus-visible after Tab');
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    const shadow = style.boxShadow && style.boxShadow !== 'none';
    assert.ok(outline || shadow, `visible focus style: ${JSON.stringify(style)}`);
    log(`     focus after ${seen.length} Tabs: outline ${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`);
  });

  await step('English page (?lang=en)', async () => {
    const res = await page.goto(portalUrl + '?lang=en', { waitUntil: 'load' });
    assert.equal(res.status(), 200);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal((await page.textContent('h1')).trim(), 'Request for documents');
    assert.equal((await page.textContent('#confirm')).trim(), 'Confirm and send');
    assert.ok((await page.textContent('body')).includes('Earlier deliveries'));
    await page.waitForFunction(() => !document.getElementById('confirm').disabled);
    await page.screenshot({ path: path.join(SCREENS, 'portal-en.png'), fullPage: true });
    await runAxe(page, 'portal page (en)');
  });

  await step('unknown link gives the Dutch 404 page', async () => {
    const res = await page.goto(`${BASE}/p/${'A'.repeat(43)}`, { waitUntil: 'load' });
    assert.equal(res.status(), 404);
    assert.match(res.headers()['content-type'] || '', /^text\/html/);
    assert.equal(await page.getAttribute('html', 'lang'), 'nl');
    assert.equal((await page.textContent('h1')).trim(), 'Link niet gevonden');
    assert.ok((await page.textContent('body')).includes('Foutcode 404'));
    await page.screenshot({ path: path.join(SCREENS, 'portal-404.png'), fullPage: true });
    await runAxe(page, '404 page (nl)');
  });

  await step('no request left the server; no console errors', async () => {
    const foreign = requests.filter((u) => {
      try {
        return new URL(u).origin !== origin;
      } catch {
        return true;
      }
    });
    assert.deepEqual(foreign, [], 'requests to other origins');
    assert.ok(requests.length > 5, `requests seen: ${requests.length}`);
    // The one expected "error": Chromium logs the 404 status of the unknown link's own document
    // (step 9 asks for that 404). Anything else, including a favicon 404, fails the test.
    // And the parts the test cut off on purpose (the resumed upload's step).
    const unexpected = consoleErrors.filter(
      (e) => !(e.includes(`/p/${'A'.repeat(43)}`) && /status of 404/.test(e))
        && !(/ERR_CONNECTION_RESET/.test(e) && e.includes('/blobs/') && e.includes('upload=')),
    );
    assert.deepEqual(unexpected, [], 'console errors');
  });

  await context.close();
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  exitCode = 1;
  if (failed === 0) failed = 1;
  console.error(err && err.stack ? err.stack : err);
} finally {
  if (browser) await browser.close().catch(() => {});
  await server.stop().catch(() => {});
}
console.log(`\nbrowser: ${passed} passed, ${failed} failed`);
process.exit(exitCode);
