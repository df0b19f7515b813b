//! The embedded registry is exactly what the generator derives from the
//! official v1.44.0 model, and the loader reads other model directories
//! (`--registry DIR`) or says clearly why it cannot.

#[path = "common/check.rs"]
mod check_support;
mod common;

use std::path::PathBuf;

use check_support::*;
use otelops::semconv_registry::{
    self, GroupKind, RegistryError, Requirement, ValueType, from_model_dir, render,
};

/// The official v1.44.0 model, kept in the repository (see
/// `registry/PROVENANCE.md`).
fn model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("registry/model-v1.44.0")
}

const COMMITTED: &str = include_str!("../registry/semconv-v1.44.0.json");

#[test]
fn committed_registry_is_regenerated_from_the_model() {
    let registry = from_model_dir(&model_dir()).expect("model loads");
    let rendered = render(&registry);
    assert!(
        rendered == COMMITTED,
        "registry/semconv-v1.44.0.json is stale; regenerate it with\n  otelops check generate-registry \
         --model crates/otelops/registry/model-v1.44.0 --out crates/otelops/registry/semconv-v1.44.0.json"
    );
    assert_eq!(&registry, semconv_registry::embedded());
}

#[test]
fn the_generator_command_writes_the_same_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("registry.json");
    let model = model_dir().display().to_string();
    let run = otelops(&[
        "check",
        "generate-registry",
        "--model",
        &model,
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(code(&run), 0, "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(std::fs::read_to_string(&out).expect("written"), COMMITTED);
    assert!(String::from_utf8_lossy(&run.stderr).contains("semantic conventions 1.44.0"));
}

#[test]
fn the_registry_carries_what_the_checks_need() {
    let registry = semconv_registry::embedded();
    assert_eq!(registry.version, "1.44.0");
    assert!(
        registry.attributes.len() > 900,
        "{}",
        registry.attributes.len()
    );

    let method = &registry.attributes["http.request.method"];
    assert_eq!(
        (method.value_type, method.stability.as_str()),
        (ValueType::String, "stable")
    );
    assert!(
        method
            .members
            .iter()
            .any(|m| m.value.to_string() == "_OTHER")
    );

    let renamed = |old: &str| {
        registry.attributes[old]
            .deprecated
            .as_ref()
            .and_then(|d| d.renamed_to.clone())
    };
    assert_eq!(
        renamed("http.method").as_deref(),
        Some("http.request.method")
    );
    assert_eq!(renamed("db.system").as_deref(), Some("db.system.name"));
    assert_eq!(
        registry.attributes["http.response.status_code"].value_type,
        ValueType::Int
    );
    assert!(registry.attributes["http.request.header"].template);

    let server = &registry.groups["span.http.server"];
    assert_eq!(
        (server.kind, server.span_kind.as_deref()),
        (GroupKind::Span, Some("server"))
    );
    // `extends: attributes.http.server` -> `attributes.http.common` resolved.
    assert_eq!(
        server.attributes["http.request.method"],
        Requirement::Required
    );
    assert_eq!(server.attributes["url.path"], Requirement::Required);
    assert_eq!(
        server.attributes["http.route"],
        Requirement::ConditionallyRequired
    );
    let redis = &registry.groups["span.db.redis.client"];
    assert_eq!(redis.attributes["db.operation.name"], Requirement::Required);
    assert_eq!(
        registry.groups["event.exception"].name.as_deref(),
        Some("exception")
    );
    assert_eq!(
        registry.groups["entity.service"].attributes["service.name"],
        Requirement::Required
    );
}

#[test]
fn another_model_directory_is_loaded_through_the_same_loader() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("http")).expect("mkdir");
    write_temp(
        &dir,
        "http/registry.yaml",
        br#"groups:
  - id: registry.http
    type: attribute_group
    attributes:
      - id: http.verb
        type: string
        stability: stable
      - id: http.method
        type: string
        stability: development
        deprecated:
          reason: renamed
          renamed_to: http.verb
"#,
    );
    let registry = from_model_dir(dir.path()).expect("loads");
    assert_eq!(registry.attributes.len(), 2);

    // Against this registry, `http.request.method` is unknown and
    // `http.method` points at `http.verb`.
    let mut doc = good();
    set_attr(span(&mut doc, 0), "http.method", string("POST"));
    let file = write_temp(&dir, "spans.json", doc.to_string().as_bytes());
    let args = [
        "--output",
        "json",
        "check",
        "semantic-conventions",
        "--registry",
    ];
    let model = dir.path().display().to_string();
    let mut argv = args.to_vec();
    let file = file.display().to_string();
    argv.extend([model.as_str(), file.as_str()]);
    let out = otelops(&argv);
    assert_eq!(code(&out), 1);
    let report = stdout_json(&out);
    let messages: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert!(
        messages.contains(&"`http.method` is deprecated: renamed to `http.verb`"),
        "{messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("`http.request.method` is not defined")),
        "{messages:#?}"
    );
}

#[test]
fn a_missing_model_directory_is_a_clear_error() {
    let err = from_model_dir(std::path::Path::new("/nonexistent/model")).expect_err("missing");
    assert!(matches!(err, RegistryError::MissingDir(_)));
    let out = otelops(&[
        "check",
        "semantic-conventions",
        "--registry",
        "/nonexistent/model",
        &fixture("good_http_server.json").display().to_string(),
    ]);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/model: not found"));
}

#[test]
fn a_broken_model_file_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_temp(
        &dir,
        "bad.yaml",
        b"groups:\n  - id: x\n    type: [unclosed\n",
    );
    let err = from_model_dir(dir.path()).expect_err("broken");
    assert!(
        err.to_string()
            .contains("bad.yaml: not a semantic-conventions model file"),
        "{err}"
    );
}

#[test]
fn a_directory_without_attributes_is_not_a_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_temp(&dir, "empty.yaml", b"groups: []\n");
    assert!(matches!(
        from_model_dir(dir.path()),
        Err(RegistryError::Empty(_))
    ));
}
