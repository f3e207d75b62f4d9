//! nginx verifies native links itself: [`NativeConfig`] writes its script and configuration.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use percent_encoding::percent_decode_str;

use super::config::escape;
use super::SERVER_CONTEXT_MARKER;
use crate::key::{Key, KeyError};
use crate::layer::{DEFAULT_LEEWAY, DEFAULT_MAX_LIFETIME, DEFAULT_PARAM_PREFIX, MAX_LEEWAY};
use crate::path::canonical_prefix;

/// The verifier nginx runs, written as [`SCRIPT_FILE`].
const SCRIPT: &str = include_str!("native.js");
/// The verifier's file name in the folder of scripts.
pub const SCRIPT_FILE: &str = "secure_link_native.js";
/// The keys and settings, next to the verifier, which imports them by this name.
pub const CONF_FILE: &str = "secure_link_native_conf.js";

/// nginx verifies native links itself, with its JavaScript module (njs, Debian's
/// `libnginx-mod-http-js`): no backend in the data path.
///
/// `NativeConfig` writes two files into a folder of scripts and returns the nginx configuration
/// that uses them, in two parts like [`accel_config`](super::accel_config)'s: one for the
/// `http { }` context, then [`SERVER_CONTEXT_MARKER`]'s line, then one for a `server { }`.
///
/// - `secure_link_native.js`, the verifier: a port of the layer's checks of native links (the
///   signing parameters' syntax, key ids with rotation, method, not-before, expiry, leeway,
///   maximum lifetime, query binding, folder links in the query and as a path segment) and of
///   its path rules, which it applies to the request's raw target (`$request_uri`), since
///   nginx's `$uri` is already resolved.
/// - `secure_link_native_conf.js`, the keys and settings, written with mode 0600. nginx's master
///   process reads it when it loads the configuration (as root, before the workers drop their
///   privileges), so the keys appear neither in the configuration text nor in a file the
///   workers could read.
///
/// nginx answers as the layer does: 200 for a valid link, 403 for a missing or bad one, 410 for
/// an expired one, 400 for a private path whose readings differ. Links that need state or the
/// application (one-time use, upload limits, version-bound links, revocation groups, folder
/// session cookies, opaque links) are verified as far as nginx can, then refused with 403, or
/// proxied to the [fallback](NativeConfig::with_fallback) application, whose layer decides.
/// Forged links never reach it.
///
/// # Deployment
///
/// - Load the module in nginx's main context: `load_module modules/ngx_http_js_module.so;`.
/// - The server part takes the private location (and its exact form `location = /private`),
///   the opaque prefix's location (`/s/` unless [changed](NativeConfig::with_opaque_prefix)),
///   and adds a check for requests whose raw path the layer would refuse although nginx maps
///   them elsewhere (`/PRIVATE/x`, `/private/../x`). That check costs one regular expression
///   per request of the server; it calls the script only for targets that are not canonical.
/// - Folders are served by their `index.html`, as `ServeDir` does; nginx's redirect for a
///   folder named without its `/` is a 301 where `ServeDir` answers 307.
/// - A new key or setting needs the files written again and `nginx -s reload`.
///
/// ```
/// use tower_secure_link::nginx::{NativeConfig, SERVER_CONTEXT_MARKER};
///
/// let scripts = tempfile::tempdir().unwrap();
/// let output = NativeConfig::new("/srv/private-files/")
///     .unwrap()
///     .with_location("/private/")
///     .unwrap()
///     .with_key("2026", b"the current secret, 32 bytes or more")
///     .unwrap()
///     .with_key("2025", b"an older secret of thirty-two bytes!")
///     .unwrap()
///     .write_scripts(scripts.path())
///     .unwrap();
/// assert!(output.http.contains("js_import"));
/// assert!(output.server.contains(r#"alias "/srv/private-files$secure_link_native";"#));
/// let text = output.to_string();
/// assert!(text.contains(SERVER_CONTEXT_MARKER));
/// assert!(!text.contains("the current secret"));
/// // Bad input is refused when it is given.
/// assert!(NativeConfig::new("relative/dir").is_err());
/// assert!(NativeConfig::new("/srv/").unwrap().with_key("1", b"short").is_err());
/// ```
#[derive(Clone)]
#[must_use]
pub struct NativeConfig {
    keys: Vec<(String, Vec<u8>)>,
    /// Canonical, without a trailing `/` (the root is empty).
    location: String,
    /// Without a trailing `/`, escaped for a quoted nginx string.
    alias: String,
    leeway: u64,
    max_lifetime: u64,
    param_prefix: String,
    /// `http://host:port`, without a path.
    fallback: Option<String>,
    /// Canonical, with a trailing `/`.
    opaque_prefix: Option<String>,
}

