//! Links a child key minted (`sl_dlg`): the link names the root's key id and carries the
//! delegation, so the layer derives the child's secret from the root it holds, checks the
//! signature with it, then holds the link to the delegation's folder, methods, deadline and
//! group. A link signed correctly by the child but outside its delegation is refused as
//! `outside_delegation`.

use http::Method;

use super::steps;
use crate::config::Settings;
use crate::key::Keyring;
use crate::rejection::RejectionKind;
use crate::token::delegation::Scope;
use crate::token::Claims;

/// [`steps::verify`] for a delegated link: the signature by the child that `param` names
/// under the root `claims` names, the times and method, then the delegation's limits.
pub(super) fn verify(
    settings: &Settings,
    keyring: &Keyring,
    (claims, param, signature): (&Claims<'_>, &str, &str),
    times: (u64, Option<u64>),
    method: &Method,
) -> Result<(bool, u64), RejectionKind> {
    // An Ed25519 root's delegation carries the child's key and certificate after the scope.
    let scope_text = param.split('.').next().unwrap_or(param);
    let (scope, bytes) =
        Scope::parse_with_bytes(scope_text).ok_or(RejectionKind::MalformedToken)?;
    let root = keyring
        .get(claims.key_id)
        .ok_or(RejectionKind::UnknownKey)?;
    if !root.verifies_delegated(param, &bytes, claims, signature) {
        return Err(RejectionKind::BadSignature);
    }
    let verified = steps::validate(settings, claims.method, times, method)?;
    let group_kept = scope.group.is_none() || scope.group.as_deref() == claims.group;
    if !scope.covers(claims.path, claims.method) || times.0 > scope.not_after || !group_kept {
        return Err(RejectionKind::OutsideDelegation);
    }
    Ok(verified)
}
