//! The `secure-link` example binary, run as a separate process, against the contract in the
//! README (sign, verify, serve): output lines, exit codes and statuses over real TCP.

mod support;

use std::process::Output;

use support::{get, Serve};

const KEY: &str = "cli test secret of thirty-two bytes or so";

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    support::run_cli(args, env)
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .trim_end()
        .to_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn sign(args: &[&str]) -> String {
    let mut all = vec!["sign"];
    all.extend_from_slice(args);
    let output = run(&all, &[("SECURE_LINK_KEY", KEY)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let link = stdout(&output);
    assert_eq!(link.lines().count(), 1, "sign prints one line");
    link
}

#[test]
fn sign_then_verify_round_trips() {
    let link = sign(&["/private/a b.pdf?v=2"]);
    assert!(link.starts_with("/private/a%20b.pdf?v=2&"), "{link}");
    let output = run(&["verify", &link], &[("SECURE_LINK_KEY", KEY)]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), "valid");

    // Methods in any case.
    let put = sign(&["--method", "put", "--ttl", "60", "/private/upload.bin"]);
    assert!(put.contains("sl_method=PUT"), "{put}");
    let as_get = run(&["verify", &put], &[("SECURE_LINK_KEY", KEY)]);
    assert_eq!(as_get.status.code(), Some(1));
    assert_eq!(stderr(&as_get).trim(), "method_not_allowed");
    let as_put = run(
        &["verify", "--method", "Put", &put],
        &[("SECURE_LINK_KEY", KEY)],
    );
    assert_eq!(as_put.status.code(), Some(0));
}

#[test]
fn verify_names_the_reason() {
    let link = sign(&["/private/a.pdf"]);
    let expired = sign(&["--expires", "1000000000", "/private/a.pdf"]);
    struct Case {
        name: &'static str,
        target: String,
        key: &'static str,
        reason: &'static str,
    }
    #[rustfmt::skip]
    let cases = [
        Case { name: "tampered path", target: link.replace("a.pdf", "b.pdf"), key: KEY, reason: "bad_signature" },
        Case { name: "other key", target: link.clone(), key: "another secret of thirty-two bytes!!", reason: "bad_signature" },
        Case { name: "unknown key id", target: link.replace("sl_kid=1", "sl_kid=9"), key: KEY, reason: "unknown_key" },
        Case { name: "no token", target: "/private/a.pdf".into(), key: KEY, reason: "missing_token" },
        Case { name: "malformed token", target: link.replace("sl_exp=", "sl_exp=0"), key: KEY, reason: "malformed_token" },
        Case { name: "expired", target: expired, key: KEY, reason: "expired" },
        Case { name: "ambiguous path", target: link.replace("/private/", "/private/x/../"), key: KEY, reason: "ambiguous_path" },
    ];
    for case in cases {
        let output = run(&["verify", &case.target], &[("SECURE_LINK_KEY", case.key)]);
        assert_eq!(output.status.code(), Some(1), "{}", case.name);
        assert_eq!(stderr(&output).trim(), case.reason, "{}", case.name);
        assert!(stdout(&output).is_empty(), "{}", case.name);
    }
}

#[test]
fn old_keys_verify_but_do_not_sign() {
    let old_link = sign(&["/private/a.pdf"]);
    let rotated = [
        ("SECURE_LINK_KEY", "the new secret, also thirty-two bytes"),
        ("SECURE_LINK_KEY_ID", "2"),
        ("SECURE_LINK_OLD_KEYS", &*format!("1:{KEY}")),
    ];
    let output = run(&["verify", &old_link], &rotated);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = run(&["sign", "/private/a.pdf"], &rotated);
    assert!(stdout(&output).contains("sl_kid=2&"));
}

#[test]
fn usage_errors_exit_with_2_and_a_message() {
    #[rustfmt::skip]
    let cases: [(&str, &[&str], Option<&str>, &str); 23] = [
        ("short key", &["sign", "/x"], Some("short"), "at least 32"),
        ("no key for sign", &["sign", "/x"], None, "SECURE_LINK_KEY"),
        ("no key for verify", &["verify", "/x"], None, "SECURE_LINK_KEY"),
        ("reserved parameter", &["sign", "/x?sl_sig=1"], Some(KEY), "reserved"),
        ("lifetime over the maximum", &["sign", "--ttl", "99999999", "/x"], Some(KEY), "maximum is 604800 s"),
        ("the option that raises it", &["sign", "--ttl", "99999999", "/x"], Some(KEY), "--max-lifetime"),
        ("dot segments", &["sign", "/private/../etc/passwd"], Some(KEY), "resolves to \"/etc/passwd\""),
        ("double slash", &["sign", "/private//a.pdf"], Some(KEY), "resolves to \"/private/a.pdf\""),
        ("not a method", &["sign", "--method", "G E T", "/x"], Some(KEY), "not an HTTP method"),
        ("a version on an upload", &["sign", "--bind-file", "Cargo.toml", "--method", "put", "/x"], Some(KEY), "only GET links"),
        ("an empty window", &["sign", "--window", "0", "/x"], Some(KEY), "--window must be at least"),
        ("unknown option", &["sign", "--bogus", "/x"], Some(KEY), "--bogus"),
        ("bad path", &["sign", "/../x"], Some(KEY), "climbs above the root"),
        ("host bits in a network", &["sign", "--ip", "203.0.113.7/24", "/x"], Some(KEY), "no bits set past"),
        ("a network on a folder link", &["sign", "--folder", "--ip", "203.0.113.0/24", "/x/"], Some(KEY), "--ip cannot be used with --folder"),
        ("a download name with a line break", &["sign", "--download-as", "a.pdf\r\nSet-Cookie: x=1", "/x"], Some(KEY), "--download-as"),
        ("a download name that is a path", &["sign", "--inline-as", "../a.pdf", "/x"], Some(KEY), "download name"),
        ("a quoted content type", &["sign", "--content-type", "text/plain; charset=\"x\"", "/x"], Some(KEY), "--content-type"),
        ("no uses", &["sign", "--uses", "0", "/x"], Some(KEY), "--uses from 1 to 100"),
        ("too many uses", &["sign", "--uses", "101", "/x"], Some(KEY), "1 to 100 uses"),
        ("a bad trusted proxy", &["serve", "--trusted-proxy", "10.0.0.1/8"], Some(KEY), "--trusted-proxy"),
        ("a signing parameter ignored", &["serve", "--ignore-param", "sl_*"], Some(KEY), "can never be ignored"),
        ("an ignored name with a space", &["serve", "--ignore-param", "utm source"], Some(KEY), "--ignore-param"),
    ];
    for (name, args, key, needle) in cases {
        let env: Vec<(&str, &str)> = key.map(|k| ("SECURE_LINK_KEY", k)).into_iter().collect();
        let output = run(args, &env);
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(
            stderr(&output).contains(needle),
            "{name}: {}",
            stderr(&output)
        );
        assert!(
            !stderr(&output).contains(KEY),
            "{name}: the secret was printed"
        );
    }
}

#[test]
fn serve_guards_the_private_prefix_and_stops_on_sigterm() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private/open")).unwrap();
    std::fs::write(root.path().join("index.html"), "hello").unwrap();
    std::fs::write(root.path().join("private/doc.txt"), "private document").unwrap();
    std::fs::write(root.path().join("private/open/note.txt"), "open note").unwrap();
    let root_arg = root.path().display().to_string();
    let mut server = Serve::start(
        &[
            "--root",
            &root_arg,
            "--private",
            "/private/",
            "--public",
            "/private/open/",
        ],
        &[("SECURE_LINK_KEY", KEY)],
    );
    let base = format!("http://{}", server.addr);

    assert!(server
        .sample_link
        .starts_with(&format!("{base}/private/doc.txt?")));
    let sample_target = server.sample_link.strip_prefix(&base).unwrap().to_owned();
    let expired = sign(&["--expires", "1000000000", "/private/doc.txt"]);
    #[rustfmt::skip]
    let cases = [
        ("sample link", sample_target.as_str(), 200, Some("private document")),
        ("public file", "/index.html", 200, Some("hello")),
        ("public exception", "/private/open/note.txt", 200, Some("open note")),
        ("no link", "/private/doc.txt", 403, None),
        ("expired link", expired.as_str(), 410, None),
        ("ambiguous path", "/private%2fdoc.txt", 400, None),
        ("escape from the exception", "/private/open/%2e%2e/doc.txt", 400, None),
        ("climb out of the prefix", "/private/../index.html", 400, None),
    ];
    for (name, target, status, body) in cases {
        let response = get(&server.addr, target);
        assert_eq!(response.status, status, "{name}");
        match body {
            Some(body) => assert_eq!(response.body_text(), body, "{name}"),
            None => assert!(!response.body_text().contains("private document"), "{name}"),
        }
    }

    #[cfg(unix)]
    assert!(server.stop(), "serve did not stop cleanly on SIGTERM");
}

