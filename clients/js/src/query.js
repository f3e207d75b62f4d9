// Splitting a query into the application's parts and the signing parameters.
import { percentDecode } from './path.js';
import { asciiLower, NAMES } from './rules.js';

/**
 * Whether a raw name or segment is in the signing namespace: it starts with `start` in any
 * ASCII case once percent-decoded, so `SL_kid` and `%73l_kid` are caught rather than passed on
 * to the application as its own parameters.
 */
export function inNamespace(raw, start) {
  if (!raw.includes('%')) return asciiLower(raw.slice(0, start.length)) === asciiLower(start);
  // Bytes as char codes: only the ASCII prefix is compared, so no text decoding is needed.
  const head = percentDecode(raw, false).subarray(0, start.length);
  return asciiLower(String.fromCharCode(...head)) === asciiLower(start);
}

/**
 * Splits a raw query (without `?`; null when the target had none). Returns
 * `{ app, signing, problem, seen }`: the application's parts joined in order, a Map of signing names (after
 * the prefix) to raw values, the first reason the parameters are malformed (or null), and
 * whether anything in the signing namespace was there at all.
 */
export function splitQuery(rawQuery, prefix) {
  const app = [];
  const signing = new Map();
  let problem = null;
  let seen = false;
  for (const part of rawQuery === null ? [] : rawQuery.split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (!inNamespace(name, prefix)) {
      app.push(part);
      continue;
    }
    seen = true;
    const short = name.startsWith(prefix) ? name.slice(prefix.length) : null;
    if (problem !== null) continue;
    if (short === null || !NAMES.includes(short)) problem = `unknown signing parameter ${JSON.stringify(name)}`;
    else if (eq < 0) problem = `${name} has no "="`;
    else if (signing.has(short)) problem = `${name} appears twice`;
    else signing.set(short, part.slice(eq + 1));
  }
  return { app: app.join('&'), signing, problem, seen };
}

// What a query may hold unescaped (RFC 3986 pchar, "/" and "?"); "%" only as a valid escape.
const QUERY_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/?]/;
const encoder = new TextEncoder();

/** The application query as a link carries it: unsafe bytes escaped, existing escapes kept. */
export function escapeQuery(query) {
  let out = '';
  for (let i = 0; i < query.length; i++) {
    const ch = query[i];
    if (ch === '%' && /^[0-9A-Fa-f]{2}$/.test(query.slice(i + 1, i + 3))) out += ch;
    else if (QUERY_SAFE.test(ch)) out += ch;
    else {
      const cp = query.codePointAt(i);
      const text = String.fromCodePoint(cp);
      if (cp > 0xffff) i++;
      for (const byte of encoder.encode(text)) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
    }
  }
  return out;
}
