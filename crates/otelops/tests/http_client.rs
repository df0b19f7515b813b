//! otelops' one HTTP client against real servers on loopback: https with a
//! CA made here (and an untrusted CA, an expired certificate, mTLS), the
//! bearer-token rule, the loopback rule, timeouts, no redirects, and
//! environment proxies (ignored unless `--proxy-from-env`).
//!
//! "Remote" targets are `[::ffff:127.0.0.1]`: the IPv4-mapped form of
//! 127.0.0.1, which the loopback rule does not treat as loopback, so the
//! rules for remote hosts are exercised without leaving the machine.

mod common;
#[path = "common/server.rs"]
mod server;
#[path = "common/tls.rs"]
mod tls_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use otelops::http_client::{HttpClient, HttpError, HttpOptions, Response, TlsFiles, TokenSource};
use parker_telemetry::testing::{OtlpSink, Transport};
use prost::Message;
use tls_support::Pki;

const TOKEN: &str = "tok-3f9a1c";
const UNTRUSTED: [&str; 2] = [
    "UnknownIssuer",
    "is --cacert the CA that signed the server's certificate?",
];
const EXPIRED: [&str; 2] = [
    "certificate expired",
    "the server's certificate has expired",
];

fn options(ca: Option<PathBuf>, token: Option<PathBuf>) -> HttpOptions {
    HttpOptions {
        tls: TlsFiles {
            ca,
            ..TlsFiles::default()
        },
        token: token.map(TokenSource::File),
        ..HttpOptions::loopback(Duration::from_secs(5))
    }
}

/// POST an empty OTLP trace export to `base/v1/traces`.
async fn export(client: &HttpClient, base: &str) -> Result<Response, HttpError> {
    let url = client.url(&format!("{base}/v1/traces"))?;
    let body = ExportTraceServiceRequest::default().encode_to_vec();
    client.post(&url, "application/x-protobuf", body).await
}

/// The `authorization` header of every request the sink saw over `transport`.
fn authorizations(sink: &OtlpSink, transport: Transport) -> Vec<String> {
    sink.attempts()
        .iter()
        .filter(|a| a.transport == transport)
        .map(|a| {
            a.headers
                .get("authorization")
                .map_or(String::new(), |v| v.to_str().unwrap().to_owned())
        })
        .collect()
}

/// The sink's https base URL with its host written as `[::ffff:127.0.0.1]`.
fn mapped(base: &str) -> String {
    base.replace("127.0.0.1", "[::ffff:127.0.0.1]")
}

/// A loopback listener that counts the connections it accepts (and drops them).
struct Counting {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl Counting {
    fn start() -> Counting {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                count.fetch_add(1, Ordering::SeqCst);
                // Held open, never answered: a request to it can only time out.
                std::thread::spawn(move || {
                    let _held = stream;
                    std::thread::sleep(Duration::from_secs(30));
                });
            }
        });
        Counting { addr, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn https_with_the_given_ca_works_and_carries_the_token() {
    let pki = Pki::new("good");
    let sink = OtlpSink::start_tls(pki.server("server", false).sink_tls(None)).await;
    let token = pki.token_file("token", TOKEN);
    let client = HttpClient::new(&options(Some(pki.ca_file()), Some(token))).unwrap();
    let answer = export(&client, &sink.http_endpoint()).await.unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        authorizations(&sink, Transport::Http),
        [format!("Bearer {TOKEN}")]
    );
}

#[tokio::test]
async fn an_untrusted_ca_and_an_expired_certificate_are_tls_errors() {
    let pki = Pki::new("good");
    let other = Pki::new("other");
    let sink = OtlpSink::start_tls(pki.server("server", false).sink_tls(None)).await;
    let expired = OtlpSink::start_tls(pki.server("expired", true).sink_tls(None)).await;

    for (client, base, expect) in [
        // The Mozilla roots do not know the test CA.
        (options(None, None), sink.http_endpoint(), UNTRUSTED),
        (
            options(Some(other.ca_file()), None),
            sink.http_endpoint(),
            UNTRUSTED,
        ),
        (
            options(Some(pki.ca_file()), None),
            expired.http_endpoint(),
            EXPIRED,
        ),
    ] {
        let client = HttpClient::new(&client).unwrap();
        let err = export(&client, &base).await.unwrap_err();
        assert!(matches!(err, HttpError::Tls { .. }), "{base}: {err:?}");
        let text = err.to_string();
        let [what, hint] = expect;
        assert!(
            text.contains("TLS handshake failed: invalid peer certificate")
                && text.contains(what)
                && text.contains(hint),
            "{text}"
        );
    }
    assert!(sink.attempts().is_empty() && expired.attempts().is_empty());
}

