//! SPEC.md is the contract second implementations are written from: it must name every signing
//! parameter the crate reads, and every rejection reason a verifier returns.

use tower_secure_link::RejectionKind;

const SPEC: &str = include_str!("../SPEC.md");

#[test]
fn the_spec_names_every_signing_parameter() {
    for name in [
        "kid", "method", "nbf", "exp", "nonce", "max", "ver", "grp", "ip", "cd", "ct", "uses",
        "confirm", "dlg", "prefix", "sig",
    ] {
        assert!(
            SPEC.contains(&format!("`sl_{name}`")),
            "SPEC.md lacks sl_{name}"
        );
    }
}

#[test]
fn the_spec_names_the_reasons_second_implementations_return() {
    for kind in [
        RejectionKind::MissingToken,
        RejectionKind::MalformedToken,
        RejectionKind::UnknownKey,
        RejectionKind::BadSignature,
        RejectionKind::Expired,
        RejectionKind::NotYetValid,
        RejectionKind::LifetimeTooLong,
        RejectionKind::MethodNotAllowed,
        RejectionKind::OutsideScope,
        RejectionKind::AlreadyUsed,
        RejectionKind::IpNotAllowed,
        RejectionKind::OutsideDelegation,
        RejectionKind::ConfirmationRequired,
        RejectionKind::Prefetch,
        RejectionKind::VersionChanged,
        RejectionKind::Revoked,
    ] {
        assert!(
            SPEC.contains(&format!("`{}`", kind.as_str())),
            "SPEC.md lacks {}",
            kind.as_str()
        );
    }
}
