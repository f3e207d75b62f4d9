//! One-time link state in Redis, shared by every server that points at it (feature `redis`).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, RedisError, Script};

use super::{Attempt, ConsumeFuture, Durability, NonceStore, StoreError, StoreFuture, Use};

/// The key prefix unless configured otherwise.
pub const DEFAULT_KEY_PREFIX: &str = "secure-link:nonce:";

/// The time a connection attempt or a command may take unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// Records an attempt's value unless the key holds a live one; answers nil (first use) or the
/// value already there. A `void:` value is an attempt taken back: any other attempt replaces
/// it, and the attempt it names (arriving late) leaves it alone.
const CONSUME: &str = r"
local current = redis.call('GET', KEYS[1])
local void = current and string.sub(current, 1, 5) == 'void:'
if current == false or (void and current ~= 'void:' .. ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return false
end
return current";

/// Revokes a group for at least the given time: never shortens a longer revocation.
const REVOKE: &str = r"
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[2]) and left ~= -1 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1";

/// Takes an attempt back: deletes its value if it landed, or leaves a `void:` mark so that it
/// cannot land later.
const TAKE_BACK: &str = r"
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then return redis.call('DEL', KEYS[1]) end
if current == false then
  redis.call('SET', KEYS[1], 'void:' .. ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0";

/// Gives a use back: deletes the value if it is still the given attempt's (`<first use>:<id>`),
/// and never a `void:` mark or another attempt's value.
const RELEASE: &str = r"
local current = redis.call('GET', KEYS[1])
if current == false or string.sub(current, 1, 5) == 'void:' then return 0 end
local colon = string.find(current, ':', 1, true)
if colon and string.sub(current, colon + 1) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

static CONSUME_SCRIPT: OnceLock<Script> = OnceLock::new();
static RELEASE_SCRIPT: OnceLock<Script> = OnceLock::new();
static REVOKE_SCRIPT: OnceLock<Script> = OnceLock::new();
static TAKE_BACK_SCRIPT: OnceLock<Script> = OnceLock::new();

/// A script, hashed once per process (Redis caches it by that hash).
fn script(cell: &'static OnceLock<Script>, source: &str) -> &'static Script {
    cell.get_or_init(|| Script::new(source))
}

/// Records one-time link uses in Redis, on one server or a Redis Cluster, with one atomic
/// single-key script per use: write `<first use>:<attempt id>` under `<prefix><nonce>` with a
/// relative expiry (`PX`) unless a live value is there, and answer what was there. Any number
/// of servers sharing the Redis therefore agree on which request came first.
///
/// # Guarantees
///
/// - **No dependence on Redis's clock.** The time to keep a nonce is relative (`PX`), computed
///   by the layer on its own clock with a margin of twice the leeway: whatever Redis's clock
///   says, and for app servers whose clocks differ by up to the leeway, a nonce outlives every
///   server's acceptance of its link.
/// - **Exactly one success.** Only a request whose own write Redis confirmed is served.
/// - **A 503 never uses a link up.** When Redis does not answer in time (stalled, paused,
///   overloaded) or the connection drops, the write may still land later. The layer answers
///   503 and the store takes the attempt back, repeating until Redis confirms: if the write
///   landed, a compare-and-delete of the value unique to that attempt removes it; if it has not
///   landed yet, a `void:` mark makes sure it never will, and the next attempt replaces the mark.
///   Until Redis confirms, further tries of the same link on this server wait (and get 503 if
///   the confirmation does not come within the timeout). The one interleaving left: a try on
///   *another* server that Redis processes after the late write and before its take-back sees
///   the link as used (410) that once; every try after the take-back can succeed.
/// - **The application's failure gives the use back.** [`NonceStore::release`] deletes the
///   value with a compare-and-delete of that attempt's id, so it never removes a later use.
///   Tries of the link on this server wait (within the timeout) until Redis confirms; a try on
///   another server in the meantime gets 410. When Redis does not confirm, the use stays.
/// - **Fail closed.** While Redis cannot be reached, each one-time request fails within the
///   timeout and gets 503; ordinary links never touch Redis. The connection reconnects by itself.
///
/// # Restarts
///
/// Redis keeps used nonces across its restarts only with persistence (AOF, or RDB snapshots,
/// which lose the writes since the last snapshot). Without it, a restart forgets every used
/// nonce and each one-time link still within its lifetime can be used once more.
/// [`connect`](Self::connect) reads the server's persistence settings and reports them
/// ([`persistence`](Self::persistence), and a `tracing` warning with that feature);
/// [`RedisNonceStoreBuilder::require_persistence`] refuses a server without any.
///
/// A revoked group is kept the same way, so [`SecureLinkLayer::revoke_group`] asks the server
/// again at each revocation and refuses one that a restart would forget (no persistence, or a
/// server that will not say) unless it is called with
/// [`allow_volatile`](super::Revocation::allow_volatile). With RDB snapshots only, a crash
/// (not a shutdown, which saves) before the next snapshot still loses it.
///
/// [`SecureLinkLayer::revoke_group`]: crate::SecureLinkLayer::revoke_group
#[derive(Clone)]
pub struct RedisNonceStore {
    connection: Connection,
    key_prefix: String,
    timeout: Duration,
    persistence: Persistence,
    /// Keys whose lost write is still being taken back, or whose use is being given back, with
    /// how many of those are under way.
    taking_back: Arc<Mutex<HashMap<String, usize>>>,
}

#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Connection {
    async fn query<T: FromRedisValue>(&mut self, command: &Cmd) -> Result<T, RedisError> {
        match self {
            Connection::Single(connection) => command.query_async(connection).await,
            Connection::Cluster(connection) => command.query_async(connection).await,
        }
    }

    async fn run<T: FromRedisValue>(
        &mut self,
        script: &Script,
        key: &str,
        value: &str,
        keep_for: Duration,
    ) -> Result<T, RedisError> {
        let mut invocation = script.key(key);
        invocation
            .arg(value)
            .arg(keep_for.as_millis().clamp(1, u128::from(u64::MAX)) as u64);
        match self {
            Connection::Single(connection) => invocation.invoke_async(connection).await,
            Connection::Cluster(connection) => invocation.invoke_async(connection).await,
        }
    }
}

/// What a Redis server keeps across a restart, as its configuration says when the store
/// connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Persistence {
    /// The append-only file: every write (within `appendfsync`'s bound).
    AppendOnly,
    /// RDB snapshots only: writes since the last snapshot are lost.
    Snapshots,
    /// Nothing: a restart forgets every used nonce.
    None,
    /// The server would not say (`CONFIG` disabled, or a cluster whose nodes differ).
    Unknown,
}

