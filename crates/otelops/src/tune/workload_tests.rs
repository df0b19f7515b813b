//! The workload rules and the "no capacity advice while sends fail" rule, on
//! pages recorded from otelcol-parker where the state could be recorded, and
//! on minimal pages where a number has to be exact.

use crate::monitor::evaluate::{Inputs, Report, Thresholds, evaluate};
use crate::monitor::snapshot;
use crate::tune::tests::{cfg, opts};
use crate::tune::{RuleOptions, Tuning, tune};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}{name}")).unwrap()
}

fn judge(pages: &[&str], dt: f64, memory_limit_mib: Option<f64>) -> Report {
    let snaps: Vec<_> = pages
        .iter()
        .map(|p| snapshot(&crate::prom::parse(p).unwrap()))
        .collect();
    let (current, previous) = match snaps.as_slice() {
        [one] => (one, None),
        [a, b] => (b, Some((a, dt))),
        _ => panic!("one or two pages"),
    };
    evaluate(
        &Inputs {
            current,
            previous,
            memory_limit_mib,
        },
        &Thresholds::GUIDE,
    )
}

fn rules(t: &Tuning) -> Vec<(&'static str, String, Option<String>, Option<String>)> {
    t.recommendations
        .iter()
        .map(|r| {
            (
                r.rule,
                r.component.clone(),
                r.setting.clone(),
                r.recommended.clone(),
            )
        })
        .collect()
}

#[test]
fn a_full_queue_whose_calls_all_fail_gets_no_consumer_or_queue_advice() {
    let r = judge(
        &[
            &fixture("otelcol-v0.161-metrics-queue-full-unavailable-1.prom"),
            &fixture("otelcol-v0.161-metrics-queue-full-unavailable-2.prom"),
        ],
        5.0,
        None,
    );
    let c = cfg(&fixture("otelcol-v0.161-queue-full-unavailable.yaml"));
    let t = tune(&c, Some(&r), &opts());
    let fired = rules(&t);
    assert!(
        fired.iter().all(|(_, _, s, _)| !matches!(
            s.as_deref(),
            Some("sending_queue.num_consumers" | "sending_queue.queue_size")
        )),
        "{fired:?}"
    );
    let down = t
        .recommendations
        .iter()
        .find(|r| r.rule == "downstream-failures")
        .expect("the failing backend is named");
    assert_eq!(down.component, "exporters.otlp_grpc");
    assert!(
        down.evidence
            .iter()
            .any(|e| e.contains("UNAVAILABLE") && e.contains("100.0%")),
        "{:?}",
        down.evidence
    );
    assert!(t.diff.is_empty(), "{}", t.diff);
}

