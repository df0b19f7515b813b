//! `otelops config lint`: every rule has a config that fires it and one that
//! does not; findings carry line:column; the CLI's exit codes and JSON.

mod common;
#[path = "common/config.rs"]
mod config_support;

use std::time::Duration;

use config_support::*;
use otelops::collector_config::document::DocumentError;
use otelops::collector_config::lint::{Finding, LintOptions, RULES, Severity, lint_str};

const DEV: LintOptions = LintOptions { production: false };
const PROD: LintOptions = LintOptions { production: true };

/// A clean development config: every practice followed.
const BASE: &str = r#"receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:4317
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
  probabilistic_sampler:
    sampling_percentage: 50
  batch:
    timeout: 5s
exporters:
  otlp:
    endpoint: 127.0.0.1:14317
    tls:
      insecure: true
    sending_queue:
      enabled: true
extensions:
  health_check:
    endpoint: 127.0.0.1:13133
service:
  extensions: [health_check]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, probabilistic_sampler, batch]
      exporters: [otlp]
"#;

/// A clean production config: TLS, auth, secrets from the environment.
const PROD_BASE: &str = r#"receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:OTELCOL_BIND:-127.0.0.1}:4317
        tls:
          cert_file: ${env:CERT}
          key_file: ${env:KEY}
        auth:
          authenticator: bearertokenauth/in
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
  batch: {}
  redaction/pii:
    allow_all_keys: true
exporters:
  otlp:
    endpoint: backend.example:4317
    auth:
      authenticator: bearertokenauth/out
    headers:
      x-tenant: parker
extensions:
  health_check: {}
  bearertokenauth/in:
    token: ${env:INGEST_TOKEN}
  bearertokenauth/out:
    token: ${env:EXPORT_TOKEN}
service:
  extensions: [health_check, bearertokenauth/in, bearertokenauth/out]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter, redaction/pii, batch]
      exporters: [otlp]
"#;

struct Case {
    rule: &'static str,
    options: LintOptions,
    fires: String,
    quiet: String,
}

fn edit(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "fixture edit {from:?} does not apply");
    base.replacen(from, to, 1)
}

fn case(rule: &'static str, from: &str, to: &str) -> Case {
    Case {
        rule,
        options: DEV,
        fires: edit(BASE, from, to),
        quiet: BASE.to_owned(),
    }
}

fn prod_case(rule: &'static str, from: &str, to: &str) -> Case {
    Case {
        rule,
        options: PROD,
        fires: edit(PROD_BASE, from, to),
        quiet: PROD_BASE.to_owned(),
    }
}

fn cases() -> Vec<Case> {
    vec![
        case("unknown-key", "service:\n", "pipelines: {}\nservice:\n"),
        case(
            "unknown-key",
            "    timeout: 5s\n",
            "    timeout: 5s\n    send_batch_sise: 10\n",
        ),
        case(
            "unknown-key",
            "        endpoint: 127.0.0.1:4317\n",
            "        endpiont: 127.0.0.1:4317\n",
        ),
        case(
            "wrong-type",
            "limit_percentage: 80",
            "limit_percentage: \"80\"",
        ),
        case(
            "wrong-type",
            "      enabled: true",
            "      enabled: \"yes\"",
        ),
        case(
            "wrong-type",
            "  extensions: [health_check]",
            "  extensions: health_check",
        ),
        case("bad-duration", "timeout: 5s", "timeout: 5 sec"),
        case("bad-duration", "check_interval: 1s", "check_interval: 1sec"),
        case(
            "missing-setting",
            "    protocols:\n      grpc:\n        endpoint: 127.0.0.1:4317\n",
            "    protocols:\n",
        ),
        case(
            "invalid-component-id",
            "  batch:\n",
            "  batch/:\n    timeout: 1s\n  batch:\n",
        ),
        case(
            "unknown-component-type",
            "exporters:\n",
            "exporters:\n  kafka: {}\n",
        ),
        case(
            "undefined-component",
            "exporters: [otlp]",
            "exporters: [otlp, otlp/missing]",
        ),
        case(
            "undefined-component",
            "extensions: [health_check]",
            "extensions: [health_check, zpages]",
        ),
        case(
            "duplicate-reference",
            "probabilistic_sampler, batch]",
            "probabilistic_sampler, batch, batch]",
        ),
        case("invalid-pipeline", "    traces:\n", "    tracez:\n"),
        case(
            "invalid-pipeline",
            "      receivers: [otlp]\n",
            "      receivers: []\n",
        ),
        case(
            "unused-component",
            "  batch:\n",
            "  batch/unused: {}\n  batch:\n",
        ),
        case(
            "memory-limiter-first",
            "[memory_limiter, probabilistic_sampler, batch]",
            "[probabilistic_sampler, memory_limiter, batch]",
        ),
        case(
            "sampler-on-logs",
            "      exporters: [otlp]\n",
            "      exporters: [otlp]\n    logs:\n      receivers: [otlp]\n      processors: [memory_limiter, probabilistic_sampler, batch]\n      exporters: [otlp]\n",
        ),
        case(
            "batch-missing",
            "[memory_limiter, probabilistic_sampler, batch]",
            "[memory_limiter, probabilistic_sampler]",
        ),
        case(
            "queue-disabled",
            "      enabled: true",
            "      enabled: false",
        ),
        case(
            "sampling-range",
            "sampling_percentage: 50",
            "sampling_percentage: 150",
        ),
        case(
            "sampling-range",
            "sampling_percentage: 50",
            "sampling_percentage: -5",
        ),
        case("health-check-missing", "  extensions: [health_check]\n", ""),
        case(
            "literal-secret",
            "    tls:\n      insecure: true\n",
            "    tls:\n      insecure: true\n    headers:\n      api_key: k-123\n",
        ),
        prod_case(
            "literal-secret",
            "token: ${env:EXPORT_TOKEN}",
            "token: s3cr3t-value",
        ),
        prod_case(
            "literal-secret",
            "      x-tenant: parker",
            "      authorization: Bearer abc.def",
        ),
        prod_case(
            "production-tls",
            "    auth:\n      authenticator: bearertokenauth/out\n",
            "    tls:\n      insecure: true\n    auth:\n      authenticator: bearertokenauth/out\n",
        ),
        prod_case(
            "production-tls",
            "        tls:\n          cert_file: ${env:CERT}\n          key_file: ${env:KEY}\n",
            "",
        ),
        prod_case(
            "production-auth",
            "    auth:\n      authenticator: bearertokenauth/out\n",
            "",
        ),
        prod_case(
            "production-auth",
            "        auth:\n          authenticator: bearertokenauth/in\n",
            "",
        ),
        prod_case(
            "production-pii",
            "[memory_limiter, redaction/pii, batch]",
            "[memory_limiter, batch]",
        ),
    ]
}

