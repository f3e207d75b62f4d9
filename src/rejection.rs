//! Why a request was refused, and the response that says so.
//!
//! Every refusal is a [`Rejection`]: an opaque value whose [`kind`](Rejection::kind) names the
//! reason, for logs and metrics. The response that reaches the client says as little as possible:
//! by default a bare status and an empty body. Whatever builds the response, the layer then puts
//! the `Rejection` into the response's extensions and sets `Cache-Control: no-store`.
//!
//! | situation | status |
//! | --- | --- |
//! | no token, malformed token, bad signature, unknown key id, wrong method, lifetime over the maximum, a client outside the link's networks | 403 |
//! | valid signature but expired, not yet valid, or one-time link already used | 410 |
//! | ambiguous or malformed path under a private prefix | 400 |
//! | a valid link whose target lies outside the mount the request was routed to | 403 |
//! | two hosts, a `Host` differing from the authority, a target that is not a path or URL | 400 |
//! | one-time store unreachable | 503 |
//! | the service redirected an opaque link (the redirect would show the hidden target) | 404 |
//! | upload over the slot's size limit / of unknown length | 413 / 411 |
//! | stealth mode | 404 for all of the above |

use std::fmt;

use http::{Response, StatusCode};

/// Why a request for a private path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rejection {
    kind: RejectionKind,
    stealth: bool,
}

/// The reasons a request can be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// The request carried no signing parameters.
    MissingToken,
    /// A signing parameter was missing, repeated, unknown or not in its canonical form.
    MalformedToken,
    /// The link names a key id the keyring does not hold.
    UnknownKey,
    /// The signature does not match the link.
    BadSignature,
    /// The link's expiry has passed.
    Expired,
    /// The link's not-before time has not come yet.
    NotYetValid,
    /// The link expires further ahead than the maximum lifetime allows.
    LifetimeTooLong,
    /// The request's method is not the one the link was minted for.
    MethodNotAllowed,
    /// A folder link was used for a path outside its folder.
    OutsideScope,
    /// The one-time link was used already.
    AlreadyUsed,
    /// The one-time store could not be reached, so the link's use could not be recorded.
    StoreUnavailable,
    /// The upload is larger than the slot's limit.
    PayloadTooLarge,
    /// The upload slot has a size limit and the body's length is not known in advance.
    LengthRequired,
    /// The path reads differently to different servers, and one reading is private.
    AmbiguousPath,
    /// The path under a private prefix holds a bad escape, a NUL, invalid UTF-8 or climbs above
    /// the root.
    MalformedPath,
    /// A version-bound link: the resource no longer has the version the link was minted for.
    VersionChanged,
    /// The link's revocation group was revoked.
    Revoked,
    /// The link is valid, but its target does not lie where the service behind the layer was
    /// routed (the layer sits inside a mount, or behind a router that already chose a route).
    OutsideMount,
    /// The request's host is ambiguous: two `Host` headers, or a `Host` that differs from the
    /// target's authority (HTTP/2 `:authority`).
    AmbiguousHost,
    /// The request target is neither a path (origin form), nor an absolute URL, nor `*`.
    MalformedTarget,
    /// The service answered an opaque link with a redirect, which would show the hidden target
    /// (a folder minted without its trailing `/`, say).
    OpaqueRedirect,
    /// The link is bound to client networks and the request comes from none of them (or the
    /// layer could not tell where it comes from).
    IpNotAllowed,
    /// A link a delegated (child) key signed, outside its delegation: another folder, a method
    /// it was not given, an expiry past its deadline, or without its revocation group.
    OutsideDelegation,
    /// Not a refusal: a confirm link opened with GET or HEAD, answered (200) with the page whose
    /// button POSTs to it. Nothing was used; the responder writes the page.
    ConfirmationRequired,
    /// A one-time link fetched by a prefetch (`Sec-Purpose: prefetch`, `Purpose: prefetch`):
    /// refused without using it, so the person's own click still works.
    Prefetch,
}