#[tokio::test]
async fn mtls_needs_the_client_certificate() {
    let pki = Pki::new("good");
    let sink = OtlpSink::start_tls(pki.server("server", false).sink_tls(Some(&pki))).await;
    let without = HttpClient::new(&options(Some(pki.ca_file()), None)).unwrap();
    assert!(export(&without, &sink.http_endpoint()).await.is_err());

    let (cert, key) = pki.client("client");
    let with = HttpClient::new(&HttpOptions {
        tls: TlsFiles {
            ca: Some(pki.ca_file()),
            client_cert: Some(cert),
            client_key: Some(key),
        },
        ..HttpOptions::loopback(Duration::from_secs(5))
    })
    .unwrap();
    let answer = export(&with, &sink.http_endpoint()).await.unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(
        sink.attempts().len(),
        1,
        "only the mTLS request got through"
    );
}

#[tokio::test]
async fn the_token_goes_over_https_or_to_loopback_never_over_plain_http_elsewhere() {
    let pki = Pki::new("good");
    let token = pki.token_file("token", TOKEN);
    let remote_ok = HttpOptions {
        allow_remote: true,
        ..options(Some(pki.ca_file()), Some(token.clone()))
    };
    let client = HttpClient::new(&remote_ok).unwrap();

    // Plain http to a non-loopback host: refused before connecting.
    let listener = Counting::start();
    let plain = format!("http://[::ffff:127.0.0.1]:{}", listener.addr.port());
    let err = export(&client, &plain).await.unwrap_err();
    assert!(
        matches!(err, HttpError::TokenOverPlainHttp { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&token.display().to_string()), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
    // The same client without its token does connect (so the refusal above
    // was the token rule, not an unreachable address).
    let timeout_client = HttpClient::new(&HttpOptions {
        timeout: Duration::from_millis(300),
        ..remote_ok.clone()
    })
    .unwrap()
    .without_token();
    assert!(export(&timeout_client, &plain).await.is_err());
    assert_eq!(listener.accepted(), 1);

    // https to the same kind of host: sent.
    let tls_sink = OtlpSink::start_tls(pki.server("server", false).sink_tls(None)).await;
    let answer = export(&client, &mapped(&tls_sink.http_endpoint()))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(
        authorizations(&tls_sink, Transport::Http),
        [format!("Bearer {TOKEN}")]
    );

    // Plain http on loopback: sent.
    let plain_sink = OtlpSink::start().await;
    let answer = export(&client, &plain_sink.http_endpoint()).await.unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(
        authorizations(&plain_sink, Transport::Http),
        [format!("Bearer {TOKEN}")]
    );
}

#[tokio::test]
async fn non_loopback_targets_are_refused_without_allow_remote_before_connecting() {
    let listener = Counting::start();
    let target = format!("http://[::ffff:127.0.0.1]:{}/metrics", listener.addr.port());
    let client = HttpClient::loopback(Duration::from_millis(300));
    let err = client.url(&target).unwrap_err();
    assert!(matches!(err, HttpError::NotLoopback { .. }), "{err:?}");
    assert!(err.to_string().contains("--allow-remote"));
    // A URL checked by a permissive client is checked again by this one.
    let permissive = HttpClient::new(&HttpOptions {
        allow_remote: true,
        ..HttpOptions::loopback(Duration::from_millis(300))
    })
    .unwrap();
    let url = permissive.url(&target).unwrap();
    assert!(matches!(
        client.get(&url).await,
        Err(HttpError::NotLoopback { .. })
    ));
    assert_eq!(listener.accepted(), 0);
    // With --allow-remote it does connect (and times out: nothing answers).
    let err = permissive.get(&url).await.unwrap_err();
    assert!(matches!(err, HttpError::Timeout { .. }), "{err:?}");
    assert_eq!(listener.accepted(), 1);
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let listener = Counting::start();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move {
            (
                axum::http::StatusCode::FOUND,
                [(
                    "location",
                    format!("http://127.0.0.1:{}/", listener.addr.port()),
                )],
            )
        }),
    );
    let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(server, app).await });
    let client = HttpClient::loopback(Duration::from_secs(5));
    let url = client.url(&format!("http://{addr}/")).unwrap();
    let answer = client.get(&url).await.unwrap();
    assert_eq!(answer.status, 302);
}

/// A minimal HTTP CONNECT proxy on loopback that records each request line.
struct ConnectProxy {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || tunnel(client, &seen));
            }
        });
        ConnectProxy { addr, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn tunnel(mut client: TcpStream, seen: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let line = head.lines().next().unwrap_or_default().to_owned();
    seen.lock().unwrap().push(line.clone());
    let target = match line.split_whitespace().collect::<Vec<_>>()[..] {
        ["CONNECT", target, _] => target.to_owned(),
        _ => {
            let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n");
            return;
        }
    };
    let Ok(mut upstream) = TcpStream::connect(&target) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
        return;
    };
    let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
    let (mut c2, mut u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    std::thread::spawn(move || std::io::copy(&mut u2, &mut c2));
    let _ = std::io::copy(&mut client, &mut upstream);
    let _ = upstream.shutdown(std::net::Shutdown::Write);
}

/// `otelops health` against the fake collector with every proxy variable
/// pointing at `proxy`.
fn health_with_proxy_env(
    s: &server::TestServer,
    proxy: &ConnectProxy,
    extra: &[&str],
) -> common::Run {
    let proxy_url = format!("http://{}", proxy.addr);
    let mut cmd = common::otelops_command();
    cmd.arg("health")
        .args(s.health_flags())
        .args(extra)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env(var, &proxy_url);
    }
    common::run_bounded(&mut cmd, Duration::from_secs(60)).into()
}

