/* Staging one file: hash it, announce it to the portal (POST uploads), then send the bytes where
   the portal says. */
import { api, base, deleteUpload, problemText } from './api.js';
import { sha256Of } from './hash.js';
import { uploadInParts } from './parts.js';
import { setStatus } from './rows.js';
import { sendBytes } from './send.js';
import { t } from './texts.js';

// The portal's answer to the announcement: where the bytes go.
function staged(entry, res, announce) {
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(problemText(res));
  }
  const body = res.body || {};
  entry.id = body.id || (body.document && body.document.id) || null;
  if (entry.removed) {
    // Removed while being announced: drop it on the server too.
    if (entry.id) {
      deleteUpload(entry.id).catch(() => {});
    }
    return null;
  }
  if (!entry.id || !body.upload || !body.upload.url) {
    throw new Error(t('http_error', { status: res.status }));
  }
  entry.el.setAttribute('data-upload-id', entry.id);
  return sendBytes(entry, body.upload, announce);
}

/** Resolves when the bytes are stored or the file was removed; rejects with what went wrong.
    Files above `partThreshold` bytes go in parts. */
export function upload(entry, announce, partThreshold) {
  if (partThreshold && entry.size > partThreshold) {
    return uploadInParts(entry, announce);
  }
  entry.state = 'hashing';
  setStatus(entry, t('hashing'));
  return sha256Of(entry.file).then((sha) => {
    if (entry.removed) {
      return null;
    }
    entry.sha256 = sha;
    entry.state = 'announcing';
    setStatus(entry, t('announcing'));
    const payload = { filename: entry.name, content_type: entry.contentType, size: entry.size };
    if (sha) {
      payload.sha256 = sha;
    }
    return api('POST', base + '/uploads', payload).then((res) => staged(entry, res, announce));
  });
}