#[test]
fn memory_limiter_refusing_asks_for_a_smaller_queue_and_more_frequent_flushes() {
    // Recorded: memory_limiter at 2 MiB refusing every span (v0.165 page;
    // the refusal metrics are the same in v0.161).
    let r = judge(
        &[&fixture("otelcol-v0.165-metrics-memory-limited.prom")],
        0.0,
        None,
    );
    let c = cfg("\
processors:
  memory_limiter:
    check_interval: 100ms
    limit_mib: 2
  batch:
    timeout: 1s
exporters:
  otlp:
    endpoint: 127.0.0.1:4317
    sending_queue:
      queue_size: 1000
  debug: {}
");
    let t = tune(&c, Some(&r), &opts());
    let fired = rules(&t);
    assert!(
        fired.contains(&(
            "memory-constrained",
            "exporters.otlp".into(),
            Some("sending_queue.queue_size".into()),
            Some("500".into())
        )),
        "{fired:?}"
    );
    assert!(
        fired.contains(&(
            "memory-constrained",
            "processors.batch".into(),
            Some("timeout".into()),
            Some("500ms".into())
        )),
        "{fired:?}"
    );
    let ev = &t.recommendations[0].evidence;
    assert!(
        ev.iter().any(|e| e.contains("memory_limiter refused 16")),
        "{ev:?}"
    );
    assert!(
        t.diff
            .contains("-      queue_size: 1000\n+      queue_size: 500"),
        "{}",
        t.diff
    );
    assert!(t.diff.contains("+    timeout: 500ms"), "{}", t.diff);
}

#[test]
fn memory_high_replaces_a_bigger_queue_with_a_smaller_one() {
    let page = "otelcol_exporter_queue_size{exporter=\"otlp\",data_type=\"traces\"} 900\n\
                otelcol_exporter_queue_capacity{exporter=\"otlp\",data_type=\"traces\"} 1000\n\
                otelcol_process_memory_rss 377487360\n"; // 360 MiB of 400
    let r = judge(&[page], 0.0, Some(400.0));
    let c = cfg("exporters:\n  otlp:\n    endpoint: x:4317\n");
    let fired = rules(&tune(&c, Some(&r), &opts()));
    assert_eq!(
        fired,
        vec![(
            "memory-constrained",
            "exporters.otlp".into(),
            Some("sending_queue.queue_size".into()),
            Some("500".into())
        )]
    );
}

const BATCH_AT_MAX: &str = "# TYPE otelcol_processor_batch_batch_send_size histogram\n\
    otelcol_processor_batch_batch_send_size_bucket{le=\"1000\"} 2\n\
    otelcol_processor_batch_batch_send_size_bucket{le=\"2000\"} 100\n\
    otelcol_processor_batch_batch_send_size_bucket{le=\"+Inf\"} 100\n\
    otelcol_processor_batch_batch_send_size_count 100\n";

#[test]
fn batches_cut_at_their_maximum_get_a_larger_send_batch_max_size() {
    let r = judge(&[BATCH_AT_MAX], 0.0, None);
    let c =
        cfg("processors:\n  batch:\n    send_batch_size: 1000\n    send_batch_max_size: 2000\n");
    let t = tune(&c, Some(&r), &opts());
    assert_eq!(
        rules(&t),
        vec![(
            "high-cardinality",
            "processors.batch".into(),
            Some("send_batch_max_size".into()),
            Some("4000".into())
        )]
    );
    // Under the maximum: nothing to say.
    let c = cfg("processors:\n  batch:\n    send_batch_max_size: 8000\n");
    assert!(tune(&c, Some(&r), &opts()).recommendations.is_empty());
}

fn rpc_latency(ok_le: &str, ok: u32, failed: u32) -> String {
    format!(
        "# TYPE rpc_client_call_duration histogram\n\
         rpc_client_call_duration_bucket{{rpc_response_status_code=\"OK\",le=\"0.1\"}} 0\n\
         rpc_client_call_duration_bucket{{rpc_response_status_code=\"OK\",le=\"{ok_le}\"}} {ok}\n\
         rpc_client_call_duration_bucket{{rpc_response_status_code=\"OK\",le=\"+Inf\"}} {ok}\n\
         rpc_client_call_duration_count{{rpc_response_status_code=\"OK\"}} {ok}\n\
         rpc_client_call_duration_bucket{{rpc_response_status_code=\"UNAVAILABLE\",le=\"0.1\"}} {failed}\n\
         rpc_client_call_duration_bucket{{rpc_response_status_code=\"UNAVAILABLE\",le=\"+Inf\"}} {failed}\n\
         rpc_client_call_duration_count{{rpc_response_status_code=\"UNAVAILABLE\"}} {failed}\n"
    )
}

const ONE_EXPORTER: &str =
    "exporters:\n  otlp:\n    endpoint: x:4317\n    sending_queue:\n      num_consumers: 4\n";

#[test]
fn slow_but_successful_exports_get_more_consumers() {
    let r = judge(&[&rpc_latency("8", 100, 0)], 0.0, None);
    let t = tune(&cfg(ONE_EXPORTER), Some(&r), &opts());
    assert_eq!(
        rules(&t),
        vec![(
            "slow-exports",
            "exporters.otlp".into(),
            Some("sending_queue.num_consumers".into()),
            Some("8".into())
        )]
    );
    assert!(t.diff.contains("+      num_consumers: 8"), "{}", t.diff);
}

#[test]
fn slow_exports_that_also_fail_get_no_more_consumers() {
    let r = judge(&[&rpc_latency("8", 50, 50)], 0.0, None);
    let fired = rules(&tune(&cfg(ONE_EXPORTER), Some(&r), &opts()));
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].0, "downstream-failures");
}

