//! Redis spans around real commands against a real `redis-server` on
//! 127.0.0.1 (found via `PARKER_REDIS_SERVER`, else `PATH`).

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanKind, Status};
use parker_telemetry::db::{RedisTarget, record_redis_error, redis_span};
use parker_telemetry::testing::{Capture, SpanDataExt, find};

/// A redis-server child on a free loopback port, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    fn start() -> RedisServer {
        let binary = std::env::var("PARKER_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&binary)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {binary:?} ({e}): run ./scripts/test, which installs redis-server"
                )
            });
        let server = RedisServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen on {port} within 10s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect(server: &RedisServer, db: i64) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/{db}", server.port)).unwrap();
    tokio::time::timeout(
        Duration::from_secs(5),
        client.get_multiplexed_async_connection(),
    )
    .await
    .expect("connect within 5s")
    .expect("connect to redis-server")
}

#[tokio::test]
async fn traced_hset_against_real_redis_records_semconv_span() {
    let server = RedisServer::start();
    let capture = Capture::install();
    let mut con = connect(&server, 3).await;
    let target = RedisTarget {
        address: "127.0.0.1".into(),
        port: server.port,
        database: 3,
    };

    let args = ["booking:42", "status", "confirmed"];
    let mut hset = redis::cmd("HSET");
    hset.arg(&args);
    let added: i64 = redis_span("HSET", &args, &target)
        .wrap(hset.query_async(&mut con))
        .await
        .unwrap();
    assert_eq!(added, 1);
    let stored: String = redis::cmd("HGET")
        .arg(&["booking:42", "status"])
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(stored, "confirmed");

    let span = capture.span_named("HSET");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(span.status, Status::Unset);
    assert_eq!(span.attr("db.namespace").as_deref(), Some("3"));
    assert_eq!(span.attr_i64("server.port"), Some(i64::from(server.port)));
    assert_eq!(span.attr("db.query.text").as_deref(), Some("HSET ? ? ?"));
    assert!(!format!("{:?}", span.attributes).contains("confirmed"));
}

#[tokio::test]
async fn real_wrongtype_reply_marks_the_span_failed() {
    let server = RedisServer::start();
    let capture = Capture::install();
    let mut con = connect(&server, 0).await;
    let target = RedisTarget {
        address: "127.0.0.1".into(),
        port: server.port,
        database: 0,
    };
    let _: i64 = redis::cmd("HSET")
        .arg(&["fare:1", "price", "100"])
        .query_async(&mut con)
        .await
        .unwrap();

    let span = redis_span("INCR", &["fare:1"], &target);
    let result: redis::RedisResult<i64> = span
        .wrap(redis::cmd("INCR").arg("fare:1").query_async(&mut con))
        .await;
    let err = result.expect_err("INCR on a hash is a WRONGTYPE error");
    record_redis_error(&span, err.code().unwrap_or("ERR"), &err);
    drop(span);

    let span = capture.span_named("INCR");
    assert_eq!(
        span.attr("db.response.status_code").as_deref(),
        Some("WRONGTYPE")
    );
    assert_eq!(span.attr("error.type").as_deref(), Some("WRONGTYPE"));
    assert!(
        matches!(span.status, Status::Error { .. }),
        "{:?}",
        span.status
    );
    let exception = span.event_attrs("exception").expect("exception event");
    let message = find(&exception, "exception.message")
        .map(|v| v.to_string())
        .unwrap_or_default();
    assert!(message.contains("wrong kind of value"), "{message}");
}