#[test]
fn a_longer_maximum_lifetime_is_an_option_on_every_command() {
    let ttl = (30 * 24 * 60 * 60).to_string();
    let month = ["--max-lifetime", "2592000"];
    let link = sign(&[&month[..], &["--ttl", &ttl, "/private/a.pdf"]].concat());
    let without = run(&["verify", &link], &[("SECURE_LINK_KEY", KEY)]);
    assert_eq!(stderr(&without).trim(), "lifetime_too_long");
    let with = run(
        &[&["verify"], &month[..], &[&link]].concat(),
        &[("SECURE_LINK_KEY", KEY)],
    );
    assert_eq!(with.status.code(), Some(0), "{}", stderr(&with));
}

#[test]
fn every_help_names_the_environment_it_reads() {
    for (command, names) in [
        (
            "sign",
            &[
                "SECURE_LINK_KEY",
                "SECURE_LINK_KEY_ID",
                "SECURE_LINK_OLD_KEYS",
            ][..],
        ),
        (
            "verify",
            &[
                "SECURE_LINK_KEY",
                "SECURE_LINK_KEY_ID",
                "SECURE_LINK_OLD_KEYS",
            ],
        ),
        (
            "serve",
            &[
                "SECURE_LINK_KEY",
                "SECURE_LINK_KEY_ID",
                "SECURE_LINK_OLD_KEYS",
            ],
        ),
        (
            "nginx-config",
            &[
                "SECURE_LINK_KEY",
                "SECURE_LINK_KEY_ID",
                "SECURE_LINK_OLD_KEYS",
            ],
        ),
    ] {
        let output = run(&[command, "--help"], &[]);
        assert_eq!(output.status.code(), Some(0), "{command}");
        for name in names {
            assert!(
                stdout(&output).contains(name),
                "{command} --help lacks {name}"
            );
        }
    }
}

