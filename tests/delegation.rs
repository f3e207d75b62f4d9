//! Delegated minting: a child key mints only inside its folder, methods and deadline; a layer
//! holding only the root verifies its links and refuses anything outside the delegation, even
//! a link the child key signed correctly. The vectors come from an independent Python
//! implementation (tests/vectors/delegation_v1.py); the attacks are minted by hand with the
//! child's secret, so they test the verifier rather than the signer.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::Mac as _;
use http::Method;
use tower_secure_link::{
    Delegation, Key, KeyError, ManualClock, RejectionKind, SecureLinkLayer, SignErrorKind,
};

const ROOT: [u8; 32] = [11u8; 32];
const NOW: u64 = 1_767_222_000;
const UNTIL: u64 = NOW + 3600;

fn vectors() -> Vec<serde_json::Value> {
    let text = include_str!("vectors/delegation-v1.json");
    let parsed: serde_json::Value = serde_json::from_str(text).unwrap();
    parsed["vectors"].as_array().unwrap().clone()
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).unwrap())
        .collect()
}

fn layer(key: Key, now: u64) -> SecureLinkLayer {
    SecureLinkLayer::new(key)
        .with_private_prefix("/")
        .unwrap()
        .with_clock(ManualClock::new(now))
}

fn check(layer: &SecureLinkLayer, method: Method, target: &str) -> Result<(), RejectionKind> {
    let access = layer
        .check(&method, &target.parse().unwrap())
        .map_err(|r| r.kind())?;
    assert_eq!(
        access,
        tower_secure_link::Access::Signed,
        "{target} passed as public"
    );
    Ok(())
}

#[test]
fn the_python_vectors_derive_mint_and_verify_alike() {
    for v in vectors() {
        let name = v["name"].as_str().unwrap();
        let root = Key::new(
            v["root_id"].as_str().unwrap(),
            hex(v["root_secret_hex"].as_str().unwrap()),
        )
        .unwrap();
        let mut delegation = Delegation::new(
            v["child_id"].as_str().unwrap(),
            v["folder"].as_str().unwrap(),
            v["not_after"].as_u64().unwrap(),
        );
        for method in v["methods"].as_array().unwrap() {
            delegation = delegation.method(method.as_str().unwrap().parse().unwrap());
        }
        if let Some(group) = v["group"].as_str() {
            delegation = delegation.group(group);
        }
        let child = root.delegate(&delegation).unwrap();
        let text = child.to_delegated_text().unwrap();
        assert_eq!(
            text,
            v["child_text"].as_str().unwrap(),
            "{name}: child text"
        );
        assert_eq!(child.delegated_id(), v["child_id"].as_str(), "{name}");
        let expires = v["expires"].as_u64().unwrap();
        let method: Method = v["method"].as_str().unwrap().parse().unwrap();
        for minter in [child, Key::from_delegated_text(&text).unwrap()] {
            let link = layer(minter, expires - 100)
                .signer()
                .link(v["path"].as_str().unwrap())
                .method(method.clone())
                .expires_at(expires)
                .to_target()
                .unwrap();
            assert_eq!(link, v["link"].as_str().unwrap(), "{name}: link");
        }
        let server = layer(root, expires - 100);
        assert_eq!(
            check(&server, method, v["link"].as_str().unwrap()),
            Ok(()),
            "{name}"
        );
    }
}