/// What [`NativeConfig::write_scripts`] returns: the two parts of the configuration. Its
/// `Display` prints them as `nginx-config --native` does, the marker line between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeOutput {
    /// For the `http { }` context, starting with a `# http { } context:` line.
    pub http: String,
    /// For a `server { }` context.
    pub server: String,
    /// The files written: the verifier, then the keys.
    pub files: Vec<PathBuf>,
}

/// Why a native nginx configuration could not be made or written.
#[derive(Debug)]
#[non_exhaustive]
pub enum NativeConfigError {
    /// No key was given.
    NoKey,
    /// A key's id or secret is not one the layer accepts, or two keys share an id.
    Key {
        /// The id as given.
        id: String,
        /// Why.
        error: KeyError,
    },
    /// The location or the opaque prefix is not an absolute, canonical path, the opaque prefix
    /// is the root or the location itself.
    Prefix(String),
    /// The alias is not an absolute path.
    NotAbsolute(String),
    /// A path holds `$`, a control character or invalid UTF-8, which nginx's syntax cannot
    /// carry safely.
    UnsafePath(String),
    /// The fallback is not `http://HOST:PORT` (no path, no user, no query).
    Fallback(String),
    /// The parameter prefix is not 1 to 16 characters of `a-z 0-9 _ - .`.
    ParamPrefix(String),
    /// The leeway is over [`MAX_LEEWAY`](crate::SecureLinkLayer::MAX_LEEWAY), or the maximum
    /// lifetime is under a second.
    Lifetime,
    /// A file could not be written.
    Io(PathBuf, std::io::Error),
}

impl NativeConfig {
    /// Serves the files of `alias` (an absolute folder) under `/private/`, with the layer's
    /// defaults: leeway [`DEFAULT_LEEWAY`](crate::SecureLinkLayer::DEFAULT_LEEWAY), maximum lifetime
    /// [`DEFAULT_MAX_LIFETIME`](crate::SecureLinkLayer::DEFAULT_MAX_LIFETIME), parameter
    /// prefix `sl_`, opaque links under `/s/`, no fallback. Add at least one key.
    pub fn new(alias: &str) -> Result<Self, NativeConfigError> {
        if !alias.starts_with('/') {
            return Err(NativeConfigError::NotAbsolute(alias.to_owned()));
        }
        let alias = alias.trim_end_matches('/');
        let alias = escape(alias).ok_or_else(|| NativeConfigError::UnsafePath(alias.to_owned()))?;
        Ok(Self {
            keys: Vec::new(),
            location: "/private".to_owned(),
            alias,
            leeway: DEFAULT_LEEWAY.as_secs(),
            max_lifetime: DEFAULT_MAX_LIFETIME.as_secs(),
            param_prefix: DEFAULT_PARAM_PREFIX.to_owned(),
            fallback: None,
            opaque_prefix: Some("/s/".to_owned()),
        })
    }

    /// The private prefix whose links nginx verifies (`/private/` by default), matched by whole
    /// segments as the layer's `with_private_prefix` does.
    pub fn with_location(mut self, prefix: &str) -> Result<Self, NativeConfigError> {
        let canonical = config_prefix(prefix)?;
        if self.opaque_prefix.as_deref() == Some(&format!("{canonical}/")) {
            return Err(NativeConfigError::Prefix(prefix.to_owned()));
        }
        self.location = canonical;
        Ok(self)
    }

    /// A key that verifies links: the same id and secret as the layer's. Give the signing key
    /// and every older key still accepted (rotation); the order does not matter.
    pub fn with_key(mut self, id: &str, secret: &[u8]) -> Result<Self, NativeConfigError> {
        let refused = |error| NativeConfigError::Key {
            id: id.to_owned(),
            error,
        };
        Key::new(id, secret).map_err(refused)?;
        if self.keys.iter().any(|(known, _)| known == id) {
            return Err(refused(KeyError::DuplicateId));
        }
        self.keys.push((id.to_owned(), secret.to_vec()));
        Ok(self)
    }

