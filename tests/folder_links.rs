//! Folder links: one link grants a whole folder (an HLS playlist and its segments), in a path
//! segment or in the query, and never anything outside the folder, however the path is spelled.

mod support;

use support::send;

use axum::Router;
use http::{Method, StatusCode};
use tower_secure_link::{Key, ManualClock, RejectionKind, SecureLinkLayer};

const NOW: u64 = 1_767_222_000;

fn layer() -> SecureLinkLayer {
    SecureLinkLayer::new(Key::new("1", [4u8; 32]).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
        .with_clock(ManualClock::new(NOW))
}

/// Echoes the path and query the inner service saw.
fn app(layer: SecureLinkLayer) -> Router {
    support::echo_app().layer(layer)
}

#[tokio::test]
async fn a_path_token_grants_the_folder_and_nothing_else() {
    let layer = layer();
    let base = layer
        .signer()
        .folder_link("/private/a/")
        .to_path_base()
        .unwrap();
    let token = base
        .strip_prefix("/private/a/")
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let app = app(layer);

    for (name, target, seen) in [
        (
            "playlist",
            format!("{base}index.m3u8"),
            "/private/a/index.m3u8",
        ),
        (
            "segment",
            format!("{base}seg-001.ts"),
            "/private/a/seg-001.ts",
        ),
        (
            "nested",
            format!("{base}720p/seg-001.ts"),
            "/private/a/720p/seg-001.ts",
        ),
        (
            "query kept",
            format!("{base}index.m3u8?t=3"),
            "/private/a/index.m3u8?t=3",
        ),
    ] {
        let (status, _, body) = send(&app, Method::GET, &target).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(
            body, seen,
            "{name}: the inner service sees the folder without the token"
        );
    }
    #[rustfmt::skip]
    let refused = [
        ("sibling folder", format!("/private/ab/{token}/x.ts")),
        ("parent folder", format!("/private/{token}/a/x.ts")),
        ("deeper folder", format!("/private/a/b/{token}/x.ts")),
        ("climb out after the token", format!("{base}../../b/x.ts")),
        ("encoded climb", format!("{base}%2e%2e/%2e%2e/b/x.ts")),
        ("climb over the token", format!("{base}x/../../../b/x.ts")),
        ("token moved after a climb", format!("/private/b/../a/../c/{token}/x.ts")),
        ("upper-cased token", format!("/private/a/{}/x.ts", token.to_uppercase())),
        ("truncated token", format!("/private/a/{}/x.ts", &token[..token.len() - 1])),
        ("signing parameters beside the token", format!("{base}x.ts?sl_kid=1")),
        ("a signing name in another case", format!("{base}x.ts?a=1&SL_exp=1")),
        ("a second token", format!("{base}b/{token}/x.ts")),
    ];
    for (name, target) in refused {
        let (status, _, body) = send(&app, Method::GET, &target).await;
        assert!(
            matches!(status.as_u16(), 400 | 403),
            "{name}: {target} -> {status} {body}"
        );
    }
    let (status, ..) = send(&app, Method::POST, &format!("{base}x.ts")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "GET and HEAD only");
    let (status, ..) = send(&app, Method::HEAD, &format!("{base}x.ts")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_query_token_grants_the_folder_and_nothing_else() {
    let layer = layer();
    let query = layer
        .signer()
        .folder_link("/private/my videos/")
        .to_query()
        .unwrap();
    let app = app(layer);
    let (status, _, body) = send(
        &app,
        Method::GET,
        &format!("/private/my%20videos/a.ts?{query}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body, "/private/my%20videos/a.ts",
        "signing parameters are removed"
    );
    let (status, ..) = send(
        &app,
        Method::GET,
        &format!("/private/my%20vid%65os/b.ts?{query}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "escapes are normalised first");
    let (status, got, _) = send(
        &app,
        Method::GET,
        &format!("/private/my%20videos/x/../b.ts?{query}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "dot segments are refused");
    assert_eq!(got, Some(RejectionKind::AmbiguousPath));
    #[rustfmt::skip]
    let refused = [
        ("sibling", format!("/private/my%20videos2/a.ts?{query}"), RejectionKind::OutsideScope),
        ("moved", format!("/private/other/a.ts?{query}"), RejectionKind::OutsideScope),
        ("prefix rewritten", format!("/private/a.ts?{}", query.replace("my%20videos", "")), RejectionKind::BadSignature),
    ];
    for (name, target, kind) in refused {
        let (status, got, _) = send(&app, Method::GET, &target).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}");
        assert_eq!(got, Some(kind), "{name}");
    }
}

#[test]
fn folders_must_end_with_a_slash() {
    let signer = layer().signer();
    assert!(signer.folder_link("/private/a").to_path_base().is_err());
    assert!(
        signer.folder_link("/../a/").to_query().is_err(),
        "climbs above the root"
    );
    let normalised = signer
        .folder_link("/private/x/../a/")
        .to_path_base()
        .unwrap();
    assert!(normalised.starts_with("/private/a/sl_t~"), "{normalised}");
}

#[tokio::test]
async fn one_link_plays_a_whole_hls_folder_from_serve_dir() {
    let root = tempfile::tempdir().unwrap();
    let video = root.path().join("private/videos/42");
    std::fs::create_dir_all(&video).unwrap();
    let mut playlist = String::from("#EXTM3U\n#EXT-X-TARGETDURATION:4\n");
    for n in 0..3 {
        std::fs::write(video.join(format!("seg-{n}.ts")), format!("segment {n}")).unwrap();
        playlist.push_str(&format!("#EXTINF:4.0,\nseg-{n}.ts\n"));
    }
    std::fs::write(video.join("index.m3u8"), &playlist).unwrap();
    std::fs::write(root.path().join("private/videos/other.ts"), "another video").unwrap();

    let layer = layer();
    let base = layer
        .signer()
        .folder_link("/private/videos/42/")
        .to_path_base()
        .unwrap();
    let app = Router::new()
        .fallback_service(tower_http::services::ServeDir::new(root.path()))
        .layer(layer);
    let (status, _, body) = send(&app, Method::GET, &format!("{base}index.m3u8")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, playlist);
    let segments: Vec<&str> = body.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(segments.len(), 3);
    for (n, segment) in segments.iter().enumerate() {
        // What a player does with a relative URL: resolve it against the playlist's folder.
        let (status, _, body) = send(&app, Method::GET, &format!("{base}{segment}")).await;
        assert_eq!(status, StatusCode::OK, "{segment}");
        assert_eq!(body, format!("segment {n}"));
    }
    let (status, _, body) = send(&app, Method::GET, &format!("{base}../other.ts")).await;
    assert_ne!(status, StatusCode::OK);
    assert_ne!(body, "another video");
}

#[test]
fn the_folder_link_vector_is_minted_and_accepted() {
    let file: serde_json::Value =
        serde_json::from_str(include_str!("vectors/native-v1.json")).unwrap();
    let vector = file["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["scope"] == "prefix")
        .unwrap();
    let layer = SecureLinkLayer::new(Key::new("1", vector["secret"].as_str().unwrap()).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
        .with_clock(ManualClock::new(vector["now"].as_u64().unwrap()));
    let folder = vector["path"].as_str().unwrap();
    let query = layer
        .signer()
        .folder_link(folder)
        .expires_at(vector["expires"].as_u64().unwrap())
        .to_query()
        .unwrap();
    let link = vector["link"].as_str().unwrap();
    assert_eq!(link.split_once('?').unwrap().1, query);
    assert!(layer.check(&Method::GET, &link.parse().unwrap()).is_ok());
}

/// A query folder link with extra signed fields, minted by hand from SPEC.md's message (the
/// signer never writes these): fields 1-9, then version and group.
fn hand_minted_folder_query(extra: &[(&str, &str)]) -> String {
    use base64::Engine;
    use hmac::Mac;
    let field = |name: &str| {
        extra
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| *v)
    };
    let expires = (NOW + 600).to_string();
    let fields = [
        "1",
        "GET",
        "prefix",
        "/private/v/",
        "",
        field("nbf"),
        &expires,
        "",
        "",
        field("ver"),
        field("grp"),
    ];
    let mut message = b"tsl-v1".to_vec();
    let trailing = if extra.iter().any(|(n, _)| *n == "ver" || *n == "grp") {
        11
    } else {
        9
    };
    for value in &fields[..trailing] {
        message.extend_from_slice(&(value.len() as u32).to_be_bytes());
        message.extend_from_slice(value.as_bytes());
    }
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&[4u8; 32]).unwrap();
    mac.update(&message);
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    let mut query = String::from("sl_kid=1");
    if !field("nbf").is_empty() {
        query += &format!("&sl_nbf={}", field("nbf"));
    }
    query += &format!("&sl_exp={expires}");
    for name in ["ver", "grp"] {
        if !field(name).is_empty() {
            query += &format!("&sl_{name}={}", field(name));
        }
    }
    format!("/private/v/a.ts?{query}&sl_prefix=/private/v/&sl_sig={sig}")
}

#[tokio::test]
async fn a_query_folder_link_carrying_a_group_or_version_is_refused_not_half_checked() {
    let app = app(layer());
    let (status, ..) = send(&app, Method::GET, &hand_minted_folder_query(&[])).await;
    assert_eq!(status, StatusCode::OK, "the hand-minted message is right");
    let later = (NOW + 60).to_string();
    // A group would go unrevoked and a version unchecked: a link the signer never makes is
    // refused rather than admitted with half its conditions.
    for extra in [("grp", "g1"), ("ver", "IjEi"), ("nbf", later.as_str())] {
        let (status, got, _) = send(&app, Method::GET, &hand_minted_folder_query(&[extra])).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{extra:?}");
        assert_eq!(got, Some(RejectionKind::MalformedToken), "{extra:?}");
    }
}
