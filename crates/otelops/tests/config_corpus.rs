//! `config lint` against the real `otelcol-parker validate` on the shared
//! corpus in deploy/collector/test-configs/: both reject every broken config
//! and lint names the component of its `# expect:` header; both accept the
//! warn/ configs, where lint warns about the expected component instead.

mod common;
#[path = "common/config.rs"]
mod config_support;

use std::collections::BTreeSet;

use config_support::*;
use otelops::collector_config::components::DISTRIBUTION;
use otelops::collector_config::document::{self, Value};
use otelops::collector_config::lint::{LintOptions, Report, Severity, lint_str};

const DEV: LintOptions = LintOptions { production: false };

fn lint_file(case: &CorpusCase) -> Report {
    lint_str(&read(&case.path), DEV).unwrap_or_else(|e| panic!("{}: {e}", case.path.display()))
}

/// Whether a finding of `severity` names `expect` as a quoted id or key
/// (`"otlp/missing"`, or the last part of a dotted setting `"protocols.grpc"`).
fn names(report: &Report, severity: Severity, expect: &str) -> bool {
    report.findings.iter().any(|f| {
        f.severity == severity
            && (f.message.contains(&format!("\"{expect}\""))
                || f.message.contains(&format!(".{expect}\"")))
    })
}

#[test]
fn lint_rejects_every_broken_config_naming_the_expected_component() {
    for case in corpus("broken") {
        let report = lint_file(&case);
        assert!(
            names(&report, Severity::Error, &case.expect),
            "{}: no error naming {:?}; findings: {:#?}",
            case.path.display(),
            case.expect,
            report.findings
        );
    }
}

#[test]
fn real_collector_rejects_every_broken_config_too() {
    let queue = tempfile::tempdir().unwrap();
    for case in corpus("broken") {
        let out = validate(&case.path, &profile_env(queue.path()));
        assert!(
            !out.status.success(),
            "otelcol-parker validate accepted {}",
            case.path.display()
        );
        assert!(
            text(&out.stderr).contains(&case.expect),
            "{}: the collector's error does not name {:?}: {}",
            case.path.display(),
            case.expect,
            text(&out.stderr)
        );
    }
}

#[test]
fn lint_only_warns_on_the_warn_configs_naming_the_expected_component() {
    for case in corpus("warn") {
        let report = lint_file(&case);
        assert_eq!(
            report.errors(),
            0,
            "{}: {:#?}",
            case.path.display(),
            report.findings
        );
        assert!(
            names(&report, Severity::Warning, &case.expect),
            "{}: no warning naming {:?}; findings: {:#?}",
            case.path.display(),
            case.expect,
            report.findings
        );
    }
}

#[test]
fn real_collector_accepts_the_warn_and_valid_configs_and_so_does_lint() {
    let queue = tempfile::tempdir().unwrap();
    let mut accepted: Vec<_> = corpus("warn").into_iter().map(|c| c.path).collect();
    accepted.push(deploy("collector/test-configs/valid-minimal.yaml"));
    accepted.push(deploy("collector/test-configs/downstream-sink.yaml"));
    for path in accepted {
        let out = validate(&path, &profile_env(queue.path()));
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            text(&out.stderr)
        );
        let report = lint_str(&read(&path), DEV).unwrap();
        assert_eq!(
            report.errors(),
            0,
            "{}: {:#?}",
            path.display(),
            report.findings
        );
    }
}

/// The Go package names in the builder manifest: the last path element of
/// each component's `import`, or of its `gomod` module.
fn manifest_packages() -> BTreeSet<String> {
    let text = read(&deploy("collector/builder-config.yaml"));
    let root = document::parse(&text).unwrap();
    let mut packages = BTreeSet::new();
    for section in [
        "receivers",
        "processors",
        "exporters",
        "extensions",
        "connectors",
    ] {
        let Some(items) = root.get(section).and_then(|n| n.as_seq()) else {
            continue;
        };
        for item in items {
            let path = match item.get("import").map(|n| &n.value) {
                Some(Value::Str(import)) => import.clone(),
                _ => item
                    .get("gomod")
                    .and_then(|n| n.as_str())
                    .and_then(|g| g.split_whitespace().next())
                    .expect("every component has a gomod")
                    .to_owned(),
            };
            packages.insert(path.rsplit('/').next().unwrap().to_owned());
        }
    }
    packages
}

#[test]
fn lint_knows_exactly_the_components_in_the_builder_manifest() {
    let ours: BTreeSet<String> = DISTRIBUTION.iter().map(|c| c.package.to_owned()).collect();
    assert_eq!(ours, manifest_packages());
}

/// The Go package behind a config's component id (`otlp_grpc/b` → its exporter).
fn package_of(section: &str, id: &str) -> &'static str {
    let type_name = id.split('/').next().unwrap_or(id);
    DISTRIBUTION
        .iter()
        .find(|c| c.kind.section() == section && c.name == type_name)
        .unwrap_or_else(|| panic!("{section} {id:?} is not in the distribution"))
        .package
}

/// valid-minimal.yaml is the corpus's proof that every compiled-in component
/// configures and validates: it must name each one at least once.
#[test]
fn valid_minimal_uses_every_component_of_the_distribution() {
    let root =
        document::parse(&read(&deploy("collector/test-configs/valid-minimal.yaml"))).unwrap();
    let mut used = BTreeSet::new();
    for section in ["receivers", "processors", "exporters", "extensions"] {
        let map = root
            .get(section)
            .and_then(|n| n.as_map())
            .unwrap_or_else(|| panic!("{section}"));
        for (key, _) in map {
            used.insert(package_of(section, &key.name).to_owned());
        }
    }
    assert_eq!(used, manifest_packages());
}
