/* The SHA-256 of a file or part of it, computed in the browser while reading it a slice at a
   time: memory stays at one slice whatever the file's size (Web Crypto hashes only whole
   buffers). */
import { Sha256 } from './sha256.js';

/** Bytes read at a time. */
export const SLICE = 4 << 20;

function readSlice(blob) {
  if (blob.arrayBuffer) {
    return blob.arrayBuffer();
  }
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => { resolve(reader.result); };
    reader.onerror = () => { reject(reader.error); };
    reader.readAsArrayBuffer(blob);
  });
}

/** Feeds bytes `start` to `end` of `file` to every hasher in `hashers`, a slice at a time;
    `onBytes(n)` after each slice. Resolves when done. */
export function feed(file, start, end, hashers, onBytes) {
  let at = start;
  const next = () => {
    if (at >= end) {
      return Promise.resolve();
    }
    const stop = Math.min(end, at + SLICE);
    return readSlice(file.slice(at, stop)).then((buffer) => {
      const bytes = new Uint8Array(buffer);
      hashers.forEach((h) => h.update(bytes));
      at = stop;
      if (onBytes) {
        onBytes(bytes.length);
      }
      return next();
    });
  };
  return next();
}

/** SHA-256 of the file's bytes in hex. */
export function sha256Of(file) {
  const hasher = new Sha256();
  return feed(file, 0, file.size, [hasher]).then(() => hasher.hex());
}
