//! `otelops load` against the real otelcol-parker on the production profile
//! (OTLP over TLS with a CA made here, bearer-token auth): with the CA and
//! the ingest token every span is accepted over HTTP and gRPC, and the
//! collector counts the same; with a wrong token every request fails as
//! unauthenticated, and no token is ever printed.

mod common;
#[path = "common/load.rs"]
mod load_support;
#[path = "common/production.rs"]
mod production;
#[path = "common/collector/mod.rs"]
mod support;
#[path = "common/tls.rs"]
mod tls_support;

use std::time::Duration;

use load_support::{SAMPLE_SPANS, count, load, sample_trace};
use production::{ProductionTls, Tokens, path, start_production};
use support::artifacts::Artifacts;
use tls_support::Pki;

const INGEST_TOKEN: &str = "ingest-7c1d2e";
const WRONG_TOKEN: &str = "wrong-94b0aa";
const TOKENS: Tokens = Tokens {
    ingest: INGEST_TOKEN,
    export: "export-token",
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_reaches_the_production_profile_over_tls_with_the_token() {
    let art = Artifacts::new("load_production");
    let pki = Pki::new("parker");
    let server = pki.server("server", false);
    let col = start_production(&ProductionTls::from_pki(&pki, &server), &TOKENS, &art).await;
    let ports = col.ports;
    let ca = path(&pki.ca_file());
    let token = path(&pki.token_file("ingest.token", INGEST_TOKEN));
    let wrong = path(&pki.token_file("wrong.token", WRONG_TOKEN));
    let sample = sample_trace();
    let sample = sample.to_str().expect("UTF-8 path");
    // Scheme-less endpoints mean https once --cacert is given.
    let http = format!("127.0.0.1:{}", ports.otlp_http);
    let grpc = format!("127.0.0.1:{}", ports.otlp_grpc);

    let (run, over_http) = load(&[
        "--file",
        sample,
        "--requests",
        "20",
        "--compression",
        "gzip",
        "--endpoint",
        &http,
        "--cacert",
        &ca,
        "--token-file",
        &token,
    ])
    .await;
    assert_eq!(run.code, 0, "{}\n{}\n{}", run.stdout, run.stderr, col.log());
    assert!(
        over_http["target"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert_eq!(count(&over_http, "spans", "accepted"), 20 * SAMPLE_SPANS);

    let (run, over_grpc) = load(&[
        "--grpc",
        "--requests",
        "15",
        "--endpoint",
        &grpc,
        "--cacert",
        &ca,
        "--token-file",
        &token,
    ])
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(count(&over_grpc, "spans", "accepted"), 15 * 2);

    let expected = 20 * SAMPLE_SPANS + 15 * 2;
    let page = col
        .scrape_until("accepted over TLS", Duration::from_secs(10), |p| {
            p.sum("otelcol_receiver_accepted_spans", &[]) >= expected as f64
        })
        .await;
    assert_eq!(
        page.sum("otelcol_receiver_accepted_spans", &[]),
        expected as f64
    );

    for (protocol, endpoint, status) in [
        ("http/protobuf", &http, "HTTP 401"),
        ("grpc", &grpc, "gRPC Unauthenticated"),
    ] {
        let (run, refused) = load(&[
            "--protocol",
            protocol,
            "--requests",
            "3",
            "--endpoint",
            endpoint,
            "--cacert",
            &ca,
            "--token-file",
            &wrong,
        ])
        .await;
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        assert_eq!(refused["statuses"][status], 3, "{refused:#}");
        assert_eq!(count(&refused, "requests", "failed"), 3);
        for out in [&run.stdout, &run.stderr] {
            assert!(
                !out.contains(WRONG_TOKEN) && !out.contains(INGEST_TOKEN),
                "{out}"
            );
        }
    }
}
