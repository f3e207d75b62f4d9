// Web Crypto only, so the same file runs in Node, Deno and edge workers.

// Kept out of a literal so bundlers for workers do not try to resolve a Node built-in.
const NODE_CRYPTO = 'node:crypto';
let pending;

function webCrypto() {
  // Node 18 has no global `crypto`; every other runtime this targets does, and must not
  // be made to import `node:` modules.
  pending ??=
    globalThis.crypto !== undefined
      ? Promise.resolve(globalThis.crypto)
      : import(NODE_CRYPTO).then((m) => m.webcrypto);
  return pending;
}

const encoder = new TextEncoder();

/** The bytes of a secret: strings are UTF-8, byte arrays are copied so later edits don't leak in. */
export function secretBytes(secret, what) {
  let bytes;
  if (typeof secret === 'string') bytes = encoder.encode(secret);
  else if (secret instanceof Uint8Array) bytes = new Uint8Array(secret);
  else if (secret instanceof ArrayBuffer) bytes = new Uint8Array(secret.slice(0));
  else throw new TypeError(`${what} must be a string or a Uint8Array`);
  if (bytes.length === 0) throw new RangeError(`${what} must not be empty`);
  return bytes;
}

export async function importHmacKey(bytes) {
  const { subtle } = await webCrypto();
  return subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

export async function hmacSha256(key, message) {
  const { subtle } = await webCrypto();
  return new Uint8Array(await subtle.sign('HMAC', key, message));
}

export async function randomBytes(n) {
  const crypto = await webCrypto();
  return crypto.getRandomValues(new Uint8Array(n));
}

/** Equal-length texts compared without an early exit, so timing shows nothing of the tag. */
export function constantTimeEqual(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