fn rules_in(text: &str, options: LintOptions) -> Vec<Finding> {
    lint_str(text, options)
        .unwrap_or_else(|e| panic!("fixture must parse: {e}\n{text}"))
        .findings
}

#[test]
fn clean_configs_have_no_findings() {
    assert_eq!(rules_in(BASE, DEV), vec![]);
    assert_eq!(rules_in(PROD_BASE, PROD), vec![]);
}

#[test]
fn each_rule_fires_on_its_case_and_not_on_the_clean_config() {
    for c in cases() {
        let fired = rules_in(&c.fires, c.options);
        assert!(
            fired.iter().any(|f| f.rule == c.rule),
            "{} did not fire on:\n{}\nfindings: {fired:#?}",
            c.rule,
            c.fires
        );
        assert!(
            !rules_in(&c.quiet, c.options)
                .iter()
                .any(|f| f.rule == c.rule),
            "{} fired on the clean config",
            c.rule
        );
    }
}

#[test]
fn every_rule_has_a_case() {
    let covered: Vec<&str> = cases().iter().map(|c| c.rule).collect();
    for (rule, _, _) in RULES {
        // yaml-syntax is an Err, not a finding: see bad_yaml_is_an_error_with_line_and_column.
        if *rule != "yaml-syntax" {
            assert!(covered.contains(rule), "rule {rule} has no test case");
        }
    }
}

#[test]
fn findings_point_at_the_offending_line_and_column() {
    let text = edit(BASE, "exporters: [otlp]", "exporters: [otlp, otlp/missing]");
    let f = rules_in(&text, DEV)
        .into_iter()
        .find(|f| f.rule == "undefined-component")
        .unwrap();
    assert_eq!((f.line, f.column), (31, 25));
    assert!(f.message.contains("\"otlp/missing\""), "{}", f.message);

    let text = edit(BASE, "timeout: 5s", "timeout: 5 sec");
    let f = rules_in(&text, DEV)
        .into_iter()
        .find(|f| f.rule == "bad-duration")
        .unwrap();
    assert_eq!((f.line, f.column), (14, 14));
}

#[test]
fn literal_secrets_are_errors_in_production_and_warnings_elsewhere_and_never_echoed() {
    let text = edit(
        PROD_BASE,
        "token: ${env:EXPORT_TOKEN}",
        "token: s3cr3t-value",
    );
    for (options, severity) in [(PROD, Severity::Error), (DEV, Severity::Warning)] {
        let f = rules_in(&text, options)
            .into_iter()
            .find(|f| f.rule == "literal-secret")
            .unwrap();
        assert_eq!(f.severity, severity);
        assert!(!f.message.contains("s3cr3t"), "{}", f.message);
    }
    let with_env_bearer = edit(
        PROD_BASE,
        "      x-tenant: parker",
        "      authorization: Bearer ${env:T}",
    );
    assert!(
        !rules_in(&with_env_bearer, PROD)
            .iter()
            .any(|f| f.rule == "literal-secret")
    );
}

