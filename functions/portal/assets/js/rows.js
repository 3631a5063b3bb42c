/* A file's row in the list: its name and size, status, progress bar, error and remove button.
   An entry is the row and what is known of the file: {el, name, size, id, sha256, state, ...}
   where state is waiting, hashing, announcing, uploading, done or error. */
import { detach, el } from './dom.js';
import { humanSize, t } from './texts.js';

let counter = 0;

export function setStatus(entry, text) {
  entry.statusEl.textContent = text;
}

export function makeRemoveButton(name) {
  const button = el('button', { type: 'button', className: 'button-secondary file-remove' }, t('remove'));
  button.appendChild(el('span', { className: 'visually-hidden' }, ' ' + name));
  return button;
}

function progressOf(entry, name) {
  counter += 1;
  const progressId = 'upload-progress-' + counter;
  const wrap = el('div', { className: 'file-progress' });
  const label = el('label', { 'for': progressId });
  label.appendChild(el('span', { className: 'visually-hidden' }, t('progress', { name: name }) + ': '));
  entry.pctEl = el('span', { className: 'pct' }, '0%');
  label.appendChild(entry.pctEl);
  entry.progressBar = el('progress', { id: progressId, max: '100', value: '0' });
  wrap.appendChild(label);
  wrap.appendChild(entry.progressBar);
  return wrap;
}

/** A new row for a chosen file, waiting its turn; the caller puts entry.el in the list. */
export function newEntry(file) {
  const entry = {
    file: file,
    name: file.name,
    size: file.size,
    id: null,
    sha256: null,
    state: 'waiting',
    removed: false
  };
  const li = el('li', { className: 'file' });
  const main = el('div', { className: 'file-main' });
  main.appendChild(el('span', { className: 'file-name' }, file.name));
  main.appendChild(document.createTextNode(' '));
  main.appendChild(el('span', { className: 'file-size' }, humanSize(file.size)));
  li.appendChild(main);
  entry.statusEl = el('p', { className: 'file-status' }, t('waiting'));
  li.appendChild(entry.statusEl);
  entry.progressEl = progressOf(entry, file.name);
  li.appendChild(entry.progressEl);
  entry.removeButton = makeRemoveButton(file.name);
  li.appendChild(entry.removeButton);
  entry.el = li;
  return entry;
}

/** The entry of a row the server rendered: a file staged earlier through this link. */
export function entryOfRow(li) {
  const entry = {
    el: li,
    id: li.getAttribute('data-upload-id'),
    name: li.getAttribute('data-filename') || '',
    size: Number(li.getAttribute('data-size')) || 0,
    sha256: li.getAttribute('data-sha256') || null,
    state: li.hasAttribute('data-incomplete') ? 'incomplete' : 'done',
    inParts: li.hasAttribute('data-incomplete'),
    statusEl: li.querySelector('.file-status') || el('p', { className: 'file-status' }),
    removeButton: li.querySelector('.file-remove')
  };
  if (entry.state === 'done') {
    li.classList.add('is-done');
  }
  if (!entry.removeButton) {
    entry.removeButton = makeRemoveButton(entry.name);
    li.appendChild(entry.removeButton);
  }
  return entry;
}

function dropProgress(entry) {
  if (entry.progressEl && entry.progressEl.parentNode) {
    detach(entry.progressEl);
    entry.progressEl = null;
  }
}

/** Shows the progress of the bytes sent, in percent. */
export function showProgress(entry, pct) {
  if (entry.progressBar) {
    entry.progressBar.value = pct;
    entry.pctEl.textContent = pct + '%';
  }
}

export function showDone(entry) {
  entry.el.classList.add('is-done');
  dropProgress(entry);
  setStatus(entry, t('ready'));
}

/** A stopped row made ready to upload again: no error, a fresh progress bar. */
export function resetRow(entry) {
  entry.el.classList.remove('is-error', 'is-done');
  if (entry.errorEl) {
    detach(entry.errorEl);
    entry.errorEl = null;
  }
  if (!entry.progressEl) {
    entry.progressEl = progressOf(entry, entry.name);
    entry.el.insertBefore(entry.progressEl, entry.removeButton);
  }
}

export function showRowError(entry, message) {
  entry.state = 'error';
  entry.el.classList.remove('is-done');
  entry.el.classList.add('is-error');
  dropProgress(entry);
  entry.statusEl.textContent = '';
  if (!entry.errorEl) {
    entry.errorEl = el('p', { className: 'file-error', role: 'alert' });
    entry.el.insertBefore(entry.errorEl, entry.removeButton);
  }
  entry.errorEl.textContent = message;
}
