//! Link formats: how a private request proves it may pass.
//!
//! Each format lives in its own module behind one small interface: it reads what the request
//! carries (query parameters, a path segment), verifies it against the keys and the clock, and
//! returns the [`Verdict`] (the target the inner service sees and the conditions still to check:
//! one-time use, upload limit). [`Settings`] only classifies the path and hands private requests
//! here; [`admit`] picks the format. Adding a format touches its module and the match in
//! [`admit`].
//!
//! | format | module | carried in |
//! | --- | --- | --- |
//! | native links, version 1 | `native` | the query (`sl_kid`, ..., `sl_sig`) |
//! | folder links | `folder` | a path segment after the folder, or `sl_prefix` in the query |
//! | nginx `secure_link_md5`, legacy `secure_link_secret` | `nginx` | the query / a path segment |
//! | opaque links | `opaque` | one path segment under the opaque prefix |

use std::borrow::Cow;

use http::header::COOKIE;
use http::{Extensions, HeaderMap, Method};

use crate::key::Keyring;
use crate::rejection::RejectionKind;
use crate::settings::{Scheme, Settings, Verdict};

pub(crate) mod cookie;
mod folder;
mod native;
#[cfg(feature = "nginx")]
mod nginx;
pub(crate) mod opaque;

pub(crate) use folder::path_token_position;

/// A request the path boundary classified private, as a format sees it.
// The raw path and the extensions are read by the nginx formats only.
#[cfg_attr(not(feature = "nginx"), allow(dead_code))]
pub(crate) struct Presented<'p, 'q, 'r> {
    /// The canonical private path.
    pub(crate) path: Cow<'p, str>,
    /// The path exactly as the client sent it (nginx hashes it in one compatibility mode).
    pub(crate) raw_path: &'p str,
    pub(crate) query: &'q str,
    pub(crate) method: &'r Method,
    /// Read for folder session cookies.
    pub(crate) headers: &'r HeaderMap,
    /// The request URI's authority (HTTP/2's host), for session cookies.
    pub(crate) authority: Option<&'r str>,
    pub(crate) extensions: &'r Extensions,
}

/// Opens an opaque link (the path under the layer's opaque prefix) and checks what it hides.
pub(crate) fn admit_opaque<'p, 'q>(
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
pub(crate) fn admit<'p, 'q>(
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

/// A native link: a folder token in the path (at `token_at`), or signing parameters in the query.
fn admit_link<'p, 'q>(
    settings: &'q Settings,
    keyring: &Keyring,
    presented: Presented<'p, 'q, '_>,
    token_at: Option<(usize, usize)>,
) -> Result<Verdict<'p, 'q>, RejectionKind> {
    match token_at {
        Some(at) => folder::admit_path_token(settings, keyring, presented, at),
        None => native::admit(settings, keyring, presented),
    }
}
