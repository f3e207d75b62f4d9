#!/usr/bin/env node
// The batch protocol of the differential tests: one JSON request per stdin line, one JSON
// reply per stdout line, in order.
import { createInterface } from 'node:readline';
import { LinkError, Signer, Verifier } from '../src/index.js';

// Refusals are ordinary answers here and their stacks are never shown; capturing them was a
// large part of the cost of a refused line.
Error.stackTraceLimit = 0;

// JSON.parse rounds integers past 2^53; the protocol's seconds go up to 2^63-1. Long integer
// literals outside strings are therefore turned into marked strings and read back as BigInt.
const BIG = '\u0000big:';
function parseLine(line) {
  if (!/\d{16}/.test(line)) return JSON.parse(line);
  let out = '';
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (inString) {
      if (ch === '\\') out += line[i++];
      else if (ch === '"') inString = false;
      out += line[i] ?? '';
      continue;
    }
    const number = /^-?\d{16,}(?![.eE\d])/.exec(line.slice(i, i + 64));
    if (number && !/[\d.eE+-]/.test(line[i - 1] ?? '')) {
      out += JSON.stringify(BIG + number[0]);
      i += number[0].length - 1;
      continue;
    }
    if (ch === '"') inString = true;
    out += ch;
  }
  return JSON.parse(out, (_, v) => (typeof v === 'string' && v.startsWith(BIG) ? BigInt(v.slice(BIG.length)) : v));
}

function reply(object) {
  const body = Object.entries(object).map(([k, v]) => `${JSON.stringify(k)}:${typeof v === 'bigint' ? v : JSON.stringify(v)}`);
  return `{${body.join(',')}}\n`;
}

const absent = (v) => (v === null || v === undefined ? undefined : v);
// Requests repeat the same keys; importing a key per line would dominate the cost.
const cache = new Map();
function cached(key, make) {
  if (!cache.has(key)) {
    if (cache.size > 1000) cache.clear();
    cache.set(key, make());
  }
  return cache.get(key);
}

async function mint(r) {
  const signer = cached(JSON.stringify(['mint', r.secret, r.key_id]), () => new Signer({ secret: r.secret, keyId: r.key_id }));
  if (r.folder === true) return { link: await signer.signFolder(r.path, { expiresAt: r.expires, form: r.folder_form ?? 'query' }) };
  const link = await signer.sign(r.path, {
    expiresAt: r.expires,
    notBefore: absent(r.not_before),
    method: absent(r.method),
    query: absent(r.query),
    nonce: absent(r.nonce),
    maxBody: absent(r.max_body),
    version: absent(r.version),
    group: absent(r.group),
  });
  return { link };
}

async function verify(r) {
  const settings = { keys: r.keys, leeway: absent(r.leeway), maxLifetime: absent(r.max_lifetime) };
  const verifier = cached(JSON.stringify(['verify', r.keys, String(r.leeway), String(r.max_lifetime)]), () => new Verifier(settings));
  try {
    const ok = await verifier.verify(r.link, { method: absent(r.method), now: r.now });
    const { scope, path, query, nonce, maxBody, version, group } = ok;
    return { ok: true, scope, path, query, nonce, max_body: maxBody, version, group };
  } catch (error) {
    if (error instanceof LinkError) return { ok: false, reason: error.reason };
    throw error;
  }
}

async function handle(line) {
  let request;
  try {
    request = parseLine(line);
  } catch {
    return reply({ error: 'bad_input' });
  }
  try {
    if (request?.op === 'mint') return reply(await mint(request));
  } catch (error) {
    // The signer refuses what a verifier would refuse; plain type and range errors are values
    // out of their canonical range, which a verifier calls malformed too.
    return reply({ error: error?.reason ?? 'malformed' });
  }
  try {
    if (request?.op === 'verify') return reply(await verify(request));
  } catch {
    return reply({ error: 'bad_input' });
  }
  return reply({ error: 'bad_input' });
}

// Web Crypto runs each HMAC as a job on a thread pool, so lines are started as they arrive and
// only their replies are chained: they leave in input order, and a client that waits for each
// reply before sending the next line is still answered at once. Reading pauses while many
// replies are outstanding, to bound memory.
const HIGH = 512;
let outstanding = 0;
let chain = Promise.resolve();
const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
input.on('line', (line) => {
  const answer = handle(line).catch(() => reply({ error: 'bad_input' }));
  if (++outstanding >= HIGH) input.pause();
  chain = chain
    .then(() => answer)
    .then((text) => {
      process.stdout.write(text);
      if (--outstanding === HIGH / 2) input.resume();
    });
});
input.on('close', () => chain.then(() => (process.exitCode = 0)));