#[cfg(feature = "nginx")]
#[test]
fn nginx_secret_links_and_remote_addr_templates_work_through_serve() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("p")).unwrap();
    std::fs::write(root.path().join("p/test.html"), "legacy page").unwrap();
    let root_arg = root.path().display().to_string();
    let env = [("SECURE_LINK_KEY", "secret")];
    // nginx's own secure_link.t case: /p/<md5("test.html" + "secret")>/test.html.
    let legacy = run(&["sign", "--format", "nginx-secret", "/p/test.html"], &env);
    assert_eq!(
        stdout(&legacy),
        "/p/181a8c6df88b74bb87b14f72df0a86f9/test.html"
    );
    let server = Serve::start(
        &[
            "--root",
            &root_arg,
            "--private",
            "/p/",
            "--format",
            "nginx-secret",
        ],
        &env,
    );
    let served = get(&server.addr, &stdout(&legacy));
    assert_eq!(
        (served.status, served.body_text().as_str()),
        (200, "legacy page")
    );
    assert_eq!(
        get(
            &server.addr,
            "/p/181a8c6df88b74bb87b14f72df0a86f0/test.html"
        )
        .status,
        403
    );
    let verified = run(
        &["verify", "--format", "nginx-secret", &stdout(&legacy)],
        &env,
    );
    assert_eq!(stdout(&verified), "valid");
    drop(server);

    // {remote_addr} is the TCP peer: a link bound to 127.0.0.1 works from loopback only.
    let template = [
        "--format",
        "nginx",
        "--template",
        "{expires}{uri}{remote_addr} {secret}",
    ];
    let server = Serve::start(
        &[&["--root", &root_arg, "--private", "/p/"][..], &template].concat(),
        &env,
    );
    let mine = run(
        &[
            &["sign"][..],
            &template,
            &["--client-ip", "127.0.0.1", "/p/test.html"],
        ]
        .concat(),
        &env,
    );
    let other = run(
        &[
            &["sign"][..],
            &template,
            &["--client-ip", "10.1.2.3", "/p/test.html"],
        ]
        .concat(),
        &env,
    );
    assert_eq!(
        get(&server.addr, &stdout(&mine)).status,
        200,
        "{}",
        stderr(&mine)
    );
    assert_eq!(get(&server.addr, &stdout(&other)).status, 403);
    let verified = run(
        &[
            &["verify"][..],
            &template,
            &["--client-ip", "127.0.0.1", &stdout(&mine)],
        ]
        .concat(),
        &env,
    );
    assert_eq!(stdout(&verified), "valid", "{}", stderr(&verified));
}

