//! Where the layer sits: the path the client sent, when a router in front of the layer has
//! already cut a mount prefix off it, and a layer applied twice.
//!
//! A layer inside axum's `nest` or `nest_service` sees `/report.pdf` where the client asked for
//! `/files/report.pdf`. Classifying the stripped path would find it outside every private prefix
//! and let it through. So the layer classifies and verifies the whole path the client sent, and
//! hands the inner service the stripped path it expects:
//!
//! - with the `axum` feature, from axum's `OriginalUri` (the URI the outermost router received);
//! - otherwise from a mount path given with
//!   [`SecureLinkLayer::with_mount_path`](crate::SecureLinkLayer::with_mount_path).
//!
//! When the original URI is neither the path the layer sees nor that path with a mount in front
//! of it, something between the router and the layer rewrote the path: the layer then judges the
//! path it sees, and refuses the request if the router chose it by a private original while the
//! rewrite looks public.
//!
//! A link may name another path than the one the request carries (an opaque link hides its
//! target; a folder token is a segment the inner service never sees). The layer never re-maps
//! such a target into a service that was chosen for another path:
//!
//! - inside a mount, the verified target must lie under that mount, and the inner service gets
//!   exactly the target's path within it; anything else is refused
//!   ([`OutsideMount`](crate::RejectionKind::OutsideMount), 403);
//! - wherever a router has already routed before the layer (axum's `Router::layer` or
//!   `route_layer`, seen as an `OriginalUri`; a nest; a mount path), an opaque link is refused
//!   the same way: the router chose a service for `/s/<token>`, and a nested router or a deeper
//!   or shadowing mount could serve the hidden target from the wrong place. Opaque links need
//!   the layer in front of all routing (`layer.layer(router)`).

use http::{Extensions, Uri};
use percent_encoding::percent_decode_str;

/// Which path the layer classifies.
pub(crate) enum ClientPath<'a> {
    /// The path the layer sees is the one the client sent, and no router has routed by it.
    AsSeen,
    /// The path the layer sees is the one the client sent, and a router has already chosen the
    /// service behind the layer by it.
    Routed,
    /// A router stripped the first `mount_segments` segments of `full`, the client's path.
    Nested {
        full: &'a str,
        mount_segments: usize,
    },
    /// The configured mount path goes in front of the path the layer sees.
    Mounted { mount: &'a str, seen: &'a str },
    /// The path was rewritten between the router, which read `original`, and the layer.
    Rewritten { original: &'a str },
}

/// Finds the client's path for a request the layer sees with `uri`.
pub(crate) fn client_path<'a>(
    uri: &'a Uri,
    extensions: &'a Extensions,
    mount: Option<&'a str>,
) -> ClientPath<'a> {
    let original = original_path(extensions);
    if let Some(original) = original {
        if original != uri.path() {
            return match nested_under(original, uri.path()) {
                Some(mount_segments) => ClientPath::Nested {
                    full: original,
                    mount_segments,
                },
                None => ClientPath::Rewritten { original },
            };
        }
    }
    match mount {
        None if original.is_some() => ClientPath::Routed,
        Some(mount) => ClientPath::Mounted {
            mount,
            seen: uri.path(),
        },
        None => ClientPath::AsSeen,
    }
}

#[cfg(feature = "axum")]
fn original_path(extensions: &Extensions) -> Option<&str> {
    extensions
        .get::<axum::extract::OriginalUri>()
        .map(|original| original.0.path())
}

#[cfg(not(feature = "axum"))]
fn original_path(_: &Extensions) -> Option<&str> {
    None
}

/// How many segments `original` has in front of `seen` when a router stripped them the way
/// axum's nesting does (`/files/a` seen as `/a`; `/files` and `/files/` seen as `/`).
fn nested_under(original: &str, seen: &str) -> Option<usize> {
    let mount = match original.strip_suffix(seen) {
        Some(mount) if !mount.is_empty() => mount,
        _ if seen == "/" => original,
        _ => return None,
    };
    (mount.starts_with('/') && !mount.ends_with('/')).then(|| segment_count(mount))
}

fn segment_count(mount: &str) -> usize {
    mount.bytes().filter(|b| *b == b'/').count()
}

/// `mount` followed by `seen`, written into `buffer` when it fits (so most requests allocate
/// nothing), else into a new string.
pub(crate) fn joined<'b>(
    mount: &str,
    seen: &str,
    buffer: &'b mut [u8; JOIN_BUFFER],
) -> std::borrow::Cow<'b, str> {
    let len = mount.len() + seen.len();
    if len > JOIN_BUFFER {
        return std::borrow::Cow::Owned(format!("{mount}{seen}"));
    }
    buffer[..mount.len()].copy_from_slice(mount.as_bytes());
    buffer[mount.len()..len].copy_from_slice(seen.as_bytes());
    // Both parts are whole strs, so their concatenation is valid UTF-8.
    std::borrow::Cow::Borrowed(std::str::from_utf8(&buffer[..len]).unwrap_or_default())
}

/// Paths up to this long are joined on the stack.
pub(crate) const JOIN_BUFFER: usize = 512;

/// `path` without its first `count` segments; `/` when nothing is left.
pub(crate) fn strip_segments(path: &str, count: usize) -> &str {
    match path.match_indices('/').nth(count) {
        Some((at, _)) => &path[at..],
        None => "/",
    }
}

