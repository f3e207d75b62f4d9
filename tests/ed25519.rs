//! Ed25519 links end to end: a verifier that holds only public keys admits what the private key
//! mints (ordinary, one-time, upload, folder links), an independent Python verifier (the
//! `cryptography` package, `tests/vectors/ed25519_v1.py`) accepts the crate's links, and the
//! ways to pass one key off as another are refused.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use http::{Method, StatusCode};
use tower_secure_link::one_time::MemoryNonceStore;
use tower_secure_link::{
    Key, KeyError, Keyring, ManualClock, RejectionKind, SecureLinkLayer, SignErrorKind,
};

const NOW: u64 = 1_767_222_000;

fn private(id: &str, seed: u8) -> Key {
    Key::ed25519(id, [seed; 32]).unwrap()
}

fn layer(keyring: impl Into<Keyring>) -> SecureLinkLayer {
    SecureLinkLayer::new(keyring)
        .with_private_prefix("/private/")
        .unwrap()
        .with_clock(ManualClock::new(NOW))
}

fn status(layer: &SecureLinkLayer, method: Method, target: &str) -> Result<(), RejectionKind> {
    layer
        .check(&method, &target.parse().unwrap())
        .map(|_| ())
        .map_err(|rejection| rejection.kind())
}

/// Links minted with the private key, of every kind a public-key verifier must admit.
fn minted_links(minter: &SecureLinkLayer) -> Vec<(&'static str, Method, String)> {
    let signer = minter.signer();
    vec![
        (
            "plain",
            Method::GET,
            signer.sign("/private/report.pdf").unwrap(),
        ),
        (
            "query and UTF-8",
            Method::GET,
            signer
                .sign("/private/caf%C3%A9/a%20b.pdf?page=2&x=%20")
                .unwrap(),
        ),
        (
            "upload slot",
            Method::PUT,
            signer
                .link("/private/uploads/slot.bin")
                .method(Method::PUT)
                .max_body_size(1024)
                .one_time()
                .to_target()
                .unwrap(),
        ),
        (
            "group",
            Method::GET,
            signer
                .link("/private/deck.pdf")
                .group("team-a")
                .to_target()
                .unwrap(),
        ),
        (
            "folder, path segment",
            Method::GET,
            format!(
                "{}seg-1.ts",
                signer
                    .folder_link("/private/videos/42/")
                    .to_path_base()
                    .unwrap()
            ),
        ),
        (
            "folder exchanged for a cookie session",
            Method::GET,
            format!(
                "{}seg-1.ts",
                signer
                    .folder_link("/private/videos/42/")
                    .cookie_session(std::time::Duration::from_secs(3600))
                    .to_path_base()
                    .unwrap()
            ),
        ),
        (
            "folder, query",
            Method::GET,
            signer
                .folder_link("/private/videos/42/")
                .to_query()
                .map(|query| format!("/private/videos/42/seg-2.ts?{query}"))
                .unwrap(),
        ),
    ]
}

#[test]
fn a_verifier_with_only_the_public_key_admits_every_kind_of_link() {
    let key = private("ed-2026", 1);
    let minter = layer(key.clone());
    let verifier = layer(key.to_public().unwrap());
    for (name, method, link) in minted_links(&minter) {
        assert!(
            link.contains("sl_kid=ed-2026") || link.contains("sl_t~ed-2026~"),
            "{name}"
        );
        assert_eq!(
            status(&verifier, method.clone(), &link),
            Ok(()),
            "{name}: {link}"
        );
        // One changed character anywhere in the signature is a bad signature.
        let at = link
            .rfind("sl_sig=")
            .map_or_else(|| link.rfind('~').unwrap() + 1, |at| at + 7);
        let mut forged = link.clone().into_bytes();
        forged[at + 10] = if forged[at + 10] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(
            status(&verifier, method, &forged),
            Err(RejectionKind::BadSignature),
            "{name}: {forged}"
        );
    }
}

