import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LinkError } from '../src/index.js';

export const vectors = JSON.parse(readFileSync(new URL('../../../tests/vectors/native-v1.json', import.meta.url), 'utf8'));

export const SECRET = '0123456789abcdef0123456789abcdef';
export const NOW = 1767222000;
export const EXP = 1767225600;

/** Asserts that verifying `target` fails with `reason`. */
export async function refused(verifier, target, reason, options = { now: NOW }) {
  await assert.rejects(verifier.verify(target, options), (error) => {
    assert.ok(error instanceof LinkError, `expected a LinkError, got ${error}`);
    assert.equal(error.reason, reason, `${target}: ${error.message}`);
    return true;
  });
}

/** Replaces the value of one query parameter in a link. */
export function withParam(link, name, value) {
  return link.replace(new RegExp(`([?&]${name}=)[^&]*`), `$1${value}`);
}
