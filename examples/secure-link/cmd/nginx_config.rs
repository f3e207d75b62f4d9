//! `nginx-config`: the nginx configuration that checks the same links, or serves files the
//! application admitted (X-Accel-Redirect).

#[cfg(not(feature = "nginx"))]
pub use crate::stand_ins::nginx_config;

#[cfg(feature = "nginx")]
pub fn nginx_config(args: &crate::args::NginxConfigArgs) -> Result<(), crate::failure::Failure> {
    use crate::failure::usage;
    use crate::keys::{nginx_scheme, required_secret};

    let config = match (&args.accel_internal, &args.upstream) {
        (Some(internal), Some(upstream)) => {
            tower_secure_link::nginx::accel_config(&args.location, internal, &args.alias, upstream)
                .map_err(|e| usage(e.to_string()))?
        }
        _ => nginx_scheme(&args.nginx, &required_secret()?)?
            .location_block(&args.location, &args.alias)
            .map_err(|e| usage(e.to_string()))?,
    };
    print!("{config}");
    Ok(())
}