#[test]
fn the_known_answer_links_verify_with_the_public_key_alone() {
    let file: serde_json::Value =
        serde_json::from_str(include_str!("vectors/ed25519-v1.json")).unwrap();
    for v in file["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let public = URL_SAFE_NO_PAD
            .decode(v["public_key"].as_str().unwrap())
            .unwrap();
        let key = Key::ed25519_public(v["key_id"].as_str().unwrap(), public).unwrap();
        let verifier = SecureLinkLayer::new(key)
            .with_private_prefix("/private/")
            .unwrap()
            .with_clock(ManualClock::new(v["now"].as_u64().unwrap()));
        let method: Method = v["method"].as_str().unwrap().parse().unwrap();
        let mut checked = 0;
        for (field, method) in [("link", method), ("path_link", Method::GET)] {
            if let Some(link) = v[field].as_str() {
                assert_eq!(status(&verifier, method, link), Ok(()), "{name}: {field}");
                checked += 1;
            }
        }
        assert!(checked > 0, "{name}");
    }
}

#[test]
fn a_public_key_cannot_mint() {
    let verifier = layer(private("ed1", 1).to_public().unwrap());
    let error = verifier.signer().sign("/private/report.pdf").unwrap_err();
    assert_eq!(error.kind(), SignErrorKind::VerifyOnlyKey);
    let error = verifier
        .signer()
        .folder_link("/private/videos/")
        .to_path_base()
        .unwrap_err();
    assert_eq!(error.kind(), SignErrorKind::VerifyOnlyKey);
    // Nor seal an opaque link: that needs a secret shared with the verifier.
    let minter = layer(private("ed1", 1)).with_opaque_prefix("/s/").unwrap();
    let error = minter
        .signer()
        .link("/private/a.pdf")
        .opaque()
        .to_target()
        .unwrap_err();
    assert_eq!(error.kind(), SignErrorKind::VerifyOnlyKey);
}

