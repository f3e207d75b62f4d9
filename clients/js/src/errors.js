/** A refused link. `reason` is one of `REASONS`; the message says more, for logs only. */
export class LinkError extends Error {
  constructor(reason, detail) {
    super(detail ? `${reason}: ${detail}` : reason);
    this.name = 'LinkError';
    this.reason = reason;
  }
}

export const REASONS = Object.freeze([
  'missing',
  'malformed',
  'unknown_key',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'too_long',
  'wrong_method',
  'outside_folder',
  'bad_path',
]);

// Minting errors keep the built-in types callers expect, and carry the reason the verifier
// would give the same value, so the batch script can report it.
export function mintError(Type, reason, message) {
  const error = new Type(message);
  error.reason = reason;
  return error;
}
