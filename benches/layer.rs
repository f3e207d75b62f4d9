//! The layer's cost against the HMAC it cannot avoid.
//!
//! Each group holds a bare HMAC-SHA256 of the same canonical message (keyed state built once and
//! cloned, as the crate does), so the overhead reads as a ratio within one run:
//!
//! ```text
//! cargo bench --bench layer
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use hmac::{Hmac, Mac};
use http::{Method, Request, Response, Uri};
use sha2::Sha256;
use tower::{service_fn, Layer, Service};
use tower_secure_link::one_time::MemoryNonceStore;
use tower_secure_link::{Key, ManualClock, SecureLinkLayer};

const SECRET: [u8; 32] = [9u8; 32];
const NOW: u64 = 1_767_222_000;
const EXPIRES: u64 = NOW + 3600;
const PATH: &str = "/private/report.pdf";

fn layer() -> SecureLinkLayer {
    SecureLinkLayer::new(Key::new("1", SECRET).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
        .with_clock(ManualClock::new(NOW))
}

/// A GET link to `PATH` expiring at `EXPIRES`, minted by `layer`'s signer.
fn ordinary_link(layer: &SecureLinkLayer) -> Uri {
    let target = layer.signer().link(PATH).expires_at(EXPIRES).to_target();
    target.unwrap().parse().unwrap()
}

/// The canonical message for `PATH`, written from the README's specification.
fn canonical_message() -> Vec<u8> {
    let expires = EXPIRES.to_string();
    let fields: [&[u8]; 9] = [
        b"1",
        b"GET",
        b"path",
        PATH.as_bytes(),
        b"",
        b"",
        expires.as_bytes(),
        b"",
        b"",
    ];
    let mut message = b"tsl-v1".to_vec();
    for field in fields {
        message.extend_from_slice(&(field.len() as u32).to_be_bytes());
        message.extend_from_slice(field);
    }
    message
}

fn bare_hmac(c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let keyed = Hmac::<Sha256>::new_from_slice(&SECRET).unwrap();
    let message = canonical_message();
    c.bench_function("bare_hmac_sha256", |b| {
        b.iter(|| {
            let mut mac = keyed.clone();
            mac.update(black_box(&message));
            black_box(mac.finalize().into_bytes())
        })
    });
}

fn verify(c: &mut Criterion) {
    let layer = layer();
    let link = ordinary_link(&layer);
    let forged: Uri = {
        let text = link.to_string();
        let at = text.find("sl_sig=").unwrap() + "sl_sig=".len() + 4;
        let flipped = if &text[at..=at] == "A" { "B" } else { "A" };
        format!("{}{flipped}{}", &text[..at], &text[at + 1..])
            .parse()
            .unwrap()
    };
    assert!(layer.check(&Method::GET, &link).is_ok());
    assert!(layer.check(&Method::GET, &forged).is_err());

    let mut group = c.benchmark_group("verify");
    bare_hmac(&mut group);
    group.bench_function("valid_link", |b| {
        b.iter(|| black_box(layer.check(&Method::GET, black_box(&link))))
    });
    group.bench_function("bad_signature", |b| {
        b.iter(|| black_box(layer.check(&Method::GET, black_box(&forged))))
    });
    group.finish();
}

fn mint(c: &mut Criterion) {
    let signer = layer().signer();
    let mut group = c.benchmark_group("mint");
    bare_hmac(&mut group);
    group.bench_function("sign", |b| {
        b.iter(|| black_box(signer.link(black_box(PATH)).expires_at(EXPIRES).to_target()))
    });
    group.finish();
}

/// A waker that does nothing: the services here are always ready.
fn noop_waker() -> Waker {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    Waker::from(std::sync::Arc::new(Noop))
}

fn poll_once<F: Future>(future: F, waker: &Waker) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(waker)) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the bench service is always ready"),
    }
}