    /// The clock skew tolerated around not-before and expiry (at most
    /// [`MAX_LEEWAY`](crate::SecureLinkLayer::MAX_LEEWAY)).
    pub fn with_leeway(mut self, leeway: Duration) -> Result<Self, NativeConfigError> {
        if leeway > MAX_LEEWAY {
            return Err(NativeConfigError::Lifetime);
        }
        self.leeway = leeway.as_secs();
        Ok(self)
    }

    /// The longest lifetime a link may have (at least a second).
    pub fn with_max_lifetime(mut self, lifetime: Duration) -> Result<Self, NativeConfigError> {
        if lifetime.as_secs() == 0 {
            return Err(NativeConfigError::Lifetime);
        }
        self.max_lifetime = lifetime.as_secs();
        Ok(self)
    }

    /// The name prefix of the signing parameters (`sl_` by default), as the layer's
    /// `with_param_prefix`.
    pub fn with_param_prefix(mut self, prefix: &str) -> Result<Self, NativeConfigError> {
        let valid = (1..=16).contains(&prefix.len())
            && prefix.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
            });
        if !valid {
            return Err(NativeConfigError::ParamPrefix(prefix.to_owned()));
        }
        self.param_prefix = prefix.to_owned();
        Ok(self)
    }

    /// Where opaque links live (`/s/` by default): nginx cannot open them, so they are refused
    /// with 403 or handed to the fallback.
    pub fn with_opaque_prefix(mut self, prefix: &str) -> Result<Self, NativeConfigError> {
        let canonical = config_prefix(prefix)?;
        if canonical.is_empty() || canonical == self.location {
            return Err(NativeConfigError::Prefix(prefix.to_owned()));
        }
        self.opaque_prefix = Some(format!("{canonical}/"));
        Ok(self)
    }

    /// No location for opaque links: requests under `/s/` are left to the rest of the server.
    pub fn without_opaque_links(mut self) -> Self {
        self.opaque_prefix = None;
        self
    }

    /// The application (`http://HOST:PORT`, the layer in front of the same files) that gets
    /// the requests nginx cannot decide alone, instead of a 403. nginx passes them on as the
    /// client sent them, with the client's `Host`.
    pub fn with_fallback(mut self, url: &str) -> Result<Self, NativeConfigError> {
        let refused = || NativeConfigError::Fallback(url.to_owned());
        let authority = url
            .strip_prefix("http://")
            .ok_or_else(refused)?
            .trim_end_matches('/');
        let (host, port) = authority.rsplit_once(':').ok_or_else(refused)?;
        let host_ok = !host.is_empty()
            && host.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
            });
        let port_ok = port.parse::<u16>().is_ok_and(|port| port > 0);
        if !host_ok || !port_ok {
            return Err(refused());
        }
        self.fallback = Some(format!("http://{authority}"));
        Ok(self)
    }

    /// Writes the verifier and the keys into `js_dir` (made if missing) and returns the
    /// configuration, which names them by absolute path.
    pub fn write_scripts(&self, js_dir: &Path) -> Result<NativeOutput, NativeConfigError> {
        if self.keys.is_empty() {
            return Err(NativeConfigError::NoKey);
        }
        let io = |path: &Path| {
            let path = path.to_owned();
            move |error| NativeConfigError::Io(path, error)
        };
        std::fs::create_dir_all(js_dir).map_err(io(js_dir))?;
        let dir = js_dir.canonicalize().map_err(io(js_dir))?;
        let dir_text = dir
            .to_str()
            .and_then(escape)
            .ok_or_else(|| NativeConfigError::UnsafePath(dir.display().to_string()))?;
        let script = dir.join(SCRIPT_FILE);
        let conf = dir.join(CONF_FILE);
        write_file(&script, SCRIPT.as_bytes(), 0o644).map_err(io(&script))?;
        write_file(&conf, self.conf_module().as_bytes(), 0o600).map_err(io(&conf))?;
        Ok(NativeOutput {
            http: self.http_part(&format!("{dir_text}/{SCRIPT_FILE}")),
            server: self.server_part()?,
            files: vec![script, conf],
        })
    }

    /// The module the verifier imports: settings, and the keys as hex.
    fn conf_module(&self) -> String {
        let keys: String = self
            .keys
            .iter()
            .map(|(id, secret)| {
                let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
                format!("        [{}, '{hex}'],\n", js_string(id))
            })
            .collect();
        format!(
            "// Written by tower-secure-link (nginx::NativeConfig): the keys nginx verifies native\n\
             // links with. Readable by root only; nginx reads it when it loads its configuration.\n\
             export default {{\n    \
             prefix: {},\n    \
             prefixLower: {},\n    \
             prefixDecodedLength: {},\n    \
             opaque: {},\n    \
             params: {},\n    \
             leeway: {},\n    \
             maxLifetime: {},\n    \
             keys: [\n{keys}    ],\n\
             }};\n",
            js_string(&self.location),
            js_string(&self.location.to_ascii_lowercase()),
            percent_decode_str(&self.location).count(),
            js_string(self.opaque_prefix.as_deref().unwrap_or("")),
            js_string(&self.param_prefix),
            self.leeway,
            self.max_lifetime,
        )
    }

    fn http_part(&self, script: &str) -> String {
        let mut out = format!(
            "# http {{ }} context:\n\
             # (with `load_module modules/ngx_http_js_module.so;` in the main context)\n\
             js_import {NAME} from \"{script}\";\n\
             js_set ${NAME} {NAME}.verdict;\n\
             map ${NAME} ${NAME}_answer {{\n    \
             default \"403\";\n    \
             \"~^/\" \"serve\";\n    \
             \"400\" \"400\";\n    \
             \"410\" \"410\";\n    \
             \"defer\" \"defer\";\n    \
             \"public\" \"public\";\n\
             }}\n\
             map ${NAME} ${NAME}_cache {{\n    \
             default \"\";\n    \
             \"~^/\" \"private\";\n\
             }}\n\
             map ${NAME} ${NAME}_referrer {{\n    \
             default \"\";\n    \
             \"~^/\" \"no-referrer\";\n\
             }}\n"
        );
        if !self.location.is_empty() {
            out.push_str(&format!(
                "js_set ${NAME}_guard_check {NAME}.guard;\n\
                 map $request_uri ${NAME}_guard {{\n    \
                 default \"\";\n    \
                 \"~{}\" ${NAME}_guard_check;\n\
                 }}\n",
                self.suspect_pattern()
            ));
        }
        out
    }

    /// Targets the guard looks at: a raw path that is not canonical (a byte that needs no
    /// escape, `//`, a name ending in `.`), or the prefix in another case.
    fn suspect_pattern(&self) -> String {
        let name: String = self.location[1..]
            .bytes()
            .map(|b| match b {
                b if b.is_ascii_alphanumeric() => char::from(b).to_string(),
                b => format!("\\x{b:02x}"),
            })
            .collect();
        format!(
            "^[^?]*(?:[^?A-Za-z0-9._~!\\x24&'()*+,=:@/-]|//|\\.(?![^/?]))\
             |^/(?!{name}(?![^/?]))(?i:{name})(?![^/?])"
        )
    }

    fn server_part(&self) -> Result<String, NativeConfigError> {
        let location = nginx_text(&self.location)?;
        let file = format!("alias \"{}${NAME}\";", self.alias);
        let mut out = String::new();
        if !location.is_empty() {
            out.push_str(&format!(
                "if (${NAME}_guard = \"400\") {{\n    return 400;\n}}\n\
                 if (${NAME}_guard = \"403\") {{\n    return 403;\n}}\n\
                 location = \"{location}\" {{\n{}}}\n",
                self.answers(Then::Alias(&file), "    ")
            ));
        }
        // Nested regular expressions, so that `alias` names exactly the file the script
        // verified; a folder's index.html goes through a rewrite, since nginx's index module
        // would add the name to the alias a second time.
        out.push_str(&format!(
            "location ^~ \"{location}/\" {{\n    \
             location ~ \"/$\" {{\n{}    }}\n    \
             location ~ \"\" {{\n{}    }}\n\
             }}\n",
            self.answers(Then::Index, "        "),
            self.answers(Then::Alias(&file), "        ")
        ));
        if let Some(opaque) = &self.opaque_prefix {
            out.push_str(&format!(
                "location ^~ \"{}\" {{\n    location ~ \"\" {{\n{}    }}\n}}\n",
                nginx_text(opaque)?,
                self.answers(Then::Nothing, "        ")
            ));
        }
        Ok(out)
    }

    /// The body of a location that acts on the verdict. nginx runs the `if`s in order and goes
    /// on after one that matched, so the one without a `return` (the fallback) comes last, and
    /// no `return` or `rewrite` may follow it.
    fn answers(&self, then: Then<'_>, indent: &str) -> String {
        // The layer's headers: a refusal is stored nowhere.
        let refuse = |answer: &str, status: &str| {
            format!(
                "{indent}if (${NAME}_answer = \"{answer}\") {{\n\
                 {indent}    add_header Cache-Control \"no-store\" always;\n\
                 {indent}    return {status};\n\
                 {indent}}}\n"
            )
        };
        let mut out = refuse("403", "403") + &refuse("400", "400") + &refuse("410", "410");
        match then {
            // Nothing to serve from the private alias for a path the layer calls public.
            Then::Alias(_) | Then::Index => out.push_str(&refuse("public", "403")),
            // Elsewhere nginx serves such a path as it would without the script.
            Then::Nothing => out.push_str(&refuse("serve", "403")),
        }
        if let Then::Index = then {
            out.push_str(&format!(
                "{indent}if (${NAME}_answer = \"serve\") {{\n\
                 {indent}    rewrite ^ ${{uri}}index.html last;\n\
                 {indent}}}\n"
            ));
        }
        match &self.fallback {
            Some(url) => out.push_str(&format!(
                "{indent}proxy_set_header Host $http_host;\n\
                 {indent}proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
                 {indent}if (${NAME}_answer = \"defer\") {{\n\
                 {indent}    proxy_pass {url};\n\
                 {indent}}}\n"
            )),
            None => out.push_str(&refuse("defer", "403")),
        }
        if let Then::Alias(file) = then {
            out.push_str(&format!(
                "{indent}add_header Cache-Control ${NAME}_cache always;\n\
                 {indent}add_header Referrer-Policy ${NAME}_referrer always;\n\
                 {indent}{file}\n"
            ));
        }
        out
    }
}

