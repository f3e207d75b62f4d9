//! The application's failure is not a use: a one-time request whose service answers with a 5xx,
//! or fails instead of answering, gives its use back and the link works again; a 4xx keeps it.
//! With the memory store in process, and (feature `redis`) with a real redis-server;
//! `tests/redis_cluster.rs` checks it on a Redis Cluster.

#[cfg(feature = "redis")]
mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use http::{header, Method, Request, Response, StatusCode};
use tokio::sync::Notify;
use tower::{service_fn, Layer, ServiceExt};
use tower_secure_link::one_time::{Attempt, MemoryNonceStore, NonceStore, Use};
use tower_secure_link::{Key, RejectionKind, SecureLinkLayer};

const KEY: &str = "give-back test secret, 32 bytes long";

/// What the application does with one request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Status(u16),
    Fail,
}

/// An application that answers with `script` in order, then 200 for ever; it counts the
/// requests it saw, and waits for `hold` before its first answer when given one.
#[derive(Clone, Default)]
struct App {
    script: Arc<Mutex<VecDeque<Answer>>>,
    seen: Arc<Mutex<usize>>,
    hold: Option<Arc<Notify>>,
}

impl App {
    fn new(script: &[Answer]) -> Self {
        Self {
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            ..Self::default()
        }
    }

    fn seen(&self) -> usize {
        *self.seen.lock().unwrap()
    }

    /// The layer around this application, as a service answering `Result<_, String>`.
    fn behind(
        &self,
        layer: &SecureLinkLayer,
    ) -> impl tower::Service<
        Request<Body>,
        Response = Response<Body>,
        Error = String,
        Future = impl Send,
    > + Clone {
        let app = self.clone();
        layer.layer(service_fn(move |_: Request<Body>| {
            let app = app.clone();
            async move {
                let first = {
                    let mut seen = app.seen.lock().unwrap();
                    *seen += 1;
                    *seen == 1
                };
                if let (true, Some(hold)) = (first, &app.hold) {
                    hold.notified().await;
                }
                let next = app.script.lock().unwrap().pop_front();
                match next.unwrap_or(Answer::Status(200)) {
                    Answer::Status(status) => Ok(Response::builder()
                        .status(status)
                        .body(Body::from("the private bytes"))
                        .unwrap()),
                    Answer::Fail => Err("the application failed".to_owned()),
                }
            }
        }))
    }
}

