//! TLS with a custom CA and mTLS client certificates, from the
//! OTEL_EXPORTER_OTLP_{CERTIFICATE,CLIENT_CERTIFICATE,CLIENT_KEY} files, over
//! gRPC and HTTP; and the init errors for unreadable or malformed files.

mod common;

use opentelemetry::trace::{Tracer, TracerProvider};
use parker_telemetry::ServiceInfo;
use parker_telemetry::testing::{OtlpSink, SinkTls};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use std::path::{Path, PathBuf};

struct Pki {
    dir: tempfile::TempDir,
    server: SinkTls,
}

impl Pki {
    /// A CA, a server certificate for 127.0.0.1 and a client certificate,
    /// written as PEM files.
    fn new(mtls: bool) -> Pki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");
        let issuer = Issuer::from_params(&ca_params, &ca_key);

        let server_key = KeyPair::generate().expect("server key");
        let server_cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .expect("server params")
            .signed_by(&server_key, &issuer)
            .expect("server cert");
        let client_key = KeyPair::generate().expect("client key");
        let client_cert = CertificateParams::new(vec!["booking".to_owned()])
            .expect("client params")
            .signed_by(&client_key, &issuer)
            .expect("client cert");

        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).expect("write");
        std::fs::write(dir.path().join("client.pem"), client_cert.pem()).expect("write");
        std::fs::write(dir.path().join("client.key"), client_key.serialize_pem()).expect("write");
        Pki {
            dir,
            server: SinkTls {
                cert_pem: server_cert.pem(),
                key_pem: server_key.serialize_pem(),
                client_ca_pem: mtls.then(|| ca_cert.pem()),
            },
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir
            .path()
            .join(name)
            .to_str()
            .expect("utf-8 path")
            .to_owned()
    }
}

fn tls_config(
    protocol: &str,
    endpoint: &str,
    files: &[(&str, String)],
) -> parker_telemetry::TelemetryConfig {
    let mut extra: Vec<(&str, &str)> = vec![
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
        ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
    ];
    extra.extend(files.iter().map(|(k, v)| (*k, v.as_str())));
    common::fast_config(protocol, endpoint, &extra)
}

async fn export_one(
    config: &parker_telemetry::TelemetryConfig,
) -> opentelemetry_sdk::error::OTelSdkResult {
    let guard = parker_telemetry::build(ServiceInfo::new("tls", "1"), config).expect("build");
    let provider = guard.tracer_provider().clone();
    provider.tracer("tls").start("over tls");
    tokio::task::spawn_blocking(move || {
        let flushed = provider.force_flush();
        drop(guard);
        flushed
    })
    .await
    .expect("join")
}

async fn mtls_round_trip(protocol: &str) {
    let pki = Pki::new(true);
    let sink = OtlpSink::start_tls(pki.server.clone()).await;
    let endpoint = if protocol == "grpc" {
        sink.grpc_endpoint()
    } else {
        sink.http_endpoint()
    };
    assert!(endpoint.starts_with("https://127.0.0.1:"), "{endpoint}");
    let files = [
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", pki.path("ca.pem")),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            pki.path("client.pem"),
        ),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", pki.path("client.key")),
    ];
    let flushed = export_one(&tls_config(protocol, &endpoint, &files)).await;
    assert!(flushed.is_ok(), "{flushed:?}");
    assert_eq!(
        sink.spans()
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["over tls"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_with_custom_ca_and_client_certificate() {
    mtls_round_trip("http/protobuf").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_with_custom_ca_and_client_certificate() {
    mtls_round_trip("grpc").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_receiver_rejects_an_exporter_without_client_certificate() {
    let pki = Pki::new(true);
    let sink = OtlpSink::start_tls(pki.server.clone()).await;
    for endpoint in [sink.http_endpoint(), sink.grpc_endpoint()] {
        let protocol = if endpoint == sink.grpc_endpoint() {
            "grpc"
        } else {
            "http/protobuf"
        };
        let config = tls_config(
            protocol,
            &endpoint,
            &[("OTEL_EXPORTER_OTLP_CERTIFICATE", pki.path("ca.pem"))],
        );
        let _ = export_one(&config).await;
    }
    assert!(
        sink.spans().is_empty(),
        "accepted without a client certificate"
    );
    assert!(sink.attempts().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_outside_the_configured_ca_is_not_trusted() {
    let trusted = Pki::new(false);
    let other = Pki::new(false);
    let sink = OtlpSink::start_tls(other.server.clone()).await;
    let config = tls_config(
        "http/protobuf",
        &sink.http_endpoint(),
        &[("OTEL_EXPORTER_OTLP_CERTIFICATE", trusted.path("ca.pem"))],
    );
    let _ = export_one(&config).await;
    assert!(
        sink.attempts().is_empty(),
        "exported to a server signed by an unknown CA"
    );
}

fn build_error(files: &[(&str, String)]) -> String {
    let config = tls_config("http/protobuf", "https://127.0.0.1:4318", files);
    match parker_telemetry::build(ServiceInfo::new("tls", "1"), &config) {
        Ok(_) => panic!("build succeeded with {files:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unreadable_certificate_fails_init_naming_variable_and_path() {
    let missing: PathBuf = Path::new("/nonexistent/parker/ca.pem").to_owned();
    let e = build_error(&[(
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        missing.display().to_string(),
    )]);
    assert!(
        e.starts_with("OTEL_EXPORTER_OTLP_CERTIFICATE=/nonexistent/parker/ca.pem: cannot read certificate file:"),
        "{e}"
    );
}

#[test]
fn malformed_pem_files_fail_init() {
    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").expect("write");
    let junk = junk.to_str().expect("utf-8").to_owned();
    let e = build_error(&[("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", junk.clone())]);
    assert_eq!(
        e,
        format!("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE={junk}: contains no PEM certificate")
    );

    let pki = Pki::new(true);
    let e = build_error(&[
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            pki.path("client.pem"),
        ),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", junk.clone()),
    ]);
    assert!(
        e.starts_with(&format!(
            "OTEL_EXPORTER_OTLP_CLIENT_KEY={junk}: no usable PEM private key"
        )),
        "{e}"
    );
}
