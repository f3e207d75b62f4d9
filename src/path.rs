//! The security boundary: how a request path is read, normalised and classified.
//!
//! Every private file leak in this family of tools comes from the middleware and the file server
//! reading one path two ways: `/media/public/../secret.txt` looks public to a string prefix test
//! and is served from the private folder. This module makes that impossible by deciding on one
//! normalised path and handing exactly that path to the inner service.
//!
//! # Rules
//!
//! 1. The path is split on `/`, each segment is percent-decoded once, `.` segments are dropped,
//!    `..` removes the segment before it, and empty segments (repeated `/`) are merged. A trailing
//!    `/` is kept. This is how tower-http's `ServeDir` and nginx's `$uri` read a path.
//! 2. The result is written back in one canonical encoding (the *canonical path*). The inner
//!    service receives the canonical path whenever it differs from the request's, so the service
//!    can never resolve a different file than the one that was classified.
//! 3. Prefixes match whole segments: `/private` covers `/private` and `/private/x`, never
//!    `/private-x`. The longest matching prefix wins, so a public exception inside a private
//!    prefix works, and anything that climbs out of it is classified where it lands.
//! 4. The *readings* of a path are every way a server in front of or behind the layer may read
//!    it: the raw path exactly as it came (a router in front of the layer, such as axum's
//!    `nest_service` or a route with parameters, has already chosen a handler by it), the resolved
//!    path of rule 1, `%2F`, `\` and `%5C` as separators, a second round of percent-decoding, `;`
//!    starting path parameters (so `..;` and `.;` are dot segments), trailing dots and spaces
//!    dropped from names, and prefixes compared without ASCII case.
//! 5. One rule for every reading: the *private territory* is everything under a private prefix,
//!    public exceptions included, in any ASCII case. When a path's readings differ (resolving
//!    changed its shape with a `.` or `..` segment, plain, escaped or followed by `;`, or an empty
//!    segment from `//`; another reading names another path; or the readings fall in different
//!    classes) and any reading lies in the private territory, the request is ambiguous
//!    ([`RejectionKind::AmbiguousPath`](crate::RejectionKind::AmbiguousPath), 400) and refused.
//!    An exception counts because a router may have sent the raw path into the private mount
//!    the exception sits in: `/files/thumbnails/../../report.pdf` resolves to a public path, but
//!    reaches a file server rooted at `/files`. Browsers resolve dot segments before they send a
//!    request, so no legitimate link is lost. Paths outside the territory under every reading
//!    are passed on in their canonical form.
//! 6. Under a private prefix, a path with a bad escape, a NUL, invalid UTF-8 or a `..` that climbs
//!    above the root is malformed ([`RejectionKind::MalformedPath`](crate::RejectionKind::MalformedPath), 400) and refused.
//!
//! ```
//! use http::{Method, StatusCode};
//! use tower_secure_link::{Key, SecureLinkLayer};
//!
//! let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap())
//!     .with_private_prefix("/private/").unwrap()
//!     .with_public_exception("/private/public/").unwrap();
//! let status = |target: &str| match layer.check(&Method::GET, &target.parse().unwrap()) {
//!     Ok(_) => StatusCode::OK,
//!     Err(rejection) => rejection.status(),
//! };
//! assert_eq!(status("/private/public/logo.png"), StatusCode::OK);
//! assert_eq!(status("/private-x/file"), StatusCode::OK); // another folder
//! assert_eq!(status("/private/public/../secret.txt"), StatusCode::BAD_REQUEST); // dot segments
//! assert_eq!(status("/private/../index.html"), StatusCode::BAD_REQUEST); // raw reading is private
//! assert_eq!(status("/private/public/..%2fsecret.txt"), StatusCode::BAD_REQUEST); // ambiguous
//! // A climb out of the exception that lands outside every prefix is refused too.
//! assert_eq!(status("/private/public/../../index.html"), StatusCode::BAD_REQUEST);
//! assert_eq!(status("/static/../index.html"), StatusCode::OK); // outside the territory
//! ```

use std::borrow::Cow;
use std::fmt;

use percent_encoding::{percent_decode, utf8_percent_encode, AsciiSet, CONTROLS};

/// Bytes written as `%XX` in a canonical path segment. Everything an RFC 3986 `pchar` allows stays
/// literal, except `;`, which some servers read as the start of path parameters.
const SEGMENT_ENCODE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b';')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Why a path under a private prefix was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathRejection {
    /// Readings of the path disagree and one of them is private.
    Ambiguous,
    /// A bad escape, NUL, invalid UTF-8, or a climb above the root.
    Malformed,
}

