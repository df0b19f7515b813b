//! memory_limiter set low under load (issue 7, item 5): the real
//! otelcol-parker refuses every export with a retryable error (OTLP/HTTP 503,
//! gRPC code 14), `otelops monitor` reports the refused share, and
//! parker-telemetry's exporter (opentelemetry-otlp, as `parker_telemetry::build`
//! configures it) retries what is retryable and reports what it drops.
//! Its own test binary: `parker_telemetry::export::dropped_spans` is per process.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use opentelemetry::trace::{Span, Tracer, TracerProvider};
use opentelemetry_otlp::RetryPolicy;
use parker_telemetry::{ServiceInfo, TelemetryConfig, TelemetryGuard};
use support::artifacts::Artifacts;
use support::collector::{self, Collector, Ports};
use support::otelops;
use support::sink::Sink;

const REFUSED: &str = "otelcol_receiver_refused_spans";
const ACCEPTED: &str = "otelcol_receiver_accepted_spans";

/// Traces only, over OTLP/HTTP protobuf, exported only on explicit flush.
fn exporter(ports: &Ports, queue: usize, retry: RetryPolicy) -> TelemetryGuard {
    let queue = queue.to_string();
    let endpoint = ports.otlp_http_url();
    let vars: std::collections::HashMap<String, String> = [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_TRACES_SAMPLER", "always_on"),
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
        ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "25000"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", queue.as_str()),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", queue.as_str()),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut config = TelemetryConfig::from_source(&vars).expect("telemetry config");
    config.retry = retry;
    parker_telemetry::build(ServiceInfo::new("memory-limiter-scenario", "1"), &config)
        .expect("build parker-telemetry")
}

/// Ends `n` spans; their ids.
fn spans(guard: &TelemetryGuard, n: usize) -> HashSet<[u8; 8]> {
    let tracer = guard.tracer_provider().tracer("collector-scenarios");
    (0..n)
        .map(|i| {
            let mut span = tracer.start(format!("refusal probe {i}"));
            let id = span.span_context().span_id().to_bytes();
            span.end();
            id
        })
        .collect()
}

/// force_flush on a blocking thread (it waits for the export and its retries).
async fn flush(guard: &TelemetryGuard) -> Result<(), String> {
    let provider = guard.tracer_provider().clone();
    tokio::time::timeout(
        Duration::from_secs(40),
        tokio::task::spawn_blocking(move || provider.force_flush().map_err(|e| e.to_string())),
    )
    .await
    .expect("force_flush did not return within 40 s")
    .expect("join force_flush")
}

