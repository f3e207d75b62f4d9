// What the signer mints, the verifier accepts, and reads back the same.
import test from 'node:test';
import assert from 'node:assert/strict';
import { LinkError, Signer, Verifier } from '../src/index.js';
import { EXP, NOW, SECRET } from './support.js';

const signer = new Signer({ secret: SECRET, keyId: 'k-2026.1' });
const verifier = new Verifier({ keys: new Map([['k-2026.1', new TextEncoder().encode(SECRET)]]) });

test('paths: decoded in, escaped in the link, decoded back', async () => {
  const cases = [
    ['/private/a b.pdf', '/private/a%20b.pdf'],
    ['/private/café/naïve (1)+[x].txt', '/private/caf%C3%A9/na%C3%AFve%20(1)+%5Bx%5D.txt'],
    ['/private/100%/q?#', '/private/100%25/q%3F%23'],
    ['/private/./x/../y//z/', '/private/y/z/'],
    ['/private/x/..', '/private/'],
    ['/private/\u{1F600}\uFEFF', '/private/%F0%9F%98%80%EF%BB%BF'],
    ['/', '/'],
  ];
  for (const [path, escaped] of cases) {
    const link = await signer.sign(path, { expiresAt: EXP });
    assert.equal(link.slice(0, link.indexOf('?')), escaped);
    const ok = await verifier.verify(link, { now: NOW });
    assert.equal(ok.escapedPath, escaped);
    assert.equal(ok.path, decodeURIComponent(escaped));
  }
});

test('application queries: unsafe bytes escaped, existing escapes kept, order kept', async () => {
  const cases = [
    ['a=1&a=2&empty=&flag', 'a=1&a=2&empty=&flag'],
    ['q=a b&r=é', 'q=a%20b&r=%C3%A9'],
    ['x=%2f&y=%zz&z=#', 'x=%2f&y=%25zz&z=%23'],
    ['b=2&a=1&&', 'b=2&a=1&&'],
    ['slot=1&tsl_x=2', 'slot=1&tsl_x=2'],
  ];
  for (const [query, carried] of cases) {
    const link = await signer.sign('/private/f', { expiresAt: EXP, query });
    assert.ok(link.startsWith(`/private/f?${carried}&sl_kid=`), link);
    assert.equal((await verifier.verify(link, { now: NOW })).query, carried);
  }
});

test('every option round-trips', async () => {
  const link = await signer.sign('/private/up/slot.bin', {
    expiresAt: new Date(EXP * 1000),
    notBefore: NOW - 10,
    method: 'PUT',
    oneTime: true,
    maxBody: 2n ** 40n,
    group: 'team_a',
  });
  assert.match(link, /sl_kid=k-2026\.1&sl_method=PUT&sl_nbf=1767221990&sl_exp=1767225600&sl_nonce=[\w-]{21}[AQgw]&sl_max=1099511627776&sl_grp=team_a&sl_sig=[\w-]{43}$/);
  const ok = await verifier.verify(link, { now: NOW, method: 'PUT' });
  assert.equal(ok.method, 'PUT');
  assert.equal(ok.notBefore, NOW - 10);
  assert.equal(ok.maxBody, 2 ** 40);
  assert.equal(ok.group, 'team_a');
  assert.equal(ok.nonce.length, 22);
  const version = await signer.sign('/private/v', { expiresAt: EXP, version: 'Tue, 24 Nov 2026 23:27:00 GMT; size=1024' });
  assert.equal((await verifier.verify(version, { now: NOW })).version, 'Tue, 24 Nov 2026 23:27:00 GMT; size=1024');
});

test('one-time nonces are fresh each time', async () => {
  const nonces = new Set();
  for (let i = 0; i < 50; i++) nonces.add((await verifier.verify(await signer.sign('/private/o', { expiresAt: EXP, oneTime: true }), { now: NOW })).nonce);
  assert.equal(nonces.size, 50);
});

test('expiresIn counts from now; the default clock is the real one', async () => {
  const before = Math.floor(Date.now() / 1000);
  const ok = await verifier.verify(await signer.sign('/private/soon', { expiresIn: 300 }));
  assert.ok(ok.expires >= before + 300 && ok.expires <= before + 302);
});

test('the largest expiry stays exact', async () => {
  const max = 2n ** 63n - 1n;
  const link = await signer.sign('/private/far', { expiresAt: max });
  assert.ok(link.includes('sl_exp=9223372036854775807&'));
  const lax = new Verifier({ keys: { 'k-2026.1': SECRET }, maxLifetime: max });
  assert.equal((await lax.verify(link, { now: 0 })).expires, max);
});

test('a custom prefix replaces sl_ everywhere, and sl_ becomes ordinary', async () => {
  const mine = new Signer({ secret: SECRET, keyId: '1', paramPrefix: 'tok-' });
  const theirs = new Verifier({ keys: { 1: SECRET }, paramPrefix: 'tok-' });
  const link = await mine.sign('/private/p', { expiresAt: EXP, query: 'sl_kid=app' });
  assert.match(link, /^\/private\/p\?sl_kid=app&tok-kid=1&tok-exp=\d+&tok-sig=/);
  assert.equal((await theirs.verify(link, { now: NOW })).query, 'sl_kid=app');
  const folder = await mine.signFolder('/private/d/', { expiresAt: EXP, form: 'path' });
  assert.match(folder, /^\/private\/d\/tok-t~1~/);
  assert.equal((await theirs.verify(folder + 'f', { now: NOW })).path, '/private/d/f');
  await assert.rejects(new Verifier({ keys: { 1: SECRET } }).verify(link, { now: NOW }), LinkError);
});

test('rotation: old links keep verifying while their key is held', async () => {
  const old = new Signer({ secret: 'the old secret', keyId: 'old' });
  const both = new Verifier({ keys: { old: 'the old secret', new: 'the new secret' } });
  const link = await old.sign('/private/r', { expiresAt: EXP });
  assert.equal((await both.verify(link, { now: NOW })).keyId, 'old');
  await assert.rejects(new Verifier({ keys: { new: 'the new secret' } }).verify(link, { now: NOW }), { reason: 'unknown_key' });
});