/// Where a request path belongs.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// Not private: pass on, with this canonical path.
    Public(Cow<'a, str>),
    /// Under a private prefix: needs a valid link for this canonical path.
    Private(Cow<'a, str>),
    /// Refused before looking at any token.
    Reject(PathRejection),
}

/// Where a configured prefix could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PrefixError {
    NotAbsolute,
    NotCanonical,
    PublicOutsidePrivate,
    Duplicate,
    /// The root where a prefix of its own is needed (opaque links).
    Root,
    /// The opaque prefix and a public exception overlap: the exception's files would be read
    /// as opaque tokens, or opaque links as public files.
    OpaqueOverlapsException,
}

/// The configured private prefixes and the public exceptions inside them, in canonical form
/// without a trailing slash (the root is the empty string).
#[derive(Debug, Clone)]
pub(crate) struct Prefixes {
    private: Vec<Box<str>>,
    public: Vec<Box<str>>,
}

impl Prefixes {
    pub(crate) fn new(
        private: &[String],
        given_public: &[String],
    ) -> Result<Self, (String, PrefixError)> {
        let canonical_list = |list: &[String]| -> Result<Vec<Box<str>>, (String, PrefixError)> {
            let mut out: Vec<Box<str>> = Vec::with_capacity(list.len());
            for prefix in list {
                let canonical = canonical_prefix(prefix).map_err(|e| (prefix.clone(), e))?;
                if out.contains(&canonical) {
                    return Err((prefix.clone(), PrefixError::Duplicate));
                }
                out.push(canonical);
            }
            Ok(out)
        };
        let private = canonical_list(private)?;
        let public = canonical_list(given_public)?;
        for (exception, given) in public.iter().zip(given_public) {
            let inside = private
                .iter()
                .any(|p| p != exception && segment_prefix_len(exception, p, false).is_some());
            if !inside {
                return Err((given.clone(), PrefixError::PublicOutsidePrivate));
            }
        }
        Ok(Self { private, public })
    }

    /// Every path private, no exceptions: the layer's starting point, so it fails closed.
    pub(crate) fn everything_private() -> Self {
        Self {
            private: vec!["".into()],
            public: Vec::new(),
        }
    }

    /// Whether `prefix` (canonical, without a trailing `/`) lies inside a public exception or
    /// holds one.
    pub(crate) fn overlaps_exception(&self, prefix: &str) -> bool {
        self.public.iter().any(|exception| {
            segment_prefix_len(prefix, exception, false).is_some()
                || segment_prefix_len(exception, prefix, false).is_some()
        })
    }

