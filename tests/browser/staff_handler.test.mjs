// Browser test of the case handler's console pages: a real `portal` binary with `--demo` on
// loopback (the developer sign-in, no identity provider), Debian's Chromium, axe-core (WCAG 2.1
// A/AA) on the dossier list, a dossier with a delivery, a refused action and the registration
// form, in Dutch and English; a delivery approved with the keyboard; no console errors (the CSP
// allows no inline script or style) and no request to another origin.
//
// Run from the repository root: node tests/browser/staff_handler.test.mjs (run.sh runs it).

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { Server, apiKey, dossierWithDelivery, launchChromium, runAxe as axeCheck, runTest } from './harness.mjs';

const SCREENS = '/tmp/portaal-screens';
const CASE_ID = 'BZ-2026-0077';
const server = new Server({ key: apiKey(), args: ['--demo'] });
let browser = null;
let passed = 0;

const log = (...args) => console.log('[staff_handler.test]', ...args);
const runAxe = (page, label) => axeCheck(page, label, log);

async function step(name, fn) {
  const started = Date.now();
  await fn();
  passed += 1;
  log(`ok   ${name} (${Date.now() - started} ms)`);
}

async function main() {
  mkdirSync(SCREENS, { recursive: true });
  let base = '';
  await step('server starts with --demo; a dossier with a delivery', async () => {
    base = await server.start();
    await dossierWithDelivery(server, CASE_ID);
  });
  const origin = new URL(base).origin;
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'nl-NL' });
  const requests = [];
  const consoleErrors = [];
  context.on('request', (r) => requests.push(r.url()));
  const page = await context.newPage();
  page.on('console', (m) => {
    // The refused action's page comes with its status (400): Chromium logs that, nothing else.
    if (m.type() === 'error' && !/status of 400/.test(m.text())) consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: uncaught ${e.message}`));

  await step('the developer signs in as case handler', async () => {
    await page.goto(`${base}/staff/dossiers`);
    assert.match(page.url(), /\/staff\/dev-login/);
    await page.check('input[value="handler"]');
    await page.click('button[type="submit"]');
    await page.waitForURL(/\/staff\/dossiers$/);
  });

  await step('axe: the dossier list (nl, en)', async () => {
    assert.ok((await page.textContent('#dossiers')).includes(CASE_ID));
    await runAxe(page, 'dossier list (nl)');
    await page.goto(`${base}/staff/dossiers?q=0077&lang=en`);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await runAxe(page, 'dossier list, searched (en)');
  });

  await step('axe: a dossier with a delivery; a refused rejection is announced and linked', async () => {
    await page.goto(`${base}/staff/dossiers/${CASE_ID}`);
    assert.equal((await page.textContent('h1')).includes(CASE_ID), true);
    await page.screenshot({ path: path.join(SCREENS, 'staff-dossier-nl.png'), fullPage: true });
    await runAxe(page, 'dossier (nl)');
    // Sent without a reason (the browser's own check bypassed): the server refuses.
    const form = page.locator('form[id^="reject-"]');
    await form.evaluate((f) => f.querySelector('textarea').removeAttribute('required'));
    await form.locator('button[type="submit"]').click();
    await page.waitForSelector('#problem');
    const invalid = form.locator('textarea[aria-invalid="true"]');
    assert.equal(await invalid.count(), 1);
    assert.match(await invalid.getAttribute('aria-describedby'), /\bproblem\b/);
    await runAxe(page, 'dossier with a problem (nl)');
  });

  await step('keyboard: the delivery is approved with Tab and Enter', async () => {
    await page.goto(`${base}/staff/dossiers/${CASE_ID}?lang=en`);
    const approve = page.getByRole('button', { name: 'Approve' });
    await approve.focus();
    const outline = await approve.evaluate((b) => getComputedStyle(b).outlineStyle);
    assert.notEqual(outline, 'none', 'focus is visible');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#done');
    assert.match(await page.textContent('#done'), /approved/);
    await runAxe(page, 'dossier after approval (en)');
  });

  await step('publishes a document: hashed, uploaded to the signed URL, published (axe)', async () => {
    await page.goto(`${base}/staff/dossiers/${CASE_ID}`);
    const bytes = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n% het besluit op bezwaar\n%%EOF\n', 'latin1');
    // Without a file the script says so at the field; nothing is sent.
    await page.click('#publish-button');
    assert.match(await page.textContent('#publish-error'), /Kies een bestand/);
    assert.equal(await page.getAttribute('#publish-file', 'aria-invalid'), 'true');
    await page.setInputFiles('#publish-file', { name: 'besluit op bezwaar.pdf', mimeType: 'application/pdf', buffer: bytes });
    await page.fill('#publish-message', 'Het besluit, ter kennisname.');
    await runAxe(page, 'dossier with the publish form filled (nl)');
    await Promise.all([page.waitForURL(/done=published/), page.click('#publish-button')]);
    assert.match(await page.textContent('#done'), /gepubliceerd/);
    await runAxe(page, 'dossier after publishing (nl)');
    const shown = await server.api('GET', `/api/v1/dossiers/${CASE_ID}`);
    const [publication] = shown.json.publications;
    assert.equal(publication.document.filename, 'besluit op bezwaar.pdf', shown.text);
    assert.equal(publication.message, 'Het besluit, ter kennisname.');
    const content = await fetch(`${base}/api/v1/dossiers/${CASE_ID}/documents/${publication.document.id}/content`, {
      headers: { Authorization: `Bearer ${server.key}` },
      redirect: 'follow',
    });
    assert.equal(content.status, 200);
    const downloaded = Buffer.from(await content.arrayBuffer());
    assert.ok(downloaded.equals(bytes), 'the published bytes are the chosen file');
  });

  await step('axe: the registration form (nl)', async () => {
    await page.goto(`${base}/staff/dossiers/new`);
    await runAxe(page, 'registration form (nl)');
  });

  await step('no request left the server; no console errors', async () => {
    const foreign = requests.filter((u) => new URL(u).origin !== origin);
    assert.deepEqual(foreign, [], 'requests to other origins');
    assert.deepEqual(consoleErrors, [], 'console errors');
  });
  await context.close();
}

const exitCode = await runTest(main, async () => {
  if (browser) await browser.close().catch(() => {});
  await server.stop();
});
console.log(`\nstaff handler browser: ${passed} steps passed${exitCode ? ', then one failed' : ''}`);
process.exit(exitCode);
