/* Checking the delivery form before it is sent: the errors show at their fields. */
import { t } from './texts.js';

const EMAIL = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;".]+$/;

function setFieldError(field, message) {
  const errorEl = document.getElementById(field.id + '-error');
  const hintId = field.id + '-hint';
  const hint = document.getElementById(hintId) ? hintId : '';
  if (message) {
    errorEl.textContent = message;
    errorEl.hidden = false;
    field.setAttribute('aria-invalid', 'true');
    field.setAttribute('aria-describedby', (errorEl.id + ' ' + hint).trim());
  } else {
    errorEl.textContent = '';
    errorEl.hidden = true;
    field.removeAttribute('aria-invalid');
    if (hint) {
      field.setAttribute('aria-describedby', hint);
    } else {
      field.removeAttribute('aria-describedby');
    }
  }
}

export function clearFilesError(ui) {
  if (ui.filesError) {
    ui.filesError.textContent = '';
    ui.filesError.hidden = true;
  }
  ui.pick.setAttribute('aria-describedby', 'dropzone-text upload-rules');
}

function setFilesError(ui, message) {
  if (ui.filesError) {
    ui.filesError.textContent = message;
    ui.filesError.hidden = false;
    ui.pick.setAttribute('aria-describedby', 'files-error dropzone-text upload-rules');
  }
}

// The message for the e-mail address, or '' when it will do.
function emailProblem(email) {
  if (!email) {
    return t('need_email');
  }
  return EMAIL.test(email) ? '' : t('bad_email');
}

/** {ok, first: the first field in error, ready: the files to send, name, email}. */
export function validate(ui, files) {
  let firstInvalid = null;
  clearFilesError(ui);
  const ready = files.ready();
  if (files.busy()) {
    setFilesError(ui, t('still_uploading'));
    firstInvalid = ui.pick;
  } else if (ready.length === 0) {
    setFilesError(ui, t('need_file'));
    firstInvalid = ui.pick;
  }
  const name = ui.nameInput.value.trim();
  setFieldError(ui.nameInput, name ? '' : t('need_name'));
  if (!name) {
    firstInvalid = firstInvalid || ui.nameInput;
  }
  const email = ui.emailInput.value.trim();
  const problem = emailProblem(email);
  setFieldError(ui.emailInput, problem);
  if (problem) {
    firstInvalid = firstInvalid || ui.emailInput;
  }
  return { ok: !firstInvalid, first: firstInvalid, ready: ready, name: name, email: email };
}
