//! What every link format starts from: the origin, the path in both forms, the query.

/// The parts of a link every scheme shares.
pub(super) struct Target<'a> {
    pub(super) origin: &'a str,
    pub(super) path: &'a str,
    pub(super) decoded_path: &'a str,
    pub(super) query: &'a str,
}

impl Target<'_> {
    /// The link up to where the signing parameters go, with room for `signing_len` more bytes.
    pub(super) fn start(&self, signing_len: usize) -> String {
        let mut link = String::with_capacity(
            self.origin.len() + self.path.len() + 1 + self.query.len() + 1 + signing_len,
        );
        link.push_str(self.origin);
        link.push_str(self.path);
        link.push('?');
        if !self.query.is_empty() {
            link.push_str(self.query);
            link.push('&');
        }
        link
    }
}
