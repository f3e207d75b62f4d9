//! Allocation counts on the hot paths, with a counting global allocator. Counts are exact and
//! repeatable, unlike timings, so they are checked here; timings live in `benches/`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http::{Method, Request, Response};
use tower::{service_fn, Layer, Service};
use tower_secure_link::{Key, ManualClock, SecureLinkLayer};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated and not yet freed by this thread.
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        LIVE_BYTES.with(|live| live.set(live.get() + layout.size() as isize));
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.with(|live| live.set(live.get() - layout.size() as isize));
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        LIVE_BYTES.with(|live| live.set(live.get() + new_size as isize - layout.size() as isize));
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATIONS.with(Cell::get);
    let value = f();
    (value, ALLOCATIONS.with(Cell::get) - before)
}

fn layer() -> SecureLinkLayer {
    SecureLinkLayer::new(Key::new("1", [9u8; 32]).unwrap())
        .with_private_prefix("/private/")
        .unwrap()
        .with_clock(ManualClock::new(1_767_222_000))
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
        Poll::Pending => panic!("the test service is always ready"),
    }
}

#[test]
fn public_pass_through_does_not_allocate() {
    // Also with a mount path, whose client path is joined on the stack.
    for layer in [layer(), layer().with_mount_path("/app").unwrap()] {
        let mut service =
            layer
                .with_signer_extension(false)
                .layer(service_fn(|_: Request<String>| async {
                    Ok::<_, Infallible>(Response::new(()))
                }));
        let waker = noop_waker();
        for path in [
            "/",
            "/index.html",
            "/static/app.js?v=3",
            "/private-x/file.txt",
        ] {
            let request = Request::get(path).body(String::new()).unwrap();
            let (response, count) = allocations_during(|| poll_once(service.call(request), &waker));
            assert!(response.is_ok());
            assert_eq!(count, 0, "{path}");
        }
    }
}

#[test]
fn minting_a_plain_link_allocates_once() {
    let signer = layer().signer();
    // The first read of the keyring on a thread registers it with arc-swap, once.
    signer.sign("/private/warm-up").unwrap();
    for target in ["/private/report.pdf", "/private/a/b.txt?v=2"] {
        let (link, count) = allocations_during(|| signer.sign(target).unwrap());
        assert!(link.contains("sl_sig="));
        assert_eq!(count, 1, "{target}");
    }
}

#[test]
fn checking_a_link_does_not_allocate() {
    let layer = layer();
    let link: http::Uri = layer
        .signer()
        .sign("/private/report.pdf")
        .unwrap()
        .parse()
        .unwrap();
    let (result, count) = allocations_during(|| layer.check(&Method::GET, &link));
    assert!(result.is_ok());
    // Verifying borrows everything from the request; only the inner service's rewritten
    // target (in the service, not here) may need a string.
    assert_eq!(count, 0);
}

#[test]
fn the_memory_store_holds_a_live_nonce_in_at_most_128_bytes() {
    use std::time::Duration;
    use tower_secure_link::one_time::{MemoryNonceStore, NonceStore};

    const NONCES: u32 = 100_000;
    let nonces: Vec<String> = (0..NONCES)
        .map(|i| {
            use base64::Engine as _;
            let mut bytes = [0u8; 16];
            bytes[..4].copy_from_slice(&i.to_be_bytes());
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        })
        .collect();
    let before = LIVE_BYTES.with(Cell::get);
    let store = MemoryNonceStore::with_capacity(NONCES as usize);
    let waker = noop_waker();
    for nonce in &nonces {
        let used = poll_once(
            store.consume(nonce, 1_767_222_000, Duration::from_secs(3600)),
            &waker,
        );
        assert!(used.is_ok());
    }
    let per_nonce = (LIVE_BYTES.with(Cell::get) - before) as f64 / f64::from(NONCES);
    eprintln!("memory store: {per_nonce:.1} bytes per live nonce at {NONCES}");
    assert!(per_nonce <= 128.0, "{per_nonce:.1} bytes per nonce");
    assert_eq!(store.len(), NONCES as usize);
}
