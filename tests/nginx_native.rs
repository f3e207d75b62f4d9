//! nginx verifies native links itself (`nginx::NativeConfig`, its njs script): a real nginx with
//! the JavaScript module answers every request as the crate's layer does. The layer is the
//! oracle: the same keys and settings in front of `ServeDir` over the same files, and each
//! request, sent byte for byte to both, must get the same status (and, for a 200, the same
//! bytes). Covered: the known-answer vectors (under faketime, at their time), rotation, method,
//! not-before, expiry, leeway, lifetime, query binding, folder links in both forms, tampered
//! links, the path attack corpus, the nginx-way edge table, and the links nginx cannot decide
//! alone, refused without a fallback and handed to the application with one.
//!
//! Skipped without nginx or its JavaScript module (`libnginx-mod-http-js`), except under CI,
//! where they must be there.
#![cfg(feature = "nginx")]

#[path = "support/njs.rs"]
mod njs;
mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use http::Method;
use tower_http::services::ServeDir;
use tower_secure_link::nginx::{NativeConfig, NativeOutput};
use tower_secure_link::{Key, Keyring, ManualClock, SecureLinkLayer, UrlSigner};

use njs::{js_module, NjsNginx};
use support::{nginx_binary, open_up, raw_bytes, serve_app, RawResponse};

const KEY: &[u8] = b"native nginx key, thirty-two bytes or more";
const OLD_KEY: &[u8] = b"the retired key, also thirty-two bytes long";
const MARKER: &str = "PRIVATE-BYTES-4c1d";

/// Files under `/private/` (the alias) and beside it, each holding its own path unless named.
const FILES: &[&str] = &[
    "/index.html",
    "/static/app.js",
    "/private/file.txt",
    "/private/my file.pdf",
    "/private/é.txt",
    "/private/a/b/c/deep.txt",
    "/private/public/logo.txt",
    "/private/other.txt",
    "/private/videos/index.html",
    "/private/videos/seg-1.ts",
    "/private/videos/sub/seg-2.ts",
    "/private/100%.txt",
    "/private/semi;colon.txt",
    // The known-answer vectors' targets.
    "/private/report.pdf",
    "/private/uploads/a b.bin",
    "/private/café/naïve (1)+[x].txt",
    "/private/videos/42 & more/seg-1.ts",
    "/private/once.pdf",
    "/private/deck.pdf",
    "/private/v.mp4",
];

struct Tools {
    nginx: PathBuf,
    module: PathBuf,
}

fn tools() -> Option<Tools> {
    Some(Tools {
        nginx: nginx_binary()?,
        module: js_module()?,
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The tree both servers serve; `/private/secret.txt` holds the marker.
fn tree() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let write = |path: &str, body: &[u8]| {
        let file = root.path().join(&path[1..]);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, body).unwrap();
    };
    for path in FILES {
        write(path, path.as_bytes());
    }
    write("/private/secret.txt", MARKER.as_bytes());
    write("/private/1k.bin", &[b'x'; 1024]);
    open_up(root.path());
    root
}

/// The keys of the tests and of the known-answer vectors, the first one signing.
fn keys() -> Vec<(String, Vec<u8>)> {
    let mut keys = vec![
        ("live".to_owned(), KEY.to_vec()),
        ("old".to_owned(), OLD_KEY.to_vec()),
    ];
    for vector in vectors() {
        let id = vector["key_id"].as_str().unwrap().to_owned();
        let secret = vector["secret"].as_str().unwrap().as_bytes().to_vec();
        if !keys.iter().any(|(known, _)| *known == id) {
            keys.push((id, secret));
        }
    }
    keys
}

fn vectors() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string("tests/vectors/native-v1.json").unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["vectors"].as_array().unwrap().clone()
}

/// The settings both sides share.
#[derive(Clone, Copy)]
struct Options<'a> {
    fallback: bool,
    /// A command in front of nginx (faketime).
    wrapper: &'a [&'a str],
    /// The layer's fixed time (nginx's, under faketime).
    clock: Option<u64>,
    location: &'a str,
    params: &'a str,
    leeway: u64,
}

const PLAIN: Options<'static> = Options {
    fallback: false,
    wrapper: &[],
    clock: None,
    location: "/private/",
    params: "sl_",
    leeway: 5,
};

/// The layer as `serve` builds it, with `keys` and `options`.
fn layer(keys: &[(String, Vec<u8>)], options: Options<'_>) -> SecureLinkLayer {
    let mut keyring = Keyring::new(Key::new(&keys[0].0, &keys[0].1).unwrap());
    for (id, secret) in &keys[1..] {
        keyring = keyring
            .with_verify_only(Key::new(id, secret).unwrap())
            .unwrap();
    }
    let layer = SecureLinkLayer::new(keyring)
        .with_private_prefix(options.location)
        .unwrap()
        .with_opaque_prefix("/s/")
        .unwrap()
        .with_param_prefix(options.params)
        .unwrap()
        .with_leeway(Duration::from_secs(options.leeway))
        .unwrap();
    match options.clock {
        Some(now) => layer.with_clock(ManualClock::new(now)),
        None => layer,
    }
}

/// The layer in front of `ServeDir` over `root`, as `serve` wires it, on a loopback port.
fn start_app(layer: &SecureLinkLayer, root: &Path) -> String {
    let files = Router::new().fallback_service(ServeDir::new(root));
    serve_app(tower::Layer::layer(layer, files))
}

/// nginx and the layer over one tree, with the same keys.
struct Site {
    root: tempfile::TempDir,
    _scripts: tempfile::TempDir,
    output: NativeOutput,
    nginx: NjsNginx,
    /// The application: the oracle, and nginx's fallback when there is one.
    app: String,
    /// Another application with the same settings and a store of its own: the oracle for
    /// links that are used up, which nginx may have handed to `app`.
    twin: String,
    layer: SecureLinkLayer,
}

