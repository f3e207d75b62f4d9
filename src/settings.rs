//! The configuration the layer, its services and the signer share, and the one decision the
//! layer makes per request.

use std::borrow::Cow;
use std::sync::Arc;

use http::{Method, Uri};

use crate::clock::Clock;
use crate::key::Keyring;
use crate::path::{decode_canonical, PathRejection, Prefixes, Route};
use crate::rejection::RejectionKind;
use crate::token::{signature_matches, ParamNames, SignedQuery, DEFAULT_METHOD};

/// Everything built once by [`SecureLinkLayer`](crate::SecureLinkLayer) and shared behind an
/// `Arc` by every service and signer made from it.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) keyring: Keyring,
    pub(crate) names: ParamNames,
    pub(crate) prefixes: Prefixes,
    pub(crate) default_lifetime: u64,
    pub(crate) max_lifetime: u64,
    pub(crate) leeway: u64,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) stealth: bool,
    pub(crate) signer_in_extensions: bool,
}

/// What the layer lets through.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Whether the request was admitted by a valid link (rather than being public).
    pub(crate) signed: bool,
    /// The path and query the inner service must see, when they differ from the request's.
    pub(crate) target: Option<String>,
}

impl Settings {
    /// Classifies a request and, when it is private, verifies its link.
    pub(crate) fn decide(&self, method: &Method, uri: &Uri) -> Result<Verdict, RejectionKind> {
        match self.prefixes.route(uri.path()) {
            Route::Reject(PathRejection::Ambiguous) => Err(RejectionKind::AmbiguousPath),
            Route::Reject(PathRejection::Malformed) => Err(RejectionKind::MalformedPath),
            Route::Public(Cow::Borrowed(_)) => Ok(Verdict {
                signed: false,
                target: None,
            }),
            Route::Public(Cow::Owned(path)) => Ok(Verdict {
                signed: false,
                target: Some(join_target(path, uri.query().unwrap_or(""))),
            }),
            Route::Private(path) => {
                let signed = SignedQuery::parse(uri.query().unwrap_or(""), &self.names)?;
                self.verify(&signed, &decode_canonical(&path), method)?;
                let app_query = signed.app_query.to_query();
                Ok(Verdict {
                    signed: true,
                    target: Some(join_target(path.into_owned(), &app_query)),
                })
            }
        }
    }

    /// Checks a link in the order that leaks least: key, signature, time, method.
    fn verify(
        &self,
        signed: &SignedQuery<'_>,
        decoded_path: &str,
        method: &Method,
    ) -> Result<(), RejectionKind> {
        let key = self
            .keyring
            .get(signed.key_id)
            .ok_or(RejectionKind::UnknownKey)?;
        let expected = signed.claims(decoded_path).signature(key);
        if !signature_matches(&expected, signed.signature) {
            return Err(RejectionKind::BadSignature);
        }
        let now = self.clock.now_unix();
        if now > signed.expires.saturating_add(self.leeway) {
            return Err(RejectionKind::Expired);
        }
        if signed
            .not_before
            .is_some_and(|not_before| not_before > now.saturating_add(self.leeway))
        {
            return Err(RejectionKind::NotYetValid);
        }
        let latest_expiry = now
            .saturating_add(self.max_lifetime)
            .saturating_add(self.leeway);
        if signed.expires > latest_expiry {
            return Err(RejectionKind::LifetimeTooLong);
        }
        let method_allowed = method.as_str() == signed.method
            || (signed.method == DEFAULT_METHOD && *method == Method::HEAD);
        if !method_allowed {
            return Err(RejectionKind::MethodNotAllowed);
        }
        if signed.nonce.is_some() {
            // One-time links need a store to record their use; without one the layer cannot
            // decide, so it does not serve.
            return Err(RejectionKind::StoreUnavailable);
        }
        Ok(())
    }
}

fn join_target(mut path: String, query: &str) -> String {
    if !query.is_empty() {
        path.reserve(query.len() + 1);
        path.push('?');
        path.push_str(query);
    }
    path
}