impl RejectionKind {
    /// The status this reason gets when stealth mode is off.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingToken
            | Self::MalformedToken
            | Self::UnknownKey
            | Self::BadSignature
            | Self::LifetimeTooLong
            | Self::MethodNotAllowed
            | Self::OutsideScope
            | Self::OutsideMount
            | Self::IpNotAllowed
            | Self::OutsideDelegation => StatusCode::FORBIDDEN,
            Self::ConfirmationRequired => StatusCode::OK,
            Self::Expired
            | Self::NotYetValid
            | Self::AlreadyUsed
            | Self::VersionChanged
            | Self::Revoked => StatusCode::GONE,
            Self::StoreUnavailable | Self::Prefetch => StatusCode::SERVICE_UNAVAILABLE,
            Self::OpaqueRedirect => StatusCode::NOT_FOUND,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::LengthRequired => StatusCode::LENGTH_REQUIRED,
            Self::AmbiguousPath
            | Self::MalformedPath
            | Self::AmbiguousHost
            | Self::MalformedTarget => StatusCode::BAD_REQUEST,
        }
    }

    /// A short lower-case name, stable for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::MalformedToken => "malformed_token",
            Self::UnknownKey => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::LifetimeTooLong => "lifetime_too_long",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::OutsideScope => "outside_scope",
            Self::AlreadyUsed => "already_used",
            Self::StoreUnavailable => "store_unavailable",
            Self::PayloadTooLarge => "payload_too_large",
            Self::LengthRequired => "length_required",
            Self::AmbiguousPath => "ambiguous_path",
            Self::MalformedPath => "malformed_path",
            Self::VersionChanged => "version_changed",
            Self::Revoked => "revoked",
            Self::OutsideMount => "outside_mount",
            Self::AmbiguousHost => "ambiguous_host",
            Self::MalformedTarget => "malformed_target",
            Self::OpaqueRedirect => "opaque_redirect",
            Self::IpNotAllowed => "ip_not_allowed",
            Self::OutsideDelegation => "outside_delegation",
            Self::ConfirmationRequired => "confirmation_required",
            Self::Prefetch => "prefetch",
        }
    }
}

impl Rejection {
    pub(crate) fn new(kind: RejectionKind, stealth: bool) -> Self {
        Self { kind, stealth }
    }

    /// Why the request was refused.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The status the client gets: the reason's own, or 404 in stealth mode.
    pub fn status(&self) -> StatusCode {
        // The confirmation page is the link working, not a refusal to hide.
        if self.stealth && self.kind != RejectionKind::ConfirmationRequired {
            StatusCode::NOT_FOUND
        } else {
            self.kind.status()
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            RejectionKind::MissingToken => "the request carries no signed link parameters",
            RejectionKind::MalformedToken => "the signed link parameters are malformed",
            RejectionKind::UnknownKey => "the link names an unknown key",
            RejectionKind::BadSignature => "the link's signature does not match",
            RejectionKind::Expired => "the link has expired",
            RejectionKind::NotYetValid => "the link is not valid yet",
            RejectionKind::LifetimeTooLong => "the link's lifetime exceeds the maximum",
            RejectionKind::MethodNotAllowed => "the link does not allow this method",
            RejectionKind::OutsideScope => "the folder link does not cover this path",
            RejectionKind::AlreadyUsed => "the one-time link was used already",
            RejectionKind::StoreUnavailable => "the one-time link store is unavailable",
            RejectionKind::PayloadTooLarge => "the upload exceeds the slot's size limit",
            RejectionKind::LengthRequired => "the upload slot needs a body of known length",
            RejectionKind::AmbiguousPath => "the path is ambiguous under a private prefix",
            RejectionKind::MalformedPath => "the path under a private prefix is malformed",
            RejectionKind::VersionChanged => "the resource changed since the link was minted",
            RejectionKind::Revoked => "the link's revocation group was revoked",
            RejectionKind::OutsideMount => {
                "the link's target does not lie where this service was routed"
            }
            RejectionKind::AmbiguousHost => "the request names its host more than one way",
            RejectionKind::MalformedTarget => "the request target is not a path or absolute URL",
            RejectionKind::OpaqueRedirect => {
                "the service redirected an opaque link, which would show its target"
            }
            RejectionKind::IpNotAllowed => "the link does not work from this client address",
            RejectionKind::OutsideDelegation => "the link lies outside its key's delegation",
            RejectionKind::ConfirmationRequired => {
                "this link works once: confirm with the button to open it"
            }
            RejectionKind::Prefetch => "a one-time link is not used by a prefetch",
        })
    }
}

impl std::error::Error for Rejection {}

/// Builds the response sent for a [`Rejection`].
///
/// Implemented for closures `Fn(&Rejection) -> Response<B>`, so a custom page is one line:
///
/// ```
/// use http::{Response, StatusCode};
/// use tower_secure_link::{Key, SecureLinkLayer, Rejection};
///
/// let key = Key::new("1", [7u8; 32]).unwrap();
/// let layer = SecureLinkLayer::new(key).with_rejection_response(|rejection: &Rejection| {
///     let mut response = Response::new(format!("This link cannot be used ({}).", rejection.status()));
///     *response.status_mut() = rejection.status();
///     response
/// });
/// # let _ = layer;
/// ```
pub trait RejectionResponse<B> {
    /// The response for this rejection. The layer adds the rejection to its extensions and
    /// `Cache-Control: no-store` afterwards.
    fn response(&self, rejection: &Rejection) -> Response<B>;
}

