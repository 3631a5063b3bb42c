// A crash in the middle of a file sent in parts loses nothing that was acknowledged: the real
// `portal` binary is killed (SIGKILL) after two of three parts were answered, started again on
// the same data, lists those two parts as received, takes the third, completes, and delivers
// the file byte for byte. Then killed again at once after the delivery: the document is there.
// No browser: the portal's own protocol over HTTP, as the page's script speaks it.
//
// Run from the repository root: node tests/browser/parts_crash.test.mjs (run.sh runs it).

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';

import { Server, apiKey, runTest } from './harness.mjs';

const PART = 5 << 20;
const CASE_ID = 'BZ-2026-0666';
// Parts of 5 MiB above 6 MiB: a file of 12 MiB goes in three parts.
const server = new Server({
  key: apiKey(),
  env: () => ({ PORTAAL_PART_THRESHOLD_BYTES: String(6 << 20), PORTAAL_PART_SIZE_BYTES: String(PART) }),
});
let passed = 0;

const log = (...args) => console.log('[parts_crash.test]', ...args);
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

async function step(name, fn) {
  const started = Date.now();
  await fn();
  passed += 1;
  log(`ok   ${name} (${Date.now() - started} ms)`);
}

/** A call of the page's script: JSON both ways, with the header the portal asks of scripts. */
async function portal(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: { 'X-Portaal-Client': '1', 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, text };
}

async function sendPart(upload, bytes, number) {
  const part = bytes.subarray((number - 1) * PART, Math.min(bytes.length, number * PART));
  const target = await portal('POST', upload.parts_url, { number, sha256: sha256(part) });
  assert.equal(target.status, 200, target.text);
  const headers = { ...target.json.headers };
  delete headers['content-length'];
  const put = await fetch(target.json.url, { method: 'PUT', headers, body: part });
  assert.equal(put.status, 200, await put.text());
  return { number, etag: put.headers.get('etag') };
}

async function main() {
  // A PDF by its signature (the content check looks), random inside.
  const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes((12 << 20) - 16), Buffer.from('\n%%EOF\n')]);
  let link = '';
  let staged = null;
  const sent = [];
  await step('a dossier with a request; a file of 12 MiB staged in parts', async () => {
    await server.start();
    const put = await server.api('PUT', `/api/v1/dossiers/${CASE_ID}`, {
      case_type: 'bezwaar',
      title: 'Bezwaar tegen de bouwvergunning',
      submitter: { name: 'J. de Vries' },
      decision: { reference: 'OV-2026-0666', date: '2026-10-01', department: 'Vergunningen' },
      handler: { name: 'M. Jansen', email: 'm.jansen@example.nl' },
    });
    assert.equal(put.status, 201, put.text);
    const req = await server.api('POST', `/api/v1/dossiers/${CASE_ID}/requests`, {
      department: 'Vergunningen',
      to: ['vergunningen@example.nl'],
      due: '2099-12-31',
    });
    assert.equal(req.status, 201, req.text);
    link = req.json.portal_url;
    const stage = await portal('POST', `${link}/uploads`, {
      filename: 'bouwtekeningen.pdf',
      content_type: 'application/pdf',
      size: bytes.length,
    });
    assert.equal(stage.status, 201, stage.text);
    staged = stage.json;
    assert.equal(staged.upload.part_size, PART);
  });

  await step('two parts answered, then the server is killed and started again', async () => {
    sent.push(await sendPart(staged.upload, bytes, 1));
    sent.push(await sendPart(staged.upload, bytes, 2));
    await server.kill();
    await server.start({ again: true });
  });

  await step('the two acknowledged parts are still received; the third completes the file', async () => {
    const received = await portal('GET', staged.upload.parts_url);
    assert.equal(received.status, 200, received.text);
    assert.deepEqual(
      received.json.received.map((p) => [p.number, p.etag]),
      sent.map((p) => [p.number, p.etag]),
    );
    sent.push(await sendPart(staged.upload, bytes, 3));
    const done = await portal('POST', staged.upload.complete_url, { parts: sent, sha256: sha256(bytes) });
    assert.equal(done.status, 200, done.text);
    const delivered = await portal('POST', `${link}/deliveries`, {
      uploads: [staged.id],
      comment: 'De bouwtekeningen.',
      submitted_by: { name: 'P. Bakker', email: 'p.bakker@example.nl' },
    });
    assert.equal(delivered.status, 201, delivered.text);
  });

  await step('killed again at once: the delivered file is there, byte for byte', async () => {
    await server.kill();
    await server.start({ again: true });
    const dossier = await server.api('GET', `/api/v1/dossiers/${CASE_ID}`);
    const doc = dossier.json.deliveries.flatMap((d) => d.documents).find((d) => d.id === staged.id);
    assert.ok(doc, dossier.text);
    assert.equal(doc.sha256, sha256(bytes));
    const content = await fetch(`${server.base}/api/v1/dossiers/${CASE_ID}/documents/${doc.id}/content`, {
      headers: { Authorization: `Bearer ${server.key}` },
      redirect: 'follow',
    });
    assert.equal(content.status, 200);
    assert.equal(sha256(Buffer.from(await content.arrayBuffer())), sha256(bytes));
  });
}

const exitCode = await runTest(main, async () => {
  await server.stop();
});
console.log(`\nparts after a crash: ${passed} steps passed${exitCode ? ', then one failed' : ''}`);
process.exit(exitCode);