fn public(c: &mut Criterion) {
    let inner = service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(())) });
    let mut bare = inner;
    let mut guarded = layer().with_signer_extension(false).layer(inner);
    let mut with_signer = layer().layer(inner);
    let request = || {
        Request::get("/static/app.js?v=3")
            .body(String::new())
            .unwrap()
    };
    let waker = noop_waker();

    let mut group = c.benchmark_group("public_pass_through");
    group.bench_function("inner_service_alone", |b| {
        b.iter_batched(
            request,
            |r| black_box(poll_once(bare.call(r), &waker)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("layer", |b| {
        b.iter_batched(
            request,
            |r| black_box(poll_once(guarded.call(r), &waker)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("layer_with_signer_extension", |b| {
        b.iter_batched(
            request,
            |r| black_box(poll_once(with_signer.call(r), &waker)),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// The added cost of a one-time check with the memory store: the same GET through the layer,
/// with an ordinary link and with a fresh one-time link each time (minted before timing).
fn one_time(c: &mut Criterion) {
    let waker = noop_waker();
    let inner = service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(())) });
    let mut group = c.benchmark_group("one_time");
    group.bench_function("ordinary_link", |b| {
        let layer = layer().with_signer_extension(false);
        let link = layer
            .signer()
            .link(PATH)
            .expires_at(EXPIRES)
            .to_target()
            .unwrap();
        let mut service = layer.layer(inner);
        b.iter_batched(
            || Request::get(&link).body(String::new()).unwrap(),
            |r| black_box(poll_once(service.call(r), &waker)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("one_time_link_memory_store", |b| {
        b.iter_custom(|iters| {
            let layer = layer()
                .with_signer_extension(false)
                .with_nonce_store(MemoryNonceStore::with_capacity(iters as usize + 1));
            let signer = layer.signer();
            let requests: Vec<_> = (0..iters)
                .map(|_| {
                    let link = signer
                        .link(PATH)
                        .expires_at(EXPIRES)
                        .one_time()
                        .to_target()
                        .unwrap();
                    Request::get(link).body(String::new()).unwrap()
                })
                .collect();
            let mut service = layer.layer(inner);
            let start = std::time::Instant::now();
            for request in requests {
                let response = poll_once(service.call(request), &waker).unwrap();
                assert_eq!(response.status(), 200);
            }
            start.elapsed()
        })
    });
    group.finish();
}

/// Opening an opaque link against a bare XChaCha20-Poly1305 open of the same token, and the
/// ordinary check of the same target, in one run.
fn opaque(c: &mut Criterion) {
    use base64::Engine as _;
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};

    let layer = layer().with_opaque_prefix("/s/").unwrap();
    let link: Uri = layer
        .signer()
        .link(PATH)
        .expires_at(EXPIRES)
        .opaque()
        .to_target()
        .unwrap()
        .parse()
        .unwrap();
    assert!(layer.check(&Method::GET, &link).is_ok());
    // The token's parts, as the layer reads them (see SPEC.md): the AEAD alone.
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(link.path().strip_prefix("/s/").unwrap())
        .unwrap();
    let head = 2 + usize::from(bytes[1]);
    let aad = [b"tsl-opaque-v1".as_slice(), &bytes[..head]].concat();
    let mut key = [0u8; 32];
    hkdf::Hkdf::<Sha256>::new(None, &SECRET)
        .expand(b"tower-secure-link opaque links v1", &mut key)
        .unwrap();
    let cipher = chacha20poly1305::XChaCha20Poly1305::new(&key.into());
    let (nonce, sealed) = bytes[head..].split_at(24);
    let nonce = chacha20poly1305::XNonce::from_slice(nonce);
    assert!(cipher
        .decrypt(
            nonce,
            Payload {
                msg: sealed,
                aad: &aad
            }
        )
        .is_ok());
    let ordinary = ordinary_link(&layer);

    let mut group = c.benchmark_group("opaque");
    group.bench_function("bare_xchacha20poly1305_open", |b| {
        b.iter(|| {
            black_box(cipher.decrypt(
                nonce,
                Payload {
                    msg: black_box(sealed),
                    aad: &aad,
                },
            ))
        })
    });
    group.bench_function("ordinary_check", |b| {
        b.iter(|| black_box(layer.check(&Method::GET, black_box(&ordinary))))
    });
    group.bench_function("open_and_check", |b| {
        b.iter(|| black_box(layer.check(&Method::GET, black_box(&link))))
    });
    group.finish();
}

/// Ed25519 links against HMAC links to the same target, in one run: verifying (what a
/// public-key verifier pays) and minting.
#[cfg(feature = "ed25519")]
fn ed25519(c: &mut Criterion) {
    let private = Key::ed25519("ed", [3u8; 32]).unwrap();
    let minter = layer().with_keyring(private.clone());
    let verifier = layer().with_keyring(private.to_public().unwrap());
    let hmac = layer();
    let (ed_link, hmac_link) = (ordinary_link(&minter), ordinary_link(&hmac));
    assert!(verifier.check(&Method::GET, &ed_link).is_ok());
    let mut group = c.benchmark_group("ed25519");
    group.bench_function("hmac_verify", |b| {
        b.iter(|| black_box(hmac.check(&Method::GET, black_box(&hmac_link))))
    });
    group.bench_function("ed25519_verify", |b| {
        b.iter(|| black_box(verifier.check(&Method::GET, black_box(&ed_link))))
    });
    let (hmac_signer, ed_signer) = (hmac.signer(), minter.signer());
    group.bench_function("hmac_sign", |b| {
        b.iter(|| {
            black_box(
                hmac_signer
                    .link(black_box(PATH))
                    .expires_at(EXPIRES)
                    .to_target(),
            )
        })
    });
    group.bench_function("ed25519_sign", |b| {
        b.iter(|| {
            black_box(
                ed_signer
                    .link(black_box(PATH))
                    .expires_at(EXPIRES)
                    .to_target(),
            )
        })
    });
    group.finish();
}

#[cfg(not(feature = "ed25519"))]
fn ed25519(_: &mut Criterion) {}

/// A link a delegated (child) key minted, checked by a layer holding only the root: one more
/// HMAC (the child's secret, derived per request) and the scope's parse and checks.
fn delegation(c: &mut Criterion) {
    use tower_secure_link::Delegation;
    let root = layer();
    let child_key = Key::new("1", SECRET)
        .unwrap()
        .delegate(&Delegation::new("child", "/", EXPIRES + 3600))
        .unwrap();
    let child = layer().with_keyring(child_key);
    let (plain, delegated) = (ordinary_link(&root), ordinary_link(&child));
    assert!(root.check(&Method::GET, &delegated).is_ok());
    let mut group = c.benchmark_group("delegation");
    group.bench_function("plain_link", |b| {
        b.iter(|| black_box(root.check(&Method::GET, black_box(&plain))))
    });
    group.bench_function("delegated_link", |b| {
        b.iter(|| black_box(root.check(&Method::GET, black_box(&delegated))))
    });
    group.finish();
}

criterion_group!(benches, verify, mint, public, one_time, opaque, ed25519, delegation);
criterion_main!(benches);
