// Reading a request target into the claims of a native link, refusing anything not canonical.
// Nothing here is trusted yet: the caller checks the signature over `fields`.
import { LinkError } from './errors.js';
import { decodedText, encodedText, percentDecode, resolveDecodedPath, resolveRequestPath } from './path.js';
import { inNamespace, splitQuery } from './query.js';
import { decodeVersion, GROUP, KEY_ID, METHOD, NONCE, parseDecimal, SIGNATURE } from './rules.js';

const malformed = (message) => new LinkError('malformed', message);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function need(value, test, what) {
  if (value === undefined) return undefined;
  if (!test(value)) throw malformed(`${what} is not canonical`);
  return value;
}

function decimal(value, what) {
  if (value === undefined) return null;
  const parsed = parseDecimal(value);
  if (parsed === null) throw malformed(`${what} is not canonical decimal`);
  return parsed;
}

/** Splits a target into path and query, and finds the folder token segment if there is one. */
function locate(target, prefix) {
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const rawQuery = q < 0 ? null : target.slice(q + 1);
  if (!rawPath.startsWith('/')) throw new LinkError('bad_path', 'a path must start with "/"');
  const segments = rawPath.split('/');
  const tokens = segments.flatMap((s, i) => (inNamespace(s, `${prefix}t~`) ? [i] : []));
  // The resource is the path with the token taken out; an empty segment in its place keeps
  // a trailing "/" when the token was last.
  const withoutTokens = segments.map((s, i) => (tokens.includes(i) ? '' : s)).join('/');
  const resource = resolveRequestPath(withoutTokens);
  return { rawQuery, segments, tokens, resource };
}

/** Parses `target` (raw path and query). Throws LinkError for missing, malformed or bad_path. */
export function parseLink(target, prefix) {
  const { rawQuery, segments, tokens, resource } = locate(target, prefix);
  const { app, signing, problem, seen } = splitQuery(rawQuery, prefix);
  if (tokens.length === 0 && !seen) throw new LinkError('missing', 'no signing parameters');
  if (problem !== null) throw malformed(problem);
  if (tokens.length > 1) throw malformed('more than one folder token');
  if (tokens.length === 1 && seen) throw malformed('a folder token and signing parameters');
  const base = { query: app, path: decodedText(resource), encodedPath: encodedText(resource) };
  if (tokens.length === 1) return { ...base, ...folderToken(segments, tokens[0], prefix) };
  return { ...base, ...queryClaims(signing) };
}

function queryClaims(p) {
  for (const name of ['kid', 'exp', 'sig']) if (!p.has(name)) throw malformed(`sl_${name} is missing`);
  const claims = {
    keyId: need(p.get('kid'), (v) => KEY_ID.test(v), 'the key id'),
    method: need(p.get('method'), (v) => METHOD.test(v) && v !== 'GET', 'the method') ?? 'GET',
    notBefore: decimal(p.get('nbf'), 'not-before'),
    expires: decimal(p.get('exp'), 'the expiry'),
    nonce: need(p.get('nonce'), (v) => NONCE.test(v), 'the nonce') ?? null,
    maxBody: decimal(p.get('max'), 'the upload limit'),
    version: p.get('ver') ?? null,
    group: need(p.get('grp'), (v) => GROUP.test(v), 'the group') ?? null,
    signature: need(p.get('sig'), (v) => SIGNATURE.test(v), 'the signature'),
    session: null,
  };
  claims.versionText = claims.version === null ? null : decodeVersion(claims.version);
  if (claims.version !== null && claims.versionText === null) throw malformed('the version is not canonical');
  if (claims.version !== null && claims.method !== 'GET') throw malformed('a version-bound link is GET only');
  if (!p.has('prefix')) return { ...claims, scope: 'path' };
  for (const name of ['method', 'nbf', 'nonce', 'max', 'ver', 'grp'])
    if (p.has(name)) throw malformed(`a folder link does not carry sl_${name}`);
  return { ...claims, scope: 'prefix', ...folderFromParam(p.get('prefix')) };
}

// `sl_prefix` is the canonical folder with "&", "=" and "+" escaped; anything else spelled
// differently would be a second encoding of the same folder.
function folderFromParam(value) {
  const bytes = percentDecode(value, true);
  let folder = null;
  try {
    folder = bytes === null ? null : strictUtf8.decode(bytes);
  } catch {
    // not UTF-8: refused below
  }
  if (folder === null || !folder.endsWith('/')) throw malformed('sl_prefix is not a canonical folder');
  const resolved = resolveDecodedPath(folder, () => malformed('sl_prefix is not a canonical folder'));
  const encoded = encodedText(resolved);
  const expected = encoded.replace(/&/g, '%26').replace(/=/g, '%3D').replace(/\+/g, '%2B');
  if (decodedText(resolved) !== folder || expected !== value) throw malformed('sl_prefix is not a canonical folder');
  return { folder, encodedFolder: encoded };
}

// `<prefix>t~<key id>~<expiry>~<signature>`, or with a session before the signature.
function folderToken(segments, index, prefix) {
  const raw = segments[index];
  const start = `${prefix}t~`;
  const parts = raw.startsWith(start) ? raw.slice(start.length).split('~') : [];
  if (parts.length !== 3 && parts.length !== 4) throw malformed('the folder token is not canonical');
  const [keyId, expires, ...rest] = parts;
  const signature = rest[rest.length - 1];
  const session = rest.length === 2 ? decimal(rest[0], 'the session') : null;
  if (session === 0n) throw malformed('a session is at least one second');
  const folderPath = resolveRequestPath(segments.slice(0, index).join('/') + '/');
  return {
    scope: 'prefix',
    keyId: need(keyId, (v) => KEY_ID.test(v), 'the key id'),
    method: 'GET',
    notBefore: null,
    expires: decimal(expires, 'the expiry'),
    nonce: null,
    maxBody: null,
    version: null,
    versionText: null,
    group: null,
    session,
    signature: need(signature, (v) => SIGNATURE.test(v), 'the signature'),
    folder: decodedText(folderPath),
    encodedFolder: encodedText(folderPath),
  };
}

/** The message fields a parsed link claims. */
export function claimedFields(link) {
  const prefix = link.scope === 'prefix';
  return {
    keyId: link.keyId,
    method: link.method,
    scope: link.scope,
    path: prefix ? link.folder : link.path,
    query: prefix ? '' : link.query,
    notBefore: link.notBefore,
    expires: link.expires,
    nonce: link.nonce,
    maxBody: link.maxBody,
    version: link.version,
    group: link.group,
    session: link.session,
  };
}
