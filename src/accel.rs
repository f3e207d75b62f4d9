//! `X-Accel-Redirect`: check the link in the app, let nginx send the bytes.
//!
//! Serving files from an async Rust process costs far more than nginx serving them. With
//! `X-Accel-Redirect` the backend answers a verified request with an empty response that names
//! a file under an nginx `internal` location; nginx then serves that file itself. Clients cannot
//! reach an `internal` location directly (nginx answers 404), so the link check stays in the app.
//!
//! # Rules
//!
//! - The redirect target is written percent-encoded, as nginx expects, and must start with `/`
//!   (or `@` for a named location). Empty targets, NUL and control characters, and `.` or `..`
//!   segments are refused: nginx would answer 404 or, worse, resolve them.
//! - nginx keeps only six upstream headers (`Content-Type`, `Content-Disposition`,
//!   `Cache-Control`, `Expires`, `Set-Cookie`, `Accept-Ranges`), so the response sets
//!   `Content-Type` and `Content-Disposition` itself. Non-ASCII file names get an RFC 6266
//!   `filename*` in UTF-8 beside an ASCII `filename`.
//!
//! ```
//! use tower_secure_link::accel::AccelRedirect;
//!
//! let response: http::Response<()> = AccelRedirect::new("/protected/Übersicht 2026.pdf")
//!     .unwrap()
//!     .attachment("Übersicht 2026.pdf")
//!     .into_response();
//! assert_eq!(response.headers()["x-accel-redirect"], "/protected/%C3%9Cbersicht%202026.pdf");
//! assert_eq!(response.headers()["content-type"], "application/pdf");
//! assert_eq!(
//!     response.headers()["content-disposition"],
//!     "attachment; filename=\"_bersicht 2026.pdf\"; filename*=UTF-8''%C3%9Cbersicht%202026.pdf"
//! );
//! assert!(AccelRedirect::new("/protected/../etc/passwd").is_err());
//! ```

use std::convert::Infallible;
use std::fmt;
use std::future::{ready, Ready};
use std::marker::PhantomData;
use std::path::PathBuf;
use std::task::{Context, Poll};
use std::time::{Duration, UNIX_EPOCH};

use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LAST_MODIFIED};
use http::{HeaderName, HeaderValue, Request, Response, StatusCode};
use percent_encoding::percent_decode_str;
use tower_service::Service;

use crate::disposition::disposition;
use crate::one_time::ResumedDownload;
use crate::path::encode_segment;

/// The header nginx acts on.
pub const X_ACCEL_REDIRECT: HeaderName = HeaderName::from_static("x-accel-redirect");

/// The size of the file an `X-Accel-Redirect` names, as the service found it on disk, for the
/// layer's check of a version-bound link (the response's own body is empty).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileSize(pub(crate) u64);

/// An `X-Accel-Redirect` response being built.
#[derive(Debug, Clone)]
#[must_use]
pub struct AccelRedirect {
    target: HeaderValue,
    content_type: HeaderValue,
    disposition: Option<HeaderValue>,
}

impl AccelRedirect {
    /// A redirect to `internal_path`, written plainly (`/protected/a b.pdf`); the response
    /// escapes it. The content type is guessed from the extension.
    pub fn new(internal_path: &str) -> Result<Self, AccelError> {
        let target = if let Some(name) = internal_path.strip_prefix('@') {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(AccelError::new("a named location is '@' and a plain name"));
            }
            internal_path.to_owned()
        } else {
            let rest = internal_path
                .strip_prefix('/')
                .ok_or(AccelError::new("the target must start with '/' or '@'"))?;
            let mut encoded = String::with_capacity(internal_path.len() + 8);
            for segment in rest.split('/') {
                if matches!(segment, "." | "..") {
                    return Err(AccelError::new("the target holds a '.' or '..' segment"));
                }
                if segment.chars().any(char::is_control) {
                    return Err(AccelError::new("the target holds a control character"));
                }
                encoded.push('/');
                encoded.push_str(&encode_segment(segment));
            }
            encoded
        };
        Ok(Self {
            target: HeaderValue::try_from(target)
                .map_err(|_| AccelError::new("the target cannot be a header value"))?,
            content_type: HeaderValue::from_static(content_type_for(internal_path)),
            disposition: None,
        })
    }

    /// Sets the content type instead of guessing it from the extension.
    pub fn content_type(mut self, content_type: HeaderValue) -> Self {
        self.content_type = content_type;
        self
    }

    /// The browser shows the file, under this name when saved.
    pub fn inline(mut self, filename: &str) -> Self {
        self.disposition = Some(disposition("inline", filename));
        self
    }

    /// The browser downloads the file under this name.
    pub fn attachment(mut self, filename: &str) -> Self {
        self.disposition = Some(disposition("attachment", filename));
        self
    }

    /// The response: 200, an empty body, and the headers nginx needs.
    pub fn into_response<B: Default>(self) -> Response<B> {
        let mut response = Response::new(B::default());
        let headers = response.headers_mut();
        headers.insert(X_ACCEL_REDIRECT, self.target);
        headers.insert(CONTENT_TYPE, self.content_type);
        if let Some(disposition) = self.disposition {
            headers.insert(CONTENT_DISPOSITION, disposition);
        }
        response
    }
}

