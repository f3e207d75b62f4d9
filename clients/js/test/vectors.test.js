// Known answers from tests/vectors/native-v1.json, produced by an independent implementation.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Signer, Verifier } from '../src/index.js';
import { nativeMessage } from '../src/message.js';
import { encode } from '../src/b64.js';
import { webcrypto } from 'node:crypto';
import { vectors } from './support.js';

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const validator = (b64) => (b64 === null ? undefined : Buffer.from(b64, 'base64url').toString('latin1'));

test('the vector file uses the default prefix', () => {
  assert.equal(vectors.param_prefix, 'sl_');
  assert.ok(vectors.vectors.length >= 9);
});

for (const v of vectors.vectors) {
  test(`vector "${v.name}"`, async (t) => {
    await t.test('message bytes', () => {
      const message = nativeMessage({
        keyId: v.key_id,
        method: v.method,
        scope: v.scope,
        path: v.path,
        query: v.query,
        notBefore: v.not_before,
        expires: v.expires,
        nonce: v.nonce,
        maxBody: v.max_body,
        version: v.version,
        group: v.group,
      });
      assert.equal(hex(message), v.message_hex);
    });

    await t.test('signature and link', async () => {
      const signer = new Signer({ secret: v.secret, keyId: v.key_id });
      if (v.scope === 'prefix') {
        // The vector shows the folder link in the query of a file below the folder.
        const link = await signer.signFolder(v.path, { expiresAt: v.expires });
        assert.equal(link.replace('/?', '/seg-1.ts?'), v.link);
        assert.ok(link.endsWith(`&sl_sig=${v.signature}`));
        return;
      }
      const link = await signer.sign(v.path, {
        expiresAt: v.expires,
        notBefore: v.not_before ?? undefined,
        method: v.method,
        query: v.query,
        nonce: v.nonce ?? undefined,
        maxBody: v.max_body ?? undefined,
        version: validator(v.version),
        group: v.group ?? undefined,
      });
      assert.equal(link, v.link);
      assert.ok(link.endsWith(`&sl_sig=${v.signature}`));
    });

    await t.test('the link verifies at its time', async () => {
      const verifier = new Verifier({ keys: { [v.key_id]: v.secret, other: 'not this one' } });
      const method = v.method;
      const ok = await verifier.verify(v.link, { method, now: v.now });
      assert.equal(ok.scope, v.scope);
      assert.equal(ok.keyId, v.key_id);
      assert.equal(ok.expires, v.expires);
      assert.equal(ok.notBefore, v.not_before);
      assert.equal(ok.nonce, v.nonce);
      assert.equal(ok.maxBody, v.max_body);
      assert.equal(ok.version, validator(v.version) ?? null);
      assert.equal(ok.group, v.group);
      if (v.scope === 'prefix') {
        assert.equal(ok.folder, v.path);
        assert.equal(ok.path, v.path + 'seg-1.ts');
      } else {
        assert.equal(ok.path, v.path);
        assert.equal(ok.query, v.query);
      }
    });

    await t.test('the signature is the base64url of the HMAC', async () => {
      const key = await webcrypto.subtle.importKey('raw', new TextEncoder().encode(v.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      const tag = await webcrypto.subtle.sign('HMAC', key, Buffer.from(v.message_hex, 'hex'));
      assert.equal(encode(new Uint8Array(tag)), v.signature);
    });
  });
}
