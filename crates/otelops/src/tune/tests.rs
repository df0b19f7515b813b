//! Every tuning rule: one case that fires, one that does not.

use std::path::Path;

use super::*;
use crate::collector_config::file::ConfigFile;
use crate::monitor::evaluate::{Inputs, Thresholds, evaluate};
use crate::monitor::snapshot;

const CONFIG: &str = "\
processors:
  memory_limiter:
    check_interval: 1s
    limit_mib: 400
    spike_limit_mib: 100
  batch:
    send_batch_size: 1024
    timeout: 1s
  probabilistic_sampler:
    sampling_percentage: 10
exporters:
  otlp:
    endpoint: 127.0.0.1:4317
    sending_queue:
      num_consumers: 4
      queue_size: 1000
";

pub(super) fn cfg(text: &str) -> ConfigFile {
    ConfigFile::from_text(Path::new("collector.yaml"), text.to_string()).unwrap()
}

fn report(page: &str) -> crate::monitor::Report {
    let snap = snapshot(&crate::prom::parse(page).unwrap());
    evaluate(
        &Inputs {
            current: &snap,
            previous: None,
            memory_limit_mib: Some(400.0),
        },
        &Thresholds::GUIDE,
    )
}

pub(super) fn opts() -> RuleOptions {
    RuleOptions::guide()
}

fn rules_fired(t: &Tuning) -> Vec<(&'static str, Option<String>, Option<String>)> {
    t.recommendations
        .iter()
        .map(|r| (r.rule, r.setting.clone(), r.recommended.clone()))
        .collect()
}

fn queue_page(size: u32, in_flight: u32, sent: u32, failed: u32) -> String {
    format!(
        "otelcol_exporter_queue_size{{exporter=\"otlp\",data_type=\"traces\"}} {size}\n\
         otelcol_exporter_queue_capacity{{exporter=\"otlp\",data_type=\"traces\"}} 1000\n\
         otelcol_exporter_in_flight_requests{{exporter=\"otlp\",data_type=\"traces\"}} {in_flight}\n\
         otelcol_exporter_sent_spans{{exporter=\"otlp\"}} {sent}\n\
         otelcol_exporter_send_failed_spans{{exporter=\"otlp\"}} {failed}\n"
    )
}

#[test]
fn full_queue_with_idle_consumers_doubles_queue_size_in_the_diff() {
    let r = report(&queue_page(900, 1, 10000, 0));
    let t = tune(&cfg(CONFIG), Some(&r), &opts());
    assert_eq!(
        rules_fired(&t),
        vec![(
            "queue-size",
            Some("sending_queue.queue_size".into()),
            Some("2000".into())
        )]
    );
    assert!(
        t.diff
            .contains("-      queue_size: 1000\n+      queue_size: 2000\n"),
        "{}",
        t.diff
    );
    assert!(t.recommendations[0].evidence[0].contains("queue utilisation 90.0%"));
}

#[test]
fn full_queue_with_every_consumer_busy_doubles_consumers() {
    let r = report(&queue_page(900, 4, 10000, 0));
    let t = tune(&cfg(CONFIG), Some(&r), &opts());
    assert_eq!(
        rules_fired(&t),
        vec![(
            "queue-consumers",
            Some("sending_queue.num_consumers".into()),
            Some("8".into())
        )]
    );
}

#[test]
fn queue_below_threshold_changes_nothing() {
    let r = report(&queue_page(800, 4, 10000, 0));
    let t = tune(&cfg(CONFIG), Some(&r), &opts());
    assert!(t.recommendations.is_empty(), "{:?}", t.recommendations);
    assert!(t.diff.is_empty());
}

#[test]
fn failing_sends_point_downstream_instead_of_growing_the_queue() {
    let r = report(&queue_page(950, 4, 9000, 1000));
    let t = tune(&cfg(CONFIG), Some(&r), &opts());
    assert_eq!(rules_fired(&t), vec![("downstream-failures", None, None)]);
    assert!(t.recommendations[0].evidence[0].contains("send failed 10.00%"));
}

#[test]
fn send_failures_at_threshold_do_not_fire() {
    // 1 of 100 = 1.00 %: not above 1 %.
    let r = report(&queue_page(0, 0, 99, 1));
    let t = tune(&cfg(CONFIG), Some(&r), &opts());
    assert!(t.recommendations.is_empty(), "{:?}", t.recommendations);
}

#[test]
fn disabled_queue_is_enabled_without_metrics() {
    let text = CONFIG.replace(
        "    sending_queue:\n",
        "    sending_queue:\n      enabled: false\n",
    );
    let t = tune(&cfg(&text), None, &opts());
    assert_eq!(
        rules_fired(&t),
        vec![(
            "queue-enabled",
            Some("sending_queue.enabled".into()),
            Some("true".into())
        )]
    );
    assert!(t.diff.contains("+      enabled: true"));
}

fn batch_page(size_trigger: u32, timeout_trigger: u32) -> String {
    format!(
        "otelcol_processor_batch_batch_size_trigger_send{{processor=\"batch\"}} {size_trigger}\n\
         otelcol_processor_batch_timeout_trigger_send{{processor=\"batch\"}} {timeout_trigger}\n"
    )
}

#[test]
fn mostly_timeout_batches_halve_the_timeout() {
    let t = tune(&cfg(CONFIG), Some(&report(&batch_page(5, 95))), &opts());
    assert_eq!(
        rules_fired(&t),
        vec![(
            "batch-timeout",
            Some("timeout".into()),
            Some("500ms".into())
        )]
    );
    assert!(t.diff.contains("+    timeout: 500ms"));
}

