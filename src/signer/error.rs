//! Why minting failed: [`SignError`] and its [`SignErrorKind`].

use std::fmt;

/// Why a link could not be minted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignError {
    kind: SignErrorKind,
    /// The query parameter at fault, when one is.
    parameter: Option<Box<str>>,
    /// For a child key, the limit of its delegation the link would cross.
    limit: Option<&'static str>,
}

/// The reasons minting can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignErrorKind {
    /// The target's path does not start with `/`, holds a bad escape, NUL or invalid UTF-8, climbs
    /// above the root, reads differently to different servers (an escaped `/`, a `\`, ...), or
    /// names a private prefix in another letter case (which the layer refuses outright).
    InvalidTarget,
    /// The target's query already uses a name with the reserved prefix.
    ReservedParameter,
    /// The target's query holds a parameter the layer ignores
    /// ([`with_ignored_params`](crate::SecureLinkLayer::with_ignored_params)): verifying skips
    /// it and the inner service never sees it, so the link could not carry it.
    /// [`SignError::parameter`] names it.
    IgnoredParameter,
    /// The link would live longer than the maximum lifetime.
    LifetimeTooLong,
    /// The not-before time is after the expiry, a folder link's cookie session is under one
    /// second, or an nginx expiry is not positive decimal seconds.
    InvalidTimes,
    /// The method is not a plain upper-case token.
    InvalidMethod,
    /// The link's scheme cannot express what was asked (a method or not-before time in an nginx
    /// link, a raw or missing expiry in a native one).
    NotSupportedByScheme,
    /// The nginx template uses `{remote_addr}` and no client address was given.
    MissingClientIp,
    /// The operating system gave no randomness for a one-time link's nonce.
    NoRandomness,
    /// The base is not an `http` or `https` origin with nothing after the host.
    InvalidBaseUrl,
    /// A revocation group is empty, longer than 64 characters or holds characters outside
    /// `A-Z a-z 0-9 . _ -`.
    InvalidGroup,
    /// An opaque link was asked for, but the layer has no opaque prefix.
    NoOpaquePrefix,
    /// A version was bound to a link for another method than GET (a version is checked on
    /// what the service answers to a read).
    VersionNeedsGet,
    /// The keyring's signing key only verifies (an Ed25519 public key), or an opaque link was
    /// asked of a key that cannot seal one (opaque links need an HMAC key).
    VerifyOnlyKey,
    /// A number the link would carry (its expiry, not-before time or upload limit) is over
    /// 2^63 - 1, the largest a verifier reads.
    OutOfRange,
    /// A version's validator is empty, longer than 192 bytes, or holds a byte no header value
    /// can (a response could never carry it).
    InvalidVersion,
    /// The target's path lies under the layer's opaque prefix, or holds a segment that starts
    /// with the folder-token marker (`sl_t~` by default): the layer would read it as a token.
    ReservedPath,
    /// An opaque link, a folder link in its path-segment form, or a link with a policy (client
    /// networks, a download name or type, several uses, a confirmation) for a target the layer
    /// treats as public: the layer would pass the request on without reading the link.
    NotPrivate,
    /// A client network is not an IP address or `address/length` CIDR block, has bits set
    /// past its length, is an IPv4-mapped IPv6 form, or is one more than 16.
    InvalidClientIp,
    /// A download name is empty, longer than 255 bytes, `.` or `..`, or holds a control
    /// character, `/`, `\` or a bidirectional control.
    InvalidFileName,
    /// A content type is not `type/subtype` with optional `; name=value` parameters of token
    /// characters, or is longer than 127 bytes.
    InvalidContentType,
    /// A link's number of uses is 0 or more than 100.
    InvalidUses,
    /// A confirm link was asked for another method than GET (its page POSTs to fetch the
    /// file).
    ConfirmNeedsGet,
    /// The signing key is delegated and the link would lie outside its delegation:
    /// [`SignError::limit`] names which limit.
    OutsideDelegation,
    /// The link would be longer than a request target can be (65,534 bytes, what the `http`
    /// crate's `Uri` holds).
    TooLong,
}

impl SignError {
    pub(crate) fn new(kind: SignErrorKind) -> Self {
        Self {
            kind,
            parameter: None,
            limit: None,
        }
    }

    /// An [`OutsideDelegation`](SignErrorKind::OutsideDelegation) error naming the `limit`.
    pub(crate) fn outside_delegation(limit: &'static str) -> Self {
        Self {
            kind: SignErrorKind::OutsideDelegation,
            parameter: None,
            limit: Some(limit),
        }
    }

    /// For [`SignErrorKind::OutsideDelegation`]: which limit of the child key's delegation the
    /// link would cross (`folder`, `method`, `deadline`, `group`, or the link's kind).
    pub fn limit(&self) -> Option<&str> {
        self.limit
    }

    /// An [`IgnoredParameter`](SignErrorKind::IgnoredParameter) error naming `name`.
    pub(crate) fn ignored(name: &str) -> Self {
        Self {
            kind: SignErrorKind::IgnoredParameter,
            parameter: Some(name.into()),
            limit: None,
        }
    }

