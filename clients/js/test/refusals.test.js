// Every refusal reason, reached by tampering with a valid link.
import test from 'node:test';
import assert from 'node:assert/strict';
import { REASONS, Signer, Verifier } from '../src/index.js';
import { EXP, NOW, SECRET, refused, withParam } from './support.js';

const signer = new Signer({ secret: SECRET, keyId: '1' });
const verifier = new Verifier({ keys: { 1: SECRET, old: 'an older secret' } });
const plain = await signer.sign('/private/a b.pdf', { expiresAt: EXP, query: 'x=1&y=2' });
const put = await signer.sign('/private/up.bin', { expiresAt: EXP, method: 'PUT', notBefore: NOW + 60 });

test('the untouched links verify', async () => {
  assert.equal((await verifier.verify(plain, { now: NOW })).query, 'x=1&y=2');
  assert.equal((await verifier.verify(put, { now: NOW + 60, method: 'PUT' })).method, 'PUT');
});

test('missing: no signing parameters at all', async () => {
  await refused(verifier, '/private/a%20b.pdf', 'missing');
  await refused(verifier, '/private/a%20b.pdf?x=1&y=2', 'missing');
  await refused(verifier, '/private/a%20b.pdf?', 'missing');
});

test('malformed: duplicated, valueless, unknown or escaped signing parameters', async () => {
  await refused(verifier, plain + '&sl_kid=1', 'malformed');
  await refused(verifier, plain.replace('sl_exp=', 'sl_exp=1767225600&sl_exp='), 'malformed');
  await refused(verifier, plain + '&sl_nonce', 'malformed');
  await refused(verifier, plain + '&sl_extra=1', 'malformed');
  await refused(verifier, plain + '&SL_kid=1', 'malformed');
  await refused(verifier, plain + '&Sl_Foo', 'malformed');
  await refused(verifier, plain + '&%73l_kid=1', 'malformed');
  await refused(verifier, plain + '&%53L%5Fexp=1', 'malformed');
  await refused(verifier, plain.replace('sl_kid', 'sl_KID'), 'malformed');
  await refused(verifier, plain.replace('&sl_sig=', '&sl_signature='), 'malformed');
  // Only ones the verifier knows are required.
  await refused(verifier, plain.replace(/&sl_exp=\d+/, ''), 'malformed');
  await refused(verifier, plain.replace(/&sl_sig=.*/, ''), 'malformed');
  await refused(verifier, plain.replace(/sl_kid=1&/, ''), 'malformed');
});

test('malformed: values not in canonical form', async () => {
  for (const [name, value] of [
    ['sl_exp', '01767225600'],
    ['sl_exp', '+1767225600'],
    ['sl_exp', '1767225600.0'],
    ['sl_exp', '9223372036854775808'],
    ['sl_exp', ''],
    ['sl_kid', 'a%20b'],
    ['sl_kid', ''],
    ['sl_sig', 'short'],
    ['sl_sig', 'SozHE1vYeZuEoQw_0JhCgr2jwHY7QoHvedkN47xYmkQ='],
    ['sl_sig', 'SozHE1vYeZuEoQw/0JhCgr2jwHY7QoHvedkN47xYmkQ'],
  ])
    await refused(verifier, withParam(plain, name, value), 'malformed');
  for (const extra of ['sl_method=GET', 'sl_method=get', 'sl_nbf=-1', 'sl_nonce=q83vEjRWeJq83vEjRWeJqx', 'sl_max=007', 'sl_grp=a%20b', 'sl_grp=', 'sl_ver=', 'sl_ver=Vy8ieCI=', 'sl_ver=Vy8ieCJ', 'sl_ver=AA'])
    await refused(verifier, plain.replace('&sl_sig', `&${extra}&sl_sig`), 'malformed');
  // A version binds a GET response only.
  await refused(verifier, put.replace('&sl_sig', '&sl_ver=Vy8ieCI&sl_sig'), 'malformed');
});

test('bad_path: climbs, NUL, broken escapes, bad UTF-8', async () => {
  for (const path of ['/../private/a%20b.pdf', '/private/%2e%2e/%2E%2E/../x', '/private/a%00b', '/private/a%zz', '/private/a%c3', '/private/%ff', 'private/a', ''])
    await refused(verifier, path + plain.slice(plain.indexOf('?')), 'bad_path');
});