impl Persistence {
    /// Whether a revocation written now outlives a restart of the server.
    pub fn durability(self) -> Durability {
        match self {
            Persistence::AppendOnly | Persistence::Snapshots => Durability::Kept,
            Persistence::None => Durability::LostOnRestart,
            Persistence::Unknown => Durability::Unknown,
        }
    }

    /// A sentence for logs.
    pub fn describe(self) -> &'static str {
        match self {
            Persistence::AppendOnly => {
                "Redis persists with an append-only file: used one-time links survive its restarts"
            }
            Persistence::Snapshots => {
                "Redis persists with RDB snapshots only: a restart forgets links used since the last snapshot, which can then be used once more"
            }
            Persistence::None => {
                "Redis has no persistence: a restart forgets every used one-time link, and each can then be used once more"
            }
            Persistence::Unknown => {
                "Redis did not say how it persists (CONFIG unavailable): check that it keeps used one-time links across restarts"
            }
        }
    }
}

/// Builds a [`RedisNonceStore`]: where Redis is, how long to wait for it, what to insist on.
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisNonceStoreBuilder {
    urls: Vec<String>,
    cluster: Option<bool>,
    timeout: Duration,
    key_prefix: String,
    require_persistence: bool,
}

impl RedisNonceStoreBuilder {
    /// The time a connection attempt or a command may take before the request is refused
    /// with 503 ([`DEFAULT_TIMEOUT`] by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The prefix of the keys this store writes ([`DEFAULT_KEY_PREFIX`] by default), to share a
    /// Redis with other applications.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// Connects as to a Redis Cluster, with these nodes as seeds (also found by itself: a
    /// server that says `cluster_enabled:1` is used as a cluster).
    pub fn cluster(mut self, seeds: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.urls.extend(seeds.into_iter().map(Into::into));
        self.cluster = Some(true);
        self
    }

