/* Calls to the portal. The page holds no link token: every URL is built from location.pathname
   (/p/{token}). */
import { t } from './texts.js';

/** /p/{token}, without a trailing slash; never includes the query or fragment. */
export const base = location.pathname.replace(/\/+$/, '');

function readBody(response) {
  return response.text().then((text) => {
    let body = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch (e) {
        body = null;
      }
    }
    return { status: response.status, body: body };
  });
}

/** Resolves to {status, body}; rejects (with the network text) only when the call fails. */
export function api(method, url, payload) {
  const init = {
    method: method,
    credentials: 'same-origin',
    cache: 'no-store',
    headers: {
      'Content-Type': 'application/json',
      'X-Portaal-Client': '1',
      'Accept': 'application/json, application/problem+json'
    }
  };
  if (payload !== undefined) {
    init.body = JSON.stringify(payload);
  }
  return fetch(url, init).then(readBody, () => {
    throw new Error(t('network'));
  });
}

/** What a problem response says, or the status. */
export function problemText(res) {
  const b = res.body;
  if (b && typeof b.detail === 'string' && b.detail) {
    return b.detail;
  }
  if (b && typeof b.title === 'string' && b.title) {
    return b.title;
  }
  return t('http_error', { status: res.status });
}

export function deleteUpload(id) {
  return api('DELETE', base + '/uploads/' + encodeURIComponent(id));
}
