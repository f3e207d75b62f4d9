// Seconds are BigInt inside: SPEC.md allows up to 2^63-1, past what a Number holds exactly.
import { MAX_SECONDS } from './rules.js';

/** A whole number of seconds from a Number, a BigInt or (for instants) a Date. */
export function toSeconds(value, what, { allowDate = true } = {}) {
  let seconds;
  if (typeof value === 'bigint') seconds = value;
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a whole number of seconds`);
    seconds = BigInt(value);
  } else if (allowDate && value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new RangeError(`${what} is an invalid Date`);
    seconds = BigInt(Math.floor(ms / 1000));
  } else throw new TypeError(`${what} must be a number${allowDate ? ', a bigint or a Date' : ' or a bigint'}`);
  if (seconds < 0n || seconds > MAX_SECONDS) throw new RangeError(`${what} must be between 0 and 2^63-1`);
  return seconds;
}

export const nowSeconds = () => BigInt(Math.floor(Date.now() / 1000));

/** Numbers stay Numbers when exact, so ordinary values are easy to use. */
export const plain = (value) => (value !== null && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);

export function rejectUnknown(options, known, what) {
  for (const name of Object.keys(options)) if (!known.includes(name)) throw new TypeError(`${what}: unknown option ${name}`);
}
