// Browser test of the staff console signed in at a real OpenID provider (issue 12's acceptance):
// tests/oidc/provider.mjs (oidc-provider from npm) is started, a client is registered there for
// the portal's redirect URI, and the portal runs with PORTAAL_OIDC_* pointing at it. In Debian's
// Chromium each user signs in through the provider's login form, then:
//   - a case handler sees the work queue, approves one delivery and rejects another with a reason;
//   - an administrator changes the request text of bezwaar, sees the preview change, saves it,
//     and the next request's mail (the embedded outbox, GET /dev/mail) uses it; a setting out of
//     range is shown at its field; the webhooks page;
//   - a records manager downloads /staff/destructions.csv;
//   - role refusals (403 naming the role), logout (then /staff sends the browser to the provider
//     again), a tampered `state` at /staff/auth/callback (400);
//   - axe-core (WCAG 2.1 A/AA) on every console page visited, and on the setup page of a portal
//     without a provider; no console errors (the CSP allows no inline script or style), no request
//     to an origin other than the portal's and the provider's.
// Screenshots of the console go to $PORTAAL_SCREENSHOTS (default /tmp/portaal-screens;
// docs/screenshots/ holds the README's, made with PORTAAL_SCREENSHOTS=docs/screenshots).
//
// Run from the repository root: node tests/browser/staff_console.test.mjs (run.sh runs it).

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import {
  Server,
  apiKey,
  dossierWithDelivery,
  launchChromium,
  oidcClientFor,
  repo,
  runAxe as axeCheck,
  runTest,
  signInAtProvider,
  startProvider,
} from './harness.mjs';

const SCREENS = path.resolve(repo, process.env.PORTAAL_SCREENSHOTS || '/tmp/portaal-screens');
const APPROVED = 'BZ-2026-0101';
const REJECTED = 'BZ-2026-0102';
const MAILED = 'BZ-2026-0103';
const REASON = 'Het besluit ontbreekt; stuur het ondertekende besluit mee.';
const NEW_SUBJECT = 'Nieuwe stukken gevraagd: {{ case_id }}';
const NEW_TEXT =
  'Beste collega,\n\nWilt u de stukken voor zaak {{ case_id }} aanleveren?\n\n{{ portal_url }}\n\nMet dank van de beheerder.';

let provider = null;
let server = null;
let setupServer = null;
let browser = null;
let passed = 0;

const log = (...args) => console.log('[staff_console.test]', ...args);
const runAxe = (page, label) => axeCheck(page, label, log);

/** Waits until the editor's HTML preview frame shows text matching `re`. */
async function expectFrameText(page, re) {
  for (let i = 0; i < 100; i += 1) {
    const frame = page.frame({ name: 'mail-html' });
    const text = frame ? await frame.evaluate(() => document.body ? document.body.innerText : '').catch(() => '') : '';
    if (re.test(text)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`the HTML preview never showed ${re}`);
}

async function step(name, fn) {
  const started = Date.now();
  await fn();
  passed += 1;
  log(`ok   ${name} (${Date.now() - started} ms)`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SCREENS, `${name}.png`) });
}