#[test]
fn signs_within_a_window_print_the_same_link() {
    let first = sign(&["--window", "86400", "/private/avatar.png"]);
    let second = sign(&["--window", "86400", "/private/avatar.png"]);
    let third = sign(&["/private/avatar.png"]);
    assert_eq!(first, second);
    let expires = |link: &str| -> u64 {
        link.split("sl_exp=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(expires(&first) % 86400, 0);
    assert!(expires(&third) % 86400 != 0 || expires(&third) != expires(&first));
    // And serve takes it like any other link; with --private-cache the browser may keep it,
    // never past the link's expiry.
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/avatar.png"), "png").unwrap();
    let root_arg = root.path().display().to_string();
    let server = Serve::start(
        &["--root", &root_arg, "--private-cache", "600"],
        &[("SECURE_LINK_KEY", KEY)],
    );
    let served = get(&server.addr, &first);
    assert_eq!(served.status, 200);
    assert_eq!(served.header("cache-control"), Some("private, max-age=600"));
    let short = sign(&["--ttl", "30", "/private/avatar.png"]);
    let max_age: u64 = get(&server.addr, &short)
        .header("cache-control")
        .and_then(|value| value.strip_prefix("private, max-age="))
        .unwrap()
        .parse()
        .unwrap();
    assert!((29..=30).contains(&max_age), "{max_age}");
}

#[test]
fn a_link_bound_to_a_file_dies_when_the_file_changes() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    let file = root.path().join("private/doc.txt");
    std::fs::write(&file, "first").unwrap();
    let root_arg = root.path().display().to_string();
    let file_arg = file.display().to_string();
    let server = Serve::start(&["--root", &root_arg], &[("SECURE_LINK_KEY", KEY)]);
    let link = sign(&["--bind-file", &file_arg, "/private/doc.txt"]);
    let plain = sign(&["/private/doc.txt"]);
    let served = get(&server.addr, &link);
    assert_eq!((served.status, served.body_text().as_str()), (200, "first"));
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(10))
        .unwrap();
    assert_eq!(get(&server.addr, &link).status, 410, "touched");
    assert_eq!(
        get(&server.addr, &plain).status,
        200,
        "a link without a version lives on"
    );
    let missing = run(
        &["sign", "--bind-file", "/no/such/file", "/private/doc.txt"],
        &[("SECURE_LINK_KEY", KEY)],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("--bind-file"));
}

#[test]
fn opaque_links_through_sign_verify_and_serve() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private/q3")).unwrap();
    std::fs::write(root.path().join("private/q3/invoice.pdf"), "the invoice").unwrap();
    let root_arg = root.path().display().to_string();
    let server = Serve::start(&["--root", &root_arg], &[("SECURE_LINK_KEY", KEY)]);
    let link = sign(&["--opaque", "/private/q3/invoice.pdf"]);
    assert!(link.starts_with("/s/"), "{link}");
    // Needles long enough that random base64 cannot spell them by chance.
    for hidden in ["private", "invoice", ".pdf", "sl_"] {
        assert!(!link.contains(hidden), "{hidden} shows in {link}");
    }
    let served = get(&server.addr, &link);
    assert_eq!(
        (served.status, served.body_text().as_str()),
        (200, "the invoice")
    );
    let verified = run(&["verify", &link], &[("SECURE_LINK_KEY", KEY)]);
    assert_eq!(stdout(&verified), "valid", "{}", stderr(&verified));
    let mut tampered = link.clone();
    let at = tampered.len() - 5;
    let swap = if &tampered[at..at + 1] == "A" {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(at..at + 1, swap);
    assert_eq!(get(&server.addr, &tampered).status, 403);
    let refused = run(&["verify", &tampered], &[("SECURE_LINK_KEY", KEY)]);
    assert_eq!(stderr(&refused).trim(), "bad_signature");

    let once = sign(&["--opaque", "--one-time", "/private/q3/invoice.pdf"]);
    assert_eq!(get(&server.addr, &once).status, 200);
    assert_eq!(get(&server.addr, &once).status, 410);
    let elsewhere = sign(&[
        "--opaque",
        "--opaque-prefix",
        "/hidden/",
        "/private/q3/invoice.pdf",
    ]);
    assert!(elsewhere.starts_with("/hidden/"), "{elsewhere}");
}

