//! Key rotation on a running server: a new signing key is put in place while requests flow,
//! links signed with the old key keep working until it is dropped, and handlers mint with the
//! new key at once. No restart, no new layer.

mod support;

use axum::routing::get;
use axum::{Extension, Router};
use tower_secure_link::{Key, Keyring, SecureLinkLayer, UrlSigner};

fn key(id: &str) -> Key {
    Key::new(id, format!("rotation test secret for key {id:<8}")).unwrap()
}

#[test]
fn a_running_server_rotates_keys_without_a_restart() {
    let layer = SecureLinkLayer::new(key("1"))
        .with_private_prefix("/private/")
        .unwrap();
    let handle = layer.keyring_handle().unwrap();
    let outside_signer = layer.signer();
    let app = Router::new()
        .route(
            "/mint",
            get(|Extension(signer): Extension<UrlSigner>| async move {
                signer.sign("/private/doc.txt").unwrap()
            }),
        )
        .route("/private/doc.txt", get(|| async { "the document" }))
        .layer(layer);
    let addr = support::serve_app(app);
    let status = |target: &str| support::get(&addr, target).status;
    let minted_by_handler = || support::get(&addr, "/mint").body_text();

    let old_link = minted_by_handler();
    assert!(old_link.contains("sl_kid=1&"));
    assert_eq!(status(&old_link), 200);

    // Step 1: sign with key 2, keep accepting key 1.
    handle.replace(Keyring::new(key("2")).with_verify_only(key("1")).unwrap());
    let new_link = minted_by_handler();
    assert!(new_link.contains("sl_kid=2&"), "{new_link}");
    assert!(outside_signer
        .sign("/private/doc.txt")
        .unwrap()
        .contains("sl_kid=2&"));
    assert_eq!(status(&old_link), 200, "old links still work");
    assert_eq!(status(&new_link), 200);

    // Step 2: drop key 1.
    handle.replace(key("2"));
    assert_eq!(
        status(&old_link),
        403,
        "links of a dropped key stop working"
    );
    assert_eq!(status(&new_link), 200);
    // Claiming the new key id does not revive an old signature.
    assert_eq!(status(&old_link.replace("sl_kid=1", "sl_kid=2")), 403);
}
