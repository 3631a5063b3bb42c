/* Sends a file's bytes exactly as the portal said: its method, URL and headers (a presigned PUT
   to the storage, or the portal itself), with progress. */
import { setStatus, showProgress } from './rows.js';
import { t } from './texts.js';

// Headers a browser refuses to set; it sets Content-Length and Host itself.
const FORBIDDEN_HEADERS = ['content-length', 'host', 'connection', 'keep-alive', 'expect', 'te', 'trailer',
  'transfer-encoding', 'upgrade', 'via', 'date', 'cookie', 'origin', 'referer', 'accept-encoding',
  'accept-charset'];

/** Sets the headers the upload target names on `xhr`, but for those a browser sets itself. */
export function setHeaders(xhr, headers) {
  Object.keys(headers).forEach((name) => {
    if (FORBIDDEN_HEADERS.indexOf(name.toLowerCase()) !== -1) {
      return;
    }
    try {
      xhr.setRequestHeader(name, headers[name]);
    } catch (e) {
      /* a header the browser will not send: the server's check reports it */
    }
  });
}

// The storage's problem, if it sent one in the portal's JSON form.
function failureOf(xhr) {
  let detail = null;
  try {
    const body = JSON.parse(xhr.responseText);
    detail = body && (body.detail || body.title);
  } catch (e) {
    detail = null;
  }
  return new Error(detail || t('storage_error', { status: xhr.status }));
}

function aborted() {
  const e = new Error('aborted');
  e.aborted = true;
  return e;
}

/** PUTs one part (a slice of the file) where `target` says; resolves to the ETag storage
    answered; `onLoaded(bytes)` as the part's bytes go out. */
export function putPart(entry, target, blob, onLoaded) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    entry.xhr = xhr;
    xhr.open('PUT', target.url, true);
    setHeaders(xhr, target.headers || {});
    xhr.upload.addEventListener('progress', (ev) => { onLoaded(ev.loaded); });
    xhr.addEventListener('load', () => {
      const etag = xhr.getResponseHeader('ETag');
      if (xhr.status >= 200 && xhr.status < 300 && etag) {
        resolve(etag);
        return;
      }
      reject(failureOf(xhr));
    });
    xhr.addEventListener('error', () => { reject(new Error(t('network'))); });
    xhr.addEventListener('timeout', () => { reject(new Error(t('network'))); });
    xhr.addEventListener('abort', () => { reject(aborted()); });
    xhr.send(blob);
  });
}

/** Resolves once stored; rejects with what went wrong (`aborted` set when removed). */
export function sendBytes(entry, upload, announce) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    entry.xhr = xhr;
    entry.state = 'uploading';
    setStatus(entry, t('uploading'));
    announce(t('start_upload', { name: entry.name }));
    xhr.open(upload.method || 'PUT', upload.url, true);
    setHeaders(xhr, upload.headers || {});
    xhr.upload.addEventListener('progress', (ev) => {
      if (ev.lengthComputable) {
        showProgress(entry, Math.floor((ev.loaded / ev.total) * 100));
      }
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        showProgress(entry, 100);
        resolve();
        return;
      }
      reject(failureOf(xhr));
    });
    xhr.addEventListener('error', () => { reject(new Error(t('network'))); });
    xhr.addEventListener('timeout', () => { reject(new Error(t('network'))); });
    xhr.addEventListener('abort', () => { reject(aborted()); });
    xhr.send(entry.file);
  });
}
