import { encode } from './b64.js';
import { constantTimeEqual, hmacSha256, importHmacKey, secretBytes } from './crypto.js';
import { LinkError } from './errors.js';
import { claimedFields, parseLink } from './link.js';
import { nativeMessage } from './message.js';
import { KEY_ID, PARAM_PREFIX } from './rules.js';
import { nowSeconds, plain, rejectUnknown, toSeconds } from './time.js';

/** Checks native links (SPEC.md, v1) against a set of HMAC keys by key id. */
export class Verifier {
  #keys = new Map();
  #leeway;
  #maxLifetime;
  #prefix;

  constructor(options = {}) {
    rejectUnknown(options, ['keys', 'leeway', 'maxLifetime', 'paramPrefix'], 'Verifier');
    const { keys, leeway = 5, maxLifetime = 604800, paramPrefix = 'sl_' } = options;
    if (keys === null || typeof keys !== 'object') throw new TypeError('keys must map key ids to secrets');
    for (const [id, secret] of keys instanceof Map ? keys : Object.entries(keys)) {
      if (typeof id !== 'string' || !KEY_ID.test(id)) throw new RangeError(`key id ${JSON.stringify(id)} is not 1 to 64 of A-Z a-z 0-9 . _ -`);
      const bytes = secretBytes(secret, `the secret of key ${id}`);
      let imported;
      // Imported on first use, so building a Verifier stays synchronous.
      this.#keys.set(id, () => (imported ??= importHmacKey(bytes)));
    }
    if (this.#keys.size === 0) throw new RangeError('keys must hold at least one key');
    this.#leeway = toSeconds(leeway, 'leeway', { allowDate: false });
    this.#maxLifetime = toSeconds(maxLifetime, 'maxLifetime', { allowDate: false });
    if (typeof paramPrefix !== 'string' || !PARAM_PREFIX.test(paramPrefix)) throw new RangeError('paramPrefix must be 1 to 32 of A-Z a-z 0-9 . _ -');
    this.#prefix = paramPrefix;
  }

  /**
   * Verifies a request target (raw path and query, as sent). Resolves to what the link grants;
   * rejects with a LinkError. Checks run in SPEC.md's order: syntax, key, signature, times,
   * method, and last whether the path is inside a folder link's folder.
   */
  async verify(target, options = {}) {
    rejectUnknown(options, ['method', 'now'], 'verify');
    const { method = 'GET', now } = options;
    if (target instanceof URL) target = target.pathname + target.search;
    if (typeof target !== 'string') throw new TypeError('target must be a string (path and query)');
    if (typeof method !== 'string') throw new TypeError('method must be a string');
    const at = now === undefined ? nowSeconds() : toSeconds(now, 'now');

    const link = parseLink(target, this.#prefix);
    const key = this.#keys.get(link.keyId);
    if (key === undefined) throw new LinkError('unknown_key', `no key ${link.keyId}`);
    const tag = await hmacSha256(await key(), nativeMessage(claimedFields(link)));
    if (!constantTimeEqual(encode(tag), link.signature)) throw new LinkError('bad_signature');

    if (at > link.expires + this.#leeway) throw new LinkError('expired');
    if (link.notBefore !== null && link.notBefore > at + this.#leeway) throw new LinkError('not_yet_valid');
    if (link.expires > at + this.#maxLifetime + this.#leeway) throw new LinkError('too_long');
    if (method !== link.method && !(method === 'HEAD' && link.method === 'GET'))
      throw new LinkError('wrong_method', `the link is for ${link.method}`);
    // Compared escaped: there "/" only separates segments, so a decoded "%2F" cannot pose as one.
    if (link.scope === 'prefix' && !link.encodedPath.startsWith(link.encodedFolder))
      throw new LinkError('outside_folder');
    return result(link);
  }
}

function result(link) {
  return {
    scope: link.scope,
    path: link.path,
    escapedPath: link.encodedPath,
    query: link.query,
    keyId: link.keyId,
    method: link.method,
    expires: plain(link.expires),
    notBefore: plain(link.notBefore),
    nonce: link.nonce,
    maxBody: plain(link.maxBody),
    version: link.versionText,
    group: link.group,
    folder: link.scope === 'prefix' ? link.folder : null,
    session: plain(link.session),
  };
}
