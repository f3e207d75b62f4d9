//! `revoke`: refuse every link of a group on every server sharing a Redis.

use tower_secure_link::one_time::StoreErrorKind;
use tower_secure_link::{Key, SecureLinkLayer};

use crate::args::RevokeArgs;
use crate::failure::{runtime_failure, usage, Failure};
use crate::store::redis_store;

pub fn revoke(args: RevokeArgs) -> Result<(), Failure> {
    let RevokeArgs {
        group,
        redis,
        ttl,
        volatile,
    } = args;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| runtime_failure(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async {
        let store = redis_store(&redis, false).await?;
        // Only the store and the clock matter for a revocation; the key is never used.
        let layer = SecureLinkLayer::new(
            Key::new("revoke", [0u8; Key::MIN_SECRET_LEN])
                .map_err(|e| runtime_failure(e.to_string()))?,
        )
        .with_nonce_store(store);
        let until = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
            .saturating_add(ttl);
        let mut revocation = layer.revoke_group(&group, until);
        if volatile {
            revocation = revocation.allow_volatile();
        }
        revocation.await.map_err(|e| match e.kind() {
            StoreErrorKind::WouldBeForgotten => usage(format!(
                "--redis: {e}; turn on appendonly or save in that Redis, or pass --volatile to \
                 revoke until its next restart"
            )),
            _ => usage(format!("--group {group:?}: {e}")),
        })?;
        println!("revoked {group} until {until}");
        Ok(())
    })
}
