// Canonical paths (SPEC.md, native format v1): decoded segments with dot and empty segments
// resolved, then re-escaped with one fixed set of safe bytes.
import { LinkError } from './errors.js';

const SAFE = new Set([..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@"]);
const encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF in a segment instead of silently dropping it.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const HEX = /^[0-9A-Fa-f]{2}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Percent-decodes once; null when an escape is broken and `strict`, else broken escapes stay literal. */
export function percentDecode(text, strict) {
  if (strict && LONE_SURROGATE.test(text)) return null;
  const bytes = [];
  let run = 0; // start of the text not yet copied
  const flush = (end) => bytes.push(...encoder.encode(text.slice(run, end)));
  for (let i = text.indexOf('%'); i >= 0; i = text.indexOf('%', i + 1)) {
    const hex = text.slice(i + 1, i + 3);
    if (!HEX.test(hex)) {
      if (strict) return null;
      continue;
    }
    flush(i);
    bytes.push(parseInt(hex, 16));
    run = i + 3;
    i += 2;
  }
  flush(text.length);
  return Uint8Array.from(bytes);
}

const ALL_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,=:@]*$/;

export function encodeSegment(segment) {
  if (ALL_SAFE.test(segment)) return segment;
  let out = '';
  for (const byte of encoder.encode(segment)) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && SAFE.has(ch) ? ch : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * Resolves a path into `{ segments, trailing }` (decoded segments, whether it ends with `/`).
 * `decode` turns one raw segment into its text or null; a null, a NUL or a climb above the
 * root throws `problem(message)`.
 */
function resolve(path, decode, problem) {
  if (typeof path !== 'string' || !path.startsWith('/')) throw problem('a path must start with "/"');
  const segments = [];
  let trailing = false;
  const parts = path.split('/').slice(1);
  for (const part of parts) {
    const segment = decode(part);
    if (segment === null) throw problem(`segment ${JSON.stringify(part)} is not percent-encoded UTF-8`);
    if (segment.includes('\0')) throw problem('a path must not hold NUL');
    // The signed path is the decoded one, where an escaped "/" would pass for a separator.
    if (segment.includes('/')) throw problem('a segment must not hold an escaped "/"');
    trailing = segment === '' || segment === '.' || segment === '..';
    if (segment === '..') {
      if (segments.length === 0) throw problem('the path climbs above the root');
      segments.pop();
    } else if (!trailing) {
      segments.push(segment);
    }
  }
  return { segments, trailing };
}

function decodeRaw(part) {
  if (!part.includes('%')) return LONE_SURROGATE.test(part) ? null : part;
  const bytes = percentDecode(part, true);
  if (bytes === null) return null;
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

export const hasLoneSurrogate = (text) => LONE_SURROGATE.test(text);

function keepDecoded(part) {
  return LONE_SURROGATE.test(part) ? null : part;
}

/** A request path as sent (raw, escaped); refusals are `bad_path`. */
export function resolveRequestPath(raw) {
  return resolve(raw, decodeRaw, (message) => new LinkError('bad_path', message));
}

/** A path the application names in decoded form; refusals are `onError(message)`. */
export function resolveDecodedPath(path, onError) {
  return resolve(path, keepDecoded, onError);
}

function join({ segments, trailing }, map) {
  if (segments.length === 0) return '/';
  return '/' + segments.map(map).join('/') + (trailing ? '/' : '');
}

export const decodedText = (resolved) => join(resolved, (s) => s);
export const encodedText = (resolved) => join(resolved, encodeSegment);
