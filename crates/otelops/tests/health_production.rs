//! `otelops health` against the real otelcol-parker running the production
//! profile as `otelops config render --profile production` prints it (only
//! its ports moved to free ones), with its OTLP receivers on TLS (a CA and
//! server certificate made here) and bearer-token auth: it passes with the
//! CA and the ingest token, and fails clearly with a wrong token, no token,
//! an untrusted CA, and an expired server certificate.

mod common;
#[path = "common/collector/production.rs"]
mod production;
#[path = "common/collector/mod.rs"]
mod support;
#[path = "common/tls.rs"]
mod tls_support;

use std::path::{Path, PathBuf};

use production::{INGEST_TOKEN, WRONG_TOKEN, path, start_production};
use support::artifacts::Artifacts;
use support::collector::Ports;
use tls_support::Pki;

/// `otelops health` with every target on `ports` (OTLP over https) and `extra`.
async fn health(ports: Ports, extra: Vec<String>) -> common::Run {
    let mut args: Vec<String> = vec![
        "health".into(),
        "--health-url".into(),
        ports.health_url(),
        "--metrics-url".into(),
        ports.metrics_url(),
        "--zpages-url".into(),
        ports.zpages_url(),
        "--otlp-grpc".into(),
        format!("127.0.0.1:{}", ports.otlp_grpc),
        "--otlp-http".into(),
        format!("127.0.0.1:{}", ports.otlp_http),
    ];
    args.extend(extra);
    tokio::task::spawn_blocking(move || common::otelops(&args))
        .await
        .expect("otelops health")
}

fn flags(pairs: &[(&str, &Path)]) -> Vec<String> {
    pairs
        .iter()
        .flat_map(|(flag, value)| [flag.to_string(), path(value)])
        .collect()
}

fn line<'a>(run: &'a common::Run, check: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(check))
        .unwrap_or_else(|| panic!("no line for {check}:\n{}\n{}", run.stdout, run.stderr))
}

/// The run failed (exit 1) on both OTLP checks, each line saying `why`;
/// health_check and the metrics page still passed; no token was printed.
fn assert_otlp_failed(run: &common::Run, why: &str) {
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    for check in ["otlp-grpc", "otlp-http"] {
        let l = line(run, check);
        assert!(l.starts_with("FAIL") && l.contains(why), "{check}: {l}");
        assert!(
            !l.chars().any(char::is_control),
            "{check}: raw bytes in {l:?}"
        );
    }
    for check in ["health", "metrics", "zpages"] {
        assert!(line(run, check).starts_with("PASS"), "{}", run.stdout);
    }
    for token in [INGEST_TOKEN, WRONG_TOKEN] {
        assert!(
            !run.stdout.contains(token) && !run.stderr.contains(token),
            "a token was printed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_passes_on_the_production_profile_with_ca_and_token_and_fails_clearly_without() {
    let art = Artifacts::new("health_production");
    let pki = Pki::new("parker");
    let server = pki.server("server", false);
    let collector = start_production(&pki, &server, &art).await;
    let ports = collector.ports;
    let ca = pki.ca_file();
    let token = pki.token_file("ingest.token", INGEST_TOKEN);
    let wrong = pki.token_file("wrong.token", WRONG_TOKEN);

    let ok = health(ports, flags(&[("--cacert", &ca), ("--token-file", &token)])).await;
    assert_eq!(
        ok.code,
        0,
        "{}\n{}\n{}",
        ok.stdout,
        ok.stderr,
        collector.log()
    );
    for check in ["health", "metrics", "otlp-grpc", "otlp-http", "zpages"] {
        assert!(line(&ok, check).starts_with("PASS"), "{}", ok.stdout);
    }
    assert!(line(&ok, "otlp-grpc").contains("https://127.0.0.1"));
    assert!(!ok.stdout.contains(INGEST_TOKEN) && !ok.stderr.contains(INGEST_TOKEN));

    let run = health(ports, flags(&[("--cacert", &ca), ("--token-file", &wrong)])).await;
    let refused = format!(
        "refused the bearer token from the token file {}",
        path(&wrong)
    );
    assert_otlp_failed(&run, &refused);
    assert!(line(&run, "otlp-http").contains("HTTP 401"));
    assert!(line(&run, "otlp-grpc").contains("Unauthenticated"));

    let run = health(ports, flags(&[("--cacert", &ca)])).await;
    assert_otlp_failed(&run, "wants a bearer token (--token-file or --token-env)");

    let other = Pki::new("untrusted");
    let run = health(
        ports,
        flags(&[("--cacert", &other.ca_file()), ("--token-file", &token)]),
    )
    .await;
    assert_otlp_failed(
        &run,
        "TLS handshake failed: invalid peer certificate: UnknownIssuer",
    );
    assert_otlp_failed(
        &run,
        "is --cacert the CA that signed the server's certificate?",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_fails_clearly_when_the_collector_certificate_has_expired() {
    let art = Artifacts::new("health_production_expired");
    let pki = Pki::new("parker");
    let expired = pki.server("expired", true);
    let collector = start_production(&pki, &expired, &art).await;
    let token: PathBuf = pki.token_file("ingest.token", INGEST_TOKEN);
    let run = health(
        collector.ports,
        flags(&[("--cacert", &pki.ca_file()), ("--token-file", &token)]),
    )
    .await;
    assert_otlp_failed(
        &run,
        "TLS handshake failed: invalid peer certificate: certificate expired",
    );
    assert_otlp_failed(&run, "the server's certificate has expired");
}
