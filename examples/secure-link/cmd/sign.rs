//! `sign`: print a signed request target.

use std::time::Duration;

use tower_secure_link::{SignError, SignErrorKind, UrlSigner};

use crate::args::{parse_method, Format, SignArgs};
use crate::failure::{usage, Failure};
use crate::keys::{layer_for, required_secret};
#[cfg(not(feature = "nginx"))]
use crate::stand_ins::nginx_target;

pub fn sign(args: SignArgs) -> Result<(), Failure> {
    let version = version(&args)?;
    let signer = layer_for(&args.scheme, Some(&required_secret()?))?.signer();
    refuse_reshaped_target(&signer, &args.target)?;
    if args.scheme.format == Format::Ed25519 && args.opaque {
        return Err(usage(
            "--opaque needs --format hmac: opaque links are sealed with a shared secret",
        ));
    }
    if args.window == Some(0) {
        return Err(usage("--window must be at least 1 second"));
    }
    let minted = match args.scheme.format {
        Format::Hmac | Format::Ed25519 if args.folder => folder_link(&signer, &args)?,
        Format::Hmac | Format::Ed25519 => native_link(&signer, &args, version.as_deref())?,
        Format::Nginx | Format::NginxSecret => nginx_link(&signer, &args)?,
    };
    let signed = minted.map_err(|e| explain(&e, &args))?;
    println!("{signed}");
    Ok(())
}

/// A sign error with the fix for the options that caused it.
fn explain(e: &SignError, args: &SignArgs) -> Failure {
    let fix = match e.kind() {
        SignErrorKind::LifetimeTooLong => format!(
            " (the maximum is {} s; choose a shorter --ttl or --expires, or raise it with \
             --max-lifetime SECONDS on sign, verify and serve alike)",
            args.scheme.max_lifetime
        ),
        SignErrorKind::ReservedParameter => {
            " (drop the signing parameters from TARGET: sign the plain path)".to_owned()
        }
        SignErrorKind::InvalidClientIp => " (check each --ip)".to_owned(),
        SignErrorKind::InvalidFileName => " (check --download-as or --inline-as)".to_owned(),
        SignErrorKind::InvalidContentType => " (check --content-type)".to_owned(),
        SignErrorKind::InvalidUses => " (give --uses from 1 to 100)".to_owned(),
        SignErrorKind::OutsideDelegation => format!(
            " (SECURE_LINK_KEY is a delegated key: its {} limits what it signs)",
            e.limit().unwrap_or("delegation")
        ),
        SignErrorKind::ConfirmNeedsGet => " (drop --method)".to_owned(),
        _ => String::new(),
    };
    usage(format!("cannot sign {:?}: {e}{fix}", args.target))
}

/// The first option given that `context` cannot take, as a usage failure.
fn refuse_options(options: &[(bool, &str)], why: impl Fn(&str) -> String) -> Result<(), Failure> {
    match options.iter().find(|(given, _)| *given) {
        Some((_, option)) => Err(usage(why(option))),
        None => Ok(()),
    }
}

/// `--expires` as a number: native links need one (nginx links keep the digits as written).
fn native_expiry(args: &SignArgs) -> Result<Option<u64>, Failure> {
    args.expires
        .as_deref()
        .map(|text| {
            text.parse()
                .map_err(|_| usage(format!("--expires {text:?}: Unix seconds expected")))
        })
        .transpose()
}

/// The bound version of `--bind-file`'s file.
fn version(args: &SignArgs) -> Result<Option<String>, Failure> {
    args.bind_file
        .as_ref()
        .map(|file| {
            tower_secure_link::file_version(file)
                .map_err(|e| usage(format!("--bind-file {}: {e}", file.display())))
        })
        .transpose()
}

fn folder_link(signer: &UrlSigner, args: &SignArgs) -> Result<Result<String, SignError>, Failure> {
    refuse_options(
        &[
            (args.one_time, "--one-time"),
            (args.uses.is_some(), "--uses"),
            (args.confirm, "--confirm"),
            (args.bind_file.is_some(), "--bind-file"),
            (args.group.is_some(), "--group"),
            (args.opaque, "--opaque"),
            (!args.method.eq_ignore_ascii_case("GET"), "--method"),
            (args.client_ip.is_some(), "--client-ip"),
            (!args.networks.is_empty(), "--ip"),
            (args.download_as.is_some(), "--download-as"),
            (args.inline_as.is_some(), "--inline-as"),
            (args.content_type.is_some(), "--content-type"),
        ],
        |option| format!("{option} cannot be used with --folder"),
    )?;
    let target = &args.target;
    if !target.ends_with('/') {
        return Err(usage(format!(
            "--folder {target:?}: a folder ends with '/' (for example /private/videos/42/)"
        )));
    }
    if args.cookie_session == Some(0) {
        return Err(usage("--cookie-session must be at least 1 second"));
    }
    let mut link = signer.folder_link(target);
    if let Some(window) = args.window {
        link = link.window(Duration::from_secs(window));
    }
    if let Some(seconds) = args.cookie_session {
        link = link.cookie_session(Duration::from_secs(seconds));
    }
    if let Some(ttl) = args.ttl {
        link = link.expires_in(Duration::from_secs(ttl));
    }
    if let Some(at) = native_expiry(args)? {
        link = link.expires_at(at);
    }
    Ok(link.to_path_base())
}