fn accepted(n: u32) -> String {
    format!("otelcol_receiver_accepted_spans{{receiver=\"otlp\",transport=\"grpc\"}} {n}\n")
}

#[test]
fn too_many_spans_a_second_lower_the_sampling_percentage() {
    // 40,000 spans/s over a 10 s window, 10,000 allowed: keep a quarter.
    let r = judge(&[&accepted(0), &accepted(400_000)], 10.0, None);
    let c = cfg("processors:\n  probabilistic_sampler:\n    sampling_percentage: 50\n");
    let t = tune(&c, Some(&r), &opts());
    assert_eq!(
        rules(&t),
        vec![(
            "high-volume",
            "processors.probabilistic_sampler".into(),
            Some("sampling_percentage".into()),
            Some("12.5".into())
        )]
    );
    // Without a sampler one is added, at the share that fits.
    let t = tune(&cfg("processors:\n  batch: {}\n"), Some(&r), &opts());
    assert!(
        t.diff
            .contains("+  probabilistic_sampler:\n+    sampling_percentage: 25"),
        "{}",
        t.diff
    );
    // At the limit: nothing.
    let r = judge(&[&accepted(0), &accepted(100_000)], 10.0, None);
    assert!(tune(&c, Some(&r), &opts()).recommendations.is_empty());
}

const SAMPLED: &str = "\
processors:
  memory_limiter:
    limit_mib: 400
  probabilistic_sampler:
    sampling_percentage: 10
  batch: {}
service:
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, probabilistic_sampler, batch]
      exporters: [otlp]
";

#[test]
fn critical_services_are_kept_whole_by_tail_sampling() {
    let o = RuleOptions {
        critical_services: vec!["parker-booking".into(), "parker-fares".into()],
        ..opts()
    };
    let t = tune(&cfg(SAMPLED), None, &o);
    assert!(
        t.diff.contains(
            "+  tail_sampling:\n+    policies: [{name: critical-services, type: string_attribute, \
             string_attribute: {key: service.name, values: [parker-booking, parker-fares]}}, \
             {name: sample-the-rest, type: probabilistic, probabilistic: {sampling_percentage: 10}}]"
        ),
        "{}",
        t.diff
    );
    assert!(
        t.diff.contains(
            "-      processors: [memory_limiter, probabilistic_sampler, batch]\n\
             +      processors: [memory_limiter, tail_sampling, batch]"
        ),
        "{}",
        t.diff
    );
    // Nothing sampled: every trace is kept already.
    let all = "processors:\n  batch: {}\n";
    assert!(tune(&cfg(all), None, &o).recommendations.is_empty());
}

#[test]
fn critical_services_already_in_a_tail_sampling_policy_need_nothing() {
    let text = "processors:\n  tail_sampling:\n    policies:\n      - name: keep\n        type: string_attribute\n        string_attribute: {key: service.name, values: [parker-booking]}\n";
    let o = RuleOptions {
        critical_services: vec!["parker-booking".into()],
        ..opts()
    };
    assert!(tune(&cfg(text), None, &o).recommendations.is_empty());
    let o = RuleOptions {
        critical_services: vec!["parker-fares".into()],
        ..opts()
    };
    let t = tune(&cfg(text), None, &o);
    assert_eq!(t.recommendations.len(), 1);
    assert!(t.recommendations[0].reason.contains("parker-fares"));
}
