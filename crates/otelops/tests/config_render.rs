//! `otelops config render`: the committed profiles are exactly what the
//! generator produces, each has the properties its environment needs, and the
//! real otelcol-parker accepts (and starts) them.

mod common;
#[path = "common/config.rs"]
mod config_support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use config_support::*;
use otelops::collector_config::lint::{LintOptions, lint_str};
use otelops::collector_config::model::CollectorConfig;
use otelops::collector_config::profile::{Profile, referenced_env_vars, render, render_yaml};

fn committed(profile: Profile) -> String {
    read(&deploy(&format!("collector/{profile}.yaml")))
}

#[test]
fn committed_profiles_match_the_generator_byte_for_byte() {
    for profile in Profile::ALL {
        assert_eq!(
            committed(profile),
            render_yaml(profile).unwrap(),
            "deploy/collector/{profile}.yaml drifted: run `otelops config render --profile {profile} --out deploy/collector/{profile}.yaml`"
        );
    }
}

#[test]
fn cli_render_prints_the_profile_and_writes_out_file() {
    let out = run(
        otelops().args(["config", "render", "--profile", "staging"]),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), committed(Profile::Staging));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prod.yaml");
    let out = run(
        otelops()
            .args(["config", "render", "--profile", "production", "--out"])
            .arg(&file),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(read(&file), committed(Profile::Production));
}

#[test]
fn cli_render_rejects_an_unknown_profile() {
    let out = run(
        otelops().args(["config", "render", "--profile", "prod"]),
        Duration::from_secs(30),
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("prod"), "{}", text(&out.stderr));
}

#[test]
fn committed_profiles_read_back_into_the_typed_model() {
    for profile in Profile::ALL {
        let parsed = CollectorConfig::from_yaml_str(&committed(profile)).unwrap();
        assert_eq!(parsed, render(profile), "{profile}");
    }
}

#[test]
fn every_profile_lints_without_findings() {
    for profile in Profile::ALL {
        let report = lint_str(&committed(profile), LintOptions::for_profile(profile)).unwrap();
        assert_eq!(report.findings, vec![], "{profile}");
    }
}

#[test]
fn memory_limiter_comes_first_and_batch_last_in_every_pipeline() {
    for profile in Profile::ALL {
        let p = render(profile).service.pipelines;
        for pipeline in [&p.traces, &p.metrics, &p.logs] {
            assert_eq!(
                pipeline.processors.first().map(String::as_str),
                Some("memory_limiter")
            );
            assert_eq!(
                pipeline.processors.last().map(String::as_str),
                Some("batch")
            );
        }
        let sampler = match profile {
            Profile::Development => "probabilistic_sampler",
            Profile::Staging | Profile::Production => "tail_sampling",
        };
        // Personal data goes before anything else holds it (staging and
        // production; development has no PII processors).
        let pii: &[&str] = if profile == Profile::Development {
            &[]
        } else {
            &["attributes/pii", "redaction/pii", "transform/pii"]
        };
        let expected: Vec<&str> = ["memory_limiter"]
            .into_iter()
            .chain(pii.iter().copied())
            .chain([sampler, "batch"])
            .collect();
        assert_eq!(p.traces.processors, expected, "{profile}");
        let logs: Vec<&str> = ["memory_limiter"]
            .into_iter()
            .chain(pii.iter().copied())
            .chain(["batch"])
            .collect();
        assert_eq!(p.logs.processors, logs, "{profile}");
        let metrics: Vec<&str> = ["memory_limiter"]
            .into_iter()
            .chain(pii.iter().copied().filter(|id| *id != "transform/pii"))
            .chain(["batch"])
            .collect();
        assert_eq!(p.metrics.processors, metrics, "{profile}");
    }
}

#[test]
fn development_keeps_every_trace_without_waiting() {
    let processors = render(Profile::Development).processors;
    assert_eq!(
        processors
            .probabilistic_sampler
            .unwrap()
            .sampling_percentage,
        100.0
    );
    assert_eq!(processors.tail_sampling, None);
}

/// The policies as `name:type` (an and-policy followed by its parts) and
/// the probabilistic rates in order.
fn policies(profile: Profile) -> (Vec<String>, Vec<f64>) {
    fn walk(v: &serde_json::Value, names: &mut Vec<String>, rates: &mut Vec<f64>) {
        for p in v.as_array().into_iter().flatten() {
            names.push(format!(
                "{}:{}",
                p["name"].as_str().unwrap(),
                p["type"].as_str().unwrap()
            ));
            if let Some(pct) = p["probabilistic"]["sampling_percentage"].as_f64() {
                rates.push(pct);
            }
            walk(&p["and"]["and_sub_policy"], names, rates);
        }
    }
    let tail = render(profile)
        .processors
        .tail_sampling
        .expect("tail_sampling");
    let (mut names, mut rates) = (Vec::new(), Vec::new());
    walk(
        &serde_json::to_value(&tail.policies).unwrap(),
        &mut names,
        &mut rates,
    );
    (names, rates)
}