#[test]
fn mostly_size_batches_double_send_batch_size() {
    let t = tune(&cfg(CONFIG), Some(&report(&batch_page(95, 5))), &opts());
    assert_eq!(
        rules_fired(&t),
        vec![(
            "batch-size",
            Some("send_batch_size".into()),
            Some("2048".into())
        )]
    );
}

#[test]
fn mixed_batch_triggers_or_too_few_sends_change_nothing() {
    let mixed = tune(&cfg(CONFIG), Some(&report(&batch_page(50, 50))), &opts());
    assert!(mixed.recommendations.is_empty());
    let few = tune(&cfg(CONFIG), Some(&report(&batch_page(0, 5))), &opts());
    assert!(few.recommendations.is_empty());
}

#[test]
fn memory_limiter_sized_from_container_memory() {
    let o = RuleOptions {
        container_memory_mib: Some(1000.0),
        ..opts()
    };
    let t = tune(&cfg(CONFIG), None, &o);
    assert_eq!(
        rules_fired(&t),
        vec![
            (
                "memory-limiter",
                Some("limit_mib".into()),
                Some("800".into())
            ),
            (
                "memory-limiter",
                Some("spike_limit_mib".into()),
                Some("200".into())
            ),
        ]
    );
    // Already 80/20 of 500 MiB: nothing to do.
    let o = RuleOptions {
        container_memory_mib: Some(500.0),
        ..opts()
    };
    assert!(tune(&cfg(CONFIG), None, &o).recommendations.is_empty());
}

#[test]
fn memory_limiter_percentages_must_be_80_and_20() {
    let text = "processors:\n  memory_limiter:\n    limit_percentage: 90\n    spike_limit_percentage: 20\n";
    let t = tune(&cfg(text), None, &opts());
    assert_eq!(
        rules_fired(&t),
        vec![(
            "memory-limiter",
            Some("limit_percentage".into()),
            Some("80".into())
        )]
    );
    let good = "processors:\n  memory_limiter:\n    limit_percentage: 80\n    spike_limit_percentage: 20\n";
    assert!(tune(&cfg(good), None, &opts()).recommendations.is_empty());
}

#[test]
fn rss_near_the_limit_is_reported_as_memory_pressure() {
    // 350 MiB of 400 = 87.5 %.
    let high = report("otelcol_process_memory_rss 367001600\n");
    let t = tune(&cfg(CONFIG), Some(&high), &opts());
    // With the guide's memory-constrained settings (workload rules).
    assert_eq!(
        rules_fired(&t),
        vec![
            ("memory-pressure", None, None),
            (
                "memory-constrained",
                Some("sending_queue.queue_size".into()),
                Some("500".into())
            ),
            (
                "memory-constrained",
                Some("timeout".into()),
                Some("500ms".into())
            ),
        ]
    );
    let low = report("otelcol_process_memory_rss 104857600\n");
    assert!(
        tune(&cfg(CONFIG), Some(&low), &opts())
            .recommendations
            .is_empty()
    );
}

#[test]
fn sampling_follows_the_environment() {
    let staging = RuleOptions {
        environment: Some(Environment::Staging),
        ..opts()
    };
    let t = tune(&cfg(CONFIG), None, &staging);
    assert_eq!(
        rules_fired(&t),
        vec![(
            "sampling",
            Some("sampling_percentage".into()),
            Some("50".into())
        )]
    );
    assert!(
        t.diff
            .contains("-    sampling_percentage: 10\n+    sampling_percentage: 50\n")
    );
    let prod = RuleOptions {
        environment: Some(Environment::Production),
        ..opts()
    };
    assert!(tune(&cfg(CONFIG), None, &prod).recommendations.is_empty());
}

#[test]
fn missing_sampler_in_production_is_advice() {
    let text = "processors:\n  batch:\nexporters:\n  debug:\n";
    let prod = RuleOptions {
        environment: Some(Environment::Production),
        ..opts()
    };
    let t = tune(&cfg(text), None, &prod);
    assert_eq!(rules_fired(&t), vec![("sampling", None, Some("10".into()))]);
    assert!(t.diff.is_empty());
}

#[test]
fn a_too_small_send_batch_max_size_is_raised_with_the_batch_size() {
    let text = CONFIG.replace(
        "    timeout: 1s\n",
        "    timeout: 1s\n    send_batch_max_size: 1500\n",
    );
    let t = tune(&cfg(&text), Some(&report(&batch_page(95, 5))), &opts());
    assert_eq!(
        rules_fired(&t),
        vec![
            (
                "batch-size",
                Some("send_batch_size".into()),
                Some("2048".into())
            ),
            (
                "batch-size",
                Some("send_batch_max_size".into()),
                Some("4096".into())
            ),
        ]
    );
    // A max size already above twice the batch size stays.
    let roomy = CONFIG.replace(
        "    timeout: 1s\n",
        "    timeout: 1s\n    send_batch_max_size: 8192\n",
    );
    let t = tune(&cfg(&roomy), Some(&report(&batch_page(95, 5))), &opts());
    assert_eq!(t.recommendations.len(), 1);
}

#[test]
fn missing_sampler_in_development_needs_no_advice() {
    let text = "processors:\n  batch:\nexporters:\n  debug:\n";
    let dev = RuleOptions {
        environment: Some(Environment::Development),
        ..opts()
    };
    assert!(tune(&cfg(text), None, &dev).recommendations.is_empty());
}
