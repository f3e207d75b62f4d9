//! Signed download names and content types, over real TCP through axum and tower-http's
//! `ServeDir`: the raw response head carries exactly one `Content-Disposition` in the RFC 6266
//! form and the signed type; names that could break a header never get minted, and a changed
//! name breaks the link.

mod support;

use support::get;

use axum::Router;
use tower_http::services::ServeDir;
use tower_secure_link::{Key, SecureLinkLayer, SignErrorKind};

fn layer() -> SecureLinkLayer {
    SecureLinkLayer::new(Key::new("1", [3u8; 32]).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
        .with_opaque_prefix("/s/")
        .unwrap()
}

fn serve(layer: &SecureLinkLayer) -> (String, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/7f3a.bin"), "%PDF-1.7 report").unwrap();
    let files = Router::new().fallback_service(ServeDir::new(root.path()));
    let app = tower::Layer::layer(layer, files);
    (support::serve_app(app), root)
}

/// Every `name:` line of a raw response head, values as sent.
fn lines<'a>(head: &'a str, name: &str) -> Vec<&'a str> {
    head.split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .filter(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim())
        .collect()
}

#[test]
fn the_answer_downloads_under_the_signed_name() {
    let layer = layer();
    let (addr, _root) = serve(&layer);
    let signer = layer.signer();
    let mint = |name: &str, inline: bool| {
        let link = signer.link("/private/7f3a.bin");
        let link = if inline {
            link.inline_as(name)
        } else {
            link.download_as(name)
        };
        link.content_type("application/pdf").to_target().unwrap()
    };
    #[rustfmt::skip]
    let cases = [
        ("ASCII", mint("report.pdf", false), "attachment; filename=\"report.pdf\""),
        ("accents and spaces", mint("Q3 report é.pdf", false), "attachment; filename=\"Q3 report _.pdf\"; filename*=UTF-8''Q3%20report%20%C3%A9.pdf"),
        ("quotes and a semicolon", mint("a \"b\"; c.pdf", false), "attachment; filename=\"a _b_; c.pdf\"; filename*=UTF-8''a%20%22b%22%3B%20c.pdf"),
        ("a header-like name", mint("x.pdf; filename=evil.exe", false), "attachment; filename=\"x.pdf; filename=evil.exe\""),
        ("inline", mint("chart.pdf", true), "inline; filename=\"chart.pdf\""),
        // Browsers percent-decode a plain filename: `%2E` must not become the `.` of `.exe`.
        ("a percent escape", mint("photo%2Eexe", false), "attachment; filename=\"photo_2Eexe\"; filename*=UTF-8''photo%252Eexe"),
    ];
    for (name, link, disposition) in cases {
        let response = get(&addr, &link);
        assert_eq!(response.status, 200, "{name}");
        assert_eq!(response.body_text(), "%PDF-1.7 report", "{name}");
        assert_eq!(
            lines(&response.head, "content-disposition"),
            [disposition],
            "{name}"
        );
        assert_eq!(
            lines(&response.head, "content-type"),
            ["application/pdf"],
            "{name}"
        );
        assert!(response.head.is_ascii(), "{name}: the head is ASCII");
    }
    // Without an override the service's own type stands and no disposition is added.
    let plain = get(&addr, &signer.sign("/private/7f3a.bin").unwrap());
    assert_eq!(plain.status, 200);
    assert!(lines(&plain.head, "content-disposition").is_empty());
    assert_eq!(
        lines(&plain.head, "content-type"),
        ["application/octet-stream"]
    );
}

