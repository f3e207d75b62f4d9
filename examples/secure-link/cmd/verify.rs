//! `verify`: check a signed request target as the layer would.

use std::net::SocketAddr;

use http::Uri;
use tower_secure_link::RejectionKind;

use crate::args::{parse_method, Format, VerifyArgs};
use crate::failure::{runtime_failure, usage, Failure};
use crate::keys::{layer_for, required_secret, secret_from_env};

pub fn verify(args: VerifyArgs) -> Result<(), Failure> {
    let VerifyArgs {
        method,
        private,
        client_ip,
        scheme,
        target,
    } = args;
    let secret = match scheme.format {
        Format::Ed25519 => secret_from_env()?,
        _ => Some(required_secret()?),
    };
    let mut layer = layer_for(&scheme, secret.as_deref())?;
    for prefix in &private {
        layer = layer
            .with_private_prefix(prefix.as_str())
            .map_err(|e| usage(e.to_string()))?;
    }
    let method = parse_method(&method)?;
    // The reason alone on stderr, so scripts can match it.
    let not_valid = |reason: &str| {
        eprintln!("{reason}");
        runtime_failure("")
    };
    let uri: Uri = target
        .parse()
        .map_err(|_| not_valid(RejectionKind::MalformedPath.as_str()))?;
    let mut request = http::Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    if let Some(ip) = client_ip {
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(SocketAddr::new(ip, 0)));
    }
    match layer.check_request(&request) {
        Ok(_) => {
            println!("valid");
            Ok(())
        }
        // The stable label (`bad_signature`, `expired`, `unknown_key`, ...).
        Err(rejection) => Err(not_valid(rejection.kind().as_str())),
    }
}
