//! `otelops dashboards`: the committed dashboard and alert rules are exactly
//! what the generator writes, they ask for metric names the real collector
//! exposes (in every version's form), and promtool accepts and tests the rules.

mod common;
#[path = "common/config.rs"]
mod config_support;

use std::collections::BTreeSet;
use std::time::Duration;

use config_support::*;
use otelops::dashboards::{self, DASHBOARD_PATH, RULES_PATH, Thresholds, alerts::ALERTS};

fn guide() -> Thresholds {
    Thresholds::guide(dashboards::DEFAULT_MEMORY_LIMIT_MIB)
}

fn committed_dashboard() -> String {
    read(&deploy(DASHBOARD_PATH))
}

fn committed_rules() -> String {
    read(&deploy(RULES_PATH))
}

#[test]
fn committed_dashboard_and_rules_match_the_generator_byte_for_byte() {
    assert_eq!(
        committed_dashboard(),
        dashboards::dashboard_json(&guide()).unwrap(),
        "deploy/{DASHBOARD_PATH} drifted: run `otelops dashboards --out deploy`"
    );
    assert_eq!(
        committed_rules(),
        dashboards::rules_yaml(&guide()).unwrap(),
        "deploy/{RULES_PATH} drifted: run `otelops dashboards --out deploy`"
    );
}

#[test]
fn cli_writes_both_files_into_the_out_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        otelops()
            .args(["--output", "json", "dashboards", "--out"])
            .arg(dir.path()),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["written"].as_array().unwrap().len(), 2);
    assert_eq!(
        read(&dir.path().join(DASHBOARD_PATH)),
        committed_dashboard()
    );
    assert_eq!(read(&dir.path().join(RULES_PATH)), committed_rules());
}

#[test]
fn cli_memory_limit_flag_moves_the_memory_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        otelops()
            .args(["dashboards", "--memory-limit-mib", "2048", "--out"])
            .arg(dir.path()),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rules = read(&dir.path().join(RULES_PATH));
    // 80 % of 2048 MiB.
    assert!(rules.contains("> 1717986918.4"), "{rules}");
}

fn dashboard() -> serde_json::Value {
    serde_json::from_str(&committed_dashboard()).unwrap()
}

#[test]
fn dashboard_has_the_guides_three_groups_with_their_panels() {
    let d = dashboard();
    let panels = d["panels"].as_array().unwrap();
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for p in panels {
        let title = p["title"].as_str().unwrap().to_owned();
        if p["type"] == "row" {
            groups.push((title, Vec::new()));
        } else {
            groups
                .last_mut()
                .expect("panels follow a row")
                .1
                .push(title);
        }
    }
    let row_titles: Vec<&str> = groups.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        row_titles,
        ["Queue Health", "Performance", "Resource Usage"]
    );
    let has = |group: usize, title: &str| groups[group].1.iter().any(|t| t == title);
    for t in [
        "Queue size",
        "Queue capacity",
        "Queue utilisation",
        "Enqueue failures / s",
    ] {
        assert!(has(0, t), "Queue Health lacks {t}");
    }
    for t in [
        "Accepted / s",
        "Refused / s",
        "Sent / s",
        "Send failed / s",
        "Batch send size",
        "Export latency",
    ] {
        assert!(has(1, t), "Performance lacks {t}");
    }
    for t in [
        "Resident memory (RSS)",
        "CPU (cores)",
        "Go heap allocated",
        "Network I/O",
    ] {
        assert!(has(2, t), "Resource Usage lacks {t}");
    }
}

#[test]
fn dashboard_panels_do_not_overlap() {
    let d = dashboard();
    let mut cells = BTreeSet::new();
    for p in d["panels"].as_array().unwrap() {
        let g = &p["gridPos"];
        let (x, y, w, h) = (
            g["x"].as_u64().unwrap(),
            g["y"].as_u64().unwrap(),
            g["w"].as_u64().unwrap(),
            g["h"].as_u64().unwrap(),
        );
        assert!(x + w <= 24, "{}", p["title"]);
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(
                    cells.insert((cx, cy)),
                    "panel {} overlaps another",
                    p["title"]
                );
            }
        }
    }
}

/// Every PromQL expression of the dashboard and the rules.
fn expressions() -> Vec<String> {
    let mut exprs: Vec<String> = dashboard()["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .map(|t| t["expr"].as_str().unwrap().to_owned())
        .collect();
    let rules = otelops::collector_config::document::parse(&committed_rules()).unwrap();
    for rule in rules.path(&["groups"]).unwrap().as_seq().unwrap()[0]
        .get("rules")
        .unwrap()
        .as_seq()
        .unwrap()
    {
        exprs.push(rule.get("expr").unwrap().as_str().unwrap().to_owned());
    }
    exprs
}

/// Metric names recorded from real collectors (v0.165 pages and the v0.90 forms).
fn recorded_names() -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "prom") {
            for line in read(&path)
                .lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
            {
                let end = line.find(['{', ' ']).unwrap_or(line.len());
                names.insert(line[..end].to_owned());
            }
        }
    }
    names
}

