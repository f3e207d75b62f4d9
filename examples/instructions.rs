//! Runs one operation N times, for `scripts/instructions.sh`, which counts the instructions
//! under valgrind at two values of N: the difference divided by the difference of N is the
//! cost of one operation, free of start-up. Each operation is paired with the primitive it
//! adds to, so the script reports what the crate adds.
//!
//! ```text
//! cargo run --release --all-features --example instructions -- OPERATION N
//! ```
//!
//! Operations: `bare_hmac`, `verify`, `mint`, `inner_service`, `public_pass_through`,
//! `ordinary_link`, `one_time_link`.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use hmac::{Hmac, Mac};
use http::{Method, Request, Response};
use sha2::Sha256;
use tower::{service_fn, Layer, Service};
use tower_secure_link::one_time::MemoryNonceStore;
use tower_secure_link::{Key, ManualClock, SecureLinkLayer};

const SECRET: [u8; 32] = [9u8; 32];
const NOW: u64 = 1_767_222_000;
const EXPIRES: u64 = NOW + 3600;
const PATH: &str = "/private/report.pdf";

fn layer() -> SecureLinkLayer {
    SecureLinkLayer::new(Key::new("1", SECRET).expect("key"))
        .with_private_prefix("/private/")
        .expect("prefix")
        .with_clock(ManualClock::new(NOW))
        .with_signer_extension(false)
}

fn noop_waker() -> Waker {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    Waker::from(std::sync::Arc::new(Noop))
}

fn poll_once<F: Future>(future: F, waker: &Waker) -> F::Output {
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut Context::from_waker(waker)) {
            return output;
        }
    }
}

/// The canonical message of the verified link, as the layer writes it (the same size: what the
/// bare HMAC is compared with).
fn message() -> Vec<u8> {
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
    let mut out = b"tsl-v1".to_vec();
    for field in fields {
        out.extend_from_slice(&(field.len() as u32).to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let operation = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let waker = noop_waker();
    let inner = service_fn(|_: Request<String>| async { Ok::<_, Infallible>(Response::new(())) });
    let layer = layer();
    let signer = layer.signer();
    let link = signer
        .link(PATH)
        .expires_at(EXPIRES)
        .to_target()
        .expect("link");
    match operation.as_str() {
        "bare_hmac" => {
            let key = Hmac::<Sha256>::new_from_slice(&SECRET).expect("key");
            let message = message();
            for _ in 0..n {
                let mut mac = key.clone();
                mac.update(black_box(&message));
                black_box(mac.finalize());
            }
        }
        "verify" => {
            let uri = link.parse().expect("uri");
            for _ in 0..n {
                black_box(layer.check(&Method::GET, black_box(&uri)).is_ok());
            }
        }
        "mint" => {
            for _ in 0..n {
                black_box(
                    signer
                        .link(black_box(PATH))
                        .expires_at(EXPIRES)
                        .to_target()
                        .is_ok(),
                );
            }
        }
        "inner_service" | "public_pass_through" => {
            let mut bare = inner;
            let mut guarded = layer.layer(inner);
            for _ in 0..n {
                let request = Request::get("/static/app.js?v=3")
                    .body(String::new())
                    .expect("request");
                if operation == "inner_service" {
                    black_box(poll_once(bare.call(request), &waker).is_ok());
                } else {
                    black_box(poll_once(guarded.call(request), &waker).is_ok());
                }
            }
        }
        "ordinary_link" | "one_time_link" => {
            let one_time = operation == "one_time_link";
            let layer = layer.with_nonce_store(MemoryNonceStore::with_capacity(n + 1));
            let signer = layer.signer();
            // Minted before the loop in both, so the difference is the one-time check alone.
            let links: Vec<String> = (0..n)
                .map(|_| {
                    let link = signer.link(PATH).expires_at(EXPIRES);
                    let link = if one_time { link.one_time() } else { link };
                    link.to_target().expect("link")
                })
                .collect();
            let mut service = layer.layer(inner);
            for link in links {
                let request = Request::get(link).body(String::new()).expect("request");
                black_box(poll_once(service.call(request), &waker).is_ok());
            }
        }
        other => {
            eprintln!("unknown operation {other:?}");
            std::process::exit(2);
        }
    }
}
