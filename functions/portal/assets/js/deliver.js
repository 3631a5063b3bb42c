/* Confirming the delivery: the form's submit sends the uploaded files (POST deliveries) and shows
   what the portal received. */
import { api, base, problemText } from './api.js';
import { el } from './dom.js';
import { refreshSections } from './refresh.js';
import { humanSize, t } from './texts.js';
import { validate } from './validate.js';

function documentItem(d) {
  const li = el('li');
  li.appendChild(el('strong', null, d.filename || ''));
  li.appendChild(document.createTextNode(' (' + humanSize(Number(d.size) || 0) + ') SHA-256: '));
  li.appendChild(el('code', null, d.sha256 || t('unknown_sha')));
  return li;
}

function showSuccess(ui, res, ready) {
  const delivery = res.body || {};
  const docs = Array.isArray(delivery.documents) && delivery.documents.length
    ? delivery.documents
    : ready.map((e) => ({ filename: e.name, size: e.size, sha256: e.sha256 }));
  ui.result.textContent = '';
  const box = el('div', { className: 'result-box', tabindex: '-1', id: 'delivery-success' });
  box.appendChild(el('h3', null, t('sent_title')));
  box.appendChild(el('p', null, res.status === 200 ? t('sent_once') : t('sent_text')));
  const ul = el('ul');
  docs.forEach((d) => { ul.appendChild(documentItem(d)); });
  box.appendChild(ul);
  ui.result.appendChild(box);
  box.focus();
}

function setSending(state, sending) {
  const { ui } = state;
  state.sending = sending;
  ui.confirmButton.disabled = sending;
  if (sending) {
    ui.confirmButton.setAttribute('aria-busy', 'true');
  } else {
    ui.confirmButton.removeAttribute('aria-busy');
  }
  ui.pick.disabled = sending;
}

function send(state, v) {
  const { ui, files } = state;
  setSending(state, true);
  state.announce(t('sending'));
  const payload = {
    uploads: v.ready.map((e) => e.id),
    comment: ui.comment ? ui.comment.value.trim() : '',
    submitted_by: { name: v.name, email: v.email }
  };
  api('POST', base + '/deliveries', payload).then((res) => {
    if (res.status !== 201 && res.status !== 200) {
      throw new Error(problemText(res));
    }
    state.announce('');
    showSuccess(ui, res, v.ready);
    files.forget(v.ready);
    if (ui.comment) {
      ui.comment.value = '';
    }
    refreshSections();
  }).catch((err) => {
    state.announce('');
    ui.formError.textContent = (err && err.message) || t('network');
  }).then(() => {
    setSending(state, false);
  });
}

/** `state`: {ui, files, announce, sending}. */
export function wireDelivery(state) {
  const { ui } = state;
  ui.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (state.sending) {
      return;
    }
    ui.formError.textContent = '';
    const v = validate(ui, state.files);
    if (!v.ok) {
      ui.formError.textContent = t('check_fields');
      if (v.first) {
        v.first.focus();
      }
      return;
    }
    send(state, v);
  });
}