/// A content type for the file's extension, from `mime_guess` (the table tower-http's
/// `ServeDir` uses); `application/octet-stream` when unknown.
pub fn content_type_for(path: &str) -> &'static str {
    let Some(extension) = path
        .rsplit('/')
        .next()
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, ext)| ext)
    else {
        return "application/octet-stream";
    };
    // HLS players expect these two; mime_guess says `audio/x-mpegurl` and a DLNA type.
    if extension.eq_ignore_ascii_case("m3u8") {
        return "application/vnd.apple.mpegurl";
    }
    if extension.eq_ignore_ascii_case("ts") {
        return "video/mp2t";
    }
    match mime_guess::from_ext(extension).first_raw() {
        // Without a charset a browser guesses the encoding of text it displays.
        Some("text/plain") => "text/plain; charset=utf-8",
        Some("text/html") => "text/html; charset=utf-8",
        Some(known) => known,
        None => "application/octet-stream",
    }
}

/// A tower service that answers every request under `from` with an `X-Accel-Redirect` to the
/// same file under nginx's internal location `to`, and never touches the file itself. Put it
/// behind [`SecureLinkLayer`](crate::SecureLinkLayer), which has already checked the link and
/// normalised the path.
///
/// `B` is the response body type, for example `axum::body::Body`.
///
/// ```
/// use axum::{body::Body, Router};
/// use tower_secure_link::{accel::XAccelRedirect, Key, SecureLinkLayer};
///
/// let files = XAccelRedirect::<Body>::new("/private/", "/protected/").unwrap();
/// let layer = SecureLinkLayer::new(Key::new("1", [7u8; 32]).unwrap())
///     .with_private_prefix("/private/")
///     .unwrap();
/// // `route_service` keeps the whole path (`nest_service` would strip the prefix).
/// let app: Router = Router::new().route_service("/private/{*file}", files).layer(layer);
/// # let _ = app;
/// ```
pub struct XAccelRedirect<B> {
    from: String,
    to: String,
    /// The folder nginx serves `to` from, to check a resumed download's `If-Range`.
    validators: Option<PathBuf>,
    body: PhantomData<fn() -> B>,
}

impl<B> Clone for XAccelRedirect<B> {
    fn clone(&self) -> Self {
        Self {
            from: self.from.clone(),
            to: self.to.clone(),
            validators: self.validators.clone(),
            body: PhantomData,
        }
    }
}

impl<B> fmt::Debug for XAccelRedirect<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XAccelRedirect")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("validators", &self.validators)
            .finish()
    }
}

impl<B: Default> XAccelRedirect<B> {
    /// Maps `from/...` to `to/...`; both must start and end with `/`.
    pub fn new(from: &str, to: &str) -> Result<Self, AccelError> {
        let valid = |prefix: &str| prefix.starts_with('/') && prefix.ends_with('/');
        if !valid(from) || !valid(to) {
            return Err(AccelError::new("prefixes must start and end with '/'"));
        }
        Ok(Self {
            from: from.to_owned(),
            to: to.to_owned(),
            validators: None,
            body: PhantomData,
        })
    }

    /// Lets resumed one-time downloads that carry `If-Range` through: `folder` is where nginx
    /// serves the internal location from, so the service can compute the validators nginx
    /// will compare (`ETag` `"<mtime hex>-<size hex>"` and `Last-Modified`; it only reads the
    /// file's metadata).
    ///
    /// nginx acts on the client's own headers after `X-Accel-Redirect`, so the layer cannot
    /// remove an `If-Range` for it, and a mismatched one would make nginx send the whole file.
    /// A resume whose `If-Range` matches the file goes on (nginx answers 206); one that does not
    /// match, or that cannot be checked because no folder was given, gets 410, like any other
    /// repeated use of a one-time link. Resumes without `If-Range` always go on.
    ///
    /// It also lets version-bound links ([`file_version`](crate::file_version)) through: each
    /// redirect carries the file's `Last-Modified` (nginx drops it and sends its own) and its
    /// size for the layer to compare, at the cost of one `stat` per request. Without a folder
    /// the layer cannot see which version nginx will send, and refuses such links with 410.
    /// The file is read when the redirect is made: one replaced in the moment between that and
    /// nginx opening it is not caught.
    pub fn with_validators_from(mut self, folder: impl Into<PathBuf>) -> Self {
        self.validators = Some(folder.into());
        self
    }