#[test]
fn staging_and_production_tail_sample_errors_slow_and_critical_services_higher() {
    for (profile, critical, rate) in [
        (Profile::Staging, 75.0, 50.0),
        (Profile::Production, 50.0, 10.0),
    ] {
        let (names, rates) = policies(profile);
        assert_eq!(
            names,
            [
                "errors:status_code",
                "slow:latency",
                "critical-services:and",
                "critical-service:string_attribute",
                "critical-rate:probabilistic",
                "environment-rate:probabilistic"
            ],
            "{profile}"
        );
        assert_eq!(rates, [critical, rate], "{profile}");
        let yaml = committed(profile);
        for line in [
            "- ERROR",
            "threshold_ms: 1000",
            "key: service.name",
            "- parker-booking",
        ] {
            assert!(yaml.contains(line), "{profile}: {line}");
        }
        assert!(!yaml.contains("probabilistic_sampler"), "{profile}");
    }
}

#[test]
fn development_listens_on_loopback_only_and_keeps_pprof() {
    let yaml = committed(Profile::Development);
    assert!(!yaml.contains("0.0.0.0"));
    assert!(!yaml.contains("${env:OTELCOL_BIND"));
    let config = render(Profile::Development);
    assert_eq!(
        config.receivers.otlp.protocols.grpc.endpoint,
        "127.0.0.1:4317"
    );
    assert_eq!(
        config.receivers.otlp.protocols.http.endpoint,
        "127.0.0.1:4318"
    );
    assert!(config.service.extensions.contains(&"pprof".to_owned()));
    for other in [Profile::Staging, Profile::Production] {
        assert!(render(other).extensions.pprof.is_none(), "{other}");
    }
}

#[test]
fn deployed_profiles_bind_from_env_with_a_loopback_default() {
    for profile in [Profile::Staging, Profile::Production] {
        let config = render(profile);
        assert_eq!(
            config.receivers.otlp.protocols.grpc.endpoint,
            "${env:OTELCOL_BIND:-127.0.0.1}:4317"
        );
        assert_eq!(
            config.extensions.health_check.endpoint,
            "${env:OTELCOL_BIND:-127.0.0.1}:13133"
        );
    }
}

#[test]
fn production_has_tls_auth_persistent_queue_and_secrets_only_from_env() {
    let config = render(Profile::Production);
    let grpc = &config.receivers.otlp.protocols.grpc;
    assert!(grpc.tls.is_some() && grpc.auth.is_some());
    let exporter = &config.exporters.otlp;
    assert!(!exporter.tls.insecure);
    assert_eq!(
        exporter.auth.as_ref().unwrap().authenticator,
        "bearertokenauth/backend"
    );
    assert_eq!(
        exporter.sending_queue.storage.as_deref(),
        Some("file_storage")
    );
    // The ingest token comes from a file the collector watches (rotation
    // without a restart); the backend token from a variable.
    let ingest = config.extensions.ingest_auth.as_ref().unwrap();
    let backend = config.extensions.backend_auth.as_ref().unwrap();
    assert_eq!(ingest.token, None);
    for reference in [ingest.filename.as_ref(), backend.token.as_ref()] {
        let reference = reference.unwrap();
        assert!(
            reference.starts_with("${env:") && reference.ends_with('}'),
            "{reference}"
        );
    }
}

#[test]
fn each_profile_references_exactly_the_env_vars_it_declares() {
    let re = regex::Regex::new(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)").unwrap();
    for profile in Profile::ALL {
        let yaml = render_yaml(profile).unwrap();
        let used: std::collections::BTreeSet<&str> = re
            .captures_iter(&yaml)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        let declared: std::collections::BTreeSet<&str> =
            referenced_env_vars(profile).iter().copied().collect();
        assert_eq!(used, declared, "{profile}");
    }
}

#[test]
fn every_profile_exposes_health_zpages_and_metrics_on_the_usual_ports() {
    for profile in Profile::ALL {
        let c = render(profile);
        assert!(c.extensions.health_check.endpoint.ends_with(":13133"));
        assert_eq!(c.extensions.zpages.endpoint, "127.0.0.1:55679");
        assert_eq!(
            c.service.telemetry.metrics.readers[0]
                .pull
                .exporter
                .prometheus
                .port,
            8888
        );
        assert!(c.exporters.otlp.sending_queue.enabled);
        assert!(c.exporters.otlp.retry_on_failure.enabled);
    }
}