impl<B, F> RejectionResponse<B> for F
where
    F: Fn(&Rejection) -> Response<B>,
{
    fn response(&self, rejection: &Rejection) -> Response<B> {
        self(rejection)
    }
}

/// Builds the answer to a refusal: the responder's response, `Cache-Control: no-store`, and the
/// rejection in its extensions.
pub(crate) fn refuse<B, R: RejectionResponse<B>>(
    responder: &R,
    kind: RejectionKind,
    stealth: bool,
) -> Response<B> {
    let rejection = Rejection::new(kind, stealth);
    let mut response = responder.response(&rejection);
    let headers = response.headers_mut();
    headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    if kind == RejectionKind::ConfirmationRequired {
        // The page of a link that works once: not indexed, not framed elsewhere, never named
        // in a referrer, and its form may post only back here.
        for (name, value) in CONFIRMATION_HEADERS {
            headers.insert(name, http::HeaderValue::from_static(value));
        }
    }
    response.extensions_mut().insert(rejection);
    response
}

const CONFIRMATION_HEADERS: [(http::HeaderName, &str); 3] = [
    (http::header::REFERRER_POLICY, "no-referrer"),
    (
        http::header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'self'",
    ),
    (
        http::HeaderName::from_static("x-robots-tag"),
        "noindex, nofollow",
    ),
];

/// A responder that writes small HTML pages: for a refusal, its status and reason; for a
/// [confirm link](crate::LinkBuilder::confirm) opened with GET, the page whose one button
/// POSTs back to the link (a form without `action` posts to the page's own URL, so the page
/// never needs to know it). For any body type built from a `String` (axum's, `String`,
/// `http_body_util::Full<Bytes>`).
///
/// ```
/// use http::{Method, Response};
/// use tower_secure_link::{Key, PageResponse, RejectionResponse, SecureLinkLayer};
///
/// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap())
///     .with_rejection_response(PageResponse);
/// let link = layer.signer().link("/magic/42").confirm().to_target().unwrap();
/// let rejection = layer.check(&Method::GET, &link.parse().unwrap()).unwrap_err();
/// let page: Response<String> = PageResponse.response(&rejection);
/// assert!(page.body().contains("<form method=\"post\">"));
/// assert_eq!(page.status(), 200);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct PageResponse;

impl<B: From<String>> RejectionResponse<B> for PageResponse {
    fn response(&self, rejection: &Rejection) -> Response<B> {
        let html = match rejection.kind() {
            RejectionKind::ConfirmationRequired => CONFIRM_PAGE.to_owned(),
            _ => {
                let status = rejection.status();
                let reason = status.canonical_reason().unwrap_or("Refused");
                // Stealth keeps the reason to itself too.
                let detail = if status == StatusCode::NOT_FOUND && rejection.stealth {
                    String::new()
                } else {
                    format!("<p>{rejection}.</p>")
                };
                format!(
                    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
                     <title>{code} {reason}</title></head><body><h1>{reason}</h1>{detail}\
                     </body></html>",
                    code = status.as_u16(),
                )
            }
        };
        let mut response = Response::new(B::from(html));
        *response.status_mut() = rejection.status();
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    }
}

/// The page a confirm link answers GET with: one button, a form that POSTs to the page's own
/// URL, no script.
const CONFIRM_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"robots\" content=\"noindex, nofollow\"><title>Open this link</title>\
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}\
button{font-size:1.1rem;padding:.6rem 1.4rem}</style></head><body>\
<h1>Open this link</h1><p>This link works once. Open it now with the button below.</p>\
<form method=\"post\"><button type=\"submit\" id=\"confirm\">Open</button></form>\
</body></html>";

/// The default rejection response: the status alone, with an empty body.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRejectionResponse;

impl<B: Default> RejectionResponse<B> for DefaultRejectionResponse {
    fn response(&self, rejection: &Rejection) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = rejection.status();
        response
    }
}

// The wire format reports its own errors so that `token/` imports nothing above it; this is
// where they become the layer's reasons.
impl From<crate::token::TokenError> for RejectionKind {
    fn from(error: crate::token::TokenError) -> Self {
        match error {
            crate::token::TokenError::Missing => Self::MissingToken,
            crate::token::TokenError::Malformed => Self::MalformedToken,
        }
    }
}
