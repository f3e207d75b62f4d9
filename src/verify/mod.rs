//! The request decision: whether a request may pass, and as what.
//!
//! [`decide`] finds the path the client sent (the [`mount`](crate::mount) rules), routes it, and
//! for a private path hands what the request presents to the layer's link format, which answers
//! with a [`Verdict`]: the target the inner service sees and the [`Conditions`] still to meet.
//! Nothing here touches the store or the inner service; the [`service`](crate::service) does.
//!
//! # Glossary
//!
//! One verb per step, in code and docs alike:
//!
//! | verb | means | where |
//! | --- | --- | --- |
//! | route | classify a path: public, private, or refused (ambiguous, malformed) | `path::Prefixes::route` |
//! | decide | the whole per-request decision: client path, route, admit | [`decide`] |
//! | admit | read what a request presents for one format and verify it: a verdict or a refusal | `native::admit`, `folder::admit_*`, `cookie::admit`, ... |
//! | verify | a signature (or a seal) against the key the link names | `steps::verify`, `Key::verifies` |
//! | validate | a verified link's times, then its method | `steps::validate` |
//! | check | the stateless public call: decide, without the store or a service | `SecureLinkLayer::check` |
//! | consume | ask the store to record a one-time use (and whether a group is revoked) | the service's store gate |
//! | grant | mint the session cookie a folder link's use earns | `cookie::grant` |
//! | seal / open | wrap and unwrap an opaque link's claims | `signer::opaque` seals, `opaque` opens |
//!
//! And one noun per thing:
//!
//! | noun | means | not to be confused with |
//! | --- | --- | --- |
//! | private prefix | a path prefix the layer guards (`with_private_prefix`) | a folder |
//! | folder | what a folder link grants: every path under it (`folder_link`, `FolderLinkBuilder`) | a private prefix, which needs no link to be configured |
//! | format | how a link is written and checked: native, folder, cookie, nginx, opaque (the modules below) | a scheme |
//! | scheme | which key material the layer holds: a keyring (native) or nginx's secret (`config::Scheme`) | a format |
//! | token | the wire format's pieces (`token::`): parameters, the message, path tokens, opaque framing | a link, which is a whole URL |
//! | nonce store | where uses are counted once across a fleet: one-time nonces and revoked groups (`NonceStore`) | a cache |
//!
//! # Formats
//!
//! | format | module | carried in |
//! | --- | --- | --- |
//! | native links, version 1 | `native` | the query (`sl_kid`, ..., `sl_sig`) |
//! | folder links | `folder` | a path segment after the folder, or `sl_prefix` in the query |
//! | folder session cookies | `cookie` | a `Cookie` header, instead of a link |
//! | nginx `secure_link_md5`, legacy `secure_link_secret` | `nginx` | the query / a path segment |
//! | opaque links | `opaque` | one path segment under the opaque prefix |
//!
//! Dependencies point one way: this module calls the formats; the formats build on `verdict`
//! (what they read and return) and `steps` (the shared key, time and method checks), never on
//! this module or on each other (a folder link's use grants a cookie: `folder` calls `cookie`).
//! Adding a format touches its module and the match in `admit`.

use std::borrow::Cow;

use http::header::COOKIE;
use http::{Extensions, HeaderMap, Method, Uri};

use crate::config::{Scheme, Settings};
use crate::key::Keyring;
use crate::mount::{self, ClientPath};
use crate::path::{PathRejection, Route};
use crate::rejection::RejectionKind;
use crate::token::SignedQuery;

pub(crate) mod cookie;
mod delegated;
mod folder;
mod native;
#[cfg(feature = "nginx")]
mod nginx;
pub(crate) mod opaque;
mod steps;
mod verdict;

use crate::token::path_token_position;
use verdict::Presented;
pub(crate) use verdict::{Conditions, OnSuccess, OneTimeUse, Verdict};

