//! The scope of a delegated key, as links carry it (`sl_dlg`): which child, which folder, which
//! methods, until when, and in which revocation group. The child's secret is derived from the
//! root's secret and these bytes, so a verifier holding the root recomputes it from the link
//! alone (SPEC.md, "Delegated links").

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::syntax::{is_group, is_method_scope, is_valid_key_id, parse_seconds, Decimal};

/// What the child secret's HMAC starts with, before the scope's bytes.
pub(crate) const DERIVATION_LABEL: &[u8] = b"tsl-delegation-v1";

/// What an Ed25519 root signs before the scope's bytes and the child's public key.
#[cfg_attr(not(feature = "ed25519"), allow(dead_code))]
pub(crate) const CERTIFICATE_LABEL: &[u8] = b"tsl-ed25519-delegation-v1";

/// The most methods one delegation names.
pub(crate) const MAX_METHODS: usize = 8;

/// The limits a delegation sets, in canonical form: methods sorted and distinct, the folder a
/// canonical decoded folder (starting and ending with `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub(crate) child_id: String,
    /// Decoded, canonical, ending with `/`.
    pub(crate) folder: String,
    pub(crate) methods: Vec<String>,
    pub(crate) not_after: u64,
    pub(crate) group: Option<String>,
}

impl Scope {
    /// The scope's bytes: five fields, each a 4-byte big-endian length and its bytes (child
    /// id, folder, methods joined with `,`, not-after as decimal, group or empty).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut decimal = Decimal::default();
        let methods = self.methods.join(",");
        let mut out = Vec::new();
        for field in [
            self.child_id.as_str(),
            self.folder.as_str(),
            methods.as_str(),
            decimal.text(self.not_after),
            self.group.as_deref().unwrap_or(""),
        ] {
            out.extend_from_slice(&(field.len() as u32).to_be_bytes());
            out.extend_from_slice(field.as_bytes());
        }
        out
    }

    /// The `sl_dlg` value: the scope's bytes in base64url without padding.
    pub(crate) fn to_param(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.to_bytes())
    }

    /// Reads an `sl_dlg` value; `None` unless it is exactly what [`to_param`](Self::to_param)
    /// writes for a valid scope.
    pub(crate) fn parse(param: &str) -> Option<Self> {
        Self::parse_with_bytes(param).map(|(scope, _)| scope)
    }

    /// [`parse`](Self::parse), with the scope's bytes (what the child's secret is derived
    /// from).
    pub(crate) fn parse_with_bytes(param: &str) -> Option<(Self, Vec<u8>)> {
        let bytes = URL_SAFE_NO_PAD.decode(param).ok()?;
        let mut rest = bytes.as_slice();
        let mut fields = [""; 5];
        for field in &mut fields {
            if rest.len() < 4 {
                return None;
            }
            let (len, tail) = rest.split_at(4);
            let len = u32::from_be_bytes(len.try_into().ok()?) as usize;
            if tail.len() < len {
                return None;
            }
            *field = std::str::from_utf8(&tail[..len]).ok()?;
            rest = &tail[len..];
        }
        if !rest.is_empty() {
            return None;
        }
        let [child_id, folder, methods, not_after, group] = fields;
        let scope = Self {
            child_id: child_id.to_owned(),
            folder: folder.to_owned(),
            methods: methods.split(',').map(str::to_owned).collect(),
            not_after: parse_seconds(not_after).ok()?,
            group: (!group.is_empty()).then(|| group.to_owned()),
        };
        // One spelling: the bytes re-encode to the value as carried, and the fields to the bytes.
        let canonical = scope.is_valid() && scope.to_bytes() == bytes;
        let encoding = URL_SAFE_NO_PAD.encode(&bytes) == param;
        (canonical && encoding).then_some((scope, bytes))
    }

    /// Whether the fields hold what a delegation may: a key id, a folder (decoded, starting
    /// and ending with `/`, no empty, `.` or `..` segment, no NUL), 1 to 8 distinct sorted
    /// methods, a revocation group when there is one.
    pub(crate) fn is_valid(&self) -> bool {
        let inner = self
            .folder
            .strip_prefix('/')
            .and_then(|folder| folder.strip_suffix('/'));
        let folder_ok = self.folder == "/"
            || inner.is_some_and(|inner| {
                !inner.contains('\0')
                    && inner
                        .split('/')
                        .all(|segment| !matches!(segment, "" | "." | ".."))
            });
        let methods_ok = (1..=MAX_METHODS).contains(&self.methods.len())
            && self.methods.iter().all(|method| is_method_scope(method))
            && self.methods.windows(2).all(|pair| pair[0] < pair[1]);
        is_valid_key_id(&self.child_id)
            && folder_ok
            && methods_ok
            && self.group.as_deref().map_or(true, is_group)
    }

    /// Whether a request for `method` (HEAD counts as GET) on the decoded canonical `path`
    /// lies inside the scope.
    pub(crate) fn covers(&self, path: &str, method: &str) -> bool {
        let method = if method == "HEAD" { "GET" } else { method };
        path.starts_with(&self.folder) && self.methods.iter().any(|m| m == method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            child_id: "tenant-7".into(),
            folder: "/tenants/7/".into(),
            methods: vec!["GET".into(), "PUT".into()],
            not_after: 1_767_225_600,
            group: Some("tenant-7".into()),
        }
    }

    #[test]
    fn scopes_have_one_spelling() {
        let param = scope().to_param();
        assert_eq!(Scope::parse(&param), Some(scope()));
        let mut unsorted = scope();
        unsorted.methods = vec!["PUT".into(), "GET".into()];
        let mut repeated = scope();
        repeated.methods = vec!["GET".into(), "GET".into()];
        let mut no_slash = scope();
        no_slash.folder = "/tenants/7".into();
        let mut dots = scope();
        dots.folder = "/tenants/../7/".into();
        let mut empty = scope();
        empty.folder = "/tenants//7/".into();
        let mut lower = scope();
        lower.methods = vec!["get".into()];
        let mut bad_group = scope();
        bad_group.group = Some("a b".into());
        for (name, bad) in [
            ("unsorted methods", unsorted),
            ("a repeated method", repeated),
            ("a folder without its slash", no_slash),
            ("dot segments", dots),
            ("an empty segment", empty),
            ("a lower-case method", lower),
            ("a bad group", bad_group),
        ] {
            assert!(!bad.is_valid(), "{name}");
            assert_eq!(Scope::parse(&bad.to_param()), None, "{name}");
        }
        assert_eq!(Scope::parse(&format!("{param}A")), None, "trailing bytes");
        assert_eq!(Scope::parse(&format!("{param}=")), None, "padding");
    }

    #[test]
    fn the_folder_is_matched_by_whole_segments() {
        let scope = scope();
        #[rustfmt::skip]
        let cases = [
            ("inside", "/tenants/7/a.pdf", "GET", true),
            ("deeper", "/tenants/7/x/y.pdf", "PUT", true),
            ("HEAD is GET", "/tenants/7/a.pdf", "HEAD", true),
            ("a sibling that shares the prefix", "/tenants/70/a.pdf", "GET", false),
            ("the parent", "/tenants/a.pdf", "GET", false),
            ("a method not delegated", "/tenants/7/a.pdf", "DELETE", false),
        ];
        for (name, path, method, inside) in cases {
            assert_eq!(scope.covers(path, method), inside, "{name}");
        }
    }
}