#[test]
fn real_collector_validates_every_rendered_profile() {
    let queue = tempfile::tempdir().unwrap();
    for profile in Profile::ALL {
        let out = validate(
            &deploy(&format!("collector/{profile}.yaml")),
            &profile_env(queue.path()),
        );
        assert!(
            out.status.success(),
            "otelcol-parker validate rejected {profile}: {}",
            text(&out.stderr)
        );
    }
}

use parker_testkit::free_port;

/// A profile moved to free loopback ports, so tests can run side by side.
fn on_free_ports(profile: Profile) -> (CollectorConfig, u16) {
    let mut c = render(profile);
    let health = free_port();
    c.receivers.otlp.protocols.grpc.endpoint = format!("127.0.0.1:{}", free_port());
    c.receivers.otlp.protocols.http.endpoint = format!("127.0.0.1:{}", free_port());
    c.extensions.health_check.endpoint = format!("127.0.0.1:{health}");
    c.extensions.zpages.endpoint = format!("127.0.0.1:{}", free_port());
    if let Some(pprof) = &mut c.extensions.pprof {
        pprof.endpoint = format!("127.0.0.1:{}", free_port());
    }
    let prom = &mut c.service.telemetry.metrics.readers[0]
        .pull
        .exporter
        .prometheus;
    prom.host = "127.0.0.1".into();
    prom.port = free_port();
    (c, health)
}

/// Writes a self-signed certificate for 127.0.0.1 and points the
/// production TLS variables at it (receiver cert/key and the backend CA).
fn with_test_certificate(dir: &Path, env: &mut [(&'static str, String)]) {
    let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert_file = dir.join("tls.crt");
    let key_file = dir.join("tls.key");
    std::fs::write(&cert_file, key.cert.pem()).unwrap();
    std::fs::write(&key_file, key.signing_key.serialize_pem()).unwrap();
    for (name, value) in env.iter_mut() {
        match *name {
            "OTELCOL_TLS_CERT_FILE" | "OTELCOL_EXPORT_CA_FILE" => {
                *value = cert_file.display().to_string()
            }
            "OTELCOL_TLS_KEY_FILE" => *value = key_file.display().to_string(),
            _ => {}
        }
    }
}

/// Starts the collector on `profile` (moved to free ports) and waits for
/// health_check to answer 200; returns the running child and its config.
async fn start_healthy(profile: Profile, dir: &Path) -> (Child, CollectorConfig) {
    let (config, health_port) = on_free_ports(profile);
    let file = dir.join("config.yaml");
    std::fs::write(&file, config.to_yaml_string().unwrap()).unwrap();
    let mut env = profile_env(dir);
    if profile == Profile::Production {
        with_test_certificate(dir, &mut env);
    }
    let mut cmd = Command::new(otelcol_parker());
    cmd.arg("--config")
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            panic!("{profile}: collector exited early: {}", text(&out.stderr));
        }
        let url = format!("http://127.0.0.1:{health_port}/");
        if common::health_check_available(&client, &url).await {
            return (child, config);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!(
        "{profile}: no healthy answer in 30 s; stderr:\n{}",
        text(&out.stderr)
    );
}

fn stop(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn development_profile_starts_and_is_healthy() {
    let dir = tempfile::tempdir().unwrap();
    stop(start_healthy(Profile::Development, dir.path()).await.0);
}

#[tokio::test]
async fn staging_profile_starts_and_is_healthy() {
    let dir = tempfile::tempdir().unwrap();
    stop(start_healthy(Profile::Staging, dir.path()).await.0);
}

#[tokio::test]
async fn production_profile_starts_and_its_otlp_http_port_refuses_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let (child, config) = start_healthy(Profile::Production, dir.path()).await;
    let http = &config.receivers.otlp.protocols.http.endpoint;
    let reply = reqwest::Client::new()
        .post(format!("http://{http}/v1/traces"))
        .header("content-type", "application/json")
        .body("{}")
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    stop(child);
    // Go's TLS server answers a plain-text request with 400 "Client sent an
    // HTTP request to an HTTPS server"; it never takes the export.
    let reply = reply.expect("the TLS port answers plain HTTP with an error page");
    assert_eq!(reply.status(), 400);
    assert!(reply.text().await.unwrap().contains("HTTPS"));
}
