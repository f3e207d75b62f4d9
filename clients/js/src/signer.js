import { encode } from './b64.js';
import { hmacSha256, importHmacKey, randomBytes, secretBytes } from './crypto.js';
import { mintError } from './errors.js';
import { nativeMessage } from './message.js';
import { decodedText, encodedText, hasLoneSurrogate, resolveDecodedPath } from './path.js';
import { escapeQuery, splitQuery } from './query.js';
import { asciiLower, GROUP, isValidator, KEY_ID, MAX_VERSION_CHARS, METHOD, NONCE, PARAM_PREFIX } from './rules.js';
import { nowSeconds, rejectUnknown, toSeconds } from './time.js';

const encoder = new TextEncoder();
// Minting refuses with the reason a verifier would give the same link.
const invalid = (message) => mintError(RangeError, 'malformed', message);
const badPath = (message) => mintError(RangeError, 'bad_path', message);

function expiry({ expiresIn, expiresAt }) {
  if ((expiresIn === undefined) === (expiresAt === undefined)) throw new TypeError('give exactly one of expiresIn and expiresAt');
  if (expiresAt !== undefined) return toSeconds(expiresAt, 'expiresAt');
  const at = nowSeconds() + toSeconds(expiresIn, 'expiresIn', { allowDate: false });
  return toSeconds(at, 'the expiry');
}

function optionalSeconds(value, what) {
  return value === undefined || value === null ? null : toSeconds(value, what);
}

function pattern(value, regex, what, rule) {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  if (!regex.test(value)) throw invalid(`${what} ${JSON.stringify(value)} must be ${rule}`);
  return value;
}

/** Mints native links (SPEC.md, v1) with one HMAC key. */
export class Signer {
  #key;
  #keyId;
  #prefix;

  constructor(options = {}) {
    rejectUnknown(options, ['secret', 'keyId', 'paramPrefix'], 'Signer');
    const { secret, keyId, paramPrefix = 'sl_' } = options;
    const bytes = secretBytes(secret, 'secret');
    this.#keyId = pattern(keyId, KEY_ID, 'keyId', '1 to 64 of A-Z a-z 0-9 . _ -');
    this.#prefix = pattern(paramPrefix, PARAM_PREFIX, 'paramPrefix', '1 to 32 of A-Z a-z 0-9 . _ -');
    this.#key = importHmacKey(bytes);
    this.#key.catch(() => {}); // reported when signing, not as an unhandled rejection
  }

  /** A canonical path from a decoded one; refuses what the verifier would read otherwise. */
  #path(path) {
    if (typeof path !== 'string') throw new TypeError('the path must be a string');
    const resolved = resolveDecodedPath(path, badPath);
    for (const segment of resolved.segments)
      if (asciiLower(segment).startsWith(asciiLower(`${this.#prefix}t~`))) throw badPath(`segment ${JSON.stringify(segment)} would read as a folder token`);
    return resolved;
  }

  async #tag(fields) {
    return encode(await hmacSha256(await this.#key, nativeMessage({ keyId: this.#keyId, ...fields })));
  }

  /** A link to one resource (path decoded, e.g. "/private/a b.pdf"). */
  async sign(path, options = {}) {
    rejectUnknown(options, ['expiresIn', 'expiresAt', 'notBefore', 'method', 'query', 'oneTime', 'nonce', 'maxBody', 'version', 'group'], 'sign');
    const resolved = this.#path(path);
    const method = pattern(options.method ?? 'GET', METHOD, 'method', 'upper-case letters');
    const expires = expiry(options);
    const notBefore = optionalSeconds(options.notBefore, 'notBefore');
    const maxBody = optionalSeconds(options.maxBody, 'maxBody');
    const nonce = options.nonce != null ? pattern(options.nonce, NONCE, 'nonce', '22 base64url characters of 16 bytes')
      : options.oneTime ? encode(await randomBytes(16)) : null;
    const version = options.version == null ? null : this.#version(options.version, method);
    const group = options.group == null ? null : pattern(options.group, GROUP, 'group', '1 to 64 of A-Z a-z 0-9 . _ -');
    const query = this.#query(options.query ?? '');

    const fields = { method, scope: 'path', path: decodedText(resolved), query, notBefore, expires, nonce, maxBody, version, group };
    const p = this.#prefix;
    const signing = [`${p}kid=${this.#keyId}`];
    if (method !== 'GET') signing.push(`${p}method=${method}`);
    if (notBefore !== null) signing.push(`${p}nbf=${notBefore}`);
    signing.push(`${p}exp=${expires}`);
    if (nonce !== null) signing.push(`${p}nonce=${nonce}`);
    if (maxBody !== null) signing.push(`${p}max=${maxBody}`);
    if (version !== null) signing.push(`${p}ver=${version}`);
    if (group !== null) signing.push(`${p}grp=${group}`);
    signing.push(`${p}sig=${await this.#tag(fields)}`);
    return `${encodedText(resolved)}?${[...(query ? [query] : []), ...signing].join('&')}`;
  }

  /** A link to every path below `folder` (decoded, ending with "/"). */
  async signFolder(folder, options = {}) {
    rejectUnknown(options, ['expiresIn', 'expiresAt', 'form'], 'signFolder');
    const resolved = this.#path(folder);
    if (resolved.segments.length > 0 && !resolved.trailing) throw badPath('a folder must end with "/"');
    const form = options.form ?? 'query';
    if (form !== 'query' && form !== 'path') throw new RangeError('form must be "query" or "path"');
    const expires = expiry(options);
    const sig = await this.#tag({ method: 'GET', scope: 'prefix', path: decodedText(resolved), query: '', expires });
    const base = encodedText(resolved);
    const p = this.#prefix;
    if (form === 'path') return `${base}${p}t~${this.#keyId}~${expires}~${sig}/`;
    const prefix = base.replace(/&/g, '%26').replace(/=/g, '%3D').replace(/\+/g, '%2B');
    return `${base}?${p}kid=${this.#keyId}&${p}exp=${expires}&${p}prefix=${prefix}&${p}sig=${sig}`;
  }

  #version(validator, method) {
    if (typeof validator !== 'string') throw new TypeError('version must be a string (the ETag or Last-Modified value)');
    if (method !== 'GET') throw invalid('a version-bound link is GET only');
    const bytes = encoder.encode(validator);
    if (hasLoneSurrogate(validator) || !isValidator(bytes)) throw invalid('version must be text a header value holds, with no space or tab at either end');
    const text = encode(bytes);
    if (text.length > MAX_VERSION_CHARS) throw invalid(`version is longer than ${MAX_VERSION_CHARS} base64url characters`);
    return text;
  }

  #query(query) {
    if (typeof query !== 'string') throw new TypeError('query must be a string');
    if (hasLoneSurrogate(query)) throw invalid('query is not valid UTF-8');
    const escaped = escapeQuery(query);
    if (splitQuery(escaped, this.#prefix).seen) throw invalid(`query must not hold parameters named ${this.#prefix}*`);
    return escaped;
  }
}