/// Classifies a request by the path its client sent and, when it is private, verifies its
/// link. The verdict's path is the one the inner service must see.
pub(crate) fn decide<'a>(
    settings: &'a Settings,
    method: &Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
) -> Result<Verdict<'a, 'a>, RejectionKind> {
    // Before any path is read: a target with no path, or a request naming its host twice,
    // is refused whatever its path (the `host` module; no header lookup in the usual case).
    crate::host::request_host(uri, headers)?;
    let query = uri.query().unwrap_or("");
    // HTTP/2 carries the host here rather than in a `Host` header.
    let authority = uri.authority().map(http::uri::Authority::as_str);
    let request = Presented {
        path: Cow::Borrowed(uri.path()),
        raw_path: uri.path(),
        query,
        method,
        headers,
        authority,
        extensions,
    };
    match mount::client_path(uri, extensions, settings.mount.as_deref()) {
        ClientPath::AsSeen => decide_path(settings, request.at(uri.path())),
        ClientPath::Routed => {
            let verdict = decide_path(settings, request.at(uri.path()))?;
            refuse_rerouted(settings, uri.path(), &verdict)?;
            Ok(verdict)
        }
        ClientPath::Nested {
            full,
            mount_segments,
        } => {
            let verdict = decide_path(settings, request.at(full))?;
            refuse_rerouted(settings, full, &verdict)?;
            verdict.unmounted(mount::leading_segments(full, mount_segments))
        }
        ClientPath::Mounted { mount, seen } => {
            let mut buffer = [0u8; mount::JOIN_BUFFER];
            let full = mount::joined(mount, seen, &mut buffer);
            let verdict = decide_path(settings, request.at(&full))?;
            refuse_rerouted(settings, &full, &verdict)?;
            verdict.unmounted(mount)
        }
        ClientPath::Rewritten { original } => {
            // Something between the router and the layer changed the path. The router chose
            // by the original: a private original must not pass as a public rewrite.
            let seen = decide_path(settings, request.at(uri.path()))?;
            let original_public = matches!(settings.prefixes.route(original), Route::Public(_));
            if !seen.is_signed() && !original_public {
                return Err(RejectionKind::AmbiguousPath);
            }
            refuse_rerouted(settings, uri.path(), &seen)?;
            Ok(seen)
        }
    }
}

/// A router has already chosen the service behind the layer by `path` (the layer sits behind
/// `Router::layer`, inside a nest, or under a mount path). For an opaque link that choice was
/// made for `/s/<token>`, never for the hidden target: a mount deeper in, a nest of its own or
/// a route that shadows part of another could all serve the target from the wrong place, and
/// the layer sees none of them. So an opaque link is refused there; it needs the layer in front
/// of all routing (`layer.layer(router)`).
fn refuse_rerouted(
    settings: &Settings,
    path: &str,
    verdict: &Verdict<'_, '_>,
) -> Result<(), RejectionKind> {
    if verdict.is_signed() && opaque_token(settings, path).is_some() {
        return Err(RejectionKind::OutsideMount);
    }
    Ok(())
}

/// The token of an opaque link, when `raw_path` lies under the opaque prefix.
fn opaque_token<'p>(settings: &Settings, raw_path: &'p str) -> Option<&'p str> {
    settings
        .opaque_prefix
        .as_deref()
        .and_then(|prefix| raw_path.strip_prefix(prefix))
}

/// [`decide`] for one reading of the client's path (`presented.raw_path`; its `path` is
/// replaced by the canonical one once routed).
fn decide_path<'p, 'q>(
    settings: &'q Settings,
    presented: Presented<'p, 'q, '_>,
) -> Result<Verdict<'p, 'q>, RejectionKind> {
    let raw_path = presented.raw_path;
    if let Some(token) = opaque_token(settings, raw_path) {
        return admit_opaque(settings, token, presented);
    }
    match settings.prefixes.route(raw_path) {
        Route::Reject(PathRejection::Ambiguous) => Err(RejectionKind::AmbiguousPath),
        Route::Reject(PathRejection::Malformed) => Err(RejectionKind::MalformedPath),
        Route::Public(Cow::Borrowed(_)) => Ok(Verdict::Public),
        Route::Public(Cow::Owned(path)) => Ok(Verdict::PublicRewritten {
            path,
            query: presented.query,
        }),
        Route::Private(path) => admit(settings, Presented { path, ..presented }),
    }
}