    /// The public exceptions, canonical and without a trailing `/` (the wiring audit climbs out
    /// of each).
    pub(crate) fn public_exceptions(&self) -> impl Iterator<Item = &str> + '_ {
        self.public.iter().map(|exception| &**exception)
    }

    /// Reads, normalises and classifies a request path.
    pub(crate) fn route<'a>(&self, raw: &'a str) -> Route<'a> {
        if is_already_canonical(raw) {
            return match self.classify(raw) {
                Class::Public => Route::Public(Cow::Borrowed(raw)),
                Class::Private => Route::Private(Cow::Borrowed(raw)),
                Class::CaseVariant => Route::Reject(PathRejection::Ambiguous),
            };
        }
        if !raw.starts_with('/') {
            // `*` (OPTIONS) or an empty path: nothing to resolve, but it cannot be a file either.
            return if self.private.iter().any(|p| p.is_empty()) {
                Route::Reject(PathRejection::Malformed)
            } else {
                Route::Public(Cow::Borrowed(raw))
            };
        }
        self.route_slowly(raw)
    }

    fn route_slowly<'a>(&self, raw: &'a str) -> Route<'a> {
        let strict = Reading::strict(raw);
        let strict_class = self.classify(&strict.canonical);
        // A router in front of the layer matches the raw string as it came (axum's does): when
        // that reading and the resolved one differ in shape or in class, the router and the
        // layer may already disagree about what was asked for (rule 5).
        let raw_class = self.classify(raw);
        // Public exceptions count as private territory here: a router may already have sent the
        // raw path into a private mount that an exception sits in, and a climb out of the
        // exception then lands on whatever that mount serves.
        let mut touches_territory = self.in_territory(&strict.canonical) || self.in_territory(raw);
        let mut readings_agree = !strict.restructured && raw_class == strict_class;
        if strict.needs_liberal_reading {
            for (liberal, must_match) in strict.liberal_readings() {
                let class = self.classify(&liberal);
                touches_territory |= self.in_territory(&liberal);
                readings_agree &= if must_match {
                    liberal == strict.canonical
                } else {
                    class == strict_class
                };
            }
        }
        if touches_territory {
            if strict.malformed {
                return Route::Reject(PathRejection::Malformed);
            }
            if !readings_agree || strict_class == Class::CaseVariant {
                return Route::Reject(PathRejection::Ambiguous);
            }
        }
        let canonical = if strict.canonical == raw {
            Cow::Borrowed(raw)
        } else {
            Cow::Owned(strict.canonical)
        };
        match strict_class {
            Class::Private => Route::Private(canonical),
            _ => Route::Public(canonical),
        }
    }

    /// Whether `path` lies under a private prefix, ignoring ASCII case and ignoring public
    /// exceptions (every exception lies inside a private prefix).
    fn in_territory(&self, path: &str) -> bool {
        self.private
            .iter()
            .any(|prefix| segment_prefix_len(path, prefix, true).is_some())
    }

    fn classify(&self, path: &str) -> Class {
        let mut private_len = None;
        let mut case_variant = false;
        for prefix in self.private.iter() {
            // The case-blind comparison stops at the first differing byte, which settles most
            // paths at once; only a match needs the exact comparison.
            if let Some(len) = segment_prefix_len(path, prefix, true) {
                if path.as_bytes()[..len] == *prefix.as_bytes() {
                    private_len = private_len.max(Some(len));
                } else {
                    case_variant = true;
                }
            }
        }
        let Some(private_len) = private_len else {
            return if case_variant {
                Class::CaseVariant
            } else {
                Class::Public
            };
        };
        let public_len = self
            .public
            .iter()
            .filter_map(|prefix| segment_prefix_len(path, prefix, false))
            .max();
        match public_len {
            Some(public_len) if public_len > private_len => Class::Public,
            _ => Class::Private,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Public,
    Private,
    /// Matches a private prefix only when ASCII case is ignored (a case-insensitive file system).
    CaseVariant,
}

/// The length of `prefix` in `path` when `path` starts with it on a segment boundary.
fn segment_prefix_len(path: &str, prefix: &str, ignore_case: bool) -> Option<usize> {
    let (path, prefix) = (path.as_bytes(), prefix.as_bytes());
    if path.len() < prefix.len() {
        return None;
    }
    let head = &path[..prefix.len()];
    let same = if ignore_case {
        head.eq_ignore_ascii_case(prefix)
    } else {
        head == prefix
    };
    let on_boundary = path.len() == prefix.len() || path[prefix.len()] == b'/';
    (same && on_boundary).then_some(prefix.len())
}

/// A prefix (private, public, mount or opaque) in canonical form without a trailing slash (the
/// root is the empty string).
pub(crate) fn canonical_prefix(prefix: &str) -> Result<Box<str>, PrefixError> {
    if !prefix.starts_with('/') {
        return Err(PrefixError::NotAbsolute);
    }
    let reading = Reading::strict(prefix);
    let canonical = reading.canonical.trim_end_matches('/');
    // The prefix may be written escaped or not ("/My%20Files/", "/My Files/"), but normalising
    // must not have changed what it names: no dot segments, repeated slashes or odd characters.
    let same_name = percent_decode(canonical.as_bytes())
        .eq(percent_decode(prefix.trim_end_matches('/').as_bytes()));
    if reading.malformed || reading.needs_liberal_reading || !same_name {
        return Err(PrefixError::NotCanonical);
    }
    Ok(canonical.into())
}

/// Bytes a canonical segment holds as they are: RFC 3986 `pchar` without `%` and `;`.
const PLAIN_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b'='
                    | b':'
                    | b'@'
            );
        byte += 1;
    }
    table
};

/// Whether a path is already in canonical form: only bytes that never need escaping, no `%`,
/// no empty, `.` or `..` segment, no name ending in a dot. Most request paths are, and they cost a
/// single scan with no allocation.
fn is_already_canonical(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    if bytes.first() != Some(&b'/') {
        return false;
    }
    let mut previous = b'/';
    for &byte in &bytes[1..] {
        if byte == b'/' {
            if previous == b'/' || previous == b'.' {
                return false;
            }
        } else if !PLAIN_BYTES[byte as usize] {
            return false;
        }
        previous = byte;
    }
    previous != b'.'
}

/// One reading of a path: the ServeDir / nginx one, plus what the other readings need.
struct Reading {
    /// Decoded segments after dot resolution.
    segments: Vec<Vec<u8>>,
    trailing_slash: bool,
    canonical: String,
    malformed: bool,
    needs_liberal_reading: bool,
    /// Resolving changed the path's shape: a `.` or `..` segment (plain or escaped), or an
    /// empty one (`//`).
    restructured: bool,
}

