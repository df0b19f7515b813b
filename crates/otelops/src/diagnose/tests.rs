//! Each symptom from the inputs that show it, with the cause and the fix.

use std::path::Path;

use super::*;
use crate::monitor::evaluate::{Inputs as Judge, Thresholds, evaluate};
use crate::monitor::snapshot;

fn rules() -> RuleOptions {
    RuleOptions::guide()
}

fn judge(pages: &[String], dt: f64) -> Report {
    let snaps: Vec<_> = pages
        .iter()
        .map(|p| snapshot(&crate::prom::parse(p).unwrap()))
        .collect();
    evaluate(
        &Judge {
            current: snaps.last().unwrap(),
            previous: (snaps.len() == 2).then(|| (&snaps[0], dt)),
            memory_limit_mib: None,
        },
        &Thresholds::GUIDE,
    )
}

fn run(report: Option<&Report>, cfg: Option<&ConfigFile>, log: Option<&LogSummary>) -> Diagnosis {
    diagnose(&Inputs {
        report,
        config: cfg,
        log,
        certs: &[],
        probes: &[],
        rules: &rules(),
    })
}

#[test]
fn the_recorded_full_queue_of_a_dead_backend_is_an_export_failure() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    let read = |n: &str| std::fs::read_to_string(format!("{dir}{n}")).unwrap();
    let r = judge(
        &[
            read("otelcol-v0.161-metrics-queue-full-unavailable-1.prom"),
            read("otelcol-v0.161-metrics-queue-full-unavailable-2.prom"),
        ],
        5.0,
    );
    let cfg = ConfigFile::from_text(
        Path::new("collector.yaml"),
        read("otelcol-v0.161-queue-full-unavailable.yaml"),
    )
    .unwrap();
    let d = run(Some(&r), Some(&cfg), None);
    assert_eq!(d.status, Status::Crit);
    assert_eq!(d.findings.len(), 1, "{d:#?}");
    let f = &d.findings[0];
    assert_eq!(f.symptom, Symptom::ExportFailures);
    assert_eq!(f.subject, "exporters.otlp_grpc");
    assert!(f.cause.contains("backend unreachable"), "{}", f.cause);
    assert!(
        f.steps[0].contains("Check network connectivity"),
        "{:?}",
        f.steps
    );
    assert!(f.steps[0].contains("127.0.0.1:24999"), "{:?}", f.steps);
    assert!(f.diff.is_empty());
}

#[test]
fn a_full_queue_whose_sends_succeed_gets_the_capacity_diff() {
    let page = |sent: u32| {
        format!(
            "otelcol_exporter_queue_size{{exporter=\"otlp\",data_type=\"traces\"}} 900\n\
             otelcol_exporter_queue_capacity{{exporter=\"otlp\",data_type=\"traces\"}} 1000\n\
             otelcol_exporter_in_flight_requests{{exporter=\"otlp\",data_type=\"traces\"}} 4\n\
             otelcol_exporter_sent_spans{{exporter=\"otlp\"}} {sent}\n"
        )
    };
    let r = judge(&[page(100), page(5000)], 10.0);
    let cfg = ConfigFile::from_text(
        Path::new("collector.yaml"),
        "exporters:\n  otlp:\n    endpoint: 127.0.0.1:4317\n    sending_queue:\n      num_consumers: 4\n"
            .into(),
    )
    .unwrap();
    let d = run(Some(&r), Some(&cfg), None);
    assert_eq!(d.findings.len(), 1, "{d:#?}");
    let f = &d.findings[0];
    assert_eq!(f.symptom, Symptom::HighQueueUtilisation);
    assert_eq!(f.status, Status::Warn);
    assert!(
        f.diff
            .contains("-      num_consumers: 4\n+      num_consumers: 8"),
        "{}",
        f.diff
    );
}

#[test]
fn a_token_refused_in_the_log_is_a_token_problem() {
    let log = log::summarise(
        "2026-12-07T00:00:00Z\terror\tx\tExporting failed. Dropping data.\t{\"otelcol.component.id\": \"otlp\", \"error\": \"rpc error: code = Unauthenticated desc = invalid token\"}\n",
    );
    let cfg = ConfigFile::from_text(
        Path::new("c.yaml"),
        "exporters:\n  otlp:\n    endpoint: 127.0.0.1:4317\n  debug: {}\n".into(),
    )
    .unwrap();
    let d = run(None, Some(&cfg), Some(&log));
    assert_eq!(d.findings.len(), 1, "{d:#?}");
    assert!(d.findings[0].cause.contains("token problem"));
    assert!(d.findings[0].steps[0].starts_with("Check authentication credentials"));
    assert_eq!(d.status, Status::Crit);
}

#[test]
fn nothing_wrong_is_ok_with_notes_on_what_was_not_read() {
    let d = run(None, None, None);
    assert_eq!(d.status, Status::Ok);
    assert!(d.findings.is_empty());
    assert_eq!(d.notes.len(), 3);
    assert!(render::table(&d).contains("none of the guide's symptoms found"));
}