#[test]
fn production_rules_apply_only_to_production() {
    let insecure = edit(
        BASE,
        "tls:\n      insecure: true",
        "tls:\n      insecure: true",
    );
    assert!(
        !rules_in(&insecure, DEV)
            .iter()
            .any(|f| f.rule.starts_with("production-"))
    );
    let prod: Vec<_> = rules_in(&insecure, PROD)
        .into_iter()
        .map(|f| f.rule)
        .collect();
    assert!(
        prod.contains(&"production-tls") && prod.contains(&"production-auth"),
        "{prod:?}"
    );
}

#[test]
fn bad_yaml_is_an_error_with_line_and_column() {
    let err = lint_str("receivers:\n  otlp: [1, 2\nservice: {}\n", DEV).unwrap_err();
    match err {
        DocumentError::Syntax { line, column, .. } => assert_eq!((line, column > 0), (3, true)),
        other => panic!("{other}"),
    }
}

fn lint_cli(args: &[&str], file: &std::path::Path) -> std::process::Output {
    run(
        otelops().args(["config", "lint"]).arg(file).args(args),
        Duration::from_secs(30),
    )
}

#[test]
fn cli_exits_1_on_errors_with_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("collector.yaml");
    std::fs::write(&file, edit(BASE, "timeout: 5s", "timeout: 5 sec")).unwrap();
    let out = lint_cli(&[], &file);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("{}:14:14: error[bad-duration]", file.display())),
        "{stdout}"
    );
}

#[test]
fn cli_exits_0_with_warnings_listed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("collector.yaml");
    std::fs::write(
        &file,
        edit(BASE, "      enabled: true", "      enabled: false"),
    )
    .unwrap();
    let out = lint_cli(&[], &file);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("warning[queue-disabled]"));
    assert!(text(&out.stdout).contains("0 error(s), 1 warning(s)"));
}

#[test]
fn cli_json_output_lists_findings_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("collector.yaml");
    std::fs::write(
        &file,
        edit(BASE, "exporters: [otlp]", "exporters: [otlp, otlp/missing]"),
    )
    .unwrap();
    let out = run(
        otelops()
            .args(["--output", "json", "config", "lint"])
            .arg(&file),
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["errors"], 1);
    let f = &doc["findings"][0];
    assert_eq!(f["rule"], "undefined-component");
    assert_eq!(f["severity"], "error");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(31), Some(25))
    );
    assert_eq!(f["file"], file.display().to_string());
}

#[test]
fn cli_production_profile_is_taken_from_the_flag_or_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let named = dir.path().join("production-collector.yaml");
    std::fs::write(&named, BASE).unwrap();
    assert_eq!(
        lint_cli(&[], &named).status.code(),
        Some(1),
        "file name says production"
    );
    let plain = dir.path().join("collector.yaml");
    std::fs::write(&plain, BASE).unwrap();
    assert_eq!(lint_cli(&[], &plain).status.code(), Some(0));
    assert_eq!(
        lint_cli(&["--profile", "production"], &plain).status.code(),
        Some(1)
    );
}

#[test]
fn cli_bad_yaml_exits_2_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.yaml");
    std::fs::write(&file, "receivers:\n  otlp: [1, 2\nservice: {}\n").unwrap();
    let out = lint_cli(&[], &file);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("broken.yaml") && stderr.contains("3:"),
        "{stderr}"
    );
    assert!(stderr.contains("invalid YAML"), "{stderr}");
}

#[test]
fn cli_missing_file_exits_2_naming_it() {
    let out = lint_cli(&[], std::path::Path::new("/nonexistent/otel.yaml"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("/nonexistent/otel.yaml"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn cli_lists_every_rule() {
    let out = run(
        otelops().args(["--output", "json", "config", "rules"]),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = RULES.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(ids, expected);
}

#[test]
fn production_pipelines_without_a_pii_processor_get_a_warning() {
    let pii = |text: &str, options| {
        rules_in(text, options)
            .into_iter()
            .filter(|f| f.rule == "production-pii")
            .map(|f| (f.severity, f.message))
            .collect::<Vec<_>>()
    };
    let bare = edit(
        PROD_BASE,
        "[memory_limiter, redaction/pii, batch]",
        "[memory_limiter, batch]",
    );
    let fired = pii(&bare, PROD);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].0, Severity::Warning);
    assert!(fired[0].1.contains("pipeline \"traces\""), "{}", fired[0].1);
    assert!(pii(&bare, DEV).is_empty(), "only production is held to it");
    assert!(pii(PROD_BASE, PROD).is_empty());
}