impl Reading {
    fn strict(raw: &str) -> Self {
        let mut malformed = false;
        let mut needs_liberal_reading = false;
        let mut restructured = false;
        let mut segments: Vec<Vec<u8>> = Vec::new();
        let raw_segments: Vec<&str> = raw[1..].split('/').collect();
        let last = raw_segments.last().copied().unwrap_or_default();
        let trailing_slash = matches!(decode_segment(last).0.as_slice(), b"" | b"." | b"..");
        let count = raw_segments.len();
        for (index, raw_segment) in raw_segments.into_iter().enumerate() {
            let (decoded, bad_escape) = decode_segment(raw_segment);
            // `..;x` is a climb to servers that cut path parameters at `;` (Tomcat, Spring).
            let unparameterised = match decoded.iter().position(|b| *b == b';') {
                Some(end) => &decoded[..end],
                None => &decoded[..],
            };
            restructured |= matches!(unparameterised, b"." | b"..")
                || (decoded.is_empty() && index + 1 < count);
            malformed |= bad_escape;
            malformed |= decoded.contains(&0) || std::str::from_utf8(&decoded).is_err();
            needs_liberal_reading |= has_other_readings(&decoded);
            malformed |= push_segment(&mut segments, decoded);
        }
        let canonical = encode_path(&segments, trailing_slash);
        Self {
            segments,
            trailing_slash,
            canonical,
            malformed,
            needs_liberal_reading,
            restructured,
        }
    }

    /// The canonical paths of the other readings (see rule 4 of the module docs), each with
    /// whether it must equal the strict reading (`true`) or only classify the same (`false`).
    fn liberal_readings(&self) -> Vec<(String, bool)> {
        // `trim`: drop trailing dots and spaces from names, as Windows file systems do.
        let split =
            |segments: &[Vec<u8>], separators: &[u8], trim: bool, strip_parameters: bool| {
                let mut out: Vec<Vec<u8>> = Vec::new();
                for segment in segments {
                    for piece in segment.split(|b| separators.contains(b)) {
                        let piece = match piece.iter().position(|b| *b == b';') {
                            Some(end) if strip_parameters => &piece[..end],
                            _ => piece,
                        };
                        let keep = if !trim || matches!(piece, b"." | b"..") {
                            piece.len()
                        } else {
                            piece.len()
                                - piece
                                    .iter()
                                    .rev()
                                    .take_while(|b| matches!(b, b'.' | b' '))
                                    .count()
                        };
                        push_segment(&mut out, piece[..keep].to_vec());
                    }
                }
                out
            };
        const BOTH: &[u8] = b"/\\";
        let once = split(&self.segments, BOTH, true, false);
        let mut readings = vec![(encode_path(&once, self.trailing_slash), true)];
        // nginx decodes `%2F` into a separator but keeps `\` as a byte and trailing dots in
        // names on Unix; Windows servers split at both and trim. Each separator alone, trimmed
        // or not, is a reading of its own: a `\` or a trimmed name that swallows a `..` in one
        // reading must not hide an nginx climb through `%2F` in another.
        let has = |byte: u8| self.segments.iter().flatten().any(|b| *b == byte);
        for (separators, needed) in [
            (BOTH, true),
            (&b"/"[..], has(b'\\')),
            (&b"\\"[..], has(b'/')),
        ] {
            for trim in [false, true] {
                if !needed || (separators == BOTH && trim) {
                    continue;
                }
                let reading = encode_path(
                    &split(&self.segments, separators, trim, false),
                    self.trailing_slash,
                );
                if !readings.iter().any(|(known, _)| *known == reading) {
                    readings.push((reading, true));
                }
            }
        }
        // A second round of decoding, for servers (or proxies in front) that decode twice.
        let twice: Vec<Vec<u8>> = once
            .iter()
            .map(|segment| decode_segment_bytes(segment).0)
            .collect();
        if twice != once {
            readings.push((
                encode_path(&split(&twice, BOTH, true, false), self.trailing_slash),
                true,
            ));
        }
        // `;` is an ordinary character in a file name (nginx and ServeDir read it so), but some
        // servers cut path parameters at it: that reading only has to land in the same class.
        if self.segments.iter().any(|segment| segment.contains(&b';')) {
            let cut = split(&self.segments, BOTH, true, true);
            readings.push((encode_path(&cut, self.trailing_slash), false));
        }
        readings
    }
}

/// Whether another server could read this decoded segment differently.
fn has_other_readings(decoded: &[u8]) -> bool {
    let trailing_dot_or_space = decoded.last().is_some_and(|b| matches!(b, b'.' | b' '))
        && !matches!(decoded, b"." | b"..");
    trailing_dot_or_space
        || decoded.iter().any(|b| matches!(b, b'/' | b'\\' | b';'))
        || decoded
            .windows(3)
            .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
}