    /// The modification time (whole seconds) and size of the file nginx will send for
    /// `relative`, with its `Last-Modified` value; `None` without a folder, for anything but a
    /// regular file, or for a time no HTTP date can write.
    fn file_facts(&self, relative: &str) -> Option<(u64, u64, String)> {
        let metadata = std::fs::metadata(self.validators.as_ref()?.join(relative)).ok()?;
        if !metadata.is_file() {
            return None;
        }
        let modified = metadata.modified().ok()?;
        let seconds = modified.duration_since(UNIX_EPOCH).ok()?.as_secs();
        let last_modified =
            crate::signer::last_modified(UNIX_EPOCH + Duration::from_secs(seconds))?;
        Some((seconds, metadata.len(), last_modified))
    }

    /// Whether a resume's `If-Range` (if any) matches the file nginx will send.
    fn resume_allowed(&self, relative: &str, if_range: Option<&HeaderValue>) -> bool {
        let Some(if_range) = if_range else {
            return true;
        };
        let Some((seconds, size, last_modified)) = self.file_facts(relative) else {
            return false;
        };
        let etag = format!("\"{seconds:x}-{size:x}\"");
        if_range == etag.as_str() || if_range == last_modified.as_str()
    }

    fn respond<ReqBody>(&self, request: &Request<ReqBody>) -> Response<B> {
        let path = request.uri().path();
        if let Some(resumed) = request.extensions().get::<ResumedDownload>() {
            let relative = path
                .strip_prefix(self.from.as_str())
                .and_then(|rest| percent_decode_str(rest).decode_utf8().ok());
            let allowed =
                relative.is_some_and(|relative| self.resume_allowed(&relative, resumed.if_range()));
            if !allowed {
                let mut response = Response::new(B::default());
                *response.status_mut() = StatusCode::GONE;
                return response;
            }
        }
        self.redirect(path)
    }

    fn redirect(&self, path: &str) -> Response<B> {
        let redirect = path.strip_prefix(self.from.as_str()).and_then(|rest| {
            let decoded = percent_decode_str(rest).decode_utf8().ok()?;
            let name = decoded.rsplit('/').next().unwrap_or_default().to_owned();
            let target = format!("{}{decoded}", self.to);
            // Checked only once the target passed `AccelRedirect::new` (no dot segments).
            let redirect = AccelRedirect::new(&target).ok()?.inline(&name);
            Some((redirect, decoded))
        });
        match redirect {
            Some((redirect, relative)) if !path.ends_with('/') => {
                let mut response = redirect.into_response();
                if let Some((_, size, last_modified)) = self.file_facts(&relative) {
                    if let Ok(value) = HeaderValue::try_from(last_modified) {
                        response.headers_mut().insert(LAST_MODIFIED, value);
                    }
                    response.extensions_mut().insert(FileSize(size));
                }
                response
            }
            _ => {
                let mut response = Response::new(B::default());
                *response.status_mut() = StatusCode::NOT_FOUND;
                response
            }
        }
    }
}

impl<ReqBody, ResBody: Default> Service<Request<ReqBody>> for XAccelRedirect<ResBody> {
    type Response = Response<ResBody>;
    type Error = Infallible;
    type Future = Ready<Result<Response<ResBody>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        ready(Ok(self.respond(&request)))
    }
}

/// Why an `X-Accel-Redirect` could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccelError {
    reason: &'static str,
}

impl AccelError {
    fn new(reason: &'static str) -> Self {
        Self { reason }
    }
}

impl fmt::Display for AccelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason)
    }
}

