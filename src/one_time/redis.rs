//! One-time link state in Redis, shared by every server that points at it (feature `redis`).

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{ConsumeFuture, NonceStore, StoreError, Use};

/// The key prefix unless configured otherwise.
pub const DEFAULT_KEY_PREFIX: &str = "secure-link:nonce:";

/// Records one-time link uses in Redis with one atomic command per use,
/// `SET <prefix><nonce> <now> NX GET EXAT <keep until>` (Redis 7.0 or later): the key is
/// written only if absent, the answer says whether it was, and Redis drops it once the link
/// can no longer verify. Any number of servers sharing the Redis therefore agree on which
/// request was first.
///
/// The connection reconnects by itself. While Redis cannot be reached, each one-time request
/// fails within the response timeout and the layer answers 503; ordinary links never touch
/// Redis.
#[derive(Clone)]
pub struct RedisNonceStore {
    connection: ConnectionManager,
    key_prefix: String,
}

impl RedisNonceStore {
    /// Connects to the Redis at `url` (`redis://host:port/db`). Needs a tokio runtime; fails if
    /// Redis cannot be reached now.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_timeout(url, Duration::from_millis(500)).await
    }

    /// Like [`connect`](Self::connect), with the time a connection attempt or a command may take
    /// before the request is refused with 503.
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| describe(&e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_number_of_retries(1)
            .set_max_delay(1_000);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| describe(&e))?;
        Ok(Self {
            connection,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
        })
    }

    /// The prefix of the keys this store writes ([`DEFAULT_KEY_PREFIX`] by default), to share a
    /// Redis with other applications.
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }
}

/// A store error that names what went wrong without echoing the URL (which may hold a password).
fn describe(error: &redis::RedisError) -> StoreError {
    StoreError::new(format!("redis: {:?}", error.kind()))
}

impl NonceStore for RedisNonceStore {
    fn consume(&self, nonce: &str, now: u64, keep_until: u64) -> ConsumeFuture {
        let mut connection = self.connection.clone();
        let key = format!("{}{nonce}", self.key_prefix);
        ConsumeFuture::pending(async move {
            let previous: Option<u64> = redis::cmd("SET")
                .arg(&key)
                .arg(now)
                .arg("NX")
                .arg("GET")
                .arg("EXAT")
                .arg(keep_until.max(now + 1))
                .query_async(&mut connection)
                .await
                .map_err(|e| describe(&e))?;
            Ok(match previous {
                None => Use::First,
                Some(first_used_at) => Use::Repeated { first_used_at },
            })
        })
    }
}

impl fmt::Debug for RedisNonceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisNonceStore")
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}
