// Folder links in both forms: what they grant and where that ends.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Signer, Verifier } from '../src/index.js';
import { EXP, NOW, SECRET, refused } from './support.js';

const signer = new Signer({ secret: SECRET, keyId: '1' });
const verifier = new Verifier({ keys: { 1: SECRET } });

const queryForm = await signer.signFolder('/private/tenant-7/', { expiresAt: EXP });
const pathForm = await signer.signFolder('/private/tenant-7/', { expiresAt: EXP, form: 'path' });
const params = queryForm.slice(queryForm.indexOf('?'));
const token = pathForm.slice('/private/tenant-7/'.length, -1);

test('the two forms look as SPEC.md says', () => {
  assert.match(queryForm, /^\/private\/tenant-7\/\?sl_kid=1&sl_exp=1767225600&sl_prefix=\/private\/tenant-7\/&sl_sig=[\w-]{43}$/);
  assert.match(pathForm, /^\/private\/tenant-7\/sl_t~1~1767225600~[\w-]{43}\/$/);
  assert.equal(queryForm.slice(-43), token.slice(-43), 'both forms sign the same message');
});

test('query form: any path under the folder, with the application query passed on', async () => {
  for (const path of ['/private/tenant-7/', '/private/tenant-7/a.pdf', '/private/tenant-7/deep/er/b%20c.ts'])
    assert.equal((await verifier.verify(path + params, { now: NOW })).scope, 'prefix');
  const ok = await verifier.verify('/private/tenant-7/x/y.ts' + params.replace('?', '?_=42&'), { now: NOW, method: 'HEAD' });
  assert.deepEqual([ok.path, ok.query, ok.folder], ['/private/tenant-7/x/y.ts', '_=42', '/private/tenant-7/']);
});

test('path form: the token comes out of the resource path', async () => {
  const ok = await verifier.verify(`/private/tenant-7/${token}/reports/q1.pdf?v=1`, { now: NOW });
  assert.deepEqual([ok.scope, ok.path, ok.escapedPath, ok.query], ['prefix', '/private/tenant-7/reports/q1.pdf', '/private/tenant-7/reports/q1.pdf', 'v=1']);
  assert.equal((await verifier.verify(`/private/tenant-7/${token}/`, { now: NOW })).path, '/private/tenant-7/');
  assert.equal((await verifier.verify(`/private/tenant-7/${token}`, { now: NOW })).path, '/private/tenant-7/');
});

test('outside_folder: /tenant-7 does not grant /tenant-70/', async () => {
  await refused(verifier, '/private/tenant-70/a.pdf' + params, 'outside_folder');
  await refused(verifier, '/private/tenant-7' + params, 'outside_folder');
  await refused(verifier, '/private/other/a.pdf' + params, 'outside_folder');
  await refused(verifier, '/private/tenant-7%2Fa.pdf' + params, 'bad_path');
  // The path form's folder is what precedes the token, so moving the token moves the folder.
  await refused(verifier, `/private/tenant-70/${token}/a.pdf`, 'bad_signature');
  await refused(verifier, `/private/${token}/tenant-7/a.pdf`, 'bad_signature');
});

test('dot segments climb out of the folder, or above the root', async () => {
  await refused(verifier, '/private/tenant-7/../tenant-70/a.pdf' + params, 'outside_folder');
  await refused(verifier, '/private/tenant-7/%2e%2e/secret.txt' + params, 'outside_folder');
  await refused(verifier, `/private/tenant-7/${token}/../../etc/passwd`, 'outside_folder');
  // An escaped "/" would make the decoded path name two different targets: refused.
  await refused(verifier, `/private/tenant-7/${token}/..%2F..%2Fetc/passwd`, 'bad_path');
  await refused(verifier, `/private/tenant-7/${token}/../../../../etc/passwd`, 'bad_path');
  // Climbing within the folder is only another spelling of a path inside it.
  assert.equal((await verifier.verify(`/private/tenant-7/${token}/a/../b.pdf`, { now: NOW })).path, '/private/tenant-7/b.pdf');
  // A climb before the token is part of how the folder was spelled; it resolves first.
  assert.equal((await verifier.verify(`/private/x/../tenant-7/${token}/b.pdf`, { now: NOW })).path, '/private/tenant-7/b.pdf');
});

test('folder links refuse what they cannot carry and non-canonical folders', async () => {
  for (const extra of ['sl_method=PUT', 'sl_nbf=1', 'sl_nonce=q83vEjRWeJq83vEjRWeJqw', 'sl_max=1', 'sl_grp=g', 'sl_ver=Vy8ieCI'])
    await refused(verifier, '/private/tenant-7/a' + params.replace('&sl_sig', `&${extra}&sl_sig`), 'malformed');
  for (const folder of ['/private/tenant-7', '/private/./tenant-7/', '/private//tenant-7/', 'private/tenant-7/', '/private/tenant%2D7/', '/private/tenant-7%2F'])
    await refused(verifier, '/private/tenant-7/a' + params.replace('sl_prefix=/private/tenant-7/', `sl_prefix=${folder}`), 'malformed');
  await refused(verifier, `/private/tenant-7/${token}/a${params}`, 'malformed');
  await refused(verifier, `/private/tenant-7/${token}/${token}/a`, 'malformed');
  for (const bad of [token.replace('sl_t', 'SL_T'), token.replace('sl_t', '%73l_t'), token + '~x~y', token.replace('~1~', '~1~0'), token.replace('~1~', '~1~~')])
    await refused(verifier, `/private/tenant-7/${bad}/a`, 'malformed');
  await refused(verifier, `/private/tenant-7/${token.replace('~1767225600~', '~1767225601~')}/a`, 'bad_signature');
});

test('"&", "=" and "+" in a folder are escaped in sl_prefix, and the link works', async () => {
  const link = await signer.signFolder('/private/a&b=c+d e/', { expiresAt: EXP });
  assert.ok(link.includes('sl_prefix=/private/a%26b%3Dc%2Bd%20e/&'));
  const ok = await verifier.verify(link.replace('/?', '/f.txt?'), { now: NOW });
  assert.equal(ok.path, '/private/a&b=c+d e/f.txt');
  await refused(verifier, link.replace('/?', '/f.txt?').replace('%26', '&'), 'malformed');
});

test('folder links expire, allow GET and HEAD only, and bind the key id', async () => {
  await refused(verifier, '/private/tenant-7/a' + params, 'expired', { now: EXP + 6 });
  await refused(verifier, `/private/tenant-7/${token}/a`, 'wrong_method', { now: NOW, method: 'PUT' });
  await refused(new Verifier({ keys: { 2: SECRET } }), `/private/tenant-7/${token}/a`, 'unknown_key');
});
