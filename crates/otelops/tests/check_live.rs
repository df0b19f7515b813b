//! `otelops check … --listen`: the real binary receives a live OTLP stream
//! from parker-telemetry's SDK pipeline (or a raw OTLP/HTTP JSON request),
//! stops at `--spans N` or `--duration`, and checks what arrived.

#[path = "common/telemetry.rs"]
mod telemetry;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use otelops::check::live::{ListenOptions, Listening, StopReason};
use parker_telemetry::ServiceInfo;
use parker_telemetry::http::{HttpServerLayer, TracedClient};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};

const WAIT: Duration = Duration::from_secs(30);

/// A running `otelops check … --listen 127.0.0.1:0` and the addresses it
/// printed.
struct Live {
    child: Child,
    stderr: BufReader<ChildStderr>,
    grpc: SocketAddr,
    http: SocketAddr,
}

struct Finished {
    code: i32,
    report: Option<Value>,
    stderr: String,
}

async fn listen(check: &str, bounds: &[&str]) -> Live {
    let mut child = Command::new(env!("CARGO_BIN_EXE_otelops"))
        .args([
            "--output",
            "json",
            "check",
            check,
            "--listen",
            "127.0.0.1:0",
        ])
        .args(bounds)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn otelops");
    let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut line = String::new();
    tokio::time::timeout(WAIT, stderr.read_line(&mut line))
        .await
        .expect("otelops announces its addresses")
        .expect("read stderr");
    // "otelops check: receiving OTLP/gRPC on A and OTLP/HTTP on B until …"
    let addr = |after: &str| -> SocketAddr {
        line.split(after)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no {after} address in {line:?}"))
    };
    let (grpc, http) = (addr("OTLP/gRPC on "), addr("OTLP/HTTP on "));
    Live {
        child,
        stderr,
        grpc,
        http,
    }
}

impl Live {
    async fn finish(mut self) -> Finished {
        let mut stdout = self.child.stdout.take().expect("piped stdout");
        let mut out = Vec::new();
        let mut err = String::new();
        let status = tokio::time::timeout(WAIT, async {
            stdout.read_to_end(&mut out).await.expect("read stdout");
            self.stderr
                .read_to_string(&mut err)
                .await
                .expect("read stderr");
            self.child.wait().await.expect("wait otelops")
        })
        .await
        .expect("otelops finishes collecting and checking");
        Finished {
            code: status.code().expect("exited normally"),
            report: serde_json::from_slice(&out).ok(),
            stderr: err,
        }
    }
}

impl Finished {
    fn report(&self) -> &Value {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no JSON report; stderr: {}", self.stderr))
    }