/// What a location does with a valid link.
#[derive(Clone, Copy)]
enum Then<'a> {
    /// Serves the file the verdict names, with this `alias` line.
    Alias(&'a str),
    /// Rewrites a folder's path to its index.html, which the next location serves.
    Index,
    /// Serves nothing (the opaque prefix).
    Nothing,
}

/// The variable, import and map names the configuration uses.
const NAME: &str = "secure_link_native";

/// A prefix in canonical form without a trailing `/`, which nginx's syntax can carry.
fn config_prefix(prefix: &str) -> Result<String, NativeConfigError> {
    let canonical =
        canonical_prefix(prefix).map_err(|_| NativeConfigError::Prefix(prefix.to_owned()))?;
    nginx_text(&canonical)?;
    Ok(canonical.into())
}

/// A canonical path as nginx matches locations: decoded, escaped for a quoted string.
fn nginx_text(canonical: &str) -> Result<String, NativeConfigError> {
    percent_decode_str(canonical)
        .decode_utf8()
        .ok()
        .and_then(|decoded| escape(&decoded))
        .ok_or_else(|| NativeConfigError::UnsafePath(canonical.to_owned()))
}

/// A JavaScript string literal of ASCII text, every byte but letters, digits and `/._-~%`
/// written as an escape.
fn js_string(text: &str) -> String {
    let mut out = String::from("'");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/._-~%".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('\'');
    out
}

