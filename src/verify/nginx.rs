//! nginx's formats ([`nginx`](crate::nginx) has the rules): `secure_link_md5` links in the
//! query, and the legacy `secure_link_secret` hash segment.

use std::borrow::Cow;

use super::verdict::{Conditions, Presented, Verdict};
use crate::config::Settings;
use crate::nginx::NginxScheme;
use crate::path::{decode_canonical, Route};
use crate::rejection::RejectionKind;

/// Verifies a private request by the nginx scheme's rules.
pub(super) fn admit<'p, 'q>(
    settings: &'q Settings,
    scheme: &'q NginxScheme,
    presented: Presented<'p, 'q, '_>,
) -> Result<Verdict<'p, 'q>, RejectionKind> {
    if scheme.is_legacy_secret() {
        return admit_legacy(settings, scheme, &presented);
    }
    let remote_addr = scheme.remote_addr(presented.extensions);
    let now = settings.clock.now_unix();
    scheme.verify(
        &decode_canonical(&presented.path),
        presented.raw_path,
        presented.query,
        now,
        remote_addr,
    )?;
    Ok(Verdict::Signed {
        path: presented.path,
        query: scheme.app_query(presented.query),
        conditions: Conditions::default(),
    })
}

/// `/prefix/<md5 hex>/rest`: the hash segment goes, and what is left must still be private.
fn admit_legacy<'p, 'q>(
    settings: &Settings,
    scheme: &NginxScheme,
    presented: &Presented<'p, 'q, '_>,
) -> Result<Verdict<'p, 'q>, RejectionKind> {
    let raw = if presented.query.is_empty() {
        Cow::Borrowed(presented.raw_path)
    } else {
        Cow::Owned(format!("{}?{}", presented.raw_path, presented.query))
    };
    let target = scheme.verify_legacy(&raw)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    match settings.prefixes.route(path) {
        Route::Private(path) => Ok(Verdict::Signed {
            path: Cow::Owned(path.into_owned()),
            query: Cow::Owned(query.to_owned()),
            conditions: Conditions::default(),
        }),
        _ => Err(RejectionKind::MalformedPath),
    }
}
