//! `nginx-config`: the nginx configuration that checks the same links, or serves files the
//! application admitted (X-Accel-Redirect).

#[cfg(not(feature = "nginx"))]
pub use crate::stand_ins::nginx_config;

#[cfg(feature = "nginx")]
pub fn nginx_config(args: &crate::args::NginxConfigArgs) -> Result<(), crate::failure::Failure> {
    use crate::failure::usage;
    use crate::keys::{nginx_scheme, required_secret};

    if args.native {
        return native_config(args);
    }
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

/// `--native`: nginx's JavaScript module verifies native links; the scripts go into --js-dir.
#[cfg(feature = "nginx")]
fn native_config(args: &crate::args::NginxConfigArgs) -> Result<(), crate::failure::Failure> {
    use tower_secure_link::nginx::NativeConfig;

    use crate::failure::usage;
    use crate::keys::{required_secret, secrets};

    let fail = |e: tower_secure_link::nginx::NativeConfigError| usage(e.to_string());
    let mut config = NativeConfig::new(&args.alias)
        .map_err(fail)?
        .with_location(&args.location)
        .map_err(fail)?;
    for (id, secret) in secrets(&required_secret()?)? {
        config = config
            .with_key(&id, secret.as_bytes())
            .map_err(|e| usage(format!("key {id:?}: {e}")))?;
    }
    if let Some(url) = &args.fallback {
        config = config
            .with_fallback(url)
            .map_err(|e| usage(format!("--fallback {url:?}: {e}")))?;
    }
    let dir = match &args.js_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()
            .map_err(|e| usage(format!("the current folder: {e}; pass --js-dir DIR")))?,
    };
    let output = config
        .write_scripts(&dir)
        .map_err(|e| usage(format!("--js-dir {}: {e}", dir.display())))?;
    print!("{output}");
    Ok(())
}
