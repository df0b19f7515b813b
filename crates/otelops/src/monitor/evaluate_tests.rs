//! Every threshold: a case that fires and one that does not.

use super::*;
use crate::monitor::snapshot::snapshot;

fn snap(page: &str) -> Snapshot {
    snapshot(&crate::prom::parse(page).unwrap())
}

fn judge_one(page: &str, limit: Option<f64>) -> Report {
    let s = snap(page);
    evaluate(
        &Inputs {
            current: &s,
            previous: None,
            memory_limit_mib: limit,
        },
        &Thresholds::GUIDE,
    )
}

fn judge_two(a: &str, b: &str, dt: f64) -> Report {
    let (a, b) = (snap(a), snap(b));
    evaluate(
        &Inputs {
            current: &b,
            previous: Some((&a, dt)),
            memory_limit_mib: None,
        },
        &Thresholds::GUIDE,
    )
}

fn queue(size: u32) -> String {
    format!(
        "otelcol_exporter_queue_size{{exporter=\"otlp\",data_type=\"traces\"}} {size}\n\
         otelcol_exporter_queue_capacity{{exporter=\"otlp\",data_type=\"traces\"}} 1000\n"
    )
}

#[test]
fn queue_utilisation_thresholds() {
    assert_eq!(judge_one(&queue(800), None).status, Status::Ok);
    assert_eq!(judge_one(&queue(801), None).status, Status::Warn);
    assert_eq!(judge_one(&queue(950), None).status, Status::Warn);
    let crit = judge_one(&queue(951), None);
    assert_eq!(crit.status, Status::Crit);
    assert_eq!(crit.exporters[0].queue_utilisation_pct, Some(95.1));
}

#[test]
fn custom_queue_threshold_moves_the_line() {
    let s = snap(&queue(850));
    let t = Thresholds {
        queue_warn_pct: 90.0,
        ..Thresholds::GUIDE
    };
    let r = evaluate(
        &Inputs {
            current: &s,
            previous: None,
            memory_limit_mib: None,
        },
        &t,
    );
    assert_eq!(r.status, Status::Ok);
}

fn receiver(accepted: u32, refused: u32) -> String {
    format!(
        "otelcol_receiver_accepted_spans{{receiver=\"otlp\",transport=\"grpc\"}} {accepted}\n\
         otelcol_receiver_refused_spans{{receiver=\"otlp\",transport=\"grpc\"}} {refused}\n"
    )
}

#[test]
fn refused_share_thresholds() {
    assert_eq!(judge_one(&receiver(990, 10), None).status, Status::Ok); // 1.0 %
    assert_eq!(judge_one(&receiver(980, 20), None).status, Status::Warn); // 2 %
    assert_eq!(judge_one(&receiver(900, 100), None).status, Status::Crit); // 10 %
}

#[test]
fn refused_share_uses_the_window_when_two_pages() {
    // Since start: 10 refused of 10010 (0.1 %); in the window 10 of 20 (50 %).
    let r = judge_two(&receiver(10000, 0), &receiver(10010, 10), 10.0);
    assert_eq!(r.receivers[0].refused_pct, Some(50.0));
    assert_eq!(r.receivers[0].rates.as_ref().unwrap().accepted_per_sec, 1.0);
    assert_eq!(r.status, Status::Crit);
}

fn sent(ok: u32, failed: u32, dropped: u32) -> String {
    format!(
        "otelcol_exporter_sent_spans{{exporter=\"otlp\"}} {ok}\n\
         otelcol_exporter_send_failed_spans{{exporter=\"otlp\"}} {failed}\n\
         otelcol_exporter_enqueue_failed_spans{{exporter=\"otlp\"}} {dropped}\n"
    )
}

#[test]
fn send_failed_thresholds() {
    assert_eq!(judge_one(&sent(99, 1, 0), None).status, Status::Ok);
    assert_eq!(judge_one(&sent(97, 3, 0), None).status, Status::Warn);
    assert_eq!(judge_one(&sent(90, 10, 0), None).status, Status::Crit);
}

#[test]
fn enqueue_failures_are_crit_in_a_window_and_warn_since_start() {
    assert_eq!(judge_one(&sent(100, 0, 5), None).status, Status::Warn);
    assert_eq!(
        judge_two(&sent(100, 0, 5), &sent(200, 0, 6), 5.0).status,
        Status::Crit
    );
    assert_eq!(
        judge_two(&sent(100, 0, 5), &sent(200, 0, 5), 5.0).status,
        Status::Ok
    );
}

#[test]
fn counter_reset_between_scrapes_counts_from_zero() {
    let r = judge_two(&sent(1000, 0, 0), &sent(50, 0, 0), 10.0);
    assert_eq!(r.exporters[0].rates.as_ref().unwrap().sent_per_sec, 5.0);
}

