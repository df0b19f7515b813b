//! The facts docs/collector.md states about otelcol-parker, checked against
//! the built binary (`components`, `--version`) and against the metric pages
//! recorded from it (`tests/fixtures/otelcol-v0.161-*`, made by
//! deploy/collector/test-configs/capture-fixtures.sh).

mod common;
#[path = "common/config.rs"]
mod config_support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use config_support::*;

fn collector_docs() -> String {
    read(&repo_root().join("docs/collector.md"))
}

/// The cells of a Markdown table row, trimmed (None for other lines).
fn cells(line: &str) -> Option<Vec<&str>> {
    let line = line.trim();
    line.starts_with('|')
        .then(|| line.trim_matches('|').split('|').map(str::trim).collect())
}

/// The component table of docs/collector.md: `(kind, type, module)` rows.
fn docs_component_rows() -> BTreeSet<(String, String, String)> {
    collector_docs()
        .lines()
        .filter_map(|line| {
            let cells = cells(line)?;
            let [kind, types, module] = cells[..] else {
                return None;
            };
            if !["receiver", "processor", "exporter", "extension"].contains(&kind) {
                return None;
            }
            let name = types.split('`').nth(1)?.to_owned();
            Some((kind.to_owned(), name, module.to_owned()))
        })
        .collect()
}

/// What the built binary says: `otelcol-parker components` (YAML: a section per
/// kind, `- name:` then `module:`) and `--version`.
#[test]
fn docs_component_table_and_version_match_the_built_binary() {
    let out = run(
        Command::new(otelcol_parker()).arg("components"),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    let mut live = BTreeSet::new();
    let (mut kind, mut name) = (String::new(), String::new());
    for line in listing.lines() {
        if let Some(section) = line.strip_suffix("s:").filter(|s| !s.starts_with(' ')) {
            kind = section.to_owned();
        } else if let Some(n) = line.trim().strip_prefix("- name: ") {
            name = n.to_owned();
        } else if let Some(module) = line.trim().strip_prefix("module: ")
            && kind != "provider"
        {
            live.insert((kind.clone(), name.clone(), module.to_owned()));
        }
    }
    assert!(live.len() >= 16, "parsed too little from:\n{listing}");
    assert_eq!(
        docs_component_rows(),
        live,
        "docs/collector.md's component table vs the binary"
    );

    let version = run(
        Command::new(otelcol_parker()).arg("--version"),
        Duration::from_secs(30),
    );
    let version = text(&version.stdout);
    let docs = collector_docs();
    let stated = version
        .trim()
        .strip_prefix("otelcol-parker version ")
        .unwrap();
    assert!(
        docs.contains(&format!("`otelcol-parker\nversion {stated}`")),
        "docs/collector.md should name {stated}"
    );
}

/// `a_{b,c}` → `a_b`, `a_c`; a `…` alternative stands for "and the like" and
/// is left out.
fn expand(name: &str) -> Vec<String> {
    let Some((prefix, rest)) = name.split_once('{') else {
        return vec![name.to_owned()];
    };
    let (alternatives, suffix) = rest.split_once('}').expect("closing brace");
    alternatives
        .split(',')
        .map(str::trim)
        .filter(|a| *a != "…")
        .map(|a| format!("{prefix}{a}{suffix}"))
        .collect()
}

/// The metric names in the first column of the docs' metric tables after
/// `heading` (up to the next blank line after the table).
fn documented_metrics(docs: &str, heading: &str) -> Vec<String> {
    let start = docs
        .find(heading)
        .unwrap_or_else(|| panic!("{heading:?} not in docs/collector.md"));
    let table = docs[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'));
    let mut names = Vec::new();
    for row in table {
        let first = cells(row).unwrap()[0];
        for quoted in first.split('`').skip(1).step_by(2) {
            names.extend(expand(quoted));
        }
    }
    names
}

fn page(name: &str) -> String {
    common::fixture_text(name)
}

/// Whether `page` has a series of `metric` (a histogram by its `_count`).
fn has_series(page: &str, metric: &str) -> bool {
    page.lines().filter(|l| !l.starts_with('#')).any(|l| {
        let series = l.split(['{', ' ']).next().unwrap_or_default();
        series == metric || series == format!("{metric}_count")
    })
}

#[test]
fn docs_metric_names_are_on_the_recorded_v0_161_pages() {
    let docs = collector_docs();
    // Level normal: failure counters appear lazily, so the union of the pages.
    let normal: String = [
        "otelcol-v0.161-metrics.prom",
        "otelcol-v0.161-metrics-downstream-down.prom",
        "otelcol-v0.161-metrics-send-failed.prom",
        "otelcol-v0.161-metrics-memory-limited.prom",
    ]
    .map(page)
    .join("\n");
    let at_normal = documented_metrics(&docs, "At level normal");
    assert!(at_normal.len() >= 30, "{at_normal:?}");
    for metric in &at_normal {
        assert!(
            has_series(&normal, metric),
            "{metric}: not on the v0.161 level-normal pages"
        );
    }
    let detailed = page("otelcol-v0.161-metrics-detailed.prom");
    let at_detailed = documented_metrics(&docs, "Level detailed adds");
    assert!(at_detailed.len() >= 8, "{at_detailed:?}");
    for metric in &at_detailed {
        assert!(
            has_series(&detailed, metric),
            "{metric}: not on the v0.161 detailed page"
        );
        assert!(
            !has_series(&page("otelcol-v0.161-metrics.prom"), metric),
            "{metric} is on the normal page too"
        );
    }
    // "No `_total` suffix": only the Go client's own counter ends in it.
    let totals: BTreeSet<&str> = normal
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .filter(|n| n.ends_with("_total"))
        .collect();
    assert_eq!(
        totals,
        BTreeSet::from(["promhttp_metric_handler_errors_total"])
    );
    // The service labels are only on target_info, with our version.
    assert!(normal.contains(r#"service_name="otelcol-parker",service_version="0.161.0-parker""#));
    for line in normal
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("target_info"))
    {
        assert!(!line.contains("service_name="), "{line}");
    }
}

#[test]
fn docs_refusal_answer_is_the_recorded_one() {
    let answer = page("otelcol-v0.161-otlp-http-refused.txt");
    assert!(
        answer.starts_with("HTTP/1.1 503 Service Unavailable"),
        "{answer}"
    );
    assert!(answer.contains(r#"{"code":14,"message":"data refused due to high memory usage"}"#));
    assert!(!answer.to_lowercase().contains("retry-after"), "{answer}");
}
