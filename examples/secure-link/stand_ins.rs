//! What a build without a feature does in place of the commands that need it: each answers
//! with the feature to build with, so the command line stays the same in every build.
//!
//! Every item here is compiled only in a build that lacks its feature; a build with all of
//! them compiles none.
#![allow(unused_imports, dead_code)]

use tower_secure_link::SecureLinkLayer;

use crate::failure::{usage, Failure};

/// The message of a build without `feature`.
fn missing_feature(what: &str, feature: &str) -> Failure {
    usage(format!(
        "this build has no {what} support: build with --all-features (or --features {feature})"
    ))
}

#[cfg(not(feature = "ed25519"))]
pub fn ed25519_layer(_: Option<&str>) -> Result<SecureLinkLayer, Failure> {
    Err(missing_feature("Ed25519", "ed25519"))
}

#[cfg(not(feature = "ed25519"))]
pub fn keygen_ed25519(_: [u8; 32], _: &str) -> Result<(), Failure> {
    Err(missing_feature("Ed25519", "ed25519"))
}

#[cfg(not(feature = "nginx"))]
pub fn nginx_layer(
    _: &crate::args::NginxArgs,
    _: &str,
    _: bool,
) -> Result<SecureLinkLayer, Failure> {
    Err(missing_feature("nginx", "nginx"))
}

#[cfg(not(feature = "nginx"))]
pub fn nginx_target(
    signer: &tower_secure_link::UrlSigner,
    target: &str,
    _: Option<u64>,
    _: Option<&str>,
    _: Option<std::net::IpAddr>,
) -> Result<String, tower_secure_link::SignError> {
    // Unreachable: without the feature, nginx formats fail when the layer is built.
    signer.sign(target)
}

#[cfg(not(feature = "nginx"))]
pub fn nginx_config(args: &crate::args::NginxConfigArgs) -> Result<(), Failure> {
    let _ = args;
    Err(missing_feature("nginx", "nginx"))
}

#[cfg(not(feature = "redis"))]
pub async fn redis_store(
    _: &str,
    _: bool,
) -> Result<tower_secure_link::one_time::MemoryNonceStore, Failure> {
    Err(missing_feature("Redis", "redis"))
}