impl Site {
    fn start(tools: &Tools, options: Options<'_>) -> Self {
        let root = tree();
        let keys = keys();
        let layer = layer(&keys, options);
        let app = start_app(&layer, root.path());
        let twin = start_app(&self::layer(&keys, options), root.path());
        let alias = root
            .path()
            .join(&options.location[1..])
            .display()
            .to_string();
        let mut config = NativeConfig::new(&alias)
            .unwrap()
            .with_location(options.location)
            .unwrap()
            .with_param_prefix(options.params)
            .unwrap()
            .with_leeway(Duration::from_secs(options.leeway))
            .unwrap();
        for (id, secret) in &keys {
            config = config.with_key(id, secret).unwrap();
        }
        if options.fallback {
            config = config.with_fallback(&format!("http://{app}")).unwrap();
        }
        let scripts = tempfile::tempdir().unwrap();
        let output = config.write_scripts(scripts.path()).unwrap();
        // The server's public files come from the same tree, as `ServeDir` serves them.
        let public = format!("        root \"{}\";\n", root.path().display());
        let nginx = NjsNginx::start(
            &tools.nginx,
            &tools.module,
            options.wrapper,
            &output.to_string(),
            &public,
        );
        Self {
            root,
            _scripts: scripts,
            output,
            nginx,
            app,
            twin,
            layer,
        }
    }

    fn signer(&self) -> UrlSigner {
        self.layer.signer()
    }
}

/// A request with the given method, target and extra header lines.
fn request(method: &str, target: &str, headers: &str) -> Vec<u8> {
    format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n")
        .into_bytes()
}

fn get(target: &str) -> Vec<u8> {
    request("GET", target, "")
}

/// One request and what to expect of it.
struct Case {
    name: String,
    bytes: Vec<u8>,
    /// `None`: nginx answers as the layer; `Some(status)`: nginx refuses it itself (before the
    /// script runs) with this status, where the layer says something else.
    nginx_itself: Option<u16>,
}

fn case(name: impl Into<String>, bytes: Vec<u8>) -> Case {
    Case {
        name: name.into(),
        bytes,
        nginx_itself: None,
    }
}

fn describe(response: &RawResponse) -> String {
    let body = response.body_text();
    let body: String = body.chars().take(60).collect();
    format!("{} {body:?}", response.status)
}

/// Sends every case, in order, to nginx and to the layer at `oracle`; returns each status
/// nginx gave, and the disagreements. A 200 must carry the same bytes, and nginx never returns
/// the marker unless the layer does.
fn disagreements(nginx: &NjsNginx, oracle: &str, cases: &[Case]) -> (Vec<u16>, Vec<String>) {
    let mut statuses = Vec::new();
    let mut found = Vec::new();
    for case in cases {
        let from_nginx = raw_bytes(&nginx.addr, &case.bytes);
        let from_layer = raw_bytes(oracle, &case.bytes);
        statuses.push(from_nginx.status);
        let leaked =
            from_nginx.body_text().contains(MARKER) && !from_layer.body_text().contains(MARKER);
        let agree = match case.nginx_itself {
            Some(status) => from_nginx.status == status,
            None => {
                from_nginx.status == from_layer.status
                    && (from_nginx.status != 200 || from_nginx.body == from_layer.body)
            }
        };
        if std::env::var_os("NGINX_NATIVE_REPORT").is_some() {
            println!(
                "{:>3} {:>3} {}",
                from_nginx.status, from_layer.status, case.name
            );
        }
        if leaked || !agree || from_nginx.status == 0 {
            found.push(format!(
                "{}: {:?}\n    nginx: {}\n    layer: {}",
                case.name,
                String::from_utf8_lossy(&case.bytes)
                    .lines()
                    .next()
                    .unwrap_or(""),
                describe(&from_nginx),
                describe(&from_layer),
            ));
        }
    }
    (statuses, found)
}

/// Every case gets the same answer from nginx as from the layer at `oracle`; returns nginx's
/// statuses by case name.
fn assert_agree(nginx: &NjsNginx, oracle: &str, cases: &[Case]) -> HashMap<String, u16> {
    let (statuses, found) = disagreements(nginx, oracle, cases);
    assert!(
        found.is_empty(),
        "{} of {} cases disagree:\n{}\n{}",
        found.len(),
        cases.len(),
        found.join("\n"),
        nginx.error_log()
    );
    cases
        .iter()
        .map(|case| case.name.clone())
        .zip(statuses)
        .collect()
}

/// Pins statuses, so that both sides being wrong the same way fails too.
fn assert_statuses(statuses: &HashMap<String, u16>, expected: &[(&str, u16)]) {
    for (name, status) in expected {
        assert_eq!(statuses.get(*name), Some(status), "{name}");
    }
}

/// A link's path and its signing parameters, to build tampered copies from.
struct Parts {
    path: String,
    kid: String,
    exp: String,
    sig: String,
}

fn parts(link: &str) -> Parts {
    let (path, query) = link.split_once('?').unwrap();
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    Parts {
        path: path.to_owned(),
        kid: param("sl_kid"),
        exp: param("sl_exp"),
        sig: param("sl_sig"),
    }
}

