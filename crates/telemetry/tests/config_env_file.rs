//! The env file: dotenv syntax, overlay under the real environment,
//! `OTEL_ENV_FILE`, and file:line errors.

mod common;

use common::vars;
use parker_telemetry::TelemetryConfig;
use parker_telemetry::config::{ConfigError, Protocol, overlay_env_file, parse_env_file};
use std::path::Path;

fn write(dir: &Path, rel: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write env file");
    path
}

#[test]
fn dotenv_syntax_quotes_and_comments() {
    let text = r#"
# a comment
OTEL_SERVICE_NAME=booking
OTEL_EXPORTER_OTLP_HEADERS="authorization=Bearer%20abc"
OTEL_RESOURCE_ATTRIBUTES='team=fares'
export OTEL_TRACES_SAMPLER=always_off
"#;
    let vars = parse_env_file(Path::new("x.env"), text).expect("parses");
    assert_eq!(vars["OTEL_SERVICE_NAME"], "booking");
    assert_eq!(
        vars["OTEL_EXPORTER_OTLP_HEADERS"],
        "authorization=Bearer%20abc"
    );
    assert_eq!(vars["OTEL_RESOURCE_ATTRIBUTES"], "team=fares");
    assert_eq!(vars["OTEL_TRACES_SAMPLER"], "always_off");
}

#[test]
fn malformed_line_is_reported_with_file_and_line() {
    let text = "OTEL_SERVICE_NAME=booking\n\nTHIS LINE IS BROKEN\n";
    let e = parse_env_file(Path::new("config/.env.otel"), text).expect_err("malformed");
    let msg = e.to_string();
    assert!(
        matches!(e, ConfigError::EnvFileSyntax { line: 3, .. }),
        "{msg}"
    );
    assert!(msg.starts_with("config/.env.otel:3: cannot parse"), "{msg}");
}

#[test]
fn default_file_is_read_and_real_env_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "config/.env.otel",
        "OTEL_SERVICE_NAME=from-file\nOTEL_EXPORTER_OTLP_PROTOCOL=grpc\n",
    );
    let process = vars(&[("OTEL_SERVICE_NAME", "from-env")]);
    let c = TelemetryConfig::from_env_and_file(&process, dir.path()).expect("config");
    assert_eq!(c.service_name.as_deref(), Some("from-env"));
    assert_eq!(c.traces.otlp.protocol, Protocol::Grpc);
}

#[test]
fn no_default_file_means_env_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let merged = overlay_env_file(&vars(&[("A", "1")]), dir.path()).expect("no file is fine");
    assert_eq!(merged, vars(&[("A", "1")]));
}

#[test]
fn otel_env_file_names_another_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "elsewhere/prod.env",
        "OTEL_TRACES_EXPORTER=console\n",
    );
    let process = vars(&[("OTEL_ENV_FILE", path.to_str().expect("utf-8 path"))]);
    let c = TelemetryConfig::from_env_and_file(&process, dir.path()).expect("config");
    assert_eq!(
        c.traces.exporter,
        parker_telemetry::config::ExporterKind::Console
    );
}

#[test]
fn missing_otel_env_file_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let process = vars(&[("OTEL_ENV_FILE", "nope.env")]);
    let e = TelemetryConfig::from_env_and_file(&process, dir.path()).expect_err("missing file");
    let msg = e.to_string();
    assert!(msg.starts_with("cannot read env file "), "{msg}");
    assert!(msg.contains("nope.env (named by OTEL_ENV_FILE)"), "{msg}");
}

#[test]
fn malformed_value_in_the_file_names_the_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "config/.env.otel",
        "OTEL_EXPORTER_OTLP_PROTOCOL=grpcc\n",
    );
    let e = TelemetryConfig::from_env_and_file(&vars(&[]), dir.path()).expect_err("bad protocol");
    assert_eq!(
        e.to_string(),
        r#"OTEL_EXPORTER_OTLP_PROTOCOL="grpcc": expected grpc, http/protobuf or http/json"#
    );
}

#[test]
fn the_shipped_template_parses_to_the_defaults() {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/.env.otel.template");
    let vars = parker_telemetry::config::load_env_file(&template).expect("template parses");
    assert!(
        vars.is_empty(),
        "every line of the template is commented out: {vars:?}"
    );
    let text = std::fs::read_to_string(&template).expect("template");
    for var in [
        "OTEL_SDK_DISABLED",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_INSECURE",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG",
        "OTEL_BSP_SCHEDULE_DELAY",
        "OTEL_BSP_EXPORT_TIMEOUT",
        "OTEL_BSP_MAX_QUEUE_SIZE",
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        "OTEL_BLRP_SCHEDULE_DELAY",
        "OTEL_METRIC_EXPORT_INTERVAL",
        "OTEL_METRIC_EXPORT_TIMEOUT",
        "OTEL_PROPAGATORS",
        "OTEL_TRACES_EXPORTER",
        "OTEL_METRICS_EXPORTER",
        "OTEL_LOGS_EXPORTER",
        "OTEL_ENV_FILE",
    ] {
        assert!(
            text.contains(&format!("# {var}=")),
            "template does not document {var}"
        );
    }
}