/// The native message with fields 10 to 18 (group in 11, delegation in 18), as SPEC.md writes
/// it, signed with `secret`: a link the verifier must judge on its own.
fn by_hand(
    secret: &[u8],
    (method, path, expires): (&str, &str, u64),
    group: Option<&str>,
    dlg: Option<&str>,
) -> String {
    let expires_text = expires.to_string();
    let mut fields: Vec<&str> = vec!["root", method, "path", path, "", "", &expires_text, "", ""];
    if let Some(dlg) = dlg {
        fields.extend(["", group.unwrap_or(""), "", "", "", "", "", "", dlg]);
    } else if let Some(group) = group {
        fields.extend(["", group]);
    }
    let mut message = b"tsl-v1".to_vec();
    for field in fields {
        message.extend_from_slice(&(field.len() as u32).to_be_bytes());
        message.extend_from_slice(field.as_bytes());
    }
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(&message);
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    let encoded = path.replace(' ', "%20");
    let mut query = String::from("sl_kid=root");
    if method != "GET" {
        query += &format!("&sl_method={method}");
    }
    query += &format!("&sl_exp={expires}");
    if let Some(group) = group {
        query += &format!("&sl_grp={group}");
    }
    if let Some(dlg) = dlg {
        query += &format!("&sl_dlg={dlg}");
    }
    format!("{encoded}?{query}&sl_sig={signature}")
}

/// The parts of a child's configuration line: its scope parameter and secret.
fn parts(child: &Key) -> (String, Vec<u8>) {
    let text = child.to_delegated_text().unwrap();
    let mut fields = text.split('.').skip(2);
    let dlg = fields.next().unwrap().to_owned();
    let secret = URL_SAFE_NO_PAD.decode(fields.next().unwrap()).unwrap();
    (dlg, secret)
}

/// The scope parameter of another delegation under the same root (to forge with).
fn scope_of(delegation: Delegation) -> String {
    parts(
        &Key::new("root", ROOT)
            .unwrap()
            .delegate(&delegation)
            .unwrap(),
    )
    .0
}