fn native_link(
    signer: &UrlSigner,
    args: &SignArgs,
    version: Option<&str>,
) -> Result<Result<String, SignError>, Failure> {
    if args.client_ip.is_some() {
        return Err(usage(
            "--client-ip is for nginx templates (--format nginx); bind a native link to client \
             networks with --ip CIDR",
        ));
    }
    let mut link = signer
        .link(&args.target)
        .method(parse_method(&args.method)?);
    if args.one_time {
        link = link.one_time();
    }
    if let Some(uses) = args.uses {
        link = link.uses(uses);
    }
    if args.confirm {
        link = link.confirm();
    }
    if let Some(window) = args.window {
        link = link.window(Duration::from_secs(window));
    }
    if let Some(version) = version {
        link = link.version(version);
    }
    if let Some(group) = &args.group {
        link = link.group(group);
    }
    for network in &args.networks {
        link = link.client_ip(network);
    }
    if let Some(name) = &args.download_as {
        link = link.download_as(name);
    }
    if let Some(name) = &args.inline_as {
        link = link.inline_as(name);
    }
    if let Some(content_type) = &args.content_type {
        link = link.content_type(content_type);
    }
    if args.opaque {
        link = link.opaque();
    }
    if let Some(ttl) = args.ttl {
        link = link.expires_in(Duration::from_secs(ttl));
    }
    if let Some(at) = native_expiry(args)? {
        link = link.expires_at(at);
    }
    Ok(link.to_target())
}

fn nginx_link(signer: &UrlSigner, args: &SignArgs) -> Result<Result<String, SignError>, Failure> {
    refuse_options(
        &[
            (args.folder, "--folder"),
            (args.one_time, "--one-time"),
            (args.uses.is_some(), "--uses"),
            (args.confirm, "--confirm"),
            (args.window.is_some(), "--window"),
            (args.bind_file.is_some(), "--bind-file"),
            (args.group.is_some(), "--group"),
            (args.opaque, "--opaque"),
            (!args.method.eq_ignore_ascii_case("GET"), "--method"),
            (!args.networks.is_empty(), "--ip"),
            (args.download_as.is_some(), "--download-as"),
            (args.inline_as.is_some(), "--inline-as"),
            (args.content_type.is_some(), "--content-type"),
        ],
        |option| format!("{option} needs the native format: nginx links cannot carry it"),
    )?;
    Ok(nginx_target(
        signer,
        &args.target,
        args.ttl,
        args.expires.as_deref(),
        args.client_ip,
    ))
}

/// An nginx link: its expiry as written (nginx hashes the digits), a bound client address.
#[cfg(feature = "nginx")]
fn nginx_target(
    signer: &UrlSigner,
    target: &str,
    ttl: Option<u64>,
    expires: Option<&str>,
    client_ip: Option<std::net::IpAddr>,
) -> Result<String, SignError> {
    let mut link = signer.nginx_link(target);
    if let Some(ttl) = ttl {
        link = link.expires_in(Duration::from_secs(ttl));
    }
    if let Some(expires) = expires {
        link = link.expires_at_text(expires);
    }
    if let Some(ip) = client_ip {
        link = link.client_ip(ip);
    }
    link.to_target()
}

/// Refuses a target whose path names another file once resolved (`/private/../etc/passwd`):
/// an operator must never sign a different path than the one typed. Escaping differences
/// (`/a b.pdf` and `/a%20b.pdf`) name the same file and are fine.
fn refuse_reshaped_target(signer: &UrlSigner, target: &str) -> Result<(), Failure> {
    let path = target.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    let reshaped = segments.iter().enumerate().any(|(i, segment)| {
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        matches!(&*decoded, "." | "..") || (decoded.is_empty() && i != last)
    });
    if !reshaped {
        return Ok(());
    }
    let canonical = signer
        .link(path)
        .to_target()
        .ok()
        .and_then(|link| link.split('?').next().map(str::to_owned));
    Err(usage(match canonical {
        Some(canonical) => format!(
            "refusing to sign {target:?}: its path resolves to {canonical:?}, another spelling \
             (dot segments or '//'); sign {canonical:?} itself if that is the file you mean"
        ),
        None => format!("refusing to sign {target:?}: its path climbs above the root"),
    }))
}
