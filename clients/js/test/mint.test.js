// The signer refuses what the verifier would refuse, naming the problem.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Signer, Verifier } from '../src/index.js';
import { EXP, SECRET } from './support.js';

const signer = new Signer({ secret: SECRET, keyId: '1' });
const at = { expiresAt: EXP };

test('constructors check their settings', () => {
  assert.throws(() => new Signer({ secret: '', keyId: '1' }), RangeError);
  assert.throws(() => new Signer({ secret: 42, keyId: '1' }), TypeError);
  assert.throws(() => new Signer({ secret: SECRET }), TypeError);
  for (const keyId of ['', 'a b', 'a~b', 'a&b', 'x'.repeat(65)]) assert.throws(() => new Signer({ secret: SECRET, keyId }), RangeError);
  assert.throws(() => new Signer({ secret: SECRET, keyId: '1', paramPrefix: 'a=b' }), RangeError);
  assert.throws(() => new Signer({ secret: SECRET, keyId: '1', keyid: '1' }), /unknown option keyid/);
  assert.throws(() => new Verifier({ keys: {} }), RangeError);
  assert.throws(() => new Verifier({ keys: { 'a b': SECRET } }), RangeError);
  assert.throws(() => new Verifier({ keys: { 1: SECRET }, leeway: -1 }), RangeError);
});

test('paths that cannot be signed', async () => {
  for (const path of ['private/a', '/../a', '/a/../../b', '/a\0b', '/a/\uD800', '/a/sl_t~1~2~x/b', '/a/SL_T~x'])
    await assert.rejects(signer.sign(path, at), (e) => e instanceof RangeError && e.reason === 'bad_path', path);
  await assert.rejects(signer.sign(42, at), TypeError);
  await assert.rejects(signer.signFolder('/private/docs', at), /must end with "\/"/);
  await assert.rejects(signer.signFolder('/private/docs/', { ...at, form: 'segment' }), RangeError);
});

test('times: exactly one expiry, whole seconds in range', async () => {
  await assert.rejects(signer.sign('/a', {}), /exactly one of expiresIn and expiresAt/);
  await assert.rejects(signer.sign('/a', { expiresIn: 1, expiresAt: EXP }), TypeError);
  for (const bad of [-1, 1.5, 2n ** 63n, NaN, new Date(NaN)]) await assert.rejects(signer.sign('/a', { expiresAt: bad }), RangeError, String(bad));
  await assert.rejects(signer.sign('/a', { expiresAt: '1767225600' }), TypeError);
  await assert.rejects(signer.sign('/a', { ...at, notBefore: -5 }), RangeError);
  await assert.rejects(signer.sign('/a', { ...at, maxBody: 0.5 }), RangeError);
  await assert.rejects(signer.sign('/a', { expires: EXP }), /unknown option expires/);
});

test('methods, nonces, versions, groups and queries in canonical form only', async () => {
  const refuse = async (options, pattern) => assert.rejects(signer.sign('/a', { ...at, ...options }), pattern);
  await refuse({ method: 'put' }, /upper-case/);
  await refuse({ method: 'M-SEARCH' }, /upper-case/);
  await refuse({ nonce: 'q83vEjRWeJq83vEjRWeJqx' }, /nonce/);
  await refuse({ nonce: 'short' }, /nonce/);
  await refuse({ group: 'a b' }, /group/);
  await refuse({ group: 'g'.repeat(65) }, /group/);
  await refuse({ version: '' }, /version/);
  await refuse({ version: ' "x"' }, /version/);
  await refuse({ version: '"x\u0001"' }, /version/);
  await refuse({ version: '"x"\t' }, /version/);
  // Non-ASCII text is a header value too (its UTF-8 bytes), as the crate's signer takes it.
  assert.ok((await signer.sign('/a', { ...at, version: '"caf\u00e9"' })).includes('&sl_ver=ImNhZsOpIg'));
  await refuse({ version: 'x'.repeat(193) }, /longer than 256/);
  await refuse({ version: '"x"', method: 'PUT' }, /GET only/);
  for (const query of ['sl_kid=2', 'a=1&SL_exp=1', 'a=1&%73l_x=1', 'sl_', 'a&sL_t~x']) await refuse({ query }, /must not hold parameters named sl_/);
  assert.ok((await signer.sign('/a', { ...at, version: 'x'.repeat(192) })).includes('&sl_ver='));
});