    fn rules(&self) -> Vec<String> {
        self.report()["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["rule"].as_str().expect("rule").to_owned())
            .collect()
    }
}

/// One real HTTP exchange through parker-telemetry's server layer and
/// traced client: a server span and a client span, as our services emit.
async fn send_http_exchange(config: &parker_telemetry::TelemetryConfig) {
    let guard = parker_telemetry::build(ServiceInfo::new("parker-fares", "0.1.0"), config)
        .expect("pipeline");
    {
        let _subscriber = tracing::subscriber::set_default(guard.subscriber());
        let app = Router::new()
            .route("/fares/{id}", get(|| async { "fare" }))
            .layer(HttpServerLayer::new());
        let addr = telemetry::serve(app).await;
        let client = TracedClient::new(
            reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client"),
        );
        let request = client
            .inner()
            .get(format!("http://{addr}/fares/42"))
            .build()
            .expect("request");
        client.execute(request).await.expect("response");
    }
    flush(guard).await;
}

/// Exports what is left; the check may already have stopped listening once
/// its span count was reached, so a failed final flush is not the test's
/// concern (every span the test waits for was already accepted by then).
async fn flush(guard: parker_telemetry::TelemetryGuard) {
    let _ = tokio::task::spawn_blocking(move || guard.shutdown()).await;
}

// Current-thread runtimes: the scoped subscriber must see the server task.

#[tokio::test]
async fn parker_telemetry_over_http_passes_semantic_conventions() {
    let live = listen(
        "semantic-conventions",
        &["--spans", "2", "--duration", "30s"],
    )
    .await;
    send_http_exchange(&telemetry::traces_only(
        "http/protobuf",
        &format!("http://{}", live.http),
    ))
    .await;
    let done = live.finish().await;
    assert_eq!(done.code, 0, "{:#}\n{}", done.report(), done.stderr);
    assert_eq!(done.report()["violations"], 0);
    assert!(done.report()["files"].as_u64().expect("requests") >= 1);
    assert!(
        done.stderr.contains("span(s) (--spans count was reached)"),
        "{}",
        done.stderr
    );
}

#[tokio::test]
async fn parker_telemetry_over_grpc_passes_export_format() {
    let live = listen("export-format", &["--spans", "2"]).await;
    send_http_exchange(&telemetry::traces_only(
        "grpc",
        &format!("http://{}", live.grpc),
    ))
    .await;
    let done = live.finish().await;
    assert_eq!(done.code, 0, "{:#}\n{}", done.report(), done.stderr);
    assert_eq!(done.report()["violations"], 0);
    assert!(
        !done
            .rules()
            .contains(&"otlp.resource-service-name".to_owned()),
        "{:#}",
        done.report()
    );
}

/// The library the command (and `otelops demo`) uses: requests come back
/// whole, resource and scope included, in OTLP/JSON shape with hex ids.
#[tokio::test]
async fn collected_requests_keep_resource_scope_and_hex_ids() {
    let listening = Listening::start(&ListenOptions {
        grpc_listen: "127.0.0.1:0".parse().expect("addr"),
        http_listen: "127.0.0.1:0".parse().expect("addr"),
        token: None,
        duration: Some(WAIT),
        spans: Some(2),
    })
    .await
    .expect("receiver starts");
    let endpoint = format!("http://{}", listening.grpc_addr());
    send_http_exchange(&telemetry::traces_only("grpc", &endpoint)).await;
    let collected = listening.collect().await.expect("collected");
    assert_eq!(collected.stopped, StopReason::Spans);
    assert_eq!(collected.summary.spans, 2);
    let document = &collected.documents[0];
    assert_eq!(document.source.line, Some(1));
    let resource_spans = &document.value["resourceSpans"][0];
    let resource: Vec<&str> = resource_spans["resource"]["attributes"]
        .as_array()
        .expect("resource attributes")
        .iter()
        .filter_map(|kv| kv["key"].as_str())
        .collect();
    assert!(
        resource.contains(&"service.name") && resource.contains(&"telemetry.sdk.language"),
        "{resource:?}"
    );
    let scope = &resource_spans["scopeSpans"][0];
    assert!(
        scope["scope"]["name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{scope:#}"
    );
    let trace_id = scope["spans"][0]["traceId"]
        .as_str()
        .expect("traceId string");
    assert!(
        trace_id.len() == 32
            && trace_id
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{trace_id}"
    );
}

#[tokio::test]
async fn a_deprecated_attribute_in_the_stream_is_a_violation_with_its_path() {
    let live = listen(
        "semantic-conventions",
        &["--spans", "1", "--duration", "30s"],
    )
    .await;
    let guard = parker_telemetry::build(
        ServiceInfo::new("parker-booking", "0.1.0"),
        &telemetry::traces_only("http/protobuf", &format!("http://{}", live.http)),
    )
    .expect("pipeline");
    {
        let _subscriber = tracing::subscriber::set_default(guard.subscriber());
        tracing::info_span!(
            "GET",
            otel.kind = "server",
            http.method = "GET",
            http.request.method = "GET",
            url.path = "/bookings",
            url.scheme = "http",
        )
        .in_scope(|| {});
    }
    flush(guard).await;
    let grpc = live.grpc;
    let done = live.finish().await;
    assert_eq!(done.code, 1, "{}", done.stderr);
    let finding = done.report()["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "semconv.deprecated")
        .unwrap_or_else(|| panic!("no deprecation: {:#}", done.report()))
        .clone();
    assert_eq!(finding["level"], "violation");
    assert_eq!(finding["file"], format!("otlp://{grpc}"));
    assert_eq!(finding["line"], 1);
    assert_eq!(
        finding["path"],
        "resourceSpans[0].scopeSpans[0].spans[0].attributes[\"http.method\"]"
    );
    assert_eq!(
        finding["message"],
        "`http.method` is deprecated: renamed to `http.request.method`"
    );
    assert_eq!(finding["span"]["name"], "GET");
}

#[tokio::test]
async fn spans_the_receiver_rejects_are_export_format_violations() {
    let live = listen("export-format", &["--spans", "1", "--duration", "30s"]).await;
    let span = |trace_id: &str, name: &str| {
        serde_json::json!({
            "traceId": trace_id, "spanId": "00f067aa0ba902b7", "name": name, "kind": 2,
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000100000000",
        })
    };
    let request = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "parker-fares"}}]},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": [
            span("4bf92f3577b34da6a3ce929d0e0e4736", "kept"),
            span("00000000000000000000000000000000", "zero trace id"),
        ]}],
    }]});
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .post(format!("http://{}/v1/traces", live.http))
        .json(&request)
        .send()
        .await
        .expect("OTLP/HTTP export");
    assert!(response.status().is_success(), "{}", response.status());
    let done = live.finish().await;
    assert_eq!(done.code, 1, "{}", done.stderr);
    assert_eq!(done.rules(), ["otlp.rejected"], "{:#}", done.report());
    let message = done.report()["findings"][0]["message"]
        .as_str()
        .expect("message");
    assert!(
        message.starts_with("the receiver rejected 1 span(s)"),
        "{message}"
    );
}

#[tokio::test]
async fn nothing_received_before_the_duration_is_bad_input() {
    let live = listen("export-format", &["--duration", "200ms"]).await;
    let done = live.finish().await;
    assert_eq!(done.code, 2);
    assert!(
        done.stderr.contains("no telemetry arrived at 127.0.0.1:")
            && done.stderr.contains("before the --duration elapsed"),
        "{}",
        done.stderr
    );
}