fn layer() -> SecureLinkLayer {
    SecureLinkLayer::new(Key::new("1", KEY).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
}

/// The status the layer answered with, or `None` when the service failed.
async fn status<S>(service: &S, request: Request<Body>) -> Option<StatusCode>
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = String> + Clone,
{
    service
        .clone()
        .oneshot(request)
        .await
        .ok()
        .map(|response| response.status())
}

fn get(target: &str) -> Request<Body> {
    Request::get(target).body(Body::empty()).unwrap()
}

/// A plain one-time link, and one that carries a revocation group (whose store answer comes
/// through a future even on the memory store).
fn links(layer: &SecureLinkLayer) -> [(&'static str, String); 2] {
    let signer = layer.signer();
    [
        (
            "plain",
            signer
                .link("/private/report.pdf")
                .one_time()
                .to_target()
                .unwrap(),
        ),
        (
            "with a group",
            signer
                .link("/private/report.pdf")
                .one_time()
                .group("team")
                .to_target()
                .unwrap(),
        ),
    ]
}

const OK: Option<StatusCode> = Some(StatusCode::OK);
const GONE: Option<StatusCode> = Some(StatusCode::GONE);

#[tokio::test]
async fn a_server_error_gives_the_use_back() {
    let layer = layer();
    for (name, link) in links(&layer) {
        let app = App::new(&[Answer::Status(500), Answer::Status(503)]);
        let service = app.behind(&layer);
        let server_error = Some(StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(status(&service, get(&link)).await, server_error, "{name}");
        assert_eq!(
            status(&service, get(&link)).await,
            Some(StatusCode::SERVICE_UNAVAILABLE),
            "{name}: given back, so the application is asked again"
        );
        assert_eq!(status(&service, get(&link)).await, OK, "{name}");
        assert_eq!(status(&service, get(&link)).await, GONE, "{name}: used");
        assert_eq!(app.seen(), 3, "{name}");
    }
}

#[tokio::test]
async fn a_failure_instead_of_an_answer_gives_the_use_back() {
    let layer = layer();
    for (name, link) in links(&layer) {
        let app = App::new(&[Answer::Fail]);
        let service = app.behind(&layer);
        assert_eq!(status(&service, get(&link)).await, None, "{name}");
        assert_eq!(status(&service, get(&link)).await, OK, "{name}");
        assert_eq!(status(&service, get(&link)).await, GONE, "{name}");
    }
}

#[tokio::test]
async fn a_client_error_from_the_application_is_an_answer_and_uses_the_link() {
    let layer = layer();
    for answer in [404, 403, 409] {
        for (name, link) in links(&layer) {
            let app = App::new(&[Answer::Status(answer)]);
            let service = app.behind(&layer);
            let first = status(&service, get(&link)).await;
            assert_eq!(first.map(|s| s.as_u16()), Some(answer), "{name}");
            assert_eq!(status(&service, get(&link)).await, GONE, "{name}: {answer}");
            assert_eq!(app.seen(), 1, "{name}: {answer}");
        }
    }
}

#[tokio::test]
async fn a_request_refused_while_another_holds_the_use_leaves_the_later_use_alone() {
    let layer = layer();
    for (name, link) in links(&layer) {
        let hold = Arc::new(Notify::new());
        let app = App {
            hold: Some(hold.clone()),
            ..App::new(&[Answer::Status(500)])
        };
        let service = app.behind(&layer);
        // The first request has used the link and waits in the application.
        let first = tokio::spawn({
            let (service, link) = (service.clone(), link.clone());
            async move { status(&service, get(&link)).await }
        });
        while app.seen() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            status(&service, get(&link)).await,
            GONE,
            "{name}: in use meanwhile"
        );
        hold.notify_one();
        assert_eq!(
            first.await.unwrap(),
            Some(StatusCode::INTERNAL_SERVER_ERROR)
        );
        // The failed request's use is given back: the next one succeeds, and its use stays.
        assert_eq!(status(&service, get(&link)).await, OK, "{name}");
        assert_eq!(status(&service, get(&link)).await, GONE, "{name}");
        assert_eq!(
            app.seen(),
            2,
            "{name}: the refused request never reached it"
        );
    }
}

#[tokio::test]
async fn a_failed_resume_keeps_the_use_it_did_not_make() {
    let layer = layer().with_one_time_resume_window(Duration::from_secs(60));
    let link = layer
        .signer()
        .link("/private/big.iso")
        .one_time()
        .to_target()
        .unwrap();
    let app = App::new(&[Answer::Status(200), Answer::Status(500)]);
    let service = app.behind(&layer);
    assert_eq!(status(&service, get(&link)).await, OK);
    let resume = Request::get(&link)
        .header(header::RANGE, "bytes=100-")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        status(&service, resume).await,
        Some(StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert_eq!(
        status(&service, get(&link)).await,
        GONE,
        "the first use stays"
    );
}

#[tokio::test]
async fn an_upload_slot_the_application_failed_can_be_used_again() {
    let layer = layer();
    let slot = layer
        .signer()
        .link("/private/uploads/cv.pdf")
        .method(Method::PUT)
        .one_time()
        .max_body_size(1024)
        .to_target()
        .unwrap();
    let app = App::new(&[Answer::Status(500)]);
    let service = app.behind(&layer);
    let put = || {
        Request::put(&slot)
            .body(Body::from(vec![1u8; 100]))
            .unwrap()
    };
    assert_eq!(
        status(&service, put()).await,
        Some(StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert_eq!(status(&service, put()).await, OK);
    let reused = service.clone().oneshot(put()).await.unwrap();
    assert_eq!(reused.status(), StatusCode::GONE);
    assert_eq!(
        reused
            .extensions()
            .get::<tower_secure_link::Rejection>()
            .map(|r| r.kind()),
        Some(RejectionKind::AlreadyUsed)
    );
}

#[tokio::test]
async fn the_memory_store_gives_back_only_the_attempt_that_used_the_nonce() {
    let store = MemoryNonceStore::new();
    let nonce = "q83vEjRWeJq83vEjRWeJqw";
    let keep = Duration::from_secs(60);
    let (failed, stranger, later) = (Attempt::fresh(), Attempt::fresh(), Attempt::fresh());
    assert_eq!(
        store.consume_attempt(nonce, 100, keep, failed).await,
        Ok(Use::First)
    );
    store.release(nonce, stranger).await.unwrap();
    assert_eq!(
        store.consume(nonce, 101, keep).await,
        Ok(Use::Repeated { first_used_at: 100 })
    );
    store.release(nonce, failed).await.unwrap();
    assert_eq!(
        store.consume_attempt(nonce, 102, keep, later).await,
        Ok(Use::First)
    );
    // The failed attempt's give-back once more (late, or repeated): the later use stays.
    store.release(nonce, failed).await.unwrap();
    assert_eq!(
        store.consume(nonce, 103, keep).await,
        Ok(Use::Repeated { first_used_at: 102 })
    );
}

/// A store written before give-backs existed: it implements `consume` only.
struct OldStore(MemoryNonceStore);

impl NonceStore for OldStore {
    fn consume(
        &self,
        nonce: &str,
        used_at: u64,
        keep_for: Duration,
    ) -> tower_secure_link::one_time::ConsumeFuture {
        self.0.consume(nonce, used_at, keep_for)
    }
}

#[tokio::test]
async fn a_store_without_give_backs_keeps_the_use() {
    let layer = layer().with_nonce_store(OldStore(MemoryNonceStore::new()));
    let [(_, link), _] = links(&layer);
    let app = App::new(&[Answer::Status(500)]);
    let service = app.behind(&layer);
    assert_eq!(
        status(&service, get(&link)).await,
        Some(StatusCode::INTERNAL_SERVER_ERROR)
    );
    assert_eq!(status(&service, get(&link)).await, GONE);
}

#[test]
fn attempts_differ() {
    let attempts: std::collections::HashSet<u64> =
        (0..10_000).map(|_| Attempt::fresh().id()).collect();
    assert_eq!(attempts.len(), 10_000);
}

/// The same on a real redis-server: the store, the layer with one store, and two stores
/// ("servers") sharing the Redis.
#[cfg(feature = "redis")]
mod redis {
    use super::*;
    use std::time::Instant;
    use tower_secure_link::one_time::RedisNonceStore;

    async fn store(redis: &super::support::RedisServer) -> RedisNonceStore {
        RedisNonceStore::connect(&redis.url()).await.unwrap()
    }

    #[tokio::test]
    async fn redis_gives_back_only_the_attempt_that_used_the_nonce() {
        let Some(binary) = super::support::redis_binary() else {
            return;
        };
        let redis = super::support::RedisServer::start(&binary);
        let store = store(&redis).await;
        let nonce = "q83vEjRWeJq83vEjRWeJqw";
        let keep = Duration::from_secs(60);
        let (failed, stranger, later) = (Attempt::fresh(), Attempt::fresh(), Attempt::fresh());
        assert_eq!(
            store.consume_attempt(nonce, 100, keep, failed).await,
            Ok(Use::First)
        );
        store.release(nonce, stranger).await.unwrap();
        assert_eq!(
            store.consume(nonce, 101, keep).await,
            Ok(Use::Repeated { first_used_at: 100 }),
            "another attempt's give-back keeps the use"
        );
        store.release(nonce, failed).await.unwrap();
        assert_eq!(
            store.consume_attempt(nonce, 102, keep, later).await,
            Ok(Use::First)
        );
        store.release(nonce, failed).await.unwrap();
        assert_eq!(
            store.consume(nonce, 103, keep).await,
            Ok(Use::Repeated { first_used_at: 102 }),
            "a late give-back of the failed attempt leaves the later use"
        );
    }

    #[tokio::test]
    async fn a_failed_request_gives_its_use_back_in_redis() {
        let Some(binary) = super::support::redis_binary() else {
            return;
        };
        let redis = super::support::RedisServer::start(&binary);
        let layer = layer().with_nonce_store(store(&redis).await);
        for failure in [Answer::Status(500), Answer::Fail] {
            for (name, link) in links(&layer) {
                let service = App::new(&[failure]).behind(&layer);
                let first = status(&service, get(&link)).await;
                assert_ne!(first, OK, "{name}: {failure:?}");
                // Sent at once: the give-back may still be on its way, and this server waits
                // for it rather than answer 410.
                let again = status(&service, get(&link)).await;
                assert_eq!(again, OK, "{name}: {failure:?}");
                let used = status(&service, get(&link)).await;
                assert_eq!(used, GONE, "{name}: {failure:?}");
            }
        }
        for (name, link) in links(&layer) {
            let service = App::new(&[Answer::Status(404)]).behind(&layer);
            let missing = Some(StatusCode::NOT_FOUND);
            assert_eq!(status(&service, get(&link)).await, missing, "{name}");
            assert_eq!(
                status(&service, get(&link)).await,
                GONE,
                "{name}: a 404 uses it"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_use_given_back_on_one_server_is_usable_on_another_and_only_once() {
        let Some(binary) = super::support::redis_binary() else {
            return;
        };
        let redis = super::support::RedisServer::start(&binary);
        let one = layer().with_nonce_store(store(&redis).await);
        let other = layer().with_nonce_store(store(&redis).await);
        let link = one
            .signer()
            .link("/private/report.pdf")
            .one_time()
            .to_target()
            .unwrap();
        let hold = Arc::new(Notify::new());
        let failing = App {
            hold: Some(hold.clone()),
            ..App::new(&[Answer::Status(500)])
        };
        let (first, second) = (failing.behind(&one), App::new(&[]).behind(&other));
        let failed = tokio::spawn({
            let (first, link) = (first.clone(), link.clone());
            async move { status(&first, get(&link)).await }
        });
        while failing.seen() == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            status(&second, get(&link)).await,
            GONE,
            "in use on the other server"
        );
        hold.notify_one();
        assert_eq!(
            failed.await.unwrap(),
            Some(StatusCode::INTERNAL_SERVER_ERROR)
        );
        // The other server sees the give-back once Redis has it.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let answer = status(&second, get(&link)).await;
            if answer == OK {
                break;
            }
            assert_eq!(answer, GONE);
            assert!(Instant::now() < deadline, "the use was not given back");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(status(&first, get(&link)).await, GONE);
        assert_eq!(status(&second, get(&link)).await, GONE);
    }
}
