//! Redis store: the production backend, shared by any number of replicas.
//!
//! Layout (all keys under a prefix, default `parker:`):
//! - `b:{id}`      booking JSON;
//! - `all`         ZSET, score 0, members = ids (UUIDv7 sort by creation),
//!   so paging is `ZRANGEBYLEX`;
//! - `due`         ZSET id → due time (ms, Redis clock); a claimed booking's
//!   score is its lease end, so a dead worker's booking falls due again;
//! - `lease:{id}`  owner of the current lease, `PX` = lease length;
//! - `idem:{key}`  `"{id}\n{canonical request}"`, `PX` 24 h.
//!
//! Every state change is one Lua script, hence atomic; scripts use Redis's
//! own clock (`TIME`) so replicas with skewed clocks agree on what is due.
//! Scripts touch keys they compute from the prefix, which a single Redis
//! (not Cluster) allows.
//!
//! Connections: one `ConnectionManager`, a multiplexed connection that
//! pipelines concurrent commands over one socket and reconnects by itself.
//! For this workload it does what a pool would (concurrency, recovery)
//! without checkout cost: there are no blocking commands or MULTI blocks
//! that would need a connection of their own.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};

use parker_telemetry::db::{RedisTarget, redis_span};

use super::{Cancelled, Claim, Created, Idempotency, Next, Store, StoreError};
use crate::domain::{Booking, BookingId, Status};

/// Any command slower than this counts as Redis being unavailable, so a
/// request fails fast with 503 instead of hanging.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

const CREATE: &str = r#"
local p, id, doc, key, fp, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if key ~= '' then
  local seen = redis.call('GET', p .. 'idem:' .. key)
  if seen then
    local sep = string.find(seen, '\n', 1, true)
    local first = string.sub(seen, 1, sep - 1)
    if string.sub(seen, sep + 1) ~= fp then return {'reused', first} end
    return {'replayed', redis.call('GET', p .. 'b:' .. first) or ''}
  end
  redis.call('SET', p .. 'idem:' .. key, id .. '\n' .. fp, 'PX', ttl)
end
local t = redis.call('TIME')
redis.call('SET', p .. 'b:' .. id, doc)
redis.call('ZADD', p .. 'all', 0, id)
redis.call('ZADD', p .. 'due', t[1] * 1000 + math.floor(t[2] / 1000), id)
return {'created', doc}
"#;

const CLAIM: &str = r#"
local p, owner, ttl, max = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local due = redis.call('ZRANGEBYSCORE', p .. 'due', '-inf', now, 'WITHSCORES', 'LIMIT', 0, max)
local out = {}
for i = 1, #due, 2 do
  local id = due[i]
  local doc = redis.call('GET', p .. 'b:' .. id)
  if doc then
    redis.call('ZADD', p .. 'due', now + ttl, id)
    redis.call('SET', p .. 'lease:' .. id, owner, 'PX', ttl)
    table.insert(out, tostring(now - tonumber(due[i + 1])))
    table.insert(out, doc)
  else
    redis.call('ZREM', p .. 'due', id)
  end
end
return out
"#;

const RENEW: &str = r#"
local p, id, owner, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
if redis.call('GET', p .. 'lease:' .. id) ~= owner then return 0 end
local t = redis.call('TIME')
redis.call('SET', p .. 'lease:' .. id, owner, 'PX', ttl)
redis.call('ZADD', p .. 'due', 'XX', t[1] * 1000 + math.floor(t[2] / 1000) + ttl, id)
return 1
"#;

/// Compare-and-set on status (and lease, when an owner is given), then
/// move the booking in the queue: `due` (release, due after ARGV[7] ms),
/// `hold` (keep the lease) or `done` (leave the queue).
const SAVE: &str = r#"
local p, id, expected, doc, owner, next, delay = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7])
local cur = redis.call('GET', p .. 'b:' .. id)
if not cur then return 0 end
if cjson.decode(cur)['status'] ~= expected then return 0 end
if owner ~= '' and redis.call('GET', p .. 'lease:' .. id) ~= owner then return 0 end
redis.call('SET', p .. 'b:' .. id, doc)
if next == 'due' then
  local t = redis.call('TIME')
  redis.call('ZADD', p .. 'due', t[1] * 1000 + math.floor(t[2] / 1000) + delay, id)
  redis.call('DEL', p .. 'lease:' .. id)
elseif next == 'done' then
  redis.call('ZREM', p .. 'due', id)
  redis.call('DEL', p .. 'lease:' .. id)
end
return 1
"#;

#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    target: std::sync::Arc<RedisTarget>,
    prefix: String,
    scripts: std::sync::Arc<Scripts>,
}

struct Scripts {
    create: Script,
    claim: Script,
    renew: Script,
    save: Script,
}