    /// When `required` (off by default), refuses to connect to a Redis that keeps nothing
    /// across a restart (no AOF, no RDB snapshots), where a restart would make every used
    /// one-time link usable once more.
    pub fn require_persistence(mut self, required: bool) -> Self {
        self.require_persistence = required;
        self
    }

    /// Connects. Needs a tokio runtime; fails if Redis cannot be reached now (or, with
    /// [`require_persistence(true)`](Self::require_persistence), keeps nothing across restarts).
    pub async fn connect(self) -> Result<RedisNonceStore, StoreError> {
        let first = self
            .urls
            .first()
            .ok_or_else(|| StoreError::new("no Redis URL given"))?;
        let client = redis::Client::open(first.as_str()).map_err(|e| describe(&e))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(self.timeout)
            .set_response_timeout(self.timeout)
            .set_number_of_retries(1)
            .set_max_delay(1_000);
        let mut single = Connection::Single(
            ConnectionManager::new_with_config(client, config)
                .await
                .map_err(|e| describe(&e))?,
        );
        let cluster = match self.cluster {
            Some(cluster) => cluster,
            None => cluster_enabled(&mut single).await,
        };
        let mut connection = if cluster {
            let client = redis::cluster::ClusterClient::builder(self.urls.clone())
                .connection_timeout(self.timeout)
                .response_timeout(self.timeout)
                .retries(0)
                .build()
                .map_err(|e| describe(&e))?;
            Connection::Cluster(
                client
                    .get_async_connection()
                    .await
                    .map_err(|e| describe(&e))?,
            )
        } else {
            single
        };
        // The connection works, so a failure to read the settings only means "unknown" here.
        let persistence = persistence(&mut connection)
            .await
            .unwrap_or(Persistence::Unknown);
        if self.require_persistence && persistence == Persistence::None {
            return Err(StoreError::new(
                "Redis keeps nothing across a restart (no appendonly, no save): enable one, or \
                 connect without require_persistence",
            ));
        }
        #[cfg(feature = "tracing")]
        match persistence {
            Persistence::AppendOnly => {
                tracing::info!(target: "tower_secure_link", "{}", persistence.describe())
            }
            _ => tracing::warn!(target: "tower_secure_link", "{}", persistence.describe()),
        }
        Ok(RedisNonceStore {
            connection,
            key_prefix: self.key_prefix,
            timeout: self.timeout,
            persistence,
            taking_back: Arc::new(Mutex::new(HashMap::new())),
        })
    }
}

impl RedisNonceStore {
    /// Connects to the Redis at `url` (`redis://host:port/db`; a cluster node works too) with
    /// the default settings: short for `RedisNonceStore::builder(url).connect()`, the one way
    /// to set anything else (timeout, key prefix, cluster seeds, persistence). Needs a tokio
    /// runtime; fails if Redis cannot be reached now.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// A builder for a store at `url`.
    pub fn builder(url: &str) -> RedisNonceStoreBuilder {
        RedisNonceStoreBuilder {
            urls: vec![url.to_owned()],
            cluster: None,
            timeout: DEFAULT_TIMEOUT,
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            require_persistence: false,
        }
    }

    /// What the server said about its persistence when the store connected.
    pub fn persistence(&self) -> Persistence {
        self.persistence
    }

    /// Whether this store talks to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.connection, Connection::Cluster(_))
    }
}

/// Whether the server runs in cluster mode (`INFO cluster`); anything unclear reads as no.
async fn cluster_enabled(connection: &mut Connection) -> bool {
    let info: Result<String, _> = connection.query(redis::cmd("INFO").arg("cluster")).await;
    info.is_ok_and(|info| info.lines().any(|line| line.trim() == "cluster_enabled:1"))
}

/// What the server keeps across a restart, as it says now. A server that refuses `CONFIG`
/// (managed services often rename it) is asked `INFO persistence`, which tells of the
/// append-only file but not of snapshot settings. Only a server out of reach is an error.
async fn persistence(connection: &mut Connection) -> Result<Persistence, RedisError> {
    let appendonly = config_value(connection, "appendonly").await?;
    let save = config_value(connection, "save").await?;
    match (appendonly.as_deref(), save.as_deref()) {
        (Some("yes"), _) => return Ok(Persistence::AppendOnly),
        (Some(_), Some(save)) if !save.trim().is_empty() => return Ok(Persistence::Snapshots),
        (Some(_), Some(_)) => return Ok(Persistence::None),
        _ => {}
    }
    let info: Result<String, _> = connection
        .query(redis::cmd("INFO").arg("persistence"))
        .await;
    match info {
        Ok(info) if info.lines().any(|line| line.trim() == "aof_enabled:1") => {
            Ok(Persistence::AppendOnly)
        }
        Err(error) if out_of_reach(&error) => Err(error),
        _ => Ok(Persistence::Unknown),
    }
}

