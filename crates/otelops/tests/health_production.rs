//! `otelops health` against the real otelcol-parker running the production
//! profile as `otelops config render --profile production` prints it (only
//! its ports moved to free ones), with its OTLP receivers on TLS (a CA and
//! server certificate made here) and bearer-token auth: it passes with the
//! CA and the ingest token, and fails clearly with a wrong token, no token,
//! an untrusted CA, and an expired server certificate. `otelops token
//! rotate`/`retire` change the token file the running collector watches:
//! the new token is accepted and the old one refused, without a restart.

mod common;
#[path = "common/production.rs"]
mod production;
#[path = "common/collector/mod.rs"]
mod support;
#[path = "common/tls.rs"]
mod tls_support;

use std::path::{Path, PathBuf};

use production::{COLLECTOR_TOKEN_FILE, ProductionTls, Tokens, path};
use support::artifacts::Artifacts;
use support::collector::{Collector, Ports};
use tls_support::{Pki, ServerCert};

const INGEST_TOKEN: &str = "ingest-7c1d2e";
const WRONG_TOKEN: &str = "wrong-94b0aa";
const TOKENS: Tokens = Tokens {
    ingest: INGEST_TOKEN,
    export: "export-token",
};

async fn start_production(pki: &Pki, server: &ServerCert, art: &Artifacts) -> Collector {
    production::start_production(&ProductionTls::from_pki(pki, server), &TOKENS, art).await
}

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

/// `otelops` with `args`, off the async runtime; it must succeed and print
/// no token.
async fn token_command(args: Vec<String>, secrets: &[&str]) -> String {
    let run = tokio::task::spawn_blocking(move || common::otelops(&args))
        .await
        .expect("otelops token");
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for secret in secrets {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a token was printed:\n{}",
            run.stdout
        );
    }
    run.stdout
}

/// Waits (≤ 30 s: the collector reloads on an inotify event) until `otelops
/// health` with `token` gives `code` (0 accepted, 1 refused).
async fn wait_for_verdict(ports: Ports, ca: &Path, token: &Path, code: i32) {
    let (ca, token) = (ca.to_owned(), token.to_owned());
    support::wait_until(
        &format!("otelops health with {} to exit {code}", token.display()),
        std::time::Duration::from_secs(30),
        || {
            let flags = flags(&[("--cacert", &ca), ("--token-file", &token)]);
            async move {
                let run = health(ports, flags).await;
                if run.code != code {
                    return Err(format!("exit {}: {}", run.code, run.stdout));
                }
                if code == 1 {
                    assert!(
                        line(&run, "otlp-http").contains("HTTP 401"),
                        "{}",
                        run.stdout
                    );
                    assert!(
                        line(&run, "otlp-grpc").contains("Unauthenticated"),
                        "{}",
                        run.stdout
                    );
                }
                Ok(())
            }
        },
    )
    .await
}

/// The first token of the collector's file, as a client's own token file.
fn client_copy(pki: &Pki, collector_file: &Path, name: &str) -> (PathBuf, String) {
    let text = std::fs::read_to_string(collector_file).expect("collector token file");
    let current = text.lines().next().expect("a token").to_owned();
    assert_eq!(current.len(), 64, "a 32-byte hex token");
    (pki.token_file(name, &current), current)
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_ingest_token_is_accepted_and_the_old_refused_without_a_restart() {
    let art = Artifacts::new("token_rotation");
    let pki = Pki::new("parker");
    let server = pki.server("server", false);
    let collector = start_production(&pki, &server, &art).await;
    let pid = collector.pid().expect("running");
    let (ports, ca) = (collector.ports, pki.ca_file());
    let collector_file = pki.dir().join(COLLECTOR_TOKEN_FILE);
    let file_flag = vec!["--file".to_owned(), path(&collector_file)];
    let old = pki.token_file("old.token", INGEST_TOKEN);
    wait_for_verdict(ports, &ca, &old, 0).await;

    // Overlap: the new token first, the old one still accepted.
    let args = [
        vec!["token".into(), "rotate".into(), "--overlap".into()],
        file_flag.clone(),
    ];
    let out = token_command(args.concat(), &[INGEST_TOKEN]).await;
    assert!(
        out.contains("previous one stays valid until `otelops token retire`"),
        "{out}"
    );
    assert_eq!(mode(&collector_file), 0o600);
    let (new, new_token) = client_copy(&pki, &collector_file, "new.token");
    wait_for_verdict(ports, &ca, &new, 0).await;
    wait_for_verdict(ports, &ca, &old, 0).await;

    // Retire: only the new token is accepted.
    let args = [vec!["token".into(), "retire".into()], file_flag.clone()];
    let out = token_command(args.concat(), &[INGEST_TOKEN, &new_token]).await;
    assert!(out.contains("1 previous token(s) retired"), "{out}");
    wait_for_verdict(ports, &ca, &old, 1).await;
    wait_for_verdict(ports, &ca, &new, 0).await;

    // Without overlap the old token is refused as soon as the file is reloaded.
    let args = [vec!["token".into(), "rotate".into()], file_flag];
    token_command(args.concat(), &[&new_token]).await;
    let (newest, _) = client_copy(&pki, &collector_file, "newest.token");
    wait_for_verdict(ports, &ca, &newest, 0).await;
    wait_for_verdict(ports, &ca, &new, 1).await;

    // The same process all along, still running: no restart.
    assert_eq!(collector.pid(), Some(pid));
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("collector alive");
    assert!(!stat.contains(") Z "), "the collector exited: {stat}");
    assert!(
        collector.log().contains("refresh token"),
        "{}",
        collector.log()
    );
}