#[test]
fn links_outside_the_delegation_are_refused_even_when_signed_by_the_child() {
    let root = Key::new("root", ROOT).unwrap();
    let child = root
        .delegate(
            &Delegation::new("tenant-7", "/tenant-7/", UNTIL)
                .method(Method::GET)
                .method(Method::PUT),
        )
        .unwrap();
    let grouped = root
        .delegate(&Delegation::new("tenant-8", "/tenant-8/", UNTIL).group("tenant-8"))
        .unwrap();
    let (dlg, secret) = parts(&child);
    let (grouped_dlg, grouped_secret) = parts(&grouped);
    let server = layer(root.clone(), NOW);
    let minted = layer(child.clone(), NOW)
        .signer()
        .link("/tenant-7/a.pdf")
        .expires_at(NOW + 600)
        .to_target()
        .unwrap();
    assert_eq!(check(&server, Method::GET, &minted), Ok(()));
    assert_eq!(
        check(&server, Method::HEAD, &minted),
        Ok(()),
        "HEAD on a GET link"
    );
    let wider = scope_of(Delegation::new("tenant-7", "/", UNTIL));
    // The child derives a grandchild for a scope it makes up.
    let grandchild = {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&secret).unwrap();
        mac.update(b"tsl-delegation-v1");
        mac.update(&URL_SAFE_NO_PAD.decode(&wider).unwrap());
        mac.finalize().into_bytes().to_vec()
    };
    let other_root = [12u8; 32];
    let other_child = {
        let other = Key::new("root", other_root).unwrap();
        parts(
            &other
                .delegate(&Delegation::new("tenant-7", "/tenant-7/", UNTIL).method(Method::PUT))
                .unwrap(),
        )
    };
    let ok = ("GET", "/tenant-7/a.pdf", NOW + 600);
    #[rustfmt::skip]
    let cases: Vec<(&str, String, Method, RejectionKind)> = vec![
        ("the path edited", minted.replace("/tenant-7/a.pdf", "/tenant-7/b.pdf"), Method::GET, RejectionKind::BadSignature),
        ("the expiry edited", minted.replace(&(NOW + 600).to_string(), &(NOW + 900).to_string()), Method::GET, RejectionKind::BadSignature),
        ("the scope swapped for a wider one", minted.replace(&dlg, &wider), Method::GET, RejectionKind::BadSignature),
        ("the scope taken out", minted.replace(&format!("&sl_dlg={dlg}"), ""), Method::GET, RejectionKind::BadSignature),
        ("another method asked", minted.clone(), Method::DELETE, RejectionKind::MethodNotAllowed),
        ("the child key used as a root (no scope)", by_hand(&secret, ok, None, None), Method::GET, RejectionKind::BadSignature),
        ("the child delegating further", by_hand(&grandchild, ("GET", "/tenant-9/a.pdf", NOW + 600), None, Some(&wider)), Method::GET, RejectionKind::BadSignature),
        ("a child of another root with the same id", by_hand(&other_child.1, ok, None, Some(&other_child.0)), Method::GET, RejectionKind::BadSignature),
        ("a sibling folder sharing the prefix", by_hand(&secret, ("GET", "/tenant-70/a.pdf", NOW + 600), None, Some(&dlg)), Method::GET, RejectionKind::OutsideDelegation),
        ("the parent folder", by_hand(&secret, ("GET", "/a.pdf", NOW + 600), None, Some(&dlg)), Method::GET, RejectionKind::OutsideDelegation),
        ("a method not delegated", by_hand(&secret, ("DELETE", "/tenant-7/a.pdf", NOW + 600), None, Some(&dlg)), Method::DELETE, RejectionKind::OutsideDelegation),
        ("an expiry past the deadline", by_hand(&secret, ("GET", "/tenant-7/a.pdf", UNTIL + 1), None, Some(&dlg)), Method::GET, RejectionKind::OutsideDelegation),
        ("without the delegation's group", by_hand(&grouped_secret, ("GET", "/tenant-8/a.pdf", NOW + 600), None, Some(&grouped_dlg)), Method::GET, RejectionKind::OutsideDelegation),
        ("with another group", by_hand(&grouped_secret, ("GET", "/tenant-8/a.pdf", NOW + 600), Some("mine"), Some(&grouped_dlg)), Method::GET, RejectionKind::OutsideDelegation),
        ("dot segments out of the folder", by_hand(&secret, ok, None, Some(&dlg)).replace("/tenant-7/a.pdf", "/tenant-7/../tenant-8/a.pdf"), Method::GET, RejectionKind::AmbiguousPath),
        ("an escaped climb", by_hand(&secret, ok, None, Some(&dlg)).replace("/tenant-7/a.pdf", "/tenant-7/%2e%2e/tenant-8/a.pdf"), Method::GET, RejectionKind::AmbiguousPath),
        ("a scope with padding", minted.replace(&dlg, &format!("{dlg}=")), Method::GET, RejectionKind::MalformedToken),
    ];
    for (name, target, method, kind) in cases {
        assert_eq!(
            check(&server, method, &target),
            Err(kind),
            "{name}: {target}"
        );
    }
    // Hand minting is right: the same construction inside the delegation is admitted.
    assert_eq!(
        check(
            &server,
            Method::GET,
            &by_hand(&secret, ok, None, Some(&dlg))
        ),
        Ok(())
    );
    let in_group = by_hand(
        &grouped_secret,
        ("GET", "/tenant-8/a.pdf", NOW + 600),
        Some("tenant-8"),
        Some(&grouped_dlg),
    );
    assert_eq!(check(&server, Method::GET, &in_group), Ok(()));
    // A layer holding the child also checks the child's own links, and nothing unscoped.
    let own = layer(child, NOW);
    assert_eq!(check(&own, Method::GET, &minted), Ok(()));
    assert_eq!(
        check(&own, Method::GET, &by_hand(&secret, ok, None, None)),
        Err(RejectionKind::BadSignature)
    );
}

