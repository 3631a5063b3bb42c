/* Links to documents. Relative hrefs would resolve against /p/ (no trailing slash), so they are
   built here. */
import { base } from './api.js';

export function wireDocumentLinks(root) {
  root.querySelectorAll('a[data-document-id]').forEach((a) => {
    const id = a.getAttribute('data-document-id');
    if (id) {
      a.setAttribute('href', base + '/documents/' + encodeURIComponent(id));
    }
  });
}