/// One character of a signature changed.
fn changed(sig: &str, at: usize) -> String {
    let mut chars: Vec<char> = sig.chars().collect();
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// A link whose signature holds a `-` or `_`, so that the standard alphabet really changes it.
fn link_with_dash(signer: &UrlSigner, target: &str) -> String {
    (0..64)
        .map(|i| {
            signer
                .link(target)
                .expires_in(Duration::from_secs(3600 + i))
                .to_target()
                .unwrap()
        })
        .find(|link| parts(link).sig.contains(['-', '_']))
        .expect("a signature with - or _")
}

/// The nginx-way edge table, for native links: what the value syntax, the parameter names and
/// the path spelling do to a valid link.
fn edge_cases(signer: &UrlSigner) -> Vec<Case> {
    let link = link_with_dash(signer, "/private/file.txt");
    let Parts {
        path,
        kid,
        exp,
        sig,
    } = parts(&link);
    let q = |query: String| get(&format!("{path}?{query}"));
    let with =
        |kid: &str, exp: &str, sig: &str| q(format!("sl_kid={kid}&sl_exp={exp}&sl_sig={sig}"));
    let expired = signer
        .link("/private/file.txt")
        .expires_at(1_000_000_000)
        .to_target()
        .unwrap();
    let max = i64::MAX.to_string();
    #[rustfmt::skip]
    let cases = vec![
        case("valid", get(&link)),
        case("expired long ago", get(&expired)),
        case("one character changed", with(&kid, &exp, &changed(&sig, 5))),
        case("last character changed", with(&kid, &exp, &changed(&sig, 42))),
        case("expiry changed", with(&kid, &(exp.parse::<u64>().unwrap() + 1).to_string(), &sig)),
        case("other path", get(&link.replace("file.txt", "other.txt"))),
        case("no link", get(&path)),
        case("no signature", q(format!("sl_kid={kid}&sl_exp={exp}"))),
        case("no expiry", q(format!("sl_kid={kid}&sl_sig={sig}"))),
        case("no key id", q(format!("sl_exp={exp}&sl_sig={sig}"))),
        case("empty expiry", with(&kid, "", &sig)),
        case("expiry zero", with(&kid, "0", &sig)),
        case("negative expiry", with(&kid, "-1", &sig)),
        case("plus sign", with(&kid, &format!("+{exp}"), &sig)),
        case("letters", with(&kid, "12ab", &sig)),
        case("hex", with(&kid, "0x7fffffff", &sig)),
        case("exponent", with(&kid, "1e10", &sig)),
        case("escaped space", with(&kid, &format!("{exp}%20"), &sig)),
        case("i64 max", with(&kid, &max, &sig)),
        case("over i64 max", with(&kid, "9223372036854775808", &sig)),
        case("twenty digits", with(&kid, "18446744073709551616", &sig)),
        case("leading zero", with(&kid, &format!("0{exp}"), &sig)),
        case("milliseconds", with(&kid, &format!("{exp}000"), &sig)),
        case("padding =", get(&format!("{link}="))),
        case("padding ==", get(&format!("{link}=="))),
        case("escaped padding", get(&format!("{link}%3D"))),
        case("standard alphabet", with(&kid, &exp, &sig.replace('-', "+").replace('_', "/"))),
        case("truncated signature", with(&kid, &exp, &sig[..42])),
        case("empty signature", with(&kid, &exp, "")),
        case("long signature", with(&kid, &exp, &format!("{sig}A"))),
        case("86 characters", with(&kid, &exp, &format!("{sig}{sig}").chars().take(86).collect::<String>())),
        case("very long signature", with(&kid, &exp, &"A".repeat(4000))),
        case("upper-cased signature", with(&kid, &exp, &sig.to_uppercase())),
        case("escaped signature character", with(&kid, &exp, &format!("%{:02X}{}", sig.as_bytes()[0], &sig[1..]))),
        case("upper-case name", q(format!("sl_kid={kid}&SL_EXP={exp}&sl_sig={sig}"))),
        case("mixed-case name", q(format!("sl_kid={kid}&sl_Exp={exp}&sl_sig={sig}"))),
        case("escaped name", q(format!("sl_kid={kid}&sl%5Fexp={exp}&sl_sig={sig}"))),
        case("escaped prefix letter", q(format!("sl_kid={kid}&%73l_exp={exp}&sl_sig={sig}"))),
        case("unknown reserved name", get(&format!("{link}&sl_admin=1"))),
        case("unknown reserved name, upper case", get(&format!("{link}&SL_X=1"))),
        case("reserved name without =", get(&format!("{link}&sl_nbf"))),
        case("empty not-before", q(format!("sl_kid={kid}&sl_nbf=&sl_exp={exp}&sl_sig={sig}"))),
        case("sl_method=GET", q(format!("sl_kid={kid}&sl_method=GET&sl_exp={exp}&sl_sig={sig}"))),
        case("lower-case method", q(format!("sl_kid={kid}&sl_method=put&sl_exp={exp}&sl_sig={sig}"))),
        case("array form", q(format!("sl_kid={kid}&sl_exp[]={exp}&sl_sig={sig}"))),
        case("duplicate expiry", get(&format!("{link}&sl_exp={exp}"))),
        case("duplicate signature, forged first", q(format!("sl_kid={kid}&sl_exp={exp}&sl_sig={}&sl_sig={sig}", changed(&sig, 3)))),
        case("semicolon separator", q(format!("sl_kid={kid};sl_exp={exp}&sl_sig={sig}"))),
        case("parameters reordered", q(format!("sl_exp={exp}&sl_kid={kid}&sl_sig={sig}"))),
        case("signature first", q(format!("sl_sig={sig}&sl_kid={kid}&sl_exp={exp}"))),
        case("application parameter added first", get(&format!("{path}?download=1&sl_kid={kid}&sl_exp={exp}&sl_sig={sig}"))),
        case("application parameter added last", get(&format!("{link}&download=1"))),
        case("application parameter between", q(format!("sl_kid={kid}&x=1&sl_exp={exp}&sl_sig={sig}"))),
        case("empty pairs", q(format!("&&sl_kid={kid}&sl_exp={exp}&sl_sig={sig}"))),
        case("fragment", get(&format!("{link}#x"))),
        case("unknown key id", with("9", &exp, &sig)),
        case("empty key id", with("", &exp, &sig)),
        case("key id traversal", with("../1", &exp, &sig)),
        case("key id with a prototype's name", with("__proto__", &exp, &sig)),
        case("key id constructor", with("constructor", &exp, &sig)),
        case("escaped letter in the path", get(&link.replace("file.txt", "%66ile.txt"))),
        case("escaped dot in the path", get(&link.replace("file.txt", "file%2etxt"))),
        case("dot segment", get(&link.replace("/private/", "/private/./"))),
        case("double slash", get(&link.replace("/private/", "/private//"))),
        case("dot-dot", get(&link.replace("/private/", "/private/x/../"))),
        case("encoded dot-dot", get(&link.replace("/private/", "/private/x/%2e%2e/"))),
        case("trailing slash", get(&link.replace("file.txt", "file.txt/"))),
        case("upper-case prefix", get(&link.replace("/private/", "/PRIVATE/"))),
        case("absolute form", get(&format!("http://localhost{link}"))),
        case("absolute form, another host", get(&format!("http://evil.example{link}"))),
        case("absolute form, the default port", get(&format!("http://localhost:80{link}"))),
        case("HEAD", request("HEAD", &link, "")),
        case("POST", request("POST", &link, "Content-Length: 0\r\n")),
        case("PUT", request("PUT", &link, "Content-Length: 0\r\n")),
        case("DELETE", request("DELETE", &link, "")),
        case("OPTIONS", request("OPTIONS", &link, "")),
        case("made-up method", request("FETCH", &link, "")),
        case("method override header", request("GET", &path, "X-HTTP-Method-Override: HEAD\r\n")),
        case("range", request("GET", &link, "Range: bytes=2-5\r\n")),
        case("a session cookie, no link", request("GET", &path, "Cookie: sl_session=1~2~%2F~x\r\n")),
        case("another cookie, no link", request("GET", &path, "Cookie: a=b\r\n")),
        case("HTTP/1.0", format!("GET {link} HTTP/1.0\r\n\r\n").into_bytes()),
        case("HTTP/1.0, no link", format!("GET {path} HTTP/1.0\r\n\r\n").into_bytes()),
        case("X-Original-URL", request("GET", "/index.html", &format!("X-Original-URL: {path}\r\n"))),
        case("X-Rewrite-URL", request("GET", "/index.html", &format!("X-Rewrite-URL: {path}\r\n"))),
        case("X-Forwarded-Prefix", request("GET", "/file.txt", "X-Forwarded-Prefix: /private\r\n")),
        case("two Host fields", format!("GET {link} HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n").into_bytes()),
        Case {
            name: "a target over 64 KiB".into(),
            bytes: get(&format!("{path}?pad={}&sl_kid={kid}&sl_exp={exp}&sl_sig={sig}", "a".repeat(70 * 1024))),
            // Over nginx's header buffers: nginx answers 414 before any location.
            nginx_itself: Some(414),
        },
    ];
    cases
}

/// Times, methods, keys and query binding.
fn link_cases(signer: &UrlSigner, long_signer: &UrlSigner, old_signer: &UrlSigner) -> Vec<Case> {
    let now = now();
    let at = |exp: u64| {
        signer
            .link("/private/file.txt")
            .expires_at(exp)
            .to_target()
            .unwrap()
    };
    let after = |nbf: u64| {
        signer
            .link("/private/file.txt")
            .not_before(nbf)
            .to_target()
            .unwrap()
    };
    let method = |m: Method| {
        signer
            .link("/private/file.txt")
            .method(m)
            .to_target()
            .unwrap()
    };
    let put = method(Method::PUT);
    let delete = method(Method::DELETE);
    let query = signer.sign("/private/file.txt?page=2&lang=en").unwrap();
    let too_long = long_signer
        .link("/private/file.txt")
        .expires_in(Duration::from_secs(7 * 24 * 3600 + 60))
        .to_target()
        .unwrap();
    let just_in = long_signer
        .link("/private/file.txt")
        .expires_in(Duration::from_secs(7 * 24 * 3600 - 60))
        .to_target()
        .unwrap();
    let old = old_signer.sign("/private/file.txt").unwrap();
    let relabelled = old.replace("sl_kid=old", "sl_kid=live");
    #[rustfmt::skip]
    let cases = vec![
        case("plain", get(&signer.sign("/private/file.txt").unwrap())),
        case("a space", get(&signer.sign("/private/my file.pdf").unwrap())),
        case("UTF-8", get(&signer.sign("/private/é.txt").unwrap())),
        case("nested", get(&signer.sign("/private/a/b/c/deep.txt").unwrap())),
        case("a percent sign", get(&signer.sign("/private/100%25.txt").unwrap())),
        case("a semicolon", get(&signer.sign("/private/semi%3Bcolon.txt").unwrap())),
        case("missing file", get(&signer.sign("/private/missing.txt").unwrap())),
        case("raw UTF-8 in the target", get(&signer.sign("/private/é.txt").unwrap().replace("%C3%A9", "é"))),
        case("invalid UTF-8 escape", get(&signer.sign("/private/file.txt").unwrap().replace("file", "%ff"))),
        case("expired within the leeway", get(&at(now - 2))),
        case("expired past the leeway", get(&at(now - 20))),
        case("not yet valid, within the leeway", get(&after(now + 2))),
        case("not yet valid, past the leeway", get(&after(now + 60))),
        case("not-before passed", get(&after(now - 60))),
        case("lifetime over the maximum", get(&too_long)),
        case("lifetime just under the maximum", get(&just_in)),
        case("PUT link, PUT", request("PUT", &put, "Content-Length: 0\r\n")),
        case("PUT link, GET", get(&put)),
        case("PUT link, HEAD", request("HEAD", &put, "")),
        case("DELETE link, DELETE", request("DELETE", &delete, "")),
        case("DELETE link, PUT", request("PUT", &delete, "Content-Length: 0\r\n")),
        case("query bound", get(&query)),
        case("query changed", get(&query.replace("page=2", "page=3"))),
        case("query reordered", get(&query.replace("page=2&lang=en", "lang=en&page=2"))),
        case("query parameter dropped", get(&query.replace("page=2&", ""))),
        case("query parameter duplicated", get(&query.replace("page=2", "page=2&page=2"))),
        case("query parameter escaped", get(&query.replace("page=2", "page=%32"))),
        case("query moved after the signature", get(&{
            let (path, rest) = query.split_once('?').unwrap();
            let (app, signing) = rest.split_at(rest.find("sl_").unwrap());
            format!("{path}?{signing}&{}", app.trim_end_matches('&'))
        })),
        case("old key", get(&old)),
        case("old key, relabelled", get(&relabelled)),
    ];
    cases
}

/// Folder links, in the query and as a path segment.
fn folder_cases(signer: &UrlSigner) -> Vec<Case> {
    let folder = signer.folder_link("/private/videos/");
    let query = folder.to_query().unwrap();
    let base = folder.to_path_base().unwrap();
    let expired = signer
        .folder_link("/private/videos/")
        .expires_at(now() - 30);
    let expired_base = expired.to_path_base().unwrap();
    let expired_query = expired.to_query().unwrap();
    let root = signer.folder_link("/private/").to_path_base().unwrap();
    let token = base
        .trim_start_matches("/private/videos/")
        .trim_end_matches('/')
        .to_owned();
    #[rustfmt::skip]
    let cases = vec![
        case("query form", get(&format!("/private/videos/seg-1.ts?{query}"))),
        case("query form, deeper", get(&format!("/private/videos/sub/seg-2.ts?{query}"))),
        case("query form, the folder", get(&format!("/private/videos/?{query}"))),
        case("query form, outside the folder", get(&format!("/private/file.txt?{query}"))),
        case("query form, a climb out", get(&format!("/private/videos/../file.txt?{query}"))),
        case("query form, expired", get(&format!("/private/videos/seg-1.ts?{expired_query}"))),
        case("query form, other folder named", get(&format!("/private/videos/seg-1.ts?{}", query.replace("%2Fvideos%2F", "%2F").replace("/videos/", "/")))),
        case("query form, HEAD", request("HEAD", &format!("/private/videos/seg-1.ts?{query}"), "")),
        case("query form, PUT", request("PUT", &format!("/private/videos/seg-1.ts?{query}"), "Content-Length: 0\r\n")),
        case("query form with an application parameter", get(&format!("/private/videos/seg-1.ts?x=1&{query}"))),
        case("path form", get(&format!("{base}seg-1.ts"))),
        case("path form, deeper", get(&format!("{base}sub/seg-2.ts"))),
        case("path form, the folder", get(&base)),
        case("path form, without the slash", get(base.trim_end_matches('/'))),
        case("path form, a query", get(&format!("{base}seg-1.ts?a=1"))),
        case("path form, missing file", get(&format!("{base}nothing.ts"))),
        case("path form, root folder", get(&format!("{root}file.txt"))),
        case("path form, root folder, deep", get(&format!("{root}videos/sub/seg-2.ts"))),
        case("path form, expired", get(&format!("{expired_base}seg-1.ts"))),
        case("path form, tampered", get(&format!("/private/videos/{}/seg-1.ts", changed(&token, token.len() - 4)))),
        case("path form, moved to another folder", get(&format!("/private/a/{token}/b/c/deep.txt"))),
        case("path form, a climb after the token", get(&format!("{base}../file.txt"))),
        case("path form, escaped tilde", get(&format!("/private/videos/{}/seg-1.ts", token.replace('~', "%7E")))),
        case("path form, double slash after", get(&format!("{base}/seg-1.ts"))),
        case("path form, two tokens", get(&format!("{base}{token}/seg-1.ts"))),
        case("path form, HEAD", request("HEAD", &format!("{base}seg-1.ts"), "")),
        case("path form, POST", request("POST", &format!("{base}seg-1.ts"), "Content-Length: 0\r\n")),
        case("path form, five fields", get(&format!("/private/videos/{}~1/seg-1.ts", token))),
        case("path form, zero session", get(&format!("/private/videos/{}/seg-1.ts", token.replacen("~", "~0~", 1)))),
        case("path form, signing parameters beside it", get(&format!("{base}seg-1.ts?sl_kid=1"))),
        case("path form, a second token deeper", get(&format!("{base}sub/{token}/seg-2.ts"))),
    ];
    cases
}

/// Targets from the path attack corpus (`tests/path_attacks.rs`), each bare and with the query
/// of a valid link for the file it names.
fn path_attack_cases(signer: &UrlSigner) -> Vec<Case> {
    #[rustfmt::skip]
    let targets = [
        "/private/secret.txt", "/private/public/../secret.txt", "/private/public/%2e%2e/secret.txt",
        "/private/public/%2E%2E/secret.txt", "/private/public/.%2e/secret.txt", "/private/public/%2e./secret.txt",
        "/private/public/..%2fsecret.txt", "/private/public/..%2Fsecret.txt", "/private/public/..%5csecret.txt",
        "/private/public/..\\secret.txt", "/private/public/%252e%252e/secret.txt",
        "/private/public/%252e%252e%252fsecret.txt", "/static/../private/secret.txt",
        "/static/%2e%2e/private/secret.txt", "/%2e%2e/private/secret.txt", "/../private/secret.txt",
        "//private/secret.txt", "/private//secret.txt", "/./private/secret.txt", "/private/./secret.txt",
        "/private%2fsecret.txt", "/private%2Fsecret.txt", "/private%5csecret.txt", "/private\\secret.txt",
        "/PRIVATE/secret.txt", "/Private/secret.txt", "/%50rivate/secret.txt", "/%70rivate/secret.txt",
        "/private/%73ecret.txt", "/private/secret%2etxt", "/private/secret.txt%00", "/private/secret.txt%00.png",
        "/private/%ff/../secret.txt", "/private./secret.txt", "/private%20/secret.txt", "/private;x/secret.txt",
        "/private/secret.txt;x", "/private/public/..;/secret.txt", "/private/public/%2e%2e;/secret.txt",
        "/private/secret.txt/", "/private/secret.txt/.", "/private-x/../private/secret.txt",
        "/private/public/./../secret.txt", "/private/public%2f..%2fsecret.txt",
        "/private/public/%2e%2e%2fsecret.txt", "/private/public/../../private/secret.txt",
        "/private/public/%2e%2e/%2e%2e/private/secret.txt", "/private/public/..%c0%afsecret.txt",
        "/private/public/%ef%bc%8e%ef%bc%8e/secret.txt", "/x%5Ce/..%2Fprivate/secret.txt",
        "/x\\e/..%2Fprivate/secret.txt", "/private%2F%20%2F..%2Fsecret.txt", "/private%2F...%2F..%2Fsecret.txt",
        "/private/other.txt/../secret.txt", "/private/other.txt/%2e%2e/secret.txt",
        "/private/../index.html", "/private/%2e%2e/index.html", "/private/public/../../index.html",
        "/private", "/private/", "/privatefile", "/private-x/y", "/index.html", "/static/app.js",
        "/static/../index.html", "/static//app.js", "/st%61tic/app.js", "/s/", "/s/../index.html",
        "/s/../private/secret.txt", "/private/../s/x", "/x/../s/abc", "/private/%zz", "/private/%4",
        "/private/<x>", "/private/`x`", "/private/x\"y",
    ];
    let query = parts(&signer.sign("/private/secret.txt").unwrap());
    let signing = format!(
        "sl_kid={}&sl_exp={}&sl_sig={}",
        query.kid, query.exp, query.sig
    );
    let mut cases = Vec::new();
    for target in targets {
        cases.push(case(format!("bare {target}"), get(target)));
        cases.push(case(
            format!("signed {target}"),
            get(&format!("{target}?{signing}")),
        ));
    }
    cases.push(case(
        "raw invalid UTF-8 byte",
        b"GET /private/\xff/../secret.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            .to_vec(),
    ));
    cases.push(case(
        "raw invalid UTF-8 in the query",
        format!("GET /private/secret.txt?{signing}&x=\u{0}")
            .replace('\u{0}', "\u{ff}")
            .into_bytes()
            .into_iter()
            .chain(*b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .collect(),
    ));
    cases.push(Case {
        name: "lower-case get".into(),
        bytes: request("get", &format!("/private/secret.txt?{signing}"), ""),
        // nginx takes only upper-case method names; the layer sees an unknown method.
        nginx_itself: Some(400),
    });
    cases
}

#[test]
fn nginx_answers_as_the_layer_does() {
    let Some(tools) = tools() else { return };
    let site = Site::start(&tools, PLAIN);
    let signer = site.signer();
    let keys = keys();
    let long = layer(&keys, PLAIN)
        .with_max_lifetime(Duration::from_secs(30 * 24 * 3600))
        .unwrap()
        .signer();
    let old = layer(&keys[1..2], PLAIN).signer();
    let mut cases = edge_cases(&signer);
    cases.extend(link_cases(&signer, &long, &old));
    cases.extend(folder_cases(&signer));
    cases.extend(path_attack_cases(&signer));
    assert!(cases.len() > 250, "{}", cases.len());
    let statuses = assert_agree(&site.nginx, &site.app, &cases);
    #[rustfmt::skip]
    assert_statuses(&statuses, &[
        ("valid", 200), ("HEAD", 200), ("POST", 403), ("expired long ago", 410),
        ("one character changed", 403), ("duplicate expiry", 403), ("unknown key id", 403),
        ("expired within the leeway", 200), ("expired past the leeway", 410),
        ("not yet valid, within the leeway", 200), ("not yet valid, past the leeway", 410),
        ("lifetime over the maximum", 403), ("lifetime just under the maximum", 200),
        ("PUT link, GET", 403), ("PUT link, PUT", 405), ("old key", 200), ("old key, relabelled", 403),
        ("query bound", 200), ("query changed", 403), ("query form", 200), ("query form, outside the folder", 403),
        ("path form", 200), ("path form, the folder", 200), ("path form, tampered", 403),
        ("path form, expired", 410), ("bare /private/secret.txt", 403), ("signed /private/secret.txt", 200),
        ("bare /PRIVATE/secret.txt", 400), ("signed /private/./secret.txt", 400),
        ("bare /private/../index.html", 400), ("bare /index.html", 200), ("dot segment", 400),
    ]);
}

/// The headers the layer adds: served files are private and do not leak their link through
/// `Referer`; refusals are stored nowhere.
#[test]
fn headers_match_the_layer() {
    let Some(tools) = tools() else { return };
    let site = Site::start(&tools, PLAIN);
    let link = site.signer().sign("/private/file.txt").unwrap();
    for target in [link.as_str(), "/private/file.txt"] {
        let from_nginx = raw_bytes(&site.nginx.addr, &get(target));
        let from_layer = raw_bytes(&site.app, &get(target));
        for header in ["cache-control", "referrer-policy"] {
            assert_eq!(
                from_nginx.header(header),
                from_layer.header(header),
                "{header} for {target}"
            );
        }
    }
}

/// The settings reach the script: another location, parameter prefix and leeway.
#[test]
fn other_settings_are_honoured() {
    let Some(tools) = tools() else { return };
    let options = Options {
        location: "/private/videos/",
        params: "tok.",
        leeway: 0,
        ..PLAIN
    };
    let site = Site::start(&tools, options);
    let signer = site.signer();
    let link = signer.sign("/private/videos/seg-1.ts").unwrap();
    assert!(link.contains("tok.kid="), "{link}");
    let just_expired = signer
        .link("/private/videos/seg-1.ts")
        .expires_at(now() - 2)
        .to_target()
        .unwrap();
    let base = signer
        .folder_link("/private/videos/sub/")
        .to_path_base()
        .unwrap();
    #[rustfmt::skip]
    let cases = vec![
        case("valid", get(&link)),
        case("sl_ names are application parameters here", get(&format!("{link}&sl_kid=1"))),
        case("the prefix in another case", get(&link.replace("tok.kid", "TOK.kid"))),
        case("expired, no leeway", get(&just_expired)),
        case("path form", get(&format!("{base}seg-2.ts"))),
        case("no link", get("/private/videos/seg-1.ts")),
        case("the default prefix's token", get("/private/videos/sl_t~1~1~x/seg-1.ts")),
        case("case variant of the location", get("/private/VIDEOS/seg-1.ts")),
        case("a climb out of the location", get("/private/videos/../file.txt")),
        case("beside the location", get("/private/file.txt")),
    ];
    let statuses = assert_agree(&site.nginx, &site.app, &cases);
    #[rustfmt::skip]
    assert_statuses(&statuses, &[
        ("valid", 200), ("sl_ names are application parameters here", 403), ("expired, no leeway", 410),
        ("path form", 200), ("case variant of the location", 400), ("a climb out of the location", 400),
        ("beside the location", 200),
    ]);
}

/// Links nginx cannot decide alone: verified as far as nginx can, then refused with 403 without
/// a fallback, and through the fallback answered by the application exactly as by a twin of it
/// that nginx never talked to (one-time links are used up once, wherever they are used).
#[test]
fn links_nginx_cannot_decide_go_to_the_fallback() {
    let Some(tools) = tools() else { return };
    let alone = Site::start(&tools, PLAIN);
    let with_fallback = Site::start(
        &tools,
        Options {
            fallback: true,
            ..PLAIN
        },
    );
    // Both sites share keys, so links minted by one verify on the other.
    let signer = alone.signer();
    let version =
        tower_secure_link::file_version(with_fallback.root.path().join("private/deck.pdf"))
            .unwrap();
    let version_alone =
        tower_secure_link::file_version(alone.root.path().join("private/deck.pdf")).unwrap();
    let link = |target: &'static str| signer.link(target);
    let one_time = || link("/private/once.pdf").one_time().to_target().unwrap();
    let upload = || {
        link("/private/uploads/new.bin")
            .method(Method::PUT)
            .max_body_size(16)
            .to_target()
            .unwrap()
    };
    let opaque = link("/private/file.txt").opaque().to_target().unwrap();
    let opaque_once = link("/private/once.pdf")
        .opaque()
        .one_time()
        .to_target()
        .unwrap();
    let group = link("/private/deck.pdf")
        .group("team-a")
        .to_target()
        .unwrap();
    let session = signer
        .folder_link("/private/videos/")
        .cookie_session(Duration::from_secs(600))
        .to_path_base()
        .unwrap();
    let expired_once = link("/private/once.pdf")
        .one_time()
        .expires_at(now() - 60)
        .to_target()
        .unwrap();
    let forged_once = {
        let link = one_time();
        let at = link.len() - 3;
        format!(
            "{}{}",
            &link[..at],
            if &link[at..at + 1] == "A" {
                "BBB"
            } else {
                "AAA"
            }
        )
    };
    let put = |target: &str, body: &str| {
        request(
            "PUT",
            target,
            &format!("Content-Length: {}\r\n", body.len()),
        )
        .into_iter()
        .chain(body.bytes())
        .collect::<Vec<u8>>()
    };
    let three_uses = || link("/private/once.pdf").uses(3).to_target().unwrap();
    let child = tower_secure_link::Key::new("live", KEY)
        .unwrap()
        .delegate(&tower_secure_link::Delegation::new(
            "t7",
            "/private/",
            now() + 3600,
        ))
        .unwrap();
    let delegated = SecureLinkLayer::new(child)
        .signer()
        .sign("/private/file.txt")
        .unwrap();
    // One character of the signature changed: the derived child key must still be checked.
    let forged_delegated = {
        let at = delegated.len() - 2;
        let swap = if &delegated[at..at + 1] == "A" {
            "B"
        } else {
            "A"
        };
        format!("{}{swap}{}", &delegated[..at], &delegated[at + 1..])
    };
    let named = link("/private/file.txt")
        .download_as("Q3 é.txt")
        .to_target()
        .unwrap();
    let from_here = link("/private/file.txt")
        .client_ip("127.0.0.1")
        .to_target()
        .unwrap();
    let versioned = |version: &str| {
        link("/private/deck.pdf")
            .version(version)
            .to_target()
            .unwrap()
    };

    // Alone, nginx decides what it can (times, signatures, HEAD on a one-time GET link, which
    // uses nothing up) as the layer does, and refuses the rest with 403.
    let once = one_time();
    #[rustfmt::skip]
    let decided = vec![
        case("one-time, HEAD", request("HEAD", &once, "")),
        case("one-time, expired", get(&expired_once)),
        case("one-time, forged", get(&forged_once)),
        case("one-time, GET after HEAD elsewhere", get(&one_time())),
    ];
    let (statuses, _) = disagreements(&alone.nginx, &alone.twin, &decided);
    assert_eq!(
        statuses,
        [200, 410, 403, 403],
        "{}",
        alone.nginx.error_log()
    );
    let undecided = [
        ("one-time", get(&once)),
        ("upload", put(&upload(), "hello")),
        ("opaque", get(&opaque)),
        ("group", get(&group)),
        ("version", get(&versioned(&version_alone))),
        ("three uses", get(&three_uses())),
        ("a download name", get(&named)),
        ("bound to a network", get(&from_here)),
        ("delegated", get(&delegated)),
        ("session", get(&format!("{session}seg-1.ts"))),
        (
            "a session cookie",
            request("GET", "/private/file.txt", "Cookie: sl_session=x\r\n"),
        ),
    ];
    for (name, bytes) in &undecided {
        let response = raw_bytes(&alone.nginx.addr, bytes);
        assert_eq!(response.status, 403, "{name}");
        assert_eq!(response.header("cache-control"), Some("no-store"), "{name}");
    }

    // With a fallback, the application decides, as its twin does.
    let once = one_time();
    let opaque_once_again = opaque_once.clone();
    let thrice = three_uses();
    #[rustfmt::skip]
    let cases = vec![
        case("three uses, 1", get(&thrice)),
        case("three uses, 2", get(&thrice)),
        case("three uses, 3", get(&thrice)),
        case("three uses, 4", get(&thrice)),
        case("a download name", get(&named)),
        case("bound to a network", get(&from_here)),
        case("delegated", get(&delegated)),
        case("delegated, forged", get(&forged_delegated)),
        case("one-time", get(&once)),
        case("one-time, again", get(&once)),
        case("one-time, HEAD after use", request("HEAD", &once, "")),
        case("one-time, expired", get(&expired_once)),
        case("one-time, forged", get(&forged_once)),
        case("upload", put(&upload(), "hello")),
        case("upload over the limit", put(&upload(), "a body over sixteen bytes")),
        case("opaque", get(&opaque)),
        case("opaque, HEAD", request("HEAD", &opaque, "")),
        case("opaque, with a query", get(&format!("{opaque}?a=1"))),
        case("opaque, forged", get(&format!("{opaque}x"))),
        case("opaque one-time", get(&opaque_once)),
        case("opaque one-time, again", get(&opaque_once_again)),
        case("group", get(&group)),
        case("version", get(&versioned(&version))),
        case("version of another file", get(&versioned(&version_alone.replace("size=", "size=9")))),
        case("session", get(&format!("{session}seg-1.ts"))),
        case("a session cookie that is no cookie", request("GET", "/private/file.txt", "Cookie: sl_session=x\r\n")),
        case("the opaque prefix alone", get("/s/")),
    ];
    let statuses = assert_agree(&with_fallback.nginx, &with_fallback.twin, &cases);
    #[rustfmt::skip]
    assert_statuses(&statuses, &[
        ("three uses, 3", 200), ("three uses, 4", 410), ("a download name", 200),
        // These apps read no peer address: both refuse, failing closed (tests/client_ip.rs
        // has the app behind nginx trusting its X-Forwarded-For).
        ("bound to a network", 403),
        ("delegated", 200), ("delegated, forged", 403),
        ("one-time", 200), ("one-time, again", 410), ("opaque", 200), ("opaque one-time", 200),
        ("opaque one-time, again", 410), ("group", 200), ("version", 200), ("session", 200),
        ("upload over the limit", 413),
    ]);

    // The session link's cookie, set by the application through nginx, admits requests
    // without a link, which nginx hands to the application.
    let granted = raw_bytes(
        &with_fallback.nginx.addr,
        &get(&format!("{session}seg-1.ts")),
    );
    let cookie = granted
        .header("set-cookie")
        .expect("the application's cookie reaches the client")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let cookie_line = format!("Cookie: {cookie}\r\n");
    let by_cookie = [
        case(
            "by the cookie",
            request("GET", "/private/videos/seg-1.ts", &cookie_line),
        ),
        case(
            "by the cookie, outside its folder",
            request("GET", "/private/file.txt", &cookie_line),
        ),
    ];
    let statuses = assert_agree(&with_fallback.nginx, &with_fallback.twin, &by_cookie);
    assert_statuses(
        &statuses,
        &[
            ("by the cookie", 200),
            ("by the cookie, outside its folder", 403),
        ],
    );
}

/// The known-answer vectors of SPEC.md, at their own time (nginx under faketime, the layer
/// with a fixed clock): the plain and folder links verify as the layer verifies them, with each
/// one's method, and the others are refused or handed to the fallback.
#[test]
fn known_answer_vectors_verify_at_their_time() {
    let Some(tools) = tools() else { return };
    let Some(faketime) = support::faketime_binary() else {
        return;
    };
    // Every vector's link is valid at this time (the latest not-before is 1767225000, the
    // earliest expiry 1767225600): 2025-12-31 23:51:40 UTC.
    const THEN: u64 = 1_767_225_100;
    let faketime = faketime.display().to_string();
    let wrapper = ["env", "TZ=UTC", &faketime, "-f", "@2025-12-31 23:51:40"];
    let options = Options {
        wrapper: &wrapper,
        clock: Some(THEN),
        ..PLAIN
    };
    let alone = Site::start(&tools, options);
    let with_fallback = Site::start(
        &tools,
        Options {
            fallback: true,
            ..options
        },
    );
    let mut plain = Vec::new();
    let mut stateful = Vec::new();
    for vector in vectors() {
        let name = vector["name"].as_str().unwrap();
        let link = vector["link"].as_str().unwrap();
        let method = vector["method"].as_str().unwrap();
        let body = if method == "GET" {
            ""
        } else {
            "Content-Length: 0\r\n"
        };
        let decidable = ["nonce", "max_body", "version", "group"]
            .iter()
            .all(|field| vector[*field].is_null());
        let cases = if decidable { &mut plain } else { &mut stateful };
        cases.push(case(name, request(method, link, body)));
        cases.push(case(format!("{name}, HEAD"), request("HEAD", link, "")));
        cases.push(case(
            format!("{name}, POST"),
            request("POST", link, "Content-Length: 0\r\n"),
        ));
        cases.push(case(
            format!("{name}, tampered"),
            request(method, &link.replace("sl_exp=1", "sl_exp=2"), body),
        ));
    }
    assert_eq!(plain.len(), 4 * 4, "the plain and folder vectors");
    let statuses = assert_agree(&alone.nginx, &alone.app, &plain);
    #[rustfmt::skip]
    assert_statuses(&statuses, &[
        ("plain GET", 200), ("plain GET, HEAD", 200), ("plain GET, POST", 403), ("plain GET, tampered", 403),
        ("PUT with query and not-before", 405), ("PUT with query and not-before, HEAD", 403),
        ("UTF-8 path and reserved characters", 200), ("folder link", 200), ("folder link, HEAD", 200),
    ]);
    let statuses = assert_agree(&with_fallback.nginx, &with_fallback.twin, &stateful);
    assert_statuses(
        &statuses,
        &[("one-time nonce", 200), ("revocation group", 200)],
    );
    // Alone, nginx refuses them all but a HEAD on the one-time GET link, which uses nothing up
    // and which it decides itself.
    for case in &stateful {
        let status = raw_bytes(&alone.nginx.addr, &case.bytes).status;
        let expected = if case.name == "one-time nonce, HEAD" {
            200
        } else {
            403
        };
        assert_eq!(status, expected, "{}", case.name);
    }
}

/// What `write_scripts` prints passes `nginx -t` for awkward folders and settings.
#[test]
fn generated_config_passes_nginx_t() {
    let Some(tools) = tools() else { return };
    let awkward = tempfile::tempdir().unwrap();
    let alias = awkward.path().join(r#"a "quoted" \ folder; {é}"#);
    std::fs::create_dir_all(&alias).unwrap();
    let scripts = awkward.path().join("scripts with spaces");
    let alias = format!("{}/", alias.display());
    let configs = [
        NativeConfig::new(&alias).unwrap(),
        NativeConfig::new(&alias)
            .unwrap()
            .with_location("/")
            .unwrap(),
        NativeConfig::new(&alias)
            .unwrap()
            .with_location("/My Files/")
            .unwrap(),
        NativeConfig::new(&alias)
            .unwrap()
            .with_location("/a/b.c/d_e~f")
            .unwrap(),
        NativeConfig::new(&alias)
            .unwrap()
            .with_fallback("http://127.0.0.1:9")
            .unwrap()
            .with_opaque_prefix("/links/")
            .unwrap(),
        NativeConfig::new(&alias).unwrap().without_opaque_links(),
    ];
    for config in configs {
        let output = config
            .with_key("1", KEY)
            .unwrap()
            .with_key("__proto__", OLD_KEY)
            .unwrap()
            .write_scripts(&scripts)
            .unwrap();
        let text = output.to_string();
        let (ok, said) = NjsNginx::test_config(&tools.nginx, &tools.module, &text);
        assert!(ok, "nginx -t failed:\n{said}\n{text}");
        let key_hex: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!text.contains(&key_hex) && !text.contains("thirty-two"));
    }
}

/// `NGINX_NATIVE_BENCH=1 cargo test --all-features --test nginx_native bench -- --ignored
/// --nocapture`: wrk on a 1 KiB file through a valid link, the native script against nginx's
/// own `secure_link_md5` (the `nginx-config --format nginx` block), in the same nginx.
#[test]
#[ignore]
fn bench_against_secure_link_md5() {
    let Some(tools) = tools() else { return };
    let root = tree();
    let keys = keys();
    let alias = root.path().join("private").display().to_string();
    let mut config = NativeConfig::new(&alias).unwrap();
    for (id, secret) in &keys {
        config = config.with_key(id, secret).unwrap();
    }
    let scripts = tempfile::tempdir().unwrap();
    let output = config.write_scripts(scripts.path()).unwrap();
    let md5 = tower_secure_link::nginx::NginxScheme::new("bench secret");
    let block = md5.location_block("/md5/", &format!("{alias}/")).unwrap();
    let nginx = NjsNginx::start(
        &tools.nginx,
        &tools.module,
        &[],
        &output.to_string(),
        &block,
    );
    let native_link = layer(&keys, PLAIN)
        .signer()
        .sign("/private/1k.bin")
        .unwrap();
    let md5_link = SecureLinkLayer::nginx(md5)
        .unwrap()
        .signer()
        .sign("/md5/1k.bin")
        .unwrap();
    let mut rates = Vec::new();
    for link in [&native_link, &md5_link, &native_link, &md5_link] {
        let url = format!("http://{}{link}", nginx.addr);
        assert_eq!(raw_bytes(&nginx.addr, &get(link)).status, 200, "{link}");
        let out = std::process::Command::new("wrk")
            .args(["-t1", "-c16", "-d5s", &url])
            .output()
            .expect("wrk");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let rate: f64 = text
            .lines()
            .find_map(|line| line.strip_prefix("Requests/sec:"))
            .and_then(|rate| rate.trim().parse().ok())
            .unwrap_or_else(|| panic!("{text}"));
        println!("{link}: {rate:.0} req/s");
        rates.push(rate);
    }
    let native = (rates[0] + rates[2]) / 2.0;
    let md5 = (rates[1] + rates[3]) / 2.0;
    println!(
        "native {native:.0} req/s, secure_link_md5 {md5:.0} req/s, ratio {:.2}",
        native / md5
    );
}

/// `cargo test --all-features --test nginx_native show_config -- --ignored --nocapture`: the
/// configuration and the generated settings file these tests run with.
#[test]
#[ignore]
fn show_config() {
    let Some(tools) = tools() else { return };
    let options = Options {
        fallback: true,
        ..PLAIN
    };
    let site = Site::start(&tools, options);
    println!("{}", site.output);
    println!(
        "{}",
        std::fs::read_to_string(&site.output.files[1]).unwrap()
    );
}