/// One `CONFIG GET` setting, `None` when the server will not tell it.
async fn config_value(
    connection: &mut Connection,
    name: &str,
) -> Result<Option<String>, RedisError> {
    let pair: Result<Vec<String>, _> = connection
        .query(redis::cmd("CONFIG").arg("GET").arg(name))
        .await;
    match pair {
        Ok(pair) => Ok(pair.get(1).cloned()),
        Err(error) if out_of_reach(&error) => Err(error),
        Err(_) => Ok(None),
    }
}

/// Whether the server gave no answer at all (as opposed to an error answer).
fn out_of_reach(error: &RedisError) -> bool {
    error.is_timeout()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
        || error.is_io_error()
}

/// A store error that names what went wrong without echoing the URL (which may hold a password).
fn describe(error: &RedisError) -> StoreError {
    let what = if error.is_timeout() {
        "no answer within the timeout".to_owned()
    } else if error.is_connection_refusal() {
        "connection refused".to_owned()
    } else if error.is_connection_dropped() || error.is_io_error() {
        "the connection failed".to_owned()
    } else {
        match error.code() {
            Some(code) => format!("the server answered {code}"),
            None => format!("{:?}", error.kind()),
        }
    };
    StoreError::new(format!("redis: {what}"))
}

/// A value no other attempt writes: the first use's time, then the attempt's id.
fn attempt_value(used_at: u64, attempt: Attempt) -> String {
    format!("{used_at}:{}", attempt_id(attempt))
}

/// The part of an attempt's value after the first use's time.
fn attempt_id(attempt: Attempt) -> String {
    format!("{:016x}", attempt.id())
}

/// A key on which a take-back or a give-back is under way, from its start until it is dropped
/// (done, or abandoned with its task): consumes of the key on this server wait meanwhile.
struct Pending {
    keys: Arc<Mutex<HashMap<String, usize>>>,
    key: String,
}

