//! The link-to-cookie exchange for folders: a folder link minted with a cookie session, once
//! used, sets a cookie scoped to the folder that admits GET and HEAD requests under it, and
//! nothing else. Driven through the layer with the cookie replayed every way it could be, and
//! through the `serve` process with curl keeping a real cookie jar.

mod support;

use std::convert::Infallible;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use http::header::{COOKIE, HOST, SET_COOKIE};
use http::{Request, Response, StatusCode};
use tower::{service_fn, Layer, ServiceExt};
use tower_secure_link::{Key, Keyring, ManualClock, SecureLinkLayer};

const NOW: u64 = 1_767_222_000;
const SESSION: u64 = 4 * 3600;

fn layer(keyring: impl Into<Keyring>, clock: &ManualClock) -> SecureLinkLayer {
    SecureLinkLayer::new(keyring)
        .with_private_prefix("/private/")
        .unwrap()
        .with_private_prefix("/other/")
        .unwrap()
        .with_clock(clock.clone())
}

fn key() -> Key {
    Key::new("k1", [4u8; 32]).unwrap()
}

/// Answers with the path and the cookies it saw, so a test can tell what reached it.
async fn call(
    layer: &SecureLinkLayer,
    target: &str,
    host: &str,
    cookie: Option<&str>,
) -> (StatusCode, Option<String>, String) {
    let service = layer.layer(service_fn(|request: Request<String>| async move {
        let cookies = request
            .headers()
            .get_all(COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("|");
        Ok::<_, Infallible>(Response::new(format!(
            "{} cookies=[{cookies}]",
            request.uri()
        )))
    }));
    let mut request = Request::get(target).header(HOST, host);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = service
        .oneshot(request.body(String::new()).unwrap())
        .await
        .unwrap();
    let set_cookie = response
        .headers()
        .get(SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status(), set_cookie, response.into_body())
}

/// The `name=value` part of a `Set-Cookie`, and its attributes.
fn split_cookie(set_cookie: &str) -> (String, Vec<String>) {
    let mut parts = set_cookie.split("; ");
    let pair = parts.next().unwrap().to_owned();
    (pair, parts.map(str::to_owned).collect())
}

#[tokio::test]
async fn a_used_folder_link_sets_a_cookie_scoped_to_its_folder() {
    let clock = ManualClock::new(NOW);
    let layer = layer(key(), &clock);
    let base = layer
        .signer()
        .folder_link("/private/videos/42/")
        .expires_in(Duration::from_secs(60))
        .cookie_session(Duration::from_secs(SESSION))
        .to_path_base()
        .unwrap();
    let (status, set_cookie, body) = call(
        &layer,
        &format!("{base}playlist.m3u8"),
        "media.example",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.starts_with("/private/videos/42/playlist.m3u8 "),
        "{body}"
    );
    let (pair, attributes) = split_cookie(&set_cookie.unwrap());
    assert!(pair.starts_with("sl_session=k1~"), "{pair}");
    for attribute in [
        "Path=/private/videos/42/",
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
        &format!("Max-Age={SESSION}"),
    ] {
        assert!(
            attributes.iter().any(|a| a == attribute),
            "{attribute} in {attributes:?}"
        );
    }
    // The cookie never holds the link: neither its signature nor anything that verifies as one.
    let link_signature = base.trim_end_matches('/').rsplit('~').next().unwrap();
    assert!(!pair.contains(link_signature));

    // On loopback, no Secure flag (plain HTTP in development).
    for host in ["127.0.0.1:3000", "localhost", "[::1]:8080"] {
        let (_, set_cookie, _) = call(&layer, &format!("{base}a.ts"), host, None).await;
        assert!(!set_cookie.unwrap().contains("Secure"), "{host}");
    }
    // A folder link without a session sets nothing.
    let plain = layer
        .signer()
        .folder_link("/private/videos/42/")
        .to_path_base()
        .unwrap();
    let (status, set_cookie, _) = call(&layer, &format!("{plain}a.ts"), "h", None).await;
    assert_eq!((status, set_cookie), (StatusCode::OK, None));
}

#[tokio::test]
async fn the_cookie_admits_its_folder_only_and_never_reaches_the_inner_service() {
    let clock = ManualClock::new(NOW);
    let layer = layer(key(), &clock);
    let signer = layer.signer();
    let base = signer
        .folder_link("/private/videos/42/")
        .expires_in(Duration::from_secs(60))
        .cookie_session(Duration::from_secs(SESSION))
        .to_path_base()
        .unwrap();
    let (_, set_cookie, _) = call(&layer, &format!("{base}a.ts"), "h", None).await;
    let (cookie, _) = split_cookie(&set_cookie.unwrap());
    let value = cookie.strip_prefix("sl_session=").unwrap().to_owned();
    let with = |cookie: &str| format!("theme=dark; {cookie}; lang=en");

    // Inside the folder: admitted, and the inner service sees the other cookies only.
    let (status, _, body) = call(
        &layer,
        "/private/videos/42/seg-9.ts",
        "h",
        Some(&with(&cookie)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.ends_with("cookies=[theme=dark; lang=en]"), "{body}");
    let (status, _, _) = call(&layer, "/private/videos/42/hd/seg-1.ts", "h", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "a subfolder");

    struct Case {
        name: &'static str,
        target: String,
        cookie: String,
    }
    let case = |name, target: &str, cookie: &str| Case {
        name,
        target: target.to_owned(),
        cookie: cookie.to_owned(),
    };
    let forged_folder = value.replace("%2Fvideos%2F42%2F", "%2Fvideos%2F");
    let forged_folder = forged_folder.replace("/videos/42/", "/videos/");
    let longer_expiry = {
        let mut parts: Vec<&str> = value.split('~').collect();
        let later = (parts[1].parse::<u64>().unwrap() + 3600).to_string();
        parts[1] = &later;
        parts.join("~")
    };
    let cases = [
        case("a sibling folder", "/private/videos/43/seg-1.ts", &cookie),
        case(
            "a sibling sharing the prefix",
            "/private/videos/42x/seg-1.ts",
            &cookie,
        ),
        case("the parent folder", "/private/videos/seg-1.ts", &cookie),
        case(
            "another private prefix",
            "/other/videos/42/seg-1.ts",
            &cookie,
        ),
        case(
            "climbing out with ..",
            "/private/videos/42/../43/seg-1.ts",
            &cookie,
        ),
        case(
            "climbing out escaped",
            "/private/videos/42/%2e%2e/43/seg-1.ts",
            &cookie,
        ),
        case(
            "the folder widened in the value",
            "/private/videos/43/a.ts",
            &format!("sl_session={forged_folder}"),
        ),
        case(
            "the expiry moved in the value",
            "/private/videos/42/a.ts",
            &format!("sl_session={longer_expiry}"),
        ),
        case(
            "the cookie's value as a path token",
            &format!("/private/videos/42/sl_t~{value}/a.ts"),
            "",
        ),
        case(
            "the cookie's value under another cookie name",
            "/private/videos/42/a.ts",
            &format!("sl_other={value}"),
        ),
    ];
    for case in cases {
        let cookie = (!case.cookie.is_empty()).then_some(case.cookie.as_str());
        let (status, _, body) = call(&layer, &case.target, "h", cookie).await;
        assert_ne!(status, StatusCode::OK, "{}: {body}", case.name);
    }
    // Another host that trusts the same key (the cookie was set for host "h").
    for host in ["other.example", "h.evil", "", "H:80"] {
        let (status, _, _) = call(&layer, "/private/videos/42/a.ts", host, Some(&cookie)).await;
        assert_ne!(status, StatusCode::OK, "host {host:?}");
    }
    let (status, _, _) = call(&layer, "/private/videos/42/a.ts", "H", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "host names are case-blind");

    // Only GET and HEAD.
    let service = layer.layer(service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    for (method, expect) in [("HEAD", 200), ("PUT", 403), ("POST", 403), ("DELETE", 403)] {
        let request = Request::builder()
            .method(method)
            .uri("/private/videos/42/a.ts")
            .header(HOST, "h")
            .header(COOKIE, &cookie)
            .body(String::new())
            .unwrap();
        let status = service.clone().oneshot(request).await.unwrap().status();
        assert_eq!(status.as_u16(), expect, "{method}");
    }

    // After the link expired, the cookie (and the link's path with it) still plays...
    clock.advance(3600);
    let (status, _, _) = call(&layer, "/private/videos/42/seg-10.ts", "h", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "inside the session");
    let (status, _, _) = call(&layer, &format!("{base}seg-11.ts"), "h", Some(&cookie)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the expired link's relative URL inside the session"
    );
    let (status, _, _) = call(&layer, &format!("{base}seg-11.ts"), "h", None).await;
    assert_eq!(status, StatusCode::GONE, "the expired link alone");
    // ...until the session ends.
    clock.advance(SESSION);
    let (status, _, _) = call(&layer, "/private/videos/42/seg-12.ts", "h", Some(&cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "after the session");
}

#[tokio::test]
async fn the_session_is_capped_and_bound_to_the_key() {
    let clock = ManualClock::new(NOW);
    let layer = layer(key(), &clock)
        .with_max_lifetime(Duration::from_secs(7200))
        .unwrap();
    let base = layer
        .signer()
        .folder_link("/private/v/")
        .expires_in(Duration::from_secs(60))
        .cookie_session(Duration::from_secs(30 * 24 * 3600))
        .to_path_base()
        .unwrap();
    let (_, set_cookie, _) = call(&layer, &format!("{base}a"), "h", None).await;
    let set_cookie = set_cookie.unwrap();
    assert!(set_cookie.contains("Max-Age=7200;"), "{set_cookie}");
    let (cookie, _) = split_cookie(&set_cookie);
    clock.advance(7200 + 600); // past the leeway too
    let (status, _, _) = call(&layer, "/private/v/a", "h", Some(&cookie)).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "capped at the maximum lifetime"
    );

    // A keyring without the cookie's key refuses it, as it would a link.
    let clock = ManualClock::new(NOW);
    let (_, set_cookie, _) = call(&layer_at(&clock, key()), &format!("{base}a"), "h", None).await;
    let (cookie, _) = split_cookie(&set_cookie.unwrap());
    let rotated = layer_at(&clock, Key::new("k2", [5u8; 32]).unwrap());
    let (status, _, _) = call(&rotated, "/private/v/a", "h", Some(&cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Another key that claims the same id.
    let impostor = layer_at(&clock, Key::new("k1", [6u8; 32]).unwrap());
    let (status, _, _) = call(&impostor, "/private/v/a", "h", Some(&cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

fn layer_at(clock: &ManualClock, key: Key) -> SecureLinkLayer {
    layer(key, clock)
}

#[cfg(feature = "ed25519")]
#[tokio::test]
async fn a_public_key_verifier_exchanges_ed25519_folder_links_too() {
    let clock = ManualClock::new(NOW);
    let private = Key::ed25519("ed1", [8u8; 32]).unwrap();
    let base = layer(private.clone(), &clock)
        .signer()
        .folder_link("/private/v/")
        .cookie_session(Duration::from_secs(SESSION))
        .to_path_base()
        .unwrap();
    let verifier = layer(private.to_public().unwrap(), &clock);
    let (status, set_cookie, _) = call(&verifier, &format!("{base}a.ts"), "h", None).await;
    assert_eq!(status, StatusCode::OK);
    let (cookie, _) = split_cookie(&set_cookie.unwrap());
    let (status, _, _) = call(&verifier, "/private/v/b.ts", "h", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    // Signed by the verifier's own random key: another verifier does not take it...
    let other = layer(private.to_public().unwrap(), &clock);
    let (status, _, _) = call(&other, "/private/v/b.ts", "h", Some(&cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // ...unless the fleet shares a session cookie key.
    let shared = Key::new("fleet-cookies", [9u8; 32]).unwrap();
    let fleet = || {
        layer(private.to_public().unwrap(), &clock)
            .with_session_cookie_key(shared.clone())
            .unwrap()
    };
    let (_, set_cookie, _) = call(&fleet(), &format!("{base}a.ts"), "h", None).await;
    let (cookie, _) = split_cookie(&set_cookie.unwrap());
    assert!(cookie.starts_with("sl_session=fleet-cookies~"), "{cookie}");
    let (status, _, _) = call(&fleet(), "/private/v/b.ts", "h", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(layer(private.to_public().unwrap(), &clock)
        .with_session_cookie_key(private.to_public().unwrap())
        .is_err());
}

fn curl() -> Option<PathBuf> {
    support::installed(&["/usr/bin/curl", "/usr/local/bin/curl"], "curl")
}

#[test]
fn curl_with_a_cookie_jar_plays_the_folder_through_serve() {
    let Some(curl) = curl() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("private/videos/42");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::create_dir_all(root.path().join("private/videos/43")).unwrap();
    for name in ["playlist.m3u8", "seg-1.ts", "seg-2.ts"] {
        std::fs::write(folder.join(name), format!("content of {name}")).unwrap();
    }
    std::fs::write(
        root.path().join("private/videos/43/seg-1.ts"),
        "other video",
    )
    .unwrap();
    let secret = ("SECURE_LINK_KEY", "a secret for the cookie exchange test!!");
    let server = support::Serve::start(&["--root", root.path().to_str().unwrap()], &[secret]);
    let base = support::cli_sign(
        &["--folder", "--cookie-session", "600", "/private/videos/42/"],
        &[secret],
    );
    let jar = root.path().join("jar.txt");
    let fetch = |path: &str| {
        let out = Command::new(&curl)
            .args([
                "-s",
                "-c",
                jar.to_str().unwrap(),
                "-b",
                jar.to_str().unwrap(),
            ])
            .args(["-w", "\n%{http_code}"])
            .arg(format!("http://{}{path}", server.addr))
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let (body, status) = text.rsplit_once('\n').unwrap();
        (status.to_owned(), body.to_owned())
    };
    // Without the link first: refused, and no cookie in the jar yet.
    assert_eq!(fetch("/private/videos/42/seg-1.ts").0, "403");
    assert_eq!(
        fetch(&format!("{base}playlist.m3u8")),
        ("200".to_owned(), "content of playlist.m3u8".to_owned())
    );
    // Now segments by absolute path, as a player that drops the token would fetch them.
    assert_eq!(fetch("/private/videos/42/seg-1.ts").0, "200");
    assert_eq!(
        fetch("/private/videos/42/seg-2.ts").1,
        "content of seg-2.ts"
    );
    // The jar's cookie is scoped: curl does not send it elsewhere, and the server refuses it
    // there anyway (sent by hand).
    assert_eq!(fetch("/private/videos/43/seg-1.ts").0, "403");
    let jar_text = std::fs::read_to_string(&jar).unwrap();
    let value = jar_text
        .lines()
        .find_map(|line| {
            line.split('\t')
                .nth(6)
                .filter(|_| line.contains("sl_session"))
        })
        .unwrap_or_else(|| panic!("no session cookie in the jar: {jar_text}"))
        .to_owned();
    assert!(jar_text.contains("#HttpOnly_"), "HttpOnly: {jar_text}");
    assert!(
        jar_text.contains("/private/videos/42/"),
        "scoped: {jar_text}"
    );
    let by_hand = Command::new(&curl)
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(["-H", &format!("Cookie: sl_session={value}")])
        .arg(format!("http://{}/private/videos/43/seg-1.ts", server.addr))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(by_hand.stdout).unwrap(), "403");
}