    /// Why minting failed.
    pub fn kind(&self) -> SignErrorKind {
        self.kind
    }

    /// The name of the query parameter that made minting fail, as the target spells it (for
    /// [`SignErrorKind::IgnoredParameter`]).
    pub fn parameter(&self) -> Option<&str> {
        self.parameter.as_deref()
    }
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (SignErrorKind::OutsideDelegation, Some(limit)) = (self.kind, self.limit) {
            return write!(
                f,
                "the link lies outside this key's delegation ({limit}): a delegated key mints \
                 only under its folder, for its methods, expiring by its deadline"
            );
        }
        if let (SignErrorKind::IgnoredParameter, Some(name)) = (self.kind, &self.parameter) {
            return write!(
                f,
                "the target's query holds {name:?}, a parameter the layer ignores: verifying \
                 skips it and the inner service never sees it, so the link cannot carry it; \
                 drop it from the target or stop ignoring it"
            );
        }
        f.write_str(self.kind.message())
    }
}

impl SignErrorKind {
    /// The reason, in words (with the fix where there is one).
    fn message(self) -> &'static str {
        match self {
            Self::InvalidTarget => {
                "the target path must start with '/' and hold no bad escape, NUL, invalid UTF-8, \
                 escaped '/', '\\', or '..' above the root, nor name a private prefix in another \
                 letter case"
            }
            Self::ReservedParameter => {
                "the target's query already holds a parameter with the reserved signing prefix"
            }
            Self::IgnoredParameter => {
                "the target's query holds a parameter the layer ignores when it verifies"
            }
            Self::LifetimeTooLong => "the link would outlive the maximum lifetime",
            Self::InvalidTimes => {
                "the times do not fit: the not-before time is after the expiry, a cookie session \
                 is under one second, or an nginx expiry is not a positive number of seconds"
            }
            Self::InvalidMethod => "the method must be 1 to 16 upper-case letters",
            Self::NotSupportedByScheme => {
                "the link format cannot express that (nginx links bind no method or start \
                 time; native links need a numeric expiry)"
            }
            Self::MissingClientIp => "the nginx template needs the client's address",
            Self::NoRandomness => "no randomness was available for a one-time nonce",
            Self::InvalidBaseUrl => {
                "the base URL must be an http(s) origin such as https://example.com"
            }
            Self::InvalidGroup => crate::token::GROUP_RULE,
            Self::VersionNeedsGet => {
                "only GET links can be bound to a version (it is checked on the response)"
            }
            Self::VerifyOnlyKey => {
                "the signing key cannot mint this link: an Ed25519 public key only verifies \
                 (mint where the private key is), and opaque links need an HMAC key"
            }
            Self::NoOpaquePrefix => {
                "opaque links need an opaque prefix on the layer (with_opaque_prefix)"
            }
            Self::OutOfRange => {
                "a number in the link (expiry, not-before time or upload limit) is over 2^63 - 1 \
                 (9223372036854775807), the largest a verifier reads: choose an earlier time or \
                 a smaller limit"
            }
            Self::InvalidVersion => {
                "a version must be 1 to 192 bytes that a header value can hold (an ETag or \
                 Last-Modified value, or file_version's)"
            }
            Self::ReservedPath => {
                "the layer would read this path as a token: it holds a segment starting with \
                 the folder-token marker ('sl_t~' for the default prefix) or lies under the \
                 opaque prefix; rename the segment or sign another path"
            }
            Self::NotPrivate => {
                "the target is public to the layer, which would pass the request on without \
                 opening the link: opaque links and folder links in the path need a target \
                 under a private prefix (use a plain link, or the folder link's query form)"
            }
            Self::InvalidClientIp => {
                "a client network must be an IP address or a CIDR block with no bits set past \
                 its length (203.0.113.0/24, 2001:db8::/32; write IPv4 addresses in IPv4 form), \
                 at most 16 per link"
            }
            Self::InvalidFileName => {
                "a download name must be 1 to 255 bytes with no control character, '/', '\\' or \
                 bidirectional control, and not '.' or '..' (quotes, ';' and non-ASCII are fine)"
            }
            Self::InvalidContentType => {
                "a content type must be type/subtype with optional '; name=value' parameters of \
                 token characters (no quotes, no spaces inside), at most 127 bytes"
            }
            Self::InvalidUses => "a link may have 1 to 100 uses",
            Self::OutsideDelegation => "the link lies outside this key's delegation",
            Self::ConfirmNeedsGet => {
                "a confirm link is a GET link (its page's POST fetches the file): drop the method"
            }
            Self::TooLong => {
                "the link would be too long for a request target (at most 65534 bytes): sign a \
                 shorter path or query"
            }
        }
    }
}

impl std::error::Error for SignError {}

/// A [`SignError`] of this kind.
pub(crate) fn fail(kind: SignErrorKind) -> SignError {
    SignError::new(kind)
}
