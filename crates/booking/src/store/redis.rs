//! Redis store: the production backend, shared by any number of replicas,
//! on one Redis or on Redis Cluster (same key layout on both).
//!
//! Layout (all keys under a prefix, default `parker:`). Booking keys carry
//! a hash tag `{sH}`, where `H` is the last hex digit of the booking id (the
//! random end of a UUIDv7), so a booking and its shard's indexes share one
//! Cluster slot; there are 16 shards:
//! - `{sH}b:<id>`      booking JSON;
//! - `{sH}all`         ZSET, score 0, members = the shard's ids (UUIDv7 sort
//!   by creation), so paging is `ZRANGEBYLEX` on each shard, merged;
//! - `{sH}due`         ZSET id → due time (ms, Redis clock): the shard of the
//!   pending-work index; a claimed booking's score is its lease end, so a
//!   dead worker's booking falls due again;
//! - `{sH}lease:<id>`  owner of the current lease, `PX` = lease length;
//! - `idem:<key>`      `"{id}\n{canonical request}"`, `PX` 24 h, in the slot
//!   of the key itself (not tied to any shard).
//!
//! Every state change is one Lua script on the keys of one slot, hence
//! atomic on Cluster too; every script gets every key it touches in `KEYS`
//! (Cluster routes a script by its keys, refuses declared keys of several
//! slots, and keys built inside Lua may live on another node), so work that
//! spans slots is two scripts: create (idempotency record, then booking)
//! and claim (find due ids, then lease them). Scripts use Redis's own clock
//! (`TIME`) so replicas with skewed clocks agree on what is due.
//!
//! This layout replaced the untagged one (`b:<id>`, `all`, `due`,
//! `lease:<id>`): a dataset written by an older version is not read.
//!
//! Connections: on one Redis, one `ConnectionManager`, a multiplexed
//! connection that pipelines concurrent commands over one socket and
//! reconnects by itself (for this workload it does what a pool would,
//! without checkout cost: no blocking commands or MULTI blocks). On
//! Cluster, the `redis` crate's async cluster connection: one multiplexed
//! connection per node, routing by key slot and following `MOVED` after a
//! failover; rebuilt from the seed nodes when a command times out (see
//! [`ClusterLink`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Script, Value};

use parker_telemetry::db::{RedisTarget, redis_span};

use super::{Cancelled, Claim, Created, Idempotency, Next, Store, StoreError};
use crate::domain::{Booking, BookingId, Status};

/// Any command slower than this counts as Redis being unavailable, so a
/// request fails fast with 503 instead of hanging.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Shards of the booking keys and the pending-work index. Part of the key
/// layout (a booking's shard is the last hex digit of its id), so not a
/// setting: replicas that disagreed on it would not find each other's work.
pub const SHARDS: usize = 16;

/// The idempotency record: `KEYS[1]` = `idem:<key>`. Replies `new`,
/// `replayed` or `reused`, with the booking id the key belongs to.
const IDEMPOTENCY: &str = r#"
local id, fp, ttl = ARGV[1], ARGV[2], ARGV[3]
local seen = redis.call('GET', KEYS[1])
if seen then
  local sep = string.find(seen, '\n', 1, true)
  local first = string.sub(seen, 1, sep - 1)
  if string.sub(seen, sep + 1) ~= fp then return {'reused', first} end
  return {'replayed', first}
end
redis.call('SET', KEYS[1], id .. '\n' .. fp, 'PX', ttl)
return {'new', id}
"#;

/// Create-if-absent: `KEYS` = `b:<id>`, `all`, `due` of the id's shard.
/// Absent-only so a replayed request whose original died between the
/// idempotency record and this script creates the booking once.
const CREATE: &str = r#"
local id, doc = ARGV[1], ARGV[2]
local cur = redis.call('GET', KEYS[1])
if cur then return {'existed', cur} end
local t = redis.call('TIME')
redis.call('SET', KEYS[1], doc)
redis.call('ZADD', KEYS[2], 0, id)
redis.call('ZADD', KEYS[3], t[1] * 1000 + math.floor(t[2] / 1000), id)
return {'created', doc}
"#;

/// Ids of a shard's `due` index (`KEYS[1]`) that are due now.
const DUE: &str = r#"
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
"#;