/// Opens an opaque link (the path under the layer's opaque prefix) and validates what it hides.
fn admit_opaque<'p, 'q>(
    settings: &'q Settings,
    token: &str,
    presented: Presented<'p, 'q, '_>,
) -> Result<Verdict<'p, 'q>, RejectionKind> {
    match &settings.scheme {
        Scheme::Native(keyring) => opaque::admit(settings, &keyring.load(), token, presented),
        #[cfg(feature = "nginx")]
        Scheme::Nginx(_) => Err(RejectionKind::MalformedToken),
    }
}

/// Verifies a private request with the layer's format.
fn admit<'p, 'q>(
    settings: &'q Settings,
    presented: Presented<'p, 'q, '_>,
) -> Result<Verdict<'p, 'q>, RejectionKind> {
    match &settings.scheme {
        Scheme::Native(keyring) => {
            let keyring = keyring.load();
            let token_at = path_token_position(&presented.path, &settings.names);
            if !presented.headers.contains_key(COOKIE) {
                // The common case: no session cookie to fall back on.
                return admit_link(settings, &keyring, presented, token_at);
            }
            // A session cookie stands in for no link at all, or for a folder token that has
            // expired (a player still fetching by the link's path, inside its session); the
            // cookie admits the path without the token segment.
            let request = cookie::Request::of(&presented);
            let (path, replaces) = match token_at {
                Some(at) => (
                    Cow::Owned(folder::without_token(&presented.path, at)),
                    RejectionKind::Expired,
                ),
                None => (presented.path.clone(), RejectionKind::MissingToken),
            };
            match admit_link(settings, &keyring, presented, token_at) {
                Err(kind) if kind == replaces => {
                    cookie::admit(settings, &keyring, path, request).ok_or(kind)
                }
                verdict => verdict,
            }
        }
        #[cfg(feature = "nginx")]
        Scheme::Nginx(scheme) => nginx::admit(settings, scheme, presented),
    }
}

/// A native link: a folder token in the path (at `token_at`), or signing parameters in the
/// query, which sign either this path or (`sl_prefix`) a folder holding it.
fn admit_link<'p, 'q>(
    settings: &'q Settings,
    keyring: &Keyring,
    presented: Presented<'p, 'q, '_>,
    token_at: Option<(usize, usize)>,
) -> Result<Verdict<'p, 'q>, RejectionKind> {
    if let Some(at) = token_at {
        return folder::admit_path_token(settings, keyring, presented, at);
    }
    let signed = SignedQuery::parse(presented.query, &settings.names)?;
    match signed.prefix {
        Some(escaped_folder) => {
            folder::admit_query_token(settings, keyring, presented, &signed, escaped_folder)
        }
        None => native::admit(settings, keyring, presented, signed),
    }
}

/// Whether a request carries what looks like a link of this layer's format (for the warning
/// about links arriving on public paths).
#[cfg(feature = "tracing")]
pub(crate) fn carries_link(settings: &Settings, uri: &Uri) -> bool {
    let has_param = |name: &str| {
        uri.query().is_some_and(|query| {
            query.split('&').any(|pair| {
                pair.split_once('=')
                    .map_or(pair, |(key, _)| key)
                    .eq_ignore_ascii_case(name)
            })
        })
    };
    match &settings.scheme {
        Scheme::Native(_) => {
            has_param(&settings.names.signature)
                || path_token_position(uri.path(), &settings.names).is_some()
        }
        #[cfg(feature = "nginx")]
        Scheme::Nginx(nginx) => has_param(nginx.token_param()),
    }
}
