/* The files of the delivery form: the rows, the queue of uploads (a few at a time) and removing
   a file, on the page and on the server. */
import { deleteUpload, problemText } from './api.js';
import { detach } from './dom.js';
import { entryOfRow, newEntry, resetRow, setStatus, showDone, showRowError } from './rows.js';
import { contentTypeOf } from './types.js';
import { humanSize, t } from './texts.js';
import { upload } from './upload.js';

const CONCURRENCY = 3;
const BUSY = ['waiting', 'hashing', 'announcing', 'uploading'];

export class Files {
  /** `ui`: the form's elements; `rules`: {maxBytes, maxFiles, allowed}; `announce(text)`. */
  constructor(ui, rules, announce) {
    this.ui = ui;
    this.rules = rules;
    this.announce = announce;
    this.entries = [];
    this.queue = [];
    this.running = 0;
    // Rows the server rendered: files staged earlier through this link.
    ui.list.querySelectorAll('li[data-upload-id]').forEach((li) => {
      this.track(entryOfRow(li));
    });
  }

  track(entry) {
    entry.removeButton.addEventListener('click', () => { this.remove(entry); });
    this.entries.push(entry);
  }

  active() {
    return this.entries.filter((e) => e.state !== 'error');
  }

  busy() {
    return this.entries.some((e) => BUSY.indexOf(e.state) !== -1);
  }

  /** The files uploaded and not yet sent. */
  ready() {
    return this.entries.filter((e) => e.state === 'done' && e.id);
  }

  updateEmpty() {
    if (this.ui.empty) {
      this.ui.empty.hidden = this.entries.length > 0;
    }
  }

  /** Takes the rows of `sent` off the list. */
  forget(sent) {
    sent.forEach((e) => detach(e.el));
    this.entries = this.entries.filter((e) => sent.indexOf(e) === -1);
    this.updateEmpty();
  }

  removeRow(entry) {
    const i = this.entries.indexOf(entry);
    if (i !== -1) {
      this.entries.splice(i, 1);
    }
    detach(entry.el);
    this.updateEmpty();
  }

  // The row of an upload in parts that stopped, for this file (same name and size): choosing the
  // file again resumes it there (the portal checks part 1 is the same).
  unfinished(file) {
    return this.entries.filter((e) => (e.state === 'incomplete' || (e.state === 'error' && e.inParts && e.id)) &&
      e.name === file.name && e.size === file.size)[0] || null;
  }

  /** A row for each file; the ones the rules allow join the queue. */
  add(fileList) {
    Array.from(fileList || []).forEach((file) => {
      const stopped = this.unfinished(file);
      if (stopped) {
        this.resume(stopped, file);
        return;
      }
      const count = this.active().length;
      const entry = newEntry(file);
      this.track(entry);
      this.ui.list.appendChild(entry.el);
      this.updateEmpty();
      const problem = this.check(file, count);
      if (problem) {
        showRowError(entry, problem);
        return;
      }
      entry.contentType = contentTypeOf(file, this.rules.allowed);
      if (this.rules.allowed.length && this.rules.allowed.indexOf(entry.contentType) === -1) {
        showRowError(entry, t('type_not_allowed'));
        return;
      }
      this.queue.push(entry);
    });
    this.pump();
  }

  resume(entry, file) {
    resetRow(entry);
    entry.file = file;
    entry.contentType = contentTypeOf(file, this.rules.allowed);
    entry.state = 'waiting';
    setStatus(entry, t('waiting'));
    this.queue.push(entry);
  }

  // What keeps a file out, given `count` files already on the list; null when nothing does.
  check(file, count) {
    const { maxBytes, maxFiles } = this.rules;
    if (maxFiles && count >= maxFiles) {
      return t('too_many', { max: maxFiles });
    }
    if (file.size === 0) {
      return t('empty');
    }
    if (maxBytes && file.size > maxBytes) {
      return t('too_large', { max: humanSize(maxBytes) });
    }
    return null;
  }

  pump() {
    const done = () => {
      this.running -= 1;
      this.pump();
    };
    while (this.running < CONCURRENCY && this.queue.length) {
      const entry = this.queue.shift();
      if (entry.removed) {
        continue;
      }
      this.running += 1;
      this.process(entry).then(done, done);
    }
  }

  process(entry) {
    return upload(entry, this.announce, this.rules.partThreshold).then(() => {
      if (entry.removed || entry.state === 'error') {
        return;
      }
      entry.state = 'done';
      entry.xhr = null;
      showDone(entry);
      this.announce(t('uploaded', { name: entry.name }));
      entry.file = null;
    }).catch((err) => {
      entry.xhr = null;
      if (err && err.aborted) {
        return;
      }
      this.fail(entry, (err && err.message) || t('network'));
    });
  }

  // Shows the problem in the row and drops the staged upload on the server.
  fail(entry, message) {
    if (entry.removed) {
      return;
    }
    showRowError(entry, t('failed', { name: entry.name, detail: message }));
    this.announce(t('failed', { name: entry.name, detail: message }));
    if (entry.id && !entry.inParts) {
      const id = entry.id;
      entry.id = null;
      deleteUpload(id).catch(() => { /* the server expires abandoned uploads */ });
    }
  }

  remove(entry) {
    entry.removed = true;
    if (entry.xhr) {
      entry.xhr.abort();
    }
    if (!entry.id || entry.state === 'error') {
      this.removeRow(entry);
      this.announce(t('removed', { name: entry.name }));
      return;
    }
    entry.removeButton.disabled = true;
    setStatus(entry, t('removing'));
    const keep = (message) => {
      entry.removed = false;
      entry.removeButton.disabled = false;
      setStatus(entry, '');
      showRowError(entry, message);
    };
    deleteUpload(entry.id).then((res) => {
      if (res.status === 204 || res.status === 200 || res.status === 404) {
        this.removeRow(entry);
        this.announce(t('removed', { name: entry.name }));
        return;
      }
      keep(problemText(res));
    }, (err) => keep(err.message));
  }
}
