//! The `Content-Disposition` header for a file name (RFC 6266 with RFC 8187 `filename*`), as
//! X-Accel-Redirect responses and links that name their download write it.

use http::HeaderValue;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Bytes kept literal in an RFC 5987 `filename*` value (`attr-char`).
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `inline` or `attachment` with an ASCII `filename` and, for other names, a UTF-8 `filename*`.
/// The fallback replaces every byte outside printable ASCII, and `"`, `%` and `\`, with `_`; the
/// caller refuses control characters in `filename` before it gets here.
pub(crate) fn disposition(kind: &str, filename: &str) -> HeaderValue {
    let fallback: String = filename
        .chars()
        .map(|c| match c {
            // Not `%`: browsers percent-decode a plain `filename`, so `photo%2Eexe` would be
            // saved as `photo.exe`; with `filename*` beside it they keep the signed name.
            ' ' | '!' | '#' | '$' | '&'..='[' | ']'..='~' => c,
            _ => '_',
        })
        .collect();
    let mut value = format!("{kind}; filename=\"{fallback}\"");
    if fallback != filename {
        value.push_str("; filename*=UTF-8''");
        value.extend(utf8_percent_encode(filename, ATTR_CHAR));
    }
    // Only printable ASCII was written.
    HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}
