/* The staff console's scripts. Publishing a document: the file's SHA-256 is computed while it is
   read, the console announces it and answers a signed upload URL (the same path as the
   portal's), the bytes go there, then the publish form is posted. The mail text editor's live
   preview: as the administrator types, the text is rendered with sample values (or its
   mistakes shown at their lines) and the HTML part is shown in a sandboxed frame. Every text
   comes from the forms' data attributes, rendered by the server in the page's language. */
import { sha256Of } from './hash.js';
import { setHeaders } from './send.js';

function fill(text, vars) {
  return String(text || '').replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

function detailOf(res) {
  return res.json().then(
    (body) => (body && (body.detail || body.title)) || String(res.status),
    () => String(res.status)
  );
}

function post(url, form, extra) {
  const body = new URLSearchParams();
  new FormData(form).forEach((value, name) => {
    if (typeof value === 'string') {
      body.append(name, value);
    }
  });
  Object.keys(extra || {}).forEach((name) => { body.set(name, extra[name]); });
  return fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
    body: body
  });
}

function putFile(upload, file, onPercent) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(upload.method || 'PUT', upload.url, true);
    setHeaders(xhr, upload.headers || {});
    xhr.upload.addEventListener('progress', (ev) => {
      if (ev.lengthComputable) {
        onPercent(Math.floor((ev.loaded / ev.total) * 100));
      }
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve();
      } else {
        reject(new Error(String(xhr.status)));
      }
    });
    xhr.addEventListener('error', () => { reject(new Error('network')); });
    xhr.send(file);
  });
}

function wirePublish(form) {
  const input = document.getElementById('publish-file');
  const status = document.getElementById('publish-status');
  const error = document.getElementById('publish-error');
  const button = document.getElementById('publish-button');
  if (!input || !status || !error || !button) {
    return;
  }
  const text = (name) => form.getAttribute('data-' + name) || '';
  let busy = false;
  const fail = (message) => {
    busy = false;
    button.disabled = false;
    status.textContent = '';
    error.textContent = message;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (busy) {
      return;
    }
    const file = input.files && input.files[0];
    if (!file) {
      fail(text('no-file'));
      return;
    }
    busy = true;
    button.disabled = true;
    error.textContent = '';
    input.removeAttribute('aria-invalid');
    status.textContent = text('hashing');
    sha256Of(file)
      .then((sha256) => post(form.getAttribute('data-stage-url'), form, {
        filename: file.name,
        content_type: file.type || 'application/octet-stream',
        size: String(file.size),
        sha256: sha256
      }))
      .then((res) => {
        if (!res.ok) {
          return detailOf(res).then((detail) => { throw new Error(detail); });
        }
        return res.json();
      })
      .then((draft) => {
        status.textContent = fill(text('uploading'), { pct: 0 });
        return putFile(draft.upload, file, (pct) => {
          status.textContent = fill(text('uploading'), { pct: pct });
        }).then(
          () => draft,
          () => { throw new Error(text('failed')); }
        );
      })
      .then((draft) => {
        status.textContent = text('publishing');
        // The form itself posts the publication: the answer is the dossier page again.
        form.setAttribute('action', form.getAttribute('data-publish-url').replace('{id}', draft.id));
        input.disabled = true;
        HTMLFormElement.prototype.submit.call(form);
      })
      .catch((e) => { fail(e && e.message ? e.message : text('failed')); });
  });
  button.disabled = false;
}

// ------------------------------------------------------------------ the mail text editor

const PARTS = ['subject', 'text', 'html'];

function showMistakes(form, result) {
  PARTS.forEach((part) => {
    const field = document.getElementById('t-' + part);
    const box = document.getElementById('t-' + part + '-error');
    if (!field || !box) {
      return;
    }
    const mistakes = (result.parts && result.parts[part]) || [];
    box.textContent = '';
    mistakes.forEach((m) => {
      const p = document.createElement('p');
      p.textContent = m;
      box.appendChild(p);
    });
    if (mistakes.length) {
      field.setAttribute('aria-invalid', 'true');
    } else {
      field.removeAttribute('aria-invalid');
    }
  });
  const other = document.getElementById('live-other');
  if (other) {
    other.textContent = result.other || '';
  }
}

function wireEditor(form) {
  const subject = document.getElementById('preview-subject');
  const body = document.getElementById('preview-text');
  const state = document.getElementById('live-state');
  const frame = document.getElementById('preview-html');
  const url = form.getAttribute('data-preview-url');
  const htmlUrl = form.getAttribute('data-preview-html-url');
  if (!subject || !body || !state || !url) {
    return;
  }
  let timer = null;
  let sent = 0;
  const showHtml = () => {
    if (!frame || !htmlUrl) {
      return;
    }
    // The HTML part renders in the sandboxed frame: the form posts itself there, unchanged.
    // The frame is busy until the rendered mail has loaded.
    frame.setAttribute('aria-busy', 'true');
    const action = form.getAttribute('action');
    form.setAttribute('action', htmlUrl);
    form.setAttribute('target', frame.getAttribute('name'));
    HTMLFormElement.prototype.submit.call(form);
    form.setAttribute('action', action);
    form.removeAttribute('target');
  };
  const refresh = () => {
    const mine = ++sent;
    post(url, form, {})
      .then((res) => (res.ok ? res.json() : detailOf(res).then((d) => { throw new Error(d); })))
      .then((result) => {
        if (mine !== sent) {
          return;
        }
        showMistakes(form, result);
        if (result.valid) {
          subject.textContent = result.subject;
          body.textContent = result.text;
          state.textContent = form.getAttribute('data-live-current');
          showHtml();
        } else {
          state.textContent = form.getAttribute('data-live-mistakes');
        }
      })
      .catch((e) => {
        if (mine === sent) {
          state.textContent = e && e.message ? e.message : '';
        }
      });
  };
  if (frame) {
    frame.addEventListener('load', () => { frame.removeAttribute('aria-busy'); });
  }
  form.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
  // A page showing unsaved changes (a preview without script, a refused save): the frame
  // shows the saved text until it is sent these.
  if (form.getAttribute('data-unsaved') === 'true') {
    showHtml();
  }
}

/** Wires whatever console form the page has. */
export function wireStaff() {
  const publish = document.getElementById('publish');
  if (publish) {
    wirePublish(publish);
  }
  const editor = document.getElementById('text-form');
  if (editor) {
    wireEditor(editor);
  }
}