async fn shutdown(guard: TelemetryGuard) {
    let _ = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("join shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_reported_retried_and_counted_when_dropped() {
    let art = Artifacts::new("collector_fault_memory_limiter");
    let ports = Ports::free();
    let sink = Sink::start(ports.downstream).await;
    let limited = collector::render("memory-limited.yaml", &ports, &[], &art);
    let mut col = Collector::start(limited, ports, &art).await;

    // The limiter decides at its first check (check_interval 100ms after
    // start); before that it lets data through. Wait for its own word.
    support::wait_until(
        "memory_limiter to start refusing",
        Duration::from_secs(10),
        || async {
            if col.log().contains("Refusing data") {
                Ok(())
            } else {
                Err("no \"Refusing data\" in the collector log".to_string())
            }
        },
    )
    .await;

    // 1. Three attempts (1 + 2 retries), every one refused: the exporter
    //    gives up and reports the loss as the flush's error. The batch fits
    //    the queue (40 < 64), so nothing is dropped before the exporter.
    let few_retries = RetryPolicy::recommended()
        .with_max_retries(2)
        .with_initial_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_millis(200))
        .with_max_jitter(Duration::from_millis(10));
    let guard = exporter(&ports, 64, few_retries);
    let dropped_before = parker_telemetry::export::dropped_spans();
    let first = spans(&guard, 40);
    let started = std::time::Instant::now();
    let flushed = flush(&guard).await;
    let queue_drops = parker_telemetry::export::dropped_spans() - dropped_before;
    art.save(
        "phase1-exporter.txt",
        &format!(
            "force_flush after {:?}: {flushed:?}\nqueue drops: {queue_drops}\n",
            started.elapsed()
        ),
    );
    let error = flushed.expect_err("every attempt was refused: the exporter must report the loss");
    assert!(
        error.contains("503") || error.to_lowercase().contains("unavailable"),
        "the error should carry the collector's refusal: {error}"
    );
    assert_eq!(queue_drops, 0, "the queue had room for the batch");
    shutdown(guard).await;
    let exported = 40usize;
    let page = col
        .scrape_until("refusals counted", Duration::from_secs(10), |p| {
            p.sum(REFUSED, &[]) >= 3.0 * exported as f64
        })
        .await;
    // Each exported span was refused exactly once per attempt: proof that the
    // retryable refusal (503 / code 14) was retried, twice, and no more.
    assert_eq!(
        page.sum(REFUSED, &[("receiver", "otlp"), ("transport", "http")]),
        3.0 * exported as f64,
        "refused spans = 3 attempts × {exported} exported"
    );
    assert_eq!(page.sum(ACCEPTED, &[]), 0.0);
    assert_eq!(
        page.sum("otelcol_processor_memory_limiter_refused_spans", &[]),
        page.sum(REFUSED, &[]),
        "the memory_limiter is what refused them"
    );

    let run = otelops::run(
        &art,
        "monitor-refusing",
        &[
            "monitor",
            "report",
            "--metrics-url",
            &ports.metrics_url(),
            "--window",
            "0s",
            "--output",
            "json",
        ],
    )
    .await;
    let report = run.json();
    assert_eq!(run.code, 2, "100 % refused is CRIT: {run:#?}");
    let refused = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "refused" && c["scope"] == "receiver otlp/traces")
        .unwrap_or_else(|| panic!("no refused check: {report:#}"));
    assert_eq!(refused["status"], "CRIT", "{refused:#}");
    assert_eq!(refused["value"].as_f64(), Some(100.0), "{refused:#}");

    // 2. Refused, retried, and delivered once the limiter relents: the
    //    collector restarts on the same ports with room, while
    //    parker-telemetry is still retrying the same batch.
    let patient = RetryPolicy::recommended()
        .with_max_retries(60)
        .with_initial_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_millis(250))
        .with_max_jitter(Duration::from_millis(10));
    let guard = exporter(&ports, 64, patient);
    let second = spans(&guard, 40);
    let refused_so_far = page.sum(REFUSED, &[]);
    let provider = guard.tracer_provider().clone();
    let flushing = tokio::task::spawn_blocking(move || provider.force_flush());
    col.scrape_until(
        "the new batch refused twice",
        Duration::from_secs(10),
        |p| p.sum(REFUSED, &[]) >= refused_so_far + 80.0,
    )
    .await;
    let status = col.stop().await;
    assert!(status.success(), "{status}");
    let roomy = collector::render("healthy.yaml", &ports, &[], &art);
    let col = Collector::start(roomy, ports, &art).await;
    let flushed = tokio::time::timeout(Duration::from_secs(40), flushing)
        .await
        .expect("the retried export did not finish within 40 s")
        .expect("join force_flush");
    assert!(
        flushed.is_ok(),
        "the retry after the restart should succeed: {flushed:?}"
    );
    sink.wait_unique(40, Duration::from_secs(20)).await;
    let arrived: HashSet<[u8; 8]> = sink.ids().into_iter().collect();
    assert_eq!(
        arrived, second,
        "exactly the retried batch arrives downstream"
    );
    assert!(
        arrived.is_disjoint(&first),
        "the batch given up on must not appear"
    );
    let page = col
        .scrape_until("retried batch sent", Duration::from_secs(10), |p| {
            p.sum("otelcol_exporter_sent_spans", &[]) == 40.0
        })
        .await;
    assert_eq!(
        page.sum(ACCEPTED, &[]),
        40.0,
        "accepted once, after the retry"
    );
    assert_eq!(page.sum(REFUSED, &[]), 0.0);
    shutdown(guard).await;
}
