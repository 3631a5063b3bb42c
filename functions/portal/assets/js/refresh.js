/* After a delivery: fetches the page again and swaps the parts marked data-refresh (history,
   case details). */
import { wireDocumentLinks } from './links.js';

export function refreshSections() {
  if (!window.fetch || !window.DOMParser) {
    return;
  }
  fetch(location.pathname + location.search, {
    credentials: 'same-origin',
    cache: 'no-store',
    headers: { 'Accept': 'text/html' }
  }).then((r) => (r.ok ? r.text() : null)).then((html) => {
    if (!html) {
      return;
    }
    const fresh = new DOMParser().parseFromString(html, 'text/html');
    document.querySelectorAll('[data-refresh][id]').forEach((old) => {
      const replacement = fresh.getElementById(old.id);
      if (replacement && old.parentNode) {
        old.parentNode.replaceChild(document.importNode(replacement, true), old);
      }
    });
    wireDocumentLinks(document);
  }).catch(() => { /* the message stands; a reload shows the rest */ });
}