#[test]
fn keys_are_not_confused() {
    let ed = private("k", 1);
    let public = ed.to_public().unwrap();
    let public_bytes = public.ed25519_public_key().unwrap();
    let verifier = layer(public.clone());

    struct Case {
        name: &'static str,
        link: String,
        expect: RejectionKind,
    }
    // An HMAC link under the same key id, keyed with the public key an attacker knows.
    let hmac_with_public_bytes = layer(Key::new("k", public_bytes).unwrap())
        .signer()
        .sign("/private/report.pdf")
        .unwrap();
    // An Ed25519 link from another private key that claims the same key id.
    let other_private = layer(private("k", 2))
        .signer()
        .sign("/private/report.pdf")
        .unwrap();
    // The valid signature with the group order added to its scalar half: the same signature
    // to a lax verifier, a different string here.
    let valid = layer(ed).signer().sign("/private/report.pdf").unwrap();
    let malleated = {
        let (head, signature) = valid.split_once("sl_sig=").unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let order: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (byte, add) in bytes[32..].iter_mut().zip(order) {
            let sum = u16::from(*byte) + u16::from(add) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        format!("{head}sl_sig={}", URL_SAFE_NO_PAD.encode(bytes))
    };
    let non_canonical_text = {
        // The last character of 86 carries four unused bits; setting one is another text for
        // the same bytes.
        let mut text = valid.clone().into_bytes();
        let last = text.len() - 1;
        text[last] = match text[last] {
            b'A' => b'B',
            b'Q' => b'R',
            b'g' => b'h',
            b'w' => b'x',
            other => panic!("a canonical 86th character has zero low bits, not {other}"),
        };
        String::from_utf8(text).unwrap()
    };
    let cases = [
        Case {
            name: "HMAC link keyed with the public key",
            link: hmac_with_public_bytes,
            expect: RejectionKind::MalformedToken,
        },
        Case {
            name: "another private key, same id",
            link: other_private,
            expect: RejectionKind::BadSignature,
        },
        Case {
            name: "malleated signature",
            link: malleated,
            expect: RejectionKind::BadSignature,
        },
        Case {
            name: "same bytes, non-canonical text",
            link: non_canonical_text,
            expect: RejectionKind::BadSignature,
        },
        Case {
            name: "truncated to an HMAC length",
            link: valid[..valid.len() - 43].to_owned(),
            expect: RejectionKind::MalformedToken,
        },
    ];
    assert_eq!(status(&verifier, Method::GET, &valid), Ok(()));
    for case in cases {
        let got = status(&verifier, Method::GET, &case.link);
        // A 43-character signature is well formed (an HMAC length) and fails as a signature.
        let expect = if case.link.len() - case.link.rfind("sl_sig=").unwrap() - 7 == 43 {
            RejectionKind::BadSignature
        } else {
            case.expect
        };
        assert_eq!(got, Err(expect), "{}", case.name);
    }
    // Nor is a 32-byte public key of small order accepted as a verifier.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(Key::ed25519_public("weak", identity).is_err());
    assert!(Key::ed25519_public("short", [9u8; 31]).is_err());
}

#[test]
fn public_keys_rotate_like_secrets() {
    let (old, new) = (private("2025", 1), private("2026", 2));
    let old_link = layer(old.clone()).signer().sign("/private/a.pdf").unwrap();
    let new_link = layer(new.clone()).signer().sign("/private/a.pdf").unwrap();
    let verifier = layer(
        Keyring::new(new.to_public().unwrap())
            .with_verify_only(old.to_public().unwrap())
            .unwrap(),
    );
    assert_eq!(status(&verifier, Method::GET, &old_link), Ok(()));
    assert_eq!(status(&verifier, Method::GET, &new_link), Ok(()));
    let handle = verifier.keyring_handle().unwrap();
    handle.replace(Keyring::new(new.to_public().unwrap()));
    assert_eq!(
        status(&verifier, Method::GET, &old_link),
        Err(RejectionKind::UnknownKey)
    );
    // A verifier may hold HMAC keys and public keys side by side.
    let hmac = Key::new("hmac", [3u8; 32]).unwrap();
    let hmac_link = layer(hmac.clone()).signer().sign("/private/a.pdf").unwrap();
    let mixed = layer(
        Keyring::new(hmac)
            .with_verify_only(new.to_public().unwrap())
            .unwrap(),
    );
    assert_eq!(status(&mixed, Method::GET, &hmac_link), Ok(()));
    assert_eq!(status(&mixed, Method::GET, &new_link), Ok(()));
}

#[tokio::test]
async fn one_time_ed25519_links_are_used_once_through_the_layer() {
    use tower::{service_fn, Layer, ServiceExt};
    let key = private("ed1", 7);
    let link = layer(key.clone())
        .signer()
        .link("/private/once.pdf")
        .one_time()
        .to_target()
        .unwrap();
    let service = layer(key.to_public().unwrap())
        .with_nonce_store(MemoryNonceStore::new())
        .layer(service_fn(|_: http::Request<String>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(String::from("once")))
        }));
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let request = http::Request::get(&link).body(String::new()).unwrap();
        statuses.push(service.clone().oneshot(request).await.unwrap().status());
    }
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::GONE, StatusCode::GONE]
    );
}

/// A Python that has the `cryptography` package, or `None` (skipped; a failure under CI).
fn python_with_cryptography() -> Option<PathBuf> {
    let found = ["/usr/bin/python3", "python3"]
        .iter()
        .map(PathBuf::from)
        .find(|python| {
            Command::new(python)
                .args(["-c", "import cryptography"])
                .output()
                .is_ok_and(|out| out.status.success())
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3-cryptography is missing under CI: .ci/run should have installed it"
        );
        eprintln!("skipped: no python3 with cryptography (apt-get install python3-cryptography)");
    }
    found
}

fn python_verdict(python: &Path, public_keys: &str, link: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/ed25519_v1.py");
    let out = Command::new(python)
        .arg(script)
        .args(["verify", public_keys, link])
        .output()
        .unwrap();
    let verdict = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(
        out.status.success(),
        verdict == "valid",
        "{verdict} {out:?}"
    );
    verdict
}

#[test]
fn an_independent_python_verifier_accepts_the_crates_links() {
    let Some(python) = python_with_cryptography() else {
        return;
    };
    let key = private("ed-2026", 9);
    let public = URL_SAFE_NO_PAD.encode(key.ed25519_public_key().unwrap());
    let keys = format!("old:{},ed-2026:{public}", URL_SAFE_NO_PAD.encode([1u8; 32]));
    for (name, _, link) in minted_links(&layer(key)) {
        assert_eq!(
            python_verdict(&python, &keys, &link),
            "valid",
            "{name}: {link}"
        );
        let tampered = link.replacen("/private/", "/private/x", 1);
        assert_ne!(
            python_verdict(&python, &keys, &tampered),
            "valid",
            "{name}: tampered"
        );
    }
}

