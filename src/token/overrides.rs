//! Response overrides a link may carry: the name a browser saves the file as, inline or as a
//! download (`sl_cd`), and the content type (`sl_ct`). Both travel as base64url so no byte of
//! them can end a query parameter; what they may hold is checked here, once, for the signer
//! that writes them and the verifier that reads them, so no accepted value can break a header.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// The longest file name, in bytes (what common file systems hold).
pub(crate) const MAX_NAME_LEN: usize = 255;
/// The longest content type, in bytes.
pub(crate) const MAX_TYPE_LEN: usize = 127;

/// How the browser should present the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presentation {
    /// Save it (`Content-Disposition: attachment`).
    Attachment,
    /// Show it (`Content-Disposition: inline`).
    Inline,
}

impl Presentation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Presentation::Attachment => "attachment",
            Presentation::Inline => "inline",
        }
    }
}

/// Whether `name` may be a download name: 1 to 255 bytes, no control character, no `/` or `\`
/// (a browser would read a path), no bidirectional control, and not `.` or `..`. Quotes, `;` and non-ASCII are fine:
/// the header writes them escaped.
pub(crate) fn is_file_name(name: &str) -> bool {
    (1..=MAX_NAME_LEN).contains(&name.len())
        && !matches!(name, "." | "..")
        && !name.chars().any(|c| {
            c.is_control()
                || matches!(c, '/' | '\\')
                // Bidirectional controls make `gpj.exe` look like `exe.jpg`.
                || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
                // Invisible or line-breaking: a name that shows as another.
                || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2028}' | '\u{2029}' | '\u{2060}' | '\u{feff}')
        })
}

/// Whether `text` is a content type a header can carry as it is: `type/subtype` of RFC 9110
/// token characters, then any `; name=value` parameters with token names and values (no
/// quoted strings), at most 127 bytes.
pub(crate) fn is_content_type(text: &str) -> bool {
    if text.is_empty() || text.len() > MAX_TYPE_LEN {
        return false;
    }
    let mut parts = text.split(';');
    let essence = parts.next().unwrap_or("");
    let media = essence
        .split_once('/')
        .is_some_and(|(kind, sub)| is_token(kind) && is_token(sub));
    media
        && parts.all(|parameter| {
            parameter
                .strip_prefix(' ')
                .unwrap_or(parameter)
                .split_once('=')
                .is_some_and(|(name, value)| is_token(name) && is_token(value))
        })
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// The `sl_cd` value: `attachment.` or `inline.` and the name in base64url.
pub(crate) fn disposition_value(presentation: Presentation, name: &str) -> String {
    format!(
        "{}.{}",
        presentation.as_str(),
        URL_SAFE_NO_PAD.encode(name.as_bytes())
    )
}

/// Reads an `sl_cd` value; `None` unless it is exactly what [`disposition_value`] writes for
/// a valid name.
pub(crate) fn parse_disposition(value: &str) -> Option<(Presentation, String)> {
    let (kind, encoded) = value.split_once('.')?;
    let presentation = match kind {
        "attachment" => Presentation::Attachment,
        "inline" => Presentation::Inline,
        _ => return None,
    };
    let name = String::from_utf8(decode_canonical(encoded)?).ok()?;
    is_file_name(&name).then_some((presentation, name))
}

/// The `sl_ct` value: the content type in base64url.
pub(crate) fn content_type_value(content_type: &str) -> String {
    URL_SAFE_NO_PAD.encode(content_type.as_bytes())
}

/// Reads an `sl_ct` value; `None` unless it is canonical base64url of a valid content type.
pub(crate) fn parse_content_type(value: &str) -> Option<String> {
    let text = String::from_utf8(decode_canonical(value)?).ok()?;
    is_content_type(&text).then_some(text)
}

/// Base64url without padding, in its one canonical spelling.
fn decode_canonical(text: &str) -> Option<Vec<u8>> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    (URL_SAFE_NO_PAD.encode(&bytes) == text).then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_break_a_header_or_a_path_are_refused() {
        #[rustfmt::skip]
        let cases = [
            ("plain", "report.pdf", true),
            ("spaces and accents", "Q3 report é.pdf", true),
            ("quotes and semicolons", "a \"b\"; c=d.txt", true),
            ("percent", "100% done.txt", true),
            ("CR LF", "a.txt\r\nSet-Cookie: x=1", false),
            ("LF", "a\nb", false),
            ("NUL", "a\0b", false),
            ("DEL", "a\u{7f}b", false),
            ("a C1 control", "a\u{85}b", false),
            ("a right-to-left override", "photo\u{202e}gpj.exe", false),
            ("an Arabic letter mark", "a\u{61c}b", false),
            ("a line separator", "a\u{2028}b", false),
            ("a zero-width space", "a\u{200b}b", false),
            ("slash", "../etc/passwd", false),
            ("backslash", "..\\boot.ini", false),
            ("dot", ".", false),
            ("dot dot", "..", false),
            ("empty", "", false),
        ];
        for (name, text, valid) in cases {
            assert_eq!(is_file_name(text), valid, "{name}");
        }
        assert!(is_file_name(&"x".repeat(255)));
        assert!(!is_file_name(&"x".repeat(256)));
    }

    #[test]
    fn content_types_are_tokens_with_token_parameters() {
        #[rustfmt::skip]
        let cases = [
            ("plain", "application/pdf", true),
            ("with a charset", "text/plain; charset=utf-8", true),
            ("no space", "text/plain;charset=utf-8", true),
            ("a plus", "image/svg+xml", true),
            ("no subtype", "text", false),
            ("empty subtype", "text/", false),
            ("a quoted parameter", "text/plain; charset=\"utf-8\"", false),
            ("CR LF", "text/plain\r\nX: y", false),
            ("a space inside", "text/ plain", false),
            ("two slashes", "a/b/c", false),
            ("non-ASCII", "text/plaín", false),
            ("a comma", "text/plain, text/html", false),
        ];
        for (name, text, valid) in cases {
            assert_eq!(is_content_type(text), valid, "{name}");
        }
    }

    #[test]
    fn values_round_trip_in_one_spelling() {
        let value = disposition_value(Presentation::Attachment, "Q3 report é.pdf");
        assert_eq!(
            parse_disposition(&value),
            Some((Presentation::Attachment, "Q3 report é.pdf".to_owned()))
        );
        let inline = disposition_value(Presentation::Inline, "a.png");
        assert!(inline.starts_with("inline."));
        for bad in [
            "download.YS5wbmc",
            "attachment.YS5wbmc=",
            "attachment",
            "attachment.",
            // A non-canonical last character (unused bits set).
            "attachment.YS5wbmd",
            // "a\r\nb" encoded: decodes, but no valid name.
            "attachment.YQ0KYg",
            // Invalid UTF-8 (0xFF).
            "attachment._w",
        ] {
            assert_eq!(parse_disposition(bad), None, "{bad}");
        }
        let ct = content_type_value("text/plain; charset=utf-8");
        assert_eq!(
            parse_content_type(&ct).as_deref(),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(parse_content_type("dGV4dA"), None, "text alone");
    }
}