/// Leases the given ids if they are still due: `KEYS[1]` = the shard's
/// `due`, then `b:<id>`, `lease:<id>` per id in `ARGV[3..]`. Returns
/// lag (ms) and document of each booking leased.
const CLAIM: &str = r#"
local owner, ttl = ARGV[1], tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local out = {}
for i = 3, #ARGV do
  local id, k = ARGV[i], 2 * (i - 2)
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score and tonumber(score) <= now then
    local doc = redis.call('GET', KEYS[k])
    if doc then
      redis.call('ZADD', KEYS[1], now + ttl, id)
      redis.call('SET', KEYS[k + 1], owner, 'PX', ttl)
      table.insert(out, tostring(now - tonumber(score)))
      table.insert(out, doc)
    else
      redis.call('ZREM', KEYS[1], id)
    end
  end
end
return out
"#;

/// `KEYS` = `lease:<id>`, `due`.
const RENEW: &str = r#"
local id, owner, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('GET', KEYS[1]) ~= owner then return 0 end
local t = redis.call('TIME')
redis.call('SET', KEYS[1], owner, 'PX', ttl)
redis.call('ZADD', KEYS[2], 'XX', t[1] * 1000 + math.floor(t[2] / 1000) + ttl, id)
return 1
"#;

/// Compare-and-set on status (and lease, when an owner is given), then
/// move the booking in the queue: `due` (release, due after ARGV[6] ms),
/// `hold` (keep the lease) or `done` (leave the queue).
/// `KEYS` = `b:<id>`, `lease:<id>`, `due`.
const SAVE: &str = r#"
local id, expected, doc, owner, next, delay = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cjson.decode(cur)['status'] ~= expected then return 0 end
if owner ~= '' and redis.call('GET', KEYS[2]) ~= owner then return 0 end
redis.call('SET', KEYS[1], doc)
if next == 'due' then
  local t = redis.call('TIME')
  redis.call('ZADD', KEYS[3], t[1] * 1000 + math.floor(t[2] / 1000) + delay, id)
  redis.call('DEL', KEYS[2])
elseif next == 'done' then
  redis.call('ZREM', KEYS[3], id)
  redis.call('DEL', KEYS[2])
end
return 1
"#;

/// Where the store connects: one Redis, or a Cluster through seed nodes.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// `redis://host:port/db`.
    Single(String),
    /// Seed node URLs (`redis://host:port`), as `redis::cluster::ClusterClient` takes them.
    Cluster(Vec<String>),
}