fn cli(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = support::run_cli(args, env);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).trim().to_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn the_cli_mints_with_the_private_key_and_verifies_and_serves_with_public_keys_only() {
    let (ok, keys, _) = cli(&["keygen", "--ed25519", "--key-id", "ed-7"], &[]);
    assert!(ok);
    let lines: Vec<&str> = keys.lines().collect();
    let private = lines[0].strip_prefix("SECURE_LINK_KEY=").unwrap();
    let public = lines[1].strip_prefix("SECURE_LINK_PUBLIC_KEYS=").unwrap();
    assert!(public.starts_with("ed-7:") && lines.len() == 2, "{keys}");
    assert_ne!(
        cli(&["keygen", "--ed25519"], &[]).1,
        keys,
        "a new key each time"
    );

    // sign finds the key id from the public key list.
    let both = [
        ("SECURE_LINK_KEY", private),
        ("SECURE_LINK_PUBLIC_KEYS", public),
    ];
    let (ok, link, err) = cli(
        &["sign", "--format", "ed25519", "/private/hello.txt"],
        &both,
    );
    assert!(ok, "{err}");
    assert!(link.contains("sl_kid=ed-7&"), "{link}");

    // Pasted with spaces after the commas and a line break: still read.
    let (_, other, _) = cli(&["keygen", "--ed25519", "--key-id", "old"], &[]);
    let other = other
        .lines()
        .nth(1)
        .unwrap()
        .strip_prefix("SECURE_LINK_PUBLIC_KEYS=")
        .unwrap()
        .to_owned();
    let pasted = format!("{other}, {public}\n");
    let (ok, verdict, err) = cli(
        &["verify", "--format", "ed25519", &link],
        &[("SECURE_LINK_PUBLIC_KEYS", &pasted)],
    );
    assert!(ok && verdict == "valid", "{err}");
    let verifier = [("SECURE_LINK_PUBLIC_KEYS", public)];
    let verify = |target: &str| cli(&["verify", "--format", "ed25519", target], &verifier);
    assert_eq!(verify(&link).1, "valid");
    let (ok, _, reason) = verify(&link.replace("hello", "hellO"));
    assert!(!ok);
    assert_eq!(reason, "bad_signature");
    // Without public keys: a usage error that says what to set.
    let (ok, _, err) = cli(&["verify", "--format", "ed25519", &link], &[]);
    assert!(!ok && err.contains("SECURE_LINK_PUBLIC_KEYS"), "{err}");
    // A public key cannot sign.
    let (ok, _, err) = cli(&["sign", "--format", "ed25519", "/private/a"], &verifier);
    assert!(!ok && err.contains("SECURE_LINK_KEY"), "{err}");

    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("private/hello.txt"), "hello").unwrap();
    let root_arg = root.path().to_str().unwrap();
    let server = support::Serve::start(&["--format", "ed25519", "--root", root_arg], &verifier);
    let response = support::get(&server.addr, &link);
    assert_eq!(response.status, 200);
    assert_eq!(response.body_text(), "hello");
    assert_eq!(support::get(&server.addr, "/private/hello.txt").status, 403);
    assert_eq!(
        support::get(&server.addr, &link.replace("hello", "hellO")).status,
        403
    );
}

/// The point whose y is 3 (of large order, so nothing but its encoding can be wrong with it),
/// written canonically or as y = p + 3 (2^255 - 16), with `x_negative` in the top bit.
fn y3(canonical: bool, x_negative: bool) -> [u8; 32] {
    let mut bytes = if canonical { [0; 32] } else { [0xff; 32] };
    bytes[0] = if canonical { 3 } else { 0xf0 };
    bytes[31] = if canonical { 0 } else { 0x7f } | u8::from(x_negative) << 7;
    bytes
}

