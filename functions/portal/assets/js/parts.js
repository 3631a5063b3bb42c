/* A large file sent in parts: each part hashed while read (a slice at a time), its signed URL
   asked with that SHA-256, its bytes PUT there. The same file chosen again after a lost
   connection or a reload resumes: the portal knows it by name, size and part 1's SHA-256, and
   only the parts that did not arrive are sent. Memory stays at one slice. */
import { api, base, deleteUpload, problemText } from './api.js';
import { feed } from './hash.js';
import { setStatus, showProgress } from './rows.js';
import { putPart } from './send.js';
import { Sha256 } from './sha256.js';
import { t } from './texts.js';

/** Tries per part before giving up (the upload can still be resumed later). */
const TRIES = 3;

function answer(res, ok) {
  if (res.status !== ok) {
    throw new Error(problemText(res));
  }
  return res.body || {};
}

function uploadUrl(id) {
  return base + '/uploads/' + encodeURIComponent(id);
}

function wait(ms) {
  return new Promise((resolve) => { setTimeout(resolve, ms); });
}

// A staged, unfinished upload of this file (same name, size and part 1), or null.
function resumable(entry) {
  return api('GET', base).then((res) => {
    const view = answer(res, 200);
    const candidates = (view.staged || []).filter((doc) => doc.parts && !doc.parts.completed &&
      doc.parts.first_part_sha256 && doc.filename === entry.name && doc.size === entry.size);
    const tryNext = (i) => {
      if (i >= candidates.length) {
        return null;
      }
      const doc = candidates[i];
      const first = new Sha256();
      return feed(entry.file, 0, Math.min(entry.size, doc.parts.part_size), [first]).then(() =>
        (first.hex() === doc.parts.first_part_sha256
          ? { id: doc.id, partSize: doc.parts.part_size }
          : tryNext(i + 1)));
    };
    return tryNext(0);
  });
}

function stage(entry) {
  const payload = { filename: entry.name, content_type: entry.contentType, size: entry.size };
  return api('POST', base + '/uploads', payload).then((res) => {
    const body = answer(res, 201);
    if (!body.upload || !body.upload.part_size) {
      throw new Error(t('http_error', { status: res.status }));
    }
    return { id: body.id, partSize: body.upload.part_size };
  });
}

// The parts storage holds, by number: {size, etag}.
function received(id) {
  return api('GET', uploadUrl(id) + '/parts').then((res) => {
    const byNumber = {};
    (answer(res, 200).received || []).forEach((p) => { byNumber[p.number] = p; });
    return byNumber;
  });
}

// Asks part `number`'s URL and sends it, trying again after a network error.
function sendPart(entry, id, number, sha256, blob, onLoaded) {
  const attempt = (left) => api('POST', uploadUrl(id) + '/parts', { number: number, sha256: sha256 })
    .then((res) => putPart(entry, answer(res, 200), blob, onLoaded))
    .catch((err) => {
      if (err.aborted || left <= 1 || entry.removed) {
        throw err;
      }
      onLoaded(0);
      return wait(1000 * (TRIES - left + 1)).then(() => attempt(left - 1));
    });
  return attempt(TRIES);
}

function sendAll(entry, upload, present, announce) {
  const { id, partSize } = upload;
  const count = Math.ceil(entry.size / partSize);
  const whole = new Sha256();
  const etags = [];
  let sent = 0;
  const progress = (loaded) => {
    showProgress(entry, Math.floor(((sent + loaded) / entry.size) * 100));
  };
  const part = (number) => {
    if (number > count) {
      return Promise.resolve();
    }
    const start = (number - 1) * partSize;
    const end = Math.min(entry.size, start + partSize);
    const own = new Sha256();
    return feed(entry.file, start, end, [whole, own]).then(() => {
      const there = present[number];
      if (there && there.size === end - start && there.etag) {
        return there.etag;
      }
      return sendPart(entry, id, number, own.hex(), entry.file.slice(start, end), progress);
    }).then((etag) => {
      etags.push({ number: number, etag: etag });
      sent += end - start;
      progress(0);
      setStatus(entry, t('parts_progress', { done: number, total: count }));
      return part(number + 1);
    });
  };
  entry.state = 'uploading';
  announce(t('start_upload', { name: entry.name }));
  return part(1).then(() => {
    const sha256 = whole.hex();
    return api('POST', uploadUrl(id) + '/complete', { parts: etags, sha256: sha256 }).then((res) => {
      answer(res, 200);
      entry.sha256 = sha256;
      showProgress(entry, 100);
    });
  });
}

/** Resolves when every part is stored and joined; rejects with what went wrong. The staged
    upload is kept on failure: choosing the file again resumes it. */
export function uploadInParts(entry, announce) {
  entry.inParts = true;
  entry.state = 'hashing';
  setStatus(entry, t('hashing'));
  return resumable(entry).then((found) => {
    if (entry.removed) {
      return null;
    }
    const fresh = () => {
      entry.state = 'announcing';
      setStatus(entry, t('announcing'));
      return stage(entry).then((upload) => ({ upload: upload, present: {} }));
    };
    let begin;
    if (found) {
      setStatus(entry, t('resuming'));
      begin = received(found.id).then((present) => ({ upload: found, present: present }), () => {
        // Storage no longer holds the unfinished upload (it keeps one a week): start over.
        deleteUpload(found.id).catch(() => {});
        return fresh();
      });
    } else {
      begin = fresh();
    }
    return begin.then(({ upload, present }) => {
      entry.id = upload.id;
      entry.el.setAttribute('data-upload-id', upload.id);
      return sendAll(entry, upload, present, announce);
    });
  });
}