#[test]
fn the_child_signer_names_the_limit_it_would_cross() {
    let root = Key::new("root", ROOT).unwrap();
    let child = root
        .delegate(
            &Delegation::new("uploader", "/uploads/", UNTIL)
                .method(Method::PUT)
                .group("up"),
        )
        .unwrap();
    let signer = layer(child.clone(), NOW).signer();
    let limit = |link: tower_secure_link::LinkBuilder<'_>| {
        let error = link.to_target().unwrap_err();
        assert_eq!(error.kind(), SignErrorKind::OutsideDelegation);
        error.limit().unwrap().to_owned()
    };
    assert_eq!(
        limit(
            signer
                .link("/upload/a.bin")
                .method(Method::PUT)
                .expires_at(NOW + 60)
        ),
        "folder"
    );
    assert_eq!(
        limit(signer.link("/uploads/a.bin").expires_at(NOW + 60)),
        "method"
    );
    assert_eq!(
        limit(
            signer
                .link("/uploads/a.bin")
                .method(Method::PUT)
                .expires_at(UNTIL + 1)
        ),
        "deadline"
    );
    assert_eq!(
        limit(
            signer
                .link("/uploads/a.bin")
                .method(Method::PUT)
                .group("other")
                .expires_at(NOW + 60)
        ),
        "group"
    );
    assert!(limit(
        signer
            .link("/uploads/a.bin")
            .method(Method::PUT)
            .opaque()
            .expires_at(NOW + 60)
    )
    .contains("opaque"));
    let slot = signer
        .link("/uploads/a.bin")
        .method(Method::PUT)
        .max_body_size(1024)
        .one_time()
        .expires_at(NOW + 60)
        .to_target()
        .unwrap();
    assert!(slot.contains("&sl_grp=up&"), "the group is carried: {slot}");
    assert_eq!(check(&layer(root.clone(), NOW), Method::PUT, &slot), Ok(()));
    // No delegation of a delegation, no Ed25519 roots, no folder without its slash.
    assert_eq!(
        child
            .delegate(&Delegation::new("sub", "/uploads/x/", UNTIL))
            .unwrap_err(),
        KeyError::DelegationOfDelegation
    );
    assert!(matches!(
        root.delegate(&Delegation::new("t", "/tenant", UNTIL)),
        Err(KeyError::InvalidDelegation(_))
    ));
    assert!(
        format!("{child:?}").contains("uploader")
            && !format!("{child:?}").contains(&child.to_delegated_text().unwrap()[40..])
    );
}

#[tokio::test]
async fn revoking_the_group_ends_the_delegation() {
    use tower::ServiceExt;
    let root = Key::new("root", ROOT).unwrap();
    let child = root
        .delegate(&Delegation::new("tenant-9", "/tenant-9/", UNTIL).group("tenant-9"))
        .unwrap();
    let server = layer(root, NOW);
    let link = layer(child, NOW)
        .signer()
        .link("/tenant-9/a.pdf")
        .expires_at(NOW + 600)
        .to_target()
        .unwrap();
    let service = tower::Layer::layer(
        &server,
        tower::service_fn(|_: http::Request<String>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::from("file")))
        }),
    );
    let status = |link: String| {
        let service = service.clone();
        async move {
            let request = http::Request::get(link).body(String::new()).unwrap();
            service.oneshot(request).await.unwrap().status().as_u16()
        }
    };
    assert_eq!(status(link.clone()).await, 200);
    server
        .revoke_group("tenant-9", NOW + 3600)
        .allow_volatile()
        .await
        .unwrap();
    assert_eq!(status(link).await, 410);
}

/// Ed25519 roots: the root certifies the child's public key with the scope; a verifier holding
/// only the root's public key checks the certificate, then the child's signature.
#[cfg(feature = "ed25519")]
mod ed25519 {
    use super::*;

    fn ed_vectors() -> Vec<serde_json::Value> {
        let parsed: serde_json::Value =
            serde_json::from_str(include_str!("vectors/delegation-v1.json")).unwrap();
        parsed["ed25519"].as_array().unwrap().clone()
    }

    #[test]
    fn the_python_vectors_verify_and_the_child_mints_the_same_link() {
        for v in ed_vectors() {
            let name = v["name"].as_str().unwrap();
            let public = URL_SAFE_NO_PAD
                .decode(v["root_public"].as_str().unwrap())
                .unwrap();
            let root = Key::ed25519_public(v["root_id"].as_str().unwrap(), public).unwrap();
            let expires = v["expires"].as_u64().unwrap();
            let link = v["link"].as_str().unwrap();
            let server = layer(root, expires - 100);
            assert_eq!(check(&server, Method::GET, link), Ok(()), "{name}");
            let child = Key::from_delegated_text(v["child_text"].as_str().unwrap()).unwrap();
            assert_eq!(
                child.to_delegated_text().as_deref(),
                v["child_text"].as_str()
            );
            let minted = layer(child, expires - 100)
                .signer()
                .link(v["path"].as_str().unwrap())
                .expires_at(expires)
                .to_target()
                .unwrap();
            assert_eq!(minted, link, "{name}: Ed25519 signatures are deterministic");
        }
    }