/// `nginx-config --native`: the contract's output, with the keys kept out of it, and a clear
/// answer to bad input.
#[cfg(feature = "nginx")]
#[test]
fn nginx_config_native_writes_the_scripts_and_keeps_the_keys_out_of_the_output() {
    use std::os::unix::fs::PermissionsExt as _;

    let dir = tempfile::tempdir().unwrap();
    let js_dir = dir.path().join("js");
    let js = js_dir.to_str().unwrap();
    let old = "an older secret of thirty-two bytes or more";
    let env = [
        ("SECURE_LINK_KEY", KEY),
        ("SECURE_LINK_KEY_ID", "2026"),
        ("SECURE_LINK_OLD_KEYS", &*format!("2025:{old}")),
    ];
    let args = [
        "nginx-config",
        "--native",
        "--alias",
        "/srv/files/",
        "--js-dir",
        js,
    ];
    let output = run(&args, &env);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains(tower_secure_link::nginx::SERVER_CONTEXT_MARKER));
    assert!(text.contains(&format!(
        "{}/secure_link_native.js",
        js_dir.canonicalize().unwrap().display()
    )));
    assert!(
        !text.contains(KEY) && !text.contains(old),
        "a secret in the output"
    );
    let conf = js_dir.join(tower_secure_link::nginx::CONF_FILE);
    let mode = std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the keys' file is readable by others");

    // Bad input: a short key, a relative alias, a fallback that is not http://HOST:PORT.
    let short = run(&args, &[("SECURE_LINK_KEY", "short")]);
    assert_eq!(short.status.code(), Some(2));
    assert!(
        stderr(&short).contains("secure-link:"),
        "{}",
        stderr(&short)
    );
    let relative = run(
        &[
            "nginx-config",
            "--native",
            "--alias",
            "files/",
            "--js-dir",
            js,
        ],
        &env,
    );
    assert_eq!(relative.status.code(), Some(2), "{}", stderr(&relative));
    let mut fallback = args.to_vec();
    fallback.extend(["--fallback", "ftp://example"]);
    let refused = run(&fallback, &env);
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("--fallback"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn serve_ignores_the_tracking_parameters_it_is_told_to() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/doc.txt"), "private document").unwrap();
    let root_arg = root.path().display().to_string();
    let link = sign(&["/private/doc.txt?page=2"]);
    let shared = format!("{link}&utm_source=mail&fbclid=x1");
    let ignoring = Serve::start(
        &[
            "--root",
            &root_arg,
            "--ignore-param",
            "utm_*",
            "--ignore-param",
            "fbclid",
        ],
        &[("SECURE_LINK_KEY", KEY)],
    );
    let plain = Serve::start(&["--root", &root_arg], &[("SECURE_LINK_KEY", KEY)]);
    #[rustfmt::skip]
    let cases = [
        ("the link as signed", &ignoring, link.clone(), 200),
        ("with tracking parameters", &ignoring, shared.clone(), 200),
        ("a tracking parameter first", &ignoring, link.replacen('?', "?utm_medium=chat&", 1), 200),
        ("a parameter not on the list", &ignoring, format!("{link}&ref=x"), 403),
        ("a signed parameter changed", &ignoring, shared.replace("page=2", "page=3"), 403),
        ("a server that ignores nothing", &plain, shared.clone(), 403),
    ];
    for (name, server, target, status) in cases {
        let response = get(&server.addr, &target);
        assert_eq!(response.status, status, "{name}: {target}");
        if status == 200 {
            assert_eq!(response.body_text(), "private document", "{name}");
        }
    }
}