#[test]
fn the_name_and_type_are_signed_and_checked_when_read() {
    let layer = layer();
    let (addr, _root) = serve(&layer);
    let link = layer
        .signer()
        .link("/private/7f3a.bin")
        .download_as("report.pdf")
        .content_type("application/pdf")
        .to_target()
        .unwrap();
    let swap = |from: &str, to: &str| {
        assert!(link.contains(from), "{link}");
        link.replace(from, to)
    };
    use base64::Engine;
    let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    #[rustfmt::skip]
    let cases = [
        ("another name", swap(&b64("report.pdf"), &b64("evil.exe")), 403),
        ("inline instead", swap("sl_cd=attachment.", "sl_cd=inline."), 403),
        ("another type", swap(&b64("application/pdf"), &b64("text/html")), 403),
        ("the name taken out", swap(&format!("&sl_cd=attachment.{}", b64("report.pdf")), ""), 403),
        ("a name with CR LF", swap(&b64("report.pdf"), &b64("a\r\nSet-Cookie: x=1")), 403),
        ("a name that is no UTF-8", swap(&b64("report.pdf"), "_w"), 403),
    ];
    for (name, target, status) in cases {
        let response = get(&addr, &target);
        assert_eq!(response.status, status, "{name}: {target}");
        assert!(!response.body_text().contains("%PDF"), "{name}");
        assert!(
            !response.head.to_ascii_lowercase().contains("set-cookie"),
            "{name}"
        );
    }
}

#[test]
fn names_and_types_that_could_break_a_header_are_refused_at_minting() {
    let layer = layer();
    let signer = layer.signer();
    for name in [
        "a.pdf\r\nSet-Cookie: x=1",
        "a.pdf\nb",
        "a\0.pdf",
        "a\u{7f}.pdf",
        "../../etc/passwd",
        "..\\boot.ini",
        "..",
        "",
        "invoice\u{202e}fdp.exe",
    ] {
        let error = signer
            .link("/private/7f3a.bin")
            .download_as(name)
            .to_target()
            .unwrap_err();
        assert_eq!(error.kind(), SignErrorKind::InvalidFileName, "{name:?}");
    }
    for content_type in [
        "text/html\r\nX-Injected: 1",
        "text/html; charset=\"utf-8\"",
        "text",
        "text/html, application/pdf",
    ] {
        let error = signer
            .link("/private/7f3a.bin")
            .content_type(content_type)
            .to_target()
            .unwrap_err();
        assert_eq!(
            error.kind(),
            SignErrorKind::InvalidContentType,
            "{content_type:?}"
        );
    }
}

#[test]
fn one_time_and_opaque_links_keep_their_names() {
    let layer = layer();
    let (addr, _root) = serve(&layer);
    let signer = layer.signer();
    let opaque = signer
        .link("/private/7f3a.bin")
        .download_as("Übersicht.pdf")
        .opaque()
        .to_target()
        .unwrap();
    assert!(!opaque.contains("bersicht") && !opaque.contains("7f3a"));
    let response = get(&addr, &opaque);
    assert_eq!(response.status, 200);
    assert_eq!(
        lines(&response.head, "content-disposition"),
        ["attachment; filename=\"_bersicht.pdf\"; filename*=UTF-8''%C3%9Cbersicht.pdf"]
    );
    let once = signer
        .link("/private/7f3a.bin")
        .download_as("once.pdf")
        .one_time()
        .to_target()
        .unwrap();
    let first = get(&addr, &once);
    assert_eq!(first.status, 200);
    assert_eq!(
        lines(&first.head, "content-disposition"),
        ["attachment; filename=\"once.pdf\""]
    );
    assert_eq!(get(&addr, &once).status, 410);
}

#[test]
fn policies_on_a_public_path_are_refused_at_minting() {
    let layer = layer();
    let signer = layer.signer();
    let refused = [
        signer.link("/pub/a.bin").download_as("a.pdf").to_target(),
        signer
            .link("/pub/a.bin")
            .content_type("text/plain")
            .to_target(),
        signer
            .link("/pub/a.bin")
            .client_ip("203.0.113.0/24")
            .to_target(),
        signer.link("/pub/a.bin").uses(2).to_target(),
        signer.link("/pub/a.bin").confirm().to_target(),
    ];
    for (at, result) in refused.into_iter().enumerate() {
        assert_eq!(
            result.unwrap_err().kind(),
            SignErrorKind::NotPrivate,
            "policy {at}"
        );
    }
}
