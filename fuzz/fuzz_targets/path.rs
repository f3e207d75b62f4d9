//! The path boundary: any input routes without panicking, and what it routes to is a fixed
//! point (routing a canonical path again gives the same path and the same class).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_secure_link::fuzzing::{decoded, route, Routed};

fuzz_target!(|raw: &str| {
    let routed = route(raw);
    let (canonical, private) = match &routed {
        Routed::Public(path) => (path, false),
        Routed::Private(path) => (path, true),
        Routed::Refused => return,
    };
    if !raw.starts_with('/') {
        return;
    }
    assert!(!canonical.contains("//"), "{raw:?} -> {canonical:?}");
    assert!(
        !canonical.split('/').any(|segment| segment == "." || segment == ".."),
        "{raw:?} -> {canonical:?}"
    );
    let again = route(canonical);
    let same = match (&again, private) {
        (Routed::Private(path), true) => path == canonical,
        (Routed::Public(path), false) => path == canonical,
        _ => false,
    };
    assert!(same, "{raw:?} -> {routed:?} -> {again:?}");
    if private {
        let plain = decoded(canonical);
        assert!(plain.starts_with("/private") || plain.starts_with("/media/private"), "{raw:?}");
        assert!(!plain.contains('\0'), "{raw:?}");
        assert!(!plain.starts_with("/private/public/"), "{raw:?}");
    }
});
