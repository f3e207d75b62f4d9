//! Writing nginx configuration: the `secure_link` location block and the X-Accel-Redirect pair.

use super::{NginxConfigError, NginxScheme, Part};

impl NginxScheme {
    /// The `location` block that makes nginx verify these links, as `nginx-config` prints it.
    pub fn location_block(&self, location: &str, alias: &str) -> Result<String, NginxConfigError> {
        if self.legacy_secret_mode {
            return Err(NginxConfigError::LegacyMode);
        }
        let mut expression = String::new();
        for part in &self.template {
            match part {
                // Without an expiry nginx leaves the variable empty; leave it out.
                Part::Expires if !self.expiring => {}
                Part::Expires => expression.push_str("$secure_link_expires"),
                Part::Uri => expression.push_str("$uri"),
                Part::RemoteAddr => expression.push_str("$remote_addr"),
                Part::Secret => {
                    let secret = std::str::from_utf8(&self.secret)
                        .map_err(|_| NginxConfigError::UnsafeSecret)?;
                    expression.push_str(&escape(secret).ok_or(NginxConfigError::UnsafeSecret)?)
                }
                Part::Literal(text) => {
                    expression.push_str(&escape(text).ok_or(NginxConfigError::Template)?)
                }
            }
        }
        let (location, alias) = folder_pair(location, alias)?;
        let secure_link = if self.expiring {
            format!("$arg_{},$arg_{}", self.token_param, self.expires_param)
        } else {
            format!("$arg_{}", self.token_param)
        };
        // The same headers the layer adds: refusals are not stored anywhere, served files are
        // not cached for others, and the page does not leak its link through `Referer`.
        Ok(format!(
            "location \"{location}\" {{\n    \
             secure_link {secure_link};\n    \
             secure_link_md5 \"{expression}\";\n    \
             if ($secure_link = \"\") {{\n        \
             {REFUSED_HEADERS}\n        \
             return 403;\n    \
             }}\n    \
             if ($secure_link = \"0\") {{\n        \
             {REFUSED_HEADERS}\n        \
             return 410;\n    \
             }}\n    \
             {SERVED_HEADERS}\n    \
             alias \"{alias}\";\n\
             }}\n"
        ))
    }
}

/// The name of the `upstream` block [`accel_config`] writes.
pub const ACCEL_UPSTREAM: &str = "secure_link_backend";

/// The line that separates [`accel_config`]'s `http { }` part from its `server { }` part.
pub const SERVER_CONTEXT_MARKER: &str = "# server { } context:";

/// The nginx side of `X-Accel-Redirect` (see [`accel`](crate::accel)), in two parts: an
/// `upstream` block for the `http { }` context that keeps connections to the backend at
/// `upstream` (`host:port`) open, then, after [`SERVER_CONTEXT_MARKER`], for a `server { }`: a
/// location that passes `location` to that backend over HTTP/1.1 keep-alive (the backend checks
/// the links), and an `internal` location that serves `alias` under `internal` with `sendfile`,
/// which clients cannot reach directly.
///
/// Without keep-alive nginx opens a new connection to the backend for every request, which
/// caps small files at a fraction of what nginx serves alone.
pub fn accel_config(
    location: &str,
    internal: &str,
    alias: &str,
    upstream: &str,
) -> Result<String, NginxConfigError> {
    let upstream_ok = !upstream.is_empty()
        && upstream
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'-' | b'[' | b']'));
    if !upstream_ok {
        return Err(NginxConfigError::UnsafePath);
    }
    let location = escape(&with_slash(location)?).ok_or(NginxConfigError::UnsafePath)?;
    let (internal, alias) = folder_pair(internal, alias)?;
    // The backend's `Cache-Control: private` reaches the client through X-Accel-Redirect; its
    // `Referrer-Policy` does not, so the internal location adds it. It serves files only: for a
    // folder nginx would answer with a redirect whose `Location` names the path, which an opaque
    // link must never show.
    Ok(format!(
        "# http {{ }} context:\n\
         upstream {ACCEL_UPSTREAM} {{\n    \
         server {upstream};\n    \
         keepalive 32;\n\
         }}\n\
         {SERVER_CONTEXT_MARKER}\n\
         location \"{internal}\" {{\n    \
         internal;\n    \
         sendfile on;\n    \
         tcp_nopush on;\n    \
         add_header Referrer-Policy \"no-referrer\" always;\n    \
         alias \"{alias}\";\n    \
         if (-d $request_filename) {{\n        \
         return 404;\n    \
         }}\n\
         }}\n\
         location \"{location}\" {{\n    \
         proxy_pass http://{ACCEL_UPSTREAM};\n    \
         proxy_http_version 1.1;\n    \
         proxy_set_header Connection \"\";\n    \
         proxy_set_header Host $host;\n    \
         proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
         }}\n"
    ))
}

/// Headers for nginx's own refusals and for the files it serves through a valid link.
const REFUSED_HEADERS: &str =
    "add_header Cache-Control \"no-store\" always;\n        add_header Referrer-Policy \"no-referrer\" always;";
const SERVED_HEADERS: &str =
    "add_header Cache-Control \"private\" always;\n    add_header Referrer-Policy \"no-referrer\" always;";

/// A prefix location and the folder it is served from, both ending with `/`, escaped for
/// nginx. nginx's `alias` replaces the location's text exactly: `location /private/` with
/// `alias /srv/x` would open `/srv/xhello.txt` for `/private/hello.txt`, and `location /private`
/// would also match `/private-other/`.
fn folder_pair(location: &str, alias: &str) -> Result<(String, String), NginxConfigError> {
    let location = with_slash(location)?;
    let alias = with_slash(alias)?;
    Ok((
        escape(&location).ok_or(NginxConfigError::UnsafePath)?,
        escape(&alias).ok_or(NginxConfigError::UnsafePath)?,
    ))
}

/// An absolute path ending with exactly one `/`.
fn with_slash(path: &str) -> Result<String, NginxConfigError> {
    if !path.starts_with('/') {
        return Err(NginxConfigError::NotAbsolute);
    }
    Ok(format!("{}/", path.trim_end_matches('/')))
}

/// Writes text for a double-quoted nginx string, or `None` when it cannot be written safely:
/// `$` starts a variable and has no escape, and control characters have no place in a config.
pub(crate) fn escape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '$' => return None,
            c if c.is_control() => return None,
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    Some(out)
}
