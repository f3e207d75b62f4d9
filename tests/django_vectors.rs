//! Links from the Python package django-nginx-secure-links (vectors in
//! `tests/vectors/django-nginx-secure-links.json`, with the status a real nginx gave each): the
//! nginx scheme answers every link as nginx did, and the opt-in compatibility switch also admits
//! the package's own tokens, which it hashed over the percent-encoded path.
#![cfg(feature = "nginx")]

use axum::body::Body;
use axum::routing::any;
use axum::Router;
use http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;
use tower_secure_link::nginx::NginxScheme;
use tower_secure_link::{ManualClock, SecureLinkLayer};

fn vectors() -> Value {
    serde_json::from_str(include_str!("vectors/django-nginx-secure-links.json")).unwrap()
}

/// The layer as the package's settings describe it: everything under `/media/` is private
/// unless listed public, or only the listed prefixes are private.
/// When nginx answered these links: the vectors were minted with the package's clock fixed in
/// 2020 (`now`), and checked against nginx years later, so short-lived links had expired.
const CHECKED_AT: u64 = 1_795_000_000;

fn layer(config: &Value, compat: bool) -> SecureLinkLayer {
    let mut scheme = NginxScheme::new(config["nginx_secret_key"].as_str().unwrap())
        .with_param_names(
            config["token_field_name"].as_str().unwrap(),
            config["expires_field_name"].as_str().unwrap(),
        )
        .unwrap();
    if compat {
        scheme = scheme.accept_percent_encoded_path_hashes();
    }
    let mut layer = SecureLinkLayer::nginx(scheme)
        .unwrap()
        .with_clock(ManualClock::new(CHECKED_AT));
    let listed = |key: &str| -> Vec<String> {
        config[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("/media/{}", p.as_str().unwrap().trim_end_matches('/')))
            .collect()
    };
    let private = listed("private_prefixes");
    if private.is_empty() {
        layer = layer.with_private_prefix("/media/").unwrap();
    }
    for prefix in private {
        layer = layer.with_private_prefix(prefix).unwrap();
    }
    for prefix in listed("public_prefixes") {
        layer = layer.with_public_exception(prefix).unwrap();
    }
    layer
}

async fn status(layer: SecureLinkLayer, target: &str) -> u16 {
    let app = Router::new()
        .fallback(any(|| async { "file" }))
        .layer(layer);
    let request = Request::get(target).body(Body::empty()).unwrap();
    app.oneshot(request).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn every_link_gets_the_status_nginx_gave_it() {
    let file = vectors();
    let vectors = file["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 15);
    let mut with_nginx_token = 0;
    for v in vectors {
        let id = v["id"].as_str().unwrap();
        let config = &file["configs"][v["config"].as_str().unwrap()];
        let target = v["request_target"].as_str().unwrap();
        let nginx_status = v["nginx_status_package_url"].as_u64().unwrap() as u16;
        assert_eq!(
            status(layer(config, false), target).await,
            nginx_status,
            "{id}: {target}"
        );

        // The same link with the token nginx computes over the decoded path.
        if let (Some(package), Some(nginx)) = (v["token"].as_str(), v["nginx_token"].as_str()) {
            if package != nginx {
                with_nginx_token += 1;
                let fixed = target.replace(package, nginx);
                let want = v["nginx_status_with_nginx_token"].as_u64().unwrap() as u16;
                assert_eq!(
                    status(layer(config, false), &fixed).await,
                    want,
                    "{id}: {fixed}"
                );
            }
        }
    }
    assert!(with_nginx_token >= 3, "the vectors cover escaped paths");
}

#[tokio::test]
async fn the_compatibility_switch_admits_the_packages_own_tokens() {
    let file = vectors();
    let mut admitted = 0;
    for v in file["vectors"].as_array().unwrap() {
        let (Some(package), Some(nginx)) = (v["token"].as_str(), v["nginx_token"].as_str()) else {
            continue;
        };
        let id = v["id"].as_str().unwrap();
        let config = &file["configs"][v["config"].as_str().unwrap()];
        let target = v["request_target"].as_str().unwrap();
        let got = status(layer(config, true), target).await;
        if package != nginx {
            // Refused by nginx and by default; admitted with the switch.
            assert_eq!(got, StatusCode::OK.as_u16(), "{id}");
            admitted += 1;
        } else {
            let nginx_status = v["nginx_status_package_url"].as_u64().unwrap() as u16;
            assert_eq!(got, nginx_status, "{id}: the switch changes nothing else");
        }
    }
    assert!(admitted >= 3);
}
