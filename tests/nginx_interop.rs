//! The nginx scheme against a real nginx: the block `secure-link nginx-config` prints passes
//! `nginx -t` for awkward secrets, nginx accepts the links the crate mints, and the crate's
//! `serve` answers links minted the way nginx's documentation shows (with openssl) exactly as
//! nginx does.
#![cfg(feature = "nginx")]

mod support;

use std::path::Path;
use std::process::Command;

use support::{get, nginx_binary, open_up, Nginx, Serve};

/// A secret that needs escaping in nginx's syntax.
const AWKWARD_SECRET: &str = r#"s3 "cr" \ 3t;{}#'é"#;

fn cli(args: &[&str], secret: &str) -> (i32, String, String) {
    let output = support::run_cli(args, &[("SECURE_LINK_KEY", secret)]);
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn location_block(secret: &str, alias: &Path) -> String {
    let alias = format!("{}/", alias.display());
    let (code, block, stderr) = cli(&["nginx-config", "--alias", &alias], secret);
    assert_eq!(code, 0, "{stderr}");
    block
}

fn sign(secret: &str, target: &str, extra: &[&str]) -> String {
    let mut args = vec!["sign", "--format", "nginx"];
    args.extend_from_slice(extra);
    args.push(target);
    let (code, link, stderr) = cli(&args, secret);
    assert_eq!(code, 0, "{stderr}");
    link.trim().to_owned()
}

fn files() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for (name, body) in [
        ("private/file.txt", "plain file"),
        ("private/my file.pdf", "file with a space"),
        ("private/é.txt", "UTF-8 name"),
        ("private/a/b/c/deep.txt", "nested file"),
        ("index.html", "public"),
    ] {
        let path = root.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    open_up(root.path());
    root
}

#[test]
fn generated_config_passes_nginx_t_for_awkward_secrets() {
    let Some(nginx) = nginx_binary() else { return };
    let root = files();
    let secrets = [
        "plain",
        AWKWARD_SECRET,
        "x",
        "white space",
        "semi;colon",
        "{braces}",
        "back\\\\slash\\",
    ];
    for secret in secrets {
        let block = location_block(secret, &root.path().join("private"));
        let (ok, output) = Nginx::test_config(&nginx, &block);
        assert!(ok, "{secret:?}: nginx -t failed:\n{output}\n{block}");
    }
    for unsafe_secret in ["a$b", "line\nbreak"] {
        let (code, stdout, stderr) = cli(&["nginx-config", "--alias", "/srv/"], unsafe_secret);
        assert_eq!(code, 2, "{unsafe_secret:?}");
        assert!(stdout.is_empty());
        assert!(stderr.contains("cannot be written safely"), "{stderr}");
    }
}

#[test]
fn nginx_accepts_the_links_the_crate_mints() {
    let Some(nginx) = nginx_binary() else { return };
    let root = files();
    let server = Nginx::start(
        &nginx,
        &location_block(AWKWARD_SECRET, &root.path().join("private")),
    );
    let far = ["--expires", "2147483647"];
    #[rustfmt::skip]
    let valid = [
        ("/private/file.txt", &far[..], "plain file"),
        ("/private/my file.pdf", &far[..], "file with a space"),
        ("/private/é.txt", &far[..], "UTF-8 name"),
        ("/private/a/b/c/deep.txt", &far[..], "nested file"),
        ("/private/file.txt", &["--expires", "0002147483647"][..], "plain file"),
        ("/private/file.txt", &["--ttl", "600"][..], "plain file"),
    ];
    for (target, extra, body) in valid {
        let link = sign(AWKWARD_SECRET, target, extra);
        let response = get(&server.addr, &link);
        assert_eq!(response.status, 200, "{link}\n{}", server.error_log());
        assert_eq!(response.body_text(), body, "{link}");
    }

    let link = sign(AWKWARD_SECRET, "/private/file.txt", &far);
    let token_at = link.find("token=").unwrap() + "token=".len();
    let mut changed_token = link.clone();
    let replacement = if &link[token_at + 3..token_at + 4] == "a" {
        "b"
    } else {
        "a"
    };
    changed_token.replace_range(token_at + 3..token_at + 4, replacement);
    let other_secret = sign("another secret", "/private/file.txt", &far);
    let expired = sign(
        AWKWARD_SECRET,
        "/private/file.txt",
        &["--expires", "1000000000"],
    );
    #[rustfmt::skip]
    let refused = [
        ("other file", link.replace("file.txt", "my%20file.pdf"), 403),
        ("expiry changed", link.replace("2147483647", "2147483646"), 403),
        ("token changed", changed_token, 403),
        ("other secret", other_secret, 403),
        ("no token", "/private/file.txt".to_owned(), 403),
        ("expired", expired, 410),
    ];
    for (name, target, status) in refused {
        let response = get(&server.addr, &target);
        assert_eq!(response.status, status, "{name}: {target}");
        assert_ne!(response.body_text(), "plain file", "{name}");
    }
}

/// A token minted with openssl, as nginx's documentation shows.
fn openssl_token(expires: &str, uri: &str, secret: &str) -> String {
    let script =
        r#"printf '%s' "$1$2 $3" | openssl md5 -binary | openssl base64 | tr +/ -_ | tr -d ="#;
    let output = Command::new("sh")
        .args(["-c", script, "sh", expires, uri, secret])
        .output()
        .expect("sh and openssl");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_crate_answers_openssl_links_as_nginx_does() {
    let Some(nginx) = nginx_binary() else { return };
    let secret = "s3cr3t";
    let root = files();
    let nginx_server = Nginx::start(
        &nginx,
        &location_block(secret, &root.path().join("private")),
    );
    let root_arg = root.path().display().to_string();
    let serve = Serve::start(
        &[
            "--root",
            &root_arg,
            "--private",
            "/private/",
            "--format",
            "nginx",
        ],
        &[("SECURE_LINK_KEY", secret)],
    );
    let far = "2147483647";
    let t = |expires: &str, uri: &str| openssl_token(expires, uri, secret);
    let file = t(far, "/private/file.txt");
    let mut equivalent_last = file.clone();
    let last = file.as_bytes()[21];
    // The last character carries two bits; the next one up shares them unless it crosses a
    // four-value boundary.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.iter().position(|c| *c == last).unwrap();
    let sibling = alphabet[(index & !15) | ((index + 1) & 15)] as char;
    equivalent_last.replace_range(21.., &sibling.to_string());
    #[rustfmt::skip]
    let cases: Vec<(&str, String, u16)> = vec![
        // The one place the crate is stricter than nginx: a router in front of the layer may
        // already have acted on the raw path, so dot segments under a private prefix get 400.
        ("dot segments", format!("/private/x/../file.txt?token={file}&expires={far}"), 400),
        ("plain", format!("/private/file.txt?token={file}&expires={far}"), 200),
        ("space", format!("/private/my%20file.pdf?token={}&expires={far}", t(far, "/private/my file.pdf")), 200),
        ("UTF-8", format!("/private/%C3%A9.txt?token={}&expires={far}", t(far, "/private/é.txt")), 200),
        ("nested", format!("/private/a/b/c/deep.txt?token={}&expires={far}", t(far, "/private/a/b/c/deep.txt")), 200),
        ("leading zeros", format!("/private/file.txt?token={}&expires=0{far}", t(&format!("0{far}"), "/private/file.txt")), 200),
        ("padding", format!("/private/file.txt?token={file}==&expires={far}"), 200),
        ("equivalent last character", format!("/private/file.txt?token={equivalent_last}&expires={far}"), 200),
        ("upper-case names", format!("/private/file.txt?TOKEN={file}&EXPIRES={far}"), 200),
        ("expired", format!("/private/file.txt?token={}&expires=1000000000", t("1000000000", "/private/file.txt")), 410),
        ("bad hash, expired", format!("/private/file.txt?token={file}&expires=1000000000"), 403),
        ("missing expires", format!("/private/file.txt?token={file}"), 403),
        ("zero expires", format!("/private/file.txt?token={}&expires=0", t("0", "/private/file.txt")), 403),
        ("hashed over the encoded path", format!("/private/my%20file.pdf?token={}&expires={far}", t(far, "/private/my%20file.pdf")), 403),
        ("other file", format!("/private/a/b/c/deep.txt?token={file}&expires={far}"), 403),
        ("no token", "/private/file.txt".to_owned(), 403),
    ];
    for (name, target, status) in cases {
        let from_nginx = get(&nginx_server.addr, &target);
        let from_crate = get(&serve.addr, &target);
        let nginx_status = if status == 400 { 200 } else { status };
        assert_eq!(from_nginx.status, nginx_status, "nginx, {name}: {target}");
        assert_eq!(from_crate.status, status, "crate, {name}: {target}");
        if status == 200 {
            assert_eq!(from_crate.body, from_nginx.body, "{name}");
        }
    }
}

/// A backend on its own thread: the layer in front of `XAccelRedirect`, which never opens a
/// file (it is given no folder at all). Returns its address and a signer.
fn start_accel_backend() -> (String, tower_secure_link::UrlSigner) {
    start_accel_backend_with(|layer| layer, None)
}

fn start_accel_backend_with(
    configure: impl FnOnce(tower_secure_link::SecureLinkLayer) -> tower_secure_link::SecureLinkLayer,
    validators: Option<&Path>,
) -> (String, tower_secure_link::UrlSigner) {
    use axum::body::Body;
    use tower_secure_link::accel::XAccelRedirect;
    use tower_secure_link::{Key, SecureLinkLayer};

    let layer = configure(
        SecureLinkLayer::new(Key::new("1", [5u8; 32]).unwrap())
            .with_private_prefix("/private/")
            .unwrap(),
    );
    let signer = layer.signer();
    let mut files = XAccelRedirect::<Body>::new("/private/", "/protected/").unwrap();
    if let Some(folder) = validators {
        files = files.with_validators_from(folder);
    }
    let app = axum::Router::new()
        .route_service("/private/{*file}", files)
        .layer(layer);
    (support::serve_app(app), signer)
}

#[test]
fn x_accel_redirect_lets_nginx_serve_what_the_backend_checked() {
    let Some(nginx) = nginx_binary() else { return };
    let root = files();
    let (backend, signer) = start_accel_backend();
    let server = accel_nginx(&nginx, root.path(), &backend);

    for (target, body, content_type) in [
        (
            "/private/file.txt",
            "plain file",
            "text/plain; charset=utf-8",
        ),
        (
            "/private/my file.pdf",
            "file with a space",
            "application/pdf",
        ),
        ("/private/é.txt", "UTF-8 name", "text/plain; charset=utf-8"),
        (
            "/private/a/b/c/deep.txt",
            "nested file",
            "text/plain; charset=utf-8",
        ),
    ] {
        let link = signer.sign(target).unwrap();
        let response = get(&server.addr, &link);
        assert_eq!(response.status, 200, "{link}\n{}", server.error_log());
        assert_eq!(response.body_text(), body, "{link}");
        assert_eq!(
            response.header("content-type"),
            Some(content_type),
            "{link}"
        );
        assert!(response
            .header("content-disposition")
            .unwrap()
            .starts_with("inline; filename="));
        assert!(
            response.header("x-accel-redirect").is_none(),
            "the header must not reach clients"
        );
    }
    let expired = signer
        .link("/private/file.txt")
        .expires_at(1_000_000_000)
        .to_target()
        .unwrap();
    #[rustfmt::skip]
    let refused = [
        ("no link", "/private/file.txt".to_owned(), 403),
        ("expired", expired, 410),
        ("the internal location, directly", "/protected/file.txt".to_owned(), 404),
        ("the internal location, encoded", "/%70rotected/file.txt".to_owned(), 404),
    ];
    for (name, target, status) in refused {
        let response = get(&server.addr, &target);
        assert_eq!(response.status, status, "{name}");
        assert_ne!(response.body_text(), "plain file", "{name}");
    }
}

/// The nginx configuration `nginx-config --accel-internal` prints for a backend.
fn accel_nginx(nginx: &Path, root: &Path, backend: &str) -> Nginx {
    let alias = format!("{}/", root.join("private").display());
    let (code, config, stderr) = cli(
        &[
            "nginx-config",
            "--location",
            "/private/",
            "--accel-internal",
            "/protected/",
            "--alias",
            &alias,
            "--upstream",
            backend,
        ],
        "unused",
    );
    assert_eq!(code, 0, "{stderr}");
    start_accel_nginx(nginx, &config)
}

/// Starts nginx with `nginx-config --accel-internal` output: its `upstream` block in `http { }`,
/// its locations in `server { }`.
fn start_accel_nginx(nginx: &Path, config: &str) -> Nginx {
    let (http, server) = config
        .split_once(tower_secure_link::nginx::SERVER_CONTEXT_MARKER)
        .expect("the accel output has an http part and a server part");
    assert!(http.contains("keepalive"), "{config}");
    assert!(server.contains("proxy_http_version 1.1;"), "{config}");
    Nginx::start_with_http(nginx, http, server)
}

/// `GET target` with extra header lines, byte for byte.
fn get_with(addr: &str, target: &str, headers: &[&str]) -> support::RawResponse {
    let mut request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    support::raw_bytes(addr, request.as_bytes())
}

#[test]
fn a_resumed_one_time_download_through_nginx_stays_partial() {
    let Some(nginx) = nginx_binary() else { return };
    let root = files();
    let (backend, signer) = start_accel_backend_with(
        |layer| layer.with_one_time_resume_window(std::time::Duration::from_secs(60)),
        Some(&root.path().join("private")),
    );
    let server = accel_nginx(&nginx, root.path(), &backend);
    let whole = "plain file";

    let link = signer
        .link("/private/file.txt")
        .one_time()
        .to_target()
        .unwrap();
    let first = get(&server.addr, &link);
    assert_eq!(first.status, 200, "{}", server.error_log());
    assert_eq!(first.body_text(), whole);
    let etag = first
        .header("etag")
        .expect("nginx sends an ETag")
        .to_owned();
    let last_modified = first.header("last-modified").unwrap().to_owned();

    #[rustfmt::skip]
    let cases: &[(&str, &[&str], u16, Option<&str>)] = &[
        ("a resume", &["Range: bytes=6-"], 206, Some("file")),
        // nginx reads the client's own If-Range after X-Accel-Redirect: a mismatch would send
        // the whole file, so the backend refuses it.
        ("a resume with a mismatched If-Range", &["Range: bytes=6-", "If-Range: \"not-the-etag\""], 410, None),
        ("a resume with an old If-Range date", &["Range: bytes=2-", "If-Range: Thu, 01 Jan 1970 00:00:00 GMT"], 410, None),
        // What Chromium sends on every follow-up range request of a <video>: it matches.
        ("a resume with the right If-Range", &["Range: bytes=6-"], 206, Some("file")),
        ("a resume with the right If-Range date", &["Range: bytes=2-"], 206, Some("ain file")),
        ("a plain GET", &[], 410, None),
        ("from the first byte", &["Range: bytes=0-"], 410, None),
        ("a malformed range", &["Range: bytes=+1-"], 410, None),
        ("a suffix range", &["Range: bytes=-4"], 410, None),
        ("a range with a mismatched If-Range from 0", &["Range: bytes=0-", "If-Range: \"nope\""], 410, None),
    ];
    for (name, headers, status, body) in cases {
        let mut headers = headers.to_vec();
        let right = format!("If-Range: {etag}");
        let right_date = format!("If-Range: {last_modified}");
        if name.ends_with("right If-Range") {
            headers.push(&right);
        }
        if name.ends_with("right If-Range date") {
            headers.push(&right_date);
        }
        let response = get_with(&server.addr, &link, &headers);
        assert_eq!(response.status, *status, "{name}\n{}", server.error_log());
        match body {
            Some(body) => assert_eq!(response.body_text(), *body, "{name}"),
            None => assert_ne!(response.body_text(), whole, "{name}: a full copy"),
        }
    }
}

#[test]
fn nginx_config_is_right_whatever_slashes_the_user_types() {
    let Some(nginx) = nginx_binary() else { return };
    let secret = "slash test secret";
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("files");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("hello.txt"), "the right file").unwrap();
    // What `alias` without its `/` used to open for /private/hello.txt: `<folder>hello.txt`.
    std::fs::write(root.path().join("fileshello.txt"), "the WRONG file").unwrap();
    std::fs::create_dir_all(root.path().join("other")).unwrap();
    open_up(root.path());
    let folder = folder.display().to_string();
    let link = sign(secret, "/private/hello.txt", &["--expires", "2147483647"]);
    let sibling = link.replace("/private/", "/private-other/");
    for location in ["/private/", "/private"] {
        for alias in [format!("{folder}/"), folder.clone(), format!("{folder}//")] {
            let (code, block, stderr) = cli(
                &["nginx-config", "--location", location, "--alias", &alias],
                secret,
            );
            assert_eq!(code, 0, "{location} {alias}: {stderr}");
            let server = Nginx::start(&nginx, &block);
            let case = format!("--location {location} --alias {alias}");
            let served = get(&server.addr, &link);
            assert_eq!(
                served.status,
                200,
                "{case}\n{block}\n{}",
                server.error_log()
            );
            assert_eq!(served.body_text(), "the right file", "{case}");
            assert_eq!(served.header("cache-control"), Some("private"), "{case}");
            assert_eq!(
                served.header("referrer-policy"),
                Some("no-referrer"),
                "{case}"
            );
            let refused = get(&server.addr, "/private/hello.txt");
            assert_eq!(refused.status, 403, "{case}");
            assert_eq!(refused.header("cache-control"), Some("no-store"), "{case}");
            assert_eq!(
                refused.header("referrer-policy"),
                Some("no-referrer"),
                "{case}"
            );
            let other = get(&server.addr, &sibling);
            assert_ne!(
                other.status, 200,
                "{case}: the location must not cover /private-other/"
            );
        }
    }
    for (location, alias) in [
        ("private/", folder.as_str()),
        ("/private/", "relative/dir/"),
    ] {
        let (code, _, stderr) = cli(
            &["nginx-config", "--location", location, "--alias", alias],
            secret,
        );
        assert_eq!(code, 2, "{location} {alias}");
        assert!(stderr.contains("absolute"), "{stderr}");
    }
}

#[test]
fn the_accel_block_is_right_whatever_slashes_the_user_types() {
    let Some(nginx) = nginx_binary() else { return };
    let root = files();
    let (backend, signer) = start_accel_backend();
    let link = signer.sign("/private/file.txt").unwrap();
    let folder = root.path().join("private").display().to_string();
    for (internal, alias) in [
        ("/protected/", folder.clone()),
        ("/protected", folder.clone()),
    ] {
        let (code, config, stderr) = cli(
            &[
                "nginx-config",
                "--location",
                "/private",
                "--accel-internal",
                internal,
                "--alias",
                &alias,
                "--upstream",
                &backend,
            ],
            "unused",
        );
        assert_eq!(code, 0, "{stderr}");
        let server = start_accel_nginx(&nginx, &config);
        let response = get(&server.addr, &link);
        assert_eq!(
            response.status,
            200,
            "{internal} {alias}\n{config}\n{}",
            server.error_log()
        );
        assert_eq!(response.body_text(), "plain file");
        assert_eq!(response.header("cache-control"), Some("private"));
        assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
    }
}

#[test]
fn a_signed_download_name_survives_x_accel_redirect() {
    let Some(nginx) = nginx_binary() else { return };
    let root = files();
    let (backend, signer) = start_accel_backend();
    let server = accel_nginx(&nginx, root.path(), &backend);
    let link = signer
        .link("/private/file.txt")
        .download_as("Q3 report é.txt")
        .content_type("text/csv")
        .to_target()
        .unwrap();
    let response = get(&server.addr, &link);
    assert_eq!(response.status, 200, "{}", server.error_log());
    assert_eq!(response.body_text(), "plain file");
    assert_eq!(
        response.header("content-disposition"),
        Some("attachment; filename=\"Q3 report _.txt\"; filename*=UTF-8''Q3%20report%20%C3%A9.txt")
    );
    assert_eq!(response.header("content-type"), Some("text/csv"));
    let dispositions = response
        .head
        .lines()
        .filter(|line| {
            line.to_ascii_lowercase()
                .starts_with("content-disposition:")
        })
        .count();
    assert_eq!(dispositions, 1, "{}", response.head);
}