#[test]
fn environment_proxies_are_ignored_unless_proxy_from_env() {
    let s = server::TestServer::start(vec![common::fixture_text("otelcol-v0.165-metrics.prom")]);
    let proxy = ConnectProxy::start();

    let direct = health_with_proxy_env(&s, &proxy, &[]);
    assert_eq!(direct.code, 0, "{}\n{}", direct.stdout, direct.stderr);
    assert_eq!(
        proxy.requests(),
        Vec::<String>::new(),
        "nothing may reach the proxy"
    );

    let proxied = health_with_proxy_env(&s, &proxy, &["--proxy-from-env"]);
    assert_eq!(proxied.code, 0, "{}\n{}", proxied.stdout, proxied.stderr);
    // Both the HTTP checks and the gRPC check went through it.
    let requests = proxy.requests();
    for addr in [s.addr, s.grpc_addr] {
        let expected = format!("CONNECT {addr} HTTP/1.1");
        assert!(
            requests.contains(&expected),
            "expected {expected:?} among {requests:?}"
        );
    }
}

#[test]
fn token_sources_that_cannot_be_read_are_usage_errors_naming_the_source() {
    let s = server::TestServer::start(vec![common::fixture_text("otelcol-v0.165-metrics.prom")]);
    let var = "OTELOPS_TEST_HTTP_CLIENT_TOKEN_UNSET";
    let missing = "/nonexistent/otelops/token";
    // Each is refused before any request, naming what is wrong.
    for (flag, value, named) in [
        ("--token-env", var, var),
        ("--token-file", missing, missing),
        ("--client-cert", missing, "--client-key"),
    ] {
        let mut args = vec!["health".to_owned()];
        args.extend(s.health_flags());
        args.extend([flag.to_owned(), value.to_owned()]);
        let run = common::otelops(&args);
        assert_eq!(run.code, 2, "{flag}: {}", run.stderr);
        assert!(run.stderr.contains(named), "{flag}: {}", run.stderr);
    }
    assert_eq!(
        s.behaviour.metrics_hits.load(Ordering::SeqCst),
        0,
        "no check ran"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_otlp_grpc_and_http_over_mtls_with_the_token_from_env() {
    let pki = Pki::new("good");
    let sink = OtlpSink::start_tls(pki.server("server", false).sink_tls(Some(&pki))).await;
    let (cert, key) = pki.client("client");
    let grpc = sink.grpc_endpoint();
    let http = sink.http_endpoint();
    let token_var = "OTELOPS_TEST_INGEST_TOKEN";
    let mut cmd = common::otelops_command();
    cmd.args(["health", "--skip", "health", "--skip", "health-v2"])
        .args(["--skip", "metrics", "--skip", "zpages"])
        .args(["--otlp-grpc", grpc.trim_start_matches("https://")])
        .args(["--otlp-http", http.trim_start_matches("https://")])
        .arg("--cacert")
        .arg(pki.ca_file())
        .arg("--client-cert")
        .arg(&cert)
        .arg("--client-key")
        .arg(&key)
        .args(["--token-env", token_var])
        .env(token_var, TOKEN);
    let out =
        tokio::task::spawn_blocking(move || common::run_bounded(&mut cmd, Duration::from_secs(60)))
            .await
            .unwrap();
    let run: common::Run = out.into();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("https://127.0.0.1"), "{}", run.stdout);
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN));
    let bearer = format!("Bearer {TOKEN}");
    for transport in [Transport::Grpc, Transport::Http] {
        assert_eq!(authorizations(&sink, transport), [bearer.as_str()]);
    }
}

#[test]
fn traces_refuses_a_remote_receiver_and_keeps_its_token_off_plain_http() {
    let listener = Counting::start();
    let receiver = format!("http://[::ffff:127.0.0.1]:{}", listener.addr.port());
    let traces = |extra: &[&str]| {
        let mut cmd = common::otelops_command();
        cmd.args(["traces", "list", "--receiver", &receiver])
            .args(extra)
            .env("OTELOPS_RECEIVER_TOKEN", TOKEN);
        common::Run::from(common::run_bounded(&mut cmd, Duration::from_secs(60)))
    };
    let run = traces(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--allow-remote"), "{}", run.stderr);

    let run = traces(&["--allow-remote"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("bearer token from the environment variable OTELOPS_RECEIVER_TOKEN")
            && run.stderr.contains("over plain http"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(TOKEN));
    assert_eq!(listener.accepted(), 0, "nothing may reach the remote host");
}
