//! Escaping an application's query for a link.

use std::borrow::Cow;

/// Escapes what a query cannot hold, keeping existing `%XX` escapes and the application's own
/// `&`, `=` and `+` as they are.
pub(super) fn escape_query(raw: &str) -> Cow<'_, str> {
    let needs_escape = |i: usize, byte: u8| match byte {
        b'%' => !is_escape_at(raw.as_bytes(), i),
        b'#' | b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}' => true,
        _ => !byte.is_ascii_graphic(),
    };
    if !raw.bytes().enumerate().any(|(i, b)| needs_escape(i, b)) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len() * 3);
    for (i, byte) in raw.bytes().enumerate() {
        if needs_escape(i, byte) {
            out.push_str(&format!("%{byte:02X}"));
        } else {
            out.push(byte as char);
        }
    }
    Cow::Owned(out)
}

fn is_escape_at(bytes: &[u8], i: usize) -> bool {
    bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
        && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
}
