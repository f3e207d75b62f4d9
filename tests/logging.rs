//! Tokens and keys never reach the logs: refusals are logged (feature `tracing`) with their
//! reason and key id, and a tower-http `TraceLayer` span built with the `Redactor` shows the
//! request without its signature or nonce.
#![cfg(feature = "tracing")]

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::routing::any;
use axum::Router;
use http::Request;
use tower::ServiceExt;
use tower_http::trace::TraceLayer;
use tower_secure_link::{Key, ManualClock, SecureLinkLayer};

const SECRET: &str = "logging test secret, thirty-two bytes";
const NOW: u64 = 1_767_222_000;

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A subscriber that writes to `captured`, at `level` and above.
fn subscriber(captured: &Captured, level: tracing::Level) -> impl tracing::Subscriber {
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish()
}

fn layer() -> SecureLinkLayer {
    SecureLinkLayer::new(Key::new("key-2026", SECRET).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
        .with_clock(ManualClock::new(NOW))
}

#[tokio::test(flavor = "current_thread")]
async fn logs_name_the_reason_but_never_a_token_or_key() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(subscriber(&captured, tracing::Level::TRACE));
    let layer = layer();
    let signer = layer.signer();
    let redactor = layer.redactor();
    let app = Router::new()
        .fallback(any(|| async { "ok" }))
        .layer(layer)
        .layer(TraceLayer::new_for_http().make_span_with(move |request: &Request<Body>| {
            tracing::info_span!("request", uri = %redactor.redact(request.uri()))
        }));

    let valid = signer
        .link("/private/a.pdf")
        .one_time()
        .to_target()
        .unwrap();
    let expired = signer
        .link("/private/a.pdf")
        .expires_at(NOW - 600)
        .to_target()
        .unwrap();
    let sig_at = valid.find("sl_sig=").unwrap() + "sl_sig=".len();
    let mut forged = valid.clone();
    forged.replace_range(
        sig_at + 2..sig_at + 3,
        if &valid[sig_at + 2..sig_at + 3] == "x" {
            "y"
        } else {
            "x"
        },
    );
    for target in [&valid, &expired, &forged] {
        let request = Request::get(target.as_str()).body(Body::empty()).unwrap();
        app.clone().oneshot(request).await.unwrap();
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("reason=\"bad_signature\""), "{logs}");
    assert!(logs.contains("reason=\"expired\""), "{logs}");
    assert!(logs.contains("key_id=\"key-2026\""), "{logs}");
    assert!(
        logs.contains("sl_sig=REDACTED"),
        "the trace span shows the redacted URI: {logs}"
    );
    let param = |link: &str, name: &str| {
        link.split(['?', '&'])
            .find_map(|pair| pair.strip_prefix(name))
            .unwrap()
            .to_owned()
    };
    for link in [&valid, &expired, &forged] {
        let signature = param(link, "sl_sig=");
        assert!(
            !logs.contains(&signature),
            "a signature reached the logs: {logs}"
        );
    }
    assert!(
        !logs.contains(&param(&valid, "sl_nonce=")),
        "a nonce reached the logs"
    );
    assert!(!logs.contains(SECRET), "the secret reached the logs");
}

#[tokio::test(flavor = "current_thread")]
async fn a_link_on_a_public_path_is_reported_as_a_wiring_mistake() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(subscriber(&captured, tracing::Level::WARN));
    let layer = layer();
    let link = layer.signer().sign("/private/a.pdf").unwrap();
    // A layer that only ever sees the path with its mount stripped (a nest without the `axum`
    // feature's OriginalUri): the link arrives on `/a.pdf`, which it treats as public.
    let inner = tower::Layer::layer(
        &layer,
        tower::service_fn(|_: Request<Body>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Body::from("served")))
        }),
    );
    let stripped = link.strip_prefix("/private").unwrap();
    inner
        .clone()
        .oneshot(Request::get(stripped).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let quiet = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    inner
        .oneshot(Request::get("/a.pdf?v=1").body(Body::empty()).unwrap())
        .await
        .unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(quiet.contains("WARN"), "{quiet}");
    assert!(quiet.contains("treats as public"), "{quiet}");
    assert!(quiet.contains("path=/a.pdf"), "{quiet}");
    assert_eq!(
        logs, quiet,
        "a public request without a link warns of nothing"
    );
    let signature = link.split("sl_sig=").nth(1).unwrap();
    assert!(
        !logs.contains(signature),
        "the signature reached the logs: {logs}"
    );
}