    #[test]
    fn certificates_bind_the_child_key_and_the_scope() {
        let root = Key::ed25519("ed-root", [5u8; 32]).unwrap();
        let other_root = Key::ed25519("ed-root", [8u8; 32]).unwrap();
        let delegation = Delegation::new("tenant-7", "/tenant-7/", UNTIL);
        let child = root.delegate(&delegation).unwrap();
        let second = root.delegate(&delegation).unwrap();
        let stranger = other_root.delegate(&delegation).unwrap();
        let server = layer(root.to_public().unwrap(), NOW);
        let mint = |key: &Key, path: &str| {
            layer(key.clone(), NOW)
                .signer()
                .link(path)
                .expires_at(NOW + 600)
                .to_target()
                .unwrap()
        };
        let link = mint(&child, "/tenant-7/a.pdf");
        assert_eq!(check(&server, Method::GET, &link), Ok(()));
        let dlg = |link: &str| {
            let at = link.find("sl_dlg=").unwrap() + 7;
            link[at..at + link[at..].find('&').unwrap()].to_owned()
        };
        let parts = |dlg: &str| dlg.split('.').map(str::to_owned).collect::<Vec<_>>();
        let (ours, theirs) = (
            parts(&dlg(&link)),
            parts(&dlg(&mint(&second, "/tenant-7/a.pdf"))),
        );
        assert_ne!(
            ours[1], theirs[1],
            "each delegation has a child key of its own"
        );
        // The second child's link carrying the first child's certificate and key: the link's
        // signature is the second child's, so it fails.
        let second_link = mint(&second, "/tenant-7/a.pdf");
        let replayed = second_link.replace(&dlg(&second_link), &dlg(&link));
        let wider = parts(&dlg(&mint(
            &root
                .delegate(&Delegation::new("tenant-7", "/", UNTIL))
                .unwrap(),
            "/x",
        )))[0]
            .clone();
        #[rustfmt::skip]
        let cases = [
            ("a certificate replayed with another child's signature", replayed, RejectionKind::BadSignature),
            ("the certificate's child key swapped", link.replace(&ours[1], &theirs[1]), RejectionKind::BadSignature),
            ("the scope widened under the same certificate", link.replace(&ours[0], &wider), RejectionKind::BadSignature),
            ("a child of another root with the same id", mint(&stranger, "/tenant-7/a.pdf"), RejectionKind::BadSignature),
            ("the certificate cut off", link.replace(&format!(".{}", ours[2]), ""), RejectionKind::BadSignature),
            ("a path outside the folder", link.replace("/tenant-7/a.pdf", "/tenant-70/a.pdf"), RejectionKind::BadSignature),
        ];
        for (name, target, kind) in cases {
            assert_eq!(check(&server, Method::GET, &target), Err(kind), "{name}");
        }
        // The child's own signer keeps to its folder; a public key cannot delegate.
        let outside = layer(child.clone(), NOW)
            .signer()
            .link("/tenant-70/a.pdf")
            .expires_at(NOW + 600)
            .to_target()
            .unwrap_err();
        assert_eq!(outside.limit(), Some("folder"));
        assert!(root.to_public().unwrap().delegate(&delegation).is_err());
        assert_eq!(
            child.delegate(&delegation).unwrap_err(),
            KeyError::DelegationOfDelegation
        );
        let text = child.to_delegated_text().unwrap();
        assert_eq!(
            check(
                &server,
                Method::GET,
                &mint(&Key::from_delegated_text(&text).unwrap(), "/tenant-7/b.pdf")
            ),
            Ok(())
        );
    }
}