/// Writes `bytes` to `path` through a file of the final mode beside it, so that the keys are
/// never readable by others, not even for a moment, and nginx never reads half a file.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let _ = std::fs::remove_file(&partial);
    let written = options
        .open(&partial)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&partial, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

impl fmt::Display for NativeOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{SERVER_CONTEXT_MARKER}\n{}", self.http, self.server)
    }
}

impl fmt::Debug for NativeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("NativeConfig")
            .field("key_ids", &ids)
            .field("location", &self.location)
            .field("alias", &self.alias)
            .field("leeway", &self.leeway)
            .field("max_lifetime", &self.max_lifetime)
            .field("param_prefix", &self.param_prefix)
            .field("fallback", &self.fallback)
            .field("opaque_prefix", &self.opaque_prefix)
            .finish()
    }
}

impl fmt::Display for NativeConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoKey => f.write_str("no key: nginx needs the keys that verify the links"),
            Self::Key { id, error } => write!(f, "key {id:?}: {error}"),
            Self::Prefix(prefix) => write!(
                f,
                "{prefix:?} is no usable prefix: it must be an absolute, canonical path (no '.', \
                 '..', '//', '\\' or ';'), and the opaque prefix neither the root nor the location"
            ),
            Self::NotAbsolute(path) => write!(f, "{path:?} is not an absolute path"),
            Self::UnsafePath(path) => write!(
                f,
                "{path:?} cannot be written safely in nginx's syntax (it holds '$', a control \
                 character or invalid UTF-8)"
            ),
            Self::Fallback(url) => write!(
                f,
                "{url:?} is no fallback: give http://HOST:PORT, without a path"
            ),
            Self::ParamPrefix(prefix) => write!(
                f,
                "{prefix:?} is no parameter prefix: 1 to 16 characters of a-z 0-9 _ - ."
            ),
            Self::Lifetime => write!(
                f,
                "the leeway may be at most {MAX_LEEWAY:?} and the maximum lifetime at least 1s"
            ),
            Self::Io(path, error) => write!(f, "cannot write {}: {error}", path.display()),
        }
    }
}