fn unavailable(e: RedisError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`); fails if Redis cannot be
    /// reached now. After that, lost connections are re-established in the
    /// background and commands fail fast (503) until Redis is back.
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::Unavailable(format!("--redis-url {url:?}: {e}")))?;
        let info = client.get_connection_info();
        let (address, port) = match info.addr() {
            redis::ConnectionAddr::Tcp(host, port) => (host.clone(), *port),
            redis::ConnectionAddr::TcpTls { host, port, .. } => (host.clone(), *port),
            other => (other.to_string(), 0),
        };
        let target = RedisTarget {
            address,
            port,
            database: info.redis_settings().db(),
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| StoreError::Unavailable(format!("connecting to {url}: {e}")))?;
        Ok(RedisStore {
            conn,
            target: std::sync::Arc::new(target),
            prefix: prefix.to_owned(),
            scripts: std::sync::Arc::new(Scripts {
                create: Script::new(CREATE),
                claim: Script::new(CLAIM),
                renew: Script::new(RENEW),
                save: Script::new(SAVE),
            }),
        })
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
                // A server error reply (e.g. `BUSY`, `OOM`) also gets
                // `db.response.status_code`; transport errors only the exception.
                match e.code() {
                    Some(prefix) => parker_telemetry::db::record_redis_error(&span, prefix, &e),
                    None => parker_telemetry::exception::record_error_on(&span.span(), &e),
                }
                Err(unavailable(e))
            }
            Err(_) => {
                let err = StoreError::Unavailable(format!(
                    "{command} took longer than {COMMAND_TIMEOUT:?}"
                ));
                parker_telemetry::exception::record_error_on(&span.span(), &err);
                Err(err)
            }
        }
    }

    /// Scripts go out as `EVALSHA` (falling back to `EVAL` once per
    /// connection when Redis does not have the script cached).
    async fn script<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        args: &[&str],
    ) -> Result<T, StoreError> {
        let mut invocation = script.prepare_invoke();
        invocation.arg(&self.prefix);
        for a in args {
            invocation.arg(*a);
        }
        let mut conn = self.conn.clone();
        let sha = script.get_hash();
        let mut span_args = vec![sha, "0"];
        span_args.extend_from_slice(args);
        self.instrumented("EVALSHA", &span_args, async move {
            invocation.invoke_async(&mut conn).await
        })
        .await
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut k = self.prefix.clone();
        for p in parts {
            k.push_str(p);
        }
        k
    }
}

impl Store for RedisStore {
    async fn create(
        &self,
        booking: &Booking,
        idempotency: Option<Idempotency<'_>>,
    ) -> Result<Created, StoreError> {
        let id = booking.id.to_string();
        let doc = super::encode(booking);
        let (key, fp) = idempotency
            .as_ref()
            .map_or(("", ""), |i| (i.key.as_str(), i.fingerprint));
        let ttl = super::IDEMPOTENCY_TTL.as_millis().to_string();
        let reply: (String, String) = self
            .script(&self.scripts.create, &[&id, &doc, key, fp, &ttl])
            .await?;
        match reply.0.as_str() {
            "created" => Ok(Created::New(booking.clone())),
            "replayed" => super::decode(&reply.1).map(Created::Replayed),
            _ => Err(StoreError::KeyReused {
                key: key.to_owned(),
                existing: reply.1,
            }),
        }
    }

    async fn get(&self, id: BookingId) -> Result<Option<Booking>, StoreError> {
        let key = self.key(&["b:", &id.to_string()]);
        let mut conn = self.conn.clone();
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
        let all = self.key(&["all"]);
        let start = after.map_or_else(|| "-".to_owned(), |a| format!("({a}"));
        let limit_text = limit.to_string();
        let mut conn = self.conn.clone();
        let ids: Vec<String> = self
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
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| self.key(&["b:", id])).collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let mut conn = self.conn.clone();
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
        let saved: i64 = self
            .script(
                &self.scripts.save,
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

    async fn claim(
        &self,
        worker: &str,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<Claim>, StoreError> {
        let ttl = lease.as_millis().to_string();
        let max = max.to_string();
        let flat: Vec<String> = self
            .script(&self.scripts.claim, &[worker, &ttl, &max])
            .await?;
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

    async fn renew(
        &self,
        worker: &str,
        id: BookingId,
        lease: Duration,
    ) -> Result<bool, StoreError> {
        let renewed: i64 = self
            .script(
                &self.scripts.renew,
                &[&id.to_string(), worker, &lease.as_millis().to_string()],
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
        let saved: i64 = self
            .script(
                &self.scripts.save,
                &[
                    &booking.id.to_string(),
                    expected.as_str(),
                    &doc,
                    worker,
                    next,
                    &delay,
                ],
            )
            .await?;
        Ok(saved == 1)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: String = self
            .instrumented("PING", &[], async {
                redis::cmd("PING").query_async(&mut conn).await
            })
            .await?;
        Ok(())
    }
}
