//! Version-bound links: the validator `ServeDir` reports for a file, and reading it back.

/// The version tower-http's `ServeDir` will report for the file at `path`: its `Last-Modified`
/// value (the modification time in whole seconds) and its size in bytes, written
/// `<Last-Modified>; size=<bytes>`. Bind a link to it with [`LinkBuilder::version`](super::LinkBuilder::version): the layer
/// then passes a response only when it carries that `Last-Modified` and reports that size (its
/// `Content-Length`, or the total of its `Content-Range`), and answers 410 otherwise. So
/// touching the file, replacing it, and replacing it with another size while keeping its
/// modification time (`cp -p`, `rsync -t`) all end its links.
///
/// The limit: a replacement of the same size with the same modification time, to the second,
/// keeps the version. Where that matters, have the service send an `ETag` derived from the
/// content (a hash) and bind links to that value instead.
///
/// Fails for anything but a regular file (`ServeDir` serves no bytes for a folder), and for a
/// modification time before 1970 or after 9999, which no `Last-Modified` can write.
pub fn file_version(path: impl AsRef<std::path::Path>) -> std::io::Result<String> {
    let metadata = std::fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file: only a file's version can be bound",
        ));
    }
    let modified = last_modified(metadata.modified()?).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the modification time is before 1970 or after 9999, which Last-Modified cannot hold",
        )
    })?;
    Ok(format!("{modified}{VERSION_SIZE_MARK}{}", metadata.len()))
}

/// What separates the `Last-Modified` value from the size in a [`file_version`]. No HTTP date
/// holds it, so a validator with it is never mistaken for a bare `Last-Modified`.
pub(crate) const VERSION_SIZE_MARK: &str = "; size=";

/// `modified` as an HTTP date, when one can write it (`httpdate` panics outside 1970..=9999).
pub(crate) fn last_modified(modified: std::time::SystemTime) -> Option<String> {
    const YEAR_10000: u64 = 253_402_300_800;
    let seconds = modified
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    (seconds < YEAR_10000).then(|| httpdate::fmt_http_date(modified))
}

/// A [`file_version`] validator read back: the `Last-Modified` bytes and the size. `None` for
/// any other validator (an `ETag`, a bare `Last-Modified`, an application's own version).
pub(crate) fn split_file_version(validator: &[u8]) -> Option<(&[u8], u64)> {
    let mark = VERSION_SIZE_MARK.as_bytes();
    let at = validator
        .windows(mark.len())
        .rposition(|window| window == mark)?;
    let size = &validator[at + mark.len()..];
    if size.is_empty() || size.len() > 20 || !size.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let size = std::str::from_utf8(size).ok()?.parse().ok()?;
    Some((&validator[..at], size))
}
