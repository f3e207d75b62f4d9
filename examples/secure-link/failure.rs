//! How a command fails: a message for stderr and the exit code it maps to.

/// A failure with the exit code it maps to.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

/// A usage or configuration problem: exit 2.
pub fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

/// A link that is not valid, or a server failure: exit 1.
pub fn runtime_failure(message: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: message.into(),
    }
}
