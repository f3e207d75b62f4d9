//! An attack corpus from published incidents, sent to a real `secure-link serve` process over
//! TCP, byte for byte: no request without a valid link gets the private bytes. The README's
//! "Attack classes" table says what the layer does with each class.

mod support;

use support::{raw_bytes, RawResponse, Serve};

const KEY: &str = "attack corpus secret, thirty-two bytes";
const OLD_KEY: &str = "a retired secret, also thirty-two bytes";
const MARKER: &str = "PRIVATE-MARKER-0b9e";

fn sign(args: &[&str], env: &[(&str, &str)]) -> String {
    support::cli_sign(args, &[&[("SECURE_LINK_KEY", KEY)], env].concat())
}

fn leaked(response: &RawResponse) -> bool {
    String::from_utf8_lossy(&response.body).contains(MARKER)
}

/// A request with the given method, target and extra header lines.
fn request(method: &str, target: &str, version: &str, headers: &str) -> Vec<u8> {
    format!("{method} {target} {version}\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n")
        .into_bytes()
}

fn get(target: &str) -> Vec<u8> {
    request("GET", target, "HTTP/1.1", "")
}

#[test]
fn no_attack_gets_the_private_bytes() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/secret.txt"), MARKER).unwrap();
    std::fs::write(root.path().join("index.html"), "public page").unwrap();
    let root_arg = root.path().display().to_string();
    let server = Serve::start(&["--root", &root_arg], &[("SECURE_LINK_KEY", KEY)]);

    // A link whose signature holds a `-` or `_`, so that rewriting it in the standard base64
    // alphabet really changes it (about one signature in four holds neither).
    let valid = (0..40)
        .map(|i| {
            sign(
                &["--ttl", &(3600 + i).to_string(), "/private/secret.txt"],
                &[],
            )
        })
        .find(|link| {
            link.rsplit("sl_sig=")
                .next()
                .is_some_and(|sig| sig.contains(['-', '_']))
        })
        .expect("a signature with - or _");
    let (path, query) = valid.split_once('?').unwrap();
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let (exp, sig) = (param("sl_exp"), param("sl_sig"));
    let with = |query: &str| format!("{path}?{query}");
    let retired = sign(
        &["/private/secret.txt"],
        &[("SECURE_LINK_KEY", OLD_KEY), ("SECURE_LINK_KEY_ID", "old")],
    );
    let standard_alphabet = sig.replace('-', "+").replace('_', "/");
    let other_sig = {
        let mut chars: Vec<char> = sig.chars().collect();
        chars[5] = if chars[5] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect::<String>()
    };

    // Controls: the valid link works (so a missing marker below means a refusal, not a
    // broken server), and so does the public page.
    for control in [
        get(&valid),
        request("GET", &valid, "HTTP/1.0", ""),
        request("HEAD", &valid, "HTTP/1.1", ""),
    ] {
        let response = raw_bytes(&server.addr, &control);
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&control)
        );
    }
    assert!(leaked(&raw_bytes(&server.addr, &get(&valid))));

    let long = "a".repeat(70 * 1024);
    #[rustfmt::skip]
    let attacks: Vec<(&str, &str, Vec<u8>)> = vec![
        // Parameter pollution.
        ("pollution", "second signature, forged first", get(&with(&format!("sl_kid=1&sl_exp={exp}&sl_sig={other_sig}&sl_sig={sig}")))),
        ("pollution", "second signature, forged last", get(&with(&format!("{query}&sl_sig={other_sig}")))),
        ("pollution", "duplicate expiry", get(&with(&format!("{query}&sl_exp=9999999999")))),
        ("pollution", "array form", get(&with(&format!("sl_kid=1&sl_exp[]={exp}&sl_sig={sig}")))),
        ("pollution", "upper-case name", get(&with(&format!("sl_kid=1&SL_EXP={exp}&sl_sig={sig}")))),
        ("pollution", "mixed-case name", get(&with(&format!("sl_kid=1&sl_Exp={exp}&sl_sig={sig}")))),
        ("pollution", "escaped name", get(&with(&format!("sl_kid=1&sl%5Fexp={exp}&sl_sig={sig}")))),
        ("pollution", "unknown reserved name", get(&with(&format!("{query}&sl_admin=1")))),
        ("pollution", "semicolon separator", get(&with(&format!("sl_kid=1;sl_exp={exp}&sl_sig={sig}")))),
        ("pollution", "added application parameter", get(&with(&format!("download=1&{query}")))),
        // Expiry type confusion.
        ("expiry", "plus sign", get(&with(&format!("sl_kid=1&sl_exp=+{exp}&sl_sig={sig}")))),
        ("expiry", "leading zero", get(&with(&format!("sl_kid=1&sl_exp=0{exp}&sl_sig={sig}")))),
        ("expiry", "hex", get(&with(&format!("sl_kid=1&sl_exp=0x7fffffff&sl_sig={sig}")))),
        ("expiry", "exponent", get(&with(&format!("sl_kid=1&sl_exp=1e10&sl_sig={sig}")))),
        ("expiry", "negative", get(&with(&format!("sl_kid=1&sl_exp=-1&sl_sig={sig}")))),
        ("expiry", "overflow", get(&with(&format!("sl_kid=1&sl_exp=99999999999999999999999&sl_sig={sig}")))),
        ("expiry", "milliseconds", get(&with(&format!("sl_kid=1&sl_exp={exp}000&sl_sig={sig}")))),
        ("expiry", "escaped space", get(&with(&format!("sl_kid=1&sl_exp={exp}%20&sl_sig={sig}")))),
        ("expiry", "later expiry", get(&with(&format!("sl_kid=1&sl_exp={}&sl_sig={sig}", exp.parse::<u64>().unwrap() + 60)))),
        // Signature encodings.
        ("signature", "standard alphabet", get(&with(&format!("sl_kid=1&sl_exp={exp}&sl_sig={standard_alphabet}")))),
        ("signature", "padded", get(&with(&format!("{query}=")))),
        ("signature", "escaped padding", get(&with(&format!("{query}%3D")))),
        ("signature", "truncated", get(&with(&format!("sl_kid=1&sl_exp={exp}&sl_sig={}", &sig[..42])))),
        ("signature", "empty", get(&with(&format!("sl_kid=1&sl_exp={exp}&sl_sig=")))),
        ("signature", "very long", get(&with(&format!("sl_kid=1&sl_exp={exp}&sl_sig={}", "A".repeat(10_000))))),
        ("signature", "upper-cased", get(&with(&format!("sl_kid=1&sl_exp={exp}&sl_sig={}", sig.to_uppercase())))),
        ("signature", "percent-encoded characters", get(&with(&format!("sl_kid=1&sl_exp={exp}&sl_sig=%{:02X}{}", sig.as_bytes()[0], &sig[1..])))),
        // Key id confusion.
        ("key id", "unknown", get(&with(&format!("sl_kid=9&sl_exp={exp}&sl_sig={sig}")))),
        ("key id", "empty", get(&with(&format!("sl_kid=&sl_exp={exp}&sl_sig={sig}")))),
        ("key id", "traversal", get(&with(&format!("sl_kid=../1&sl_exp={exp}&sl_sig={sig}")))),
        ("key id", "removed key", get(&retired)),
        ("key id", "removed key relabelled", get(&retired.replace("sl_kid=old", "sl_kid=1"))),
        // Method confusion.
        ("method", "POST", request("POST", &valid, "HTTP/1.1", "Content-Length: 0\r\n")),
        ("method", "PUT", request("PUT", &valid, "HTTP/1.1", "Content-Length: 0\r\n")),
        ("method", "DELETE", request("DELETE", &valid, "HTTP/1.1", "")),
        ("method", "PATCH", request("PATCH", &valid, "HTTP/1.1", "Content-Length: 0\r\n")),
        ("method", "OPTIONS", request("OPTIONS", &valid, "HTTP/1.1", "")),
        ("method", "TRACE", request("TRACE", &valid, "HTTP/1.1", "")),
        ("method", "lower-case get", request("get", &valid, "HTTP/1.1", "")),
        ("method", "made-up method", request("FETCH", &valid, "HTTP/1.1", "")),
        ("method", "method override header", request("GET", path, "HTTP/1.1", "X-HTTP-Method-Override: HEAD\r\n")),
        // Absolute-form targets and Host tricks.
        ("absolute form", "no link", get("http://localhost/private/secret.txt")),
        ("absolute form", "another host", get("http://evil.example/private/secret.txt")),
        ("absolute form", "authority with credentials", get("http://user:pass@localhost/private/secret.txt")),
        ("absolute form", "scheme-relative", get("//localhost/private/secret.txt")),
        ("absolute form", "Host header with a path", request("GET", "/private/secret.txt", "HTTP/1.1", "Host: localhost/private/public\r\n")),
        ("absolute form", "absolute form, forged signature", get(&format!("http://localhost{}", with(&format!("sl_kid=1&sl_exp={exp}&sl_sig={other_sig}"))))),
        // HTTP/1.0.
        ("HTTP/1.0", "no link", request("GET", "/private/secret.txt", "HTTP/1.0", "")),
        ("HTTP/1.0", "no Host header", b"GET /private/secret.txt HTTP/1.0\r\n\r\n".to_vec()),
        ("HTTP/1.0", "HTTP/0.9 style", b"GET /private/secret.txt\r\n\r\n".to_vec()),
        // Oversized inputs.
        ("size", "path over 64 KiB", get(&format!("/private/{long}/../secret.txt"))),
        ("size", "query over 64 KiB", get(&with(&format!("pad={long}&{query}")))),
        ("size", "header over 64 KiB", request("GET", "/private/secret.txt", "HTTP/1.1", &format!("X-Pad: {long}\r\n"))),
        // Headers some proxies use to rewrite the path.
        ("rewrite headers", "X-Original-URL", request("GET", "/index.html", "HTTP/1.1", "X-Original-URL: /private/secret.txt\r\n")),
        ("rewrite headers", "X-Rewrite-URL", request("GET", "/index.html", "HTTP/1.1", "X-Rewrite-URL: /private/secret.txt\r\n")),
        ("rewrite headers", "X-Forwarded-Prefix", request("GET", "/secret.txt", "HTTP/1.1", "X-Forwarded-Prefix: /private\r\n")),
        ("rewrite headers", "X-Forwarded-Path", request("GET", "/index.html", "HTTP/1.1", "X-Forwarded-Path: /private/secret.txt\r\n")),
    ];
    assert!(attacks.len() >= 50);
    for (class, name, bytes) in &attacks {
        let response = raw_bytes(&server.addr, bytes);
        if std::env::var_os("ATTACK_CORPUS_REPORT").is_some() {
            println!("{class:<16} {name:<45} {}", response.status);
        }
        assert!(
            !leaked(&response),
            "{class} / {name}: the private bytes leaked ({})",
            response.status
        );
        assert_ne!(
            response.status, 0,
            "{class} / {name}: no answer; the server may have died"
        );
    }
    // The server survived all of it.
    assert_eq!(raw_bytes(&server.addr, &get(&valid)).status, 200);
}
