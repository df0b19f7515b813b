//! `otelops load` against the real otelcol-parker: what load reports as
//! accepted is what the collector's own `otelcol_receiver_accepted_spans`
//! counts, over OTLP/HTTP protobuf and JSON (gzip on and off) and gRPC; with
//! the memory limiter refusing everything, load reports as refused exactly
//! the spans the collector counts as refused.

mod common;
#[path = "common/load.rs"]
mod load_support;
#[path = "common/collector/mod.rs"]
mod support;

use std::time::Duration;

use load_support::{SAMPLE_SPANS, count, load, sample_trace};
use support::artifacts::Artifacts;
use support::collector::{self, Collector, Ports};
use support::sink::Sink;

const ACCEPTED: &str = "otelcol_receiver_accepted_spans";
const REFUSED: &str = "otelcol_receiver_refused_spans";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_spans_are_what_the_collector_counts_over_every_protocol() {
    let art = Artifacts::new("load_collector_accepted");
    let ports = Ports::free();
    let _sink = Sink::start(ports.downstream).await;
    let config = collector::render("healthy.yaml", &ports, &[], &art);
    let col = Collector::start(config, ports, &art).await;
    let sample = sample_trace();
    let sample = sample.to_str().expect("UTF-8 path");
    let http = ports.otlp_http_url();
    let grpc = ports.otlp_grpc_url();

    // The guide's loop: the sample trace, many requests in parallel.
    let (run, file) = load(&[
        "--file",
        sample,
        "--requests",
        "60",
        "--concurrency",
        "20",
        "--endpoint",
        &http,
    ])
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(count(&file, "requests", "accepted"), 60);
    assert_eq!(count(&file, "spans", "accepted"), 60 * SAMPLE_SPANS);
    assert_eq!(file["statuses"]["HTTP 200"], 60);
    assert_eq!(file["protocol"], "http/protobuf");

    // Synthetic traces over OTLP/HTTP JSON, gzipped.
    let (run, json) = load(&[
        "--protocol",
        "http/json",
        "--compression",
        "gzip",
        "--traces",
        "40",
        "--batch",
        "4",
        "--child-spans",
        "2",
        "--attributes",
        "3",
        "--endpoint",
        &http,
    ])
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(count(&json, "requests", "offered"), 10);
    assert_eq!(count(&json, "spans", "accepted"), 40 * 3);

    // Synthetic traces over gRPC, gzipped, paced.
    let (run, grpc_run) = load(&[
        "--grpc",
        "--compression",
        "gzip",
        "--requests",
        "25",
        "--batch",
        "2",
        "--child-spans",
        "4",
        "--workers",
        "5",
        "--rate",
        "500",
        "--endpoint",
        &grpc,
    ])
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(grpc_run["statuses"]["gRPC Ok"], 25);
    assert_eq!(count(&grpc_run, "spans", "accepted"), 25 * 2 * 5);

    let http_spans = count(&file, "spans", "accepted") + count(&json, "spans", "accepted");
    let grpc_spans = count(&grpc_run, "spans", "accepted");
    let page = col
        .scrape_until("every span counted", Duration::from_secs(10), |p| {
            p.sum(ACCEPTED, &[]) >= (http_spans + grpc_spans) as f64
        })
        .await;
    assert_eq!(
        page.sum(ACCEPTED, &[("transport", "http")]),
        http_spans as f64
    );
    assert_eq!(
        page.sum(ACCEPTED, &[("transport", "grpc")]),
        grpc_spans as f64
    );
    assert_eq!(page.sum(REFUSED, &[]), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_by_the_memory_limiter_are_reported_as_the_collector_counts_them() {
    let art = Artifacts::new("load_collector_refused");
    let ports = Ports::free();
    let _sink = Sink::start(ports.downstream).await;
    let config = collector::render("memory-limited.yaml", &ports, &[], &art);
    let col = Collector::start(config, ports, &art).await;
    col.wait_until_refusing().await;
    let sample = sample_trace();
    let (run, http) = load(&[
        "--file",
        sample.to_str().expect("UTF-8 path"),
        "--requests",
        "30",
        "--endpoint",
        &ports.otlp_http_url(),
    ])
    .await;
    assert_eq!(
        run.code, 1,
        "refusals are not success: {}\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(count(&http, "requests", "refused"), 30);
    assert_eq!(http["statuses"]["HTTP 503"], 30);
    let (run, grpc) = load(&[
        "--grpc",
        "--requests",
        "20",
        "--batch",
        "3",
        "--endpoint",
        &ports.otlp_grpc_url(),
    ])
    .await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(grpc["statuses"]["gRPC Unavailable"], 20);

    let refused_http = count(&http, "spans", "refused");
    let refused_grpc = count(&grpc, "spans", "refused");
    assert_eq!(refused_http, 30 * SAMPLE_SPANS);
    assert_eq!(refused_grpc, 20 * 3 * 2);
    let page = col
        .scrape_until("every refusal counted", Duration::from_secs(10), |p| {
            p.sum(REFUSED, &[]) >= (refused_http + refused_grpc) as f64
        })
        .await;
    assert_eq!(
        page.sum(REFUSED, &[("transport", "http")]),
        refused_http as f64
    );
    assert_eq!(
        page.sum(REFUSED, &[("transport", "grpc")]),
        refused_grpc as f64
    );
    assert_eq!(page.sum(ACCEPTED, &[]), 0.0);
    assert_eq!(
        count(&http, "spans", "accepted") + count(&grpc, "spans", "accepted"),
        0
    );
}
