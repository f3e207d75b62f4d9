//! Why the wire format refused what a request carries.

/// What is wrong with a link's parameters, as the wire format sees it. The layer maps it to a
/// [`RejectionKind`](crate::RejectionKind) one level up, so this module needs nothing above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// No signing parameter at all: the request carries no link.
    Missing,
    /// Signing parameters that are incomplete, repeated, unknown or not in canonical form.
    Malformed,
}