impl std::error::Error for AccelError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_escaped_or_refused() {
        #[rustfmt::skip]
        let cases = [
            ("plain", "/protected/a.pdf", Some("/protected/a.pdf")),
            ("space", "/protected/a b.pdf", Some("/protected/a%20b.pdf")),
            ("UTF-8", "/protected/é.txt", Some("/protected/%C3%A9.txt")),
            ("question mark stays in the name", "/protected/a?b", Some("/protected/a%3Fb")),
            ("percent sign", "/protected/100%.txt", Some("/protected/100%25.txt")),
            ("named location", "@files", Some("@files")),
            ("empty", "", None),
            ("relative", "protected/a", None),
            ("query first", "?x", None),
            ("dot-dot", "/protected/../etc/passwd", None),
            ("trailing dot-dot", "/protected/..", None),
            ("dot", "/protected/./a", None),
            ("NUL", "/protected/a\0b", None),
            ("newline", "/protected/a\nb", None),
            ("bad named location", "@a b", None),
        ];
        for (name, input, want) in cases {
            let got = AccelRedirect::new(input)
                .ok()
                .map(|r| r.target.to_str().unwrap().to_owned());
            assert_eq!(got.as_deref(), want, "{name}");
        }
    }

    #[test]
    fn content_types_follow_the_extension() {
        #[rustfmt::skip]
        let cases = [
            ("PDF", "/protected/a.pdf", "application/pdf"),
            ("upper-case extension", "/protected/A.PNG", "image/png"),
            ("JPEG, short", "/a.jpg", "image/jpeg"),
            ("JPEG, long", "/a.jpeg", "image/jpeg"),
            ("GIF", "/a.gif", "image/gif"),
            ("WebP", "/a.webp", "image/webp"),
            ("SVG", "/a.svg", "image/svg+xml"),
            ("text keeps its charset", "/a.txt", "text/plain; charset=utf-8"),
            ("other plain text too", "/server.log", "text/plain; charset=utf-8"),
            ("HTML", "/a.html", "text/html; charset=utf-8"),
            ("HTML, short", "/a.htm", "text/html; charset=utf-8"),
            ("CSS", "/a.css", "text/css"),
            ("JavaScript", "/a.js", "text/javascript"),
            ("JSON", "/a.json", "application/json"),
            ("CSV", "/a.csv", "text/csv"),
            ("ZIP", "/a.zip", "application/zip"),
            ("MP3", "/a.mp3", "audio/mpeg"),
            ("MP4", "/a.mp4", "video/mp4"),
            ("WebM", "/a.webm", "video/webm"),
            ("HLS playlist", "/live/index.m3u8", "application/vnd.apple.mpegurl"),
            ("HLS playlist, upper-case", "/live/INDEX.M3U8", "application/vnd.apple.mpegurl"),
            ("HLS segment", "/live/0001.ts", "video/mp2t"),
            ("known beyond the old table", "/fonts/a.woff2", "font/woff2"),
            ("last extension counts", "/a.tar.gz", "application/gzip"),
            ("unknown", "/a.unknown-ext", "application/octet-stream"),
            ("no extension", "/protected/README", "application/octet-stream"),
            ("dot in a folder only", "/v1.2/README", "application/octet-stream"),
            ("empty extension", "/a.", "application/octet-stream"),
            ("named location", "@files", "application/octet-stream"),
        ];
        for (name, path, want) in cases {
            assert_eq!(content_type_for(path), want, "{name}");
        }
    }

    #[test]
    fn dispositions_follow_rfc_6266() {
        #[rustfmt::skip]
        let cases = [
            ("report.pdf", "inline; filename=\"report.pdf\""),
            ("a \"quoted\" name.txt", "inline; filename=\"a _quoted_ name.txt\"; filename*=UTF-8''a%20%22quoted%22%20name.txt"),
            ("naïve.txt", "inline; filename=\"na_ve.txt\"; filename*=UTF-8''na%C3%AFve.txt"),
            ("back\\slash", "inline; filename=\"back_slash\"; filename*=UTF-8''back%5Cslash"),
        ];
        for (filename, want) in cases {
            assert_eq!(disposition("inline", filename), want, "{filename}");
        }
    }

    #[test]
    fn the_service_maps_prefixes_and_refuses_the_rest() {
        let service = XAccelRedirect::<()>::new("/private/", "/protected/").unwrap();
        let response = service.redirect("/private/dir/my%20file.pdf");
        assert_eq!(
            response.headers()[X_ACCEL_REDIRECT],
            "/protected/dir/my%20file.pdf"
        );
        assert_eq!(response.headers()[CONTENT_TYPE], "application/pdf");
        assert_eq!(
            response.headers()[CONTENT_DISPOSITION],
            "inline; filename=\"my file.pdf\""
        );
        for path in ["/public/x", "/private/", "/private/%ff"] {
            let response = service.redirect(path);
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(response.headers().get(X_ACCEL_REDIRECT).is_none(), "{path}");
        }
        assert!(XAccelRedirect::<()>::new("private", "/protected/").is_err());
    }
}