#[test]
fn memory_thresholds_against_the_limit() {
    let rss = |mib: u64| format!("otelcol_process_memory_rss {}\n", mib * 1024 * 1024);
    assert_eq!(judge_one(&rss(80), Some(100.0)).status, Status::Ok);
    assert_eq!(judge_one(&rss(85), Some(100.0)).status, Status::Warn);
    assert_eq!(judge_one(&rss(95), Some(100.0)).status, Status::Crit);
    let unknown = judge_one(&rss(95), None);
    assert_eq!(unknown.status, Status::Ok);
    assert!(
        unknown
            .notes
            .iter()
            .any(|n| n.contains("memory limit unknown"))
    );
}

fn latency(le_ms_bucket: &str) -> String {
    // 100 requests all in the given bucket (seconds).
    format!(
        "# TYPE http_client_request_duration histogram\n\
         http_client_request_duration_bucket{{le=\"0.1\"}} 0\n\
         http_client_request_duration_bucket{{le=\"{le_ms_bucket}\"}} 100\n\
         http_client_request_duration_bucket{{le=\"+Inf\"}} 100\n\
         http_client_request_duration_sum 1\n\
         http_client_request_duration_count 100\n"
    )
}

#[test]
fn export_latency_thresholds_on_p99() {
    assert_eq!(judge_one(&latency("5"), None).status, Status::Ok); // p99 ≈ 4.95 s
    assert_eq!(judge_one(&latency("8"), None).status, Status::Warn);
    let crit = judge_one(&latency("20"), None);
    assert_eq!(crit.status, Status::Crit);
    assert_eq!(
        crit.export_latency.source.as_deref(),
        Some("http_client_request_duration")
    );
}

#[test]
fn latency_absent_says_how_to_expose_it() {
    let r = judge_one(&queue(0), None);
    assert!(!r.export_latency.exposed);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("service.telemetry.metrics.level: detailed"))
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("no otelcol_exporter_sent_spans_duration"))
    );
}

#[test]
fn dotted_rpc_latency_in_milliseconds_suffix_is_scaled() {
    let page = "# TYPE rpc_client_call_duration_milliseconds histogram\n\
                rpc_client_call_duration_milliseconds_bucket{le=\"6000\"} 10\n\
                rpc_client_call_duration_milliseconds_bucket{le=\"+Inf\"} 10\n\
                rpc_client_call_duration_milliseconds_count 10\n";
    let r = judge_one(page, None);
    assert!(
        r.export_latency.p99_ms.unwrap() > 5000.0 && r.export_latency.p99_ms.unwrap() <= 6000.0
    );
    assert_eq!(r.status, Status::Warn);
}

#[test]
fn batch_trigger_mix_and_percentiles_over_the_window() {
    let a = "otelcol_processor_batch_batch_size_trigger_send 10\notelcol_processor_batch_timeout_trigger_send 10\n";
    let b = "otelcol_processor_batch_batch_size_trigger_send 10\notelcol_processor_batch_timeout_trigger_send 30\n";
    let r = judge_two(a, b, 10.0);
    let batch = r.batch.unwrap();
    assert_eq!((batch.size_triggered, batch.timeout_triggered), (0.0, 20.0));
    assert_eq!(batch.timeout_trigger_pct, Some(100.0));
}

#[test]
fn every_name_form_gives_the_same_snapshot() {
    let current = "otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"grpc\"} 7\n\
                   otelcol_process_memory_rss 1048576\n";
    let suffixed = "# TYPE otelcol_receiver_accepted_spans_total counter\n\
                    otelcol_receiver_accepted_spans_total{receiver=\"otlp\",transport=\"grpc\",service_name=\"otelcol\",service_instance_id=\"x\",service_version=\"0.140.0\"} 7\n\
                    otelcol_process_memory_rss_bytes{service_name=\"otelcol\"} 1048576\n";
    let a = snap(current);
    let b = snap(suffixed);
    assert_eq!(a.receivers, b.receivers);
    assert_eq!(a.process.rss_bytes, b.process.rss_bytes);
}

#[test]
fn recorded_v0165_page_reads_accepted_and_sent() {
    let page = include_str!("../../tests/fixtures/otelcol-v0.165-metrics.prom");
    let r = judge_one(page, None);
    let traces = r
        .receivers
        .iter()
        .find(|x| x.receiver == "otlp" && x.data_type == "traces")
        .unwrap();
    assert_eq!(traces.accepted, 15.0);
    let otlp = r
        .exporters
        .iter()
        .find(|e| e.exporter == "otlp" && e.data_type == "traces")
        .unwrap();
    assert_eq!(otlp.queue_capacity, Some(1000.0));
    assert!(r.batch.is_some());
}

