//! Arbitrary request targets against the native scheme: no panic, and nothing is admitted but
//! the files the seed corpus holds real links for (the known-answer vectors), however the
//! fuzzer respells them.
#![no_main]

use http::{Method, Uri};
use libfuzzer_sys::fuzz_target;
use tower_secure_link::fuzzing::{decoded, route, Routed};
use tower_secure_link::{Access, Key, ManualClock, SecureLinkLayer};

/// Paths of the vectors signed with the key below.
const MINTED: [&str; 3] = [
    "/private/report.pdf",
    "/private/once.pdf",
    "/private/uploads/slot-7.bin",
];

/// The folder of the folder-link vector: anything under it is granted.
const MINTED_FOLDER: &str = "/private/videos/42 & more/";

fuzz_target!(|data: &[u8]| {
    let layer = SecureLinkLayer::new(Key::new("1", "0123456789abcdef0123456789abcdef").unwrap())
        .with_private_prefix("/private/")
        .unwrap()
        .with_clock(ManualClock::new(1_767_222_000));
    let Ok(uri) = Uri::try_from(data) else { return };
    for method in [Method::GET, Method::HEAD, Method::PUT, Method::POST] {
        if let Ok(Access::Signed) = layer.check(&method, &uri) {
            let Routed::Private(canonical) = route(uri.path()) else {
                panic!("admitted a path that is not private: {uri}");
            };
            let path = decoded(&canonical);
            let granted = MINTED.contains(&path.as_str()) || path.starts_with(MINTED_FOLDER);
            assert!(granted, "admitted an unminted path: {uri}");
        }
    }
});