/// The first `count` segments of `path`, without a trailing `/`.
pub(crate) fn leading_segments(path: &str, count: usize) -> &str {
    match path.match_indices('/').nth(count) {
        Some((at, _)) => &path[..at],
        None => path.trim_end_matches('/'),
    }
}

/// `target` (a canonical path) within `mount` (the mount as the client's path spells it, or as
/// configured): the rest of `target` after the mount's segments, when every one of them names the
/// same segment once decoded; `None` when the target lies elsewhere.
pub(crate) fn within_mount<'t>(target: &'t str, mount: &str) -> Option<&'t str> {
    let count = segment_count(mount);
    let head = leading_segments(target, count);
    let same = head.split('/').count() == mount.split('/').count()
        && head
            .split('/')
            .zip(mount.split('/'))
            .all(|(a, b)| percent_decode_str(a).eq(percent_decode_str(b)));
    same.then(|| strip_segments(target, count))
}

/// Put into a request's extensions by a layer that admitted it through a valid link, so that a
/// copy of the same layer further in (two scopes of one router) passes it instead of asking for
/// signing parameters the first one already removed.
#[derive(Clone, Debug)]
pub(crate) struct Verified {
    layer: u64,
    path: Box<str>,
}

impl Verified {
    pub(crate) fn new(layer: u64, path: &str) -> Self {
        Self {
            layer,
            path: path.into(),
        }
    }

    /// Whether the layer `layer`, seeing `path`, may trust this: the same configuration, and the
    /// path it admitted or that path with a mount stripped off.
    pub(crate) fn covers(&self, layer: u64, path: &str) -> bool {
        self.layer == layer && (*self.path == *path || nested_under(&self.path, path).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_a_nest_stripped() {
        struct Case {
            name: &'static str,
            original: &'static str,
            seen: &'static str,
            mount_segments: Option<usize>,
        }
        #[rustfmt::skip]
        let cases = [
            Case { name: "one level", original: "/files/a.pdf", seen: "/a.pdf", mount_segments: Some(1) },
            Case { name: "two levels", original: "/api/files/a.pdf", seen: "/a.pdf", mount_segments: Some(2) },
            Case { name: "parameter in the mount", original: "/users/7/files/a", seen: "/a", mount_segments: Some(3) },
            Case { name: "mount itself", original: "/files", seen: "/", mount_segments: Some(1) },
            Case { name: "mount with slash", original: "/files/", seen: "/", mount_segments: Some(1) },
            Case { name: "deeper path", original: "/files/x/y", seen: "/x/y", mount_segments: Some(1) },
            Case { name: "not a suffix", original: "/files/a.pdf", seen: "/b.pdf", mount_segments: None },
            Case { name: "partial segment", original: "/files/a.pdf", seen: "a.pdf", mount_segments: None },
            Case { name: "longer than the original", original: "/a", seen: "/files/a", mount_segments: None },
        ];
        for case in cases {
            assert_eq!(
                nested_under(case.original, case.seen),
                case.mount_segments,
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn strips_whole_segments() {
        assert_eq!(strip_segments("/files/a.pdf", 1), "/a.pdf");
        assert_eq!(strip_segments("/files/", 1), "/");
        assert_eq!(strip_segments("/files", 1), "/");
        assert_eq!(strip_segments("/users/7/files/a/b", 3), "/a/b");
        assert_eq!(strip_segments("/a", 0), "/a");
    }

    #[test]
    fn targets_are_unmounted_only_from_their_own_mount() {
        struct Case {
            name: &'static str,
            target: &'static str,
            mount: &'static str,
            within: Option<&'static str>,
        }
        #[rustfmt::skip]
        let cases = [
            Case { name: "file under the mount", target: "/files/x.pdf", mount: "/files", within: Some("/x.pdf") },
            Case { name: "deeper file", target: "/files/a/b.pdf", mount: "/files", within: Some("/a/b.pdf") },
            Case { name: "the mount itself", target: "/files", mount: "/files", within: Some("/") },
            Case { name: "the mount with a slash", target: "/files/", mount: "/files", within: Some("/") },
            Case { name: "another mount", target: "/other/x.pdf", mount: "/files", within: None },
            Case { name: "a sibling sharing the name's start", target: "/filesx/x.pdf", mount: "/files", within: None },
            Case { name: "a shorter target", target: "/x.pdf", mount: "/files/s", within: None },
            Case { name: "two-segment mount", target: "/users/7/files/a", mount: "/users/7/files", within: Some("/a") },
            Case { name: "two-segment mount, other user", target: "/users/8/files/a", mount: "/users/7/files", within: None },
            Case { name: "escaped mount as the client spelled it", target: "/users/7/a", mount: "/users/%37", within: Some("/a") },
            Case { name: "escaped target segment", target: "/my%20files/a", mount: "/my files", within: Some("/a") },
        ];
        for case in cases {
            assert_eq!(
                within_mount(case.target, case.mount),
                case.within,
                "{}",
                case.name
            );
        }
    }

    #[test]
    fn a_mark_covers_its_own_layer_and_path_only() {
        let mark = Verified::new(7, "/files/a.pdf");
        assert!(mark.covers(7, "/files/a.pdf"));
        assert!(mark.covers(7, "/a.pdf"));
        assert!(!mark.covers(8, "/files/a.pdf"), "another layer");
        assert!(!mark.covers(7, "/files/b.pdf"), "another path");
        assert!(!mark.covers(7, "/b.pdf"), "another stripped path");
    }
}