impl std::error::Error for NativeConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Key { error, .. } => Some(error),
            Self::Io(_, error) => Some(error),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a secret of at least thirty-two bytes";

    fn config() -> NativeConfig {
        NativeConfig::new("/srv/files/")
            .unwrap()
            .with_key("1", SECRET)
            .unwrap()
    }

    #[test]
    fn refuses_what_it_cannot_write() {
        let refused = |result: Result<NativeConfig, NativeConfigError>| result.unwrap_err();
        assert!(matches!(
            refused(NativeConfig::new("srv/")),
            NativeConfigError::NotAbsolute(_)
        ));
        assert!(matches!(
            refused(NativeConfig::new("/srv/$x/")),
            NativeConfigError::UnsafePath(_)
        ));
        for location in ["private/", "/a/../private", "/a//b", "/a;b/", "/a$b/"] {
            assert!(config().with_location(location).is_err(), "{location}");
        }
        for (id, secret) in [
            ("1", SECRET),
            ("bad id", SECRET),
            ("2", b"short".as_slice()),
        ] {
            assert!(
                matches!(
                    refused(config().with_key(id, secret)),
                    NativeConfigError::Key { .. }
                ),
                "{id}"
            );
        }
        for url in [
            "127.0.0.1:8080",
            "http://127.0.0.1",
            "http://127.0.0.1:0",
            "http://127.0.0.1:8080/app/",
            "http://user@h:80",
            "https://h:443",
        ] {
            assert!(config().with_fallback(url).is_err(), "{url}");
        }
        assert!(config().with_param_prefix("SL_").is_err());
        assert!(config().with_leeway(MAX_LEEWAY * 2).is_err());
        assert!(config().with_max_lifetime(Duration::ZERO).is_err());
        assert!(config().with_opaque_prefix("/").is_err());
        assert!(config().with_opaque_prefix("/private/").is_err());
        let dir = tempfile::tempdir().unwrap();
        let no_key = NativeConfig::new("/srv/")
            .unwrap()
            .write_scripts(dir.path());
        assert!(matches!(no_key, Err(NativeConfigError::NoKey)));
    }

    #[test]
    fn keys_stay_out_of_the_config_and_in_a_file_for_root() {
        let dir = tempfile::tempdir().unwrap();
        let output = config()
            .with_fallback("http://127.0.0.1:9000/")
            .unwrap()
            .write_scripts(&dir.path().join("js"))
            .unwrap();
        let text = output.to_string();
        let hex: String = SECRET.iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            !text.contains("thirty-two") && !text.contains(&hex),
            "{text}"
        );
        assert!(!format!("{:?}", config()).contains("thirty-two"));
        let conf = std::fs::read_to_string(&output.files[1]).unwrap();
        assert!(conf.contains(&hex), "{conf}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&output.files[1]), 0o600);
            assert_eq!(mode(&output.files[0]), 0o644);
        }
        let script = output.files[0].display().to_string();
        assert!(output.http.contains(&format!("from \"{script}\";")));
        assert!(output.server.contains("proxy_pass http://127.0.0.1:9000;"));
        let (http, server) = text.split_once(SERVER_CONTEXT_MARKER).unwrap();
        assert_eq!((http, &server[1..]), (&*output.http, &*output.server));
    }

    #[test]
    fn the_guard_pattern_escapes_the_prefix() {
        let config = config().with_location("/My Files/").unwrap();
        assert_eq!(config.location, "/My%20Files");
        assert!(config.suspect_pattern().contains("(?i:My\\x2520Files)"));
        let server = config.server_part().unwrap();
        assert!(server.contains("location ^~ \"/My Files/\" {"), "{server}");
        let root = NativeConfig::new("/srv/")
            .unwrap()
            .with_location("/")
            .unwrap();
        assert!(!root.http_part("/x.js").contains("guard"));
        assert!(root.server_part().unwrap().contains("location ^~ \"/\" {"));
    }
}
