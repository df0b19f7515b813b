//! Parse and evaluate a synthetic 10,000-series collector metrics page.
//! Target: ≤ 10 ms per page.

use std::fmt::Write;

use criterion::{Criterion, criterion_group, criterion_main};
use otelops::monitor::evaluate::{Inputs, Thresholds, evaluate};
use otelops::monitor::snapshot;
use otelops::prom;

/// A page in the collector's current shape: per exporter and signal the queue
/// gauges and flow counters, per receiver accepted/refused, plus batch
/// histograms; `service_*` labels as older collectors wrote them.
pub fn synthetic_page(series: usize) -> String {
    let labels = r#"service_instance_id="e46d41fd-810a-4685-82d0-b01e177cfe7b",service_name="otelcol-parker",service_version="0.165.0""#;
    let mut out = String::new();
    let mut n = 0;
    let families = [
        ("otelcol_exporter_queue_size", "gauge", "exporter"),
        ("otelcol_exporter_queue_capacity", "gauge", "exporter"),
        ("otelcol_exporter_sent_spans", "counter", "exporter"),
        ("otelcol_exporter_send_failed_spans", "counter", "exporter"),
        (
            "otelcol_exporter_enqueue_failed_spans",
            "counter",
            "exporter",
        ),
        ("otelcol_receiver_accepted_spans", "counter", "receiver"),
        ("otelcol_receiver_refused_spans", "counter", "receiver"),
    ];
    let per_family = series / (families.len() + 2);
    for (name, kind, label) in families {
        let _ = writeln!(out, "# HELP {name} synthetic\n# TYPE {name} {kind}");
        for i in 0..per_family {
            let _ = writeln!(
                out,
                "{name}{{{label}=\"otlp/{i}\",data_type=\"traces\",{labels}}} {}",
                i * 7 + 1000
            );
            n += 1;
        }
    }
    let _ = writeln!(
        out,
        "# TYPE otelcol_processor_batch_batch_send_size histogram"
    );
    let bounds = [
        10, 25, 50, 75, 100, 250, 500, 750, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000,
        10000,
    ];
    let mut i = 0;
    while n < series {
        for (j, b) in bounds.iter().enumerate() {
            let _ = writeln!(
                out,
                "otelcol_processor_batch_batch_send_size_bucket{{processor=\"batch/{i}\",le=\"{b}\",{labels}}} {}",
                j * 10
            );
        }
        let _ = writeln!(
            out,
            "otelcol_processor_batch_batch_send_size_bucket{{processor=\"batch/{i}\",le=\"+Inf\",{labels}}} 200"
        );
        let _ = writeln!(
            out,
            "otelcol_processor_batch_batch_send_size_sum{{processor=\"batch/{i}\",{labels}}} 91234"
        );
        let _ = writeln!(
            out,
            "otelcol_processor_batch_batch_send_size_count{{processor=\"batch/{i}\",{labels}}} 200"
        );
        n += bounds.len() + 3;
        i += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let text = synthetic_page(10_000);
    let page = prom::parse(&text).expect("synthetic page parses");
    println!(
        "synthetic page: {} series, {} bytes",
        page.series_count(),
        text.len()
    );
    c.bench_function("parse_only_10k_series", |b| {
        b.iter(|| {
            prom::parse(std::hint::black_box(&text))
                .expect("parses")
                .series_count()
        })
    });
    c.bench_function("evaluate_only_10k_series", |b| {
        b.iter(|| {
            let snap = snapshot(std::hint::black_box(&page));
            let report = evaluate(
                &Inputs {
                    current: &snap,
                    previous: None,
                    memory_limit_mib: Some(512.0),
                },
                &Thresholds::GUIDE,
            );
            std::hint::black_box(report.status)
        })
    });
    c.bench_function("parse_and_evaluate_10k_series", |b| {
        b.iter(|| {
            let page = prom::parse(std::hint::black_box(&text)).expect("parses");
            let snap = snapshot(&page);
            let report = evaluate(
                &Inputs {
                    current: &snap,
                    previous: None,
                    memory_limit_mib: Some(512.0),
                },
                &Thresholds::GUIDE,
            );
            std::hint::black_box(report.status)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