/// Applies one decoded segment to the resolved path; returns true when `..` climbed above the root.
fn push_segment(segments: &mut Vec<Vec<u8>>, decoded: Vec<u8>) -> bool {
    match decoded.as_slice() {
        b"" | b"." => false,
        b".." => segments.pop().is_none(),
        _ => {
            segments.push(decoded);
            false
        }
    }
}

/// Percent-decodes one segment; the flag reports a `%` not followed by two hex digits.
fn decode_segment(raw: &str) -> (Vec<u8>, bool) {
    decode_segment_bytes(raw.as_bytes())
}

fn decode_segment_bytes(raw: &[u8]) -> (Vec<u8>, bool) {
    let bad_escape = raw.iter().enumerate().any(|(i, b)| {
        *b == b'%'
            && !(raw.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && raw.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    (percent_decode(raw).collect(), bad_escape)
}

fn encode_path(segments: &[Vec<u8>], trailing_slash: bool) -> String {
    let mut out = String::with_capacity(segments.iter().map(|s| s.len() + 1).sum::<usize>() + 1);
    for segment in segments {
        out.push('/');
        // Invalid UTF-8 only reaches here on public paths; it is escaped byte by byte.
        match std::str::from_utf8(segment) {
            Ok(text) => out.extend(utf8_percent_encode(text, SEGMENT_ENCODE)),
            Err(_) => out.extend(percent_encoding::percent_encode(segment, SEGMENT_ENCODE)),
        }
    }
    if out.is_empty() || trailing_slash {
        out.push('/');
    }
    out
}

/// One decoded path segment in canonical encoding.
pub(crate) fn encode_segment(segment: &str) -> Cow<'_, str> {
    utf8_percent_encode(segment, SEGMENT_ENCODE).into()
}

/// The decoded form of a canonical private path: what a link signs.
pub(crate) fn decode_canonical(canonical: &str) -> Cow<'_, str> {
    if !canonical.bytes().any(|b| b == b'%') {
        return Cow::Borrowed(canonical);
    }
    // A canonical private path holds only valid UTF-8 escapes, so lossy decoding never loses data.
    percent_decode(canonical.as_bytes()).decode_utf8_lossy()
}

/// The canonical form of a path given by the application when it mints a link. Minting refuses
/// what the layer would refuse under a private prefix.
pub(crate) fn canonical_for_minting(path: &str) -> Result<Cow<'_, str>, PathRejection> {
    if is_already_canonical(path) {
        return Ok(Cow::Borrowed(path));
    }
    if !path.starts_with('/') {
        return Err(PathRejection::Malformed);
    }
    let reading = Reading::strict(path);
    if reading.malformed {
        return Err(PathRejection::Malformed);
    }
    if reading.needs_liberal_reading
        && reading
            .liberal_readings()
            .iter()
            .any(|(liberal, must_match)| *must_match && *liberal != reading.canonical)
    {
        return Err(PathRejection::Ambiguous);
    }
    Ok(Cow::Owned(reading.canonical))
}

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAbsolute => "a prefix must start with '/'",
            Self::NotCanonical => {
                "a prefix must be a plain path: no '.' or '..' segments, repeated '/', bad escapes, '\\' or ';'"
            }
            Self::PublicOutsidePrivate => "a public exception must lie inside a private prefix",
            Self::Duplicate => "the prefix is listed twice",
            Self::Root => "this needs a prefix of its own, not the root",
            Self::OpaqueOverlapsException => {
                "the opaque prefix and a public exception overlap: give opaque links a folder \
                 of their own outside every public exception"
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> Prefixes {
        let own = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Prefixes::new(
            &own(&["/private/", "/media/private"]),
            &own(&["/private/public/"]),
        )
        .unwrap()
    }

    enum Expect {
        Public(&'static str),
        Private(&'static str),
        Ambiguous,
        Malformed,
    }

    struct Case {
        name: &'static str,
        raw: &'static str,
        expect: Expect,
    }

    #[test]
    fn routes_every_reading_to_one_place() {
        use Expect::*;
        #[rustfmt::skip]
        let cases = [
            Case { name: "root", raw: "/", expect: Public("/") },
            Case { name: "public file", raw: "/index.html", expect: Public("/index.html") },
            Case { name: "prefix itself", raw: "/private", expect: Private("/private") },
            Case { name: "prefix with slash", raw: "/private/", expect: Private("/private/") },
            Case { name: "private file", raw: "/private/a.pdf", expect: Private("/private/a.pdf") },
            Case { name: "prefix boundary dash", raw: "/private-x/a", expect: Public("/private-x/a") },
            Case { name: "prefix boundary letters", raw: "/privatex", expect: Public("/privatex") },
            Case { name: "public exception", raw: "/private/public/logo.png", expect: Public("/private/public/logo.png") },
            Case { name: "public exception itself", raw: "/private/public", expect: Public("/private/public") },
            Case { name: "exception boundary", raw: "/private/publicity/x", expect: Private("/private/publicity/x") },
            Case { name: "escape from exception", raw: "/private/public/../secret.txt", expect: Ambiguous },
            Case { name: "escape from exception, encoded dots", raw: "/private/public/%2e%2e/secret.txt", expect: Ambiguous },
            Case { name: "escape from exception, upper-case escapes", raw: "/private/public/%2E%2E/secret.txt", expect: Ambiguous },
            Case { name: "escape from exception, mixed dots", raw: "/private/public/.%2e/secret.txt", expect: Ambiguous },
            Case { name: "climb into private", raw: "/public/../private/secret.txt", expect: Ambiguous },
            Case { name: "encoded climb into private", raw: "/static/%2e%2e/private/secret.txt", expect: Ambiguous },
            Case { name: "dot segment", raw: "/private/./a", expect: Ambiguous },
            Case { name: "leading double slash", raw: "//private/a", expect: Ambiguous },
            Case { name: "inner double slash", raw: "/private//a", expect: Ambiguous },
            Case { name: "encoded slash climb", raw: "/static/..%2fprivate%2fsecret.txt", expect: Ambiguous },
            Case { name: "encoded slash upper case", raw: "/static/..%2Fprivate%2Fsecret.txt", expect: Ambiguous },
            Case { name: "encoded slash after prefix", raw: "/private%2fsecret.txt", expect: Ambiguous },
            Case { name: "encoded backslash", raw: "/private%5csecret.txt", expect: Ambiguous },
            Case { name: "raw backslash", raw: "/private\\secret.txt", expect: Ambiguous },
            Case { name: "backslash climb", raw: "/static/..\\private\\secret.txt", expect: Ambiguous },
            Case { name: "double-encoded dots", raw: "/static/%252e%252e/private/secret.txt", expect: Ambiguous },
            Case { name: "double-encoded letter", raw: "/%2570rivate/secret.txt", expect: Ambiguous },
            Case { name: "NUL", raw: "/private/%00secret", expect: Malformed },
            Case { name: "invalid UTF-8", raw: "/private/%ff.txt", expect: Malformed },
            Case { name: "bad escape", raw: "/private/%zz", expect: Malformed },
            Case { name: "truncated escape", raw: "/private/%4", expect: Malformed },
            Case { name: "climb above root", raw: "/../private/secret.txt", expect: Malformed },
            Case { name: "climb above root twice", raw: "/private/../../private/secret.txt", expect: Malformed },
            Case { name: "upper case", raw: "/PRIVATE/secret.txt", expect: Ambiguous },
            Case { name: "title case", raw: "/Private/secret.txt", expect: Ambiguous },
            Case { name: "encoded upper case", raw: "/%50rivate/secret.txt", expect: Ambiguous },
            Case { name: "encoded lower case", raw: "/%70rivate/secret.txt", expect: Ambiguous },
            Case { name: "trailing dot", raw: "/private./secret.txt", expect: Ambiguous },
            Case { name: "trailing space", raw: "/private%20/secret.txt", expect: Ambiguous },
            Case { name: "path parameter", raw: "/private;x/secret.txt", expect: Ambiguous },
            Case { name: "semicolon in a private name", raw: "/private/secret.txt;.css", expect: Private("/private/secret.txt%3B.css") },
            Case { name: "path parameter out of the exception", raw: "/private/public;/../secret.txt", expect: Ambiguous },
            Case { name: "path parameter into the exception", raw: "/private/public;x/logo.png", expect: Ambiguous },
            Case { name: "escaped space stays", raw: "/static/a%20b.txt", expect: Public("/static/a%20b.txt") },
            Case { name: "public encoded slash kept", raw: "/static/a%2fb", expect: Public("/static/a%2Fb") },
            Case { name: "public invalid UTF-8", raw: "/static/%ff", expect: Public("/static/%FF") },
            Case { name: "nested prefix", raw: "/media/private/x", expect: Private("/media/private/x") },
            Case { name: "nested prefix boundary", raw: "/media/privatex", expect: Public("/media/privatex") },
            Case { name: "climb into nested prefix", raw: "/media/public/../private/x", expect: Ambiguous },
            Case { name: "trailing encoded dot", raw: "/private/%2e", expect: Ambiguous },
            Case { name: "climb out of prefix", raw: "/private/..", expect: Ambiguous },
            Case { name: "climb to prefix", raw: "/private/sub/..", expect: Ambiguous },
            Case { name: "asterisk", raw: "*", expect: Public("*") },
            Case { name: "UTF-8 name", raw: "/private/caf%C3%A9.txt", expect: Private("/private/caf%C3%A9.txt") },
            Case { name: "UTF-8 name lower-case escapes", raw: "/private/caf%c3%a9.txt", expect: Private("/private/caf%C3%A9.txt") },
            Case { name: "needless escape", raw: "/private/%61.txt", expect: Private("/private/a.txt") },
            // A router in front of the layer acts on the raw path before the layer resolves it.
            Case { name: "climb out of a private prefix", raw: "/private/../invoice-42.pdf", expect: Ambiguous },
            Case { name: "encoded climb out of a private prefix", raw: "/private/%2e%2e/invoice-42.pdf", expect: Ambiguous },
            Case { name: "upper-case encoded climb out", raw: "/private/%2E%2E/invoice-42.pdf", expect: Ambiguous },
            Case { name: "half-encoded climb out", raw: "/private/%2e./invoice-42.pdf", expect: Ambiguous },
            Case { name: "climb out past a route parameter", raw: "/private/bob/../../public/report.pdf", expect: Ambiguous },
            Case { name: "climb into a sibling", raw: "/private/bob/../alice/report.pdf", expect: Ambiguous },
            Case { name: "dot segment out of a nested prefix", raw: "/media/private/./x", expect: Ambiguous },
            Case { name: "escaped letter in a nested prefix", raw: "/media/%70rivate/x", expect: Ambiguous },
            Case { name: "escaped letter in an exception", raw: "/private/%70ublic/logo.png", expect: Ambiguous },
            Case { name: "double slash before a nested prefix", raw: "/media//private/x", expect: Ambiguous },
            // An exception is private territory: a router may have sent the raw path into the
            // private mount the exception sits in (`nest_service("/private", ServeDir)`).
            Case { name: "climb out of an exception to the root", raw: "/private/public/../../index.html", expect: Ambiguous },
            Case { name: "escaped climb out of an exception", raw: "/private/public/%2e%2e/%2e%2e/index.html", expect: Ambiguous },
            Case { name: "upper-case escaped climb out of an exception", raw: "/private/public/%2E%2E/%2E%2E/index.html", expect: Ambiguous },
            Case { name: "mixed climb out of an exception", raw: "/private/public/.%2e/.%2e/index.html", expect: Ambiguous },
            Case { name: "three levels out of an exception", raw: "/private/public/a/../../../index.html", expect: Ambiguous },
            Case { name: "climb inside an exception", raw: "/private/public/a/../logo.png", expect: Ambiguous },
            Case { name: "dot segment inside an exception", raw: "/private/public/./logo.png", expect: Ambiguous },
            Case { name: "double slash before a climb out of an exception", raw: "/private/public//../../index.html", expect: Ambiguous },
            Case { name: "double slash inside an exception", raw: "/private/public//logo.png", expect: Ambiguous },
            Case { name: "climb from outside into an exception", raw: "/static/../private/public/logo.png", expect: Ambiguous },
            Case { name: "parameter climb out of an exception", raw: "/private/public/..;/..;/index.html", expect: Ambiguous },
            Case { name: "parameter dot inside an exception", raw: "/private/public/.;x/logo.png", expect: Ambiguous },
            Case { name: "parameter climb inside a private prefix", raw: "/private/a/..;/secret.txt", expect: Ambiguous },
            Case { name: "parameter climb out of a public folder", raw: "/static/..;/index.html", expect: Public("/static/..%3B/index.html") },
            Case { name: "backslash climb out of an exception", raw: "/private/public/..\\..\\index.html", expect: Ambiguous },
            Case { name: "escaped letter climbing out of an exception", raw: "/private/%70ublic/../../index.html", expect: Ambiguous },
            Case { name: "upper-case exception climbed out of", raw: "/PRIVATE/public/../../index.html", expect: Ambiguous },
            // nginx splits at `%2F` but not at `\`: a `\` must not hide an escaped-slash climb.
            Case { name: "backslash then escaped-slash climb", raw: "/x%5Ce/..%2Fprivate/file.txt", expect: Ambiguous },
            Case { name: "raw backslash then escaped-slash climb", raw: "/x\\e/..%2Fprivate/file.txt", expect: Ambiguous },
            Case { name: "escaped-slash then backslash climb", raw: "/x%2Fe/..%5Cprivate/file.txt", expect: Ambiguous },
            Case { name: "trimmed name hiding an escaped-slash climb", raw: "/private%2F%20%2F..%2Ffile.txt", expect: Ambiguous },
            Case { name: "dotted name hiding an escaped-slash climb", raw: "/private%2F...%2F..%2Ffile.txt", expect: Ambiguous },
            Case { name: "escaped exception file stays public", raw: "/private/public/a%20b.png", expect: Public("/private/public/a%20b.png") },
            Case { name: "public climb stays public", raw: "/static/./a/../b.css", expect: Public("/static/b.css") },
            Case { name: "public double slash stays public", raw: "/static//a.css", expect: Public("/static/a.css") },
            Case { name: "public escape stays public", raw: "/st%61tic/a.css", expect: Public("/static/a.css") },
        ];
        let prefixes = prefixes();
        for case in cases {
            let route = prefixes.route(case.raw);
            let ok = match (&route, &case.expect) {
                (Route::Public(path), Expect::Public(want)) => path == want,
                (Route::Private(path), Expect::Private(want)) => path == want,
                (Route::Reject(PathRejection::Ambiguous), Expect::Ambiguous) => true,
                (Route::Reject(PathRejection::Malformed), Expect::Malformed) => true,
                _ => false,
            };
            assert!(ok, "{}: {:?} routed to {:?}", case.name, case.raw, route);
        }
    }

    #[test]
    fn unchanged_paths_are_borrowed() {
        for raw in [
            "/index.html",
            "/private/a.pdf",
            "/static/a%20b.txt",
            "/.well-known/x",
        ] {
            match prefixes().route(raw) {
                Route::Public(Cow::Borrowed(_)) | Route::Private(Cow::Borrowed(_)) => {}
                other => panic!("{raw} was rewritten: {other:?}"),
            }
        }
    }

    #[test]
    fn prefixes_are_checked_when_built() {
        struct Case {
            name: &'static str,
            private: &'static [&'static str],
            public: &'static [&'static str],
            error: Option<PrefixError>,
        }
        #[rustfmt::skip]
        let cases = [
            Case { name: "plain", private: &["/p/"], public: &[], error: None },
            Case { name: "root", private: &["/"], public: &["/assets"], error: None },
            Case { name: "unescaped space", private: &["/My Files/"], public: &[], error: None },
            Case { name: "relative", private: &["p/"], public: &[], error: Some(PrefixError::NotAbsolute) },
            Case { name: "dot dot", private: &["/a/../p"], public: &[], error: Some(PrefixError::NotCanonical) },
            Case { name: "double slash", private: &["/a//p"], public: &[], error: Some(PrefixError::NotCanonical) },
            Case { name: "backslash", private: &["/a\\p"], public: &[], error: Some(PrefixError::NotCanonical) },
            Case { name: "bad escape", private: &["/a%zz"], public: &[], error: Some(PrefixError::NotCanonical) },
            Case { name: "duplicate", private: &["/p", "/p/"], public: &[], error: Some(PrefixError::Duplicate) },
            Case { name: "public outside", private: &["/p/"], public: &["/q/"], error: Some(PrefixError::PublicOutsidePrivate) },
            Case { name: "public equal to private", private: &["/p/"], public: &["/p"], error: Some(PrefixError::PublicOutsidePrivate) },
            Case { name: "public on a partial segment", private: &["/p"], public: &["/px"], error: Some(PrefixError::PublicOutsidePrivate) },
        ];
        for case in cases {
            let own = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            let result = Prefixes::new(&own(case.private), &own(case.public));
            assert_eq!(result.err().map(|(_, e)| e), case.error, "{}", case.name);
        }
    }

    #[test]
    fn minting_refuses_what_the_layer_refuses() {
        assert_eq!(canonical_for_minting("/p/a b.pdf").unwrap(), "/p/a%20b.pdf");
        assert_eq!(canonical_for_minting("/p/é.txt").unwrap(), "/p/%C3%A9.txt");
        assert_eq!(canonical_for_minting("/p/./x/../y").unwrap(), "/p/y");
        assert_eq!(canonical_for_minting("p/x"), Err(PathRejection::Malformed));
        assert_eq!(
            canonical_for_minting("/../x"),
            Err(PathRejection::Malformed)
        );
        assert_eq!(
            canonical_for_minting("/p/100%.pdf"),
            Err(PathRejection::Malformed)
        );
        assert_eq!(
            canonical_for_minting("/p/a%2Fb"),
            Err(PathRejection::Ambiguous)
        );
    }
}
