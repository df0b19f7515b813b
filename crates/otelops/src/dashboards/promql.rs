//! PromQL for the collector's internal metrics, shared by the dashboard and
//! the alert rules so both always ask the same question.
//!
//! Names vary by collector version and by how they were scraped: since v0.152
//! counters carry no `_total`, v0.119–v0.151 with a hand-configured Prometheus
//! reader added `_total` and unit suffixes (`_bytes`, `_seconds`), and
//! Prometheus 3 may keep the dots of `http.client.request.duration`. Every
//! selector here is a `__name__` regex that accepts all of those forms, and
//! every aggregation names its labels so the pre-v0.149 `service_*` labels
//! fall away.

/// The signals a receiver or exporter counts, as metric name suffixes.
///
/// Queries never match two signals with one `__name__` regex: `rate()` drops
/// the name, and `accepted_spans` and `accepted_metric_points` of the same
/// receiver would collide ("vector cannot contain metrics with the same
/// labelset"). They are asked one signal at a time instead.
pub const SIGNALS: [&str; 3] = ["spans", "metric_points", "log_records"];

/// A counter of any version: `name` or `name_total`.
pub fn counter(name: &str) -> String {
    format!(r#"{{__name__=~"{name}(_total)?"}}"#)
}

/// A gauge that some versions suffix with its unit.
pub fn gauge_with_unit(name: &str, unit_suffix: &str) -> String {
    format!(r#"{{__name__=~"{name}({unit_suffix})?"}}"#)
}

/// Per-second rate of a counter family summed by `by`.
pub fn rate_sum(name: &str, by: &str, window: &str) -> String {
    format!("sum by ({by}) (rate({}[{window}]))", counter(name))
}

/// Bytes per second through a body-size histogram (`http.server.request.body.size`
/// and kin, `detailed` level only), summed by `by`. Older Prometheus readers
/// added the `_bytes` unit suffix before `_sum`.
pub fn bytes_rate(histogram: &str, by: &str, window: &str) -> String {
    format!(r#"sum by ({by}) (rate({{__name__=~"{histogram}(_bytes)?_sum"}}[{window}]))"#)
}

/// Queue utilisation in percent per exporter.
pub fn queue_utilisation(by: &str) -> String {
    format!(
        "100 * max by ({by}) (otelcol_exporter_queue_size) \
         / max by ({by}) (otelcol_exporter_queue_capacity)"
    )
}

/// Refused share of what a receiver was offered of one signal, in percent.
pub fn refused_percent(signal: &str, by: &str, window: &str) -> String {
    let refused = rate_sum(&format!("otelcol_receiver_refused_{signal}"), by, window);
    let accepted = rate_sum(&format!("otelcol_receiver_accepted_{signal}"), by, window);
    format!("100 * {refused} / ({accepted} + {refused})")
}

/// `expr` with a constant `signal` label, so per-signal results can be
/// joined with `or` without colliding.
pub fn with_signal(expr: &str, signal: &str) -> String {
    format!(r#"label_replace({expr}, "signal", "{signal}", "__name__", ".*")"#)
}

/// Resident memory of the collector process.
pub fn memory_rss() -> String {
    gauge_with_unit("otelcol_process_memory_rss", "_bytes")
}

/// Export latency: the exporters' HTTP and gRPC client durations, only
/// exposed at telemetry level `detailed`. (There is no
/// `otelcol_exporter_sent_spans_duration`, whatever older guides say.)
pub fn export_latency_buckets() -> String {
    r#"{__name__=~"(http[._]client[._]request|rpc[._]client[._]call)[._]duration(_seconds)?_bucket"}"#
        .to_owned()
}

/// A quantile of export latency in seconds.
pub fn export_latency_quantile(q: f64, by: &str, window: &str) -> String {
    let by = if by.is_empty() {
        "le".to_owned()
    } else {
        format!("{by}, le")
    };
    format!(
        "histogram_quantile({q}, sum by ({by}) (rate({}[{window}])))",
        export_latency_buckets()
    )
}

/// A quantile of the batch processor's send size histogram.
pub fn batch_send_size_quantile(q: f64, window: &str) -> String {
    format!(
        "histogram_quantile({q}, sum by (le) (rate(otelcol_processor_batch_batch_send_size_bucket[{window}])))"
    )
}
