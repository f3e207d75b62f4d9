//! Arbitrary request targets against the nginx scheme and its legacy mode: no panic.
#![no_main]

use http::{Method, Uri};
use libfuzzer_sys::fuzz_target;
use tower_secure_link::nginx::NginxScheme;
use tower_secure_link::{ManualClock, SecureLinkLayer};

fuzz_target!(|data: &[u8]| {
    let Ok(uri) = Uri::try_from(data) else { return };
    let layers = [
        SecureLinkLayer::nginx(NginxScheme::new("s3cr3t")).unwrap(),
        SecureLinkLayer::nginx(NginxScheme::new("s3cr3t").without_expiry()).unwrap(),
        SecureLinkLayer::nginx(NginxScheme::legacy_secret("secret")).unwrap(),
    ];
    for layer in layers {
        let layer = layer
            .with_private_prefix("/private/")
            .unwrap()
            .with_private_prefix("/p/")
            .unwrap()
            .with_clock(ManualClock::new(1_700_000_000));
        let _ = layer.check(&Method::GET, &uri);
    }
});
