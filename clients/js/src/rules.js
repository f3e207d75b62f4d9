// What SPEC.md calls canonical, in one place: the signer refuses exactly what the verifier
// refuses, so both read these.
import { decodeStrict } from './b64.js';

export const MAX_SECONDS = (1n << 63n) - 1n;

// The ten signing parameter names, after the prefix.
export const NAMES = Object.freeze(['kid', 'method', 'nbf', 'exp', 'nonce', 'max', 'ver', 'grp', 'prefix', 'sig']);

// Key ids travel unescaped in `sl_kid=` and between the `~` of a folder token.
export const KEY_ID = /^[A-Za-z0-9._-]{1,32}$/;
export const METHOD = /^[A-Z]{1,16}$/;
export const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
// 16 bytes leave four unused bits in the last character; only A, Q, g, w have them zero.
export const NONCE = /^[A-Za-z0-9_-]{21}[AQgw]$/;
export const GROUP = /^[A-Za-z0-9._-]{1,64}$/;
export const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;
export const PARAM_PREFIX = /^[a-z0-9._-]{1,16}$/;
export const MAX_VERSION_CHARS = 256;

/** The value of canonical decimal text, or null. */
export function parseDecimal(text) {
  if (!DECIMAL.test(text)) return null;
  const value = BigInt(text);
  return value <= MAX_SECONDS ? value : null;
}

// A validator is compared with a header value, so it must be one (SPEC.md, sl_ver): no
// control byte but tab, and no space or tab at either end; bytes past 0x7F are UTF-8 text.
export function isValidator(bytes) {
  if (bytes.length === 0) return false;
  const visible = (b) => (b >= 0x21 && b <= 0x7e) || b >= 0x80;
  if (!visible(bytes[0]) || !visible(bytes[bytes.length - 1])) return false;
  return bytes.every((b) => visible(b) || b === 0x20 || b === 0x09);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function isUtf8(bytes) {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** The validator text an `sl_ver` value carries, or null when the value is not canonical. */
export function decodeVersion(text) {
  if (text.length === 0 || text.length > MAX_VERSION_CHARS) return null;
  const bytes = decodeStrict(text);
  if (bytes === null || !isValidator(bytes) || !isUtf8(bytes)) return null;
  return String.fromCharCode(...bytes);
}

// Prefix matching ignores ASCII case only: `toLowerCase` would also fold non-ASCII letters.
export function asciiLower(text) {
  return text.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}