#[test]
fn a_public_key_in_a_non_canonical_encoding_is_refused() {
    use ed25519_dalek::VerifyingKey;
    for x_negative in [false, true] {
        let (canonical, spelled_again) = (y3(true, x_negative), y3(false, x_negative));
        // ed25519-dalek alone decodes the second spelling, to the same point of large order.
        let loose = VerifyingKey::from_bytes(&spelled_again).expect("dalek reduces y mod p");
        assert!(!loose.is_weak());
        assert_eq!(
            loose.to_edwards(),
            VerifyingKey::from_bytes(&canonical).unwrap().to_edwards()
        );
        assert!(Key::ed25519_public("ed-ok", canonical).is_ok());
        assert_eq!(
            Key::ed25519_public("ed-bad", spelled_again).unwrap_err(),
            KeyError::NonCanonicalEd25519Key,
            "x negative: {x_negative}"
        );
    }
    // Every y from p to 2^255 - 1, with either sign: none is accepted (y = p and p + 1 are the
    // small-order points y = 0 and y = 1 spelled again, the rest non-canonical or off the curve).
    for k in 0..19u8 {
        for sign in [0, 0x80] {
            let mut bytes = [0xff; 32];
            bytes[0] = 0xed + k;
            bytes[31] = 0x7f | sign;
            assert!(Key::ed25519_public("k", bytes).is_err(), "y = p + {k}");
        }
    }
    // Small-order points stay refused: y = 0 (order 4) and y = p - 1 (order 2), x's sign either.
    let mut minus_one = [0xff; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    for point in [[0u8; 32], minus_one] {
        for sign in [0, 0x80] {
            let mut bytes = point;
            bytes[31] |= sign;
            assert_eq!(
                Key::ed25519_public("weak", bytes).unwrap_err(),
                KeyError::InvalidEd25519Key
            );
        }
    }
}

/// Runs the CLI with `env` and gives its exit code and stderr, failing the test when it is
/// still running after 15 seconds (a `serve` that accepted its keys).
fn exit_of(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    use std::io::Read as _;
    use std::process::Stdio;
    let mut command = Command::new(support::example_binary());
    command
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for name in [
        "SECURE_LINK_KEY",
        "SECURE_LINK_KEY_ID",
        "SECURE_LINK_OLD_KEYS",
    ] {
        command.env_remove(name);
    }
    let mut process = support::ChildGuard::spawn(command.envs(env.iter().copied()));
    let status = process.wait_for_exit(std::time::Duration::from_secs(15));
    if status.is_none() {
        process.stop();
    }
    let mut err = String::new();
    let _ = process
        .child_mut()
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err);
    assert!(status.is_some(), "{args:?} is still running: {err}");
    (status.and_then(|status| status.code()), err)
}

#[test]
fn serve_and_verify_refuse_a_non_canonical_public_key_and_name_it() {
    let (_, keys, _) = cli(&["keygen", "--ed25519", "--key-id", "good"], &[]);
    let good = keys.lines().nth(1).unwrap();
    let good = good.strip_prefix("SECURE_LINK_PUBLIC_KEYS=").unwrap();
    let listed = |canonical: bool| {
        let key = URL_SAFE_NO_PAD.encode(y3(canonical, false));
        format!("{good},spelled-again:{key}")
    };
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("private")).unwrap();
    let root_arg = root.path().to_str().unwrap();
    let serve = [
        "serve",
        "--format",
        "ed25519",
        "--addr",
        "127.0.0.1:0",
        "--root",
        root_arg,
    ];
    let refused = listed(false);
    let env = [("SECURE_LINK_PUBLIC_KEYS", refused.as_str())];
    let verify = ["verify", "--format", "ed25519", "/private/a?sl_kid=good"];
    for args in [&serve[..], &verify[..]] {
        let (code, err) = exit_of(args, &env);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(
            err.contains("key id \"spelled-again\"") && err.contains("canonical"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("key id \"good\""), "{err}");
    }
    // The same point spelled canonically is a key `serve` starts with.
    let accepted = listed(true);
    let server = support::Serve::start(
        &["--format", "ed25519", "--root", root_arg],
        &[("SECURE_LINK_PUBLIC_KEYS", accepted.as_str())],
    );
    assert_eq!(support::get(&server.addr, "/private/a").status, 403);
}
