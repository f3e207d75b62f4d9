// tower-secure-link native links (SPEC.md, format v1), with Web Crypto only.
export { Signer } from './signer.js';
export { Verifier } from './verifier.js';
export { LinkError, REASONS } from './errors.js';