test('unknown_key: a key id the verifier does not hold', async () => {
  await refused(verifier, withParam(plain, 'sl_kid', '2'), 'unknown_key');
  const other = new Verifier({ keys: { old: SECRET } });
  await refused(other, plain, 'unknown_key');
});

test('bad_signature: any change to what is signed', async () => {
  const tampered = [
    plain.replace('a%20b.pdf', 'a%20c.pdf'),
    plain.replace('/private/', '/Private/'),
    plain.replace('x=1&y=2', 'y=2&x=1'),
    plain.replace('x=1&y=2', 'x=1&y=2&z=3'),
    plain.replace('x=1&y=2', 'x=1&x=1&y=2'),
    plain.replace('x=1&y=2', 'x=1'),
    plain.replace('x=1&y=2&', ''),
    plain.replace('x=1', 'x=%31'),
    withParam(plain, 'sl_exp', String(EXP + 1)),
    withParam(plain, 'sl_kid', 'old'),
    plain.replace('&sl_sig', '&sl_nbf=0&sl_sig'),
    plain.replace('&sl_sig', '&sl_grp=g&sl_sig'),
    put.replace('sl_method=PUT', 'sl_method=POST'),
    put.replace(/&sl_nbf=\d+/, ''),
  ];
  for (const link of tampered) await refused(verifier, link, 'bad_signature', { now: NOW + 60, method: 'PUT' });
  for (const link of tampered.slice(0, -2)) await refused(verifier, link, 'bad_signature');
});

test('bad_signature: another encoding of the same tag bytes', async () => {
  // The last character carries two unused bits; flipping them keeps the bytes.
  const sig = plain.slice(-43);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(sig[42]);
  for (const bits of [1, 2, 3]) {
    const variant = sig.slice(0, 42) + alphabet[last ^ bits];
    assert.deepEqual(Buffer.from(variant, 'base64url'), Buffer.from(sig, 'base64url'));
    await refused(verifier, plain.slice(0, -43) + variant, 'bad_signature');
  }
});

test('the dot-segment spelling of a path verifies as its canonical path', async () => {
  const ok = await verifier.verify(plain.replace('/private/', '/private/./x/../'), { now: NOW });
  assert.equal(ok.path, '/private/a b.pdf');
  assert.equal(ok.escapedPath, '/private/a%20b.pdf');
});

test('expired, not_yet_valid, too_long, with the leeway', async () => {
  await verifier.verify(plain, { now: EXP + 5 });
  await refused(verifier, plain, 'expired', { now: EXP + 6 });
  await verifier.verify(put, { now: NOW + 55, method: 'PUT' });
  await refused(verifier, put, 'not_yet_valid', { now: NOW + 54, method: 'PUT' });
  const long = await signer.sign('/private/a', { expiresAt: NOW + 604800 + 5 });
  await verifier.verify(long, { now: NOW });
  await refused(verifier, long, 'too_long', { now: NOW - 1 });
  const strict = new Verifier({ keys: { 1: SECRET }, leeway: 0, maxLifetime: 60 });
  await refused(strict, plain, 'too_long', { now: NOW });
  await refused(strict, plain, 'expired', { now: EXP + 1 });
});

test('checks run in order: signature before times, times before method', async () => {
  await refused(verifier, withParam(plain, 'sl_exp', '1'), 'bad_signature', { now: NOW, method: 'PUT' });
  await refused(verifier, plain, 'expired', { now: EXP + 60, method: 'PUT' });
  await refused(verifier, withParam(plain, 'sl_kid', 'nope') + '&sl_x=1', 'malformed');
});

test('wrong_method: HEAD is allowed on a GET link only', async () => {
  await verifier.verify(plain, { now: NOW, method: 'HEAD' });
  await refused(verifier, plain, 'wrong_method', { now: NOW, method: 'POST' });
  await refused(verifier, plain, 'wrong_method', { now: NOW, method: 'get' });
  await refused(verifier, put, 'wrong_method', { now: NOW + 60, method: 'GET' });
  await refused(verifier, put, 'wrong_method', { now: NOW + 60, method: 'HEAD' });
});

test('every reason has a test above', () => {
  assert.deepEqual([...REASONS].sort(), ['bad_path', 'bad_signature', 'expired', 'malformed', 'missing', 'not_yet_valid', 'outside_folder', 'too_long', 'unknown_key', 'wrong_method']);
});
