// The batch protocol through a real child process, as the Rust differential test drives it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { EXP, NOW, vectors } from './support.js';

const SCRIPT = fileURLToPath(new URL('../bin/batch.js', import.meta.url));

async function run(lines) {
  const child = spawn(process.execPath, [SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk));
  child.stdin.end(lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l)) + '\n').join(''));
  const [code] = await once(child, 'close');
  assert.equal(code, 0);
  return out.split('\n').slice(0, -1).map((line) => JSON.parse(line));
}

const KEYS = { 1: 'secret one', old: 'secret two' };
const mint = (extra) => ({ op: 'mint', secret: 'secret one', key_id: '1', path: '/private/a b.pdf', query: 'x=1&y=2', method: 'GET', not_before: null, expires: EXP, nonce: null, folder: false, folder_form: 'query', ...extra });
const verify = (link, extra) => ({ op: 'verify', keys: KEYS, link, method: 'GET', now: NOW, leeway: 5, max_lifetime: 604800, ...extra });

test('mint then verify, plain and folder links', async () => {
  const [plain, once_, query, path, upload] = await run([
    mint(),
    mint({ nonce: 'q83vEjRWeJq83vEjRWeJqw', version: '"v1"', group: 'g' }),
    mint({ folder: true, path: '/private/docs/' }),
    mint({ folder: true, path: '/private/docs/', folder_form: 'path' }),
    mint({ method: 'PUT', max_body: 1024, path: '/private/up.bin', query: '' }),
  ]);
  assert.equal(plain.link.split('?')[0], '/private/a%20b.pdf');
  assert.match(query.link, /^\/private\/docs\/\?sl_kid=1&sl_exp=\d+&sl_prefix=\/private\/docs\/&sl_sig=/);
  assert.match(path.link, /^\/private\/docs\/sl_t~1~\d+~[\w-]{43}\/$/);
  const replies = await run([
    verify(plain.link),
    verify(once_.link),
    verify(query.link.replace('/?', '/report.pdf?')),
    verify(path.link + 'report.pdf'),
    verify(upload.link, { method: 'PUT' }),
    verify(plain.link, { keys: { old: 'secret two' } }),
  ]);
  assert.deepEqual(replies[0], { ok: true, scope: 'path', path: '/private/a b.pdf', query: 'x=1&y=2', nonce: null, max_body: null, version: null, group: null });
  assert.deepEqual(replies[1], { ok: true, scope: 'path', path: '/private/a b.pdf', query: 'x=1&y=2', nonce: 'q83vEjRWeJq83vEjRWeJqw', max_body: null, version: '"v1"', group: 'g' });
  assert.deepEqual([replies[2].scope, replies[2].path, replies[3].path], ['prefix', '/private/docs/report.pdf', '/private/docs/report.pdf']);
  assert.equal(replies[4].max_body, 1024);
  assert.deepEqual(replies[5], { ok: false, reason: 'unknown_key' });
});

test('the known-answer vectors through the protocol', async () => {
  const plain = vectors.vectors.filter((v) => v.scope === 'path');
  const replies = await run(plain.map((v) => ({
    op: 'mint', secret: v.secret, key_id: v.key_id, path: v.path, query: v.query, method: v.method, not_before: v.not_before,
    expires: v.expires, nonce: v.nonce, folder: false, max_body: v.max_body, group: v.group,
    version: v.version === null ? null : Buffer.from(v.version, 'base64url').toString('latin1'),
  })));
  assert.deepEqual(replies.map((r) => r.link), plain.map((v) => v.link));
});

test('refusals come back as reasons, bad lines as errors, and nothing stops the stream', async () => {
  const [{ link }] = await run([mint()]);
  const replies = await run([
    'not json',
    verify(link, { now: EXP + 6 }),
    '{"op":"sing"}',
    verify(link, { method: 'POST' }),
    verify('/private/a%20b.pdf'),
    mint({ path: '/../x' }),
    mint({ key_id: 'a b' }),
    verify(link.replace('x=1&y=2', 'y=2&x=1')),
    '',
    verify(link, { now: EXP - 604800 - 6 }),
  ]);
  assert.deepEqual(replies, [
    { error: 'bad_input' },
    { ok: false, reason: 'expired' },
    { error: 'bad_input' },
    { ok: false, reason: 'wrong_method' },
    { ok: false, reason: 'missing' },
    { error: 'bad_path' },
    { error: 'malformed' },
    { ok: false, reason: 'bad_signature' },
    { error: 'bad_input' },
    { ok: false, reason: 'too_long' },
  ]);
});

test('integers past 2^53 are read exactly', async () => {
  // A string is not a number of seconds, however it reads.
  assert.deepEqual(await run([mint({ expires: '9223372036854775807' })]), [{ error: 'malformed' }]);
  const [max] = await run(['{"op":"mint","secret":"s","key_id":"1","path":"/p","expires":9223372036854775807,"max_body":9007199254740993}']);
  assert.ok(max.link.includes('sl_exp=9223372036854775807&sl_max=9007199254740993&'));
  const [ok] = await run([`{"op":"verify","keys":{"1":"s"},"link":"${max.link}","now":9223372036854775000}`]);
  assert.equal(ok.ok, true);
  const [over] = await run(['{"op":"mint","secret":"s","key_id":"1","path":"/p","expires":9223372036854775808}']);
  assert.deepEqual(over, { error: 'malformed' });
});

test('many lines: one reply each, in order, quickly', async () => {
  const count = 3000;
  const lines = [];
  for (let i = 0; i < count; i++) lines.push(i % 2 ? verify(`/private/${i}?sl_kid=1&sl_exp=${EXP}&sl_sig=${'A'.repeat(43)}`) : mint({ path: `/private/${i}` }));
  const started = Date.now();
  const replies = await run(lines);
  assert.equal(replies.length, count);
  replies.forEach((r, i) => {
    if (i % 2) assert.deepEqual(r, { ok: false, reason: 'bad_signature' });
    else assert.ok(r.link.startsWith(`/private/${i}?`));
  });
  assert.ok(Date.now() - started < 20000, 'took too long');
});

test('answers each line before the next arrives', async () => {
  const child = spawn(process.execPath, [SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdout.setEncoding('utf8');
  const next = () => once(child.stdout, 'data').then(([chunk]) => JSON.parse(chunk));
  child.stdin.write(JSON.stringify(mint()) + '\n');
  const { link } = await next();
  child.stdin.write(JSON.stringify(verify(link)) + '\n');
  assert.equal((await next()).ok, true);
  child.stdin.end();
  assert.deepEqual(await once(child, 'close'), [0, null]);
});
