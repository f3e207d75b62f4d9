//! The native link scheme, version 1: which query parameters a link carries and what they sign.
//!
//! # Rules
//!
//! - A link is the canonical path, the application's own query (kept byte for byte), then the
//!   signing parameters, all named with one reserved prefix (`sl_` by default):
//!   `sl_kid` (key id), `sl_method` (only when not GET), `sl_nbf` (not before, optional),
//!   `sl_exp` (expiry), `sl_nonce` (one-time links), `sl_max` (upload size limit, optional),
//!   `sl_ver` (version), `sl_grp` (revocation group), `sl_ip` (client networks), and `sl_sig`
//!   last.
//! - Numbers are Unix seconds in plain decimal: digits only, no sign, no leading zero, at most
//!   `i64::MAX`.
//! - `sl_sig` is the 32-byte HMAC-SHA256 tag in base64url without padding (43 characters). The
//!   layer compares it, in constant time, with the canonical encoding of the expected tag, so
//!   any other encoding of the same bytes is refused.
//! - The tag covers the *canonical message*: the 6 bytes `tsl-v1`, then nine fields, each a
//!   4-byte big-endian length and its bytes: key id, method, scope (`path`), the decoded
//!   canonical path, the application's query (the raw query without the signing parameters,
//!   joined with `&` in the order given), not-before (empty when absent), expiry, nonce (empty
//!   when absent), upload size limit in bytes (empty when absent).
//! - A signing parameter given twice or without `=`, an unknown parameter with the reserved
//!   prefix (in any case or escaping), or a value in a non-canonical form makes the link
//!   malformed.
//! - A folder link signs the scope `prefix` and the folder instead of a path, binds no
//!   application query, and travels either as `sl_prefix=<folder>` in the query or as a path
//!   segment `sl_t~<key id>~<expiry>~<signature>` right after the folder.
//! - Parameters the layer ignores (`with_ignored_params`, such as `utm_*`) are left out of the
//!   application's query wherever they appear, matched by their raw name byte for byte.
//!
//! ```
//! use http::{Method, StatusCode};
//! use tower_secure_link::{Key, SecureLinkLayer};
//!
//! let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap());
//! let link = layer.signer().sign("/report.pdf?page=2").unwrap();
//! let status = |target: &str| match layer.check(&Method::GET, &target.parse().unwrap()) {
//!     Ok(_) => StatusCode::OK,
//!     Err(rejection) => rejection.status(),
//! };
//! assert_eq!(status(&link), StatusCode::OK);
//! assert_eq!(status(&link.replace("page=2", "page=3")), StatusCode::FORBIDDEN);
//! assert_eq!(status(&format!("{link}&sl_exp=1")), StatusCode::FORBIDDEN); // duplicated
//! ```

// The wire format is the leaf the rest of the crate builds on: nothing here imports from
// `key`, `signer`, `verify` or `rejection`.
pub(crate) mod delegation;
#[cfg(feature = "ed25519")]
pub(crate) mod ed25519;
mod error;
mod ignored;
mod message;
mod names;
mod networks;
pub(crate) mod opaque;
pub(crate) mod overrides;
mod path_token;
mod query;
mod signature;
mod syntax;
#[cfg(test)]
mod tests;

pub(crate) use error::TokenError;
pub(crate) use ignored::PatternError;
pub(crate) use message::{AppQuery, Claims, HmacSha256, Scope};
pub(crate) use names::ParamNames;
pub(crate) use networks::{is_networks, networks_contain, unmapped, Network, MAX_NETWORKS};
pub(crate) use path_token::{path_token_position, tilde_fields, PathToken};
pub(crate) use query::{append_signing_params, signing_params_len, SignedQuery};
pub(crate) use signature::{signature_matches, SignatureText};
pub(crate) use syntax::{
    is_group, is_method_scope, is_valid_key_id, parse_seconds, parse_uses, Decimal, DEFAULT_METHOD,
    GROUP_RULE, KEY_ID_MAX_LEN, MAX_USES, NONCE_LEN, SEXTETS,
};