/// A browser context of its own (its own cookies, at the portal and at the provider). The
/// portal's pages are watched for console errors and for requests to any origin but the portal's
/// (the provider's own pages load a web font from elsewhere: that request is cut, not counted).
async function user(origins, problems, { allowStatus = /status of 40[03]/ } = {}) {
  const [portalOrigin] = origins;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'nl-NL' });
  await context.route(
    (url) => !origins.includes(url.origin),
    (route) => route.abort(),
  );
  const atPortal = (url) => {
    try {
      return new URL(url).origin === portalOrigin;
    } catch {
      return false;
    }
  };
  context.on('request', (r) => {
    const origin = new URL(r.url()).origin;
    const from = r.frame() ? r.frame().url() : '';
    if (origin !== portalOrigin && !r.isNavigationRequest() && atPortal(from)) {
      problems.push(`${from}: request to another origin: ${r.url()}`);
    }
  });
  const page = await context.newPage();
  page.on('console', (m) => {
    // Refusals come with their status (400, 403): Chromium logs that, nothing else.
    if (m.type() === 'error' && atPortal(page.url()) && !allowStatus.test(m.text())) {
      problems.push(`${page.url()}: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => {
    if (atPortal(page.url())) problems.push(`${page.url()}: uncaught ${e.message}`);
  });
  return { context, page };
}

/// The mails in the embedded outbox whose subject names `caseId` (waits for the first).
async function mailsAbout(caseId) {
  for (let i = 0; i < 100; i += 1) {
    const res = await fetch(`${server.base}/dev/mail`, { headers: { Accept: 'application/json' } });
    assert.equal(res.status, 200, 'the outbox answers on loopback');
    const found = (await res.json()).filter((m) => JSON.stringify(m).includes(caseId));
    if (found.length) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`no mail about ${caseId} in the outbox`);
}

async function main() {
  mkdirSync(SCREENS, { recursive: true });
  let base = '';
  let issuer = '';
  await step('the OpenID provider starts; the portal runs with a client registered there', async () => {
    provider = await startProvider();
    issuer = provider.issuer;
    server = new Server({ key: apiKey(), env: (b) => oidcClientFor(issuer, b) });
    base = await server.start();
    await dossierWithDelivery(server, APPROVED, 'Bezwaar tegen weigering omgevingsvergunning Kerkstraat 3');
    await dossierWithDelivery(server, REJECTED, 'Bezwaar tegen last onder dwangsom Molenweg 12');
  });
  const origins = [new URL(base).origin, new URL(issuer).origin];
  const problems = [];
  browser = await launchChromium();
  const at = { issuer, base };

  // ------------------------------------------------------------------ the case handler
  const handler = await user(origins, problems);
  let page = handler.page;
  await step('handler: /staff sends the browser to the provider; signed in through its login form', async () => {
    await signInAtProvider(page, `${base}/staff`, 'handler', at);
    assert.equal(new URL(page.url()).pathname, '/staff');
    assert.match(await page.textContent('.staff-bar'), /handler/);
  });

  await step('handler: the work queue lists both deliveries (axe)', async () => {
    const main = await page.textContent('main');
    assert.ok(main.includes(APPROVED) && main.includes(REJECTED), main);
    await shot(page, 'staff-queue');
    await runAxe(page, 'work queue');
  });

  await step('handler: the dossiers list, searched (axe)', async () => {
    await page.goto(`${base}/staff/dossiers`);
    assert.ok((await page.textContent('#dossiers')).includes(APPROVED));
    await shot(page, 'staff-dossiers');
    await runAxe(page, 'dossiers list');
    await page.goto(`${base}/staff/dossiers?q=0102`);
    const found = await page.textContent('#dossiers');
    assert.ok(found.includes(REJECTED) && !found.includes(APPROVED), found);
    await runAxe(page, 'dossiers list, searched');
  });

  await step('handler: approves a delivery (axe on the dossier before and after)', async () => {
    await page.goto(`${base}/staff/dossiers/${APPROVED}`);
    assert.ok((await page.textContent('h1')).includes(APPROVED));
    await shot(page, 'staff-dossier');
    await runAxe(page, 'dossier with a delivery');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Goedkeuren' }).click()]);
    await page.waitForSelector('#done');
    await runAxe(page, 'dossier after approval');
    const shown = await server.api('GET', `/api/v1/dossiers/${APPROVED}`);
    assert.equal(shown.status, 200, shown.text);
    assert.match(JSON.stringify(shown.json.deliveries), /"approved"/, shown.text);
  });

  await step('handler: rejects another delivery with a reason', async () => {
    await page.goto(`${base}/staff/dossiers/${REJECTED}`);
    const form = page.locator('form[id^="reject-"]');
    await form.locator('textarea[name="reason"]').fill(REASON);
    await Promise.all([page.waitForNavigation(), form.locator('button[type="submit"]').click()]);
    await page.waitForSelector('#done');
    await runAxe(page, 'dossier after rejection');
    const shown = await server.api('GET', `/api/v1/dossiers/${REJECTED}`);
    assert.match(JSON.stringify(shown.json.deliveries), /"rejected"/, shown.text);
    assert.ok(shown.text.includes(REASON), 'the reason is kept');
  });

  await step('handler: the registration form (axe)', async () => {
    await page.goto(`${base}/staff/dossiers/new`);
    await runAxe(page, 'registration form');
  });

  await step('handler: a page for administrators answers 403 naming the role (axe)', async () => {
    const res = await page.goto(`${base}/staff/case-types`);
    assert.equal(res.status(), 403);
    const text = await page.textContent('main');
    assert.match(text, /Geen toegang/);
    assert.match(text, /\badmin\b/, text);
    await shot(page, 'staff-forbidden');
    await runAxe(page, '403 page');
  });

  await step('handler: logout ends the session; /staff sends the browser to the provider again', async () => {
    await page.goto(`${base}/staff`);
    const issuerOrigin = new URL(issuer).origin;
    const settled = (u) => u.origin === issuerOrigin || u.href.startsWith(`${base}/staff/logout`);
    await Promise.all([page.waitForURL(settled), page.locator('.staff-bar button[type="submit"]').click()]);
    // The provider asks whether to end its session too (RP-initiated logout).
    if (new URL(page.url()).origin === issuerOrigin) {
      await page.waitForLoadState();
      const yes = page.locator('button[name="logout"][value="yes"], button[type="submit"]').first();
      await Promise.all([page.waitForURL(`${base}/staff/logout**`), yes.click()]);
    }
    assert.equal(new URL(page.url()).pathname, '/staff/logout');
    assert.match(await page.textContent('main'), /afgemeld/);
    await runAxe(page, 'signed-out page');
    await page.goto(`${base}/staff`);
    assert.equal(new URL(page.url()).origin, new URL(issuer).origin, `at the provider, not ${page.url()}`);
    // The provider's session ended too: it asks to sign in again.
    assert.equal(await page.locator('input[name="login"]').count(), 1, 'the provider shows its login form');
  });
  await handler.context.close();

  // ------------------------------------------------------------------ the administrator
  const admin = await user(origins, problems);
  page = admin.page;
  await step('admin: signs in at the provider; the case types list (axe)', async () => {
    await signInAtProvider(page, `${base}/staff/case-types`, 'admin', at);
    assert.equal(new URL(page.url()).pathname, '/staff/case-types');
    assert.ok(await page.locator('a[href$="/staff/case-types/bezwaar"]').count());
    await shot(page, 'staff-case-types');
    await runAxe(page, 'case types list');
  });

  await step('admin: edits the request text, sees the preview change, saves (axe)', async () => {
    await page.goto(`${base}/staff/case-types/bezwaar?mail=request&in=nl`);
    await runAxe(page, 'case type page');
    const before = await page.textContent('#preview-subject');
    assert.ok(!before.includes('Nieuwe stukken gevraagd'), before);
    // The HTML frame shows the text in force, sandboxed.
    const frame = page.frame({ name: 'mail-html' });
    await frame.waitForLoadState();
    assert.equal(await page.getAttribute('#preview-html', 'sandbox'), '');
    // The preview follows the typing: no button pressed, no page loaded.
    const url = page.url();
    await page.fill('#t-subject', NEW_SUBJECT);
    await page.fill('#t-text', NEW_TEXT);
    await page.waitForFunction(() => /^Nieuwe stukken gevraagd: \S+/.test(document.getElementById('preview-subject').textContent));
    assert.equal(page.url(), url, 'the page stayed');
    assert.match(await page.textContent('#preview-text'), /Met dank van de beheerder\./);
    await page.waitForFunction(
      () => document.getElementById('live-state').textContent.length > 0,
    );
    // The HTML part is made from the new text and shown in the frame.
    await expectFrameText(page, /Met dank van de beheerder\./);
    // A mistake is shown at its line as it is typed, and the preview keeps the last good text.
    await page.fill('#t-text', `${NEW_TEXT}\n{{ onbekend }}`);
    await page.waitForFunction(() => /onbekend/.test(document.getElementById('t-text-error').textContent));
    assert.match(await page.textContent('#t-text-error'), /regel \d+/);
    assert.equal(await page.getAttribute('#t-text', 'aria-invalid'), 'true');
    await runAxe(page, 'case type page with a mistake typed');
    await page.fill('#t-text', NEW_TEXT);
    await page.waitForFunction(() => document.getElementById('t-text-error').textContent === '');
    // The preview saved nothing.
    const unchanged = await server.api('GET', '/api/v1/case-types/bezwaar');
    assert.equal(unchanged.json.templates.request.default, true);
    await page.waitForSelector('#preview-html:not([aria-busy])');
    await expectFrameText(page, /Met dank van de beheerder\./);
    await page.locator('#preview').scrollIntoViewIfNeeded();
    await shot(page, 'staff-case-type-preview');
    await runAxe(page, 'case type page with the preview');
    await Promise.all([page.waitForNavigation(), page.click('button[name="action"][value="save"]')]);
    assert.match(page.url(), /done=text/);
    assert.match(await page.textContent('main'), /De tekst is opgeslagen\./);
    await runAxe(page, 'case type page after saving');
    const stored = await server.api('GET', '/api/v1/case-types/bezwaar');
    assert.equal(stored.json.templates.request.default, false);
    assert.match(stored.json.updated_by, /^staff:/);
  });

  await step('the next request mail uses the new text', async () => {
    const put = await server.api('PUT', `/api/v1/dossiers/${MAILED}`, {
      case_type: 'bezwaar',
      title: 'Bezwaar tegen parkeerbelasting',
      submitter: { name: 'A. Smit' },
      decision: { reference: 'PB-2026-0007', date: '2026-10-02', department: 'Belastingen' },
      handler: { name: 'M. Jansen', email: 'm.jansen@example.nl' },
    });
    assert.equal(put.status, 201, put.text);
    const req = await server.api('POST', `/api/v1/dossiers/${MAILED}/requests`, {
      department: 'Belastingen',
      to: ['belastingen@example.nl'],
      due: '2099-12-31',
    });
    assert.equal(req.status, 201, req.text);
    const [listed] = await mailsAbout(MAILED);
    assert.equal(listed.subject, `Nieuwe stukken gevraagd: ${MAILED}`);
    const res = await fetch(`${base}/dev/mail/${listed.id}`, { headers: { Accept: 'application/json' } });
    const mail = await res.json();
    assert.match(mail.text, /Met dank van de beheerder\./);
    assert.ok(mail.text.includes(MAILED));
  });

  await step('admin: a setting out of range is shown at its field (axe)', async () => {
    await page.goto(`${base}/staff/case-types/bezwaar`);
    await page.fill('#f-request_days', '0');
    const settings = page.locator('form:has(input[name="form"][value="settings"])');
    const [res] = await Promise.all([page.waitForNavigation(), settings.locator('button[type="submit"]').click()]);
    assert.equal(res.status(), 400);
    assert.equal(await page.getAttribute('#f-request_days', 'aria-invalid'), 'true');
    assert.match(await page.textContent('#f-request_days-error'), /De termijn moet 1 tot en met 3650 dagen zijn/);
    await page.locator('#settings-errors').scrollIntoViewIfNeeded();
    await shot(page, 'staff-case-type-error');
    await runAxe(page, 'case type page with a validation error');
  });

  await step('admin: the webhooks page (axe)', async () => {
    await page.goto(`${base}/staff/webhooks`);
    assert.equal(new URL(page.url()).pathname, '/staff/webhooks');
    await shot(page, 'staff-webhooks');
    await runAxe(page, 'webhooks page');
  });
  await admin.context.close();

  // ------------------------------------------------------------------ the records manager
  const records = await user(origins, problems);
  page = records.page;
  await step('records: signs in at the provider; the destructions page (axe)', async () => {
    await signInAtProvider(page, `${base}/staff/destructions`, 'records', at);
    assert.equal(new URL(page.url()).pathname, '/staff/destructions');
    await shot(page, 'staff-destructions');
    await runAxe(page, 'destructions page');
  });

  await step('records: downloads the CSV', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv-link')]);
    assert.equal(download.suggestedFilename(), 'vernietigingen.csv');
    const csv = readFileSync(await download.path(), 'utf8');
    assert.ok(csv.split('\n')[0].includes(','), `a header line: ${csv}`);
    // The answer itself, with this context's session cookie.
    const res = await records.context.request.get(`${base}/staff/destructions.csv`);
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'], /^text\/csv; charset=utf-8/);
    assert.equal(res.headers()['content-disposition'], 'attachment; filename="vernietigingen.csv"');
    assert.equal(res.headers()['cache-control'], 'no-store');
  });

  await step('records: the dossiers answer 403 naming the role', async () => {
    const res = await page.goto(`${base}/staff/dossiers`);
    assert.equal(res.status(), 403);
    assert.match(await page.textContent('main'), /\bhandler\b/);
    await runAxe(page, '403 page (records)');
  });
  await records.context.close();

  // ------------------------------------------------------------------ a tampered state
  const stranger = await user(origins, problems);
  page = stranger.page;
  await step('a tampered state at /staff/auth/callback answers 400 (axe)', async () => {
    const start = await stranger.context.request.get(`${base}/staff`, { maxRedirects: 0 });
    assert.equal(start.status(), 303, `a redirect to the provider: ${start.status()}`);
    const authorize = new URL(start.headers().location);
    assert.equal(authorize.origin, new URL(issuer).origin);
    const state = authorize.searchParams.get('state');
    assert.ok(state, 'the authorization request carries a state');
    const tampered = state.slice(0, -2) + (state.endsWith('AA') ? 'BB' : 'AA');
    const res = await page.goto(`${base}/staff/auth/callback?code=made-up&state=${encodeURIComponent(tampered)}`);
    assert.equal(res.status(), 400);
    assert.match(await page.textContent('main'), /Aanmelding niet herkend/);
    await runAxe(page, 'tampered state page');
  });
  await stranger.context.close();

  // ------------------------------------------------------------------ without a provider
  await step('a portal without a provider: the setup page (axe)', async () => {
    setupServer = new Server({ key: apiKey() });
    const setupBase = await setupServer.start();
    // Not configured: 503, with a page that says how.
    const setup = await user([new URL(setupBase).origin], problems, { allowStatus: /status of 503/ });
    const res = await setup.page.goto(`${setupBase}/staff`);
    assert.equal(res.status(), 503);
    assert.match(await setup.page.textContent('main'), /PORTAAL_OIDC_ISSUER/);
    await runAxe(setup.page, 'setup page');
    await setup.context.close();
  });

  await step('no request to another origin; no console errors', async () => {
    assert.deepEqual(problems, []);
  });
}

const exitCode = await runTest(main, async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) await server.stop();
  if (setupServer) await setupServer.stop();
  if (provider) provider.stop();
});
console.log(`\nstaff console browser (OpenID provider): ${passed} steps passed${exitCode ? ', then one failed' : ''}`);
process.exit(exitCode);