/// Name patterns in an expression: `__name__=~"…"` regexes and bare names.
fn name_patterns(expr: &str) -> Vec<String> {
    let regexes = regex::Regex::new(r#"__name__=~"([^"]+)""#).unwrap();
    let bare = regex::Regex::new(r#"(?:^|[\s(])(otelcol_[a-z_]+)\s*[\[)]"#).unwrap();
    let mut patterns: Vec<String> = regexes
        .captures_iter(expr)
        .map(|c| c[1].to_owned())
        .collect();
    patterns.extend(bare.captures_iter(expr).map(|c| regex::escape(&c[1])));
    patterns
}

#[test]
fn queries_match_metric_names_real_collectors_expose() {
    let names = recorded_names();
    // Counters that only appear once something goes wrong or a batch fills;
    // the recorded pages come from a healthy, lightly loaded collector.
    let not_recorded = [
        "otelcol_exporter_enqueue_failed_",
        "otelcol_processor_batch_batch_size_trigger_send",
        "otelcol_exporter_send_failed_metric_points",
        "otelcol_exporter_send_failed_log_records",
    ];
    let mut checked = 0;
    for expr in expressions() {
        for pattern in name_patterns(&expr) {
            let re = regex::Regex::new(&format!("^(?:{pattern})$")).unwrap();
            if not_recorded.iter().any(|n| pattern.starts_with(n)) {
                continue;
            }
            assert!(
                names.iter().any(|n| re.is_match(n)),
                "no recorded metric matches {pattern:?} (in {expr})"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} name patterns checked");
}

#[test]
fn network_io_panel_reads_the_body_sizes_a_detailed_v0161_collector_exposes() {
    let page = read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/otelcol-v0.161-metrics-detailed-http.prom"),
    );
    let d = dashboard();
    let panel = d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Network I/O")
        .expect("a Network I/O panel");
    assert_eq!(panel["fieldConfig"]["defaults"]["unit"], "Bps");
    let targets = panel["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 3);
    for t in targets {
        let expr = t["expr"].as_str().unwrap();
        let patterns = name_patterns(expr);
        assert_eq!(patterns.len(), 1, "{expr}");
        let re = regex::Regex::new(&format!("^(?:{})$", patterns[0])).unwrap();
        let series: Vec<&str> = page
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| re.is_match(&l[..l.find(['{', ' ']).unwrap_or(l.len())]))
            .collect();
        assert!(
            !series.is_empty(),
            "no series on the v0.161 page matches {expr}"
        );
    }
}

#[test]
fn counter_patterns_accept_names_with_and_without_total() {
    for expr in expressions() {
        for pattern in name_patterns(&expr)
            .into_iter()
            .filter(|p| p.ends_with("(_total)?"))
        {
            let re = regex::Regex::new(&format!("^(?:{pattern})$")).unwrap();
            let base = pattern
                .trim_end_matches("(_total)?")
                .replace("(spans|metric_points|log_records)", "spans");
            assert!(
                re.is_match(&base) && re.is_match(&format!("{base}_total")),
                "{pattern}"
            );
        }
    }
}

#[test]
fn no_query_uses_the_nonexistent_sent_spans_duration_metric() {
    for expr in expressions() {
        assert!(!expr.contains("sent_spans_duration"), "{expr}");
    }
}

#[test]
fn rules_cover_every_guide_threshold() {
    let rules = committed_rules();
    for alert in ALERTS {
        assert!(
            rules.contains(&format!("alert: {alert}")),
            "{alert} missing"
        );
    }
}

fn promtool_ok(args: &[&str]) {
    let out = run(
        std::process::Command::new(promtool())
            .args(args)
            .current_dir(deploy("prometheus")),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "promtool {args:?} failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn promtool_checks_the_rules() {
    promtool_ok(&["check", "rules", "otelcol-parker-rules.yaml"]);
}

#[test]
fn promtool_checks_the_scrape_config() {
    promtool_ok(&["check", "config", "prometheus.yaml"]);
}

#[test]
fn promtool_unit_tests_pass_for_every_alert() {
    let tests = read(&deploy("prometheus/tests/otelcol-parker-rules.test.yaml"));
    for alert in ALERTS {
        assert!(
            tests.contains(&format!("alertname: {alert}")),
            "no promtool test for {alert}"
        );
    }
    promtool_ok(&["test", "rules", "tests/otelcol-parker-rules.test.yaml"]);
}

/// The dashboard's queries are PromQL Prometheus accepts: each one, with
/// Grafana's `$__rate_interval` set to 5m, becomes a recording rule that
/// `promtool check rules` parses.
#[test]
fn promtool_parses_every_dashboard_query() {
    let d = dashboard();
    let mut rules = String::from("groups:\n  - name: dashboard-queries\n    rules:\n");
    let mut count = 0;
    for panel in d["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().cloned().unwrap_or_default() {
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "5m");
            count += 1;
            rules.push_str(&format!(
                "      - record: dashboard:query_{count}\n        expr: {}\n",
                serde_json::to_string(&expr).unwrap()
            ));
        }
    }
    assert!(count >= 25, "only {count} queries");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboard-queries.yaml");
    std::fs::write(&file, rules).unwrap();
    let out = run(
        std::process::Command::new(promtool())
            .args(["check", "rules"])
            .arg(&file),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "promtool rejected a dashboard query:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains(&format!("{count} rules found")),
        "{}",
        text(&out.stdout)
    );
}
