//! The receiver as a library (what `otelops demo` and `check --listen`
//! build on): start in-process on loopback, receive from parker-telemetry,
//! read the store, render a waterfall, shut down with a summary.

#[path = "common/telemetry.rs"]
mod telemetry;

use std::time::{Duration, Instant};

use otelops::receive::model::TraceDetail;
use otelops::receive::view::{Style, render_waterfall};
use otelops::receive::{Receiver, ReceiverConfig, Token};
use parker_telemetry::ServiceInfo;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_receive_read_the_store_and_shut_down() {
    let handle = Receiver::start(ReceiverConfig::ephemeral())
        .await
        .expect("start");
    assert!(handle.grpc_addr().ip().is_loopback() && handle.grpc_addr().port() != 0);
    let guard = parker_telemetry::build(
        ServiceInfo::new("fares", "1"),
        &telemetry::traces_only("grpc", &format!("http://{}", handle.grpc_addr())),
    )
    .expect("telemetry");
    {
        let _subscriber = tracing::subscriber::set_default(guard.subscriber());
        let quote = tracing::info_span!("quote", otel.kind = "server");
        quote.in_scope(|| tracing::info_span!("price").in_scope(|| {}));
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while handle.store().span_count() < 2 {
        assert!(Instant::now() < deadline, "spans never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let traces = handle.store().traces();
    assert_eq!(traces.len(), 1);
    let trace = &traces[0];
    assert_eq!(trace.span_count, 2);
    assert_eq!(trace.root.as_ref().expect("root").span().name, "quote");
    let spans = handle.store().trace(&trace.trace_id).expect("stored");
    let detail = TraceDetail::from_spans(trace.trace_id, &spans);
    let text = render_waterfall(&detail, Style { color: false });
    assert!(text.contains("\nquote "), "{text}");
    assert!(text.contains("\n└─ price "), "{text}");

    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("join")
        .expect("telemetry shutdown");
    let summary = handle.shutdown().await;
    assert_eq!((summary.spans, summary.traces), (2, 1));
    assert_eq!(summary.services, ["fares"]);
}

#[tokio::test]
async fn a_non_loopback_address_needs_a_token_and_the_token_is_never_shown() {
    let mut config = ReceiverConfig::ephemeral();
    config.http_listen = "0.0.0.0:0".parse().unwrap();
    let err = Receiver::start(config.clone()).await.expect_err("no token");
    assert!(
        err.to_string().contains("refusing to listen on 0.0.0.0:0"),
        "{err}"
    );

    config.token = Some(Token::new("hunter2").expect("token"));
    // Checked, not started: this test never binds a non-loopback address.
    assert!(!format!("{config:?}").contains("hunter2"));
    assert!(Token::new("has space").is_err());
}