#[test]
fn links_bound_to_networks_read_the_peer_and_trusted_proxies_only() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/doc.txt"), "private document").unwrap();
    let root_arg = root.path().display().to_string();
    let env = [("SECURE_LINK_KEY", KEY)];
    let direct = Serve::start(&["--root", &root_arg], &env);
    let proxied = Serve::start(&["--root", &root_arg, "--trusted-proxy", "127.0.0.1"], &env);
    let here = sign(&["--ip", "127.0.0.1", "/private/doc.txt"]);
    let both = sign(&["--ip", "198.51.100.0/24", "--ip", "::1", "/private/doc.txt"]);
    let away = sign(&["--ip", "198.51.100.0/24", "/private/doc.txt"]);
    let with_header = |server: &Serve, target: &str, forwarded_for: &str| {
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: {forwarded_for}\r\n\
             Connection: close\r\n\r\n"
        );
        support::raw_bytes(&server.addr, request.as_bytes()).status
    };
    #[rustfmt::skip]
    let cases = [
        ("from the bound address", get(&direct.addr, &here).status, 200),
        ("from elsewhere", get(&direct.addr, &away).status, 403),
        ("neither network", get(&direct.addr, &both).status, 403),
        ("a claimed address, no proxy trusted", with_header(&direct, &away, "198.51.100.7"), 403),
        ("a claimed address through a trusted proxy", with_header(&proxied, &away, "198.51.100.7"), 200),
        ("a spoofed hop left of the client", with_header(&proxied, &away, "198.51.100.7, 192.0.2.1"), 403),
        // A trusted peer that names no client: nobody to check, so refused.
        ("the proxy itself, when it forwards nothing", get(&proxied.addr, &here).status, 403),
    ];
    for (name, status, expect) in cases {
        assert_eq!(status, expect, "{name}");
    }
    let tampered = away.replace("198.51.100.0/24", "127.0.0.0/8");
    assert_eq!(
        get(&direct.addr, &tampered).status,
        403,
        "the networks are signed"
    );
}

#[test]
fn serve_sends_the_signed_download_name_and_type() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/a1.bin"), "report bytes").unwrap();
    let root_arg = root.path().display().to_string();
    let server = Serve::start(&["--root", &root_arg], &[("SECURE_LINK_KEY", KEY)]);
    let link = sign(&[
        "--download-as",
        "Q3 report é.pdf",
        "--content-type",
        "application/pdf",
        "/private/a1.bin",
    ]);
    let response = get(&server.addr, &link);
    assert_eq!(response.status, 200);
    assert_eq!(response.body_text(), "report bytes");
    assert_eq!(
        response.header("content-disposition"),
        Some("attachment; filename=\"Q3 report _.pdf\"; filename*=UTF-8''Q3%20report%20%C3%A9.pdf")
    );
    assert_eq!(response.header("content-type"), Some("application/pdf"));
    let inline = sign(&["--inline-as", "a.txt", "/private/a1.bin"]);
    assert_eq!(
        get(&server.addr, &inline).header("content-disposition"),
        Some("inline; filename=\"a.txt\"")
    );
}

