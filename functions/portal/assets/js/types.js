/* Content types of files, from the table the server sends. */
import { types } from './data.js';

// Extension without its dot, lower case -> content type.
const byExtension = new Map();
types.forEach((known) => {
  (known.extensions || []).forEach((ext) => {
    byExtension.set(String(ext).replace(/^\./, '').toLowerCase(), known.type);
  });
});

function extensionOf(name) {
  const m = /\.([A-Za-z0-9]+)$/.exec(name || '');
  return m ? m[1].toLowerCase() : '';
}

/** The browser's type when the portal accepts it; else the type the file's extension implies. */
export function contentTypeOf(file, allowed) {
  const byExt = byExtension.get(extensionOf(file.name));
  const given = (file.type || '').toLowerCase();
  if (given && (allowed.length === 0 || allowed.indexOf(given) !== -1)) {
    return given;
  }
  return byExt || given || 'application/octet-stream';
}
