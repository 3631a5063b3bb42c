/* Portaal: the portal page's behaviour. Vanilla ES modules, no third-party code, no eval, no
   inline handlers (strict CSP). The page holds no link token: every URL is built from
   location.pathname (/p/{token}); the texts and content types come from the page's data block. */
import { wireDelivery } from './deliver.js';
import { Files } from './files.js';
import { wireDocumentLinks } from './links.js';
import { wirePicker } from './picker.js';
import { wireStaff } from './staff.js';
import { t } from './texts.js';
import { clearFilesError } from './validate.js';

function elementsOf(form) {
  const byId = (id) => document.getElementById(id);
  return {
    form: form,
    input: byId('file-input'),
    pick: byId('pick-files'),
    drop: byId('dropzone'),
    list: byId('file-list'),
    empty: byId('file-empty'),
    status: byId('upload-status'),
    filesError: byId('files-error'),
    formError: byId('form-error'),
    confirmButton: byId('confirm'),
    result: byId('delivery-result'),
    comment: byId('comment'),
    nameInput: byId('submitter-name'),
    emailInput: byId('submitter-email')
  };
}

function rulesOf(form) {
  return {
    maxBytes: Number(form.getAttribute('data-max-bytes')) || 0,
    partThreshold: Number(form.getAttribute('data-part-threshold')) || 0,
    maxFiles: Number(form.getAttribute('data-max-files')) || 0,
    allowed: (form.getAttribute('data-allowed-types') || '').split(',').filter(Boolean)
  };
}

function initForm(form) {
  const ui = elementsOf(form);
  if (!ui.input || !ui.pick || !ui.list || !ui.confirmButton) {
    return;
  }
  const announce = (message) => {
    if (ui.status) {
      ui.status.textContent = message;
    }
  };
  const state = { ui: ui, announce: announce, sending: false };
  state.files = new Files(ui, rulesOf(form), announce);
  wirePicker(ui, (fileList) => {
    if (state.sending) {
      return;
    }
    clearFilesError(ui);
    state.files.add(fileList);
  });
  window.addEventListener('beforeunload', (ev) => {
    if (state.files.busy()) {
      ev.preventDefault();
      ev.returnValue = t('leave');
      return t('leave');
    }
    return undefined;
  });
  wireDelivery(state);
  // The button stays disabled in the HTML until this script runs.
  ui.confirmButton.disabled = false;
  state.files.updateEmpty();
}

function init() {
  wireDocumentLinks(document);
  if (window.fetch && window.Promise) {
    wireStaff();
  }
  const form = document.getElementById('delivery-form');
  if (form && window.fetch && window.Promise) {
    initForm(form);
  }
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', init);
} else {
  init();
}
