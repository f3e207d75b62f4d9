//! The Redis store `serve --redis` and `revoke` share.

#[cfg(not(feature = "redis"))]
pub use crate::stand_ins::redis_store;

#[cfg(feature = "redis")]
pub use self::redis::{redis_store, say_if_revocations_would_be_forgotten};

#[cfg(feature = "redis")]
mod redis {
    use tower_secure_link::one_time::{Durability, RedisNonceStore};

    use crate::failure::{usage, Failure};

    /// A connected store, said on stderr with what the Redis keeps across restarts.
    pub async fn redis_store(
        url: &str,
        require_persistence: bool,
    ) -> Result<RedisNonceStore, Failure> {
        let mut builder = RedisNonceStore::builder(url);
        if require_persistence {
            builder = builder.require_persistence(true);
        }
        let store = builder.connect().await.map_err(|e| {
            let fix = if require_persistence {
                " (turn on appendonly or save, or drop --redis-require-persistence)"
            } else {
                " (is redis-server running at that address?)"
            };
            usage(format!("--redis {}: {e}{fix}", redacted_url(url)))
        })?;
        eprintln!(
            "secure-link: one-time links in Redis{}; {}",
            if store.is_cluster() { " Cluster" } else { "" },
            store.persistence().describe()
        );
        Ok(store)
    }

    /// `serve --redis`: revocations live in the same Redis, so say at start when a restart of
    /// it would undo them.
    pub fn say_if_revocations_would_be_forgotten(store: &RedisNonceStore) {
        match store.persistence().durability() {
            Durability::LostOnRestart => eprintln!(
                "secure-link: this Redis would forget revocations when it restarts (revoked \
                 groups work again); `secure-link revoke` refuses to revoke here without \
                 --volatile"
            ),
            Durability::Unknown => eprintln!(
                "secure-link: this Redis did not say whether it keeps revocations across \
                 restarts; `secure-link revoke` refuses to revoke here without --volatile"
            ),
            _ => {}
        }
    }

    /// A Redis URL without its password.
    fn redacted_url(url: &str) -> String {
        match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}://REDACTED{}", &url[..scheme], &url[at..])
            }
            _ => url.to_owned(),
        }
    }
}
