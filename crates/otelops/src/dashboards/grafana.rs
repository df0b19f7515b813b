//! The Grafana dashboard: the guide's three panel groups (Queue Health,
//! Performance, Resource Usage) as typed panels serialised to Grafana's JSON
//! model (schemaVersion 39), with a Prometheus data source variable.

use serde::Serialize;

use super::Thresholds;
use super::promql::{self, SIGNALS};

const WINDOW: &str = "$__rate_interval";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    uid: &'static str,
    title: &'static str,
    description: &'static str,
    tags: Vec<&'static str>,
    timezone: &'static str,
    editable: bool,
    refresh: &'static str,
    schema_version: u32,
    time: TimeRange,
    templating: Templating,
    panels: Vec<Panel>,
}

#[derive(Debug, Serialize)]
struct TimeRange {
    from: &'static str,
    to: &'static str,
}

#[derive(Debug, Serialize)]
struct Templating {
    list: Vec<Variable>,
}

#[derive(Debug, Serialize)]
struct Variable {
    name: &'static str,
    label: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    query: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Panel {
    id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'static str>,
    grid_pos: GridPos,
    #[serde(skip_serializing_if = "Option::is_none")]
    datasource: Option<DataSource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    targets: Vec<Target>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field_config: Option<FieldConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    collapsed: Option<bool>,
}

#[derive(Debug, Serialize)]
struct GridPos {
    h: u32,
    w: u32,
    x: u32,
    y: u32,
}

#[derive(Debug, Serialize)]
struct DataSource {
    #[serde(rename = "type")]
    kind: &'static str,
    uid: &'static str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    ref_id: String,
    expr: String,
    legend_format: String,
}

#[derive(Debug, Serialize)]
struct FieldConfig {
    defaults: FieldDefaults,
}

#[derive(Debug, Serialize)]
struct FieldDefaults {
    unit: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thresholds: Option<ThresholdSteps>,
}

#[derive(Debug, Serialize)]
struct ThresholdSteps {
    mode: &'static str,
    steps: Vec<Step>,
}

#[derive(Debug, Serialize)]
struct Step {
    color: &'static str,
    value: Option<f64>,
}

/// One panel before layout: what to plot and how.
struct Spec {
    kind: &'static str,
    title: String,
    description: Option<&'static str>,
    unit: &'static str,
    /// (expr, legend)
    queries: Vec<(String, String)>,
    /// Turns red from this value on.
    red_from: Option<f64>,
    max: Option<f64>,
}

fn series(title: &str, unit: &'static str, queries: Vec<(String, String)>) -> Spec {
    Spec {
        kind: "timeseries",
        title: title.to_owned(),
        description: None,
        unit,
        queries,
        red_from: None,
        max: None,
    }
}

/// Rate queries for one flow (accepted, refused, sent…) over the three signals.
fn per_signal(metric: &str, by: &str) -> Vec<(String, String)> {
    SIGNALS
        .iter()
        .map(|signal| {
            (
                promql::rate_sum(&format!("{metric}_{signal}"), by, WINDOW),
                format!("{{{{{by}}}}} {signal}"),
            )
        })
        .collect()
}

/// One query with its legend.
fn q(expr: impl Into<String>, legend: &str) -> (String, String) {
    (expr.into(), legend.to_owned())
}

fn groups(t: &Thresholds) -> Vec<(&'static str, Vec<Spec>)> {
    vec![
        ("Queue Health", queue_health(t)),
        ("Performance", performance(t)),
        ("Resource Usage", resource_usage(t)),
    ]
}

fn queue_health(t: &Thresholds) -> Vec<Spec> {
    let by_exporter = |metric: &str| q(format!("max by (exporter) ({metric})"), "{{exporter}}");
    vec![
        series(
            "Queue size",
            "short",
            vec![by_exporter("otelcol_exporter_queue_size")],
        ),
        series(
            "Queue capacity",
            "short",
            vec![by_exporter("otelcol_exporter_queue_capacity")],
        ),
        Spec {
            kind: "gauge",
            description: Some(
                "otelcol_exporter_queue_size / otelcol_exporter_queue_capacity per exporter (units follow the queue's sizer).",
            ),
            red_from: Some(t.queue_percent),
            max: Some(100.0),
            ..series(
                "Queue utilisation",
                "percent",
                vec![q(promql::queue_utilisation("exporter"), "{{exporter}}")],
            )
        },
        series(
            "Enqueue failures / s",
            "short",
            per_signal("otelcol_exporter_enqueue_failed", "exporter"),
        ),
    ]
}

fn performance(t: &Thresholds) -> Vec<Spec> {
    let refused_share = SIGNALS
        .iter()
        .map(|signal| {
            q(
                promql::refused_percent(signal, "receiver", WINDOW),
                &format!("{{{{receiver}}}} {signal}"),
            )
        })
        .collect();
    let trigger =
        |metric: &str, legend: &str| q(promql::rate_sum(metric, "processor", WINDOW), legend);
    vec![
        series(
            "Accepted / s",
            "short",
            per_signal("otelcol_receiver_accepted", "receiver"),
        ),
        series(
            "Refused / s",
            "short",
            per_signal("otelcol_receiver_refused", "receiver"),
        ),
        Spec {
            red_from: Some(t.refused_percent),
            ..series("Refused share of received data", "percent", refused_share)
        },
        series(
            "Sent / s",
            "short",
            per_signal("otelcol_exporter_sent", "exporter"),
        ),
        series(
            "Send failed / s",
            "short",
            per_signal("otelcol_exporter_send_failed", "exporter"),
        ),
        series(
            "Batch send size",
            "short",
            vec![
                q(promql::batch_send_size_quantile(0.5, WINDOW), "p50"),
                q(promql::batch_send_size_quantile(0.95, WINDOW), "p95"),
            ],
        ),
        series(
            "Batch triggers / s",
            "short",
            vec![
                trigger(
                    "otelcol_processor_batch_batch_size_trigger_send",
                    "size {{processor}}",
                ),
                trigger(
                    "otelcol_processor_batch_timeout_trigger_send",
                    "timeout {{processor}}",
                ),
            ],
        ),
        Spec {
            description: Some(
                "p50/p99 of the exporters' http.client.request.duration and rpc.client.call.duration. Exposed only with service.telemetry.metrics.level: detailed; the collector has no otelcol_exporter_sent_spans_duration.",
            ),
            red_from: Some(t.export_latency_seconds),
            ..series(
                "Export latency",
                "s",
                vec![
                    q(promql::export_latency_quantile(0.5, "", WINDOW), "p50"),
                    q(promql::export_latency_quantile(0.99, "", WINDOW), "p99"),
                ],
            )
        },
    ]
}

fn resource_usage(t: &Thresholds) -> Vec<Spec> {
    let cpu = format!(
        "sum by (instance) (rate({}[{WINDOW}]))",
        promql::counter("otelcol_process_cpu_seconds")
    );
    vec![
        Spec {
            red_from: Some(t.memory_limit_bytes() * t.memory_percent / 100.0),
            ..series(
                "Resident memory (RSS)",
                "bytes",
                vec![q(
                    format!("max by (instance) ({})", promql::memory_rss()),
                    "{{instance}}",
                )],
            )
        },
        series("CPU (cores)", "short", vec![q(cpu, "{{instance}}")]),
        Spec {
            description: Some(
                "Bytes/s of OTLP/HTTP bodies: received by the receivers (http.server.request.body.size), answered (http.server.response.body.size) and sent by the exporters (http.client.request.body.size). Exposed only with service.telemetry.metrics.level: detailed; v0.161 records no message sizes for OTLP/gRPC.",
            ),
            ..series(
                "Network I/O",
                "Bps",
                vec![
                    q(
                        promql::bytes_rate("http_server_request_body_size", "instance", WINDOW),
                        "received {{instance}}",
                    ),
                    q(
                        promql::bytes_rate("http_server_response_body_size", "instance", WINDOW),
                        "responses {{instance}}",
                    ),
                    q(
                        promql::bytes_rate("http_client_request_body_size", "instance", WINDOW),
                        "exported {{instance}}",
                    ),
                ],
            )
        },
        series(
            "Go heap allocated",
            "bytes",
            vec![q(
                "max by (instance) (otelcol_process_runtime_heap_alloc_bytes)",
                "{{instance}}",
            )],
        ),
    ]
}

const DATASOURCE: DataSource = DataSource {
    kind: "prometheus",
    uid: "${datasource}",
};

/// Lays the groups out: a row header, then panels four to a row (width 6).
pub fn dashboard(t: &Thresholds) -> Dashboard {
    let mut panels = Vec::new();
    let mut id = 0;
    let mut y = 0;
    for (title, specs) in groups(t) {
        id += 1;
        panels.push(Panel {
            id,
            kind: "row",
            title: title.to_owned(),
            description: None,
            grid_pos: GridPos {
                h: 1,
                w: 24,
                x: 0,
                y,
            },
            datasource: None,
            targets: Vec::new(),
            field_config: None,
            collapsed: Some(false),
        });
        y += 1;
        let rows = (specs.len() as u32).div_ceil(4);
        for (i, spec) in specs.into_iter().enumerate() {
            id += 1;
            let i = i as u32;
            panels.push(Panel {
                id,
                kind: spec.kind,
                title: spec.title,
                description: spec.description,
                grid_pos: GridPos {
                    h: 8,
                    w: 6,
                    x: (i % 4) * 6,
                    y: y + (i / 4) * 8,
                },
                datasource: Some(DATASOURCE),
                targets: spec
                    .queries
                    .into_iter()
                    .enumerate()
                    .map(|(n, (expr, legend_format))| Target {
                        ref_id: char::from(b'A' + n as u8).to_string(),
                        expr,
                        legend_format,
                    })
                    .collect(),
                field_config: Some(FieldConfig {
                    defaults: FieldDefaults {
                        unit: spec.unit,
                        min: Some(0.0),
                        max: spec.max,
                        thresholds: spec.red_from.map(|red| ThresholdSteps {
                            mode: "absolute",
                            steps: vec![
                                Step {
                                    color: "green",
                                    value: None,
                                },
                                Step {
                                    color: "red",
                                    value: Some(red),
                                },
                            ],
                        }),
                    },
                }),
                collapsed: None,
            });
        }
        y += rows * 8;
    }
    Dashboard {
        uid: "otelcol-parker",
        title: "otelcol-parker collector",
        description: "Queue health, throughput and resources of Parker Flight's OpenTelemetry Collector (generated by `otelops dashboards`).",
        tags: vec!["opentelemetry", "collector", "parker-flight"],
        timezone: "utc",
        editable: true,
        refresh: "30s",
        schema_version: 39,
        time: TimeRange {
            from: "now-6h",
            to: "now",
        },
        templating: Templating {
            list: vec![Variable {
                name: "datasource",
                label: "Prometheus",
                kind: "datasource",
                query: "prometheus",
            }],
        },
        panels,
    }
}