impl Endpoint {
    /// `--redis-cluster`'s value: comma-separated seed node URLs.
    pub fn cluster(nodes: &str) -> Endpoint {
        Endpoint::Cluster(
            nodes
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }
}

/// One Redis or a Cluster behind one `ConnectionLike`, so scripts and
/// commands are written once.
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// What the store holds to reach Redis; [`Link::conn`] hands out the
/// connection a command goes over.
#[derive(Clone)]
enum Link {
    Single(ConnectionManager),
    Cluster(Arc<ClusterLink>),
}

impl Link {
    fn conn(&self) -> Conn {
        match self {
            Link::Single(c) => Conn::Single(c.clone()),
            Link::Cluster(l) => Conn::Cluster(
                l.current
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone(),
            ),
        }
    }
}

/// No two rebuilds of the Cluster connection closer together than this.
const REBUILD_EVERY: Duration = Duration::from_secs(1);

/// The Cluster connection, replaced by a fresh one when a command times out.
///
/// The `redis` crate (1.8) refreshes its slot map on `MOVED` and on dropped
/// connections, but retries a timed-out command on the same connection. A
/// primary that stops answering without closing its sockets (a frozen
/// process, a host gone from the network) therefore keeps its slots
/// unavailable to us after the cluster has promoted its replica: with a
/// `SIGSTOP`ped primary, every command on its slots timed out for as long
/// as we watched (100 s). A fresh connection asks the nodes that answer for
/// the topology, which no longer routes to the silent node.
struct ClusterLink {
    client: ClusterClient,
    /// The seed nodes as given, for log lines.
    shown: String,
    current: RwLock<ClusterConnection>,
    last_rebuild: Mutex<Option<Instant>>,
}

impl ClusterLink {
    /// Starts a rebuild in the background unless one started less than
    /// [`REBUILD_EVERY`] ago; commands meanwhile go over the old connection.
    fn rebuild_soon(self: &Arc<Self>) {
        {
            let mut last = self
                .last_rebuild
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < REBUILD_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        let link = self.clone();
        tokio::spawn(async move {
            tracing::warn!(
                cluster = %link.shown,
                "a Redis Cluster command timed out: reconnecting to learn the topology anew"
            );
            match tokio::time::timeout(REBUILD_TIMEOUT, link.client.get_async_connection()).await {
                Ok(Ok(fresh)) => {
                    *link
                        .current
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
                }
                Ok(Err(e)) => tracing::warn!(
                    cluster = %link.shown,
                    error = %e,
                    "reconnecting to the Redis Cluster failed; the next timeout tries again"
                ),
                Err(_) => tracing::warn!(
                    cluster = %link.shown,
                    "reconnecting to the Redis Cluster took longer than {REBUILD_TIMEOUT:?}; the next timeout tries again"
                ),
            }
        });
    }
}

/// Bound on building a fresh Cluster connection (connect, then `CLUSTER SLOTS`).
const REBUILD_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct RedisStore {
    link: Link,
    target: Arc<RedisTarget>,
    prefix: String,
    scripts: Arc<Scripts>,
    /// Shard a claim starts from; advanced on every claim so the workers of
    /// many replicas (each starting at a random shard) spread over shards.
    next_shard: Arc<AtomicUsize>,
}

struct Scripts {
    idempotency: Script,
    create: Script,
    due: Script,
    claim: Script,
    renew: Script,
    save: Script,
}

/// Why connecting to `what` failed: a refused password is a setting to
/// fix, not an outage to wait out, so it ends the start at once. (The
/// cluster client reports it inside an I/O error of its initial
/// connections, so on Cluster it is waited out like an outage, with the
/// authentication error in every warning and in the final error.)
fn connect_error(e: &RedisError, what: &str) -> StoreError {
    if e.kind() == redis::ErrorKind::AuthenticationFailed {
        StoreError::Config(format!(
            "{what} refused the password (--redis-password-file): {e}"
        ))
    } else {
        StoreError::Unavailable(format!("connecting to {what}: {e}"))
    }
}

fn unavailable(e: RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// The shard of a booking: the last hex digit of its id.
fn shard_of(id: &str) -> usize {
    id.chars()
        .next_back()
        .and_then(|c| c.to_digit(16))
        .map_or(0, |d| d as usize % SHARDS)
}

/// The span target of a URL: host, port, database.
fn target_of(info: &redis::ConnectionInfo) -> RedisTarget {
    let (address, port) = match info.addr() {
        redis::ConnectionAddr::Tcp(host, port) => (host.clone(), *port),
        redis::ConnectionAddr::TcpTls { host, port, .. } => (host.clone(), *port),
        other => (other.to_string(), 0),
    };
    RedisTarget {
        address,
        port,
        database: info.redis_settings().db(),
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`); see [`RedisStore::connect_to`].
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisStore, StoreError> {
        Self::connect_to(&Endpoint::Single(url.to_owned()), prefix, None).await
    }

    /// Connects to one Redis or a Cluster; fails if it cannot be reached
    /// now. After that, lost connections are re-established in the
    /// background and commands fail fast (503) until Redis is back.
    /// `password` is `AUTH`'s (Redis `requirepass`, or the `default` user's
    /// in an ACL file), sent to every node; it overrides one in a URL.
    pub async fn connect_to(
        endpoint: &Endpoint,
        prefix: &str,
        password: Option<&str>,
    ) -> Result<RedisStore, StoreError> {
        // A brace in the prefix would become the hash tag and put a
        // script's keys in different Cluster slots.
        if prefix.contains(['{', '}']) {
            return Err(StoreError::Config(format!(
                "--redis-prefix {prefix:?}: must not contain '{{' or '}}' (keys carry their own hash tags)"
            )));
        }
        let (link, target) = match endpoint {
            Endpoint::Single(url) => {
                let mut info = redis::IntoConnectionInfo::into_connection_info(url.as_str())
                    .map_err(|e| StoreError::Config(format!("--redis-url {url:?}: {e}")))?;
                if let Some(password) = password {
                    let settings = info.redis_settings().clone().set_password(password);
                    info = info.set_redis_settings(settings);
                }
                let client = redis::Client::open(info)
                    .map_err(|e| StoreError::Config(format!("--redis-url {url:?}: {e}")))?;
                let target = target_of(client.get_connection_info());
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(Duration::from_millis(500)))
                    .set_response_timeout(Some(COMMAND_TIMEOUT))
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_millis(500));
                let conn = ConnectionManager::new_with_config(client, config)
                    .await
                    .map_err(|e| connect_error(&e, url))?;
                (Link::Single(conn), target)
            }
            Endpoint::Cluster(nodes) => {
                let shown = nodes.join(",");
                let first = nodes.first().ok_or_else(|| {
                    StoreError::Config("--redis-cluster: no seed node URL given".into())
                })?;
                let info = redis::IntoConnectionInfo::into_connection_info(first.as_str())
                    .map_err(|e| StoreError::Config(format!("--redis-cluster {first:?}: {e}")))?;
                // Spans name the cluster by its first seed node: the crate
                // routes each command to a node internally.
                let target = target_of(&info);
                // Retries cover a failover: `MOVED` and refused connections
                // until the replica has taken over (node timeout + election).
                let mut builder = ClusterClient::builder(nodes.iter().map(String::as_str));
                if let Some(password) = password {
                    builder = builder.password(password);
                }
                let client = builder
                    .connection_timeout(Duration::from_millis(500))
                    .response_timeout(COMMAND_TIMEOUT)
                    .retries(4)
                    .min_retry_wait(50)
                    .max_retry_wait(500)
                    .build()
                    .map_err(|e| StoreError::Config(format!("--redis-cluster {shown:?}: {e}")))?;
                let conn = client
                    .get_async_connection()
                    .await
                    .map_err(|e| connect_error(&e, &format!("the cluster {shown}")))?;
                let link = ClusterLink {
                    client,
                    shown,
                    current: RwLock::new(conn),
                    last_rebuild: Mutex::new(None),
                };
                (Link::Cluster(Arc::new(link)), target)
            }
        };
        // Replicas start at different shards so they do not all scan the same one first.
        let start =
            (std::process::id() as usize) ^ (jiff::Timestamp::now().subsec_nanosecond() as usize);
        Ok(RedisStore {
            link,
            target: Arc::new(target),
            prefix: prefix.to_owned(),
            scripts: Arc::new(Scripts {
                idempotency: Script::new(IDEMPOTENCY),
                create: Script::new(CREATE),
                due: Script::new(DUE),
                claim: Script::new(CLAIM),
                renew: Script::new(RENEW),
                save: Script::new(SAVE),
            }),
            next_shard: Arc::new(AtomicUsize::new(start % SHARDS)),
        })
    }

    /// A command timed out: on Cluster, the node it went to may have gone
    /// silent, so the connection is rebuilt (see [`ClusterLink`]).
    fn timed_out(&self) {
        if let Link::Cluster(link) = &self.link {
            link.rebuild_soon();
        }
    }

    /// Runs one Redis command inside its CLIENT span (database semantic
    /// conventions), recording the error on the span when it fails.
    async fn instrumented<T>(
        &self,
        command: &str,
        args: &[&str],
        fut: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        let span = redis_span(command, args, &self.target);
        match tokio::time::timeout(COMMAND_TIMEOUT, span.wrap(fut)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if e.is_timeout() {
                    self.timed_out();
                }
                // A server error reply (e.g. `BUSY`, `OOM`) also gets
                // `db.response.status_code`; transport errors only the exception.
                match e.code() {
                    Some(prefix) => parker_telemetry::db::record_redis_error(&span, prefix, &e),
                    None => parker_telemetry::exception::record_error_on(&span.span(), &e),
                }
                Err(unavailable(e))
            }
            Err(_) => {
                self.timed_out();
                let err = StoreError::Unavailable(format!(
                    "{command} took longer than {COMMAND_TIMEOUT:?}"
                ));
                parker_telemetry::exception::record_error_on(&span.span(), &err);
                Err(err)
            }
        }
    }

    /// Scripts go out as `EVALSHA` (falling back to `EVAL` once per
    /// connection when Redis does not have the script cached); on Cluster
    /// they are routed by their first key.
    async fn script<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        keys: &[&str],
        args: &[&str],
    ) -> Result<T, StoreError> {
        let mut invocation = script.prepare_invoke();
        for k in keys {
            invocation.key(*k);
        }
        for a in args {
            invocation.arg(*a);
        }
        let mut conn = self.link.conn();
        let sha = script.get_hash();
        let numkeys = keys.len().to_string();
        let mut span_args = vec![sha, numkeys.as_str()];
        span_args.extend_from_slice(keys);
        span_args.extend_from_slice(args);
        self.instrumented("EVALSHA", &span_args, async move {
            invocation.invoke_async(&mut conn).await
        })
        .await
    }

    /// A key of a booking's shard: `{prefix}{sH}{name}{id}`.
    fn shard_key(&self, shard: usize, name: &str, id: &str) -> String {
        format!("{}{{s{shard:x}}}{name}{id}", self.prefix)
    }

    fn booking_keys(&self, id: &str) -> BookingKeys {
        let shard = shard_of(id);
        BookingKeys {
            doc: self.shard_key(shard, "b:", id),
            lease: self.shard_key(shard, "lease:", id),
            all: self.shard_key(shard, "all", ""),
            due: self.shard_key(shard, "due", ""),
        }
    }

    /// Create-if-absent of `booking` in its shard: the stored document
    /// and whether this call wrote it.
    async fn create_absent(&self, booking: &Booking) -> Result<(bool, String), StoreError> {
        let id = booking.id.to_string();
        let k = self.booking_keys(&id);
        let doc = super::encode(booking);
        let reply: (String, String) = self
            .script(
                &self.scripts.create,
                &[&k.doc, &k.all, &k.due],
                &[&id, &doc],
            )
            .await?;
        Ok((reply.0 == "created", reply.1))
    }

    /// Leases up to `max` due bookings of one shard.
    async fn claim_shard(
        &self,
        shard: usize,
        worker: &str,
        ttl: &str,
        max: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        let due = self.shard_key(shard, "due", "");
        let ids: Vec<String> = self
            .script(&self.scripts.due, &[&due], &[&max.to_string()])
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut keys = vec![due];
        for id in &ids {
            keys.push(self.shard_key(shard, "b:", id));
            keys.push(self.shard_key(shard, "lease:", id));
        }
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut args = vec![worker, ttl];
        args.extend(ids.iter().map(String::as_str));
        let flat: Vec<String> = self.script(&self.scripts.claim, &key_refs, &args).await?;
        flat.chunks_exact(2)
            .map(|pair| {
                let lag_ms: u64 = pair[0].parse().unwrap_or(0);
                Ok(Claim {
                    booking: super::decode(&pair[1])?,
                    lag: Duration::from_millis(lag_ms),
                })
            })
            .collect()
    }
}

struct BookingKeys {
    doc: String,
    lease: String,
    all: String,
    due: String,
}

impl Store for RedisStore {
    async fn create(
        &self,
        booking: &Booking,
        idempotency: Option<Idempotency<'_>>,
    ) -> Result<Created, StoreError> {
        let Some(idem) = idempotency else {
            return match self.create_absent(booking).await? {
                (true, _) => Ok(Created::New(booking.clone())),
                (false, doc) => super::decode(&doc).map(Created::New),
            };
        };
        // The record and the booking live in different slots: record
        // first, then create-if-absent. If we die in between, a retry with
        // the key finds the record and creates the booking under its id.
        let idem_key = format!("{}idem:{}", self.prefix, idem.key.as_str());
        let id = booking.id.to_string();
        let ttl = super::IDEMPOTENCY_TTL.as_millis().to_string();
        let (outcome, owner): (String, String) = self
            .script(
                &self.scripts.idempotency,
                &[&idem_key],
                &[&id, idem.fingerprint, &ttl],
            )
            .await?;
        match outcome.as_str() {
            "new" => {
                // Another request with this key may have created it first
                // (see below); either way it is this request's booking.
                match self.create_absent(booking).await? {
                    (true, _) => Ok(Created::New(booking.clone())),
                    (false, doc) => super::decode(&doc).map(Created::New),
                }
            }
            "replayed" => {
                let first: BookingId = owner
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("{idem_key}: {e}")))?;
                let mut original = booking.clone();
                original.id = first;
                let (_, doc) = self.create_absent(&original).await?;
                super::decode(&doc).map(Created::Replayed)
            }
            _ => Err(StoreError::KeyReused {
                key: idem.key.as_str().to_owned(),
                existing: owner,
            }),
        }
    }

    async fn get(&self, id: BookingId) -> Result<Option<Booking>, StoreError> {
        let key = self.booking_keys(&id.to_string()).doc;
        let mut conn = self.link.conn();
        let doc: Option<String> = self
            .instrumented("GET", &[&key], async {
                redis::cmd("GET").arg(&key).query_async(&mut conn).await
            })
            .await?;
        doc.as_deref().map(super::decode).transpose()
    }

    async fn list(
        &self,
        after: Option<BookingId>,
        limit: usize,
    ) -> Result<Vec<Booking>, StoreError> {
        let start = after.map_or_else(|| "-".to_owned(), |a| format!("({a}"));
        let limit_text = limit.to_string();
        // The first `limit` ids after the cursor of every shard hold the
        // first `limit` ids overall; merge them in id (creation) order.
        let mut ids: Vec<String> = Vec::new();
        for shard in 0..SHARDS {
            let all = self.shard_key(shard, "all", "");
            let mut conn = self.link.conn();
            let part: Vec<String> = self
                .instrumented(
                    "ZRANGEBYLEX",
                    &[&all, &start, "+", "LIMIT", "0", &limit_text],
                    async {
                        redis::cmd("ZRANGEBYLEX")
                            .arg(&all)
                            .arg(&start)
                            .arg("+")
                            .arg("LIMIT")
                            .arg(0)
                            .arg(limit)
                            .query_async(&mut conn)
                            .await
                    },
                )
                .await?;
            ids.extend(part);
        }
        ids.sort_unstable();
        ids.truncate(limit);
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.booking_keys(id).doc).collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut conn = self.link.conn();
        // On Cluster the crate splits MGET by slot and reassembles the reply in order.
        let docs: Vec<Option<String>> = self
            .instrumented("MGET", &key_refs, async {
                redis::cmd("MGET").arg(&keys).query_async(&mut conn).await
            })
            .await?;
        docs.into_iter()
            .flatten()
            .map(|d| super::decode(&d))
            .collect()
    }

    async fn cancel(&self, id: BookingId) -> Result<Cancelled, StoreError> {
        let Some(booking) = self.get(id).await? else {
            return Ok(Cancelled::NotFound);
        };
        if booking.status != Status::Pending {
            return Ok(Cancelled::TooLate(booking));
        }
        let cancelled = super::cancelled(booking);
        let doc = super::encode(&cancelled);
        let id_text = id.to_string();
        let k = self.booking_keys(&id_text);
        let saved: i64 = self
            .script(
                &self.scripts.save,
                &[&k.doc, &k.lease, &k.due],
                &[&id_text, Status::Pending.as_str(), &doc, "", "done", "0"],
            )
            .await?;
        if saved == 1 {
            return Ok(Cancelled::Done(cancelled));
        }
        // The worker moved it on between our read and the compare-and-set.
        match self.get(id).await? {
            Some(now) => Ok(Cancelled::TooLate(now)),
            None => Ok(Cancelled::NotFound),
        }
    }

    /// Visits the shards from a rotating start until `max` bookings are
    /// leased or every shard was asked once.
    async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        let ttl = lease.as_millis().to_string();
        let first = self.next_shard.fetch_add(1, Ordering::Relaxed);
        let mut out = Vec::new();
        for i in 0..SHARDS {
            if out.len() >= max {
                break;
            }
            let shard = (first + i) % SHARDS;
            out.extend(
                self.claim_shard(shard, worker, &ttl, max - out.len())
                    .await?,
            );
        }
        Ok(out)
    }

    async fn renew(
        &self,
        worker: &str,
        id: BookingId,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let id_text = id.to_string();
        let k = self.booking_keys(&id_text);
        let renewed: i64 = self
            .script(
                &self.scripts.renew,
                &[&k.lease, &k.due],
                &[&id_text, worker, &lease.as_millis().to_string()],
            )
            .await?;
        Ok(renewed == 1)
    }

    async fn save(
        &self,
        worker: &str,
        expected: Status,
        booking: &Booking,
        next: Next,
    ) -> Result<bool, StoreError> {
        let (next, delay) = match next {
            Next::DueIn(d) => ("due", d.as_millis().to_string()),
            Next::Hold => ("hold", "0".to_owned()),
            Next::Done => ("done", "0".to_owned()),
        };
        let doc = super::encode(booking);
        let id_text = booking.id.to_string();
        let k = self.booking_keys(&id_text);
        let saved: i64 = self
            .script(
                &self.scripts.save,
                &[&k.doc, &k.lease, &k.due],
                &[&id_text, expected.as_str(), &doc, worker, next, &delay],
            )
            .await?;
        Ok(saved == 1)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.link.conn();
        let _: String = self
            .instrumented("PING", &[], async {
                redis::cmd("PING").query_async(&mut conn).await
            })
            .await?;
        Ok(())
    }
}