#[test]
fn receiver_failed_items_are_reported_not_judged() {
    let r = judge_one(
        "otelcol_receiver_accepted_spans{receiver=\"otlp\",transport=\"http\"} 10\n\
         otelcol_receiver_failed_spans{receiver=\"otlp\",transport=\"http\"} 4\n",
        None,
    );
    assert_eq!(r.receivers[0].failed, 4.0);
    assert_eq!(r.status, Status::Ok);
}

/// Two pages of a real otelcol-parker v0.161.0 whose gRPC backend is down,
/// retrying forever (`tests/fixtures/PROVENANCE.md`).
fn queue_full_unavailable() -> Report {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    let read = |n: &str| {
        std::fs::read_to_string(format!(
            "{dir}otelcol-v0.161-metrics-queue-full-unavailable-{n}.prom"
        ))
        .unwrap()
    };
    judge_two(&read("1"), &read("2"), 5.0)
}

#[test]
fn failed_export_calls_are_an_error_rate_not_a_fast_latency() {
    let r = queue_full_unavailable();
    let l = &r.export_latency;
    assert!(l.exposed);
    assert!(l.calls > 0.0, "{l:?}");
    assert_eq!(l.failed_calls, l.calls, "every call failed: {l:?}");
    assert_eq!(l.error_pct, Some(100.0));
    assert!(l.errors.contains_key("UNAVAILABLE"), "{l:?}");
    // The failed calls took microseconds; that is no latency to call OK.
    assert_eq!(l.p99_ms, None);
    assert_eq!(l.status, Status::Crit);
    assert!(
        r.checks
            .iter()
            .all(|c| !c.name.starts_with("export latency")),
        "{:?}",
        r.checks
    );
    let errors = r
        .checks
        .iter()
        .find(|c| c.name.starts_with("export call errors"))
        .expect("an export call error check");
    assert!(errors.name.contains("UNAVAILABLE"), "{}", errors.name);
    let table = crate::monitor::render::table(&r);
    assert!(table.contains("no call succeeded"), "{table}");
    assert!(table.contains("errors 100.0%"), "{table}");
}

#[test]
fn failed_calls_do_not_count_in_the_latency_of_the_successful_ones() {
    let page = "# TYPE rpc_client_call_duration histogram\n\
        rpc_client_call_duration_bucket{rpc_response_status_code=\"OK\",le=\"0.1\"} 0\n\
        rpc_client_call_duration_bucket{rpc_response_status_code=\"OK\",le=\"8\"} 10\n\
        rpc_client_call_duration_bucket{rpc_response_status_code=\"OK\",le=\"+Inf\"} 10\n\
        rpc_client_call_duration_count{rpc_response_status_code=\"OK\"} 10\n\
        rpc_client_call_duration_bucket{rpc_response_status_code=\"UNAUTHENTICATED\",le=\"0.1\"} 990\n\
        rpc_client_call_duration_bucket{rpc_response_status_code=\"UNAUTHENTICATED\",le=\"8\"} 990\n\
        rpc_client_call_duration_bucket{rpc_response_status_code=\"UNAUTHENTICATED\",le=\"+Inf\"} 990\n\
        rpc_client_call_duration_count{rpc_response_status_code=\"UNAUTHENTICATED\"} 990\n";
    let r = judge_one(page, None);
    let l = &r.export_latency;
    assert!(l.p99_ms.unwrap() > 5000.0, "{l:?}");
    assert_eq!(l.errors.get("UNAUTHENTICATED"), Some(&990.0));
    assert_eq!(l.error_pct, Some(99.0));
}

#[test]
fn send_failed_keeps_its_error_type() {
    let r = queue_full_unavailable();
    let e = r
        .exporters
        .iter()
        .find(|e| e.exporter == "otlp_grpc")
        .unwrap();
    assert_eq!(e.queue_utilisation_pct, Some(100.0));
    // Retrying forever: nothing given up yet, so no send_failed; the call
    // errors above are what show the cause.
    assert_eq!(e.send_failed, 0.0);
    let page = "otelcol_exporter_send_failed_spans{error_type=\"Unauthenticated\",exporter=\"otlp_grpc\"} 7\n";
    let r = judge_one(page, None);
    assert_eq!(r.exporters[0].failed_by.get("Unauthenticated"), Some(&7.0));
}

#[test]
fn a_debug_only_collector_has_no_network_latency_to_expose() {
    let page = "otelcol_exporter_sent_spans{exporter=\"debug\"} 5\n";
    let r = judge_one(page, None);
    let why = r.export_latency.absent.as_deref().unwrap();
    assert!(
        why.contains("no exporter makes network calls (debug)"),
        "{why}"
    );
    assert!(
        !r.notes.iter().any(|n| n.contains("set service.telemetry")),
        "{:?}",
        r.notes
    );
}
