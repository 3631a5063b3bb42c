/* The SHA-256 of a file, computed in the browser. */

function toHex(buffer) {
  const bytes = new Uint8Array(buffer);
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  }
  return out;
}

function readAll(file) {
  if (file.arrayBuffer) {
    return file.arrayBuffer();
  }
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => { resolve(reader.result); };
    reader.onerror = () => { reject(reader.error); };
    reader.readAsArrayBuffer(file);
  });
}

/** SHA-256 of the file's bytes in hex, or null where Web Crypto is missing (plain-http pages). */
export function sha256Of(file) {
  const subtle = window.crypto && window.crypto.subtle;
  if (!subtle || !subtle.digest) {
    return Promise.resolve(null);
  }
  return readAll(file)
    .then((buffer) => subtle.digest('SHA-256', buffer))
    .then(toHex, () => null);
}
