/* Portaal: the portal page's behaviour. Vanilla, no modules, no third-party code, no eval, no
   inline handlers (strict CSP). The page holds no link token: every URL is built from
   location.pathname (/p/{token}). */
(function () {
  'use strict';

  var TEXT = {
    nl: {
      hashing: 'Vingerafdruk (SHA-256) berekenen…',
      announcing: 'Voorbereiden…',
      waiting: 'Wacht op de beurt…',
      uploading: 'Uploaden…',
      progress: 'Voortgang {name}',
      ready: 'Klaar om te versturen',
      remove: 'Verwijderen',
      removing: 'Verwijderen…',
      removed: '{name} is verwijderd.',
      startUpload: 'Bezig met uploaden van {name}.',
      uploaded: '{name} is geüpload.',
      failed: '{name} kon niet worden geüpload: {detail}',
      tooLarge: 'Het bestand is te groot: maximaal {max} per bestand.',
      empty: 'Het bestand is leeg.',
      typeNotAllowed: 'Dit bestandstype is niet toegestaan.',
      tooMany: 'U kunt maximaal {max} bestanden tegelijk versturen.',
      network: 'Geen verbinding met de server. Controleer uw netwerk en probeer het opnieuw.',
      httpError: 'De server gaf een fout (status {status}).',
      storageError: 'Het opslaan van het bestand mislukte (status {status}).',
      needFile: 'Voeg ten minste één bestand toe.',
      stillUploading: 'Wacht tot alle bestanden zijn geüpload.',
      needName: 'Vul uw naam in.',
      needEmail: 'Vul uw e-mailadres in.',
      badEmail: 'Vul een geldig e-mailadres in, bijvoorbeeld naam@organisatie.nl.',
      checkFields: 'Controleer de gemarkeerde velden.',
      sending: 'Bezig met versturen…',
      sentTitle: 'Verstuurd',
      sentText: 'Uw stukken zijn verstuurd. De behandelaar heeft een melding gekregen. Hieronder staat wat wij ontvingen; een adres van de organisatie krijgt dit ook per e-mail. De SHA-256 is de vingerafdruk van wat wij ontvingen.',
      sentOnce: 'Deze stukken waren al verstuurd.',
      unknownSha: 'onbekend',
      leave: 'Er worden nog bestanden geüpload.'
    },
    en: {
      hashing: 'Computing fingerprint (SHA-256)…',
      announcing: 'Preparing…',
      waiting: 'Waiting…',
      uploading: 'Uploading…',
      progress: 'Progress of {name}',
      ready: 'Ready to send',
      remove: 'Remove',
      removing: 'Removing…',
      removed: '{name} was removed.',
      startUpload: 'Uploading {name}.',
      uploaded: '{name} has been uploaded.',
      failed: '{name} could not be uploaded: {detail}',
      tooLarge: 'The file is too large: at most {max} per file.',
      empty: 'The file is empty.',
      typeNotAllowed: 'This file type is not allowed.',
      tooMany: 'You can send at most {max} files at a time.',
      network: 'No connection to the server. Check your network and try again.',
      httpError: 'The server answered with an error (status {status}).',
      storageError: 'Storing the file failed (status {status}).',
      needFile: 'Add at least one file.',
      stillUploading: 'Wait until all files have been uploaded.',
      needName: 'Fill in your name.',
      needEmail: 'Fill in your e-mail address.',
      badEmail: 'Fill in a valid e-mail address, for example name@organisation.nl.',
      checkFields: 'Check the marked fields.',
      sending: 'Sending…',
      sentTitle: 'Sent',
      sentText: 'Your documents have been sent. The case handler has been notified. Below is what we received; an address of the organisation also gets this by e-mail. The SHA-256 is the fingerprint of what we received.',
      sentOnce: 'These documents had already been sent.',
      unknownSha: 'unknown',
      leave: 'Files are still being uploaded.'
    }
  };

  var lang = /^en/i.test(document.documentElement.lang || '') ? 'en' : 'nl';

  function t(key, vars) {
    var s = TEXT[lang][key] || TEXT.nl[key] || key;
    if (vars) {
      Object.keys(vars).forEach(function (k) {
        s = s.split('{' + k + '}').join(String(vars[k]));
      });
    }
    return s;
  }

  // /p/{token}, without a trailing slash; never includes the query or fragment.
  var base = location.pathname.replace(/\/+$/, '');

  var CONTENT_TYPES = {
    pdf: 'application/pdf',
    doc: 'application/msword',
    docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    xls: 'application/vnd.ms-excel',
    xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    odt: 'application/vnd.oasis.opendocument.text',
    ods: 'application/vnd.oasis.opendocument.spreadsheet',
    txt: 'text/plain',
    csv: 'text/csv',
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    tif: 'image/tiff',
    tiff: 'image/tiff',
    eml: 'message/rfc822',
    msg: 'application/vnd.ms-outlook'
  };

  // Headers a browser refuses to set; it sets Content-Length and Host itself.
  var FORBIDDEN_HEADERS = ['content-length', 'host', 'connection', 'keep-alive', 'expect', 'te', 'trailer',
    'transfer-encoding', 'upgrade', 'via', 'date', 'cookie', 'origin', 'referer', 'accept-encoding',
    'accept-charset'];

  function humanSize(bytes) {
    if (bytes < 1024) {
      return bytes === 1 ? '1 byte' : bytes + ' bytes';
    }
    var units = ['kB', 'MB', 'GB', 'TB'];
    var value = bytes / 1024;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    var s = value >= 100 || (value >= 10 && value % 1 < 0.05) ? value.toFixed(0) : value.toFixed(1);
    s = s.replace(/\.0$/, '');
    if (lang === 'nl') {
      s = s.replace('.', ',');
    }
    return s + ' ' + units[unit];
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === 'className') {
          node.className = attrs[k];
        } else {
          node.setAttribute(k, attrs[k]);
        }
      });
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  /* ---------------------------------------------------------------- document links */

  // Relative hrefs would resolve against /p/ (no trailing slash), so they are built here.
  function wireDocumentLinks(root) {
    var links = root.querySelectorAll('a[data-document-id]');
    Array.prototype.forEach.call(links, function (a) {
      var id = a.getAttribute('data-document-id');
      if (id) {
        a.setAttribute('href', base + '/documents/' + encodeURIComponent(id));
      }
    });
  }

  /* ---------------------------------------------------------------- calls to the portal */

  function readBody(response) {
    return response.text().then(function (text) {
      var body = null;
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

  function api(method, url, payload) {
    var init = {
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
    return fetch(url, init).then(readBody, function () {
      throw new Error(t('network'));
    });
  }

  function problemText(res) {
    var b = res.body;
    if (b && typeof b.detail === 'string' && b.detail) {
      return b.detail;
    }
    if (b && typeof b.title === 'string' && b.title) {
      return b.title;
    }
    return t('httpError', { status: res.status });
  }

  function deleteUpload(id) {
    return api('DELETE', base + '/uploads/' + encodeURIComponent(id));
  }

  /* ---------------------------------------------------------------- hashing and types */

  function toHex(buffer) {
    var bytes = new Uint8Array(buffer);
    var out = '';
    for (var i = 0; i < bytes.length; i++) {
      out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    }
    return out;
  }

  function readAll(file) {
    if (file.arrayBuffer) {
      return file.arrayBuffer();
    }
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsArrayBuffer(file);
    });
  }

  // SHA-256 of the file's bytes, or null where Web Crypto is missing (plain-http pages).
  function sha256Of(file) {
    var subtle = window.crypto && window.crypto.subtle;
    if (!subtle || !subtle.digest) {
      return Promise.resolve(null);
    }
    return readAll(file)
      .then(function (buffer) { return subtle.digest('SHA-256', buffer); })
      .then(toHex, function () { return null; });
  }

  function extensionOf(name) {
    var m = /\.([A-Za-z0-9]+)$/.exec(name || '');
    return m ? m[1].toLowerCase() : '';
  }

  // The browser's type when the portal accepts it; else the type its extension implies.
  function contentTypeOf(file, allowed) {
    var byExt = CONTENT_TYPES[extensionOf(file.name)];
    var given = (file.type || '').toLowerCase();
    if (given && (allowed.length === 0 || allowed.indexOf(given) !== -1)) {
      return given;
    }
    return byExt || given || 'application/octet-stream';
  }

  /* ---------------------------------------------------------------- the delivery form */

  function initForm(form) {
    var maxBytes = Number(form.getAttribute('data-max-bytes')) || 0;
    var maxFiles = Number(form.getAttribute('data-max-files')) || 0;
    var allowed = (form.getAttribute('data-allowed-types') || '').split(',').filter(Boolean);
    var input = document.getElementById('file-input');
    var pick = document.getElementById('pick-files');
    var drop = document.getElementById('dropzone');
    var list = document.getElementById('file-list');
    var empty = document.getElementById('file-empty');
    var status = document.getElementById('upload-status');
    var filesError = document.getElementById('files-error');
    var formError = document.getElementById('form-error');
    var confirmButton = document.getElementById('confirm');
    var result = document.getElementById('delivery-result');
    var comment = document.getElementById('comment');
    var nameInput = document.getElementById('submitter-name');
    var emailInput = document.getElementById('submitter-email');
    if (!input || !pick || !list || !confirmButton) {
      return;
    }

    var entries = [];
    var queue = [];
    var running = 0;
    var CONCURRENCY = 3;
    var sending = false;
    var counter = 0;

    function announce(message) {
      if (status) {
        status.textContent = message;
      }
    }

    function active() {
      return entries.filter(function (e) { return e.state !== 'error'; });
    }

    function busy() {
      return entries.some(function (e) {
        return e.state === 'waiting' || e.state === 'hashing' || e.state === 'announcing' || e.state === 'uploading';
      });
    }

    function updateEmpty() {
      if (empty) {
        empty.hidden = entries.length > 0;
      }
    }

    function setStatus(entry, text) {
      entry.statusEl.textContent = text;
    }

    function removeRow(entry) {
      var i = entries.indexOf(entry);
      if (i !== -1) {
        entries.splice(i, 1);
      }
      if (entry.el.parentNode) {
        entry.el.parentNode.removeChild(entry.el);
      }
      updateEmpty();
    }

    function showRowError(entry, message) {
      entry.state = 'error';
      entry.el.classList.remove('is-done');
      entry.el.classList.add('is-error');
      if (entry.progressEl && entry.progressEl.parentNode) {
        entry.progressEl.parentNode.removeChild(entry.progressEl);
        entry.progressEl = null;
      }
      entry.statusEl.textContent = '';
      if (!entry.errorEl) {
        entry.errorEl = el('p', { className: 'file-error', role: 'alert' });
        entry.el.insertBefore(entry.errorEl, entry.removeButton);
      }
      entry.errorEl.textContent = message;
    }

    // Shows the problem in the row and drops the staged upload on the server.
    function fail(entry, message) {
      if (entry.removed) {
        return;
      }
      showRowError(entry, t('failed', { name: entry.name, detail: message }));
      announce(t('failed', { name: entry.name, detail: message }));
      if (entry.id) {
        var id = entry.id;
        entry.id = null;
        deleteUpload(id).catch(function () { /* the server expires abandoned uploads */ });
      }
    }

    function onRemove(entry) {
      entry.removed = true;
      if (entry.xhr) {
        entry.xhr.abort();
      }
      if (!entry.id || entry.state === 'error') {
        removeRow(entry);
        announce(t('removed', { name: entry.name }));
        return;
      }
      entry.removeButton.disabled = true;
      setStatus(entry, t('removing'));
      deleteUpload(entry.id).then(function (res) {
        if (res.status === 204 || res.status === 200 || res.status === 404) {
          removeRow(entry);
          announce(t('removed', { name: entry.name }));
          return;
        }
        entry.removed = false;
        entry.removeButton.disabled = false;
        setStatus(entry, '');
        showRowError(entry, problemText(res));
      }, function (err) {
        entry.removed = false;
        entry.removeButton.disabled = false;
        setStatus(entry, '');
        showRowError(entry, err.message);
      });
    }

    function makeRemoveButton(entry) {
      var button = el('button', { type: 'button', className: 'button-secondary file-remove' }, t('remove'));
      button.appendChild(el('span', { className: 'visually-hidden' }, ' ' + entry.name));
      return button;
    }

    // Rows the server rendered: files staged earlier through this link.
    Array.prototype.forEach.call(list.querySelectorAll('li[data-upload-id]'), function (li) {
      var entry = {
        el: li,
        id: li.getAttribute('data-upload-id'),
        name: li.getAttribute('data-filename') || '',
        size: Number(li.getAttribute('data-size')) || 0,
        sha256: li.getAttribute('data-sha256') || null,
        state: 'done',
        statusEl: li.querySelector('.file-status') || el('p', { className: 'file-status' }),
        removeButton: li.querySelector('.file-remove')
      };
      li.classList.add('is-done');
      if (!entry.removeButton) {
        entry.removeButton = makeRemoveButton(entry);
        li.appendChild(entry.removeButton);
      }
      entry.removeButton.addEventListener('click', function () { onRemove(entry); });
      entries.push(entry);
    });

    function addRow(file) {
      counter += 1;
      var entry = {
        file: file,
        name: file.name,
        size: file.size,
        id: null,
        sha256: null,
        state: 'waiting',
        removed: false
      };
      var li = el('li', { className: 'file' });
      var main = el('div', { className: 'file-main' });
      main.appendChild(el('span', { className: 'file-name' }, file.name));
      main.appendChild(document.createTextNode(' '));
      main.appendChild(el('span', { className: 'file-size' }, humanSize(file.size)));
      li.appendChild(main);
      entry.statusEl = el('p', { className: 'file-status' }, t('waiting'));
      li.appendChild(entry.statusEl);
      var progressId = 'upload-progress-' + counter;
      var wrap = el('div', { className: 'file-progress' });
      var label = el('label', { 'for': progressId });
      label.appendChild(el('span', { className: 'visually-hidden' }, t('progress', { name: file.name }) + ': '));
      entry.pctEl = el('span', { className: 'pct' }, '0%');
      label.appendChild(entry.pctEl);
      entry.progressBar = el('progress', { id: progressId, max: '100', value: '0' });
      wrap.appendChild(label);
      wrap.appendChild(entry.progressBar);
      entry.progressEl = wrap;
      li.appendChild(wrap);
      entry.removeButton = makeRemoveButton(entry);
      entry.removeButton.addEventListener('click', function () { onRemove(entry); });
      li.appendChild(entry.removeButton);
      entry.el = li;
      list.appendChild(li);
      entries.push(entry);
      updateEmpty();
      return entry;
    }

    function addFiles(fileList) {
      if (sending) {
        return;
      }
      clearFilesError();
      Array.prototype.forEach.call(fileList || [], function (file) {
        var count = active().length;
        var entry = addRow(file);
        if (maxFiles && count >= maxFiles) {
          showRowError(entry, t('tooMany', { max: maxFiles }));
          return;
        }
        if (file.size === 0) {
          showRowError(entry, t('empty'));
          return;
        }
        if (maxBytes && file.size > maxBytes) {
          showRowError(entry, t('tooLarge', { max: humanSize(maxBytes) }));
          return;
        }
        entry.contentType = contentTypeOf(file, allowed);
        if (allowed.length && allowed.indexOf(entry.contentType) === -1) {
          showRowError(entry, t('typeNotAllowed'));
          return;
        }
        queue.push(entry);
      });
      pump();
    }

    function pump() {
      while (running < CONCURRENCY && queue.length) {
        var entry = queue.shift();
        if (entry.removed) {
          continue;
        }
        running += 1;
        process(entry).then(done, done);
      }
      function done() {
        running -= 1;
        pump();
      }
    }

    function process(entry) {
      entry.state = 'hashing';
      setStatus(entry, t('hashing'));
      return sha256Of(entry.file).then(function (sha) {
        if (entry.removed) {
          return null;
        }
        entry.sha256 = sha;
        entry.state = 'announcing';
        setStatus(entry, t('announcing'));
        var payload = { filename: entry.name, content_type: entry.contentType, size: entry.size };
        if (sha) {
          payload.sha256 = sha;
        }
        return api('POST', base + '/uploads', payload).then(function (res) {
          if (res.status !== 201 && res.status !== 200) {
            throw new Error(problemText(res));
          }
          var body = res.body || {};
          entry.id = body.id || (body.document && body.document.id) || null;
          if (entry.removed) {
            // Removed while being announced: drop it on the server too.
            if (entry.id) {
              deleteUpload(entry.id).catch(function () {});
            }
            return null;
          }
          if (!entry.id || !body.upload || !body.upload.url) {
            throw new Error(t('httpError', { status: res.status }));
          }
          entry.el.setAttribute('data-upload-id', entry.id);
          return sendBytes(entry, body.upload);
        });
      }).then(function () {
        if (entry.removed || entry.state === 'error') {
          return;
        }
        entry.state = 'done';
        entry.xhr = null;
        entry.el.classList.add('is-done');
        if (entry.progressEl && entry.progressEl.parentNode) {
          entry.progressEl.parentNode.removeChild(entry.progressEl);
          entry.progressEl = null;
        }
        setStatus(entry, t('ready'));
        announce(t('uploaded', { name: entry.name }));
        entry.file = null;
      }).catch(function (err) {
        entry.xhr = null;
        if (err && err.aborted) {
          return;
        }
        fail(entry, (err && err.message) || t('network'));
      });
    }

    // Sends the bytes exactly as the server said: its method, URL and headers.
    function sendBytes(entry, upload) {
      return new Promise(function (resolve, reject) {
        var xhr = new XMLHttpRequest();
        entry.xhr = xhr;
        entry.state = 'uploading';
        setStatus(entry, t('uploading'));
        announce(t('startUpload', { name: entry.name }));
        xhr.open(upload.method || 'PUT', upload.url, true);
        var headers = upload.headers || {};
        Object.keys(headers).forEach(function (name) {
          if (FORBIDDEN_HEADERS.indexOf(name.toLowerCase()) !== -1) {
            return;
          }
          try {
            xhr.setRequestHeader(name, headers[name]);
          } catch (e) {
            /* a header the browser will not send: the server's check reports it */
          }
        });
        xhr.upload.addEventListener('progress', function (ev) {
          if (ev.lengthComputable && entry.progressBar) {
            var pct = Math.floor((ev.loaded / ev.total) * 100);
            entry.progressBar.value = pct;
            entry.pctEl.textContent = pct + '%';
          }
        });
        xhr.addEventListener('load', function () {
          if (xhr.status >= 200 && xhr.status < 300) {
            if (entry.progressBar) {
              entry.progressBar.value = 100;
              entry.pctEl.textContent = '100%';
            }
            resolve();
            return;
          }
          var detail = null;
          try {
            var body = JSON.parse(xhr.responseText);
            detail = body && (body.detail || body.title);
          } catch (e) {
            detail = null;
          }
          reject(new Error(detail || t('storageError', { status: xhr.status })));
        });
        xhr.addEventListener('error', function () { reject(new Error(t('network'))); });
        xhr.addEventListener('timeout', function () { reject(new Error(t('network'))); });
        xhr.addEventListener('abort', function () {
          var e = new Error('aborted');
          e.aborted = true;
          reject(e);
        });
        xhr.send(entry.file);
      });
    }

    /* ------------------------------------------------------------ choosing and dropping */

    pick.addEventListener('click', function () {
      input.click();
    });
    input.addEventListener('change', function () {
      addFiles(input.files);
      input.value = '';
    });

    function hasFiles(ev) {
      var types = ev.dataTransfer && ev.dataTransfer.types;
      return !!types && Array.prototype.indexOf.call(types, 'Files') !== -1;
    }

    if (drop) {
      var depth = 0;
      drop.addEventListener('dragenter', function (ev) {
        if (!hasFiles(ev)) {
          return;
        }
        ev.preventDefault();
        depth += 1;
        drop.classList.add('is-dragover');
      });
      drop.addEventListener('dragover', function (ev) {
        if (!hasFiles(ev)) {
          return;
        }
        ev.preventDefault();
        ev.dataTransfer.dropEffect = 'copy';
      });
      drop.addEventListener('dragleave', function () {
        depth = Math.max(0, depth - 1);
        if (depth === 0) {
          drop.classList.remove('is-dragover');
        }
      });
      drop.addEventListener('drop', function (ev) {
        ev.preventDefault();
        depth = 0;
        drop.classList.remove('is-dragover');
        if (ev.dataTransfer && ev.dataTransfer.files) {
          addFiles(ev.dataTransfer.files);
        }
      });
      // A file dropped next to the zone must not make the browser leave the page.
      document.addEventListener('dragover', function (ev) {
        if (hasFiles(ev) && !drop.contains(ev.target)) {
          ev.preventDefault();
          ev.dataTransfer.dropEffect = 'none';
        }
      });
      document.addEventListener('drop', function (ev) {
        if (hasFiles(ev) && !drop.contains(ev.target)) {
          ev.preventDefault();
        }
      });
    }

    window.addEventListener('beforeunload', function (ev) {
      if (busy()) {
        ev.preventDefault();
        ev.returnValue = t('leave');
        return t('leave');
      }
      return undefined;
    });

    /* ------------------------------------------------------------ validation */

    function setFieldError(field, message) {
      var errorEl = document.getElementById(field.id + '-error');
      var hintId = field.id + '-hint';
      var hint = document.getElementById(hintId) ? hintId : '';
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

    function clearFilesError() {
      if (filesError) {
        filesError.textContent = '';
        filesError.hidden = true;
      }
      pick.setAttribute('aria-describedby', 'dropzone-text upload-rules');
    }

    function setFilesError(message) {
      if (filesError) {
        filesError.textContent = message;
        filesError.hidden = false;
        pick.setAttribute('aria-describedby', 'files-error dropzone-text upload-rules');
      }
    }

    var EMAIL = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;".]+$/;

    function validate() {
      var firstInvalid = null;
      clearFilesError();
      var ready = entries.filter(function (e) { return e.state === 'done' && e.id; });
      if (busy()) {
        setFilesError(t('stillUploading'));
        firstInvalid = pick;
      } else if (ready.length === 0) {
        setFilesError(t('needFile'));
        firstInvalid = pick;
      }
      var name = nameInput.value.trim();
      if (!name) {
        setFieldError(nameInput, t('needName'));
        firstInvalid = firstInvalid || nameInput;
      } else {
        setFieldError(nameInput, '');
      }
      var email = emailInput.value.trim();
      if (!email) {
        setFieldError(emailInput, t('needEmail'));
        firstInvalid = firstInvalid || emailInput;
      } else if (!EMAIL.test(email)) {
        setFieldError(emailInput, t('badEmail'));
        firstInvalid = firstInvalid || emailInput;
      } else {
        setFieldError(emailInput, '');
      }
      return { ok: !firstInvalid, first: firstInvalid, ready: ready, name: name, email: email };
    }

    /* ------------------------------------------------------------ confirm and send */

    function showSuccess(res, ready) {
      var delivery = res.body || {};
      var docs = Array.isArray(delivery.documents) && delivery.documents.length
        ? delivery.documents
        : ready.map(function (e) { return { filename: e.name, size: e.size, sha256: e.sha256 }; });
      result.textContent = '';
      var box = el('div', { className: 'result-box', tabindex: '-1', id: 'delivery-success' });
      box.appendChild(el('h3', null, t('sentTitle')));
      box.appendChild(el('p', null, res.status === 200 ? t('sentOnce') : t('sentText')));
      var ul = el('ul');
      docs.forEach(function (d) {
        var li = el('li');
        li.appendChild(el('strong', null, d.filename || ''));
        li.appendChild(document.createTextNode(' (' + humanSize(Number(d.size) || 0) + ') SHA-256: '));
        li.appendChild(el('code', null, d.sha256 || t('unknownSha')));
        ul.appendChild(li);
      });
      box.appendChild(ul);
      result.appendChild(box);
      box.focus();
    }

    // Fetches the page again and swaps the parts marked data-refresh (history, case details).
    function refreshSections() {
      if (!window.fetch || !window.DOMParser) {
        return;
      }
      fetch(location.pathname + location.search, {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { 'Accept': 'text/html' }
      }).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (!html) {
          return;
        }
        var fresh = new DOMParser().parseFromString(html, 'text/html');
        Array.prototype.forEach.call(document.querySelectorAll('[data-refresh][id]'), function (old) {
          var replacement = fresh.getElementById(old.id);
          if (replacement && old.parentNode) {
            old.parentNode.replaceChild(document.importNode(replacement, true), old);
          }
        });
        wireDocumentLinks(document);
      }).catch(function () { /* the message stands; a reload shows the rest */ });
    }

    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      if (sending) {
        return;
      }
      formError.textContent = '';
      var v = validate();
      if (!v.ok) {
        formError.textContent = t('checkFields');
        if (v.first) {
          v.first.focus();
        }
        return;
      }
      sending = true;
      confirmButton.disabled = true;
      confirmButton.setAttribute('aria-busy', 'true');
      pick.disabled = true;
      announce(t('sending'));
      var payload = {
        uploads: v.ready.map(function (e) { return e.id; }),
        comment: comment ? comment.value.trim() : '',
        submitted_by: { name: v.name, email: v.email }
      };
      api('POST', base + '/deliveries', payload).then(function (res) {
        if (res.status !== 201 && res.status !== 200) {
          throw new Error(problemText(res));
        }
        announce('');
        showSuccess(res, v.ready);
        v.ready.forEach(function (e) {
          if (e.el.parentNode) {
            e.el.parentNode.removeChild(e.el);
          }
        });
        entries = entries.filter(function (e) { return v.ready.indexOf(e) === -1; });
        updateEmpty();
        if (comment) {
          comment.value = '';
        }
        refreshSections();
      }).catch(function (err) {
        announce('');
        formError.textContent = (err && err.message) || t('network');
      }).then(function () {
        sending = false;
        confirmButton.disabled = false;
        confirmButton.removeAttribute('aria-busy');
        pick.disabled = false;
      });
    });

    // The button stays disabled in the HTML until this script runs.
    confirmButton.disabled = false;
    updateEmpty();
  }

  function init() {
    wireDocumentLinks(document);
    var form = document.getElementById('delivery-form');
    if (form && window.fetch && window.Promise) {
      initForm(form);
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
