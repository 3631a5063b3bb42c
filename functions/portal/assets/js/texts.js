/* What the script says, in the page's language: the texts come from the server. */
import { texts } from './data.js';

export const lang = /^en/i.test(document.documentElement.lang || '') ? 'en' : 'nl';

/** The text for `key`, with each {slot} replaced by its value in `vars`. */
export function t(key, vars) {
  let s = texts[key] || key;
  if (vars) {
    Object.keys(vars).forEach((k) => {
      s = s.split('{' + k + '}').join(String(vars[k]));
    });
  }
  return s;
}

/** Bytes in binary units, one decimal, with a decimal comma in Dutch (as the server writes them). */
export function humanSize(bytes) {
  if (bytes < 1024) {
    return bytes === 1 ? '1 byte' : bytes + ' bytes';
  }
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  let s = value >= 100 || (value >= 10 && value % 1 < 0.05) ? value.toFixed(0) : value.toFixed(1);
  s = s.replace(/\.0$/, '');
  if (lang === 'nl') {
    s = s.replace('.', ',');
  }
  return s + ' ' + units[unit];
}