impl Pending {
    fn start(keys: &Arc<Mutex<HashMap<String, usize>>>, key: String) -> Self {
        if let Ok(mut keys) = keys.lock() {
            *keys.entry(key.clone()).or_insert(0) += 1;
        }
        Self {
            keys: keys.clone(),
            key,
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Ok(mut keys) = self.keys.lock() {
            if let Some(count) = keys.get_mut(&self.key) {
                *count -= 1;
                if *count == 0 {
                    keys.remove(&self.key);
                }
            }
        }
    }
}

/// The first-use time a stored value starts with.
fn first_use(value: &str) -> u64 {
    value
        .split(':')
        .next()
        .and_then(|time| time.parse().ok())
        .unwrap_or(0)
}

impl RedisNonceStore {
    /// Waits until no take-back or give-back of an earlier attempt on `key` is pending here.
    async fn wait_for_take_back(&self, key: &str) -> Result<(), StoreError> {
        let deadline = Instant::now() + self.timeout;
        while self.is_taking_back(key) {
            if Instant::now() >= deadline {
                return Err(StoreError::new(
                    "redis: an earlier attempt on this link is still being taken or given back",
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    fn is_taking_back(&self, key: &str) -> bool {
        self.taking_back
            .lock()
            .map_or(true, |pending| pending.contains_key(key))
    }

    /// Takes back what a lost write may have stored, repeating until Redis confirms or the
    /// nonce would have expired anyway.
    fn spawn_take_back(&self, key: String, value: String, keep_for: Duration) {
        let pending = Pending::start(&self.taking_back, key);
        let mut connection = self.connection.clone();
        let pause = self.timeout;
        tokio::spawn(async move {
            let give_up = Instant::now() + keep_for;
            let script = script(&TAKE_BACK_SCRIPT, TAKE_BACK);
            while connection
                .run::<i64>(script, &pending.key, &value, keep_for)
                .await
                .is_err()
                && Instant::now() < give_up
            {
                tokio::time::sleep(pause / 2).await;
            }
        });
    }
}

impl RedisNonceStore {
    /// Where a revoked group is recorded (nonces hold no `:`, so the two never meet).
    fn group_key(&self, group: &str) -> String {
        format!("{}group:{group}", self.key_prefix)
    }
}

impl NonceStore for RedisNonceStore {
    fn durability(&self) -> StoreFuture<Durability> {
        // Asked again at each revocation: persistence can be switched off with CONFIG SET
        // after the store connected.
        let mut connection = self.connection.clone();
        StoreFuture::pending(async move {
            persistence(&mut connection)
                .await
                .map(Persistence::durability)
                .map_err(|e| describe(&e))
        })
    }

    fn revoke(&self, group: &str, now: u64, keep_for: Duration) -> StoreFuture<()> {
        let mut connection = self.connection.clone();
        let key = self.group_key(group);
        StoreFuture::pending(async move {
            let script = script(&REVOKE_SCRIPT, REVOKE);
            connection
                .run::<i64>(script, &key, &now.to_string(), keep_for)
                .await
                .map(|_| ())
                .map_err(|e| describe(&e))
        })
    }

    fn is_revoked(&self, group: &str, _now: u64) -> StoreFuture<bool> {
        let mut connection = self.connection.clone();
        let key = self.group_key(group);
        StoreFuture::pending(async move {
            let found: i64 = connection
                .query(redis::cmd("EXISTS").arg(&key))
                .await
                .map_err(|e| describe(&e))?;
            Ok(found == 1)
        })
    }

    fn consume(&self, nonce: &str, used_at: u64, keep_for: Duration) -> ConsumeFuture {
        self.consume_attempt(nonce, used_at, keep_for, Attempt::fresh())
    }

    fn release(&self, nonce: &str, attempt: Attempt) -> StoreFuture<()> {
        // Marked now rather than when the future first runs, so that a retry on this server
        // sent as soon as the failed answer arrives already waits for it.
        let pending = Pending::start(&self.taking_back, format!("{}{nonce}", self.key_prefix));
        let mut connection = self.connection.clone();
        StoreFuture::pending(async move {
            let script = script(&RELEASE_SCRIPT, RELEASE);
            // The script reads no expiry; `run` passes one all the same.
            let released = connection
                .run::<i64>(script, &pending.key, &attempt_id(attempt), Duration::ZERO)
                .await;
            drop(pending);
            released.map(|_| ()).map_err(|e| describe(&e))
        })
    }

    fn consume_attempt(
        &self,
        nonce: &str,
        used_at: u64,
        keep_for: Duration,
        attempt: Attempt,
    ) -> ConsumeFuture {
        let store = self.clone();
        let key = format!("{}{nonce}", self.key_prefix);
        ConsumeFuture::pending(async move {
            store.wait_for_take_back(&key).await?;
            let value = attempt_value(used_at, attempt);
            let mut connection = store.connection.clone();
            let script = script(&CONSUME_SCRIPT, CONSUME);
            let answer = connection
                .run::<Option<String>>(script, &key, &value, keep_for)
                .await;
            match answer {
                Ok(None) => Ok(Use::First),
                // A client-side retry of our own write finds our own value.
                Ok(Some(previous)) if previous == value => Ok(Use::First),
                Ok(Some(previous)) if previous.starts_with("void:") => Err(StoreError::new(
                    "redis: this attempt was taken back before it landed",
                )),
                Ok(Some(previous)) => Ok(Use::Repeated {
                    first_used_at: first_use(&previous),
                }),
                Err(error) => {
                    if error.code().is_none() {
                        // No answer from the server: the write may still land.
                        store.spawn_take_back(key, value, keep_for);
                    }
                    Err(describe(&error))
                }
            }
        })
    }
}

impl fmt::Debug for RedisNonceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisNonceStore")
            .field("key_prefix", &self.key_prefix)
            .field("cluster", &self.is_cluster())
            .field("persistence", &self.persistence)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_unique_and_carry_the_first_use() {
        let a = attempt_value(1_700_000_000, Attempt::fresh());
        let b = attempt_value(1_700_000_000, Attempt::fresh());
        assert_ne!(a, b);
        assert_eq!(first_use(&a), 1_700_000_000);
        assert_eq!(
            first_use("1700000000"),
            1_700_000_000,
            "values of older versions"
        );
        assert_eq!(first_use("junk"), 0);
    }
}
