// The page's SHA-256 in pieces (functions/portal/assets/js/sha256.js) against Node's: every
// length around the block and padding edges, fed in uneven pieces.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Sha256 } from '../../functions/portal/assets/js/sha256.js';

for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 100_000, 5_000_001]) {
  const bytes = new Uint8Array(n).map((_, i) => (i * 31 + 7) % 251);
  const hasher = new Sha256();
  let at = 0;
  let step = 1;
  while (at < n) {
    hasher.update(bytes.subarray(at, Math.min(n, at + step)));
    at += step;
    step = step * 3 + 1;
  }
  assert.equal(hasher.hex(), createHash('sha256').update(bytes).digest('hex'), `${n} bytes`);
}
console.log('sha256.js: the same digests as node:crypto');