#[test]
fn delegate_prints_a_child_that_mints_only_inside_its_folder() {
    let output = run(
        &[
            "delegate",
            "--prefix",
            "/private/tenant-7/",
            "--method",
            "GET",
            "--method",
            "put",
            "--ttl",
            "3600",
            "--key-id",
            "tenant-7",
        ],
        &[("SECURE_LINK_KEY", KEY)],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let child = lines[0].strip_prefix("SECURE_LINK_KEY=").unwrap();
    assert_eq!(lines[1], "SECURE_LINK_KEY_ID=tenant-7");
    assert!(!text.contains(KEY), "the root secret is never printed");
    let child_env = [
        ("SECURE_LINK_KEY", child),
        ("SECURE_LINK_KEY_ID", "tenant-7"),
    ];
    let minted = run(&["sign", "/private/tenant-7/a.txt"], &child_env);
    assert_eq!(minted.status.code(), Some(0), "{}", stderr(&minted));
    let link = stdout(&minted);
    #[rustfmt::skip]
    let refused = [
        ("another folder", vec!["sign", "/private/tenant-70/a.txt"], "folder"),
        ("a method not given", vec!["sign", "--method", "DELETE", "/private/tenant-7/a.txt"], "method"),
        ("past the deadline", vec!["sign", "--ttl", "7200", "/private/tenant-7/a.txt"], "deadline"),
        ("a folder link", vec!["sign", "--folder", "/private/tenant-7/"], "folder links"),
    ];
    for (name, args, limit) in refused {
        let output = run(&args, &child_env);
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(
            stderr(&output).contains(limit),
            "{name}: {}",
            stderr(&output)
        );
        assert!(
            !stderr(&output).contains(child),
            "{name}: the child secret was printed"
        );
    }
    let wrong_id = run(
        &["sign", "/private/tenant-7/a.txt"],
        &[
            ("SECURE_LINK_KEY", child),
            ("SECURE_LINK_KEY_ID", "tenant-8"),
        ],
    );
    assert_eq!(wrong_id.status.code(), Some(2));
    let nested = run(
        &["delegate", "--prefix", "/private/tenant-7/x/"],
        &child_env,
    );
    assert_eq!(nested.status.code(), Some(2), "a child cannot delegate");

    // A server holding only the root accepts the child's link, and nothing it forged.
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private/tenant-7")).unwrap();
    std::fs::create_dir_all(root.path().join("private/tenant-70")).unwrap();
    std::fs::write(root.path().join("private/tenant-7/a.txt"), "tenant seven").unwrap();
    std::fs::write(
        root.path().join("private/tenant-70/a.txt"),
        "tenant seventy",
    )
    .unwrap();
    let root_arg = root.path().display().to_string();
    let server = Serve::start(&["--root", &root_arg], &[("SECURE_LINK_KEY", KEY)]);
    let response = get(&server.addr, &link);
    assert_eq!(response.status, 200);
    assert_eq!(response.body_text(), "tenant seven");
    let moved = link.replace("/tenant-7/", "/tenant-70/");
    assert_eq!(get(&server.addr, &moved).status, 403);
    let verified = run(&["verify", &link], &[("SECURE_LINK_KEY", KEY)]);
    assert_eq!(verified.status.code(), Some(0), "{}", stderr(&verified));
}

#[cfg(feature = "ed25519")]
#[test]
fn an_ed25519_root_delegates_and_a_server_with_its_public_key_alone_verifies() {
    let keygen = run(&["keygen", "--ed25519", "--key-id", "ed-root"], &[]);
    let keys = stdout(&keygen);
    let value = |name: &str| {
        keys.lines()
            .find_map(|line| line.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let (private, public) = (value("SECURE_LINK_KEY"), value("SECURE_LINK_PUBLIC_KEYS"));
    let delegated = run(
        &[
            "delegate",
            "--format",
            "ed25519",
            "--prefix",
            "/private/t7/",
            "--key-id",
            "t7",
        ],
        &[
            ("SECURE_LINK_KEY", &private),
            ("SECURE_LINK_KEY_ID", "ed-root"),
        ],
    );
    assert_eq!(delegated.status.code(), Some(0), "{}", stderr(&delegated));
    let text = stdout(&delegated);
    let child = text
        .lines()
        .next()
        .unwrap()
        .strip_prefix("SECURE_LINK_KEY=")
        .unwrap()
        .to_owned();
    assert!(
        child.starts_with("tsl-delegated-ed25519-v1.ed-root."),
        "{child}"
    );
    let child_env = [
        ("SECURE_LINK_KEY", child.as_str()),
        ("SECURE_LINK_KEY_ID", "t7"),
    ];
    let link = run(
        &["sign", "--format", "ed25519", "/private/t7/a.txt"],
        &child_env,
    );
    assert_eq!(link.status.code(), Some(0), "{}", stderr(&link));
    let link = stdout(&link);
    let outside = run(
        &["sign", "--format", "ed25519", "/private/t8/a.txt"],
        &child_env,
    );
    assert_eq!(outside.status.code(), Some(2));
    assert!(stderr(&outside).contains("folder"), "{}", stderr(&outside));

    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private/t7")).unwrap();
    std::fs::write(root.path().join("private/t7/a.txt"), "t7 file").unwrap();
    let root_arg = root.path().display().to_string();
    let server = Serve::start(
        &["--root", &root_arg, "--format", "ed25519"],
        &[("SECURE_LINK_PUBLIC_KEYS", &public)],
    );
    let response = get(&server.addr, &link);
    assert_eq!(response.status, 200);
    assert_eq!(response.body_text(), "t7 file");
    assert_eq!(get(&server.addr, &link.replace("/t7/", "/t8/")).status, 403);
}
