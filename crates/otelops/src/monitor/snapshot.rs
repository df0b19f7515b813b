//! What one metrics page says about a collector: cumulative counters and
//! gauges per exporter and receiver, the batch processor, the process.
//!
//! Names follow the current collector (no `_total`, no unit suffix); `Page`
//! lookups accept older spellings. `service_name`/`service_instance_id`/
//! `service_version` labels (pre-v0.149) are ignored when grouping.

use std::collections::BTreeMap;

use crate::prom::{Family, Histogram, Labels, Page};

/// `(exporter or receiver name, data type)`; data type is `traces`,
/// `metrics`, `logs`, or empty when the page does not say.
pub type Key = (String, String);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExporterCounters {
    pub queue_size: Option<f64>,
    pub queue_capacity: Option<f64>,
    pub sent: f64,
    pub send_failed: f64,
    pub enqueue_failed: f64,
    pub in_flight: Option<f64>,
    /// Failed items by the `error_type` label `send_failed` carries since
    /// v0.161 (`Unavailable`, `Unauthenticated`, …): the cause, not just the count.
    pub failed_by: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReceiverCounters {
    pub accepted: f64,
    pub refused: f64,
    /// `otelcol_receiver_failed_*` (v0.165+): items the pipeline failed on
    /// after the receiver took them; shown, not judged (the guide sets no limit).
    pub failed: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchStats {
    pub send_size: Option<Histogram>,
    pub size_trigger: f64,
    pub timeout_trigger: f64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessStats {
    pub rss_bytes: Option<f64>,
    pub cpu_seconds: Option<f64>,
    pub uptime_seconds: Option<f64>,
    pub heap_alloc_bytes: Option<f64>,
    /// Items memory_limiter refused (`otelcol_processor_memory_limiter_refused_*`).
    pub limiter_refused: Option<f64>,
}

/// Export latency histogram in seconds, and which metric it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    pub source: String,
    /// Every call, failed or not.
    pub seconds: Histogram,
    /// Only the calls that succeeded: a refused connection fails in
    /// microseconds, so failed calls would make a dead backend look fast.
    pub ok_seconds: Option<Histogram>,
    /// Failed calls by status (`UNAVAILABLE`, `HTTP 401`, an `error.type`).
    pub failed: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub exporters: BTreeMap<Key, ExporterCounters>,
    pub receivers: BTreeMap<Key, ReceiverCounters>,
    pub batch: Option<BatchStats>,
    pub process: ProcessStats,
    /// One entry per client-duration metric on the page (HTTP and gRPC exporters).
    pub latency: Vec<Latency>,
    /// Number of series on the page, and whether any `otelcol_` series exists.
    pub series: usize,
    pub has_otelcol: bool,
    pub tail_sampling: Option<super::tail_sampling::TailSamplingStats>,
}

const SIGNALS: [(&str, &str); 3] = [
    ("spans", "traces"),
    ("metric_points", "metrics"),
    ("log_records", "logs"),
];

/// Export latency metrics, in preference order, with their unit in seconds.
/// There is no `otelcol_exporter_sent_spans_duration`; latency shows only at
/// telemetry level `detailed`, via the exporters' HTTP/gRPC client metrics.
const LATENCY_METRICS: [(&str, f64); 3] = [
    ("http_client_request_duration", 1.0),
    ("rpc_client_call_duration", 1.0),
    // Deprecated semconv name, in milliseconds.
    ("rpc_client_duration", 0.001),
];

pub fn snapshot(page: &Page) -> Snapshot {
    let mut s = Snapshot {
        series: page.series_count(),
        has_otelcol: page
            .families()
            .iter()
            .any(|f| f.name.starts_with("otelcol") && !f.samples.is_empty()),
        ..Snapshot::default()
    };
    for (suffix, data_type) in SIGNALS {
        for (key, v) in sum_by(
            page,
            &format!("otelcol_receiver_accepted_{suffix}"),
            "receiver",
            data_type,
        ) {
            s.receivers.entry(key).or_default().accepted += v;
        }
        for (key, v) in sum_by(
            page,
            &format!("otelcol_receiver_refused_{suffix}"),
            "receiver",
            data_type,
        ) {
            s.receivers.entry(key).or_default().refused += v;
        }
        for (key, v) in sum_by(
            page,
            &format!("otelcol_receiver_failed_{suffix}"),
            "receiver",
            data_type,
        ) {
            s.receivers.entry(key).or_default().failed += v;
        }
        for (key, v) in sum_by(
            page,
            &format!("otelcol_exporter_sent_{suffix}"),
            "exporter",
            data_type,
        ) {
            s.exporters.entry(key).or_default().sent += v;
        }
        for (key, v) in sum_by(
            page,
            &format!("otelcol_exporter_send_failed_{suffix}"),
            "exporter",
            data_type,
        ) {
            s.exporters.entry(key).or_default().send_failed += v;
        }
        for (key, v) in sum_by(
            page,
            &format!("otelcol_exporter_enqueue_failed_{suffix}"),
            "exporter",
            data_type,
        ) {
            s.exporters.entry(key).or_default().enqueue_failed += v;
        }
    }
    for (suffix, data_type) in SIGNALS {
        let Some(f) = page.family(&format!("otelcol_exporter_send_failed_{suffix}")) else {
            continue;
        };
        for smp in f.samples.iter().filter(|x| !is_meta(&x.name)) {
            let (Some(exporter), Some(reason)) =
                (smp.labels.get("exporter"), smp.labels.get("error_type"))
            else {
                continue;
            };
            let key = (
                exporter.to_string(),
                self::data_type(&smp.labels)
                    .unwrap_or(data_type)
                    .to_string(),
            );
            *s.exporters
                .entry(key)
                .or_default()
                .failed_by
                .entry(reason.to_string())
                .or_insert(0.0) += smp.value;
        }
    }
    let queue_size = sum_by(page, "otelcol_exporter_queue_size", "exporter", "");
    let queue_capacity = sum_by(page, "otelcol_exporter_queue_capacity", "exporter", "");
    let in_flight = sum_by(page, "otelcol_exporter_in_flight_requests", "exporter", "");
    for (key, v) in queue_size {
        attach(&mut s.exporters, key).queue_size = Some(v);
    }
    for (key, v) in queue_capacity {
        attach(&mut s.exporters, key).queue_capacity = Some(v);
    }
    for (key, v) in in_flight {
        attach(&mut s.exporters, key).in_flight = Some(v);
    }
    s.batch = batch(page);
    s.tail_sampling = super::tail_sampling::stats(page);
    s.process = ProcessStats {
        rss_bytes: single(page, "otelcol_process_memory_rss"),
        cpu_seconds: single(page, "otelcol_process_cpu_seconds"),
        uptime_seconds: single(page, "otelcol_process_uptime"),
        heap_alloc_bytes: single(page, "otelcol_process_runtime_heap_alloc_bytes")
            .or_else(|| single(page, "otelcol_process_runtime_heap_alloc")),
        limiter_refused: SIGNALS
            .iter()
            .filter_map(|(suffix, _)| {
                single(
                    page,
                    &format!("otelcol_processor_memory_limiter_refused_{suffix}"),
                )
            })
            .reduce(|a, b| a + b),
    };
    s.latency = LATENCY_METRICS
        .iter()
        .filter_map(|&(name, scale)| {
            let fam = page.family(name)?;
            // A `_milliseconds` unit suffix overrides the semconv unit.
            let scale = if fam.name.replace('.', "_").contains("_milliseconds") {
                0.001
            } else {
                scale
            };
            let scaled = |mut h: Histogram| {
                for b in &mut h.buckets {
                    b.0 *= scale;
                }
                h.sum *= scale;
                h
            };
            let h = scaled(Histogram::from_family(fam, |_| true)?);
            let ok = Histogram::from_family(fam, |l| call_failure(l).is_none()).map(scaled);
            let mut failed = BTreeMap::new();
            for smp in fam.samples.iter().filter(|x| x.name.ends_with("_count")) {
                if let Some(code) = call_failure(&smp.labels) {
                    *failed.entry(code).or_insert(0.0) += smp.value;
                }
            }
            Some(Latency {
                source: fam.name.clone(),
                seconds: h,
                ok_seconds: ok,
                failed,
            })
        })
        .collect();
    s
}

/// A queue/in-flight series without `data_type` (older collectors) joins the
/// exporter's only data type when there is exactly one.
fn attach(exporters: &mut BTreeMap<Key, ExporterCounters>, key: Key) -> &mut ExporterCounters {
    if key.1.is_empty() {
        let mut same: Vec<&Key> = exporters.keys().filter(|k| k.0 == key.0).collect();
        if same.len() == 1 {
            let only = same.remove(0).clone();
            return exporters.entry(only).or_default();
        }
    }
    exporters.entry(key).or_default()
}

fn batch(page: &Page) -> Option<BatchStats> {
    let send_size = page
        .family("otelcol_processor_batch_batch_send_size")
        .and_then(|f| Histogram::from_family(f, |_| true));
    let size_trigger = sum_all(page.family("otelcol_processor_batch_batch_size_trigger_send"));
    let timeout_trigger = sum_all(page.family("otelcol_processor_batch_timeout_trigger_send"));
    if send_size.is_none() && size_trigger.is_none() && timeout_trigger.is_none() {
        return None;
    }
    Some(BatchStats {
        send_size,
        size_trigger: size_trigger.unwrap_or(0.0),
        timeout_trigger: timeout_trigger.unwrap_or(0.0),
    })
}

fn sum_all(f: Option<&Family>) -> Option<f64> {
    let f = f?;
    let v: Vec<f64> = f
        .samples
        .iter()
        .filter(|s| !is_meta(&s.name))
        .map(|s| s.value)
        .collect();
    (!v.is_empty()).then(|| v.iter().sum())
}

fn single(page: &Page, name: &str) -> Option<f64> {
    sum_all(page.family(name))
}

fn is_meta(sample_name: &str) -> bool {
    sample_name.ends_with("_created")
}

/// Sum a family's samples by `(label value, data type)`; the data type comes
/// from the `data_type` label, or from the metric name (`fallback_type`).
fn sum_by(page: &Page, name: &str, label: &str, fallback_type: &str) -> BTreeMap<Key, f64> {
    let Some(f) = page.family(name) else {
        return BTreeMap::new();
    };
    // Borrowed keys while summing: owned strings only once per component.
    let mut sums: std::collections::HashMap<(&str, &str), f64> = std::collections::HashMap::new();
    for s in &f.samples {
        if is_meta(&s.name) || !s.value.is_finite() {
            continue;
        }
        let Some(component) = s.labels.get(label) else {
            continue;
        };
        let data_type = data_type(&s.labels).unwrap_or(fallback_type);
        *sums.entry((component, data_type)).or_insert(0.0) += s.value;
    }
    sums.into_iter()
        .map(|((c, d), v)| ((c.to_string(), d.to_string()), v))
        .collect()
}

/// gRPC status names by number, for the older `rpc_grpc_status_code` label.
const GRPC_CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// Why a client call failed, from its labels; None when it succeeded.
/// v0.161 labels gRPC calls `rpc_response_status_code="UNAVAILABLE"`, older
/// ones `rpc_grpc_status_code="14"`; HTTP calls carry
/// `http_response_status_code` and, on transport errors, `error_type`.
pub fn call_failure(labels: &Labels) -> Option<String> {
    if let Some(code) = labels.get("rpc_response_status_code") {
        return (code != "OK" && code != "0").then(|| code.to_string());
    }
    if let Some(code) = labels.get("rpc_grpc_status_code") {
        let name = code
            .parse::<usize>()
            .ok()
            .and_then(|n| GRPC_CODES.get(n))
            .map_or(code, |n| *n);
        return (name != "OK").then(|| name.to_string());
    }
    if let Some(e) = labels.get("error_type") {
        return Some(e.to_string());
    }
    labels
        .get("http_response_status_code")
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| *s >= 400)
        .map(|s| format!("HTTP {s}"))
}

fn data_type(labels: &Labels) -> Option<&str> {
    labels.get("data_type").map(|d| match d {
        "traces" | "spans" => "traces",
        "metrics" => "metrics",
        "logs" => "logs",
        other => other,
    })
}
